/* The Kademlia routing table (kad-dht spec "Kademlia routing table"): one
 * k-bucket per common prefix length (cpl) of SHA-256(peer id) with our own
 * key, 0..255, each holding at most k entries in least-recently-seen
 * order, plus a replacement cache (Kademlia paper, section 4.1).
 *
 * A full bucket never drops a live peer for a new one: the newcomer waits
 * in the replacement cache, and the bucket's least recently seen entry, if
 * it has been silent for ping_min_age_ns, gets a liveness check that the
 * caller runs (poll_ping / ping_result). When that check fails (or times
 * out after ping_timeout_ns) the entry goes and the newest replacement
 * takes its slot. One check per bucket at a time, so checks are bounded by
 * the bucket count. go-libp2p-kad-dht has no replacement cache (it evicts
 * an entry that has not been useful lately); we follow the paper.
 *
 * Buckets are allocated on first use: a table of a few hundred peers in a
 * 10,000-node network touches only ~10 buckets.
 *
 * Refresh (spec "Bootstrap process"): each bucket remembers when a lookup
 * last went into it; buckets up to refresh_cpl_max (15, as go: deeper
 * targets take too many hashes to find) and the deepest non-empty one are
 * due when that is older than refresh_interval_ns. */
#include <string.h>

#include "lp2p/kad.h"

#define NBUCKETS 256

typedef struct entry {
  lp2p_peerid id;
  uint8_t key[32];
  lp2p_tstamp seen;
} entry;

typedef struct bucket {
  entry *e;            /* k entries, [0] least recently seen */
  entry *repl;         /* replacements_max entries, last = newest */
  uint8_t n, rn;
  uint8_t ping;        /* 0 none, 1 queued, 2 handed out */
  lp2p_tstamp ping_deadline;
  lp2p_peerid ping_id; /* the entry being checked */
  lp2p_tstamp refreshed;
} bucket;

struct lp2p_kad_table {
  const lp2p_mem *mem;
  lp2p_kad_table_config cfg;
  lp2p_peerid self;
  uint8_t self_key[32];
  size_t size;
  /* Buckets at or past `used` have never been allocated (no entries, no
   * replacements, no liveness check): the scans below stop there, since
   * the events loop asks for next_timeout after every event and a table
   * rarely goes deeper than ~log2(network size) buckets. */
  unsigned used;
  bucket b[NBUCKETS];
};

void lp2p_kad_table_config_default(lp2p_kad_table_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->k = LP2P_KAD_K;
  cfg->replacements_max = LP2P_KAD_K;
  cfg->ping_min_age_ns = 60 * LP2P_NS_PER_S;
  /* go rtrefresh peerPingTimeout */
  cfg->ping_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->refresh_interval_ns = LP2P_KAD_REFRESH_INTERVAL_NS;
  cfg->refresh_cpl_max = 15;
}

int lp2p_kad_table_new(lp2p_kad_table **out, const lp2p_peerid *self,
                       const lp2p_kad_table_config *cfg, const lp2p_mem *mem,
                       lp2p_tstamp now) {
  if (!out || !self || self->len > LP2P_PEERID_MAX)
    return LP2P_ERR_INVAL;
  lp2p_kad_table_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_kad_table_config_default(&c);
  if (!c.k || c.k > 255 || !c.replacements_max || c.replacements_max > 255 ||
      c.refresh_cpl_max > 255)
    return LP2P_ERR_INVAL;
  lp2p_kad_table *t = lp2p_mem_calloc(mem, 1, sizeof *t);
  if (!t)
    return LP2P_ERR_NOMEM;
  t->mem = mem;
  t->cfg = c;
  t->self = *self;
  lp2p_kad_key_hash(self->bytes, self->len, t->self_key);
  for (unsigned i = 0; i < NBUCKETS; i++)
    t->b[i].refreshed = now;
  *out = t;
  return 0;
}

void lp2p_kad_table_free(lp2p_kad_table *t) {
  if (!t)
    return;
  for (unsigned i = 0; i < NBUCKETS; i++)
    lp2p_mem_free(t->mem, t->b[i].e);
  lp2p_mem_free(t->mem, t);
}

