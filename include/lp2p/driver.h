/** lp2p drivers: real sockets and a real clock for an lp2p_host.
 *
 * A driver backend is a small readiness-poller vtable (epoll or poll); the
 * generic loop (drivers/loop.c) is the only place that reads the clock,
 * owns file descriptors and moves bytes between sockets and the host. */
#ifndef LP2P_DRIVER_H
#define LP2P_DRIVER_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_POLL_READ 0x1u
#define LP2P_POLL_WRITE 0x2u
#define LP2P_POLL_ERROR 0x4u  /**< error or hang-up: read to learn which */

/** One ready descriptor, as reported by a backend's wait. */
typedef struct lp2p_poll_ready {
  uint64_t tag;    /**< the caller's tag given to add/mod */
  unsigned events; /**< LP2P_POLL_* */
} lp2p_poll_ready;

/** A readiness backend. All functions return 0 or a negative LP2P_ERR_*,
 * except wait, which returns the number of entries written to `out`. */
typedef struct lp2p_backend {
  const char *name;
  int (*init)(void **state);
  int (*add)(void *state, int fd, unsigned interest, uint64_t tag);
  int (*mod)(void *state, int fd, unsigned interest, uint64_t tag);
  int (*del)(void *state, int fd);
  /** Waits up to timeout_ms (-1 = forever). EINTR returns 0. */
  int (*wait)(void *state, int timeout_ms, lp2p_poll_ready *out, int max);
  void (*destroy)(void *state);
} lp2p_backend;

/** The epoll(7) backend (Linux). */
LP2P_API const lp2p_backend *lp2p_backend_epoll(void);
/** The poll(2) backend (portable). */
LP2P_API const lp2p_backend *lp2p_backend_poll(void);
/** Backend by name ("epoll" or "poll"); NULL if unknown. */
LP2P_API const lp2p_backend *lp2p_backend_by_name(const char *name);

/* ---- the generic loop over a backend (drivers/loop.c) ------------------- */

struct lp2p_host;
struct lp2p_host_config;

/** A driver: owns the sockets of one lp2p_host and moves bytes, time and
 * readiness between them and the host. Not thread-safe; one per host. */
typedef struct lp2p_driver lp2p_driver;

/** Create a driver for `h` over backend `b` (lp2p_backend_epoll() or
 * lp2p_backend_poll(), or the embedder's own vtable whose add/mod/del
 * mirror descriptors into its loop). SIGPIPE is never raised (MSG_NOSIGNAL).
 * It reads /etc/hosts and /etc/resolv.conf once (env LP2P_HOSTS and
 * LP2P_RESOLV_CONF name other files) and gives them to the host's
 * resolver (lp2p_host_dns_configure), so dials to /dns* names work.
 * It keeps one spare descriptor (/dev/null) for accept at the fd limit:
 * on EMFILE / ENFILE it frees the spare, accepts the waiting connection
 * and resets it at once, so peers are refused promptly and the loop does
 * not spin (lp2p_driver_stats; if even that fails the listener pauses for
 * a backoff of 50 ms doubling up to 1 s). Fit the host's limits under the
 * fd limit first (lp2p_driver_fit_limits) so the host refuses by its
 * limits before the kernel does.
 * Returns 0 or LP2P_ERR_NOMEM / LP2P_ERR_IO. */
LP2P_API int lp2p_driver_new(lp2p_driver **out, struct lp2p_host *h,
                             const lp2p_backend *b);
/** Close every socket and free the driver (NULL-safe). The host is not
 * freed. */
LP2P_API void lp2p_driver_free(lp2p_driver *d);

/** One loop iteration: read the clock once, run due timers, wait for
 * readiness at most until the host's next deadline (rounded up to the next
 * millisecond, never a busy spin) or `max_wait_ms` (-1 = no cap), handle
 * what is ready, and drain the host (output, then I/O requests). Host
 * events stay queued for the application: poll them with
 * lp2p_host_poll_event after each step. Returns 0 or LP2P_ERR_IO. */
LP2P_API int lp2p_driver_step(lp2p_driver *d, int max_wait_ms);

/** Call after issuing host commands from the application (dial, write,
 * ...): drains output and I/O requests without waiting. */
LP2P_API void lp2p_driver_flush(lp2p_driver *d);

/** Sockets still finishing a graceful close (FIN sent after a short grace,
 * the peer's last bytes drained until its EOF, at most ~2 s). A program
 * about to exit steps the driver until this is 0 so that its peers see
 * clean closes; lp2p_driver_free closes them at once. */
LP2P_API size_t lp2p_driver_closing(const lp2p_driver *d);

/** Watch an application descriptor (stdin, a pipe, a signalfd, a socket
 * the application owns) in the same loop as the host, so a program such
 * as a port forwarder needs no second poller. `events` is LP2P_POLL_READ
 * and/or LP2P_POLL_WRITE; `tag` is returned with its readiness. The
 * driver never reads, writes or closes `fd`; unwatch it before closing
 * it. Readiness is level-triggered: it is reported again after every
 * step while the descriptor stays ready. Returns 0 or LP2P_ERR_INVAL
 * (bad fd, no events, already watched), LP2P_ERR_NOMEM, or the backend's
 * error. */
