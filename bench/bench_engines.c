/* Connection-engine benchmarks (issue 3): Noise + yamux wired in memory.
 *
 *  1. Throughput of one yamux stream over Noise, both sides in this process
 *     (yamux output -> lp2p_noise_write; Noise output -> the other side's
 *     lp2p_noise_feed; decrypted plaintext -> lp2p_yamux_feed; the reader
 *     consumes everything), next to the raw ChaCha20-Poly1305 bound of the
 *     same backend: lp2p_aead_encrypt + lp2p_aead_decrypt of 65519-byte
 *     frames (an in-memory transfer does both). Target ratio >= 0.85.
 *  2. Noise XX handshakes per second (both sides, ed25519 identities, up to
 *     HANDSHAKE_DONE polled on both) next to the crypto bound measured in
 *     the same run. Per handshake, both sides together (noise spec, XX:
 *     `-> e`, `<- e, ee, s, es`, `-> s, se`): 6 X25519 DH (ee, es, se on
 *     each side), 4 X25519 base-point multiplications (an ephemeral and a
 *     static key per side: our engine draws a fresh static key per session,
 *     see noise.h), 2 ed25519 signatures (each side signs
 *     "noise-libp2p-static-key:" || its static key) and 2 verifications.
 *     Target ratio >= 0.60.
 *  3. Heap bytes per idle established connection (Noise + yamux, one side,
 *     after the handshake and the first yamux ping are drained) and per
 *     idle open stream (opened, ACKed, one 32-byte message each way read),
 *     from lp2p_mem_counting. Targets <= 8 KiB and <= 512 B.
 *
 * Runs alternate ours and the reference (ABAB...), and every rate is the
 * median over short intervals (4 MiB segments, single handshakes, batches
 * of 10 primitives), so load from other processes hits both sides alike
 * and preempted intervals fall out. Each ratio is also shown in thread CPU
 * time as a cross-check for loaded machines. The throughput is measured a
 * second time with glibc's heap trimming and mmap threshold raised, to
 * show what the engines' release-buffers-when-drained policy costs.
 * Environment: LP2P_BENCH_MIB (transfer size, default 256),
 * LP2P_BENCH_RUNS (default 5), LP2P_BENCH_HS (handshakes per run, default
 * 300), LP2P_BENCH_CONNS / LP2P_BENCH_STREAMS (default 1000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif

#include "bench/bench_util.h"
#include "lp2p/crypto.h"
#include "lp2p/noise.h"
#include "lp2p/yamux.h"

static lp2p_privkey g_id[2]; /* 0 = dialer, 1 = listener */
static lp2p_rng g_rng;       /* production RNG, as a host would use */
static const char *const g_muxers[] = {LP2P_YAMUX_PROTOCOL_ID};

typedef struct side {
  lp2p_noise *n;
  lp2p_yamux *y;
  int hs_done;
} side;

typedef struct conn {
  side s[2]; /* 0 = dialer (Noise initiator, yamux client) */
} conn;

/* ---- wiring ------------------------------------------------------------ */

static void conn_noise_new(conn *c, const lp2p_mem *ma, const lp2p_mem *mb,
                           lp2p_tstamp now) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < 2; i++) {
    lp2p_noise_config cfg;
    lp2p_noise_config_default(&cfg);
    cfg.identity = &g_id[i];
    cfg.muxers = g_muxers;
    cfg.muxers_len = 1;
    bench_check(lp2p_noise_new(&c->s[i].n, i == 0, &cfg, i ? mb : ma, &g_rng,
                               now),
                "lp2p_noise_new");
  }
}

/* Shuttle handshake messages until both sides polled HANDSHAKE_DONE. */
static void conn_handshake(conn *c, lp2p_tstamp now) {
  for (int round = 0; round < 64; round++) {
    for (int i = 0; i < 2; i++) {
      lp2p_noise *from = c->s[i].n, *to = c->s[1 - i].n;
      size_t len;
      const uint8_t *p;
      while ((p = lp2p_noise_out_peek(from, &len)) != NULL) {
        lp2p_ssize r = lp2p_noise_feed(to, now, p, len);
        bench_check(r, "lp2p_noise_feed (handshake)");
        if (r == 0)
          break;
        lp2p_noise_out_consume(from, (size_t)r);
      }
    }
    for (int i = 0; i < 2; i++) {
      lp2p_noise_event ev;
      while (lp2p_noise_poll_event(c->s[i].n, &ev)) {
        if (ev.type == LP2P_NOISE_EV_HANDSHAKE_DONE)
          c->s[i].hs_done = 1;
        else if (ev.type == LP2P_NOISE_EV_CLOSED)
          bench_die("handshake failed: %s", lp2p_strerror(ev.err));
      }
    }
    if (c->s[0].hs_done && c->s[1].hs_done)
      return;
  }
  bench_die("handshake did not finish");
}

