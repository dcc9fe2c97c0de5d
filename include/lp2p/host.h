/** lp2p_host: a whole libp2p node as one sans-IO object.
 *
 * The host owns every connection stack (multistream-select -> Noise or
 * plaintext -> multistream-select (or the Noise-inlined muxer) -> yamux ->
 * per-stream multistream-select -> protocol), the peerstore, the address
 * manager, the connection manager and the built-in services: identify
 * (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0), ping (/ipfs/ping/1.0.0), perf
 * (/perf/1.0.0) and echo (/echo/1.0.0). It never touches a socket, a clock
 * or an entropy source: a driver does the I/O and passes time in.
 *
 * ## Identifiers
 * Connections, streams, listeners and dials are named by uint64_t ids that
 * are never 0 and never reused within one host. A call that names an id the
 * host no longer knows returns LP2P_ERR_NOT_FOUND and changes nothing, so a
 * driver or application racing a close is harmless.
 *
 * ## Driver side (DESIGN.md section 3)
 * After EVERY call into the host (driver call or application command) the
 * driver drains in this order:
 *   1. while lp2p_host_poll_dirty(h, &conn) returns 1: write what
 *      lp2p_host_out_peek(h, conn, &len) shows, tell the host with
 *      lp2p_host_conn_out_consume(h, conn, n) (partial is fine), repeat until
 *      out_peek shows 0 bytes or the socket would block; then set the
 *      socket's readiness interest from lp2p_host_conn_interest(h, conn);
 *      the same for raw TCP sockets with lp2p_host_raw_poll_dirty and the
 *      lp2p_host_raw_* twins of these calls;
 *   2. while lp2p_host_poll_io(h, &io) returns 1: perform the request
 *      (LISTEN, DIAL, CLOSE, RESET, UNLISTEN, and for raw sockets
 *      RAW_LISTEN, RAW_DIAL, RAW_SHUTDOWN, RAW_CLOSE, RAW_RESET, UDP_OPEN,
 *      SEND_DATAGRAM, UDP_JOIN);
 *   3. (application) while lp2p_host_poll_event(h, &ev) returns 1: handle;
 *   4. sleep until lp2p_host_next_timeout(h) (rounded up) or socket
 *      readiness, then call lp2p_host_handle_timeout(h, now) when due.
 * A connection is put on the dirty queue whenever its output grows or its
 * interest changes, so a driver never scans all connections. A connection
 * whose output is non-empty always has LP2P_INTEREST_WRITE.
 *
 * Connection lifecycle seen by the driver:
 *   outbound: io DIAL{conn} -> lp2p_host_conn_established (or _failed)
 *   inbound:  accept() -> lp2p_host_conn_accepted (assigns the conn id)
 *   then:     lp2p_host_conn_feed / _eof / _reset, out_peek / out_consume
 *   end:      io CLOSE{conn} (output fully drained; close the socket) or
 *             io RESET{conn} (close with SO_LINGER 0 / RST). After either io
 *             the id is dead. After lp2p_host_conn_reset or
 *             lp2p_host_conn_failed the id is dead too and no io follows:
 *             the driver closes that socket itself.
 *
 * ## Application side
 * Commands (lp2p_host_listen, _dial, _open_stream, _stream_write, ...) and
 * a bounded event queue (lp2p_host_poll_event). Stream payload stays in the
 * host: lp2p_host_stream_read_peek / lp2p_host_stream_read_consume.
 *
 * ## Errors
 * Peer misbehaviour never fails an API call: the connection concerned is
 * closed (or reset) with a named reason reported in PEER_DISCONNECTED or
 * DIAL_FAILED, and every other connection is unaffected. API calls return 0
 * (or a byte count) or a negative LP2P_ERR_* code. */
#ifndef LP2P_HOST_H
#define LP2P_HOST_H

#include "lp2p/autonat.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/dcutr.h"
#include "lp2p/dns.h"
#include "lp2p/kad.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"
#include "lp2p/portmap.h"
#include "lp2p/relay.h"
#include "lp2p/stun.h"
#include "lp2p/yamux.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plain-data socket addresses --------------------------------------- */

#ifndef LP2P_SOCKADDR_DEFINED
#define LP2P_SOCKADDR_DEFINED
/** An IP socket address as plain data (never an OS struct). `family` is 4
 * or 6 (0 = none); for IPv4 only ip[0..3] is used; `port` is host order. */
typedef struct lp2p_sockaddr {
  uint8_t family;
  uint8_t ip[16];
  uint16_t port;
} lp2p_sockaddr;
#endif

/** Convert an /ip4/../tcp/.. or /ip6/../tcp/.. multiaddr (a trailing /p2p/..
 * is ignored) into `*out`. Returns 0 or LP2P_ERR_UNSUPPORTED (another
 * transport, e.g. /dns4 or /udp) or LP2P_ERR_INVAL. */
LP2P_API int lp2p_sockaddr_from_maddr(lp2p_sockaddr *out,
                                      const lp2p_maddr *ma);
/** Build /ip4/../tcp/<port> or /ip6/../tcp/<port> from `sa`. Returns 0 or
 * LP2P_ERR_INVAL (family not 4 or 6). */
LP2P_API int lp2p_sockaddr_to_maddr(lp2p_maddr *out, const lp2p_sockaddr *sa);

/* ---- the object --------------------------------------------------------- */

typedef struct lp2p_host lp2p_host;

/** Which secure channel(s) the host offers and accepts, in preference
 * order. */
typedef enum lp2p_host_security {
  LP2P_HOST_SECURITY_NOISE = 0,           /**< /noise only (default) */
  LP2P_HOST_SECURITY_PLAINTEXT = 1,       /**< /plaintext/2.0.0 only */
  LP2P_HOST_SECURITY_NOISE_PLAINTEXT = 2  /**< both, Noise preferred */
} lp2p_host_security;

/** Identify (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0). Identify is always
 * answered (every libp2p peer runs it). */
typedef struct lp2p_host_identify_config {
  int auto_identify;         /**< identify every new connection and push
                                  our changes (1) */
  uint32_t msg_bytes_max;    /**< one identify message (8192) */
  uint64_t timeout_ns;       /**< one identify exchange (10 s) */
} lp2p_host_identify_config;

/** Ping (/ipfs/ping/1.0.0). The client (lp2p_host_ping) is always on. */
typedef struct lp2p_host_ping_config {
  int serve;                 /**< answer inbound pings (1) */
  uint32_t streams_per_peer_max; /**< inbound ping streams per peer (2) */
  uint64_t timeout_ns;       /**< one round trip (10 s) */
} lp2p_host_ping_config;

/** Perf (/perf/1.0.0). The client (lp2p_host_perf) is always on. */
typedef struct lp2p_host_perf_config {
  int serve;                 /**< serve perf requests (1) */
} lp2p_host_perf_config;

/** Echo (/echo/1.0.0), a test service: every byte read is written back. */
typedef struct lp2p_host_echo_config {
  int serve;                 /**< serve echo streams (1) */
} lp2p_host_echo_config;

/** Most STUN servers the NAT service tries (lp2p_host_nat_config). */
#define LP2P_HOST_NAT_STUN_MAX 4
/** Most observations the NAT service keeps (lp2p_host_nat_config). */
#define LP2P_HOST_NAT_OBS_MAX 32

/** NAT classification (lp2p_host_config.nat; README "Hole punching").
 * The service classifies our NAT's mapping from what identify reports:
 * the observed address of every outbound socket connection, together
 * with the connection's local port and the observer's address (only
 * dials from a shared local port, such as REUSEPORT dials from the
 * listen port, can be compared). With STUN servers it also runs RFC 5389
 * binding and RFC 5780 behaviour discovery over a UDP socket it owns,
 * which adds filtering. Every change is a NAT_TYPE event; the DCUtR
 * service uses the class to skip hopeless punches and to predict ports. */
typedef struct lp2p_host_nat_config {
  uint8_t observe;            /**< classify from identify (1) */
  uint32_t observations_max;  /**< kept, oldest dropped (16, at most
                                   LP2P_HOST_NAT_OBS_MAX) */
  lp2p_sockaddr stun[LP2P_HOST_NAT_STUN_MAX]; /**< servers, in order: the
                                   next is asked when one never answers */
  uint32_t nstun;             /**< 0: no STUN (default) */
  uint16_t stun_local_port;   /**< the UDP socket's port (0: any) */
  lp2p_stun_config stun_cfg;  /**< retransmission, discovery on */
} lp2p_host_nat_config;

/** AutoNAT v2 (/libp2p/autonat/2/dial-request and /dial-back; section
 * "AutoNAT"). The client asks peers whose identify lists dial-request
 * about our public candidate addresses (listen and observed) and records
 * verdicts in the address manager; the server dials back on request. */
typedef struct lp2p_host_autonat_config {
  int client;                      /**< check our addresses (1) */
  int server;                      /**< serve dial requests (0) */
  lp2p_autonat_client_config c;    /**< verdict rule, budget, re-checks */
  lp2p_autonat_server_config s;    /**< rate limits, dial data, private */
  lp2p_ip_public_fn is_public;     /**< which of our addresses to check
                                        (NULL: lp2p_autonat_ip_is_public) */
  void *is_public_ud;
} lp2p_host_autonat_config;

