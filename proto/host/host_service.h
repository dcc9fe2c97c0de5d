/* The host's internal service interface (DESIGN §3a "Services").
 *
 * Every protocol above the muxer (identify, ping, perf, echo, and the
 * NAT-traversal stack to come) is a service: a const vtable of hooks plus
 * a state object the service allocates itself. The host core has no field
 * and no switch for any service: it keeps an array of registered services
 * and calls their hooks; services keep their own state keyed by connection,
 * peer and stream ids, and hang one opaque pointer (`ud`) on each stream
 * they own.
 *
 * This is not a public callback API: services are compiled in and listed
 * in proto/services/builtin.c, so the engine contract of DESIGN §2 (no callbacks but
 * mem, rng and log) holds for library users.
 *
 * Re-entrancy. Services call the host only through the id-based functions
 * below. They may call them from inside any hook: stream I/O never pumps a
 * connection recursively; touched connections are pumped once the
 * outermost host call returns (host_svc_touch). A stream or connection id
 * may die inside any call; the functions answer NOT_FOUND for dead ids. */
#ifndef LP2P_PROTO_HOST_SERVICE_H
#define LP2P_PROTO_HOST_SERVICE_H

#include "lp2p/host.h"

/* Protocol flags for host_svc_add_protocol. */
#define HSVC_P_INBOUND 0x1u   /* accept inbound streams for it */
#define HSVC_P_ADVERTISE 0x2u /* list it in identify */
#define HSVC_P_LIMITED 0x4u   /* may run on limited (relayed) connections */

/* What changed, for local_changed. */
#define HSVC_LOCAL_ADDRS 0x1u     /* our advertised addresses */
#define HSVC_LOCAL_PROTOCOLS 0x2u /* the protocols we serve */
#define HSVC_LOCAL_CANDIDATES 0x4u /* addresses AutoNAT should check
                                      (MAPPED), advertised or not */

