/* The iterative lookup (kad-dht spec "Peer routing", "Value retrieval",
 * "Content provider discovery") as a state machine: seeded with known
 * peers, it hands out requests, is fed responses, failures and timeouts,
 * and ends when the k closest peers it has seen have all answered or
 * failed.
 *
 * Every peer seen is kept (up to peers_max) in one array sorted by XOR
 * distance to the key, so "the k closest not yet failed" is a prefix walk.
 * At most alpha requests are in flight, always to the closest unqueried
 * peers of that window. Unlike js kad-dht, which follows only peers closer
 * than the one that named them, a farther peer that is still among the k
 * closest seen is queried too: that is what makes the lookup converge
 * from a cold table (the spec's termination rule).
 *
 * alpha defaults to 3, the Kademlia paper's value and js kad-dht's
 * (constants.ts ALPHA), the implementation we must interoperate with. The
 * spec and go-libp2p-kad-dht (amino.DefaultConcurrency) use 10, which
 * makes lookups faster on a slow public network at three times the
 * requests; the service may raise it. The per-request timeout is 10 s as
 * go's dhtReadMessageTimeout and js's READ_MESSAGE_TIMEOUT.
 *
 * Hop counts: a seed (from the routing table or a bootstrap list) has hop
 * count 1; a peer named in the response of a peer with hop count h gets
 * h + 1 (the smallest over every chain that names it).
 *
 * PUT_VALUE and ADD_PROVIDER first run a FIND_NODE lookup, then send their
 * request to the k closest peers that answered (spec "Value storage",
 * "Content provider advertisement"); those k go out at once, as go does. */
#include <string.h>

#include "lp2p/kad.h"

enum { CAND, WAIT, OK, FAIL };
enum { VAL_NONE, VAL_BEST, VAL_OUTDATED };
enum { PH_LOOKUP, PH_FANOUT, PH_DONE };

typedef struct qpeer {
  lp2p_peerid id;
  uint8_t key[32];
  uint8_t state;
  uint8_t value;
  uint32_t hops;
  lp2p_tstamp deadline;
} qpeer;

typedef struct qprov {
  lp2p_peerid id;
  uint8_t *addrs; /* naddrs times: 2-byte big-endian length, bytes */
  size_t naddrs;
} qprov;

struct lp2p_kad_query {
  const lp2p_mem *mem;
  lp2p_kad_query_config cfg;
  lp2p_kad_validators default_vs;
  uint8_t type;
  uint8_t phase;
  uint8_t *key;
  size_t key_len;
  uint8_t target[32];
  int has_self;
  lp2p_peerid self;
  int key_is_peer;
  lp2p_peerid key_peer;
  int target_seen;
  uint32_t target_hops;
  qpeer *peers; /* sorted by distance to target */
  size_t n, cap;
  size_t inflight;
  /* the earliest deadline of a request in flight, kept by every call that
   * changes one (the service asks for it after each event of its host) */
  lp2p_tstamp next_to;
  qpeer *fan; /* fan-out targets */
  size_t nfan;
  uint8_t *best;
  size_t best_len;
  qprov *provs;
  size_t nprov;
  lp2p_kad_query_stats st;
};

void lp2p_kad_query_config_default(lp2p_kad_query_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->k = LP2P_KAD_K;
  cfg->alpha = 3;
  cfg->request_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->peers_max = 512;
  cfg->value_max = 64 * 1024;
  cfg->providers_max = LP2P_KAD_K;
  cfg->provider_addrs_max = 8;
  cfg->addr_len_max = 256;
}