static int find(const entry *e, size_t n, const lp2p_peerid *id) {
  for (size_t i = 0; i < n; i++)
    if (lp2p_peerid_equal(&e[i].id, id))
      return (int)i;
  return -1;
}

static void drop_at(entry *e, uint8_t *n, size_t i) {
  memmove(&e[i], &e[i + 1], (size_t)(*n - 1 - i) * sizeof *e);
  (*n)--;
}

/* Move entry i to the most-recently-seen end. */
static void touch(bucket *bk, size_t i, lp2p_tstamp now) {
  entry x = bk->e[i];
  x.seen = now;
  memmove(&bk->e[i], &bk->e[i + 1], (size_t)(bk->n - 1 - i) * sizeof x);
  bk->e[bk->n - 1] = x;
}

static void cache_replacement(lp2p_kad_table *t, bucket *bk, const entry *x) {
  int j = find(bk->repl, bk->rn, &x->id);
  if (j >= 0)
    drop_at(bk->repl, &bk->rn, (size_t)j);
  else if (bk->rn == t->cfg.replacements_max)
    drop_at(bk->repl, &bk->rn, 0); /* the oldest replacement goes */
  bk->repl[bk->rn++] = *x;
}

static int bucket_alloc(lp2p_kad_table *t, bucket *bk) {
  if (bk->e)
    return 0;
  bk->e = lp2p_mem_calloc(t->mem, t->cfg.k + t->cfg.replacements_max,
                          sizeof(entry));
  if (!bk->e)
    return LP2P_ERR_NOMEM;
  bk->repl = bk->e + t->cfg.k;
  unsigned cpl = (unsigned)(bk - t->b);
  if (cpl >= t->used)
    t->used = cpl + 1;
  return 0;
}

static void remove_at(lp2p_kad_table *t, bucket *bk, size_t i) {
  if (bk->ping && lp2p_peerid_equal(&bk->ping_id, &bk->e[i].id))
    bk->ping = 0;
  drop_at(bk->e, &bk->n, i);
  t->size--;
  if (bk->rn) {
    /* The newest replacement is the likeliest to be alive. */
    entry x = bk->repl[--bk->rn];
    bk->e[bk->n++] = x;
    t->size++;
  }
}

int lp2p_kad_table_add(lp2p_kad_table *t, const lp2p_peerid *id, int serves_kad,
                       lp2p_tstamp now) {
  if (!t || !id || id->len > LP2P_PEERID_MAX)
    return LP2P_ERR_INVAL;
  entry x;
  memset(&x, 0, sizeof x);
  x.id = *id;
  x.seen = now;
  lp2p_kad_key_hash(id->bytes, id->len, x.key);
  unsigned cpl = lp2p_kad_cpl(t->self_key, x.key);
  if (cpl >= NBUCKETS)
    return LP2P_KAD_TABLE_REJECTED; /* ourselves */
  bucket *bk = &t->b[cpl];
  int i = bk->e ? find(bk->e, bk->n, id) : -1;
  if (!serves_kad) {
    if (i >= 0)
      remove_at(t, bk, (size_t)i);
    int j = bk->e ? find(bk->repl, bk->rn, id) : -1;
    if (j >= 0)
      drop_at(bk->repl, &bk->rn, (size_t)j);
    return LP2P_KAD_TABLE_REJECTED;
  }
  if (i >= 0) {
    touch(bk, (size_t)i, now);
    return LP2P_KAD_TABLE_UPDATED;
  }
  if (bucket_alloc(t, bk) != 0)
    return LP2P_ERR_NOMEM;
  if (bk->n < t->cfg.k) {
    /* A peer waiting in the cache moves in: never in both places. */
    int j = find(bk->repl, bk->rn, id);
    if (j >= 0)
      drop_at(bk->repl, &bk->rn, (size_t)j);
    bk->e[bk->n++] = x;
    t->size++;
    return LP2P_KAD_TABLE_ADDED;
  }
  cache_replacement(t, bk, &x);
  if (!bk->ping && now >= bk->e[0].seen &&
      now - bk->e[0].seen >= t->cfg.ping_min_age_ns) {
    bk->ping = 1;
    bk->ping_id = bk->e[0].id;
    bk->ping_deadline = now + t->cfg.ping_timeout_ns;
  }
  return LP2P_KAD_TABLE_CACHED;
}