static void conn_yamux_new(conn *c, const lp2p_mem *ma, const lp2p_mem *mb,
                           lp2p_tstamp now) {
  for (int i = 0; i < 2; i++)
    bench_check(lp2p_yamux_new(&c->s[i].y, i == 0, NULL, i ? mb : ma, now),
                "lp2p_yamux_new");
}

static void conn_free(conn *c) {
  for (int i = 0; i < 2; i++) {
    lp2p_yamux_free(c->s[i].y);
    lp2p_noise_free(c->s[i].n);
  }
  memset(c, 0, sizeof *c);
}

/* Move everything that can move from a to b: a's yamux output into a's
 * Noise (encrypt), a's Noise output into b's Noise (feed), b's plaintext
 * into b's yamux. Returns the bytes moved (0 = quiet). */
static size_t pump(side *a, side *b, lp2p_tstamp now) {
  size_t total = 0, moved;
  do {
    moved = 0;
    size_t len;
    const uint8_t *p;
    while ((p = lp2p_yamux_out_peek(a->y, &len)) != NULL) {
      lp2p_ssize w = lp2p_noise_write(a->n, now, p, len);
      bench_check(w, "lp2p_noise_write");
      if (w == 0)
        break;
      lp2p_yamux_out_consume(a->y, (size_t)w);
      moved += (size_t)w;
    }
    while ((p = lp2p_noise_out_peek(a->n, &len)) != NULL) {
      lp2p_ssize f = lp2p_noise_feed(b->n, now, p, len);
      bench_check(f, "lp2p_noise_feed");
      if (f == 0)
        break;
      lp2p_noise_out_consume(a->n, (size_t)f);
      moved += (size_t)f;
    }
    while ((p = lp2p_noise_read_peek(b->n, &len)) != NULL) {
      lp2p_ssize f = lp2p_yamux_feed(b->y, now, p, len);
      bench_check(f, "lp2p_yamux_feed");
      if (f == 0)
        break;
      lp2p_noise_read_consume(b->n, (size_t)f);
      moved += (size_t)f;
    }
    total += moved;
  } while (moved);
  return total;
}

/* Handle a side's yamux events the way an idle application would: accept
 * inbound streams, read everything, and (echo) send back what was read.
 * Returns the number of events. */
static int side_events(side *s, lp2p_tstamp now, int echo) {
  lp2p_yamux_event ev;
  int n = 0;
  while (lp2p_yamux_poll_event(s->y, &ev)) {
    n++;
    switch (ev.type) {
    case LP2P_YAMUX_EV_STREAM_OPENED:
      bench_check(lp2p_yamux_stream_accept(s->y, now, ev.stream_id),
                  "lp2p_yamux_stream_accept");
      break;
    case LP2P_YAMUX_EV_STREAM_READABLE: {
      size_t len;
      const uint8_t *p;
      while ((p = lp2p_yamux_stream_read_peek(s->y, ev.stream_id, &len))) {
        if (echo) {
          uint8_t tmp[256];
          size_t k = len < sizeof tmp ? len : sizeof tmp;
          memcpy(tmp, p, k);
          lp2p_ssize w = lp2p_yamux_stream_write(s->y, now, ev.stream_id,
                                                 tmp, k);
          bench_check(w, "lp2p_yamux_stream_write (echo)");
          if ((size_t)w != k)
            bench_die("echo write cut short");
          len = k;
        }
        bench_check(lp2p_yamux_stream_read_consume(s->y, now, ev.stream_id,
                                                   len),
                    "lp2p_yamux_stream_read_consume");
      }
      break;
    }
    case LP2P_YAMUX_EV_CLOSED:
      bench_die("yamux session closed: %s", lp2p_strerror(ev.error));
      break;
    default:
      break;
    }
  }
  return n;
}

