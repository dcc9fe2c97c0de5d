/* The Kademlia network of the kad scenarios (kadnet.h): public endpoints
 * with 5-40 ms links, one lp2p_host each in DHT server mode (stock
 * kad-dht settings: k 20, alpha 3, 10 s request timeout), joining through
 * a few bootstrap hosts. Everything random comes from the run's seed. The
 * hosts live in KN_WORLDS federated worlds (kadnet.h says which code runs
 * where). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/lp2p-sim/kadnet.h"

#define MS LP2P_NS_PER_MS

static uint64_t rnd(kadnet *k, uint64_t bound) {
  return lp2p_rng_below(&k->rng, bound);
}

static knode *by_hid(kn_world *w, uint32_t hid, uint32_t *idx) {
  if (hid >= w->by_node_cap || !w->by_node[hid])
    return NULL;
  *idx = w->by_node[hid] - 1;
  return &w->k->nodes[*idx];
}

lp2p_sim *kn_sim(const kadnet *k, uint32_t i) {
  return k->w[k->nodes[i].world].s;
}

lp2p_host *kn_host(const kadnet *k, uint32_t i) {
  return lp2p_sim_host(kn_sim(k, i), k->nodes[i].h.node);
}

uint32_t kn_running(const kadnet *k) {
  return __atomic_load_n(&k->running, __ATOMIC_ACQUIRE);
}

/* ---- lookups ------------------------------------------------------------ */

static void lookup_end(kadnet *k, klookup *l, uint8_t state) {
  if (l->state == KL_QUERY || l->state == KL_DIAL || l->state == KL_PING)
    __atomic_sub_fetch(&k->running, 1, __ATOMIC_ACQ_REL);
  if (state == KL_MISSED)
    l->missed_in = l->state;
  l->state = state;
}

/* The target was named: reach it by its id alone, through the addresses
 * the lookup's answers taught us (a connection we already had is reused,
 * as a real application's dial would), and prove it with a ping round
 * trip: a connection left over from before a partition does not count. */
static void lookup_named(kadnet *k, klookup *l) {
  knode *x = &k->nodes[l->from];
  lp2p_host *h = kn_host(k, l->from);
  l->named = 1;
  l->state = KL_DIAL;
  if (lp2p_host_dial_peer(h, shost_now(kn_sim(k, l->from), &x->h),
                          &k->nodes[l->to].h.id, 0,
                          &l->dial) != 0)
    lookup_end(k, l, KL_MISSED);
}

static void on_query_done(kadnet *k, uint32_t xi, lp2p_host *h,
                          const lp2p_host_event *ev) {
  for (uint32_t i = 0; i < k->nlk; i++) {
    klookup *l = &k->lk[i];
    /* `from` first: only this host's lookups are this thread's to read */
    if (l->from != xi || l->state != KL_QUERY || l->q != ev->u.kad.query)
      continue;
    lp2p_kad_query_info qi;
    int ok = lp2p_host_kad_query_info(h, l->q, &qi) == 0 && !qi.err &&
             qi.target_found;
    if (ok)
      l->hops = qi.target_hops;
    lp2p_host_kad_query_free(h, l->q);
    if (ok)
      lookup_named(k, l);
    else
      lookup_end(k, l, KL_MISSED);
    return;
  }
}

static void on_dial(kadnet *k, uint32_t xi, lp2p_host *h,
                    const lp2p_host_event *ev, int ok) {
  for (uint32_t i = 0; i < k->nlk; i++) {
    klookup *l = &k->lk[i];
    if (l->from != xi || l->state != KL_DIAL || l->dial != ev->u.dial.id)
      continue;
    l->state = KL_PING;
    if (!ok || lp2p_host_ping(h, shost_now(kn_sim(k, xi), &k->nodes[xi].h),
                              &k->nodes[l->to].h.id) != 0)
      lookup_end(k, l, KL_MISSED);
  }
}

