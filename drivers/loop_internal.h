/* Internal to drivers/: the state of the epoll/poll driver (loop.c) shared
 * with its socket verbs (loop_sock.c) and graceful-close linger
 * (loop_linger.c). The id tables, io dispatch and byte moving live in the
 * driver core (core.h); what is here is only what real descriptors need:
 * a table indexed by descriptor with the readiness interest given to the
 * backend, and sockets the core no longer knows (lingering ones) or never
 * knew (the application's watched descriptors). */
#ifndef LP2P_DRIVERS_LOOP_INTERNAL_H
#define LP2P_DRIVERS_LOOP_INTERNAL_H

#include "drivers/core.h"
#include "lp2p/driver.h"

#define READS_PER_READY 8    /* fairness: bounded work per ready socket */
#define ACCEPTS_PER_READY 64 /* accept bursts are bounded */

enum { F_FREE = 0,
       F_CORE,   /* a socket of a core record (listener, UDP, stream) */
       F_LINGER, /* a gracefully closed connection (loop_linger.c) */
       F_WATCH   /* an application descriptor (lp2p_driver_watch) */ };

typedef struct fdslot {
  uint8_t kind;
  uint8_t fin_sent;          /* F_LINGER: shutdown(SHUT_WR) done */
  uint8_t min_ttl;           /* F_CORE dial: IP_MINTTL set until connected */
  unsigned registered;       /* interest given to the backend */
  uint32_t gen;              /* readiness tags carry it: stale ones drop */
  drv_ref ref;               /* F_CORE */
  lp2p_tstamp linger_until;  /* F_LINGER: next step (FIN, then close) */
  lp2p_tstamp grace_end;     /* F_LINGER: FIN at the latest */
  unsigned wev;              /* F_WATCH: readiness not yet polled */
  uint64_t wtag;             /* F_WATCH: the application's tag */
  lp2p_tstamp paused_until;  /* F_CORE listener unwatched after EMFILE
                                (loop_fds.c); 0 = watched */
} fdslot;

struct lp2p_driver {
  lp2p_host *h;
  const lp2p_backend *b;
  void *bs;
  fdslot *fds; /* indexed by descriptor */
  size_t nfds;
  lp2p_tstamp now;
  size_t nlinger; /* F_LINGER slots */
  int *wq;        /* F_WATCH descriptors with readiness to report */
  size_t nwq, nwatch;
  /* descriptor exhaustion (loop_fds.c) */
  int spare_fd;              /* /dev/null, given up to refuse at EMFILE */
  size_t npaused;            /* listeners with paused_until set */
  lp2p_tstamp backoff_ns;    /* next pause; doubles, reset by an accept */
  lp2p_driver_stats stats;
  const lp2p_log *log;
  lp2p_tstamp log_at;        /* last refusal line (rate limit) */
  uint64_t log_refused;      /* refusals not yet in a log line */
  drv_core core;
};

extern const drv_backend loop_backend;

/* The slot of `fd` as kind `kind` (a fresh generation); NULL without
 * memory. */
fdslot *loop_slot_new(lp2p_driver *d, int fd, uint8_t kind, drv_ref ref);
/* The slot of a descriptor the driver holds, or NULL. */
fdslot *loop_slot(lp2p_driver *d, int fd);
void loop_set_interest(lp2p_driver *d, int fd, unsigned want);
/* Forget `fd`'s slot (deregister) and close it unless watched. */
void loop_slot_close(lp2p_driver *d, int fd, int rst);

/* Readiness of descriptors the core knows. */
void loop_accept(lp2p_driver *d, int lfd, const drv_rec *l);
void loop_connect_done(lp2p_driver *d, int fd, drv_ref ref);

/* loop_fds.c: accept at the descriptor limit */
void loop_fds_init(lp2p_driver *d);
void loop_fds_fini(lp2p_driver *d);
/* accept failed with `err` (errno): refuse what waits on listener `lfd`
 * or pause it. Returns 1 if accepting may go on (one refused), 0 if not. */
int loop_fds_exhausted(lp2p_driver *d, int lfd, int err);
/* An accept succeeded: the backoff starts small again. */
void loop_fds_accepted(lp2p_driver *d);
/* Re-watches paused listeners whose time is up; the next deadline. */
lp2p_tstamp loop_fds_expire(lp2p_driver *d);

/* loop_linger.c */
void loop_linger_start(lp2p_driver *d, int fd);
void loop_linger_read(lp2p_driver *d, int fd);
lp2p_tstamp loop_linger_expire(lp2p_driver *d);

#endif
