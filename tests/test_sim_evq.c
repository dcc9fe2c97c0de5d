/* Simulator core: the event heap's (time, insertion) order, the lookup
 * map, node clocks (offset + drift) and the world's run loop, trace hash
 * and sticky failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/sim/sim_internal.h"

static uint64_t lcg(uint64_t *x) {
  *x = *x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *x >> 33;
}

static void nop(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)s;
  (void)ud;
  (void)arg;
}

static void test_heap_order(void **state) {
  (void)state;
  sim_evq q;
  sim_evq_init(&q);
  sim_ev e;
  assert_int_equal(sim_evq_pop(&q, &e), 0);
  assert_true(sim_evq_peek(&q) == LP2P_TSTAMP_NONE);
  enum { N = 5000 };
  uint64_t x = 7;
  for (uint64_t i = 0; i < N; i++)
    assert_int_equal(sim_evq_push(&q, lcg(&x) % 50, nop, NULL, i), 0);
  lp2p_tstamp last_t = 0;
  uint64_t last_arg = 0;
  int first = 1;
  size_t n = 0;
  while (sim_evq_pop(&q, &e)) {
    if (!first) {
      assert_true(e.t >= last_t);
      if (e.t == last_t) /* ties keep insertion order */
        assert_true(e.arg > last_arg);
    }
    first = 0;
    last_t = e.t;
    last_arg = e.arg;
    n++;
  }
  assert_int_equal(n, N);
  sim_evq_free(&q);
}

static void test_heap_interleaved(void **state) {
  (void)state;
  sim_evq q;
  sim_evq_init(&q);
  uint64_t x = 99, seq = 0;
  lp2p_tstamp now = 0;
  sim_ev e;
  /* pushes never go into the past, so pops are monotonic */
  for (int round = 0; round < 2000; round++) {
    int pushes = (int)(lcg(&x) % 4);
    for (int i = 0; i < pushes; i++)
      sim_evq_push(&q, now + lcg(&x) % 100, nop, NULL, seq++);
    if (sim_evq_pop(&q, &e)) {
      assert_true(e.t >= now);
      now = e.t;
    }
    assert_true(sim_evq_peek(&q) == LP2P_TSTAMP_NONE ||
                sim_evq_peek(&q) >= now);
  }
  sim_evq_free(&q);
}

static void test_map(void **state) {
  (void)state;
  sim_map m = {0};
  enum { N = 3000 };
  for (uint64_t i = 0; i < N; i++)
    assert_int_equal(sim_map_put(&m, i % 17, i, i * 3), 0);
  assert_int_equal(m.n, N);
  uint64_t v;
  for (uint64_t i = 0; i < N; i++) {
    assert_int_equal(sim_map_get(&m, i % 17, i, &v), 1);
    assert_true(v == i * 3);
  }
  /* delete every other key; the rest must stay reachable */
  for (uint64_t i = 0; i < N; i += 2)
    sim_map_del(&m, i % 17, i);
  for (uint64_t i = 0; i < N; i++)
    assert_int_equal(sim_map_get(&m, i % 17, i, NULL), (int)(i & 1));
  assert_int_equal(m.n, N / 2);
  assert_int_equal(sim_map_put(&m, 1, 1, 42), 0); /* overwrite */
  assert_int_equal(sim_map_get(&m, 1, 1, &v), 1);
  assert_true(v == 42);
  assert_int_equal(sim_map_get(&m, 12345, 0, &v), 0);
  sim_map_free(&m);
  assert_int_equal(sim_map_get(&m, 1, 1, &v), 0);
}

static void test_clock(void **state) {
  (void)state;
  sim_node n;
  memset(&n, 0, sizeof n);
  const int32_t drifts[] = {0, 1, -1, 250, -250, 1000, -1000};
  const int64_t offsets[] = {0, 12345, (int64_t)3600 * 1000000000};
  uint64_t x = 5;
  for (size_t d = 0; d < sizeof drifts / sizeof drifts[0]; d++) {
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
      n.ep.clock_drift_ppm = drifts[d];
      n.ep.clock_offset_ns = offsets[o];
      for (int i = 0; i < 300; i++) {
        lp2p_tstamp t = (lcg(&x) << 12) % (UINT64_C(1) << 45);
        lp2p_tstamp local = sim_virtual_to_local(&n, t);
        /* the earliest virtual time that reaches a local deadline */
        lp2p_tstamp v = sim_local_to_virtual(&n, local);
        assert_true(v <= t);
        assert_true(sim_virtual_to_local(&n, v) >= local);
        if (v > 0)
          assert_true(sim_virtual_to_local(&n, v - 1) < local);
      }
      /* monotonic */
      lp2p_tstamp a = sim_virtual_to_local(&n, 1000000);
      lp2p_tstamp b = sim_virtual_to_local(&n, 1000001);
      assert_true(b >= a);
      /* drift: after 1 s of virtual time the local clock moved 1 s +- ppm */
      lp2p_tstamp d0 = sim_virtual_to_local(&n, 0);
      lp2p_tstamp d1 = sim_virtual_to_local(&n, LP2P_NS_PER_S);
      assert_true((int64_t)(d1 - d0) ==
                  (int64_t)LP2P_NS_PER_S + drifts[d] * 1000);
    }
  }
  assert_true(sim_local_to_virtual(&n, LP2P_TSTAMP_NONE) == LP2P_TSTAMP_NONE);
}

