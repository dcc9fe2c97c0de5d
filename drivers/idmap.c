/* See drivers/idmap.h. */
#include "drivers/idmap.h"

#include <stdlib.h>

#include "lp2p/common.h"

static size_t hash64(uint64_t k, size_t cap) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

static int grow(drv_idmap *m) {
  drv_idmap n = {0};
  n.cap = m->cap ? m->cap * 2 : 64;
  n.keys = calloc(n.cap, sizeof(*n.keys));
  n.vals = calloc(n.cap, sizeof(*n.vals));
  if (!n.keys || !n.vals) {
    free(n.keys);
    free(n.vals);
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i])
      drv_idmap_put(&n, m->keys[i], m->vals[i]);
  free(m->keys);
  free(m->vals);
  *m = n;
  return 0;
}

int drv_idmap_put(drv_idmap *m, uint64_t key, uint32_t val) {
  if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
    return LP2P_ERR_NOMEM;
  size_t i = hash64(key, m->cap);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i])
    m->n++;
  m->keys[i] = key;
  m->vals[i] = val;
  return 0;
}

int drv_idmap_get(const drv_idmap *m, uint64_t key, uint32_t *val) {
  if (!m->cap)
    return 0;
  size_t i = hash64(key, m->cap);
  while (m->keys[i]) {
    if (m->keys[i] == key) {
      *val = m->vals[i];
      return 1;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return 0;
}

void drv_idmap_del(drv_idmap *m, uint64_t key) {
  if (!m->cap)
    return;
  size_t i = hash64(key, m->cap);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i])
    return;
  m->keys[i] = 0;
  m->n--;
  /* backward shift keeps probe chains intact without tombstones */
  size_t j = i;
  for (;;) {
    j = (j + 1) & (m->cap - 1);
    if (!m->keys[j])
      break;
    size_t home = hash64(m->keys[j], m->cap);
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      m->keys[i] = m->keys[j];
      m->vals[i] = m->vals[j];
      m->keys[j] = 0;
      i = j;
    }
  }
}

void drv_idmap_free(drv_idmap *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->n = 0;
}
