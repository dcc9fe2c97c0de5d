/* Internal to drivers/: the one driver core. It implements the host's
 * driver contract (include/lp2p/host.h, DESIGN.md 2-4) once: it takes
 * every io kind from lp2p_host_poll_io and dispatches it, keeps the
 * (namespace, host id) -> backend socket table, moves bytes both ways
 * (out_peek / out_consume, feed bounded by recv_room, bytes the host
 * refused kept for later), runs the dirty loops, and answers established /
 * accepted / failed / eof / reset for connections and raw sockets alike
 * (through drivers/host_ops.h). A backend (real sockets in loop.c, the
 * simulator's TCP/UDP in sim/host_driver.c) only fills in drv_backend:
 * socket verbs, and reports readiness back with the drv_core_* calls
 * below. A new io kind is one case in core.c plus one verb per backend. */
#ifndef LP2P_DRIVERS_CORE_H
#define LP2P_DRIVERS_CORE_H

#include "drivers/host_ops.h"
#include "drivers/idmap.h"
#include "lp2p/host.h"

/* A backend socket: a descriptor, a sim socket handle ... */
typedef uint64_t drv_handle;
/* One core record: generation << 32 | index. Stable while the record
 * lives (the table may move), stale (found by nothing) after it ends, so
 * a backend can use it as its readiness tag. Never 0. */
typedef uint64_t drv_ref;

/* What a record is. */
enum { DRV_K_FREE = 0, DRV_K_LISTEN, DRV_K_RAW_LISTEN, DRV_K_UDP,
       DRV_K_STREAM /* a libp2p connection or a raw TCP connection */ };

/* How a backend socket ends. */
enum { DRV_END_CLOSE = 0, /* close(); a stream's unread input may RST */
       DRV_END_ABORT,     /* RST now (SO_LINGER 0), unsent bytes dropped */
       DRV_END_GRACEFUL   /* CLOSE of a libp2p connection: FIN, then
                             drain the peer until its EOF (loop.c linger) */ };

typedef struct drv_backend {
  /* LISTEN, RAW_LISTEN, UDP_OPEN (`kind` DRV_K_LISTEN / _RAW_LISTEN /
   * _UDP): bind `io->addr` (flag REUSEPORT), listen for TCP, and report
   * readiness against `ref`. Returns 0 with *h and *bound, or LP2P_ERR_*
   * (the core answers listen_done / raw_bound). */
  int (*listen)(void *b, drv_ref ref, int kind, const lp2p_io *io,
                drv_handle *h, lp2p_sockaddr *bound);
  /* DIAL, RAW_DIAL: a non-blocking connect to io->addr, first from
   * io->local with flags REUSEPORT / BIND_LOCAL, the first SYN with
   * io->ttl (DESIGN 5b). Returns 0 (in progress: report
   * drv_core_connected later), 1 (connected at once; *local filled, or
   * family 0 if unknown), or LP2P_ERR_* (the core answers failed). */
  int (*connect)(void *b, drv_ref ref, const lp2p_io *io, drv_handle *h,
                 lp2p_sockaddr *local);
  /* Writes up to len bytes, *took of them. Returns 0 (all taken, more may
   * follow), LP2P_ERR_AGAIN (full: the rest waits for writability), or
   * another LP2P_ERR_* (the socket is dead). */
  int (*send)(void *b, drv_handle h, const uint8_t *p, size_t len,
              size_t *took);
  /* Reads up to cap bytes: > 0, 0 at EOF, LP2P_ERR_AGAIN when nothing is
   * there, or another LP2P_ERR_* (dead). With `consume` set the bytes
   * were only peeked and stay until consume takes the count the host fed;
   * without it they are gone and the core keeps what the host refused. */
  lp2p_ssize (*recv)(void *b, drv_handle h, uint8_t *buf, size_t cap);
  void (*consume)(void *b, drv_handle h, size_t n);
  /* RAW_SHUTDOWN: FIN, keep reading. Returns 0 or LP2P_ERR_* (dead). */
  int (*shutdown)(void *b, drv_handle h);
  /* End a socket of record kind `kind` (how: DRV_END_*); `peer_eof`: the
   * peer's EOF was read already. The core has forgotten the record. */
  void (*end)(void *b, drv_handle h, int kind, int how, int peer_eof);
  /* SEND_DATAGRAM on a UDP socket (best effort: no answer). */
  void (*udp_send)(void *b, drv_handle h, const lp2p_io *io);
  /* One datagram: > 0 or 0 bytes with *from, or < 0 (none left). */
  lp2p_ssize (*udp_recv)(void *b, drv_handle h, lp2p_sockaddr *from,
                         uint8_t *buf, size_t cap);
  /* UDP_JOIN: returns 0 or LP2P_ERR_* (the core answers udp_joined). */
  int (*udp_join)(void *b, drv_handle h, const lp2p_sockaddr *group);
  /* Level-triggered backends: the readiness (LP2P_POLL_READ / _WRITE) a
   * stream wants after each flush. NULL for a backend that notifies on
   * every change (the simulator): the core reads again after a flush,
   * since the host's read interest may have reopened. */
  void (*want)(void *b, drv_handle h, unsigned poll_events);
  /* The host's clock now. */
  lp2p_tstamp (*now)(void *b);
  /* Called after each drain round's io requests, e.g. to poll host events
   * inside the drain (the simulator). Returns > 0 (did work: go on), 0, or
   * < 0 (stop draining: the host went away). May be NULL. */
  int (*round)(void *b);
  unsigned reads_max;      /* recv calls per readiness (fairness) */
  uint8_t short_read_drains; /* a short recv means the socket is empty */
} drv_backend;

