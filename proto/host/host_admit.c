/* Admission of new connections and trimming of established ones (issue 9;
 * README "Limits").
 *
 * Pending connections. Inbound and outbound upgrades have separate budgets
 * (conns_pending_max, conns_outbound_pending_max), so a flood of inbound
 * sockets never stops our own dials. An inbound source (an IPv4 /32 or an
 * IPv6 /64) may hold at most conns_pending_per_ip_max upgrading
 * connections and conns_per_ip_max established ones, as go-libp2p's
 * resource manager limits connections per IP (conn_limiter.go: 8 per
 * /32, loopback exempt). A connection that sends nothing within
 * progress_timeout_ns is dropped long before the handshake timeout, and
 * when the inbound pending table is full the newcomer is admitted by
 * evicting the stalest pending connection that has sent no byte at all:
 * an idle socket costs the attacker nothing, so it must not be able to
 * hold a slot against a peer that talks. Only when every pending
 * connection has sent bytes is the newcomer refused.
 *
 * Trimming, as go-libp2p's connmgr.BasicConnMgr: above the high water
 * mark the least useful connections are closed down to the low water
 * mark; connections younger than the grace period and protected ones are
 * skipped. Protected: a stream of an application protocol or a carried
 * (relayed) connection inside it, or the HC_F_PROTECTED flag (a hook for
 * services such as relay reservations; go-libp2p's Protect). Least useful
 * first: connections without any stream, longest idle first, then
 * connections with only service streams (identify, ping), oldest first.
 * go-libp2p orders peers by tag value; we have protection tags only
 * (lp2p_host_peer_protect, go's ConnManager.Protect): every connection of
 * a peer that holds one is protected.
 *
 * Displacement (not in go-libp2p): at conns_max, a newcomer that finished
 * its upgrade may displace the least useful connection out of its grace
 * period, or else (a flood younger than the grace period) one of the
 * source that holds the most connections when that source holds at least
 * two more than the newcomer's. go-libp2p refuses at its resource
 * manager's limit instead; then 1,024 fresh connections from 128
 * identities keep every honest peer out until the grace period ends. */
#include <stdlib.h>

#include "proto/common/keyed_hash.h"
#include "proto/host/host_internal.h"

/* ---- sources ------------------------------------------------------------- */

/* The prefix a per-IP limit counts: family byte + 4 (IPv4 /32; an
 * IPv4-mapped IPv6 address counts as its IPv4) or 8 (IPv6 /64, one end
 * site's LAN) address bytes. n = 0: no source (a carried connection) or
 * exempt (loopback, as in go-libp2p). */
typedef struct srckey {
  uint8_t n;
  uint8_t b[9];
} srckey;

static void src_key(const lp2p_sockaddr *sa, srckey *k) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 1};
  k->n = 0;
  const uint8_t *v4 = NULL;
  if (sa->family == 4)
    v4 = sa->ip;
  else if (sa->family == 6 && memcmp(sa->ip, mapped, 12) == 0)
    v4 = sa->ip + 12;
  if (v4) {
    if (v4[0] == 127)
      return;
    k->b[0] = 4;
    memcpy(k->b + 1, v4, 4);
    k->n = 5;
  } else if (sa->family == 6) {
    if (memcmp(sa->ip, loop6, 16) == 0)
      return;
    k->b[0] = 6;
    memcpy(k->b + 1, sa->ip, 8);
    k->n = 9;
  }
}

static int src_eq(const srckey *a, const srckey *b) {
  return a->n && a->n == b->n && memcmp(a->b, b->b, a->n) == 0;
}

/* ---- per-source counts ------------------------------------------------------ */

/* Inbound socket connections from one source: upgrading and established
 * (OPEN or CLOSING). An open-addressing table (linear probing, at most
 * half full) keyed by SipHash with the host's key, as the peerstore: the
 * remote picks its address. An entry lives while it counts a connection,
 * so the table holds at most one entry per inbound connection. */
struct hsrc {
  srckey k; /* k.n == 0: free slot */
  uint32_t pending, open;
};

static uint32_t src_hash(const lp2p_host *h, const srckey *k) {
  return (uint32_t)lp2p_keyed_hash(h->hash_key, k->b, k->n);
}

