/* AutoNAT v2 (libp2p specs, autonat/autonat-v2.md): the message codec and
 * three pure engines, none of which knows the host.
 *
 *   - lp2p_autonat_creq: one client request on a /dial-request stream
 *     (DialRequest out, DialDataRequest answered within a byte budget,
 *     DialResponse in);
 *   - lp2p_autonat_sreq: one server request (DialRequest in, address
 *     selection, amplification guard, a dial-back asked of the caller,
 *     DialResponse out), with lp2p_autonat_limiter for the rate limits;
 *   - lp2p_autonat_book: the client's per-address bookkeeping (which
 *     address to ask which server about, nonces, the verdict rule,
 *     re-check times, the host's overall reachability).
 *
 * Time and randomness come in as arguments; memory only through lp2p_mem. */
#ifndef LP2P_AUTONAT_H
#define LP2P_AUTONAT_H

#include "lp2p/common.h"
#include "lp2p/multiaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL "/libp2p/autonat/2/dial-request"
#define LP2P_AUTONAT_DIAL_BACK_PROTOCOL "/libp2p/autonat/2/dial-back"

/** Largest message body we read (js-libp2p's MAX_MESSAGE_SIZE, 8192: a
 * DialDataResponse carries at most 4096 data bytes, spec "Amplification
 * Attack Prevention"). */
#define LP2P_AUTONAT_MSG_MAX 8192u
/** Addresses kept from one DialRequest; further ones are ignored (the
 * server dials at most one, the first it is willing to). */
#define LP2P_AUTONAT_ADDRS_MAX 16u
/** data bytes per DialDataResponse the client sends (spec: at most 4096). */
#define LP2P_AUTONAT_DATA_CHUNK 4096u

/** Message.msg oneof field numbers (spec "RPC Messages"). */
typedef enum lp2p_autonat_msg_type {
  LP2P_AUTONAT_MSG_NONE = 0,
  LP2P_AUTONAT_MSG_DIAL_REQUEST = 1,
  LP2P_AUTONAT_MSG_DIAL_RESPONSE = 2,
  LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST = 3,
  LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE = 4
} lp2p_autonat_msg_type;

/** DialResponse.ResponseStatus. */
#define LP2P_AUTONAT_RESP_INTERNAL_ERROR 0u
#define LP2P_AUTONAT_RESP_REQUEST_REJECTED 100u
#define LP2P_AUTONAT_RESP_DIAL_REFUSED 101u
#define LP2P_AUTONAT_RESP_OK 200u
/** DialStatus. */
#define LP2P_AUTONAT_DIAL_UNUSED 0u
#define LP2P_AUTONAT_DIAL_ERROR 100u
#define LP2P_AUTONAT_DIAL_BACK_ERROR 101u
#define LP2P_AUTONAT_DIAL_OK 200u

typedef struct lp2p_autonat_slice {
  const uint8_t *p;
  size_t len;
} lp2p_autonat_slice;

/** One Message, decoded in place (slices point into the input). */
typedef struct lp2p_autonat_msg {
  lp2p_autonat_msg_type type;
  /* DIAL_REQUEST */
  uint64_t nonce;
  size_t naddrs;      /**< kept (at most LP2P_AUTONAT_ADDRS_MAX) */
  size_t naddrs_seen; /**< in the message */
  lp2p_autonat_slice addrs[LP2P_AUTONAT_ADDRS_MAX];
  /* DIAL_RESPONSE */
  uint32_t status;
  uint32_t dial_status;
  /* DIAL_RESPONSE and DIAL_DATA_REQUEST */
  uint32_t addr_idx;
  /* DIAL_DATA_REQUEST */
  uint64_t num_bytes;
  /* DIAL_DATA_RESPONSE */
  lp2p_autonat_slice data;
} lp2p_autonat_msg;

/** Decode a Message body (no length prefix). Unknown fields are skipped; a
 * oneof seen twice keeps the last, as protobuf does. Returns 0 or
 * LP2P_ERR_PARSE (malformed, or no known msg). */
LP2P_API int lp2p_autonat_msg_parse(lp2p_autonat_msg *m, const uint8_t *p,
                                    size_t n);
