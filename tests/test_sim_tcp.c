/* The simulator's TCP model and network through the public API: byte
 * integrity over bad links, handshakes, refusal and timeouts, simultaneous
 * open, REUSEPORT beside a listener, half-close, RST, send-buffer limits,
 * partitions and clogging, low-TTL SYNs, NAT RSTs, hairpinning, double NAT,
 * UDP and LAN multicast, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

/* ---- a recording application per endpoint ----------------------------------
 */

typedef struct app {
  uint32_t node;
  uint64_t listener;
  uint64_t accepted[8];
  int naccepted;
  unsigned seen; /* union of notifications */
  uint64_t last_sock;
  int connected, failed, reset, writable;
  int auto_accept;
  int echo; /* answer data at once (test_ack_rides_on_answer) */
} app;

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  app *a = ud;
  (void)tag;
  a->seen |= what;
  a->last_sock = sock;
  if (what & LP2P_SIM_SOCK_CONNECTED)
    a->connected++;
  if (what & LP2P_SIM_SOCK_FAILED)
    a->failed++;
  if (what & LP2P_SIM_SOCK_RESET)
    a->reset++;
  if (what & LP2P_SIM_SOCK_WRITABLE)
    a->writable++;
  if ((what & LP2P_SIM_SOCK_READABLE) && a->echo) {
    uint8_t buf[64];
    lp2p_ssize r = lp2p_sim_tcp_recv(s, sock, buf, sizeof buf);
    if (r > 0)
      assert_int_equal(lp2p_sim_tcp_send(s, sock, buf, (size_t)r), r);
  }
  if ((what & LP2P_SIM_SOCK_ACCEPT) && a->auto_accept) {
    uint64_t c;
    while (a->naccepted < 8 && lp2p_sim_tcp_accept(s, sock, &c) == 0)
      a->accepted[a->naccepted++] = c;
  }
}

static void ep(lp2p_sim *s, uint32_t realm, const lp2p_sim_link *l, app *a,
               const lp2p_sim_ep_config *cfg) {
  memset(a, 0, sizeof *a);
  a->auto_accept = 1;
  assert_int_equal(lp2p_sim_ep_add(s, realm, 0, cfg, l, l, &a->node), 0);
  assert_int_equal(lp2p_sim_ep_on_sock(s, a->node, on_sock, a), 0);
}

static lp2p_sockaddr addr(lp2p_sim *s, uint32_t node, uint16_t port) {
  return lp2p_sim_node_sockaddr(s, node, port);
}

static lp2p_sim *world(uint64_t seed) {
  lp2p_sim *s;
  assert_int_equal(lp2p_sim_new(&s, seed, NULL), 0);
  return s;
}

/* Pump bytes from a to b until all `n` arrive; returns the virtual time. */
typedef struct xfer {
  lp2p_sim *s;
  uint64_t tx, rx;
  const uint8_t *data;
  size_t n, sent, got;
  uint8_t *out;
  size_t max_chunk_seen, chunks;
} xfer;

static void xfer_pump(xfer *x) {
  while (x->sent < x->n) {
    lp2p_ssize w =
        lp2p_sim_tcp_send(x->s, x->tx, x->data + x->sent, x->n - x->sent);
    if (w <= 0)
      break;
    x->sent += (size_t)w;
  }
  for (;;) {
    lp2p_ssize r =
        lp2p_sim_tcp_recv(x->s, x->rx, x->out + x->got, x->n - x->got + 1);
    if (r <= 0)
      break;
    x->chunks++;
    if ((size_t)r > x->max_chunk_seen)
      x->max_chunk_seen = (size_t)r;
    x->got += (size_t)r;
  }
}

static int xfer_done(void *ud) {
  xfer *x = ud;
  xfer_pump(x);
  return x->got == x->n;
}

