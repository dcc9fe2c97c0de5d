/* yamux memory: per-session and per-stream budgets measured with the
 * counting allocator, buffers released once read, and an allocation
 * failure sweep (fail the Nth allocation of either engine for N = 1.. until
 * a run needs no failure): only LP2P_ERR_NOMEM may come back, and nothing
 * leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/test_yamux_util.h"

#define KIB 1024u
#define SESSION_BUDGET 8192u
#define STREAM_BUDGET 512u
#define NIDLE 256u
#define YT_SLACK 1024u /* a drained output buffer may be kept */

typedef struct pairm {
  lp2p_yamux *a, *b;
  lp2p_mem_counting ma, mb;
  yt_pipe ab, ba;
  lp2p_tstamp now;
  size_t a_got, b_got; /* stream bytes read */
  int a_closed, b_closed;
  uint64_t rng, *rngp; /* set: random chunking and partial consumes */
} pairm;

/* Handle events: accept inbound streams, read everything. Returns 0 or the
 * first API error. */
static int pm_events(lp2p_yamux *y, lp2p_tstamp now, size_t *got, int *closed) {
  lp2p_yamux_event ev;
  while (lp2p_yamux_poll_event(y, &ev)) {
    int rc = 0;
    switch (ev.type) {
    case LP2P_YAMUX_EV_STREAM_OPENED:
      rc = lp2p_yamux_stream_accept(y, now, ev.stream_id);
      break;
    case LP2P_YAMUX_EV_STREAM_READABLE: {
      size_t len;
      while (!rc && lp2p_yamux_stream_read_peek(y, ev.stream_id, &len)) {
        rc = lp2p_yamux_stream_read_consume(y, now, ev.stream_id, len);
        *got += len;
      }
      break;
    }
    case LP2P_YAMUX_EV_CLOSED:
      assert_int_equal(ev.error, 0);
      *closed = 1;
      break;
    default:
      break;
    }
    if (rc)
      return rc;
  }
  return 0;
}

/* Shuttle until quiet. Returns 0 or the first error of either engine. */
static lp2p_ssize pm_run(pairm *p) {
  for (int i = 0; i < 10000; i++) {
    size_t m =
        yt_drain(p->a, &p->ab, p->rngp) + yt_drain(p->b, &p->ba, p->rngp);
    lp2p_ssize r = yt_feed(p->b, p->now, &p->ab, p->rngp);
    if (r < 0)
      return r;
    r = yt_feed(p->a, p->now, &p->ba, p->rngp);
    if (r < 0)
      return r;
    int rc = pm_events(p->a, p->now, &p->a_got, &p->a_closed);
    if (!rc)
      rc = pm_events(p->b, p->now, &p->b_got, &p->b_closed);
    if (rc)
      return rc;
    if (!m && !p->ab.len && !p->ba.len)
      return 0;
  }
  fail_msg("pm_run did not settle");
  return 0;
}

static void pm_init(pairm *p) {
  memset(p, 0, sizeof(*p));
  lp2p_mem_counting_init(&p->ma, NULL);
  lp2p_mem_counting_init(&p->mb, NULL);
}

static void pm_free(pairm *p) {
  lp2p_yamux_free(p->a);
  lp2p_yamux_free(p->b);
  yt_pipe_free(&p->ab);
  yt_pipe_free(&p->ba);
  assert_int_equal(p->ma.live_bytes, 0);
  assert_int_equal(p->ma.live_allocs, 0);
  assert_int_equal(p->mb.live_bytes, 0);
  assert_int_equal(p->mb.live_allocs, 0);
}

static void test_idle_session_budget(void **state) {
  (void)state;
  pairm p;
  pm_init(&p);
  assert_int_equal(lp2p_yamux_new(&p.a, 1, NULL, &p.ma.mem, 0), 0);
  assert_int_equal(lp2p_yamux_new(&p.b, 0, NULL, &p.mb.mem, 0), 0);
  p.now = LP2P_NS_PER_MS;
  assert_int_equal(pm_run(&p), 0); /* start pings answered */
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(p.a, &st);
  assert_int_equal(st.rtt_ns, LP2P_NS_PER_MS);
  printf("# idle session: %zu bytes (client), %zu bytes (server)\n",
         p.ma.live_bytes, p.mb.live_bytes);
  assert_true(p.ma.live_bytes <= SESSION_BUDGET);
  assert_true(p.mb.live_bytes <= SESSION_BUDGET);
  pm_free(&p);
}

