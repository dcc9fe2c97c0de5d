/* Noise HandshakeState / CipherState tests (proto/noise/noise_hs.h):
 * the published Noise_XX_25519_ChaChaPoly_SHA256 test vectors (cacophony
 * and snow vector files: fixed prologue, keys and payloads, byte-exact
 * messages, handshake hash and transport messages), plus misuse, tampering
 * and nonce exhaustion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/crypto.h"
#include "proto/noise/noise_hs.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = strlen(hex) / 2;
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    for (int j = 0; j < 2; j++) {
      char c = hex[2 * i + (size_t)j];
      v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    out[i] = (uint8_t)v;
  }
  return n;
}

typedef struct vector {
  const char *prologue, *init_static, *init_ephemeral, *resp_static,
      *resp_ephemeral, *handshake_hash;
  const char *payload[6], *ciphertext[6];
  size_t n_messages;
} vector;

/* cacophony.txt, protocol_name "Noise_XX_25519_ChaChaPoly_SHA256". */
static const vector cacophony = {
    "4a6f686e2047616c74",
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
    "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
    {"4c756477696720766f6e204d69736573", "4d757272617920526f746862617264",
     "462e20412e20486179656b", "4361726c204d656e676572",
     "4a65616e2d426170746973746520536179",
     "457567656e2042f6686d20766f6e2042617765726b"},
    {"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c7564"
     "77696720766f6e204d69736573",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad"
     "1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4"
     "f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd"
     "8d162c9326ad",
     "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475"
     "b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d9594"
     "1d49b25030",
     "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
     "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502"
     "ae3f"},
    6};

/* snow.txt, protocol_name "Noise_XX_25519_ChaChaPoly_SHA256" (no hash). */
static const vector snow = {
    "5468657265206973206e6f20726967687420616e642077726f6e672e20546865726527"
    "73206f6e6c792066756e20616e6420626f72696e672e",
    "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
    "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
    "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
    "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
    NULL,
    {"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
     "d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
     "77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
     "d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
     "dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce"},
    {"f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818d03c48"
     "9139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
     "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47b81c6c"
     "5f43b025692c24391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d4ea48ac08989"
     "d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e930612336bd43eaea04d3c670a"
     "0a146691aa9cc9d357872320dc735dbc48580cffb553db",
     "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f83f72b4"
     "2837b18e3572f2fdc2b74c331e2368a545cef54bdca081678ab0e9dd5348122459e0c0"
     "34c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0",
     "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb69ab257"
     "7f3bda0cbf72f879685f6ed25f",
     "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63e1daeb"
     "efe8a62a334facc8048ab4ad66"},
    5};

