/* The Noise AEAD (crypto/dh_aead.c: ChaCha20-Poly1305 over libcrypto for
 * long messages, libsodium for short ones), each backend on its own: the
 * RFC 8439 section 2.8.2 vector through the 12-byte-nonce entry,
 * tampering (tag, ciphertext, AD, nonce, key, length) with nothing of the
 * plaintext left behind; then the Noise nonce layout, empty plaintexts, a
 * second thread, and agreement of both backends and of the public calls
 * with libsodium's own calls over many lengths, up to the largest Noise
 * frame, in place and not. The RFC 8439 appendix A.5 vector is in
 * test_crypto.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/aead_internal.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"

/* The largest Noise transport message: 65535 bytes with the tag. */
#define FRAME_PT 65519

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

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++)
    acc |= p[i];
  return acc == 0;
}

/* ---- RFC 8439 section 2.8.2 -------------------------------------------
 * Its nonce is the constant 07000000 then the IV 4041424344454647, which
 * the Noise layout (four zero bytes) cannot express: hence the internal
 * entry that takes the 12 bytes as they are. */

static const char *s282_pt =
    "Ladies and Gentlemen of the class of '99: If I could offer you only "
    "one tip for the future, sunscreen would be it.";
static const char *s282_aad = "50515253c0c1c2c3c4c5c6c7";
static const char *s282_nonce = "070000004041424344454647";
static const char *s282_ct =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116";
static const char *s282_tag = "1ae10b594f09e26a7e902ecbd0600691";

typedef struct {
  uint8_t key[32], iv[12], aad[12], ct[130];
  size_t ptlen, n;
} s282;

static void load_s282(s282 *v) {
  for (int i = 0; i < 32; i++)
    v->key[i] = (uint8_t)(0x80 + i);
  unhex(s282_nonce, v->iv, 12);
  unhex(s282_aad, v->aad, 12);
  v->ptlen = strlen(s282_pt);
  assert_int_equal(v->ptlen, 114);
  size_t c = unhex(s282_ct, v->ct, sizeof v->ct);
  v->n = c + unhex(s282_tag, v->ct + c, sizeof v->ct - c);
  assert_int_equal(v->n, v->ptlen + 16);
}

static const int backends[] = {LP2P_AEAD_SODIUM, LP2P_AEAD_LIBCRYPTO,
                               LP2P_AEAD_AUTO};

static void rfc8439_2_8_2(int be) {
  s282 v;
  load_s282(&v);
  uint8_t buf[130];
  assert_int_equal(lp2p_aead_encrypt_iv(be, v.key, v.iv, v.aad, 12,
                                        (const uint8_t *)s282_pt, v.ptlen, buf),
                   0);
  assert_memory_equal(buf, v.ct, v.n);
  assert_int_equal(
      lp2p_aead_decrypt_iv(be, v.key, v.iv, v.aad, 12, v.ct, v.n, buf), 0);
  assert_memory_equal(buf, s282_pt, v.ptlen);
  /* in place both ways */
  memcpy(buf, s282_pt, v.ptlen);
  assert_int_equal(
      lp2p_aead_encrypt_iv(be, v.key, v.iv, v.aad, 12, buf, v.ptlen, buf), 0);
  assert_memory_equal(buf, v.ct, v.n);
  assert_int_equal(
      lp2p_aead_decrypt_iv(be, v.key, v.iv, v.aad, 12, buf, v.n, buf), 0);
  assert_memory_equal(buf, s282_pt, v.ptlen);
}

static void test_rfc8439_2_8_2(void **state) {
  (void)state;
  for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
    rfc8439_2_8_2(backends[b]);
}

/* A flipped bit anywhere (ciphertext, tag, AD, nonce) fails, and `out`
 * then holds zeros, out of place and in place: no unauthenticated
 * plaintext is ever left for a caller. */
