/* The DHT service's public calls (lp2p_host_kad_*, host.h): start
 * queries, read their results by id, look at the table and stores. */
#include <string.h>

#include "lp2p/multihash.h"
#include "proto/kad/kad_svc.h"

static kad_svc *svc_of(const lp2p_host *h) {
  kad_svc *v = h ? host_svc_state(h, &host_svc_kad_ops, NULL) : NULL;
  return v && v->cfg.mode != LP2P_KAD_MODE_OFF && v->table ? v : NULL;
}

static int start(lp2p_host *h, lp2p_tstamp now, uint8_t type,
                 const uint8_t *key, size_t n, const uint8_t *val,
                 size_t val_len, int find_peer, uint64_t *q) {
  if (!h || !key || !n || !q || (val_len && !val))
    return LP2P_ERR_INVAL;
  kad_svc *v = svc_of(h);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  host_now(h, now);
  host_enter(h);
  int rc = kad_query_start(h, v, type, key, n, val, val_len, 0, find_peer,
                           now, q);
  host_leave(h, now);
  host_svc_timer_update(h, v->svc);
  return rc;
}

int lp2p_host_kad_find_peer(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_peerid *peer, uint64_t *q) {
  if (!peer || !peer->len)
    return LP2P_ERR_INVAL;
  return start(h, now, LP2P_KAD_FIND_NODE, peer->bytes, peer->len, NULL, 0,
               1, q);
}

int lp2p_host_kad_closest(lp2p_host *h, lp2p_tstamp now, const uint8_t *key,
                          size_t n, uint64_t *q) {
  return start(h, now, LP2P_KAD_FIND_NODE, key, n, NULL, 0, 0, q);
}

int lp2p_host_kad_get(lp2p_host *h, lp2p_tstamp now, const uint8_t *key,
                      size_t n, uint64_t *q) {
  int rc = start(h, now, LP2P_KAD_GET_VALUE, key, n, NULL, 0, 0, q);
  if (rc)
    return rc;
  /* our own store answers too (go's GetValue checks it first) */
  kad_svc *v = svc_of(h);
  kad_query_slot *kq = kad_query_find(v, *q);
  size_t vl = 0;
  uint64_t t = 0;
  const uint8_t *val =
      kq ? lp2p_kad_records_get(v->records, key, n, now, &vl, &t) : NULL;
  if (val && !kq->val && (kq->val = lp2p_mem_malloc(h->mem, vl)) != NULL) {
    memcpy(kq->val, val, vl);
    kq->val_len = vl;
    if (kq->done && kq->err == LP2P_ERR_NOT_FOUND)
      kq->err = 0;
  }
  return 0;
}

int lp2p_host_kad_put(lp2p_host *h, lp2p_tstamp now, const uint8_t *key,
                      size_t n, const uint8_t *val, size_t val_len,
                      uint64_t *q) {
  kad_svc *v = svc_of(h);
  if (!v)
    return h ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_INVAL;
  if (!key || !n || !val || !val_len)
    return LP2P_ERR_INVAL;
  int rc = lp2p_kad_validate(&v->vs, key, n, val, val_len, h->unix_ns);
  if (rc)
    return rc;
  if (v->cfg.mode == LP2P_KAD_MODE_SERVER)
    lp2p_kad_records_put(v->records, key, n, val, val_len, h->unix_ns, now);
  return start(h, now, LP2P_KAD_PUT_VALUE, key, n, val, val_len, 0, q);
}

int lp2p_host_kad_provide(lp2p_host *h, lp2p_tstamp now, const uint8_t *key,
                          size_t n, uint64_t *q) {
  kad_svc *v = svc_of(h);
  if (!v)
    return h ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_INVAL;
  if (!key || lp2p_multihash_parse(key, n, NULL, NULL, NULL) != 0)
    return LP2P_ERR_INVAL;
  if (v->cfg.mode == LP2P_KAD_MODE_SERVER) {
    lp2p_maddr ma[8];
    lp2p_kad_bytes ab[8];
    size_t na = 0;
    lp2p_host_addrs(h, ma, 8, &na);
    na = na < 8 ? na : 8;
    for (size_t i = 0; i < na; i++) {
      ab[i].p = ma[i].bytes;
      ab[i].n = ma[i].len;
    }
    lp2p_kad_providers_add(v->providers, key, n, &h->self, ab, na, now);
  }
  return start(h, now, LP2P_KAD_ADD_PROVIDER, key, n, NULL, 0, 0, q);
}

int lp2p_host_kad_providers(lp2p_host *h, lp2p_tstamp now, const uint8_t *key,
                            size_t n, uint64_t *q) {
  return start(h, now, LP2P_KAD_GET_PROVIDERS, key, n, NULL, 0, 0, q);
}

