/* A small open-addressing hash map from a pair of u64 keys to a u64 value.
 * Only used for lookups (IP -> node, 4-tuple -> socket), never iterated,
 * so its layout cannot leak into the simulation order. */
#include <stdlib.h>

#include "drivers/sim/sim_internal.h"

static size_t slot_of(uint64_t k1, uint64_t k2, size_t cap) {
  uint64_t k = k1 * UINT64_C(0x9e3779b97f4a7c15) ^ k2;
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

void sim_map_free(sim_map *m) {
  free(m->k1);
  free(m->k2);
  free(m->v);
  free(m->used);
  m->k1 = m->k2 = m->v = NULL;
  m->used = NULL;
  m->cap = m->n = 0;
}

static int grow(sim_map *m) {
  sim_map n = {0};
  n.cap = m->cap ? m->cap * 2 : 64;
  n.k1 = malloc(n.cap * sizeof(uint64_t));
  n.k2 = malloc(n.cap * sizeof(uint64_t));
  n.v = malloc(n.cap * sizeof(uint64_t));
  n.used = calloc(n.cap, 1);
  if (!n.k1 || !n.k2 || !n.v || !n.used) {
    sim_map_free(&n);
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->used[i])
      sim_map_put(&n, m->k1[i], m->k2[i], m->v[i]);
  sim_map_free(m);
  *m = n;
  return 0;
}

int sim_map_put(sim_map *m, uint64_t k1, uint64_t k2, uint64_t v) {
  if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
    return LP2P_ERR_NOMEM;
  size_t i = slot_of(k1, k2, m->cap);
  while (m->used[i] && (m->k1[i] != k1 || m->k2[i] != k2))
    i = (i + 1) & (m->cap - 1);
  if (!m->used[i])
    m->n++;
  m->used[i] = 1;
  m->k1[i] = k1;
  m->k2[i] = k2;
  m->v[i] = v;
  return 0;
}

int sim_map_get(const sim_map *m, uint64_t k1, uint64_t k2, uint64_t *v) {
  if (!m->cap)
    return 0;
  size_t i = slot_of(k1, k2, m->cap);
  while (m->used[i]) {
    if (m->k1[i] == k1 && m->k2[i] == k2) {
      if (v)
        *v = m->v[i];
      return 1;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return 0;
}

void sim_map_del(sim_map *m, uint64_t k1, uint64_t k2) {
  if (!m->cap)
    return;
  size_t mask = m->cap - 1, i = slot_of(k1, k2, m->cap);
  while (m->used[i] && (m->k1[i] != k1 || m->k2[i] != k2))
    i = (i + 1) & mask;
  if (!m->used[i])
    return;
  m->used[i] = 0;
  m->n--;
  /* backward-shift deletion: keeps probe chains intact, no tombstones */
  for (size_t j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
    size_t home = slot_of(m->k1[j], m->k2[j], m->cap);
    /* move j to i if its home is not in the cyclic range (i, j] */
    int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      m->k1[i] = m->k1[j];
      m->k2[i] = m->k2[j];
      m->v[i] = m->v[j];
      m->used[i] = 1;
      m->used[j] = 0;
      i = j;
    }
  }
}
