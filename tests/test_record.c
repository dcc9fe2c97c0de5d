/* Signed envelopes and peer records: envelopes made by js-libp2p
 * (@libp2p/peer-record 9.0.16) with the peer-ids spec keys are opened and
 * re-sealed byte for byte, plus seal/open round trips for every key type
 * and every way an envelope can be wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/record.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s) / 2;
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    char b[3] = {s[2 * i], s[2 * i + 1], 0};
    assert_int_equal(sscanf(b, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static const char *ed_priv_pb =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char *secp_priv_pb =
    "0802122053dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d56ced8fb";

/* js-libp2p RecordEnvelope.seal(PeerRecord{addrs: /ip4/192.0.2.1/tcp/4001,
 * /ip6/2001:db8::1/udp/4001/quic-v1}) with the keys above. */
static const char *js_ed_env =
    "0a24080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fc"
    "e27e120203011a560a260024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c"
    "3cacf6010f0e42d474fce27e1095a3d585a0341a0a0a0804c0000201060fa11a190a1729"
    "20010db800000000000000000000000191020fa1cd032a40870f325bbe5a66f267fd236d"
    "118a55b10488f8f24e751a14f0a66f129e049de3bfe5e1a7277de86374736cfb5696873e"
    "3f157f0f494e3ad565bbbe48e605e20d";
static const char *js_secp_env =
    "0a2508021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630"
    "bfca99120203011a570a27002508021221037777e994e452c21604f91de093ce415f5432"
    "f701dd8cd1a7a6fea0e630bfca9910dca5d585a0341a0a0a0804c0000201060fa11a190a"
    "172920010db800000000000000000000000191020fa1cd032a473045022100fbe2e89503"
    "c909e743661cb93ccf11c10cf5617be30f16bab6ac76ccc488c91202201ee0dc59a51faf"
    "bb72a0ddb2d15f363983869b49b13de8c28948fd6a086c3392";

static lp2p_peer_record rec; /* large: keep off the stack */

static void load_key(const char *hex, lp2p_privkey *k) {
  uint8_t b[200];
  size_t n = unhex(hex, b, sizeof(b));
  assert_int_equal(lp2p_privkey_unmarshal(k, b, n), 0);
}

static void check_js_envelope(const char *env_hex, const char *key_hex) {
  static uint8_t env[1024], out[1024];
  size_t n = unhex(env_hex, env, sizeof(env)), on;
  lp2p_privkey k;
  load_key(key_hex, &k);
  lp2p_envelope_view v;
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, &v), 0);
  assert_true(lp2p_pubkey_equal(&v.key, &k.pub));
  assert_true(lp2p_peerid_matches_pubkey(&rec.peer_id, &k.pub));
  assert_true(lp2p_peerid_equal(&rec.peer_id, &v.signer));
  assert_int_equal(rec.addrs_len, 2);
  assert_int_equal(rec.addrs_skipped, 0);
  assert_true(rec.seq > 1700000000000u); /* js uses Date.now() in ms */
  char text[128];
  size_t tl;
  assert_int_equal(lp2p_maddr_to_string(&rec.addrs[0], text, sizeof(text), &tl),
                   0);
  assert_string_equal(text, "/ip4/192.0.2.1/tcp/4001");
  assert_int_equal(lp2p_maddr_to_string(&rec.addrs[1], text, sizeof(text), &tl),
                   0);
  assert_string_equal(text, "/ip6/2001:db8::1/udp/4001/quic-v1");
  assert_int_equal(v.payload_type_len, 2);
  assert_memory_equal(v.payload_type, "\x03\x01", 2);
  /* Ed25519 and RFC 6979 ECDSA are deterministic: sealing the same record
   * gives js-libp2p's bytes exactly. */
  assert_int_equal(lp2p_peer_record_seal(&k, rec.seq, rec.addrs, rec.addrs_len,
                                         out, sizeof(out), &on),
                   0);
  assert_int_equal(on, n);
  assert_memory_equal(out, env, n);
}

static void test_js_envelope_ed25519(void **state) {
  (void)state;
  check_js_envelope(js_ed_env, ed_priv_pb);
}

static void test_js_envelope_secp256k1(void **state) {
  (void)state;
  check_js_envelope(js_secp_env, secp_priv_pb);
}

static void make_addrs(lp2p_maddr *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char t[64];
    snprintf(t, sizeof(t), "/ip4/10.0.%zu.%zu/tcp/%zu", i / 200, i % 200 + 1,
             4000 + i);
    assert_int_equal(lp2p_maddr_parse(&a[i], t, strlen(t)), 0);
  }
}

