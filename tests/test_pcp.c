/* PCP (RFC 6887): the MAP request and response byte for byte from the
 * layouts of sections 7.1, 7.2, 11.1; the engine: nonce matching (11.3),
 * retransmission timing (8.1.1), epoch checks (8.5), the NAT-PMP fallback
 * signal (9), options framing (7.3), hostile datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/pcp.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

static const lp2p_sockaddr server = {4, {10, 0, 1, 1}, 0};
static const lp2p_sockaddr client = {4, {10, 0, 1, 2}, 0};
static const uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* MAP TCP 4001, no suggestion, 7200 s, from 10.0.1.2, nonce 1..12 */
static const uint8_t map_req[60] = {
    2, 1, 0, 0, 0, 0, 0x1c, 0x20,                                   /* v2 MAP, lifetime */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 1, 2,          /* client ::ffff:10.0.1.2 */
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,                          /* nonce */
    6, 0, 0, 0, 0x0f, 0xa1, 0, 0,                                   /* TCP, internal, suggested */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};          /* ::ffff:0.0.0.0 */

/* a response to map_req[]'s layout: result, lifetime, epoch, ext port/IP */
static size_t resp(uint8_t *b, const uint8_t *req, uint8_t result, uint32_t life, uint32_t epoch,
                   uint16_t ext_port, const uint8_t ext_ip4[4]) {
  memset(b, 0, 60);
  b[0] = 2;
  b[1] = 0x81;
  b[3] = result;
  b[4] = (uint8_t)(life >> 24), b[5] = (uint8_t)(life >> 16), b[6] = (uint8_t)(life >> 8), b[7] = (uint8_t)life;
  b[8] = (uint8_t)(epoch >> 24), b[9] = (uint8_t)(epoch >> 16), b[10] = (uint8_t)(epoch >> 8), b[11] = (uint8_t)epoch;
  memcpy(b + 24, req + 24, 18); /* nonce, protocol, reserved, internal port */
  b[42] = (uint8_t)(ext_port >> 8), b[43] = (uint8_t)ext_port;
  b[54] = b[55] = 0xff;
  memcpy(b + 56, ext_ip4, 4);
  return 60;
}

static const uint8_t ext_ip[4] = {198, 18, 0, 11};

