/* Raw sockets in the simulator (drivers/sim/host_driver.c): a client host
 * behind a NAT and a server host on the internet. Raw TCP echo with
 * half-close through the NAT; a first SYN with TTL 1 dies at the NAT and
 * the retransmission connects (DESIGN.md 5b); UDP both ways through the
 * NAT (the reply goes to the port the server saw); a TTL 1 datagram dies
 * at the NAT; and the server node's application owns sim sockets of its
 * own beside the host's without either seeing the other's traffic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/crypto.h"
#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S
#define ECHO_BYTES 100000u

typedef struct world {
  lp2p_sim *s;
  uint32_t nat, srv, cli;
  lp2p_host *hs, *hc;
  /* raw TCP */
  uint64_t lsn, srv_conn, cli_conn;
  int cli_connected, srv_eof, closed_ok[2], closed_bad;
  lp2p_tstamp connected_at;
  size_t sent, got;
  int mismatch;
  /* UDP */
  uint64_t us, uc;
  int udp_ready[2];
  char srv_got[8][16];
  int srv_ngot;
  lp2p_sockaddr srv_from;
  int cli_got_reply;
  /* the server node's application */
  uint64_t app_udp, app_lsn;
  int app_udp_got, app_accepts, host_accepts;
} world;

static uint8_t pat(size_t i) { return (uint8_t)(i * 7 + (i >> 8)); }

static lp2p_sockaddr sa(uint32_t ip, uint16_t port) {
  lp2p_sockaddr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  a.ip[0] = (uint8_t)(ip >> 24);
  a.ip[1] = (uint8_t)(ip >> 16);
  a.ip[2] = (uint8_t)(ip >> 8);
  a.ip[3] = (uint8_t)ip;
  a.port = port;
  return a;
}

static void cli_pump(world *w, lp2p_tstamp now) {
  uint8_t buf[4096];
  while (w->cli_conn && w->sent < ECHO_BYTES) {
    size_t k = ECHO_BYTES - w->sent < sizeof buf ? ECHO_BYTES - w->sent
                                                 : sizeof buf;
    for (size_t i = 0; i < k; i++)
      buf[i] = pat(w->sent + i);
    lp2p_ssize r = lp2p_host_raw_write(w->hc, now, w->cli_conn, buf, k);
    if (r <= 0)
      break;
    w->sent += (size_t)r;
    if (w->sent == ECHO_BYTES)
      lp2p_host_raw_close(w->hc, now, w->cli_conn);
  }
  size_t len;
  const uint8_t *p;
  while ((p = lp2p_host_raw_read_peek(w->hc, w->cli_conn, &len)) && len) {
    for (size_t i = 0; i < len; i++)
      if (p[i] != pat(w->got + i))
        w->mismatch = 1;
    w->got += len;
    lp2p_host_raw_read_consume(w->hc, now, w->cli_conn, len);
  }
}

static void srv_pump(world *w, lp2p_tstamp now) {
  size_t len;
  const uint8_t *p = lp2p_host_raw_read_peek(w->hs, w->srv_conn, &len);
  if (p && len) {
    lp2p_ssize r = lp2p_host_raw_write(w->hs, now, w->srv_conn, p, len);
    if (r > 0)
      lp2p_host_raw_read_consume(w->hs, now, w->srv_conn, (size_t)r);
  }
  if (w->srv_eof && lp2p_host_raw_at_eof(w->hs, w->srv_conn))
    lp2p_host_raw_close(w->hs, now, w->srv_conn);
}

