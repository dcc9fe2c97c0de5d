/* AutoNAT v2 pure parts: the codec (round trips, framing, malformed
 * input), the client and server request engines shuttled into each other
 * (same IP, amplification guard with dial data, budget refusal, private
 * refusal, rate-limit rejection, malformed requests), the rate limiter,
 * the verdict book and the is-public predicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/autonat.h"

static lp2p_maddr ma(const char *s) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, s, strlen(s)), 0);
  return m;
}

/* Decode one framed message from buf. */
static void unframe(const uint8_t *buf, size_t n, lp2p_autonat_msg *m) {
  const uint8_t *body;
  size_t blen;
  lp2p_ssize f = lp2p_autonat_frame(buf, n, LP2P_AUTONAT_MSG_MAX, &body, &blen);
  assert_int_equal(f, (lp2p_ssize)n);
  assert_int_equal(lp2p_autonat_msg_parse(m, body, blen), 0);
}

static void test_codec_roundtrip(void **state) {
  (void)state;
  uint8_t buf[4200];
  size_t n;
  lp2p_autonat_msg m, d;
  lp2p_maddr a1 = ma("/ip4/1.2.3.4/tcp/4001"),
             a2 = ma("/ip6/2001:4860::1/tcp/1");
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_REQUEST;
  m.nonce = 0x0123456789abcdefu;
  m.naddrs = 2;
  m.addrs[0].p = a1.bytes;
  m.addrs[0].len = a1.len;
  m.addrs[1].p = a2.bytes;
  m.addrs[1].len = a2.len;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  unframe(buf, n, &d);
  assert_int_equal(d.type, LP2P_AUTONAT_MSG_DIAL_REQUEST);
  assert_true(d.nonce == m.nonce);
  assert_int_equal(d.naddrs, 2);
  assert_memory_equal(d.addrs[1].p, a2.bytes, a2.len);

  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_RESPONSE;
  m.status = LP2P_AUTONAT_RESP_OK;
  m.addr_idx = 3;
  m.dial_status = LP2P_AUTONAT_DIAL_BACK_ERROR;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  unframe(buf, n, &d);
  assert_int_equal(d.type, LP2P_AUTONAT_MSG_DIAL_RESPONSE);
  assert_int_equal(d.status, 200);
  assert_int_equal(d.addr_idx, 3);
  assert_int_equal(d.dial_status, 101);

  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST;
  m.addr_idx = 1;
  m.num_bytes = 77777;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  unframe(buf, n, &d);
  assert_int_equal(d.type, LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST);
  assert_int_equal(d.addr_idx, 1);
  assert_int_equal(d.num_bytes, 77777);

  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE;
  m.data.len = 4096; /* NULL data: zeros */
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  unframe(buf, n, &d);
  assert_int_equal(d.type, LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE);
  assert_int_equal(d.data.len, 4096);
  /* too small a buffer: NOSPACE with the size needed */
  size_t need = 0;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, 100, &need),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(need, n);

  uint64_t nonce = 0;
  uint32_t st = 9;
  assert_int_equal(lp2p_autonat_dialback_encode(42, buf, sizeof buf, &n), 0);
  const uint8_t *body;
  size_t blen;
  assert_true(lp2p_autonat_frame(buf, n, 64, &body, &blen) > 0);
  assert_int_equal(lp2p_autonat_dialback_parse(body, blen, &nonce), 0);
  assert_int_equal(nonce, 42);
  assert_int_equal(lp2p_autonat_dialback_resp_encode(0, buf, sizeof buf, &n),
                   0);
  assert_int_equal(n, 1); /* status OK = 0 is not written: an empty body */
  assert_int_equal(lp2p_autonat_frame(buf, n, 64, &body, &blen), 1);
  assert_int_equal(lp2p_autonat_dialback_resp_parse(body, blen, &st), 0);
  assert_int_equal(st, 0);
}

