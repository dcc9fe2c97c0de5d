/* Two DCUtR engines on a fake clock (dcutr_pair.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/dcutr_pair.h"

lp2p_maddr dp_ma(const char *s) {
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

lp2p_dcutr *dp_mk(lp2p_dcutr_role role, const lp2p_dcutr_config *cfg,
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
    lp2p_maddr a[2] = {dp_ma(addr), dp_ma("/ip4/192.168.1.5/tcp/4001")};
    assert_int_equal(lp2p_dcutr_set_local_addrs(d, a, 2), 1);
  }
  return d;
}

/* Move everything d has queued into `to` (NULL: drop). */
size_t dp_pipe_to(lp2p_dcutr *d, lp2p_dcutr *to, lp2p_tstamp now) {
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

void dp_expect_ev(lp2p_dcutr *d, lp2p_dcutr_event_type t,
                  lp2p_dcutr_event *ev) {
  assert_int_equal(next_ev(d, ev), 1);
  assert_int_equal(ev->type, t);
}

void dp_expect_none_at(lp2p_dcutr *d, int line) {
  lp2p_dcutr_event ev;
  int got = next_ev(d, &ev);
  if (got)
    print_message("line %d: unexpected event %d\n", line, (int)ev.type);
  assert_int_equal(got, 0);
}
#define dp_expect_none(d) dp_expect_none_at(d, __LINE__)

/* Run one attempt's exchange with a one-way relay delay `ow` starting at
 * `t`: B opens the stream at t, A has CONNECT at t+ow, B gets A's CONNECT
 * at t+2ow and sends SYNC, A gets SYNC at t+3ow. Returns B's dial time. */
lp2p_tstamp dp_exchange(lp2p_dcutr *b, lp2p_dcutr *a, lp2p_tstamp t,
                        uint64_t ow, uint32_t attempt) {
  lp2p_dcutr_event ev;
  dp_expect_ev(b, LP2P_DCUTR_EV_OPEN_STREAM, &ev);
  assert_int_equal(ev.attempt, attempt);
  dp_expect_none(b);
  assert_int_equal(lp2p_dcutr_stream_opened(b, t), 0);
  assert_int_equal(lp2p_dcutr_stream_opened(a, t + ow), 0);
  assert_true(dp_pipe_to(b, a, t + ow) > 0); /* CONNECT */
  dp_expect_none(a);
  assert_true(dp_pipe_to(a, b, t + 2 * ow) > 0); /* A's CONNECT */
  dp_expect_ev(b, LP2P_DCUTR_EV_CLOSE_STREAM, &ev); /* after SYNC */
  assert_false(ev.reset);
  dp_expect_none(b);
  /* B's timer: RTT/2 after SYNC, and RTT = 2 ow */
  assert_int_equal(lp2p_dcutr_next_timeout(b), t + 2 * ow + ow);
  assert_true(dp_pipe_to(b, a, t + 3 * ow) > 0); /* SYNC */
  /* A dials as soon as SYNC arrives, as the security client */
  dp_expect_ev(a, LP2P_DCUTR_EV_CLOSE_STREAM, &ev);
  dp_expect_ev(a, LP2P_DCUTR_EV_DIAL, &ev);
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
  dp_expect_none(b);
  assert_int_equal(lp2p_dcutr_handle_timeout(b, at), 0);
  dp_expect_ev(b, LP2P_DCUTR_EV_DIAL, &ev);
  assert_false(ev.security_client);
  assert_true(ev.udp_random_packets);
  assert_int_equal(ev.naddrs, 1);
  assert_int_equal(lp2p_maddr_to_string(&ev.addrs[0], txt, sizeof txt, &tl), 0);
  assert_string_equal(txt, "/ip4/198.18.0.10/tcp/4001");
  return at;
}

/* B's CONNECT as A sees it, then A's answer fed to a fresh B. */
void dp_feed_connect(lp2p_dcutr *d, const char **addrs, size_t n) {
  lp2p_maddr m[LP2P_DCUTR_ADDRS_MAX];
  lp2p_dcutr_msg msg = {0};
  msg.type = LP2P_DCUTR_CONNECT;
  for (size_t i = 0; i < n; i++) {
    m[i] = dp_ma(addrs[i]);
    msg.addrs[msg.naddrs++] = (lp2p_dcutr_bytes){m[i].bytes, m[i].len};
  }
  uint8_t b[LP2P_DCUTR_MSG_MAX + 16];
  size_t len;
  assert_int_equal(lp2p_dcutr_msg_encode(&msg, b, sizeof b, &len), 0);
  /* byte by byte: framing survives any split */
  for (size_t i = 0; i < len; i++)
    assert_int_equal(lp2p_dcutr_feed(d, 0, b + i, 1), 1);
}

lp2p_dcutr *dp_responder_at_connect(const lp2p_dcutr_config *c) {
  lp2p_dcutr *a = dp_mk(LP2P_DCUTR_RESPONDER, c, "/ip4/198.18.0.10/tcp/4001");
  assert_int_equal(lp2p_dcutr_stream_opened(a, 0), 0);
  return a;
}