/** Host configuration. Get one from lp2p_host_config_default, then change
 * fields. Every pointer in it except `log` is read during lp2p_host_new
 * only (the host copies what it keeps); `log` must outlive the host. A
 * `*_max` of 0 is invalid, not "unlimited". Times are in nanoseconds; a
 * timeout of 0 disables it. Streams per connection and the accept backlog
 * are yamux.streams_max and yamux.accept_backlog_max. */
typedef struct lp2p_host_config {
  const lp2p_privkey *identity; /**< required: the node's key (copied) */
  lp2p_host_security security;
  const char *agent_version;    /**< identify agentVersion (default "lp2p/<version>") */
  const char *protocol_version; /**< identify protocolVersion (default "ipfs/0.1.0") */

  /* connection manager (README "Limits"; more fields at the end) */
  uint32_t conns_max;           /**< established connections plus inbound
                                     pending ones (1024); at the limit a
                                     newcomer may displace a trimmable
                                     connection (see conns_grace_ns) */
  uint32_t conns_pending_max;   /**< INBOUND connections still upgrading
                                     (128); our dials have their own budget,
                                     conns_outbound_pending_max */
  uint32_t conns_per_peer_max;  /**< established per peer (8) */
  uint32_t conns_low_water;     /**< trimming closes the least useful
                                     connections down to this (160) ... */
  uint32_t conns_high_water;    /**< ... once more than this are open (192;
                                     0 = trimming off) */
  uint32_t dials_max;           /**< outstanding lp2p_host_dial calls (128) */

  /* streams */
  lp2p_yamux_config yamux;      /**< per-connection muxer limits, windows
                                     and keepalive (yamux defaults) */
  uint32_t streams_max;         /**< host-wide stream table (65536) */
  uint32_t protocols_max;       /**< application protocol table entries (64;
                                     services' own protocols are extra) */

  /* queues */
  uint32_t event_queue_max;     /**< application events (4096) */

  /* peerstore / addresses */
  uint32_t peers_max;           /**< peerstore entries (4096) */
  uint32_t addrs_per_peer_max;  /**< stored addrs per peer (16) */
  uint32_t protocols_per_peer_max; /**< stored protocols per peer (128) */
  uint32_t host_addrs_max;      /**< address manager entries (64) */
  uint32_t observed_confirm_min;   /**< distinct peers that must report an
                                        observed addr before it is CONFIRMED (4) */
  int advertise_observed;       /**< advertise CONFIRMED observed addrs (0) */
  uint64_t peer_addr_ttl_ns;    /**< TTL of identify-learnt addrs (1 h) */

  /* timeouts */
  uint64_t handshake_timeout_ns;   /**< raw conn -> upgraded (10 s) */
  uint64_t dial_timeout_ns;        /**< DIAL io -> established (15 s) */
  uint64_t idle_timeout_ns;        /**< no streams for this long: close (0) */
  uint64_t stream_negotiate_timeout_ns; /**< per-stream ms (10 s) */
  uint64_t close_timeout_ns;       /**< graceful close drain, then RESET (5 s) */

  /* raw sockets (section "raw sockets") */
  uint32_t raws_max;               /**< raw listeners + connections + UDP
                                        sockets, all owners (256) */
  uint32_t raw_send_bytes_max;     /**< per raw TCP connection (256 KiB) */
  uint32_t raw_recv_bytes_max;     /**< per raw TCP connection (256 KiB) */
  uint32_t udp_queue_max;          /**< received datagrams per UDP socket (64) */
  uint32_t udp_datagram_bytes_max; /**< largest datagram kept (2048) */
  uint32_t udp_send_queue_max;     /**< datagrams waiting for the driver,
                                        all sockets (256) */

  /* services (each a folder in proto/, registered in proto/services/builtin.c) */
  lp2p_host_identify_config identify;
  lp2p_host_ping_config ping;
  lp2p_host_perf_config perf;
  lp2p_host_echo_config echo;
  lp2p_dcutr_service_config dcutr; /**< hole punching over relayed
                                     connections (lp2p/dcutr.h) */
  lp2p_relay_config relay;      /**< circuit relay v2: hop server, stop
                                     handler, client (lp2p/relay.h) */
  lp2p_dns_config dns;          /**< the resolver behind dials to /dns,
                                     /dns4, /dns6 and /dnsaddr addresses
                                     (lp2p_host_dns_configure) */
  lp2p_host_autonat_config autonat;
  lp2p_portmap_config portmap;  /**< port mapping on the home router
                                     (lp2p/portmap.h; off by default) */
  lp2p_host_nat_config nat;     /**< NAT classification: observed
                                     addresses, optional STUN */

  const lp2p_log *log;             /**< optional */

  /* pending connections and trimming (issue 9) */
  uint32_t conns_outbound_pending_max; /**< our dials still connecting or
                                            upgrading (128), apart from the
                                            inbound budget so an inbound
                                            flood never blocks our dials */
  uint32_t conns_pending_per_ip_max;   /**< inbound upgrading from one
                                            source: an IPv4 /32 or an IPv6
                                            /64 (8; loopback is exempt) */
  uint32_t conns_per_ip_max;           /**< established inbound connections
                                            from one /32 or /64 (8; loopback
                                            exempt): identities are free,
                                            addresses are not */
  uint64_t progress_timeout_ns;        /**< an inbound connection that sent
                                            no byte this long after accept
                                            is dropped (3 s; 0 = off); the
                                            handshake timeout still bounds
                                            the whole upgrade */
  uint64_t conns_grace_ns;             /**< new connections are not trimmed
                                            for this long (60 s) */

  /* streams (issue 9) */
  /* Inbound stream caps (section "Limits" of README.md). Defaults follow
   * go-libp2p's resource manager (limit_defaults.go): peer 256, protocol
   * 512, protocol per peer 64; host-wide its system value for a 1 GiB
   * budget. Over a cap the stream is reset and counted in the stats. */
  uint32_t streams_inbound_max;    /**< inbound streams, all peers (2048) */
  uint32_t streams_inbound_per_peer_max; /**< all connections of one
                                        peer together (256) */
  uint32_t streams_outbound_per_peer_max; /**< streams we open to one peer,
                                        all connections (512, go's peer
                                        StreamsOutbound): opening more
                                        returns LP2P_ERR_LIMIT */
  uint32_t streams_inbound_per_protocol_max; /**< one protocol, all peers
                                        (512; per protocol:
                                        lp2p_host_protocol_limits) */
  uint32_t streams_inbound_per_protocol_peer_max; /**< one protocol, one
                                        peer (64) */
  uint32_t streams_inbound_reserve_peer_max; /**< room for honest peers:
                                        once the host-wide budget or a
                                        protocol's is 3/4 full, only peers
                                        holding fewer streams than this in
                                        it get more (16) */
  uint64_t stream_idle_timeout_ns; /**< services' negotiated streams that
                                        carry no byte either way for this
                                        long are reset (60 s; 0 = off) */
  uint64_t app_stream_idle_timeout_ns; /**< the same for application
                                        streams: STREAM_RESET with
                                        LP2P_ERR_TIMEOUT (300 s; 0 = off) */
  /* resource manager (issue 9): memory a connection can make us hold
   * (yamux buffers and queued output) runs under grants */
  uint64_t memory_max;             /**< all connections (128 MiB); growth
                                        uses at most 3/4 of it */
  uint64_t memory_per_peer_max;    /**< all connections of a peer (32 MiB) */
  uint64_t memory_per_conn_max;    /**< one connection (16 MiB) */
  uint64_t memory_per_conn_base;   /**< granted at open (128 KiB, at least
                                        128 KiB) */
  lp2p_kad_config kad;             /**< the Kademlia DHT service (issue 10,
                                        lp2p/kad.h; mode OFF by default) */
  uint32_t gate_rules_max;         /**< connection gater rules, peer ids
                                        and address prefixes (1024) */
} lp2p_host_config;

/** Fill `cfg` with the defaults given in the field docs (identity NULL). */
LP2P_API void lp2p_host_config_default(lp2p_host_config *cfg);

/** Create a host. `mem` and `rng` must outlive it (mem NULL = libc; rng is
 * required). Returns 0 or one of: LP2P_ERR_INVAL (no identity, no rng, bad
 * limits), LP2P_ERR_NOMEM, LP2P_ERR_KEY_TYPE. */
LP2P_API int lp2p_host_new(lp2p_host **out, const lp2p_host_config *cfg,
                           const lp2p_mem *mem, const lp2p_rng *rng,
                           lp2p_tstamp now);
/** Free everything (NULL-safe). No io is produced: the driver closes every
 * socket it still holds. */
LP2P_API void lp2p_host_free(lp2p_host *h);

/** The node's own peer id (pointer valid for the host's lifetime). */
LP2P_API const lp2p_peerid *lp2p_host_peer_id(const lp2p_host *h);

/** Wall-clock time (ns since the Unix epoch) for peer-record seq numbers
 * and expiries; the only way wall time enters the host. */
LP2P_API void lp2p_host_set_unix_time(lp2p_host *h, uint64_t unix_ns);