static void connect_pair(lp2p_sim *s, app *a, app *b, uint64_t *ca,
                         uint64_t *cb) {
  assert_int_equal(lp2p_sim_tcp_listen(s, b->node, 80, &b->listener, NULL), 0);
  lp2p_sockaddr dst = addr(s, b->node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(s, a->node, 0, &dst, 0, ca), 0);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 5 * SEC);
  assert_int_equal(a->connected, 1);
  assert_int_equal(b->naccepted, 1);
  *cb = b->accepted[0];
}

static void test_transfer_bad_link(void **state) {
  (void)state;
  lp2p_sim *s = world(3);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 20 * MS;
  l.jitter_ns = 15 * MS;
  l.loss_ppm = 20000;
  l.dup_ppm = 20000;
  l.bandwidth_bps = 50000000;
  app a, b;
  ep(s, LP2P_SIM_INTERNET, &l, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, &l, &b, NULL);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  size_t n = 3 * 1024 * 1024 + 17;
  uint8_t *data = malloc(n), *got = malloc(n + 1);
  for (size_t i = 0; i < n; i++)
    data[i] = (uint8_t)(i * 131 + (i >> 11));
  xfer x = {s, ca, cb, data, n, 0, 0, got, 0, 0};
  assert_int_equal(lp2p_sim_run(s, xfer_done, &x, lp2p_sim_now(s) + 600 * SEC),
                   1);
  assert_memory_equal(got, data, n);
  /* delivered at random boundaries, not in the sender's pieces */
  assert_true(x.chunks > n / (128 * 1024));
  lp2p_sim_sock_info info;
  assert_int_equal(lp2p_sim_sock_info_get(s, ca, &info), 0);
  assert_true(info.bytes_sent == n);
  assert_true(info.established);
  assert_true(lp2p_sim_failed(s) == NULL);
  free(data);
  free(got);
  lp2p_sim_free(s);
}

static void test_refused_and_timeout(void **state) {
  (void)state;
  lp2p_sim *s = world(4);
  lp2p_sim_ep_config quiet;
  lp2p_sim_ep_config_default(&quiet);
  quiet.closed_port_rst = 0;
  app a, b, c;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &c, &quiet);
  lp2p_sockaddr dst = addr(s, b.node, 81);
  uint64_t k;
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 0, &dst, 0, &k), 0);
  lp2p_sim_run_until(s, 1 * SEC);
  assert_int_equal(a.failed, 1);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, k, &info);
  assert_int_equal(info.error, LP2P_ERR_REFUSED);
  assert_int_equal(lp2p_sim_tcp_send(s, k, (const uint8_t *)"x", 1),
                   LP2P_ERR_REFUSED);
  lp2p_sim_tcp_close(s, k);
  /* a silent host: SYN retransmitted at 1, 2, 4 ... s, then ETIMEDOUT */
  a.failed = 0;
  lp2p_tstamp t0 = lp2p_sim_now(s);
  dst = addr(s, c.node, 81);
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 0, &dst, 0, &k), 0);
  lp2p_sim_run_until(s, t0 + 126 * SEC);
  assert_int_equal(a.failed, 0);
  lp2p_sim_run_until(s, t0 + 128 * SEC);
  assert_int_equal(a.failed, 1);
  lp2p_sim_sock_info_get(s, k, &info);
  assert_int_equal(info.error, LP2P_ERR_TIMEOUT);
  lp2p_sim_free(s);
}