/* Pump both ways and handle events until nothing moves. */
static void conn_settle(conn *c, lp2p_tstamp now, int echo1) {
  for (int i = 0; i < 100000; i++) {
    size_t m = pump(&c->s[0], &c->s[1], now) + pump(&c->s[1], &c->s[0], now);
    int e = side_events(&c->s[0], now, 0) + side_events(&c->s[1], now, echo1);
    if (!m && !e)
      return;
  }
  bench_die("connection did not settle");
}

/* ---- 1. throughput ----------------------------------------------------- */

static uint8_t g_src[1 << 20];

/* One stream, `total` bytes dialer -> listener, everything read. */
static void run_stream(size_t total, bench_rates *rs) {
  conn c;
  lp2p_tstamp now = bench_now_ns();
  conn_noise_new(&c, NULL, NULL, now);
  conn_handshake(&c, now);
  conn_yamux_new(&c, NULL, NULL, now);
  conn_settle(&c, now, 0);
  side *a = &c.s[0], *b = &c.s[1];
  uint32_t id;
  bench_check(lp2p_yamux_stream_open(a->y, now, &id), "lp2p_yamux_stream_open");

  size_t sent = 0, got = 0, seg_start = 0;
  int idle = 0;
  bench_stamp t0 = bench_stamp_now();
  while (got < total) {
    now = bench_now_ns();
    size_t moved = 0;
    if (sent < total) {
      size_t k = total - sent < sizeof g_src ? total - sent : sizeof g_src;
      lp2p_ssize w = lp2p_yamux_stream_write(a->y, now, id, g_src, k);
      bench_check(w, "lp2p_yamux_stream_write");
      sent += (size_t)w;
      moved += (size_t)w;
    }
    moved += pump(a, b, now);
    lp2p_yamux_event ev;
    while (lp2p_yamux_poll_event(b->y, &ev)) {
      if (ev.type == LP2P_YAMUX_EV_STREAM_OPENED)
        bench_check(lp2p_yamux_stream_accept(b->y, now, ev.stream_id),
                    "lp2p_yamux_stream_accept");
      else if (ev.type == LP2P_YAMUX_EV_CLOSED)
        bench_die("listener session closed: %s", lp2p_strerror(ev.error));
    }
    size_t len;
    while (lp2p_yamux_stream_read_peek(b->y, id, &len)) {
      bench_check(lp2p_yamux_stream_read_consume(b->y, now, id, len),
                  "lp2p_yamux_stream_read_consume");
      got += len;
      moved += len;
    }
    moved += pump(b, a, now);
    while (lp2p_yamux_poll_event(a->y, &ev))
      if (ev.type == LP2P_YAMUX_EV_CLOSED)
        bench_die("dialer session closed: %s", lp2p_strerror(ev.error));
    if (got - seg_start >= BENCH_SEG_BYTES || got == total) {
      bench_stamp t1 = bench_stamp_now();
      bench_rates_add(rs, got - seg_start, t0, t1);
      t0 = t1;
      seg_start = got;
    }
    if (!moved && ++idle > 1000)
      bench_die("transfer stalled at %zu of %zu bytes", got, total);
    if (moved)
      idle = 0;
  }
  if (got != total)
    bench_die("received %zu bytes, sent %zu", got, total);
  conn_free(&c);
}

/* ---- 2. handshakes ----------------------------------------------------- */

/* `n` full handshakes, each timed on its own. */
static void run_handshakes(int n, bench_costs *hs) {
  for (int i = 0; i < n; i++) {
    conn c;
    bench_stamp t0 = bench_stamp_now();
    conn_noise_new(&c, NULL, NULL, t0.wall_ns);
    conn_handshake(&c, t0.wall_ns);
    conn_free(&c);
    bench_costs_add(hs, 1, t0, bench_stamp_now());
  }
}

/* ---- 3. memory ----------------------------------------------------------- */

