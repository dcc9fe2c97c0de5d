/* yamux pair tests: two engines shuttled through a seeded re-chunker
 * (random feed chunks of 1 byte .. 64 KiB, random partial out_consume),
 * many streams both ways with byte-exact checking, resets and slow
 * readers; and window auto-tuning with a simulated RTT. Seeds are printed;
 * YAMUX_SEED=<n> replays one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/test_yamux_util.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define NSTREAMS 48
#define MAXID (2 * NSTREAMS + 4)

typedef struct half {
  int known;  /* opened here or OPENED seen */
  int closed; /* STREAM_CLOSED seen */
  int fin_sent, fin_seen, reset_seen, do_reset, reset_done;
  size_t out_total, out_sent, in_total, in_got;
  uint64_t key_out, key_in;
} half;

typedef struct side {
  lp2p_yamux *y;
  lp2p_mem_counting mem;
  half h[MAXID];
  int to_open, opened;
  uint64_t bytes_in;
} side;

/* Both sides derive a stream's plan from its id: sizes, keys, resets. */
static void plan(half *h, uint64_t seed, uint32_t id, int opener) {
  uint64_t s = seed * 1000003u + id;
  size_t len0 = yt_below(&s, 160 * KIB + 1); /* opener -> acceptor */
  size_t len1 = yt_below(&s, 160 * KIB + 1);
  int reset = yt_below(&s, 8) == 0;
  if (yt_below(&s, 6) == 0)
    len0 = 0; /* some streams are one-way */
  uint64_t k0 = yt_next(&s), k1 = yt_next(&s);
  h->known = 1;
  h->out_total = opener ? len0 : len1;
  h->in_total = opener ? len1 : len0;
  h->key_out = opener ? k0 : k1;
  h->key_in = opener ? k1 : k0;
  h->do_reset = reset && opener; /* the opener resets halfway */
}

static void side_events(side *sd, uint64_t seed) {
  lp2p_yamux_event ev;
  while (lp2p_yamux_poll_event(sd->y, &ev)) {
    uint32_t id = ev.stream_id;
    if (ev.type == LP2P_YAMUX_EV_CLOSED)
      fail_msg("session closed: %d", ev.error);
    if (ev.type == LP2P_YAMUX_EV_PING_RTT ||
        ev.type == LP2P_YAMUX_EV_GOAWAY_RECEIVED)
      continue;
    assert_true(id > 0 && id < MAXID);
    half *h = &sd->h[id];
    switch (ev.type) {
    case LP2P_YAMUX_EV_STREAM_OPENED:
      assert_false(h->known);
      plan(h, seed, id, 0);
      break;
    case LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED:
      assert_true(h->known);
      h->fin_seen = 1;
      break;
    case LP2P_YAMUX_EV_STREAM_RESET:
      h->reset_seen = 1;
      break;
    case LP2P_YAMUX_EV_STREAM_CLOSED:
      assert_true(h->known);
      assert_false(h->closed);
      h->closed = 1;
      if (!h->reset_seen && !h->reset_done) { /* clean: every byte came */
        assert_int_equal(h->in_got, h->in_total);
        assert_int_equal(h->out_sent, h->out_total);
      }
      break;
    default:
      break;
    }
  }
}

static uint8_t wbuf[160 * 1024];

