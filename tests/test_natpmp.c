/* NAT-PMP (RFC 6886): messages byte for byte from the layouts of sections
 * 3.2 to 3.5, and the engine: matching, the 250 ms doubling schedule with
 * 9 sends, epoch-reset detection (3.6), result codes, hostile datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/natpmp.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

static const lp2p_sockaddr gw = {4, {10, 0, 1, 1}, LP2P_NATPMP_PORT};

static void test_codec(void **s) {
  (void)s;
  uint8_t b[16];
  assert_int_equal(lp2p_natpmp_addr_req_encode(b), 2);
  assert_int_equal(b[0], 0);
  assert_int_equal(b[1], 0);
  /* 3.3: TCP, internal 4001, suggested 4001, 7200 s */
  const uint8_t map[] = {0, 2, 0, 0, 0x0f, 0xa1, 0x0f, 0xa1, 0, 0, 0x1c, 0x20};
  assert_int_equal(lp2p_natpmp_map_req_encode(b, LP2P_NATPMP_OP_MAP_TCP, 4001, 4001, 7200), 12);
  assert_memory_equal(b, map, 12);
  /* 3.4: delete all UDP mappings of internal 53: lifetime 0, port 0 */
  const uint8_t del[] = {0, 1, 0, 0, 0, 53, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp2p_natpmp_map_req_encode(b, LP2P_NATPMP_OP_MAP_UDP, 53, 0, 0), 12);
  assert_memory_equal(b, del, 12);
  assert_int_equal(lp2p_natpmp_map_req_encode(b, 3, 1, 1, 1), 0);

  lp2p_natpmp_resp r;
  const uint8_t addr[] = {0, 128, 0, 0, 0, 0, 0x0e, 0x10, 198, 18, 0, 11};
  assert_int_equal(lp2p_natpmp_resp_parse(addr, sizeof addr, &r), 0);
  assert_int_equal(r.op, LP2P_NATPMP_OP_ADDR);
  assert_int_equal(r.result, 0);
  assert_int_equal(r.epoch, 3600);
  const uint8_t ip[] = {198, 18, 0, 11};
  assert_memory_equal(r.external_ip, ip, 4);
  const uint8_t mapr[] = {0, 130, 0, 0, 0, 0, 0x0e, 0x11, 0x0f, 0xa1, 0x9c, 0x41, 0, 0, 0x1c, 0x20};
  assert_int_equal(lp2p_natpmp_resp_parse(mapr, sizeof mapr, &r), 0);
  assert_int_equal(r.op, LP2P_NATPMP_OP_MAP_TCP);
  assert_int_equal(r.epoch, 3601);
  assert_int_equal(r.internal_port, 4001);
  assert_int_equal(r.external_port, 40001);
  assert_int_equal(r.lifetime_s, 7200);
  /* an error answer may stop after the epoch (3.5) */
  const uint8_t err[] = {0, 129, 0, 3, 0, 0, 0, 9};
  assert_int_equal(lp2p_natpmp_resp_parse(err, sizeof err, &r), 0);
  assert_int_equal(r.result, LP2P_NATPMP_NETWORK_FAILURE);
  assert_int_equal(r.op, LP2P_NATPMP_OP_MAP_UDP);
  /* a success may not */
  assert_int_equal(lp2p_natpmp_resp_parse(mapr, 12, &r), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_natpmp_resp_parse(addr, 11, &r), LP2P_ERR_TRUNCATED);
  /* not a response: a request, another version, an unknown opcode */
  assert_int_equal(lp2p_natpmp_resp_parse(map, sizeof map, &r), LP2P_ERR_PARSE);
  const uint8_t v2[] = {2, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp2p_natpmp_resp_parse(v2, sizeof v2, &r), LP2P_ERR_PARSE);
  const uint8_t op3[] = {0, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp2p_natpmp_resp_parse(op3, sizeof op3, &r), LP2P_ERR_PARSE);
  /* every prefix fails cleanly */
  for (size_t i = 0; i < sizeof mapr; i++)
    assert_int_not_equal(lp2p_natpmp_resp_parse(mapr, i, &r), 0);
}

