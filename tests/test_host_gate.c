/* The connection gater (DESIGN.md 3a "Gating", issue 14 "Access
 * control"): in allowlist mode an unlisted peer is refused right after the
 * handshake and never gets a stream; a deny rule refuses a peer both ways;
 * an address rule refuses a socket before its handshake; allowed peers
 * are unaffected; the rule table is bounded. */
#include "tests/test_host_util.h"

#define APP "/gate-test/1.0.0"

static int stream_inbound_from(const th_net *t, int host, int from) {
  int n = 0;
  for (int i = 0; i < t->nev[host]; i++)
    n += t->ev[host][i].kind == LP2P_HOST_EV_STREAM_INBOUND &&
         lp2p_peerid_equal(&t->ev[host][i].peer, &t->id[from]);
  return n;
}

static int connected_to(const th_net *t, int host, int peer) {
  int n = 0;
  for (int i = 0; i < t->nev[host]; i++)
    n += t->ev[host][i].kind == LP2P_HOST_EV_PEER_CONNECTED &&
         lp2p_peerid_equal(&t->ev[host][i].peer, &t->id[peer]);
  return n;
}

/* A refused inbound connection: PEER_DISCONNECTED with err DENIED. */
static int denied_events(const th_net *t, int host) {
  int n = 0;
  for (int i = 0; i < t->nev[host]; i++)
    n += t->ev[host][i].kind == LP2P_HOST_EV_PEER_DISCONNECTED &&
         t->ev[host][i].err == LP2P_ERR_DENIED;
  return n;
}

/* Dial 0 from `from`, open an APP stream if the dial succeeded, write a
 * few bytes, run the network a while. */
static void try_stream(th_net *t, int from) {
  uint64_t dial = 0;
  assert_int_equal(
      lp2p_host_dial(t->h[from], th_now(t), &t->listen[0], 0, &dial), 0);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  uint64_t s = 0;
  if (lp2p_host_open_stream(t->h[from], th_now(t), &t->id[0], APP, &s) == 0)
    lp2p_host_stream_write(t->h[from], th_now(t), s, (const uint8_t *)"hi",
                           2);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
}

static th_net *three(uint64_t seed, int mode) {
  th_net *t = th_new(seed);
  for (int i = 0; i < 4; i++)
    assert_non_null(th_add(t, NULL, NULL));
  assert_int_equal(lp2p_host_register_protocol(t->h[0], APP), 0);
  assert_int_equal(lp2p_host_gate_mode(t->h[0], mode), 0);
  th_listen(t, 0);
  th_listen(t, 3);
  return t;
}

static void test_allowlist(void **state) {
  (void)state;
  th_net *t = three(141, LP2P_GATE_ALLOW_LISTED);
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[1], 1), 0);
  /* the listed peer connects and its stream is accepted */
  try_stream(t, 1);
  assert_int_equal(connected_to(t, 0, 1), 1);
  assert_int_equal(stream_inbound_from(t, 0, 1), 1);
  /* the unlisted one is refused after the handshake: no connection, no
   * stream, a named reason */
  try_stream(t, 2);
  assert_int_equal(connected_to(t, 0, 2), 0);
  assert_int_equal(stream_inbound_from(t, 0, 2), 0);
  assert_int_equal(denied_events(t, 0), 1);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns_gated, 1);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[2]), 0);
  /* the listed peer's connection is still fine */
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[1]), 1);
  /* the mode does not gate our own dials (a relay, DHT peers) */
  th_connect(t, 0, 3);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[3]), 1);
  /* clearing a rule: peer 1's next connection is refused */
  assert_int_equal(lp2p_host_gate_peer_clear(t->h[0], &t->id[1]), 0);
  assert_int_equal(lp2p_host_gate_peer_clear(t->h[0], &t->id[1]),
                   LP2P_ERR_NOT_FOUND);
  lp2p_host_close_peer(t->h[0], th_now(t), &t->id[1]);
  memnet_run_for(t->net, 1 * LP2P_NS_PER_S);
  int s_before = stream_inbound_from(t, 0, 1);
  try_stream(t, 1);
  assert_int_equal(stream_inbound_from(t, 0, 1), s_before);
  assert_int_equal(denied_events(t, 0), 2);
  th_free(t);
}

