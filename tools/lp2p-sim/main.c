/* lp2p-sim: run one deterministic simulator scenario.
 *
 *   lp2p-sim --scenario NAME --seed N [--trace FILE]
 *   lp2p-sim --list
 *
 * Prints "seed <n>", "trace <hex hash>", the scenario's lines and a final
 * "ok" or "fail <reason>"; exits 0 / 1; bad usage: one line on stderr and
 * exit 2. The same seed always gives the same output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/driver.h"
#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

/* How tests/sim/run.sh treats a scenario (--list shows the tag). */
#define HEAVY 0x1u /* [heavy]: make test runs it on one seed */
#define LONG 0x2u  /* [long]: not in make test; its own make target */

static const struct {
  const scenario *sc;
  unsigned flags;
} scenarios[] = {
    {&scenario_tcp_punch_matrix, 0},  {&scenario_tcp_punch_rst, 0},
    {&scenario_ping, 0},              {&scenario_nat_dialout, 0},
    {&scenario_nat_dialin, 0},        {&scenario_swarm, 0},
    {&scenario_relay, 0},             {&scenario_punch_matrix, 0},
    {&scenario_autonat, 0},           {&scenario_portmap, 0},
    {&scenario_nat_classify, 0},      {&scenario_kad_small, HEAVY},
    {&scenario_kad_churn_small, HEAVY},
    {&scenario_kad_partition_small, HEAVY},
    {&scenario_kad, LONG},            {&scenario_kad_churn, LONG},
    {&scenario_kad_partition, LONG},  {&scenario_kad_10k, LONG},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

#define FNV_PRIME UINT64_C(0x100000001b3)

void scen_line(scen_ctx *c, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (c->nlines == c->lines_cap) {
    size_t nc = c->lines_cap ? c->lines_cap * 2 : 64;
    char **nl = realloc(c->lines, nc * sizeof(*nl));
    if (!nl)
      return;
    c->lines = nl;
    c->lines_cap = nc;
  }
  char *l = strdup(buf);
  if (l)
    c->lines[c->nlines++] = l;
}

int scen_fail(scen_ctx *c, const char *fmt, ...) {
  if (c->fail[0])
    return 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->fail, sizeof c->fail, fmt, ap);
  va_end(ap);
  return 1;
}

static void trace_sink(void *ud, const char *line) {
  scen_ctx *c = ud;
  fprintf(c->trace_file, "w%u %s\n", c->worlds, line);
}

lp2p_sim *scen_world(scen_ctx *c, const lp2p_sim_config *cfg) {
  lp2p_sim *s;
  /* world k of a run gets its own seed derived from the run's seed, so
   * scenarios with many small worlds do not repeat one random sequence */
  uint64_t seed = c->seed + (uint64_t)c->worlds * UINT64_C(0x9e3779b97f4a7c15);
  if (lp2p_sim_new(&s, seed, cfg) != 0) {
    scen_fail(c, "out of memory creating a world");
    return NULL;
  }
  c->worlds++;
  if (c->trace_file)
    lp2p_sim_set_trace_sink(s, trace_sink, c);
  return s;
}

void scen_world_done(scen_ctx *c, lp2p_sim *s) {
  if (!s)
    return;
  scen_world_account(c, s);
  lp2p_sim_free(s);
}

void scen_world_account(scen_ctx *c, const lp2p_sim *s) {
  if (!s)
    return;
  uint64_t h = lp2p_sim_trace_hash(s);
  for (int i = 0; i < 8; i++) {
    c->trace ^= (uint8_t)(h >> (8 * i));
    c->trace *= FNV_PRIME;
  }
  const char *why = lp2p_sim_failed(s);
  if (why)
    scen_fail(c, "%s", why);
}

static int usage(const char *msg) {
  fprintf(stderr,
          "lp2p-sim: %s (usage: lp2p-sim --scenario NAME --seed N "
          "[--trace FILE] | --list)\n",
          msg);
  return 2;
}