static void on_host(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev) {
  world *w = ud;
  int is_srv = hid == w->srv;
  lp2p_host *h = is_srv ? w->hs : w->hc;
  lp2p_tstamp now = lp2p_sim_ep_clock(s, hid);
  switch (ev->kind) {
  case LP2P_HOST_EV_RAW_ACCEPTED:
    w->srv_conn = ev->u.raw.id;
    w->host_accepts++;
    break;
  case LP2P_HOST_EV_RAW_CONNECTED:
    w->cli_connected = 1;
    w->connected_at = lp2p_sim_now(s);
    break;
  case LP2P_HOST_EV_RAW_REMOTE_CLOSED:
    if (is_srv)
      w->srv_eof = 1;
    break;
  case LP2P_HOST_EV_RAW_CLOSED:
    if (ev->err)
      w->closed_bad = 1;
    else
      w->closed_ok[is_srv]++;
    break;
  case LP2P_HOST_EV_UDP_READY:
    w->udp_ready[is_srv] = 1;
    break;
  case LP2P_HOST_EV_UDP_READABLE: {
    lp2p_sockaddr from;
    size_t len;
    const uint8_t *p;
    while ((p = lp2p_host_udp_recv_peek(h, ev->u.raw.id, &from, &len))) {
      if (is_srv && w->srv_ngot < 8) {
        snprintf(w->srv_got[w->srv_ngot++], 16, "%.*s", (int)len,
                 (const char *)p);
        w->srv_from = from;
        lp2p_host_udp_send(h, ev->u.raw.id, &from, 0, (const uint8_t *)"reply", 5);
      } else if (!is_srv && len == 5 && !memcmp(p, "reply", 5)) {
        w->cli_got_reply++;
      }
      lp2p_host_udp_recv_consume(h, ev->u.raw.id);
    }
    break;
  }
  default:
    break;
  }
  if (is_srv && w->srv_conn)
    srv_pump(w, now);
  if (!is_srv && w->cli_conn)
    cli_pump(w, now);
}

/* The server node's application: its own sim sockets. */
static void on_app_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                        unsigned what) {
  world *w = ud;
  (void)tag;
  (void)what;
  if (sock == w->app_udp) {
    uint8_t buf[64];
    lp2p_sockaddr from;
    while (lp2p_sim_udp_recv(s, sock, &from, buf, sizeof buf) >= 0)
      w->app_udp_got++;
  } else if (sock == w->app_lsn) {
    uint64_t c;
    while (lp2p_sim_tcp_accept(s, sock, &c) == 0) {
      w->app_accepts++;
      lp2p_sim_tcp_close(s, c);
    }
  }
}

static void build(world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  assert_int_equal(lp2p_sim_new(&w->s, seed, NULL), 0);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 5 * MS;
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  nc.mapping = LP2P_SIM_MAP_EI;
  nc.filtering = LP2P_SIM_FILT_APD;
  assert_int_equal(lp2p_sim_nat_add(w->s, LP2P_SIM_INTERNET, 0, &nc, &l, &l,
                                    &w->nat),
                   0);
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->srv), 0);
  assert_int_equal(lp2p_sim_ep_add(w->s, w->nat, 0, NULL, &l, &l, &w->cli), 0);
  static lp2p_privkey key[2];
  uint32_t nodes[2] = {w->srv, w->cli};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lp2p_key_generate(&key[i], LP2P_KEY_ED25519, 0,
                                       lp2p_sim_node_rng(w->s, nodes[i])),
                     0);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &key[i];
    cfg.raw_send_bytes_max = 16384; /* small: many short writes */
    cfg.raw_recv_bytes_max = 16384;
    assert_int_equal(lp2p_sim_host_add(w->s, nodes[i], &cfg, 0), 0);
  }
  w->hs = lp2p_sim_host(w->s, w->srv);
  w->hc = lp2p_sim_host(w->s, w->cli);
  lp2p_sim_on_host_event(w->s, on_host, w);
}

static int echo_done(void *ud) {
  world *w = ud;
  return w->closed_ok[0] && w->closed_ok[1];
}

static void run_echo(world *w, uint8_t first_ttl) {
  uint32_t sip = lp2p_sim_node_ip(w->s, w->srv);
  lp2p_sockaddr any = sa(0, 7000);
  assert_int_equal(lp2p_host_raw_listen(w->hs, &any, 0, &w->lsn), 0);
  lp2p_sim_host_kick(w->s, w->srv);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 10 * MS);
  lp2p_sockaddr to = sa(sip, 7000);
  lp2p_tstamp t0 = lp2p_sim_now(w->s);
  assert_int_equal(lp2p_host_raw_connect(w->hc, lp2p_sim_ep_clock(w->s, w->cli),
                                         &to, NULL, 0, first_ttl, &w->cli_conn),
                   0);
  lp2p_sim_host_kick(w->s, w->cli);
  assert_int_equal(lp2p_sim_run(w->s, echo_done, w, t0 + 60 * SEC), 1);
  assert_null(lp2p_sim_failed(w->s));
  assert_false(w->mismatch);
  assert_false(w->closed_bad);
  assert_int_equal(w->sent, ECHO_BYTES);
  assert_int_equal(w->got, ECHO_BYTES);
  if (first_ttl == 1) /* the first SYN died at the NAT: 1 s SYN RTO */
    assert_true(w->connected_at - t0 >= SEC);
  else
    assert_true(w->connected_at - t0 < SEC);
}