static void tamper_leaves_nothing(int be) {
  s282 v;
  load_s282(&v);
  uint8_t out[130], inplace[130];
  struct {
    int where; /* 0 ciphertext, 1 tag, 2 AD, 3 nonce */
    size_t at;
  } cases[] = {{0, 0}, {0, 57}, {0, 113}, {1, 114}, {1, 129},
               {2, 0}, {2, 11}, {3, 0},   {3, 11}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    s282 t = v;
    if (cases[k].where <= 1)
      t.ct[cases[k].at] ^= 0x01;
    else if (cases[k].where == 2)
      t.aad[cases[k].at] ^= 0x80;
    else
      t.iv[cases[k].at] ^= 0x04;
    memset(out, 0xa5, sizeof out);
    assert_int_equal(
        lp2p_aead_decrypt_iv(be, t.key, t.iv, t.aad, 12, t.ct, t.n, out),
        LP2P_ERR_CRYPTO);
    assert_true(all_zero(out, v.ptlen));
    memcpy(inplace, t.ct, t.n);
    assert_int_equal(
        lp2p_aead_decrypt_iv(be, t.key, t.iv, t.aad, 12, inplace, t.n, inplace),
        LP2P_ERR_CRYPTO);
    assert_true(all_zero(inplace, v.ptlen));
    /* the context is fine afterwards: the genuine message still opens */
    assert_int_equal(
        lp2p_aead_decrypt_iv(be, v.key, v.iv, v.aad, 12, v.ct, v.n, out), 0);
    assert_memory_equal(out, s282_pt, v.ptlen);
  }
  /* truncated: dropping the last byte moves the tag */
  assert_int_equal(
      lp2p_aead_decrypt_iv(be, v.key, v.iv, v.aad, 12, v.ct, v.n - 1, out),
      LP2P_ERR_CRYPTO);
  /* the wrong key */
  s282 t = v;
  t.key[31] ^= 1;
  assert_int_equal(
      lp2p_aead_decrypt_iv(be, t.key, t.iv, t.aad, 12, t.ct, t.n, out),
      LP2P_ERR_CRYPTO);
}

static void test_tamper_leaves_nothing(void **state) {
  (void)state;
  for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
    tamper_leaves_nothing(backends[b]);
}

/* lp2p_aead_* put four zero bytes then the counter little-endian (Noise
 * section 12.3) in front of the 12-byte entry. */
static void test_noise_nonce_layout(void **state) {
  (void)state;
  uint8_t key[32], a[64 + 16], b[64 + 16], pt[64];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(i * 7 + 1);
  for (int i = 0; i < 64; i++)
    pt[i] = (uint8_t)i;
  uint64_t n = UINT64_C(0x0102030405060708);
  const uint8_t iv[12] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  assert_int_equal(lp2p_aead_encrypt(key, n, NULL, 0, pt, 64, a), 0);
  assert_int_equal(
      lp2p_aead_encrypt_iv(LP2P_AEAD_AUTO, key, iv, NULL, 0, pt, 64, b), 0);
  assert_memory_equal(a, b, sizeof a);
}

/* Empty plaintexts: only a tag, with and without AD; the AD is still
 * authenticated. */
static void test_empty_plaintext(void **state) {
  (void)state;
  uint8_t key[32], tag[16], tag2[16], out[1] = {0x5a};
  memset(key, 0x33, sizeof key);
  const uint8_t ad[5] = {1, 2, 3, 4, 5};
  assert_int_equal(lp2p_aead_encrypt(key, 3, ad, 5, NULL, 0, tag), 0);
  assert_int_equal(lp2p_aead_encrypt(key, 3, NULL, 0, NULL, 0, tag2), 0);
  assert_memory_not_equal(tag, tag2, 16);
  assert_int_equal(lp2p_aead_decrypt(key, 3, ad, 5, tag, 16, out), 0);
  assert_int_equal(out[0], 0x5a); /* nothing written */
  assert_int_equal(lp2p_aead_decrypt(key, 3, ad, 4, tag, 16, out),
                   LP2P_ERR_CRYPTO);
  assert_int_equal(lp2p_aead_decrypt(key, 3, NULL, 0, tag, 16, out),
                   LP2P_ERR_CRYPTO);
  assert_int_equal(lp2p_aead_decrypt(key, 3, NULL, 0, tag2, 16, out), 0);
  assert_int_equal(lp2p_aead_decrypt(key, 3, NULL, 0, tag2, 15, out),
                   LP2P_ERR_CRYPTO);
}

/* Our encryption against libsodium's crypto_aead_chacha20poly1305_ietf
 * (the backend before libcrypto, an independent implementation): every
 * length around the 64-byte ChaCha20 block and the 16-byte Poly1305 block
 * up to the largest Noise frame, AD of several lengths, out of place and
 * in place, and each side opening the other's output. */
