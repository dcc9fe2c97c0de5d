/** lp2p_sim: a deterministic network simulator (DESIGN.md sections 5, 5b).
 *
 * One process, one thread, discrete events ordered by (virtual time,
 * insertion sequence). The virtual clock jumps to the next event. Every
 * random choice comes from one 64-bit seed through independent ChaCha
 * streams (network, each NAT, each endpoint, each host, the workload), so a
 * run replays exactly and adding a node does not perturb the others. A
 * trace hash (FNV-1a 64, chained) covers every delivered event: the same
 * seed twice gives the same hash.
 *
 * ## World
 * Realm 0 (LP2P_SIM_INTERNET) is the public core. A NAT box is a node with
 * an external IP in a parent realm (the internet, or another NAT's LAN:
 * CGNAT / double NAT) and its own LAN realm whose id is the NAT's node id.
 * Endpoints are nodes on the internet or on a LAN. Every node has one link
 * to its realm's router, with an up and a down direction (latency + jitter,
 * loss, duplication, reordering, bandwidth with a bounded queue, blocking
 * for partitions, clogging). IPv4 only. A packet's TTL drops by one at
 * every router it crosses (a NAT box, the internet core) and it dies at 0.
 *
 * ## Sockets
 * Raw TCP and UDP sockets on endpoints (TCP: a reliable ordered byte pipe
 * with SYN/SYN-ACK, retransmission, FIN/half-close, RST, windows, partial
 * sends, simultaneous open, SO_REUSEPORT dials beside a listener). Socket
 * handles are never 0 and never reused. The owner of an endpoint learns
 * about socket changes through one callback (lp2p_sim_ep_on_sock).
 *
 * ## Hosts
 * lp2p_sim_host_add puts a real lp2p_host on an endpoint: the simulator is
 * then its driver (poll_io, conn_* calls, out_peek/consume, timers) and
 * enforces the drain order of DESIGN.md section 2 after every event that
 * touches it.
 *
 * Errors: API calls return 0 (or a handle / byte count) or a negative
 * LP2P_ERR_*. A scenario-level failure (a spinning node, a checker) is
 * sticky: lp2p_sim_failed returns the reason and the run stops. */
#ifndef LP2P_SIM_H
#define LP2P_SIM_H

#include "lp2p/common.h"
#include "lp2p/host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp2p_sim lp2p_sim;

#define LP2P_SIM_INTERNET 0u
/** An IPv4 address in host byte order. */
#define LP2P_SIM_IP4(a, b, c, d)                                               \
  ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |            \
   (uint32_t)(d))

/* ---- the world ----------------------------------------------------------- */

/** Simulator-wide settings. Get defaults from lp2p_sim_config_default. */
typedef struct lp2p_sim_config {
  uint32_t tcp_mss_bytes;     /**< payload per TCP segment (1460) */
  uint64_t tcp_loss_stall_ns; /**< a TCP segment the link "loses" arrives
                                   this much later, and the segments behind
                                   it wait (retransmission modelled as a
                                   head-of-line stall); 0 = three times the
                                   link's latency + jitter, about one round
                                   trip (fast retransmit) (0). A lost pure
                                   ACK is simply dropped (cumulative). */
  uint64_t spin_max;          /**< handle_timeout calls of one host at one
                                   virtual time before the run fails (1000) */
  uint64_t events_max;        /**< hard stop after this many events (0 = no
                                   limit) */
} lp2p_sim_config;

LP2P_API void lp2p_sim_config_default(lp2p_sim_config *cfg);

/** Create a world. `cfg` NULL = defaults. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_new(lp2p_sim **out, uint64_t seed,
                          const lp2p_sim_config *cfg);
/** Free the world, every host on it (lp2p_host_free) and every socket
 * (NULL-safe). */
LP2P_API void lp2p_sim_free(lp2p_sim *s);