/* ---- driver side: I/O requests ----------------------------------------- */

typedef enum lp2p_io_kind {
  LP2P_IO_LISTEN = 1,    /**< bind+listen TCP on `addr`; answer listen_done */
  LP2P_IO_DIAL,          /**< non-blocking connect `conn` to `addr`; answer
                              conn_established or conn_failed */
  LP2P_IO_CLOSE,         /**< output is drained: close `conn` gracefully:
                              shutdown(SHUT_WR), then read and discard
                              until EOF (bounded by a short timeout) before
                              close(), so bytes still in flight from the
                              peer do not turn the close into an RST */
  LP2P_IO_RESET,         /**< abort `conn` (RST); discard unsent bytes */
  LP2P_IO_UNLISTEN,      /**< close listener `listener` */
  LP2P_IO_UDP_OPEN,      /**< bind UDP socket `raw` on `addr` (flag
                              REUSEPORT: SO_REUSEADDR + SO_REUSEPORT);
                              answer lp2p_host_raw_bound */
  LP2P_IO_SEND_DATAGRAM, /**< send data[0..len) from UDP socket `raw` to
                              `addr` with IP TTL `ttl` (0 = the system
                              default); best effort, no answer */
  LP2P_IO_RAW_LISTEN,    /**< bind+listen raw TCP listener `raw` on `addr`
                              (flag REUSEPORT as for UDP_OPEN); answer
                              lp2p_host_raw_bound */
  LP2P_IO_RAW_DIAL,      /**< non-blocking connect raw TCP `raw` to `addr`;
                              flag REUSEPORT: bind `local` first with
                              SO_REUSEADDR + SO_REUSEPORT; `ttl` != 0: the
                              first SYN carries that TTL, retransmissions
                              the default (DESIGN.md 5b); answer
                              lp2p_host_raw_established or _failed */
  LP2P_IO_RAW_SHUTDOWN,  /**< output of raw TCP `raw` is drained: send FIN
                              (shutdown(SHUT_WR)); keep reading */
  LP2P_IO_RAW_CLOSE,     /**< close raw socket `raw` (listener, UDP, or a
                              TCP connection whose both directions ended);
                              the id is dead */
  LP2P_IO_RAW_RESET,     /**< abort raw TCP `raw` (RST, SO_LINGER 0); the
                              id is dead */
  LP2P_IO_UDP_JOIN       /**< join multicast group `addr` (IPv4) on UDP
                              socket `raw`; answer lp2p_host_udp_joined */
} lp2p_io_kind;

/** DIAL flag: bind `local` (the listen port) with SO_REUSEADDR and
 * SO_REUSEPORT before connecting (TCP hole punching). Also on RAW_LISTEN,
 * RAW_DIAL and UDP_OPEN. */
#define LP2P_IO_REUSEPORT 0x1u
/** RAW_DIAL flag: bind `local` before connecting (without REUSEPORT). */
#define LP2P_IO_BIND_LOCAL 0x2u

/** One I/O request. Pointers (data) stay valid until the next call into
 * the host. */
typedef struct lp2p_io {
  lp2p_io_kind kind;
  unsigned flags;          /**< LP2P_IO_REUSEPORT */
  uint64_t conn;           /**< DIAL, CLOSE, RESET */
  uint64_t listener;       /**< LISTEN, UNLISTEN */
  uint64_t raw;            /**< the RAW_* and UDP_* kinds, SEND_DATAGRAM */
  lp2p_sockaddr addr;      /**< LISTEN/RAW_LISTEN/UDP_OPEN: bind;
                                DIAL/RAW_DIAL/SEND_DATAGRAM: remote;
                                UDP_JOIN: group */
  lp2p_sockaddr local;     /**< DIAL/RAW_DIAL with REUSEPORT or BIND_LOCAL:
                                local bind address */
  const uint8_t *data;     /**< SEND_DATAGRAM payload */
  size_t len;
  uint8_t ttl;             /**< SEND_DATAGRAM, RAW_DIAL: 0 = default */
} lp2p_io;

/** Take the next I/O request. Returns 1 (filled `*out`) or 0 (none). */
LP2P_API int lp2p_host_poll_io(lp2p_host *h, lp2p_io *out);

/** Answer to LISTEN (or UDP_OPEN): err 0 and the bound address (port 0
 * resolved), or a negative LP2P_ERR_* / the driver's error mapped to
 * LP2P_ERR_IO. Produces LISTENING or LISTEN_FAILED. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_listen_done(lp2p_host *h, uint64_t listener, int err,
                                   const lp2p_sockaddr *bound);

/** A listener accepted a TCP connection. On 0, `*conn` is the new id and
 * the host has started the upgrade (listener role). Returns 0 or one of:
 * LP2P_ERR_LIMIT (refused by a limit, README "Limits": the driver must
 * close the socket at once; counted by reason in stats), LP2P_ERR_NOMEM
 * (same),
 * LP2P_ERR_NOT_FOUND (unknown listener), LP2P_ERR_STATE (host closing). */
LP2P_API int lp2p_host_conn_accepted(lp2p_host *h, uint64_t listener,
                                     const lp2p_sockaddr *remote,
                                     const lp2p_sockaddr *local,
                                     lp2p_tstamp now, uint64_t *conn);

/** A DIAL completed: the socket is connected; `local` is its local address
 * (may be NULL if unknown). The host starts the upgrade (initiator role).
 * Returns 0 or LP2P_ERR_NOT_FOUND / LP2P_ERR_STATE. */
LP2P_API int lp2p_host_conn_established(lp2p_host *h, uint64_t conn,
                                        const lp2p_sockaddr *local,
                                        lp2p_tstamp now);

/** A DIAL failed (err: LP2P_ERR_REFUSED, _UNREACHABLE, _TIMEOUT, _IO...).
 * The id is dead. The host emits DIAL_FAILED (or tries the next address).
 * Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_conn_failed(lp2p_host *h, uint64_t conn, int err,
                                   lp2p_tstamp now);

/** Bytes received on `conn`. Returns how many were consumed (0..n; the
 * driver keeps the rest and offers it again once conn_recv_room > 0), or
 * LP2P_ERR_NOT_FOUND. Never fails because of the bytes' content. */
LP2P_API lp2p_ssize lp2p_host_conn_feed(lp2p_host *h, uint64_t conn,
                                        lp2p_tstamp now, const uint8_t *p,
                                        size_t n);
/** The peer closed its sending side (read returned 0). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_conn_eof(lp2p_host *h, uint64_t conn, lp2p_tstamp now);
/** The socket failed (ECONNRESET, EPIPE, ...). The id is dead; no io
 * follows. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_conn_reset(lp2p_host *h, uint64_t conn, int err,
                                  lp2p_tstamp now);
/** How many bytes conn_feed would take now (0 = stop reading). */
LP2P_API size_t lp2p_host_conn_recv_room(const lp2p_host *h, uint64_t conn);

/** Output waiting for `conn` (zero-copy; valid until the next call into the
 * host). NULL with *len 0 when nothing is pending or the id is unknown. */
LP2P_API const uint8_t *lp2p_host_out_peek(lp2p_host *h, uint64_t conn,
                                           size_t *len);
/** `n` bytes of out_peek were written to the socket (n <= len). Returns 0 or
 * LP2P_ERR_NOT_FOUND / LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_conn_out_consume(lp2p_host *h, uint64_t conn,
                                        size_t n);

#define LP2P_INTEREST_READ 0x1u
#define LP2P_INTEREST_WRITE 0x2u
/** Readiness the driver should wait for on `conn` (0 for unknown ids). */
LP2P_API unsigned lp2p_host_conn_interest(const lp2p_host *h, uint64_t conn);
/** Next connection whose output or interest changed since it was last
 * returned. Returns 1 (sets *conn) or 0. Ids may be dead by now: then
 * out_peek is empty and interest 0. */
LP2P_API int lp2p_host_poll_dirty(lp2p_host *h, uint64_t *conn);

/** A UDP datagram arrived on raw UDP socket `udp`. It is queued (copied)
 * when the socket's queue has room (udp_queue_max datagrams of at most
 * udp_datagram_bytes_max bytes), else dropped and counted, as the network
 * would. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_datagram_feed(lp2p_host *h, uint64_t udp,
                                     const lp2p_sockaddr *from,
                                     lp2p_tstamp now, const uint8_t *p,
                                     size_t n);

/* ---- driver side: raw sockets ------------------------------------------
 * Raw sockets (see "raw sockets" below) have their own id space: a raw id
 * and a conn id may be equal numbers. Per raw TCP connection the driver
 * calls the same shapes as for connections: lp2p_host_raw_feed (or, to
 * read straight into the host's buffer, lp2p_host_raw_recv_buf /
 * _recv_commit) / _eof / _aborted (conn_reset's twin),
 * lp2p_host_raw_out_peek / _out_consume,
 * lp2p_host_raw_recv_room, lp2p_host_raw_interest, and takes changed raw
 * sockets from
 * lp2p_host_raw_poll_dirty in step 1 of the drain order. */

