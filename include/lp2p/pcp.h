/** Sans-IO PCP client (RFC 6887): the MAP opcode codec and an engine that
 * asks one PCP server (the default gateway) for mappings, retransmits on
 * the section 8.1.1 schedule with injected randomness, tracks the server's
 * epoch (section 8.5) and says when the server only speaks NAT-PMP (a
 * version 0 answer: fall back to include/lp2p/natpmp.h). Whoever runs it
 * moves the UDP datagrams to and from the server's port 5351. */
#ifndef LP2P_PCP_H
#define LP2P_PCP_H

#include "lp2p/common.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_PCP_PORT 5351
#define LP2P_PCP_VERSION 2
#define LP2P_PCP_OP_ANNOUNCE 0
#define LP2P_PCP_OP_MAP 1
#define LP2P_PCP_HEADER_LEN 24
#define LP2P_PCP_MAP_LEN 60        /**< header + MAP payload, no options */
#define LP2P_PCP_MSG_MAX 1100      /**< RFC 6887 7: the largest PCP message */
#define LP2P_PCP_NONCE_LEN 12

/* result codes (RFC 6887 7.4) */
#define LP2P_PCP_SUCCESS 0
#define LP2P_PCP_UNSUPP_VERSION 1
#define LP2P_PCP_NOT_AUTHORIZED 2
#define LP2P_PCP_MALFORMED_REQUEST 3
#define LP2P_PCP_UNSUPP_OPCODE 4
#define LP2P_PCP_UNSUPP_OPTION 5
#define LP2P_PCP_MALFORMED_OPTION 6
#define LP2P_PCP_NETWORK_FAILURE 7
#define LP2P_PCP_NO_RESOURCES 8
#define LP2P_PCP_UNSUPP_PROTOCOL 9
#define LP2P_PCP_USER_EX_QUOTA 10
#define LP2P_PCP_CANNOT_PROVIDE_EXTERNAL 11
#define LP2P_PCP_ADDRESS_MISMATCH 12
#define LP2P_PCP_EXCESSIVE_REMOTE_PEERS 13

#define LP2P_PCP_PROTO_TCP 6
#define LP2P_PCP_PROTO_UDP 17

/** A MAP request (RFC 6887 11.1). Addresses are 16 bytes; IPv4 ones are
 * IPv4-mapped (::ffff:a.b.c.d, RFC 6887 5). */
typedef struct lp2p_pcp_map_req {
  uint32_t lifetime_s;                 /**< 0 deletes */
  uint8_t client_ip[16];               /**< our source address */
  uint8_t nonce[LP2P_PCP_NONCE_LEN];
  uint8_t protocol;                    /**< LP2P_PCP_PROTO_* (0: all) */
  uint16_t internal_port;
  uint16_t suggested_port;             /**< 0: no preference */
  uint8_t suggested_ip[16];            /**< ::ffff:0.0.0.0: no preference */
} lp2p_pcp_map_req;

/** Writes a MAP request (60 bytes). Returns 0 or LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_pcp_map_encode(const lp2p_pcp_map_req *req, uint8_t *out,
                                 size_t cap, size_t *len);

/** A parsed PCP response. */
typedef struct lp2p_pcp_resp {
  uint8_t version;      /**< 2; 0 when a NAT-PMP server answered */
  uint8_t opcode;       /**< without the R bit */
  uint8_t result;
  uint32_t lifetime_s;  /**< success: granted; error: when to retry */
  uint32_t epoch;
  int has_map;          /**< opcode MAP with its payload */
  uint8_t nonce[LP2P_PCP_NONCE_LEN];
  uint8_t protocol;
  uint16_t internal_port;
  uint16_t external_port;
  uint8_t external_ip[16];
} lp2p_pcp_resp;

/** Parses a response (RFC 6887 7.2, 8.3): at least 4 bytes, a multiple of
 * 4, at most 1100, the R bit set; a MAP success carries its 36-byte
 * payload; options after it must be well framed (their content is not
 * read). A NAT-PMP answer (version 0, 8 bytes or more, opcode >= 128) is
 * returned as version 0 with its result so the caller can fall back.
 * Returns 0 or LP2P_ERR_PARSE, LP2P_ERR_TRUNCATED, LP2P_ERR_UNSUPPORTED
 * (a version other than 0 and 2 with a result other than UNSUPP_VERSION). */
LP2P_API int lp2p_pcp_resp_parse(const uint8_t *p, size_t n,
                                 lp2p_pcp_resp *out);

/* ---- the engine --------------------------------------------------------- */

