/* ChaCha20-Poly1305 with a caller-given 12-byte nonce and a choice of
 * backend: what lp2p_aead_encrypt/decrypt (crypto.h) run, with AUTO,
 * after laying out the Noise nonce. Internal to crypto/ and its tests,
 * which need it for RFC 8439 vectors whose nonce does not start with four
 * zero bytes (section 2.8.2) and to check both backends on the same
 * inputs. Only lp2p_aead_init exists in fuzz builds (LP2P_FUZZING has a
 * null cipher). Same
 * contract as the public pair: in place allowed, tag after the
 * ciphertext, `out` zeroed on failure; returns 0 or LP2P_ERR_CRYPTO. */
#ifndef LP2P_CRYPTO_AEAD_INTERNAL_H
#define LP2P_CRYPTO_AEAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum {
  LP2P_AEAD_AUTO = 0, /* libsodium for short messages, libcrypto else */
  LP2P_AEAD_SODIUM,   /* always libsodium */
  LP2P_AEAD_LIBCRYPTO /* always libcrypto (EVP) */
};

/* Loads what the libcrypto backend needs (once; later calls are free).
 * Returns 0 or LP2P_ERR_CRYPTO. */
int lp2p_aead_init(void);

int lp2p_aead_encrypt_iv(int backend, const uint8_t key[32],
                         const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                         const uint8_t *pt, size_t n, uint8_t *out);
int lp2p_aead_decrypt_iv(int backend, const uint8_t key[32],
                         const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                         const uint8_t *ct, size_t n, uint8_t *out);

#endif
