/** STUN client (RFC 5389) with NAT behaviour discovery (RFC 5780):
 * a pure codec for Binding messages and a sans-IO engine that runs one
 * Binding transaction, or the whole discovery, over a single UDP socket
 * owned by the host.
 *
 * The engine never sends: lp2p_stun_out_peek gives the next datagram and
 * its destination; the host sends it from the one socket and feeds every
 * datagram that socket receives (with its source) to lp2p_stun_feed.
 * Transaction ids come from the injected RNG. */
#ifndef LP2P_STUN_H
#define LP2P_STUN_H

#include "lp2p/common.h"
#include "lp2p/natclass.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_STUN_PORT 3478
#define LP2P_STUN_MAGIC 0x2112A442u
#define LP2P_STUN_HEADER 20
/** Largest message we build or accept (RFC 5389 section 7.1: 576 bytes
 * fit any IPv4 path; responses are far smaller). */
#define LP2P_STUN_MSG_MAX 1280

/* message types (method Binding 0x001, RFC 5389 section 6) */
#define LP2P_STUN_BINDING_REQUEST 0x0001
#define LP2P_STUN_BINDING_SUCCESS 0x0101
#define LP2P_STUN_BINDING_ERROR 0x0111

/* CHANGE-REQUEST flags (RFC 5780 section 7.2) */
#define LP2P_STUN_CHANGE_IP 0x4u
#define LP2P_STUN_CHANGE_PORT 0x2u

/** A decoded message. Addresses are host order. */
typedef struct lp2p_stun_msg {
  uint16_t type;
  uint8_t txid[12];
  int has_xor_mapped, has_mapped, has_other, has_origin;
  lp2p_sockaddr xor_mapped; /**< XOR-MAPPED-ADDRESS (0x0020) */
  lp2p_sockaddr mapped;     /**< MAPPED-ADDRESS (0x0001) */
  lp2p_sockaddr other;      /**< OTHER-ADDRESS (0x802C, RFC 5780) */
  lp2p_sockaddr origin;     /**< RESPONSE-ORIGIN (0x802B, RFC 5780) */
  int has_change;
  uint32_t change;          /**< CHANGE-REQUEST flags (0x0003) */
  int has_error;
  uint16_t error_code;      /**< ERROR-CODE class*100+number (0x0009) */
  int has_integrity;        /**< MESSAGE-INTEGRITY present (not checked) */
  int has_fingerprint;      /**< FINGERPRINT present and correct */
  size_t unknown_required;  /**< comprehension-required attrs not known */
} lp2p_stun_msg;

/** 1 when p[0..n) looks like STUN (two zero bits, magic cookie, a length
 * that matches and is a multiple of 4): to tell STUN from other traffic
 * on a shared socket (RFC 5389 section 6). */
LP2P_API int lp2p_stun_is_stun(const uint8_t *p, size_t n);

/** Decode p[0..n). A FINGERPRINT that does not match is LP2P_ERR_PARSE
 * (section 15.5); attributes after FINGERPRINT too. Attributes are
 * walked with their padding; a malformed known attribute is
 * LP2P_ERR_PARSE. Returns 0 or LP2P_ERR_PARSE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_stun_decode(lp2p_stun_msg *m, const uint8_t *p, size_t n);

/** A Binding request with txid, a CHANGE-REQUEST when change != 0 and a
 * FINGERPRINT when fingerprint. *len gets the size (also on NOSPACE).
 * Returns 0 or LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
LP2P_API int lp2p_stun_binding_request(const uint8_t txid[12], uint32_t change,
                                       int fingerprint, uint8_t *out,
                                       size_t cap, size_t *len);

/** A Binding success response (what a server, or a test's fake server,
 * sends): XOR-MAPPED-ADDRESS of `mapped`, and OTHER-ADDRESS and
 * RESPONSE-ORIGIN when given (NULL: none). Returns 0 or LP2P_ERR_NOSPACE,
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_stun_binding_response(const uint8_t txid[12],
                                        const lp2p_sockaddr *mapped,
                                        const lp2p_sockaddr *other,
                                        const lp2p_sockaddr *origin,
                                        uint8_t *out, size_t cap, size_t *len);

/** The server side of one Binding request (RFC 5780 section 6), for test
 * servers. addrs are the server's sockets: [0] A1:P1 (primary), [1]
 * A1:P2, [2] A2:P1, [3] A2:P2 (naddrs 4), or only [0] (naddrs 1: an
 * RFC 5389 server, no OTHER-ADDRESS). The request p[0..n) from `from`
 * reached addrs[at]. Returns 1 with the response in out[0..*len) to send
 * from addrs[*send_from] to `from` (CHANGE-REQUEST picks the other IP
 * and/or port), 0 when nothing is to be sent (not a Binding request,
 * unknown comprehension-required attributes, or a CHANGE-REQUEST a
 * one-socket server cannot honour), or LP2P_ERR_INVAL, LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_stun_server_answer(const uint8_t *p, size_t n,
                                     const lp2p_sockaddr *from,
                                     const lp2p_sockaddr *addrs, size_t naddrs,
                                     unsigned at, uint8_t *out, size_t cap,
                                     size_t *len, unsigned *send_from);

/** CRC-32 (ISO 3309, as FINGERPRINT uses before its XOR). */
LP2P_API uint32_t lp2p_stun_crc32(const uint8_t *p, size_t n);