/* k's slot, or the free slot where it would go (srcs_cap > 0). */
static uint32_t src_slot(const lp2p_host *h, const srckey *k) {
  uint32_t m = h->srcs_cap - 1, i = src_hash(h, k) & m;
  while (h->srcs[i].k.n && !src_eq(&h->srcs[i].k, k))
    i = (i + 1) & m;
  return i;
}

static struct hsrc *src_find(const lp2p_host *h, const srckey *k) {
  if (!k->n || !h->srcs_cap)
    return NULL;
  struct hsrc *e = &h->srcs[src_slot(h, k)];
  return e->k.n ? e : NULL;
}

static int src_grow(lp2p_host *h) {
  uint32_t nc = h->srcs_cap ? h->srcs_cap * 2 : 16;
  struct hsrc *old = h->srcs, *t = lp2p_mem_calloc(h->mem, nc, sizeof *t);
  if (!t)
    return LP2P_ERR_NOMEM;
  uint32_t oc = h->srcs_cap;
  h->srcs = t;
  h->srcs_cap = nc;
  for (uint32_t i = 0; i < oc; i++)
    if (old[i].k.n)
      h->srcs[src_slot(h, &old[i].k)] = old[i];
  lp2p_mem_free(h->mem, old);
  return 0;
}

/* Empty slot i, moving back the entries of its probe run that may use it
 * (deletion without tombstones). */
static void src_del(lp2p_host *h, uint32_t i) {
  uint32_t m = h->srcs_cap - 1, j = i;
  for (;;) {
    j = (j + 1) & m;
    if (!h->srcs[j].k.n)
      break;
    uint32_t home = src_hash(h, &h->srcs[j].k) & m;
    if (((j - home) & m) >= ((j - i) & m)) { /* i is on j's probe path */
      h->srcs[i] = h->srcs[j];
      i = j;
    }
  }
  h->srcs[i].k.n = 0;
  h->nsrcs--;
}

static void src_count(const lp2p_host *h, const srckey *k, uint32_t *pending,
                      uint32_t *open) {
  const struct hsrc *e = src_find(h, k);
  *pending = e ? e->pending : 0;
  *open = e ? e->open : 0;
}

/* The source c counts under (n = 0: none). */
static void conn_src(const hconn *c, srckey *k) {
  k->n = 0;
  if (c->dir == LP2P_DIR_INBOUND && !c->car)
    src_key(&c->remote, k);
}

int host_src_enter(lp2p_host *h, hconn *c) {
  srckey k;
  if (c->src_counted)
    return 0;
  conn_src(c, &k);
  if (!k.n)
    return 0;
  struct hsrc *e = src_find(h, &k);
  if (!e) {
    if ((h->nsrcs + 1) * 2 > h->srcs_cap && src_grow(h) != 0)
      return LP2P_ERR_NOMEM;
    e = &h->srcs[src_slot(h, &k)];
    e->k = k;
    e->pending = e->open = 0;
    h->nsrcs++;
  }
  e->pending++;
  c->src_counted = HC_SRC_PENDING;
  return 0;
}

void host_src_open(lp2p_host *h, hconn *c) {
  srckey k;
  if (c->src_counted != HC_SRC_PENDING)
    return;
  conn_src(c, &k);
  struct hsrc *e = src_find(h, &k);
  if (!e)
    return; /* cannot happen: counted connections keep their entry */
  e->pending--;
  e->open++;
  c->src_counted = HC_SRC_OPEN;
}

void host_src_leave(lp2p_host *h, hconn *c) {
  srckey k;
  if (!c->src_counted)
    return;
  conn_src(c, &k);
  struct hsrc *e = src_find(h, &k);
  if (e) {
    if (c->src_counted == HC_SRC_PENDING)
      e->pending--;
    else
      e->open--;
    if (!e->pending && !e->open)
      src_del(h, (uint32_t)(e - h->srcs));
  }
  c->src_counted = 0;
}

void host_src_counts(const lp2p_host *h, const lp2p_sockaddr *remote,
                     uint32_t *pending, uint32_t *open) {
  srckey k;
  src_key(remote, &k);
  src_count(h, &k, pending, open);
}

void host_srcs_free(lp2p_host *h) {
  lp2p_mem_free(h->mem, h->srcs);
  h->srcs = NULL;
  h->nsrcs = h->srcs_cap = 0;
}

