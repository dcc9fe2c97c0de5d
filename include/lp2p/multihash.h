/** Multihash (multiformats/multihash): varint code, varint digest length,
 * digest.
 *
 * Pure codec: no allocation; parsed digests point into the caller's
 * buffer and live as long as it does. Varints follow the multiformats
 * rules (minimal, at most 9 bytes). */
#ifndef LP2P_MULTIHASH_H
#define LP2P_MULTIHASH_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_MH_IDENTITY 0x00
#define LP2P_MH_SHA2_256 0x12
#define LP2P_MH_SHA2_256_LEN 32
/** Longest multihash lp2p reads: bounds every digest (identity peer ids
 * are at most 42 key bytes; digests of known functions are <= 64). */
#define LP2P_MH_DIGEST_MAX 128
/** Largest multihash in bytes (code + length varints + digest). */
#define LP2P_MH_MAX (LP2P_MH_DIGEST_MAX + 11)

/** Read one multihash from the front of p[0..n) (trailing bytes allowed).
 * Returns the bytes it takes (> 0) and sets code/digest/dlen (any may be
 * NULL), or one of: LP2P_ERR_PARSE (bad or truncated varint, digest runs
 * past the end, sha2-256 digest not 32 bytes), LP2P_ERR_LIMIT (digest longer
 * than LP2P_MH_DIGEST_MAX). Unknown hash codes are accepted. */
LP2P_API lp2p_ssize lp2p_multihash_read(const uint8_t *p, size_t n,
                                        uint64_t *code, const uint8_t **digest,
                                        size_t *dlen);

/** Parse p[0..n) as exactly one multihash (no trailing bytes). Returns 0
 * or one of the errors of lp2p_multihash_read, or LP2P_ERR_PARSE for
 * trailing bytes. */
LP2P_API int lp2p_multihash_parse(const uint8_t *p, size_t n, uint64_t *code,
                                  const uint8_t **digest, size_t *dlen);

/** Write the identity multihash of p[0..n) (0x00, varint n, p) into
 * out[0..cap). Returns 0 or one of: LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT
 * (n > LP2P_MH_DIGEST_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_multihash_identity(const uint8_t *p, size_t n, uint8_t *out,
                                     size_t cap, size_t *len);

/** Write the sha2-256 multihash of p[0..n) (0x12 0x20 digest, 34 bytes).
 * Returns 0 or LP2P_ERR_NOSPACE / LP2P_ERR_INVAL. */
LP2P_API int lp2p_multihash_sha256(const uint8_t *p, size_t n, uint8_t *out,
                                   size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
