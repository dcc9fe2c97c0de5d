/* Record and provider stores: bounds in entries and bytes (a flood of
 * PUT_VALUE or ADD_PROVIDER is cut at the limit with memory bounded),
 * replacement, expiry by age and by sweep, provider address TTL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/kad.h"

static lp2p_rng_chacha rng_st;
static lp2p_rng rng;
static const lp2p_tstamp H = 3600 * LP2P_NS_PER_S;

static void rand_id(lp2p_peerid *id) {
  id->len = 34;
  id->bytes[0] = 0x12;
  id->bytes[1] = 0x20;
  rng.fill(rng.ctx, id->bytes + 2, 32);
}

static void test_records_basic(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 1, 0, &rng);
  lp2p_kad_records *st;
  assert_int_equal(lp2p_kad_records_new(&st, NULL, NULL, &rng, 0), 0);
  size_t n;
  uint64_t t;
  assert_null(lp2p_kad_records_get(st, (const uint8_t *)"/pk/a", 5, 0, &n, &t));
  assert_int_equal(lp2p_kad_records_put(st, (const uint8_t *)"/pk/a", 5,
                                        (const uint8_t *)"one", 3, 77, 0), 0);
  const uint8_t *v = lp2p_kad_records_get(st, (const uint8_t *)"/pk/a", 5, 1, &n, &t);
  assert_non_null(v);
  assert_int_equal(n, 3);
  assert_memory_equal(v, "one", 3);
  assert_int_equal(t, 77);
  assert_int_equal(lp2p_kad_records_bytes(st), 8);
  /* replace */
  assert_int_equal(lp2p_kad_records_put(st, (const uint8_t *)"/pk/a", 5,
                                        (const uint8_t *)"second", 6, 78, 10), 0);
  v = lp2p_kad_records_get(st, (const uint8_t *)"/pk/a", 5, 11, &n, &t);
  assert_int_equal(n, 6);
  assert_int_equal(lp2p_kad_records_count(st), 1);
  assert_int_equal(lp2p_kad_records_bytes(st), 11);
  /* 48 h after it arrived it is no longer served, then swept */
  assert_non_null(lp2p_kad_records_get(st, (const uint8_t *)"/pk/a", 5, 10 + 48 * H - 1, &n, &t));
  assert_null(lp2p_kad_records_get(st, (const uint8_t *)"/pk/a", 5, 10 + 48 * H, &n, &t));
  assert_int_equal(lp2p_kad_records_count(st), 1);
  lp2p_tstamp dl = lp2p_kad_records_next_timeout(st);
  assert_int_equal(dl, H);
  lp2p_kad_records_handle_timeout(st, dl);
  assert_int_equal(lp2p_kad_records_count(st), 1); /* not yet expired at 1 h */
  lp2p_kad_records_handle_timeout(st, 49 * H);
  assert_int_equal(lp2p_kad_records_count(st), 0);
  assert_int_equal(lp2p_kad_records_bytes(st), 0);
  assert_int_equal(lp2p_kad_records_next_timeout(st), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_kad_records_remove(st, (const uint8_t *)"x", 1), LP2P_ERR_NOT_FOUND);
  lp2p_kad_records_free(st);
}

/* One peer PUTs 100,000 distinct keys: the store stops at entries_max and
 * bytes_max, keeps serving what it has, and allows replacing a stored key. */
