/** Sans-IO NAT-PMP client (RFC 6886): the message codec and a small engine
 * that asks one gateway for its external address and for TCP/UDP port
 * mappings, retransmits on the RFC schedule, and notices when the gateway
 * lost its mappings (a reboot, seen in its epoch). Whoever runs it moves
 * the UDP datagrams to and from the gateway's port 5351. */
#ifndef LP2P_NATPMP_H
#define LP2P_NATPMP_H

#include "lp2p/common.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_NATPMP_PORT 5351          /**< the gateway's port (RFC 6886 3) */
#define LP2P_NATPMP_CLIENT_PORT 5350   /**< announcements go here (3.2.1) */

/* opcodes (RFC 6886 3.2, 3.3); a response carries 128 + the opcode */
#define LP2P_NATPMP_OP_ADDR 0
#define LP2P_NATPMP_OP_MAP_UDP 1
#define LP2P_NATPMP_OP_MAP_TCP 2

/* result codes (RFC 6886 3.5) */
#define LP2P_NATPMP_OK 0
#define LP2P_NATPMP_UNSUPP_VERSION 1
#define LP2P_NATPMP_NOT_AUTHORIZED 2 /**< refused, e.g. disabled by the user */
#define LP2P_NATPMP_NETWORK_FAILURE 3 /**< e.g. no external address yet */
#define LP2P_NATPMP_NO_RESOURCES 4
#define LP2P_NATPMP_UNSUPP_OPCODE 5

#define LP2P_NATPMP_REQ_ADDR_LEN 2
#define LP2P_NATPMP_REQ_MAP_LEN 12
#define LP2P_NATPMP_RESP_ADDR_LEN 12
#define LP2P_NATPMP_RESP_MAP_LEN 16
#define LP2P_NATPMP_RESP_ERR_LEN 8 /**< an error response may stop here */

/** Writes the external address request (2 bytes). Returns its length. */
LP2P_API size_t lp2p_natpmp_addr_req_encode(uint8_t out[LP2P_NATPMP_REQ_ADDR_LEN]);
/** Writes a mapping request (12 bytes): op MAP_UDP or MAP_TCP; lifetime 0
 * with suggested port 0 deletes (RFC 6886 3.4). Returns its length, 0 on
 * a bad op. */
LP2P_API size_t lp2p_natpmp_map_req_encode(uint8_t out[LP2P_NATPMP_REQ_MAP_LEN],
                                           uint8_t op, uint16_t internal_port,
                                           uint16_t suggested_port,
                                           uint32_t lifetime_s);

/** A parsed response. */
typedef struct lp2p_natpmp_resp {
  uint8_t op;              /**< the request's opcode (response op - 128) */
  uint16_t result;         /**< LP2P_NATPMP_* result code */
  uint32_t epoch;          /**< seconds since start of epoch */
  uint8_t external_ip[4];  /**< op ADDR, result OK */
  uint16_t internal_port;  /**< op MAP_*, result OK */
  uint16_t external_port;
  uint32_t lifetime_s;
} lp2p_natpmp_resp;

/** Parses a response. Version must be 0 and the opcode >= 128; an error
 * result needs only the 8 bytes up to the epoch, a success the whole
 * layout; trailing bytes are ignored. Returns 0 or LP2P_ERR_PARSE,
 * LP2P_ERR_TRUNCATED. */
LP2P_API int lp2p_natpmp_resp_parse(const uint8_t *p, size_t n,
                                    lp2p_natpmp_resp *out);

/* ---- the engine --------------------------------------------------------- */

typedef struct lp2p_natpmp_config {
  uint64_t first_rto_ns;  /**< first wait (250 ms, RFC 6886 3.1) */
  uint32_t tries_max;     /**< sends per request (9: ~128 s in all) */
  uint32_t requests_max;  /**< requests at once (8) */
} lp2p_natpmp_config;

LP2P_API void lp2p_natpmp_config_default(lp2p_natpmp_config *cfg);

typedef struct lp2p_natpmp lp2p_natpmp;

/** Create a client for `gateway` (IPv4; the port is forced to 5351).
 * Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_natpmp_new(lp2p_natpmp **out, const lp2p_natpmp_config *cfg,
                             const lp2p_mem *mem, const lp2p_sockaddr *gateway);
LP2P_API void lp2p_natpmp_free(lp2p_natpmp *c);

/** Ask for the external address under the caller's `tag`. Returns 0 or
 * LP2P_ERR_LIMIT (requests_max), LP2P_ERR_INVAL (tag in use, or an
 * address request already running: one answer serves both). */
