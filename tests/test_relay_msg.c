/* Circuit relay v2 codec and vouchers (relay/circuit-v2.md): golden bytes
 * written from the spec's protobuf, round trips, bounds, hostile input,
 * and vouchers sealed, opened, tampered with and signed by the wrong key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "lp2p/record.h"
#include "lp2p/relay.h"
#include "lp2p/varint.h"

static lp2p_privkey key_of(uint64_t seed) {
  lp2p_rng_chacha rc;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&rc, seed, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  return k;
}

static lp2p_peerid id_of(const lp2p_privkey *k) {
  lp2p_peerid id;
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &k->pub), 0);
  return id;
}

/* RESERVE is one field: type 0, written as proto2 peers write it. */
static void test_golden_reserve(void **state) {
  (void)state;
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_RELAY_HOP_RESERVE;
  uint8_t b[16];
  size_t n = 0;
  assert_int_equal(lp2p_relay_msg_encode(&m, b, sizeof b, &n), 0);
  static const uint8_t want[] = {0x02, 0x08, 0x00};
  assert_int_equal(n, sizeof want);
  assert_memory_equal(b, want, n);
  /* a proto3 writer omits the zero type: still RESERVE */
  assert_int_equal(lp2p_relay_msg_decode(&m, 0, NULL, 0), 0);
  assert_int_equal(m.has_type, 0);
  assert_int_equal(m.type, LP2P_RELAY_HOP_RESERVE);
}

/* STATUS OK with a reservation and a limit, field by field. */
static void test_golden_status(void **state) {
  (void)state;
  static const uint8_t addr[] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_RELAY_HOP_STATUS;
  m.has_status = 1;
  m.status = LP2P_RELAY_OK;
  m.has_rsvp = 1;
  m.expire = 1700000000;
  m.nrsvp_addrs = 1;
  m.rsvp_addrs[0] = (lp2p_relay_bytes){addr, sizeof addr};
  m.has_limit = 1;
  m.limit_duration = 120;
  m.limit_data = 131072;
  uint8_t b[128];
  size_t n = 0;
  assert_int_equal(lp2p_relay_msg_encode(&m, b, sizeof b, &n), 0);
  static const uint8_t want[] = {
      0x1e,                                /* length 30 */
      0x08, 0x02,                          /* type STATUS */
      0x1a, 0x10,                          /* reservation, 16 bytes */
      0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06,  /* expire */
      0x12, 0x08, 0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1, /* addr */
      0x22, 0x06,                          /* limit, 6 bytes */
      0x08, 0x78,                          /* duration 120 */
      0x10, 0x80, 0x80, 0x08,              /* data 131072 */
      0x28, 0x64};                         /* status OK */
  assert_int_equal(n, sizeof want);
  assert_memory_equal(b, want, n);
  lp2p_relay_msg d;
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, b + 1, n - 1), 0);
  assert_true(d.has_type && d.type == LP2P_RELAY_HOP_STATUS);
  assert_true(d.has_status && d.status == LP2P_RELAY_OK);
  assert_true(d.has_rsvp && d.expire == 1700000000 && d.nrsvp_addrs == 1);
  assert_memory_equal(d.rsvp_addrs[0].p, addr, sizeof addr);
  assert_true(d.has_limit && d.limit_duration == 120 &&
              d.limit_data == 131072);
}

/* Stop CONNECT with the initiator, and field numbers of StopMessage. */
static void test_stop_round_trip(void **state) {
  (void)state;
  lp2p_privkey k = key_of(1);
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.stop = 1;
  m.type = LP2P_RELAY_STOP_CONNECT;
  m.has_peer = 1;
  m.peer = id_of(&k);
  m.has_limit = 1;
  m.limit_duration = 120000; /* js writes milliseconds: kept as is */
  uint8_t b[256];
  size_t n = 0;
  assert_int_equal(lp2p_relay_msg_encode(&m, b, sizeof b, &n), 0);
  uint64_t body = 0;
  size_t pre = 0;
  assert_true(lp2p_varint_decode(b, n, &body) > 0);
  pre = lp2p_varint_len(body);
  assert_int_equal(pre + body, n);
  lp2p_relay_msg d;
  assert_int_equal(lp2p_relay_msg_decode(&d, 1, b + pre, body), 0);
  assert_true(d.stop && d.has_peer && lp2p_peerid_equal(&d.peer, &m.peer));
  assert_true(d.has_limit && d.limit_duration == 120000);
  assert_false(d.has_status);
  /* read as a HopMessage, field 3 (Stop's limit) is a Reservation */
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, b + pre, body), 0);
  assert_false(d.has_limit);
  assert_true(d.has_rsvp);
}