static void test_simultaneous_open(void **state) {
  (void)state;
  lp2p_sim *s = world(5);
  app a, b;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  uint64_t la, lb, ka, kb;
  /* listeners on the punch port, dials from it (REUSEPORT), at once */
  assert_int_equal(lp2p_sim_tcp_listen(s, a.node, 4001, &la, NULL), 0);
  assert_int_equal(lp2p_sim_tcp_listen(s, b.node, 4001, &lb, NULL), 0);
  assert_int_equal(lp2p_sim_tcp_listen(s, b.node, 4001, &lb, NULL),
                   LP2P_ERR_INVAL);
  lp2p_sockaddr da = addr(s, a.node, 4001), db = addr(s, b.node, 4001);
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 4001, &db, 0, &ka), 0);
  assert_int_equal(lp2p_sim_tcp_connect(s, b.node, 4001, &da, 0, &kb), 0);
  /* the same 4-tuple twice is refused (EADDRINUSE) */
  uint64_t dup;
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 4001, &db, 0, &dup),
                   LP2P_ERR_INVAL);
  lp2p_sim_run_until(s, SEC / 2);
  /* the SYNs crossed: both connecting sockets connect, nobody accepts */
  assert_int_equal(a.connected, 1);
  assert_int_equal(b.connected, 1);
  assert_int_equal(a.naccepted + b.naccepted, 0);
  xfer x = {s, ka, kb, (const uint8_t *)"simultaneous", 12, 0, 0, NULL, 0, 0};
  uint8_t out[16];
  x.out = out;
  assert_int_equal(lp2p_sim_run(s, xfer_done, &x, 10 * SEC), 1);
  assert_memory_equal(out, "simultaneous", 12);
  lp2p_sim_free(s);
}

static void test_reuseport_listener_gets_others(void **state) {
  (void)state;
  lp2p_sim *s = world(6);
  app a, b, c;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &c, NULL);
  uint64_t la, ka, kc;
  assert_int_equal(lp2p_sim_tcp_listen(s, a.node, 4001, &la, NULL), 0);
  lp2p_sockaddr db = addr(s, b.node, 9), da = addr(s, a.node, 4001);
  /* a dials from its listen port to a silent port of b (b drops nothing:
   * it answers RST, the dial fails) while c dials a's listener */
  b.auto_accept = 0;
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 4001, &db, 0, &ka), 0);
  assert_int_equal(lp2p_sim_tcp_connect(s, c.node, 0, &da, 0, &kc), 0);
  lp2p_sim_run_until(s, SEC);
  assert_int_equal(c.connected, 1);
  assert_int_equal(a.naccepted, 1); /* the listener took c's SYN */
  assert_int_equal(a.failed, 1); /* the dial from the same port failed alone */
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, a.accepted[0], &info);
  assert_true(info.local.port == 4001 && info.established);
  lp2p_sim_free(s);
}

static void test_half_close_and_rst(void **state) {
  (void)state;
  lp2p_sim *s = world(7);
  app a, b;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  assert_int_equal(lp2p_sim_tcp_send(s, ca, (const uint8_t *)"abc", 3), 3);
  assert_int_equal(lp2p_sim_tcp_shutdown(s, ca), 0);
  assert_int_equal(lp2p_sim_tcp_send(s, ca, (const uint8_t *)"x", 1),
                   LP2P_ERR_CLOSED);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + SEC);
  uint8_t buf[8];
  size_t got = 0;
  lp2p_ssize r;
  while ((r = lp2p_sim_tcp_recv(s, cb, buf + got, sizeof buf - got)) > 0)
    got += (size_t)r;
  assert_int_equal(r, 0); /* EOF after the bytes */
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "abc", 3);
  /* the other direction still works */
  assert_int_equal(lp2p_sim_tcp_send(s, cb, (const uint8_t *)"reply", 5), 5);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + SEC);
  got = 0;
  while ((r = lp2p_sim_tcp_recv(s, ca, buf + got, sizeof buf - got)) > 0)
    got += (size_t)r;
  assert_int_equal(got, 5);
  assert_memory_equal(buf, "reply", 5);
  assert_int_equal(r, LP2P_ERR_AGAIN);
  /* abort: the peer sees a reset */
  assert_int_equal(lp2p_sim_tcp_abort(s, cb), 0);
  assert_int_equal(lp2p_sim_tcp_abort(s, cb),
                   LP2P_ERR_NOT_FOUND); /* dead handle */
  lp2p_sim_run_until(s, lp2p_sim_now(s) + SEC);
  assert_int_equal(a.reset, 1);
  assert_int_equal(lp2p_sim_tcp_recv(s, ca, buf, sizeof buf), LP2P_ERR_RESET);
  lp2p_sim_free(s);
}

