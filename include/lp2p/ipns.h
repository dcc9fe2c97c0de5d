/** IPNS records (IPFS spec "IPNS Record and Protocol", ipns-record.md):
 * parse, validate, select and seal the IpnsEntry protobuf whose `data` is
 * DAG-CBOR {Sequence, TTL, Validity, ValidityType, Value}, signed as
 * signatureV2 over "ipns-signature:" + data. Pure: no allocation; wall
 * time comes in as unix nanoseconds. The DHT stores these under
 * "/ipns/" + the binary peer id. */
#ifndef LP2P_IPNS_H
#define LP2P_IPNS_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/kad.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest record (spec "Record Size Limit": 10 KiB; go and js refuse
 * larger ones). */
#define LP2P_IPNS_RECORD_MAX 10240
/** Suggested TTL (spec "TTL"): 5 minutes. */
#define LP2P_IPNS_TTL_DEFAULT_NS (300 * LP2P_NS_PER_S)
/** RFC 3339 text with nanoseconds: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". */
#define LP2P_RFC3339_NANO_LEN 30

/** A parsed record; every pointer refers into the parsed bytes. The V1
 * fields are what the protobuf carries (has_v1: value or signatureV1
 * present); value, validity, sequence, ttl and validity_type below are
 * the signed DAG-CBOR ones. */
typedef struct lp2p_ipns_record {
  const uint8_t *value;
  size_t value_len;
  const uint8_t *validity; /**< RFC 3339 text */
  size_t validity_len;
  uint64_t validity_type;
  uint64_t sequence;
  uint64_t ttl_ns;
  uint64_t eol_unix_ns;    /**< Validity parsed (0 if before 1970) */
  const uint8_t *pubkey;   /**< embedded PublicKey protobuf, or NULL */
  size_t pubkey_len;
  const uint8_t *data;
  size_t data_len;
  const uint8_t *sig_v2;
  size_t sig_v2_len;
  int has_v1;
} lp2p_ipns_record;

/** Parse the protobuf and its DAG-CBOR data and check that the V1 copies,
 * when present, equal the signed values (spec "Record Verification" step
 * 7). No signature or expiry check. Returns 0 or LP2P_ERR_PARSE,
 * LP2P_ERR_LIMIT (above LP2P_IPNS_RECORD_MAX), LP2P_ERR_UNSUPPORTED (a
 * ValidityType other than 0, EOL). */
LP2P_API int lp2p_ipns_parse(lp2p_ipns_record *r, const uint8_t *p, size_t n);

/** Validate a record under the name `name` (spec "Record Verification"):
 * parse, take the public key (embedded, which must derive `name`, or from
 * an identity-multihash name), verify signatureV2, and check that
 * Validity is after `unix_ns`. `out` (may be NULL) gets the parsed record.
 * Returns 0 or LP2P_ERR_PARSE / _LIMIT / _UNSUPPORTED (see parse),
 * LP2P_ERR_NOT_FOUND (no key: a hashed name without pubKey),
 * LP2P_ERR_PEER_ID_MISMATCH, LP2P_ERR_SIGNATURE, LP2P_ERR_TIMEOUT
 * (expired). */
LP2P_API int lp2p_ipns_verify(const lp2p_peerid *name, const uint8_t *p,
                              size_t n, uint64_t unix_ns,
                              lp2p_ipns_record *out);

/** The DHT validator: key is "/ipns/" + binary peer id. Same returns as
 * lp2p_ipns_verify, plus LP2P_ERR_INVAL for another key shape. */
LP2P_API int lp2p_ipns_validate(const uint8_t *key, size_t key_len,
                                const uint8_t *val, size_t val_len,
                                uint64_t unix_ns, lp2p_ipns_record *out);

/** The DHT selector: the highest Sequence, then the latest Validity, then
 * the earliest index (as js ipns's selector; records that do not parse
 * never win over ones that do). Returns 0 or LP2P_ERR_INVAL (n 0). */
LP2P_API int lp2p_ipns_select(const lp2p_kad_bytes *vals, size_t n,
                              size_t *best);

/** Create and sign a record: `value` (a path such as "/ipfs/bafy..."),
 * `seq`, validity EOL at `eol_unix_ns`, `ttl_ns`. The public key is
 * embedded unless the peer id inlines it (spec "Record Creation" step 4).
 * With `v1_compat` the V1 fields and signatureV1 (over value + validity +
 * "EOL") are written too, as js ipns 10 does by default so that legacy
 * readers accept it. `*len` gets the size (or the size needed after
 * LP2P_ERR_NOSPACE). Returns 0 or LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT (the
 * record would exceed LP2P_IPNS_RECORD_MAX), LP2P_ERR_CRYPTO,
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_ipns_seal(const lp2p_privkey *key, const uint8_t *value,
                            size_t value_len, uint64_t seq,
                            uint64_t eol_unix_ns, uint64_t ttl_ns,
                            int v1_compat, uint8_t *out, size_t cap,
                            size_t *len);

/** Parse RFC 3339 date-time text (fraction up to nanoseconds, "Z" or an
 * offset) into unix nanoseconds; times before 1970 give 0. Returns 0 or
 * LP2P_ERR_PARSE (also for years past 2554, beyond uint64 ns). */
LP2P_API int lp2p_rfc3339_parse(const char *s, size_t n, uint64_t *unix_ns);
/** Format unix nanoseconds as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (always 9
 * fraction digits, UTC). Writes LP2P_RFC3339_NANO_LEN characters and a
 * NUL into out[0..31). */
LP2P_API void lp2p_rfc3339_format(uint64_t unix_ns, char out[32]);

#ifdef __cplusplus
}
#endif
#endif
