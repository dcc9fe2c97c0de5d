/* Circuit relay v2 (issue 11): three lp2p_hosts in one thread on loopback
 * TCP (epoll driver), R the relay, T the target that reserves on it, D the
 * dialler, each allocating through its own lp2p_mem_counting:
 *
 *  1. perf throughput D->T through R with the relay's limits lifted,
 *     against the same transfer made directly D->T in the same run;
 *  2. circuits per second: D dials T through R, pings, closes, in a row;
 *  3. relay heap per reservation (extra targets reserving) and per active
 *     circuit (circuits from D to T held open).
 * Environment: LP2P_BENCH_RELAY_MIB (32), LP2P_BENCH_RELAY_CIRCUITS (200),
 * LP2P_BENCH_RELAY_RESV (50). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "lp2p/driver.h"
#include "lp2p/host.h"

typedef struct node {
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_mem_counting mc;
  lp2p_privkey key;
  lp2p_maddr addr; /* listen address with /p2p */
} node;

static lp2p_rng g_rng;
static node *g_nodes[64];
static int g_n;

static void node_init(node *n, int relay, uint32_t conns) {
  memset(n, 0, sizeof *n);
  lp2p_mem_counting_init(&n->mc, NULL);
  bench_check(lp2p_key_generate(&n->key, LP2P_KEY_ED25519, 0, &g_rng),
              "keygen");
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n->key;
  cfg.conns_max = cfg.conns_pending_max = conns + 64;
  cfg.conns_outbound_pending_max = conns + 64;
  cfg.conns_per_peer_max = conns + 64;
  cfg.dials_max = conns + 64;
  cfg.conns_high_water = cfg.conns_low_water = 0;
  cfg.event_queue_max = 1u << 16;
  cfg.memory_max = cfg.memory_per_peer_max = (uint64_t)(conns + 64) << 20;
  /* many circuits between the same three peers: the per-peer stream caps
   * (go's defaults: 64 per protocol and peer) would stop them at 64 */
  cfg.streams_inbound_per_peer_max = 4 * conns + 64;
  cfg.streams_inbound_per_protocol_max = 4 * conns + 64;
  cfg.streams_inbound_per_protocol_peer_max = 4 * conns + 64;
  cfg.streams_outbound_per_peer_max = 4 * conns + 64;
  cfg.relay.hop = relay ? 1 : 0;
  cfg.relay.limit_data_bytes = 0; /* limits lifted: the throughput test */
  cfg.relay.limit_duration_ns = 0;
  cfg.relay.reservations_max = conns + 64;
  cfg.relay.reservations_per_ip_max = conns + 64;
  cfg.relay.circuits_max = conns + 64;
  cfg.relay.circuits_per_peer_max = conns + 64;
  bench_check(lp2p_host_new(&n->h, &cfg, &n->mc.mem, &g_rng,
                            lp2p_clock_now()),
              "host");
  bench_check(lp2p_driver_new(&n->d, n->h, lp2p_backend_epoll()), "driver");
  g_nodes[g_n++] = n;
}

/* One round of every driver; events go to `sink` (or are dropped). */
typedef void (*sink_fn)(node *n, const lp2p_host_event *ev, void *ud);

static void round_all(sink_fn sink, void *ud) {
  for (int i = 0; i < g_n; i++) {
    lp2p_driver_step(g_nodes[i]->d, 0);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(g_nodes[i]->h, &ev))
      if (sink)
        sink(g_nodes[i], &ev, ud);
  }
}

/* ---- waiting for one event kind on one node --------------------------- */

typedef struct want {
  node *n;
  lp2p_host_event_kind k;
  uint64_t id; /* dial id for DIAL_*, 0 = any */
  int hits;
  lp2p_host_event ev;
} want;

static void want_sink(node *n, const lp2p_host_event *ev, void *ud) {
  want *w = ud;
  if (n != w->n)
    return;
  int match = ev->kind == w->k;
  if (w->id && (ev->kind == LP2P_HOST_EV_DIAL_DONE ||
                ev->kind == LP2P_HOST_EV_DIAL_FAILED))
    match = ev->u.dial.id == w->id;
  if (match) {
    w->hits++;
    w->ev = *ev;
  }
}

