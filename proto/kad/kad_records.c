/* The value store of a DHT server (kad-dht spec "Value storage"): records
 * received through PUT_VALUE, already validated and selected by the
 * caller on write, as go-libp2p-kad-dht's ValueStore does (a served
 * record is only age-checked: requesters validate what they receive).
 * Bounded in entries and bytes; a record is served for at most max_age_ns
 * after it arrived (go amino.DefaultMaxRecordAge, 48 h: the publisher
 * republishes; go-libp2p-kad-dht itself republishes nothing) and swept
 * every sweep_interval_ns (1 h; go sweeps values every 24 h and expires
 * them lazily on read, which we do too). A full
 * store refuses new keys (LIMIT) rather than evicting: a flood of PUTs
 * from one peer must not push out everyone else's records; replacing a
 * stored key is always allowed. */
#include <string.h>

#include "lp2p/kad.h"
#include "proto/kad/kad_map.h"

typedef struct rec {
  kad_map_node node; /* first: the map's key points at the bytes below */
  size_t val_len;
  uint64_t unix_ns;
  lp2p_tstamp stored;
  uint8_t bytes[]; /* key, then value */
} rec;

struct lp2p_kad_records {
  const lp2p_mem *mem;
  lp2p_kad_records_config cfg;
  kad_map map;
  size_t bytes;
  lp2p_tstamp next_sweep;
};

void lp2p_kad_records_config_default(lp2p_kad_records_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->entries_max = 4096;
  cfg->bytes_max = 16u << 20;
  cfg->key_max = 512;
  cfg->value_max = 64 * 1024;
  cfg->max_age_ns = LP2P_KAD_RECORD_MAX_AGE_NS;
  cfg->sweep_interval_ns = 3600 * LP2P_NS_PER_S;
}

int lp2p_kad_records_new(lp2p_kad_records **out,
                         const lp2p_kad_records_config *cfg,
                         const lp2p_mem *mem, const lp2p_rng *rng,
                         lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  lp2p_kad_records_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_kad_records_config_default(&c);
  if (!c.entries_max || !c.bytes_max || !c.sweep_interval_ns)
    return LP2P_ERR_INVAL;
  lp2p_kad_records *s = lp2p_mem_calloc(mem, 1, sizeof *s);
  if (!s)
    return LP2P_ERR_NOMEM;
  s->mem = mem;
  s->cfg = c;
  if (kad_map_init(&s->map, mem, rng, c.entries_max) != 0) {
    lp2p_mem_free(mem, s);
    return LP2P_ERR_NOMEM;
  }
  s->next_sweep = now + c.sweep_interval_ns;
  *out = s;
  return 0;
}

static void drop(lp2p_kad_records *s, rec *r) {
  kad_map_remove(&s->map, &r->node);
  s->bytes -= r->node.key_len + r->val_len;
  lp2p_mem_free(s->mem, r);
}

void lp2p_kad_records_free(lp2p_kad_records *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->map.nb; i++)
    for (kad_map_node *n = s->map.b[i], *next; n; n = next) {
      next = n->next;
      lp2p_mem_free(s->mem, n);
    }
  kad_map_fini(&s->map);
  lp2p_mem_free(s->mem, s);
}

int lp2p_kad_records_put(lp2p_kad_records *s, const uint8_t *key,
                         size_t key_len, const uint8_t *val, size_t val_len,
                         uint64_t unix_ns, lp2p_tstamp now) {
  if (!s || (!key && key_len) || (!val && val_len))
    return LP2P_ERR_INVAL;
  if (key_len > s->cfg.key_max || val_len > s->cfg.value_max)
    return LP2P_ERR_LIMIT;
  rec *old = (rec *)kad_map_get(&s->map, key, key_len);
  size_t freed = old ? old->node.key_len + old->val_len : 0;
  if (!old && s->map.count >= s->cfg.entries_max)
    return LP2P_ERR_LIMIT;
  if (s->bytes - freed + key_len + val_len > s->cfg.bytes_max)
    return LP2P_ERR_LIMIT;
  rec *r = lp2p_mem_malloc(s->mem, sizeof *r + key_len + val_len);
  if (!r)
    return LP2P_ERR_NOMEM;
  memset(r, 0, sizeof *r);
  if (key_len)
    memcpy(r->bytes, key, key_len);
  if (val_len)
    memcpy(r->bytes + key_len, val, val_len);
  r->node.key = r->bytes;
  r->node.key_len = key_len;
  r->val_len = val_len;
  r->unix_ns = unix_ns;
  r->stored = now;
  if (old)
    drop(s, old);
  kad_map_insert(&s->map, &r->node);
  s->bytes += key_len + val_len;
  return 0;
}

static int expired(const lp2p_kad_records *s, const rec *r, lp2p_tstamp now) {
  return now >= r->stored && now - r->stored >= s->cfg.max_age_ns;
}

const uint8_t *lp2p_kad_records_get(const lp2p_kad_records *s,
                                    const uint8_t *key, size_t key_len,
                                    lp2p_tstamp now, size_t *len,
                                    uint64_t *unix_ns) {
  if (!s || (!key && key_len))
    return NULL;
  const rec *r = (const rec *)kad_map_get(&s->map, key, key_len);
  if (!r || expired(s, r, now))
    return NULL;
  if (len)
    *len = r->val_len;
  if (unix_ns)
    *unix_ns = r->unix_ns;
  return r->bytes + r->node.key_len;
}

int lp2p_kad_records_remove(lp2p_kad_records *s, const uint8_t *key,
                            size_t key_len) {
  rec *r = s ? (rec *)kad_map_get(&s->map, key, key_len) : NULL;
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  drop(s, r);
  return 0;
}

size_t lp2p_kad_records_count(const lp2p_kad_records *s) {
  return s->map.count;
}

size_t lp2p_kad_records_bytes(const lp2p_kad_records *s) { return s->bytes; }

lp2p_tstamp lp2p_kad_records_next_timeout(const lp2p_kad_records *s) {
  return s->map.count ? s->next_sweep : LP2P_TSTAMP_NONE;
}

void lp2p_kad_records_handle_timeout(lp2p_kad_records *s, lp2p_tstamp now) {
  if (now < s->next_sweep)
    return;
  s->next_sweep = now + s->cfg.sweep_interval_ns;
  for (size_t i = 0; i < s->map.nb; i++)
    for (kad_map_node *n = s->map.b[i], *next; n; n = next) {
      next = n->next;
      if (expired(s, (rec *)n, now))
        drop(s, (rec *)n);
    }
}
