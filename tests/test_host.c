/* Host pair tests over memnet: connect + identify both ways, ping, perf,
 * concurrent echo streams, half-close, reset, graceful close. */
#include "tests/test_host_util.h"

static void test_connect_identify(void **state) {
  (void)state;
  th_net *t = th_new(1);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_listen(t, 1);
  th_connect(t, 1, 0);
  /* identify runs automatically both ways */
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  const th_ev *e0 = th_find(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 0);
  const th_ev *e1 = th_find(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 0);
  assert_int_equal(e0->err, 0);
  assert_int_equal(e1->err, 0);
  assert_true(lp2p_peerid_equal(&e0->peer, &t->id[1]));
  assert_true(lp2p_peerid_equal(&e1->peer, &t->id[0]));
  /* protocols and agent */
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], "/ipfs/ping/1.0.0"));
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], "/ipfs/id/1.0.0"));
  assert_true(lp2p_host_peer_supports(t->h[0], &t->id[1], "/echo/1.0.0"));
  assert_false(lp2p_host_peer_supports(t->h[0], &t->id[1], "/nope/1.0.0"));
  const char *agent = lp2p_host_peer_agent(t->h[1], &t->id[0]);
  assert_non_null(agent);
  assert_int_equal(strncmp(agent, "lp2p/", 5), 0);
  assert_string_equal(lp2p_host_peer_protocol_version(t->h[0], &t->id[1]),
                      "ipfs/0.1.0");
  /* listen addrs: host 1 learnt host 0's listen address */
  lp2p_maddr addrs[8];
  size_t n = 0;
  assert_int_equal(lp2p_host_peer_addrs(t->h[1], th_now(t), &t->id[0], addrs,
                                        8, &n),
                   0);
  lp2p_maddr want = t->listen[0];
  lp2p_maddr_strip_peer_id(&want);
  int found = 0;
  for (size_t i = 0; i < n && i < 8; i++)
    found |= lp2p_maddr_equal(&addrs[i], &want);
  assert_true(found);
  /* observed addr: what host 0 saw as host 1's address = the dialing
   * connection's local address on host 1 */
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(t->h[1], e1->conn, &ci), 0);
  lp2p_maddr local;
  assert_int_equal(lp2p_sockaddr_to_maddr(&local, &ci.local), 0);
  assert_true(lp2p_maddr_equal(&e1->addr, &local));
  lp2p_maddr obs;
  assert_int_equal(lp2p_host_peer_observed_addr(t->h[1], &t->id[0], &obs), 0);
  assert_true(lp2p_maddr_equal(&obs, &local));
  /* the observed address is collected, not advertised */
  size_t nobs = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(t->h[1]); i++) {
    lp2p_host_addr_info ai;
    assert_int_equal(lp2p_host_addr_get(t->h[1], i, &ai), 0);
    if (ai.kind == LP2P_ADDR_OBSERVED) {
      nobs++;
      assert_int_equal(ai.status, LP2P_ADDR_UNCONFIRMED);
    }
  }
  assert_int_equal(nobs, 1);
  size_t nadv = 0;
  lp2p_host_addrs(t->h[1], addrs, 8, &nadv);
  for (size_t i = 0; i < nadv; i++)
    assert_false(lp2p_maddr_equal(&addrs[i], &local));
  /* public key from the handshake */
  lp2p_pubkey pk;
  assert_int_equal(lp2p_host_peer_pubkey(t->h[0], &t->id[1], &pk), 0);
  assert_true(lp2p_pubkey_equal(&pk, &t->key[1].pub));
  th_free(t);
}

static void test_ping(void **state) {
  (void)state;
  th_net *t = th_new(2);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(lp2p_host_ping(t->h[1], th_now(t), &t->id[0]), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PING_RESULT, 3, LP2P_NS_PER_S));
  for (int i = 0; i < 3; i++) {
    const th_ev *e = th_find(t, 1, LP2P_HOST_EV_PING_RESULT, i);
    assert_int_equal(e->err, 0);
    /* two hops of 1 ms each at least */
    assert_true(e->rtt_ns >= 2 * LP2P_NS_PER_MS);
    assert_true(e->rtt_ns < 100 * LP2P_NS_PER_MS);
    assert_true(lp2p_peerid_equal(&e->peer, &t->id[0]));
  }
  /* ping the other way too */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[1]), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PING_RESULT, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  /* unknown peer */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[0]),
                   LP2P_ERR_NOT_FOUND);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_identify),
      cmocka_unit_test(test_ping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