/** Answer to RAW_LISTEN or UDP_OPEN: err 0 and the bound address (port 0
 * resolved), or a negative LP2P_ERR_* (the id is then dead). Produces
 * RAW_LISTENING / UDP_READY or RAW_FAILED. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_bound(lp2p_host *h, uint64_t raw, int err,
                                 const lp2p_sockaddr *bound, lp2p_tstamp now);
/** Raw listener `listener` accepted a TCP connection. On 0, `*raw` is the
 * new raw id (same owner as the listener; RAW_ACCEPTED follows). Returns 0
 * or LP2P_ERR_LIMIT (raws_max: the driver closes the socket at once),
 * LP2P_ERR_NOMEM (same), LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_accepted(lp2p_host *h, uint64_t listener,
                                    const lp2p_sockaddr *remote,
                                    const lp2p_sockaddr *local,
                                    lp2p_tstamp now, uint64_t *raw);
/** A RAW_DIAL connected (`local` may be NULL). RAW_CONNECTED follows.
 * Returns 0 or LP2P_ERR_NOT_FOUND / LP2P_ERR_STATE. */
LP2P_API int lp2p_host_raw_established(lp2p_host *h, uint64_t raw,
                                       const lp2p_sockaddr *local,
                                       lp2p_tstamp now);
/** A RAW_DIAL failed (err LP2P_ERR_REFUSED, ...). The id is dead, no io
 * follows; RAW_FAILED is reported. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_failed(lp2p_host *h, uint64_t raw, int err,
                                  lp2p_tstamp now);
/** Bytes received on raw TCP `raw`. Returns how many were taken (at most
 * raw_recv_room; the driver keeps the rest) or LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_host_raw_feed(lp2p_host *h, uint64_t raw,
                                       lp2p_tstamp now, const uint8_t *p,
                                       size_t n);
/** The peer sent FIN. RAW_REMOTE_CLOSED follows. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_eof(lp2p_host *h, uint64_t raw, lp2p_tstamp now);
/** The socket failed (ECONNRESET, ...). The id is dead, no io follows;
 * RAW_CLOSED with err is reported. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_aborted(lp2p_host *h, uint64_t raw, int err,
                                   lp2p_tstamp now);
/** How many bytes raw_feed takes now (0 = stop reading). */
LP2P_API size_t lp2p_host_raw_recv_room(const lp2p_host *h, uint64_t raw);
/** Zero-copy form of lp2p_host_raw_feed: a writable region at the end of
 * raw TCP `raw`'s receive buffer. *cap in: the most the driver would
 * read (at most recv_room); out: the region's size, which may be smaller
 * (a connection that carries little gets a small buffer). The driver
 * reads into it and calls lp2p_host_raw_recv_commit before any other call
 * on the host; the pointer is invalid after that. Returns NULL with *cap
 * 0 when there is no room, no memory, or no buffer yet (a connection's
 * first bytes: then use lp2p_host_raw_feed, which sizes the buffer). */
LP2P_API uint8_t *lp2p_host_raw_recv_buf(lp2p_host *h, uint64_t raw,
                                         size_t *cap);
/** The driver wrote n bytes (at most the last recv_buf's *cap; 0 gives the
 * region back) into the region: they are received, as with raw_feed.
 * Returns n or one of: LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL (n too big, or
 * the region was voided by another call), LP2P_ERR_STATE. */
LP2P_API lp2p_ssize lp2p_host_raw_recv_commit(lp2p_host *h, uint64_t raw,
                                              lp2p_tstamp now, size_t n);
/** Output waiting on raw TCP `raw` (zero-copy; valid until the next call
 * into the host). NULL with *len 0 when none or unknown. */
LP2P_API const uint8_t *lp2p_host_raw_out_peek(lp2p_host *h, uint64_t raw,
                                               size_t *len);
/** `n` bytes of raw_out_peek were written. Returns 0 or LP2P_ERR_NOT_FOUND
 * / LP2P_ERR_INVAL (n too big). */
LP2P_API int lp2p_host_raw_out_consume(lp2p_host *h, uint64_t raw, size_t n);
/** LP2P_INTEREST_* the driver should wait for on raw TCP `raw`. */
LP2P_API unsigned lp2p_host_raw_interest(const lp2p_host *h, uint64_t raw);
/** Next raw socket whose output or interest changed. Returns 1 (sets
 * *raw) or 0. Ids may be dead by now (empty output, interest 0). */
LP2P_API int lp2p_host_raw_poll_dirty(lp2p_host *h, uint64_t *raw);
/** Answer to UDP_JOIN: err 0 or why the group could not be joined.
 * UDP_JOINED follows. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_udp_joined(lp2p_host *h, uint64_t udp, int err,
                                  lp2p_tstamp now);

/** Earliest deadline (LP2P_TSTAMP_NONE if none). Pure and O(1). */
LP2P_API lp2p_tstamp lp2p_host_next_timeout(const lp2p_host *h);
/** Run everything due at `now` (idempotent). Returns 0. */
LP2P_API int lp2p_host_handle_timeout(lp2p_host *h, lp2p_tstamp now);

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

/** Direction of a connection or stream. */
#define LP2P_DIR_INBOUND 0
#define LP2P_DIR_OUTBOUND 1

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

/* ---- application side: commands ---------------------------------------- */

/** Register an application protocol: inbound streams that negotiate it
 * produce STREAM_INBOUND, and it is advertised by identify (a push follows).
 * Idempotent. Returns 0 or LP2P_ERR_INVAL (empty/too long/has '\n'),
 * LP2P_ERR_LIMIT (protocols_max), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_register_protocol(lp2p_host *h, const char *name);
/** Stop accepting `name` (streams already open are unaffected). Returns 0
 * or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_unregister_protocol(lp2p_host *h, const char *name);
/** Inbound stream caps of one protocol (an application's or a service's,
 * e.g. "/echo/1.0.0"): at most `inbound_max` streams from all peers and
 * `inbound_per_peer_max` from one peer; 0 keeps the config's
 * streams_inbound_per_protocol_max / _peer_max. Streams already open stay.
 * Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_NOT_FOUND (not a protocol the host
 * knows: register it first). */
LP2P_API int lp2p_host_protocol_limits(lp2p_host *h, const char *name,
                                       uint32_t inbound_max,
                                       uint32_t inbound_per_peer_max);

/** Listen on a /ip4/../tcp/<port> or /ip6/../tcp/<port> multiaddr (port 0
 * = any). Queues a LISTEN io; LISTENING or LISTEN_FAILED follows.
 * `*listener` (may be NULL) gets the id. Returns 0 or LP2P_ERR_UNSUPPORTED,
 * LP2P_ERR_LIMIT, LP2P_ERR_NOMEM, LP2P_ERR_STATE (closing). */
LP2P_API int lp2p_host_listen(lp2p_host *h, const lp2p_maddr *ma,
                              uint64_t *listener);

/** Dial flag: open a new connection even if one to the peer exists. */
#define LP2P_DIAL_FORCE 0x1u
/** Dial flag: ask the driver to bind the local end to our listen port
 * (io flag LP2P_IO_REUSEPORT; needs a live listener of the same family;
 * used for TCP hole punching). Implies FORCE. */
#define LP2P_DIAL_REUSEPORT 0x2u

/** Dial flag: the connection's upgrade takes the responder's part
 * (multistream listener, Noise responder) although we dial. For a TCP
 * simultaneous open, where both sides dial and one connection results, a
 * hole-punching protocol (DCUtR) decides the roles, not TCP. The peer id
 * expected from the address is still checked once the handshake ends. */
#define LP2P_DIAL_AS_RESPONDER 0x4u

/** Dial a multiaddr (/ip4|/ip6 ../tcp/.., or a name: /dns|/dns4|/dns6
 * <name>/tcp/.. or /dnsaddr/<name>, resolved without blocking, section
 * "names"; optionally ending in /p2p/<id>:
 * then the authenticated peer must be that id, else DIAL_FAILED with
 * LP2P_ERR_PEER_ID_MISMATCH). Without FORCE an established connection to
 * that peer is reused (DIAL_DONE is queued at once) and a dial already in
 * flight to the same peer or address is joined (same dial id, one result).
 * Every dial id ends in exactly one DIAL_DONE or DIAL_FAILED. Returns 0 or
 * LP2P_ERR_UNSUPPORTED (transport), LP2P_ERR_INVAL (dialing ourselves),
 * LP2P_ERR_LIMIT (dials_max, conns_outbound_pending_max, conns_max,
 * conns_per_peer_max), LP2P_ERR_NOMEM, LP2P_ERR_STATE (closing). */
LP2P_API int lp2p_host_dial(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_maddr *ma, unsigned flags,
                            uint64_t *dial);
/** lp2p_host_dial for TCP hole punching: `first_ttl` != 0 sends the first
 * SYN with that IP TTL (enough to open our own NAT's mapping, too short
 * to reach the far NAT, which may answer an unsolicited SYN with RST;
 * retransmissions go with the default TTL: DESIGN.md 5b). Flags as for
 * lp2p_host_dial, usually REUSEPORT (from our listen port) and, on one
 * side, AS_RESPONDER. */
