/* X25519 (RFC 7748) over libsodium, and ChaCha20-Poly1305 (RFC 8439) for
 * Noise over OpenSSL's libcrypto. The Noise spec (section 12.3,
 * ChaChaPoly) maps the 64-bit nonce n to 32 bits of zeros followed by the
 * little-endian encoding of n.
 *
 * Why libcrypto for the AEAD only (a departure from DESIGN.md section 1,
 * which names libsodium): the transport's cost per byte is mostly this
 * cipher, and libcrypto has AVX-512 code for it where libsodium 1.0.18
 * stops at AVX2 (`openssl speed -evp chacha20-poly1305`, 16 KiB blocks:
 * ~4.0 GB/s against ~1.5 GB/s for libsodium on the development machine).
 * Short messages stay on libsodium (see AEAD_SHORT_BYTES), as does
 * everything else; both compute the same RFC 8439 AEAD, so the wire does
 * not change. */
#include <sodium.h>
#include <string.h>

#include "crypto/aead_internal.h"
#include "lp2p/crypto.h"

/* lp2p_x25519_public: crypto/x25519_public.c */

int lp2p_x25519(uint8_t shared[32], const uint8_t priv[32],
                const uint8_t pub[32]) {
  /* libsodium returns -1 when the result is all zeros (a low-order input
   * point); RFC 7748 section 6.1 allows aborting there, and Noise peers
   * must not be able to force a known shared secret. */
  if (crypto_scalarmult(shared, priv, pub) != 0) {
    sodium_memzero(shared, 32);
    return LP2P_ERR_CRYPTO;
  }
  return 0;
}

#ifdef LP2P_FUZZING
int lp2p_aead_init(void) { return 0; }

/* Null cipher: fuzzers cannot forge Poly1305 tags, so in fuzz builds the
 * "ciphertext" is the plaintext and the tag is 16 zero bytes. Decryption
 * still rejects any other tag, so authentication-failure paths stay
 * reachable. */
int lp2p_aead_encrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *pt, size_t n,
                      uint8_t *out) {
  (void)key;
  (void)nonce;
  (void)ad;
  (void)ad_len;
  if (n && out != pt)
    memmove(out, pt, n);
  memset(out + n, 0, LP2P_AEAD_TAG_LEN);
  return 0;
}

int lp2p_aead_decrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *ct, size_t n,
                      uint8_t *out) {
  (void)key;
  (void)nonce;
  (void)ad;
  (void)ad_len;
  if (n < LP2P_AEAD_TAG_LEN)
    return LP2P_ERR_CRYPTO;
  size_t m = n - LP2P_AEAD_TAG_LEN;
  uint8_t acc = 0;
  for (size_t i = 0; i < LP2P_AEAD_TAG_LEN; i++)
    acc |= ct[m + i];
  if (acc)
    return LP2P_ERR_CRYPTO;
  if (m && out != ct)
    memmove(out, ct, m);
  return 0;
}
#else
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>

static void noise_nonce(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* One EVP context per thread, reused for every message: creating a
 * context (and the implicit fetch of the cipher from the default
 * provider) costs more than a small frame, while re-initialising an
 * existing one with a new key and nonce is what ChaCha20 needs anyway
 * (no key schedule). The thread-specific key frees it when a thread
 * exits; the main thread's stays reachable until the process ends. The
 * first use on a thread selects the cipher; later ones pass NULL and keep
 * it. */
static _Thread_local EVP_CIPHER_CTX *tls_ctx;
static pthread_key_t ctx_key;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;
static int ctx_key_ok;
/* The cipher fetched once from the default provider (OpenSSL 3 "explicit
 * fetch"); kept for the life of the process. */
static EVP_CIPHER *aead_cipher;

static void ctx_free(void *p) { EVP_CIPHER_CTX_free(p); }

static void ctx_key_init(void) {
  aead_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  ctx_key_ok = aead_cipher && pthread_key_create(&ctx_key, ctx_free) == 0;
}

/* libcrypto's first fetch loads its default provider (a few MB, once):
 * done with libsodium's initialisation when the first key is made or
 * loaded (crypto/keys.c), so it is not charged to whatever connection
 * happens to send the first long message. */
int lp2p_aead_init(void) {
  if (pthread_once(&ctx_key_once, ctx_key_init) != 0 || !ctx_key_ok)
    return LP2P_ERR_CRYPTO;
  return 0;
}

/* The thread's context set up for one message (enc = 1 encrypt, 0
 * decrypt) with `key` and the 12-byte nonce (the cipher's default IV
 * length, RFC 8439 section 2.8), or NULL when libcrypto fails (no
 * memory). */
static EVP_CIPHER_CTX *ctx_for(const uint8_t key[32], const uint8_t iv[12],
                               int enc) {
  if (tls_ctx)
    return EVP_CipherInit_ex(tls_ctx, NULL, NULL, key, iv, enc) == 1 ? tls_ctx
                                                                     : NULL;
  if (lp2p_aead_init() != 0)
    return NULL;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c)
    return NULL;
  if (EVP_CipherInit_ex(c, aead_cipher, NULL, key, iv, enc) != 1 ||
      pthread_setspecific(ctx_key, c) != 0) {
    EVP_CIPHER_CTX_free(c);
    return NULL;
  }
  tls_ctx = c;
  return c;
}

/* Feeds n bytes through EVP_CipherUpdate in int-sized pieces (`out` NULL
 * for additional data). In place (out == in) is allowed by EVP; the
 * cipher is a stream cipher, so each piece yields exactly its length. */
