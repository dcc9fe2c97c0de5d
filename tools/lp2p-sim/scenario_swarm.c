/* swarm: the seed picks a topology (2-50 hosts, public or behind NATs of
 * random types, some behind a second NAT), link qualities, clocks, faults
 * and partitions, and drives a random workload of dials, streams, pings,
 * closes and resets. Timeline (virtual): 0-40 s workload, partitions and
 * faults from 10 s, everything healed at 40 s; at 41 s every host behind
 * one NAT reserves on node 0 (public, a circuit relay; every host runs
 * DCUtR); 45-90 s liveness: every pair the NAT matrix allows must connect
 * and ping: a public target or one on the same LAN directly, and a target
 * behind a NAT through the relay and then DCUtR, which must go direct
 * wherever the tcp-punch-matrix oracle allows a punch (the dialer public,
 * or both NATs on the internet and one admitting the other's SYN); 90 s
 * graceful close of every host; then leak check.
 *
 * Checkers: stream bytes received are a prefix of the bytes sent (each
 * stream carries a self-describing pseudo-random sequence); a stream that
 * the sender closed cleanly arrives complete; no host event after CLOSED
 * or for a dead stream (sim driver); memory within each host's budget and
 * no bytes left allocated after lp2p_host_free; liveness after healing. */
#include <stdlib.h>
#include <string.h>

#include "tools/lp2p-sim/swarm.h"

#define T_FAULTS (10 * LP2P_NS_PER_S)
#define T_HEAL (40 * LP2P_NS_PER_S)
#define T_LIVE (45 * LP2P_NS_PER_S)
#define T_CLOSE (90 * LP2P_NS_PER_S)
#define T_END (100 * LP2P_NS_PER_S)

static uint64_t rnd(swarm *w, uint64_t bound) {
  return lp2p_rng_below(&w->rng, bound);
}

/* ---- topology ----------------------------------------------------------- */

static void rand_link(swarm *w, lp2p_sim_link *l, int lan) {
  lp2p_sim_link_default(l);
  if (lan) {
    l->latency_ns = (100 + rnd(w, 900)) * 1000;
    return;
  }
  l->latency_ns = (1 + rnd(w, 60)) * LP2P_NS_PER_MS;
  l->jitter_ns = rnd(w, l->latency_ns / 4 + 1);
  if (rnd(w, 3) == 0)
    l->loss_ppm = (uint32_t)rnd(w, 20000);
  if (rnd(w, 5) == 0)
    l->dup_ppm = (uint32_t)rnd(w, 5000);
  if (rnd(w, 5) == 0)
    l->reorder_ppm = (uint32_t)rnd(w, 20000);
  if (rnd(w, 2) == 0)
    l->bandwidth_bps = (1 + rnd(w, 200)) * 1000000;
}

static int build(swarm *w) {
  lp2p_sim *s = w->s;
  uint32_t nnat = w->n < 3 ? 1 : 1 + (uint32_t)rnd(w, w->n / 3);
  w->nats = calloc(nnat, sizeof(*w->nats));
  w->natcfg = calloc(nnat, sizeof(*w->natcfg));
  w->nat_realm = calloc(nnat, sizeof(*w->nat_realm));
  if (!w->nats || !w->natcfg || !w->nat_realm)
    return LP2P_ERR_NOMEM;
  for (uint32_t i = 0; i < nnat; i++) {
    lp2p_sim_nat_config nc;
    lp2p_sim_nat_config_default(&nc);
    nc.mapping = (lp2p_sim_nat_mapping)rnd(w, 3);
    nc.filtering = (lp2p_sim_nat_filtering)rnd(w, 3);
    nc.alloc = (lp2p_sim_nat_alloc)rnd(w, 3);
    nc.syn_rst = (int)rnd(w, 2);
    nc.hairpin = (int)rnd(w, 2);
    lp2p_sim_link up;
    rand_link(w, &up, 0);
    /* one NAT in five sits behind another one (CGNAT / double NAT) */
    uint32_t realm =
        i > 0 && rnd(w, 5) == 0 ? w->nats[rnd(w, i)] : LP2P_SIM_INTERNET;
    int rc = lp2p_sim_nat_add(s, realm, 0, &nc, &up, &up, &w->nats[i]);
    if (rc)
      return rc;
    w->natcfg[i] = nc;
    w->nat_realm[i] = realm;
    w->nnats++;
  }
  for (uint32_t i = 0; i < w->n; i++) {
    snode *sn = &w->nodes[i];
    sn->idx = i;
    sn->conns = calloc(w->n, sizeof(*sn->conns));
    if (!sn->conns)
      return LP2P_ERR_NOMEM;
    /* node 0 is always public so the swarm has somewhere to meet */
    int pub = i == 0 || rnd(w, 10) < 4;
    sn->realm = pub ? LP2P_SIM_INTERNET : w->nats[rnd(w, w->nnats)];
    lp2p_sim_link l;
    rand_link(w, &l, !pub);
    lp2p_sim_ep_config ec;
    lp2p_sim_ep_config_default(&ec);
    ec.clock_offset_ns = (int64_t)rnd(w, 86400) * (int64_t)LP2P_NS_PER_S;
    ec.clock_drift_ppm = (int32_t)rnd(w, 401) - 200;
    ec.closed_port_rst = (int)rnd(w, 2);
    uint32_t node;
    int rc = lp2p_sim_ep_add(s, sn->realm, 0, &ec, &l, &l, &node);
    w->cur = i;
    if (!rc)
      rc = shost_add(s, node, w->budget, swarm_tweak, w, &sn->h);
    if (!rc)
      rc = lp2p_host_register_protocol(lp2p_sim_host(s, node), SWARM_PROTO);
    if (!rc)
      rc = shost_listen(s, &sn->h, 4001);
    if (rc)
      return rc;
    sn->ip = lp2p_sim_node_ip(s, node);
    w->by_node[node] = i + 1;
  }
  return 0;
}

