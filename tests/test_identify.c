/* Identify message codec: encode/parse round trip, merge of split
 * responses, limits, bad input, and the length-prefixed stream reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/multiaddr.h"
#include "proto/identify/identify_msg.h"
#include "proto/identify/identify_record.h"

#define S(str) ((lp2p_id_slice){(const uint8_t *)(str), sizeof(str) - 1})

static const uint8_t addr1[] = {0x04, 127, 0, 0, 1, 0x06, 0x10, 0x00};
static const uint8_t addr2[] = {0x04, 10, 0, 0, 2, 0x06, 0x23, 0x28};

static size_t encode_sample(uint8_t *out, size_t cap) {
  lp2p_id_slice la[2] = {{addr1, sizeof addr1}, {addr2, sizeof addr2}};
  lp2p_id_slice pr[3] = {S("/ipfs/id/1.0.0"), S("/ipfs/ping/1.0.0"),
                         S("/echo/1.0.0")};
  lp2p_id_fields f;
  memset(&f, 0, sizeof f);
  f.protocol_version = S("ipfs/0.1.0");
  f.agent_version = S("lp2p/test");
  f.public_key = S("\x08\x01\x12\x02" "ab");
  f.observed_addr = (lp2p_id_slice){addr2, sizeof addr2};
  f.listen_addrs = la;
  f.listen_addrs_len = 2;
  f.protocols = pr;
  f.protocols_len = 3;
  size_t len = 0;
  assert_int_equal(lp2p_id_encode(&f, out, cap, &len), 0);
  return len;
}

static void test_roundtrip(void **state) {
  (void)state;
  uint8_t buf[512];
  size_t len = encode_sample(buf, sizeof buf);
  lp2p_id_view v;
  assert_int_equal(lp2p_id_parse(&v, buf, len, NULL), 0);
  assert_int_equal(v.listen_addrs_len, 2);
  assert_int_equal(v.protocols_len, 3);
  assert_int_equal(v.agent_version.len, 9);
  assert_memory_equal(v.agent_version.p, "lp2p/test", 9);
  assert_memory_equal(v.protocol_version.p, "ipfs/0.1.0", 10);
  assert_int_equal(v.public_key.len, 6);
  assert_int_equal(v.observed_addr.len, sizeof addr2);
  assert_true(v.has & (1u << LP2P_ID_F_OBSERVED_ADDR));
  assert_false(v.has & (1u << LP2P_ID_F_SIGNED_PEER_RECORD));
  size_t pos = 0;
  lp2p_id_slice s;
  assert_int_equal(lp2p_id_next(&v, LP2P_ID_F_LISTEN_ADDRS, &pos, &s), 1);
  assert_memory_equal(s.p, addr1, sizeof addr1);
  assert_int_equal(lp2p_id_next(&v, LP2P_ID_F_LISTEN_ADDRS, &pos, &s), 1);
  assert_memory_equal(s.p, addr2, sizeof addr2);
  assert_int_equal(lp2p_id_next(&v, LP2P_ID_F_LISTEN_ADDRS, &pos, &s), 0);
  pos = 0;
  const char *want[3] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/echo/1.0.0"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_id_next(&v, LP2P_ID_F_PROTOCOLS, &pos, &s), 1);
    assert_int_equal(s.len, strlen(want[i]));
    assert_memory_equal(s.p, want[i], s.len);
  }
}

/* Known bytes: protocolVersion "a" then one protocol "b": field 5 (0x2a)
 * and field 3 (0x1a), in spec order. */
