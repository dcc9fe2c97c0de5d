/* The DCUtR engine on a fake clock: both roles paired against each other
 * (RTT measured, B dials exactly RTT/2 after SYNC, A on SYNC), retries up
 * to three attempts, the named failure reasons, the local addresses.
 * Hostile peers: test_dcutr_hostile.c; NAT classes: test_dcutr_nat.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/dcutr.h"
#include "tests/lib/dcutr_pair.h"

static void test_pair_success(void **s) {
  (void)s;
  lp2p_dcutr *b =
      dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a =
      dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_start(b, 1000), 0);
  assert_int_equal(lp2p_dcutr_start(b, 1000), LP2P_ERR_STATE);
  assert_int_equal(lp2p_dcutr_start(a, 1000), LP2P_ERR_STATE);
  lp2p_tstamp at = dp_exchange(b, a, 1000, 40 * MS, 1);
  /* the dial deadline is armed */
  assert_int_equal(lp2p_dcutr_next_timeout(b), at + 5 * SEC);
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_direct_result(a, at + MS, 1, 0), 0);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  assert_int_equal(ev.reason, LP2P_PUNCH_OK);
  assert_int_equal(lp2p_dcutr_direct_result(b, at + MS, 1, 0), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  assert_int_equal(ev.rtt_ns, 80 * MS);
  assert_int_equal(ev.attempt, 1);
  assert_true(lp2p_dcutr_done(b));
  assert_int_equal(lp2p_dcutr_attempts(b), 1);
  assert_int_equal(lp2p_dcutr_next_timeout(b), LP2P_TSTAMP_NONE);
  /* after the result: no more results, late bytes dropped */
  assert_int_equal(lp2p_dcutr_direct_result(b, at + MS, 1, 0), LP2P_ERR_STATE);
  const uint8_t junk[3] = {1, 2, 3};
  assert_int_equal(lp2p_dcutr_feed(b, at, junk, 3), 3);
  dp_expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  lp2p_dcutr_free(NULL);
}