/* One record, for backends that walk the table (teardown). */
typedef struct drv_rec {
  uint64_t id;     /* host id (conn, listener or raw id) */
  drv_handle h;
  uint32_t gen;
  uint8_t kind;    /* DRV_K_* */
  uint8_t ns;      /* DRV_NS_*: which host id space */
  uint8_t connecting;
  uint8_t eof;     /* the peer's EOF was fed */
  const drv_sock_ops *ops;
  uint8_t *pend;   /* read but refused by the host (non-peek backends) */
  size_t pend_len;
} drv_rec;

#define DRV_RBUF_BYTES 65536

typedef struct drv_core {
  lp2p_host *host;
  const drv_backend *be;
  void *b;
  drv_rec *recs;
  size_t nrecs, cap;
  uint32_t *free_list;
  size_t nfree;
  drv_idmap map;
  uint8_t rbuf[DRV_RBUF_BYTES];
} drv_core;

void drv_core_init(drv_core *c, lp2p_host *h, const drv_backend *be,
                   void *b);
/* Frees the tables; the backend ends its sockets first (drv_core_rec). */
void drv_core_fini(drv_core *c);

/* Drain order (DESIGN.md 2): dirty connections' and raw sockets' output,
 * then io requests (then be->round), repeated while any made progress.
 * Returns 1 if there was any work. */
int drv_core_drain(drv_core *c);

/* Record i of the table (0 <= i < c->nrecs), or NULL if free. */
drv_rec *drv_core_rec(drv_core *c, size_t i);
/* The live record of `ref`, or NULL. */
drv_rec *drv_core_get(drv_core *c, drv_ref ref);

/* ---- readiness reported by the backend ------------------------------ */

/* A connect finished: err 0 (local may be NULL) or LP2P_ERR_*. */
void drv_core_connected(drv_core *c, drv_ref ref, int err,
                        const lp2p_sockaddr *local);
/* Read what the stream has, while the host has room. */
void drv_core_read(drv_core *c, drv_ref ref);
/* Write what the host has for the stream, then ask for readiness (want)
 * or read on (edge backends). */
void drv_core_flush(drv_core *c, drv_ref ref);
/* The stream failed under the host (reset, error): end it, tell the host. */
void drv_core_dead(drv_core *c, drv_ref ref, int err);
/* A connection arrived on listener `listener` (host id; raw: a raw
 * listener). Asks the host; refused -> ended. Returns 0 with *out, or
 * LP2P_ERR_* (the handle is ended, the host told). */
int drv_core_accept(drv_core *c, int raw, uint64_t listener, drv_handle h,
                    const lp2p_sockaddr *remote, const lp2p_sockaddr *local,
                    drv_ref *out);
/* Read up to `max` datagrams from a UDP record into the host. */
void drv_core_udp_read(drv_core *c, drv_ref ref, size_t max);

#endif
