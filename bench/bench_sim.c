/* Simulator benchmark (reports only; DESIGN.md section 6):
 *   1. events per second of the virtual network and TCP model alone (100
 *      connection pairs moving 2 MiB each over lossy 5 ms links);
 *   2. wall time of a 1,000-host swarm over 60 virtual seconds (real
 *      lp2p_hosts with Noise and yamux; 40 % public, the rest behind 150
 *      NATs of random types; every host dials 4 public hosts, opens a
 *      stream with 4 KiB to each and pings one peer every 10 s);
 *   3. memory per simulated node: process RSS growth and the hosts' own
 *      allocator peaks.
 * Optional argument: the swarm's node count (default 1000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "lp2p/crypto.h"
#include "lp2p/peerid.h"
#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (!f)
    return 0;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
    rss = 0;
  fclose(f);
  return rss * 4;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_sim error: %s: %s\n", what, lp2p_errname(rc));
  exit(1);
}

static lp2p_sockaddr sa(lp2p_sim *s, uint32_t node, uint16_t port) {
  return lp2p_sim_node_sockaddr(s, node, port);
}

/* ---- 1. raw TCP
 * --------------------------------------------------------------- */

#define PAIRS 100
#define PAIR_BYTES (2u * 1024 * 1024)

typedef struct tpair {
  uint32_t a, b;
  uint64_t lsock, ca, cb;
  size_t sent, got;
} tpair;

static tpair pairs[PAIRS];
static uint8_t junk[65536];

static void pump(lp2p_sim *s, tpair *p) {
  while (p->ca && p->sent < PAIR_BYTES) {
    size_t n =
        PAIR_BYTES - p->sent < sizeof junk ? PAIR_BYTES - p->sent : sizeof junk;
    lp2p_ssize w = lp2p_sim_tcp_send(s, p->ca, junk, n);
    if (w <= 0)
      break;
    p->sent += (size_t)w;
  }
  uint8_t buf[65536];
  lp2p_ssize r;
  while (p->cb && (r = lp2p_sim_tcp_recv(s, p->cb, buf, sizeof buf)) > 0)
    p->got += (size_t)r;
}

static void on_raw(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                   unsigned what) {
  (void)tag;
  tpair *p = ud;
  if ((what & LP2P_SIM_SOCK_ACCEPT) && sock == p->lsock)
    lp2p_sim_tcp_accept(s, sock, &p->cb);
  pump(s, p);
}

static void bench_raw(void) {
  lp2p_sim *s;
  int rc = lp2p_sim_new(&s, 1, NULL);
  if (rc)
    die("sim_new", rc);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 5 * MS;
  l.jitter_ns = 1 * MS;
  l.loss_ppm = 1000;
  l.bandwidth_bps = 200000000;
  for (int i = 0; i < PAIRS; i++) {
    tpair *p = &pairs[i];
    if ((rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &p->a)) ||
        (rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &p->b)))
      die("ep_add", rc);
    lp2p_sim_ep_on_sock(s, p->a, on_raw, p);
    lp2p_sim_ep_on_sock(s, p->b, on_raw, p);
    if ((rc = lp2p_sim_tcp_listen(s, p->b, 80, &p->lsock, NULL)))
      die("listen", rc);
    lp2p_sockaddr to = sa(s, p->b, 80);
    if ((rc = lp2p_sim_tcp_connect(s, p->a, 0, &to, 0, &p->ca)))
      die("connect", rc);
  }
  bench_stamp t0 = bench_stamp_now();
  lp2p_sim_run_until(s, 120 * SEC);
  bench_stamp t1 = bench_stamp_now();
  size_t done = 0;
  for (int i = 0; i < PAIRS; i++)
    done += pairs[i].got == PAIR_BYTES;
  double wall = (double)(t1.wall_ns - t0.wall_ns) / 1e9;
  double cpu = (double)(t1.cpu_ns - t0.cpu_ns) / 1e9;
  uint64_t ev = lp2p_sim_events(s);
  printf(
      "raw tcp: %d pairs x 2 MiB (%zu complete), %llu events in %.3f s "
      "wall / %.3f s cpu: %.0f events/s (cpu %.0f/s), %.1f MiB/s simulated\n",
      PAIRS, done, (unsigned long long)ev, wall, cpu, (double)ev / wall,
      (double)ev / cpu, PAIRS * 2.0 / wall);
  if (done != PAIRS) {
    fprintf(stderr, "bench_sim error: transfers incomplete\n");
    exit(1);
  }
  lp2p_sim_free(s);
}

/* ---- 2./3. the host swarm
 * -------------------------------------------------------- */

typedef struct bnode {
  uint32_t node;
  lp2p_peerid id;
  int pub;
  uint32_t peers_open;
} bnode;