static void test_close_delivers_fin(void **state) {
  (void)state;
  lp2p_sim *s = world(8);
  app a, b;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  uint8_t big[200000];
  memset(big, 7, sizeof big);
  lp2p_ssize w = lp2p_sim_tcp_send(s, ca, big, sizeof big);
  assert_true(w > 0);
  assert_int_equal(lp2p_sim_tcp_close(s, ca), 0); /* lingers to deliver */
  size_t got = 0;
  uint8_t buf[4096];
  lp2p_ssize r = 0;
  for (int i = 0; i < 1000; i++) {
    lp2p_sim_run_until(s, lp2p_sim_now(s) + 10 * MS);
    while ((r = lp2p_sim_tcp_recv(s, cb, buf, sizeof buf)) > 0)
      got += (size_t)r;
    if (r == 0)
      break;
  }
  assert_int_equal(r, 0);
  assert_true(got == (size_t)w);
  lp2p_sim_free(s);
}

static void test_sndbuf_limit_and_writable(void **state) {
  (void)state;
  lp2p_sim *s = world(9);
  lp2p_sim_ep_config small;
  lp2p_sim_ep_config_default(&small);
  small.sndbuf_bytes = 10000;
  small.rcvbuf_bytes = 8000;
  app a, b;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, &small);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, &small);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  uint8_t big[50000];
  memset(big, 1, sizeof big);
  assert_int_equal(lp2p_sim_tcp_send(s, ca, big, sizeof big),
                   10000); /* partial */
  assert_int_equal(lp2p_sim_tcp_send(s, ca, big, sizeof big), LP2P_ERR_AGAIN);
  /* b does not read: the window closes, the sender stays stuck */
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 30 * SEC);
  assert_int_equal(lp2p_sim_tcp_readable(s, cb), 8000);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, ca, &info);
  assert_true(info.bytes_acked == 8000);
  assert_int_equal(a.writable, 1);              /* 8000 acked freed room once */
  assert_true(info.established && !info.error); /* probes keep it alive */
  /* reading opens the window; the rest flows */
  uint8_t buf[8000];
  size_t got = 0;
  while (got < 10000) {
    lp2p_ssize r = lp2p_sim_tcp_recv(s, cb, buf, sizeof buf);
    if (r > 0)
      got += (size_t)r;
    else
      lp2p_sim_run_until(s, lp2p_sim_now(s) + 100 * MS);
    assert_true(lp2p_sim_now(s) < 200 * SEC);
  }
  assert_int_equal(got, 10000);
  lp2p_sim_free(s);
}

static void test_partition_heals_and_times_out(void **state) {
  (void)state;
  lp2p_sim *s = world(10);
  app a, b;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  /* asymmetric partition: b hears nothing for 3 s; data resumes after */
  lp2p_sim_link_block(s, b.node, LP2P_SIM_DOWN, 1);
  lp2p_sim_tcp_send(s, ca, (const uint8_t *)"late", 4);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 3 * SEC);
  assert_int_equal(lp2p_sim_tcp_readable(s, cb), 0);
  lp2p_sim_link_block(s, b.node, LP2P_SIM_DOWN, 0);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 10 * SEC);
  assert_int_equal(lp2p_sim_tcp_readable(s, cb), 4);
  /* clog: held, not dropped, then delivered at once */
  lp2p_tstamp t = lp2p_sim_now(s);
  lp2p_sim_link_clog(s, a.node, LP2P_SIM_UP, t + 2 * SEC);
  lp2p_sim_tcp_send(s, ca, (const uint8_t *)"held", 4);
  lp2p_sim_run_until(s, t + 2 * SEC - 1);
  assert_int_equal(lp2p_sim_tcp_readable(s, cb), 4);
  lp2p_sim_run_until(s, t + 2 * SEC + 10 * MS);
  assert_int_equal(lp2p_sim_tcp_readable(s, cb), 8);
  /* a partition that lasts: the sender gives up with a timeout */
  lp2p_sim_link_block(s, a.node, LP2P_SIM_BOTH, 1);
  lp2p_sim_tcp_send(s, ca, (const uint8_t *)"lost", 4);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 600 * SEC);
  assert_int_equal(a.reset, 1);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, ca, &info);
  assert_int_equal(info.error, LP2P_ERR_TIMEOUT);
  lp2p_sim_free(s);
}

