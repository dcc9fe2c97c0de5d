/* The host's hole-punch dial in the simulator (lp2p_host_dial_punch,
 * issue 12's groundwork): two hosts behind NATs with endpoint-independent
 * mapping dial each other's external address from their listen ports at
 * the same moment (REUSEPORT). The SYNs cross, TCP opens simultaneously,
 * and one connection results on which both sides dialled: the upgrade
 * roles come from the flag (one side AS_RESPONDER), not from TCP. Ping
 * runs over it. A low first-SYN TTL gets through NATs that answer
 * unsolicited SYNs with RST; without it the RST kills the punch. Two
 * initiators (no AS_RESPONDER) cannot agree on roles and fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/crypto.h"
#include "lp2p/peerid.h"
#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

typedef struct pw {
  lp2p_sim *s;
  uint32_t nat[2], node[2];
  lp2p_peerid id[2];
  uint64_t dial[2];
  int done[2], failed[2], pings, ping_err, listening[2];
  int dial_err[2];
} pw;

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  pw *w = ud;
  (void)s;
  int i = hid == w->node[1];
  switch (ev->kind) {
  case LP2P_HOST_EV_LISTENING:
    w->listening[i] = 1;
    break;
  case LP2P_HOST_EV_DIAL_DONE:
    if (ev->u.dial.id == w->dial[i])
      w->done[i] = 1;
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (ev->u.dial.id == w->dial[i]) {
      w->failed[i] = 1;
      w->dial_err[i] = ev->err;
    }
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->pings++;
    w->ping_err = ev->err;
    break;
  default:
    break;
  }
}

static void build(pw *w, uint64_t seed, int syn_rst) {
  memset(w, 0, sizeof *w);
  lp2p_sim_config sc;
  lp2p_sim_config_default(&sc);
  assert_int_equal(lp2p_sim_new(&w->s, seed, &sc), 0);
  lp2p_sim_on_host_event(w->s, on_event, w);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 20 * MS;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = MS;
  for (int i = 0; i < 2; i++) {
    lp2p_sim_nat_config n;
    lp2p_sim_nat_config_default(&n);
    n.mapping = LP2P_SIM_MAP_EI;
    n.filtering = LP2P_SIM_FILT_APD;
    n.alloc = LP2P_SIM_PORT_PRESERVE;
    n.syn_rst = syn_rst;
    assert_int_equal(lp2p_sim_nat_add(w->s, LP2P_SIM_INTERNET, 0, &n, &wan,
                                      &wan, &w->nat[i]),
                     0);
    assert_int_equal(
        lp2p_sim_ep_add(w->s, w->nat[i], 0, NULL, &lan, &lan, &w->node[i]),
        0);
    static lp2p_privkey key;
    assert_int_equal(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0,
                                       lp2p_sim_node_rng(w->s, w->node[i])),
                     0);
    lp2p_peerid_from_pubkey(&w->id[i], &key.pub);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &key;
    assert_int_equal(lp2p_sim_host_add(w->s, w->node[i], &cfg, 16u << 20), 0);
    lp2p_maddr la;
    char t[64];
    uint32_t ip = lp2p_sim_node_ip(w->s, w->node[i]);
    snprintf(t, sizeof t, "/ip4/%u.%u.%u.%u/tcp/4001", ip >> 24,
             (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    assert_int_equal(lp2p_maddr_parse(&la, t, strlen(t)), 0);
    assert_int_equal(
        lp2p_host_listen(lp2p_sim_host(w->s, w->node[i]), &la, NULL), 0);
    lp2p_sim_host_kick(w->s, w->node[i]);
  }
  lp2p_sim_run_until(w->s, SEC);
  assert_true(w->listening[0] && w->listening[1]);
}

/* Both dial each other's NAT at port 4001 (preserved): side 1 `skew`
 * after side 0. */