static void test_idle_stream_budget(void **state) {
  (void)state;
  pairm p;
  pm_init(&p);
  assert_int_equal(lp2p_yamux_new(&p.a, 1, NULL, &p.ma.mem, 0), 0);
  assert_int_equal(lp2p_yamux_new(&p.b, 0, NULL, &p.mb.mem, 0), 0);
  assert_int_equal(pm_run(&p), 0);
  size_t base_a = p.ma.live_bytes, base_b = p.mb.live_bytes;
  uint32_t ids[NIDLE];
  for (unsigned i = 0; i < NIDLE; i++) {
    assert_int_equal(lp2p_yamux_stream_open(p.a, 0, &ids[i]), 0);
    if (i % 16 == 15)
      assert_int_equal(pm_run(&p), 0); /* stay within the ACK backlog */
  }
  assert_int_equal(pm_run(&p), 0);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(p.b, &st);
  assert_int_equal(st.streams, NIDLE);
  assert_int_equal(st.inbound_unacked, 0);
  size_t per_a = (p.ma.live_bytes - base_a) / NIDLE;
  size_t per_b = (p.mb.live_bytes - base_b) / NIDLE;
  printf("# idle stream: %zu bytes (opener), %zu bytes (acceptor)\n", per_a,
         per_b);
  assert_true(per_a <= STREAM_BUDGET);
  assert_true(per_b <= STREAM_BUDGET);
  /* traffic on every stream, all read: back to the idle footprint */
  static uint8_t buf[3000];
  for (unsigned i = 0; i < NIDLE; i++)
    assert_int_equal(lp2p_yamux_stream_write(p.a, 0, ids[i], buf, sizeof buf),
                     (lp2p_ssize)sizeof buf);
  assert_int_equal(pm_run(&p), 0);
  assert_int_equal(p.b_got, NIDLE * sizeof buf);
  /* a drained large output buffer is kept while the session is busy and
   * freed from handle_timeout once idle: the deadline is announced */
  lp2p_tstamp due = lp2p_yamux_next_timeout(p.a);
  assert_true(due <= LP2P_NS_PER_S);
  assert_int_equal(lp2p_yamux_handle_timeout(p.a, due), 0);
  due = lp2p_yamux_next_timeout(p.b);
  if (due <= LP2P_NS_PER_S)
    assert_int_equal(lp2p_yamux_handle_timeout(p.b, due), 0);
  assert_true((p.mb.live_bytes - base_b) / NIDLE <= STREAM_BUDGET);
  assert_true((p.ma.live_bytes - base_a) / NIDLE <= STREAM_BUDGET);
  /* closing every stream returns to the idle session */
  for (unsigned i = 0; i < NIDLE; i++) {
    assert_int_equal(lp2p_yamux_stream_close(p.a, 0, ids[i]), 0);
    assert_int_equal(lp2p_yamux_stream_close(p.b, 0, ids[i]), 0);
  }
  assert_int_equal(pm_run(&p), 0);
  lp2p_yamux_get_stats(p.a, &st);
  assert_int_equal(st.streams, 0);
  /* idle again: the kept output buffers go at their deadline */
  lp2p_tstamp t = 2 * LP2P_NS_PER_S;
  assert_int_equal(lp2p_yamux_handle_timeout(p.a, t), 0);
  assert_int_equal(lp2p_yamux_handle_timeout(p.b, t), 0);
  assert_true(p.ma.live_bytes <= base_a + YT_SLACK);
  assert_true(p.mb.live_bytes <= base_b + YT_SLACK);
  pm_free(&p);
}

/* ---- allocation failure sweep
 * ------------------------------------------------ */

#define T(x)                                                                   \
  do {                                                                         \
    lp2p_ssize r_ = (x);                                                       \
    if (r_ < 0) {                                                              \
      assert_int_equal(r_, LP2P_ERR_NOMEM);                                    \
      goto out;                                                                \
    }                                                                          \
  } while (0)

static lp2p_ssize write_n(pairm *p, lp2p_yamux *y, uint32_t id, size_t n) {
  static uint8_t buf[64 * KIB];
  size_t done = 0;
  while (done < n) {
    size_t k = n - done < sizeof buf ? n - done : sizeof buf;
    lp2p_ssize w = lp2p_yamux_stream_write(y, p->now, id, buf, k);
    if (w < 0)
      return w;
    done += (size_t)w;
    lp2p_ssize r = pm_run(p);
    if (r < 0)
      return r;
  }
  return (lp2p_ssize)done;
}

