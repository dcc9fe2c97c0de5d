/* Crypto primitives against their RFC vectors, and libp2p key generation,
 * signing and verification for all four key types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/verify_memo.h"
#include "lp2p/crypto.h"

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

static void assert_hex(const uint8_t *got, size_t n, const char *want) {
  uint8_t w[512];
  size_t wn = unhex(want, w, sizeof(w));
  assert_int_equal(n, wn);
  assert_memory_equal(got, w, n);
}

/* ---- SHA-256 (FIPS 180-2 examples) ------------------------------------ */

static void test_sha256_vectors(void **state) {
  (void)state;
  uint8_t h[32];
  lp2p_sha256(h, (const uint8_t *)"", 0);
  assert_hex(
      h, 32,
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  lp2p_sha256(h, (const uint8_t *)"abc", 3);
  assert_hex(
      h, 32,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  lp2p_sha256(h, (const uint8_t *)two, strlen(two));
  assert_hex(
      h, 32,
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_incremental(void **state) {
  (void)state;
  /* One million 'a', fed in uneven pieces. */
  lp2p_sha256_ctx c;
  uint8_t buf[1000], h[32];
  memset(buf, 'a', sizeof(buf));
  lp2p_sha256_init(&c);
  size_t left = 1000000, step = 1;
  while (left) {
    size_t k = step < left ? step : left;
    if (k > sizeof(buf))
      k = sizeof(buf);
    lp2p_sha256_update(&c, buf, k);
    left -= k;
    step = step * 7 % 997 + 1;
  }
  lp2p_sha256_final(&c, h);
  assert_hex(
      h, 32,
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ---- HMAC-SHA256 (RFC 4231) ------------------------------------------ */

static void test_hmac_rfc4231(void **state) {
  (void)state;
  uint8_t key[131], out[32];
  memset(key, 0x0b, 20);
  lp2p_hmac_sha256(out, key, 20, (const uint8_t *)"Hi There", 8);
  assert_hex(
      out, 32,
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const char *m2 = "what do ya want for nothing?";
  lp2p_hmac_sha256(out, (const uint8_t *)"Jefe", 4, (const uint8_t *)m2,
                   strlen(m2));
  assert_hex(
      out, 32,
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  /* Test case 6: a key longer than the block is hashed first. */
  memset(key, 0xaa, 131);
  const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  lp2p_hmac_sha256(out, key, 131, (const uint8_t *)m6, strlen(m6));
  assert_hex(
      out, 32,
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* ---- HKDF (RFC 5869) -------------------------------------------------- */

static void test_hkdf_rfc5869(void **state) {
  (void)state;
  uint8_t ikm[22], salt[13], info[10], okm[42];
  memset(ikm, 0x0b, sizeof(ikm));
  for (int i = 0; i < 13; i++)
    salt[i] = (uint8_t)i;
  for (int i = 0; i < 10; i++)
    info[i] = (uint8_t)(0xf0 + i);
  assert_int_equal(lp2p_hkdf_sha256(okm, 42, salt, 13, ikm, 22, info, 10), 0);
  assert_hex(okm, 42,
             "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
             "34007208d5b887185865");
  /* Test case 3: no salt, no info. */
  assert_int_equal(lp2p_hkdf_sha256(okm, 42, NULL, 0, ikm, 22, NULL, 0), 0);
  assert_hex(okm, 42,
             "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
             "9d201395faa4b61a96c8");
  /* 255 blocks at most. */
  static uint8_t big[8161];
  assert_int_equal(lp2p_hkdf_sha256(big, 8160, NULL, 0, ikm, 22, NULL, 0), 0);
  assert_int_equal(lp2p_hkdf_sha256(big, 8161, NULL, 0, ikm, 22, NULL, 0),
                   LP2P_ERR_INVAL);
}

/* ---- X25519 (RFC 7748 section 6.1) ------------------------------------ */

/* lp2p_x25519_public goes through the Edwards form (crypto/
 * x25519_public.c): it must equal the Montgomery ladder's X25519(k, 9)
 * for any scalar, random ones and the edges (zero, all ones, the
 * clamped-away bits set, small values). */
static void test_x25519_public_matches_ladder(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 25519, 1, &rng);
  for (int i = 0; i < 20000; i++) {
    uint8_t k[32], want[32], got[32];
    if (i < 256) { /* edges: one byte pattern everywhere, or one value */
      memset(k, i < 128 ? (uint8_t)(i * 2 + 1) * (i & 1) : 0, 32);
      if (i >= 128)
        k[(i - 128) / 8 % 32] = (uint8_t)(1u << (i % 8));
      if (i == 0)
        memset(k, 0, 32);
      if (i == 1)
        memset(k, 0xff, 32);
    } else {
      rng.fill(rng.ctx, k, 32);
    }
    assert_int_equal(crypto_scalarmult_base(want, k), 0);
    lp2p_x25519_public(got, k);
    assert_memory_equal(got, want, 32);
  }
}

static void test_x25519_rfc7748(void **state) {
  (void)state;
  uint8_t a[32], b[32], pa[32], pb[32], s1[32], s2[32];
  unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a,
        32);
  unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b,
        32);
  lp2p_x25519_public(pa, a);
  lp2p_x25519_public(pb, b);
  assert_hex(
      pa, 32,
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert_hex(
      pb, 32,
      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  assert_int_equal(lp2p_x25519(s1, a, pb), 0);
  assert_int_equal(lp2p_x25519(s2, b, pa), 0);
  assert_hex(
      s1, 32,
      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  assert_memory_equal(s1, s2, 32);
}

static void test_x25519_low_order(void **state) {
  (void)state;
  uint8_t a[32], zero[32] = {0}, one[32] = {1}, s[32];
  memset(a, 0x42, sizeof(a));
  assert_int_equal(lp2p_x25519(s, a, zero), LP2P_ERR_CRYPTO);
  assert_int_equal(lp2p_x25519(s, a, one), LP2P_ERR_CRYPTO);
}

/* ---- ChaCha20-Poly1305 (RFC 8439 appendix A.5) ------------------------
 * Its nonce 00000000 0102030405060708 is exactly the Noise layout (4 zero
 * bytes, then the counter little-endian) for n = 0x0807060504030201. */

static const char *a5_key =
    "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char *a5_aad = "f33388860000000000004e91";
static const char *a5_ct[] = {
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2",
    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf",
    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855",
    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4",
    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e",
    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a",
    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10",
    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29",
    "a6ad5cb4022b02709b",
    "eead9d67890cbb22392336fea1851f38",
    NULL};
static const char *a5_pt =
    "Internet-Drafts are draft documents valid for a maximum of six months "
    "and may be updated, replaced, or obsoleted by other documents at any "
    "time. It is inappropriate to use Internet-Drafts as reference material "
    "or to cite them other than as /\xe2\x80\x9cwork in progress./\xe2\x80\x9d";
#define A5_NONCE UINT64_C(0x0807060504030201)

static size_t load_a5(uint8_t *key, uint8_t *aad, uint8_t *ct) {
  unhex(a5_key, key, 32);
  unhex(a5_aad, aad, 12);
  size_t n = 0;
  for (int i = 0; a5_ct[i]; i++)
    n += unhex(a5_ct[i], ct + n, 400 - n);
  return n;
}

static void test_aead_rfc8439(void **state) {
  (void)state;
  uint8_t key[32], aad[12], ct[400], buf[400];
  size_t n = load_a5(key, aad, ct);
  size_t ptlen = strlen(a5_pt);
  assert_int_equal(n, ptlen + 16);
  /* decrypt out of place */
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 12, ct, n, buf), 0);
  assert_memory_equal(buf, a5_pt, ptlen);
  /* encrypt reproduces ciphertext and tag */
  assert_int_equal(lp2p_aead_encrypt(key, A5_NONCE, aad, 12,
                                     (const uint8_t *)a5_pt, ptlen, buf),
                   0);
  assert_memory_equal(buf, ct, n);
  /* in place both ways */
  memcpy(buf, a5_pt, ptlen);
  assert_int_equal(lp2p_aead_encrypt(key, A5_NONCE, aad, 12, buf, ptlen, buf),
                   0);
  assert_memory_equal(buf, ct, n);
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 12, buf, n, buf), 0);
  assert_memory_equal(buf, a5_pt, ptlen);
}

static void test_aead_rejects(void **state) {
  (void)state;
  uint8_t key[32], aad[12], ct[400], out[400];
  size_t n = load_a5(key, aad, ct);
  /* wrong nonce, wrong AD, flipped ciphertext bit, flipped tag bit */
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE + 1, aad, 12, ct, n, out),
                   LP2P_ERR_CRYPTO);
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 11, ct, n, out),
                   LP2P_ERR_CRYPTO);
  ct[5] ^= 1;
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 12, ct, n, out),
                   LP2P_ERR_CRYPTO);
  ct[5] ^= 1;
  ct[n - 1] ^= 0x80;
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 12, ct, n, out),
                   LP2P_ERR_CRYPTO);
  ct[n - 1] ^= 0x80;
  assert_int_equal(lp2p_aead_decrypt(key, A5_NONCE, aad, 12, ct, n, out), 0);
  /* shorter than a tag */
  assert_int_equal(lp2p_aead_decrypt(key, 0, NULL, 0, ct, 15, out),
                   LP2P_ERR_CRYPTO);
  /* empty plaintext: just a tag */
  uint8_t tag[16];
  assert_int_equal(lp2p_aead_encrypt(key, 7, NULL, 0, NULL, 0, tag), 0);
  assert_int_equal(lp2p_aead_decrypt(key, 7, NULL, 0, tag, 16, out), 0);
  assert_int_equal(lp2p_aead_decrypt(key, 8, NULL, 0, tag, 16, out),
                   LP2P_ERR_CRYPTO);
}