static void test_codec(void **s) {
  (void)s;
  lp2p_pcp_map_req q;
  memset(&q, 0, sizeof q);
  q.lifetime_s = 7200;
  const uint8_t c16[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 1, 2};
  memcpy(q.client_ip, c16, 16);
  memcpy(q.nonce, nonce, 12);
  q.protocol = LP2P_PCP_PROTO_TCP;
  q.internal_port = 4001;
  q.suggested_ip[10] = q.suggested_ip[11] = 0xff;
  uint8_t b[64];
  size_t n;
  assert_int_equal(lp2p_pcp_map_encode(&q, b, sizeof b, &n), 0);
  assert_int_equal(n, 60);
  assert_memory_equal(b, map_req, 60);
  assert_int_equal(lp2p_pcp_map_encode(&q, b, 59, &n), LP2P_ERR_NOSPACE);

  lp2p_pcp_resp r;
  assert_int_equal(resp(b, map_req, 0, 7200, 1000, 40001, ext_ip), 60);
  assert_int_equal(lp2p_pcp_resp_parse(b, 60, &r), 0);
  assert_int_equal(r.version, 2);
  assert_int_equal(r.opcode, LP2P_PCP_OP_MAP);
  assert_int_equal(r.result, 0);
  assert_int_equal(r.lifetime_s, 7200);
  assert_int_equal(r.epoch, 1000);
  assert_true(r.has_map);
  assert_memory_equal(r.nonce, nonce, 12);
  assert_int_equal(r.protocol, 6);
  assert_int_equal(r.internal_port, 4001);
  assert_int_equal(r.external_port, 40001);
  assert_memory_equal(r.external_ip + 12, ext_ip, 4);
  /* a well-framed option after the payload (7.3), and a bad one */
  uint8_t o[72];
  memcpy(o, b, 60);
  const uint8_t opt[] = {1, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0}; /* 5 bytes, padded to 8 */
  memcpy(o + 60, opt, sizeof opt);
  assert_int_equal(lp2p_pcp_resp_parse(o, 72, &r), 0);
  o[63] = 9; /* claims 9 bytes, 12 padded: past the end */
  assert_int_equal(lp2p_pcp_resp_parse(o, 72, &r), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_pcp_resp_parse(o, 64, &r), LP2P_ERR_PARSE);
  /* a short error answer (header only) */
  b[3] = LP2P_PCP_NOT_AUTHORIZED;
  assert_int_equal(lp2p_pcp_resp_parse(b, 24, &r), 0);
  assert_int_equal(r.result, 2);
  assert_false(r.has_map);
  b[3] = 0;
  assert_int_equal(lp2p_pcp_resp_parse(b, 24, &r), LP2P_ERR_TRUNCATED);
  /* a NAT-PMP server's answer to our version 2 (RFC 6887 9) */
  const uint8_t pmp[] = {0, 129, 0, 1, 0, 0, 0x03, 0xe8};
  assert_int_equal(lp2p_pcp_resp_parse(pmp, sizeof pmp, &r), 0);
  assert_int_equal(r.version, 0);
  assert_int_equal(r.result, LP2P_PCP_UNSUPP_VERSION);
  assert_int_equal(r.epoch, 1000);
  /* a version 1 server: UNSUPP_VERSION with its version */
  uint8_t v1[24] = {1, 0x81, 0, 1};
  assert_int_equal(lp2p_pcp_resp_parse(v1, 24, &r), 0);
  assert_int_equal(r.version, 1);
  v1[3] = 0;
  assert_int_equal(lp2p_pcp_resp_parse(v1, 24, &r), LP2P_ERR_UNSUPPORTED);
  /* 8.3: dropped when not a multiple of 4, too long, or a request */
  assert_int_equal(lp2p_pcp_resp_parse(b, 59, &r), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_pcp_resp_parse(map_req, 60, &r), LP2P_ERR_PARSE);
  static uint8_t big[1104];
  memcpy(big, b, 60);
  assert_int_equal(lp2p_pcp_resp_parse(big, 1104, &r), LP2P_ERR_PARSE);
  for (size_t i = 0; i < 60; i++)
    assert_int_not_equal(lp2p_pcp_resp_parse(o, i, &r) == 0 && i % 4 != 0, 1);
}

static lp2p_pcp *mk(lp2p_rng_chacha *st, lp2p_rng *rng, const lp2p_pcp_config *cfg) {
  lp2p_rng_chacha_init(st, 42, 0, rng);
  lp2p_pcp *c;
  assert_int_equal(lp2p_pcp_new(&c, cfg, NULL, rng, &server, &client), 0);
  return c;
}

static size_t take(lp2p_pcp *c, uint8_t *out) {
  lp2p_sockaddr to;
  size_t n;
  const uint8_t *p = lp2p_pcp_out_peek(c, &to, &n);
  if (!p)
    return 0;
  assert_int_equal(to.family, 4);
  assert_memory_equal(to.ip, server.ip, 4);
  assert_int_equal(to.port, 5351);
  memcpy(out, p, n);
  lp2p_pcp_out_consume(c);
  return n;
}

static const lp2p_sockaddr from = {4, {10, 0, 1, 1}, 5351};

