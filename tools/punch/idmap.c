/* punch: an open-addressing map from a nonzero 64-bit id (raw socket or
 * stream id) to the object that owns it. Backward-shift deletion, so
 * churn of short forwarded connections leaves no tombstones. */
#include <stdlib.h>

#include "tools/punch/punch.h"

static size_t slot(uint64_t k, size_t cap) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

static int grow(pidmap *m) {
  size_t cap = m->cap ? 2 * m->cap : 64;
  uint64_t *keys = calloc(cap, sizeof *keys);
  void **vals = calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i])
      continue;
    size_t j = slot(m->keys[i], cap);
    while (keys[j])
      j = (j + 1) & (cap - 1);
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return 0;
}

int pidmap_put(pidmap *m, uint64_t key, void *val) {
  if (!key)
    return -1;
  if ((m->n + 1) * 4 > m->cap * 3 && grow(m))
    return -1;
  size_t j = slot(key, m->cap);
  while (m->keys[j] && m->keys[j] != key)
    j = (j + 1) & (m->cap - 1);
  if (!m->keys[j])
    m->n++;
  m->keys[j] = key;
  m->vals[j] = val;
  return 0;
}

void *pidmap_get(const pidmap *m, uint64_t key) {
  if (!key || !m->cap)
    return NULL;
  size_t j = slot(key, m->cap);
  while (m->keys[j]) {
    if (m->keys[j] == key)
      return m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

void pidmap_del(pidmap *m, uint64_t key) {
  if (!key || !m->cap)
    return;
  size_t j = slot(key, m->cap);
  while (m->keys[j] && m->keys[j] != key)
    j = (j + 1) & (m->cap - 1);
  if (!m->keys[j])
    return;
  m->keys[j] = 0;
  m->vals[j] = NULL;
  m->n--;
  /* backward shift: move later entries of the run into the hole */
  size_t hole = j;
  for (size_t k = (j + 1) & (m->cap - 1); m->keys[k];
       k = (k + 1) & (m->cap - 1)) {
    size_t home = slot(m->keys[k], m->cap);
    /* k's entry may move to hole if home is not in (hole, k] cyclically */
    int between = hole <= k ? (home > hole && home <= k)
                            : (home > hole || home <= k);
    if (between)
      continue;
    m->keys[hole] = m->keys[k];
    m->vals[hole] = m->vals[k];
    m->keys[k] = 0;
    m->vals[k] = NULL;
    hole = k;
  }
}

void pidmap_free(pidmap *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->n = 0;
}
