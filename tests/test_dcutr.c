/* The DCUtR engine on a fake clock: both roles paired against each other
 * (RTT measured, B dials exactly RTT/2 after SYNC, A on SYNC), retries up
 * to three attempts, the named failure reasons, and hostile CONNECTs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/dcutr.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

static lp2p_maddr ma(const char *s) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, s, strlen(s)), 0);
  return m;
}

static int lab_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  if (family == 4 && ip[0] == 198 && (ip[1] & 0xfe) == 18)
    return 1;
  return lp2p_dcutr_ip_is_public(NULL, family, ip);
}

static lp2p_dcutr *mk(lp2p_dcutr_role role, const lp2p_dcutr_config *cfg,
                      const char *addr) {
  lp2p_dcutr_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_dcutr_config_default(&c);
  c.is_public = lab_public;
  lp2p_dcutr *d;
  assert_int_equal(lp2p_dcutr_new(&d, role, &c, NULL, 0), 0);
  if (addr) {
    lp2p_maddr a[2] = {ma(addr), ma("/ip4/192.168.1.5/tcp/4001")};
    assert_int_equal(lp2p_dcutr_set_local_addrs(d, a, 2), 1);
  }
  return d;
}

/* Move everything d has queued into `to` (NULL: drop). */
static size_t pipe_to(lp2p_dcutr *d, lp2p_dcutr *to, lp2p_tstamp now) {
  size_t len, total = 0;
  const uint8_t *p;
  while ((p = lp2p_dcutr_out_peek(d, &len)) != NULL) {
    if (to)
      assert_int_equal(lp2p_dcutr_feed(to, now, p, len), (lp2p_ssize)len);
    lp2p_dcutr_out_consume(d, len);
    total += len;
  }
  return total;
}

static int next_ev(lp2p_dcutr *d, lp2p_dcutr_event *ev) {
  return lp2p_dcutr_poll_event(d, ev);
}

static void expect_ev(lp2p_dcutr *d, lp2p_dcutr_event_type t,
                      lp2p_dcutr_event *ev) {
  assert_int_equal(next_ev(d, ev), 1);
  assert_int_equal(ev->type, t);
}

static void expect_none_at(lp2p_dcutr *d, int line) {
  lp2p_dcutr_event ev;
  int got = next_ev(d, &ev);
  if (got)
    print_message("line %d: unexpected event %d\n", line, (int)ev.type);
  assert_int_equal(got, 0);
}
#define expect_none(d) expect_none_at(d, __LINE__)

/* Run one attempt's exchange with a one-way relay delay `ow` starting at
 * `t`: B opens the stream at t, A has CONNECT at t+ow, B gets A's CONNECT
 * at t+2ow and sends SYNC, A gets SYNC at t+3ow. Returns B's dial time. */
static lp2p_tstamp exchange(lp2p_dcutr *b, lp2p_dcutr *a, lp2p_tstamp t,
                            uint64_t ow, uint32_t attempt) {
  lp2p_dcutr_event ev;
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  assert_int_equal(ev.attempt, attempt);
  expect_none(b);
  assert_int_equal(lp2p_dcutr_stream_opened(b, t), 0);
  assert_int_equal(lp2p_dcutr_stream_opened(a, t + ow), 0);
  assert_true(pipe_to(b, a, t + ow) > 0); /* CONNECT */
  expect_none(a);
  assert_true(pipe_to(a, b, t + 2 * ow) > 0); /* A's CONNECT */
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
  assert_false(ev.reset);
  expect_none(b);
  /* B's timer: RTT/2 after SYNC, and RTT = 2 ow */
  assert_int_equal(lp2p_dcutr_next_timeout(b), t + 2 * ow + ow);
  assert_true(pipe_to(b, a, t + 3 * ow) > 0); /* SYNC */
  /* A dials as soon as SYNC arrives, as the security client */
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_true(ev.security_client);
  assert_false(ev.udp_random_packets);
  assert_int_equal(ev.attempt, attempt);
  assert_int_equal(ev.naddrs, 1);
  char txt[128];
  size_t tl;
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.20/tcp/4001");
  /* B: nothing one tick early, DIAL exactly at the timer */
  lp2p_tstamp at = t + 3 * ow;
  assert_int_equal(lp2p_dcutr_handle_timeout(b, at - 1), 0);
  expect_none(b);
  assert_int_equal(lp2p_dcutr_handle_timeout(b, at), 0);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_false(ev.security_client);
  assert_true(ev.udp_random_packets);
  assert_int_equal(ev.naddrs, 1);
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.10/tcp/4001");
  return at;
}

