/* A Kademlia network of whole lp2p_hosts on the simulator (the kad,
 * kad-churn, kad-partition and kad-10k scenarios of issue 10): public
 * hosts in DHT server mode join through a few bootstrap hosts, run their
 * own bootstrap (self-lookup, refresh), and then answer find-peer lookups
 * from random hosts for random live peers. A lookup counts as found when
 * the query named the target and the finder then reaches it by its peer id
 * alone: a dial through the addresses the lookup taught it (or the
 * connection it already had), then a ping round trip on it. */
#ifndef LP2P_SIM_KADNET_H
#define LP2P_SIM_KADNET_H

#include "lp2p/sim_fed.h"
#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

/* The network runs as KN_WORLDS federated worlds (lp2p/sim_fed.h), host i
 * in world i % KN_WORLDS, on as many threads as the machine has cores (at
 * most KN_WORLDS; LP2P_SIM_THREADS=N sets it). The thread count never
 * changes the run: only the number of worlds would, and it is fixed. */
#define KN_WORLDS 8

/* The hosts everyone joins through are the first ones to start: at least
 * KN_BOOT_MIN, and one per KN_BOOT_PER hosts planned (10,000 hosts joining
 * through 4 left most tables empty: each bootstrap host took ~37 new
 * connections a second, far past its connection limits). */
#define KN_BOOT_MIN 4
#define KN_BOOT_PER 250
/* Bootstrap hosts each joining host dials. */
#define KN_BOOT_DIALS 3
/* A bootstrap host's conns_max (kadnet.c tweak: a bootstrapper's limits) */
#define KN_BOOT_CONNS_MAX 8192

typedef struct knode {
  shost h;
  lp2p_tstamp joined; /* virtual time it started */
  uint8_t live;  /* host running */
  uint8_t ready; /* joined long enough ago to be a lookup target */
  uint8_t side;  /* kad-partition: 1 or 2 (0 = none) */
  uint8_t world; /* index into kadnet.w */
  uint32_t dials_failed; /* DIAL_FAILED events (diagnostics) */
  int dial_err;          /* the last one's reason */
} knode;

enum { KL_IDLE, KL_QUERY, KL_DIAL, KL_PING, KL_FOUND, KL_MISSED, KL_VOID };

typedef struct klookup {
  uint32_t from, to; /* knode indices */
  uint64_t q, dial;
  uint32_t hops;
  uint8_t state;
  uint8_t named;              /* the query named the target (before the dial) */
  uint8_t missed_in;          /* the state it was in when it missed */
  uint8_t group;              /* the caller's tag (kad-partition: phase) */
  uint8_t from_side, to_side; /* picked at start when from/to is KN_ANY */
} klookup;

#define KN_ANY UINT32_MAX

struct kadnet;

/* One world of the federation, and the way back from its node ids. */
typedef struct kn_world {
  struct kadnet *k;
  lp2p_sim *s;
  uint32_t *by_node; /* sim node id -> knode index + 1 */
  uint32_t by_node_cap;
} kn_world;

/* Threads: hosts' events (on_event) run on the worlds' threads and touch
 * only their own host's lookups; everything else (joins, lookup starts,
 * picks, leaves, the figures) runs in federation events or between runs,
 * with every world stopped. `running` is the one counter both change. */
typedef struct kadnet {
  scen_ctx *c;
  lp2p_sim_fed *fed;
  kn_world w[KN_WORLDS];
  unsigned threads;
  lp2p_rng_chacha rng_st;
  lp2p_rng rng;
  knode *nodes;
  uint32_t n, cap; /* hosts ever created */
  klookup *lk;
  uint32_t nlk, lk_cap;
  uint32_t running; /* lookups in KL_QUERY, KL_DIAL or KL_PING (atomic) */
  uint32_t nboot;   /* bootstrap hosts: indices 0..nboot-1 */
  uint64_t join_failed, boot_dials_failed;
  lp2p_maddr boot_list[KN_BOOT_DIALS]; /* the joining host's (join()) */
  size_t boot_list_n;
  uint8_t joining_boot; /* the host join() starts is a bootstrap host */
} kadnet;

/* A world on the context's seed with room for `cap` hosts and `lookups`
 * lookups. Returns 0 or an error (recorded in c). */
int kn_init(kadnet *k, scen_ctx *c, uint32_t cap, uint32_t lookups);
void kn_free(kadnet *k);
/* Start a new host at `at` (virtual) that joins through the bootstrap
 * hosts; it becomes a lookup target `ready_after_ns` later. `side` tags
 * it for partitions. */
void kn_join_at(kadnet *k, lp2p_tstamp at, uint8_t side,
                lp2p_tstamp ready_after_ns);
/* Stop host i now (a crash: its sockets abort, nobody is told). */
void kn_leave(kadnet *k, uint32_t i);
/* A random live and ready host (side 0 = any), or UINT32_MAX. */
uint32_t kn_pick(kadnet *k, uint8_t side);
/* Start a find-peer lookup at `at`, tagged `group`, from a random live
 * host of `from_side` for a random other live one of `to_side` (0 = any),
 * both picked when it starts. */
void kn_lookup_at(kadnet *k, lp2p_tstamp at, uint8_t from_side, uint8_t to_side,
                  uint8_t group);
/* Run until every lookup ended or `deadline`. */
void kn_run_lookups(kadnet *k, lp2p_tstamp deadline);
/* Run every world up to t (lp2p_sim_fed_run_until). */
void kn_run_until(kadnet *k, lp2p_tstamp t);
lp2p_tstamp kn_now(const kadnet *k);
/* fn(f, k, arg) at `at`, every world stopped (a federation event). */
void kn_at(kadnet *k, lp2p_tstamp at, lp2p_sim_fed_fn fn, uint64_t arg);
/* Lookups still running. */
uint32_t kn_running(const kadnet *k);
/* Host i's world and host. */
lp2p_sim *kn_sim(const kadnet *k, uint32_t i);
lp2p_host *kn_host(const kadnet *k, uint32_t i);
/* Diagnostics for LP2P_SIM_TIMING runs (stderr, never in the trace):
 * the hosts whose table holds fewer than `below` peers, and each missed
 * lookup with the step it failed at and both ends' tables. */
void kn_report_thin(const kadnet *k, size_t below);
void kn_report_missed(const kadnet *k);
/* Open connections and peer-store entries per live host (means). */
void kn_load(const kadnet *k, uint32_t *conns, uint32_t *peers);
/* Partition: packets between hosts of sides 1 and 2 are dropped while on. */
void kn_split(kadnet *k, int on);

/* Summary of the lookups of `group` (-1: all) that were not voided by
 * churn (origin or target gone before the end). */
typedef struct kn_stats {
  uint32_t lookups, found, named, voided;
  uint32_t median_hops, p99_hops;
} kn_stats;
void kn_stats_get(const kadnet *k, int group, kn_stats *out);
/* Routing-table sizes of live hosts: min, median, max. */
void kn_tables(const kadnet *k, size_t *min, size_t *median, size_t *max);
/* Heap of live hosts (the sim's counting allocators): mean live bytes and
 * the largest peak. */
void kn_memory(kadnet *k, uint64_t *mean_live, uint64_t *max_peak);

#endif