static void test_bounds_and_bad_input(void **state) {
  (void)state;
  static uint8_t big[LP2P_RELAY_MSG_MAX + 1];
  lp2p_relay_msg d;
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, big, sizeof big),
                   LP2P_ERR_LIMIT);
  /* truncated varint, wrong wire type for type, Peer without id, two
   * Peers, a bad peer id */
  static const uint8_t trunc[] = {0x08, 0x80};
  static const uint8_t wire[] = {0x0a, 0x00};
  static const uint8_t noid[] = {0x12, 0x02, 0x12, 0x00};
  static const uint8_t badid[] = {0x12, 0x04, 0x0a, 0x02, 0x99, 0x99};
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, trunc, sizeof trunc),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, wire, sizeof wire),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, noid, sizeof noid),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_relay_msg_decode(&d, 1, badid, sizeof badid),
                   LP2P_ERR_PARSE);
  lp2p_privkey k = key_of(2);
  lp2p_peerid id = id_of(&k);
  uint8_t two[2 * (LP2P_PEERID_MAX + 4)];
  size_t o = 0;
  for (int i = 0; i < 2; i++) {
    two[o++] = 0x12;
    two[o++] = (uint8_t)(id.len + 2);
    two[o++] = 0x0a;
    two[o++] = (uint8_t)id.len;
    memcpy(two + o, id.bytes, id.len);
    o += id.len;
  }
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, two, o), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, two, o / 2), 0);
  /* 100 addresses: LP2P_RELAY_ADDRS_MAX kept, the rest skipped */
  uint8_t many[1200];
  o = 0;
  many[o++] = 0x12;
  size_t lenpos = o;
  o += 2; /* two-byte length */
  many[o++] = 0x0a;
  many[o++] = (uint8_t)id.len;
  memcpy(many + o, id.bytes, id.len);
  o += id.len;
  for (int i = 0; i < 100; i++) {
    many[o++] = 0x12;
    many[o++] = 3;
    many[o++] = 0x04;
    many[o++] = 1;
    many[o++] = 2;
  }
  size_t plen = o - lenpos - 2;
  many[lenpos] = (uint8_t)(0x80 | (plen & 0x7f));
  many[lenpos + 1] = (uint8_t)(plen >> 7);
  assert_int_equal(lp2p_relay_msg_decode(&d, 0, many, o), 0);
  assert_int_equal(d.npeer_addrs, LP2P_RELAY_ADDRS_MAX);
  /* encode refuses what would pass the cap, and small buffers */
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  uint8_t b[2];
  size_t n = 0;
  m.has_status = 1;
  m.status = LP2P_RELAY_OK;
  assert_int_equal(lp2p_relay_msg_encode(&m, b, sizeof b, &n),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(n, 5);
}

static void test_voucher(void **state) {
  (void)state;
  lp2p_privkey relay = key_of(3), peer = key_of(4);
  lp2p_peerid rid = id_of(&relay), pid = id_of(&peer);
  uint8_t v[LP2P_RELAY_VOUCHER_MAX];
  size_t n = 0;
  assert_int_equal(
      lp2p_relay_voucher_seal(&relay, &pid, 1700003600, v, sizeof v, &n), 0);
  lp2p_peerid r2, p2;
  uint64_t exp = 0;
  assert_int_equal(lp2p_relay_voucher_open(v, n, &r2, &p2, &exp), 0);
  assert_true(lp2p_peerid_equal(&r2, &rid));
  assert_true(lp2p_peerid_equal(&p2, &pid));
  assert_int_equal(exp, 1700003600);
  /* a flipped byte anywhere fails */
  for (size_t i = 0; i < n; i++) {
    v[i] ^= 0x01;
    assert_int_not_equal(lp2p_relay_voucher_open(v, n, &r2, &p2, &exp), 0);
    v[i] ^= 0x01;
  }
  /* a peer record envelope is not a voucher (domain) */
  uint8_t e[512];
  size_t en = 0;
  assert_int_equal(lp2p_envelope_seal(&relay, "libp2p-peer-record",
                                      (const uint8_t *)"\x03\x01", 2,
                                      (const uint8_t *)"x", 1, e, sizeof e,
                                      &en),
                   0);
  assert_int_not_equal(lp2p_relay_voucher_open(e, en, &r2, &p2, &exp), 0);
  /* signed by the peer, naming another relay: mismatch. Build the
   * payload by hand under the right domain. */
  uint8_t body[160];
  size_t o = 0;
  body[o++] = 0x0a;
  body[o++] = (uint8_t)rid.len;
  memcpy(body + o, rid.bytes, rid.len);
  o += rid.len;
  body[o++] = 0x12;
  body[o++] = (uint8_t)pid.len;
  memcpy(body + o, pid.bytes, pid.len);
  o += pid.len;
  body[o++] = 0x18;
  body[o++] = 0x01;
  assert_int_equal(lp2p_envelope_seal(&peer, LP2P_RELAY_VOUCHER_DOMAIN,
                                      (const uint8_t *)"\x03\x02", 2, body, o,
                                      e, sizeof e, &en),
                   0);
  assert_int_equal(lp2p_relay_voucher_open(e, en, &r2, &p2, &exp),
                   LP2P_ERR_PEER_ID_MISMATCH);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_reserve),
      cmocka_unit_test(test_golden_status),
      cmocka_unit_test(test_stop_round_trip),
      cmocka_unit_test(test_bounds_and_bad_input),
      cmocka_unit_test(test_voucher),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