/** Encode a Message with its varint length prefix. For DIAL_DATA_RESPONSE
 * with data.p NULL, data.len zero bytes are written. Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_NOSPACE (*len then holds the size needed). */
LP2P_API int lp2p_autonat_msg_encode(const lp2p_autonat_msg *m, uint8_t *out,
                                     size_t cap, size_t *len);
/** DialBack {fixed64 nonce = 1} and DialBackResponse {status = 1}, with
 * their length prefix. Parse takes the body. Returns as above. */
LP2P_API int lp2p_autonat_dialback_encode(uint64_t nonce, uint8_t *out,
                                          size_t cap, size_t *len);
LP2P_API int lp2p_autonat_dialback_parse(const uint8_t *p, size_t n,
                                         uint64_t *nonce);
LP2P_API int lp2p_autonat_dialback_resp_encode(uint32_t status, uint8_t *out,
                                               size_t cap, size_t *len);
LP2P_API int lp2p_autonat_dialback_resp_parse(const uint8_t *p, size_t n,
                                              uint32_t *status);

/** Length-prefixed framing (spec: "prefixed with the message length in
 * bytes, encoded as an unsigned variable length integer"). Looks at
 * p[0..n): returns the whole frame's size (> 0) with *body / *body_len
 * set, 0 when more bytes are needed, or LP2P_ERR_LIMIT (declared length
 * above body_max) / LP2P_ERR_PARSE (bad varint). */
LP2P_API lp2p_ssize lp2p_autonat_frame(const uint8_t *p, size_t n,
                                       size_t body_max, const uint8_t **body,
                                       size_t *body_len);

/* ---- is-public predicate --------------------------------------------- */

/** Decides whether an IP is public (reachable from the Internet). family
 * is 4 or 6, ip 4 or 16 bytes. Injectable (the lab's 198.18.0.0/15 is
 * public there); NULL means lp2p_autonat_ip_is_public. */
typedef int (*lp2p_ip_public_fn)(void *ud, int family, const uint8_t *ip);
/** The default: not RFC 1918 / 6598 / 5737 / 2544 / loopback / link-local
 * / multicast / unspecified / reserved; for IPv6 only global unicast
 * (2000::/3) outside documentation 2001:db8::/32 and ULA. */
LP2P_API int lp2p_autonat_ip_is_public(void *ud, int family, const uint8_t *ip);
/** CIDR list (as LP2P_PUBLIC_CIDRS: "198.18.0.0/15,10.0.0.0/8") for
 * lp2p_autonat_cidrs_public, which counts these as public and otherwise
 * asks lp2p_autonat_ip_is_public. */
#define LP2P_AUTONAT_CIDRS_MAX 16
typedef struct lp2p_autonat_cidrs {
  size_t n;
  struct {
    uint8_t family, bits;
    uint8_t ip[16];
  } net[LP2P_AUTONAT_CIDRS_MAX];
} lp2p_autonat_cidrs;
/** Parse comma-separated CIDRs. Returns 0 or LP2P_ERR_PARSE, LP2P_ERR_LIMIT. */
LP2P_API int lp2p_autonat_cidrs_parse(lp2p_autonat_cidrs *c, const char *text);
/** lp2p_ip_public_fn with ud = const lp2p_autonat_cidrs *. */
LP2P_API int lp2p_autonat_cidrs_public(void *ud, int family, const uint8_t *ip);
/** The IP of /ip4 or /ip6 at the start of a multiaddr. Returns 0 or
 * LP2P_ERR_UNSUPPORTED. */
LP2P_API int lp2p_autonat_maddr_ip(const lp2p_maddr *m, int *family,
                                   uint8_t ip[16]);

/* ---- client request engine ---------------------------------------------- */

typedef enum lp2p_autonat_creq_state {
  LP2P_AUTONAT_CREQ_SENDING = 1, /**< request (and maybe dial data) out */
  LP2P_AUTONAT_CREQ_DONE,        /**< DialResponse read: see result */
  LP2P_AUTONAT_CREQ_FAILED       /**< see err: reset the stream */
} lp2p_autonat_creq_state;