typedef struct bswarm {
  lp2p_sim *s;
  bnode *n;
  uint32_t count;
  uint32_t *by_node;
  uint32_t *pubs;
  uint32_t npub;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  uint64_t connected, dial_failed, streams_in, bytes_in, pings_ok;
} bswarm;

static uint8_t payload[4096];

static void on_host(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev) {
  bswarm *w = ud;
  bnode *x = &w->n[w->by_node[hid] - 1];
  lp2p_host *h = lp2p_sim_host(s, hid);
  lp2p_tstamp now = lp2p_sim_ep_clock(s, hid);
  uint64_t sid;
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    w->connected++;
    x->peers_open++;
    if (ev->u.connected.direction == LP2P_DIR_OUTBOUND &&
        lp2p_host_open_stream(h, now, &ev->peer, "/bench/1.0.0", &sid) == 0) {
      lp2p_host_stream_write(h, now, sid, payload, sizeof payload);
      lp2p_host_stream_close(h, now, sid);
    }
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (x->peers_open)
      x->peers_open--;
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    w->dial_failed++;
    break;
  case LP2P_HOST_EV_STREAM_INBOUND:
    w->streams_in++;
    /* fall through */
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED: {
    size_t len;
    while (lp2p_host_stream_read_peek(h, ev->stream, &len) && len) {
      w->bytes_in += len;
      lp2p_host_stream_read_consume(h, now, ev->stream, len);
    }
    if (ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED)
      lp2p_host_stream_close(h, now, ev->stream);
    break;
  }
  case LP2P_HOST_EV_STREAM_OPENED:
  case LP2P_HOST_EV_STREAM_WRITABLE:
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->pings_ok += ev->err == 0;
    break;
  default:
    break;
  }
}