LP2P_API int lp2p_host_dial_punch(lp2p_host *h, lp2p_tstamp now,
                                  const lp2p_maddr *ma, unsigned flags,
                                  uint8_t first_ttl, uint64_t *dial);
/** Dial a peer by id using its peerstore addresses (tried in order until
 * one works). Same rules and events as lp2p_host_dial; LP2P_ERR_NOT_FOUND
 * when no dialable address is known. */
LP2P_API int lp2p_host_dial_peer(lp2p_host *h, lp2p_tstamp now,
                                 const lp2p_peerid *peer, unsigned flags,
                                 uint64_t *dial);

/** Open a stream for `protocol` on the best established connection to
 * `peer` (lazy multistream proposal: writes are accepted at once and sent
 * with the proposal). STREAM_OPENED or STREAM_OPEN_FAILED follows. Returns 0
 * or LP2P_ERR_NOT_FOUND (not connected), LP2P_ERR_LIMIT, LP2P_ERR_INVAL,
 * LP2P_ERR_NOMEM, LP2P_ERR_STATE. */
LP2P_API int lp2p_host_open_stream(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_peerid *peer,
                                   const char *protocol, uint64_t *stream);
/** Same on a given connection. */
LP2P_API int lp2p_host_open_stream_on(lp2p_host *h, lp2p_tstamp now,
                                      uint64_t conn, const char *protocol,
                                      uint64_t *stream);

/** Queue bytes on a stream. Returns bytes accepted (may be < n, or 0 when
 * the send window and buffer are full: STREAM_WRITABLE follows), or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_CLOSED (after stream_close),
 * LP2P_ERR_RESET. */
LP2P_API lp2p_ssize lp2p_host_stream_write(lp2p_host *h, lp2p_tstamp now,
                                           uint64_t stream, const uint8_t *p,
                                           size_t n);
/** Received bytes not yet consumed (zero-copy; valid until the next call
 * into the host). NULL with *len 0 when none. */
LP2P_API const uint8_t *lp2p_host_stream_read_peek(lp2p_host *h,
                                                   uint64_t stream,
                                                   size_t *len);
/** Drop `n` peeked bytes (re-opens the receive window). Returns 0 or
 * LP2P_ERR_NOT_FOUND / LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_stream_read_consume(lp2p_host *h, lp2p_tstamp now,
                                           uint64_t stream, size_t n);
/** 1 when the remote half-closed and every byte has been consumed; also 1
 * for a stream that already ended cleanly (STREAM_CLOSED queued; the last
 * 64 such ids are remembered), since reading its last bytes can end it. */
LP2P_API int lp2p_host_stream_at_eof(const lp2p_host *h, uint64_t stream);
/** Half-close (our write side; FIN after queued bytes). Reading continues
 * until REMOTE_CLOSED. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_stream_close(lp2p_host *h, lp2p_tstamp now,
                                    uint64_t stream);
/** Abort both directions (RST). No further events for the stream; the id
 * is dead. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_stream_reset(lp2p_host *h, lp2p_tstamp now,
                                    uint64_t stream);

/** Stream facts. Returns 0 or LP2P_ERR_NOT_FOUND. */
typedef struct lp2p_host_stream_info {
  uint64_t conn;
  lp2p_peerid peer;
  const char *protocol;
  int direction;
} lp2p_host_stream_info;
LP2P_API int lp2p_host_stream_info_get(const lp2p_host *h, uint64_t stream,
                                       lp2p_host_stream_info *out);

/** Ping `peer` on an established connection (one outbound ping stream per
 * connection, reused). PING_RESULT follows. Returns 0 or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_ping(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_peerid *peer);
/** Run a /perf/1.0.0 client: send `upload_bytes`, then receive
 * `download_bytes`, streaming (nothing buffered). PERF_RESULT follows.
 * Returns 0 or LP2P_ERR_NOT_FOUND, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_perf(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_peerid *peer, uint64_t upload_bytes,
                            uint64_t download_bytes);
/** Identify `peer` again (it also runs automatically on every new
 * connection). IDENTIFY_DONE follows. While an identify of ours is still
 * running on the connection this joins it (one outbound identify stream per
 * connection: peers may reset a second) and its IDENTIFY_DONE is the
 * answer. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_identify(lp2p_host *h, lp2p_tstamp now,
                                const lp2p_peerid *peer);

/** Close every connection to `peer` gracefully: yamux GoAway, our streams
 * are dropped (STREAM_RESET with LP2P_ERR_CLOSED for application streams),
 * the output drains, then the CLOSE io (the peer sees GoAway then EOF).
 * PEER_DISCONNECTED (err 0) is queued at once. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_close_peer(lp2p_host *h, lp2p_tstamp now,
                                  const lp2p_peerid *peer);
/** Allow (1) or forbid (0, the default for application protocols) the
 * protocol `name` on limited connections (relayed circuits with a data or
 * time budget, circuit relay v2 spec). Streams for a forbidden protocol
 * are not opened there (LP2P_ERR_LIMITED) nor accepted. Identify and ping
 * are allowed by default, as in go-libp2p and js-libp2p. Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_LIMIT (protocol table full), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_allow_limited(lp2p_host *h, const char *name,
                                     int allow);
/** Close one connection gracefully. */
LP2P_API int lp2p_host_conn_close(lp2p_host *h, lp2p_tstamp now,
                                  uint64_t conn);
/** Close the whole host gracefully: UNLISTEN every listener, cancel dials,
 * GoAway + drain + CLOSE every connection (RESET after close_timeout_ns),
 * close every raw socket (RAW_CLOSED with LP2P_ERR_CLOSED to its owner),
 * then the CLOSED event. New commands then return LP2P_ERR_STATE. Returns 0. */
LP2P_API int lp2p_host_close(lp2p_host *h, lp2p_tstamp now);

/* ---- connection gater (DESIGN.md 3a "Gating") ----------------------------
 * Rules are plain data (no callbacks). By address, before the handshake:
 * an inbound socket from a denied IP prefix is refused at
 * lp2p_host_conn_accepted (LP2P_ERR_DENIED; the driver closes it at once).
 * By peer id, right after the secure handshake and before the muxer is
 * up (so a refused peer never gets a stream): a peer with a deny rule is
 * refused in both directions; in LP2P_GATE_ALLOW_LISTED mode an inbound
 * connection from a peer without an allow rule is refused too (our own
 * dials are not gated by the mode). The connection ends with
 * PEER_DISCONNECTED (inbound, peer empty) or DIAL_FAILED, err
 * LP2P_ERR_DENIED, and counts in stats.conns_gated. Rules apply to
 * connections that finish their handshake after the call. */
#define LP2P_GATE_ALLOW_ALL 0    /**< any peer without a deny rule (default) */
#define LP2P_GATE_ALLOW_LISTED 1 /**< inbound: only peers with an allow rule */
/** Set the peer mode. Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_gate_mode(lp2p_host *h, int mode);
/** Add or replace the rule for `peer`: allow (1) or deny (0). Returns 0
 * or LP2P_ERR_INVAL, LP2P_ERR_LIMIT (gate_rules_max), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_gate_peer(lp2p_host *h, const lp2p_peerid *peer,
                                 int allow);
/** Remove the rule for `peer`. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_gate_peer_clear(lp2p_host *h,
                                       const lp2p_peerid *peer);
/** Deny inbound sockets from net/prefix_bits (family 4: 0..32, 6:
 * 0..128; the bits past the prefix are ignored). Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_gate_addr_deny(lp2p_host *h, const lp2p_sockaddr *net,
                                      unsigned prefix_bits);

/* ---- connections -------------------------------------------------------- */

typedef enum lp2p_host_conn_state {
  LP2P_CONN_DIALING = 1,  /**< DIAL io issued */
  LP2P_CONN_UPGRADING,    /**< security / muxer negotiation */
  LP2P_CONN_OPEN,         /**< yamux up, peer known */
  LP2P_CONN_CLOSING       /**< GoAway sent, draining */
} lp2p_host_conn_state;

typedef struct lp2p_host_conn_info {
  lp2p_host_conn_state state;
  int direction;
  lp2p_peerid peer;       /**< empty before the upgrade */
  lp2p_sockaddr remote;   /**< socket connections (family 0 when carried) */
  lp2p_sockaddr local;
  lp2p_maddr remote_addr; /**< the remote endpoint as a multiaddr: the
                               socket address, or for a connection carried
                               in a stream (a relayed circuit) what its
                               carrier named, e.g. /p2p/R/p2p-circuit */
  int carried;            /**< 1: runs inside a stream of another conn */
  int limited;            /**< 1: under a data or time budget (relayed);
                               only protocols allowed on limited
                               connections run on it */
  uint32_t streams;       /**< open streams */
  lp2p_tstamp opened;     /**< when the socket was established/accepted */
  uint64_t limit_bytes_left; /**< limited: data budget left, both ways
                                  together (UINT64_MAX: none) */
  lp2p_tstamp limit_deadline; /**< limited: when the time budget ends
                                  (LP2P_TSTAMP_NONE: none) */
} lp2p_host_conn_info;
/** Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_conn_info_get(const lp2p_host *h, uint64_t conn,
                                     lp2p_host_conn_info *out);
/** Number of established (OPEN) connections to `peer`. */
LP2P_API size_t lp2p_host_peer_conn_count(const lp2p_host *h,
                                          const lp2p_peerid *peer);