/* ---- engine ------------------------------------------------------------- */

typedef struct lp2p_stun_config {
  /** Run the RFC 5780 tests after the first Binding (0: binding only). */
  int discover;
  /** RFC 5389 section 7.2.1: initial RTO 500 ms, Rc 7 sends, a final wait
   * of Rm 16 RTOs: 39.5 s until the first test gives up. */
  uint64_t rto_ns;
  uint32_t rc;
  uint32_t rm;
  /** Sends for the later tests, where silence is an answer (a filtering
   * test that gets no response means "filtered"): 4, so 11.5 s. */
  uint32_t rc_tests;
  int fingerprint; /**< add FINGERPRINT to requests: 0 */
} lp2p_stun_config;

LP2P_API void lp2p_stun_config_default(lp2p_stun_config *cfg);

/** The outcome. status: 0, LP2P_ERR_TIMEOUT (the server never answered
 * Test I), LP2P_ERR_PROTO (it answered with an error or no address).
 * mapping/filtering are UNKNOWN when the server lacks RFC 5780 (no
 * OTHER-ADDRESS, or it refuses CHANGE-REQUEST), NONE when the mapped
 * address is the local one (no NAT). preserves_port: -1 unknown (no local
 * address given), 0, 1. */
typedef struct lp2p_stun_result {
  int status;
  lp2p_sockaddr mapped; /**< Test I's XOR-MAPPED-ADDRESS (or MAPPED) */
  lp2p_sockaddr other;  /**< the server's OTHER-ADDRESS (family 0: none) */
  lp2p_nat_behaviour mapping;
  lp2p_nat_behaviour filtering;
  int preserves_port;
  /** The external ports of the distinct mappings the tests made, in the
   * order the NAT allocated them (Test I, then the mapping tests): the
   * evidence for sequential allocation (lp2p_natclass_predict_ports). */
  uint16_t ports[3];
  uint8_t nports;
} lp2p_stun_result;

typedef enum lp2p_stun_event_type {
  LP2P_STUN_EV_DONE = 1, /**< result ready (lp2p_stun_event.result) */
} lp2p_stun_event_type;

typedef struct lp2p_stun_event {
  lp2p_stun_event_type type;
  lp2p_stun_result result;
} lp2p_stun_event;

typedef struct lp2p_stun lp2p_stun;

/** New client for `server`. `local` (may be NULL) is the socket's own
 * address: it tells "no NAT" and port preservation. Queues Test I.
 * Returns 0 or LP2P_ERR_NOMEM, LP2P_ERR_INVAL. */
LP2P_API int lp2p_stun_new(lp2p_stun **out, const lp2p_stun_config *cfg,
                           const lp2p_mem *mem, const lp2p_rng *rng,
                           lp2p_tstamp now, const lp2p_sockaddr *server,
                           const lp2p_sockaddr *local);
LP2P_API void lp2p_stun_free(lp2p_stun *s);

/** The datagram to send now and where to (NULL when none). */
LP2P_API const uint8_t *lp2p_stun_out_peek(const lp2p_stun *s, size_t *len,
                                           lp2p_sockaddr *to);
/** The datagram was sent (or dropped: retransmission covers it). */
LP2P_API void lp2p_stun_out_consume(lp2p_stun *s);
/** A datagram from `from`. Anything that is not the response to the
 * current transaction is ignored. Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_stun_feed(lp2p_stun *s, lp2p_tstamp now,
                            const lp2p_sockaddr *from, const uint8_t *p,
                            size_t n);
LP2P_API lp2p_tstamp lp2p_stun_next_timeout(const lp2p_stun *s);
LP2P_API int lp2p_stun_handle_timeout(lp2p_stun *s, lp2p_tstamp now);
/** Returns 1 (event written) or 0. */
LP2P_API int lp2p_stun_poll_event(lp2p_stun *s, lp2p_stun_event *ev);
/** 1 once the result is final; *r (may be NULL) gets it. */
LP2P_API int lp2p_stun_result_get(const lp2p_stun *s, lp2p_stun_result *r);

#ifdef __cplusplus
}
#endif
#endif
