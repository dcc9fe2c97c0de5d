/* Peer ids: the peer-ids spec's text examples, derivation from keys,
 * binary validation, and text round trips. Expected values for the
 * alternative encodings were computed independently (Python). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/peerid.h"

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

static int parse(lp2p_peerid *id, const char *s) {
  return lp2p_peerid_parse(id, s, strlen(s));
}

/* Spec "String representation" examples: the first two are one peer. */
static const char *spec_cid =
    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
static const char *spec_qm = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
static const char *spec_ed =
    "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

static void test_spec_examples(void **state) {
  (void)state;
  lp2p_peerid a, b, c;
  char text[LP2P_PEERID_TEXT_MAX];
  size_t n;
  assert_int_equal(parse(&a, spec_qm), 0);
  assert_int_equal(parse(&b, spec_cid), 0);
  assert_true(lp2p_peerid_equal(&a, &b));
  uint8_t mh[34];
  unhex("12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
        mh, sizeof(mh));
  assert_int_equal(a.len, 34);
  assert_memory_equal(a.bytes, mh, 34);
  /* printing gives back both texts */
  assert_int_equal(lp2p_peerid_to_base58(&a, text, sizeof(text), &n), 0);
  assert_string_equal(text, spec_qm);
  assert_int_equal(lp2p_peerid_to_cid_base32(&a, text, sizeof(text), &n), 0);
  assert_string_equal(text, spec_cid);
  /* the ed25519 example inlines its key */
  assert_int_equal(parse(&c, spec_ed), 0);
  assert_false(lp2p_peerid_equal(&a, &c));
  lp2p_pubkey k;
  assert_int_equal(lp2p_peerid_pubkey(&c, &k), 0);
  assert_int_equal(k.type, LP2P_KEY_ED25519);
  assert_int_equal(k.len, 32);
  uint8_t want[32];
  unhex("2ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b",
        want, 32);
  assert_memory_equal(k.data, want, 32);
  assert_true(lp2p_peerid_matches_pubkey(&c, &k));
  assert_int_equal(lp2p_peerid_pubkey(&a, &k), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_peerid_to_base58(&c, text, sizeof(text), &n), 0);
  assert_string_equal(text, spec_ed);
}

static void test_other_multibases(void **state) {
  (void)state;
  lp2p_peerid a, b;
  assert_int_equal(parse(&a, spec_ed), 0);
  /* the same CIDv1 in base36 and base58btc multibase */
  assert_int_equal(
      parse(&b,
            "k51qzi5uqu5dhdmyb9bd18pypu2wp5lpv2xnskfmrqa4lb5knqryrotb05e7or"),
      0);
  assert_true(lp2p_peerid_equal(&a, &b));
  assert_int_equal(
      parse(&b, "z5AanNVJCxnJ4fhdT9DsSUYvwjgHpsJ4pn4bueg8bvDe6b1tDj9rmdk"), 0);
  assert_true(lp2p_peerid_equal(&a, &b));
  assert_int_equal(
      parse(
          &b,
          "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l"),
      0);
  assert_true(lp2p_peerid_equal(&a, &b));
}

static void test_parse_rejects(void **state) {
  (void)state;
  lp2p_peerid id;
  assert_int_equal(parse(&id, ""), LP2P_ERR_PARSE);
  assert_int_equal(parse(&id, "Qm"), LP2P_ERR_PARSE);
  /* characters outside base58 */
  assert_int_equal(parse(&id, "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50"),
                   LP2P_ERR_PARSE);
  assert_int_equal(parse(&id, "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5l"),
                   LP2P_ERR_PARSE);
  /* one character short: the multihash length no longer matches */
  assert_int_equal(parse(&id, "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5"),
                   LP2P_ERR_PARSE);
  /* CIDv1 with the dag-pb codec instead of libp2p-key (same multihash) */
  assert_int_equal(
      parse(&id, "bafybeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"),
      LP2P_ERR_UNSUPPORTED);
  /* unknown multibase prefix */
  assert_int_equal(parse(&id, "#abc"), LP2P_ERR_UNSUPPORTED);
  /* too long */
  char big[LP2P_PEERID_TEXT_MAX + 2];
  memset(big, 'b', sizeof(big));
  assert_int_equal(lp2p_peerid_parse(&id, big, sizeof(big)), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_peerid_parse(NULL, "Qm", 2), LP2P_ERR_INVAL);
  /* text need not be NUL-terminated: a prefix of a longer buffer parses */
  char buf[80];
  snprintf(buf, sizeof(buf), "%sXYZ", spec_qm);
  assert_int_equal(lp2p_peerid_parse(&id, buf, strlen(spec_qm)), 0);
}

