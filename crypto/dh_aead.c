/* X25519 (RFC 7748) and ChaCha20-Poly1305 (RFC 8439) for Noise, over
 * libsodium. The Noise spec (section 12.3, ChaChaPoly) maps the 64-bit
 * nonce n to 32 bits of zeros followed by the little-endian encoding of n. */
#include <sodium.h>
#include <string.h>

#include "lp2p/crypto.h"

void lp2p_x25519_public(uint8_t pub[32], const uint8_t priv[32]) {
  crypto_scalarmult_base(pub, priv);
}

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
static void noise_nonce(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(n >> (8 * i));
}

int lp2p_aead_encrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *pt, size_t n,
                      uint8_t *out) {
  uint8_t npub[12];
  noise_nonce(npub, nonce);
  /* Detached form: the tag goes after the ciphertext and the ciphertext
   * may overwrite the plaintext in place. */
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out, out + n, NULL, pt, (unsigned long long)n, ad,
      (unsigned long long)ad_len, NULL, npub, key);
  return 0;
}

int lp2p_aead_decrypt(const uint8_t key[32], uint64_t nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *ct, size_t n,
                      uint8_t *out) {
  if (n < LP2P_AEAD_TAG_LEN)
    return LP2P_ERR_CRYPTO;
  uint8_t npub[12];
  noise_nonce(npub, nonce);
  size_t m = n - LP2P_AEAD_TAG_LEN;
  /* libsodium checks the tag before decrypting anything. */
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          out, NULL, ct, (unsigned long long)m, ct + m, ad,
          (unsigned long long)ad_len, npub, key) != 0)
    return LP2P_ERR_CRYPTO;
  return 0;
}
#endif