static void test_pair_block(void **state) {
  (void)state;
  lp2p_sim *s = world(11);
  app a, b, c;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &c, NULL);
  assert_int_equal(lp2p_sim_pair_block(s, a.node, b.node, 1), 0);
  uint64_t lb, k1, k2;
  assert_int_equal(lp2p_sim_tcp_listen(s, b.node, 80, &lb, NULL), 0);
  lp2p_sockaddr db = addr(s, b.node, 80);
  lp2p_sim_tcp_connect(s, a.node, 0, &db, 0, &k1);
  lp2p_sim_tcp_connect(s, c.node, 0, &db, 0, &k2);
  lp2p_sim_run_until(s, 5 * SEC);
  assert_int_equal(a.connected, 0);
  assert_int_equal(c.connected, 1);
  assert_int_equal(lp2p_sim_pair_block(s, a.node, b.node, 0), 0);
  lp2p_sim_run_until(s, 20 * SEC); /* the next SYN retransmission passes */
  assert_int_equal(a.connected, 1);
  lp2p_sim_free(s);
}

/* Group partition: a and c (group 1) cannot reach b (group 2) while the
 * groups are blocked both ways; d (group 0) is not affected; healing lets
 * the next SYN retransmission through. */
static void test_group_block(void **state) {
  (void)state;
  lp2p_sim *s = world(13);
  app a, b, c, d;
  ep(s, LP2P_SIM_INTERNET, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &c, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &d, NULL);
  assert_int_equal(lp2p_sim_node_group(s, a.node, 1), 0);
  assert_int_equal(lp2p_sim_node_group(s, c.node, 1), 0);
  assert_int_equal(lp2p_sim_node_group(s, b.node, 2), 0);
  assert_int_equal(lp2p_sim_node_group(s, b.node, 16), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_sim_node_group(s, 9999, 1), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_sim_group_block(s, 1, 16, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_sim_group_block(s, 1, 2, 1), 0);
  assert_int_equal(lp2p_sim_group_block(s, 2, 1, 1), 0);
  assert_int_equal(lp2p_sim_group_block(s, 2, 1, 1), 0); /* idempotent */
  uint64_t lb, k1, k2, k3;
  assert_int_equal(lp2p_sim_tcp_listen(s, b.node, 80, &lb, NULL), 0);
  lp2p_sockaddr db = addr(s, b.node, 80);
  lp2p_sim_tcp_connect(s, a.node, 0, &db, 0, &k1);
  lp2p_sim_tcp_connect(s, c.node, 0, &db, 0, &k2);
  lp2p_sim_tcp_connect(s, d.node, 0, &db, 0, &k3);
  lp2p_sim_run_until(s, 5 * SEC);
  assert_int_equal(a.connected, 0);
  assert_int_equal(c.connected, 0);
  assert_int_equal(d.connected, 1);
  /* one direction healed is not enough: the SYN-ACK is still dropped */
  assert_int_equal(lp2p_sim_group_block(s, 1, 2, 0), 0);
  lp2p_sim_run_until(s, 20 * SEC);
  assert_int_equal(a.connected, 0);
  assert_int_equal(lp2p_sim_group_block(s, 2, 1, 0), 0);
  lp2p_sim_run_until(s, 80 * SEC);
  assert_int_equal(a.connected, 1);
  assert_int_equal(c.connected, 1);
  lp2p_sim_free(s);
}

/* DESIGN 5b: a low-TTL first SYN opens the own NAT mapping and dies before
 * the far NAT; the retransmission then connects. */
static void test_low_ttl_syn(void **state) {
  (void)state;
  lp2p_sim *s = world(12);
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  nc.filtering = LP2P_SIM_FILT_EI;
  nc.syn_rst = 1;
  uint32_t nat;
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, NULL, NULL, &nat), 0);
  app a, srv;
  ep(s, nat, NULL, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &srv, NULL);
  uint64_t l, k;
  assert_int_equal(lp2p_sim_tcp_listen(s, srv.node, 80, &l, NULL), 0);
  lp2p_sockaddr d = addr(s, srv.node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 5555, &d, 2, &k), 0);
  lp2p_sim_run_until(s, 500 * MS);
  assert_int_equal(srv.naccepted, 0);                 /* died on the way */
  assert_int_equal(lp2p_sim_nat_mappings(s, nat), 1); /* but opened the NAT */
  lp2p_sim_run_until(s, 1500 * MS);
  assert_int_equal(a.connected, 1); /* the TTL-64 retransmission connected */
  assert_int_equal(srv.naccepted, 1);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, srv.accepted[0], &info);
  assert_true(memcmp(info.remote.ip, addr(s, nat, 0).ip, 4) == 0);
  assert_int_equal(info.remote.port, 5555); /* port preserved */
  lp2p_sim_free(s);
}