LP2P_API uint64_t lp2p_sim_seed(const lp2p_sim *s);
/** Virtual time (ns since the start of the run). */
LP2P_API lp2p_tstamp lp2p_sim_now(const lp2p_sim *s);
/** The trace hash over every event delivered so far. */
LP2P_API uint64_t lp2p_sim_trace_hash(const lp2p_sim *s);
/** Events delivered so far. */
LP2P_API uint64_t lp2p_sim_events(const lp2p_sim *s);
/** Optional sink for one text line per delivered event (NULL = none). The
 * line is valid during the call only. */
LP2P_API void lp2p_sim_set_trace_sink(lp2p_sim *s,
                                      void (*fn)(void *ud, const char *line),
                                      void *ud);
/** Mix scenario-level facts into the trace hash (and the trace sink). */
LP2P_API void lp2p_sim_trace(lp2p_sim *s, const char *line);

/** Derive an independent deterministic RNG: stream ids below 2^32 are
 * reserved for the simulator; scenarios use LP2P_SIM_STREAM_USER + n. `st`
 * must outlive `out`. */
#define LP2P_SIM_STREAM_USER (UINT64_C(1) << 32)
LP2P_API void lp2p_sim_rng(const lp2p_sim *s, uint64_t stream,
                           lp2p_rng_chacha *st, lp2p_rng *out);

/** Call fn(s, ud, arg) at virtual time `at` (>= now). Returns 0 or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_at(lp2p_sim *s, lp2p_tstamp at,
                         void (*fn)(lp2p_sim *s, void *ud, uint64_t arg),
                         void *ud, uint64_t arg);

/** Deliver the next event. Returns 1, or 0 when no event is left, the
 * world failed, or events_max was reached. */
LP2P_API int lp2p_sim_step(lp2p_sim *s);
/** Deliver every event up to and including `t`, then set the clock to `t`.
 * Returns 0, or 1 when the world failed. */
LP2P_API int lp2p_sim_run_until(lp2p_sim *s, lp2p_tstamp t);
/** Run until stop(ud) returns nonzero (returns 1), the virtual clock would
 * pass `deadline`, no event is left, or the world failed (returns 0).
 * stop is checked after every event; NULL = never. */
LP2P_API int lp2p_sim_run(lp2p_sim *s, int (*stop)(void *ud), void *ud,
                          lp2p_tstamp deadline);

/** Mark the run failed (sticky; the first reason wins). */
LP2P_API void lp2p_sim_fail(lp2p_sim *s, const char *reason);
/** NULL while the run is healthy, else the reason (valid until free). */
LP2P_API const char *lp2p_sim_failed(const lp2p_sim *s);

/* ---- links -----------------------------------------------------------------
 */

/** One direction of a link. */
typedef struct lp2p_sim_link {
  uint64_t latency_ns;      /**< one-way minimum (1 ms) */
  uint64_t jitter_ns;       /**< plus uniform [0, jitter] (0) */
  uint32_t loss_ppm;        /**< UDP: dropped; TCP: stalled (0) */
  uint32_t dup_ppm;         /**< delivered twice (0) */
  uint32_t reorder_ppm;     /**< UDP: held back up to 2 x latency (0) */
  uint64_t bandwidth_bps;   /**< serialisation rate (0 = unlimited) */
  uint32_t queue_bytes_max; /**< UDP tail drop beyond this backlog (256 KiB);
                                 TCP is paced, never dropped by the queue */
} lp2p_sim_link;

LP2P_API void lp2p_sim_link_default(lp2p_sim_link *l);

#define LP2P_SIM_UP 0x1u   /**< node -> its realm's router */
#define LP2P_SIM_DOWN 0x2u /**< router -> node */
#define LP2P_SIM_BOTH 0x3u

