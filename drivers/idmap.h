/* Internal to drivers/: an open-addressing map from a nonzero 64-bit key
 * to a 32-bit value (the driver core's (namespace, host id) -> record
 * index). Backward-shift deletion, so no tombstones pile up under the
 * connection churn of a busy listener. */
#ifndef LP2P_DRIVERS_IDMAP_H
#define LP2P_DRIVERS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct drv_idmap {
  uint64_t *keys; /* 0 = empty */
  uint32_t *vals;
  size_t cap, n;
} drv_idmap;

/* Returns 0 or LP2P_ERR_NOMEM. `key` must not be 0. */
int drv_idmap_put(drv_idmap *m, uint64_t key, uint32_t val);
/* Returns 1 and sets *val, or 0. */
int drv_idmap_get(const drv_idmap *m, uint64_t key, uint32_t *val);
void drv_idmap_del(drv_idmap *m, uint64_t key);
void drv_idmap_free(drv_idmap *m);

#endif