static void start(lp2p_sim *s, void *ud, uint64_t i) {
  bswarm *w = ud;
  bnode *x = &w->n[i];
  lp2p_host *h = lp2p_sim_host(s, x->node);
  for (int k = 0; k < 4; k++) {
    bnode *y = &w->n[w->pubs[lp2p_rng_below(&w->rng, w->npub)]];
    if (y == x)
      continue;
    char text[256], idt[LP2P_PEERID_TEXT_MAX];
    size_t n;
    uint32_t ip = lp2p_sim_node_ip(s, y->node);
    lp2p_peerid_to_base58(&y->id, idt, sizeof idt, &n);
    snprintf(text, sizeof text, "/ip4/%u.%u.%u.%u/tcp/4001/p2p/%s", ip >> 24,
             (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, idt);
    lp2p_maddr ma;
    uint64_t d;
    if (lp2p_maddr_parse(&ma, text, strlen(text)) == 0)
      lp2p_host_dial(h, lp2p_sim_ep_clock(s, x->node), &ma, 0, &d);
  }
  lp2p_sim_host_kick(s, x->node);
}

static void pinger(lp2p_sim *s, void *ud, uint64_t i) {
  bswarm *w = ud;
  bnode *x = &w->n[i];
  bnode *y = &w->n[w->pubs[lp2p_rng_below(&w->rng, w->npub)]];
  if (y != x && lp2p_host_peer_conn_count(lp2p_sim_host(s, x->node), &y->id)) {
    lp2p_host_ping(lp2p_sim_host(s, x->node), lp2p_sim_ep_clock(s, x->node),
                   &y->id);
    lp2p_sim_host_kick(s, x->node);
  }
  lp2p_sim_at(s, lp2p_sim_now(s) + 10 * SEC, pinger, w, i);
}

static void bench_swarm(uint32_t count) {
  bswarm w;
  memset(&w, 0, sizeof w);
  w.count = count;
  long rss0 = rss_kib();
  int rc = lp2p_sim_new(&w.s, 2, NULL);
  if (rc)
    die("sim_new", rc);
  lp2p_sim *s = w.s;
  lp2p_sim_rng(s, LP2P_SIM_STREAM_USER + 9, &w.st, &w.rng);
  w.n = calloc(count, sizeof(*w.n));
  w.pubs = calloc(count, sizeof(*w.pubs));
  w.by_node = calloc(2 * (size_t)count + 16, sizeof(*w.by_node));
  if (!w.n || !w.pubs || !w.by_node)
    die("alloc", LP2P_ERR_NOMEM);
  lp2p_sim_on_host_event(s, on_host, &w);
  uint32_t nnat = count / 7 + 1, *nats = calloc(nnat, sizeof(*nats));
  lp2p_sim_link wan;
  lp2p_sim_link_default(&wan);
  for (uint32_t i = 0; i < nnat; i++) {
    lp2p_sim_nat_config nc;
    lp2p_sim_nat_config_default(&nc);
    nc.mapping = (lp2p_sim_nat_mapping)lp2p_rng_below(&w.rng, 3);
    nc.filtering = (lp2p_sim_nat_filtering)lp2p_rng_below(&w.rng, 3);
    nc.alloc = (lp2p_sim_nat_alloc)lp2p_rng_below(&w.rng, 3);
    wan.latency_ns = (5 + lp2p_rng_below(&w.rng, 50)) * MS;
    if ((rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, &wan, &wan,
                               &nats[i])))
      die("nat_add", rc);
  }
  static lp2p_privkey key;
  bench_stamp b0 = bench_stamp_now();
  for (uint32_t i = 0; i < count; i++) {
    bnode *x = &w.n[i];
    x->pub = i == 0 || lp2p_rng_below(&w.rng, 10) < 4;
    wan.latency_ns = (5 + lp2p_rng_below(&w.rng, 50)) * MS;
    uint32_t realm =
        x->pub ? LP2P_SIM_INTERNET : nats[lp2p_rng_below(&w.rng, nnat)];
    if ((rc = lp2p_sim_ep_add(s, realm, 0, NULL, &wan, &wan, &x->node)))
      die("ep_add", rc);
    if ((rc = lp2p_key_generate(&key, LP2P_KEY_ED25519, 0,
                                lp2p_sim_node_rng(s, x->node))))
      die("keygen", rc);
    lp2p_peerid_from_pubkey(&x->id, &key.pub);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &key;
    if ((rc = lp2p_sim_host_add(s, x->node, &cfg, 8u * 1024 * 1024)))
      die("host_add", rc);
    lp2p_host *h = lp2p_sim_host(s, x->node);
    lp2p_host_register_protocol(h, "/bench/1.0.0");
    char text[64];
    uint32_t ip = lp2p_sim_node_ip(s, x->node);
    snprintf(text, sizeof text, "/ip4/%u.%u.%u.%u/tcp/4001", ip >> 24,
             (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    lp2p_maddr ma;
    lp2p_maddr_parse(&ma, text, strlen(text));
    lp2p_host_listen(h, &ma, NULL);
    lp2p_sim_host_kick(s, x->node);
    w.by_node[x->node] = i + 1;
    if (x->pub)
      w.pubs[w.npub++] = i;
  }
  for (uint32_t i = 0; i < count; i++) {
    lp2p_sim_at(s, lp2p_rng_below(&w.rng, 5 * SEC), start, &w, i);
    lp2p_sim_at(s, 10 * SEC + lp2p_rng_below(&w.rng, 10 * SEC), pinger, &w, i);
  }
  bench_stamp t0 = bench_stamp_now();
  lp2p_sim_run_until(s, 60 * SEC);
  bench_stamp t1 = bench_stamp_now();
  long rss1 = rss_kib();
  size_t peak_sum = 0, live_sum = 0;
  for (uint32_t i = 0; i < count; i++) {
    lp2p_mem_counting *m = lp2p_sim_host_mem(s, w.n[i].node);
    peak_sum += m->peak_bytes;
    live_sum += m->live_bytes;
  }
  double wall = (double)(t1.wall_ns - t0.wall_ns) / 1e9;
  double cpu = (double)(t1.cpu_ns - t0.cpu_ns) / 1e9;
  uint64_t ev = lp2p_sim_events(s);
  printf("swarm: %u hosts (%u public, %u NATs), 60 virtual s: %.2f s wall / "
         "%.2f s cpu (setup %.2f s), %llu events = %.0f events/s\n",
         count, w.npub, nnat, wall, cpu,
         (double)(t0.wall_ns - b0.wall_ns) / 1e9, (unsigned long long)ev,
         (double)ev / wall);
  printf("swarm: %llu connections up, %llu dials failed, %llu inbound streams, "
         "%llu bytes, %llu pings ok; %s\n",
         (unsigned long long)w.connected, (unsigned long long)w.dial_failed,
         (unsigned long long)w.streams_in, (unsigned long long)w.bytes_in,
         (unsigned long long)w.pings_ok,
         lp2p_sim_failed(s) ? lp2p_sim_failed(s) : "no failure");
  printf("memory per node: %.1f KiB process RSS growth, host allocator %.1f "
         "KiB live / %.1f KiB peak (average)\n",
         (double)(rss1 - rss0) / count, (double)live_sum / 1024.0 / count,
         (double)peak_sum / 1024.0 / count);
  lp2p_sim_free(s);
  free(nats);
  free(w.n);
  free(w.pubs);
  free(w.by_node);
}

int main(int argc, char **argv) {
  uint32_t count = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
  if (count < 2)
    count = 2;
  memset(junk, 0x5a, sizeof junk);
  memset(payload, 0xa5, sizeof payload);
  bench_raw();
  bench_swarm(count);
  return 0;
}