int lp2p_kad_query_new(lp2p_kad_query **out, uint8_t type, const uint8_t *key,
                       size_t key_len, const lp2p_peerid *self,
                       const lp2p_kad_query_config *cfg, const lp2p_mem *mem,
                       lp2p_tstamp now) {
  (void)now;
  if (!out || (!key && key_len) || key_len > LP2P_KAD_MSG_MAX ||
      type == LP2P_KAD_PING || type > LP2P_KAD_PING)
    return LP2P_ERR_INVAL;
  lp2p_kad_query_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_kad_query_config_default(&c);
  if (!c.k || !c.alpha || c.alpha > c.k || c.peers_max < 2 * c.k ||
      c.k > 4096 || c.peers_max > (1u << 20))
    return LP2P_ERR_INVAL;
  lp2p_kad_query *q = lp2p_mem_calloc(mem, 1, sizeof *q);
  if (!q)
    return LP2P_ERR_NOMEM;
  q->next_to = LP2P_TSTAMP_NONE;
  q->mem = mem;
  q->cfg = c;
  if (!q->cfg.validators) {
    lp2p_kad_validators_default(&q->default_vs);
    q->cfg.validators = &q->default_vs;
  }
  q->type = type;
  if (key_len) {
    q->key = lp2p_mem_malloc(mem, key_len);
    if (!q->key) {
      lp2p_mem_free(mem, q);
      return LP2P_ERR_NOMEM;
    }
    memcpy(q->key, key, key_len);
  }
  q->key_len = key_len;
  lp2p_kad_key_hash(key, key_len, q->target);
  if (self && self->len <= LP2P_PEERID_MAX) {
    q->has_self = 1;
    q->self = *self;
  }
  q->key_is_peer = lp2p_peerid_from_bytes(&q->key_peer, key, key_len) == 0;
  *out = q;
  return 0;
}

void lp2p_kad_query_free(lp2p_kad_query *q) {
  if (!q)
    return;
  for (size_t i = 0; i < q->nprov; i++)
    lp2p_mem_free(q->mem, q->provs[i].addrs);
  lp2p_mem_free(q->mem, q->provs);
  lp2p_mem_free(q->mem, q->best);
  lp2p_mem_free(q->mem, q->fan);
  lp2p_mem_free(q->mem, q->peers);
  lp2p_mem_free(q->mem, q->key);
  lp2p_mem_free(q->mem, q);
}

/* Binary search by distance: the index of key if present (returns 1), else
 * where it would go (returns 0). Distinct ids have distinct hashes. */
static int locate(const lp2p_kad_query *q, const uint8_t key[32], size_t *pos) {
  size_t lo = 0, hi = q->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = lp2p_kad_dist_cmp(q->target, q->peers[mid].key, key);
    if (c == 0) {
      *pos = mid;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *pos = lo;
  return 0;
}

static qpeer *find_peer(lp2p_kad_query *q, const lp2p_peerid *id) {
  uint8_t key[32];
  size_t pos;
  lp2p_kad_key_hash(id->bytes, id->len, key);
  if (!locate(q, key, &pos) || !lp2p_peerid_equal(&q->peers[pos].id, id))
    return NULL;
  return &q->peers[pos];
}

/* Remember a peer (or lower its hop count). Returns 0 or NOMEM. */
static int add_peer(lp2p_kad_query *q, const lp2p_peerid *id, uint32_t hops) {
  if (q->has_self && lp2p_peerid_equal(id, &q->self))
    return 0;
  if (q->key_is_peer && lp2p_peerid_equal(id, &q->key_peer)) {
    if (!q->target_seen || hops < q->target_hops)
      q->target_hops = hops;
    q->target_seen = 1;
  }
  uint8_t key[32];
  size_t pos;
  lp2p_kad_key_hash(id->bytes, id->len, key);
  if (locate(q, key, &pos)) {
    if (hops < q->peers[pos].hops)
      q->peers[pos].hops = hops;
    return 0;
  }
  if (q->n == q->cfg.peers_max) {
    /* Full: the farthest peer not in flight makes room, unless the
     * newcomer is farther still. With peers_max >= 2k and alpha <= k that
     * peer is never among the k closest. */
    size_t ev = q->n;
    while (ev > 0 && q->peers[ev - 1].state == WAIT)
      ev--;
    if (ev == 0 || pos >= ev) {
      q->st.peers_dropped++;
      return 0;
    }
    ev--;
    memmove(&q->peers[ev], &q->peers[ev + 1], (q->n - ev - 1) * sizeof(qpeer));
    q->n--;
    q->st.peers_dropped++;
  } else if (q->n == q->cap) {
    size_t nc = q->cap ? q->cap * 2 : 64;
    if (nc > q->cfg.peers_max)
      nc = q->cfg.peers_max;
    qpeer *np = lp2p_mem_realloc(q->mem, q->peers, q->cap * sizeof(qpeer),
                                 nc * sizeof(qpeer));
    if (!np)
      return LP2P_ERR_NOMEM;
    q->peers = np;
    q->cap = nc;
  }
  memmove(&q->peers[pos + 1], &q->peers[pos], (q->n - pos) * sizeof(qpeer));
  qpeer *p = &q->peers[pos];
  memset(p, 0, sizeof *p);
  p->id = *id;
  memcpy(p->key, key, 32);
  p->hops = hops;
  p->state = CAND;
  q->n++;
  return 0;
}

size_t lp2p_kad_query_seed(lp2p_kad_query *q, const lp2p_peerid *ids, size_t n,
                           lp2p_tstamp now) {
  (void)now;
  size_t took = 0;
  if (!q || q->phase != PH_LOOKUP)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i].len > LP2P_PEERID_MAX || ids[i].len == 0 ||
        (q->has_self && lp2p_peerid_equal(&ids[i], &q->self)))
      continue;
    if (add_peer(q, &ids[i], 1) != 0)
      break;
    took++;
  }
  return took;
}

