/** The host's raw sockets for the application: plain TCP listeners and
 * connections and UDP sockets next to libp2p ones. The driver side is
 * lp2p/host_io_raw.h. Part of lp2p/host.h. */
#ifndef LP2P_HOST_RAW_H
#define LP2P_HOST_RAW_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