/** Counters (monotonic unless noted). */
typedef struct lp2p_host_stats {
  uint32_t conns;            /**< current, all states */
  uint32_t conns_pending;    /**< current, dialing + upgrading */
  uint32_t conns_open;       /**< current */
  uint32_t streams;          /**< current */
  uint32_t peers;            /**< current peerstore entries */
  uint64_t inbound_refused;  /**< accepts refused by limits, all reasons
                                  (inbound_refused_* split them) */
  uint64_t conns_trimmed;    /**< closed by the connection manager (water
                                  marks, displacement, idle timeout) */
  uint64_t handshake_timeouts;
  uint64_t conns_failed;     /**< closed because of peer input / errors */
  uint64_t events_lost;
  uint64_t streams_refused;  /**< inbound streams reset by limits */

  /* pending connections and trimming (issue 9) */
  uint32_t conns_pending_inbound;  /**< current, upgrading inbound */
  uint32_t conns_pending_outbound; /**< current, our dials in flight */
  uint64_t inbound_refused_pending;  /**< inbound pending table full and
                                          every entry had sent bytes */
  uint64_t inbound_refused_ip;       /**< conns_pending_per_ip_max */
  uint64_t inbound_refused_ip_conns; /**< conns_per_ip_max (at accept or
                                          when the upgrade ends) */
  uint64_t inbound_refused_conns;    /**< conns_max, nothing to displace */
  uint64_t inbound_evicted_stale;    /**< pending inbound connections that
                                          had sent nothing, closed to make
                                          room for a newcomer */
  uint64_t inbound_progress_timeouts; /**< inbound connections that sent
                                           nothing within
                                           progress_timeout_ns */
  uint64_t conns_displaced;          /**< established connections closed at
                                          conns_max for a newcomer (also in
                                          conns_trimmed) */

  /* streams (issue 9); each refusal is in streams_refused too */
  uint64_t streams_refused_host;     /**< stream table or host-wide inbound
                                          budget full */
  uint64_t streams_refused_peer;     /**< the peer's cap, or its share of a
                                          crowded host-wide budget */
  uint64_t streams_refused_protocol; /**< a protocol's cap (host-wide or
                                          per peer) or its share of it */
  uint64_t streams_idle_closed;      /**< reset by the idle timeout */
  uint64_t streams_refused_outbound; /**< our opens refused by
                                          streams_outbound_per_peer_max
                                          (not in streams_refused) */
  /* resource manager (issue 9) */
  uint64_t memory_used;          /**< bytes granted to connections now */
  /* the system scope now (README "Limits") */
  uint32_t conns_inbound, conns_outbound; /**< established */
  uint32_t streams_inbound, streams_outbound;
  uint32_t fds;                  /**< socket connections, pending included */
  uint64_t conns_refused_memory; /**< no base grant left: refused */
  uint64_t memory_grow_refused;  /**< a grant could not grow */
  uint64_t conns_gated;          /**< refused by the connection gater (an
                                      address rule at accept, also in
                                      inbound_refused; a peer rule after
                                      the handshake) */
} lp2p_host_stats;
LP2P_API void lp2p_host_stats_get(const lp2p_host *h, lp2p_host_stats *out);

/* ---- raw sockets ---------------------------------------------------------
 * Plain TCP listeners and connections (no libp2p upgrade) and UDP sockets,
 * owned by the application (these calls) or by a host service (internal
 * calls with the service as owner; their activity goes to the service,
 * never to the event queue). The driver does the socket work through the
 * RAW_* / UDP_* io kinds. Payload stays in the host: a raw TCP connection
 * has a send buffer (raw_send_bytes_max) and a receive buffer
 * (raw_recv_bytes_max): a peer that never reads stops our writes (short
 * writes, RAW_WRITABLE later) and a reader that never consumes stops
 * reading the socket, so memory stays bounded either way. Raw ids are
 * never 0 and never reused; a call naming an id the host no longer knows
 * returns LP2P_ERR_NOT_FOUND. */

/** Raw flag: SO_REUSEADDR + SO_REUSEPORT (listen beside a dial from the
 * same port, DESIGN.md 5b hole punching). */
#define LP2P_RAW_REUSEPORT 0x1u

/** Open a raw TCP listener on `bind` (port 0 = any). RAW_LISTENING or
 * RAW_FAILED follows. `*raw` gets the id. Returns 0 or LP2P_ERR_INVAL
 * (family not 4 or 6), LP2P_ERR_LIMIT (raws_max), LP2P_ERR_NOMEM,
 * LP2P_ERR_STATE (host closing). */
LP2P_API int lp2p_host_raw_listen(lp2p_host *h, const lp2p_sockaddr *bind,
                                  unsigned flags, uint64_t *raw);
/** Open a raw TCP connection to `remote`, from `local` when not NULL (with
 * LP2P_RAW_REUSEPORT: beside our listener on that port). `first_ttl` 0 =
 * default; else the first SYN's IP TTL (enough to open our own NAT's
 * mapping without reaching the far NAT, DESIGN.md 5b). RAW_CONNECTED or
 * RAW_FAILED follows; writes are accepted at once (buffered). Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM, LP2P_ERR_STATE. */
LP2P_API int lp2p_host_raw_connect(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_sockaddr *remote,
                                   const lp2p_sockaddr *local, unsigned flags,
                                   uint8_t first_ttl, uint64_t *raw);
/** Queue bytes on a raw TCP connection. Returns bytes accepted (may be
 * < n, or 0 when the send buffer is full: RAW_WRITABLE follows), or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL (a listener or UDP socket),
 * LP2P_ERR_CLOSED (after raw_close). */
LP2P_API lp2p_ssize lp2p_host_raw_write(lp2p_host *h, lp2p_tstamp now,
                                        uint64_t raw, const uint8_t *p,
                                        size_t n);
/** Received bytes not yet consumed (zero-copy; valid until the next call
 * into the host). NULL with *len 0 when none. */
LP2P_API const uint8_t *lp2p_host_raw_read_peek(lp2p_host *h, uint64_t raw,
                                                size_t *len);
/** Drop `n` peeked bytes (re-opens reading). May end the connection
 * (RAW_CLOSED err 0) when it was the last of a closed one. Returns 0 or
 * LP2P_ERR_NOT_FOUND / LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_raw_read_consume(lp2p_host *h, lp2p_tstamp now,
                                        uint64_t raw, size_t n);
/** 1 when the peer sent FIN and every byte was consumed. */
LP2P_API int lp2p_host_raw_at_eof(const lp2p_host *h, uint64_t raw);
/** Raw TCP connection: half-close (FIN after the queued bytes; reading
 * goes on until RAW_REMOTE_CLOSED, and RAW_CLOSED err 0 ends it).
 * Listener or UDP socket: close it now (no event; the id is dead).
 * Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_close(lp2p_host *h, lp2p_tstamp now, uint64_t raw);
/** Abort (RST for TCP; a plain close otherwise). No further event; the id
 * is dead. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_reset(lp2p_host *h, lp2p_tstamp now, uint64_t raw);

typedef enum lp2p_raw_kind {
  LP2P_RAW_LISTENER = 1,
  LP2P_RAW_TCP,
  LP2P_RAW_UDP
} lp2p_raw_kind;

/** Raw socket facts. */
typedef struct lp2p_host_raw_info {
  lp2p_raw_kind kind;
  int direction;         /**< TCP: LP2P_DIR_* */
  int connected;         /**< TCP established / bound */
  uint64_t listener;     /**< TCP accepted: its listener */
  lp2p_sockaddr local;   /**< bound / local address (family 0 = unknown) */
  lp2p_sockaddr remote;  /**< TCP: the peer */
  size_t recv_buffered;  /**< TCP bytes / UDP datagrams waiting */
  size_t send_buffered;  /**< TCP bytes not yet taken by the driver */
  uint64_t dropped;      /**< UDP datagrams dropped (queue full, too big) */
} lp2p_host_raw_info;
/** Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_raw_info_get(const lp2p_host *h, uint64_t raw,
                                    lp2p_host_raw_info *out);

/** Open a UDP socket bound to `bind` (port 0 = any; flags
 * LP2P_RAW_REUSEPORT). UDP_READY or RAW_FAILED follows. Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM, LP2P_ERR_STATE. */
LP2P_API int lp2p_host_udp_open(lp2p_host *h, const lp2p_sockaddr *bind,
                                unsigned flags, uint64_t *raw);
/** Send one datagram (copied) to `to` with IP TTL `ttl` (0 = default).
 * Best effort, like UDP. Returns 0 or LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL
 * (not UDP, empty `to`, larger than udp_datagram_bytes_max),
 * LP2P_ERR_AGAIN (udp_send_queue_max datagrams wait for the driver),
 * LP2P_ERR_STATE (not bound yet), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_udp_send(lp2p_host *h, uint64_t raw,
                                const lp2p_sockaddr *to, uint8_t ttl,
                                const uint8_t *p, size_t n);
/** Join IPv4 multicast `group` (e.g. 239.255.255.250 for SSDP).
 * UDP_JOINED (err) follows. Returns 0 or LP2P_ERR_NOT_FOUND,
 * LP2P_ERR_INVAL (not UDP or not an IPv4 multicast address),
 * LP2P_ERR_STATE (not bound yet). */