/* The lookup is over when the k closest peers not failed have all
 * answered (fewer than k when that is every peer seen). */
static int lookup_over(const lp2p_kad_query *q) {
  size_t live = 0;
  for (size_t i = 0; i < q->n && live < q->cfg.k; i++) {
    if (q->peers[i].state == FAIL)
      continue;
    if (q->peers[i].state != OK)
      return 0;
    live++;
  }
  return 1;
}

static int early_stop(const lp2p_kad_query *q) {
  switch (q->type) {
  case LP2P_KAD_FIND_NODE:
    return q->cfg.stop_at_target && q->target_seen;
  case LP2P_KAD_GET_VALUE:
    return q->cfg.quorum && q->st.values >= q->cfg.quorum;
  case LP2P_KAD_GET_PROVIDERS:
    return q->cfg.providers_max && q->nprov >= q->cfg.providers_max;
  default:
    return 0;
  }
}

static void start_fanout(lp2p_kad_query *q) {
  q->phase = PH_DONE;
  size_t want = 0;
  for (size_t i = 0; i < q->n && want < q->cfg.k; i++)
    if (q->peers[i].state == OK)
      want++;
  if (!want)
    return;
  q->fan = lp2p_mem_calloc(q->mem, want, sizeof(qpeer));
  if (!q->fan)
    return; /* nothing to send to; the query ends with stored 0 */
  for (size_t i = 0; i < q->n && q->nfan < want; i++)
    if (q->peers[i].state == OK) {
      q->fan[q->nfan] = q->peers[i];
      q->fan[q->nfan].state = CAND;
      q->nfan++;
    }
  q->phase = PH_FANOUT;
}

/* The earliest deadline of a request in flight, after any change. */
static void recompute_next(lp2p_kad_query *q) {
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  if (q->phase == PH_LOOKUP) {
    for (size_t i = 0; q->inflight && i < q->n; i++)
      if (q->peers[i].state == WAIT && q->peers[i].deadline < next)
        next = q->peers[i].deadline;
  } else if (q->phase == PH_FANOUT) {
    for (size_t i = 0; i < q->nfan; i++)
      if (q->fan[i].state == WAIT && q->fan[i].deadline < next)
        next = q->fan[i].deadline;
  }
  q->next_to = next;
}

