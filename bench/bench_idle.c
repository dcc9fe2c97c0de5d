/* Host heap per idle connection and per idle stream (issue 8: a refactor
 * must not grow them past 5 %). Two lp2p_hosts in one thread on loopback
 * TCP (epoll driver), each allocating through its own lp2p_mem_counting:
 *
 *  1. N connections from the dialer to the listener (LP2P_DIAL_FORCE),
 *     each upgraded and identified both ways, then quiet: live bytes added
 *     per connection on each side;
 *  2. on one of them, S streams of an application protocol, each opened,
 *     negotiated, carrying 32 bytes each way (read by both sides) and left
 *     open: live bytes added per stream on each side.
 *
 * It uses only the host API that did not change across the host refactor
 * (event kind and header fields), so `make bench-compare` builds this one
 * file against an older tree too (with LP2P_BENCH_OLD_TREE: no issue-9
 * stream caps there; LP2P_BENCH_NO_MEMORY_SCOPES: no memory grants) and
 * runs both side by side.
 * Output: one line `idle conn_l=B conn_d=B stream_l=B stream_d=B` (bytes).
 * Environment: LP2P_BENCH_IDLE_CONNS (500), LP2P_BENCH_IDLE_STREAMS (500). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"

#define PROTO "/bench/idle/1.0.0"

typedef struct side {
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_mem_counting mc;
  lp2p_privkey key;
  int connected, identified, inbound, opened, done;
} side;

static lp2p_rng g_rng;

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_idle: %s: %s\n", what, lp2p_strerror(rc));
  exit(2);
}

static long env_long(const char *name, long def) {
  const char *v = getenv(name);
  return v && *v ? strtol(v, NULL, 10) : def;
}

static void side_init(side *s, uint32_t conns) {
  memset(s, 0, sizeof *s);
  lp2p_mem_counting_init(&s->mc, NULL);
  int rc = lp2p_key_generate(&s->key, LP2P_KEY_ED25519, 0, &g_rng);
  if (rc)
    die("keygen", rc);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &s->key;
  cfg.conns_max = conns + 64;
  cfg.conns_pending_max = conns + 64;
  /* idle connections are what we measure: no trimming */
  cfg.conns_high_water = cfg.conns_low_water = 0;
#ifndef LP2P_BENCH_OLD_TREE /* limits the tree before issue 9 lacks */
  cfg.conns_outbound_pending_max = conns + 64;
  cfg.streams_inbound_max = 1u << 15;
  cfg.streams_inbound_per_peer_max = 1u << 15;
  cfg.streams_inbound_per_protocol_max = 1u << 15;
  cfg.streams_inbound_per_protocol_peer_max = 1u << 15;
#endif
#ifndef LP2P_BENCH_NO_MEMORY_SCOPES /* trees before the memory grants */
  /* every connection is the same peer's: room for all their base grants */
  cfg.memory_max = cfg.memory_per_peer_max =
      (uint64_t)(conns + 64) * cfg.memory_per_conn_base * 2;
#endif
  cfg.conns_per_peer_max = conns + 64;
  cfg.dials_max = conns + 64;
  cfg.event_queue_max = 1u << 16;
  cfg.yamux.streams_max = 1u << 14;
  cfg.yamux.accept_backlog_max = 1u << 14;
  if ((rc = lp2p_host_new(&s->h, &cfg, &s->mc.mem, &g_rng,
                          lp2p_clock_now())))
    die("host", rc);
  if ((rc = lp2p_driver_new(&s->d, s->h, lp2p_backend_epoll())))
    die("driver", rc);
}

static void side_free(side *s) {
  lp2p_driver_free(s->d);
  lp2p_host_free(s->h);
}

/* Read everything readable on `stream`; the listener answers 32 bytes. */
static void drain(side *s, uint64_t stream, int answer) {
  size_t len = 0;
  const uint8_t *p;
  while ((p = lp2p_host_stream_read_peek(s->h, stream, &len)) && len) {
    lp2p_host_stream_read_consume(s->h, lp2p_clock_now(), stream, len);
    if (answer) {
      uint8_t b[32] = {0};
      lp2p_host_stream_write(s->h, lp2p_clock_now(), stream, b, sizeof b);
    } else {
      s->done++;
    }
  }
}