/* Idle established connections: bytes per connection on each side. */
static void run_conn_memory(int n, double *dialer, double *listener) {
  lp2p_mem_counting ma, mb;
  lp2p_mem_counting_init(&ma, NULL);
  lp2p_mem_counting_init(&mb, NULL);
  conn *cs = calloc((size_t)n, sizeof *cs);
  if (!cs)
    bench_die("out of memory");
  for (int i = 0; i < n; i++) {
    lp2p_tstamp now = bench_now_ns();
    conn_noise_new(&cs[i], &ma.mem, &mb.mem, now);
    conn_handshake(&cs[i], now);
    conn_yamux_new(&cs[i], &ma.mem, &mb.mem, now);
    conn_settle(&cs[i], now, 0);
  }
  *dialer = (double)ma.live_bytes / n;
  *listener = (double)mb.live_bytes / n;
  for (int i = 0; i < n; i++)
    conn_free(&cs[i]);
  free(cs);
  if (ma.live_bytes || mb.live_bytes)
    bench_die("leak: %zu / %zu bytes live after free", ma.live_bytes,
              mb.live_bytes);
}

/* Idle open streams on one connection: bytes per stream on each side. */
static void run_stream_memory(int n, double *opener, double *acceptor) {
  lp2p_mem_counting ma, mb;
  lp2p_mem_counting_init(&ma, NULL);
  lp2p_mem_counting_init(&mb, NULL);
  conn c;
  lp2p_tstamp now = bench_now_ns();
  conn_noise_new(&c, &ma.mem, &mb.mem, now);
  conn_handshake(&c, now);
  lp2p_yamux_config ycfg;
  lp2p_yamux_config_default(&ycfg);
  if (ycfg.streams_max < (uint32_t)n + 1)
    ycfg.streams_max = (uint32_t)n + 1;
  bench_check(lp2p_yamux_new(&c.s[0].y, 1, &ycfg, &ma.mem, now),
              "lp2p_yamux_new");
  bench_check(lp2p_yamux_new(&c.s[1].y, 0, &ycfg, &mb.mem, now),
              "lp2p_yamux_new");
  conn_settle(&c, now, 1);
  size_t base_a = ma.live_bytes, base_b = mb.live_bytes;
  static const uint8_t msg[32] = "thirty-two bytes of stream data";
  for (int i = 0; i < n; i++) {
    uint32_t id;
    bench_check(lp2p_yamux_stream_open(c.s[0].y, now, &id),
                "lp2p_yamux_stream_open");
    lp2p_ssize w = lp2p_yamux_stream_write(c.s[0].y, now, id, msg, sizeof msg);
    bench_check(w, "lp2p_yamux_stream_write");
    if (i % 64 == 63)
      conn_settle(&c, now, 1); /* keep the accept backlog short */
  }
  conn_settle(&c, now, 1);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(c.s[1].y, &st);
  if (st.streams != (uint32_t)n)
    bench_die("listener has %u streams, expected %d", st.streams, n);
  *opener = (double)(ma.live_bytes - base_a) / n;
  *acceptor = (double)(mb.live_bytes - base_b) / n;
  conn_free(&c);
}

/* ---- main ---------------------------------------------------------------- */

/* Alternate AEAD and stream runs; fill both sample sets. */
static void throughput_phase(size_t total, int runs, bench_rates *ours,
                             bench_rates *ref) {
  for (int r = 0; r < runs; r++) {
    bench_aead_run(total, &g_rng, ref);
    run_stream(total, ours);
  }
}

static void throughput_rows(const char *metric, bench_rates *ours,
                            bench_rates *ref, double target) {
  char m[64];
  bench_row_ratio(metric, bench_samples_median(&ours->wall), "AEAD enc+dec",
                  bench_samples_median(&ref->wall), "MiB/s", target);
  snprintf(m, sizeof m, "  same, thread CPU time");
  bench_row_ratio(m, bench_samples_median(&ours->cpu), "AEAD enc+dec",
                  bench_samples_median(&ref->cpu), "MiB/s", target);
}