static void side_act(side *sd, uint64_t seed, uint64_t *rng, lp2p_tstamp now,
                     int is_client) {
  if (sd->opened < sd->to_open && yt_below(rng, 3) == 0) {
    uint32_t id;
    int rc = lp2p_yamux_stream_open(sd->y, now, &id);
    assert_int_equal(rc, 0);
    assert_int_equal(id & 1u, is_client ? 1u : 0u);
    assert_true(id < MAXID);
    plan(&sd->h[id], seed, id, 1);
    sd->opened++;
  }
  for (uint32_t id = 1; id < MAXID; id++) {
    half *h = &sd->h[id];
    if (!h->known || h->closed || h->reset_done)
      continue;
    /* write a random piece */
    if (!h->reset_seen && h->out_sent < h->out_total && yt_below(rng, 2)) {
      size_t k = yt_chunk(rng, h->out_total - h->out_sent);
      if (yt_below(rng, 4) == 0) /* sometimes all of it: full frames */
        k = h->out_total - h->out_sent;
      if (k > sizeof wbuf)
        k = sizeof wbuf;
      for (size_t i = 0; i < k; i++)
        wbuf[i] = yt_byte(h->key_out, h->out_sent + i);
      lp2p_ssize r = lp2p_yamux_stream_write(sd->y, now, id, wbuf, k);
      if (r == LP2P_ERR_RESET)
        continue;
      assert_true(r >= 0 && (size_t)r <= k);
      h->out_sent += (size_t)r;
    }
    if (h->do_reset && !h->reset_done && h->out_sent >= h->out_total / 2 &&
        h->out_sent > 0) {
      assert_int_equal(lp2p_yamux_stream_reset(sd->y, now, id), 0);
      h->reset_done = 1;
      continue;
    }
    if (!h->reset_seen && !h->fin_sent && h->out_sent == h->out_total &&
        yt_below(rng, 2)) {
      assert_int_equal(lp2p_yamux_stream_close(sd->y, now, id), 0);
      h->fin_sent = 1;
    }
    /* a reader that sometimes dawdles */
    if (yt_below(rng, 4) == 0)
      continue;
    size_t want = yt_chunk(rng, 256 * KIB);
    while (want) {
      size_t len;
      const uint8_t *p = lp2p_yamux_stream_read_peek(sd->y, id, &len);
      if (!p)
        break;
      if (len > want)
        len = want;
      for (size_t i = 0; i < len; i++)
        if (p[i] != yt_byte(h->key_in, h->in_got + i))
          fail_msg("stream %u byte %zu differs", id, h->in_got + i);
      assert_int_equal(lp2p_yamux_stream_read_consume(sd->y, now, id, len), 0);
      h->in_got += len;
      sd->bytes_in += len;
      want -= len;
    }
    assert_true(h->in_got <= h->in_total);
  }
}

static int side_done(const side *sd) {
  if (sd->opened < sd->to_open)
    return 0;
  for (uint32_t id = 1; id < MAXID; id++)
    if (sd->h[id].known && !sd->h[id].closed)
      return 0;
  return 1;
}

static void run_random_pair(uint64_t seed) {
  uint64_t rng = seed;
  static side a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  lp2p_mem_counting_init(&a.mem, NULL);
  lp2p_mem_counting_init(&b.mem, NULL);
  lp2p_yamux_config cfg;
  lp2p_yamux_config_default(&cfg);
  cfg.out_queue_bytes_max = 256 * KIB; /* exercise the queue limit too */
  lp2p_tstamp now = 0;
  assert_int_equal(lp2p_yamux_new(&a.y, 1, &cfg, &a.mem.mem, now), 0);
  assert_int_equal(lp2p_yamux_new(&b.y, 0, &cfg, &b.mem.mem, now), 0);
  a.to_open = NSTREAMS * 2 / 3;
  b.to_open = NSTREAMS - a.to_open;
  yt_pipe ab = {0}, ba = {0};
  int steps = 0;
  while (!(side_done(&a) && side_done(&b))) {
    if (++steps > 200000)
      fail_msg("seed %llu: no progress", (unsigned long long)seed);
    side_act(&a, seed, &rng, now, 1);
    side_act(&b, seed, &rng, now, 0);
    /* drain some or all output, feed some or all input */
    if (yt_below(&rng, 4))
      yt_drain(a.y, &ab, &rng);
    if (yt_below(&rng, 4))
      yt_drain(b.y, &ba, &rng);
    assert_true(yt_feed(b.y, now, &ab, &rng) >= 0);
    assert_true(yt_feed(a.y, now, &ba, &rng) >= 0);
    side_events(&a, seed);
    side_events(&b, seed);
    now += LP2P_NS_PER_MS / 4;
    assert_int_equal(lp2p_yamux_handle_timeout(a.y, now), 0);
    assert_int_equal(lp2p_yamux_handle_timeout(b.y, now), 0);
  }
  printf("# seed %llu: %d steps, %llu + %llu bytes, peak %zu / %zu bytes\n",
         (unsigned long long)seed, steps, (unsigned long long)a.bytes_in,
         (unsigned long long)b.bytes_in, a.mem.peak_bytes, b.mem.peak_bytes);
  assert_true(a.bytes_in + b.bytes_in > 2 * MIB);
  assert_int_equal(lp2p_yamux_last_error(a.y), 0);
  assert_int_equal(lp2p_yamux_last_error(b.y), 0);
  /* orderly end: GoAway both ways, then CLOSED 0 */
  assert_int_equal(lp2p_yamux_go_away(a.y, now, 0), 0);
  for (int i = 0;
       i < 100 && (ab.len || ba.len || lp2p_yamux_out_peek(a.y, &(size_t){0}) ||
                   lp2p_yamux_out_peek(b.y, &(size_t){0}));
       i++) {
    yt_drain(a.y, &ab, &rng);
    yt_drain(b.y, &ba, &rng);
    assert_true(yt_feed(b.y, now, &ab, &rng) >= 0);
    assert_true(yt_feed(a.y, now, &ba, &rng) >= 0);
  }
  char la[64] = "", lb[64] = "";
  yt_log_events(a.y, la, sizeof la);
  yt_log_events(b.y, lb, sizeof lb);
  assert_string_equal(la, "CLOSED 0;");
  assert_true(strstr(lb, "GOAWAY 0;") != NULL);
  assert_true(strstr(lb, "CLOSED 0;") != NULL);
  lp2p_yamux_free(a.y);
  lp2p_yamux_free(b.y);
  assert_int_equal(a.mem.live_bytes, 0);
  assert_int_equal(b.mem.live_bytes, 0);
  yt_pipe_free(&ab);
  yt_pipe_free(&ba);
}