typedef struct lp2p_autonat_creq {
  uint8_t state;
  uint8_t data_asked; /**< the server sent its DialDataRequest */
  int err;            /**< FAILED: PROTO, LIMIT (dial data over
                           budget), EOF (closed without a response) */
  uint64_t nonce;
  size_t naddrs;
  uint64_t data_budget; /**< dial-data bytes we agree to send */
  uint64_t data_left;   /**< still to send */
  uint32_t status, dial_status, addr_idx; /**< DONE: the DialResponse */
  /* framing */
  uint8_t in[LP2P_AUTONAT_MSG_MAX + 10];
  size_t in_len;
  uint8_t out[LP2P_AUTONAT_DATA_CHUNK + 16];
  size_t out_len, out_off;
  uint8_t req[LP2P_AUTONAT_ADDRS_MAX * (LP2P_MADDR_MAX + 3) + 32];
  size_t req_len, req_off;
} lp2p_autonat_creq;

/** Start a request about addrs[0..n) (n <= ADDRS_MAX, in priority order)
 * with `nonce`; dial-data requests above data_budget bytes are refused.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_autonat_creq_init(lp2p_autonat_creq *r,
                                    const lp2p_maddr *addrs, size_t n,
                                    uint64_t nonce, uint64_t data_budget);
/** Bytes from the server. Returns bytes taken (all of them unless the
 * request ended), never an error: bad input sets FAILED. */
LP2P_API size_t lp2p_autonat_creq_feed(lp2p_autonat_creq *r, const uint8_t *p,
                                       size_t n);
/** The server closed its side. */
LP2P_API void lp2p_autonat_creq_feed_eof(lp2p_autonat_creq *r);
LP2P_API const uint8_t *lp2p_autonat_creq_out_peek(lp2p_autonat_creq *r,
                                                   size_t *len);
LP2P_API void lp2p_autonat_creq_out_consume(lp2p_autonat_creq *r, size_t n);

/* ---- server: rate limits ------------------------------------------------- */

typedef struct lp2p_autonat_server_config {
  uint32_t requests_per_min;          /**< all peers (60, go-libp2p) */
  uint32_t requests_per_peer_per_min; /**< one peer (12, go-libp2p) */
  uint32_t dial_data_per_min;         /**< requests that needed dial data
                                           (12, go-libp2p) */
  uint32_t concurrent_per_peer_max;   /**< requests in flight per peer (2,
                                           go-libp2p) */
  uint32_t concurrent_max;            /**< in flight overall (32) */
  uint32_t peers_max;                 /**< peers the limiter tracks (256) */
  uint32_t dial_data_min;             /**< asked when the IP differs: a */
  uint32_t dial_data_max;             /**<   random amount in [min, max]
                                           (30000, 100000: the spec) */
  uint64_t timeout_ns;                /**< a whole request (15 s) */
  uint64_t dial_timeout_ns;           /**< the dial-back, within timeout_ns
                                           (10 s): then E_DIAL_ERROR */
  int allow_private;                  /**< dial private addresses (0) */
  lp2p_ip_public_fn is_public;        /**< NULL: lp2p_autonat_ip_is_public */
  void *is_public_ud;
} lp2p_autonat_server_config;

LP2P_API void
lp2p_autonat_server_config_default(lp2p_autonat_server_config *cfg);

/** Sliding one-minute windows of request times (go-libp2p's rateLimiter
 * shape: global, per peer, dial data; plus requests in flight). Peers are
 * keyed by a 64-bit fingerprint the caller derives (keyed hash of the id). */
typedef struct lp2p_autonat_limiter lp2p_autonat_limiter;
LP2P_API int lp2p_autonat_limiter_new(lp2p_autonat_limiter **out,
                                      const lp2p_autonat_server_config *cfg,
                                      const lp2p_mem *mem);
LP2P_API void lp2p_autonat_limiter_free(lp2p_autonat_limiter *l);
/** Admit a request from `peer` at `now`: 1 (counted, in flight until
 * _done) or 0 (over a limit: answer E_REQUEST_REJECTED). */
LP2P_API int lp2p_autonat_limiter_accept(lp2p_autonat_limiter *l, uint64_t peer,
                                         lp2p_tstamp now);