/** Replace a node's link settings (NULL keeps a direction). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_link_set(lp2p_sim *s, uint32_t node,
                               const lp2p_sim_link *up,
                               const lp2p_sim_link *down);
/** Partition: drop everything on the given directions of `node`'s link
 * (LP2P_SIM_BOTH: symmetric; one direction: asymmetric) while `on`.
 * Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_link_block(lp2p_sim *s, uint32_t node, unsigned dirs,
                                 int on);
/** Clog: hold (do not drop) packets on those directions until `until`.
 * Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_link_clog(lp2p_sim *s, uint32_t node, unsigned dirs,
                                lp2p_tstamp until);
/** Pair partition: packets sent by endpoint `from` are not delivered to
 * endpoint `to` while `on` (one direction; call twice for symmetric).
 * Returns 0 or LP2P_ERR_NOT_FOUND / LP2P_ERR_LIMIT / LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_pair_block(lp2p_sim *s, uint32_t from, uint32_t to,
                                 int on);
/** Tag a node with a group (0..15; every node starts in group 0) for
 * lp2p_sim_group_block. Returns 0 or LP2P_ERR_NOT_FOUND / LP2P_ERR_INVAL. */
LP2P_API int lp2p_sim_node_group(lp2p_sim *s, uint32_t node, unsigned group);
/** Group partition (a network split of any size at O(1) per packet):
 * packets sent by endpoints of group `from` are not delivered to endpoints
 * of group `to` while `on` (one direction; call twice for symmetric).
 * Returns 0 or LP2P_ERR_INVAL (a group above 15). */
LP2P_API int lp2p_sim_group_block(lp2p_sim *s, unsigned from, unsigned to,
                                  int on);

/* ---- NAT boxes (RFC 4787 UDP, RFC 5382 TCP) --------------------------------
 */

typedef enum lp2p_sim_nat_mapping {
  LP2P_SIM_MAP_EI = 0, /**< endpoint-independent */
  LP2P_SIM_MAP_AD,     /**< address-dependent */
  LP2P_SIM_MAP_APD     /**< address-and-port-dependent */
} lp2p_sim_nat_mapping;

typedef enum lp2p_sim_nat_filtering {
  LP2P_SIM_FILT_EI = 0,
  LP2P_SIM_FILT_AD,
  LP2P_SIM_FILT_APD
} lp2p_sim_nat_filtering;

typedef enum lp2p_sim_nat_alloc {
  LP2P_SIM_PORT_PRESERVE = 0, /**< external port = internal port if free */
  LP2P_SIM_PORT_SEQUENTIAL,   /**< next free port after the last one */
  LP2P_SIM_PORT_RANDOM        /**< uniform free port */
} lp2p_sim_nat_alloc;

typedef struct lp2p_sim_nat_config {
  lp2p_sim_nat_mapping mapping;
  lp2p_sim_nat_filtering filtering;
  lp2p_sim_nat_alloc alloc;
  uint64_t udp_timeout_ns;     /**< idle UDP session (120 s) */
  uint64_t tcp_transitory_ns;  /**< TCP before both SYNs / after FIN or
                                    RST (240 s) */
  uint64_t tcp_established_ns; /**< established TCP (7440 s) */
  int hairpin;                 /**< LAN -> own external IP works (1) */
  int syn_rst;                 /**< unsolicited inbound SYN: answer RST
                                    (1) or drop silently (0) (0) */
  int rst_deletes;             /**< an inbound RST matching a session
                                    deletes it, and the mapping with its
                                    last session (conntrack) (1) */
  uint16_t port_min, port_max; /**< external port range (1024..65535) */
  uint32_t mappings_max;       /**< per protocol (4096) */
  uint32_t sessions_max;       /**< all protocols (16384) */
} lp2p_sim_nat_config;

LP2P_API void lp2p_sim_nat_config_default(lp2p_sim_nat_config *cfg);

/** Short name of a NAT type: "EIM-APDF-preserve" style. Never NULL. */
LP2P_API const char *lp2p_sim_nat_type_name(lp2p_sim_nat_mapping m,
                                            lp2p_sim_nat_filtering f,
                                            lp2p_sim_nat_alloc a);