int main(int argc, char **argv) {
  const char *name = NULL, *seed_text = NULL, *trace_path = NULL;
  int list = 0;
  /* LP2P_LOG=error|warn|info|debug|trace: the hosts' log on stderr */
  static lp2p_log log;
  const char *lv = getenv("LP2P_LOG");
  if (lv && *lv) {
    int level = lp2p_log_level_parse(lv);
    if (level < 0) {
      fprintf(stderr, "lp2p-sim: LP2P_LOG: unknown level '%s' "
                      "(error|warn|info|debug|trace)\n", lv);
      return 2;
    }
    lp2p_log_stderr(&log, level);
    shost_log = &log;
  }
  /* LP2P_SIM_THREADS=N: threads for scenarios of federated worlds (the
   * kad ones); the run is the same on any number */
  unsigned long threads = 0;
  const char *tv = getenv("LP2P_SIM_THREADS");
  if (tv && *tv) {
    char *tend;
    errno = 0;
    threads = strtoul(tv, &tend, 10);
    if (errno || *tend || tv[0] == '-' || threads < 1 || threads > 64) {
      fprintf(stderr, "lp2p-sim: LP2P_SIM_THREADS: '%s' is not a number "
                      "from 1 to 64\n", tv);
      return 2;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--list")) {
      list = 1;
    } else if (!strcmp(a, "--scenario") || !strcmp(a, "--seed") ||
               !strcmp(a, "--trace")) {
      if (i + 1 >= argc || !argv[i + 1][0])
        return usage("missing value");
      const char *v = argv[++i];
      if (!strcmp(a, "--scenario"))
        name = v;
      else if (!strcmp(a, "--seed"))
        seed_text = v;
      else
        trace_path = v;
    } else {
      return usage("unknown argument");
    }
  }
  if (list) {
    if (name || seed_text || trace_path)
      return usage("--list takes no other option");
    /* a tag after the name: [long] scenarios are not in make test,
     * [heavy] ones run one seed there (tests/sim/run.sh) */
    for (size_t i = 0; i < NSCEN; i++)
      printf("%-18s %s%s\n", scenarios[i].sc->name,
             scenarios[i].flags & LONG    ? "[long] "
             : scenarios[i].flags & HEAVY ? "[heavy] "
                                          : "",
             scenarios[i].sc->summary);
    return 0;
  }
  if (!name || !seed_text)
    return usage("--scenario and --seed are required");
  const scenario *sc = NULL;
  for (size_t i = 0; i < NSCEN; i++)
    if (!strcmp(scenarios[i].sc->name, name))
      sc = scenarios[i].sc;
  if (!sc)
    return usage("unknown scenario (see --list)");
  char *end;
  errno = 0;
  unsigned long long seed = strtoull(seed_text, &end, 0);
  if (errno || *end || seed_text[0] == '-')
    return usage("bad seed (a 64-bit unsigned number)");
  scen_ctx c;
  memset(&c, 0, sizeof c);
  c.seed = seed;
  c.threads = (unsigned)threads;
  c.trace = UINT64_C(0xcbf29ce484222325);
  if (trace_path) {
    c.trace_file = fopen(trace_path, "w");
    if (!c.trace_file)
      return usage("cannot open the trace file");
  }
  int rc = sc->run(&c);
  if (rc != 0 && !c.fail[0])
    scen_fail(&c, "scenario failed");
  printf("seed %llu\n", seed);
  printf("trace %016llx\n", (unsigned long long)c.trace);
  for (size_t i = 0; i < c.nlines; i++) {
    printf("%s\n", c.lines[i]);
    free(c.lines[i]);
  }
  free(c.lines);
  if (c.trace_file)
    fclose(c.trace_file);
  if (c.fail[0]) {
    printf("fail %s\n", c.fail);
    return 1;
  }
  printf("ok\n");
  return 0;
}