/* Move on from the lookup when it is over. */
static void advance(lp2p_kad_query *q) {
  if (q->phase == PH_LOOKUP && (early_stop(q) || lookup_over(q))) {
    if (q->type == LP2P_KAD_PUT_VALUE || q->type == LP2P_KAD_ADD_PROVIDER)
      start_fanout(q);
    else
      q->phase = PH_DONE;
  }
  if (q->phase == PH_FANOUT) {
    for (size_t i = 0; i < q->nfan; i++)
      if (q->fan[i].state == CAND || q->fan[i].state == WAIT)
        return;
    q->phase = PH_DONE;
  }
}

static int poll_one(lp2p_kad_query *q, lp2p_tstamp now,
                    lp2p_kad_request *out) {
  advance(q);
  if (q->phase == PH_FANOUT) {
    for (size_t i = 0; i < q->nfan; i++)
      if (q->fan[i].state == CAND) {
        q->fan[i].state = WAIT;
        q->fan[i].deadline = now + q->cfg.request_timeout_ns;
        out->peer = q->fan[i].id;
        out->type = q->type;
        out->hops = q->fan[i].hops;
        q->st.requests++;
        return 1;
      }
    return 0;
  }
  if (q->phase != PH_LOOKUP || q->inflight >= q->cfg.alpha)
    return 0;
  size_t live = 0;
  for (size_t i = 0; i < q->n && live < q->cfg.k; i++) {
    qpeer *p = &q->peers[i];
    if (p->state == FAIL)
      continue;
    live++;
    if (p->state != CAND)
      continue;
    p->state = WAIT;
    p->deadline = now + q->cfg.request_timeout_ns;
    q->inflight++;
    q->st.requests++;
    out->peer = p->id;
    out->type = (q->type == LP2P_KAD_PUT_VALUE ||
                 q->type == LP2P_KAD_ADD_PROVIDER)
                    ? LP2P_KAD_FIND_NODE
                    : q->type;
    out->hops = p->hops;
    return 1;
  }
  return 0;
}

int lp2p_kad_query_poll_request(lp2p_kad_query *q, lp2p_tstamp now,
                                lp2p_kad_request *out) {
  if (!q || !out)
    return 0;
  int r = poll_one(q, now, out);
  recompute_next(q);
  return r;
}

static int take_value(lp2p_kad_query *q, qpeer *p, const lp2p_kad_msg *m) {
  if (!m->has_record)
    return 0;
  if (m->rec_key.n != q->key_len ||
      (q->key_len && memcmp(m->rec_key.p, q->key, q->key_len) != 0) ||
      m->rec_value.n > q->cfg.value_max ||
      lp2p_kad_validate(q->cfg.validators, q->key, q->key_len, m->rec_value.p,
                        m->rec_value.n, q->cfg.unix_ns) != 0) {
    q->st.invalid_values++;
    return 0;
  }
  q->st.values++;
  if (q->best && q->best_len == m->rec_value.n &&
      memcmp(q->best, m->rec_value.p, q->best_len) == 0) {
    p->value = VAL_BEST;
    return 0;
  }
  if (q->best) {
    lp2p_kad_bytes two[2] = {{q->best, q->best_len}, m->rec_value};
    size_t pick = 0;
    if (lp2p_kad_select(q->cfg.validators, q->key, q->key_len, two, 2,
                        &pick) != 0 ||
        pick != 1) {
      p->value = VAL_OUTDATED;
      return 0;
    }
  }
  uint8_t *copy = lp2p_mem_malloc(q->mem, m->rec_value.n ? m->rec_value.n : 1);
  if (!copy)
    return LP2P_ERR_NOMEM;
  memcpy(copy, m->rec_value.p, m->rec_value.n);
  lp2p_mem_free(q->mem, q->best);
  q->best = copy;
  q->best_len = m->rec_value.n;
  for (size_t i = 0; i < q->n; i++)
    if (q->peers[i].value == VAL_BEST)
      q->peers[i].value = VAL_OUTDATED;
  p->value = VAL_BEST;
  return 0;
}