/** Add a NAT box whose external side sits in `realm` with `ext_ip` (0 =
 * assign one) and whose LAN realm id is the returned node id. The LAN is
 * 10.<id / 256>.<id % 256>.0/24 (gateway .1). Link settings NULL =
 * defaults. Returns 0 or LP2P_ERR_NOT_FOUND (realm), LP2P_ERR_INVAL
 * (address in use), LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_nat_add(lp2p_sim *s, uint32_t realm, uint32_t ext_ip,
                              const lp2p_sim_nat_config *cfg,
                              const lp2p_sim_link *up,
                              const lp2p_sim_link *down, uint32_t *node);

/** Live mappings of a NAT (for checks). */
LP2P_API size_t lp2p_sim_nat_mappings(const lp2p_sim *s, uint32_t nat);

/* ---- the NAT box's optional IGD (port mapping) -----------------------------
 *
 * A home router's port-mapping services on the box's LAN address .1:
 * SSDP (answers M-SEARCH on 239.255.255.250:1900 for the IGD, its WAN
 * connection service, upnp:rootdevice and ssdp:all; UPnP Device
 * Architecture 1.1 1.3), HTTP/1.1 with the device description and the
 * WANIPConnection SOAP actions (GetExternalIPAddress, AddPortMapping,
 * AddAnyPortMapping (IGD:2), DeletePortMapping,
 * GetSpecificPortMappingEntry; faults 401, 402, 606, 714, 716, 718, 725,
 * 728 as the WANIPConnection:2 spec has them), NAT-PMP (RFC 6886) and PCP (RFC
 * 6887, MAP and ANNOUNCE) on UDP 5351. A granted mapping is a real port
 * forward in the box: any outside peer reaches the internal endpoint
 * through it while the lease runs, whatever the box's filtering. Leases
 * run on the virtual clock; a reboot forgets every mapping (and the box's
 * connection tracking) and starts the NAT-PMP / PCP epoch at 0. */

typedef struct lp2p_sim_igd_config {
  int upnp;             /**< SSDP + HTTP/SOAP (1) */
  int upnp_version;     /**< 1: IGD:1 / WANIPConnection:1, 2: IGD:2 /
                             WANIPConnection:2 with AddAnyPortMapping (2) */
  int natpmp;           /**< NAT-PMP (1) */
  int pcp;              /**< PCP (1) */
  uint16_t http_port;   /**< the description and control URL (5000) */
  uint32_t lease_max_s; /**< longer leases are cut to this (86400) */
  int permanent_only;   /**< UPnP: 725 OnlyPermanentLeasesSupported to a
                             nonzero lease (0) */
  uint32_t entries_max; /**< mappings at a time (64, at most 64) */
} lp2p_sim_igd_config;

LP2P_API void lp2p_sim_igd_config_default(lp2p_sim_igd_config *cfg);

/** Give NAT box `nat` an IGD (cfg NULL = defaults). Its LAN side is an
 * endpoint at 10.<id/256>.<id%256>.1; `*node` (may be NULL) gets its id.
 * (Every host on a NAT's LAN is told that address as its gateway when
 * lp2p_sim_host_add puts it there, IGD or not.) Returns 0 or
 * LP2P_ERR_NOT_FOUND (no such NAT), LP2P_ERR_INVAL (already one, or a bad
 * config), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_igd_add(lp2p_sim *s, uint32_t nat,
                              const lp2p_sim_igd_config *cfg, uint32_t *node);
/** Reboot the box: mappings, connection tracking and open HTTP
 * connections are gone, the epoch starts at 0. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_igd_reboot(lp2p_sim *s, uint32_t nat);
/** A mapping some other LAN device holds (for conflicts): TCP (tcp 1) or
 * UDP ext_port to int_ip:int_port for lease_s (0 = permanent). Returns 0
 * or LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL (port taken), LP2P_ERR_LIMIT. */
LP2P_API int lp2p_sim_igd_forward(lp2p_sim *s, uint32_t nat, int tcp,
                                  uint16_t ext_port, uint32_t int_ip,
                                  uint16_t int_port, uint32_t lease_s);

