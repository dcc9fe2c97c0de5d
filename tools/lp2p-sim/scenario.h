/* lp2p-sim scenarios: each one builds its world(s) from the seed, runs
 * them and reports lines and a verdict through a scen_ctx. */
#ifndef LP2P_SIM_SCENARIO_H
#define LP2P_SIM_SCENARIO_H

#include <stdio.h>

#include "lp2p/sim.h"

typedef struct scen_ctx {
  uint64_t seed;
  FILE *trace_file; /* NULL = no trace file */
  uint64_t trace;   /* hash over every world's trace hash */
  char **lines;
  size_t nlines, lines_cap;
  char fail[512]; /* first failure reason ("" = none) */
  unsigned worlds;
  unsigned threads; /* LP2P_SIM_THREADS (0: unset) for federated worlds */
} scen_ctx;

typedef struct scenario {
  const char *name;
  const char *summary;
  /* Returns 0 when every check passed (ctx->fail empty). */
  int (*run)(scen_ctx *ctx);
} scenario;

/* A scenario output line (printed after "seed" and "trace"). */
void scen_line(scen_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Record a failure (the first one is reported). Returns 1. */
int scen_fail(scen_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A new world on the run's seed, with the trace sink installed. NULL on
 * allocation failure (recorded). */
lp2p_sim *scen_world(scen_ctx *c, const lp2p_sim_config *cfg);
/* Fold the world's trace hash in, record its failure if any, free it. */
void scen_world_done(scen_ctx *c, lp2p_sim *s);
/* scen_world_done without the free (the caller frees the world later,
 * perhaps on another thread). */
void scen_world_account(scen_ctx *c, const lp2p_sim *s);

extern const scenario scenario_tcp_punch_matrix;
extern const scenario scenario_tcp_punch_rst;
extern const scenario scenario_ping;
extern const scenario scenario_nat_dialout;
extern const scenario scenario_nat_dialin;
extern const scenario scenario_swarm;
extern const scenario scenario_relay;
extern const scenario scenario_punch_matrix;
extern const scenario scenario_autonat;
extern const scenario scenario_portmap;
extern const scenario scenario_nat_classify;
extern const scenario scenario_kad;
extern const scenario scenario_kad_churn;
extern const scenario scenario_kad_partition;
extern const scenario scenario_kad_10k;
extern const scenario scenario_kad_small;
extern const scenario scenario_kad_churn_small;
extern const scenario scenario_kad_partition_small;

#endif
