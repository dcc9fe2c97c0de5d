/* The AutoNAT v2 client's bookkeeping: candidate addresses, which server
 * to ask about which, and the verdict rule. Pure.
 *
 * Confidence rule (the spec, "Implementation Suggestions", suggests more
 * than 3 servers either way and leaves the choice to implementations):
 *   - an address we bound (a listen address) is REACHABLE after
 *     success_listen_min (1) verified dial-backs: a dial-back that carried
 *     our nonce to a port we bound is proof, and js-libp2p confirms a
 *     listen address on one as well;
 *   - any other candidate (observed through identify: maybe a NAT mapping
 *     only some servers can use) needs success_other_min (3) distinct
 *     servers;
 *   - it is UNREACHABLE after failure_min (3) distinct servers reported
 *     E_DIAL_ERROR and failures outnumber successes;
 *   - E_DIAL_BACK_ERROR, refusals and protocol errors count for nothing
 *     (js-libp2p ignores E_DIAL_BACK_ERROR too).
 * A server counts once per address per round. A round ends with a verdict
 * (re-checked after recheck_reachable_ns / recheck_unreachable_ns; the old
 * verdict stands until the new round decides) or, without one, after
 * retry_ns, when servers already asked may be asked again. */
#include <string.h>

#include "lp2p/autonat.h"

#define SERVERS_CAP 16u

typedef struct bentry {
  lp2p_maddr addr;
  uint8_t listen;
  uint8_t marked;
  uint8_t verdict; /* lp2p_autonat_reach */
  uint8_t in_flight;
  uint32_t successes, failures;
  uint32_t nservers;
  uint64_t servers[SERVERS_CAP]; /* asked in this round */
  lp2p_tstamp round_start;
  lp2p_tstamp due;      /* next round (NONE: in a round now) */
  lp2p_tstamp asked_at; /* in_flight since */
} bentry;

struct lp2p_autonat_book {
  const lp2p_mem *mem;
  lp2p_autonat_client_config cfg;
  bentry *e;
  uint32_t n;
};

void lp2p_autonat_client_config_default(lp2p_autonat_client_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->addrs_max = 32;
  cfg->success_listen_min = 1;
  cfg->success_other_min = 3;
  cfg->failure_min = 3;
  cfg->data_budget = 100000;
  cfg->recheck_reachable_ns = 3600 * LP2P_NS_PER_S;
  cfg->recheck_unreachable_ns = 600 * LP2P_NS_PER_S;
  cfg->retry_ns = 60 * LP2P_NS_PER_S;
  cfg->request_timeout_ns = 30 * LP2P_NS_PER_S;
  cfg->servers_per_addr_max = 8;
}

int lp2p_autonat_book_new(lp2p_autonat_book **out,
                          const lp2p_autonat_client_config *cfg,
                          const lp2p_mem *mem) {
  if (!out || !cfg || cfg->addrs_max == 0)
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_autonat_book *b = lp2p_mem_calloc(mem, 1, sizeof *b);
  if (!b)
    return LP2P_ERR_NOMEM;
  b->e = lp2p_mem_calloc(mem, cfg->addrs_max, sizeof *b->e);
  if (!b->e) {
    lp2p_mem_free(mem, b);
    return LP2P_ERR_NOMEM;
  }
  b->mem = mem;
  b->cfg = *cfg;
  if (b->cfg.servers_per_addr_max == 0 ||
      b->cfg.servers_per_addr_max > SERVERS_CAP)
    b->cfg.servers_per_addr_max = SERVERS_CAP;
  *out = b;
  return 0;
}

void lp2p_autonat_book_free(lp2p_autonat_book *b) {
  if (!b)
    return;
  lp2p_mem_free(b->mem, b->e);
  lp2p_mem_free(b->mem, b);
}

static bentry *find(const lp2p_autonat_book *b, const lp2p_maddr *a) {
  for (uint32_t i = 0; i < b->n; i++)
    if (lp2p_maddr_equal(&b->e[i].addr, a))
      return &b->e[i];
  return NULL;
}

int lp2p_autonat_book_add(lp2p_autonat_book *b, const lp2p_maddr *a, int listen,
                          lp2p_tstamp now) {
  if (!b || !a || a->len == 0)
    return LP2P_ERR_INVAL;
  bentry *e = find(b, a);
  if (e) {
    e->marked = 0;
    if (listen)
      e->listen = 1;
    return 0;
  }
  if (b->n == b->cfg.addrs_max)
    return LP2P_ERR_LIMIT;
  e = &b->e[b->n++];
  memset(e, 0, sizeof *e);
  e->addr = *a;
  e->listen = listen ? 1 : 0;
  e->round_start = now;
  e->due = now;
  return 0;
}

void lp2p_autonat_book_mark(lp2p_autonat_book *b) {
  for (uint32_t i = 0; b && i < b->n; i++)
    b->e[i].marked = 1;
}

size_t lp2p_autonat_book_sweep(lp2p_autonat_book *b) {
  size_t dropped = 0;
  for (uint32_t i = 0; b && i < b->n;) {
    if (b->e[i].marked) {
      b->e[i] = b->e[--b->n];
      dropped++;
    } else {
      i++;
    }
  }
  return dropped;
}

static int asked(const bentry *e, uint64_t server) {
  for (uint32_t i = 0; i < e->nservers; i++)
    if (e->servers[i] == server)
      return 1;
  return 0;
}

