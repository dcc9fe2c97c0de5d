/* Peerstore: what we know about other peers (addresses with TTLs, public
 * key, identify data), keyed by peer id in a chained hash table. Entries of
 * peers without connections sit in an LRU list and are evicted oldest
 * first when peers_max is reached; connected and protected peers
 * (lp2p_host_peer_protect) are never evicted. */
#include "proto/common/keyed_hash.h"
#include "proto/host/host_internal.h"

/* Keyed (SipHash): peers choose their ids, so an unkeyed hash would let
 * them fill one chain. */
static uint32_t peer_hash(const lp2p_host *h, const lp2p_peerid *id) {
  return (uint32_t)lp2p_keyed_hash(h->hash_key, id->bytes, id->len);
}

hpeer *host_peer_find(const lp2p_host *h, const lp2p_peerid *id) {
  if (!h->nbuckets || !id || id->len == 0)
    return NULL;
  hpeer *p = h->buckets[peer_hash(h, id) & (h->nbuckets - 1)];
  for (; p; p = p->hnext)
    if (lp2p_peerid_equal(&p->id, id))
      return p;
  return NULL;
}

static void lru_unlink(lp2p_host *h, hpeer *p) {
  if (!p->in_lru)
    return;
  IFIFO_REMOVE(h->lru_head, h->lru_tail, p, lru_next, lru_prev);
  p->in_lru = 0;
}

static void lru_append(lp2p_host *h, hpeer *p) {
  if (p->in_lru)
    return;
  IFIFO_PUSH_BACK(h->lru_head, h->lru_tail, p, lru_next, lru_prev);
  p->in_lru = 1;
}

static void peer_free_data(lp2p_host *h, hpeer *p) {
  lp2p_mem_free(h->mem, p->pubkey);
  lp2p_mem_free(h->mem, p->agent);
  lp2p_mem_free(h->mem, p->proto_version);
  lp2p_mem_free(h->mem, p->protocols);
  lp2p_mem_free(h->mem, p->observed);
  for (uint16_t i = 0; i < p->naddrs; i++)
    lp2p_mem_free(h->mem, p->addrs[i]);
  if (p->addrs != p->addrs_inl)
    lp2p_mem_free(h->mem, p->addrs);
}

static void peer_remove(lp2p_host *h, hpeer *p) {
  hpeer **pp = &h->buckets[peer_hash(h, &p->id) & (h->nbuckets - 1)];
  while (*pp && *pp != p)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = p->hnext;
  lru_unlink(h, p);
  peer_free_data(h, p);
  lp2p_mem_free(h->mem, p);
  h->npeers--;
}

static int rehash(lp2p_host *h) {
  uint32_t nb = h->nbuckets ? h->nbuckets * 2 : 64;
  hpeer **b = lp2p_mem_calloc(h->mem, nb, sizeof *b);
  if (!b)
    return LP2P_ERR_NOMEM;
  for (uint32_t i = 0; i < h->nbuckets; i++) {
    hpeer *p = h->buckets[i];
    while (p) {
      hpeer *next = p->hnext;
      uint32_t k = peer_hash(h, &p->id) & (nb - 1);
      p->hnext = b[k];
      b[k] = p;
      p = next;
    }
  }
  lp2p_mem_free(h->mem, h->buckets);
  h->buckets = b;
  h->nbuckets = nb;
  return 0;
}

hpeer *host_peer_get(lp2p_host *h, const lp2p_peerid *id, int *err) {
  *err = 0;
  if (!id || id->len == 0 || id->len > LP2P_PEERID_MAX) {
    *err = LP2P_ERR_INVAL;
    return NULL;
  }
  hpeer *p = host_peer_find(h, id);
  if (p)
    return p;
  if (h->npeers >= h->cfg.peers_max) {
    if (!h->lru_head) {
      *err = LP2P_ERR_LIMIT;
      return NULL;
    }
    peer_remove(h, h->lru_head);
  }
  if ((h->nbuckets == 0 || h->npeers >= h->nbuckets) && rehash(h) != 0 &&
      h->nbuckets == 0) {
    *err = LP2P_ERR_NOMEM;
    return NULL;
  }
  p = lp2p_mem_calloc(h->mem, 1, sizeof *p);
  if (!p) {
    *err = LP2P_ERR_NOMEM;
    return NULL;
  }
  p->id = *id;
  host_rm_peer_init(h, p);
  uint32_t k = peer_hash(h, id) & (h->nbuckets - 1);
  p->hnext = h->buckets[k];
  h->buckets[k] = p;
  h->npeers++;
  lru_append(h, p);
  return p;
}