static void test_codec_malformed(void **state) {
  (void)state;
  lp2p_autonat_msg m;
  /* no known oneof */
  static const uint8_t empty[1] = {0};
  assert_int_equal(lp2p_autonat_msg_parse(&m, empty, 0), LP2P_ERR_PARSE);
  static const uint8_t unknown[] = {0x2a, 0x00}; /* field 5, empty */
  assert_int_equal(lp2p_autonat_msg_parse(&m, unknown, sizeof unknown),
                   LP2P_ERR_PARSE);
  /* dialRequest as a varint: wrong wire type */
  static const uint8_t wire[] = {0x08, 0x01};
  assert_int_equal(lp2p_autonat_msg_parse(&m, wire, sizeof wire),
                   LP2P_ERR_PARSE);
  /* nonce as a varint inside DialRequest */
  static const uint8_t nonce[] = {0x0a, 0x02, 0x10, 0x05};
  assert_int_equal(lp2p_autonat_msg_parse(&m, nonce, sizeof nonce),
                   LP2P_ERR_PARSE);
  /* length past the end */
  static const uint8_t trunc[] = {0x0a, 0x05, 0x10};
  assert_int_equal(lp2p_autonat_msg_parse(&m, trunc, sizeof trunc),
                   LP2P_ERR_PARSE);
  /* framing: incomplete, oversized, bad varint */
  static const uint8_t part[] = {0x05, 0x01, 0x02};
  assert_int_equal(lp2p_autonat_frame(part, sizeof part, 64, NULL, NULL), 0);
  static const uint8_t big[] = {0x80, 0x80, 0x01};
  assert_int_equal(lp2p_autonat_frame(big, sizeof big, 8192, NULL, NULL),
                   LP2P_ERR_LIMIT);
  static const uint8_t nonmin[] = {0x80, 0x00};
  assert_int_equal(lp2p_autonat_frame(nonmin, sizeof nonmin, 64, NULL, NULL),
                   LP2P_ERR_PARSE);
  /* more addresses than we keep: the rest are counted, not kept */
  uint8_t buf[2048];
  size_t n = 0;
  buf[n++] = 0x0a;
  size_t len_at = n++;
  for (int i = 0; i < 20; i++) {
    buf[n++] = 0x0a;
    buf[n++] = 0x00;
  }
  buf[len_at] = (uint8_t)(n - len_at - 1);
  assert_int_equal(lp2p_autonat_msg_parse(&m, buf, n), 0);
  assert_int_equal(m.naddrs, LP2P_AUTONAT_ADDRS_MAX);
  assert_int_equal(m.naddrs_seen, 20);
}

/* ---- engines shuttled into each other --------------------------------------
 */

static const uint8_t IP_A[16] = {1, 2, 3, 4};
static const uint8_t IP_B[16] = {5, 6, 7, 8};

/* Move bytes both ways until neither side has output; returns the bytes
 * the client sent. */
static size_t shuttle(lp2p_autonat_creq *c, lp2p_autonat_sreq *s) {
  size_t sent = 0;
  for (int round = 0; round < 100000; round++) {
    size_t n1 = 0, n2 = 0;
    const uint8_t *p = lp2p_autonat_creq_out_peek(c, &n1);
    if (p && n1) {
      /* partial consumes, to cross frame boundaries */
      size_t k = n1 > 1000 ? 1000 : n1;
      lp2p_autonat_sreq_feed(s, 0, p, k);
      lp2p_autonat_creq_out_consume(c, k);
      sent += k;
    }
    p = lp2p_autonat_sreq_out_peek(s, &n2);
    if (p && n2) {
      lp2p_autonat_creq_feed(c, p, n2);
      lp2p_autonat_sreq_out_consume(s, n2);
    }
    if (!n1 && !n2)
      break;
  }
  return sent;
}

static lp2p_autonat_server_config scfg(void) {
  lp2p_autonat_server_config c;
  lp2p_autonat_server_config_default(&c);
  return c;
}

static void test_pair_same_ip(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/4001");
  static lp2p_autonat_creq c;
  static lp2p_autonat_sreq s;
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 99, 100000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 0, 12345);
  size_t sent = shuttle(&c, &s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DIAL);
  assert_true(sent < 100); /* no dial data: same IP */
  assert_true(lp2p_maddr_equal(&s.addr, &a));
  assert_int_equal(s.nonce, 99);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_SENDING);
  lp2p_autonat_sreq_dial_result(&s, LP2P_AUTONAT_DIAL_OK);
  shuttle(&c, &s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DONE);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_DONE);
  assert_int_equal(c.status, LP2P_AUTONAT_RESP_OK);
  assert_int_equal(c.dial_status, LP2P_AUTONAT_DIAL_OK);
  assert_int_equal(c.addr_idx, 0);
}