/* DESIGN 5b: a NAT answering an unsolicited SYN with RST also kills the
 * sender's own mapping (conntrack), and the sender's connect is refused. */
static void test_nat_rst_kills_mapping(void **state) {
  (void)state;
  lp2p_sim *s = world(13);
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  nc.syn_rst = 1;
  uint32_t nx, ny;
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, NULL, NULL, &nx), 0);
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, NULL, NULL, &ny), 0);
  app x, y;
  ep(s, nx, NULL, &x, NULL);
  ep(s, ny, NULL, &y, NULL);
  lp2p_sockaddr to = addr(s, ny, 4001);
  uint64_t k;
  assert_int_equal(lp2p_sim_tcp_connect(s, x.node, 4001, &to, 0, &k), 0);
  lp2p_sim_run_until(s, 100 * MS);
  assert_int_equal(x.failed, 1);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, k, &info);
  assert_int_equal(info.error, LP2P_ERR_REFUSED);
  assert_int_equal(lp2p_sim_nat_mappings(s, nx), 0);
  lp2p_sim_free(s);
}

static void test_hairpin_and_double_nat(void **state) {
  (void)state;
  lp2p_sim *s = world(14);
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  nc.filtering = LP2P_SIM_FILT_EI;
  uint32_t outer, inner;
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, NULL, NULL, &outer), 0);
  /* CGNAT: the inner NAT's external side is on the outer NAT's LAN */
  assert_int_equal(lp2p_sim_nat_add(s, outer, 0, &nc, NULL, NULL, &inner), 0);
  assert_int_equal(lp2p_sim_node_realm(s, inner), outer);
  app a, b, srv;
  ep(s, inner, NULL, &a, NULL);
  ep(s, inner, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &srv, NULL);
  uint64_t l, k;
  assert_int_equal(lp2p_sim_tcp_listen(s, srv.node, 80, &l, NULL), 0);
  lp2p_sockaddr d = addr(s, srv.node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 7000, &d, 0, &k), 0);
  lp2p_sim_run_until(s, SEC);
  assert_int_equal(a.connected, 1);
  lp2p_sim_sock_info info;
  lp2p_sim_sock_info_get(s, srv.accepted[0], &info);
  assert_true(memcmp(info.remote.ip, addr(s, outer, 0).ip, 4) == 0);
  /* hairpin: b reaches a through the inner NAT's external address */
  uint64_t la, kb;
  assert_int_equal(lp2p_sim_tcp_listen(s, a.node, 7000, &la, NULL), 0);
  lp2p_sockaddr ha = addr(s, inner, 7000); /* a's mapping: preserved port */
  assert_int_equal(lp2p_sim_tcp_connect(s, b.node, 0, &ha, 0, &kb), 0);
  lp2p_sim_run_until(s, 2 * SEC);
  assert_int_equal(b.connected, 1);
  assert_int_equal(a.naccepted, 1);
  lp2p_sim_free(s);

  /* without hairpinning the same dial goes nowhere */
  s = world(14);
  nc.hairpin = 0;
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, NULL, NULL, &inner), 0);
  ep(s, inner, NULL, &a, NULL);
  ep(s, inner, NULL, &b, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &srv, NULL);
  assert_int_equal(lp2p_sim_tcp_listen(s, srv.node, 80, &l, NULL), 0);
  d = addr(s, srv.node, 80);
  assert_int_equal(lp2p_sim_tcp_listen(s, a.node, 7000, &la, NULL), 0);
  assert_int_equal(lp2p_sim_tcp_connect(s, a.node, 7000, &d, 0, &k), 0);
  lp2p_sim_run_until(s, SEC);
  ha = addr(s, inner, 7000);
  assert_int_equal(lp2p_sim_tcp_connect(s, b.node, 0, &ha, 0, &kb), 0);
  lp2p_sim_run_until(s, 5 * SEC);
  assert_int_equal(b.connected, 0);
  assert_int_equal(a.naccepted, 0);
  lp2p_sim_free(s);
}