static void test_memeq_memzero(void **state) {
  (void)state;
  uint8_t a[33], b[33];
  memset(a, 7, sizeof(a));
  memcpy(b, a, sizeof(b));
  assert_int_equal(lp2p_memeq_ct(a, b, sizeof(a)), 0);
  b[32] ^= 1;
  assert_int_not_equal(lp2p_memeq_ct(a, b, sizeof(a)), 0);
  assert_int_equal(lp2p_memeq_ct(a, b, 32), 0);
  lp2p_memzero(a, sizeof(a));
  for (size_t i = 0; i < sizeof(a); i++)
    assert_int_equal(a[i], 0);
}

/* ---- keys ------------------------------------------------------------- */

static void roundtrip_type(lp2p_key_type t, unsigned bits, size_t pub_len) {
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 1234, (uint64_t)t, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, t, bits, &rng), 0);
  assert_int_equal(k.type, t);
  assert_int_equal(k.pub.type, t);
  assert_int_equal(k.pub.len, pub_len);

  const uint8_t msg[] = "libp2p signed message";
  uint8_t sig[LP2P_SIG_MAX];
  size_t sl = sizeof(sig);
  assert_int_equal(lp2p_key_sign(&k, msg, sizeof(msg), sig, &sl), 0);
  assert_true(sl > 0 && sl <= LP2P_SIG_MAX);
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg), sig, sl), 0);
  /* again: answered by the memo of verified signatures, the same answer */
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg), sig, sl), 0);
  /* tampered message, tampered signature, truncated signature (after the
   * genuine one was remembered: the memo answers only for it) */
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg) - 1, sig, sl),
                   LP2P_ERR_SIGNATURE);
  sig[sl / 2] ^= 0x01;
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg), sig, sl),
                   LP2P_ERR_SIGNATURE);
  sig[sl / 2] ^= 0x01;
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg), sig, sl - 1),
                   LP2P_ERR_SIGNATURE);
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof(msg), sig, 0),
                   LP2P_ERR_SIGNATURE);
  /* a signature by another key of the same type does not verify */
  lp2p_privkey k2;
  assert_int_equal(lp2p_key_generate(&k2, t, bits, &rng), 0);
  assert_false(lp2p_pubkey_equal(&k.pub, &k2.pub));
  assert_int_equal(lp2p_key_verify(&k2.pub, msg, sizeof(msg), sig, sl),
                   LP2P_ERR_SIGNATURE);
  /* too small a signature buffer */
  size_t small = 8;
  assert_int_equal(lp2p_key_sign(&k, msg, sizeof(msg), sig, &small),
                   LP2P_ERR_NOSPACE);

  /* marshal round trips, public and private */
  uint8_t pb[LP2P_PRIVKEY_PB_MAX], pb2[LP2P_PRIVKEY_PB_MAX];
  size_t n, n2;
  assert_int_equal(lp2p_pubkey_marshal(&k.pub, pb, sizeof(pb), &n), 0);
  lp2p_pubkey p;
  assert_int_equal(lp2p_pubkey_unmarshal(&p, pb, n), 0);
  assert_true(lp2p_pubkey_equal(&p, &k.pub));
  assert_int_equal(lp2p_privkey_marshal(&k, pb, sizeof(pb), &n), 0);
  lp2p_privkey k3;
  assert_int_equal(lp2p_privkey_unmarshal(&k3, pb, n), 0);
  assert_true(lp2p_pubkey_equal(&k3.pub, &k.pub));
  assert_int_equal(lp2p_privkey_marshal(&k3, pb2, sizeof(pb2), &n2), 0);
  assert_int_equal(n, n2);
  assert_memory_equal(pb, pb2, n);
  /* the reloaded key signs verifiably */
  sl = sizeof(sig);
  assert_int_equal(lp2p_key_sign(&k3, msg, 3, sig, &sl), 0);
  assert_int_equal(lp2p_key_verify(&k.pub, msg, 3, sig, sl), 0);
}