static void test_records_flood(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 2, 0, &rng);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_kad_records_config cfg;
  lp2p_kad_records_config_default(&cfg);
  cfg.entries_max = 1000;
  cfg.bytes_max = 64 * 1024;
  lp2p_kad_records *st;
  assert_int_equal(lp2p_kad_records_new(&st, &cfg, &mc.mem, &rng, 0), 0);
  uint8_t val[100];
  memset(val, 'v', sizeof val);
  size_t ok = 0, limited = 0;
  for (int i = 0; i < 100000; i++) {
    char key[32];
    int kl = snprintf(key, sizeof key, "/pk/%d", i);
    int rc = lp2p_kad_records_put(st, (const uint8_t *)key, (size_t)kl, val,
                                  sizeof val, 0, 0);
    if (rc == 0)
      ok++;
    else {
      assert_int_equal(rc, LP2P_ERR_LIMIT);
      limited++;
    }
  }
  assert_true(ok <= 1000);
  assert_true(lp2p_kad_records_bytes(st) <= 64 * 1024);
  assert_int_equal(ok + limited, 100000);
  assert_int_equal(lp2p_kad_records_count(st), ok);
  /* memory: the entries plus the bucket array, nothing per refused put */
  assert_true(mc.peak_bytes < 64 * 1024 + ok * 96 + 64 * 1024);
  /* a stored key can still be replaced (same size) */
  assert_int_equal(lp2p_kad_records_put(st, (const uint8_t *)"/pk/0", 5, val, 50, 0, 1), 0);
  /* oversize keys and values */
  static uint8_t big[70000];
  assert_int_equal(lp2p_kad_records_put(st, (const uint8_t *)"/pk/0", 5, big, sizeof big, 0, 1), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_kad_records_put(st, big, 600, val, 1, 0, 1), LP2P_ERR_LIMIT);
  lp2p_kad_records_free(st);
  assert_int_equal(mc.live_bytes, 0);
}

static void test_providers_basic(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 3, 0, &rng);
  lp2p_kad_providers *st;
  assert_int_equal(lp2p_kad_providers_new(&st, NULL, NULL, &rng, 0), 0);
  lp2p_peerid a, b, key, out[4];
  rand_id(&a);
  rand_id(&b);
  rand_id(&key);
  const uint8_t ad[] = {4, 10, 0, 0, 1, 6, 0x10, 0x01};
  lp2p_kad_bytes addrs[1] = {{ad, sizeof ad}};
  assert_int_equal(lp2p_kad_providers_add(st, key.bytes, key.len, &a, addrs, 1, 0), 0);
  assert_int_equal(lp2p_kad_providers_add(st, key.bytes, key.len, &b, NULL, 0, 5), 0);
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 10, out, 4), 2);
  assert_true(lp2p_peerid_equal(&out[0], &b)); /* newest first */
  assert_true(lp2p_peerid_equal(&out[1], &a));
  size_t al;
  const uint8_t *p = lp2p_kad_providers_addr(st, key.bytes, key.len, &a, 0, 10, &al);
  assert_non_null(p);
  assert_int_equal(al, sizeof ad);
  assert_null(lp2p_kad_providers_addr(st, key.bytes, key.len, &a, 1, 10, &al));
  assert_null(lp2p_kad_providers_addr(st, key.bytes, key.len, &b, 0, 10, &al));
  /* addresses go after 24 h, the provider after 48 h */
  assert_null(lp2p_kad_providers_addr(st, key.bytes, key.len, &a, 0, 24 * H, &al));
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 24 * H, out, 4), 2);
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 48 * H, out, 4), 1);
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 48 * H + 5, out, 4), 0);
  /* a re-announcement refreshes it */
  assert_int_equal(lp2p_kad_providers_add(st, key.bytes, key.len, &a, addrs, 1, 47 * H), 0);
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 48 * H + 5, out, 4), 1);
  assert_non_null(lp2p_kad_providers_addr(st, key.bytes, key.len, &a, 0, 48 * H, &al));
  lp2p_kad_providers_handle_timeout(st, 48 * H + 5);
  assert_int_equal(lp2p_kad_providers_keys(st), 1);
  lp2p_kad_providers_handle_timeout(st, 96 * H);
  assert_int_equal(lp2p_kad_providers_keys(st), 0);
  assert_int_equal(lp2p_kad_providers_bytes(st), 0);
  lp2p_kad_providers_free(st);
}

