/* Host identify requests: one outbound identify stream per connection at
 * a time. js-libp2p accepts one inbound identify stream per connection and
 * resets a second, so an explicit lp2p_host_identify while the automatic
 * one still runs must join it, not open another stream. */
#include "tests/test_host_util.h"

static int outbound_done(const th_net *t, int host) {
  int n = 0;
  for (int i = 0; i < t->nev[host]; i++)
    if (t->ev[host][i].kind == LP2P_HOST_EV_IDENTIFY_DONE &&
        t->ev[host][i].dir == LP2P_DIR_OUTBOUND)
      n++;
  return n;
}

static uint32_t streams_now(const th_net *t, int host) {
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[host], &st);
  return st.streams;
}

static void test_identify_joins_running(void **state) {
  (void)state;
  th_net *t = th_new(31);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  uint64_t dial = 0;
  assert_int_equal(
      lp2p_host_dial(t->h[1], th_now(t), &t->listen[0], 0, &dial), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PEER_CONNECTED, 1,
                          5 * LP2P_NS_PER_S));
  /* the automatic identify is on its way (its stream is the only one):
   * asking again joins it */
  assert_int_equal(outbound_done(t, 1), 0);
  assert_int_equal(streams_now(t, 1), 1);
  assert_int_equal(lp2p_host_identify(t->h[1], th_now(t), &t->id[0]), 0);
  assert_int_equal(streams_now(t, 1), 1);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(outbound_done(t, 1), 1);
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 0)->err, 0);
  /* once it finished, a new request opens a new stream */
  assert_int_equal(lp2p_host_identify(t->h[1], th_now(t), &t->id[0]), 0);
  assert_int_equal(streams_now(t, 1), 1);
  assert_int_equal(lp2p_host_identify(t->h[1], th_now(t), &t->id[0]), 0);
  assert_int_equal(streams_now(t, 1), 1);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(outbound_done(t, 1), 2);
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1)->err, 0);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identify_joins_running),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
