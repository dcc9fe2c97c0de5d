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
#include "lp2p/crypto.h"

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

/* ---- samples of rates and costs ---------------------------------------- */

/** Rates in MiB/s, one per measured interval, on both clocks. */
typedef struct bench_rates {
  bench_samples wall, cpu;
} bench_rates;

static inline void bench_rates_add(bench_rates *rs, size_t bytes, bench_stamp a,
                                   bench_stamp b) {
  if (b.wall_ns > a.wall_ns)
    bench_samples_add(&rs->wall, (double)bytes / BENCH_MIB /
                                     ((double)(b.wall_ns - a.wall_ns) / 1e9));
  if (b.cpu_ns > a.cpu_ns)
    bench_samples_add(&rs->cpu, (double)bytes / BENCH_MIB /
                                    ((double)(b.cpu_ns - a.cpu_ns) / 1e9));
}

static inline void bench_rates_free(bench_rates *rs) {
  bench_samples_free(&rs->wall);
  bench_samples_free(&rs->cpu);
}

/** Costs in microseconds per operation, one per interval, both clocks. */
typedef struct bench_costs {
  bench_samples wall, cpu;
} bench_costs;

static inline void bench_costs_add(bench_costs *s, int ops, bench_stamp a,
                                   bench_stamp b) {
  bench_samples_add(&s->wall, (double)(b.wall_ns - a.wall_ns) / ops / 1e3);
  bench_samples_add(&s->cpu, (double)(b.cpu_ns - a.cpu_ns) / ops / 1e3);
}

static inline void bench_costs_free(bench_costs *s) {
  bench_samples_free(&s->wall);
  bench_samples_free(&s->cpu);
}

/* ---- the AEAD bound ------------------------------------------------------
 * ChaCha20-Poly1305 through lp2p_aead_encrypt + lp2p_aead_decrypt (in place,
 * empty associated data, as the Noise transport phase does) of full
 * 65519-byte frames: what an in-memory transfer must do per byte at least.
 * One rate sample per BENCH_SEG_BYTES. */

#define BENCH_SEG_BYTES ((size_t)4 << 20)
#define BENCH_FRAME_PT 65519u /* LP2P_NOISE_PLAINTEXT_BYTES_MAX */

static inline void bench_aead_run(size_t total, const lp2p_rng *rng,
                                  bench_rates *rs) {
  static uint8_t frame[BENCH_FRAME_PT + LP2P_AEAD_TAG_LEN];
  const size_t pt = BENCH_FRAME_PT;
  uint8_t key[32];
  rng->fill(rng->ctx, key, sizeof key);
  for (size_t i = 0; i < pt; i++)
    frame[i] = (uint8_t)(i * 131u + 7u);
  size_t frames = (total + pt - 1) / pt, per_seg = BENCH_SEG_BYTES / pt;
  bench_stamp t0 = bench_stamp_now();
  for (uint64_t i = 0; i < frames; i++) {
    lp2p_aead_encrypt(key, i, NULL, 0, frame, pt, frame);
    if (lp2p_aead_decrypt(key, i, NULL, 0, frame, sizeof frame, frame) != 0)
      bench_die("AEAD round trip failed");
    if ((i + 1) % per_seg == 0 || i + 1 == frames) {
      bench_stamp t1 = bench_stamp_now();
      bench_rates_add(rs, ((size_t)(i % per_seg) + 1) * pt, t0, t1);
      t0 = t1;
    }
  }
}

/* ---- the Noise XX handshake crypto bound ---------------------------------
 * Per handshake, both sides together (noise spec, XX: `-> e`,
 * `<- e, ee, s, es`, `-> s, se`): 6 X25519 DH (ee, es, se on each side),
 * 4 X25519 base-point multiplications (an ephemeral and a static key per
 * side: the engine draws a fresh static key per session, see noise.h),
 * 2 ed25519 signatures (each side signs "noise-libp2p-static-key:" || its
 * static key) and 2 verifications. Measured through the crypto API the
 * engine uses, in interleaved batches of BENCH_BATCH operations. */

#define BENCH_BATCH 10

typedef struct bench_prims {
  bench_costs dh, base, sign, verify;
} bench_prims;

static inline void bench_hs_bound_run(int batches, const lp2p_privkey *id,
                                      const lp2p_rng *rng, bench_prims *ps) {
  uint8_t priv[32], pub[32], shared[32];
  rng->fill(rng->ctx, priv, sizeof priv);
  lp2p_x25519_public(pub, priv);
  uint8_t msg[56]; /* "noise-libp2p-static-key:" (24) || X25519 key (32) */
  memcpy(msg, "noise-libp2p-static-key:", 24);
  memcpy(msg + 24, pub, 32);
  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len = sizeof sig;
  for (int b = 0; b < batches; b++) {
    bench_stamp t0 = bench_stamp_now();
    for (int i = 0; i < BENCH_BATCH; i++) {
      if (lp2p_x25519(shared, priv, pub) != 0)
        bench_die("x25519 failed");
      priv[i & 31] ^= shared[0]; /* vary the scalar */
    }
    bench_stamp t1 = bench_stamp_now();
    for (int i = 0; i < BENCH_BATCH; i++) {
      lp2p_x25519_public(pub, priv);
      priv[i & 31] ^= pub[0];
    }
    bench_stamp t2 = bench_stamp_now();
    for (int i = 0; i < BENCH_BATCH; i++) {
      size_t l = sizeof sig;
      msg[24 + (i & 31)] ^= (uint8_t)(i + 1);
      bench_check(lp2p_key_sign(id, msg, sizeof msg, sig, &l),
                  "lp2p_key_sign");
      sig_len = l;
    }
    bench_stamp t3 = bench_stamp_now();
    for (int i = 0; i < BENCH_BATCH; i++)
      if (lp2p_key_verify(&id->pub, msg, sizeof msg, sig, sig_len) != 0)
        bench_die("signature verify failed");
    bench_stamp t4 = bench_stamp_now();
    bench_costs_add(&ps->dh, BENCH_BATCH, t0, t1);
    bench_costs_add(&ps->base, BENCH_BATCH, t1, t2);
    bench_costs_add(&ps->sign, BENCH_BATCH, t2, t3);
    bench_costs_add(&ps->verify, BENCH_BATCH, t3, t4);
  }
}

static inline void bench_prims_free(bench_prims *ps) {
  bench_costs_free(&ps->dh);
  bench_costs_free(&ps->base);
  bench_costs_free(&ps->sign);
  bench_costs_free(&ps->verify);
}

/** Crypto cost of one handshake (both sides), in microseconds, from the
 * primitives' medians on the wall (cpu = 0) or thread CPU clock. */
static inline double bench_hs_bound_us(bench_prims *ps, int cpu) {
  bench_samples *d = cpu ? &ps->dh.cpu : &ps->dh.wall;
  bench_samples *b = cpu ? &ps->base.cpu : &ps->base.wall;
  bench_samples *s = cpu ? &ps->sign.cpu : &ps->sign.wall;
  bench_samples *v = cpu ? &ps->verify.cpu : &ps->verify.wall;
  return 6 * bench_samples_median(d) + 4 * bench_samples_median(b) +
         2 * bench_samples_median(s) + 2 * bench_samples_median(v);
}

#endif