static void test_key_ed25519(void **state) {
  (void)state;
  roundtrip_type(LP2P_KEY_ED25519, 0, 32);
}
static void test_key_secp256k1(void **state) {
  (void)state;
  roundtrip_type(LP2P_KEY_SECP256K1, 0, 33);
}
static void test_key_ecdsa(void **state) {
  (void)state;
  roundtrip_type(LP2P_KEY_ECDSA, 0, 91);
}
static void test_key_rsa(void **state) {
  (void)state;
  roundtrip_type(LP2P_KEY_RSA, 2048, 294);
}

/* ---- memo of verified signatures (crypto/verify_memo.c) ---------------- */

/* Two digests in one slot: only the one stored answers, a newer one takes
 * the slot; the all-zero digest (an empty slot) is never taken. */
static void test_verify_memo_slots(void **state) {
  (void)state;
  uint8_t d1[32], d2[32], zero[32];
  memset(zero, 0, sizeof zero);
  lp2p_sha256(d1, (const uint8_t *)"memo test", 9);
  memcpy(d2, d1, 32);
  d2[31] ^= 0x80; /* same slot (chosen by the first bytes), other digest */
  assert_false(lp2p_verify_memo_seen(d1));
  lp2p_verify_memo_add(d1);
  assert_true(lp2p_verify_memo_seen(d1));
  assert_false(lp2p_verify_memo_seen(d2));
  lp2p_verify_memo_add(d2);
  assert_true(lp2p_verify_memo_seen(d2));
  assert_false(lp2p_verify_memo_seen(d1));
  assert_false(lp2p_verify_memo_seen(zero));
  lp2p_verify_memo_add(zero);
  assert_false(lp2p_verify_memo_seen(zero));
  /* the digest names every part of the triple */
  lp2p_pubkey k;
  memset(&k, 0, sizeof k);
  k.type = LP2P_KEY_ED25519;
  k.len = 32;
  const uint8_t m[] = "ab", sg[] = "cd";
  uint8_t a[32], b[32];
  lp2p_verify_memo_digest(&k, m, 2, sg, 2, a);
  lp2p_verify_memo_digest(&k, m, 1, sg, 2, b); /* shorter message */
  assert_memory_not_equal(a, b, 32);
  lp2p_verify_memo_digest(&k, m, 2, sg, 1, b); /* shorter signature */
  assert_memory_not_equal(a, b, 32);
  k.data[0] = 1; /* other key */
  lp2p_verify_memo_digest(&k, m, 2, sg, 2, b);
  assert_memory_not_equal(a, b, 32);
  k.data[0] = 0;
  k.type = LP2P_KEY_SECP256K1; /* other type */
  lp2p_verify_memo_digest(&k, m, 2, sg, 2, b);
  assert_memory_not_equal(a, b, 32);
}