static void test_seal_open_all_types(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 42, 0, &rng);
  static lp2p_maddr addrs[3];
  make_addrs(addrs, 3);
  static uint8_t env[LP2P_ENVELOPE_MAX];
  for (int t = 0; t < 4; t++) {
    lp2p_privkey k;
    assert_int_equal(lp2p_key_generate(&k, (lp2p_key_type)t, 2048, &rng), 0);
    size_t n;
    assert_int_equal(
        lp2p_peer_record_seal(&k, 77, addrs, 3, env, sizeof(env), &n), 0);
    lp2p_envelope_view v;
    assert_int_equal(lp2p_peer_record_open(env, n, &rec, &v), 0);
    assert_int_equal(rec.seq, 77);
    assert_int_equal(rec.addrs_len, 3);
    for (size_t i = 0; i < 3; i++)
      assert_true(lp2p_maddr_equal(&rec.addrs[i], &addrs[i]));
    assert_true(lp2p_pubkey_equal(&v.key, &k.pub));
    /* the view points into the input */
    assert_true(v.payload >= env && v.payload + v.payload_len <= env + n);
    assert_true(v.signature >= env && v.signature + v.signature_len <= env + n);
  }
}

static void test_generic_envelope(void **state) {
  (void)state;
  lp2p_privkey k;
  load_key(ed_priv_pb, &k);
  uint8_t env[512];
  size_t n;
  const uint8_t payload[] = "hello envelope";
  assert_int_equal(lp2p_envelope_seal(&k, "my-domain", (const uint8_t *)"/x", 2,
                                      payload, sizeof(payload), env,
                                      sizeof(env), &n),
                   0);
  lp2p_envelope_view v;
  assert_int_equal(lp2p_envelope_open(env, n, "my-domain", &v), 0);
  assert_int_equal(v.payload_len, sizeof(payload));
  assert_memory_equal(v.payload, payload, sizeof(payload));
  assert_int_equal(v.payload_type_len, 2);
  /* wrong domain: the signature does not verify */
  assert_int_equal(lp2p_envelope_open(env, n, "my-domaim", &v),
                   LP2P_ERR_SIGNATURE);
  assert_int_equal(v.payload, NULL); /* zeroed on error */
  assert_int_equal(lp2p_envelope_open(env, n, LP2P_PEER_RECORD_DOMAIN, &v),
                   LP2P_ERR_SIGNATURE);
  /* empty payload type and payload are omitted and still sign */
  assert_int_equal(
      lp2p_envelope_seal(&k, "d", NULL, 0, NULL, 0, env, sizeof(env), &n), 0);
  assert_int_equal(lp2p_envelope_open(env, n, "d", &v), 0);
  assert_int_equal(v.payload_len, 0);
  assert_int_equal(v.payload_type_len, 0);
  /* a peer record opener refuses a foreign payload type */
  assert_int_equal(lp2p_envelope_seal(&k, LP2P_PEER_RECORD_DOMAIN,
                                      (const uint8_t *)"\x81\x06", 2, payload,
                                      sizeof(payload), env, sizeof(env), &n),
                   0);
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL),
                   LP2P_ERR_UNSUPPORTED);
  /* bad arguments */
  assert_int_equal(
      lp2p_envelope_seal(&k, "", NULL, 0, NULL, 0, env, sizeof(env), &n),
      LP2P_ERR_INVAL);
  assert_int_equal(lp2p_envelope_open(env, n, NULL, &v), LP2P_ERR_INVAL);
}

static size_t seal_record(uint8_t *env, size_t cap) {
  lp2p_privkey k;
  load_key(ed_priv_pb, &k);
  static lp2p_maddr addrs[2];
  make_addrs(addrs, 2);
  size_t n;
  assert_int_equal(lp2p_peer_record_seal(&k, 5, addrs, 2, env, cap, &n), 0);
  return n;
}

static void test_bad_signature(void **state) {
  (void)state;
  uint8_t env[1024];
  size_t n = seal_record(env, sizeof(env));
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL), 0);
  /* every byte of the signature (the last 64 bytes) matters */
  for (size_t i = n - 64; i < n; i++) {
    env[i] ^= 0x20;
    assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL),
                     LP2P_ERR_SIGNATURE);
    assert_int_equal(rec.addrs_len, 0);
    env[i] ^= 0x20;
  }
  /* so does the payload (a byte inside an address) */
  env[n - 70] ^= 0x01;
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL),
                   LP2P_ERR_SIGNATURE);
  env[n - 70] ^= 0x01;
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL), 0);
}

static void test_truncated(void **state) {
  (void)state;
  uint8_t env[1024];
  size_t n = seal_record(env, sizeof(env));
  for (size_t i = 0; i < n; i++) {
    int rc = lp2p_peer_record_open(env, i, &rec, NULL);
    assert_true(rc == LP2P_ERR_PARSE || rc == LP2P_ERR_SIGNATURE);
  }
}

