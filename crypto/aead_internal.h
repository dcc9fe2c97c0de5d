/* ChaCha20-Poly1305 with a caller-given 12-byte nonce: what
 * lp2p_aead_encrypt/decrypt (crypto.h) run after laying out the Noise
 * nonce. Internal to crypto/ and its tests, which need it for RFC 8439
 * vectors whose nonce does not start with four zero bytes (section
 * 2.8.2). Not in fuzz builds (LP2P_FUZZING has a null cipher). Same
 * contract as the public pair: in place allowed, tag after the
 * ciphertext, `out` zeroed on failure; returns 0 or LP2P_ERR_CRYPTO. */
#ifndef LP2P_CRYPTO_AEAD_INTERNAL_H
#define LP2P_CRYPTO_AEAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

int lp2p_aead_encrypt_iv(const uint8_t key[32], const uint8_t iv[12],
                         const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                         size_t n, uint8_t *out);
int lp2p_aead_decrypt_iv(const uint8_t key[32], const uint8_t iv[12],
                         const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                         size_t n, uint8_t *out);

#endif
