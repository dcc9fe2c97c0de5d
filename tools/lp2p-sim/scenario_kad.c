/* kad, kad-churn, kad-partition, kad-10k (issue 10, "Simulator"): whole
 * lp2p_hosts in DHT server mode on the simulator (kadnet.c).
 *
 *   kad:           1,000 hosts join one after the other through the
 *                  bootstrap hosts and bootstrap themselves (self-lookup,
 *                  refresh); then 1,000 find-peer lookups from random
 *                  hosts for random hosts. Targets: found >= 99.9 %,
 *                  median hops <= 3.
 *   kad-churn:     the same, while 10 % of the hosts leave (crash, their
 *                  link goes dark) and as many new ones join during the
 *                  lookups. Lookups whose origin or target left before
 *                  they ended do not count (printed as voided). Target:
 *                  found >= 99 %.
 *   kad-partition: 1,000 hosts in two halves; the network splits for 5
 *                  minutes: lookups run inside each half and across the
 *                  cut (none may reach the other side), 5 % more hosts
 *                  join on each side; then it heals, and 5 minutes later
 *                  (every host refreshed once) lookups across the former
 *                  cut (the newcomers included) must reach >= 99 %.
 *   kad-10k:       kad with 10,000 hosts (make sim-kad-10k; not in make
 *                  test), also reporting heap per host.
 *
 * Every line printed depends on the seed only. With LP2P_SIM_TIMING set,
 * wall-clock phases go to stderr (the benchmark reads them). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tools/lp2p-sim/kadnet.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S
/* the variants make test runs (tests/sim/run.sh) */
#define SMALL_NODES 200

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: on a shared machine the wall clock moves
 * with the load, the CPU time much less */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int timing(void) {
  const char *t = getenv("LP2P_SIM_TIMING");
  return t && *t;
}

/* Joins spread over `spread`: the bootstrap hosts first. Returns the time
 * the last one starts. */
static lp2p_tstamp join_all(kadnet *k, uint32_t n, lp2p_tstamp start,
                            lp2p_tstamp spread, int halves) {
  for (uint32_t i = 0; i < n; i++)
    kn_join_at(k, start + spread * i / n, halves ? (uint8_t)(1 + i % 2) : 0,
               5 * SEC);
  return start + spread;
}

static void line_tables(kadnet *k, const char *what) {
  size_t mn, md, mx;
  kn_tables(k, &mn, &md, &mx);
  scen_line(k->c, "kad %s tables min %zu median %zu max %zu", what, mn, md, mx);
}

/* The summary line of issue 10; nodes: the hosts live at the end. */
static void line_summary(kadnet *k, const kn_stats *st) {
  uint32_t live = 0;
  for (uint32_t i = 0; i < k->n; i++)
    live += k->nodes[i].live;
  scen_line(k->c,
            "kad nodes %u lookups %u found %u median_hops %u "
            "p99_hops %u",
            live, st->lookups, st->found, st->median_hops, st->p99_hops);
}

/* found/lookups >= num/den */
static int enough(const kn_stats *st, uint64_t num, uint64_t den) {
  return st->lookups &&
         (uint64_t)st->found * den >= (uint64_t)st->lookups * num;
}

/* ---- kad and kad-10k ------------------------------------------------------
 */