static const kad_query_slot *find(const lp2p_host *h, uint64_t q) {
  const kad_svc *v = svc_of(h);
  return v ? kad_query_find(v, q) : NULL;
}

int lp2p_host_kad_query_info(const lp2p_host *h, uint64_t q,
                             lp2p_kad_query_info *out) {
  const kad_query_slot *kq = find(h, q);
  if (!kq || !out)
    return kq ? LP2P_ERR_INVAL : LP2P_ERR_NOT_FOUND;
  memset(out, 0, sizeof *out);
  out->type = kq->type;
  out->done = kq->done;
  out->err = kq->done ? kq->err : 0;
  lp2p_kad_query_stats_get(kq->q, &out->stats);
  out->stored = out->stats.stored;
  if (kq->find_peer)
    out->target_found = lp2p_kad_query_target(kq->q, &out->target_hops);
  out->corrections = kq->corr_sent;
  out->corrections_done = kq->corr_done;
  const kad_svc *v = svc_of(h);
  for (size_t i = 0; kq->done && i < v->reqs_hi; i++)
    out->corrections_pending += v->reqs[i].used && v->reqs[i].q == kq;
  return 0;
}

int lp2p_host_kad_bootstrap(lp2p_host *h, lp2p_tstamp now, uint64_t *dials,
                            size_t cap, size_t *n) {
  if (n)
    *n = 0;
  if (!h || (cap && !dials))
    return LP2P_ERR_INVAL;
  kad_svc *v = svc_of(h);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  if (!v->nboot)
    return LP2P_ERR_NOT_FOUND;
  host_now(h, now);
  host_enter(h);
  int rc = kad_bootstrap(h, v, now, dials, cap, n);
  host_leave(h, now);
  host_svc_timer_update(h, v->svc);
  return rc;
}

int lp2p_host_kad_query_peer(const lp2p_host *h, uint64_t q, size_t i,
                             lp2p_peerid *peer, uint32_t *hops) {
  const kad_query_slot *kq = find(h, q);
  return kq ? lp2p_kad_query_result(kq->q, i, peer, hops) : 0;
}

const uint8_t *lp2p_host_kad_query_value(const lp2p_host *h, uint64_t q,
                                         size_t *len) {
  const kad_query_slot *kq = find(h, q);
  if (!kq || !len)
    return NULL;
  const uint8_t *p = lp2p_kad_query_value(kq->q, len);
  if (!p && kq->type == LP2P_KAD_GET_VALUE && kq->val) {
    *len = kq->val_len;
    p = kq->val;
  }
  return p;
}

int lp2p_host_kad_query_provider(const lp2p_host *h, uint64_t q, size_t i,
                                 lp2p_peerid *peer, size_t *naddrs) {
  const kad_query_slot *kq = find(h, q);
  return kq ? lp2p_kad_query_provider(kq->q, i, peer, naddrs) : 0;
}

int lp2p_host_kad_query_provider_addr(const lp2p_host *h, uint64_t q,
                                      size_t i, size_t j, lp2p_maddr *out) {
  const kad_query_slot *kq = find(h, q);
  size_t len = 0;
  const uint8_t *a =
      kq ? lp2p_kad_query_provider_addr(kq->q, i, j, &len) : NULL;
  if (!a || !out)
    return LP2P_ERR_NOT_FOUND;
  return lp2p_maddr_from_bytes(out, a, len);
}

void lp2p_host_kad_query_free(lp2p_host *h, uint64_t q) {
  kad_svc *v = h ? svc_of(h) : NULL;
  kad_query_slot *kq = v ? kad_query_find(v, q) : NULL;
  if (!kq)
    return;
  host_enter(h);
  kad_query_slot_free(h, v, kq);
  host_leave(h, h->now);
  host_svc_timer_update(h, v->svc);
}

size_t lp2p_host_kad_table_size(const lp2p_host *h) {
  const kad_svc *v = svc_of(h);
  return v ? lp2p_kad_table_size(v->table) : 0;
}

size_t lp2p_host_kad_table_closest(const lp2p_host *h, const uint8_t *key,
                                   size_t n, lp2p_peerid *out, size_t cap) {
  const kad_svc *v = svc_of(h);
  if (!v || !key || !out)
    return 0;
  uint8_t hk[32];
  lp2p_kad_key_hash(key, n, hk);
  return lp2p_kad_table_closest(v->table, hk, out, cap);
}

size_t lp2p_host_kad_records_count(const lp2p_host *h) {
  const kad_svc *v = svc_of(h);
  return v ? lp2p_kad_records_count(v->records) : 0;
}

size_t lp2p_host_kad_provider_keys(const lp2p_host *h) {
  const kad_svc *v = svc_of(h);
  return v ? lp2p_kad_providers_keys(v->providers) : 0;
}