typedef struct lp2p_pcp_config {
  uint64_t irt_ns;       /**< initial retransmission time (3 s, 8.1.1) */
  uint64_t mrt_ns;       /**< maximum retransmission time (1024 s) */
  uint32_t mrc;          /**< maximum sends per request, 0 = no limit (the
                              RFC's MRC default; the service sets one) */
  uint64_t mrd_ns;       /**< maximum duration, 0 = no limit (RFC default) */
  uint32_t requests_max; /**< requests at once (8) */
} lp2p_pcp_config;

LP2P_API void lp2p_pcp_config_default(lp2p_pcp_config *cfg);

typedef struct lp2p_pcp lp2p_pcp;

/** Create a client for `server` (the gateway; port forced to 5351) from
 * `client` (our address on the link to it, IPv4 or IPv6: it goes into
 * every request and the server checks it, RFC 6887 8.1). `rng` draws
 * nonces and the retransmission jitter. Returns 0 or LP2P_ERR_INVAL,
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_pcp_new(lp2p_pcp **out, const lp2p_pcp_config *cfg,
                          const lp2p_mem *mem, const lp2p_rng *rng,
                          const lp2p_sockaddr *server,
                          const lp2p_sockaddr *client);
LP2P_API void lp2p_pcp_free(lp2p_pcp *c);

/** Ask for (or renew, or with lifetime 0 delete) a mapping of
 * `internal_port` for `protocol`. `nonce` NULL draws a fresh one; a
 * renewal or delete must pass the nonce of the MAPPED event (RFC 6887
 * 11.2: the server matches mappings by nonce). `suggested` may be NULL (no
 * preference); otherwise its port is the suggested external port (0: none)
 * and, with family 4 or 6, its address the suggested external address.
 * Returns 0 or LP2P_ERR_LIMIT, LP2P_ERR_INVAL (tag in use,
 * internal port 0, or a request for the same protocol and port running),
 * LP2P_ERR_UNSUPPORTED (the server already said it speaks only NAT-PMP). */
LP2P_API int lp2p_pcp_request_map(lp2p_pcp *c, lp2p_tstamp now, uint64_t tag,
                                  uint8_t protocol, uint16_t internal_port,
                                  const lp2p_sockaddr *suggested,
                                  uint32_t lifetime_s,
                                  const uint8_t *nonce);
/** Drop request `tag`. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_pcp_cancel(lp2p_pcp *c, uint64_t tag);

LP2P_API const uint8_t *lp2p_pcp_out_peek(lp2p_pcp *c, lp2p_sockaddr *to,
                                          size_t *len);
LP2P_API void lp2p_pcp_out_consume(lp2p_pcp *c);
/** A datagram from `from`; only the server's port 5351 counts (answers and
 * ANNOUNCE alike). Anything else is ignored and counted. */
LP2P_API void lp2p_pcp_feed(lp2p_pcp *c, lp2p_tstamp now,
                            const lp2p_sockaddr *from, const uint8_t *p,
                            size_t n);
LP2P_API lp2p_tstamp lp2p_pcp_next_timeout(const lp2p_pcp *c);
LP2P_API void lp2p_pcp_handle_timeout(lp2p_pcp *c, lp2p_tstamp now);

#define LP2P_PCP_EV_MAPPED 1  /**< granted (or deleted: lifetime 0) */
#define LP2P_PCP_EV_FAILED 2
#define LP2P_PCP_EV_LOST 3    /**< the server lost its mappings (8.5) */

typedef struct lp2p_pcp_event {
  int type;
  uint64_t tag;
  int err;              /**< FAILED: LP2P_ERR_TIMEOUT (mrc/mrd reached),
                             LP2P_ERR_UNSUPPORTED (no PCP version 2 here:
                             natpmp is set when a NAT-PMP server answered),
                             LP2P_ERR_REFUSED (another result code) */
  int natpmp;           /**< FAILED: the server speaks NAT-PMP: use it */
  uint8_t result;       /**< FAILED by a result code: that code */
  uint8_t protocol;
  uint16_t internal_port;
  uint16_t external_port;
  uint8_t external_ip[16];
  uint32_t lifetime_s;  /**< MAPPED: granted; FAILED by a result: the
                             server's hint of when to try again */
  uint32_t epoch;
  uint8_t nonce[LP2P_PCP_NONCE_LEN];
} lp2p_pcp_event;

/** Next event: 1 (filled) or 0. Each request ends in one MAPPED or FAILED;
 * LOST comes once per detected reset, before the event of the answer that
 * revealed it. On LOST, map again (fresh nonces are fine). */
LP2P_API int lp2p_pcp_poll_event(lp2p_pcp *c, lp2p_pcp_event *ev);

typedef struct lp2p_pcp_stats {
  uint64_t sent;
  uint64_t ignored;
  uint64_t resets;
} lp2p_pcp_stats;
LP2P_API void lp2p_pcp_stats_get(const lp2p_pcp *c, lp2p_pcp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
