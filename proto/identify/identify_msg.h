/* Identify message codec (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0), pure:
 * caller buffers, no allocation. Not a public header: the host and the
 * tests use it.
 *
 * Wire (identify spec, "The Identify Message"; proto2):
 *   publicKey=1 bytes, listenAddrs=2 repeated bytes, protocols=3 repeated
 *   string, observedAddr=4 bytes, protocolVersion=5 string,
 *   agentVersion=6 string, signedPeerRecord=8 bytes.
 * On a stream every message is prefixed with its length as an unsigned
 * varint. A response may be split over several messages: protobuf merge
 * semantics (a later scalar wins, repeated fields append) are exactly what
 * parsing the concatenation of the bodies gives, so the receiver keeps the
 * concatenated bodies and parses them once. */
#ifndef LP2P_PROTO_IDENTIFY_MSG_H
#define LP2P_PROTO_IDENTIFY_MSG_H

#include "lp2p/common.h"

#define LP2P_ID_PROTOCOL "/ipfs/id/1.0.0"
#define LP2P_ID_PUSH_PROTOCOL "/ipfs/id/push/1.0.0"

#define LP2P_ID_F_PUBLIC_KEY 1u
#define LP2P_ID_F_LISTEN_ADDRS 2u
#define LP2P_ID_F_PROTOCOLS 3u
#define LP2P_ID_F_OBSERVED_ADDR 4u
#define LP2P_ID_F_PROTOCOL_VERSION 5u
#define LP2P_ID_F_AGENT_VERSION 6u
#define LP2P_ID_F_SIGNED_PEER_RECORD 8u

/* A byte run (not NUL-terminated). */
typedef struct lp2p_id_slice {
  const uint8_t *p;
  size_t len;
} lp2p_id_slice;

/* What to encode. Absent optional fields: p NULL (len 0 with p non-NULL
 * encodes an empty field). */
typedef struct lp2p_id_fields {
  lp2p_id_slice protocol_version;
  lp2p_id_slice agent_version;
  lp2p_id_slice public_key;          /* PublicKey protobuf */
  lp2p_id_slice observed_addr;       /* binary multiaddr */
  lp2p_id_slice signed_peer_record;  /* envelope bytes */
  const lp2p_id_slice *listen_addrs; /* binary multiaddrs */
  size_t listen_addrs_len;
  const lp2p_id_slice *protocols;
  size_t protocols_len;
} lp2p_id_fields;

/* Encode one Identify message body (no length prefix) into out[0..cap).
 * `*len` gets the size (or, after LP2P_ERR_NOSPACE, the size needed).
 * Returns 0 or LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
int lp2p_id_encode(const lp2p_id_fields *f, uint8_t *out, size_t cap,
                   size_t *len);

/* Limits applied while parsing (a peer crossing one: LP2P_ERR_LIMIT). */
typedef struct lp2p_id_limits {
  size_t listen_addrs_max;
  size_t protocols_max;
  size_t protocol_bytes_max; /* one protocol id */
  size_t addr_bytes_max;     /* one multiaddr */
  size_t string_bytes_max;   /* agent / protocol version */
} lp2p_id_limits;

void lp2p_id_limits_default(lp2p_id_limits *l);

/* A parsed (possibly merged) message: views into the caller's buffer.
 * `has` is a bit set of (1u << field number) for every field present. */
typedef struct lp2p_id_view {
  const uint8_t *msg;
  size_t msg_len;
  unsigned has;
  lp2p_id_slice protocol_version;
  lp2p_id_slice agent_version;
  lp2p_id_slice public_key;
  lp2p_id_slice observed_addr;
  lp2p_id_slice signed_peer_record;
  size_t listen_addrs_len;
  size_t protocols_len;
} lp2p_id_view;

/* Parse p[0..n) (one body, or several concatenated bodies = merged).
 * Unknown fields are skipped. Protocol ids must be non-empty and free of
 * '\n' and NUL; strings free of NUL. Returns 0 or LP2P_ERR_PARSE (bad
 * protobuf, wrong wire type, bad string), LP2P_ERR_LIMIT. */
int lp2p_id_parse(lp2p_id_view *v, const uint8_t *p, size_t n,
                  const lp2p_id_limits *lim);

/* Iterate a repeated field (LP2P_ID_F_LISTEN_ADDRS or _PROTOCOLS) of a
 * parsed view. `*pos` starts at 0. Returns 1 (sets *out), 0 at the end. */
int lp2p_id_next(const lp2p_id_view *v, unsigned field, size_t *pos,
                 lp2p_id_slice *out);

/* ---- stream framing: varint length prefix ------------------------------ */

/* Incremental reader of length-prefixed messages into one caller buffer
 * that accumulates the bodies (the merge described above). */
typedef struct lp2p_id_reader {
  uint8_t *buf;        /* caller storage, `cap` bytes */
  size_t cap;          /* total bytes of bodies accepted */
  size_t len;          /* bodies stored so far */
  size_t msg_max;      /* largest single message */
  uint64_t want;       /* bytes left in the current body */
  uint8_t hdr[10];
  uint8_t hdr_len;
  uint8_t in_body;
  uint32_t messages;
  int err;             /* sticky */
} lp2p_id_reader;

void lp2p_id_reader_init(lp2p_id_reader *r, uint8_t *buf, size_t cap,
                         size_t msg_max);
/* Feed stream bytes. Returns bytes consumed (always n unless an error) or
 * a negative error (sticky): LP2P_ERR_LIMIT (message or total too big),
 * LP2P_ERR_PARSE (bad varint). */
lp2p_ssize lp2p_id_reader_feed(lp2p_id_reader *r, const uint8_t *p, size_t n);
/* At EOF: 0 when every message is complete, else LP2P_ERR_TRUNCATED (or
 * the sticky error). */
int lp2p_id_reader_finish(const lp2p_id_reader *r);

#endif