static void new_round(bentry *e, lp2p_tstamp now) {
  e->successes = e->failures = 0;
  e->nservers = 0;
  e->round_start = now;
}

/* Bring an entry's round up to date: a due recheck starts a new round;
 * a round without verdict re-opens to every server after retry_ns. */
static void refresh(const lp2p_autonat_book *b, bentry *e, lp2p_tstamp now) {
  if (e->in_flight && now - e->asked_at >= b->cfg.request_timeout_ns)
    e->in_flight = 0; /* the caller lost it: ask again */
  if (e->due != LP2P_TSTAMP_NONE && now >= e->due) {
    new_round(e, now);
    e->due = LP2P_TSTAMP_NONE;
  } else if (e->due == LP2P_TSTAMP_NONE && now >= e->round_start &&
             now - e->round_start >= b->cfg.retry_ns) {
    e->nservers = 0; /* counts stay; servers may answer again */
    e->round_start = now;
  }
}

int lp2p_autonat_book_pick(lp2p_autonat_book *b, uint64_t server,
                           lp2p_tstamp now, lp2p_maddr *out) {
  if (!b || !out)
    return 0;
  /* Listen addresses first, then the others (js-libp2p de-prioritises
   * observed addresses). */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < b->n; i++) {
      bentry *e = &b->e[i];
      if ((pass == 0) != (e->listen == 1))
        continue;
      refresh(b, e, now);
      if (e->due != LP2P_TSTAMP_NONE || e->in_flight || asked(e, server) ||
          e->nservers >= b->cfg.servers_per_addr_max)
        continue;
      e->in_flight = 1;
      e->asked_at = now;
      *out = e->addr;
      return 1;
    }
  return 0;
}

int lp2p_autonat_book_result(lp2p_autonat_book *b, const lp2p_maddr *a,
                             uint64_t server, lp2p_autonat_reach outcome,
                             lp2p_tstamp now) {
  bentry *e = b && a ? find(b, a) : NULL;
  if (!e)
    return 0;
  refresh(b, e, now);
  e->in_flight = 0;
  if (e->due != LP2P_TSTAMP_NONE || asked(e, server))
    return 0; /* no round open, or this server already counted */
  if (e->nservers < SERVERS_CAP)
    e->servers[e->nservers++] = server;
  if (outcome == LP2P_AUTONAT_REACHABLE)
    e->successes++;
  else if (outcome == LP2P_AUTONAT_UNREACHABLE)
    e->failures++;
  uint8_t v = LP2P_AUTONAT_UNKNOWN;
  uint32_t need =
      e->listen ? b->cfg.success_listen_min : b->cfg.success_other_min;
  if (e->successes >= need && e->successes > e->failures)
    v = LP2P_AUTONAT_REACHABLE;
  else if (e->failures >= b->cfg.failure_min && e->failures > e->successes)
    v = LP2P_AUTONAT_UNREACHABLE;
  if (v == LP2P_AUTONAT_UNKNOWN)
    return 0;
  e->due = now + (v == LP2P_AUTONAT_REACHABLE ? b->cfg.recheck_reachable_ns
                                              : b->cfg.recheck_unreachable_ns);
  if (e->due < now)
    e->due = LP2P_TSTAMP_NONE - 1;
  int changed = e->verdict != v;
  e->verdict = v;
  return changed ? 1 : 2;
}

int lp2p_autonat_book_recheck(lp2p_autonat_book *b, const lp2p_maddr *a,
                              lp2p_tstamp now) {
  bentry *e = b && a ? find(b, a) : NULL;
  if (!e || e->due == LP2P_TSTAMP_NONE || e->due <= now)
    return 0; /* unknown, in a round already, or due anyway */
  e->due = now;
  return 1;
}

lp2p_autonat_reach lp2p_autonat_book_verdict(const lp2p_autonat_book *b,
                                             const lp2p_maddr *a,
                                             uint32_t *successes,
                                             uint32_t *failures) {
  const bentry *e = b && a ? find(b, a) : NULL;
  if (successes)
    *successes = e ? e->successes : 0;
  if (failures)
    *failures = e ? e->failures : 0;
  return e ? (lp2p_autonat_reach)e->verdict : LP2P_AUTONAT_UNKNOWN;
}

lp2p_autonat_overall lp2p_autonat_book_overall(const lp2p_autonat_book *b) {
  int any = 0;
  for (uint32_t i = 0; b && i < b->n; i++) {
    if (b->e[i].verdict == LP2P_AUTONAT_REACHABLE)
      return LP2P_REACHABILITY_PUBLIC;
    if (b->e[i].verdict == LP2P_AUTONAT_UNREACHABLE)
      any = 1;
  }
  return any ? LP2P_REACHABILITY_PRIVATE : LP2P_REACHABILITY_UNKNOWN;
}

lp2p_tstamp lp2p_autonat_book_next_due(const lp2p_autonat_book *b) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (uint32_t i = 0; b && i < b->n; i++) {
    const bentry *e = &b->e[i];
    lp2p_tstamp d = e->due;
    if (d == LP2P_TSTAMP_NONE) /* in a round: re-opens after retry_ns */
      d = e->round_start + b->cfg.retry_ns;
    if (e->in_flight)
      d = e->asked_at + b->cfg.request_timeout_ns;
    if (d < t)
      t = d;
  }
  return t;
}

size_t lp2p_autonat_book_count(const lp2p_autonat_book *b) {
  return b ? b->n : 0;
}