static void test_zero_rtt(void **s) {
  (void)s;
  /* a relay at zero delay: B dials as soon as it sends SYNC */
  lp2p_dcutr *b =
      dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a =
      dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 5);
  lp2p_dcutr_stream_opened(a, 5);
  dp_pipe_to(b, a, 5);
  dp_pipe_to(a, b, 5);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_three_attempts(void **s) {
  (void)s;
  lp2p_dcutr *b =
      dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a =
      dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_tstamp t = 0;
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(b, t), 0);
  /* attempt 1: both dials refused (an RST NAT); the next attempt sends
   * its first SYN at a low TTL */
  lp2p_tstamp at = dp_exchange(b, a, t, 10 * MS, 1);
  assert_int_equal(lp2p_dcutr_direct_result(a, at, 0, LP2P_ERR_REFUSED), 0);
  dp_expect_none(a);
  assert_int_equal(lp2p_dcutr_direct_result(b, at, 0, LP2P_ERR_REFUSED), 0);
  /* attempt 2 starts at once (go's holepuncher retries without delay) */
  t = at;
  assert_int_equal(lp2p_dcutr_stream_opened(b, t), 0);
  assert_int_equal(lp2p_dcutr_stream_opened(a, t + 10 * MS), 0);
  dp_pipe_to(b, a, t + 10 * MS);
  dp_pipe_to(a, b, t + 20 * MS);
  dp_pipe_to(b, a, t + 30 * MS);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.attempt, 2);
  assert_int_equal(ev.first_syn_ttl, 2);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  lp2p_dcutr_handle_timeout(b, t + 30 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 2);
  /* attempt 2: nobody reports: the dial deadline fails it (TIMEOUT) */
  at = t + 30 * MS;
  lp2p_dcutr_handle_timeout(b, at + 5 * SEC - 1);
  dp_expect_none(b);
  lp2p_dcutr_handle_timeout(b, at + 5 * SEC);
  lp2p_dcutr_handle_timeout(a, at + 5 * SEC);
  dp_expect_ev(b, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  dp_expect_none(a);
  /* attempt 3: B opens its third stream; a timeout keeps TTL normal */
  t = at + 5 * SEC;
  dp_exchange(b, a, t, 10 * MS, 3);
  lp2p_dcutr_direct_result(b, t + 30 * MS, 0, LP2P_ERR_TIMEOUT);
  lp2p_dcutr_direct_result(a, t + 30 * MS, 0, LP2P_ERR_TIMEOUT);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_false(ev.ok);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  assert_int_equal(ev.attempt, 3);
  assert_string_equal(lp2p_punch_reason_name(ev.reason), "timeout");
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_false(ev.ok);
  assert_int_equal(lp2p_dcutr_attempts(b), 3);
  dp_expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_ttl_policy(void **s) {
  (void)s;
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.first_syn_ttl = 3;
  c.first_syn_ttl_from_attempt = 1; /* the lab: every attempt */
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = dp_mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, 0);
  dp_pipe_to(b, a, 0);
  dp_pipe_to(a, b, 2 * MS);
  dp_pipe_to(b, a, 3 * MS);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 3);
  /* the accepted connection wins before B's own timer */
  assert_int_equal(lp2p_dcutr_direct_result(b, 2 * MS + 1, 1, 0), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_named_reasons(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  /* no public address of ours: B does not even open a stream */
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, NULL, NULL);
  lp2p_dcutr_start(b, 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_OURS);
  assert_string_equal(lp2p_punch_reason_name(ev.reason),
                      "no-public-address-ours");
  lp2p_dcutr_free(b);
  /* A without public addresses: it does not answer */
  lp2p_dcutr *a = dp_mk(LP2P_DCUTR_RESPONDER, NULL, NULL);
  lp2p_dcutr_stream_opened(a, 0);
  const char *one[] = {"/ip4/198.18.0.20/tcp/4001"};
  dp_feed_connect(a, one, 1);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_OURS);
  lp2p_dcutr_free(a);
  /* both sides map per destination: skipped with the reason */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.ours.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  c.ours.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  c.theirs.mapping = LP2P_NAT_ADDRESS_DEPENDENT;
  c.theirs.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  b = dp_mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_int_equal(lp2p_dcutr_attempts(b), 0);
  lp2p_dcutr_free(b);
  /* ... also on A's side once it knows */
  a = dp_mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_stream_opened(a, 0);
  dp_feed_connect(a, one, 1);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  lp2p_dcutr_free(a);
  /* the peer does not speak dcutr */
  b = dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_closed(b, 0, LP2P_ERR_UNSUPPORTED);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_UNSUPPORTED);
  lp2p_dcutr_free(b);
  /* streams reset mid-exchange three times: retried, then reported */
  b = dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  for (uint32_t i = 1; i <= 3; i++) {
    dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
    assert_int_equal(ev.attempt, i);
    lp2p_dcutr_stream_opened(b, 0);
    dp_pipe_to(b, NULL, 0);
    lp2p_dcutr_stream_closed(b, 0, LP2P_ERR_RESET);
  }
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_STREAM_CLOSED);
  lp2p_dcutr_free(b);
  /* A's CONNECT never comes: exchange timeouts, three times */
  lp2p_dcutr_config_default(&c);
  c.retry_delay_ns = 100 * MS;
  b = dp_mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_tstamp t = 0;
  for (uint32_t i = 1; i <= 3; i++) {
    dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
    lp2p_dcutr_stream_opened(b, t);
    dp_pipe_to(b, NULL, t);
    t = lp2p_dcutr_next_timeout(b);
    assert_int_equal(t, (i - 1) * (15 * SEC + 100 * MS) + 15 * SEC);
    lp2p_dcutr_handle_timeout(b, t);
    dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
    assert_true(ev.reset);
    if (i < 3) {
      dp_expect_none(b);
      assert_int_equal(lp2p_dcutr_next_timeout(b), t + 100 * MS);
      t += 100 * MS;
      lp2p_dcutr_handle_timeout(b, t);
    }
  }
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  lp2p_dcutr_free(b);
}

static void test_local_addrs(void **s) {
  (void)s;
  /* at most 16 kept, private ones dropped, duplicates once */
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, NULL, NULL);
  lp2p_maddr a[18];
  char txt[600];
  for (int i = 0; i < 18; i++) {
    snprintf(txt, sizeof txt, "/ip4/198.18.1.%d/tcp/%d", i, 4001 + i);
    a[i] = dp_ma(txt);
  }
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 18), LP2P_DCUTR_ADDRS_MAX);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 0), 0);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, NULL, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 2), 2);
  assert_int_equal(lp2p_dcutr_set_peer_ips(b, NULL, NULL, 1), LP2P_ERR_INVAL);
  lp2p_dcutr_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pair_success),
      cmocka_unit_test(test_zero_rtt),
      cmocka_unit_test(test_three_attempts),
      cmocka_unit_test(test_ttl_policy),
      cmocka_unit_test(test_named_reasons),
      cmocka_unit_test(test_local_addrs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