/** What the IGD saw and did. */
typedef struct lp2p_sim_igd_stats {
  uint64_t ssdp_searches;  /**< M-SEARCH answered */
  uint64_t http_requests;  /**< complete requests answered */
  uint64_t descs;          /**< device descriptions served */
  uint64_t soap_actions;   /**< SOAP actions answered (faults included) */
  uint64_t soap_faults;
  uint32_t last_fault;     /**< UPnP errorCode of the last fault */
  uint64_t natpmp_requests, pcp_requests;
  uint64_t mapped;         /**< mappings made (all protocols) */
  uint64_t renewed;        /**< existing mappings renewed */
  uint64_t deleted;        /**< mappings deleted on request */
  uint64_t reboots;
} lp2p_sim_igd_stats;

/** Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_igd_stats_get(const lp2p_sim *s, uint32_t nat,
                                    lp2p_sim_igd_stats *out);
/** Mappings whose lease runs now (expired ones do not count). */
LP2P_API size_t lp2p_sim_igd_mappings(const lp2p_sim *s, uint32_t nat);

/* ---- endpoints
 * --------------------------------------------------------------- */

typedef struct lp2p_sim_ep_config {
  int closed_port_rst;     /**< segment to a closed port: RST (1) or drop */
  uint32_t sndbuf_bytes;   /**< TCP send buffer (128 KiB) */
  uint32_t rcvbuf_bytes;   /**< TCP receive buffer / window (128 KiB) */
  uint32_t backlog_max;    /**< accept queue per listener (128) */
  uint32_t syn_retries;    /**< SYN retransmissions (6: 1+2+..+32 s) */
  uint32_t synack_retries; /**< SYN-ACK retransmissions (5) */
  uint32_t data_retries;   /**< data retransmissions before ETIMEDOUT (8) */
  uint64_t syn_rto_ns;     /**< first SYN retransmission (1 s) */
  uint64_t rto_min_ns;     /**< data RTO floor (200 ms) */
  uint32_t udp_queue_max;  /**< datagrams queued per UDP socket (64) */
  int64_t clock_offset_ns; /**< local clock = offset + t*(1+drift) (0) */
  int32_t clock_drift_ppm; /**< -1000..1000 (0) */
} lp2p_sim_ep_config;

LP2P_API void lp2p_sim_ep_config_default(lp2p_sim_ep_config *cfg);

/** Add an endpoint in `realm` (LP2P_SIM_INTERNET or a NAT's node id) with
 * `ip` (0 = assign). Returns 0 or LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL,
 * LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_ep_add(lp2p_sim *s, uint32_t realm, uint32_t ip,
                             const lp2p_sim_ep_config *cfg,
                             const lp2p_sim_link *up, const lp2p_sim_link *down,
                             uint32_t *node);

/** A node's IP (0 if unknown) and realm. */
LP2P_API uint32_t lp2p_sim_node_ip(const lp2p_sim *s, uint32_t node);
LP2P_API uint32_t lp2p_sim_node_realm(const lp2p_sim *s, uint32_t node);
/** The socket address of `port` at the node's IP (family 4; an unknown
 * node gives 0.0.0.0). */
LP2P_API lp2p_sockaddr lp2p_sim_node_sockaddr(const lp2p_sim *s,
                                              uint32_t node, uint16_t port);
/** The endpoint's local clock now (offset and drift applied). */
LP2P_API lp2p_tstamp lp2p_sim_ep_clock(const lp2p_sim *s, uint32_t node);

/** Socket notifications (bits of `what`). */
#define LP2P_SIM_SOCK_CONNECTED 0x01u /**< connect finished */
#define LP2P_SIM_SOCK_FAILED 0x02u   /**< connect failed (lp2p_sim_sock_error) \
                                      */
#define LP2P_SIM_SOCK_ACCEPT 0x04u   /**< listener: a connection is ready */
#define LP2P_SIM_SOCK_READABLE 0x08u /**< bytes, EOF or a datagram to read */
#define LP2P_SIM_SOCK_WRITABLE 0x10u /**< send buffer has room again */
#define LP2P_SIM_SOCK_RESET 0x20u    /**< connection reset / timed out */