void host_peer_conn_link(lp2p_host *h, hpeer *p, hconn *c) {
  c->peer = p;
  /* its counts go to the peer's scope too (the peer's caps are checked
   * before anything is charged, so this fits) */
  rm_scope_attach(&c->rmc, &p->rm);
  ILIST_PUSH_FRONT(p->conns, c, peer_next, peer_prev);
  lru_unlink(h, p);
}

void host_peer_conn_unlink(lp2p_host *h, hconn *c) {
  hpeer *p = c->peer;
  if (!p)
    return;
  ILIST_REMOVE(p->conns, c, peer_next, peer_prev);
  rm_scope_detach(&c->rmc, &p->rm);
  c->peer = NULL;
  if (!p->conns && !p->protect)
    lru_append(h, p);
}

int lp2p_host_peer_protect(lp2p_host *h, const lp2p_peerid *peer,
                           uint32_t tag, int on) {
  if (!h || !peer || !tag || tag > 0xffu)
    return LP2P_ERR_INVAL;
  int err = 0;
  hpeer *p = on ? host_peer_get(h, peer, &err) : host_peer_find(h, peer);
  if (!p)
    return on ? err : 0;
  if (on)
    p->protect |= (uint8_t)tag;
  else
    p->protect &= (uint8_t)~tag;
  /* a protected peer leaves the eviction list, as a connected one does */
  if (p->protect)
    lru_unlink(h, p);
  else if (!p->conns)
    lru_append(h, p);
  return 0;
}

uint32_t lp2p_host_peer_protected(const lp2p_host *h,
                                  const lp2p_peerid *peer) {
  const hpeer *p = h && peer ? host_peer_find(h, peer) : NULL;
  return p ? p->protect : 0;
}

void host_peers_free(lp2p_host *h) {
  for (uint32_t i = 0; i < h->nbuckets; i++) {
    hpeer *p = h->buckets[i];
    while (p) {
      hpeer *next = p->hnext;
      peer_free_data(h, p);
      lp2p_mem_free(h->mem, p);
      p = next;
    }
  }
  lp2p_mem_free(h->mem, h->buckets);
  h->buckets = NULL;
  h->nbuckets = h->npeers = 0;
  h->lru_head = h->lru_tail = NULL;
}

static int set_bytes(lp2p_host *h, uint8_t **dst, uint16_t *dlen,
                     const uint8_t *b, size_t n) {
  if (n > UINT16_MAX)
    return LP2P_ERR_LIMIT;
  if (*dst && *dlen == n && memcmp(*dst, b, n) == 0)
    return 0;
  uint8_t *c = NULL;
  if (n) {
    c = lp2p_mem_malloc(h->mem, n);
    if (!c)
      return LP2P_ERR_NOMEM;
    memcpy(c, b, n);
  }
  lp2p_mem_free(h->mem, *dst);
  *dst = c;
  *dlen = (uint16_t)n;
  return 0;
}

int host_peer_set_pubkey(lp2p_host *h, hpeer *p, const uint8_t *pb,
                         size_t n) {
  return set_bytes(h, &p->pubkey, &p->pubkey_len, pb, n);
}

int host_peer_set_observed(lp2p_host *h, hpeer *p, const uint8_t *b,
                           size_t n) {
  return set_bytes(h, &p->observed, &p->observed_len, b, n);
}

int host_peer_set_str(lp2p_host *h, char **dst, const uint8_t *b, size_t n) {
  if (*dst && strlen(*dst) == n && memcmp(*dst, b, n) == 0)
    return 0;
  char *c = lp2p_mem_malloc(h->mem, n + 1);
  if (!c)
    return LP2P_ERR_NOMEM;
  if (n)
    memcpy(c, b, n);
  c[n] = 0;
  lp2p_mem_free(h->mem, *dst);
  *dst = c;
  return 0;
}