static void test_agrees_with_libsodium(void **state) {
  (void)state;
  assert_true(sodium_init() >= 0);
  static uint8_t pt[FRAME_PT], ours[FRAME_PT + 16], theirs[FRAME_PT + 16],
      back[FRAME_PT];
  uint8_t key[32], ad[40];
  randombytes_buf(pt, sizeof pt);
  /* 1023 / 1024: either side of the backend split (AEAD_SHORT_BYTES) */
  const size_t lens[] = {0,    1,    15,   16,    17,         63,
                         64,   65,   127,  128,   129,        255,
                         256,  257,  1000, 1023,  1024,       1025,
                         4095, 4096, 4097, 16384, 65535 - 17, FRAME_PT};
  const size_t ad_lens[] = {0, 1, 12, 16, 32, 40};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    size_t n = lens[i];
    size_t adl = ad_lens[i % (sizeof ad_lens / sizeof ad_lens[0])];
    randombytes_buf(key, sizeof key);
    randombytes_buf(ad, sizeof ad);
    uint64_t nonce = ((uint64_t)randombytes_random() << 32) | i;
    uint8_t iv[12] = {0};
    for (int b = 0; b < 8; b++)
      iv[4 + b] = (uint8_t)(nonce >> (8 * b));
    unsigned long long clen = 0;
    assert_int_equal(
        crypto_aead_chacha20poly1305_ietf_encrypt(
            theirs, &clen, pt, n, adl ? ad : NULL, adl, NULL, iv, key),
        0);
    assert_int_equal(clen, n + 16);
    assert_int_equal(
        lp2p_aead_encrypt(key, nonce, adl ? ad : NULL, adl, pt, n, ours), 0);
    assert_memory_equal(ours, theirs, n + 16);
    /* each backend on its own, whatever the length */
    assert_int_equal(lp2p_aead_encrypt_iv(LP2P_AEAD_LIBCRYPTO, key, iv,
                                          adl ? ad : NULL, adl, pt, n, ours),
                     0);
    assert_memory_equal(ours, theirs, n + 16);
    assert_int_equal(lp2p_aead_decrypt_iv(LP2P_AEAD_LIBCRYPTO, key, iv,
                                          adl ? ad : NULL, adl, theirs, n + 16,
                                          back),
                     0);
    assert_memory_equal(back, pt, n);
    assert_int_equal(lp2p_aead_encrypt_iv(LP2P_AEAD_SODIUM, key, iv,
                                          adl ? ad : NULL, adl, pt, n, ours),
                     0);
    assert_memory_equal(ours, theirs, n + 16);
    /* in place */
    memcpy(ours, pt, n);
    assert_int_equal(
        lp2p_aead_encrypt(key, nonce, adl ? ad : NULL, adl, ours, n, ours), 0);
    assert_memory_equal(ours, theirs, n + 16);
    /* we open theirs (out of place), libsodium opens ours */
    assert_int_equal(lp2p_aead_decrypt(key, nonce, adl ? ad : NULL, adl, theirs,
                                       n + 16, back),
                     0);
    assert_memory_equal(back, pt, n);
    unsigned long long mlen = 0;
    assert_int_equal(
        crypto_aead_chacha20poly1305_ietf_decrypt(
            back, &mlen, NULL, ours, n + 16, adl ? ad : NULL, adl, iv, key),
        0);
    assert_int_equal(mlen, n);
    /* in place decryption of our own */
    assert_int_equal(
        lp2p_aead_decrypt(key, nonce, adl ? ad : NULL, adl, ours, n + 16, ours),
        0);
    assert_memory_equal(ours, pt, n);
  }
}

/* Each thread has its own context: a second thread seals and opens
 * while the main one has a context of its own, with the same results. */
typedef struct {
  const uint8_t *pt;
  uint8_t ct[4096 + 16];
  int rc;
} thread_job;

static void *thread_main(void *arg) {
  thread_job *j = arg;
  uint8_t key[32], back[4096];
  memset(key, 0x11, sizeof key);
  j->rc = lp2p_aead_encrypt(key, 99, NULL, 0, j->pt, 4096, j->ct);
  if (j->rc == 0)
    j->rc = lp2p_aead_decrypt(key, 99, NULL, 0, j->ct, sizeof j->ct, back);
  if (j->rc == 0 && memcmp(back, j->pt, sizeof back) != 0)
    j->rc = -1;
  return NULL;
}

static void test_second_thread(void **state) {
  (void)state;
  static uint8_t pt[4096], mine[4096 + 16];
  uint8_t key[32];
  for (size_t i = 0; i < sizeof pt; i++)
    pt[i] = (uint8_t)(i * 31);
  memset(key, 0x11, sizeof key);
  assert_int_equal(lp2p_aead_encrypt(key, 99, NULL, 0, pt, 4096, mine), 0);
  static thread_job j;
  j.pt = pt;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, thread_main, &j), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(j.rc, 0);
  assert_memory_equal(j.ct, mine, sizeof mine);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8439_2_8_2),
      cmocka_unit_test(test_tamper_leaves_nothing),
      cmocka_unit_test(test_noise_nonce_layout),
      cmocka_unit_test(test_empty_plaintext),
      cmocka_unit_test(test_agrees_with_libsodium),
      cmocka_unit_test(test_second_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