static void test_pair_success(void **s) {
  (void)s;
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_start(b, 1000), 0);
  assert_int_equal(lp2p_dcutr_start(b, 1000), LP2P_ERR_STATE);
  assert_int_equal(lp2p_dcutr_start(a, 1000), LP2P_ERR_STATE);
  lp2p_tstamp at = exchange(b, a, 1000, 40 * MS, 1);
  /* the dial deadline is armed */
  assert_int_equal(lp2p_dcutr_next_timeout(b), at + 5 * SEC);
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_direct_result(a, at + MS, 1, 0), 0);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  assert_int_equal(ev.reason, LP2P_PUNCH_OK);
  assert_int_equal(lp2p_dcutr_direct_result(b, at + MS, 1, 0), 0);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
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
  expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  lp2p_dcutr_free(NULL);
}

static void test_zero_rtt(void **s) {
  (void)s;
  /* a relay at zero delay: B dials as soon as it sends SYNC */
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 5);
  lp2p_dcutr_stream_opened(a, 5);
  pipe_to(b, a, 5);
  pipe_to(a, b, 5);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_three_attempts(void **s) {
  (void)s;
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_tstamp t = 0;
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(b, t), 0);
  /* attempt 1: both dials refused (an RST NAT); the next attempt sends
   * its first SYN at a low TTL */
  lp2p_tstamp at = exchange(b, a, t, 10 * MS, 1);
  assert_int_equal(lp2p_dcutr_direct_result(a, at, 0, LP2P_ERR_REFUSED), 0);
  expect_none(a);
  assert_int_equal(lp2p_dcutr_direct_result(b, at, 0, LP2P_ERR_REFUSED), 0);
  /* attempt 2 starts at once (go's holepuncher retries without delay) */
  t = at;
  assert_int_equal(lp2p_dcutr_stream_opened(b, t), 0);
  assert_int_equal(lp2p_dcutr_stream_opened(a, t + 10 * MS), 0);
  pipe_to(b, a, t + 10 * MS);
  pipe_to(a, b, t + 20 * MS);
  pipe_to(b, a, t + 30 * MS);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.attempt, 2);
  assert_int_equal(ev.first_syn_ttl, 2);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  lp2p_dcutr_handle_timeout(b, t + 30 * MS);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 2);
  /* attempt 2: nobody reports: the dial deadline fails it (TIMEOUT) */
  at = t + 30 * MS;
  lp2p_dcutr_handle_timeout(b, at + 5 * SEC - 1);
  expect_none(b);
  lp2p_dcutr_handle_timeout(b, at + 5 * SEC);
  lp2p_dcutr_handle_timeout(a, at + 5 * SEC);
  expect_ev(b, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  expect_none(a);
  /* attempt 3: B opens its third stream; a timeout keeps TTL normal */
  t = at + 5 * SEC;
  exchange(b, a, t, 10 * MS, 3);
  lp2p_dcutr_direct_result(b, t + 30 * MS, 0, LP2P_ERR_TIMEOUT);
  lp2p_dcutr_direct_result(a, t + 30 * MS, 0, LP2P_ERR_TIMEOUT);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_false(ev.ok);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  assert_int_equal(ev.attempt, 3);
  assert_string_equal(lp2p_punch_reason_name(ev.reason), "timeout");
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_false(ev.ok);
  assert_int_equal(lp2p_dcutr_attempts(b), 3);
  expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

static void test_ttl_policy(void **s) {
  (void)s;
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.first_syn_ttl = 3;
  c.first_syn_ttl_from_attempt = 1; /* the lab: every attempt */
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, 0);
  pipe_to(b, a, 0);
  pipe_to(a, b, 2 * MS);
  pipe_to(b, a, 3 * MS);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 3);
  /* the accepted connection wins before B's own timer */
  assert_int_equal(lp2p_dcutr_direct_result(b, 2 * MS + 1, 1, 0), 0);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

/* B's CONNECT as A sees it, then A's answer fed to a fresh B. */
static void feed_connect(lp2p_dcutr *d, const char **addrs, size_t n) {
  lp2p_maddr m[LP2P_DCUTR_ADDRS_MAX];
  lp2p_dcutr_msg msg = {0};
  msg.type = LP2P_DCUTR_CONNECT;
  for (size_t i = 0; i < n; i++) {
    m[i] = ma(addrs[i]);
    msg.addrs[msg.naddrs++] = (lp2p_dcutr_bytes){m[i].bytes, m[i].len};
  }
  uint8_t b[LP2P_DCUTR_MSG_MAX + 16];
  size_t len;
  assert_int_equal(lp2p_dcutr_msg_encode(&msg, b, sizeof b, &len), 0);
  /* byte by byte: framing survives any split */
  for (size_t i = 0; i < len; i++)
    assert_int_equal(lp2p_dcutr_feed(d, 0, b + i, 1), 1);
}