static lp2p_natpmp *mk(uint32_t requests_max) {
  lp2p_natpmp_config cfg;
  lp2p_natpmp_config_default(&cfg);
  cfg.requests_max = requests_max;
  lp2p_natpmp *c;
  assert_int_equal(lp2p_natpmp_new(&c, &cfg, NULL, &gw), 0);
  return c;
}

/* takes one datagram (checks its destination), returns its length */
static size_t take(lp2p_natpmp *c, uint8_t *out) {
  lp2p_sockaddr to;
  size_t n;
  const uint8_t *p = lp2p_natpmp_out_peek(c, &to, &n);
  if (!p)
    return 0;
  assert_int_equal(to.family, 4);
  assert_memory_equal(to.ip, gw.ip, 4);
  assert_int_equal(to.port, 5351);
  memcpy(out, p, n);
  lp2p_natpmp_out_consume(c);
  return n;
}

static void map_resp(uint8_t *b, uint8_t op, uint16_t result, uint32_t epoch, uint16_t in,
                     uint16_t ext, uint32_t life) {
  const uint8_t m[] = {0, (uint8_t)(128 + op), (uint8_t)(result >> 8), (uint8_t)result,
                       (uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8), (uint8_t)epoch,
                       (uint8_t)(in >> 8), (uint8_t)in, (uint8_t)(ext >> 8), (uint8_t)ext,
                       (uint8_t)(life >> 24), (uint8_t)(life >> 16), (uint8_t)(life >> 8), (uint8_t)life};
  memcpy(b, m, 16);
}

static void test_retransmit(void **s) {
  (void)s;
  lp2p_natpmp *c = mk(4);
  uint8_t b[16];
  assert_int_equal(lp2p_natpmp_request_addr(c, 0, 7), 0);
  assert_int_equal(take(c, b), 2);
  assert_int_equal(take(c, b), 0);
  /* sends at 0, .25, .75, 1.75, ... 63.75 s: 9 in all; failure 64 s
   * after the ninth (RFC 6886 3.1) */
  lp2p_tstamp t = 0;
  uint64_t wait = 250 * MS;
  for (int i = 2; i <= 9; i++) {
    assert_int_equal(lp2p_natpmp_next_timeout(c), t + wait);
    lp2p_natpmp_handle_timeout(c, t + wait - 1);
    assert_int_equal(take(c, b), 0);
    t += wait;
    lp2p_natpmp_handle_timeout(c, t);
    assert_int_equal(take(c, b), 2);
    wait *= 2;
  }
  assert_int_equal(t, 63750 * MS);
  assert_int_equal(lp2p_natpmp_next_timeout(c), 127750 * MS);
  lp2p_natpmp_event ev;
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_handle_timeout(c, 127750 * MS);
  assert_int_equal(take(c, b), 0);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_FAILED);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  assert_int_equal(ev.tag, 7);
  assert_int_equal(lp2p_natpmp_next_timeout(c), LP2P_TSTAMP_NONE);
  lp2p_natpmp_stats st;
  lp2p_natpmp_stats_get(c, &st);
  assert_int_equal(st.sent, 9);
  lp2p_natpmp_free(c);
  /* a configured count */
  lp2p_natpmp_config cfg;
  lp2p_natpmp_config_default(&cfg);
  cfg.tries_max = 2;
  assert_int_equal(lp2p_natpmp_new(&c, &cfg, NULL, &gw), 0);
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 1, 0, 4001, 4001, 60), 0);
  assert_int_equal(take(c, b), 12);
  lp2p_natpmp_handle_timeout(c, 250 * MS);
  assert_int_equal(take(c, b), 12);
  lp2p_natpmp_handle_timeout(c, 750 * MS);
  assert_int_equal(take(c, b), 0);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  lp2p_natpmp_free(c);
  cfg.tries_max = 0;
  assert_int_equal(lp2p_natpmp_new(&c, &cfg, NULL, &gw), LP2P_ERR_INVAL);
  lp2p_sockaddr v6 = {6, {0xfe, 0x80}, 5351};
  assert_int_equal(lp2p_natpmp_new(&c, NULL, NULL, &v6), LP2P_ERR_INVAL);
}

