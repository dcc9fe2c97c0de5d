/** libp2p peer ids (peer-ids spec, "Peer Ids"; RFC 0001 text form).
 *
 * A peer id is the multihash of a marshalled PublicKey protobuf: the
 * identity multihash when the protobuf is at most 42 bytes (ed25519,
 * secp256k1), sha2-256 otherwise (RSA, ECDSA). Peer ids are plain values:
 * no allocation, copy freely. */
#ifndef LP2P_PEERID_H
#define LP2P_PEERID_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest binary peer id (a multihash) lp2p handles. */
#define LP2P_PEERID_MAX 64
/** Room for any peer id in text (base58btc or CIDv1 base32) plus a NUL. */
#define LP2P_PEERID_TEXT_MAX 128
/** Marshalled public keys up to this size are inlined (identity hash). */
#define LP2P_PEERID_INLINE_MAX 42

/** A peer id: `bytes[0..len)` is the multihash. */
typedef struct lp2p_peerid {
  size_t len;
  uint8_t bytes[LP2P_PEERID_MAX];
} lp2p_peerid;

/** Derive the peer id of a public key. Returns 0 or one of:
 * LP2P_ERR_INVAL (NULL or malformed key struct). */
LP2P_API int lp2p_peerid_from_pubkey(lp2p_peerid *out, const lp2p_pubkey *k);

/** Take a binary peer id (a multihash): identity (any digest that fits) or
 * sha2-256 with a 32-byte digest. Returns 0 or one of: LP2P_ERR_PARSE
 * (not exactly one valid multihash), LP2P_ERR_UNSUPPORTED (other hash
 * function), LP2P_ERR_LIMIT (longer than LP2P_PEERID_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_peerid_from_bytes(lp2p_peerid *out, const uint8_t *p,
                                    size_t n);

/** Parse a peer id in text: bare base58btc multihash ("Qm...", "1...") or
 * a multibase CIDv1 whose codec is libp2p-key (0x72), e.g. "bafz...".
 * `text` need not be NUL-terminated. Returns 0 or one of: LP2P_ERR_PARSE,
 * LP2P_ERR_UNSUPPORTED (unknown multibase, hash function or CID codec),
 * LP2P_ERR_LIMIT (n > LP2P_PEERID_TEXT_MAX or id too long), LP2P_ERR_INVAL. */
LP2P_API int lp2p_peerid_parse(lp2p_peerid *out, const char *text, size_t n);

/** Write the legacy (and default) text form, base58btc of the multihash,
 * into out[0..cap). `*len` gets the characters written; a NUL follows them
 * when there is room (cap LP2P_PEERID_TEXT_MAX always suffices). Returns 0
 * or one of: LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_peerid_to_base58(const lp2p_peerid *id, char *out, size_t cap,
                                   size_t *len);

/** Write the CIDv1 (libp2p-key) text form in base32 ("bafz..."); same
 * conventions and errors as lp2p_peerid_to_base58. */
LP2P_API int lp2p_peerid_to_cid_base32(const lp2p_peerid *id, char *out,
                                       size_t cap, size_t *len);

/** 1 if both ids are the same bytes, else 0. */
LP2P_API int lp2p_peerid_equal(const lp2p_peerid *a, const lp2p_peerid *b);

/** Extract the public key inlined in an identity-multihash peer id.
 * Returns 0 or one of: LP2P_ERR_NOT_FOUND (a sha2-256 id: the key is not
 * in it), LP2P_ERR_PARSE / LP2P_ERR_KEY_TYPE / LP2P_ERR_LIMIT (inlined key
 * invalid), LP2P_ERR_INVAL. */
LP2P_API int lp2p_peerid_pubkey(const lp2p_peerid *id, lp2p_pubkey *out);

/** 1 if `k` derives exactly the peer id `id`, else 0. */
LP2P_API int lp2p_peerid_matches_pubkey(const lp2p_peerid *id,
                                        const lp2p_pubkey *k);

#ifdef __cplusplus
}
#endif
#endif