static int run_plain(scen_ctx *c, uint32_t n, uint32_t lookups) {
  kadnet k;
  double t0 = wall_s(), c0 = cpu_s();
  if (kn_init(&k, c, n, lookups)) {
    kn_free(&k);
    return 1;
  }
  /* joins at 50 per second at most (a second per 50 hosts, 20 s at
   * least): each host's bootstrap meets a network that already formed */
  lp2p_tstamp spread = (lp2p_tstamp)n * 20 * MS;
  lp2p_tstamp end = join_all(&k, n, 0, spread, 0);
  /* in steps, so LP2P_SIM_TIMING can show progress (running until a time
   * adds no event: the trace is the same either way) */
  for (lp2p_tstamp t = 20 * SEC; t < end + 30 * SEC; t += 20 * SEC) {
    kn_run_until(&k, t);
    if (timing()) {
      uint64_t ml, mp;
      uint32_t conns, peers;
      kn_memory(&k, &ml, &mp);
      kn_load(&k, &conns, &peers);
      fprintf(stderr,
              "kad progress: virtual %llu s, %u hosts, wall %.1f s, cpu "
              "%.1f s, heap per host %llu, conns per host %u, peers per "
              "host %u\n",
              (unsigned long long)(t / SEC), k.n, wall_s() - t0,
              cpu_s() - c0, (unsigned long long)ml, conns, peers);
    }
  }
  kn_run_until(&k, end + 30 * SEC);
  line_tables(&k, "joined");
  if (timing())
    kn_report_thin(&k, 10);
  double t1 = wall_s(), c1 = cpu_s();
  lp2p_tstamp at = kn_now(&k);
  for (uint32_t i = 0; i < lookups; i++)
    kn_lookup_at(&k, at + (lp2p_tstamp)i * 20 * MS, 0, 0, 0);
  kn_run_lookups(&k, at + (lp2p_tstamp)lookups * 20 * MS + 120 * SEC);
  double t2 = wall_s(), c2 = cpu_s();
  kn_stats st;
  kn_stats_get(&k, -1, &st);
  uint64_t mem_live, mem_peak;
  kn_memory(&k, &mem_live, &mem_peak);
  line_summary(&k, &st);
  if (n >= 10000)
    scen_line(c, "kad heap per host %llu bytes (largest peak %llu)",
              (unsigned long long)mem_live, (unsigned long long)mem_peak);
  if (timing())
    kn_report_missed(&k);
  if (timing())
    fprintf(stderr,
            "kad timing: nodes %u join_wall_s %.2f lookups %u "
            "lookup_wall_s %.2f lookups_per_s %.1f total_wall_s %.2f "
            "heap_per_host %llu join_cpu_s %.2f lookup_cpu_s %.2f "
            "lookups_per_cpu_s %.1f\n",
            n, t1 - t0, st.lookups, t2 - t1,
            t2 > t1 ? st.lookups / (t2 - t1) : 0.0, t2 - t0,
            (unsigned long long)mem_live, c1 - c0, c2 - c1,
            c2 > c1 ? st.lookups / (c2 - c1) : 0.0);
  if (kn_running(&k))
    scen_fail(c, "%u lookups still running at the deadline",
              kn_running(&k));
  if (!enough(&st, 999, 1000))
    scen_fail(c, "found %u of %u lookups (< 99.9 %%)", st.found, st.lookups);
  if (st.median_hops > 3)
    scen_fail(c, "median hops %u (> 3)", st.median_hops);
  kn_free(&k);
  return c->fail[0] ? 1 : 0;
}

static int run_kad(scen_ctx *c) { return run_plain(c, 1000, 1000); }
static int run_kad_10k(scen_ctx *c) { return run_plain(c, 10000, 1000); }
static int run_kad_small(scen_ctx *c) {
  return run_plain(c, SMALL_NODES, SMALL_NODES);
}

/* ---- kad-churn ------------------------------------------------------------
 */

static void churn_leave(lp2p_sim_fed *f, void *ud, uint64_t arg) {
  (void)f;
  (void)arg;
  kadnet *k = ud;
  uint32_t i = kn_pick(k, 0);
  /* the bootstrap hosts stay: a network needs a published entry point */
  for (int tries = 0; i != KN_ANY && i < k->nboot && tries < 16; tries++)
    i = kn_pick(k, 0);
  if (i != KN_ANY && i >= k->nboot)
    kn_leave(k, i);
}