static void test_pair_amplification_guard(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_autonat_limiter *lim;
  assert_int_equal(lp2p_autonat_limiter_new(&lim, &cfg, NULL), 0);
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/4001");
  static lp2p_autonat_creq c;
  static lp2p_autonat_sreq s;
  for (uint64_t rnd = 0; rnd < 3; rnd++) {
    assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 7, 100000), 0);
    /* the request came from IP_B: dialing IP_A costs dial data */
    lp2p_autonat_sreq_init(&s, &cfg, lim, 4, IP_B, 0,
                           rnd * 0x9e3779b97f4a7c15u);
    assert_true(s.data_need >= 30000 && s.data_need <= 100000);
    size_t sent = shuttle(&c, &s);
    assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DIAL);
    assert_true(s.data_got >= s.data_need);
    assert_true(sent >= s.data_need);
    /* the client sends what was asked, not more than a frame beyond it */
    assert_true(c.data_left == 0);
    lp2p_autonat_sreq_dial_result(&s, LP2P_AUTONAT_DIAL_ERROR);
    shuttle(&c, &s);
    assert_int_equal(c.state, LP2P_AUTONAT_CREQ_DONE);
    assert_int_equal(c.dial_status, LP2P_AUTONAT_DIAL_ERROR);
  }
  lp2p_autonat_limiter_free(lim);
}

static void test_pair_dial_data_over_budget(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/4001");
  static lp2p_autonat_creq c;
  static lp2p_autonat_sreq s;
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 7, 20000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_B, 0, 0);
  shuttle(&c, &s);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_FAILED);
  assert_int_equal(c.err, LP2P_ERR_LIMIT);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_READ_DATA);
  assert_int_equal(s.data_got, 0);
}

static void test_pair_private_refused(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_maddr a[3] = {ma("/ip4/10.0.0.1/tcp/1"), ma("/ip4/127.0.0.1/tcp/2"),
                     ma("/ip4/192.168.1.1/tcp/3")};
  static lp2p_autonat_creq c;
  static lp2p_autonat_sreq s;
  const uint8_t ip10[16] = {10, 0, 0, 1};
  assert_int_equal(lp2p_autonat_creq_init(&c, a, 3, 1, 100000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, ip10, 0, 0);
  shuttle(&c, &s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DONE);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_DONE);
  assert_int_equal(c.status, LP2P_AUTONAT_RESP_DIAL_REFUSED);
  /* a public address later in the list is the one chosen */
  lp2p_maddr b[3] = {ma("/ip4/10.0.0.1/tcp/1"), ma("/ip4/1.2.3.4/udp/5"),
                     ma("/ip4/1.2.3.4/tcp/5")};
  assert_int_equal(lp2p_autonat_creq_init(&c, b, 3, 1, 100000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 0, 0);
  shuttle(&c, &s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DIAL);
  assert_int_equal(s.addr_idx, 2); /* not 0 (private), not 1 (udp) */
  /* allowed when configured (the lab) */
  cfg.allow_private = 1;
  assert_int_equal(lp2p_autonat_creq_init(&c, a, 3, 1, 100000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, ip10, 0, 0);
  shuttle(&c, &s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_DIAL);
  assert_int_equal(s.addr_idx, 0);
}

static void test_pair_rejected_and_malformed(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/4001");
  static lp2p_autonat_creq c;
  static lp2p_autonat_sreq s;
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 1, 100000), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 1 /* rejected */, 0);
  shuttle(&c, &s);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_DONE);
  assert_int_equal(c.status, LP2P_AUTONAT_RESP_REQUEST_REJECTED);
  /* a request without addresses */
  uint8_t buf[64];
  size_t n;
  lp2p_autonat_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_REQUEST;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 0, 0);
  lp2p_autonat_sreq_feed(&s, 0, buf, n);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_FAILED);
  /* a response where a request belongs */
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_RESPONSE;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 0, 0);
  lp2p_autonat_sreq_feed(&s, 0, buf, n);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_FAILED);
  /* EOF before the request */
  lp2p_autonat_sreq_init(&s, &cfg, NULL, 4, IP_A, 0, 0);
  lp2p_autonat_sreq_feed_eof(&s);
  assert_int_equal(s.state, LP2P_AUTONAT_SREQ_FAILED);
  assert_int_equal(s.err, LP2P_ERR_EOF);
  /* client: a second DialDataRequest, an index out of range, a request */
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 1, 100000), 0);
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST;
  m.addr_idx = 1;
  m.num_bytes = 10;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  lp2p_autonat_creq_feed(&c, buf, n);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_FAILED);
  assert_int_equal(c.err, LP2P_ERR_PROTO);
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 1, 100000), 0);
  m.addr_idx = 0;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  lp2p_autonat_creq_feed(&c, buf, n);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_SENDING);
  lp2p_autonat_creq_feed(&c, buf, n);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_FAILED);
  /* an OK response naming an address we did not send */
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 1, 100000), 0);
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_RESPONSE;
  m.status = LP2P_AUTONAT_RESP_OK;
  m.addr_idx = 4;
  assert_int_equal(lp2p_autonat_msg_encode(&m, buf, sizeof buf, &n), 0);
  lp2p_autonat_creq_feed(&c, buf, n);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_FAILED);
  /* EOF without a response */
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 1, 1, 100000), 0);
  lp2p_autonat_creq_feed_eof(&c);
  assert_int_equal(c.state, LP2P_AUTONAT_CREQ_FAILED);
  assert_int_equal(c.err, LP2P_ERR_EOF);
  /* init refuses nonsense */
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 0, 1, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_autonat_creq_init(&c, &a, 17, 1, 1), LP2P_ERR_INVAL);
}