static int take_provider(lp2p_kad_query *q, const lp2p_kad_peer *pp) {
  lp2p_peerid id;
  if (q->nprov >= q->cfg.providers_max ||
      lp2p_peerid_from_bytes(&id, pp->id.p, pp->id.n) != 0)
    return 0;
  for (size_t i = 0; i < q->nprov; i++)
    if (lp2p_peerid_equal(&q->provs[i].id, &id))
      return 0;
  if (!q->provs) {
    q->provs = lp2p_mem_calloc(q->mem, q->cfg.providers_max, sizeof(qprov));
    if (!q->provs)
      return LP2P_ERR_NOMEM;
  }
  qprov *pv = &q->provs[q->nprov];
  memset(pv, 0, sizeof *pv);
  pv->id = id;
  size_t bytes = 0, na = 0;
  for (size_t j = 0; j < pp->addrs_n && na < q->cfg.provider_addrs_max; j++)
    if (pp->addrs[j].n <= q->cfg.addr_len_max && pp->addrs[j].n <= 0xffff) {
      bytes += 2 + pp->addrs[j].n;
      na++;
    }
  if (na) {
    pv->addrs = lp2p_mem_malloc(q->mem, bytes);
    if (!pv->addrs)
      return LP2P_ERR_NOMEM;
    uint8_t *w = pv->addrs;
    for (size_t j = 0; j < pp->addrs_n && pv->naddrs < na; j++)
      if (pp->addrs[j].n <= q->cfg.addr_len_max && pp->addrs[j].n <= 0xffff) {
        w[0] = (uint8_t)(pp->addrs[j].n >> 8);
        w[1] = (uint8_t)pp->addrs[j].n;
        memcpy(w + 2, pp->addrs[j].p, pp->addrs[j].n);
        w += 2 + pp->addrs[j].n;
        pv->naddrs++;
      }
  }
  q->nprov++;
  return 0;
}

static qpeer *find_fan(lp2p_kad_query *q, const lp2p_peerid *id) {
  for (size_t i = 0; i < q->nfan; i++)
    if (lp2p_peerid_equal(&q->fan[i].id, id))
      return &q->fan[i];
  return NULL;
}

int lp2p_kad_query_on_response(lp2p_kad_query *q, const lp2p_peerid *from,
                               const lp2p_kad_msg *resp, lp2p_tstamp now) {
  (void)now;
  if (!q || !from || from->len > LP2P_PEERID_MAX)
    return LP2P_ERR_INVAL;
  if (q->phase == PH_FANOUT) {
    qpeer *f = find_fan(q, from);
    if (f && f->state == WAIT) {
      f->state = OK;
      q->st.responses++;
      q->st.stored++;
    }
    advance(q);
    recompute_next(q);
    return 0;
  }
  if (q->phase != PH_LOOKUP)
    return 0;
  qpeer *p = find_peer(q, from);
  if (!p || p->state != WAIT)
    return 0; /* unsolicited or late: ignored */
  p->state = OK;
  q->inflight--;
  /* (recomputed at the end: the peers move as new ones come in) */
  q->st.responses++;
  uint32_t hops = p->hops;
  int rc = 0;
  if (resp) {
    if (q->type == LP2P_KAD_GET_VALUE)
      rc = take_value(q, p, resp); /* before the peers move: p stays valid */
    for (size_t i = 0; rc == 0 && i < resp->closer_n; i++) {
      lp2p_peerid id;
      if (lp2p_peerid_from_bytes(&id, resp->closer[i].id.p,
                                 resp->closer[i].id.n) == 0)
        rc = add_peer(q, &id, hops + 1);
    }
    if (q->type == LP2P_KAD_GET_PROVIDERS)
      for (size_t i = 0; rc == 0 && i < resp->providers_n; i++)
        rc = take_provider(q, &resp->providers[i]);
  }
  advance(q);
  recompute_next(q);
  return rc;
}