static int run_churn_n(scen_ctx *c, uint32_t n, uint32_t lookups) {
  const uint32_t churn = n / 10;
  kadnet k;
  if (kn_init(&k, c, n + churn, lookups)) {
    kn_free(&k);
    return 1;
  }
  lp2p_tstamp end = join_all(&k, n, 0, (lp2p_tstamp)n * 20 * MS, 0);
  kn_run_until(&k, end + 30 * SEC);
  line_tables(&k, "joined");
  lp2p_tstamp at = kn_now(&k), span = (lp2p_tstamp)lookups * 20 * MS;
  for (uint32_t i = 0; i < lookups; i++)
    kn_lookup_at(&k, at + (lp2p_tstamp)i * 20 * MS, 0, 0, 0);
  /* 10 % leave and as many join, spread over the lookups */
  for (uint32_t i = 0; i < churn; i++) {
    kn_at(&k, at + span * i / churn + 7 * MS, churn_leave, 0);
    kn_join_at(&k, at + span * i / churn + 13 * MS, 0, 5 * SEC);
  }
  kn_run_lookups(&k, at + span + 120 * SEC);
  kn_stats st;
  kn_stats_get(&k, -1, &st);
  uint32_t live = 0;
  for (uint32_t i = 0; i < k.n; i++)
    live += k.nodes[i].live;
  scen_line(c, "kad churn left %u joined %u live %u voided %u", k.n - live,
            k.n - n, live, st.voided);
  line_tables(&k, "after churn");
  line_summary(&k, &st);
  if (kn_running(&k))
    scen_fail(c, "%u lookups still running at the deadline",
              kn_running(&k));
  if (!enough(&st, 99, 100))
    scen_fail(c, "found %u of %u lookups (< 99 %%)", st.found, st.lookups);
  kn_free(&k);
  return c->fail[0] ? 1 : 0;
}

/* ---- kad-partition --------------------------------------------------------
 */

enum { G_SPLIT_IN = 1, G_SPLIT_CROSS, G_HEALED_CROSS, G_HEALED_IN };

/* Share of routing-table entries on the other side, in per mille. */
static uint32_t cross_permille(kadnet *k) {
  uint64_t all = 0, cross = 0;
  lp2p_peerid ids[512];
  uint8_t zero[32] = {0};
  for (uint32_t i = 0; i < k->n; i++) {
    knode *x = &k->nodes[i];
    if (!x->live)
      continue;
    size_t m = lp2p_host_kad_table_closest(kn_host(k, i), zero, sizeof zero,
                                           ids, 512);
    for (size_t j = 0; j < m; j++)
      for (uint32_t y = 0; y < k->n; y++)
        if (lp2p_peerid_equal(&ids[j], &k->nodes[y].h.id)) {
          all++;
          cross += k->nodes[y].side != x->side;
          break;
        }
  }
  return all ? (uint32_t)(cross * 1000 / all) : 0;
}

static void split_lookups(kadnet *k, lp2p_tstamp at, uint32_t count,
                          uint8_t in_group, uint8_t cross_group) {
  for (uint32_t i = 0; i < count; i++) {
    uint8_t a = (uint8_t)(1 + i % 2), b = (uint8_t)(3 - a);
    kn_lookup_at(k, at + (lp2p_tstamp)i * 20 * MS, a, i % 4 < 2 ? a : b,
                 i % 4 < 2 ? in_group : cross_group);
  }
}

static void line_group(kadnet *k, const char *what, int group) {
  kn_stats st;
  kn_stats_get(k, group, &st);
  scen_line(k->c,
            "kad partition %s lookups %u named %u found %u "
            "median_hops %u",
            what, st.lookups, st.named, st.found, st.median_hops);
}

