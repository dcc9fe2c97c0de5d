/* See kad_map.h. */
#include <string.h>

#include "proto/kad/kad_map.h"

int kad_map_init(kad_map *m, const lp2p_mem *mem, const lp2p_rng *rng,
              size_t entries_max) {
  memset(m, 0, sizeof *m);
  m->mem = mem;
  if (rng && rng->fill)
    rng->fill(rng->ctx, m->secret, sizeof m->secret);
  m->nb_max = 16;
  while (m->nb_max < entries_max && m->nb_max < ((size_t)1 << 24))
    m->nb_max <<= 1;
  m->nb = 16;
  m->b = lp2p_mem_calloc(mem, m->nb, sizeof *m->b);
  return m->b ? 0 : LP2P_ERR_NOMEM;
}

void kad_map_fini(kad_map *m) {
  lp2p_mem_free(m->mem, m->b);
  m->b = NULL;
}

kad_map_node *kad_map_get(const kad_map *m, const uint8_t *key, size_t len) {
  uint64_t h = lp2p_keyed_hash(m->secret, key, len);
  for (kad_map_node *n = m->b[h & (m->nb - 1)]; n; n = n->next)
    if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0)
      return n;
  return NULL;
}

/* Double the buckets; on allocation failure keep chaining longer. */
static void grow(kad_map *m) {
  size_t nb = m->nb * 2;
  kad_map_node **b = lp2p_mem_calloc(m->mem, nb, sizeof *b);
  if (!b)
    return;
  for (size_t i = 0; i < m->nb; i++)
    for (kad_map_node *n = m->b[i], *next; n; n = next) {
      next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
    }
  lp2p_mem_free(m->mem, m->b);
  m->b = b;
  m->nb = nb;
}

void kad_map_insert(kad_map *m, kad_map_node *n) {
  if (m->count >= m->nb && m->nb < m->nb_max)
    grow(m);
  n->hash = lp2p_keyed_hash(m->secret, n->key, n->key_len);
  kad_map_node **head = &m->b[n->hash & (m->nb - 1)];
  n->next = *head;
  *head = n;
  m->count++;
}

void kad_map_remove(kad_map *m, kad_map_node *n) {
  for (kad_map_node **pp = &m->b[n->hash & (m->nb - 1)]; *pp; pp = &(*pp)->next)
    if (*pp == n) {
      *pp = n->next;
      m->count--;
      return;
    }
}
