/** Unsigned varints (multiformats unsigned-varint spec).
 *
 * Pure codec: no allocation, caller buffers. libp2p framing (length
 * prefixes, multicodec codes, multiaddr protocol codes) uses the
 * multiformats rules: at most 9 bytes (63 bits) and minimal encoding only.
 * Protobuf varints (up to 10 bytes) have their own decoder in protobuf.h. */
#ifndef LP2P_VARINT_H
#define LP2P_VARINT_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest encoding of any uint64_t (protobuf context). */
#define LP2P_VARINT_MAX_LEN 10
/** Longest varint accepted by lp2p_varint_decode (multiformats: 9 bytes). */
#define LP2P_VARINT_MF_MAX_LEN 9

/** Number of bytes lp2p_varint_encode writes for `v` (1..10). */
LP2P_API size_t lp2p_varint_len(uint64_t v);

/** Encode `v` minimally into out[0..cap). On success `*len` (may be NULL)
 * gets the byte count. Any uint64_t is encodable (10 bytes above 2^63-1;
 * such values are not valid multiformats varints and only protobuf uses
 * them). Returns 0 or one of: LP2P_ERR_NOSPACE (nothing written),
 * LP2P_ERR_INVAL (out NULL with cap > 0). */
LP2P_API int lp2p_varint_encode(uint64_t v, uint8_t *out, size_t cap,
                                size_t *len);

/** Decode a multiformats unsigned varint from p[0..n). Reads at most
 * min(n, 9) bytes. Returns the number of bytes consumed (> 0) and sets `*v`,
 * or one of: LP2P_ERR_TRUNCATED (input ends inside the varint, more input
 * may complete it), LP2P_ERR_NONMINIMAL (a trailing 0x00 continuation byte,
 * e.g. 80 00), LP2P_ERR_OVERFLOW (more than 9 bytes / 63 bits),
 * LP2P_ERR_INVAL (p or v NULL). `*v` is untouched on error. */
LP2P_API lp2p_ssize lp2p_varint_decode(const uint8_t *p, size_t n, uint64_t *v);

#ifdef __cplusplus
}
#endif
#endif