void lp2p_kad_query_on_failure(lp2p_kad_query *q, const lp2p_peerid *from,
                               lp2p_tstamp now) {
  (void)now;
  if (!q || !from || from->len > LP2P_PEERID_MAX)
    return;
  if (q->phase == PH_FANOUT) {
    qpeer *f = find_fan(q, from);
    if (f && f->state == WAIT) {
      f->state = FAIL;
      q->st.failures++;
    }
  } else if (q->phase == PH_LOOKUP) {
    qpeer *p = find_peer(q, from);
    if (p && p->state == WAIT) {
      p->state = FAIL;
      q->inflight--;
      q->st.failures++;
    }
  }
  advance(q);
  recompute_next(q);
}

lp2p_tstamp lp2p_kad_query_next_timeout(const lp2p_kad_query *q) {
  return q ? q->next_to : LP2P_TSTAMP_NONE;
}

void lp2p_kad_query_handle_timeout(lp2p_kad_query *q, lp2p_tstamp now) {
  if (q->phase == PH_LOOKUP) {
    for (size_t i = 0; i < q->n; i++)
      if (q->peers[i].state == WAIT && q->peers[i].deadline <= now) {
        q->peers[i].state = FAIL;
        q->inflight--;
        q->st.failures++;
      }
  } else if (q->phase == PH_FANOUT) {
    for (size_t i = 0; i < q->nfan; i++)
      if (q->fan[i].state == WAIT && q->fan[i].deadline <= now) {
        q->fan[i].state = FAIL;
        q->st.failures++;
      }
  }
  advance(q);
  recompute_next(q);
}

int lp2p_kad_query_done(const lp2p_kad_query *q) {
  /* advance() runs on every mutating call; a query seeded with nobody is
   * over as well. */
  if (q->phase == PH_DONE)
    return 1;
  return q->phase == PH_LOOKUP && q->n == 0;
}

void lp2p_kad_query_stats_get(const lp2p_kad_query *q,
                              lp2p_kad_query_stats *st) {
  *st = q->st;
  st->peers_seen = q->n;
}

int lp2p_kad_query_result(const lp2p_kad_query *q, size_t i, lp2p_peerid *peer,
                          uint32_t *hops) {
  size_t seen = 0;
  for (size_t j = 0; j < q->n && seen < q->cfg.k; j++) {
    if (q->peers[j].state != OK)
      continue;
    if (seen++ == i) {
      if (peer)
        *peer = q->peers[j].id;
      if (hops)
        *hops = q->peers[j].hops;
      return 1;
    }
  }
  return 0;
}

int lp2p_kad_query_target(const lp2p_kad_query *q, uint32_t *hops) {
  if (!q->target_seen)
    return 0;
  if (hops)
    *hops = q->target_hops;
  return 1;
}

const uint8_t *lp2p_kad_query_value(const lp2p_kad_query *q, size_t *len) {
  if (len)
    *len = q->best_len;
  return q->best;
}

int lp2p_kad_query_outdated(const lp2p_kad_query *q, size_t i,
                            lp2p_peerid *peer) {
  if (!q->best)
    return 0;
  size_t live = 0, hit = 0;
  for (size_t j = 0; j < q->n && live < q->cfg.k; j++) {
    if (q->peers[j].state != OK)
      continue;
    live++;
    if (q->peers[j].value == VAL_BEST)
      continue;
    if (hit++ == i) {
      if (peer)
        *peer = q->peers[j].id;
      return 1;
    }
  }
  return 0;
}

int lp2p_kad_query_provider(const lp2p_kad_query *q, size_t i,
                            lp2p_peerid *peer, size_t *naddrs) {
  if (i >= q->nprov)
    return 0;
  if (peer)
    *peer = q->provs[i].id;
  if (naddrs)
    *naddrs = q->provs[i].naddrs;
  return 1;
}

const uint8_t *lp2p_kad_query_provider_addr(const lp2p_kad_query *q, size_t i,
                                            size_t j, size_t *len) {
  if (i >= q->nprov || j >= q->provs[i].naddrs)
    return NULL;
  const uint8_t *r = q->provs[i].addrs;
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