/* ---- rate limits
 * -------------------------------------------------------------- */

#define S LP2P_NS_PER_S

static void test_limiter(void **state) {
  (void)state;
  lp2p_autonat_server_config cfg = scfg();
  lp2p_autonat_limiter *l;
  assert_int_equal(lp2p_autonat_limiter_new(&l, &cfg, NULL), 0);
  /* concurrency per peer: 2 */
  assert_int_equal(lp2p_autonat_limiter_accept(l, 1, 0), 1);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 1, 0), 1);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 1, 0), 0);
  lp2p_autonat_limiter_done(l, 1);
  lp2p_autonat_limiter_done(l, 1);
  /* 12 per peer per minute */
  int ok = 2;
  for (int i = 0; i < 20; i++) {
    if (lp2p_autonat_limiter_accept(l, 1, (lp2p_tstamp)i * S)) {
      ok++;
      lp2p_autonat_limiter_done(l, 1);
    }
  }
  assert_int_equal(ok, 12);
  /* the window slides: a minute after the first ones, room again */
  assert_int_equal(lp2p_autonat_limiter_accept(l, 1, 61 * S), 1);
  lp2p_autonat_limiter_done(l, 1);
  /* 60 per minute overall */
  ok = 0;
  for (uint64_t p = 100; p < 200; p++)
    if (lp2p_autonat_limiter_accept(l, p, 70 * S)) {
      ok++;
      lp2p_autonat_limiter_done(l, p);
    }
  assert_true(ok <= 60 && ok >= 47);
  assert_int_equal(lp2p_autonat_limiter_in_flight(l), 0);
  /* dial data: 12 per minute */
  ok = 0;
  for (int i = 0; i < 20; i++)
    ok += lp2p_autonat_limiter_dial_data(l, 200 * S);
  assert_int_equal(ok, 12);
  assert_int_equal(lp2p_autonat_limiter_dial_data(l, 261 * S), 1);
  lp2p_autonat_limiter_free(l);

  /* a full peer table refuses newcomers while every tracked peer is
   * active, and recycles an idle one */
  cfg.peers_max = 2;
  assert_int_equal(lp2p_autonat_limiter_new(&l, &cfg, NULL), 0);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 1, 0), 1);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 2, 0), 1);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 3, 0), 0);
  lp2p_autonat_limiter_done(l, 2);
  assert_int_equal(lp2p_autonat_limiter_accept(l, 3, 30 * S), 0); /* window */
  assert_int_equal(lp2p_autonat_limiter_accept(l, 3, 61 * S), 1);
  lp2p_autonat_limiter_free(l);
}

/* ---- the verdict book
 * ---------------------------------------------------------- */

/* lp2p_autonat_book_recheck: an address with a verdict is asked again at
 * once (a port mapping made again after a router reboot); its verdict
 * stands until the new round decides. */
