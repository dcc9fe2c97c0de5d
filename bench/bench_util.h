/* Shared helpers for the lp2p benchmarks (bench/bench_*.c): the monotonic
 * clock, medians, a side-by-side result table and fatal-error exits.
 *
 * Benchmarks report; they never fail because a target is missed (DESIGN.md
 * section 6). A benchmark exits nonzero only on a real error (an engine
 * call failing, a transfer that does not complete). */
#ifndef LP2P_BENCH_UTIL_H
#define LP2P_BENCH_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp2p/common.h"

#define BENCH_MIB (1024.0 * 1024.0)

/** Monotonic clock in nanoseconds. */
static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/** Thread CPU time in nanoseconds (a cross-check on a loaded machine:
 * unlike the monotonic clock it does not count time spent descheduled). */
static inline uint64_t bench_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/** Both clocks at one instant. */
typedef struct bench_stamp {
  uint64_t wall_ns, cpu_ns;
} bench_stamp;

static inline bench_stamp bench_stamp_now(void) {
  bench_stamp s;
  s.wall_ns = bench_now_ns();
  s.cpu_ns = bench_cpu_ns();
  return s;
}

/** A growable list of samples (for medians over many short intervals). */
typedef struct bench_samples {
  double *v;
  int n, cap;
} bench_samples;

static inline void bench_samples_add(bench_samples *s, double x) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 256;
    double *v = (double *)realloc(s->v, (size_t)cap * sizeof *v);
    if (!v) {
      fprintf(stderr, "bench error: out of memory\n");
      exit(2);
    }
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
}

/** Print a message and exit with status 2 (a real error, not a missed
 * target). */
static inline void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

/** Exit with a message when `rc` is a negative lp2p error. */
static inline void bench_check(long long rc, const char *what) {
  if (rc < 0)
    bench_die("%s: %s (%lld)", what, lp2p_strerror((int)rc), rc);
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/** Median of `n` values (sorts `v` in place); 0 when n <= 0. */
static inline double bench_median(double *v, int n) {
  if (n <= 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/** Median of the samples (sorts them). 0 when empty. */
static inline double bench_samples_median(bench_samples *s) {
  return bench_median(s->v, s->n);
}

static inline void bench_samples_free(bench_samples *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}

/** The 1-minute load average (-1 if unknown), printed so a reader can
 * judge how noisy the machine was. */
static inline double bench_loadavg(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1)
      l = -1;
    fclose(f);
  }
  return l;
}

/** An environment variable as a positive integer, or `dflt`. */
static inline long bench_env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  if (!s || !*s)
    return dflt;
  char *end;
  long v = strtol(s, &end, 10);
  return (*end || v <= 0) ? dflt : v;
}

/* ---- result table ------------------------------------------------------
 * One row per metric: ours, the reference measured in the same run, the
 * ratio ours/reference, the target and whether it is met. For "lower is
 * better" metrics (memory, latency) the target compares `ours` directly. */

static inline void bench_table_header(void) {
  printf("%-30s %14s  %-30s %7s  %-12s %s\n", "metric", "ours", "reference",
         "ratio", "target", "met");
}

/** A ratio row: met when ours/ref >= target_ratio. `unit` follows both
 * values. */
static inline void bench_row_ratio(const char *metric, double ours,
                                   const char *ref_name, double ref,
                                   const char *unit, double target_ratio) {
  char a[32], b[64], t[24];
  double ratio = ref > 0 ? ours / ref : 0;
  snprintf(a, sizeof a, "%.1f %s", ours, unit);
  snprintf(b, sizeof b, "%s %.1f %s", ref_name, ref, unit);
  snprintf(t, sizeof t, ">= %.2f", target_ratio);
  printf("%-30s %14s  %-30s %7.3f  %-12s %s\n", metric, a, b, ratio, t,
         ratio >= target_ratio ? "yes" : "NO");
}

/** An absolute row with an upper bound: met when ours <= max. */
static inline void bench_row_max(const char *metric, double ours,
                                 const char *ref_text, const char *unit,
                                 double max) {
  char a[32], t[24];
  snprintf(a, sizeof a, "%.0f %s", ours, unit);
  snprintf(t, sizeof t, "<= %.0f %s", max, unit);
  printf("%-30s %14s  %-30s %7s  %-12s %s\n", metric, a, ref_text, "-", t,
         ours <= max ? "yes" : "NO");
}

/** A row with no target (context for the rows around it). */
static inline void bench_row_info(const char *metric, const char *ours,
                                  const char *ref_text) {
  printf("%-30s %14s  %-30s %7s  %-12s %s\n", metric, ours, ref_text, "-", "-",
         "-");
}

#endif
