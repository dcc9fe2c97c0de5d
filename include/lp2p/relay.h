/** Circuit relay v2 messages and reservation vouchers (libp2p specs,
 * relay/circuit-v2.md). The codec is pure and allocation-free: a decoded
 * message points into its input, so use it before the input goes. The
 * relay service (hop server, stop handler, client) lives in proto/relay/
 * and is configured through lp2p_host_config.relay. */
#ifndef LP2P_RELAY_H
#define LP2P_RELAY_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_RELAY_HOP_ID "/libp2p/circuit/relay/0.2.0/hop"
#define LP2P_RELAY_STOP_ID "/libp2p/circuit/relay/0.2.0/stop"

/** Largest hop or stop message (go-libp2p's maxMessageSize, 4 KiB). */
#define LP2P_RELAY_MSG_MAX 4096
/** Most addresses kept from a Peer or a Reservation; more are skipped. */
#define LP2P_RELAY_ADDRS_MAX 16

/* HopMessage.Type */
#define LP2P_RELAY_HOP_RESERVE 0
#define LP2P_RELAY_HOP_CONNECT 1
#define LP2P_RELAY_HOP_STATUS 2
/* StopMessage.Type */
#define LP2P_RELAY_STOP_CONNECT 0
#define LP2P_RELAY_STOP_STATUS 1

/* Status */
#define LP2P_RELAY_OK 100
#define LP2P_RELAY_RESERVATION_REFUSED 200
#define LP2P_RELAY_RESOURCE_LIMIT_EXCEEDED 201
#define LP2P_RELAY_PERMISSION_DENIED 202
#define LP2P_RELAY_CONNECTION_FAILED 203
#define LP2P_RELAY_NO_RESERVATION 204
#define LP2P_RELAY_MALFORMED_MESSAGE 400
#define LP2P_RELAY_UNEXPECTED_MESSAGE 401

/** A byte string inside a message. */
typedef struct lp2p_relay_bytes {
  const uint8_t *p;
  size_t len;
} lp2p_relay_bytes;

/** One hop or stop message. `has_*` says which optional parts are there. */
typedef struct lp2p_relay_msg {
  uint8_t stop;       /**< 0 HopMessage, 1 StopMessage */
  uint8_t has_type, has_peer, has_rsvp, has_limit, has_status;
  uint32_t type;
  uint32_t status;
  /* Peer */
  lp2p_peerid peer;
  lp2p_relay_bytes peer_addrs[LP2P_RELAY_ADDRS_MAX];
  size_t npeer_addrs;
  /* Reservation (hop only) */
  uint64_t expire;    /**< UNIX seconds */
  lp2p_relay_bytes rsvp_addrs[LP2P_RELAY_ADDRS_MAX];
  size_t nrsvp_addrs;
  lp2p_relay_bytes voucher;
  /* Limit */
  uint32_t limit_duration; /**< seconds (js sends milliseconds: advisory) */
  uint64_t limit_data;     /**< bytes */
} lp2p_relay_msg;

/** Decode a message body p[0..n) (without its length prefix); `stop`
 * picks the message type. Unknown fields are skipped. Returns 0 or
 * LP2P_ERR_PARSE (malformed protobuf, bad peer id, a field of the wrong
 * wire type), LP2P_ERR_LIMIT (n > LP2P_RELAY_MSG_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_relay_msg_decode(lp2p_relay_msg *m, int stop,
                                   const uint8_t *p, size_t n);

/** Encode m as a varint-length-prefixed message into out[0..cap).
 * Returns 0 (then *len) or LP2P_ERR_NOSPACE, LP2P_ERR_LIMIT, INVAL. */
LP2P_API int lp2p_relay_msg_encode(const lp2p_relay_msg *m, uint8_t *out,
                                   size_t cap, size_t *len);

/** Reservation vouchers: a signed envelope (domain "libp2p-relay-rsvp",
 * payload type 0x0302) over Voucher{relay, peer, expiration}. */
#define LP2P_RELAY_VOUCHER_DOMAIN "libp2p-relay-rsvp"
#define LP2P_RELAY_VOUCHER_MAX 1024

/** Sign a voucher with the relay's key `k` for `peer` until `expire`. */
LP2P_API int lp2p_relay_voucher_seal(const lp2p_privkey *k,
                                     const lp2p_peerid *peer, uint64_t expire,
                                     uint8_t *out, size_t cap, size_t *len);

/** Verify a voucher: the signature, the payload type, and that the signer
 * is the relay it names. Fills relay, peer and expire. Returns 0 or
 * LP2P_ERR_PARSE, LP2P_ERR_SIGNATURE, LP2P_ERR_PEER_ID_MISMATCH, INVAL. */
LP2P_API int lp2p_relay_voucher_open(const uint8_t *p, size_t n,
                                     lp2p_peerid *relay, lp2p_peerid *peer,
                                     uint64_t *expire);

/** The relay service's settings (lp2p_host_config.relay). Defaults are
 * go-libp2p's (p2p/protocol/circuitv2/relay/resources.go) unless noted. */
typedef struct lp2p_relay_config {
  uint8_t hop;                  /**< serve as a relay (0) */
  uint8_t stop;                 /**< accept relayed connections (1) */
  uint64_t reservation_ttl_ns;  /**< 1 h */
  uint32_t reservations_max;    /**< 128 */
  uint32_t reservations_per_ip_max; /**< 8 (loopback exempt) */
  uint32_t circuits_max;        /**< all circuits (1024; go has only the
                                     per-peer cap, MaxCircuits) */
  uint32_t circuits_per_peer_max; /**< 16: as initiator or target */
  uint64_t limit_duration_ns;   /**< per circuit (2 min; 0 = none) */
  uint64_t limit_data_bytes;    /**< per circuit and direction (128 KiB;
                                     0 = none) */
  uint64_t refresh_before_ns;   /**< a client refreshes its reservation this
                                     long before it expires (go: at 3/4 of
                                     the TTL; here 1/4 of the TTL it got,
                                     at most 5 min) */
  uint64_t request_timeout_ns;  /**< a hop or stop exchange (30 s) */
  /* AutoRelay: reserve on relays found among connected peers (those whose
   * identify lists the hop protocol) */
  uint8_t autorelay;            /**< LP2P_AUTORELAY_* (OFF) */
  uint32_t autorelay_reservations; /**< kept at once (2) */
  uint64_t autorelay_backoff_ns; /**< a relay that refused or went is not
                                     asked again for this long (60 s; go
                                     waits an hour, a tool cannot) */
} lp2p_relay_config;

/** lp2p_relay_config.autorelay */
#define LP2P_AUTORELAY_OFF 0
#define LP2P_AUTORELAY_ON 1      /**< always (the tool's --autorelay) */
#define LP2P_AUTORELAY_PRIVATE 2 /**< while the host believes it is not
                                      publicly reachable (AutoNAT) */

#ifdef __cplusplus
}
#endif
#endif