static void run_vector(const vector *v) {
  uint8_t pro[128], is[32], ie[32], rs[32], re[32];
  size_t plen = unhex(pro, sizeof pro, v->prologue);
  unhex(is, 32, v->init_static);
  unhex(ie, 32, v->init_ephemeral);
  unhex(rs, 32, v->resp_static);
  unhex(re, 32, v->resp_ephemeral);
  noise_hs init, resp;
  noise_hs_init(&init, 1, pro, plen, is, NULL, ie);
  noise_hs_init(&resp, 0, pro, plen, rs, NULL, re);
  noise_cipher isend, irecv, rsend, rrecv;

  for (size_t i = 0; i < v->n_messages; i++) {
    uint8_t pt[256], want[512], msg[512];
    size_t ptl = unhex(pt, sizeof pt, v->payload[i]);
    size_t wl = unhex(want, sizeof want, v->ciphertext[i]);
    /* Messages alternate initiator, responder, ... also after the
     * handshake (the vector files' convention). */
    int from_init = i % 2 == 0;
    noise_hs *w = from_init ? &init : &resp, *r = from_init ? &resp : &init;
    size_t ml = 0;
    if (i < 3) {
      assert_int_equal(noise_hs_my_turn(w), 1);
      assert_int_equal(noise_hs_my_turn(r), 0);
      memcpy(msg + noise_hs_payload_offset(w), pt, ptl);
      assert_int_equal(noise_hs_write(w, msg, ptl, &ml), 0);
      assert_int_equal(ml, ptl + noise_hs_overhead(&(noise_hs){.step = (uint8_t)i}));
      assert_int_equal(ml, wl);
      assert_memory_equal(msg, want, wl);
      uint8_t *out = NULL;
      size_t outl = 0;
      assert_int_equal(noise_hs_read(r, msg, ml, &out, &outl), 0);
      assert_int_equal(outl, ptl);
      assert_memory_equal(out, pt, ptl);
      if (i == 2) {
        assert_true(noise_hs_done(&init) && noise_hs_done(&resp));
        assert_memory_equal(init.ss.h, resp.ss.h, 32);
        if (v->handshake_hash) {
          uint8_t hh[32];
          unhex(hh, 32, v->handshake_hash);
          assert_memory_equal(init.ss.h, hh, 32);
        }
        /* The responder learned the initiator's static key and back. */
        assert_memory_equal(resp.rs, init.s_pub, 32);
        assert_memory_equal(init.rs, resp.s_pub, 32);
        noise_hs_split(&init, &isend, &irecv);
        noise_hs_split(&resp, &rsend, &rrecv);
      }
    } else {
      noise_cipher *tx = from_init ? &isend : &rsend;
      noise_cipher *rx = from_init ? &rrecv : &irecv;
      assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, pt, ptl, msg), 0);
      assert_int_equal(ptl + 16, wl);
      assert_memory_equal(msg, want, wl);
      assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, msg, wl, msg), 0);
      assert_memory_equal(msg, pt, ptl);
    }
  }
}

static void test_vector_cacophony(void **state) {
  (void)state;
  run_vector(&cacophony);
}

static void test_vector_snow(void **state) {
  (void)state;
  run_vector(&snow);
}

static void fixed_pair(noise_hs *i, noise_hs *r) {
  uint8_t k[4][32];
  for (int j = 0; j < 4; j++) memset(k[j], 0x11 * (j + 1), 32);
  noise_hs_init(i, 1, NULL, 0, k[0], NULL, k[1]);
  noise_hs_init(r, 0, NULL, 0, k[2], NULL, k[3]);
}

static void test_turns_and_short_messages(void **state) {
  (void)state;
  noise_hs i, r;
  fixed_pair(&i, &r);
  uint8_t msg[256], *pl;
  size_t ml, pll;
  /* The responder cannot write first, the initiator cannot read first. */
  assert_int_equal(noise_hs_write(&r, msg, 0, &ml), LP2P_ERR_STATE);
  assert_int_equal(noise_hs_read(&i, msg, 32, &pl, &pll), LP2P_ERR_STATE);
  /* Message 1 shorter than an ephemeral key. */
  assert_int_equal(noise_hs_read(&r, msg, 31, &pl, &pll), LP2P_ERR_PROTO);
  assert_int_equal(noise_hs_write(&i, msg, 0, &ml), 0);
  assert_int_equal(ml, 32);
  assert_int_equal(noise_hs_read(&r, msg, ml, &pl, &pll), 0);
  assert_int_equal(pll, 0);
  assert_int_equal(noise_hs_write(&r, msg, 0, &ml), 0);
  assert_int_equal(ml, 96);
  /* Message 2 without room for its payload tag. */
  noise_hs i2 = i;
  assert_int_equal(noise_hs_read(&i2, msg, 95, &pl, &pll), LP2P_ERR_PROTO);
  assert_int_equal(noise_hs_read(&i, msg, 96, &pl, &pll), 0);
  assert_int_equal(noise_hs_write(&i, msg, 0, &ml), 0);
  assert_int_equal(ml, 64);
  assert_int_equal(noise_hs_read(&r, msg, ml, &pl, &pll), 0);
  assert_true(noise_hs_done(&i) && noise_hs_done(&r));
  assert_int_equal(noise_hs_write(&i, msg, 0, &ml), LP2P_ERR_STATE);
  assert_int_equal(noise_hs_read(&r, msg, 64, &pl, &pll), LP2P_ERR_STATE);
}