static bucket *bucket_of(const lp2p_kad_table *t, const lp2p_peerid *id,
                         int *idx) {
  uint8_t key[32];
  lp2p_kad_key_hash(id->bytes, id->len, key);
  unsigned cpl = lp2p_kad_cpl(t->self_key, key);
  if (cpl >= NBUCKETS)
    return NULL;
  bucket *bk = (bucket *)&t->b[cpl];
  *idx = bk->e ? find(bk->e, bk->n, id) : -1;
  return bk;
}

int lp2p_kad_table_remove(lp2p_kad_table *t, const lp2p_peerid *id,
                          lp2p_tstamp now) {
  (void)now;
  if (!t || !id || id->len > LP2P_PEERID_MAX)
    return LP2P_ERR_INVAL;
  int i;
  bucket *bk = bucket_of(t, id, &i);
  if (!bk || i < 0)
    return LP2P_ERR_NOT_FOUND;
  remove_at(t, bk, (size_t)i);
  return 0;
}

int lp2p_kad_table_poll_ping(lp2p_kad_table *t, lp2p_peerid *out) {
  for (unsigned i = 0; i < t->used; i++)
    if (t->b[i].ping == 1) {
      t->b[i].ping = 2;
      *out = t->b[i].ping_id;
      return 1;
    }
  return 0;
}

void lp2p_kad_table_ping_result(lp2p_kad_table *t, const lp2p_peerid *id,
                                int alive, lp2p_tstamp now) {
  if (!t || !id || id->len > LP2P_PEERID_MAX)
    return;
  int i;
  bucket *bk = bucket_of(t, id, &i);
  if (!bk || i < 0)
    return;
  if (bk->ping && lp2p_peerid_equal(&bk->ping_id, id))
    bk->ping = 0;
  if (alive)
    touch(bk, (size_t)i, now);
  else
    remove_at(t, bk, (size_t)i);
}

int lp2p_kad_table_contains(const lp2p_kad_table *t, const lp2p_peerid *id) {
  int i;
  if (!t || !id || id->len > LP2P_PEERID_MAX)
    return 0;
  return bucket_of(t, id, &i) && i >= 0;
}

size_t lp2p_kad_table_size(const lp2p_kad_table *t) { return t->size; }

size_t lp2p_kad_table_bucket_size(const lp2p_kad_table *t, unsigned cpl) {
  return cpl < NBUCKETS ? t->b[cpl].n : 0;
}

/* Insert bucket bk's entries into the sorted window best[0..got) of at
 * most n; returns the new count. */
static size_t closest_merge(const bucket *bk, const uint8_t target[32],
                            const entry **best, size_t got, size_t n) {
  for (size_t i = 0; i < bk->n; i++) {
    const entry *x = &bk->e[i];
    size_t pos = got;
    while (pos > 0 && lp2p_kad_dist_cmp(target, x->key, best[pos - 1]->key) < 0)
      pos--;
    if (pos >= n)
      continue;
    size_t last = got < n ? got : n - 1;
    memmove(&best[pos + 1], &best[pos], (last - pos) * sizeof best[0]);
    best[pos] = x;
    if (got < n)
      got++;
  }
  return got;
}

/* The buckets fall into groups that are wholly ordered by distance to the
 * target. With c = cpl(self, target): an entry of bucket c agrees with the
 * target on bit c, so it is closer than any other entry, whose first
 * differing bit with the target comes at c or earlier. Entries of the
 * deeper buckets (cpl > c) all first differ from the target at bit c;
 * those of a bucket j < c first differ at bit j, so bucket c-1 comes
 * before c-2 and so on. Scanning group after group and stopping at the
 * first group that leaves the window full gives exactly the full scan's
 * answer, while a random target (c = 0 half the time, with a full bucket
 * 0) looks at about k entries instead of the whole table. */