static void test_known_bytes(void **state) {
  (void)state;
  lp2p_id_slice pr[1] = {S("b")};
  lp2p_id_fields f;
  memset(&f, 0, sizeof f);
  f.protocol_version = S("a");
  f.protocols = pr;
  f.protocols_len = 1;
  uint8_t out[16];
  size_t len = 0;
  assert_int_equal(lp2p_id_encode(&f, out, sizeof out, &len), 0);
  const uint8_t want[] = {0x2a, 0x01, 'a', 0x1a, 0x01, 'b'};
  assert_int_equal(len, sizeof want);
  assert_memory_equal(out, want, sizeof want);
  /* Too small: NOSPACE with the needed size. */
  assert_int_equal(lp2p_id_encode(&f, out, 3, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(len, sizeof want);
}

static void test_merge_split_response(void **state) {
  (void)state;
  /* Message 1: agent "x", protocol "p1"; message 2: agent "y", protocol
   * "p2". Merged: agent "y" (last wins), protocols p1, p2. */
  const uint8_t m1[] = {0x32, 0x01, 'x', 0x1a, 0x02, 'p', '1'};
  const uint8_t m2[] = {0x32, 0x01, 'y', 0x1a, 0x02, 'p', '2'};
  uint8_t wire[64];
  size_t w = 0;
  wire[w++] = sizeof m1;
  memcpy(wire + w, m1, sizeof m1);
  w += sizeof m1;
  wire[w++] = sizeof m2;
  memcpy(wire + w, m2, sizeof m2);
  w += sizeof m2;
  uint8_t acc[64];
  lp2p_id_reader r;
  lp2p_id_reader_init(&r, acc, sizeof acc, 32);
  /* One byte at a time. */
  for (size_t i = 0; i < w; i++)
    assert_int_equal(lp2p_id_reader_feed(&r, wire + i, 1), 1);
  assert_int_equal(lp2p_id_reader_finish(&r), 0);
  assert_int_equal(r.messages, 2);
  lp2p_id_view v;
  assert_int_equal(lp2p_id_parse(&v, acc, r.len, NULL), 0);
  assert_int_equal(v.agent_version.len, 1);
  assert_int_equal(v.agent_version.p[0], 'y');
  assert_int_equal(v.protocols_len, 2);
}

static void test_reader_limits(void **state) {
  (void)state;
  uint8_t acc[16];
  lp2p_id_reader r;
  /* A message larger than msg_max. */
  lp2p_id_reader_init(&r, acc, sizeof acc, 8);
  const uint8_t big[] = {9};
  assert_int_equal(lp2p_id_reader_feed(&r, big, 1), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_id_reader_finish(&r), LP2P_ERR_LIMIT);
  /* Total over cap across messages. */
  lp2p_id_reader_init(&r, acc, sizeof acc, 10);
  const uint8_t two[] = {8, 0x32, 6, 'a', 'b', 'c', 'd', 'e', 'f', 9};
  assert_int_equal(lp2p_id_reader_feed(&r, two, sizeof two), LP2P_ERR_LIMIT);
  /* Truncated body at EOF. */
  lp2p_id_reader_init(&r, acc, sizeof acc, 10);
  const uint8_t part[] = {5, 0x32, 3};
  assert_int_equal(lp2p_id_reader_feed(&r, part, sizeof part), 3);
  assert_int_equal(lp2p_id_reader_finish(&r), LP2P_ERR_TRUNCATED);
  /* Non-minimal length varint. */
  lp2p_id_reader_init(&r, acc, sizeof acc, 10);
  const uint8_t nm[] = {0x80, 0x00};
  assert_int_equal(lp2p_id_reader_feed(&r, nm, sizeof nm), LP2P_ERR_PARSE);
  /* Empty stream is fine (zero messages). */
  lp2p_id_reader_init(&r, acc, sizeof acc, 10);
  assert_int_equal(lp2p_id_reader_finish(&r), 0);
}

static void test_parse_bad(void **state) {
  (void)state;
  lp2p_id_view v;
  /* Truncated length. */
  const uint8_t t1[] = {0x32, 0x05, 'a'};
  assert_int_equal(lp2p_id_parse(&v, t1, sizeof t1, NULL), LP2P_ERR_PARSE);
  /* Known field with the wrong wire type (agentVersion as varint). */
  const uint8_t t2[] = {0x30, 0x01};
  assert_int_equal(lp2p_id_parse(&v, t2, sizeof t2, NULL), LP2P_ERR_PARSE);
  /* Protocol with a newline. */
  const uint8_t t3[] = {0x1a, 0x02, 'a', '\n'};
  assert_int_equal(lp2p_id_parse(&v, t3, sizeof t3, NULL), LP2P_ERR_PARSE);
  /* Empty protocol. */
  const uint8_t t4[] = {0x1a, 0x00};
  assert_int_equal(lp2p_id_parse(&v, t4, sizeof t4, NULL), LP2P_ERR_PARSE);
  /* Unknown fields (varint 9, bytes 20) are skipped. */
  const uint8_t t5[] = {0x48, 0x01, 0xa2, 0x01, 0x01, 'z', 0x32, 0x01, 'q'};
  assert_int_equal(lp2p_id_parse(&v, t5, sizeof t5, NULL), 0);
  assert_int_equal(v.agent_version.len, 1);
  /* Too many protocols. */
  lp2p_id_limits lim;
  lp2p_id_limits_default(&lim);
  lim.protocols_max = 1;
  const uint8_t t6[] = {0x1a, 0x01, 'a', 0x1a, 0x01, 'b'};
  assert_int_equal(lp2p_id_parse(&v, t6, sizeof t6, &lim), LP2P_ERR_LIMIT);
  lim.protocols_max = 2;
  assert_int_equal(lp2p_id_parse(&v, t6, sizeof t6, &lim), 0);
  /* Address too long. */
  lim.addr_bytes_max = 1;
  const uint8_t t7[] = {0x12, 0x02, 4, 1};
  assert_int_equal(lp2p_id_parse(&v, t7, sizeof t7, &lim), LP2P_ERR_LIMIT);
  /* Empty input is an empty message. */
  assert_int_equal(lp2p_id_parse(&v, NULL, 0, NULL), 0);
  assert_int_equal(v.has, 0);
}

/* A message with listenAddrs addr1, addr2 and a record sealed by `k` for
 * `addrs`; parsed into `v` (pointing into `buf`). */
static void with_record(const lp2p_privkey *k, const lp2p_maddr *addrs,
                        size_t n, uint8_t *buf, size_t cap, lp2p_id_view *v) {
  uint8_t env[1024];
  size_t el = 0;
  assert_int_equal(lp2p_peer_record_seal(k, 1, addrs, n, env, sizeof env, &el),
                   0);
  lp2p_id_slice la[2] = {{addr1, sizeof addr1}, {addr2, sizeof addr2}};
  lp2p_id_fields f;
  memset(&f, 0, sizeof f);
  f.listen_addrs = la;
  f.listen_addrs_len = 2;
  f.signed_peer_record = (lp2p_id_slice){env, el};
  size_t len = 0;
  assert_int_equal(lp2p_id_encode(&f, buf, cap, &len), 0);
  assert_int_equal(lp2p_id_parse(v, buf, len, NULL), 0);
}

/* The record needs no signature check only when it repeats listenAddrs
 * of the same message for the same peer. */
static void test_record_redundant(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 7, 1, &rng);
  lp2p_privkey k, other;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  assert_int_equal(lp2p_key_generate(&other, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_peerid id, oid;
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &k.pub), 0);
  assert_int_equal(lp2p_peerid_from_pubkey(&oid, &other.pub), 0);
  lp2p_maddr a[3];
  assert_int_equal(lp2p_maddr_from_bytes(&a[0], addr1, sizeof addr1), 0);
  assert_int_equal(lp2p_maddr_from_bytes(&a[1], addr2, sizeof addr2), 0);
  const char *extra = "/ip4/10.9.9.9/tcp/1";
  assert_int_equal(lp2p_maddr_parse(&a[2], extra, strlen(extra)), 0);
  static uint8_t buf[4096];
  static lp2p_peer_record scratch;
  lp2p_id_view v;
  /* the same addresses (one, both): nothing to add */
  with_record(&k, a, 1, buf, sizeof buf, &v);
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 1);
  with_record(&k, a, 2, buf, sizeof buf, &v);
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 1);
  /* an address beyond listenAddrs: verify it */
  with_record(&k, a, 3, buf, sizeof buf, &v);
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 0);
  /* another peer's record: verify it (and then it is refused) */
  with_record(&other, a, 2, buf, sizeof buf, &v);
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 0);
  assert_int_equal(id_record_redundant(&v, &oid, &scratch), 1);
  /* a signature broken by one bit: skipped only when it adds nothing, and
   * then the open that would run refuses it */
  with_record(&k, a, 3, buf, sizeof buf, &v);
  uint8_t *env = (uint8_t *)v.signed_peer_record.p;
  env[v.signed_peer_record.len - 1] ^= 1;
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 0);
  assert_int_not_equal(lp2p_peer_record_open(env, v.signed_peer_record.len,
                                             &scratch, NULL),
                       0);
  /* garbage in the record field */
  memset(env, 0xff, v.signed_peer_record.len);
  assert_int_equal(id_record_redundant(&v, &id, &scratch), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_known_bytes),
      cmocka_unit_test(test_merge_split_response),
      cmocka_unit_test(test_reader_limits),
      cmocka_unit_test(test_parse_bad),
      cmocka_unit_test(test_record_redundant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