/* ---- faults and partitions ------------------------------------------------
 */

static void faults_on(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  int profile = (int)rnd(w, 4);
  w->fault_profile = profile;
  for (uint32_t i = 0; i < w->n && profile; i++) {
    if (rnd(w, 2))
      continue;
    lp2p_sim_faults f;
    memset(&f, 0, sizeof f);
    f.dial_fail_ppm = 20000;
    f.accept_delay_max_ns = 300 * LP2P_NS_PER_MS;
    f.partial_write_ppm = 100000;
    if (profile >= 2)
      f.corrupt_ppm = 2000;
    lp2p_sim_host_set_faults(s, w->nodes[i].h.node, &f);
    if (profile == 3 && rnd(w, 3) == 0) { /* one allocation fails, later */
      lp2p_mem_counting *m = lp2p_sim_host_mem(s, w->nodes[i].h.node);
      m->fail_at = m->total_allocs + 1 + rnd(w, 3000);
    }
  }
  /* partitions: symmetric, asymmetric, pairwise; a clog */
  uint32_t k = (uint32_t)rnd(w, w->n / 4 + 1);
  for (uint32_t j = 0; j < k; j++) {
    uint32_t node = w->nodes[rnd(w, w->n)].h.node;
    unsigned dirs = (unsigned)(1 + rnd(w, 3));
    lp2p_sim_link_block(s, node, dirs, 1);
  }
  for (uint32_t j = 0; j < k; j++) {
    uint32_t a = w->nodes[rnd(w, w->n)].h.node;
    uint32_t b = w->nodes[rnd(w, w->n)].h.node;
    if (a != b)
      lp2p_sim_pair_block(s, a, b, 1);
  }
  if (w->nnats && rnd(w, 2))
    lp2p_sim_link_block(s, w->nats[rnd(w, w->nnats)], LP2P_SIM_BOTH, 1);
  uint32_t cn = w->nodes[rnd(w, w->n)].h.node;
  lp2p_sim_link_clog(s, cn, LP2P_SIM_BOTH,
                     lp2p_sim_now(s) + (1 + rnd(w, 5)) * LP2P_NS_PER_S);
}

static void heal(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  lp2p_sim_faults none;
  memset(&none, 0, sizeof none);
  for (uint32_t i = 0; i < w->n; i++) {
    uint32_t node = w->nodes[i].h.node;
    lp2p_sim_host_set_faults(s, node, &none);
    lp2p_sim_host_mem(s, node)->fail_at = 0;
    lp2p_sim_link_block(s, node, LP2P_SIM_BOTH, 0);
    for (uint32_t j = 0; j < w->n; j++)
      lp2p_sim_pair_block(s, node, w->nodes[j].h.node, 0);
  }
  for (uint32_t i = 0; i < w->nnats; i++)
    lp2p_sim_link_block(s, w->nats[i], LP2P_SIM_BOTH, 0);
  w->healed = 1;
}

/* ---- workload ------------------------------------------------------------ */

