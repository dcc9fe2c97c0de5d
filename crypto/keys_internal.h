/* Per-key-type operations behind crypto/keys.c. Internal to crypto/. */
#ifndef LP2P_CRYPTO_KEYS_INTERNAL_H
#define LP2P_CRYPTO_KEYS_INTERNAL_H

#include "lp2p/crypto.h"

typedef struct key_ops {
  /* Fill k->data/len and k->pub from fresh randomness. */
  int (*generate)(lp2p_privkey *k, unsigned bits, const lp2p_rng *rng);
  int (*sign)(const lp2p_privkey *k, const uint8_t *msg, size_t n, uint8_t *sig,
              size_t *sig_len);
  /* 0 or LP2P_ERR_SIGNATURE. */
  int (*verify)(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                const uint8_t *sig, size_t sig_len);
  /* Validate a public key's Data and store its canonical form in k. */
  int (*pub_load)(lp2p_pubkey *k, const uint8_t *d, size_t n);
  /* Validate a private key's Data, store its canonical form and derive
   * the public key. */
  int (*priv_load)(lp2p_privkey *k, const uint8_t *d, size_t n);
} key_ops;

extern const key_ops lp2p_key_ops_rsa;
extern const key_ops lp2p_key_ops_ed25519;
extern const key_ops lp2p_key_ops_secp256k1;
extern const key_ops lp2p_key_ops_ecdsa;

#endif