static void on_ping(kadnet *k, uint32_t xi, const lp2p_host_event *ev) {
  for (uint32_t i = 0; i < k->nlk; i++) {
    klookup *l = &k->lk[i];
    if (l->from == xi && l->state == KL_PING &&
        lp2p_peerid_equal(&k->nodes[l->to].h.id, &ev->peer))
      lookup_end(k, l, ev->err ? KL_MISSED : KL_FOUND);
  }
}

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  kn_world *w = ud;
  kadnet *k = w->k;
  uint32_t xi;
  knode *x = by_hid(w, hid, &xi);
  if (!x || !x->live)
    return;
  switch (ev->kind) {
  case LP2P_HOST_EV_KAD_QUERY_DONE:
    on_query_done(k, xi, lp2p_sim_host(s, hid), ev);
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    x->dials_failed++;
    x->dial_err = ev->err;
    /* fall through */
  case LP2P_HOST_EV_DIAL_DONE:
    on_dial(k, xi, lp2p_sim_host(s, hid), ev,
            ev->kind == LP2P_HOST_EV_DIAL_DONE);
    break;
  case LP2P_HOST_EV_PING_RESULT:
    on_ping(k, xi, ev);
    break;
  default:
    break;
  }
}

static void lookup_start(lp2p_sim_fed *f, void *ud, uint64_t arg) {
  (void)f;
  kadnet *k = ud;
  klookup *l = &k->lk[arg];
  l->from = kn_pick(k, l->from_side);
  l->to = l->from == KN_ANY ? KN_ANY : kn_pick(k, l->to_side);
  for (int tries = 0; l->to == l->from && tries < 8; tries++)
    l->to = kn_pick(k, l->to_side);
  if (l->from == KN_ANY || l->to == KN_ANY || l->to == l->from) {
    scen_fail(k->c, "no live hosts to look up");
    l->state = KL_VOID;
    return;
  }
  knode *x = &k->nodes[l->from], *y = &k->nodes[l->to];
  lp2p_sim *s = kn_sim(k, l->from);
  lp2p_host *h = lp2p_sim_host(s, x->h.node);
  l->state = KL_QUERY;
  __atomic_add_fetch(&k->running, 1, __ATOMIC_ACQ_REL);
  if (lp2p_host_kad_find_peer(h, shost_now(s, &x->h), &y->h.id, &l->q) != 0)
    lookup_end(k, l, KL_MISSED);
  lp2p_sim_host_kick(s, x->h.node);
}

void kn_lookup_at(kadnet *k, lp2p_tstamp at, uint8_t from_side, uint8_t to_side,
                  uint8_t group) {
  if (k->nlk == k->lk_cap) {
    scen_fail(k->c, "more lookups than planned");
    return;
  }
  klookup *l = &k->lk[k->nlk];
  memset(l, 0, sizeof *l);
  l->from = l->to = KN_ANY;
  l->from_side = from_side;
  l->to_side = to_side;
  l->group = group;
  kn_at(k, at, lookup_start, k->nlk++);
}

static int lookups_over(void *ud) {
  kadnet *k = ud;
  if (kn_running(k))
    return 0;
  for (uint32_t i = 0; i < k->nlk; i++)
    if (k->lk[i].state == KL_IDLE)
      return 0;
  return 1;
}

void kn_run_lookups(kadnet *k, lp2p_tstamp deadline) {
  lp2p_sim_fed_run(k->fed, lookups_over, k, deadline);
}

void kn_run_until(kadnet *k, lp2p_tstamp t) {
  lp2p_sim_fed_run_until(k->fed, t);
}

lp2p_tstamp kn_now(const kadnet *k) { return lp2p_sim_fed_now(k->fed); }

void kn_at(kadnet *k, lp2p_tstamp at, lp2p_sim_fed_fn fn, uint64_t arg) {
  if (lp2p_sim_fed_at(k->fed, at, fn, k, arg) != 0)
    scen_fail(k->c, "out of memory scheduling an event");
}

/* ---- hosts -------------------------------------------------------------- */

/* The joining host's bootstrap list: the bootstrap hosts join() picked
 * (copied by the kad service when the host starts), dialled by the
 * service itself as a deployed node's are (dial on start, again at a
 * low-peers check that finds the table empty). */