static void test_deny_peer_both_ways(void **state) {
  (void)state;
  th_net *t = three(142, LP2P_GATE_ALLOW_ALL);
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[2], 0), 0);
  try_stream(t, 1); /* anyone else: fine */
  assert_int_equal(stream_inbound_from(t, 0, 1), 1);
  try_stream(t, 2);
  assert_int_equal(connected_to(t, 0, 2), 0);
  assert_int_equal(stream_inbound_from(t, 0, 2), 0);
  assert_int_equal(denied_events(t, 0), 1);
  /* our own dial to a denied peer fails with the reason too */
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[3], 0), 0);
  uint64_t dial = 0;
  assert_int_equal(
      lp2p_host_dial(t->h[0], th_now(t), &t->listen[3], 0, &dial), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_DIAL_FAILED, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_DIAL_FAILED, 0)->err,
                   LP2P_ERR_DENIED);
  assert_int_equal(connected_to(t, 0, 3), 0);
  /* replacing the rule with allow lets it in */
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[3], 1), 0);
  th_connect(t, 0, 3);
  th_free(t);
}

static void test_deny_address(void **state) {
  (void)state;
  th_net *t = three(143, LP2P_GATE_ALLOW_ALL);
  lp2p_sockaddr net;
  memnet_addr(t->net, 2, 0, &net); /* 10.0.0.3 */
  net.ip[3] = 0;
  assert_int_equal(lp2p_host_gate_addr_deny(t->h[0], &net, 30), 0);
  assert_int_equal(lp2p_host_gate_addr_deny(t->h[0], &net, 30), 0); /* dup */
  try_stream(t, 2); /* 10.0.0.3: in 10.0.0.0/30 */
  try_stream(t, 3); /* 10.0.0.4: outside */
  assert_int_equal(connected_to(t, 0, 2), 0);
  assert_int_equal(stream_inbound_from(t, 0, 2), 0);
  assert_int_equal(stream_inbound_from(t, 0, 3), 1);
  assert_true(th_count(t, 2, LP2P_HOST_EV_DIAL_FAILED) >= 1);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns_gated, 1);
  assert_true(st.inbound_refused >= 1);
  th_free(t);
}

static void test_api_bounds(void **state) {
  (void)state;
  th_net *t = th_new(144);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.gate_rules_max = 2;
  for (int i = 0; i < 3; i++)
    assert_non_null(th_add(t, &c, NULL));
  lp2p_host *h = t->h[0];
  assert_int_equal(lp2p_host_gate_mode(h, 7), LP2P_ERR_INVAL);
  lp2p_sockaddr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  assert_int_equal(lp2p_host_gate_addr_deny(h, &a, 33), LP2P_ERR_INVAL);
  a.family = 5;
  assert_int_equal(lp2p_host_gate_addr_deny(h, &a, 8), LP2P_ERR_INVAL);
  a.family = 6;
  assert_int_equal(lp2p_host_gate_addr_deny(h, &a, 128), 0);
  assert_int_equal(lp2p_host_gate_peer(h, &t->id[1], 2), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_host_gate_peer(h, &t->id[1], 1), 0);
  assert_int_equal(lp2p_host_gate_peer(h, &t->id[1], 0), 0); /* replaced */
  assert_int_equal(lp2p_host_gate_peer(h, &t->id[2], 1), LP2P_ERR_LIMIT);
  c.gate_rules_max = 0;
  lp2p_host *bad = NULL;
  lp2p_rng r = t->rng[0];
  c.identity = &t->key[0];
  assert_int_equal(lp2p_host_new(&bad, &c, NULL, &r, 0), LP2P_ERR_INVAL);
  assert_string_equal(lp2p_errname(LP2P_ERR_DENIED), "LP2P_ERR_DENIED");
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allowlist),
      cmocka_unit_test(test_deny_peer_both_ways),
      cmocka_unit_test(test_deny_address),
      cmocka_unit_test(test_api_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