typedef struct hsvc_ops {
  const char *name;
  /* Allocate the state, register protocols (host_svc_add_protocol).
   * Returns 0 or an error (host_new fails with it). `svc` is the service's
   * handle for every call below. */
  int (*init)(lp2p_host *h, uint32_t svc, void **state);
  /* Free the state (streams were ended before). */
  void (*fini)(lp2p_host *h, void *state);

  /* An inbound stream negotiated one of our protocols (`proto` is the
   * index host_svc_add_protocol returned). Attach state with
   * host_svc_stream_set_ud, or reset the stream. */
  void (*stream_start)(lp2p_host *h, void *state, uint64_t stream,
                       uint64_t conn, uint16_t proto, lp2p_tstamp now);
  /* Readable, writable or remote-closed: look at the stream. For an
   * outbound stream this is also called once the lazy proposal is out. */
  void (*stream_activity)(lp2p_host *h, void *state, uint64_t stream,
                          void *ud, lp2p_tstamp now);
  /* The stream is gone (err 0: closed cleanly both ways; else why, e.g.
   * the remote reset it, its connection died, or negotiation failed).
   * Called once for every stream the service did not reset itself; free
   * `ud` here. */
  void (*stream_end)(lp2p_host *h, void *state, uint64_t stream, void *ud,
                     int err, lp2p_tstamp now);
  /* The deadline set with host_svc_stream_deadline passed. NULL: reset. */
  void (*stream_timeout)(lp2p_host *h, void *state, uint64_t stream,
                         void *ud, lp2p_tstamp now);

  /* Peer hooks (conn is OPEN; its peer is authenticated). */
  void (*peer_connected)(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now);
  void (*peer_identified)(lp2p_host *h, void *state, uint64_t conn,
                          lp2p_tstamp now);
  void (*peer_disconnected)(lp2p_host *h, void *state, uint64_t conn,
                            const lp2p_peerid *peer, int err,
                            lp2p_tstamp now);
  /* Our advertised addresses or served protocols changed (HSVC_LOCAL_*). */
  void (*local_changed)(lp2p_host *h, void *state, unsigned what,
                        lp2p_tstamp now);
  /* Activity on a raw socket the service owns (created with the
   * host_raw_listen / host_raw_connect / host_udp_open of host_raw.h and
   * owner = svc + 1; its I/O is the public lp2p_host_raw_* / udp_* calls):
   * `what` is the LP2P_HOST_EV_RAW_* / UDP_* kind an application owner
   * would have seen, `raw` the socket (for RAW_ACCEPTED the new one). */
  void (*raw_activity)(lp2p_host *h, void *state, uint64_t raw,
                       unsigned what, lp2p_tstamp now);

  /* Resolve a name for dial `dial` (`ma` starts with /dns, /dns4, /dns6
   * or /dnsaddr; lp2p_host_dial asks the first service that has this
   * hook). Answer with host_dial_resolved, later or from inside this
   * call. Returns 0, or an error that lp2p_host_dial returns (then the
   * dial must not have been answered). */
  int (*resolve)(lp2p_host *h, void *state, uint64_t dial,
                 const lp2p_maddr *ma, lp2p_tstamp now);
  /* The dial ended while resolving (the host is closing): forget it; an
   * answer now gets NOT_FOUND. Also called for circuit dials. */
  void (*resolve_cancel)(lp2p_host *h, void *state, uint64_t dial);
  /* Dial through a relay for dial `dial` (`ma` holds /p2p-circuit; the
   * first service with this hook is asked). Answer with host_dial_carried
   * (a stream to the target became the connection) or host_dial_resolved
   * with an error, later or from inside this call. Returns 0 or an error
   * that lp2p_host_dial returns (then the dial must not be answered). */
  int (*circuit)(lp2p_host *h, void *state, uint64_t dial,
                 const lp2p_maddr *ma, lp2p_tstamp now);

  /* Service timer: pure; the host re-reads it after every hook. */
  lp2p_tstamp (*next_timeout)(const void *state);
  void (*handle_timeout)(lp2p_host *h, void *state, lp2p_tstamp now);

  /* A dial this service started with host_svc_dial ended: err 0 and the
   * new connection (OPEN), or why it failed (conn 0). The application
   * sees no DIAL_DONE / DIAL_FAILED for it. */
  void (*dial_result)(lp2p_host *h, void *state, uint64_t dial,
                      uint64_t conn, int err, lp2p_tstamp now);
} hsvc_ops;

/* ---- registration ------------------------------------------------------- */

/* Add a protocol the service serves or speaks. Returns its index (stable
 * for the host's life) or UINT16_MAX with *err set. */
uint16_t host_svc_add_protocol(lp2p_host *h, uint32_t svc, const char *name,
                               unsigned flags, int *err);
/* The service's state, found by its ops (for public entry points such as
 * lp2p_host_ping). NULL when the service is not registered. */
void *host_svc_state(const lp2p_host *h, const hsvc_ops *ops,
                     uint32_t *svc);

/* ---- streams (id-based, safe inside hooks) ------------------------------ */

/* Open an outbound stream for protocol `proto` on conn (lazy multistream
 * proposal: data may follow at once). Returns 0 or STATE (conn not open),
 * LIMIT, NOMEM, NOT_FOUND. stream_activity follows once the proposal is
 * out; stream_end follows if the remote refuses the protocol. */
int host_svc_open(lp2p_host *h, uint32_t svc, uint64_t conn, uint16_t proto,
                  void *ud, lp2p_tstamp now, uint64_t *stream);
void host_svc_stream_set_ud(lp2p_host *h, uint64_t stream, void *ud);
/* Writes as much as the window allows (0 = full: WRITABLE activity
 * follows). Returns bytes, or CLOSED / NOT_FOUND. */
lp2p_ssize host_svc_write(lp2p_host *h, uint64_t stream, lp2p_tstamp now,
                          const uint8_t *p, size_t n);
const uint8_t *host_svc_peek(lp2p_host *h, uint64_t stream, size_t *len);
void host_svc_consume(lp2p_host *h, uint64_t stream, lp2p_tstamp now,
                      size_t n);
