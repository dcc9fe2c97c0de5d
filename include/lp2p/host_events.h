/** The host's application events: the kinds, lp2p_host_event and the
 * queue. Part of lp2p/host.h. */
#ifndef LP2P_HOST_EVENTS_H
#define LP2P_HOST_EVENTS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- application side: events ------------------------------------------ */

typedef enum lp2p_host_event_kind {
  LP2P_HOST_EV_LISTENING = 1,     /**< listener, addr (bound, port resolved) */
  LP2P_HOST_EV_LISTEN_FAILED,     /**< listener, err */
  LP2P_HOST_EV_PEER_CONNECTED,    /**< peer, conn, direction (upgrade done) */
  LP2P_HOST_EV_PEER_DISCONNECTED, /**< peer, conn, direction, err = reason
                                       (0 = closed in order). Also reports
                                       an inbound connection that failed
                                       before its upgrade finished (peer
                                       empty), so bad input is visible */
  LP2P_HOST_EV_DIAL_DONE,         /**< dial, peer, conn: a dial succeeded */
  LP2P_HOST_EV_DIAL_FAILED,       /**< dial, peer (if known), err */
  LP2P_HOST_EV_IDENTIFY_DONE,     /**< peer, conn, err, direction
                                       (OUTBOUND: our request answered;
                                       INBOUND: the peer pushed an update);
                                       data: peerstore accessors (agent,
                                       protocols, addrs,
                                       lp2p_host_peer_observed_addr) */
  LP2P_HOST_EV_PING_RESULT,       /**< peer, conn, rtt_ns or err */
  LP2P_HOST_EV_PERF_RESULT,       /**< peer, upload/download bytes, time_ns, err;
                                       direction OUTBOUND: our lp2p_host_perf
                                       client; INBOUND: a perf stream we
                                       served (bytes in the client's terms) */
  LP2P_HOST_EV_STREAM_OPENED,     /**< stream, peer, protocol: remote agreed */
  LP2P_HOST_EV_STREAM_OPEN_FAILED,/**< stream, peer, protocol, err (the id is
                                       dead) */
  LP2P_HOST_EV_STREAM_INBOUND,    /**< stream, peer, conn, protocol (a
                                       registered app protocol) */
  LP2P_HOST_EV_STREAM_READABLE,   /**< stream: read_peek has new bytes */
  LP2P_HOST_EV_STREAM_WRITABLE,   /**< stream: a write returned short before
                                       and now there is room */
  LP2P_HOST_EV_STREAM_REMOTE_CLOSED, /**< stream: remote half-closed (EOF
                                        after the buffered bytes) */
  LP2P_HOST_EV_STREAM_CLOSED,     /**< stream: both sides closed and all
                                       read; the id is dead (this can happen
                                       inside stream_close or
                                       stream_read_consume) */
  LP2P_HOST_EV_STREAM_RESET,      /**< stream, err: reset (by either side or
                                       because its conn died); id dead */
  LP2P_HOST_EV_ADDRESS_CHANGED,   /**< the advertised address set changed */
  LP2P_HOST_EV_CLOSED,            /**< lp2p_host_close finished */
  LP2P_HOST_EV_EVENTS_LOST,       /**< `count` events were dropped because
                                       the queue was full */
  /* raw sockets (only those the application owns; `raw` names them).
   * Also drain lp2p_host_raw_poll_dirty in step 1 of the drain order. */
  LP2P_HOST_EV_RAW_LISTENING,     /**< raw: listener bound (raw_info: local) */
  LP2P_HOST_EV_RAW_ACCEPTED,      /**< raw (new connection), listener */
  LP2P_HOST_EV_RAW_CONNECTED,     /**< raw: our raw_connect succeeded */
  LP2P_HOST_EV_RAW_READABLE,      /**< raw: raw_read_peek has new bytes */
  LP2P_HOST_EV_RAW_WRITABLE,      /**< raw: a short write now has room */
  LP2P_HOST_EV_RAW_REMOTE_CLOSED, /**< raw: the peer sent FIN (after the
                                       buffered bytes) */
  LP2P_HOST_EV_RAW_CLOSED,        /**< raw, err: the connection ended; err
                                       0: both sides closed and all read;
                                       else reset or failed; LP2P_ERR_CLOSED
                                       for any raw socket (listener, UDP too)
                                       that lp2p_host_close ended. The id is
                                       dead */
  LP2P_HOST_EV_RAW_FAILED,        /**< raw, err: listen, bind or connect
                                       failed; the id is dead */
  LP2P_HOST_EV_UDP_READY,         /**< raw: UDP socket bound */
  LP2P_HOST_EV_UDP_READABLE,      /**< raw: a datagram is queued */
  LP2P_HOST_EV_UDP_JOINED,        /**< raw, err: multicast join answered */
  /* circuit relay v2 */
  LP2P_HOST_EV_RELAY_RESERVED,    /**< peer = the relay, conn, expire_unix:
                                       a reservation is active (also after
                                       each refresh); the circuit addresses
                                       with lp2p_host_relay_addrs */
  LP2P_HOST_EV_RELAY_RESERVATION_LOST, /**< peer = the relay, err, status
                                       (the relay's refusal, 0 if none) */
  LP2P_HOST_EV_RELAY_CIRCUIT,     /**< peer = the other end, conn (the
                                       relayed connection), direction */
  LP2P_HOST_EV_HOLEPUNCH_RESULT,  /**< peer; conn = the direct connection
                                       (0 on failure); u.holepunch: ok,
                                       reason (lp2p_punch_reason), attempts,
                                       time from the relayed connection to
                                       the direct one */
  LP2P_HOST_EV_REACHABILITY,      /**< the host's overall AutoNAT verdict
                                       changed: u.reachability.value */
  LP2P_HOST_EV_AUTONAT_RESULT,    /**< peer, err: answer to
                                       lp2p_host_autonat_ask (u.autonat) */
  /* Kademlia DHT (lp2p_host_kad_*) */
  LP2P_HOST_EV_KAD_QUERY_PROGRESS, /**< kad.query, kad.type: an answer
                                       arrived (results so far by id) */
  LP2P_HOST_EV_KAD_QUERY_DONE,    /**< kad.query, kad.type, err (0, or
                                       NOT_FOUND: nothing found / stored):
                                       results with lp2p_host_kad_query_* */
  LP2P_HOST_EV_KAD_TABLE,         /**< kad.peers: the routing table's size
                                       changed */
  /* port mapping (lp2p/portmap.h) */
  LP2P_HOST_EV_PORT_MAPPED,       /**< u.portmap: a listen port is mapped
                                       (also after a re-map; not after a
                                       plain renewal) */
  LP2P_HOST_EV_PORT_MAPPING_FAILED, /**< u.portmap: reason, method tried
                                       last, internal_port */
  LP2P_HOST_EV_PORT_MAPPING_LOST, /**< u.portmap: a mapping went away
                                       (reason EPOCH: the router restarted;
                                       RENEWAL: a renewal failed); the
                                       service maps again */
  /* NAT classification (proto/natclass/nat_svc.c) */
  LP2P_HOST_EV_NAT_TYPE           /**< u.nat: what we know of our NAT
                                       changed (lp2p_host_nat_info for the
                                       external addresses) */
} lp2p_host_event_kind;

