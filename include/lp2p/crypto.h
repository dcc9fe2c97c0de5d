/** lp2p crypto primitives and libp2p keys.
 *
 * Everything here is implemented in crypto/, the only code that calls
 * libsodium, BearSSL and libsecp256k1. Engines in proto/ call these
 * functions; none of them allocates or draws entropy by itself: key
 * generation takes an injected lp2p_rng. */
#ifndef LP2P_CRYPTO_H
#define LP2P_CRYPTO_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hashing / MAC / KDF ---------------------------------------------- */

/** Incremental SHA-256 state (opaque; wraps the backend's state). */
typedef struct lp2p_sha256_ctx {
  _Alignas(16) uint8_t opaque[128];
} lp2p_sha256_ctx;
LP2P_API void lp2p_sha256_init(lp2p_sha256_ctx *c);
LP2P_API void lp2p_sha256_update(lp2p_sha256_ctx *c, const uint8_t *p, size_t n);
LP2P_API void lp2p_sha256_final(lp2p_sha256_ctx *c, uint8_t out[32]);
LP2P_API void lp2p_sha256(uint8_t out[32], const uint8_t *p, size_t n);
/** HMAC-SHA256 (RFC 2104) with any key length. */
LP2P_API void lp2p_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t klen,
                               const uint8_t *msg, size_t mlen);
/** HKDF-SHA256 (RFC 5869). Returns 0 or LP2P_ERR_INVAL (out_len > 8160). */
LP2P_API int lp2p_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt,
                              size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                              const uint8_t *info, size_t info_len);

/* ---- X25519 / ChaCha20-Poly1305 (for Noise) --------------------------- */

/** Public key for a 32-byte private scalar (taken as is from the RNG). */
LP2P_API void lp2p_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
/** Diffie-Hellman. Returns 0 or LP2P_ERR_CRYPTO (low-order point). */
LP2P_API int lp2p_x25519(uint8_t shared[32], const uint8_t priv[32],
                         const uint8_t pub[32]);

#define LP2P_AEAD_TAG_LEN 16
/** ChaCha20-Poly1305 (IETF) with the Noise nonce layout: 4 zero bytes then
 * the 64-bit counter little-endian. `out` holds n + 16 bytes and may equal
 * `pt` (in place). Returns 0, or LP2P_ERR_CRYPTO when the backend
 * (libcrypto) cannot get memory for its per-thread context; `out` is
 * then zeroed. Under LP2P_FUZZING the cipher is a null
 * cipher (copy + zero tag) so fuzzers reach the transport phase. */
LP2P_API int lp2p_aead_encrypt(const uint8_t key[32], uint64_t nonce,
                               const uint8_t *ad, size_t ad_len,
                               const uint8_t *pt, size_t n, uint8_t *out);
/** Decrypts n (>= 16) bytes of ciphertext+tag into `out` (n - 16 bytes; may
 * equal `ct`). Returns 0 or LP2P_ERR_CRYPTO when authentication fails (or
 * the backend fails); `out` is then zeroed, never partial plaintext. */
LP2P_API int lp2p_aead_decrypt(const uint8_t key[32], uint64_t nonce,
                               const uint8_t *ad, size_t ad_len,
                               const uint8_t *ct, size_t n, uint8_t *out);

/** Constant-time compare: 0 when equal. */
LP2P_API int lp2p_memeq_ct(const void *a, const void *b, size_t n);
/** Overwrite secrets. */
LP2P_API void lp2p_memzero(void *p, size_t n);

/* ---- libp2p keys (peer-ids spec: KeyType and the PublicKey/PrivateKey
 * protobufs). Keys are plain values, no allocation. ------------------- */

typedef enum lp2p_key_type {
  LP2P_KEY_RSA = 0,
  LP2P_KEY_ED25519 = 1,
  LP2P_KEY_SECP256K1 = 2,
  LP2P_KEY_ECDSA = 3
} lp2p_key_type;

/** Largest `Data` field of a public key (RSA-4096 PKIX DER is ~550). */
#define LP2P_PUBKEY_DATA_MAX 600
/** Largest `Data` field of a private key (RSA-4096 PKCS#1 DER is ~2350). */
#define LP2P_PRIVKEY_DATA_MAX 2400
/** Largest marshalled PublicKey protobuf. */
#define LP2P_PUBKEY_PB_MAX (LP2P_PUBKEY_DATA_MAX + 8)
#define LP2P_PRIVKEY_PB_MAX (LP2P_PRIVKEY_DATA_MAX + 8)
/** Largest signature (RSA-4096 = 512; DER ECDSA <= 72). */
#define LP2P_SIG_MAX 512

/** A public key: its type and the spec's `Data` bytes (ed25519: 32 raw
 * bytes; secp256k1: 33-byte compressed point; ecdsa: PKIX DER; rsa: PKIX
 * DER). Always validated on unmarshal. */
typedef struct lp2p_pubkey {
  lp2p_key_type type;
  size_t len;
  uint8_t data[LP2P_PUBKEY_DATA_MAX];
} lp2p_pubkey;

/** A private key: type, the spec's `Data` bytes (ed25519: 64 bytes seed ||
 * public; secp256k1: 32-byte scalar; ecdsa: SEC1 DER; rsa: PKCS#1 DER), and
 * the derived public key. */
typedef struct lp2p_privkey {
  lp2p_key_type type;
  size_t len;
  uint8_t data[LP2P_PRIVKEY_DATA_MAX];
  lp2p_pubkey pub;
} lp2p_privkey;

/** Generate a key; all entropy comes from `rng`. `bits` is only for RSA
 * (2048..4096, multiple of 8; 0 = 2048). Returns 0 or LP2P_ERR_INVAL,
 * LP2P_ERR_KEY_TYPE, LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_key_generate(lp2p_privkey *out, lp2p_key_type type,
                               unsigned bits, const lp2p_rng *rng);
/** Sign `msg` as the spec prescribes for the key type (ed25519: pure;
 * rsa: PKCS#1 v1.5 SHA-256; ecdsa P-256 and secp256k1: SHA-256, DER).
 * `*sig_len` is the capacity in, the length out. Returns 0 or
 * LP2P_ERR_NOSPACE, LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_key_sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                           uint8_t *sig, size_t *sig_len);
/** Returns 0 if valid, LP2P_ERR_SIGNATURE if not. */
LP2P_API int lp2p_key_verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                             const uint8_t *sig, size_t sig_len);
/** PublicKey protobuf (field 1 Type varint, field 2 Data bytes), byte-exact
 * deterministic encoding. Returns 0 or LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_pubkey_marshal(const lp2p_pubkey *k, uint8_t *out,
                                 size_t cap, size_t *len);
/** Parse and validate a PublicKey protobuf. Returns 0 or LP2P_ERR_PARSE,
 * LP2P_ERR_KEY_TYPE, LP2P_ERR_LIMIT. */
LP2P_API int lp2p_pubkey_unmarshal(lp2p_pubkey *k, const uint8_t *p, size_t n);
LP2P_API int lp2p_privkey_marshal(const lp2p_privkey *k, uint8_t *out,
                                  size_t cap, size_t *len);
/** Parse a PrivateKey protobuf and derive its public key. */
LP2P_API int lp2p_privkey_unmarshal(lp2p_privkey *k, const uint8_t *p,
                                    size_t n);
/** 1 if both keys have the same type and data. */
LP2P_API int lp2p_pubkey_equal(const lp2p_pubkey *a, const lp2p_pubkey *b);

#ifdef __cplusplus
}
#endif
#endif