static void test_raw_tcp_through_nat(void **st) {
  (void)st;
  world w;
  build(&w, 11);
  run_echo(&w, 0);
  /* one accept on the host, nothing else on the way */
  assert_int_equal(w.host_accepts, 1);
  lp2p_sim_free(w.s);
}

static void test_raw_tcp_low_ttl_syn(void **st) {
  (void)st;
  world w;
  build(&w, 12);
  run_echo(&w, 1);
  lp2p_sim_free(w.s);
}

static int udp_done(void *ud) {
  world *w = ud;
  return w->cli_got_reply >= 1 && w->app_udp_got >= 1;
}

static void test_udp_and_app_sockets(void **st) {
  (void)st;
  world w;
  build(&w, 13);
  uint32_t sip = lp2p_sim_node_ip(w.s, w.srv);
  /* the server node's application: UDP 6001 and TCP 8000, beside the
   * host's UDP 6000 */
  assert_int_equal(lp2p_sim_ep_on_sock(w.s, w.srv, on_app_sock, &w), 0);
  assert_int_equal(lp2p_sim_udp_open(w.s, w.srv, 6001, &w.app_udp, NULL), 0);
  assert_int_equal(lp2p_sim_tcp_listen(w.s, w.srv, 8000, &w.app_lsn, NULL), 0);
  lp2p_sockaddr b = sa(0, 6000);
  assert_int_equal(lp2p_host_udp_open(w.hs, &b, 0, &w.us), 0);
  b.port = 0;
  assert_int_equal(lp2p_host_udp_open(w.hc, &b, 0, &w.uc), 0);
  /* the host cannot take a port the app holds */
  uint64_t clash;
  b.port = 6001;
  assert_int_equal(lp2p_host_udp_open(w.hs, &b, 0, &clash), 0);
  lp2p_sim_host_kick(w.s, w.srv);
  lp2p_sim_host_kick(w.s, w.cli);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 10 * MS);
  assert_true(w.udp_ready[0] && w.udp_ready[1]);
  lp2p_host_raw_info info;
  assert_int_equal(lp2p_host_raw_info_get(w.hs, clash, &info),
                   LP2P_ERR_NOT_FOUND); /* RAW_FAILED: port in use */
  /* TTL 1 dies at the NAT; the default TTL arrives, and so does the
   * server's reply to the port it saw (the NAT's mapping) */
  lp2p_sockaddr to = sa(sip, 6000);
  assert_int_equal(
      lp2p_host_udp_send(w.hc, w.uc, &to, 1, (const uint8_t *)"low", 3), 0);
  assert_int_equal(
      lp2p_host_udp_send(w.hc, w.uc, &to, 0, (const uint8_t *)"hello", 5), 0);
  lp2p_sockaddr app = sa(sip, 6001);
  assert_int_equal(
      lp2p_host_udp_send(w.hc, w.uc, &app, 0, (const uint8_t *)"app", 3), 0);
  lp2p_sim_host_kick(w.s, w.cli);
  assert_int_equal(lp2p_sim_run(w.s, udp_done, &w, lp2p_sim_now(w.s) + 5 * SEC),
                   1);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 100 * MS);
  assert_int_equal(w.srv_ngot, 1); /* "low" never arrived */
  assert_string_equal(w.srv_got[0], "hello");
  assert_int_not_equal(w.srv_from.ip[0], 10); /* translated by the NAT */
  assert_int_equal(w.cli_got_reply, 1);
  assert_int_equal(w.app_udp_got, 1); /* the app's datagram, not the host's */
  /* a raw connect to the app's TCP port reaches the app, not the host */
  uint64_t c;
  lp2p_sockaddr tcp_app = sa(sip, 8000);
  assert_int_equal(lp2p_host_raw_connect(w.hc, lp2p_sim_ep_clock(w.s, w.cli),
                                         &tcp_app, NULL, 0, 0, &c),
                   0);
  lp2p_sim_host_kick(w.s, w.cli);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 1 * SEC);
  assert_int_equal(w.app_accepts, 1);
  assert_int_equal(w.host_accepts, 0);
  assert_null(lp2p_sim_failed(w.s));
  lp2p_sim_free(w.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raw_tcp_through_nat),
      cmocka_unit_test(test_raw_tcp_low_ttl_syn),
      cmocka_unit_test(test_udp_and_app_sockets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
