/* Multihash: sha2-256 known answers (FIPS 180-2 "abc"), identity, the
 * libp2p peer-id spec examples, and malformed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/multibase.h"
#include "lp2p/multihash.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
  size_t len = 0;
  assert_int_equal(lp2p_hex_decode(h, strlen(h), out, cap, &len), 0);
  return len;
}

static void test_sha256_kat(void **state) {
  (void)state;
  uint8_t out[40], want[40];
  size_t len;
  size_t wl = unhex(
      "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      want, sizeof want);
  assert_int_equal(
      lp2p_multihash_sha256((const uint8_t *)"abc", 3, out, sizeof out, &len),
      0);
  assert_int_equal(len, 34);
  assert_memory_equal(out, want, wl);
  wl = unhex(
      "1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      want, sizeof want);
  assert_int_equal(lp2p_multihash_sha256(NULL, 0, out, 34, &len), 0);
  assert_memory_equal(out, want, wl);
  assert_int_equal(lp2p_multihash_sha256(NULL, 0, out, 33, &len),
                   LP2P_ERR_NOSPACE);
  /* In place: the input may overlap the output. */
  memcpy(out, "abc", 3);
  assert_int_equal(lp2p_multihash_sha256(out, 3, out, sizeof out, &len), 0);
  unhex("1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        want, sizeof want);
  assert_memory_equal(out, want, 34);
}

static void test_identity(void **state) {
  (void)state;
  uint8_t out[200];
  size_t len;
  assert_int_equal(
      lp2p_multihash_identity((const uint8_t *)"hi", 2, out, sizeof out, &len),
      0);
  assert_int_equal(len, 4);
  assert_memory_equal(out, "\x00\x02hi", 4);
  assert_int_equal(
      lp2p_multihash_identity((const uint8_t *)"hi", 2, out, 3, &len),
      LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_multihash_identity(NULL, 0, out, 2, &len), 0);
  assert_int_equal(len, 2);
  static uint8_t big[LP2P_MH_DIGEST_MAX + 1];
  assert_int_equal(
      lp2p_multihash_identity(big, LP2P_MH_DIGEST_MAX, out, sizeof out, &len),
      0);
  assert_int_equal(len, LP2P_MH_DIGEST_MAX + 3); /* 128 needs a 2-byte varint */
  assert_int_equal(
      lp2p_multihash_identity(big, sizeof big, out, sizeof out, &len),
      LP2P_ERR_LIMIT);
}

/* Peer-id spec examples decode to valid multihashes. */
static void test_peer_id_examples(void **state) {
  (void)state;
  uint8_t b[64];
  size_t n;
  uint64_t code;
  const uint8_t *d;
  size_t dl;
  const char *ed = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  assert_int_equal(lp2p_base58_decode(ed, strlen(ed), b, sizeof b, &n), 0);
  assert_int_equal(lp2p_multihash_parse(b, n, &code, &d, &dl), 0);
  assert_int_equal(code, LP2P_MH_IDENTITY);
  assert_int_equal(dl, 36);
  assert_memory_equal(d, "\x08\x01\x12\x20",
                      4); /* PublicKey{Ed25519, 32 bytes} */
  const char *rsa = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
  assert_int_equal(lp2p_base58_decode(rsa, strlen(rsa), b, sizeof b, &n), 0);
  assert_int_equal(lp2p_multihash_parse(b, n, &code, &d, &dl), 0);
  assert_int_equal(code, LP2P_MH_SHA2_256);
  assert_int_equal(dl, 32);
  assert_ptr_equal(d, b + 2);
}

static void test_malformed(void **state) {
  (void)state;
  uint64_t code;
  const uint8_t *d;
  size_t dl;
#define P(s, n) lp2p_multihash_parse((const uint8_t *)(s), n, &code, &d, &dl)
  assert_int_equal(P("", 0), LP2P_ERR_PARSE);
  assert_int_equal(P("\x12", 1), LP2P_ERR_PARSE); /* no length */
  assert_int_equal(P("\x00\x03"
                     "ab",
                     4),
                   LP2P_ERR_PARSE); /* short digest */
  assert_int_equal(P("\x00\x01"
                     "ab",
                     4),
                   LP2P_ERR_PARSE); /* trailing */
  assert_int_equal(P("\x12\x02"
                     "ab",
                     4),
                   LP2P_ERR_PARSE);                       /* sha256 != 32 */
  assert_int_equal(P("\x80\x00\x00", 3), LP2P_ERR_PARSE); /* non-minimal */
  /* 128-byte digest claimed, 0 present: the limit is fine, the length not */
  assert_int_equal(P("\x00\x80\x01", 3), LP2P_ERR_PARSE);
#undef P
  /* Unknown codes are fine: 0x1b (keccak-256) with a 2-byte digest. */
  assert_int_equal(
      lp2p_multihash_parse((const uint8_t *)"\x1b\x02xy", 4, &code, &d, &dl),
      0);
  assert_int_equal(code, 0x1b);
  /* read() allows trailing bytes and reports what it used. */
  assert_int_equal(
      lp2p_multihash_read((const uint8_t *)"\x00\x01xyz", 5, &code, &d, &dl),
      3);
  assert_int_equal(
      lp2p_multihash_read((const uint8_t *)"\x00\x01xyz", 5, NULL, NULL, NULL),
      3);
  assert_int_equal(
      lp2p_multihash_read((const uint8_t *)"\x00\x81\x01", 3, NULL, NULL, NULL),
      LP2P_ERR_LIMIT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_kat),
      cmocka_unit_test(test_identity),
      cmocka_unit_test(test_peer_id_examples),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