static void tweak(lp2p_host_config *cfg, void *ud) {
  kadnet *k = ud;
  cfg->kad.mode = LP2P_KAD_MODE_SERVER;
  cfg->kad.bootstrap = k->boot_list;
  cfg->kad.bootstrap_n = k->boot_list_n;
  /* A bootstrap host runs with a bootstrapper's limits, as the public
   * DHT's do (their operators raise the connection limits far above a
   * home node's): every newcomer connects to it and every new connection
   * is safe from trimming for its 60 s grace period, so at 50 joins a
   * second a default host fills with young connections, at conns_max
   * (1024) and at the resource manager's memory budget (128 MiB, 128 KiB
   * granted per connection: 1024 again), and refuses newcomers, whose
   * tables then stay empty (LP2P_SIM_TIMING shows it: "kad boot host ...
   * conns_max N", "kad thin: host ... failed 3"). */
  if (k->joining_boot) {
    cfg->conns_max = KN_BOOT_CONNS_MAX;
    cfg->memory_max = (uint64_t)KN_BOOT_CONNS_MAX * cfg->memory_per_conn_base;
    if (cfg->peers_max < 2 * KN_BOOT_CONNS_MAX)
      cfg->peers_max = 2 * KN_BOOT_CONNS_MAX;
  }
}

static int grow(kn_world *w, uint32_t node) {
  if (node < w->by_node_cap)
    return 0;
  uint32_t nc = w->by_node_cap ? w->by_node_cap : 64;
  while (nc <= node)
    nc *= 2;
  uint32_t *nb = realloc(w->by_node, nc * sizeof *nb);
  if (!nb)
    return LP2P_ERR_NOMEM;
  memset(nb + w->by_node_cap, 0, (nc - w->by_node_cap) * sizeof *nb);
  w->by_node = nb;
  w->by_node_cap = nc;
  return 0;
}

static void become_ready(lp2p_sim_fed *f, void *ud, uint64_t arg) {
  (void)f;
  kadnet *k = ud;
  knode *x = &k->nodes[arg];
  if (x->live)
    x->ready = 1;
}

/* arg: (ready_after_ms << 8) | side */
static void join(lp2p_sim_fed *f, void *ud, uint64_t arg) {
  (void)f;
  kadnet *k = ud;
  if (k->n == k->cap) {
    scen_fail(k->c, "more hosts than planned");
    return;
  }
  uint32_t i = k->n;
  knode *x = &k->nodes[i];
  memset(x, 0, sizeof *x);
  x->world = (uint8_t)(i % KN_WORLDS);
  kn_world *w = &k->w[x->world];
  lp2p_sim *s = w->s;
  x->joined = lp2p_sim_now(s);
  x->side = (uint8_t)(arg & 0xff);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = (5 + rnd(k, 36)) * MS;
  l.jitter_ns = rnd(k, 2 * MS);
  /* KN_BOOT_DIALS distinct bootstrap hosts among those up (the
   * bootstrap hosts themselves use the ones before them) */
  uint32_t pool = i < k->nboot ? i : k->nboot;
  uint32_t want = pool < KN_BOOT_DIALS ? pool : KN_BOOT_DIALS;
  uint32_t chosen[KN_BOOT_DIALS];
  k->boot_list_n = 0;
  for (uint32_t d = 0; d < want; d++) {
    uint32_t b;
    int again;
    do {
      b = (uint32_t)rnd(k, pool);
      again = 0;
      for (uint32_t e = 0; e < d; e++)
        again |= chosen[e] == b;
    } while (again);
    chosen[d] = b;
    knode *bn = &k->nodes[b];
    if (!bn->live || shost_maddr(&k->boot_list[k->boot_list_n],
                                 lp2p_sim_node_ip(kn_sim(k, b), bn->h.node),
                                 4001,
                                 &bn->h.id))
      k->boot_dials_failed++;
    else
      k->boot_list_n++;
  }
  k->joining_boot = i < k->nboot;
  uint32_t node;
  int rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &node);
  if (!rc)
    rc = grow(w, node);
  if (!rc)
    rc = lp2p_sim_node_group(s, node, x->side);
  if (!rc)
    rc = shost_add(s, node, 0, tweak, k, &x->h);
  if (!rc)
    rc = shost_listen(s, &x->h, 4001);
  if (rc) {
    k->join_failed++;
    scen_fail(k->c, "host %u could not start: %s", i, lp2p_errname(rc));
    return;
  }
  k->n++;
  w->by_node[node] = i + 1;
  x->live = 1;
  lp2p_sim_host_kick(s, node);
  kn_at(k, lp2p_sim_now(s) + (arg >> 8) * MS, become_ready, i);
}

