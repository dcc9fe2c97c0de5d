/** Content identifiers (multiformats/cid), binary and text.
 *
 * Pure codec: no allocation. A binary CIDv1 is <varint 1><varint codec>
 * <multihash>; a CIDv0 is a bare sha2-256 multihash (implicit codec
 * dag-pb), written in text as base58btc "Qm...". libp2p uses CIDv1 with
 * codec libp2p-key (0x72) to print peer ids in a multibase. */
#ifndef LP2P_CID_H
#define LP2P_CID_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_CID_RAW 0x55
#define LP2P_CID_DAG_PB 0x70
#define LP2P_CID_LIBP2P_KEY 0x72
/** Largest binary CID lp2p handles (2 varints + LP2P_MH_MAX). */
#define LP2P_CID_MAX 160

/** A parsed CID; `mh` points into the parsed buffer. */
typedef struct lp2p_cid {
  uint64_t version; /**< 0 or 1 */
  uint64_t codec;   /**< multicodec; dag-pb for version 0 */
  const uint8_t *mh;
  size_t mh_len;
} lp2p_cid;

/** Parse a binary CID p[0..n) (exactly, no trailing bytes). A 34-byte
 * input starting 0x12 0x20 is CIDv0. Returns 0 or one of: LP2P_ERR_PARSE
 * (bad varint, version other than 1, bad multihash, trailing bytes),
 * LP2P_ERR_LIMIT (digest too long), LP2P_ERR_INVAL. */
LP2P_API int lp2p_cid_decode(const uint8_t *p, size_t n, lp2p_cid *out);

/** Write the binary CIDv1 <1><codec><mh> into out[0..cap). `mh` must be a
 * valid multihash. Returns 0 or one of: LP2P_ERR_NOSPACE, LP2P_ERR_PARSE
 * (mh is not one multihash), LP2P_ERR_INVAL (codec > 2^63-1, NULL). */
LP2P_API int lp2p_cid_encode(uint64_t codec, const uint8_t *mh, size_t mh_len,
                             uint8_t *out, size_t cap, size_t *len);

/** Text form of a binary CID: CIDv1 as multibase `base` (libp2p prints
 * 'b', base32 lower), CIDv0 always as bare base58btc. Returns 0 or one of:
 * LP2P_ERR_PARSE (not a CID), LP2P_ERR_UNSUPPORTED (base),
 * LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT. */
LP2P_API int lp2p_cid_to_text(char base, const uint8_t *cid, size_t n,
                              char *out, size_t cap, size_t *len);

/** Parse a CID in text: "Qm..." (46 chars, CIDv0 base58btc) or a multibase
 * CIDv1. Writes the binary CID to out[0..cap). Returns 0 or one of:
 * LP2P_ERR_PARSE, LP2P_ERR_UNSUPPORTED (multibase prefix), LP2P_ERR_LIMIT,
 * LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_cid_from_text(const char *s, size_t n, uint8_t *out,
                                size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