/* 1 when the remote half-closed and every byte was consumed. */
int host_svc_at_eof(lp2p_host *h, uint64_t stream);
/* 1 once the remote half-closed (bytes may still be buffered). */
int host_svc_remote_closed(lp2p_host *h, uint64_t stream);
/* 1 once we half-closed. */
int host_svc_local_closed(lp2p_host *h, uint64_t stream);
/* Half-close our side (the FIN goes after the buffered bytes). */
void host_svc_close(lp2p_host *h, uint64_t stream, lp2p_tstamp now);
/* Reset and forget the stream. No stream_end follows: free `ud` yourself. */
void host_svc_reset(lp2p_host *h, uint64_t stream, lp2p_tstamp now);
/* Deadline for stream_timeout (LP2P_TSTAMP_NONE clears it). */
void host_svc_stream_deadline(lp2p_host *h, uint64_t stream,
                              lp2p_tstamp deadline);

/* No idle timeout for this stream: it carries something with its own
 * budget (a relay's circuit leg, bounded by the circuit's limits and its
 * ends' keepalives). */
void host_svc_stream_no_idle(lp2p_host *h, uint64_t stream);

/* Keep the stream's receive window at its initial size (no auto-tuning):
 * for services that read only when they can answer, so a peer that never
 * reads the answers can make us buffer one window, not 16 MiB. */
void host_svc_stream_fix_window(lp2p_host *h, uint64_t stream);

typedef struct hsvc_stream_info {
  uint64_t conn;
  void *ud;
  uint16_t proto;
  uint8_t dir;
} hsvc_stream_info;
/* Iterate the service's streams on conn: *pos = 0 to start; returns the
 * next stream id or 0 at the end. Do not open or end streams meanwhile. */
uint64_t host_svc_stream_next(const lp2p_host *h, uint32_t svc,
                              uint64_t conn, uint64_t *pos,
                              hsvc_stream_info *info);
/* ---- connections and peers ------------------------------------------------ */

/* The best OPEN connection to a peer, 0 if none. */
uint64_t host_svc_peer_conn(const lp2p_host *h, const lp2p_peerid *peer);
/* A service's public command on a peer (lp2p_host_ping ...): advance the
 * clock, check the arguments, find the best connection to `peer` and run
 * fn(h, state of the service `ops`, conn, arg, now) as a hook would run
 * (connections it touches are pumped when it returns). Returns fn's
 * result or INVAL (no host or peer), STATE (the host is closing),
 * NOT_FOUND (not connected), UNSUPPORTED (the service is not there). */
typedef int (*hsvc_command_fn)(lp2p_host *h, void *state, uint64_t conn,
                               const void *arg, lp2p_tstamp now);
int host_svc_command(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *peer,
                     const hsvc_ops *ops, hsvc_command_fn fn,
                     const void *arg);
/* Peer of an OPEN connection (NULL if none / not open). */
const lp2p_peerid *host_svc_conn_peer(const lp2p_host *h, uint64_t conn);
/* The remote address of a connection (for identify's observedAddr).
 * Returns 0 or NOT_FOUND. */
int host_svc_conn_remote(const lp2p_host *h, uint64_t conn,
                         lp2p_maddr *out);
/* Iterate OPEN connections: *pos = 0 to start; 0 at the end. */
uint64_t host_svc_conn_next(const lp2p_host *h, uint32_t *pos);
/* The identify service announces that it learnt a peer's data: every
 * service's peer_identified hook runs. */
void host_svc_notify_identified(lp2p_host *h, uint64_t conn,
                                lp2p_tstamp now);

/* ---- dials ---------------------------------------------------------------- */

/* Dial `ma` for the service (always a new connection: LP2P_DIAL_FORCE is
 * added; e.g. AutoNAT's dial-back, which must not reuse the connection
 * that asked). Its end goes to the service's dial_result hook, not to the
 * application. Same limits and errors as lp2p_host_dial. */
int host_svc_dial(lp2p_host *h, uint32_t svc, const lp2p_maddr *ma,
                  unsigned flags, lp2p_tstamp now, uint64_t *dial);

