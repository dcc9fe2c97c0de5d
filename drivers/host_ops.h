/* Internal to drivers/: the host's two byte-socket namespaces (libp2p
 * connections and raw TCP connections) as one ops table, so every driver
 * (loop.c, sim/host_driver.c) moves bytes, readiness and lifecycle
 * answers for both through a single code path: a new io kind that only
 * changes which host calls answer it is implemented once. */
#ifndef LP2P_DRIVERS_HOST_OPS_H
#define LP2P_DRIVERS_HOST_OPS_H

#include "lp2p/host.h"

typedef struct drv_sock_ops {
  const char *name;
  lp2p_ssize (*feed)(lp2p_host *h, uint64_t id, lp2p_tstamp now,
                     const uint8_t *p, size_t n);
  int (*eof)(lp2p_host *h, uint64_t id, lp2p_tstamp now);
  /* the socket failed under the host: the id is dead, no io follows */
  int (*broken)(lp2p_host *h, uint64_t id, int err, lp2p_tstamp now);
  size_t (*recv_room)(const lp2p_host *h, uint64_t id);
  const uint8_t *(*out_peek)(lp2p_host *h, uint64_t id, size_t *len);
  int (*out_consume)(lp2p_host *h, uint64_t id, size_t n);
  unsigned (*interest)(const lp2p_host *h, uint64_t id);
  int (*poll_dirty)(lp2p_host *h, uint64_t *id);
  int (*established)(lp2p_host *h, uint64_t id, const lp2p_sockaddr *local,
                     lp2p_tstamp now);
  int (*failed)(lp2p_host *h, uint64_t id, int err, lp2p_tstamp now);
  int (*accepted)(lp2p_host *h, uint64_t listener, const lp2p_sockaddr *remote,
                  const lp2p_sockaddr *local, lp2p_tstamp now, uint64_t *id);
  /* optional zero-copy receive (raw sockets): read into the host's own
   * buffer instead of feeding a copy; NULL = feed only */
  uint8_t *(*recv_buf)(lp2p_host *h, uint64_t id, size_t *cap);
  lp2p_ssize (*recv_commit)(lp2p_host *h, uint64_t id, lp2p_tstamp now,
                            size_t n);
} drv_sock_ops;

extern const drv_sock_ops drv_conn_ops; /* lp2p_host_conn_* */
extern const drv_sock_ops drv_raw_ops;  /* lp2p_host_raw_* */

/* Namespaces of driver-side id tables: host ids are unique only within
 * one of these. */
enum { DRV_NS_CONN = 0, DRV_NS_LISTENER, DRV_NS_RAW };

#endif
