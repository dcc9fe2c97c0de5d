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
 * (or a byte count) or a negative LP2P_ERR_* code.
 *
 * ## The pieces
 * This header includes every part of the host API; each is its own
 * header in lp2p/: host_base.h (handle, lp2p_sockaddr, directions),
 * host_config.h, host_io.h and host_io_raw.h (driver side),
 * host_events.h, host_commands.h, host_gater.h, host_conns.h,
 * host_stats.h, host_raw.h, host_dns.h, host_peerstore.h, host_addrs.h,
 * host_nat.h, host_portmap.h, host_relay.h, host_kad.h. */
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

#include "lp2p/host_addrs.h"
#include "lp2p/host_base.h"
#include "lp2p/host_commands.h"
#include "lp2p/host_config.h"
#include "lp2p/host_conns.h"
#include "lp2p/host_dns.h"
#include "lp2p/host_events.h"
#include "lp2p/host_gater.h"
#include "lp2p/host_io.h"
#include "lp2p/host_io_raw.h"
#include "lp2p/host_kad.h"
#include "lp2p/host_nat.h"
#include "lp2p/host_peerstore.h"
#include "lp2p/host_portmap.h"
#include "lp2p/host_raw.h"
#include "lp2p/host_relay.h"
#include "lp2p/host_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the object: create, free, identity, wall time ---------------------- */

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

#ifdef __cplusplus
}
#endif
#endif