static void test_udp_and_multicast(void **state) {
  (void)state;
  lp2p_sim *s = world(15);
  uint32_t nat;
  assert_int_equal(
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, NULL, NULL, NULL, &nat), 0);
  app a, b, c, pub;
  ep(s, nat, NULL, &a, NULL);
  ep(s, nat, NULL, &b, NULL);
  ep(s, nat, NULL, &c, NULL);
  ep(s, LP2P_SIM_INTERNET, NULL, &pub, NULL);
  uint64_t ua, ub, uc, up;
  assert_int_equal(lp2p_sim_udp_open(s, a.node, 1900, &ua, NULL), 0);
  assert_int_equal(lp2p_sim_udp_open(s, b.node, 1900, &ub, NULL), 0);
  assert_int_equal(lp2p_sim_udp_open(s, c.node, 1900, &uc, NULL), 0);
  assert_int_equal(lp2p_sim_udp_open(s, pub.node, 1900, &up, NULL), 0);
  assert_int_equal(lp2p_sim_udp_open(s, pub.node, 1900, &up, NULL),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_sim_udp_join(s, ub), 0);
  assert_int_equal(lp2p_sim_udp_join(s, up), 0);
  lp2p_sockaddr g;
  memset(&g, 0, sizeof g);
  g.family = 4;
  g.ip[0] = 239;
  g.ip[1] = 255;
  g.ip[2] = 255;
  g.ip[3] = 250;
  g.port = 1900;
  assert_int_equal(
      lp2p_sim_udp_send(s, ua, &g, (const uint8_t *)"M-SEARCH", 8, 0), 0);
  lp2p_sim_run_until(s, SEC);
  uint8_t buf[32];
  lp2p_sockaddr from;
  assert_int_equal(lp2p_sim_udp_recv(s, ub, &from, buf, sizeof buf),
                   8); /* joined */
  assert_memory_equal(buf, "M-SEARCH", 8);
  assert_int_equal(lp2p_sim_udp_recv(s, uc, &from, buf, sizeof buf),
                   LP2P_ERR_AGAIN);
  assert_int_equal(lp2p_sim_udp_recv(s, up, &from, buf, sizeof buf),
                   LP2P_ERR_AGAIN);
  /* unicast out through the NAT and the answer back */
  lp2p_sockaddr dp = addr(s, pub.node, 1900);
  assert_int_equal(lp2p_sim_udp_send(s, ua, &dp, (const uint8_t *)"ping", 4, 0),
                   0);
  lp2p_sim_run_until(s, 2 * SEC);
  assert_int_equal(lp2p_sim_udp_recv(s, up, &from, buf, sizeof buf), 4);
  assert_true(memcmp(from.ip, addr(s, nat, 0).ip, 4) == 0);
  assert_int_equal(
      lp2p_sim_udp_send(s, up, &from, (const uint8_t *)"pong", 4, 0), 0);
  lp2p_sim_run_until(s, 3 * SEC);
  assert_int_equal(lp2p_sim_udp_recv(s, ua, &from, buf, sizeof buf), 4);
  assert_memory_equal(buf, "pong", 4);
  assert_int_equal(lp2p_sim_udp_close(s, ua), 0);
  assert_int_equal(lp2p_sim_udp_recv(s, ua, &from, buf, sizeof buf),
                   LP2P_ERR_NOT_FOUND);
  lp2p_sim_free(s);
}