static void test_book_recheck(void **state) {
  (void)state;
  lp2p_autonat_client_config cfg;
  lp2p_autonat_client_config_default(&cfg);
  lp2p_autonat_book *b;
  assert_int_equal(lp2p_autonat_book_new(&b, &cfg, NULL), 0);
  lp2p_maddr m = ma("/ip4/1.2.3.4/tcp/4001"), got;
  /* unknown: nothing to do */
  assert_int_equal(lp2p_autonat_book_recheck(b, &m, 0), 0);
  assert_int_equal(lp2p_autonat_book_add(b, &m, 1, 0), 0);
  /* new: due anyway */
  assert_int_equal(lp2p_autonat_book_recheck(b, &m, 0), 0);
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 0, &got), 1);
  assert_int_equal(
      lp2p_autonat_book_result(b, &m, 100, LP2P_AUTONAT_REACHABLE, 1), 1);
  /* between rounds: not asked until recheck_reachable_ns ... */
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 5, &got), 0);
  /* ... unless rechecked: the same server may answer in the new round */
  assert_int_equal(lp2p_autonat_book_recheck(b, &m, 5), 1);
  assert_int_equal(lp2p_autonat_book_recheck(b, &m, 5), 0);
  assert_int_equal(lp2p_autonat_book_verdict(b, &m, NULL, NULL),
                   LP2P_AUTONAT_REACHABLE);
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 5, &got), 1);
  assert_true(lp2p_maddr_equal(&got, &m));
  /* in a round now: no second recheck */
  assert_int_equal(lp2p_autonat_book_recheck(b, &m, 6), 0);
  /* the round ends with the verdict it had: 2 (confirmed, not changed) */
  assert_int_equal(
      lp2p_autonat_book_result(b, &m, 100, LP2P_AUTONAT_REACHABLE, 7), 2);
  lp2p_autonat_book_free(b);
}

static void test_book_rule(void **state) {
  (void)state;
  lp2p_autonat_client_config cfg;
  lp2p_autonat_client_config_default(&cfg);
  lp2p_autonat_book *b;
  assert_int_equal(lp2p_autonat_book_new(&b, &cfg, NULL), 0);
  lp2p_maddr l = ma("/ip4/1.2.3.4/tcp/1"), o = ma("/ip4/1.2.3.4/tcp/2");
  assert_int_equal(lp2p_autonat_book_add(b, &o, 0, 0), 0);
  assert_int_equal(lp2p_autonat_book_add(b, &l, 1, 0), 0);
  assert_int_equal(lp2p_autonat_book_overall(b), LP2P_REACHABILITY_UNKNOWN);
  lp2p_maddr got;
  /* listen addresses first */
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 0, &got), 1);
  assert_true(lp2p_maddr_equal(&got, &l));
  /* in flight: the same server gets the other one; a second server too
   * waits for the listen address's answer */
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 0, &got), 1);
  assert_true(lp2p_maddr_equal(&got, &o));
  assert_int_equal(lp2p_autonat_book_pick(b, 101, 0, &got), 0);
  /* one verified dial-back confirms a listen address */
  assert_int_equal(
      lp2p_autonat_book_result(b, &l, 100, LP2P_AUTONAT_REACHABLE, 1), 1);
  assert_int_equal(lp2p_autonat_book_verdict(b, &l, NULL, NULL),
                   LP2P_AUTONAT_REACHABLE);
  assert_int_equal(lp2p_autonat_book_overall(b), LP2P_REACHABILITY_PUBLIC);
  /* an observed address needs 3 distinct servers */
  assert_int_equal(
      lp2p_autonat_book_result(b, &o, 100, LP2P_AUTONAT_REACHABLE, 1), 0);
  /* the same server again counts for nothing */
  assert_int_equal(lp2p_autonat_book_pick(b, 100, 1, &got), 0);
  assert_int_equal(
      lp2p_autonat_book_result(b, &o, 100, LP2P_AUTONAT_REACHABLE, 1), 0);
  uint32_t su = 0, fa = 0;
  lp2p_autonat_book_verdict(b, &o, &su, &fa);
  assert_int_equal(su, 1);
  assert_int_equal(lp2p_autonat_book_pick(b, 101, 1, &got), 1);
  assert_int_equal(
      lp2p_autonat_book_result(b, &o, 101, LP2P_AUTONAT_UNKNOWN, 1), 0);
  assert_int_equal(lp2p_autonat_book_pick(b, 102, 1, &got), 1);
  assert_int_equal(
      lp2p_autonat_book_result(b, &o, 102, LP2P_AUTONAT_REACHABLE, 1), 0);
  assert_int_equal(lp2p_autonat_book_pick(b, 103, 1, &got), 1);
  assert_int_equal(
      lp2p_autonat_book_result(b, &o, 103, LP2P_AUTONAT_REACHABLE, 1), 1);
  assert_int_equal(lp2p_autonat_book_verdict(b, &o, NULL, NULL),
                   LP2P_AUTONAT_REACHABLE);
  /* verdicts hold until the recheck time; then a new round */
  assert_int_equal(lp2p_autonat_book_pick(b, 200, 2, &got), 0);
  lp2p_tstamp due = lp2p_autonat_book_next_due(b);
  assert_true(due == 1 + cfg.recheck_reachable_ns);
  assert_int_equal(lp2p_autonat_book_pick(b, 200, due, &got), 1);
  /* the new round: 3 failures from distinct servers refute it */
  lp2p_maddr first = got;
  for (uint64_t s = 300; s < 303; s++) {
    int changed =
        lp2p_autonat_book_result(b, &first, s, LP2P_AUTONAT_UNREACHABLE, due);
    assert_int_equal(changed, s == 302);
  }
  assert_int_equal(lp2p_autonat_book_verdict(b, &first, NULL, NULL),
                   LP2P_AUTONAT_UNREACHABLE);
  lp2p_autonat_book_free(b);
}