/* ---- pending counters ----------------------------------------------------- */

void host_pending_add(lp2p_host *h, const hconn *c) {
  h->nconns_pending++;
  if (c->dir == LP2P_DIR_INBOUND)
    h->npending_in++;
}

void host_pending_del(lp2p_host *h, const hconn *c) {
  h->nconns_pending--;
  if (c->dir == LP2P_DIR_INBOUND)
    h->npending_in--;
}

lp2p_tstamp host_progress_deadline(const lp2p_host *h, const hconn *c) {
  if (c->dir != LP2P_DIR_INBOUND || c->state != HC_UPGRADING ||
      (c->flags & HC_F_PROGRESS) || !h->cfg.progress_timeout_ns)
    return LP2P_TSTAMP_NONE;
  return host_add_ns(c->opened, h->cfg.progress_timeout_ns);
}

void host_conn_protect(lp2p_host *h, hconn *c, int on) {
  (void)h;
  if (on)
    c->flags |= HC_F_PROTECTED;
  else
    c->flags &= (uint16_t)~HC_F_PROTECTED;
}

/* ---- usefulness ------------------------------------------------------------- */

/* An application stream (negotiated: an inbound one has a protocol only
 * once it is negotiated) or a relayed connection inside it. */
static int conn_protected(const hconn *c) {
  if ((c->flags & HC_F_PROTECTED) || (c->peer && c->peer->protect))
    return 1;
  for (const hstream *s = c->streams; s; s = s->next)
    if (s->owner == HOWNER_CARRIER ||
        (s->owner == HOWNER_APP && s->proto != UINT16_MAX))
      return 1;
  return 0;
}

static int in_grace(const lp2p_host *h, const hconn *c, lp2p_tstamp now) {
  return now < host_add_ns(c->opened, h->cfg.conns_grace_ns) &&
         h->cfg.conns_grace_ns;
}

/* 1 when a is less useful than b (closed first). */
static int less_useful(const hconn *a, const hconn *b) {
  int ai = a->idle_since != LP2P_TSTAMP_NONE;
  int bi = b->idle_since != LP2P_TSTAMP_NONE;
  if (ai != bi)
    return ai;
  lp2p_tstamp ta = ai ? a->idle_since : a->opened;
  lp2p_tstamp tb = bi ? b->idle_since : b->opened;
  if (ta != tb)
    return ta < tb;
  return a->id < b->id;
}

/* The least useful trimmable OPEN connection (NULL: none). */
static hconn *trim_pick(lp2p_host *h, lp2p_tstamp now) {
  hconn *best = NULL;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    if (c->state == HC_OPEN && !in_grace(h, c, now) && !conn_protected(c) &&
        (!best || less_useful(c, best)))
      best = c;
  return best;
}

static int by_usefulness(const void *a, const void *b) {
  const hconn *x = *(hconn *const *)a, *y = *(hconn *const *)b;
  return less_useful(x, y) ? -1 : less_useful(y, x) ? 1 : 0;
}

/* The ids of the `need` least useful trimmable OPEN connections, least
 * useful first, in *out (the caller frees it); returns how many. These
 * are the connections trim_pick would return one after another (closing
 * one changes no other's usefulness), found in one pass and a sort
 * instead of a scan per victim: a host far over its high water mark
 * (a bootstrap node that thousands join) trims in O(n log n). *out stays
 * NULL when the list cannot be allocated. */
static uint32_t trim_victims(lp2p_host *h, lp2p_tstamp now, uint32_t need,
                             uint64_t **out) {
  *out = NULL;
  uint32_t cap = h->nconns_open;
  hconn **c = cap ? lp2p_mem_malloc(h->mem, cap * sizeof *c) : NULL;
  uint64_t *ids = c ? lp2p_mem_malloc(h->mem, cap * sizeof *ids) : NULL;
  if (!ids) {
    lp2p_mem_free(h->mem, c);
    return 0;
  }
  uint32_t n = 0, pos = 0;
  hconn *x;
  while ((x = hid_next(&h->conns, &pos)) != NULL && n < cap)
    if (x->state == HC_OPEN && !in_grace(h, x, now) && !conn_protected(x))
      c[n++] = x;
  qsort(c, n, sizeof *c, by_usefulness);
  if (n > need)
    n = need;
  for (uint32_t i = 0; i < n; i++)
    ids[i] = c[i]->id;
  lp2p_mem_free(h->mem, c);
  *out = ids;
  return n;
}