/** Callback for every socket of endpoint `node`; `tag` is the socket's
 * tag (lp2p_sim_sock_set_tag). Runs inside lp2p_sim_step; it may call any
 * socket function. */
typedef void (*lp2p_sim_sock_fn)(void *ud, lp2p_sim *s, uint64_t sock,
                                 uint64_t tag, unsigned what);
LP2P_API int lp2p_sim_ep_on_sock(lp2p_sim *s, uint32_t node,
                                 lp2p_sim_sock_fn fn, void *ud);
LP2P_API int lp2p_sim_sock_set_tag(lp2p_sim *s, uint64_t sock, uint64_t tag);

/* ---- TCP -------------------------------------------------------------------
 */

/** Listen on `port` (0 = ephemeral). `*sock` gets the handle and `*bound`
 * (may be NULL) the address. Returns 0 or LP2P_ERR_INVAL (port in use by
 * another listener), LP2P_ERR_NOT_FOUND, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_tcp_listen(lp2p_sim *s, uint32_t node, uint16_t port,
                                 uint64_t *sock, lp2p_sockaddr *bound);

/** Connect to `remote`. `local_port` 0 = ephemeral; otherwise the socket
 * binds that port beside a listener (SO_REUSEPORT). `first_ttl` 0 = 64;
 * otherwise the first SYN carries this TTL and retransmissions 64 (DESIGN
 * 5b). CONNECTED or FAILED follows. Returns 0 or LP2P_ERR_INVAL (4-tuple
 * in use), LP2P_ERR_NOT_FOUND, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_tcp_connect(lp2p_sim *s, uint32_t node,
                                  uint16_t local_port,
                                  const lp2p_sockaddr *remote,
                                  uint8_t first_ttl, uint64_t *sock);

/** Take an established connection from a listener's queue. Returns 0,
 * LP2P_ERR_AGAIN (none), LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_sim_tcp_accept(lp2p_sim *s, uint64_t listener,
                                 uint64_t *sock);

/** Queue bytes. Returns bytes accepted (1..n), LP2P_ERR_AGAIN (buffer
 * full: WRITABLE follows), LP2P_ERR_STATE (not connected), LP2P_ERR_CLOSED
 * (after shutdown), LP2P_ERR_RESET, LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_sim_tcp_send(lp2p_sim *s, uint64_t sock,
                                      const uint8_t *p, size_t n);
/** Read up to `cap` bytes (a random chunk of what is buffered, so framing
 * bugs surface). Returns bytes (>0), 0 at EOF, LP2P_ERR_AGAIN,
 * LP2P_ERR_RESET, LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_sim_tcp_recv(lp2p_sim *s, uint64_t sock, uint8_t *out,
                                      size_t cap);
/** Bytes buffered for reading. */
LP2P_API size_t lp2p_sim_tcp_readable(const lp2p_sim *s, uint64_t sock);
/** Half-close: FIN after the queued bytes. Returns 0 or NOT_FOUND. */
LP2P_API int lp2p_sim_tcp_shutdown(lp2p_sim *s, uint64_t sock);
/** Close: shutdown and give the socket up (it lingers to deliver its FIN;
 * data arriving later is answered with RST). The handle is dead. */
LP2P_API int lp2p_sim_tcp_close(lp2p_sim *s, uint64_t sock);
/** Abort: send RST, discard everything. The handle is dead. */
LP2P_API int lp2p_sim_tcp_abort(lp2p_sim *s, uint64_t sock);

/** Socket facts. */
typedef struct lp2p_sim_sock_info {
  int listening;
  int established;
  int eof;   /**< FIN received */
  int error; /**< 0 or LP2P_ERR_REFUSED / _RESET / _TIMEOUT /
                  _UNREACHABLE */
  lp2p_sockaddr local;
  lp2p_sockaddr remote;
  uint64_t bytes_sent; /**< accepted by tcp_send */
  uint64_t bytes_acked;
  uint64_t bytes_received; /**< delivered in order */
} lp2p_sim_sock_info;
LP2P_API int lp2p_sim_sock_info_get(const lp2p_sim *s, uint64_t sock,
                                    lp2p_sim_sock_info *out);