static uint64_t lossy_run(uint64_t seed) {
  lp2p_sim *s = world(seed);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 5 * MS;
  l.jitter_ns = 5 * MS;
  l.loss_ppm = 50000;
  app a, b;
  ep(s, LP2P_SIM_INTERNET, &l, &a, NULL);
  ep(s, LP2P_SIM_INTERNET, &l, &b, NULL);
  uint64_t ca, cb;
  connect_pair(s, &a, &b, &ca, &cb);
  uint8_t data[100000], got[100001];
  memset(data, 3, sizeof data);
  xfer x = {s, ca, cb, data, sizeof data, 0, 0, got, 0, 0};
  lp2p_sim_run(s, xfer_done, &x, 100 * SEC);
  uint64_t h = lp2p_sim_trace_hash(s);
  lp2p_sim_free(s);
  return h;
}

/* Packets arriving at endpoints ("rx" trace lines). */
static void count_rx(void *ud, const char *line) {
  if (strstr(line, " rx n"))
    (*(int *)ud)++;
}

/* Data owes an ACK; an answer written at the same instant carries it, so
 * no bare ACK goes out before it. Without an answer the bare ACK goes. */
static void test_ack_rides_on_answer(void **state) {
  (void)state;
  for (int echo = 0; echo <= 1; echo++) {
    lp2p_sim *s = world(21);
    lp2p_sim_link l;
    lp2p_sim_link_default(&l);
    app a, b;
    ep(s, LP2P_SIM_INTERNET, &l, &a, NULL);
    ep(s, LP2P_SIM_INTERNET, &l, &b, NULL);
    uint64_t ca, cb;
    connect_pair(s, &a, &b, &ca, &cb);
    b.echo = echo;
    int rx = 0;
    lp2p_sim_set_trace_sink(s, count_rx, &rx);
    assert_int_equal(lp2p_sim_tcp_send(s, ca, (const uint8_t *)"hello", 5),
                     5);
    lp2p_sim_run_until(s, lp2p_sim_now(s) + 5 * SEC);
    /* echo: the data, the answer (with B's ACK), A's bare ACK of it;
     * none: the data and B's bare ACK */
    assert_int_equal(rx, echo ? 3 : 2);
    if (echo)
      assert_int_equal(lp2p_sim_tcp_readable(s, ca), 5);
    lp2p_sim_free(s);
  }
}

static void test_determinism(void **state) {
  (void)state;
  assert_true(lossy_run(21) == lossy_run(21));
  assert_true(lossy_run(21) != lossy_run(22));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transfer_bad_link),
      cmocka_unit_test(test_refused_and_timeout),
      cmocka_unit_test(test_simultaneous_open),
      cmocka_unit_test(test_reuseport_listener_gets_others),
      cmocka_unit_test(test_half_close_and_rst),
      cmocka_unit_test(test_close_delivers_fin),
      cmocka_unit_test(test_sndbuf_limit_and_writable),
      cmocka_unit_test(test_partition_heals_and_times_out),
      cmocka_unit_test(test_pair_block),
      cmocka_unit_test(test_group_block),
      cmocka_unit_test(test_low_ttl_syn),
      cmocka_unit_test(test_nat_rst_kills_mapping),
      cmocka_unit_test(test_hairpin_and_double_nat),
      cmocka_unit_test(test_udp_and_multicast),
      cmocka_unit_test(test_ack_rides_on_answer),
      cmocka_unit_test(test_determinism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
