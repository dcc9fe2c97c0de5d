/* The host's part of a hole punch when the peer's SYN reaches our
 * listener instead of our dialing socket (accept-or-connect, DCUtR spec:
 * "the roles of the security handshake come from DCUtR, not from TCP").
 * Host 0 dials host 1 from its listen port as the responder
 * (lp2p_host_dial_punch, AS_RESPONDER); host 1 accepts. Host 1 expected
 * the punch (host_svc_punch_expect: initiator), so its accepted
 * connection upgrades as the initiator and the connection comes up: ping
 * runs. Without the expectation both sides wait as responders and the
 * dial fails; a wrong expected peer still fails the dial. */
#include "proto/host/host_internal.h"
#include "tests/test_host_util.h"

static void run(int expect, int *dial_ok) {
  th_net *t = th_new(601);
  assert_non_null(th_add(t, NULL, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, 0);
  th_listen(t, 1);
  /* host 0's punch leaves from its listen port: that is its address as
   * host 1 sees it */
  lp2p_sockaddr from;
  assert_int_equal(lp2p_sockaddr_from_maddr(&from, &t->listen[0]), 0);
  if (expect)
    assert_int_equal(host_svc_punch_expect(t->h[1], &from, 1,
                                           th_now(t) + 10 * LP2P_NS_PER_S),
                     0);
  lp2p_maddr to = t->listen[1]; /* with /p2p */
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial_punch(t->h[0], th_now(t), &to,
                                        LP2P_DIAL_REUSEPORT |
                                            LP2P_DIAL_AS_RESPONDER,
                                        0, &dial),
                   0);
  memnet_run_for(t->net, 15 * LP2P_NS_PER_S);
  *dial_ok = th_count(t, 0, LP2P_HOST_EV_DIAL_DONE) == 1;
  if (*dial_ok) {
    assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[1]), 0);
    assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PING_RESULT, 1,
                            5 * LP2P_NS_PER_S));
    assert_int_equal(th_find(t, 0, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  } else {
    assert_int_equal(th_count(t, 0, LP2P_HOST_EV_DIAL_FAILED), 1);
  }
  th_free(t);
}

static void test_accepted_takes_the_punch_role(void **state) {
  (void)state;
  int ok = 0;
  run(1, &ok);
  assert_true(ok);
}

static void test_without_expectation_roles_clash(void **state) {
  (void)state;
  int ok = 1;
  run(0, &ok);
  assert_false(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepted_takes_the_punch_role),
      cmocka_unit_test(test_without_expectation_roles_clash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
