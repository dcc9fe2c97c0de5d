/* The engine contract's shared pieces: error table, arena and counting
 * allocators, deterministic RNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/common.h"

static void test_errors(void **s) {
  (void)s;
  assert_string_equal(lp2p_strerror(0), "ok");
  assert_string_equal(lp2p_errname(LP2P_ERR_LIMIT), "LP2P_ERR_LIMIT");
  assert_true(lp2p_err_is_fatal(LP2P_ERR_NOMEM));
  assert_false(lp2p_err_is_fatal(LP2P_ERR_AGAIN));
  assert_string_equal(lp2p_strerror(-9999), "unknown error");
  assert_true(lp2p_err_is_fatal(-9999));
  /* Refused-by-a-limit and timed-out are ordinary results; an engine that
   * a peer pushed over a limit ends itself (see test_ms, test_yamux). */
  assert_false(lp2p_err_is_fatal(LP2P_ERR_LIMIT));
  assert_false(lp2p_err_is_fatal(LP2P_ERR_TIMEOUT));
  /* The whole table: exactly these codes leave an engine dead. */
  static const int fatal[] = {LP2P_ERR_NOMEM,     LP2P_ERR_PROTO,
                              LP2P_ERR_CRYPTO,    LP2P_ERR_PEER_ID_MISMATCH,
                              LP2P_ERR_IO,        LP2P_ERR_SIGNATURE,
                              LP2P_ERR_GOAWAY,    LP2P_ERR_INTERNAL};
  for (int e = 0; e >= LP2P_ERR_INTERNAL; e--) {
    int want = 0;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
      want |= fatal[i] == e;
    assert_int_equal(lp2p_err_is_fatal(e), want);
    assert_string_not_equal(lp2p_strerror(e), "unknown error");
  }
}

static void test_arena(void **s) {
  (void)s;
  static uint8_t buf[4096];
  lp2p_mem_arena a;
  assert_int_equal(lp2p_mem_arena_init(&a, buf, 8), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_mem_arena_init(&a, buf, sizeof buf), 0);
  void *p[64];
  int n = 0;
  while (n < 64 && (p[n] = lp2p_mem_malloc(&a.mem, 100)))
    n++;
  assert_true(n > 10 && n < 64); /* fills up, then fails cleanly */
  for (int i = 0; i < n; i++) {
    assert_true((uint8_t *)p[i] >= buf && (uint8_t *)p[i] + 100 <= buf + sizeof buf);
    memset(p[i], 0xab, 100);
  }
  for (int i = 0; i < n; i += 2)
    lp2p_mem_free(&a.mem, p[i]);
  for (int i = 1; i < n; i += 2)
    lp2p_mem_free(&a.mem, p[i]);
  assert_int_equal(a.used_bytes, 0);
  /* after coalescing the whole buffer is one block again */
  void *big = lp2p_mem_malloc(&a.mem, sizeof buf - 256);
  assert_non_null(big);
  void *q = lp2p_mem_realloc(&a.mem, big, sizeof buf - 256, 10);
  assert_ptr_equal(q, big);
  lp2p_mem_free(&a.mem, q);
  void *z = lp2p_mem_calloc(&a.mem, 10, 10);
  assert_non_null(z);
  for (int i = 0; i < 100; i++)
    assert_int_equal(((uint8_t *)z)[i], 0);
  assert_null(lp2p_mem_calloc(&a.mem, SIZE_MAX / 2, 4));
  lp2p_mem_free(&a.mem, z);
  assert_int_equal(a.used_bytes, 0);
}

static void test_counting(void **s) {
  (void)s;
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  void *a = lp2p_mem_malloc(&c.mem, 100);
  void *b = lp2p_mem_malloc(&c.mem, 50);
  assert_int_equal(c.live_bytes, 150);
  assert_int_equal(c.live_allocs, 2);
  b = lp2p_mem_realloc(&c.mem, b, 50, 500);
  assert_non_null(b);
  assert_int_equal(c.live_bytes, 600);
  lp2p_mem_free(&c.mem, a);
  lp2p_mem_free(&c.mem, b);
  assert_int_equal(c.live_bytes, 0);
  assert_int_equal(c.peak_bytes, 650);
  c.fail_at = c.total_allocs + 2;
  void *x = lp2p_mem_malloc(&c.mem, 1);
  assert_non_null(x);
  assert_null(lp2p_mem_malloc(&c.mem, 1));
  assert_int_equal(c.failed_allocs, 1);
  lp2p_mem_free(&c.mem, x);
  c.limit_bytes = 10;
  assert_null(lp2p_mem_malloc(&c.mem, 11));
  assert_int_equal(c.live_allocs, 0);
}

static void test_rng(void **s) {
  (void)s;
  lp2p_rng_chacha s1, s2, s3;
  lp2p_rng r1, r2, r3;
  lp2p_rng_chacha_init(&s1, 42, 0, &r1);
  lp2p_rng_chacha_init(&s2, 42, 0, &r2);
  lp2p_rng_chacha_init(&s3, 42, 1, &r3);
  uint8_t a[200], b[200], c[200];
  r1.fill(r1.ctx, a, 7); /* odd split must not change the stream */
  r1.fill(r1.ctx, a + 7, 193);
  r2.fill(r2.ctx, b, 200);
  r3.fill(r3.ctx, c, 200);
  assert_memory_equal(a, b, 200);
  assert_memory_not_equal(a, c, 200);
  for (int i = 0; i < 1000; i++)
    assert_true(lp2p_rng_below(&r1, 7) < 7);
  assert_int_equal(lp2p_rng_below(&r1, 0), 0);
  lp2p_rng sys;
  lp2p_rng_system(&sys);
  uint8_t x[32] = {0}, y[32] = {0};
  sys.fill(sys.ctx, x, 32);
  sys.fill(sys.ctx, y, 32);
  assert_memory_not_equal(x, y, 32);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors), cmocka_unit_test(test_arena),
      cmocka_unit_test(test_counting), cmocka_unit_test(test_rng),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