size_t lp2p_kad_table_closest(const lp2p_kad_table *t,
                              const uint8_t target[32], lp2p_peerid *out,
                              size_t n) {
  /* We keep pointers to entries, then copy the ids out. */
  const entry *best[LP2P_KAD_K * 4];
  if (n > sizeof best / sizeof best[0])
    n = sizeof best / sizeof best[0];
  if (!n)
    return 0;
  unsigned c = lp2p_kad_cpl(t->self_key, target); /* 256: ourselves */
  size_t got = 0;
  if (c < t->used)
    got = closest_merge(&t->b[c], target, best, got, n);
  /* the deeper buckets are one group: all of it, or none */
  if (got < n)
    for (unsigned b = c + 1; b < t->used; b++)
      got = closest_merge(&t->b[b], target, best, got, n);
  for (unsigned b = c < t->used ? c : t->used; b-- > 0 && got < n;)
    got = closest_merge(&t->b[b], target, best, got, n);
  for (size_t i = 0; i < got; i++)
    out[i] = best[i]->id;
  return got;
}

size_t lp2p_kad_table_refresh_due(const lp2p_kad_table *t, lp2p_tstamp now,
                                  unsigned *out, size_t n) {
  int deepest = -1;
  for (int i = (int)t->used - 1; i >= 0; i--)
    if (t->b[i].n) {
      deepest = i;
      break;
    }
  if (deepest < 0)
    return 0;
  unsigned top = (unsigned)deepest < t->cfg.refresh_cpl_max
                     ? (unsigned)deepest
                     : t->cfg.refresh_cpl_max;
  size_t got = 0;
  for (unsigned c = 0; c <= top && got < n; c++)
    if (now >= t->b[c].refreshed &&
        now - t->b[c].refreshed >= t->cfg.refresh_interval_ns)
      out[got++] = c;
  return got;
}

void lp2p_kad_table_refreshed(lp2p_kad_table *t, unsigned cpl,
                              lp2p_tstamp now) {
  if (cpl < NBUCKETS)
    t->b[cpl].refreshed = now;
}

int lp2p_kad_table_refresh_target(const lp2p_kad_table *t, unsigned cpl,
                                  const lp2p_rng *rng, lp2p_peerid *out) {
  if (cpl > 15 || !rng)
    return LP2P_ERR_INVAL;
  /* Draw random sha2-256 peer ids until one lands in the bucket: about
   * 2^(cpl+1) hashes (64 Ki at cpl 15), so the loop always ends; the
   * bound only guards a broken rng. */
  for (uint32_t tries = 0; tries < (UINT32_C(1) << 24); tries++) {
    out->len = 34;
    out->bytes[0] = 0x12;
    out->bytes[1] = 0x20;
    rng->fill(rng->ctx, out->bytes + 2, 32);
    uint8_t key[32];
    lp2p_kad_key_hash(out->bytes, out->len, key);
    if (lp2p_kad_cpl(t->self_key, key) == cpl)
      return 0;
  }
  return LP2P_ERR_INTERNAL;
}

lp2p_tstamp lp2p_kad_table_next_timeout(const lp2p_kad_table *t) {
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  for (unsigned i = 0; i < t->used; i++)
    if (t->b[i].ping && t->b[i].ping_deadline < next)
      next = t->b[i].ping_deadline;
  return next;
}

void lp2p_kad_table_handle_timeout(lp2p_kad_table *t, lp2p_tstamp now) {
  for (unsigned i = 0; i < t->used; i++) {
    bucket *bk = &t->b[i];
    if (!bk->ping || now < bk->ping_deadline)
      continue;
    int j = find(bk->e, bk->n, &bk->ping_id);
    bk->ping = 0;
    if (j >= 0)
      remove_at(t, bk, (size_t)j);
  }
}