/* A scenario touching every allocation site. Returns 1 if it ran to the
 * end; 0 if an engine reported LP2P_ERR_NOMEM (the only error allowed). */
static int sweep_run(uint64_t fail_a, uint64_t fail_b, uint64_t *failed) {
  pairm p;
  pm_init(&p);
  p.ma.fail_at = fail_a;
  p.mb.fail_at = fail_b;
  p.rng = 42; /* the same chunking in every run */
  p.rngp = &p.rng;
  int completed = 0;
  uint32_t s1, s2, s3, sb;
  T(lp2p_yamux_new(&p.a, 1, NULL, &p.ma.mem, 0));
  T(lp2p_yamux_new(&p.b, 0, NULL, &p.mb.mem, 0));
  p.now = 5 * LP2P_NS_PER_MS;
  T(pm_run(&p));
  T(lp2p_yamux_stream_open(p.a, p.now, &s1));
  T(lp2p_yamux_stream_open(p.a, p.now, &s2));
  T(lp2p_yamux_stream_open(p.a, p.now, &s3));
  T(lp2p_yamux_stream_write(p.a, p.now, s2, (const uint8_t *)"hi", 2));
  T(lp2p_yamux_stream_close(p.a, p.now, s2));
  T(lp2p_yamux_stream_open(p.b, p.now, &sb));
  T(lp2p_yamux_stream_write(p.b, p.now, sb, (const uint8_t *)"hello", 5));
  T(lp2p_yamux_stream_close(p.b, p.now, sb));
  T(pm_run(&p));
  T(lp2p_yamux_stream_reset(p.a, p.now, s3));
  p.now += 5 * LP2P_NS_PER_MS;
  T(write_n(&p, p.a, s1, 300 * KIB)); /* needs window updates */
  T(write_n(&p, p.b, s1, 100 * KIB));
  T(lp2p_yamux_ping(p.a, p.now));
  T(pm_run(&p));
  p.now += 31 * LP2P_NS_PER_S; /* keepalive pings from both */
  T(lp2p_yamux_handle_timeout(p.a, p.now));
  T(lp2p_yamux_handle_timeout(p.b, p.now));
  T(pm_run(&p));
  T(lp2p_yamux_stream_close(p.a, p.now, s1));
  T(lp2p_yamux_stream_close(p.b, p.now, s1));
  T(lp2p_yamux_stream_close(p.b, p.now, s2));
  T(lp2p_yamux_stream_close(p.a, p.now, sb));
  T(pm_run(&p));
  T(lp2p_yamux_go_away(p.a, p.now, LP2P_YAMUX_GOAWAY_NORMAL));
  T(pm_run(&p));
  completed = 1;
  assert_int_equal(p.b_got, 2 + 300 * KIB);
  assert_int_equal(p.a_got, 5 + 100 * KIB);
  assert_true(p.a_closed && p.b_closed);
out:
  *failed = p.ma.failed_allocs + p.mb.failed_allocs;
  if (!fail_a && !fail_b)
    printf("# allocs %llu %llu\n", (unsigned long long)p.ma.total_allocs,
           (unsigned long long)p.mb.total_allocs);
  pm_free(&p); /* nothing leaks, whatever failed */
  return completed;
}

static void test_alloc_failure_sweep(void **state) {
  (void)state;
  uint64_t failed;
  assert_int_equal(sweep_run(0, 0, &failed), 1);
  assert_int_equal(failed, 0);
  for (int side = 0; side < 2; side++) {
    uint64_t n, nomem = 0;
    for (n = 1; n < 100000; n++) {
      int done = side ? sweep_run(0, n, &failed) : sweep_run(n, 0, &failed);
      if (!done)
        nomem++;
      if (!failed) {
        assert_int_equal(done, 1);
        break;
      }
    }
    printf("# %s: %llu allocation sites swept, %llu ended in NOMEM\n",
           side ? "server" : "client", (unsigned long long)(n - 1),
           (unsigned long long)nomem);
    assert_true(n > 10);
    assert_true(nomem > 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_session_budget),
      cmocka_unit_test(test_idle_stream_budget),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