/** A request that needs dial data: 1 allowed (counted) or 0. */
LP2P_API int lp2p_autonat_limiter_dial_data(lp2p_autonat_limiter *l,
                                            lp2p_tstamp now);
/** The request admitted for `peer` ended. */
LP2P_API void lp2p_autonat_limiter_done(lp2p_autonat_limiter *l, uint64_t peer);
LP2P_API uint32_t lp2p_autonat_limiter_in_flight(const lp2p_autonat_limiter *l);

/* ---- server request engine ---------------------------------------------- */

typedef enum lp2p_autonat_sreq_state {
  LP2P_AUTONAT_SREQ_READ_REQUEST = 1,
  LP2P_AUTONAT_SREQ_READ_DATA, /**< DialDataRequest sent; counting data */
  LP2P_AUTONAT_SREQ_DIAL,      /**< caller dials addr/nonce, then calls
                                    lp2p_autonat_sreq_dial_result */
  LP2P_AUTONAT_SREQ_DONE,      /**< response queued: flush, then close */
  LP2P_AUTONAT_SREQ_FAILED     /**< err: reset the stream */
} lp2p_autonat_sreq_state;

typedef struct lp2p_autonat_sreq {
  uint8_t state;
  uint8_t rejected; /**< answer E_REQUEST_REJECTED to the request */
  int err;
  const lp2p_autonat_server_config *cfg;
  lp2p_autonat_limiter *lim; /**< for the dial-data limit (may be NULL) */
  int observed_family;
  uint8_t observed_ip[16];
  uint64_t nonce;
  uint32_t addr_idx;
  lp2p_maddr addr; /**< DIAL: the address to dial back */
  uint64_t data_need, data_got;
  lp2p_tstamp now; /**< of the current feed */
  uint8_t in[LP2P_AUTONAT_MSG_MAX + 10];
  size_t in_len;
  uint8_t out[64];
  size_t out_len, out_off;
} lp2p_autonat_sreq;

/** Start serving one request that arrived over a connection whose remote
 * IP is observed_ip (family 4/6). `rejected`: the limiter said no, so the
 * request is read and answered E_REQUEST_REJECTED. `rnd` is a random
 * 64-bit value (the dial-data amount is drawn from it). */
LP2P_API void lp2p_autonat_sreq_init(lp2p_autonat_sreq *r,
                                     const lp2p_autonat_server_config *cfg,
                                     lp2p_autonat_limiter *lim,
                                     int observed_family,
                                     const uint8_t observed_ip[16],
                                     int rejected, uint64_t rnd);
LP2P_API size_t lp2p_autonat_sreq_feed(lp2p_autonat_sreq *r, lp2p_tstamp now,
                                       const uint8_t *p, size_t n);
LP2P_API void lp2p_autonat_sreq_feed_eof(lp2p_autonat_sreq *r);
/** The dial-back outcome (LP2P_AUTONAT_DIAL_OK / _ERROR / _BACK_ERROR):
 * queues DialResponse OK with it. */
LP2P_API void lp2p_autonat_sreq_dial_result(lp2p_autonat_sreq *r,
                                            uint32_t dial_status);
LP2P_API const uint8_t *lp2p_autonat_sreq_out_peek(lp2p_autonat_sreq *r,
                                                   size_t *len);
LP2P_API void lp2p_autonat_sreq_out_consume(lp2p_autonat_sreq *r, size_t n);

/* ---- client bookkeeping: candidates, servers, verdicts ------------------- */

typedef enum lp2p_autonat_reach {
  LP2P_AUTONAT_UNKNOWN = 0,
  LP2P_AUTONAT_REACHABLE = 1,
  LP2P_AUTONAT_UNREACHABLE = 2
} lp2p_autonat_reach;

typedef enum lp2p_autonat_overall {
  LP2P_REACHABILITY_UNKNOWN = 0,
  LP2P_REACHABILITY_PUBLIC = 1,
  LP2P_REACHABILITY_PRIVATE = 2
} lp2p_autonat_overall;