static lp2p_dcutr *responder_at_connect(const lp2p_dcutr_config *c) {
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, c, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
  return a;
}

static void test_hostile_connect(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  /* private, loopback, circuit and DNS addresses are skipped, not fatal */
  lp2p_dcutr *a = responder_at_connect(NULL);
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
  feed_connect(a, mixed, 6);
  size_t len;
  assert_non_null(lp2p_dcutr_out_peek(a, &len)); /* A answered */
  pipe_to(a, NULL, 0);
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 1);
  lp2p_dcutr_free(a);

  /* 16 public addresses on 16 IPs from a peer that claims no IP: only
   * the first dial_ips_max (2) IPs are dialed, not 16 third parties */
  a = responder_at_connect(NULL);
  const char *many[16];
  char buf[16][40];
  for (int i = 0; i < 16; i++) {
    snprintf(buf[i], sizeof buf[i], "/ip4/198.18.0.%d/tcp/4001", i + 1);
    many[i] = buf[i];
  }
  feed_connect(a, many, 16);
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 2);
  char t0[64];
  size_t t0l;
  lp2p_maddr_to_string(&ev.addrs[1], t0, sizeof t0, &t0l);
  assert_string_equal(t0, "/ip4/198.18.0.2/tcp/4001");
  lp2p_dcutr_free(a);

  /* 16 ports on one IP: at most dial_addrs_max (8) dials per attempt */
  a = responder_at_connect(NULL);
  char pbuf[16][40];
  const char *ports[16];
  for (int i = 0; i < 16; i++) {
    snprintf(pbuf[i], sizeof pbuf[i], "/ip4/198.18.0.9/tcp/%d", 4001 + i);
    ports[i] = pbuf[i];
  }
  feed_connect(a, ports, 16);
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 8);
  lp2p_dcutr_free(a);

  /* the peer's own IPs bound what it can make us dial: no third parties */
  a = responder_at_connect(NULL);
  const int fam[1] = {4};
  const uint8_t ips[1][16] = {{198, 18, 0, 7}};
  assert_int_equal(lp2p_dcutr_set_peer_ips(a, fam, ips, 1), 0);
  feed_connect(a, many, 16);
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 1);
  char txt[64];
  size_t tl;
  lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl);
  assert_string_equal(txt, "/ip4/198.18.0.7/tcp/4001");
  lp2p_dcutr_free(a);

  /* nothing dialable at all: A still answers (the peer may dial us: js
   * never names its public address), dials nothing, and when no
   * connection came the attempt fails with the named reason */
  a = responder_at_connect(NULL);
  feed_connect(a, mixed, 4);
  assert_non_null(lp2p_dcutr_out_peek(a, &len));
  pipe_to(a, NULL, 0);
  assert_int_equal(lp2p_dcutr_feed(a, 1, sync, 4), 4);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.naddrs, 0);
  lp2p_dcutr_handle_timeout(a, lp2p_dcutr_next_timeout(a));
  expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  lp2p_dcutr_handle_timeout(a, lp2p_dcutr_next_timeout(a));
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS);
  lp2p_dcutr_free(a);
}

static void expect_protocol(lp2p_dcutr *a) {
  lp2p_dcutr_event ev;
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_PROTOCOL);
  assert_true(lp2p_dcutr_done(a));
}