static int run_partition_n(scen_ctx *c, uint32_t n, uint32_t lookups) {
  const uint32_t extra = n / 20;
  kadnet k;
  if (kn_init(&k, c, n + 2 * extra, 2 * lookups)) {
    kn_free(&k);
    return 1;
  }
  lp2p_tstamp end = join_all(&k, n, 0, (lp2p_tstamp)n * 20 * MS, 1);
  kn_run_until(&k, end + 30 * SEC);
  scen_line(c, "kad partition joined cross_table_permille %u",
            cross_permille(&k));
  /* split for 5 minutes: lookups inside and across, newcomers on both
   * sides (they can only meet their own half) */
  kn_split(&k, 1);
  lp2p_tstamp at = kn_now(&k);
  split_lookups(&k, at + 30 * SEC, lookups, G_SPLIT_IN, G_SPLIT_CROSS);
  for (uint32_t i = 0; i < 2 * extra; i++)
    kn_join_at(&k, at + 60 * SEC + (lp2p_tstamp)i * 100 * MS,
               (uint8_t)(1 + i % 2), 5 * SEC);
  kn_run_lookups(&k, at + 300 * SEC);
  kn_run_until(&k, at + 300 * SEC);
  scen_line(c, "kad partition split cross_table_permille %u",
            cross_permille(&k));
  line_group(&k, "split inside", G_SPLIT_IN);
  line_group(&k, "split across", G_SPLIT_CROSS);
  /* heal; every host's 10-minute refresh runs once in the next 5 minutes
   * (their first came at join + 1 s) */
  kn_split(&k, 0);
  at = kn_now(&k);
  kn_run_until(&k, at + 300 * SEC);
  scen_line(c, "kad partition healed cross_table_permille %u",
            cross_permille(&k));
  split_lookups(&k, kn_now(&k), lookups, G_HEALED_IN, G_HEALED_CROSS);
  kn_run_lookups(&k, kn_now(&k) + lookups * 20 * MS + 120 * SEC);
  line_group(&k, "healed inside", G_HEALED_IN);
  line_group(&k, "healed across", G_HEALED_CROSS);
  kn_stats st, sc;
  kn_stats_get(&k, G_HEALED_CROSS, &sc);
  kn_stats_get(&k, -1, &st);
  line_summary(&k, &st);
  if (kn_running(&k))
    scen_fail(c, "%u lookups still running at the deadline",
              kn_running(&k));
  if (!enough(&sc, 99, 100))
    scen_fail(c,
              "after healing found %u of %u lookups across the cut "
              "(< 99 %%)",
              sc.found, sc.lookups);
  kn_stats_get(&k, G_SPLIT_CROSS, &st);
  if (st.found)
    scen_fail(c, "%u lookups reached the other side during the split",
              st.found);
  kn_free(&k);
  return c->fail[0] ? 1 : 0;
}

static int run_churn(scen_ctx *c) { return run_churn_n(c, 1000, 1000); }
static int run_churn_small(scen_ctx *c) {
  return run_churn_n(c, SMALL_NODES, SMALL_NODES);
}
static int run_partition(scen_ctx *c) { return run_partition_n(c, 1000, 400); }
static int run_partition_small(scen_ctx *c) {
  return run_partition_n(c, SMALL_NODES, SMALL_NODES);
}

const scenario scenario_kad = {
    "kad",
    "1,000 DHT servers bootstrap, then 1,000 find-peer lookups "
    "(make sim-kad)",
    run_kad};
const scenario scenario_kad_churn = {
    "kad-churn",
    "kad with 10 % of the hosts leaving and joining during the "
    "lookups (make sim-kad)",
    run_churn};
const scenario scenario_kad_partition = {
    "kad-partition",
    "kad split in two halves, then healed: lookups across "
    "the former cut (make sim-kad)",
    run_partition};
const scenario scenario_kad_10k = {
    "kad-10k", "kad with 10,000 hosts, heap per host (make sim-kad-10k)",
    run_kad_10k};
const scenario scenario_kad_small = {
    "kad-small", "kad with 200 hosts and 200 lookups", run_kad_small};
const scenario scenario_kad_churn_small = {
    "kad-churn-small", "kad-churn with 200 hosts", run_churn_small};
const scenario scenario_kad_partition_small = {
    "kad-partition-small", "kad-partition with 200 hosts", run_partition_small};
