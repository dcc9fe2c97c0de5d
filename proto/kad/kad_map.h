/* A chained hash map keyed by byte strings, shared by the record and
 * provider stores. Keys are chosen by peers, so the hash is SipHash under
 * a secret drawn from the injected rng (proto/common/keyed_hash.h).
 * Nodes are embedded in the caller's entries (first member) and own
 * nothing; the bucket array grows by doubling up to nb_max. Internal. */
#ifndef LP2P_PROTO_KAD_MAP_H
#define LP2P_PROTO_KAD_MAP_H

#include "lp2p/common.h"
#include "proto/common/keyed_hash.h"

typedef struct kmap_node {
  struct kmap_node *next;
  uint64_t hash;
  const uint8_t *key;
  size_t key_len;
} kmap_node;

typedef struct kmap {
  const lp2p_mem *mem;
  uint8_t secret[LP2P_KEYED_HASH_KEY_BYTES];
  kmap_node **b;
  size_t nb, nb_max, count;
} kmap;

/* Returns 0 or LP2P_ERR_NOMEM. */
int kmap_init(kmap *m, const lp2p_mem *mem, const lp2p_rng *rng,
              size_t entries_max);
void kmap_fini(kmap *m);
kmap_node *kmap_get(const kmap *m, const uint8_t *key, size_t len);
/* Link `n` whose key fields are set (the key must not be present). */
void kmap_insert(kmap *m, kmap_node *n);
void kmap_remove(kmap *m, kmap_node *n);

#endif
