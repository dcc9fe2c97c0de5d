/* SHA-256, HMAC-SHA256 (RFC 2104), HKDF-SHA256 (RFC 5869), constant-time
 * compare and secret wiping, over libsodium except the SHA-256
 * compression itself.
 *
 * Why libcrypto computes SHA-256 (a departure from DESIGN.md section 1,
 * as crypto/dh_aead.c's AEAD is): our hashes are short (kad keys are
 * SHA-256 of 34-38-byte peer ids, Noise hashes and HKDFs a few blocks),
 * and libsodium 1.0.18's SHA-256 is portable C while libcrypto uses the
 * CPU's SHA extensions when it has them: one block costs ~50 ns against
 * ~170 ns on the development machine, and the 1,000-host simulation
 * hashes millions of peer ids. Same function, same digests.
 *
 * The low-level SHA256_Init/Update/Final are deprecated in OpenSSL 3 in
 * favour of EVP, but an EVP context lives on the heap and costs a fetch
 * and an init per digest (~75 ns a block, measured), and our incremental
 * context must stay a caller-owned buffer (crypto.h). They remain in
 * every OpenSSL 3 release. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

#include "lp2p/crypto.h"

/* The public context is an opaque buffer so that crypto.h does not expose
 * the backend; make sure its state really fits and is aligned. */
_Static_assert(sizeof(SHA256_CTX) <= sizeof(((lp2p_sha256_ctx *)0)->opaque),
               "lp2p_sha256_ctx too small for SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= 16, "lp2p_sha256_ctx under-aligned");

static SHA256_CTX *st(lp2p_sha256_ctx *c) {
  return (SHA256_CTX *)(void *)c->opaque;
}

/* SHA256_Init/Update/Final cannot fail for a valid context (they return 1
 * unconditionally), so their results are not checked. */
void lp2p_sha256_init(lp2p_sha256_ctx *c) { SHA256_Init(st(c)); }

void lp2p_sha256_update(lp2p_sha256_ctx *c, const uint8_t *p, size_t n) {
  if (n)
    SHA256_Update(st(c), p, n);
}

void lp2p_sha256_final(lp2p_sha256_ctx *c, uint8_t out[32]) {
  SHA256_Final(out, st(c));
  sodium_memzero(c, sizeof(*c));
}

void lp2p_sha256(uint8_t out[32], const uint8_t *p, size_t n) {
  lp2p_sha256_ctx c;
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, p, n);
  lp2p_sha256_final(&c, out);
}

/* RFC 2104 over SHA-256 (block 64 bytes). Written out rather than using
 * crypto_auth_hmacsha256 so that key lengths of any size behave exactly as
 * the RFC says (keys longer than a block are hashed first). */
void lp2p_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t klen,
                      const uint8_t *msg, size_t mlen) {
  uint8_t k0[64], pad[64], inner[32];
  memset(k0, 0, sizeof(k0));
  if (klen > sizeof(k0))
    lp2p_sha256(k0, key, klen);
  else if (klen)
    memcpy(k0, key, klen);

  lp2p_sha256_ctx c;
  for (size_t i = 0; i < 64; i++)
    pad[i] = (uint8_t)(k0[i] ^ 0x36);
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, pad, 64);
  lp2p_sha256_update(&c, msg, mlen);
  lp2p_sha256_final(&c, inner);

  for (size_t i = 0; i < 64; i++)
    pad[i] = (uint8_t)(k0[i] ^ 0x5c);
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, pad, 64);
  lp2p_sha256_update(&c, inner, 32);
  lp2p_sha256_final(&c, out);

  sodium_memzero(k0, sizeof(k0));
  sodium_memzero(pad, sizeof(pad));
  sodium_memzero(inner, sizeof(inner));
}

/* RFC 5869: PRK = HMAC(salt, IKM) (salt defaults to 32 zero bytes), then
 * T(i) = HMAC(PRK, T(i-1) || info || i), at most 255 blocks. */
int lp2p_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt,
                     size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len) {
  if (out_len > 255 * 32 || (out_len && !out))
    return LP2P_ERR_INVAL;
  static const uint8_t zero_salt[32];
  uint8_t prk[32], t[32];
  if (!salt || salt_len == 0) {
    salt = zero_salt;
    salt_len = sizeof(zero_salt);
  }
  lp2p_hmac_sha256(prk, salt, salt_len, ikm, ikm_len);

  /* HMAC over (T(i-1) || info || counter), streamed by hand so no
   * temporary concatenation buffer is needed. */
  uint8_t k0[64], pad[64], inner[32];
  memset(k0, 0, sizeof(k0));
  memcpy(k0, prk, 32);
  size_t done = 0, tlen = 0;
  for (unsigned i = 1; done < out_len; i++) {
    lp2p_sha256_ctx c;
    uint8_t ctr = (uint8_t)i;
    for (size_t j = 0; j < 64; j++)
      pad[j] = (uint8_t)(k0[j] ^ 0x36);
    lp2p_sha256_init(&c);
    lp2p_sha256_update(&c, pad, 64);
    lp2p_sha256_update(&c, t, tlen);
    lp2p_sha256_update(&c, info, info_len);
    lp2p_sha256_update(&c, &ctr, 1);
    lp2p_sha256_final(&c, inner);
    for (size_t j = 0; j < 64; j++)
      pad[j] = (uint8_t)(k0[j] ^ 0x5c);
    lp2p_sha256_init(&c);
    lp2p_sha256_update(&c, pad, 64);
    lp2p_sha256_update(&c, inner, 32);
    lp2p_sha256_final(&c, t);
    tlen = 32;
    size_t k = out_len - done < 32 ? out_len - done : 32;
    memcpy(out + done, t, k);
    done += k;
  }
  sodium_memzero(prk, sizeof(prk));
  sodium_memzero(t, sizeof(t));
  sodium_memzero(k0, sizeof(k0));
  sodium_memzero(pad, sizeof(pad));
  sodium_memzero(inner, sizeof(inner));
  return 0;
}

int lp2p_memeq_ct(const void *a, const void *b, size_t n) {
  if (n == 0)
    return 0;
  return sodium_memcmp(a, b, n) == 0 ? 0 : 1;
}

void lp2p_memzero(void *p, size_t n) {
  if (p && n)
    sodium_memzero(p, n);
}
