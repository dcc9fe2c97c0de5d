/** Signed envelopes (libp2p RFC 0002) and peer records (RFC 0003, as
 * go-libp2p and js-libp2p implement them).
 *
 * Pure codecs over caller buffers: nothing is allocated. An opened
 * envelope's pointers point into the caller's input and live as long as
 * it does. */
#ifndef LP2P_RECORD_H
#define LP2P_RECORD_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest marshalled envelope lp2p seals or opens. Also bounds the
 * stack buffer in which the signed bytes are assembled. */
#define LP2P_ENVELOPE_MAX 8192
/** Longest domain separation string (bytes, without NUL). */
#define LP2P_ENVELOPE_DOMAIN_MAX 255

/** An opened, verified envelope. */
typedef struct lp2p_envelope_view {
  lp2p_pubkey key;             /**< the signer's public key (copied) */
  lp2p_peerid signer;          /**< peer id derived from `key` */
  const uint8_t *payload_type; /**< into the input; may be NULL if empty */
  size_t payload_type_len;
  const uint8_t *payload; /**< into the input; may be NULL if empty */
  size_t payload_len;
  const uint8_t *signature; /**< into the input */
  size_t signature_len;
} lp2p_envelope_view;

/** Sign `payload` with `k` under `domain` (NUL-terminated) and write the
 * marshalled Envelope protobuf (public_key 1, payload_type 2, payload 3,
 * signature 5; empty byte fields omitted as proto3 does) to out[0..cap).
 * The signature covers varint(len) || domain || varint(len) || ptype ||
 * varint(len) || payload, assembled in a bounded stack buffer. `*len`
 * (may be NULL) gets the size, also after LP2P_ERR_NOSPACE. Returns 0 or
 * one of: LP2P_ERR_INVAL (NULL argument, empty or too long domain),
 * LP2P_ERR_LIMIT (envelope would exceed LP2P_ENVELOPE_MAX),
 * LP2P_ERR_NOSPACE, LP2P_ERR_CRYPTO. */
LP2P_API int lp2p_envelope_seal(const lp2p_privkey *k, const char *domain,
                                const uint8_t *ptype, size_t ptlen,
                                const uint8_t *payload, size_t plen,
                                uint8_t *out, size_t cap, size_t *len);

/** Parse an Envelope protobuf p[0..n) and verify its signature under
 * `expected_domain` (NUL-terminated). On success `*out` holds the key, the
 * signer's peer id and pointers into `p`; on error `*out` is zeroed.
 * Unknown fields are skipped (proto3); repeated known fields are
 * rejected. Returns 0 or one of: LP2P_ERR_PARSE (malformed protobuf or
 * public key, missing public key), LP2P_ERR_KEY_TYPE (unknown key type),
 * LP2P_ERR_SIGNATURE (signature missing or invalid, including a domain
 * mismatch), LP2P_ERR_LIMIT (n > LP2P_ENVELOPE_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_envelope_open(const uint8_t *p, size_t n,
                                const char *expected_domain,
                                lp2p_envelope_view *out);

/* ---- peer records ------------------------------------------------------ */

/** Domain string of peer record envelopes. */
#define LP2P_PEER_RECORD_DOMAIN "libp2p-peer-record"
/** Payload type of peer record envelopes: the bytes 0x03 0x01, exactly as
 * go-libp2p and js-libp2p write them (the multicodec 0x0301 in big-endian
 * bytes; note this is not its varint form 0x81 0x06). */
#define LP2P_PEER_RECORD_PAYLOAD_TYPE ((const uint8_t *)"\x03\x01")
#define LP2P_PEER_RECORD_PAYLOAD_TYPE_LEN 2
/** Most addresses a decoded peer record holds. */
#define LP2P_PEER_RECORD_ADDRS_MAX 32

/** A decoded PeerRecord. Large (about 17 KiB): keep it off small stacks. */
typedef struct lp2p_peer_record {
  lp2p_peerid peer_id;
  uint64_t seq;
  size_t addrs_len;
  /** AddressInfo entries dropped because their multiaddr is not valid or
   * uses a protocol lp2p does not know (go-libp2p drops them too). */
  size_t addrs_skipped;
  lp2p_maddr addrs[LP2P_PEER_RECORD_ADDRS_MAX];
} lp2p_peer_record;

/** Marshal PeerRecord {peer_id 1, seq 2, addresses 3 = AddressInfo
 * {multiaddr 1}} into out[0..cap) (seq 0 omitted as proto3 does). `*len`
 * (may be NULL) gets the size, also after LP2P_ERR_NOSPACE. Returns 0 or
 * one of: LP2P_ERR_INVAL (NULL, invalid peer id or address),
 * LP2P_ERR_LIMIT (naddrs > LP2P_PEER_RECORD_ADDRS_MAX), LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_peer_record_encode(const lp2p_peerid *id, uint64_t seq,
                                     const lp2p_maddr *addrs, size_t naddrs,
                                     uint8_t *out, size_t cap, size_t *len);

/** Decode a PeerRecord protobuf. Invalid addresses are skipped and
 * counted. Returns 0 or one of: LP2P_ERR_PARSE (malformed protobuf,
 * missing or invalid peer id, repeated peer_id/seq), LP2P_ERR_LIMIT (more
 * than LP2P_PEER_RECORD_ADDRS_MAX valid addresses), LP2P_ERR_INVAL. */
LP2P_API int lp2p_peer_record_decode(lp2p_peer_record *rec, const uint8_t *p,
                                     size_t n);

/** Encode a record for `k`'s own peer id and seal it in an envelope with
 * the peer record domain and payload type. Returns 0 or the errors of
 * lp2p_peer_record_encode and lp2p_envelope_seal. */
LP2P_API int lp2p_peer_record_seal(const lp2p_privkey *k, uint64_t seq,
                                   const lp2p_maddr *addrs, size_t naddrs,
                                   uint8_t *out, size_t cap, size_t *len);

/** Open a peer record envelope: verify it (peer record domain), check the
 * payload type, decode the record and check that its peer id is the
 * envelope key's. `env` may be NULL. Returns 0 or the errors of
 * lp2p_envelope_open and lp2p_peer_record_decode, or
 * LP2P_ERR_UNSUPPORTED (other payload type), LP2P_ERR_PEER_ID_MISMATCH. */
LP2P_API int lp2p_peer_record_open(const uint8_t *p, size_t n,
                                   lp2p_peer_record *rec,
                                   lp2p_envelope_view *env);

#ifdef __cplusplus
}
#endif
#endif