static lp2p_host_event wait_ev(node *n, lp2p_host_event_kind k, uint64_t id,
                               const char *what) {
  want w = {n, k, id, 0, {0}};
  uint64_t end = bench_now_ns() + 30ull * 1000000000ull;
  while (!w.hits && bench_now_ns() < end)
    round_all(want_sink, &w);
  if (!w.hits)
    bench_die("timeout waiting for %s", what);
  if (w.ev.kind == LP2P_HOST_EV_DIAL_FAILED)
    bench_die("%s failed: %s", what, lp2p_strerror(w.ev.err));
  return w.ev;
}

static void settle(int rounds) {
  for (int i = 0; i < rounds; i++)
    round_all(NULL, NULL);
}

static void listen_on(node *n) {
  lp2p_maddr la;
  const char *t = "/ip4/127.0.0.1/tcp/0";
  lp2p_maddr_parse(&la, t, strlen(t));
  uint64_t l = 0;
  bench_check(lp2p_host_listen(n->h, &la, &l), "listen");
  lp2p_host_event ev = wait_ev(n, LP2P_HOST_EV_LISTENING, 0, "listening");
  lp2p_host_listener_addr(n->h, ev.u.listen.listener, &n->addr);
  char id[LP2P_PEERID_TEXT_MAX + 8];
  size_t il = 0;
  memcpy(id, "/p2p/", 5);
  lp2p_peerid_to_base58(lp2p_host_peer_id(n->h), id + 5, sizeof id - 5, &il);
  lp2p_maddr p2p;
  lp2p_maddr_parse(&p2p, id, 5 + il);
  lp2p_maddr_encapsulate(&n->addr, &p2p);
}

static void reserve(node *t, node *r) {
  uint64_t d = 0;
  bench_check(lp2p_host_dial(t->h, lp2p_clock_now(), &r->addr, 0, &d), "dial");
  wait_ev(t, LP2P_HOST_EV_DIAL_DONE, d, "dial to the relay");
  bench_check(lp2p_host_relay_reserve(t->h, lp2p_clock_now(),
                                      lp2p_host_peer_id(r->h)),
              "reserve");
  wait_ev(t, LP2P_HOST_EV_RELAY_RESERVED, 0, "reservation");
}

static lp2p_maddr circuit_to(node *t) {
  lp2p_maddr a[4];
  size_t n = 0;
  lp2p_host_relay_addrs(t->h, a, 4, &n);
  if (!n)
    bench_die("no circuit address");
  return a[0];
}

/* perf `bytes` down from T to D over the best connection D has to T. */
static double perf_mib_s(node *d, node *t, uint64_t bytes) {
  bench_stamp a = bench_stamp_now();
  bench_check(lp2p_host_perf(d->h, lp2p_clock_now(), lp2p_host_peer_id(t->h),
                             0, bytes),
              "perf");
  lp2p_host_event ev = wait_ev(d, LP2P_HOST_EV_PERF_RESULT, 0, "perf");
  bench_stamp b = bench_stamp_now();
  if (ev.err || ev.u.perf.download_bytes != bytes)
    bench_die("perf failed: %s", lp2p_strerror(ev.err));
  return (double)bytes / BENCH_MIB / ((double)(b.wall_ns - a.wall_ns) / 1e9);
}