typedef struct rec {
  uint64_t order[16];
  int n;
  lp2p_tstamp when[16];
} rec;

static void record(lp2p_sim *s, void *ud, uint64_t arg) {
  rec *r = ud;
  r->when[r->n] = lp2p_sim_now(s);
  r->order[r->n++] = arg;
  if (arg == 100) /* an event scheduling another at the same time runs later */
    lp2p_sim_at(s, lp2p_sim_now(s), record, r, 101);
}

static void test_world_loop(void **state) {
  (void)state;
  lp2p_sim *s;
  assert_int_equal(lp2p_sim_new(&s, 1, NULL), 0);
  rec r;
  memset(&r, 0, sizeof r);
  lp2p_sim_at(s, 50, record, &r, 2);
  lp2p_sim_at(s, 10, record, &r, 1);
  lp2p_sim_at(s, 50, record, &r, 100);
  lp2p_sim_at(s, 50, record, &r, 3);
  lp2p_sim_at(s, 500, record, &r, 9);
  assert_int_equal(lp2p_sim_run_until(s, 60), 0);
  assert_true(lp2p_sim_now(s) == 60);
  assert_int_equal(r.n, 5);
  uint64_t want[] = {1, 2, 100, 3, 101};
  for (int i = 0; i < 5; i++)
    assert_true(r.order[i] == want[i]);
  assert_true(r.when[0] == 10 && r.when[4] == 50);
  assert_true(lp2p_sim_events(s) == 5);
  /* the clock jumps straight to the next event */
  assert_int_equal(lp2p_sim_step(s), 1);
  assert_true(lp2p_sim_now(s) == 500);
  assert_int_equal(lp2p_sim_step(s), 0);
  /* sticky failure */
  assert_null(lp2p_sim_failed(s));
  lp2p_sim_fail(s, "first");
  lp2p_sim_fail(s, "second");
  assert_string_equal(lp2p_sim_failed(s), "first");
  lp2p_sim_at(s, 600, record, &r, 7);
  assert_int_equal(lp2p_sim_step(s), 0);
  assert_int_equal(lp2p_sim_run_until(s, 1000), 1);
  lp2p_sim_free(s);
}

static uint64_t run_hash(uint64_t seed) {
  lp2p_sim *s;
  lp2p_sim_new(&s, seed, NULL);
  lp2p_rng_chacha st;
  lp2p_rng r;
  lp2p_sim_rng(s, LP2P_SIM_STREAM_USER + 1, &st, &r);
  rec rr;
  memset(&rr, 0, sizeof rr);
  for (int i = 0; i < 10; i++)
    lp2p_sim_at(s, lp2p_rng_below(&r, 1000), record, &rr, (uint64_t)i);
  lp2p_sim_run_until(s, 2000);
  lp2p_sim_trace(s, "done");
  uint64_t h = lp2p_sim_trace_hash(s);
  lp2p_sim_free(s);
  return h;
}

static void test_trace_determinism(void **state) {
  (void)state;
  assert_true(run_hash(1) == run_hash(1));
  assert_true(run_hash(2) == run_hash(2));
  assert_true(run_hash(1) != run_hash(2));
}

static void test_streams_independent(void **state) {
  (void)state;
  lp2p_sim *s;
  lp2p_sim_new(&s, 77, NULL);
  lp2p_rng_chacha a1, a2, b;
  lp2p_rng ra1, ra2, rb;
  lp2p_sim_rng(s, 10, &a1, &ra1);
  lp2p_sim_rng(s, 11, &b, &rb);
  uint64_t x1 = lp2p_rng_u64(&ra1);
  (void)lp2p_rng_u64(&rb); /* drawing from another stream ... */
  lp2p_sim_rng(s, 10, &a2, &ra2);
  assert_true(lp2p_rng_u64(&ra2) == x1); /* ... does not perturb this one */
  assert_true(x1 != lp2p_rng_u64(&rb));
  lp2p_sim_free(s);
}

static void test_events_max(void **state) {
  (void)state;
  lp2p_sim_config cfg;
  lp2p_sim_config_default(&cfg);
  cfg.events_max = 3;
  lp2p_sim *s;
  assert_int_equal(lp2p_sim_new(&s, 1, &cfg), 0);
  rec r;
  memset(&r, 0, sizeof r);
  for (int i = 0; i < 5; i++)
    lp2p_sim_at(s, (lp2p_tstamp)i, record, &r, (uint64_t)i);
  assert_int_equal(lp2p_sim_run(s, NULL, NULL, 100), 0);
  assert_int_equal(r.n, 3);
  assert_non_null(lp2p_sim_failed(s));
  lp2p_sim_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heap_order),
      cmocka_unit_test(test_heap_interleaved),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_clock),
      cmocka_unit_test(test_world_loop),
      cmocka_unit_test(test_trace_determinism),
      cmocka_unit_test(test_streams_independent),
      cmocka_unit_test(test_events_max),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
