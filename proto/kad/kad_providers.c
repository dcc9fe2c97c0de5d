/* The provider store of a DHT server (kad-dht spec "Content provider
 * advertisement and discovery"): key (a multihash) -> the peers that
 * announced they provide it. A provider is served for ttl_ns (48 h, the
 * spec's Expiration Interval) after its latest ADD_PROVIDER, its
 * addresses only for addr_ttl_ns (24 h, go's ProviderAddrTTL: addresses
 * go stale sooner than the record). Bounded in keys, providers per key
 * and bytes: a full key replaces the provider that expires first (a
 * flood of fake providers for one key cannot grow it), a full store
 * refuses new keys. */
#include <stdint.h>
#include <string.h>

#include "lp2p/kad.h"
#include "proto/kad/kad_map.h"

typedef struct prov {
  lp2p_peerid id;
  lp2p_tstamp added;
  size_t naddrs;
  size_t addr_bytes;
  uint8_t addrs[]; /* naddrs times: 2-byte big-endian length, bytes */
} prov;

typedef struct pset {
  kad_map_node node;
  size_t n;
  prov **p;       /* per_key_max slots, after the key bytes */
  uint8_t bytes[]; /* key, then the slot array (aligned) */
} pset;

struct lp2p_kad_providers {
  const lp2p_mem *mem;
  lp2p_kad_providers_config cfg;
  kad_map map;
  size_t bytes;
  lp2p_tstamp next_sweep;
};

void lp2p_kad_providers_config_default(lp2p_kad_providers_config *c) {
  memset(c, 0, sizeof *c);
  c->keys_max = 8192;
  c->per_key_max = LP2P_KAD_K;
  c->bytes_max = 16u << 20;
  c->key_max = 128;
  c->addrs_max = 8;
  c->addr_len_max = 256;
  c->ttl_ns = LP2P_KAD_PROVIDE_TTL_NS;
  c->addr_ttl_ns = LP2P_KAD_PROVIDER_ADDR_TTL_NS;
  c->sweep_interval_ns = 3600 * LP2P_NS_PER_S;
}

int lp2p_kad_providers_new(lp2p_kad_providers **out,
                           const lp2p_kad_providers_config *cfg,
                           const lp2p_mem *mem, const lp2p_rng *rng,
                           lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  lp2p_kad_providers_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_kad_providers_config_default(&c);
  if (!c.keys_max || !c.per_key_max || c.per_key_max > 4096 || !c.bytes_max ||
      !c.sweep_interval_ns || c.addr_len_max > 0xffff)
    return LP2P_ERR_INVAL;
  lp2p_kad_providers *s = lp2p_mem_calloc(mem, 1, sizeof *s);
  if (!s)
    return LP2P_ERR_NOMEM;
  s->mem = mem;
  s->cfg = c;
  if (kad_map_init(&s->map, mem, rng, c.keys_max) != 0) {
    lp2p_mem_free(mem, s);
    return LP2P_ERR_NOMEM;
  }
  s->next_sweep = now + c.sweep_interval_ns;
  *out = s;
  return 0;
}

static size_t prov_cost(const prov *p) { return p->id.len + p->addr_bytes; }

static void drop_set(lp2p_kad_providers *s, pset *ps) {
  for (size_t i = 0; i < ps->n; i++) {
    s->bytes -= prov_cost(ps->p[i]);
    lp2p_mem_free(s->mem, ps->p[i]);
  }
  kad_map_remove(&s->map, &ps->node);
  s->bytes -= ps->node.key_len;
  lp2p_mem_free(s->mem, ps);
}

void lp2p_kad_providers_free(lp2p_kad_providers *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->map.nb; i++)
    for (kad_map_node *n = s->map.b[i], *next; n; n = next) {
      next = n->next;
      drop_set(s, (pset *)n);
    }
  kad_map_fini(&s->map);
  lp2p_mem_free(s->mem, s);
}