int host_peer_set_protocols(lp2p_host *h, hpeer *p, const char *packed,
                            size_t bytes, size_t n) {
  char *c = NULL;
  if (bytes) {
    c = lp2p_mem_malloc(h->mem, bytes);
    if (!c)
      return LP2P_ERR_NOMEM;
    memcpy(c, packed, bytes);
  }
  lp2p_mem_free(h->mem, p->protocols);
  p->protocols = c;
  p->protocols_bytes = (uint32_t)bytes;
  p->nprotocols = (uint16_t)n;
  return 0;
}

static int addr_expired(const haddr *a, lp2p_tstamp now) {
  return a->expires != LP2P_TSTAMP_NONE && a->expires <= now;
}

int host_peer_add_addr_bytes(lp2p_host *h, hpeer *p, const uint8_t *b,
                             size_t n, lp2p_tstamp expires) {
  if (n == 0 || n > LP2P_MADDR_MAX)
    return LP2P_ERR_INVAL;
  /* Refresh a known address (keep the later expiry). */
  for (uint16_t i = 0; i < p->naddrs; i++) {
    haddr *a = p->addrs[i];
    if (a->len == n && memcmp(a->bytes, b, n) == 0) {
      if (expires == LP2P_TSTAMP_NONE ||
          (a->expires != LP2P_TSTAMP_NONE && expires > a->expires))
        a->expires = expires;
      return 0;
    }
  }
  /* Drop expired entries first. */
  for (uint16_t i = 0; i < p->naddrs;) {
    if (addr_expired(p->addrs[i], h->now)) {
      lp2p_mem_free(h->mem, p->addrs[i]);
      p->addrs[i] = p->addrs[--p->naddrs];
    } else {
      i++;
    }
  }
  uint16_t slot = p->naddrs;
  if (p->naddrs >= h->cfg.addrs_per_peer_max) {
    /* Full: replace the entry that expires first, if it expires at all. */
    uint16_t victim = UINT16_MAX;
    for (uint16_t i = 0; i < p->naddrs; i++) {
      lp2p_tstamp e = p->addrs[i]->expires;
      if (e != LP2P_TSTAMP_NONE &&
          (victim == UINT16_MAX || e < p->addrs[victim]->expires))
        victim = i;
    }
    if (victim == UINT16_MAX)
      return LP2P_ERR_LIMIT;
    slot = victim;
  } else if (p->naddrs == p->addrs_cap) {
    /* the first ones in the entry itself (addrs_inl), then the heap */
    uint16_t ninl = (uint16_t)(sizeof p->addrs_inl / sizeof p->addrs_inl[0]);
    uint16_t ncap = p->addrs_cap ? (uint16_t)(p->addrs_cap * 2) : ninl;
    if (ncap > h->cfg.addrs_per_peer_max)
      ncap = (uint16_t)h->cfg.addrs_per_peer_max;
    haddr **na;
    if (!p->addrs_cap) {
      na = p->addrs_inl;
    } else if (p->addrs == p->addrs_inl) {
      na = lp2p_mem_malloc(h->mem, ncap * sizeof *na);
      if (na)
        memcpy(na, p->addrs_inl, sizeof p->addrs_inl);
    } else {
      na = lp2p_mem_realloc(h->mem, p->addrs, p->addrs_cap * sizeof *na,
                            ncap * sizeof *na);
    }
    if (!na)
      return LP2P_ERR_NOMEM;
    p->addrs = na;
    p->addrs_cap = ncap;
  }
  haddr *a = lp2p_mem_malloc(h->mem, sizeof *a + n);
  if (!a)
    return LP2P_ERR_NOMEM;
  a->expires = expires;
  a->len = (uint16_t)n;
  memcpy(a->bytes, b, n);
  if (slot < p->naddrs) {
    lp2p_mem_free(h->mem, p->addrs[slot]);
  } else {
    p->naddrs++;
  }
  p->addrs[slot] = a;
  return 0;
}

/* ---- public accessors ------------------------------------------------------ */