LP2P_API int lp2p_natpmp_request_addr(lp2p_natpmp *c, lp2p_tstamp now,
                                      uint64_t tag);
/** Ask for a mapping of `internal_port` (udp 0: TCP, 1: UDP), suggesting
 * `suggested_port`, for `lifetime_s` (0 deletes it). Renewal is the same
 * request again. Returns 0 or LP2P_ERR_LIMIT, LP2P_ERR_INVAL (tag in use,
 * internal port 0, or a request for the same protocol and internal port
 * running: responses name only those two). */
LP2P_API int lp2p_natpmp_request_map(lp2p_natpmp *c, lp2p_tstamp now,
                                     uint64_t tag, int udp,
                                     uint16_t internal_port,
                                     uint16_t suggested_port,
                                     uint32_t lifetime_s);
/** Drop request `tag` (a late answer is ignored). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_natpmp_cancel(lp2p_natpmp *c, uint64_t tag);

/** The next datagram for the gateway (`to` filled), NULL when none. Valid
 * until the next call. */
LP2P_API const uint8_t *lp2p_natpmp_out_peek(lp2p_natpmp *c,
                                             lp2p_sockaddr *to, size_t *len);
/** The datagram last peeked was sent (its retransmission clock starts at
 * the `now` of the call that queued it). */
LP2P_API void lp2p_natpmp_out_consume(lp2p_natpmp *c);
/** A datagram from `from`. Only the gateway's port 5351 counts (unicast
 * answers and its multicast announcements alike); anything else, or bytes
 * that do not parse or answer nothing, are ignored and counted. */
LP2P_API void lp2p_natpmp_feed(lp2p_natpmp *c, lp2p_tstamp now,
                               const lp2p_sockaddr *from, const uint8_t *p,
                               size_t n);
LP2P_API lp2p_tstamp lp2p_natpmp_next_timeout(const lp2p_natpmp *c);
/** Retransmit or give up the requests whose wait has passed. */
LP2P_API void lp2p_natpmp_handle_timeout(lp2p_natpmp *c, lp2p_tstamp now);

#define LP2P_NATPMP_EV_ADDRESS 1  /**< external address known */
#define LP2P_NATPMP_EV_MAPPED 2   /**< a mapping granted (or deleted) */
#define LP2P_NATPMP_EV_FAILED 3   /**< a request failed */
#define LP2P_NATPMP_EV_LOST 4     /**< the gateway lost its mappings */

typedef struct lp2p_natpmp_event {
  int type;
  uint64_t tag;            /**< ADDRESS, MAPPED, FAILED */
  int err;                 /**< FAILED: LP2P_ERR_TIMEOUT (no answer after
                                tries_max sends), LP2P_ERR_UNSUPPORTED
                                (UNSUPP_VERSION / _OPCODE), LP2P_ERR_REFUSED
                                (another result code) */
  uint16_t result;         /**< FAILED by a result code: that code */
  uint8_t external_ip[4];  /**< ADDRESS */
  int udp;                 /**< MAPPED */
  uint16_t internal_port;
  uint16_t external_port;
  uint32_t lifetime_s;     /**< as granted; 0 after a delete */
  uint32_t epoch;          /**< the gateway's epoch in that answer */
} lp2p_natpmp_event;

/** Next event: 1 (filled) or 0. Each request ends in exactly one ADDRESS,
 * MAPPED or FAILED; LOST comes once per detected reset (RFC 6886 3.6: the
 * epoch went back, or grew much slower than our clock), before the event
 * of the answer that revealed it. On LOST, map again. */
LP2P_API int lp2p_natpmp_poll_event(lp2p_natpmp *c, lp2p_natpmp_event *ev);

typedef struct lp2p_natpmp_stats {
  uint64_t sent;
  uint64_t ignored;       /**< datagrams not from the gateway, unparsable,
                               or answering nothing we asked */
  uint64_t resets;        /**< LOST events */
} lp2p_natpmp_stats;
LP2P_API void lp2p_natpmp_stats_get(const lp2p_natpmp *c,
                                    lp2p_natpmp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