static int update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in,
                  size_t n) {
  while (n) {
    int piece = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
    int got = 0;
    if (EVP_CipherUpdate(c, out, &got, in, piece) != 1)
      return -1;
    if (out) {
      if (got != piece)
        return -1;
      out += piece;
    }
    in += piece;
    n -= (size_t)piece;
  }
  return 0;
}

static int evp_seal(const uint8_t key[32], const uint8_t iv[12],
                    const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                    size_t n, uint8_t *out) {
  EVP_CIPHER_CTX *c = ctx_for(key, iv, 1);
  int fin = 0;
  /* The tag goes after the ciphertext; the ciphertext may overwrite the
   * plaintext in place. */
  if (!c || update(c, NULL, ad, ad_len) != 0 || update(c, out, pt, n) != 0 ||
      EVP_CipherFinal_ex(c, out + n, &fin) != 1 || fin != 0 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, LP2P_AEAD_TAG_LEN,
                          out + n) != 1) {
    /* Never leave a half-encrypted frame that could be sent. */
    lp2p_memzero(out, n + LP2P_AEAD_TAG_LEN);
    return LP2P_ERR_CRYPTO;
  }
  return 0;
}

static int evp_open(const uint8_t key[32], const uint8_t iv[12],
                    const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                    size_t n, uint8_t *out) {
  if (n < LP2P_AEAD_TAG_LEN)
    return LP2P_ERR_CRYPTO;
  size_t m = n - LP2P_AEAD_TAG_LEN;
  /* EVP wants the expected tag in a writable buffer: copy it out first
   * (in place, the tag after the ciphertext is not overwritten anyway). */
  uint8_t tag[LP2P_AEAD_TAG_LEN];
  memcpy(tag, ct + m, sizeof tag);
  EVP_CIPHER_CTX *c = ctx_for(key, iv, 0);
  int fin = 0;
  /* EVP decrypts into `out` before it checks the tag (in Final). When the
   * check fails, wipe what was written, so no unauthenticated plaintext
   * ever reaches a caller (RFC 8439 section 2.8: on a tag mismatch the
   * message is rejected and nothing of it released). */
  if (!c ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, LP2P_AEAD_TAG_LEN, tag) !=
          1 ||
      update(c, NULL, ad, ad_len) != 0 || update(c, out, ct, m) != 0 ||
      EVP_CipherFinal_ex(c, out + m, &fin) != 1 || fin != 0) {
    if (m)
      lp2p_memzero(out, m);
    return LP2P_ERR_CRYPTO;
  }
  return 0;
}

/* libsodium's detached form: the tag goes after the ciphertext, in place
 * is allowed, and decryption checks the tag before it writes anything. */
static int sodium_seal(const uint8_t key[32], const uint8_t iv[12],
                       const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                       size_t n, uint8_t *out) {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out, out + n, NULL, pt, (unsigned long long)n, ad,
      (unsigned long long)ad_len, NULL, iv, key);
  return 0;
}

static int sodium_open(const uint8_t key[32], const uint8_t iv[12],
                       const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                       size_t n, uint8_t *out) {
  if (n < LP2P_AEAD_TAG_LEN)
    return LP2P_ERR_CRYPTO;
  size_t m = n - LP2P_AEAD_TAG_LEN;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          out, NULL, ct, (unsigned long long)m, ct + m, ad,
          (unsigned long long)ad_len, iv, key) != 0) {
    if (m) /* nothing was written; zeroed for the same contract as EVP */
      lp2p_memzero(out, m);
    return LP2P_ERR_CRYPTO;
  }
  return 0;
}

/* Short messages (handshake payloads, yamux control frames) go to
 * libsodium, long ones (data frames) to libcrypto: libsodium has no
 * context to set up, libcrypto's EVP init and parameter calls cost about
 * 0.4 us more per message, and its AVX-512 code overtakes libsodium's
 * AVX2 between 1 and 2 KiB here (enc+dec, 1 KiB: 1.9 vs 2.0 us; 2 KiB:
 * 3.2 vs 2.5 us). Without the split new connections were 4% slower. */
#define AEAD_SHORT_BYTES 1024

static int use_evp(int backend, size_t n) {
  return backend == LP2P_AEAD_LIBCRYPTO ||
         (backend == LP2P_AEAD_AUTO && n >= AEAD_SHORT_BYTES);
}

int lp2p_aead_encrypt_iv(int backend, const uint8_t key[32],
                         const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                         const uint8_t *pt, size_t n, uint8_t *out) {
  return use_evp(backend, n) ? evp_seal(key, iv, ad, ad_len, pt, n, out)
                             : sodium_seal(key, iv, ad, ad_len, pt, n, out);
}

int lp2p_aead_decrypt_iv(int backend, const uint8_t key[32],
                         const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                         const uint8_t *ct, size_t n, uint8_t *out) {
  size_t m = n < LP2P_AEAD_TAG_LEN ? 0 : n - LP2P_AEAD_TAG_LEN;
  return use_evp(backend, m) ? evp_open(key, iv, ad, ad_len, ct, n, out)
                             : sodium_open(key, iv, ad, ad_len, ct, n, out);
}

int lp2p_aead_encrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *pt, size_t n,
                      uint8_t *out) {
  uint8_t iv[12];
  noise_nonce(iv, nonce);
  return lp2p_aead_encrypt_iv(LP2P_AEAD_AUTO, key, iv, ad, ad_len, pt, n, out);
}

int lp2p_aead_decrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *ct, size_t n,
                      uint8_t *out) {
  uint8_t iv[12];
  noise_nonce(iv, nonce);
  return lp2p_aead_decrypt_iv(LP2P_AEAD_AUTO, key, iv, ad, ad_len, ct, n, out);
}
#endif