int lp2p_host_peer_addr_add(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_peerid *peer, const lp2p_maddr *ma,
                            uint64_t ttl_ns) {
  if (!h || !peer || !ma || ma->len == 0)
    return LP2P_ERR_INVAL;
  if (lp2p_peerid_equal(peer, &h->self))
    return LP2P_ERR_INVAL;
  h->now = now > h->now ? now : h->now;
  lp2p_maddr m = *ma;
  const uint8_t *idb;
  size_t idn;
  if (lp2p_maddr_get_peer_id(&m, &idb, &idn) == 0) {
    if (idn != peer->len || memcmp(idb, peer->bytes, idn) != 0)
      return LP2P_ERR_PEER_ID_MISMATCH;
    lp2p_maddr_strip_peer_id(&m);
  }
  if (m.len == 0)
    return LP2P_ERR_INVAL;
  int err;
  hpeer *p = host_peer_get(h, peer, &err);
  if (!p)
    return err;
  lp2p_tstamp exp = ttl_ns ? (now + ttl_ns < now ? LP2P_TSTAMP_NONE - 1
                                                 : now + ttl_ns)
                           : LP2P_TSTAMP_NONE;
  return host_peer_add_addr_bytes(h, p, m.bytes, m.len, exp);
}

int lp2p_host_peer_addrs(const lp2p_host *h, lp2p_tstamp now,
                         const lp2p_peerid *peer, lp2p_maddr *out, size_t cap,
                         size_t *n) {
  if (n)
    *n = 0;
  if (!h || !peer)
    return LP2P_ERR_INVAL;
  const hpeer *p = host_peer_find(h, peer);
  if (!p)
    return LP2P_ERR_NOT_FOUND;
  size_t k = host_peer_addrs_of(p, now, out, cap);
  if (n)
    *n = k;
  return 0;
}

size_t host_peer_addrs_of(const hpeer *p, lp2p_tstamp now, lp2p_maddr *out,
                          size_t cap) {
  size_t k = 0;
  for (uint16_t i = 0; i < p->naddrs; i++) {
    const haddr *a = p->addrs[i];
    if (addr_expired(a, now))
      continue;
    if (out && k < cap) {
      out[k].len = a->len;
      memcpy(out[k].bytes, a->bytes, a->len);
    }
    k++;
  }
  return k;
}

int lp2p_host_peer_pubkey(const lp2p_host *h, const lp2p_peerid *peer,
                          lp2p_pubkey *out) {
  if (!h || !peer || !out)
    return LP2P_ERR_INVAL;
  const hpeer *p = host_peer_find(h, peer);
  if (p && p->pubkey)
    return lp2p_pubkey_unmarshal(out, p->pubkey, p->pubkey_len) == 0
               ? 0
               : LP2P_ERR_NOT_FOUND;
  /* Identity-hash ids carry their key. */
  return lp2p_peerid_pubkey(peer, out) == 0 ? 0 : LP2P_ERR_NOT_FOUND;
}

const char *lp2p_host_peer_agent(const lp2p_host *h, const lp2p_peerid *peer) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  return p ? p->agent : NULL;
}

const char *lp2p_host_peer_protocol_version(const lp2p_host *h,
                                            const lp2p_peerid *peer) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  return p ? p->proto_version : NULL;
}

size_t lp2p_host_peer_protocol_count(const lp2p_host *h,
                                     const lp2p_peerid *peer) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  return p ? p->nprotocols : 0;
}

const char *lp2p_host_peer_protocol(const lp2p_host *h,
                                    const lp2p_peerid *peer, size_t i) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  if (!p || i >= p->nprotocols)
    return NULL;
  const char *s = p->protocols;
  while (i--)
    s += strlen(s) + 1;
  return s;
}

int lp2p_host_peer_supports(const lp2p_host *h, const lp2p_peerid *peer,
                            const char *protocol) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  if (!p || !protocol)
    return 0;
  const char *s = p->protocols;
  for (uint16_t i = 0; i < p->nprotocols; i++) {
    if (strcmp(s, protocol) == 0)
      return 1;
    s += strlen(s) + 1;
  }
  return 0;
}

int lp2p_host_peer_observed_addr(const lp2p_host *h, const lp2p_peerid *peer,
                                 lp2p_maddr *out) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  if (!p || !p->observed || !out)
    return LP2P_ERR_NOT_FOUND;
  out->len = p->observed_len;
  memcpy(out->bytes, p->observed, p->observed_len);
  return 0;
}

size_t lp2p_host_peer_conn_count(const lp2p_host *h, const lp2p_peerid *peer) {
  const hpeer *p = h ? host_peer_find(h, peer) : NULL;
  return p ? p->nconns : 0;
}
