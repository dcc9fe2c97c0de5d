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

/** Monotonic clock in ns (CLOCK_MONOTONIC). */
LP2P_API lp2p_tstamp lp2p_clock_now(void);
/** Wall clock in ns since the Unix epoch (for lp2p_host_set_unix_time). */
LP2P_API uint64_t lp2p_clock_unix_ns(void);

#ifdef __cplusplus
}
#endif
#endif