static void test_tampered_messages(void **state) {
  (void)state;
  /* Flip each byte of message 2 in turn: the encrypted static key or the
   * payload tag must fail; a flipped ephemeral key changes the DH and so
   * also fails authentication. */
  for (size_t pos = 0; pos < 96 + 5; pos++) {
    noise_hs i, r;
    fixed_pair(&i, &r);
    uint8_t msg[256], *pl;
    size_t ml, pll;
    assert_int_equal(noise_hs_write(&i, msg, 0, &ml), 0);
    assert_int_equal(noise_hs_read(&r, msg, ml, &pl, &pll), 0);
    memcpy(msg + noise_hs_payload_offset(&r), "hello", 5);
    assert_int_equal(noise_hs_write(&r, msg, 5, &ml), 0);
    msg[pos] ^= 0x40;
    assert_int_equal(noise_hs_read(&i, msg, ml, &pl, &pll), LP2P_ERR_CRYPTO);
  }
}

static void test_low_order_point(void **state) {
  (void)state;
  noise_hs i, r;
  fixed_pair(&i, &r);
  uint8_t msg[256], *pl;
  size_t ml, pll;
  assert_int_equal(noise_hs_write(&i, msg, 0, &ml), 0);
  memset(msg, 0, 32); /* the all-zero point has order 1 */
  assert_int_equal(noise_hs_read(&r, msg, ml, &pl, &pll), 0);
  assert_int_equal(noise_hs_write(&r, msg, 0, &ml), LP2P_ERR_CRYPTO);
}

static void test_cipher_nonce_exhaustion(void **state) {
  (void)state;
  noise_cipher a = {.has_key = 1}, b = {.has_key = 1};
  memset(a.k, 7, 32);
  memset(b.k, 7, 32);
  a.n = b.n = NOISE_NONCE_MAX - 1;
  uint8_t buf[64] = "abc";
  /* n = 2^64-2 is the last usable nonce; 2^64-1 is reserved. */
  assert_int_equal(noise_cipher_encrypt(&a, NULL, 0, buf, 3, buf), 0);
  assert_int_equal(noise_cipher_decrypt(&b, NULL, 0, buf, 19, buf), 0);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(noise_cipher_encrypt(&a, NULL, 0, buf, 3, buf),
                   LP2P_ERR_LIMIT);
  assert_int_equal(noise_cipher_decrypt(&b, NULL, 0, buf, 19, buf),
                   LP2P_ERR_LIMIT);
  assert_true(a.n == NOISE_NONCE_MAX);
}

static void test_cipher_wrong_nonce_fails(void **state) {
  (void)state;
  noise_cipher a = {.has_key = 1}, b = {.has_key = 1};
  memset(a.k, 9, 32);
  memset(b.k, 9, 32);
  uint8_t buf[64] = "payload";
  assert_int_equal(noise_cipher_encrypt(&a, NULL, 0, buf, 7, buf), 0);
  b.n = 1; /* a replayed or reordered frame */
  assert_int_equal(noise_cipher_decrypt(&b, NULL, 0, buf, 23, buf),
                   LP2P_ERR_CRYPTO);
  assert_true(b.n == 1); /* a failed decryption does not advance n */
  assert_int_equal(noise_cipher_decrypt(&b, NULL, 0, buf, 15, buf),
                   LP2P_ERR_CRYPTO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_cacophony),
      cmocka_unit_test(test_vector_snow),
      cmocka_unit_test(test_turns_and_short_messages),
      cmocka_unit_test(test_tampered_messages),
      cmocka_unit_test(test_low_order_point),
      cmocka_unit_test(test_cipher_nonce_exhaustion),
      cmocka_unit_test(test_cipher_wrong_nonce_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