/* Hand a dial the service just started itself with a public call that
 * always makes a new dial (lp2p_host_dial_punch, or any dial with
 * LP2P_DIAL_FORCE or LP2P_DIAL_REUSEPORT) to the service: its end goes to
 * dial_result (when the service has that hook), not to the application as
 * DIAL_DONE / DIAL_FAILED. Relay and punch dials are the host's business,
 * not the application's. Returns 0 or NOT_FOUND (no such dial in flight),
 * INVAL. */
int host_svc_dial_adopt(lp2p_host *h, uint32_t svc, uint64_t dial);

/* ---- carriers ------------------------------------------------------------ */

typedef struct hsvc_carrier_limits {
  uint64_t bytes_max;    /* data both ways (0 = no budget) */
  uint64_t duration_ns;  /* time from attach (0 = no budget) */
} hsvc_carrier_limits;

/* Turn `stream` (the service's, on another connection) into the carrier of
 * a new connection: its bytes are the new connection's bytes, upgraded as
 * usual (multistream, Noise or plaintext, yamux). dir OUTBOUND dials and
 * needs `expect`, the peer at the far end; INBOUND listens. `remote` names
 * the endpoint (e.g. /p2p/RELAY/p2p-circuit/p2p/PEER). With limits, the
 * connection is limited: new streams prefer other connections and only
 * protocols allowed on limited connections run on it. The stream then
 * belongs to the host (no more hooks for it); when it ends, the carried
 * connection ends with LP2P_ERR_CARRIER_CLOSED. Bytes the stream already
 * buffered are the first bytes of the connection. Returns 0 (and the new
 * connection's id) or INVAL, NOT_FOUND, STATE, LIMIT, NOMEM. */
int host_svc_carrier_attach(lp2p_host *h, uint64_t stream, int dir,
                            const lp2p_peerid *expect,
                            const lp2p_maddr *remote,
                            const hsvc_carrier_limits *lim, lp2p_tstamp now,
                            uint64_t *conn);

/* ---- dials to names (host_resolve.c) -------------------------------------- */

/* The answer to a resolve hook: err 0 and the addresses (dialled in order,
 * those with another peer's /p2p skipped), or why the name gave nothing
 * (LP2P_ERR_NOT_FOUND, LP2P_ERR_TIMEOUT, LP2P_ERR_NO_RESOLVER ...): the
 * dial fails with that reason (DIAL_FAILED). Returns 0 or NOT_FOUND (the
 * dial is gone: cancelled or the host closed), INVAL. */
int host_dial_resolved(lp2p_host *h, uint64_t dial, const lp2p_maddr *addrs,
                       size_t n, int err, lp2p_tstamp now);

/* The answer to a circuit hook: `stream` (the service's, negotiated with
 * the relay) carries the dial's connection from now on, with the relay's
 * limits; the dial completes when the upgrade inside it does. Returns 0,
 * NOT_FOUND (the dial is gone) or what host_svc_carrier_attach returns
 * (then the dial is still waiting: fail it with host_dial_resolved). */
int host_dial_carried(lp2p_host *h, uint64_t dial, uint64_t stream,
                      const lp2p_maddr *remote,
                      const hsvc_carrier_limits *lim, lp2p_tstamp now);

/* ---- hole punching (host_punch.c) ---------------------------------------- */

/* A punch toward `remote` is under way until `until`: a connection
 * accepted from that IP, any port (the peer's SYN reached our listener rather
 * than our dialing socket) upgrades as the initiator when `initiator`,
 * else as the responder, as the hole-punch protocol decided; the same
 * for our dial there (lp2p_host_dial_punch with AS_RESPONDER or not).
 * Whichever connection is up first is the direct one. Returns 0 or LIMIT
 * (8 punches at once). */
int host_svc_punch_expect(lp2p_host *h, const lp2p_sockaddr *remote,
                          int initiator, lp2p_tstamp until);

/* ---- events, timers, accounting ------------------------------------------- */

/* Re-read the service's next_timeout (call after changing it outside a
 * hook; the host does it after every hook). */
void host_svc_timer_update(lp2p_host *h, uint32_t svc);

#endif