static void test_mapping(void **s) {
  (void)s;
  lp2p_natpmp *c = mk(3);
  uint8_t b[16];
  lp2p_natpmp_event ev;
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 1, 0, 4001, 4001, 7200), 0);
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 2, 1, 4001, 4001, 7200), 0);
  /* the same protocol and port again, a tag in use, port 0 */
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 3, 0, 4001, 5000, 7200), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 1, 0, 4002, 4002, 7200), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 3, 0, 0, 1, 7200), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_natpmp_request_addr(c, 0, 3), 0);
  assert_int_equal(lp2p_natpmp_request_addr(c, 0, 4), LP2P_ERR_INVAL); /* one runs */
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 4, 0, 4002, 4002, 60), LP2P_ERR_LIMIT);
  const uint8_t tcp_req[] = {0, 2, 0, 0, 0x0f, 0xa1, 0x0f, 0xa1, 0, 0, 0x1c, 0x20};
  assert_int_equal(take(c, b), 12);
  assert_memory_equal(b, tcp_req, 12);
  assert_int_equal(take(c, b), 12);
  assert_int_equal(b[1], 1);
  assert_int_equal(take(c, b), 2);
  /* answers in another order: UDP first, from the wrong port, then right */
  map_resp(b, 1, 0, 100, 4001, 40002, 3600);
  lp2p_sockaddr wrong = gw;
  wrong.port = 5350;
  lp2p_natpmp_feed(c, 10 * MS, &wrong, b, 16);
  wrong = gw;
  wrong.ip[3] = 2;
  lp2p_natpmp_feed(c, 10 * MS, &wrong, b, 16);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_feed(c, 10 * MS, &gw, b, 16);
  map_resp(b, 2, 0, 100, 4001, 40001, 7200);
  lp2p_natpmp_feed(c, 20 * MS, &gw, b, 16);
  lp2p_natpmp_feed(c, 20 * MS, &gw, b, 16); /* a duplicate: answers nothing */
  const uint8_t addr[] = {0, 128, 0, 0, 0, 0, 0, 100, 198, 18, 0, 11};
  lp2p_natpmp_feed(c, 30 * MS, &gw, addr, sizeof addr);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_MAPPED);
  assert_int_equal(ev.tag, 2);
  assert_int_equal(ev.udp, 1);
  assert_int_equal(ev.external_port, 40002);
  assert_int_equal(ev.lifetime_s, 3600);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.tag, 1);
  assert_int_equal(ev.udp, 0);
  assert_int_equal(ev.internal_port, 4001);
  assert_int_equal(ev.external_port, 40001);
  assert_int_equal(ev.lifetime_s, 7200);
  assert_int_equal(ev.epoch, 100);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_ADDRESS);
  assert_int_equal(ev.tag, 3);
  const uint8_t ip[] = {198, 18, 0, 11};
  assert_memory_equal(ev.external_ip, ip, 4);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_stats st;
  lp2p_natpmp_stats_get(c, &st);
  assert_int_equal(st.ignored, 3);
  assert_int_equal(lp2p_natpmp_next_timeout(c), LP2P_TSTAMP_NONE);
  /* result codes; an 8-byte error matched by opcode; a cancel */
  assert_int_equal(lp2p_natpmp_request_map(c, 40 * MS, 5, 0, 4001, 4001, 7200), 0);
  assert_int_equal(lp2p_natpmp_request_map(c, 40 * MS, 6, 1, 4001, 4001, 7200), 0);
  assert_int_equal(lp2p_natpmp_request_map(c, 40 * MS, 7, 1, 4002, 4002, 7200), 0);
  assert_int_equal(lp2p_natpmp_cancel(c, 7), 0);
  assert_int_equal(lp2p_natpmp_cancel(c, 7), LP2P_ERR_NOT_FOUND);
  map_resp(b, 2, LP2P_NATPMP_NOT_AUTHORIZED, 101, 4001, 0, 0);
  lp2p_natpmp_feed(c, 50 * MS, &gw, b, 16);
  map_resp(b, 1, LP2P_NATPMP_UNSUPP_VERSION, 101, 0, 0, 0);
  lp2p_natpmp_feed(c, 50 * MS, &gw, b, 8);
  map_resp(b, 1, 0, 101, 4002, 4002, 7200);
  lp2p_natpmp_feed(c, 50 * MS, &gw, b, 16); /* for the cancelled one */
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.tag, 5);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_FAILED);
  assert_int_equal(ev.err, LP2P_ERR_REFUSED);
  assert_int_equal(ev.result, LP2P_NATPMP_NOT_AUTHORIZED);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.tag, 6);
  assert_int_equal(ev.err, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_free(c);
}

