/* Ed25519 keys (peer-ids spec, "Ed25519"): public Data is the raw 32-byte
 * key, private Data is seed || public (64 bytes) or the legacy
 * seed || public || public (96 bytes). Signatures are pure Ed25519. */
#include <sodium.h>
#include <string.h>

#include "crypto/keys_internal.h"

static int gen(lp2p_privkey *k, unsigned bits, const lp2p_rng *rng) {
  (void)bits;
  uint8_t seed[32], pk[32], sk[64];
  rng->fill(rng->ctx, seed, sizeof(seed));
  crypto_sign_seed_keypair(pk, sk, seed);
  memcpy(k->data, sk, 64); /* libsodium's sk is already seed || public */
  k->len = 64;
  k->pub.type = LP2P_KEY_ED25519;
  memcpy(k->pub.data, pk, 32);
  k->pub.len = 32;
  sodium_memzero(seed, sizeof(seed));
  sodium_memzero(sk, sizeof(sk));
  return 0;
}

static int sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                uint8_t *sig, size_t *sig_len) {
  if (k->len != 64)
    return LP2P_ERR_CRYPTO;
  if (*sig_len < crypto_sign_BYTES)
    return LP2P_ERR_NOSPACE;
  if (crypto_sign_detached(sig, NULL, msg, (unsigned long long)n, k->data) != 0)
    return LP2P_ERR_CRYPTO;
  *sig_len = crypto_sign_BYTES;
  return 0;
}

static int verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                  const uint8_t *sig, size_t sig_len) {
  if (k->len != 32 || sig_len != crypto_sign_BYTES)
    return LP2P_ERR_SIGNATURE;
  if (crypto_sign_verify_detached(sig, msg, (unsigned long long)n, k->data) !=
      0)
    return LP2P_ERR_SIGNATURE;
  return 0;
}

static int pub_load(lp2p_pubkey *k, const uint8_t *d, size_t n) {
  /* The spec adds no encoding: any 32 bytes (as go-libp2p); points that
   * do not decode simply never verify. */
  if (n != 32)
    return LP2P_ERR_PARSE;
  memcpy(k->data, d, 32);
  k->len = 32;
  return 0;
}

static int priv_load(lp2p_privkey *k, const uint8_t *d, size_t n) {
  /* Spec: accept 64 bytes, and the legacy 96-byte form only when its two
   * public key copies are identical. */
  if (n != 64 && n != 96)
    return LP2P_ERR_PARSE;
  if (n == 96 && memcmp(d + 32, d + 64, 32) != 0)
    return LP2P_ERR_PARSE;
  uint8_t pk[32], sk[64];
  crypto_sign_seed_keypair(pk, sk, d);
  int bad = memcmp(pk, d + 32, 32) != 0; /* public part must match seed */
  sodium_memzero(sk, sizeof(sk));
  if (bad)
    return LP2P_ERR_PARSE;
  memcpy(k->data, d, 64);
  k->len = 64;
  k->pub.type = LP2P_KEY_ED25519;
  memcpy(k->pub.data, pk, 32);
  k->pub.len = 32;
  return 0;
}

const key_ops lp2p_key_ops_ed25519 = {gen, sign, verify, pub_load, priv_load};