static void test_protocol_errors(void **s) {
  (void)s;
  /* a length prefix over 4 KiB */
  lp2p_dcutr *a = responder_at_connect(NULL);
  const uint8_t big[] = {0x81, 0x20};
  assert_int_equal(lp2p_dcutr_feed(a, 0, big, 2), 2);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* SYNC before CONNECT */
  a = responder_at_connect(NULL);
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  lp2p_dcutr_feed(a, 0, sync, 4);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* a body that is not a HolePunch */
  a = responder_at_connect(NULL);
  const uint8_t bad[] = {0x02, 0x08, 0x07};
  lp2p_dcutr_feed(a, 0, bad, 3);
  expect_protocol(a);
  lp2p_dcutr_free(a);
  /* bytes when none are expected: B after SYNC */
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  a = responder_at_connect(NULL);
  lp2p_dcutr_start(b, 0);
  lp2p_dcutr_event ev;
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  pipe_to(b, a, 0);
  pipe_to(a, b, 10 * MS);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_int_equal(lp2p_dcutr_feed(b, 11 * MS, sync, 4), 4);
  expect_protocol(b);
  lp2p_dcutr_free(b);
  lp2p_dcutr_free(a);
  /* A's CONNECT plus trailing garbage in one read */
  b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  pipe_to(b, NULL, 0);
  uint8_t msg[64];
  size_t len;
  lp2p_maddr m = ma("/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_msg c = {0};
  c.type = LP2P_DCUTR_CONNECT;
  c.naddrs = 1;
  c.addrs[0] = (lp2p_dcutr_bytes){m.bytes, m.len};
  lp2p_dcutr_msg_encode(&c, msg, sizeof msg, &len);
  msg[len++] = 0x00;
  lp2p_dcutr_feed(b, MS, msg, len);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* the SYNC close */
  expect_protocol(b);
  lp2p_dcutr_free(b);
}

static void test_named_reasons(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  /* no public address of ours: B does not even open a stream */
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, NULL);
  lp2p_dcutr_start(b, 0);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_OURS);
  assert_string_equal(lp2p_punch_reason_name(ev.reason),
                      "no-public-address-ours");
  lp2p_dcutr_free(b);
  /* A without public addresses: it does not answer */
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, NULL, NULL);
  lp2p_dcutr_stream_opened(a, 0);
  const char *one[] = {"/ip4/198.18.0.20/tcp/4001"};
  feed_connect(a, one, 1);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_NO_PUBLIC_ADDR_OURS);
  lp2p_dcutr_free(a);
  /* both sides map per destination: skipped with the reason */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.ours.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  c.ours.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  c.theirs.mapping = LP2P_NAT_ADDRESS_DEPENDENT;
  c.theirs.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  b = mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_int_equal(lp2p_dcutr_attempts(b), 0);
  lp2p_dcutr_free(b);
  /* ... also on A's side once it knows */
  a = mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_stream_opened(a, 0);
  feed_connect(a, one, 1);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  lp2p_dcutr_free(a);
  /* the peer does not speak dcutr */
  b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_closed(b, 0, LP2P_ERR_UNSUPPORTED);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_UNSUPPORTED);
  lp2p_dcutr_free(b);
  /* streams reset mid-exchange three times: retried, then reported */
  b = mk(LP2P_DCUTR_INITIATOR, NULL, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  for (uint32_t i = 1; i <= 3; i++) {
    expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
    assert_int_equal(ev.attempt, i);
    lp2p_dcutr_stream_opened(b, 0);
    pipe_to(b, NULL, 0);
    lp2p_dcutr_stream_closed(b, 0, LP2P_ERR_RESET);
  }
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_STREAM_CLOSED);
  lp2p_dcutr_free(b);
  /* A's CONNECT never comes: exchange timeouts, three times */
  lp2p_dcutr_config_default(&c);
  c.retry_delay_ns = 100 * MS;
  b = mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr_start(b, 0);
  lp2p_tstamp t = 0;
  for (uint32_t i = 1; i <= 3; i++) {
    expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
    lp2p_dcutr_stream_opened(b, t);
    pipe_to(b, NULL, t);
    t = lp2p_dcutr_next_timeout(b);
    assert_int_equal(t, (i - 1) * (15 * SEC + 100 * MS) + 15 * SEC);
    lp2p_dcutr_handle_timeout(b, t);
    expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
    assert_true(ev.reset);
    if (i < 3) {
      expect_none(b);
      assert_int_equal(lp2p_dcutr_next_timeout(b), t + 100 * MS);
      t += 100 * MS;
      lp2p_dcutr_handle_timeout(b, t);
    }
  }
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  lp2p_dcutr_free(b);
}

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
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, &cb, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, &ca, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(b, 0), 0); /* B alone cannot tell */
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, MS);
  pipe_to(b, a, MS);
  /* A answers with its own class, closes (no reset) and names it */
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_true(pipe_to(a, b, 2 * MS) > 0);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_int_equal(lp2p_dcutr_attempts(b), 1);
  expect_none(b);
  assert_int_equal(pipe_to(b, NULL, 0), 0); /* no SYNC */
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* one side predictable (sequential) and the other's SYN let in by an
   * address filter: not hopeless, the punch goes on */
  cb.ours.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  cb.ours.sequential = 1;
  cb.ours.port_stride = 1;
  b = mk(LP2P_DCUTR_INITIATOR, &cb, "/ip4/198.18.0.20/tcp/4001");
  a = mk(LP2P_DCUTR_RESPONDER, &ca, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_start(b, 0), 0);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, MS);
  pipe_to(b, a, MS);
  expect_none(a);
  pipe_to(a, b, 2 * MS);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
  expect_none(b);
  pipe_to(b, a, 3 * MS);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
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