/* ---- UDP -------------------------------------------------------------------
 */

/** The LAN multicast group (SSDP). Datagrams sent to it reach every socket
 * in the sender's realm that joined it (never crossing a NAT). */
#define LP2P_SIM_MCAST_IP LP2P_SIM_IP4(239, 255, 255, 250)

LP2P_API int lp2p_sim_udp_open(lp2p_sim *s, uint32_t node, uint16_t port,
                               uint64_t *sock, lp2p_sockaddr *bound);
LP2P_API int lp2p_sim_udp_join(lp2p_sim *s, uint64_t sock);
/** Send a datagram (best effort). `ttl` 0 = 64. Returns 0 or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_udp_send(lp2p_sim *s, uint64_t sock,
                               const lp2p_sockaddr *to, const uint8_t *p,
                               size_t n, uint8_t ttl);
/** Take the next datagram: returns its length (truncated to cap),
 * LP2P_ERR_AGAIN or LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_sim_udp_recv(lp2p_sim *s, uint64_t sock,
                                      lp2p_sockaddr *from, uint8_t *out,
                                      size_t cap);
LP2P_API int lp2p_sim_udp_close(lp2p_sim *s, uint64_t sock);

/* ---- hosts (the sim driver) ------------------------------------------------
 */

/** Faults the sim driver injects into one host (all 0 = none). */
typedef struct lp2p_sim_faults {
  uint32_t dial_fail_ppm;       /**< DIAL answered with conn_failed(IO) */
  uint64_t accept_delay_max_ns; /**< accepted conns reach the host later */
  uint32_t partial_write_ppm;   /**< a write takes fewer bytes than offered */
  uint32_t corrupt_ppm;         /**< flip one bit of a chunk fed to the host */
} lp2p_sim_faults;

/** Host events go to this application callback (after the sim's own
 * bookkeeping); `hid` is the host's node id. It may issue host commands:
 * the sim drains again afterwards. */
typedef void (*lp2p_sim_host_event_fn)(void *ud, lp2p_sim *s, uint32_t hid,
                                       const lp2p_host_event *ev);

/** Run a real lp2p_host on endpoint `node`. The sim creates it with a
 * counting allocator (limit `mem_budget_bytes`, 0 = none) and the node's
 * own RNG stream, and frees it with the world. Returns 0 or the
 * lp2p_host_new error, LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL (already a host
 * there), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_host_add(lp2p_sim *s, uint32_t node,
                               const lp2p_host_config *cfg,
                               size_t mem_budget_bytes);
/** The host on `node` (NULL if none). */
LP2P_API lp2p_host *lp2p_sim_host(const lp2p_sim *s, uint32_t node);
/** The node's RNG (the same stream the host uses; e.g. for its key). */
LP2P_API const lp2p_rng *lp2p_sim_node_rng(lp2p_sim *s, uint32_t node);
/** The host's counting allocator (NULL if none). */
LP2P_API lp2p_mem_counting *lp2p_sim_host_mem(lp2p_sim *s, uint32_t node);
LP2P_API int lp2p_sim_host_set_faults(lp2p_sim *s, uint32_t node,
                                      const lp2p_sim_faults *f);
LP2P_API void lp2p_sim_on_host_event(lp2p_sim *s, lp2p_sim_host_event_fn fn,
                                     void *ud);
/** Call after application commands on a host outside its event callback:
 * drains output and I/O requests and reschedules its timer. */
LP2P_API void lp2p_sim_host_kick(lp2p_sim *s, uint32_t node);
/** Free the host now (a crash: its sockets are aborted). */
LP2P_API int lp2p_sim_host_remove(lp2p_sim *s, uint32_t node);

#ifdef __cplusplus
}
#endif
#endif