static void events(side *s, int is_listener) {
  lp2p_host_event ev;
  while (lp2p_host_poll_event(s->h, &ev)) {
    switch (ev.kind) {
    case LP2P_HOST_EV_PEER_CONNECTED:
      s->connected++;
      break;
    case LP2P_HOST_EV_IDENTIFY_DONE:
      if (!ev.err)
        s->identified++;
      break;
    case LP2P_HOST_EV_STREAM_INBOUND:
      s->inbound++;
      break;
    case LP2P_HOST_EV_STREAM_OPENED:
      s->opened++;
      break;
    case LP2P_HOST_EV_STREAM_READABLE:
      drain(s, ev.stream, is_listener);
      break;
    default:
      break;
    }
  }
}

static void step(side *l, side *d) {
  lp2p_driver_step(l->d, 0);
  lp2p_driver_step(d->d, 1);
  events(l, 1);
  events(d, 0);
}

/* Run until quiet: no new events for a few rounds. */
static void settle(side *l, side *d) {
  for (int quiet = 0, i = 0; quiet < 50 && i < 200000; i++) {
    int before = l->connected + l->identified + l->inbound + d->connected +
                 d->identified + d->opened + d->done;
    step(l, d);
    int after = l->connected + l->identified + l->inbound + d->connected +
                d->identified + d->opened + d->done;
    quiet = after == before ? quiet + 1 : 0;
  }
}

int main(void) {
  lp2p_rng_system(&g_rng);
  uint32_t nconns = (uint32_t)env_long("LP2P_BENCH_IDLE_CONNS", 500);
  uint32_t nstreams = (uint32_t)env_long("LP2P_BENCH_IDLE_STREAMS", 500);
  side l, d;
  side_init(&l, nconns);
  side_init(&d, nconns);
  int rc;
  if ((rc = lp2p_host_register_protocol(l.h, PROTO)))
    die("register", rc);
  lp2p_maddr la;
  const char *t = "/ip4/127.0.0.1/tcp/0";
  lp2p_maddr_parse(&la, t, strlen(t));
  if ((rc = lp2p_host_listen(l.h, &la, NULL)))
    die("listen", rc);
  size_t n = 0;
  for (int i = 0; i < 1000 && n == 0; i++) {
    step(&l, &d);
    lp2p_host_addrs(l.h, &la, 1, &n);
  }
  if (!n)
    die("listen", LP2P_ERR_TIMEOUT);
  /* warm-up connection: one-time allocations (tables, peerstore) */
  if ((rc = lp2p_host_dial(d.h, lp2p_clock_now(), &la, LP2P_DIAL_FORCE,
                           NULL)))
    die("dial", rc);
  settle(&l, &d);
  size_t l0 = l.mc.live_bytes, d0 = d.mc.live_bytes;
  for (uint32_t i = 0; i < nconns; i++) {
    if ((rc = lp2p_host_dial(d.h, lp2p_clock_now(), &la, LP2P_DIAL_FORCE,
                             NULL)))
      die("dial", rc);
    if (i % 32 == 31)
      settle(&l, &d);
  }
  settle(&l, &d);
  if (d.connected != (int)nconns + 1 || l.connected != (int)nconns + 1)
    die("connect", LP2P_ERR_STATE);
  double conn_l = (double)(l.mc.live_bytes - l0) / nconns;
  double conn_d = (double)(d.mc.live_bytes - d0) / nconns;

  const lp2p_peerid *lid = lp2p_host_peer_id(l.h);
  size_t l1 = l.mc.live_bytes, d1 = d.mc.live_bytes;
  uint8_t b[32] = {0};
  for (uint32_t i = 0; i < nstreams; i++) {
    uint64_t sid = 0;
    if ((rc = lp2p_host_open_stream(d.h, lp2p_clock_now(), lid, PROTO,
                                    &sid)))
      die("open_stream", rc);
    lp2p_host_stream_write(d.h, lp2p_clock_now(), sid, b, sizeof b);
    if (i % 32 == 31)
      settle(&l, &d);
  }
  settle(&l, &d);
  if (d.done != (int)nstreams || l.inbound != (int)nstreams)
    die("streams", LP2P_ERR_STATE);
  double st_l = (double)(l.mc.live_bytes - l1) / nstreams;
  double st_d = (double)(d.mc.live_bytes - d1) / nstreams;
  printf("idle conn_l=%.1f conn_d=%.1f stream_l=%.1f stream_d=%.1f\n",
         conn_l, conn_d, st_l, st_d);
  side_free(&d);
  side_free(&l);
  return 0;
}