static void test_peer_id_mismatch(void **state) {
  (void)state;
  lp2p_privkey a, b;
  load_key(ed_priv_pb, &a);
  load_key(secp_priv_pb, &b);
  lp2p_peerid bid;
  assert_int_equal(lp2p_peerid_from_pubkey(&bid, &b.pub), 0);
  /* a record naming b, signed by a */
  uint8_t payload[256], env[1024];
  size_t pl, n;
  assert_int_equal(
      lp2p_peer_record_encode(&bid, 9, NULL, 0, payload, sizeof(payload), &pl),
      0);
  assert_int_equal(lp2p_envelope_seal(&a, LP2P_PEER_RECORD_DOMAIN,
                                      LP2P_PEER_RECORD_PAYLOAD_TYPE,
                                      LP2P_PEER_RECORD_PAYLOAD_TYPE_LEN,
                                      payload, pl, env, sizeof(env), &n),
                   0);
  assert_int_equal(lp2p_envelope_open(env, n, LP2P_PEER_RECORD_DOMAIN,
                                      &(lp2p_envelope_view){0}),
                   0);
  assert_int_equal(lp2p_peer_record_open(env, n, &rec, NULL),
                   LP2P_ERR_PEER_ID_MISMATCH);
  assert_int_equal(rec.peer_id.len, 0);
}

static void test_envelope_structure(void **state) {
  (void)state;
  uint8_t env[1024], mod[1100];
  size_t n = seal_record(env, sizeof(env));
  lp2p_envelope_view v;
  /* an unknown field appended is skipped (proto3) and not signed */
  memcpy(mod, env, n);
  mod[n] = 0x38; /* field 7 varint */
  mod[n + 1] = 0x01;
  assert_int_equal(lp2p_envelope_open(mod, n + 2, LP2P_PEER_RECORD_DOMAIN, &v),
                   0);
  /* a repeated known field is rejected */
  memcpy(mod + n, env + n - 66, 66); /* the signature field again */
  assert_int_equal(lp2p_envelope_open(mod, n + 66, LP2P_PEER_RECORD_DOMAIN, &v),
                   LP2P_ERR_PARSE);
  /* no signature at all */
  assert_int_equal(lp2p_envelope_open(env, n - 66, LP2P_PEER_RECORD_DOMAIN, &v),
                   LP2P_ERR_SIGNATURE);
  /* no public key: drop field 1 (0a 24 + 36 bytes) */
  assert_int_equal(
      lp2p_envelope_open(env + 38, n - 38, LP2P_PEER_RECORD_DOMAIN, &v),
      LP2P_ERR_PARSE);
  /* public key of an unknown type */
  memcpy(mod, env, n);
  mod[3] = 7;
  assert_int_equal(lp2p_envelope_open(mod, n, LP2P_PEER_RECORD_DOMAIN, &v),
                   LP2P_ERR_KEY_TYPE);
  /* wrong wire type for field 2 */
  memcpy(mod, env, n);
  assert_int_equal(mod[38], 0x12);
  mod[38] = 0x10;
  assert_true(lp2p_envelope_open(mod, n, LP2P_PEER_RECORD_DOMAIN, &v) < 0);
  /* too large */
  static uint8_t big[LP2P_ENVELOPE_MAX + 1];
  assert_int_equal(lp2p_envelope_open(big, sizeof(big), "d", &v),
                   LP2P_ERR_LIMIT);
}

