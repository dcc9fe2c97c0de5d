/** Multibase text encodings (multiformats/multibase) and plain hex.
 *
 * Pure codecs: no allocation, caller buffers. Encoders write characters
 * (not NUL-terminated in the count; a NUL is added after them when there
 * is room, so `cap = *len + 1` gives a C string). Decoders are strict and
 * canonical: one alphabet per base (case matters), no padding, no
 * whitespace, unused trailing bits must be zero, so decoding then encoding
 * always gives back the input.
 *
 * Bases are named by their multibase prefix character:
 *   'z' base58btc, 'b' base32 (RFC 4648 lower), 'B' base32 upper,
 *   'v' base32hex lower, 'k' base36 lower, 'm' base64 (RFC 4648, no pad),
 *   'u' base64url (no pad), 'f' base16 lower. */
#ifndef LP2P_MULTIBASE_H
#define LP2P_MULTIBASE_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_BASE58BTC 'z'
#define LP2P_BASE32 'b'
#define LP2P_BASE32UPPER 'B'
#define LP2P_BASE32HEX 'v'
#define LP2P_BASE36 'k'
#define LP2P_BASE64 'm'
#define LP2P_BASE64URL 'u'
#define LP2P_BASE16 'f'

/** base58 and base36 use a quadratic big-number conversion, so their
 * input is bounded: at most this many characters to decode ... */
#define LP2P_BASE58_MAX_CHARS 1024
/** ... and at most this many bytes to encode (base58 of that is < 1024
 * chars; base36 needs more characters per byte, so its encoder also
 * returns LP2P_ERR_LIMIT when the text would exceed the decode bound). */
#define LP2P_BASE58_MAX_BYTES 740

/** Bitcoin base58 ("base58btc"): leading zero bytes become '1'.
 * Returns 0 or one of: LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT (n >
 * LP2P_BASE58_MAX_BYTES), LP2P_ERR_INVAL (NULL pointer with n/cap > 0). */
LP2P_API int lp2p_base58_encode(const uint8_t *p, size_t n, char *out,
                                size_t cap, size_t *len);
/** Returns 0 or one of: LP2P_ERR_PARSE (character outside the alphabet),
 * LP2P_ERR_LIMIT (n > LP2P_BASE58_MAX_CHARS), LP2P_ERR_NOSPACE,
 * LP2P_ERR_INVAL. An empty string decodes to 0 bytes. */
LP2P_API int lp2p_base58_decode(const char *s, size_t n, uint8_t *out,
                                size_t cap, size_t *len);

/** Encode in base `base` (a prefix char above) without the prefix.
 * Returns 0 or one of: LP2P_ERR_UNSUPPORTED (unknown base),
 * LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT (base58/base36 input too long, or
 * text longer than LP2P_BASE58_MAX_CHARS),
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_base_encode(char base, const uint8_t *p, size_t n, char *out,
                              size_t cap, size_t *len);
/** Decode s[0..n) in base `base` (no prefix). Returns 0 or one of:
 * LP2P_ERR_UNSUPPORTED, LP2P_ERR_PARSE (bad character, impossible length,
 * non-zero trailing bits), LP2P_ERR_LIMIT, LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_base_decode(char base, const char *s, size_t n, uint8_t *out,
                              size_t cap, size_t *len);
/** Upper bound on the characters lp2p_base_encode writes for n bytes
 * (exact for the power-of-two bases); 0 for an unknown base. */
LP2P_API size_t lp2p_base_encoded_max(char base, size_t n);

/** Multibase: the prefix character then the encoding. Same errors as
 * lp2p_base_encode. */
LP2P_API int lp2p_multibase_encode(char prefix, const uint8_t *p, size_t n,
                                   char *out, size_t cap, size_t *len);
/** Decode a multibase string (base taken from s[0]). Returns 0 or one of:
 * LP2P_ERR_PARSE (empty string or bad body), LP2P_ERR_UNSUPPORTED
 * (unknown prefix), LP2P_ERR_LIMIT, LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_multibase_decode(const char *s, size_t n, uint8_t *out,
                                   size_t cap, size_t *len);

/** Lowercase hex, 2n characters. Returns 0 or LP2P_ERR_NOSPACE /
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_hex_encode(const uint8_t *p, size_t n, char *out, size_t cap,
                             size_t *len);
/** Hex in either case (unlike multibase 'f', which is lowercase only).
 * Returns 0 or one of: LP2P_ERR_PARSE (odd length, non-hex character),
 * LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                             size_t *len);

#ifdef __cplusplus
}
#endif
#endif
