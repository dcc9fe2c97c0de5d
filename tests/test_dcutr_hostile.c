/* The DCUtR engine against a hostile or careless peer: hostile CONNECTs,
 * protocol errors, the responder's bounds, and a host that never polls
 * its events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/dcutr.h"
#include "tests/lib/dcutr_pair.h"

/* SYNC reaches A (after CONNECT): the stream closes and A dials; the
 * DIAL is in *ev. */
static void sync_then_dial(lp2p_dcutr *a, lp2p_dcutr_event *ev) {
  static const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, ev);
}

static void test_hostile_connect(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  /* private, loopback, circuit and DNS addresses are skipped, not fatal */
  lp2p_dcutr *a = dp_responder_at_connect(NULL);
  static const char circuit[] =
      "/ip4/198.18.0.1/tcp/4001/p2p/"
      "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupGZz/p2p-circuit";
  const char *mixed[] = {
      "/ip4/192.168.0.2/tcp/4001",
      "/ip4/127.0.0.1/tcp/4001",
      circuit,
      "/dns4/evil.example/tcp/1",
      "/ip4/198.18.0.20/tcp/4001",
      "/ip4/198.18.0.20/tcp/4001", /* duplicate */
  };
  dp_feed_connect(a, mixed, 6);
  size_t len;
  assert_non_null(lp2p_dcutr_out_peek(a, &len)); /* A answered */
  dp_pipe_to(a, NULL, 0);
  sync_then_dial(a, &ev);
  assert_int_equal(ev.naddrs, 1);
  lp2p_dcutr_free(a);

  /* 16 public addresses on 16 IPs from a peer that claims no IP: only
   * the first dial_ips_max (2) IPs are dialed, not 16 third parties */
  a = dp_responder_at_connect(NULL);
  const char *many[16];
  char buf[16][40];
  for (int i = 0; i < 16; i++) {
    snprintf(buf[i], sizeof buf[i], "/ip4/198.18.0.%d/tcp/4001", i + 1);
    many[i] = buf[i];
  }
  dp_feed_connect(a, many, 16);
  sync_then_dial(a, &ev);
  assert_int_equal(ev.naddrs, 2);
  char t0[64];
  size_t t0l;
  lp2p_maddr_to_string(&ev.addrs[1], t0, sizeof t0, &t0l);
  assert_string_equal(t0, "/ip4/198.18.0.2/tcp/4001");
  lp2p_dcutr_free(a);

  /* 16 ports on one IP: at most dial_addrs_max (8) dials per attempt */
  a = dp_responder_at_connect(NULL);
  char pbuf[16][40];
  const char *ports[16];
  for (int i = 0; i < 16; i++) {
    snprintf(pbuf[i], sizeof pbuf[i], "/ip4/198.18.0.9/tcp/%d", 4001 + i);
    ports[i] = pbuf[i];
  }
  dp_feed_connect(a, ports, 16);
  sync_then_dial(a, &ev);
  assert_int_equal(ev.naddrs, 8);
  lp2p_dcutr_free(a);

  /* the peer's own IPs bound what it can make us dial: no third parties */
  a = dp_responder_at_connect(NULL);
  const int fam[1] = {4};
  const uint8_t ips[1][16] = {{198, 18, 0, 7}};
  assert_int_equal(lp2p_dcutr_set_peer_ips(a, fam, ips, 1), 0);
  dp_feed_connect(a, many, 16);
  sync_then_dial(a, &ev);
  assert_int_equal(ev.naddrs, 1);
  char txt[64];
  size_t tl;
  lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl);
  assert_string_equal(txt, "/ip4/198.18.0.7/tcp/4001");
  lp2p_dcutr_free(a);

  /* nothing dialable at all: A still answers (the peer may dial us: js
   * never names its public address), dials nothing, and when no
   * connection came the attempt fails with the named reason */
  a = dp_responder_at_connect(NULL);
  dp_feed_connect(a, mixed, 4);
  assert_non_null(lp2p_dcutr_out_peek(a, &len));
  dp_pipe_to(a, NULL, 0);
  sync_then_dial(a, &ev);
  assert_int_equal(ev.naddrs, 0);
  lp2p_dcutr_handle_timeout(a, lp2p_dcutr_next_timeout(a));
  dp_expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  lp2p_dcutr_handle_timeout(a, lp2p_dcutr_next_timeout(a));
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS);
  lp2p_dcutr_free(a);
}

static void expect_protocol(lp2p_dcutr *a) {
  lp2p_dcutr_event ev;
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_PROTOCOL);
  assert_true(lp2p_dcutr_done(a));
}