static void test_map(void **s) {
  (void)s;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_pcp *c = mk(&st, &rng, NULL);
  uint8_t req[64], b[64];
  lp2p_pcp_event ev;
  /* a given nonce goes out as is: the request is byte for byte map_req */
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, LP2P_PCP_PROTO_TCP, 4001, NULL, 7200, nonce), 0);
  assert_int_equal(take(c, req), 60);
  assert_memory_equal(req, map_req, 60);
  /* a fresh nonce from the rng for the UDP one, suggesting 4001 */
  lp2p_sockaddr sug = {0, {0}, 4001}; /* a port, no address */
  assert_int_equal(lp2p_pcp_request_map(c, 0, 2, LP2P_PCP_PROTO_UDP, 4001, &sug, 7200, NULL), 0);
  uint8_t req2[64];
  assert_int_equal(take(c, req2), 60);
  assert_memory_not_equal(req2 + 24, nonce, 12);
  assert_int_equal(req2[36], 17);
  assert_int_equal(req2[42] << 8 | req2[43], 4001);
  assert_memory_equal(req2 + 44, map_req + 44, 16); /* ::ffff:0.0.0.0 */
  assert_int_equal(lp2p_pcp_request_map(c, 0, 3, LP2P_PCP_PROTO_UDP, 4001, NULL, 7200, NULL), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_pcp_request_map(c, 0, 2, LP2P_PCP_PROTO_UDP, 4002, NULL, 7200, NULL), LP2P_ERR_INVAL);
  /* an answer with another nonce, another port, from elsewhere: ignored */
  resp(b, req2, 0, 7200, 1000, 40002, ext_ip);
  b[24] ^= 1;
  lp2p_pcp_feed(c, 10 * MS, &from, b, 60);
  resp(b, req2, 0, 7200, 1000, 40002, ext_ip);
  b[41] ^= 1;
  lp2p_pcp_feed(c, 10 * MS, &from, b, 60);
  resp(b, req2, 0, 7200, 1000, 40002, ext_ip);
  lp2p_sockaddr other = from;
  other.port = 5350;
  lp2p_pcp_feed(c, 10 * MS, &other, b, 60);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  lp2p_pcp_feed(c, 10 * MS, &from, b, 60);
  resp(b, req, LP2P_PCP_NO_RESOURCES, 30, 1000, 0, ext_ip);
  lp2p_pcp_feed(c, 10 * MS, &from, b, 60);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_MAPPED);
  assert_int_equal(ev.tag, 2);
  assert_int_equal(ev.protocol, 17);
  assert_int_equal(ev.external_port, 40002);
  assert_memory_equal(ev.external_ip + 12, ext_ip, 4);
  assert_int_equal(ev.lifetime_s, 7200);
  assert_memory_equal(ev.nonce, req2 + 24, 12);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_FAILED);
  assert_int_equal(ev.tag, 1);
  assert_int_equal(ev.err, LP2P_ERR_REFUSED);
  assert_int_equal(ev.result, LP2P_PCP_NO_RESOURCES);
  assert_int_equal(ev.lifetime_s, 30);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  lp2p_pcp_stats stats;
  lp2p_pcp_stats_get(c, &stats);
  assert_int_equal(stats.ignored, 3);
  assert_int_equal(stats.sent, 2);
  /* renewal with the granted nonce, then delete (lifetime 0) */
  uint8_t kept[12];
  memcpy(kept, req2 + 24, 12);
  assert_int_equal(lp2p_pcp_request_map(c, SEC, 4, LP2P_PCP_PROTO_UDP, 4001, NULL, 0, kept), 0);
  assert_int_equal(take(c, req), 60);
  assert_memory_equal(req + 24, kept, 12);
  assert_int_equal(req[4] | req[5] | req[6] | req[7], 0);
  resp(b, req, 0, 0, 1001, 0, ext_ip);
  lp2p_pcp_feed(c, SEC, &from, b, 60);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_MAPPED);
  assert_int_equal(ev.lifetime_s, 0);
  lp2p_pcp_free(c);
}