typedef struct verify_job {
  const lp2p_pubkey *pub;
  const uint8_t *msg, *sig;
  size_t n, sl;
  int ok, bad;
} verify_job;

static void *verify_thread(void *ud) {
  verify_job *j = ud;
  j->ok = lp2p_key_verify(j->pub, j->msg, j->n, j->sig, j->sl);
  j->ok |= lp2p_key_verify(j->pub, j->msg, j->n, j->sig, j->sl);
  j->bad = lp2p_key_verify(j->pub, j->msg, j->n - 1, j->sig, j->sl);
  return NULL;
}

/* Each thread has its own memo: verification on another thread gives the
 * same answers (and its table goes when the thread ends: ASan). */
static void test_verify_memo_threads(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 5, 5, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  const uint8_t msg[] = "noise-libp2p-static-key:0123456789abcdef0123456789ab";
  uint8_t sig[LP2P_SIG_MAX];
  size_t sl = sizeof sig;
  assert_int_equal(lp2p_key_sign(&k, msg, sizeof msg, sig, &sl), 0);
  assert_int_equal(lp2p_key_verify(&k.pub, msg, sizeof msg, sig, sl), 0);
  for (int i = 0; i < 2; i++) {
    verify_job j = {&k.pub, msg, sig, sizeof msg, sl, -1, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, verify_thread, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(j.ok, 0);
    assert_int_equal(j.bad, LP2P_ERR_SIGNATURE);
  }
}

/* ---- deterministic RNG ------------------------------------------------ */

/* The keystream as defined (crypto/rng.c): one 64-byte ChaCha20 block per
 * block counter value, its low 32 bits as the cipher's counter, the
 * nonce's first byte bumped when they wrap. */
static void chacha_ref(const uint8_t key[32], uint8_t nonce[12],
                       uint64_t counter, uint8_t *out, size_t n) {
  static const uint8_t zero[64];
  while (n) {
    uint8_t blk[64];
    crypto_stream_chacha20_ietf_xor_ic(blk, zero, 64, nonce,
                                       (uint32_t)counter, key);
    counter++;
    if ((counter & 0xffffffffu) == 0)
      nonce[0]++;
    size_t k = n < 64 ? n : 64;
    memcpy(out, blk, k);
    out += k;
    n -= k;
  }
}

/* Draws of odd sizes read the same stream, from the start and across a
 * wrap of the 32-bit counter (which a refill of several blocks at once
 * must not cross in one call). */
static void test_rng_chacha_stream(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 7, 63, 64, 65, 200, 300, 8, 1, 255, 256};
  for (int wrap = 0; wrap < 2; wrap++) {
    lp2p_rng_chacha st;
    lp2p_rng rng;
    lp2p_rng_chacha_init(&st, 7, 3, &rng);
    uint64_t start = wrap ? UINT64_C(0x100000000) - 3 : 0;
    st.counter = start;
    uint8_t nonce[12];
    memcpy(nonce, st.nonce, sizeof nonce);
    uint8_t want[4096], got[4096];
    size_t total = 0;
    for (int round = 0; round < 3; round++)
      for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rng.fill(rng.ctx, got + total, sizes[i]);
        total += sizes[i];
      }
    assert_true(total <= sizeof got);
    /* the generator's nonce moved on iff the stream crossed the wrap */
    assert_int_equal(st.nonce[0], (uint8_t)(nonce[0] + wrap));
    chacha_ref(st.key, nonce, start, want, total);
    assert_memory_equal(got, want, total);
  }
}