static void test_responder_bounds(void **s) {
  (void)s;
  lp2p_dcutr_event ev;
  const char *one[] = {"/ip4/198.18.0.20/tcp/4001"};
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  /* a fourth stream is one attempt too many */
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
    /* A's dial still runs when B opens the next stream: B gave up on it */
    if (i > 0)
      expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
    feed_connect(a, one, 1);
    pipe_to(a, NULL, 0);
    lp2p_dcutr_feed(a, 0, sync, 4);
    expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
    expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
    assert_int_equal(ev.attempt, i + 1);
  }
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
  expect_ev(a, LP2P_DCUTR_EV_CANCEL_DIALS, &ev);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TOO_MANY_ATTEMPTS);
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), LP2P_ERR_STATE);
  lp2p_dcutr_free(a);
  /* SYNC never comes: timeout; B never retries: A gives up with the
   * attempt's reason after the exchange timeout */
  a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_stream_opened(a, 0);
  feed_connect(a, one, 1);
  pipe_to(a, NULL, 0);
  assert_int_equal(lp2p_dcutr_next_timeout(a), 15 * SEC);
  lp2p_dcutr_handle_timeout(a, 15 * SEC);
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_none(a);
  assert_int_equal(lp2p_dcutr_next_timeout(a), 30 * SEC);
  lp2p_dcutr_handle_timeout(a, 30 * SEC);
  expect_ev(a, LP2P_DCUTR_EV_RESULT, &ev);
  assert_int_equal(ev.reason, LP2P_PUNCH_TIMEOUT);
  lp2p_dcutr_free(a);
  /* API misuse is refused, not fatal */
  a = mk(LP2P_DCUTR_RESPONDER, NULL, "/ip4/198.18.0.10/tcp/4001");
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
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
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
  lp2p_dcutr *a = responder_at_connect(&c);
  const char *one[] = {"/ip4/198.18.0.20/tcp/40000"};
  feed_connect(a, one, 1);
  pipe_to(a, NULL, 0);
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  lp2p_dcutr_feed(a, 0, sync, 4);
  lp2p_dcutr_event ev;
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
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