static void test_from_bytes(void **state) {
  (void)state;
  lp2p_peerid id;
  uint8_t b[80];
  size_t n = unhex(
      "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9", b,
      sizeof(b));
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, n), 0);
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, n - 1), LP2P_ERR_PARSE);
  b[n] = 0;
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, n + 1), LP2P_ERR_PARSE);
  /* sha2-256 with a 31-byte digest */
  b[1] = 0x1f;
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, n - 1), LP2P_ERR_PARSE);
  /* sha2-512 (0x13) is a valid multihash but not a peer id hash */
  b[0] = 0x13;
  b[1] = 0x20;
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, n), LP2P_ERR_UNSUPPORTED);
  /* longer than LP2P_PEERID_MAX */
  memset(b, 0, sizeof(b));
  b[1] = 70;
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, 72), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, 0), LP2P_ERR_PARSE);
  /* an identity multihash with garbage inside is a valid id, but holds no
   * valid key */
  b[0] = 0;
  b[1] = 3;
  b[2] = 1;
  b[3] = 2;
  b[4] = 3;
  assert_int_equal(lp2p_peerid_from_bytes(&id, b, 5), 0);
  lp2p_pubkey k;
  assert_true(lp2p_peerid_pubkey(&id, &k) < 0);
  assert_int_not_equal(lp2p_peerid_pubkey(&id, &k), LP2P_ERR_NOT_FOUND);
}

static void test_from_pubkey_all_types(void **state) {
  (void)state;
  /* ed25519 and secp256k1 protobufs are <= 42 bytes: identity; ECDSA and
   * RSA are hashed. */
  static const struct {
    lp2p_key_type t;
    uint8_t code;
    size_t len;
  } cases[] = {{LP2P_KEY_ED25519, 0x00, 38},
               {LP2P_KEY_SECP256K1, 0x00, 39},
               {LP2P_KEY_ECDSA, 0x12, 34},
               {LP2P_KEY_RSA, 0x12, 34}};
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 5, 0, &rng);
  for (size_t i = 0; i < 4; i++) {
    lp2p_privkey k, other;
    assert_int_equal(lp2p_key_generate(&k, cases[i].t, 2048, &rng), 0);
    assert_int_equal(lp2p_key_generate(&other, cases[i].t, 2048, &rng), 0);
    lp2p_peerid id, id2;
    assert_int_equal(lp2p_peerid_from_pubkey(&id, &k.pub), 0);
    assert_int_equal(id.bytes[0], cases[i].code);
    assert_int_equal(id.len, cases[i].len);
    assert_true(lp2p_peerid_matches_pubkey(&id, &k.pub));
    assert_false(lp2p_peerid_matches_pubkey(&id, &other.pub));
    /* text round trips */
    char t[LP2P_PEERID_TEXT_MAX];
    size_t n;
    assert_int_equal(lp2p_peerid_to_base58(&id, t, sizeof(t), &n), 0);
    assert_int_equal(lp2p_peerid_parse(&id2, t, n), 0);
    assert_true(lp2p_peerid_equal(&id, &id2));
    assert_int_equal(lp2p_peerid_to_cid_base32(&id, t, sizeof(t), &n), 0);
    assert_int_equal(strncmp(t, "bafz", 4), 0);
    assert_int_equal(lp2p_peerid_parse(&id2, t, n), 0);
    assert_true(lp2p_peerid_equal(&id, &id2));
    /* inlined keys come back out */
    lp2p_pubkey got;
    if (cases[i].code == 0) {
      assert_int_equal(lp2p_peerid_pubkey(&id, &got), 0);
      assert_true(lp2p_pubkey_equal(&got, &k.pub));
    } else {
      assert_int_equal(lp2p_peerid_pubkey(&id, &got), LP2P_ERR_NOT_FOUND);
    }
    /* a short buffer reports NOSPACE */
    assert_int_equal(lp2p_peerid_to_base58(&id, t, 10, &n), LP2P_ERR_NOSPACE);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_examples),
      cmocka_unit_test(test_other_multibases),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test(test_from_bytes),
      cmocka_unit_test(test_from_pubkey_all_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
