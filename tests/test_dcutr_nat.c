/* The DCUtR engine with NAT classes: the class in CONNECT, predicted
 * ports, which side's SYN goes first (low TTL), and the spec's timing when
 * the classes give no safe order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/dcutr.h"
#include "tests/lib/dcutr_pair.h"

/* Each side knows only its own NAT; the class in CONNECT lets both name a
 * hopeless pair after one exchange instead of punching it three times. */
static void test_class_in_connect(void **s) {
  (void)s;
  lp2p_dcutr_config cb, ca;
  lp2p_dcutr_config_default(&cb);
  lp2p_dcutr_config_default(&ca);
  cb.ours.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  cb.ours.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  ca.ours.mapping = LP2P_NAT_ADDRESS_DEPENDENT;
  ca.ours.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, &cb, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = dp_mk(LP2P_DCUTR_RESPONDER, &ca, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(b, 0), 0); /* B alone cannot tell */
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, MS);
  dp_pipe_to(b, a, MS);
  /* A answers with its own class, closes (no reset) and names it */
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_true(dp_pipe_to(a, b, 2 * MS) > 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_int_equal(lp2p_dcutr_attempts(b), 1);
  dp_expect_none(b);
  assert_int_equal(dp_pipe_to(b, NULL, 0), 0); /* no SYNC */
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* one side predictable (sequential) and the other's SYN let in by an
   * address filter: not hopeless, the punch goes on */
  cb.ours.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  cb.ours.sequential = 1;
  cb.ours.port_stride = 1;
  b = dp_mk(LP2P_DCUTR_INITIATOR, &cb, "/ip4/198.18.0.20/tcp/4001");
  a = dp_mk(LP2P_DCUTR_RESPONDER, &ca, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_start(b, 0), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, MS);
  dp_pipe_to(b, a, MS);
  dp_expect_none(a);
  dp_pipe_to(a, b, 2 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
  dp_expect_none(b);
  dp_pipe_to(b, a, 3 * MS);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  /* B's observed port, then the ports its allocator hands out next (the
   * class B sent), up to the per-attempt bound */
  assert_int_equal(ev.naddrs, 8);
  char txt[128];
  size_t tl;
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.20/tcp/4001");
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[7], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.20/tcp/4008");
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_predicted_ports(void **s) {
  (void)s;
  /* A knows B's NAT allocates sequentially (stride 2): after B's
   * observed port come the next ones, on B's IP only, within the bound */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.theirs.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  c.theirs.sequential = 1;
  c.theirs.port_stride = 2;
  c.dial_addrs_max = 4;
  lp2p_dcutr *a = dp_responder_at_connect(&c);
  const char *one[] = {"/ip4/198.18.0.20/tcp/40000"};
  dp_feed_connect(a, one, 1);
  dp_pipe_to(a, NULL, 0);
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  lp2p_dcutr_feed(a, 0, sync, 4);
  lp2p_dcutr_event ev;
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 4);
  const char *want[] = {"/ip4/198.18.0.20/tcp/40000", "/ip4/198.18.0.20/tcp/40002",
                        "/ip4/198.18.0.20/tcp/40004", "/ip4/198.18.0.20/tcp/40006"};
  for (size_t i = 0; i < 4; i++) {
    char txt[64];
    size_t tl;
    lp2p_maddr_to_string(&ev.addrs[i], txt, sizeof txt, &tl);
    assert_string_equal(txt, want[i]);
  }
  lp2p_dcutr_free(a);
}

static lp2p_nat_class cls(lp2p_nat_behaviour m, lp2p_nat_behaviour f) {
  lp2p_nat_class c;
  lp2p_nat_class_unknown(&c);
  c.mapping = m;
  c.filtering = f;
  return c;
}

/* B and A with these classes (UNKNOWN mapping: not known) through the
 * exchange up to A's CONNECT reaching B, relay one-way 20 ms. */
static void plan_pair(lp2p_nat_class cb, lp2p_nat_class ca, lp2p_dcutr **pb,
                      lp2p_dcutr **pa) {
  lp2p_dcutr_config b, a;
  lp2p_dcutr_config_default(&b);
  lp2p_dcutr_config_default(&a);
  b.ours = cb;
  a.ours = ca;
  *pb = dp_mk(LP2P_DCUTR_INITIATOR, &b, "/ip4/198.18.0.20/tcp/4001");
  *pa = dp_mk(LP2P_DCUTR_RESPONDER, &a, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(*pb, 0), 0);
  dp_expect_ev(*pb, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(*pb, 0);
  lp2p_dcutr_stream_opened(*pa, 20 * MS);
  assert_true(dp_pipe_to(*pb, *pa, 20 * MS) > 0); /* B's CONNECT */
}

/* B's side once A's CONNECT is in, when B's SYN goes first: DIAL at once
 * with `ttl`, no SYNC queued yet (a driver sends the SYN first), then
 * SYNC on the timer that is due now. */
static void b_dials_first(lp2p_dcutr *b, lp2p_dcutr *a, uint8_t ttl) {
  lp2p_dcutr_event ev;
  assert_true(dp_pipe_to(a, b, 40 * MS) > 0); /* A's CONNECT */
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_false(ev.security_client);
  assert_int_equal(ev.first_syn_ttl, ttl);
  assert_int_equal(ev.naddrs, 1);
  dp_expect_none(b);
  size_t len;
  assert_null(lp2p_dcutr_out_peek(b, &len)); /* SYNC waits a tick */
  assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS);
  assert_int_equal(lp2p_dcutr_handle_timeout(b, 40 * MS), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  dp_expect_none(b);
  /* now the dial deadline */
  assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS + 5 * SEC);
  assert_true(dp_pipe_to(b, a, 60 * MS) > 0); /* SYNC */
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_true(ev.security_client);
  assert_int_equal(ev.first_syn_ttl, 0); /* only B's SYN may be the low one */
  dp_expect_none(a);
}

static void test_b_syn_first(void **s) {
  (void)s;
  lp2p_dcutr *b, *a;
  lp2p_dcutr_event ev;
  /* B restricted cone (EIM, ADF), A symmetric: B's first SYN at low TTL
   * opens B's filter for A's IP before A's SYN (from a port nobody can
   * know) arrives; A does not probe */
  plan_pair(cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
                LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
            &b, &a);
  dp_expect_none(a);
  b_dials_first(b, a, 2);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* both port-restricted cones (EIM, APDF): the same (A's SYN meets B's
   * own session, a simultaneous open) */
  plan_pair(cls(LP2P_NAT_ENDPOINT_INDEPENDENT,
                LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
            cls(LP2P_NAT_ENDPOINT_INDEPENDENT,
                LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
            &b, &a);
  dp_expect_none(a);
  b_dials_first(b, a, 2);
  /* A's SYN wins; B's direct result closes nothing more */
  assert_int_equal(lp2p_dcutr_direct_result(b, 80 * MS, 1, 0), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* B symmetric, A restricted cone: A probes toward B when it answers
   * CONNECT (after its CONNECT bytes), B's normal SYN leaves before SYNC */
  plan_pair(cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
                LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
            cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            &b, &a);
  size_t len;
  assert_non_null(lp2p_dcutr_out_peek(a, &len)); /* A's CONNECT */
  dp_expect_ev(a, LP2P_DCUTR_EV_PROBE, &ev);
  assert_int_equal(ev.naddrs, 1);
  assert_int_equal(ev.first_syn_ttl, 2);
  assert_true(ev.security_client);
  char txt[128];
  size_t tl;
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.20/tcp/4001");
  dp_expect_none(a);
  b_dials_first(b, a, 0);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* port prediction against a port-restricted cone, either way round:
   * B's low-TTL SYN first, so that A's predicted SYN meets B's session */
  lp2p_nat_class seq = cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
                           LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  seq.sequential = 1;
  seq.port_stride = 1;
  lp2p_nat_class prc = cls(LP2P_NAT_ENDPOINT_INDEPENDENT,
                           LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  plan_pair(seq, prc, &b, &a);
  dp_expect_none(a); /* A's filter is by port: no probe */
  b_dials_first(b, a, 2);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  plan_pair(prc, seq, &b, &a);
  dp_expect_none(a);
  dp_pipe_to(a, b, 40 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 2);
  assert_int_equal(ev.naddrs, 8); /* A's port, then its next ones */
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* the same with B's SYN connecting before SYNC went out: the stream
   * closes (no reset) and no SYNC is sent */
  plan_pair(cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
                LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
            cls(LP2P_NAT_ENDPOINT_INDEPENDENT,
                LP2P_NAT_ENDPOINT_INDEPENDENT),
            &b, &a);
  dp_expect_ev(a, LP2P_DCUTR_EV_PROBE, &ev);
  dp_pipe_to(a, b, 40 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 0);
  assert_int_equal(lp2p_dcutr_direct_result(b, 40 * MS, 1, 0), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  dp_expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  assert_null(lp2p_dcutr_out_peek(b, &len));
  assert_int_equal(lp2p_dcutr_handle_timeout(b, 40 * MS), 0);
  dp_expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* B's SYN refused before SYNC went out: A's attempt ends with the
   * stream (reset), B's next attempt follows */
  plan_pair(cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            &b, &a);
  dp_pipe_to(a, b, 40 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(lp2p_dcutr_direct_result(b, 40 * MS, 0, LP2P_ERR_REFUSED),
                   0);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  assert_int_equal(ev.attempt, 2);
  assert_null(lp2p_dcutr_out_peek(b, &len));
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

/* A class known on one side only, or classes that give no safe order:
 * the spec's timing (B dials RTT/2 after SYNC) and no probe. */
static void test_spec_timing_without_both_classes(void **s) {
  (void)s;
  struct {
    lp2p_nat_class b, a;
  } cases[] = {
      {cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
       cls(LP2P_NAT_UNKNOWN, LP2P_NAT_UNKNOWN)},
      {cls(LP2P_NAT_UNKNOWN, LP2P_NAT_UNKNOWN),
       cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT)},
      /* both symmetric and predictable: tried, the spec's timing */
      {cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
           LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT),
       cls(LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
           LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT)},
  };
  cases[2].b.sequential = cases[2].a.sequential = 1;
  cases[2].b.port_stride = cases[2].a.port_stride = 1;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lp2p_dcutr *b, *a;
    lp2p_dcutr_event ev;
    plan_pair(cases[i].b, cases[i].a, &b, &a);
    dp_expect_none(a); /* no PROBE */
    dp_pipe_to(a, b, 40 * MS);
    dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
    dp_expect_none(b);
    assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS + 20 * MS);
    lp2p_dcutr_free(a);
    lp2p_dcutr_free(b);
  }
  /* no low-TTL SYNs configured: the spec's timing as well */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.first_syn_ttl = 0;
  c.ours = cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT);
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = dp_mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  lp2p_dcutr_start(b, 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, 20 * MS);
  dp_pipe_to(b, a, 20 * MS);
  dp_pipe_to(a, b, 40 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_class_in_connect),
      cmocka_unit_test(test_predicted_ports),
      cmocka_unit_test(test_b_syn_first),
      cmocka_unit_test(test_spec_timing_without_both_classes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