static void test_protocol_errors(void **s) {
  (void)s;
  /* a length prefix over 4 KiB */
  lp2p_dcutr *a = dp_responder_at_connect(NULL);
  const uint8_t big[] = {0x81, 0x20};
  assert_int_equal(lp2p_dcutr_feed(a, 0, big, 2), 2);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* SYNC before CONNECT */
  a = dp_responder_at_connect(NULL);
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  lp2p_dcutr_feed(a, 0, sync, 4);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* a body that is not a HolePunch */
  a = dp_responder_at_connect(NULL);
  const uint8_t bad[] = {0x02, 0x08, 0x07};
  lp2p_dcutr_feed(a, 0, bad, 3);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* bytes when none are expected: B after SYNC */
  lp2p_dcutr *b =
      dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  a = dp_responder_at_connect(NULL);
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  dp_pipe_to(b, a, 0);
  dp_pipe_to(a, b, 10 * MS);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_int_equal(lp2p_dcutr_feed(b, 11 * MS, sync, 4), 4);
  expect_protocol(b);
  lp2p_dcutr_free(b);
  lp2p_dcutr_free(a);
  /* A's CONNECT plus trailing garbage in one read */
  b = dp_mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  dp_pipe_to(b, NULL, 0);
  uint8_t msg[64];
  size_t len;
  lp2p_maddr m = dp_ma("/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_msg c = {0};
  c.type = LP2P_DCUTR_CONNECT;
  c.naddrs = 1;
  c.addrs[0] = (lp2p_dcutr_bytes){m.bytes, m.len};
  lp2p_dcutr_msg_encode(&c, msg, sizeof msg, &len);
  msg[len++] = 0x00;
  lp2p_dcutr_feed(b, MS, msg, len);
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* the SYNC close */
  expect_protocol(b);
  lp2p_dcutr_free(b);
}

static void test_responder_bounds(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  const char *one[] = {"/ip4/198.18.0.20/tcp/4001"};
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  /* a fourth stream is one attempt too many */
  lp2p_dcutr *a =
      dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
    /* A's dial still runs when B opens the next stream: B gave up on it */
    if (i > 0)
      dp_expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
    dp_feed_connect(a, one, 1);
    dp_pipe_to(a, NULL, 0);
    lp2p_dcutr_feed(a, 0, sync, 4);
    dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
    dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
    assert_int_equal(ev.attempt, i + 1);
  }
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
  dp_expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TOO_MANY_ATTEMPTS);
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), LP2P_ERR_STATE);
  lp2p_dcutr_free(a);
  /* SYNC never comes: timeout; B never retries: A gives up with the
   * attempt's reason after the exchange timeout */
  a = dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_stream_opened(a, 0);
  dp_feed_connect(a, one, 1);
  dp_pipe_to(a, NULL, 0);
  assert_int_equal(lp2p_dcutr_next_timeout(a), 15 * SEC);
  lp2p_dcutr_handle_timeout(a, 15 * SEC);
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_none(a);
  assert_int_equal(lp2p_dcutr_next_timeout(a), 30 * SEC);
  lp2p_dcutr_handle_timeout(a, 30 * SEC);
  dp_expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  lp2p_dcutr_free(a);
  /* API misuse is refused, not fatal */
  a = dp_mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_direct_result(a, 0, 0, LP2P_ERR_REFUSED),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_dcutr_feed(a, 0, NULL, 1), LP2P_ERR_INVAL);
  lp2p_dcutr_free(a);
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.dial_addrs_max = LP2P_DCUTR_ADDRS_MAX + 1;
  assert_int_equal(lp2p_dcutr_new(&a, LP2P_DCUTR_RESPONDER, &c, NULL, 0),
                   LP2P_ERR_INVAL);
  c.dial_addrs_max = 8;
  c.attempts_max = 0;
  assert_int_equal(lp2p_dcutr_new(&a, LP2P_DCUTR_RESPONDER, &c, NULL, 0),
                   LP2P_ERR_INVAL);
}

static void test_event_overflow(void **s) {
  (void)s;
  /* a host that never polls: the oldest events go, the RESULT stays */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.attempts_max = 10;
  lp2p_dcutr *b = dp_mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  for (int i = 0; i < 10; i++) {
    lp2p_dcutr_stream_opened(b, 0);
    lp2p_dcutr_stream_closed(b, 0, LP2P_ERR_RESET);
  }
  lp2p_dcutr_event ev, last;
  int n = 0;
  while (lp2p_dcutr_poll_event(b, &ev)) {
    last = ev;
    n++;
  }
  assert_int_equal(n, 8);
  assert_int_equal(last.type, LP2P_DCUTR_EV_RESULT);
  assert_int_equal(last.reason, LP2P_PUNCH_STREAM_CLOSED);
  assert_int_equal(last.attempt, 10);
  lp2p_dcutr_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hostile_connect),
      cmocka_unit_test(test_protocol_errors),
      cmocka_unit_test(test_responder_bounds),
      cmocka_unit_test(test_event_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