/* At conns_max: the connection a newcomer from `k` may displace. */
static hconn *displace_pick(lp2p_host *h, const srckey *k, lp2p_tstamp now) {
  hconn *v = trim_pick(h, now);
  if (v)
    return v;
  uint32_t pending, mine;
  src_count(h, k, &pending, &mine);
  /* Nothing changed since the last full scan found no source big enough:
   * answer at once, so a flood of accepts at the limit costs O(n) each
   * (the trim_pick above), not O(n^2). The OPEN set is what the cache
   * follows; a stream that opens or closes meanwhile (protection) is seen
   * at the next change of the set. */
  if (h->displace_gen == h->open_gen && h->displace_max < mine + 2)
    return NULL;
  uint32_t most = 0;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL) {
    if (c->state != HC_OPEN || c->dir != LP2P_DIR_INBOUND || c->car ||
        conn_protected(c))
      continue;
    srckey ck;
    src_key(&c->remote, &ck);
    uint32_t theirs;
    src_count(h, &ck, &pending, &theirs);
    if (theirs > most || (theirs == most && v && less_useful(c, v))) {
      most = theirs;
      v = c;
    }
  }
  h->displace_gen = h->open_gen;
  h->displace_max = most;
  return most >= mine + 2 ? v : NULL;
}

static void displace(lp2p_host *h, hconn *v, lp2p_tstamp now) {
  h->stats.conns_displaced++;
  h->stats.conns_trimmed++;
  host_logf(h, LP2P_LOG_INFO,
            "host conn=%U peer=%P ip=%A closed: displaced at conns_max %u",
            v->id, v->peer ? &v->peer->id : NULL, &v->remote,
            h->cfg.conns_max);
  host_conn_close(h, v, 0, now);
}

/* ---- admission ---------------------------------------------------------------- */

static int refuse(lp2p_host *h, uint64_t *counter, const lp2p_sockaddr *ip,
                  const lp2p_peerid *peer, const char *why) {
  (*counter)++;
  h->stats.inbound_refused++;
  host_logf(h, LP2P_LOG_INFO, "host inbound peer=%P ip=%A refused: %s", peer,
            ip, why);
  return LP2P_ERR_LIMIT;
}

/* The stalest pending inbound connection that has sent nothing. */
static hconn *stale_pick(lp2p_host *h) {
  hconn *best = NULL;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    if (c->dir == LP2P_DIR_INBOUND && c->state == HC_UPGRADING &&
        !(c->flags & (HC_F_PROGRESS | HC_F_PROTECTED)) &&
        (!best || c->opened < best->opened ||
         (c->opened == best->opened && c->id < best->id)))
      best = c;
  return best;
}

int host_admit_inbound(lp2p_host *h, const lp2p_sockaddr *remote,
                       lp2p_tstamp now) {
  srckey k;
  src_key(remote, &k);
  uint32_t pending, open;
  src_count(h, &k, &pending, &open);
  if (k.n && open >= h->cfg.conns_per_ip_max)
    return refuse(h, &h->stats.inbound_refused_ip_conns, remote, NULL,
                  "conns_per_ip_max");
  if (k.n && pending >= h->cfg.conns_pending_per_ip_max)
    return refuse(h, &h->stats.inbound_refused_ip, remote, NULL,
                  "conns_pending_per_ip_max");
  hconn *stale = NULL;
  if (h->npending_in >= h->cfg.conns_pending_max) {
    stale = stale_pick(h);
    if (!stale)
      return refuse(h, &h->stats.inbound_refused_pending, remote, NULL,
                    "conns_pending_max, every pending peer is talking");
  }
  uint32_t taken = h->nconns_open + h->npending_in - (stale ? 1u : 0u);
  if (taken >= h->cfg.conns_max && !displace_pick(h, &k, now))
    return refuse(h, &h->stats.inbound_refused_conns, remote, NULL,
                  "conns_max");
  if (stale) {
    h->stats.inbound_evicted_stale++;
    host_logf(h, LP2P_LOG_INFO,
              "host conn=%U ip=%A evicted: silent while pending (for %A)",
              stale->id, &stale->remote, remote);
    host_conn_abort(h, stale, LP2P_ERR_LIMIT, 0, now);
  }
  return 0;
}