static void tick(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  if (lp2p_sim_now(s) >= T_HEAL)
    return;
  snode *x = &w->nodes[rnd(w, w->n)];
  snode *y = &w->nodes[rnd(w, w->n)];
  uint64_t what = rnd(w, 100);
  if (x != y && what < 30)
    swarm_dial(w, x, y);
  else if (what < 60)
    swarm_stream_open(w, x, y);
  else if (what < 75)
    swarm_ping(w, x, y);
  else if (what < 80)
    swarm_close_peer(w, x, y);
  else if (what < 85)
    swarm_stream_reset_one(w, x);
  uint64_t gap = (20 + rnd(w, 300)) * LP2P_NS_PER_MS / (w->n / 10 + 1);
  lp2p_sim_at(s, lp2p_sim_now(s) + gap, tick, w, 0);
}

static void close_all(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  w->closing = 1;
  for (uint32_t i = 0; i < w->n; i++) {
    lp2p_host *h = lp2p_sim_host(s, w->nodes[i].h.node);
    lp2p_host_close(h, shost_now(s, &w->nodes[i].h));
    lp2p_sim_host_kick(s, w->nodes[i].h.node);
  }
}

static void report(swarm *w) {
  scen_ctx *c = w->c;
  lp2p_sim *s = w->s;
  uint32_t pub = 0;
  for (uint32_t i = 0; i < w->n; i++)
    pub += w->nodes[i].realm == LP2P_SIM_INTERNET;
  scen_line(c, "topology nodes %u public %u nats %u faults %d", w->n, pub,
            w->nnats, w->fault_profile);
  scen_line(
      c, "workload dials %llu/%llu streams %llu/%llu bytes %llu pings %llu",
      (unsigned long long)w->dials_ok, (unsigned long long)w->dials,
      (unsigned long long)w->streams_done,
      (unsigned long long)w->streams_opened,
      (unsigned long long)w->bytes_checked, (unsigned long long)w->pings_ok);
  scen_line(c,
            "liveness pairs %u connected %u pinged %u punch %u direct %u "
            "unreserved %u",
            w->live_pairs, w->live_connected, w->live_pinged, w->live_punch,
            w->live_direct, w->live_unreserved);
  size_t peak = 0;
  for (uint32_t i = 0; i < w->n; i++) {
    lp2p_mem_counting *m = lp2p_sim_host_mem(s, w->nodes[i].h.node);
    if (m->peak_bytes > peak)
      peak = m->peak_bytes;
  }
  scen_line(c, "mem peak_kib_max %zu closed %u", peak / 1024, w->closed);
  scen_line(c, "virtual_ms %llu events %llu",
            (unsigned long long)(lp2p_sim_now(s) / LP2P_NS_PER_MS),
            (unsigned long long)lp2p_sim_events(s));
}

int swarm_run(scen_ctx *c, uint32_t nodes, uint64_t workload_until) {
  static swarm w;
  memset(&w, 0, sizeof w);
  w.c = c;
  w.s = scen_world(c, NULL);
  if (!w.s)
    return 1;
  lp2p_sim *s = w.s;
  lp2p_sim_rng(s, LP2P_SIM_STREAM_USER + 1, &w.rng_st, &w.rng);
  w.n = nodes ? nodes : 2 + (uint32_t)rnd(&w, 49);
  w.budget = 16u * 1024 * 1024;
  w.nodes = calloc(w.n, sizeof(*w.nodes));
  w.by_node = calloc(4 * (size_t)w.n + 64, sizeof(*w.by_node));
  lp2p_sim_on_host_event(s, swarm_on_event, &w);
  int rc = w.nodes && w.by_node ? build(&w) : LP2P_ERR_NOMEM;
  if (rc) {
    scen_fail(c, "setup: %s", lp2p_errname(rc));
  } else {
    (void)workload_until;
    lp2p_sim_at(s, 100 * LP2P_NS_PER_MS, tick, &w, 0);
    lp2p_sim_at(s, T_FAULTS, faults_on, &w, 0);
    lp2p_sim_at(s, T_HEAL, heal, &w, 0);
    lp2p_sim_at(s, T_HEAL + LP2P_NS_PER_S, swarm_reserve, &w, 0);
    lp2p_sim_at(s, T_LIVE, swarm_liveness_start, &w, 0);
    lp2p_sim_at(s, T_CLOSE, close_all, &w, 0);
    lp2p_sim_run_until(s, T_END);
    swarm_final_checks(&w);
    report(&w);
  }
  scen_world_done(c, s);
  swarm_free(&w);
  return c->fail[0] ? 1 : 0;
}

static int run(scen_ctx *c) { return swarm_run(c, 0, T_HEAL); }

const scenario scenario_swarm = {
    "swarm",
    "seeded topology of 2-50 hosts, NATs, faults, partitions and workload",
    run};