static void test_book_overall_private_and_sweep(void **state) {
  (void)state;
  lp2p_autonat_client_config cfg;
  lp2p_autonat_client_config_default(&cfg);
  cfg.addrs_max = 2;
  lp2p_autonat_book *b;
  assert_int_equal(lp2p_autonat_book_new(&b, &cfg, NULL), 0);
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/1"), c = ma("/ip4/1.2.3.4/tcp/3");
  assert_int_equal(lp2p_autonat_book_add(b, &a, 1, 0), 0);
  assert_int_equal(lp2p_autonat_book_add(b, &c, 0, 0), 0);
  lp2p_maddr d = ma("/ip4/1.2.3.4/tcp/4");
  assert_int_equal(lp2p_autonat_book_add(b, &d, 0, 0), LP2P_ERR_LIMIT);
  /* three failures from distinct servers (after a success they would
   * have to outnumber it) */
  assert_int_equal(
      lp2p_autonat_book_result(b, &a, 1, LP2P_AUTONAT_REACHABLE, 0), 1);
  assert_int_equal(lp2p_autonat_book_overall(b), LP2P_REACHABILITY_PUBLIC);
  /* a later round (after the recheck) */
  lp2p_tstamp t = cfg.recheck_reachable_ns;
  lp2p_autonat_book_result(b, &a, 1, LP2P_AUTONAT_UNREACHABLE, t);
  assert_int_equal(lp2p_autonat_book_verdict(b, &a, NULL, NULL),
                   LP2P_AUTONAT_REACHABLE); /* stands meanwhile */
  lp2p_autonat_book_result(b, &a, 2, LP2P_AUTONAT_UNREACHABLE, t);
  assert_int_equal(
      lp2p_autonat_book_result(b, &a, 3, LP2P_AUTONAT_UNREACHABLE, t), 1);
  assert_int_equal(lp2p_autonat_book_overall(b), LP2P_REACHABILITY_PRIVATE);
  /* a result for an unknown address is ignored */
  assert_int_equal(
      lp2p_autonat_book_result(b, &d, 1, LP2P_AUTONAT_REACHABLE, 0), 0);
  /* re-adding only `c` drops `a` */
  lp2p_autonat_book_mark(b);
  lp2p_autonat_book_add(b, &c, 0, 0);
  assert_int_equal(lp2p_autonat_book_sweep(b), 1);
  assert_int_equal(lp2p_autonat_book_count(b), 1);
  assert_int_equal(lp2p_autonat_book_overall(b), LP2P_REACHABILITY_UNKNOWN);
  /* a lost request frees the address again after the request timeout */
  lp2p_maddr got;
  assert_int_equal(lp2p_autonat_book_pick(b, 9, t, &got), 1);
  assert_int_equal(lp2p_autonat_book_pick(b, 8, t + 1, &got), 0);
  assert_int_equal(
      lp2p_autonat_book_pick(b, 8, t + cfg.request_timeout_ns + 1, &got), 1);
  lp2p_autonat_book_free(b);
}

