/** The host's driver side: I/O requests (lp2p_io), the calls that answer
 * them and feed connection bytes, and the timer. The drain order is in
 * lp2p/host.h. Part of lp2p/host.h. */
#ifndef LP2P_HOST_IO_H
#define LP2P_HOST_IO_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/** Earliest deadline (LP2P_TSTAMP_NONE if none). Pure and O(1). */
LP2P_API lp2p_tstamp lp2p_host_next_timeout(const lp2p_host *h);
/** Run everything due at `now` (idempotent). Returns 0. */
LP2P_API int lp2p_host_handle_timeout(lp2p_host *h, lp2p_tstamp now);

#ifdef __cplusplus
}
#endif
#endif