static void test_random_pair(void **state) {
  (void)state;
  if (getenv("YAMUX_SEED")) {
    run_random_pair(yt_seed("random pair", 0));
    return;
  }
  for (uint64_t s = 1; s <= 3; s++)
    run_random_pair(yt_seed("random pair", s));
}

/* ---- auto-tuning ------------------------------------------------------------
 */

typedef struct tune_result {
  uint64_t total, last_rtt_bytes, max_rtt_bytes;
  uint32_t window;
} tune_result;

/* One stream A -> B over a link with one-way delay `d` (each step moves
 * what the previous step sent, then time advances by d). B reads up to
 * `read_per_step` bytes per step (0 = everything). */
/* tune_run: turn auto-tuning off for the stream on the receiving side
 * (lp2p_yamux_stream_fix_window). */
static int tune_fixed;

static tune_result tune_run(const lp2p_yamux_config *cfg, int steps,
                            lp2p_tstamp d, size_t read_per_step) {
  tune_result r = {0};
  lp2p_yamux *a, *b;
  lp2p_tstamp now = 0;
  assert_int_equal(lp2p_yamux_new(&a, 1, cfg, NULL, now), 0);
  assert_int_equal(lp2p_yamux_new(&b, 0, cfg, NULL, now), 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(a, now, &id), 0);
  yt_pipe ab = {0}, ba = {0};
  uint64_t prev_step = 0;
  static uint8_t buf[64 * 1024];
  for (int step = 0; step < steps; step++) {
    assert_true(yt_feed(b, now, &ab, NULL) >= 0); /* sent one step ago */
    if (tune_fixed) /* before any read: the first update is at half */
      lp2p_yamux_stream_fix_window(b, id);
    assert_true(yt_feed(a, now, &ba, NULL) >= 0);
    assert_int_equal(ab.len, 0);
    lp2p_yamux_event ev;
    while (lp2p_yamux_poll_event(a, &ev))
      assert_int_not_equal(ev.type, LP2P_YAMUX_EV_CLOSED);
    while (lp2p_yamux_poll_event(b, &ev))
      assert_int_not_equal(ev.type, LP2P_YAMUX_EV_CLOSED);
    uint64_t got = 0;
    size_t len;
    while (lp2p_yamux_stream_read_peek(b, id, &len)) {
      if (read_per_step && got + len > read_per_step)
        len = read_per_step - (size_t)got;
      if (!len)
        break;
      assert_int_equal(lp2p_yamux_stream_read_consume(b, now, id, len), 0);
      got += len;
    }
    r.total += got;
    uint64_t rtt_bytes = got + prev_step; /* two steps = one RTT */
    if (rtt_bytes > r.max_rtt_bytes)
      r.max_rtt_bytes = rtt_bytes;
    r.last_rtt_bytes = rtt_bytes;
    prev_step = got;
    for (;;) { /* the sender always has data */
      lp2p_ssize w = lp2p_yamux_stream_write(a, now, id, buf, sizeof buf);
      assert_true(w >= 0);
      yt_drain(a, &ab, NULL);
      if (w == 0)
        break;
    }
    yt_drain(b, &ba, NULL);
    now += d;
  }
  r.window = (uint32_t)lp2p_yamux_stream_recv_window(b, id);
  lp2p_yamux_free(a);
  lp2p_yamux_free(b);
  yt_pipe_free(&ab);
  yt_pipe_free(&ba);
  return r;
}