static void test_retransmit(void **s) {
  (void)s;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_pcp_config cfg;
  lp2p_pcp_config_default(&cfg);
  lp2p_pcp *c = mk(&st, &rng, &cfg);
  uint8_t b[64];
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, 6, 4001, NULL, 7200, NULL), 0);
  assert_int_equal(take(c, b), 60);
  /* RT = (1 + RAND) * IRT, then (1 + RAND) * MIN(2 RTprev, MRT), RAND in
   * [-0.1, 0.1]; no MRC by default: it goes on at about MRT */
  lp2p_tstamp t = 0;
  uint64_t prev = 0;
  int distinct = 0;
  for (int i = 0; i < 16; i++) {
    lp2p_tstamp d = lp2p_pcp_next_timeout(c);
    uint64_t rt = d - t;
    uint64_t base = i == 0 ? 3 * SEC : (2 * prev < 1024 * SEC ? 2 * prev : 1024 * SEC);
    assert_true(rt >= base / 10 * 9 && rt <= base / 10 * 11);
    if (rt != base)
      distinct++;
    lp2p_pcp_handle_timeout(c, d - 1);
    assert_int_equal(take(c, b), 0);
    lp2p_pcp_handle_timeout(c, d);
    assert_int_equal(take(c, b), 60);
    prev = rt;
    t = d;
  }
  assert_true(distinct > 8); /* the jitter is there */
  assert_true(prev >= 1024 * SEC / 10 * 9 && prev <= 1024 * SEC / 10 * 11);
  lp2p_pcp_event ev;
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  lp2p_pcp_free(c);
  /* MRC 3: three sends, then TIMEOUT after the third wait */
  cfg.mrc = 3;
  c = mk(&st, &rng, &cfg);
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, 6, 4001, NULL, 7200, NULL), 0);
  int sends = 0;
  for (int i = 0; i < 10 && lp2p_pcp_next_timeout(c) != LP2P_TSTAMP_NONE; i++) {
    sends += take(c, b) == 60;
    lp2p_pcp_handle_timeout(c, lp2p_pcp_next_timeout(c));
  }
  assert_int_equal(sends, 3);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_FAILED);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  lp2p_pcp_free(c);
  /* MRD 10 s: gives up exactly 10 s after the first send */
  cfg.mrc = 0;
  cfg.mrd_ns = 10 * SEC;
  c = mk(&st, &rng, &cfg);
  assert_int_equal(lp2p_pcp_request_map(c, 5 * SEC, 1, 6, 4001, NULL, 7200, NULL), 0);
  lp2p_tstamp last = 0;
  while (lp2p_pcp_next_timeout(c) != LP2P_TSTAMP_NONE) {
    take(c, b);
    last = lp2p_pcp_next_timeout(c);
    lp2p_pcp_handle_timeout(c, last);
  }
  assert_int_equal(last, 15 * SEC);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  lp2p_pcp_free(c);
  cfg.mrt_ns = SEC; /* below IRT */
  assert_int_equal(lp2p_pcp_new(&c, &cfg, NULL, &rng, &server, &client), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_pcp_new(&c, NULL, NULL, NULL, &server, &client), LP2P_ERR_INVAL);
}

static void test_fallback(void **s) {
  (void)s;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_pcp *c = mk(&st, &rng, NULL);
  uint8_t b[64];
  lp2p_pcp_event ev;
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, 6, 4001, NULL, 7200, NULL), 0);
  assert_int_equal(lp2p_pcp_request_map(c, 0, 2, 17, 4001, NULL, 7200, NULL), 0);
  take(c, b);
  take(c, b);
  /* miniupnpd with PCP off, or an old router: NAT-PMP UNSUPP_VERSION */
  const uint8_t pmp[] = {0, 129, 0, 1, 0, 0, 0x03, 0xe8};
  lp2p_pcp_feed(c, 10 * MS, &from, pmp, sizeof pmp);
  for (int i = 1; i <= 2; i++) {
    assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
    assert_int_equal(ev.type, LP2P_PCP_EV_FAILED);
    assert_int_equal(ev.err, LP2P_ERR_UNSUPPORTED);
    assert_int_equal(ev.natpmp, 1);
  }
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  assert_int_equal(lp2p_pcp_request_map(c, 0, 3, 6, 4002, NULL, 7200, NULL), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_pcp_next_timeout(c), LP2P_TSTAMP_NONE);
  lp2p_pcp_free(c);
  /* a version 1 server */
  c = mk(&st, &rng, NULL);
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, 6, 4001, NULL, 7200, NULL), 0);
  const uint8_t v1[24] = {1, 0x81, 0, 1};
  lp2p_pcp_feed(c, 10 * MS, &from, v1, sizeof v1);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.err, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(ev.natpmp, 0);
  lp2p_pcp_free(c);
}

static void announce(uint8_t *b, uint32_t epoch) {
  memset(b, 0, 24);
  b[0] = 2;
  b[1] = 0x80; /* R, ANNOUNCE */
  b[8] = (uint8_t)(epoch >> 24), b[9] = (uint8_t)(epoch >> 16), b[10] = (uint8_t)(epoch >> 8), b[11] = (uint8_t)epoch;
}