static void test_keygen_deterministic(void **state) {
  (void)state;
  static const lp2p_key_type types[] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1,
                                        LP2P_KEY_ECDSA, LP2P_KEY_RSA};
  for (size_t i = 0; i < 4; i++) {
    lp2p_privkey a, b, c;
    lp2p_rng_chacha s1, s2, s3;
    lp2p_rng r1, r2, r3;
    lp2p_rng_chacha_init(&s1, 99, 1, &r1);
    lp2p_rng_chacha_init(&s2, 99, 1, &r2);
    lp2p_rng_chacha_init(&s3, 100, 1, &r3);
    assert_int_equal(lp2p_key_generate(&a, types[i], 0, &r1), 0);
    assert_int_equal(lp2p_key_generate(&b, types[i], 0, &r2), 0);
    assert_int_equal(lp2p_key_generate(&c, types[i], 0, &r3), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_true(lp2p_pubkey_equal(&a.pub, &b.pub));
    assert_false(lp2p_pubkey_equal(&a.pub, &c.pub)); /* other seed */
  }
}

static void test_keygen_errors(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 1, 1, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, (lp2p_key_type)4, 0, &rng),
                   LP2P_ERR_KEY_TYPE);
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_RSA, 1024, &rng),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_RSA, 8192, &rng),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_RSA, 2049, &rng),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_key_generate(NULL, LP2P_KEY_ED25519, 0, &rng),
                   LP2P_ERR_INVAL);
  /* verify with an unknown type never succeeds */
  lp2p_pubkey p;
  memset(&p, 0, sizeof(p));
  p.type = (lp2p_key_type)9;
  assert_int_equal(
      lp2p_key_verify(&p, (const uint8_t *)"x", 1, (const uint8_t *)"y", 1),
      LP2P_ERR_SIGNATURE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_sha256_incremental),
      cmocka_unit_test(test_hmac_rfc4231),
      cmocka_unit_test(test_hkdf_rfc5869),
      cmocka_unit_test(test_x25519_rfc7748),
      cmocka_unit_test(test_x25519_public_matches_ladder),
      cmocka_unit_test(test_x25519_low_order),
      cmocka_unit_test(test_aead_rfc8439),
      cmocka_unit_test(test_aead_rejects),
      cmocka_unit_test(test_memeq_memzero),
      cmocka_unit_test(test_key_ed25519),
      cmocka_unit_test(test_key_secp256k1),
      cmocka_unit_test(test_key_ecdsa),
      cmocka_unit_test(test_key_rsa),
      cmocka_unit_test(test_rng_chacha_stream),
      cmocka_unit_test(test_verify_memo_slots),
      cmocka_unit_test(test_verify_memo_threads),
      cmocka_unit_test(test_keygen_deterministic),
      cmocka_unit_test(test_keygen_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
