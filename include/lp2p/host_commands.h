/** The host's application commands: protocols, listen, dial, streams,
 * ping / perf / identify, closing. Part of lp2p/host.h. */
#ifndef LP2P_HOST_COMMANDS_H
#define LP2P_HOST_COMMANDS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