static void test_epoch(void **s) {
  (void)s;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_pcp *c = mk(&st, &rng, NULL);
  uint8_t b[64];
  lp2p_pcp_event ev;
  announce(b, 1000);
  lp2p_pcp_feed(c, 0, &from, b, 24);
  announce(b, 1010); /* 10 s later, 10 s more */
  lp2p_pcp_feed(c, 10 * SEC, &from, b, 24);
  announce(b, 1009); /* 1 s back is tolerated */
  lp2p_pcp_feed(c, 10 * SEC, &from, b, 24);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  /* back by more than 1 s: the server lost its state (reboot) */
  announce(b, 3);
  lp2p_pcp_feed(c, 20 * SEC, &from, b, 24);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_LOST);
  assert_int_equal(ev.epoch, 3);
  /* forward too fast: 100 s of epoch in 10 s of our clock */
  announce(b, 103);
  lp2p_pcp_feed(c, 30 * SEC, &from, b, 24);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_LOST);
  /* too slow: 20 s of epoch in 100 s of ours */
  announce(b, 123);
  lp2p_pcp_feed(c, 130 * SEC, &from, b, 24);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_LOST);
  /* 1/16 plus 2 s of drift is fine: 1000 s vs 1060 s */
  announce(b, 1123);
  lp2p_pcp_feed(c, 1190 * SEC, &from, b, 24);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  /* a MAP answer revealing a reset: LOST first, then MAPPED */
  assert_int_equal(lp2p_pcp_request_map(c, 1190 * SEC, 9, 6, 4001, NULL, 7200, NULL), 0);
  uint8_t req[64];
  take(c, req);
  resp(b, req, 0, 7200, 2, 4001, ext_ip);
  lp2p_pcp_feed(c, 1191 * SEC, &from, b, 60);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_LOST);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_MAPPED);
  lp2p_pcp_stats stats;
  lp2p_pcp_stats_get(c, &stats);
  assert_int_equal(stats.resets, 4);
  assert_int_equal(stats.ignored, 0);
  lp2p_pcp_free(c);
}

static void test_hostile(void **s) {
  (void)s;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_pcp *c = mk(&st, &rng, NULL);
  uint8_t req[64], b[1200];
  assert_int_equal(lp2p_pcp_request_map(c, 0, 1, 6, 4001, NULL, 7200, nonce), 0);
  take(c, req);
  resp(b, req, 0, 7200, 1000, 40001, ext_ip);
  for (size_t i = 0; i < 60; i++)
    lp2p_pcp_feed(c, 0, &from, b, i);
  lp2p_pcp_feed(c, 0, NULL, b, 60);
  lp2p_pcp_event ev;
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 0);
  /* every prefix is ignored: not 4-aligned, or a success without its MAP
   * payload; and a datagram without a sender */
  lp2p_pcp_stats stats;
  lp2p_pcp_stats_get(c, &stats);
  assert_int_equal(stats.ignored, 61);
  /* options filling the datagram up to 1100 bytes are accepted */
  memset(b + 60, 0, sizeof b - 60);
  for (size_t off = 60; off + 4 <= 1100; off += 4)
    b[off] = 0x80; /* empty optional options */
  lp2p_pcp_feed(c, 0, &from, b, 1100);
  assert_int_equal(lp2p_pcp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_PCP_EV_MAPPED);
  lp2p_pcp_free(c);
  lp2p_pcp_free(NULL);
  /* an IPv6 server and client go in as they are */
  lp2p_sockaddr s6 = {6, {0xfe, 0x80, [15] = 1}, 0}, c6 = {6, {0xfe, 0x80, [15] = 2}, 0};
  lp2p_pcp *c2;
  assert_int_equal(lp2p_pcp_new(&c2, NULL, NULL, &rng, &s6, &c6), 0);
  assert_int_equal(lp2p_pcp_request_map(c2, 0, 1, 6, 4001, NULL, 60, NULL), 0);
  lp2p_sockaddr to;
  size_t n;
  const uint8_t *p = lp2p_pcp_out_peek(c2, &to, &n);
  assert_non_null(p);
  assert_int_equal(to.family, 6);
  assert_memory_equal(p + 8, c6.ip, 16);
  lp2p_pcp_free(c2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_retransmit),
      cmocka_unit_test(test_fallback),
      cmocka_unit_test(test_epoch),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