static pset *new_set(lp2p_kad_providers *s, const uint8_t *key, size_t len) {
  size_t off = (len + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
  pset *ps = lp2p_mem_calloc(s->mem, 1, sizeof *ps + off +
                                            s->cfg.per_key_max * sizeof(prov *));
  if (!ps)
    return NULL;
  memcpy(ps->bytes, key, len);
  ps->node.key = ps->bytes;
  ps->node.key_len = len;
  ps->p = (prov **)(void *)(ps->bytes + off);
  kad_map_insert(&s->map, &ps->node);
  s->bytes += len;
  return ps;
}

static void drop_prov(lp2p_kad_providers *s, pset *ps, size_t i) {
  s->bytes -= prov_cost(ps->p[i]);
  lp2p_mem_free(s->mem, ps->p[i]);
  ps->p[i] = ps->p[--ps->n];
}

int lp2p_kad_providers_add(lp2p_kad_providers *s, const uint8_t *key,
                           size_t key_len, const lp2p_peerid *peer,
                           const lp2p_kad_bytes *addrs, size_t naddrs,
                           lp2p_tstamp now) {
  if (!s || !key || !key_len || !peer || peer->len > LP2P_PEERID_MAX ||
      (!addrs && naddrs))
    return LP2P_ERR_INVAL;
  if (key_len > s->cfg.key_max)
    return LP2P_ERR_LIMIT;
  /* Size the new entry: addresses past the caps are skipped. */
  size_t ab = 0, na = 0;
  for (size_t j = 0; j < naddrs && na < s->cfg.addrs_max; j++)
    if (addrs[j].n && addrs[j].n <= s->cfg.addr_len_max) {
      ab += 2 + addrs[j].n;
      na++;
    }
  pset *ps = (pset *)kad_map_get(&s->map, key, key_len);
  size_t old_cost = 0, slot = ps ? ps->n : 0;
  if (ps)
    for (size_t i = 0; i < ps->n; i++)
      if (lp2p_peerid_equal(&ps->p[i]->id, peer)) {
        slot = i;
        old_cost = prov_cost(ps->p[i]);
        break;
      }
  if (!ps && s->map.count >= s->cfg.keys_max)
    return LP2P_ERR_LIMIT;
  if (ps && slot == ps->n && ps->n == s->cfg.per_key_max) {
    /* Full: the provider that expires first makes room. */
    size_t old = 0;
    for (size_t i = 1; i < ps->n; i++)
      if (ps->p[i]->added < ps->p[old]->added)
        old = i;
    slot = old;
    old_cost = prov_cost(ps->p[old]);
  }
  size_t add = peer->len + ab + (ps ? 0 : key_len);
  if (s->bytes - old_cost + add > s->cfg.bytes_max)
    return LP2P_ERR_LIMIT;
  prov *p = lp2p_mem_malloc(s->mem, sizeof *p + ab);
  if (!p)
    return LP2P_ERR_NOMEM;
  if (!ps && !(ps = new_set(s, key, key_len))) {
    lp2p_mem_free(s->mem, p);
    return LP2P_ERR_NOMEM;
  }
  memset(p, 0, sizeof *p);
  p->id = *peer;
  p->added = now;
  uint8_t *w = p->addrs;
  for (size_t j = 0; j < naddrs && p->naddrs < na; j++)
    if (addrs[j].n && addrs[j].n <= s->cfg.addr_len_max) {
      w[0] = (uint8_t)(addrs[j].n >> 8);
      w[1] = (uint8_t)addrs[j].n;
      memcpy(w + 2, addrs[j].p, addrs[j].n);
      w += 2 + addrs[j].n;
      p->naddrs++;
    }
  p->addr_bytes = ab;
  if (slot < ps->n) {
    s->bytes -= old_cost;
    lp2p_mem_free(s->mem, ps->p[slot]);
  } else {
    ps->n++;
  }
  ps->p[slot] = p;
  s->bytes += peer->len + ab;
  return 0;
}

static int live(const lp2p_kad_providers *s, const prov *p, lp2p_tstamp now) {
  return now < p->added || now - p->added < s->cfg.ttl_ns;
}

size_t lp2p_kad_providers_get(const lp2p_kad_providers *s, const uint8_t *key,
                              size_t key_len, lp2p_tstamp now,
                              lp2p_peerid *out, size_t n) {
  const pset *ps = s && key ? (const pset *)kad_map_get(&s->map, key, key_len)
                            : NULL;
  if (!ps)
    return 0;
  /* Newest first: selection over a set of at most per_key_max. */
  size_t got = 0, last = SIZE_MAX;
  lp2p_tstamp below = LP2P_TSTAMP_NONE;
  while (got < n) {
    size_t pick = SIZE_MAX;
    for (size_t i = 0; i < ps->n; i++) {
      const prov *p = ps->p[i];
      if (!live(s, p, now))
        continue;
      /* strictly after the previous pick in (added desc, index) order */
      if (last != SIZE_MAX &&
          !(p->added < below || (p->added == below && i > last)))
        continue;
      if (pick == SIZE_MAX || p->added > ps->p[pick]->added)
        pick = i;
    }
    if (pick == SIZE_MAX)
      break;
    out[got++] = ps->p[pick]->id;
    below = ps->p[pick]->added;
    last = pick;
  }
  return got;
}

const uint8_t *lp2p_kad_providers_addr(const lp2p_kad_providers *s,
                                       const uint8_t *key, size_t key_len,
                                       const lp2p_peerid *peer, size_t j,
                                       lp2p_tstamp now, size_t *len) {
  const pset *ps = s && key ? (const pset *)kad_map_get(&s->map, key, key_len)
                            : NULL;
  if (!ps || !peer)
    return NULL;
  for (size_t i = 0; i < ps->n; i++) {
    const prov *p = ps->p[i];
    if (!lp2p_peerid_equal(&p->id, peer))
      continue;
    if (!live(s, p, now) || j >= p->naddrs ||
        (now >= p->added && now - p->added >= s->cfg.addr_ttl_ns))
      return NULL;
    const uint8_t *r = p->addrs;
    for (;;) {
      size_t l = (size_t)r[0] << 8 | r[1];
      if (j-- == 0) {
        if (len)
          *len = l;
        return r + 2;
      }
      r += 2 + l;
    }
  }
  return NULL;
}

size_t lp2p_kad_providers_keys(const lp2p_kad_providers *s) {
  return s->map.count;
}

size_t lp2p_kad_providers_bytes(const lp2p_kad_providers *s) {
  return s->bytes;
}

lp2p_tstamp lp2p_kad_providers_next_timeout(const lp2p_kad_providers *s) {
  return s->map.count ? s->next_sweep : LP2P_TSTAMP_NONE;
}

void lp2p_kad_providers_handle_timeout(lp2p_kad_providers *s,
                                       lp2p_tstamp now) {
  if (now < s->next_sweep)
    return;
  s->next_sweep = now + s->cfg.sweep_interval_ns;
  for (size_t i = 0; i < s->map.nb; i++)
    for (kad_map_node *n = s->map.b[i], *next; n; n = next) {
      next = n->next;
      pset *ps = (pset *)n;
      for (size_t j = ps->n; j-- > 0;)
        if (!live(s, ps->p[j], now))
          drop_prov(s, ps, j);
      if (!ps->n)
        drop_set(s, ps);
    }
}