static void test_record_codec(void **state) {
  (void)state;
  lp2p_peerid id;
  lp2p_privkey k;
  load_key(ed_priv_pb, &k);
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &k.pub), 0);
  static lp2p_maddr addrs[LP2P_PEER_RECORD_ADDRS_MAX + 1];
  make_addrs(addrs, LP2P_PEER_RECORD_ADDRS_MAX + 1);
  static uint8_t buf[LP2P_PEER_RECORD_ADDRS_MAX * 64 + 256];
  size_t n;
  /* seq 0 is omitted; the record starts with the peer id field */
  assert_int_equal(
      lp2p_peer_record_encode(&id, 0, NULL, 0, buf, sizeof(buf), &n), 0);
  assert_int_equal(n, 2 + id.len);
  assert_int_equal(lp2p_peer_record_decode(&rec, buf, n), 0);
  assert_int_equal(rec.seq, 0);
  assert_int_equal(rec.addrs_len, 0);
  /* NOSPACE reports the needed size */
  size_t need;
  assert_int_equal(lp2p_peer_record_encode(&id, 1, addrs, 2, buf, 10, &need),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(
      lp2p_peer_record_encode(&id, 1, addrs, 2, buf, sizeof(buf), &n), 0);
  assert_int_equal(need, n);
  /* the address limit, both ways */
  assert_int_equal(lp2p_peer_record_encode(&id, 1, addrs,
                                           LP2P_PEER_RECORD_ADDRS_MAX + 1, buf,
                                           sizeof(buf), &n),
                   LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_peer_record_encode(&id, 1, addrs,
                                           LP2P_PEER_RECORD_ADDRS_MAX, buf,
                                           sizeof(buf), &n),
                   0);
  assert_int_equal(lp2p_peer_record_decode(&rec, buf, n), 0);
  assert_int_equal(rec.addrs_len, LP2P_PEER_RECORD_ADDRS_MAX);
  /* one more valid address: LIMIT */
  size_t extra = 2 + 2 + addrs[LP2P_PEER_RECORD_ADDRS_MAX].len;
  buf[n] = 0x1a;
  buf[n + 1] = (uint8_t)(extra - 2);
  buf[n + 2] = 0x0a;
  buf[n + 3] = (uint8_t)addrs[LP2P_PEER_RECORD_ADDRS_MAX].len;
  memcpy(buf + n + 4, addrs[LP2P_PEER_RECORD_ADDRS_MAX].bytes,
         addrs[LP2P_PEER_RECORD_ADDRS_MAX].len);
  assert_int_equal(lp2p_peer_record_decode(&rec, buf, n + extra),
                   LP2P_ERR_LIMIT);
  /* ... but an invalid one beyond the limit is just skipped */
  buf[n + 4] = 0x7f; /* unknown multiaddr protocol code */
  assert_int_equal(lp2p_peer_record_decode(&rec, buf, n + extra), 0);
  assert_int_equal(rec.addrs_len, LP2P_PEER_RECORD_ADDRS_MAX);
  assert_int_equal(rec.addrs_skipped, 1);
  /* missing peer id, repeated seq, bad peer id */
  uint8_t r[64] = {0x10, 0x05};
  assert_int_equal(lp2p_peer_record_decode(&rec, r, 2), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_peer_record_encode(&id, 3, NULL, 0, r, sizeof(r), &n),
                   0);
  r[n] = 0x10;
  r[n + 1] = 0x04;
  assert_int_equal(lp2p_peer_record_decode(&rec, r, n + 2), LP2P_ERR_PARSE);
  r[2] = 0x13; /* peer id multihash code: sha2-512 */
  assert_int_equal(lp2p_peer_record_decode(&rec, r, n), LP2P_ERR_PARSE);
}

static void test_envelope_limits(void **state) {
  (void)state;
  lp2p_privkey k;
  load_key(ed_priv_pb, &k);
  static uint8_t payload[LP2P_ENVELOPE_MAX], out[LP2P_ENVELOPE_MAX + 64];
  size_t n;
  assert_int_equal(lp2p_envelope_seal(&k, "d", NULL, 0, payload,
                                      LP2P_ENVELOPE_MAX, out, sizeof(out), &n),
                   LP2P_ERR_LIMIT);
  assert_int_equal(
      lp2p_envelope_seal(&k, "d", NULL, 0, payload, 8000, out, sizeof(out), &n),
      0);
  assert_true(n <= LP2P_ENVELOPE_MAX);
  lp2p_envelope_view v;
  assert_int_equal(lp2p_envelope_open(out, n, "d", &v), 0);
  /* too small an output buffer: NOSPACE and the size needed */
  size_t need;
  assert_int_equal(
      lp2p_envelope_seal(&k, "d", NULL, 0, payload, 8000, out, 100, &need),
      LP2P_ERR_NOSPACE);
  assert_int_equal(need, n);
  char dom[LP2P_ENVELOPE_DOMAIN_MAX + 2];
  memset(dom, 'a', sizeof(dom) - 1);
  dom[sizeof(dom) - 1] = 0;
  assert_int_equal(
      lp2p_envelope_seal(&k, dom, NULL, 0, payload, 1, out, sizeof(out), &n),
      LP2P_ERR_INVAL);
  dom[LP2P_ENVELOPE_DOMAIN_MAX] = 0;
  assert_int_equal(
      lp2p_envelope_seal(&k, dom, NULL, 0, payload, 1, out, sizeof(out), &n),
      0);
  assert_int_equal(lp2p_envelope_open(out, n, dom, &v), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_js_envelope_ed25519),
      cmocka_unit_test(test_js_envelope_secp256k1),
      cmocka_unit_test(test_seal_open_all_types),
      cmocka_unit_test(test_generic_envelope),
      cmocka_unit_test(test_bad_signature),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_peer_id_mismatch),
      cmocka_unit_test(test_envelope_structure),
      cmocka_unit_test(test_record_codec),
      cmocka_unit_test(test_envelope_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