int main(void) {
  size_t mib = (size_t)bench_env_long("LP2P_BENCH_MIB", 256);
  int runs = (int)bench_env_long("LP2P_BENCH_RUNS", 5);
  int hs_n = (int)bench_env_long("LP2P_BENCH_HS", 300);
  int nconn = (int)bench_env_long("LP2P_BENCH_CONNS", 1000);
  int nstream = (int)bench_env_long("LP2P_BENCH_STREAMS", 1000);

  lp2p_rng_system(&g_rng);
  for (int i = 0; i < 2; i++)
    bench_check(lp2p_key_generate(&g_id[i], LP2P_KEY_ED25519, 0, &g_rng),
                "lp2p_key_generate");
  for (size_t i = 0; i < sizeof g_src; i++)
    g_src[i] = (uint8_t)(i * 131u + 7u);

  printf("bench_engines: lp2p %s, load average %.2f; %d alternating runs "
         "of %zu MiB and %d handshakes; medians over %zu MiB segments, "
         "single handshakes, batches of %d primitives\n",
         lp2p_version(), bench_loadavg(), runs, mib, hs_n, BENCH_SEG_BYTES >> 20,
         BENCH_BATCH);

  size_t total = mib << 20;
  bench_rates warm = {{0}, {0}}, tp = {{0}, {0}}, aead = {{0}, {0}};
  run_stream(total / 16, &warm); /* warm up caches and the allocator */
  throughput_phase(total, runs, &tp, &aead);

  bench_costs hs = {{0}, {0}};
  bench_prims ps;
  memset(&ps, 0, sizeof ps);
  for (int r = 0; r < runs; r++) {
    bench_hs_bound_run(hs_n / BENCH_BATCH > 0 ? hs_n / BENCH_BATCH : 1,
                       &g_id[0], &g_rng, &ps);
    run_handshakes(hs_n, &hs);
  }

  double conn_a, conn_b, str_a, str_b;
  run_conn_memory(nconn, &conn_a, &conn_b);
  run_stream_memory(nstream, &str_a, &str_b);

  /* The engines release their buffers whenever they drain; with glibc's
   * default trim/mmap thresholds that turns into brk/mmap churn and page
   * faults. Measured last because mallopt() is process-wide and sticky. */
  bench_rates tp2 = {{0}, {0}}, aead2 = {{0}, {0}};
  int tuned = 0;
#ifdef __GLIBC__
  if (mallopt(M_TRIM_THRESHOLD, 64 << 20) && mallopt(M_MMAP_THRESHOLD, 32 << 20)) {
    tuned = 1;
    throughput_phase(total, runs, &tp2, &aead2);
  }
#endif

  char ctx[96], ours[32];
  printf("\n");
  bench_table_header();
  throughput_rows("noise+yamux 1 stream", &tp, &aead, 0.85);
  if (tuned)
    throughput_rows("  same, glibc trim/mmap raised", &tp2, &aead2, 0.85);
  double hs_wall = bench_samples_median(&hs.wall);
  double hs_cpu = bench_samples_median(&hs.cpu);
  bench_row_ratio("noise XX handshakes", 1e6 / hs_wall, "crypto bound",
                  1e6 / bench_hs_bound_us(&ps, 0), "hs/s", 0.60);
  bench_row_ratio("  same, thread CPU time", 1e6 / hs_cpu, "crypto bound",
                  1e6 / bench_hs_bound_us(&ps, 1), "hs/s", 0.60);
  snprintf(ctx, sizeof ctx, "dh %.1f base %.1f sign %.1f vfy %.1f",
           bench_samples_median(&ps.dh.wall),
           bench_samples_median(&ps.base.wall),
           bench_samples_median(&ps.sign.wall),
           bench_samples_median(&ps.verify.wall));
  snprintf(ours, sizeof ours, "%.1f us/hs", hs_wall);
  bench_row_info("  bound: 6dh+4base+2sign+2vfy", ours, ctx);
  snprintf(ctx, sizeof ctx, "avg over %d conns", nconn);
  bench_row_max("idle conn, dialer", conn_a, ctx, "B", 8192);
  bench_row_max("idle conn, listener", conn_b, ctx, "B", 8192);
  snprintf(ctx, sizeof ctx, "avg over %d streams", nstream);
  bench_row_max("idle stream, opener", str_a, ctx, "B", 512);
  bench_row_max("idle stream, acceptor", str_b, ctx, "B", 512);
  printf("(bound row: microseconds per X25519 DH, X25519 base-point mult, "
         "ed25519 sign, ed25519 verify; wall clock)\n");
  bench_rates_free(&warm);
  bench_rates_free(&tp);
  bench_rates_free(&aead);
  bench_rates_free(&tp2);
  bench_rates_free(&aead2);
  bench_costs_free(&hs);
  bench_prims_free(&ps);
  return 0;
}
