/* A chained hash map keyed by byte strings, shared by the record and
 * provider stores. Keys are chosen by peers, so the hash is SipHash under
 * a secret drawn from the injected rng (proto/common/keyed_hash.h).
 * Nodes are embedded in the caller's entries (first member) and own
 * nothing; the bucket array grows by doubling up to nb_max. Internal. */
#ifndef LP2P_PROTO_KAD_MAP_H
#define LP2P_PROTO_KAD_MAP_H

#include "lp2p/common.h"
#include "proto/common/keyed_hash.h"

typedef struct kad_map_node {
  struct kad_map_node *next;
  uint64_t hash;
  const uint8_t *key;
  size_t key_len;
} kad_map_node;

typedef struct kad_map {
  const lp2p_mem *mem;
  uint8_t secret[LP2P_KEYED_HASH_KEY_BYTES];
  kad_map_node **b;
  size_t nb, nb_max, count;
} kad_map;

/* Returns 0 or LP2P_ERR_NOMEM. */
int kad_map_init(kad_map *m, const lp2p_mem *mem, const lp2p_rng *rng,
              size_t entries_max);
void kad_map_fini(kad_map *m);
kad_map_node *kad_map_get(const kad_map *m, const uint8_t *key, size_t len);
/* Link `n` whose key fields are set (the key must not be present). */
void kad_map_insert(kad_map *m, kad_map_node *n);
void kad_map_remove(kad_map *m, kad_map_node *n);

#endif