static void test_local_addrs(void **s) {
  (void)s;
  /* at most 16 kept, private ones dropped, duplicates once */
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, NULL, NULL);
  lp2p_maddr a[18];
  char txt[600];
  for (int i = 0; i < 18; i++) {
    snprintf(txt, sizeof txt, "/ip4/198.18.1.%d/tcp/%d", i, 4001 + i);
    a[i] = ma(txt);
  }
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 18), LP2P_DCUTR_ADDRS_MAX);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 0), 0);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, NULL, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dcutr_set_local_addrs(b, a, 2), 2);
  assert_int_equal(lp2p_dcutr_set_peer_ips(b, NULL, NULL, 1), LP2P_ERR_INVAL);
  lp2p_dcutr_free(b);
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
  *pb = mk(LP2P_DCUTR_INITIATOR, &b, "/ip4/198.18.0.20/tcp/4001");
  *pa = mk(LP2P_DCUTR_RESPONDER, &a, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  assert_int_equal(lp2p_dcutr_start(*pb, 0), 0);
  expect_ev(*pb, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(*pb, 0);
  lp2p_dcutr_stream_opened(*pa, 20 * MS);
  assert_true(pipe_to(*pb, *pa, 20 * MS) > 0); /* B's CONNECT */
}

/* B's side once A's CONNECT is in, when B's SYN goes first: DIAL at once
 * with `ttl`, no SYNC queued yet (a driver sends the SYN first), then
 * SYNC on the timer that is due now. */
static void b_dials_first(lp2p_dcutr *b, lp2p_dcutr *a, uint8_t ttl) {
  lp2p_dcutr_event ev;
  assert_true(pipe_to(a, b, 40 * MS) > 0); /* A's CONNECT */
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_false(ev.security_client);
  assert_int_equal(ev.first_syn_ttl, ttl);
  assert_int_equal(ev.naddrs, 1);
  expect_none(b);
  size_t len;
  assert_null(lp2p_dcutr_out_peek(b, &len)); /* SYNC waits a tick */
  assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS);
  assert_int_equal(lp2p_dcutr_handle_timeout(b, 40 * MS), 0);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  expect_none(b);
  /* now the dial deadline */
  assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS + 5 * SEC);
  assert_true(pipe_to(b, a, 60 * MS) > 0); /* SYNC */
  expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
  assert_true(ev.security_client);
  assert_int_equal(ev.first_syn_ttl, 0); /* only B's SYN may be the low one */
  expect_none(a);
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
  expect_none(a);
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
  expect_none(a);
  b_dials_first(b, a, 2);
  /* A's SYN wins; B's direct result closes nothing more */
  assert_int_equal(lp2p_dcutr_direct_result(b, 80 * MS, 1, 0), 0);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
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
  expect_ev(a, LP2P_DCUTR_EV_PROBE, &ev);
  assert_int_equal(ev.naddrs, 1);
  assert_int_equal(ev.first_syn_ttl, 2);
  assert_true(ev.security_client);
  char txt[128];
  size_t tl;
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.20/tcp/4001");
  expect_none(a);
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
  expect_none(a); /* A's filter is by port: no probe */
  b_dials_first(b, a, 2);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  plan_pair(prc, seq, &b, &a);
  expect_none(a);
  pipe_to(a, b, 40 * MS);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
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
  expect_ev(a, LP2P_DCUTR_EV_PROBE, &ev);
  pipe_to(a, b, 40 * MS);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(ev.first_syn_ttl, 0);
  assert_int_equal(lp2p_dcutr_direct_result(b, 40 * MS, 1, 0), 0);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_false(ev.reset);
  expect_ev(b, LP2P_DCUTR_EV_RESULT, &ev);
  assert_true(ev.ok);
  assert_null(lp2p_dcutr_out_peek(b, &len));
  assert_int_equal(lp2p_dcutr_handle_timeout(b, 40 * MS), 0);
  expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
  /* B's SYN refused before SYNC went out: A's attempt ends with the
   * stream (reset), B's next attempt follows */
  plan_pair(cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT),
            &b, &a);
  pipe_to(a, b, 40 * MS);
  expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_int_equal(lp2p_dcutr_direct_result(b, 40 * MS, 0, LP2P_ERR_REFUSED),
                   0);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  assert_true(ev.reset);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
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
    expect_none(a); /* no PROBE */
    pipe_to(a, b, 40 * MS);
    expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
    expect_none(b);
    assert_int_equal(lp2p_dcutr_next_timeout(b), 40 * MS + 20 * MS);
    lp2p_dcutr_free(a);
    lp2p_dcutr_free(b);
  }
  /* no low-TTL SYNs configured: the spec's timing as well */
  lp2p_dcutr_config c;
  lp2p_dcutr_config_default(&c);
  c.first_syn_ttl = 0;
  c.ours = cls(LP2P_NAT_ENDPOINT_INDEPENDENT, LP2P_NAT_ADDRESS_DEPENDENT);
  lp2p_dcutr *b = mk(LP2P_DCUTR_INITIATOR, &c, "/ip4/198.18.0.20/tcp/4001");
  lp2p_dcutr *a = mk(LP2P_DCUTR_RESPONDER, &c, "/ip4/198.18.0.10/tcp/4001");
  lp2p_dcutr_event ev;
  lp2p_dcutr_start(b, 0);
  expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  lp2p_dcutr_stream_opened(b, 0);
  lp2p_dcutr_stream_opened(a, 20 * MS);
  pipe_to(b, a, 20 * MS);
  pipe_to(a, b, 40 * MS);
  expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  expect_none(b);
  lp2p_dcutr_free(a);
  lp2p_dcutr_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pair_success),
      cmocka_unit_test(test_zero_rtt),
      cmocka_unit_test(test_three_attempts),
      cmocka_unit_test(test_ttl_policy),
      cmocka_unit_test(test_hostile_connect),
      cmocka_unit_test(test_protocol_errors),
      cmocka_unit_test(test_named_reasons),
      cmocka_unit_test(test_class_in_connect),
      cmocka_unit_test(test_responder_bounds),
      cmocka_unit_test(test_predicted_ports),
      cmocka_unit_test(test_event_overflow),
      cmocka_unit_test(test_local_addrs),
      cmocka_unit_test(test_b_syn_first),
      cmocka_unit_test(test_spec_timing_without_both_classes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