typedef struct lp2p_autonat_client_config {
  uint32_t addrs_max;              /**< candidates tracked (32) */
  uint32_t success_listen_min;     /**< verified dial-backs that confirm an
                                        address we bound (1, as js-libp2p) */
  uint32_t success_other_min;      /**< ... any other, e.g. observed (3) */
  uint32_t failure_min;            /**< dial errors that refute one (3) */
  uint64_t data_budget;            /**< dial data we send per request
                                        (100000: the spec's upper bound) */
  uint64_t recheck_reachable_ns;   /**< re-ask after a verdict (1 h) */
  uint64_t recheck_unreachable_ns; /**< (10 min) */
  uint64_t retry_ns;               /**< ask again without verdict (1 min) */
  uint64_t request_timeout_ns;     /**< one request (30 s, js-libp2p) */
  uint32_t servers_per_addr_max;   /**< distinct servers remembered (8) */
} lp2p_autonat_client_config;

LP2P_API void
lp2p_autonat_client_config_default(lp2p_autonat_client_config *cfg);

typedef struct lp2p_autonat_book lp2p_autonat_book;

LP2P_API int lp2p_autonat_book_new(lp2p_autonat_book **out,
                                   const lp2p_autonat_client_config *cfg,
                                   const lp2p_mem *mem);
LP2P_API void lp2p_autonat_book_free(lp2p_autonat_book *b);
/** Track a candidate (listen = an address we bound). Re-adding keeps its
 * state. Returns 0 or LP2P_ERR_LIMIT, LP2P_ERR_INVAL. */
LP2P_API int lp2p_autonat_book_add(lp2p_autonat_book *b, const lp2p_maddr *a,
                                   int listen, lp2p_tstamp now);
/** Forget candidates not re-added since `mark` was set: call _mark, re-add
 * the current set, then _sweep. Returns how many were dropped. */
LP2P_API void lp2p_autonat_book_mark(lp2p_autonat_book *b);
LP2P_API size_t lp2p_autonat_book_sweep(lp2p_autonat_book *b);
/** Check `a` again now: a candidate between rounds (it has a verdict)
 * starts a new round at once; its old verdict stands until that round
 * decides. Returns 1, or 0 when unknown or already in (or due for) a
 * round. */
LP2P_API int lp2p_autonat_book_recheck(lp2p_autonat_book *b,
                                       const lp2p_maddr *a, lp2p_tstamp now);
/** The candidate to ask `server` about now: one due for a check that this
 * server has not answered in the current round and that is not being
 * asked already. Returns 1 with *out set, or 0. Marks it in flight. */
LP2P_API int lp2p_autonat_book_pick(lp2p_autonat_book *b, uint64_t server,
                                    lp2p_tstamp now, lp2p_maddr *out);
/** Outcome of asking `server` about `a` (the address the server said it
 * dialed): REACHABLE (DialStatus OK and our nonce came back on a dial-back),
 * UNREACHABLE (E_DIAL_ERROR), UNKNOWN (no usable answer). Returns 1 when
 * the round ended and the address's verdict changed, 2 when the round
 * ended with the verdict it had (a recheck confirmed it), else 0. */
LP2P_API int lp2p_autonat_book_result(lp2p_autonat_book *b, const lp2p_maddr *a,
                                      uint64_t server,
                                      lp2p_autonat_reach outcome,
                                      lp2p_tstamp now);
/** Verdict of `a` (UNKNOWN when untracked), and counts. */
LP2P_API lp2p_autonat_reach
lp2p_autonat_book_verdict(const lp2p_autonat_book *b, const lp2p_maddr *a,
                          uint32_t *successes, uint32_t *failures);
/** PUBLIC when any address is reachable, PRIVATE when every address with a
 * verdict is unreachable (and one has), else UNKNOWN. */
LP2P_API lp2p_autonat_overall
lp2p_autonat_book_overall(const lp2p_autonat_book *b);
/** When a candidate next becomes due (NONE if never). */
LP2P_API lp2p_tstamp lp2p_autonat_book_next_due(const lp2p_autonat_book *b);
LP2P_API size_t lp2p_autonat_book_count(const lp2p_autonat_book *b);

#ifdef __cplusplus
}
#endif
#endif