LP2P_API int lp2p_host_udp_join(lp2p_host *h, uint64_t raw,
                                const lp2p_sockaddr *group);
/** The oldest queued datagram (zero-copy; valid until the next call into
 * the host) and its sender in *from (may be NULL). NULL with *len 0 when
 * none. */
LP2P_API const uint8_t *lp2p_host_udp_recv_peek(lp2p_host *h, uint64_t raw,
                                                lp2p_sockaddr *from,
                                                size_t *len);
/** Drop the oldest queued datagram. Returns 0 or LP2P_ERR_NOT_FOUND /
 * LP2P_ERR_AGAIN (queue empty). */
LP2P_API int lp2p_host_udp_recv_consume(lp2p_host *h, uint64_t raw);
/** Close a UDP socket (queued datagrams are dropped; the id is dead).
 * Same as lp2p_host_raw_close. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_udp_close(lp2p_host *h, uint64_t raw);

/* ---- names ---------------------------------------------------------------
 * lp2p_host_dial accepts /dns/<name>, /dns4/<name>, /dns6/<name> and
 * /dnsaddr/<name> addresses without blocking: the host's DNS service looks
 * the name up in the hosts text first, then asks the servers over a UDP
 * socket the host owns (so the driver needs nothing special), and the dial
 * goes on with the addresses found, or ends in DIAL_FAILED with the reason:
 * LP2P_ERR_NOT_FOUND (NXDOMAIN, no usable record), LP2P_ERR_TIMEOUT,
 * LP2P_ERR_NO_RESOLVER (no server configured and no hosts entry),
 * LP2P_ERR_LIMIT (the /dnsaddr recursion bound or a query bound),
 * LP2P_ERR_UNSUPPORTED (names found, none dialable over TCP). Limits are
 * in lp2p_host_config.dns. */

/** Give the resolver its inputs: the text of a hosts(5) file (copied; may
 * be NULL/0) and the DNS servers to ask (lp2p_dns_resolv_conf_parse reads
 * them from resolv.conf text). The epoll/poll driver calls this once in
 * lp2p_driver_new with /etc/hosts and /etc/resolv.conf; call it again to
 * replace both. Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_NOMEM,
 * LP2P_ERR_UNSUPPORTED (the host runs no DNS service). */
LP2P_API int lp2p_host_dns_configure(lp2p_host *h, const char *hosts_text,
                                     size_t len,
                                     const lp2p_sockaddr *servers,
                                     size_t nservers);

/* ---- peerstore ---------------------------------------------------------- */

/** Add a dialable address for `peer` (a trailing /p2p is stripped) with a
 * time to live (0 = permanent). Returns 0 or LP2P_ERR_LIMIT, LP2P_ERR_NOMEM,
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_peer_addr_add(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *peer,
                                     const lp2p_maddr *ma, uint64_t ttl_ns);
/** Protection tags (bits; go-libp2p's ConnManager.Protect takes a string
 * tag, this a bit). A peer holding any is never evicted from the
 * peerstore, and its connections are never trimmed nor displaced by the
 * connection manager. */
#define LP2P_PEER_TAG_KAD_BOOTSTRAP 0x01u /**< a DHT bootstrap peer (kad) */
#define LP2P_PEER_TAG_APP 0x80u           /**< free for the application */
/** Set (`on` 1) or clear one protection tag of `peer` (the peer is created
 * in the peerstore when needed). Returns 0 or LP2P_ERR_INVAL (tag 0 or
 * above 0xff), LP2P_ERR_LIMIT (peerstore full of connected or protected
 * peers), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_peer_protect(lp2p_host *h, const lp2p_peerid *peer,
                                    uint32_t tag, int on);
/** The peer's protection tags (0: none, or unknown peer). */
LP2P_API uint32_t lp2p_host_peer_protected(const lp2p_host *h,
                                           const lp2p_peerid *peer);
/** Copy up to `cap` unexpired addresses of `peer` into out; `*n` gets the
 * total number known. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_addrs(const lp2p_host *h, lp2p_tstamp now,
                                  const lp2p_peerid *peer, lp2p_maddr *out,
                                  size_t cap, size_t *n);
/** The peer's public key (from the handshake or identify). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_pubkey(const lp2p_host *h, const lp2p_peerid *peer,
                                   lp2p_pubkey *out);
/** identify agentVersion / protocolVersion (NUL-terminated, valid until the
 * next call into the host), or NULL when unknown. */
LP2P_API const char *lp2p_host_peer_agent(const lp2p_host *h,
                                          const lp2p_peerid *peer);
LP2P_API const char *lp2p_host_peer_protocol_version(const lp2p_host *h,
                                                     const lp2p_peerid *peer);
/** Number of protocols the peer announced, and the i-th (NUL-terminated,
 * valid until the next call into the host; NULL when out of range). */
LP2P_API size_t lp2p_host_peer_protocol_count(const lp2p_host *h,
                                              const lp2p_peerid *peer);
LP2P_API const char *lp2p_host_peer_protocol(const lp2p_host *h,
                                             const lp2p_peerid *peer,
                                             size_t i);
/** 1 if identify said the peer supports `protocol`. */
LP2P_API int lp2p_host_peer_supports(const lp2p_host *h,
                                     const lp2p_peerid *peer,
                                     const char *protocol);
/** The address the peer observed for us in its last identify. Returns 0
 * or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_observed_addr(const lp2p_host *h,
                                          const lp2p_peerid *peer,
                                          lp2p_maddr *out);

/* ---- address manager ---------------------------------------------------- */

typedef enum lp2p_addr_kind {
  LP2P_ADDR_LISTEN = 1,   /**< from lp2p_host_listen (bound address) */
  LP2P_ADDR_ANNOUNCE,     /**< configured: when any exist, they replace the
                               listen addrs in what we advertise */
  LP2P_ADDR_NO_ANNOUNCE,  /**< configured: never advertised (filter) */
  LP2P_ADDR_OBSERVED,     /**< reported by peers through identify */
  LP2P_ADDR_INTERFACE,    /**< set by the driver: local interface IPs used to
                               expand unspecified (0.0.0.0, ::) listen addrs */
  LP2P_ADDR_RELAYED,      /**< ours through a relay we hold a reservation
                               on (<relay>/p2p/<R>/p2p-circuit): managed by
                               the relay service, always advertised */
  LP2P_ADDR_MAPPED        /**< a port mapping on our router
                               (/ip4/EXT/tcp/PORT): managed by the portmap
                               service, an AutoNAT candidate; status
                               UNCONFIRMED until AutoNAT finds it
                               reachable (then CONFIRMED, advertised);
                               without the AutoNAT client advertised on
                               the gateway's word */
} lp2p_addr_kind;

typedef enum lp2p_addr_status {
  LP2P_ADDR_PENDING = 1,  /**< listen requested, not bound yet */
  LP2P_ADDR_ACTIVE,       /**< bound / configured */
  LP2P_ADDR_FAILED,       /**< listen failed */
  LP2P_ADDR_UNCONFIRMED,  /**< observed by fewer than observed_confirm_min peers */
  LP2P_ADDR_CONFIRMED     /**< observed by enough distinct peers */
} lp2p_addr_status;

typedef struct lp2p_host_addr_info {
  lp2p_maddr addr;
  lp2p_addr_kind kind;
  lp2p_addr_status status;
  uint32_t observers;     /**< OBSERVED: distinct peers that reported it */
  uint64_t listener;      /**< LISTEN: listener id */
  int reachability;       /**< AutoNAT verdict: LP2P_AUTONAT_UNKNOWN,
                               _REACHABLE, _UNREACHABLE */
  lp2p_tstamp reachability_at; /**< when it was reached (NONE: never) */
} lp2p_host_addr_info;

/** Add an ANNOUNCE, NO_ANNOUNCE or INTERFACE address (other kinds are
 * managed by the host). ADDRESS_CHANGED and an identify push follow when
 * the advertised set changes. Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_LIMIT,
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_addr_add(lp2p_host *h, lp2p_tstamp now,
                                const lp2p_maddr *ma, lp2p_addr_kind kind);
/** Remove such an address. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_addr_remove(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_maddr *ma, lp2p_addr_kind kind);
/** Number of address manager entries, and the i-th. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API size_t lp2p_host_addr_count(const lp2p_host *h);
LP2P_API int lp2p_host_addr_get(const lp2p_host *h, size_t i,
                                lp2p_host_addr_info *out);
/** Ask the connected peer `peer` (an AutoNAT v2 server) whether it can
 * dial us on addrs[0..n) (priority order, at most LP2P_AUTONAT_ADDRS_MAX):
 * one AUTONAT_RESULT event with *id follows. Works with autonat.client 0
 * too (the dial-back protocol is always served). Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_NOT_FOUND (not connected), LP2P_ERR_NOMEM,
 * LP2P_ERR_LIMIT, LP2P_ERR_UNSUPPORTED. */