static void test_autotune_grows(void **state) {
  (void)state;
  const lp2p_tstamp d = 25 * LP2P_NS_PER_MS; /* RTT 50 ms */
  const int steps = 30;                      /* 15 RTTs */
  lp2p_yamux_config off;
  lp2p_yamux_config_default(&off);
  off.keepalive_ns = 0;
  off.window_bytes_max = LP2P_YAMUX_WINDOW_SPEC_BYTES;
  tune_result fixed = tune_run(&off, steps, d, 0);
  lp2p_yamux_config on;
  lp2p_yamux_config_default(&on);
  on.keepalive_ns = 0;
  tune_result tuned = tune_run(&on, steps, d, 0);
  printf("# fixed window: %llu bytes, max %llu/RTT; auto-tuned: %llu bytes, "
         "last %llu/RTT, window %u\n",
         (unsigned long long)fixed.total,
         (unsigned long long)fixed.max_rtt_bytes,
         (unsigned long long)tuned.total,
         (unsigned long long)tuned.last_rtt_bytes, tuned.window);
  /* without tuning: capped at one window per RTT */
  assert_true(fixed.max_rtt_bytes <= LP2P_YAMUX_WINDOW_SPEC_BYTES);
  assert_int_equal(fixed.window, LP2P_YAMUX_WINDOW_SPEC_BYTES);
  /* with tuning: the window reached the 16 MiB ceiling and one stream
   * moves far more than 256 KiB per RTT */
  assert_int_equal(tuned.window, 16 * MIB);
  assert_true(tuned.last_rtt_bytes >= 8 * MIB);
  assert_true(tuned.total > 20 * fixed.total);
}

/* The session budget caps window growth. */
static void test_autotune_session_budget(void **state) {
  (void)state;
  lp2p_yamux_config c;
  lp2p_yamux_config_default(&c);
  c.keepalive_ns = 0;
  c.session_buffered_bytes_max = 1 * MIB;
  tune_result r = tune_run(&c, 30, 25 * LP2P_NS_PER_MS, 0);
  assert_int_equal(r.window, 1 * MIB);
  assert_true(r.last_rtt_bytes <= 1 * MIB);
}

/* A reader slower than the link does not inflate its window: updates come
 * more than 2 RTT apart once the window covers its rate. */
static void test_autotune_slow_reader(void **state) {
  (void)state;
  lp2p_yamux_config c;
  lp2p_yamux_config_default(&c);
  c.keepalive_ns = 0;
  tune_result r = tune_run(&c, 60, 25 * LP2P_NS_PER_MS, 64 * KIB);
  printf("# slow reader: window %u, %llu bytes\n", r.window,
         (unsigned long long)r.total);
  assert_true(r.window <= 1 * MIB);
  assert_true(r.total <= 60 * 64 * KIB);
}

/* A stream whose window was fixed does not grow, even with a fast reader
 * on a session where auto-tuning is on. */
static void test_autotune_fixed_stream(void **state) {
  (void)state;
  lp2p_yamux_config c;
  lp2p_yamux_config_default(&c);
  c.keepalive_ns = 0;
  tune_fixed = 1;
  tune_result r = tune_run(&c, 30, 25 * LP2P_NS_PER_MS, 0);
  tune_fixed = 0;
  assert_int_equal(r.window, LP2P_YAMUX_WINDOW_SPEC_BYTES);
  assert_true(r.max_rtt_bytes <= LP2P_YAMUX_WINDOW_SPEC_BYTES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_pair),
      cmocka_unit_test(test_autotune_grows),
      cmocka_unit_test(test_autotune_session_budget),
      cmocka_unit_test(test_autotune_slow_reader),
      cmocka_unit_test(test_autotune_fixed_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
