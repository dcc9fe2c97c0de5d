/* Raw sockets inside the host (include/lp2p/host.h "raw sockets"): plain
 * TCP listeners and connections and UDP sockets that bypass the libp2p
 * upgrade, owned by the application (owner 0) or by a service (owner =
 * service slot + 1). All state lives in one lazily allocated hraw_state
 * hung off lp2p_host, so the host core carries one pointer for it. Not
 * public. */
#ifndef LP2P_PROTO_HOST_RAW_H
#define LP2P_PROTO_HOST_RAW_H

#include "proto/host/host_internal.h"

/* A bounded byte buffer: grows by doubling up to its *_max, compacts
 * (when the move is cheap, or once growing cannot help) instead of
 * wrapping so peek is always one contiguous run. */
typedef struct hbuf {
  uint8_t *p;
  uint32_t cap, off, len;
} hbuf;

/* One datagram: received (queued on its socket) or to send (host FIFO). */
typedef struct hdgram {
  struct hdgram *next;
  uint64_t raw;
  lp2p_sockaddr addr; /* sender (received) or destination (to send) */
  uint32_t len;
  uint8_t ttl;
  uint8_t data[];
} hdgram;

enum hraw_state_kind {
  HR_PENDING = 1, /* create io queued or not answered yet */
  HR_OPEN,        /* bound / connected */
  HR_ZOMBIE       /* gone for its owner; waiting for its CLOSE/RESET io */
};

#define HR_F_IN_IO 0x0001u
#define HR_F_IN_DIRTY 0x0002u
#define HR_F_IO_TAKEN 0x0004u    /* the driver holds a socket for it */
#define HR_F_EOF 0x0008u         /* peer's FIN */
#define HR_F_LOCAL_CLOSED 0x0010u /* owner half-closed */
#define HR_F_FIN_SENT 0x0020u    /* SHUTDOWN io queued or taken */
#define HR_F_WANT_WRITABLE 0x0040u
#define HR_F_READABLE_EV 0x0080u /* app: READABLE queued, not yet polled */
#define HR_F_EOF_EV 0x0100u      /* REMOTE_CLOSED reported */
#define HR_F_JOINING 0x0200u     /* a UDP_JOIN is queued or unanswered */
#define HR_F_LAST_WORD 0x0400u   /* a service's connection opened while the
                                    host closes (e.g. to delete a port
                                    mapping): the close waits for it */

typedef struct hraw {
  uint64_t id;
  uint64_t listener;  /* accepted TCP: its listener */
  uint32_t owner;     /* 0 = application, else service slot + 1 */
  uint16_t flags;     /* HR_F_* */
  uint8_t kind;       /* lp2p_raw_kind */
  uint8_t state;      /* enum hraw_state_kind */
  uint8_t io;         /* pending io (LP2P_IO_*), 0 = none */
  uint8_t dir;
  uint8_t ttl;        /* RAW_DIAL first-SYN TTL */
  uint8_t io_flags;   /* LP2P_IO_REUSEPORT / BIND_LOCAL */
  struct hraw *io_next, *io_prev;
  struct hraw *dirty_next, *dirty_prev;
  lp2p_sockaddr local, remote; /* remote: peer, or the group to join */
  hbuf in, out;
  /* lp2p_host_raw_recv_buf: the region handed out (what a commit may
   * add), and the size of the next one (grows while reads fill it) */
  uint32_t in_reserved, in_want;
  hdgram *rq_head, *rq_tail;
  uint32_t rq_len;
  uint64_t dropped;
} hraw;

typedef struct hraw_state {
  hidtab ids;
  hraw *io_head, *io_tail;
  hraw *dirty_head, *dirty_tail;
  hdgram *sq_head, *sq_tail; /* datagrams to send */
  uint32_t sq_len;
  hdgram *sent;              /* handed to the driver; freed next poll_io */
} hraw_state;