static void test_epoch(void **s) {
  (void)s;
  lp2p_natpmp *c = mk(4);
  uint8_t b[16];
  lp2p_natpmp_event ev;
  /* t 0: epoch 1000; t 100 s: 1086 is within 7/8 minus 2 s of slack */
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 1, 0, 4001, 4001, 7200), 0);
  map_resp(b, 2, 0, 1000, 4001, 4001, 7200);
  lp2p_natpmp_feed(c, 0, &gw, b, 16);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(lp2p_natpmp_request_map(c, 100 * SEC, 2, 0, 4001, 4001, 7200), 0);
  map_resp(b, 2, 0, 1086, 4001, 4001, 7200);
  lp2p_natpmp_feed(c, 100 * SEC, &gw, b, 16);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_MAPPED);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  /* t 200 s: epoch 5, the router rebooted: LOST before the answer */
  assert_int_equal(lp2p_natpmp_request_map(c, 200 * SEC, 3, 0, 4001, 4001, 7200), 0);
  map_resp(b, 2, 0, 5, 4001, 4001, 7200);
  lp2p_natpmp_feed(c, 200 * SEC, &gw, b, 16);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_LOST);
  assert_int_equal(ev.epoch, 5);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_MAPPED);
  assert_int_equal(ev.tag, 3);
  /* t 300 s: epoch 90 grew 85 in 100 s: under 7/8 (87.5) but within the
   * 2 s slack: fine. t 400 s: 170 grew 80: a reset without going back */
  const uint8_t ann[] = {0, 128, 0, 0, 0, 0, 0, 90, 198, 18, 0, 11};
  lp2p_natpmp_feed(c, 300 * SEC, &gw, ann, sizeof ann);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  const uint8_t ann2[] = {0, 128, 0, 0, 0, 0, 0, 170, 198, 18, 0, 11};
  lp2p_natpmp_feed(c, 400 * SEC, &gw, ann2, sizeof ann2);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_LOST);
  /* a burst of answers revealing one reset gives one LOST */
  const uint8_t ann3[] = {0, 128, 0, 0, 0, 0, 0, 1, 198, 18, 0, 11};
  lp2p_natpmp_feed(c, 500 * SEC, &gw, ann3, sizeof ann3);
  const uint8_t ann4[] = {0, 128, 0, 0, 0, 0, 0, 0, 198, 18, 0, 11};
  lp2p_natpmp_feed(c, 500 * SEC, &gw, ann4, sizeof ann4);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_LOST);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_stats st;
  lp2p_natpmp_stats_get(c, &st);
  assert_int_equal(st.resets, 3);
  lp2p_natpmp_free(c);
}

static void test_hostile(void **s) {
  (void)s;
  lp2p_natpmp *c = mk(2);
  assert_int_equal(lp2p_natpmp_request_map(c, 0, 1, 0, 4001, 4001, 7200), 0);
  uint8_t b[64];
  map_resp(b, 2, 0, 1000, 4001, 4001, 7200);
  for (size_t i = 0; i < 16; i++)
    lp2p_natpmp_feed(c, 0, &gw, b, i);
  lp2p_natpmp_feed(c, 0, NULL, b, 16);
  lp2p_natpmp_feed(c, 0, &gw, NULL, 0);
  lp2p_natpmp_event ev;
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 0);
  lp2p_natpmp_stats st;
  lp2p_natpmp_stats_get(c, &st);
  assert_int_equal(st.ignored, 18);
  /* longer than the layout: the extra bytes are ignored */
  memset(b + 16, 0xee, 48);
  lp2p_natpmp_feed(c, 0, &gw, b, 64);
  assert_int_equal(lp2p_natpmp_poll_event(c, &ev), 1);
  assert_int_equal(ev.type, LP2P_NATPMP_EV_MAPPED);
  lp2p_natpmp_free(c);
  lp2p_natpmp_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec),
      cmocka_unit_test(test_retransmit),
      cmocka_unit_test(test_mapping),
      cmocka_unit_test(test_epoch),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