LP2P_API int lp2p_driver_watch(lp2p_driver *d, int fd, unsigned events,
                               uint64_t tag);
/** Stop watching `fd` (pending readiness is dropped). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_driver_unwatch(lp2p_driver *d, int fd);
/** Take the next ready watched descriptor seen by lp2p_driver_step (or
 * lp2p_driver_ready): `*tag` and `*events` (LP2P_POLL_*). Call after each
 * step, next to lp2p_host_poll_event. At most one entry per watch is
 * queued. Returns 1 or 0 (none). */
LP2P_API int lp2p_driver_poll_watch(lp2p_driver *d, uint64_t *tag,
                                    unsigned *events);

/** For embedders that run their own loop with their own backend vtable:
 * report readiness of a descriptor previously given to the backend's
 * add/mod (by its tag), then call lp2p_driver_service. */
LP2P_API void lp2p_driver_ready(lp2p_driver *d, uint64_t tag, unsigned events);
/** Runs due timers and drains. Returns the milliseconds until the next
 * deadline (rounded up; -1 = none) for the embedder's own wait. */
LP2P_API int lp2p_driver_service(lp2p_driver *d);

/** Run `h` until *stop becomes nonzero (set it from a signal handler).
 * Application events are discarded (a pure server). Returns 0 or
 * LP2P_ERR_IO / LP2P_ERR_NOMEM. */
LP2P_API int lp2p_driver_run(struct lp2p_host *h, const lp2p_backend *b,
                             volatile int *stop);

/* ---- descriptor limits (issue 9) ----------------------------------------- */

/** Descriptors lp2p_driver_fit_limits keeps out of the connections' share
 * besides a further 1/8 of what is left: stdio, the poller, the driver's
 * spare descriptor (see lp2p_driver_new), listeners, the DNS and other
 * UDP sockets, and files the program opens later. The 1/8 is for sockets
 * that outlive their connection (a graceful close lingers up to ~2 s). */
#define LP2P_FD_RESERVE 32

/** What lp2p_driver_fit_limits found and did. */
typedef struct lp2p_fd_limits {
  uint64_t fds_max;  /**< RLIMIT_NOFILE soft limit now (UINT64_MAX: none) */
  uint64_t fds_open; /**< descriptors already open (0 if unknown) */
  uint64_t reserve;  /**< kept out of conns_max + raws_max */
  int raised;        /**< the soft limit was raised to the hard one */
  int fitted;        /**< conns_max / raws_max were lowered */
} lp2p_fd_limits;

/** Raise the process's RLIMIT_NOFILE soft limit to its hard limit, then
 * fit `cfg` (may be NULL: only raise) under it: conns_max + raws_max at
 * most the limit minus the descriptors already open minus a reserve
 * (LP2P_FD_RESERVE plus 1/8 of the rest), raws_max at most a quarter of
 * that when both do not fit, conns_pending_max at most conns_max. Limits
 * already below are kept. Call it before lp2p_host_new; with cfg->log set
 * it logs the result at info ("driver fds=... conns_max=..."). Without
 * it a host whose conns_max exceeds the fd limit hits EMFILE, and the
 * driver then refuses connections at once (lp2p_driver_stats) instead of
 * the host refusing by its limits. `out` (may be NULL) gets what was
 * found. Process-wide: call it once, from the main thread. Returns 0 or
 * LP2P_ERR_IO (getrlimit failed). */
LP2P_API int lp2p_driver_fit_limits(struct lp2p_host_config *cfg,
                                    lp2p_fd_limits *out);

/** Driver counters (monotonic). */
typedef struct lp2p_driver_stats {
  uint64_t accepts_refused_fds; /**< connections accepted and closed at
                                     once (RST) because the process or the
                                     system was out of descriptors
                                     (EMFILE / ENFILE): "fd limit" */
  uint64_t accept_pauses;       /**< listeners unwatched for a backoff
                                     because even that refusal failed */
} lp2p_driver_stats;
/** The driver's counters. */
LP2P_API void lp2p_driver_stats_get(const lp2p_driver *d,
                                    lp2p_driver_stats *out);
/** Log driver-side events (refusals at the fd limit, at info, at most one
 * line a second) to `log` (NULL: none). Give it the host's log. `log`
 * must outlive the driver. */
LP2P_API void lp2p_driver_set_log(lp2p_driver *d, const lp2p_log *log);

/** Monotonic clock in ns (CLOCK_MONOTONIC). */
LP2P_API lp2p_tstamp lp2p_clock_now(void);
/** Wall clock in ns since the Unix epoch (for lp2p_host_set_unix_time). */
LP2P_API uint64_t lp2p_clock_unix_ns(void);

/** The LP2P_LOG_* level named `name` ("error", "warn", "info", "debug",
 * "trace"), or -1 for anything else (NULL too). */
LP2P_API int lp2p_log_level_parse(const char *name);
/** Make `log` a sink that prints each event up to `max_level` as one line
 * on stderr: "<seconds since this call, 6 decimals> <level> <msg>". The
 * sink keeps no pointer to `log`; the time origin is process-wide. */
LP2P_API void lp2p_log_stderr(lp2p_log *log, int max_level);

#ifdef __cplusplus
}
#endif
#endif