/* ---- host_raw.c: table, queues, lifecycle -------------------------------- */
/* The state, created on first use. NULL on NOMEM. */
hraw_state *host_raw_state(lp2p_host *h);
/* Live (not zombie) raw socket by id, or NULL. */
hraw *host_raw_get(const lp2p_host *h, uint64_t id);
int host_raw_new(lp2p_host *h, uint32_t owner, uint8_t kind, hraw **out);
void host_raw_io(lp2p_host *h, hraw *r, uint8_t kind);
void host_raw_dirty(lp2p_host *h, hraw *r);
/* End r for its owner: with a socket in the driver queue `io` (RAW_CLOSE or
 * RAW_RESET) and keep a zombie until it is taken; else free now. */
void host_raw_kill(lp2p_host *h, hraw *r, uint8_t io);
/* Tell the owner: an application event or host_svc_raw_activity. */
void host_raw_notify(lp2p_host *h, hraw *r, lp2p_host_event_kind what,
                     int err, lp2p_tstamp now);
/* After a FIN, a consume or an EOF: send the FIN that waited for the
 * output, and end the connection when both directions are done. */
void host_raw_progress(lp2p_host *h, hraw *r, lp2p_tstamp now);
uint32_t host_raw_room(const lp2p_host *h, const hraw *r);
/* lp2p_host_close: every raw socket ends (its owner sees RAW_CLOSED with
 * LP2P_ERR_CLOSED); sockets the driver holds get their RAW_CLOSE io. */
void host_raw_close_all(lp2p_host *h, lp2p_tstamp now);
/* Raw sockets alive or waiting for their closing io. */
int host_raw_open_count(const lp2p_host *h);
/* Hooks for the host core. */
int host_raw_poll_io(lp2p_host *h, lp2p_io *out);
void host_raw_free(lp2p_host *h);
/* An application event was polled (clears its pending-event flag). */
void host_raw_event_polled(lp2p_host *h, const lp2p_host_event *ev);

/* hbuf (host_raw.c) */
/* Room for up to n more bytes at the end (compacting or growing as
 * hbuf_append would): returns where they go with *take (<= n) set, or
 * NULL with *take 0 (full, or no memory). Nothing counts as buffered
 * until the caller adds what it wrote to b->len. */
uint8_t *hbuf_reserve(lp2p_host *h, hbuf *b, size_t n, uint32_t max,
                      uint32_t *take);
uint32_t hbuf_append(lp2p_host *h, hbuf *b, const uint8_t *p, size_t n,
                     uint32_t max);
void hbuf_drop(hbuf *b, size_t n);
void hbuf_free(lp2p_host *h, hbuf *b);

/* ---- internal creation with an owner (host_raw_api.c, host_udp.c) ------
 * The public lp2p_host_raw_* / lp2p_host_udp_* calls are these with owner
 * 0; services pass their slot + 1. A service may host_raw_connect while
 * the host closes (before CLOSED): that connection is its last word (the
 * close waits for it; the service must bound it with its own timer). */
int host_raw_listen(lp2p_host *h, uint32_t owner, const lp2p_sockaddr *bind,
                    unsigned flags, uint64_t *raw);
int host_raw_connect(lp2p_host *h, uint32_t owner, lp2p_tstamp now,
                     const lp2p_sockaddr *remote, const lp2p_sockaddr *local,
                     unsigned flags, uint8_t first_ttl, uint64_t *raw);
int host_udp_open(lp2p_host *h, uint32_t owner, const lp2p_sockaddr *bind,
                  unsigned flags, uint64_t *raw);

/* ---- the service layer (host_svc.c) ---------------------------------------
 * Activity on a raw socket owned by service `owner`: `what` is the
 * LP2P_HOST_EV_RAW_* / UDP_* kind an application owner would have seen,
 * `raw` the socket (for RAW_ACCEPTED the new connection). */
void host_svc_raw_activity(lp2p_host *h, uint32_t owner, uint64_t raw,
                           unsigned what, lp2p_tstamp now);

#endif