void kn_join_at(kadnet *k, lp2p_tstamp at, uint8_t side,
                lp2p_tstamp ready_after_ns) {
  kn_at(k, at, join, (ready_after_ns / MS) << 8 | side);
}

void kn_leave(kadnet *k, uint32_t i) {
  knode *x = &k->nodes[i];
  if (!x->live)
    return;
  x->live = x->ready = 0;
  lp2p_sim_host_remove(kn_sim(k, i), x->h.node);
  /* the machine is gone: nothing answers its address any more */
  lp2p_sim_link_block(kn_sim(k, i), x->h.node, LP2P_SIM_BOTH, 1);
  for (uint32_t j = 0; j < k->nlk; j++) {
    klookup *l = &k->lk[j];
    if ((l->from == i || l->to == i) && l->state != KL_FOUND &&
        l->state != KL_MISSED)
      lookup_end(k, l, KL_VOID);
  }
}

uint32_t kn_pick(kadnet *k, uint8_t side) {
  uint32_t cnt = 0;
  for (uint32_t i = 0; i < k->n; i++)
    cnt += k->nodes[i].live && k->nodes[i].ready &&
           (!side || k->nodes[i].side == side);
  if (!cnt)
    return UINT32_MAX;
  uint32_t r = (uint32_t)rnd(k, cnt);
  for (uint32_t i = 0; i < k->n; i++)
    if (k->nodes[i].live && k->nodes[i].ready &&
        (!side || k->nodes[i].side == side) && r-- == 0)
      return i;
  return UINT32_MAX;
}

void kn_split(kadnet *k, int on) {
  for (size_t w = 0; w < KN_WORLDS; w++) {
    lp2p_sim_group_block(k->w[w].s, 1, 2, on);
    lp2p_sim_group_block(k->w[w].s, 2, 1, on);
  }
}

/* LP2P_SIM_THREADS (main.c checked it), else the cores there are. */
static unsigned threads_wanted(const scen_ctx *c) {
  if (c->threads)
    return c->threads;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (unsigned)n;
}

int kn_init(kadnet *k, scen_ctx *c, uint32_t cap, uint32_t lookups) {
  memset(k, 0, sizeof *k);
  k->c = c;
  k->threads = threads_wanted(c);
  /* a trace file takes lines in the order the worlds run: one thread */
  if (c->trace_file)
    k->threads = 1;
  if (k->threads > KN_WORLDS)
    k->threads = KN_WORLDS;
  lp2p_sim_config cfg;
  lp2p_sim_config_default(&cfg);
  lp2p_sim *ws[KN_WORLDS];
  for (size_t w = 0; w < KN_WORLDS; w++) {
    k->w[w].k = k;
    if (!(k->w[w].s = ws[w] = scen_world(c, &cfg)))
      return LP2P_ERR_NOMEM;
  }
  int rc = lp2p_sim_fed_new(&k->fed, ws, KN_WORLDS);
  if (rc) {
    scen_fail(c, "federation: %s", lp2p_errname(rc));
    return rc;
  }
  lp2p_sim_fed_set_threads(k->fed, k->threads);
  lp2p_sim_rng(ws[0], LP2P_SIM_STREAM_USER + 10, &k->rng_st, &k->rng);
  k->nodes = calloc(cap, sizeof *k->nodes);
  k->lk = calloc(lookups ? lookups : 1, sizeof *k->lk);
  if (!k->nodes || !k->lk) {
    scen_fail(c, "out of memory");
    return LP2P_ERR_NOMEM;
  }
  k->cap = cap;
  k->lk_cap = lookups;
  k->nboot = cap / KN_BOOT_PER > KN_BOOT_MIN ? cap / KN_BOOT_PER : KN_BOOT_MIN;
  for (size_t w = 0; w < KN_WORLDS; w++)
    lp2p_sim_on_host_event(ws[w], on_event, &k->w[w]);
  return 0;
}

