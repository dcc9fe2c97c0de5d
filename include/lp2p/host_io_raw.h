/** The host's driver side for raw sockets (plain TCP and UDP, see
 * lp2p/host_raw.h): the twins of the connection calls. Part of
 * lp2p/host.h. */
#ifndef LP2P_HOST_IO_RAW_H
#define LP2P_HOST_IO_RAW_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