/* Floods: many providers for one key (the key holds per_key_max, the
 * oldest make room), one peer providing 100,000 keys (cut at keys_max
 * and bytes_max). */
static void test_providers_flood(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 4, 0, &rng);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_kad_providers_config cfg;
  lp2p_kad_providers_config_default(&cfg);
  cfg.keys_max = 500;
  cfg.bytes_max = 40 * 1024;
  lp2p_kad_providers *st;
  assert_int_equal(lp2p_kad_providers_new(&st, &cfg, &mc.mem, &rng, 0), 0);
  lp2p_peerid key, p, out[40];
  rand_id(&key);
  lp2p_peerid first;
  for (int i = 0; i < 1000; i++) {
    rand_id(&p);
    if (i == 999)
      first = p;
    assert_int_equal(lp2p_kad_providers_add(st, key.bytes, key.len, &p, NULL, 0,
                                            (lp2p_tstamp)i), 0);
  }
  assert_int_equal(lp2p_kad_providers_get(st, key.bytes, key.len, 1000, out, 40), LP2P_KAD_K);
  assert_true(lp2p_peerid_equal(&out[0], &first));
  uint8_t ab[300];
  memset(ab, 7, sizeof ab);
  lp2p_kad_bytes addrs[12];
  for (int i = 0; i < 12; i++) {
    addrs[i].p = ab;
    addrs[i].n = (size_t)(i == 11 ? 300 : 20); /* the 300-byte one is skipped */
  }
  size_t ok = 0;
  for (int i = 0; i < 100000; i++) {
    lp2p_peerid k2;
    rand_id(&k2);
    int rc = lp2p_kad_providers_add(st, k2.bytes, k2.len, &p, addrs, 12, 5);
    if (rc == 0)
      ok++;
    else
      assert_int_equal(rc, LP2P_ERR_LIMIT);
  }
  assert_true(ok < 500);
  assert_true(lp2p_kad_providers_keys(st) <= 500);
  assert_true(lp2p_kad_providers_bytes(st) <= 40 * 1024);
  assert_true(mc.peak_bytes < 200 * 1024);
  /* the overlong key */
  uint8_t long_key[200] = {0};
  assert_int_equal(lp2p_kad_providers_add(st, long_key, sizeof long_key, &p, NULL, 0, 5), LP2P_ERR_LIMIT);
  lp2p_kad_providers_free(st);
  assert_int_equal(mc.live_bytes, 0);
}

static void test_alloc_failures(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 5, 0, &rng);
  lp2p_peerid p, key;
  rand_id(&p);
  rand_id(&key);
  for (uint64_t k = 1; k <= 5; k++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    mc.fail_at = k;
    lp2p_kad_providers *ps;
    if (lp2p_kad_providers_new(&ps, NULL, &mc.mem, &rng, 0) == 0) {
      for (int i = 0; i < 3; i++) {
        int rc = lp2p_kad_providers_add(ps, key.bytes, key.len, &p, NULL, 0, 0);
        assert_true(rc == 0 || rc == LP2P_ERR_NOMEM);
        key.bytes[5]++;
      }
      lp2p_kad_providers_free(ps);
    }
    lp2p_kad_records *rs;
    mc.fail_at = mc.total_allocs + k;
    if (lp2p_kad_records_new(&rs, NULL, &mc.mem, &rng, 0) == 0) {
      for (int i = 0; i < 3; i++) {
        int rc = lp2p_kad_records_put(rs, key.bytes, key.len, p.bytes, 10, 0, 0);
        assert_true(rc == 0 || rc == LP2P_ERR_NOMEM);
        key.bytes[5]++;
      }
      lp2p_kad_records_free(rs);
    }
    assert_int_equal(mc.live_bytes, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_records_basic),
      cmocka_unit_test(test_records_flood),
      cmocka_unit_test(test_providers_basic),
      cmocka_unit_test(test_providers_flood),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