void kn_free(kadnet *k) {
  const char *timing = getenv("LP2P_SIM_TIMING");
  if (k->fed && timing && *timing) {
    /* the balance between worlds bounds what the threads can gain */
    uint64_t emin = UINT64_MAX, emax = 0;
    for (size_t w = 0; w < KN_WORLDS; w++) {
      uint64_t e = lp2p_sim_events(k->w[w].s);
      emin = e < emin ? e : emin;
      emax = e > emax ? e : emax;
    }
    fprintf(stderr,
            "kad federation: %u worlds, threads %u, windows %llu, events "
            "per world min %llu max %llu\n",
            KN_WORLDS, k->threads,
            (unsigned long long)lp2p_sim_fed_windows(k->fed),
            (unsigned long long)emin, (unsigned long long)emax);
  }
  lp2p_sim_fed_free(k->fed);
  k->fed = NULL;
  /* the traces fold in world order; the frees need no order */
  for (size_t w = 0; w < KN_WORLDS; w++)
    scen_world_account(k->c, k->w[w].s);
  /* One world after another: freeing them on the run's threads side by
   * side measured no gain at 10,000 hosts (89.9 s against 72.5 s, one
   * run each); the frees contend in the allocator and the kernel. */
  for (size_t w = 0; w < KN_WORLDS; w++) {
    lp2p_sim_free(k->w[w].s);
    k->w[w].s = NULL;
    free(k->w[w].by_node);
  }
  free(k->nodes);
  free(k->lk);
}

/* ---- figures ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void kn_stats_get(const kadnet *k, int group, kn_stats *o) {
  memset(o, 0, sizeof *o);
  uint32_t *hops = calloc(k->nlk ? k->nlk : 1, sizeof *hops);
  if (!hops)
    return;
  for (uint32_t i = 0; i < k->nlk; i++) {
    const klookup *l = &k->lk[i];
    if (group >= 0 && l->group != group)
      continue;
    if (l->state == KL_VOID) {
      o->voided++;
      continue;
    }
    o->lookups++;
    o->named += l->named;
    if (l->state == KL_FOUND)
      hops[o->found++] = l->hops;
  }
  if (o->found) {
    qsort(hops, o->found, sizeof *hops, cmp_u32);
    /* lower median; p99 by nearest rank */
    o->median_hops = hops[(o->found - 1) / 2];
    uint32_t r = (uint32_t)(((uint64_t)o->found * 99 + 99) / 100);
    o->p99_hops = hops[r - 1];
  }
  free(hops);
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

void kn_tables(const kadnet *k, size_t *min, size_t *median, size_t *max) {
  *min = *median = *max = 0;
  size_t *v = calloc(k->n ? k->n : 1, sizeof *v), m = 0;
  if (!v)
    return;
  for (uint32_t i = 0; i < k->n; i++)
    if (k->nodes[i].live)
      v[m++] = lp2p_host_kad_table_size(kn_host(k, i));
  if (m) {
    qsort(v, m, sizeof *v, cmp_size);
    *min = v[0];
    *median = v[(m - 1) / 2];
    *max = v[m - 1];
  }
  free(v);
}

void kn_memory(kadnet *k, uint64_t *mean_live, uint64_t *max_peak) {
  uint64_t sum = 0, cnt = 0;
  *max_peak = 0;
  for (uint32_t i = 0; i < k->n; i++) {
    if (!k->nodes[i].live)
      continue;
    lp2p_mem_counting *m = lp2p_sim_host_mem(kn_sim(k, i), k->nodes[i].h.node);
    if (!m)
      continue;
    sum += m->live_bytes;
    cnt++;
    if (m->peak_bytes > *max_peak)
      *max_peak = m->peak_bytes;
  }
  *mean_live = cnt ? sum / cnt : 0;
}