int main(void) {
  lp2p_rng_system(&g_rng);
  uint64_t mib = (uint64_t)bench_env_long("LP2P_BENCH_RELAY_MIB", 32);
  int ncirc = (int)bench_env_long("LP2P_BENCH_RELAY_CIRCUITS", 200);
  int nresv = (int)bench_env_long("LP2P_BENCH_RELAY_RESV", 50);
  static node r, t, d;
  node_init(&r, 1, (uint32_t)(ncirc + nresv));
  node_init(&t, 0, (uint32_t)ncirc);
  node_init(&d, 0, (uint32_t)ncirc);
  listen_on(&r);
  listen_on(&t);
  reserve(&t, &r);
  lp2p_maddr circ = circuit_to(&t);

  /* 1. throughput: relayed, then direct (separate connections) */
  uint64_t dd = 0;
  bench_check(lp2p_host_dial(d.h, lp2p_clock_now(), &circ, 0, &dd), "dial");
  wait_ev(&d, LP2P_HOST_EV_DIAL_DONE, dd, "circuit");
  double relayed = perf_mib_s(&d, &t, mib << 20);
  lp2p_host_close_peer(d.h, lp2p_clock_now(), lp2p_host_peer_id(t.h));
  settle(200);
  bench_check(lp2p_host_dial(d.h, lp2p_clock_now(), &t.addr, LP2P_DIAL_FORCE,
                             &dd),
              "dial");
  wait_ev(&d, LP2P_HOST_EV_DIAL_DONE, dd, "direct");
  double direct = perf_mib_s(&d, &t, mib << 20);
  lp2p_host_close_peer(d.h, lp2p_clock_now(), lp2p_host_peer_id(t.h));
  settle(200);

  /* 2. circuits per second: dial through R, ping, close */
  bench_stamp a = bench_stamp_now();
  int rounds = ncirc < 50 ? ncirc : 50;
  for (int i = 0; i < rounds; i++) {
    bench_check(lp2p_host_dial(d.h, lp2p_clock_now(), &circ, LP2P_DIAL_FORCE,
                               &dd),
                "dial");
    lp2p_host_event ev = wait_ev(&d, LP2P_HOST_EV_DIAL_DONE, dd, "circuit");
    bench_check(lp2p_host_ping(d.h, lp2p_clock_now(), lp2p_host_peer_id(t.h)),
                "ping");
    wait_ev(&d, LP2P_HOST_EV_PING_RESULT, 0, "ping");
    lp2p_host_conn_close(d.h, lp2p_clock_now(), ev.conn);
    settle(20);
  }
  bench_stamp b = bench_stamp_now();
  double cps = rounds / ((double)(b.wall_ns - a.wall_ns) / 1e9);
  settle(500);

  /* 3. relay heap per active circuit: ncirc circuits held open */
  size_t r0 = r.mc.live_bytes;
  for (int i = 0; i < ncirc; i++) {
    bench_check(lp2p_host_dial(d.h, lp2p_clock_now(), &circ, LP2P_DIAL_FORCE,
                               &dd),
                "dial");
    wait_ev(&d, LP2P_HOST_EV_DIAL_DONE, dd, "circuit");
  }
  settle(500);
  double per_circ = ((double)r.mc.live_bytes - (double)r0) / ncirc;
  lp2p_host_stats rs;
  lp2p_host_stats_get(r.h, &rs);
  if (rs.streams < (uint32_t)(2 * ncirc))
    bench_die("only %u streams at the relay for %d circuits", rs.streams,
              ncirc);
  /* per reservation: nresv more targets reserve */
  static node extra[48];
  if (nresv > 48)
    nresv = 48;
  size_t r1 = r.mc.live_bytes;
  for (int i = 0; i < nresv; i++) {
    node_init(&extra[i], 0, 4);
    reserve(&extra[i], &r);
  }
  settle(500);
  double per_resv = ((double)r.mc.live_bytes - (double)r1) / nresv;

  printf("relay: %d circuits, %d reservations, %llu MiB perf, load %.2f\n",
         ncirc, nresv, (unsigned long long)mib, bench_loadavg());
  bench_table_header();
  /* one thread runs all three hosts: a relayed byte costs the relay two
   * Noise passes on top of both ends' (inner and outer Noise), so about a
   * third of the direct rate is the ceiling of this setup */
  bench_row_ratio("perf through relay, MiB/s", relayed, "direct", direct,
                  "MiB/s", 0.30);
  char c[32];
  snprintf(c, sizeof c, "%.1f /s", cps);
  bench_row_info("circuits (dial+ping+close)", c, "-");
  bench_row_max("relay heap per circuit", per_circ,
                "(connection to D included)", "B", 32768);
  bench_row_max("relay heap per reservation", per_resv,
                "(its connection included)", "B", 8192);
  for (int i = g_n - 1; i >= 0; i--) {
    lp2p_driver_free(g_nodes[i]->d);
    lp2p_host_free(g_nodes[i]->h);
  }
  return 0;
}