/** One event: a small header, then the kind's own fields in `u` (filled
 * when the event is queued). Header fields a kind does not use are 0 /
 * empty. Bulky results are fetched by id, never copied into events: a
 * listener's bound address with lp2p_host_listener_addr, what a peer
 * observed for us with lp2p_host_peer_observed_addr, identify data with
 * the peerstore accessors. `u.stream.protocol` points into the host's
 * protocol table and stays valid until lp2p_host_free. */
typedef struct lp2p_host_event {
  lp2p_host_event_kind kind;
  int err;               /**< 0 or LP2P_ERR_* (the reason) */
  uint64_t conn;         /**< connection (0 = none) */
  uint64_t stream;       /**< stream (0 = none) */
  lp2p_peerid peer;      /**< empty (len 0) when unknown */
  union {
    /** LISTENING, LISTEN_FAILED */
    struct { uint64_t listener; } listen;
    /** PEER_CONNECTED */
    struct { int direction; } connected;
    /** PEER_DISCONNECTED: goaway = the code of the yamux GoAway the peer
     * sent (0 = normal), -1 if it sent none */
    struct { int direction; int64_t goaway; } disconnected;
    /** DIAL_DONE, DIAL_FAILED */
    struct { uint64_t id; } dial;
    /** IDENTIFY_DONE: OUTBOUND = our request answered, INBOUND = a push */
    struct { int direction; } identify;
    /** PING_RESULT */
    struct { uint64_t rtt_ns; } ping;
    /** PERF_RESULT: bytes in the client's terms; time from stream open to
     * close; OUTBOUND = our lp2p_host_perf, INBOUND = a stream we served */
    struct {
      int direction;
      uint64_t upload_bytes, download_bytes, time_ns;
    } perf;
    /** STREAM_* */
    struct { int direction; const char *protocol; } stream;
    /** EVENTS_LOST */
    struct { uint64_t count; } lost;
    /** RAW_*, UDP_*: id = the raw socket (RAW_ACCEPTED: the new
     * connection, listener = its listener) */
    struct { uint64_t id; uint64_t listener; int direction; } raw;
    /** RELAY_*: expire_unix (RESERVED), status (LOST), direction
     * (CIRCUIT) */
    struct { uint64_t expire_unix; uint32_t status; int direction; } relay;
    /** HOLEPUNCH_RESULT */
    struct { int ok; int reason; uint32_t attempts; uint64_t time_ns; } holepunch;
    /** REACHABILITY: LP2P_REACHABILITY_PUBLIC / _PRIVATE / _UNKNOWN */
    struct { int value; } reachability;
    /** AUTONAT_RESULT: id of the ask; reach = LP2P_AUTONAT_REACHABLE (the
     * server dialed addr_idx and our nonce came back), _UNREACHABLE (it
     * could not dial), _UNKNOWN (no verdict: refused, rejected, error;
     * then err says why when it is ours); status / dial_status as sent */
    struct {
      uint64_t id;
      int reach;
      uint32_t status, dial_status, addr_idx;
    } autonat;
    /** KAD_*: query id and its LP2P_KAD_* type; peers (KAD_TABLE) */
    struct { uint64_t query; uint32_t type; uint64_t peers; } kad;
    /** PORT_*: method (lp2p_portmap_method), reason
     * (lp2p_portmap_reason), the mapping (external_ip / external_port are
     * 0 when unknown); the address is /ip4/EXT/tcp/EXTPORT */
    struct {
      int method, reason;
      uint8_t external_ip[4];
      uint16_t internal_port, external_port;
      uint32_t lifetime_s;
    } portmap;
    /** NAT_TYPE: lp2p_nat_behaviour values; preserves_port 1, 0 or -1
     * (unknown); port_stride > 0 when sequential allocation was seen */
    struct {
      int mapping, filtering, preserves_port;
      uint16_t port_stride;
    } nat;
  } u;
} lp2p_host_event;

/** The bound address of listener `listener` (after LISTENING). Returns 0
 * or LP2P_ERR_INVAL, LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_listener_addr(const lp2p_host *h, uint64_t listener,
                                     lp2p_maddr *out);

/** Take the next event. Returns 1 (filled *ev) or 0 (queue empty).
 * While more than 3/4 of event_queue_max events wait, every connection
 * stops reading (recv_room 0, no READ interest); polling below that
 * threshold puts the connections on the dirty queue again. */
LP2P_API int lp2p_host_poll_event(lp2p_host *h, lp2p_host_event *ev);

/** The direction (LP2P_DIR_*) an event of this kind carries, or -1 when
 * its kind has none. */
LP2P_API int lp2p_host_event_direction(const lp2p_host_event *ev);

/** Stable name of an event kind ("STREAM_INBOUND"). */
LP2P_API const char *lp2p_host_event_name(lp2p_host_event_kind k);

#ifdef __cplusplus
}
#endif
#endif