int host_admit_ready(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  srckey k;
  k.n = 0;
  if (c->dir == LP2P_DIR_INBOUND && !c->car) {
    src_key(&c->remote, &k);
    uint32_t pending, open;
    src_count(h, &k, &pending, &open);
    if (k.n && open >= h->cfg.conns_per_ip_max)
      return refuse(h, &h->stats.inbound_refused_ip_conns, &c->remote,
                    c->peer ? &c->peer->id : NULL, "conns_per_ip_max");
  }
  if (h->nconns_open < h->cfg.conns_max)
    return 0;
  hconn *v = displace_pick(h, &k, now);
  if (!v) {
    if (c->dir != LP2P_DIR_INBOUND)
      return LP2P_ERR_LIMIT; /* our dial: DIAL_FAILED says why */
    return refuse(h, &h->stats.inbound_refused_conns, &c->remote,
                  c->peer ? &c->peer->id : NULL, "conns_max");
  }
  displace(h, v, now);
  return 0;
}

int host_admit_dial_room(lp2p_host *h, lp2p_tstamp now) {
  uint32_t out = h->nconns_pending - h->npending_in;
  if (h->nconns_open + out < h->cfg.conns_max)
    return 1;
  srckey none;
  none.n = 0;
  return displace_pick(h, &none, now) != NULL;
}

/* ---- trimming ------------------------------------------------------------------ */

void host_connmgr_trim(lp2p_host *h, lp2p_tstamp now) {
  uint32_t high = h->cfg.conns_high_water, low = h->cfg.conns_low_water;
  if (!high || h->nconns_open <= high) {
    host_timer_set(h, &h->trim_tm, LP2P_TSTAMP_NONE);
    return;
  }
  /* One trim per silence period (go's connmgr): above the high water mark
   * every new connection asks for one, and each would scan every
   * connection; a host far above it (all in their grace period) paid
   * O(connections) per new one. An ask inside the silence is kept as the
   * trim timer at its end (or sooner, when a grace period ends first and
   * the timer already says so: that one re-asks). */
  lp2p_tstamp quiet = host_add_ns(h->last_trim, h->cfg.conns_trim_silence_ns);
  if (h->last_trim != LP2P_TSTAMP_NONE && h->cfg.conns_trim_silence_ns &&
      now < quiet) {
    if (h->trim_tm.deadline == LP2P_TSTAMP_NONE ||
        h->trim_tm.deadline > quiet)
      host_timer_set(h, &h->trim_tm, quiet);
    return;
  }
  h->last_trim = now;
  host_timer_set(h, &h->trim_tm, LP2P_TSTAMP_NONE);
  /* CLOSING connections still count in nconns_open (the peer is leaving
   * anyway): close a fixed number of OPEN ones. */
  uint32_t open = h->nconns_open;
  uint32_t need = h->nconns_open - low;
  uint64_t *victims = NULL;
  uint32_t nv = trim_victims(h, now, need, &victims);
  for (uint32_t i = 0; i < need; i++) {
    hconn *v;
    if (victims)
      v = i < nv ? host_conn_get(h, victims[i]) : NULL;
    else
      v = trim_pick(h, now); /* no memory for the list: one scan each */
    if (!v)
      break;
    if (v->state != HC_OPEN || conn_protected(v))
      continue; /* changed by an earlier close's callbacks */
    h->stats.conns_trimmed++;
    host_logf(h, LP2P_LOG_INFO,
              "host conn=%U peer=%P ip=%A trimmed: %u open, high water %u",
              v->id, v->peer ? &v->peer->id : NULL, &v->remote, open, high);
    host_conn_close(h, v, 0, now);
  }
  lp2p_mem_free(h->mem, victims);
  if (h->nconns_open <= high)
    return;
  /* Still above: try again when the first grace period ends (go-libp2p
   * re-checks on a ticker; one deadline is enough here). */
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    if (c->state == HC_OPEN && !conn_protected(c) && in_grace(h, c, now)) {
      lp2p_tstamp end = host_add_ns(c->opened, h->cfg.conns_grace_ns);
      if (end < next)
        next = end;
    }
  host_timer_set(h, &h->trim_tm, next);
}