LP2P_API int lp2p_host_autonat_ask(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_peerid *peer,
                                   const lp2p_maddr *addrs, size_t n,
                                   uint64_t *id);
/** The host's overall AutoNAT verdict (LP2P_REACHABILITY_*). */
LP2P_API int lp2p_host_reachability(const lp2p_host *h);

/** What we advertise (identify listenAddrs, peer record): ANNOUNCE addrs if
 * any, else ACTIVE listen addrs (unspecified IPs expanded with INTERFACE
 * addrs, or kept as is when none are known), plus CONFIRMED observed addrs
 * if advertise_observed, plus RELAYED addrs and MAPPED ones AutoNAT
 * confirmed (all MAPPED ones with autonat.client 0); minus NO_ANNOUNCE.
 * Copies up to `cap` into out,
 * `*n` gets the total. Returns 0. */
LP2P_API int lp2p_host_addrs(const lp2p_host *h, lp2p_maddr *out, size_t cap,
                             size_t *n);

/* ---- NAT classification (proto/natclass) --------------------------------- */

/** What the NAT service knows: the class (observations for mapping,
 * port preservation and sequential allocation; STUN for filtering, and
 * for mapping while observations cannot tell), the external addresses
 * (the TCP one observers agree on when the mapping is endpoint-
 * independent, the STUN mapped UDP one), and where it came from. */
typedef struct lp2p_host_nat_info {
  lp2p_nat_class cls;
  lp2p_nat_behaviour obs_mapping;  /**< the evidence: observations' word */
  lp2p_nat_behaviour stun_mapping; /**< and STUN's (UDP) */
  size_t observations;       /**< observations kept */
  int stun_status;           /**< 1: STUN still running, 0 done, else the
                                  LP2P_ERR_* of the last server (or
                                  LP2P_ERR_NOT_FOUND: no STUN configured) */
  lp2p_maddr external[2];
  size_t nexternal;
} lp2p_host_nat_info;

/** Returns 0 or INVAL, UNSUPPORTED (no NAT service). */
LP2P_API int lp2p_host_nat_info_get(const lp2p_host *h,
                                    lp2p_host_nat_info *out);

/* ---- port mapping (proto/portmap) --------------------------------------- */

/** Tell the portmap service the default gateway (IPv4; lp2p_driver_new
 * reads it from /proc/net/route) and, when known, our address on its link
 * (`local` may be NULL). cfg.portmap.gateway / .local, when set, win over
 * these. A ladder that failed for want of a gateway starts again.
 * Returns 0 or INVAL, UNSUPPORTED (no portmap service). */
LP2P_API int lp2p_host_portmap_set_gateway(lp2p_host *h, lp2p_tstamp now,
                                           const lp2p_sockaddr *gateway,
                                           const lp2p_sockaddr *local);

/* ---- circuit relay v2 (proto/relay) ------------------------------------- */

/** Reserve a slot on `relay` (connected, or known to the peerstore: it is
 * dialled) and keep it: refreshed before it expires, RELAY_RESERVED each
 * time, RELAY_RESERVATION_LOST when the relay refuses or goes. Returns 0
 * or INVAL, UNSUPPORTED (no relay service), LIMIT (16 relays at most),
 * NOT_FOUND (no connection and no address). */
LP2P_API int lp2p_host_relay_reserve(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *relay);
/** Tell AutoRelay (relay.autorelay = LP2P_AUTORELAY_PRIVATE) whether the
 * host is privately reachable only (AutoNAT's verdict feeds it): private
 * starts reserving, public drops what AutoRelay reserved. Returns 0 or
 * INVAL, UNSUPPORTED. */
LP2P_API int lp2p_host_relay_set_private(lp2p_host *h, lp2p_tstamp now,
                                         int is_private);
/** Our /p2p-circuit addresses from the active reservations
 * (<relay addr>/p2p/<relay>/p2p-circuit/p2p/<us>); `*n` gets the total. */
LP2P_API int lp2p_host_relay_addrs(const lp2p_host *h, lp2p_maddr *out,
                                   size_t cap, size_t *n);

/* ---- Kademlia DHT (proto/kad, config `kad`) ------------------------------ */

/** Queries (kad-dht spec "Peer routing", "Value storage", "Content
 * provider"). Each returns 0 and a query id, or INVAL, UNSUPPORTED (mode
 * OFF), LIMIT (queries_max unfinished), NOMEM. The query starts from the
 * routing table's closest peers; it runs until KAD_QUERY_DONE, after
 * which its results stay readable until lp2p_host_kad_query_free (or
 * until room is needed for a new query: the oldest finished goes). */
/** Dial every bootstrap peer of the config now (tagging them, see
 * lp2p_kad_config.protect_bootstrap); the first `cap` dial ids go to
 * `dials` (may be NULL), each ends in DIAL_DONE or DIAL_FAILED, and `*n`
 * (may be NULL) gets how many dials started. Returns 0 or
 * LP2P_ERR_UNSUPPORTED (mode OFF), LP2P_ERR_NOT_FOUND (no bootstrap
 * list), or the first dial error when none started. */
LP2P_API int lp2p_host_kad_bootstrap(lp2p_host *h, lp2p_tstamp now,
                                     uint64_t *dials, size_t cap, size_t *n);
/** FIND_NODE for a peer, ending once the peer is seen. */
LP2P_API int lp2p_host_kad_find_peer(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *peer, uint64_t *q);
/** The k closest peers to key[0..n) (a full FIND_NODE lookup). */
LP2P_API int lp2p_host_kad_closest(lp2p_host *h, lp2p_tstamp now,
                                   const uint8_t *key, size_t n, uint64_t *q);
/** GET_VALUE: the best valid value (the local store answers too). */
LP2P_API int lp2p_host_kad_get(lp2p_host *h, lp2p_tstamp now,
                               const uint8_t *key, size_t n, uint64_t *q);
/** PUT_VALUE to the k closest (validated first: the validator's error
 * otherwise); stored locally too in server mode. */
LP2P_API int lp2p_host_kad_put(lp2p_host *h, lp2p_tstamp now,
                               const uint8_t *key, size_t n,
                               const uint8_t *val, size_t val_len,
                               uint64_t *q);
/** ADD_PROVIDER (us, with our advertised addresses) to the k closest of
 * the multihash key[0..n). */
LP2P_API int lp2p_host_kad_provide(lp2p_host *h, lp2p_tstamp now,
                                   const uint8_t *key, size_t n, uint64_t *q);
/** GET_PROVIDERS for the multihash key[0..n). */
LP2P_API int lp2p_host_kad_providers(lp2p_host *h, lp2p_tstamp now,
                                     const uint8_t *key, size_t n,
                                     uint64_t *q);

typedef struct lp2p_kad_query_info {
  uint32_t type;       /**< LP2P_KAD_* */
  int done;
  int err;             /**< once done: 0 or NOT_FOUND */
  uint32_t target_hops; /**< find-peer: hops of the chain that found it */
  int target_found;
  size_t stored;       /**< put / provide: peers that accepted */
  lp2p_kad_query_stats stats;
  /* get, once done: entry corrections (spec "Entry correction": a
   * PUT_VALUE of the best record to each of the k closest that answered
   * with an older value or none) */
  size_t corrections;         /**< sent */
  size_t corrections_done;    /**< answered */
  size_t corrections_pending; /**< still running */
} lp2p_kad_query_info;
/** Returns 0 or NOT_FOUND (no such query). */
LP2P_API int lp2p_host_kad_query_info(const lp2p_host *h, uint64_t q,
                                      lp2p_kad_query_info *out);
/** The i-th closest peer that answered, closest first. 1 or 0. */
LP2P_API int lp2p_host_kad_query_peer(const lp2p_host *h, uint64_t q,
                                      size_t i, lp2p_peerid *peer,
                                      uint32_t *hops);
/** get: the value found (valid until the query is freed), or NULL. */
LP2P_API const uint8_t *lp2p_host_kad_query_value(const lp2p_host *h,
                                                  uint64_t q, size_t *len);
/** providers: the i-th provider and its j-th address. */
LP2P_API int lp2p_host_kad_query_provider(const lp2p_host *h, uint64_t q,
                                          size_t i, lp2p_peerid *peer,
                                          size_t *naddrs);
LP2P_API int lp2p_host_kad_query_provider_addr(const lp2p_host *h,
                                               uint64_t q, size_t i,
                                               size_t j, lp2p_maddr *out);
/** Stop (if running) and forget a query. */
LP2P_API void lp2p_host_kad_query_free(lp2p_host *h, uint64_t q);
/** Peers in the routing table (0 when the service is off). */
LP2P_API size_t lp2p_host_kad_table_size(const lp2p_host *h);
/** Up to `cap` routing-table peers closest to key[0..n). */
LP2P_API size_t lp2p_host_kad_table_closest(const lp2p_host *h,
                                            const uint8_t *key, size_t n,
                                            lp2p_peerid *out, size_t cap);
/** Stored values and provider keys (for tests and stats). */
LP2P_API size_t lp2p_host_kad_records_count(const lp2p_host *h);
LP2P_API size_t lp2p_host_kad_provider_keys(const lp2p_host *h);

#ifdef __cplusplus
}
#endif
#endif