/* ---- is public
 * ------------------------------------------------------------------ */

static int pub(const char *s) {
  lp2p_maddr m = ma(s);
  int fam;
  uint8_t ip[16];
  assert_int_equal(lp2p_autonat_maddr_ip(&m, &fam, ip), 0);
  return lp2p_autonat_ip_is_public(NULL, fam, ip);
}

static void test_is_public(void **state) {
  (void)state;
  assert_true(pub("/ip4/1.2.3.4/tcp/1"));
  assert_true(pub("/ip4/8.8.8.8/tcp/1"));
  assert_false(pub("/ip4/10.1.2.3/tcp/1"));
  assert_false(pub("/ip4/127.0.0.1/tcp/1"));
  assert_false(pub("/ip4/172.16.0.1/tcp/1"));
  assert_true(pub("/ip4/172.32.0.1/tcp/1"));
  assert_false(pub("/ip4/192.168.0.1/tcp/1"));
  assert_false(pub("/ip4/100.64.0.1/tcp/1"));
  assert_false(pub("/ip4/198.18.0.1/tcp/1"));
  assert_false(pub("/ip4/169.254.1.1/tcp/1"));
  assert_false(pub("/ip4/224.0.0.1/tcp/1"));
  /* range edges */
  assert_false(pub("/ip4/0.255.255.255/tcp/1"));
  assert_true(pub("/ip4/1.0.0.0/tcp/1"));
  assert_false(pub("/ip4/198.19.255.255/tcp/1"));
  assert_true(pub("/ip4/198.20.0.0/tcp/1"));
  assert_true(pub("/ip4/198.17.255.255/tcp/1"));
  assert_false(pub("/ip4/100.127.255.255/tcp/1"));
  assert_true(pub("/ip4/100.128.0.0/tcp/1"));
  assert_true(pub("/ip4/192.0.1.1/tcp/1"));
  assert_false(pub("/ip4/192.0.2.255/tcp/1"));
  assert_false(pub("/ip4/255.255.255.255/tcp/1"));
  assert_true(pub("/ip4/223.255.255.255/tcp/1"));
  assert_true(pub("/ip6/2001:4860::1/tcp/1"));
  assert_false(pub("/ip6/::1/tcp/1"));
  assert_false(pub("/ip6/fe80::1/tcp/1"));
  assert_false(pub("/ip6/fd00::1/tcp/1"));
  assert_false(pub("/ip6/2001:db8::1/tcp/1"));
  assert_false(pub("/ip6/::ffff:10.0.0.1/tcp/1"));
  assert_true(pub("/ip6/::ffff:1.2.3.4/tcp/1"));
  lp2p_autonat_cidrs c;
  assert_int_equal(lp2p_autonat_cidrs_parse(&c, "198.18.0.0/15, 127.0.0.0/8"),
                   0);
  assert_int_equal(c.n, 2);
  uint8_t ip[16] = {198, 19, 255, 1};
  assert_true(lp2p_autonat_cidrs_public(&c, 4, ip));
  uint8_t ip2[16] = {10, 0, 0, 1};
  assert_false(lp2p_autonat_cidrs_public(&c, 4, ip2));
  uint8_t lo[16] = {127, 0, 0, 1};
  assert_true(lp2p_autonat_cidrs_public(&c, 4, lo));
  assert_int_equal(lp2p_autonat_cidrs_parse(&c, "fd00::/8"), 0);
  assert_int_equal(lp2p_autonat_cidrs_parse(&c, "1.2.3.4"), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_autonat_cidrs_parse(&c, "1.2.3.4/33"), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_autonat_cidrs_parse(&c, "x/8"), LP2P_ERR_PARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec_roundtrip),
      cmocka_unit_test(test_codec_malformed),
      cmocka_unit_test(test_pair_same_ip),
      cmocka_unit_test(test_pair_amplification_guard),
      cmocka_unit_test(test_pair_dial_data_over_budget),
      cmocka_unit_test(test_pair_private_refused),
      cmocka_unit_test(test_pair_rejected_and_malformed),
      cmocka_unit_test(test_limiter),
      cmocka_unit_test(test_book_rule),
      cmocka_unit_test(test_book_recheck),
      cmocka_unit_test(test_book_overall_private_and_sweep),
      cmocka_unit_test(test_is_public),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
