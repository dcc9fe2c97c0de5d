/* secp256k1 keys (peer-ids spec, "Secp256k1"): public Data is the 33-byte
 * compressed point (65-byte uncompressed input is accepted and compressed,
 * as go-libp2p does), private Data the 32-byte scalar. Signatures are
 * ECDSA over SHA-256(msg), DER encoded (BIP-62/66); high-S signatures are
 * normalized before verification, matching go-libp2p. */
#include <secp256k1.h>
#include <secp256k1_preallocated.h>
#include <sodium.h>
#include <string.h>

#include "crypto/keys_internal.h"

/* Signing and public key derivation need a context that is not the static
 * one. A preallocated context on the stack keeps this allocation-free and
 * thread-safe (libsecp256k1 >= 0.2 needs ~200 bytes, no tables). */
#define CTX_BUF_MAX 1024

typedef struct sctx {
  _Alignas(16) unsigned char buf[CTX_BUF_MAX];
  secp256k1_context *ctx;
} sctx;

static int sctx_open(sctx *s, const uint8_t blind[32]) {
  size_t need = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);
  if (need > sizeof(s->buf))
    return LP2P_ERR_INTERNAL;
  s->ctx =
      secp256k1_context_preallocated_create(s->buf, SECP256K1_CONTEXT_NONE);
  if (!s->ctx)
    return LP2P_ERR_INTERNAL;
  /* Blinding against side channels; derived from secret inputs so that
   * runs stay deterministic without drawing entropy here. */
  if (blind && !secp256k1_context_randomize(s->ctx, blind)) {
    secp256k1_context_preallocated_destroy(s->ctx);
    return LP2P_ERR_INTERNAL;
  }
  return 0;
}

static void sctx_close(sctx *s) {
  secp256k1_context_preallocated_destroy(s->ctx);
  sodium_memzero(s->buf, sizeof(s->buf));
}

/* Derive the compressed public key of a valid scalar. */
static int derive_pub(const uint8_t sk[32], lp2p_pubkey *pub) {
  sctx s;
  uint8_t blind[32];
  crypto_hash_sha256(blind, sk, 32);
  int rc = sctx_open(&s, blind);
  sodium_memzero(blind, sizeof(blind));
  if (rc)
    return rc;
  secp256k1_pubkey pk;
  size_t len = 33;
  if (!secp256k1_ec_pubkey_create(s.ctx, &pk, sk) ||
      !secp256k1_ec_pubkey_serialize(s.ctx, pub->data, &len, &pk,
                                     SECP256K1_EC_COMPRESSED) ||
      len != 33)
    rc = LP2P_ERR_CRYPTO;
  sctx_close(&s);
  if (rc)
    return rc;
  pub->type = LP2P_KEY_SECP256K1;
  pub->len = 33;
  return 0;
}

static int gen(lp2p_privkey *k, unsigned bits, const lp2p_rng *rng) {
  (void)bits;
  uint8_t sk[32];
  /* A uniform 256-bit string is a valid scalar except with probability
   * ~2^-128; the retry bound only guards against a broken RNG. */
  for (int i = 0; i < 64; i++) {
    rng->fill(rng->ctx, sk, sizeof(sk));
    if (secp256k1_ec_seckey_verify(secp256k1_context_static, sk)) {
      int rc = derive_pub(sk, &k->pub);
      if (rc == 0) {
        memcpy(k->data, sk, 32);
        k->len = 32;
      }
      sodium_memzero(sk, sizeof(sk));
      return rc;
    }
  }
  sodium_memzero(sk, sizeof(sk));
  return LP2P_ERR_CRYPTO;
}

static int sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                uint8_t *sig, size_t *sig_len) {
  uint8_t h[32], blind[32], der[80];
  size_t dlen = sizeof(der);
  if (k->len != 32)
    return LP2P_ERR_CRYPTO;
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  /* blind = SHA-256(sk || h): secret, deterministic. */
  crypto_hash_sha256_state hs;
  crypto_hash_sha256_init(&hs);
  crypto_hash_sha256_update(&hs, k->data, 32);
  crypto_hash_sha256_update(&hs, h, 32);
  crypto_hash_sha256_final(&hs, blind);
  sctx s;
  int rc = sctx_open(&s, blind);
  sodium_memzero(blind, sizeof(blind));
  if (rc)
    return rc;
  secp256k1_ecdsa_signature es;
  /* Default nonce function is RFC 6979; output is already low-S. */
  if (!secp256k1_ecdsa_sign(s.ctx, &es, h, k->data, NULL, NULL) ||
      !secp256k1_ecdsa_signature_serialize_der(s.ctx, der, &dlen, &es))
    rc = LP2P_ERR_CRYPTO;
  sctx_close(&s);
  if (rc)
    return rc;
  if (*sig_len < dlen)
    return LP2P_ERR_NOSPACE;
  memcpy(sig, der, dlen);
  *sig_len = dlen;
  return 0;
}

static int verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                  const uint8_t *sig, size_t sig_len) {
  const secp256k1_context *c = secp256k1_context_static;
  secp256k1_pubkey pk;
  secp256k1_ecdsa_signature es;
  uint8_t h[32];
  if (k->len != 33 || !secp256k1_ec_pubkey_parse(c, &pk, k->data, 33))
    return LP2P_ERR_SIGNATURE;
  if (sig_len == 0 || sig_len > 72 ||
      !secp256k1_ecdsa_signature_parse_der(c, &es, sig, sig_len))
    return LP2P_ERR_SIGNATURE;
  secp256k1_ecdsa_signature_normalize(c, &es, &es);
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  return secp256k1_ecdsa_verify(c, &es, h, &pk) ? 0 : LP2P_ERR_SIGNATURE;
}

static int pub_load(lp2p_pubkey *k, const uint8_t *d, size_t n) {
  const secp256k1_context *c = secp256k1_context_static;
  secp256k1_pubkey pk;
  size_t len = 33;
  if ((n != 33 && n != 65) || !secp256k1_ec_pubkey_parse(c, &pk, d, n))
    return LP2P_ERR_PARSE;
  if (!secp256k1_ec_pubkey_serialize(c, k->data, &len, &pk,
                                     SECP256K1_EC_COMPRESSED) ||
      len != 33)
    return LP2P_ERR_PARSE;
  k->len = 33;
  return 0;
}

static int priv_load(lp2p_privkey *k, const uint8_t *d, size_t n) {
  if (n != 32 || !secp256k1_ec_seckey_verify(secp256k1_context_static, d))
    return LP2P_ERR_PARSE;
  int rc = derive_pub(d, &k->pub);
  if (rc)
    return rc == LP2P_ERR_INTERNAL ? rc : LP2P_ERR_PARSE;
  memcpy(k->data, d, 32);
  k->len = 32;
  return 0;
}

const key_ops lp2p_key_ops_secp256k1 = {gen, sign, verify, pub_load, priv_load};
