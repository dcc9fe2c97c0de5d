/* AutoNAT v2 server rate limits. The spec names rate limiting only as a
 * reason for E_REQUEST_REJECTED; the shape and defaults are go-libp2p's
 * (p2p/protocol/autonatv2/server.go rateLimiter): requests per minute in
 * total, per peer, and of those needing dial data, over a sliding minute,
 * and a cap on requests in flight per peer. We add a cap in flight
 * overall and a bounded peer table (a full table refuses newcomers
 * rather than growing). Pure; times come from the caller. */
#include <string.h>

#include "lp2p/autonat.h"

#define MINUTE_NS (60 * LP2P_NS_PER_S)

typedef struct window {
  lp2p_tstamp *t; /* request times, oldest first */
  uint32_t n, cap;
} window;

typedef struct lpeer {
  uint64_t fp;
  uint32_t in_flight;
  window w;
} lpeer;

struct lp2p_autonat_limiter {
  const lp2p_mem *mem;
  lp2p_autonat_server_config cfg;
  window global, data;
  lpeer *peers;
  lp2p_tstamp *peer_times;
  uint32_t npeers;
  uint32_t in_flight;
};

static void prune(window *w, lp2p_tstamp now) {
  uint32_t k = 0;
  while (k < w->n && now >= w->t[k] && now - w->t[k] >= MINUTE_NS)
    k++;
  if (k) {
    memmove(w->t, w->t + k, (w->n - k) * sizeof *w->t);
    w->n -= k;
  }
}

static int room(window *w, lp2p_tstamp now) {
  prune(w, now);
  return w->n < w->cap;
}

static void push(window *w, lp2p_tstamp now) {
  if (w->n < w->cap)
    w->t[w->n++] = now;
}

int lp2p_autonat_limiter_new(lp2p_autonat_limiter **out,
                             const lp2p_autonat_server_config *cfg,
                             const lp2p_mem *mem) {
  if (!out || !cfg || cfg->peers_max == 0)
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_autonat_limiter *l = lp2p_mem_calloc(mem, 1, sizeof *l);
  if (!l)
    return LP2P_ERR_NOMEM;
  l->mem = mem;
  l->cfg = *cfg;
  l->global.cap = cfg->requests_per_min;
  l->data.cap = cfg->dial_data_per_min;
  size_t pp = cfg->requests_per_peer_per_min;
  l->global.t = lp2p_mem_calloc(mem, l->global.cap + 1u, sizeof(lp2p_tstamp));
  l->data.t = lp2p_mem_calloc(mem, l->data.cap + 1u, sizeof(lp2p_tstamp));
  l->peers = lp2p_mem_calloc(mem, cfg->peers_max, sizeof *l->peers);
  l->peer_times = lp2p_mem_calloc(mem, (size_t)cfg->peers_max * (pp + 1),
                                  sizeof(lp2p_tstamp));
  if (!l->global.t || !l->data.t || !l->peers || !l->peer_times) {
    lp2p_autonat_limiter_free(l);
    return LP2P_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < cfg->peers_max; i++) {
    l->peers[i].w.t = l->peer_times + (size_t)i * (pp + 1);
    l->peers[i].w.cap = (uint32_t)pp;
  }
  *out = l;
  return 0;
}

void lp2p_autonat_limiter_free(lp2p_autonat_limiter *l) {
  if (!l)
    return;
  lp2p_mem_free(l->mem, l->global.t);
  lp2p_mem_free(l->mem, l->data.t);
  lp2p_mem_free(l->mem, l->peers);
  lp2p_mem_free(l->mem, l->peer_times);
  lp2p_mem_free(l->mem, l);
}

static lpeer *find(lp2p_autonat_limiter *l, uint64_t fp) {
  for (uint32_t i = 0; i < l->npeers; i++)
    if (l->peers[i].fp == fp)
      return &l->peers[i];
  return NULL;
}

/* A slot for a new peer: a free one, or one with nothing in flight and no
 * request left in its window. NULL when every tracked peer is active. */
static lpeer *slot(lp2p_autonat_limiter *l, uint64_t fp, lp2p_tstamp now) {
  lpeer *p = NULL;
  if (l->npeers < l->cfg.peers_max) {
    p = &l->peers[l->npeers++];
  } else {
    for (uint32_t i = 0; i < l->npeers && !p; i++) {
      prune(&l->peers[i].w, now);
      if (l->peers[i].in_flight == 0 && l->peers[i].w.n == 0)
        p = &l->peers[i];
    }
    if (!p)
      return NULL;
  }
  p->fp = fp;
  p->in_flight = 0;
  p->w.n = 0;
  return p;
}

int lp2p_autonat_limiter_accept(lp2p_autonat_limiter *l, uint64_t peer,
                                lp2p_tstamp now) {
  if (!l)
    return 0;
  if (l->in_flight >= l->cfg.concurrent_max || !room(&l->global, now))
    return 0;
  lpeer *p = find(l, peer);
  if (!p && !(p = slot(l, peer, now)))
    return 0;
  if (p->in_flight >= l->cfg.concurrent_per_peer_max || !room(&p->w, now))
    return 0;
  push(&l->global, now);
  push(&p->w, now);
  p->in_flight++;
  l->in_flight++;
  return 1;
}

int lp2p_autonat_limiter_dial_data(lp2p_autonat_limiter *l, lp2p_tstamp now) {
  if (!l || !room(&l->data, now))
    return 0;
  push(&l->data, now);
  return 1;
}

void lp2p_autonat_limiter_done(lp2p_autonat_limiter *l, uint64_t peer) {
  if (!l)
    return;
  lpeer *p = find(l, peer);
  if (p && p->in_flight) {
    p->in_flight--;
    if (l->in_flight)
      l->in_flight--;
  }
}

uint32_t lp2p_autonat_limiter_in_flight(const lp2p_autonat_limiter *l) {
  return l ? l->in_flight : 0;
}