/* ---- diagnostics (stderr) ----------------------------------------------- */

void kn_load(const kadnet *k, uint32_t *conns, uint32_t *peers) {
  uint64_t c = 0, p = 0, n = 0;
  for (uint32_t i = 0; i < k->n; i++) {
    if (!k->nodes[i].live)
      continue;
    lp2p_host_stats hs;
    lp2p_host_stats_get(kn_host(k, i), &hs);
    c += hs.conns_open;
    p += hs.peers;
    n++;
  }
  *conns = n ? (uint32_t)(c / n) : 0;
  *peers = n ? (uint32_t)(p / n) : 0;
}

static size_t table_of(const kadnet *k, uint32_t i) {
  return lp2p_host_kad_table_size(kn_host(k, i));
}

void kn_report_thin(const kadnet *k, size_t below) {
  for (uint32_t i = 0; i < k->n; i++) {
    const knode *x = &k->nodes[i];
    if (!x->live || table_of(k, i) >= below)
      continue;
    lp2p_host_stats hs;
    lp2p_host_stats_get(kn_host(k, i), &hs);
    fprintf(stderr,
            "kad thin: host %u joined %.3f s table %zu conns %u peers %u "
            "trimmed %llu failed %llu hs_timeouts %llu dials_failed %u "
            "(last: %s) all_conns %u pending_out %u\n",
            i, (double)x->joined / 1e9, table_of(k, i), hs.conns_open,
            hs.peers, (unsigned long long)hs.conns_trimmed,
            (unsigned long long)hs.conns_failed,
            (unsigned long long)hs.handshake_timeouts, x->dials_failed,
            x->dials_failed ? lp2p_errname(x->dial_err) : "-", hs.conns,
            hs.conns_pending_outbound);
  }
  /* the bootstrap hosts: what they turned away */
  for (uint32_t i = 0; i < k->nboot && i < k->n; i++) {
    lp2p_host_stats hs;
    lp2p_host_stats_get(kn_host(k, i), &hs);
    fprintf(stderr,
            "kad boot host %u: conns %u pending_in %u peers %u refused %llu "
            "(pending %llu ip %llu ip_conns %llu conns_max %llu) stale "
            "evicted %llu progress timeouts %llu trimmed %llu displaced "
            "%llu hs_timeouts %llu\n",
            i, hs.conns_open, hs.conns_pending_inbound, hs.peers,
            (unsigned long long)hs.inbound_refused,
            (unsigned long long)hs.inbound_refused_pending,
            (unsigned long long)hs.inbound_refused_ip,
            (unsigned long long)hs.inbound_refused_ip_conns,
            (unsigned long long)hs.inbound_refused_conns,
            (unsigned long long)hs.inbound_evicted_stale,
            (unsigned long long)hs.inbound_progress_timeouts,
            (unsigned long long)hs.conns_trimmed,
            (unsigned long long)hs.conns_displaced,
            (unsigned long long)hs.handshake_timeouts);
  }
  fprintf(stderr, "kad thin: bootstrap hosts picked but down %llu\n",
          (unsigned long long)k->boot_dials_failed);
}

void kn_report_missed(const kadnet *k) {
  static const char *const step[] = {"idle", "query", "dial", "ping"};
  for (uint32_t i = 0; i < k->nlk; i++) {
    const klookup *l = &k->lk[i];
    if (l->state != KL_MISSED)
      continue;
    fprintf(stderr,
            "kad missed: lookup %u from %u (table %zu, joined %.3f s) to %u "
            "(table %zu, joined %.3f s) at %s named %u\n",
            i, l->from, table_of(k, l->from),
            (double)k->nodes[l->from].joined / 1e9, l->to, table_of(k, l->to),
            (double)k->nodes[l->to].joined / 1e9,
            l->missed_in < 4 ? step[l->missed_in] : "?", l->named);
  }
}