static void punch(pw *w, unsigned flags1, uint8_t ttl, uint64_t skew) {
  for (int i = 0; i < 2; i++) {
    if (i == 1 && skew)
      lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + skew);
    int o = 1 - i;
    uint32_t ip = lp2p_sim_node_ip(w->s, w->nat[o]);
    char t[160], id[LP2P_PEERID_TEXT_MAX];
    size_t n = 0;
    lp2p_peerid_to_base58(&w->id[o], id, sizeof id, &n);
    snprintf(t, sizeof t, "/ip4/%u.%u.%u.%u/tcp/4001/p2p/%.*s", ip >> 24,
             (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, (int)n, id);
    lp2p_maddr to;
    assert_int_equal(lp2p_maddr_parse(&to, t, strlen(t)), 0);
    lp2p_host *h = lp2p_sim_host(w->s, w->node[i]);
    unsigned flags = LP2P_DIAL_REUSEPORT | (i ? flags1 : 0);
    assert_int_equal(lp2p_host_dial_punch(h, lp2p_sim_ep_clock(w->s, w->node[i]),
                                          &to, flags, ttl, &w->dial[i]),
                     0);
    lp2p_sim_host_kick(w->s, w->node[i]);
  }
}

static int both_ended(void *ud) {
  pw *w = ud;
  return (w->done[0] || w->failed[0]) && (w->done[1] || w->failed[1]);
}

static void test_simultaneous_open(void **state) {
  (void)state;
  pw w;
  build(&w, 11, 0);
  punch(&w, LP2P_DIAL_AS_RESPONDER, 0, 0);
  lp2p_sim_run(w.s, both_ended, &w, lp2p_sim_now(w.s) + 30 * SEC);
  assert_true(w.done[0] && w.done[1]);
  /* one connection each way: the same TCP connection */
  for (int i = 0; i < 2; i++)
    assert_int_equal(lp2p_host_peer_conn_count(lp2p_sim_host(w.s, w.node[i]),
                                               &w.id[1 - i]),
                     1);
  lp2p_host *h0 = lp2p_sim_host(w.s, w.node[0]);
  assert_int_equal(lp2p_host_ping(h0, lp2p_sim_ep_clock(w.s, w.node[0]),
                                  &w.id[1]),
                   0);
  lp2p_sim_host_kick(w.s, w.node[0]);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 2 * SEC);
  assert_int_equal(w.pings, 1);
  assert_int_equal(w.ping_err, 0);
  lp2p_sim_free(w.s);
}

/* NATs that answer an unsolicited SYN with RST, and side 1 starting
 * 60 ms late (more than the 42 ms one way): side 0's SYN reaches side 1's
 * NAT before that NAT has a mapping, and the RST ends side 0's dial. A
 * first SYN with TTL 2 leaves our NAT (opening our mapping) and dies
 * before the far one; the retransmissions then cross (DESIGN.md 5b). */
static void test_low_ttl_beats_rst(void **state) {
  (void)state;
  pw w;
  build(&w, 12, 1);
  punch(&w, LP2P_DIAL_AS_RESPONDER, 0, 60 * MS);
  lp2p_sim_run(w.s, both_ended, &w, lp2p_sim_now(w.s) + 30 * SEC);
  assert_true(w.failed[0]); /* the far NAT's RST */
  assert_int_equal(w.dial_err[0], LP2P_ERR_REFUSED);
  lp2p_sim_free(w.s);
  build(&w, 12, 1);
  punch(&w, LP2P_DIAL_AS_RESPONDER, 2, 60 * MS);
  lp2p_sim_run(w.s, both_ended, &w, lp2p_sim_now(w.s) + 30 * SEC);
  assert_true(w.done[0] && w.done[1]);
  lp2p_sim_free(w.s);
}

/* Two initiators on one simultaneous-open connection: both propose,
 * nobody answers as the listener; the dials fail (timeout or protocol),
 * never a connection with the roles wrong. */
static void test_roles_must_differ(void **state) {
  (void)state;
  pw w;
  build(&w, 13, 0);
  punch(&w, 0, 0, 0);
  lp2p_sim_run(w.s, both_ended, &w, lp2p_sim_now(w.s) + 60 * SEC);
  assert_true(w.failed[0] && w.failed[1]);
  lp2p_sim_free(w.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simultaneous_open),
      cmocka_unit_test(test_low_ttl_beats_rst),
      cmocka_unit_test(test_roles_must_differ),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
