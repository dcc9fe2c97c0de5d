/* Routing table: bucket placement by common prefix length, the k bound,
 * replacement cache and liveness checks before eviction, closest
 * ordering against a brute-force sort, client-mode peers kept out,
 * refresh timing and targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/kad.h"

static lp2p_rng_chacha rng_st;
static lp2p_rng rng;

static void rand_id(lp2p_peerid *id) {
  id->len = 34;
  id->bytes[0] = 0x12;
  id->bytes[1] = 0x20;
  rng.fill(rng.ctx, id->bytes + 2, 32);
}

static unsigned cpl_of(const lp2p_peerid *self, const lp2p_peerid *id) {
  uint8_t a[32], b[32];
  lp2p_kad_key_hash(self->bytes, self->len, a);
  lp2p_kad_key_hash(id->bytes, id->len, b);
  return lp2p_kad_cpl(a, b);
}

/* A random id whose key falls in bucket `cpl` of self. */
static void id_in_bucket(const lp2p_kad_table *t, unsigned cpl, lp2p_peerid *id) {
  assert_int_equal(lp2p_kad_table_refresh_target(t, cpl, &rng, id), 0);
}

static void test_placement_and_bound(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 1, 0, &rng);
  lp2p_peerid self;
  rand_id(&self);
  lp2p_kad_table *t;
  assert_int_equal(lp2p_kad_table_new(&t, &self, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_kad_table_add(t, &self, 1, 0), LP2P_KAD_TABLE_REJECTED);
  size_t per_bucket[257] = {0};
  size_t added = 0;
  for (int i = 0; i < 2000; i++) {
    lp2p_peerid id;
    rand_id(&id);
    unsigned c = cpl_of(&self, &id);
    int rc = lp2p_kad_table_add(t, &id, 1, 0);
    if (per_bucket[c] < LP2P_KAD_K) {
      assert_int_equal(rc, LP2P_KAD_TABLE_ADDED);
      per_bucket[c]++;
      added++;
      assert_true(lp2p_kad_table_contains(t, &id));
    } else {
      assert_int_equal(rc, LP2P_KAD_TABLE_CACHED);
      assert_false(lp2p_kad_table_contains(t, &id));
    }
    assert_int_equal(lp2p_kad_table_add(t, &id, 1, 0),
                     rc == LP2P_KAD_TABLE_ADDED ? LP2P_KAD_TABLE_UPDATED
                                                : LP2P_KAD_TABLE_CACHED);
  }
  for (unsigned c = 0; c < 256; c++)
    assert_int_equal(lp2p_kad_table_bucket_size(t, c), per_bucket[c]);
  assert_int_equal(lp2p_kad_table_size(t), added);
  assert_int_equal(per_bucket[0], LP2P_KAD_K); /* half of 2000 land there */
  /* nobody was silent for a minute: no liveness checks */
  lp2p_peerid p;
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 0);
  lp2p_kad_table_free(t);
}

static void test_client_peers_stay_out(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 2, 0, &rng);
  lp2p_peerid self, a;
  rand_id(&self);
  rand_id(&a);
  lp2p_kad_table *t;
  assert_int_equal(lp2p_kad_table_new(&t, &self, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_kad_table_add(t, &a, 0, 0), LP2P_KAD_TABLE_REJECTED);
  assert_int_equal(lp2p_kad_table_size(t), 0);
  assert_int_equal(lp2p_kad_table_add(t, &a, 1, 0), LP2P_KAD_TABLE_ADDED);
  /* it stopped announcing kad (identify push): it leaves */
  assert_int_equal(lp2p_kad_table_add(t, &a, 0, 5), LP2P_KAD_TABLE_REJECTED);
  assert_false(lp2p_kad_table_contains(t, &a));
  assert_int_equal(lp2p_kad_table_remove(t, &a, 5), LP2P_ERR_NOT_FOUND);
  lp2p_kad_table_free(t);
}

/* Fill one bucket, then offer more: checks, eviction, replacement. */
static void test_eviction(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 3, 0, &rng);
  lp2p_peerid self;
  rand_id(&self);
  lp2p_kad_table *t;
  lp2p_kad_table_config cfg;
  lp2p_kad_table_config_default(&cfg);
  cfg.replacements_max = 3;
  assert_int_equal(lp2p_kad_table_new(&t, &self, &cfg, NULL, 0), 0);
  lp2p_peerid in[LP2P_KAD_K], extra[5], p;
  const lp2p_tstamp S = LP2P_NS_PER_S;
  for (int i = 0; i < LP2P_KAD_K; i++) {
    id_in_bucket(t, 2, &in[i]);
    assert_int_equal(lp2p_kad_table_add(t, &in[i], 1, (lp2p_tstamp)i * S), LP2P_KAD_TABLE_ADDED);
  }
  /* in[0] was seen at 0: at 30 s it is not yet worth a check */
  id_in_bucket(t, 2, &extra[0]);
  assert_int_equal(lp2p_kad_table_add(t, &extra[0], 1, 30 * S), LP2P_KAD_TABLE_CACHED);
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 0);
  /* at 100 s it is: one check of the least recently seen entry */
  id_in_bucket(t, 2, &extra[1]);
  assert_int_equal(lp2p_kad_table_add(t, &extra[1], 1, 100 * S), LP2P_KAD_TABLE_CACHED);
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 1);
  assert_true(lp2p_peerid_equal(&p, &in[0]));
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 0); /* one per bucket */
  /* alive: it stays (now the most recent), nobody enters */
  lp2p_kad_table_ping_result(t, &in[0], 1, 101 * S);
  assert_true(lp2p_kad_table_contains(t, &in[0]));
  assert_false(lp2p_kad_table_contains(t, &extra[1]));
  /* the next offer checks in[1]; it is dead: the newest replacement enters */
  id_in_bucket(t, 2, &extra[2]);
  assert_int_equal(lp2p_kad_table_add(t, &extra[2], 1, 102 * S), LP2P_KAD_TABLE_CACHED);
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 1);
  assert_true(lp2p_peerid_equal(&p, &in[1]));
  lp2p_kad_table_ping_result(t, &in[1], 0, 103 * S);
  assert_false(lp2p_kad_table_contains(t, &in[1]));
  assert_true(lp2p_kad_table_contains(t, &extra[2]));
  assert_int_equal(lp2p_kad_table_bucket_size(t, 2), LP2P_KAD_K);
  /* the cache holds replacements_max (3): extra[0] fell out when the 4th came */
  id_in_bucket(t, 2, &extra[3]);
  id_in_bucket(t, 2, &extra[4]);
  assert_int_equal(lp2p_kad_table_add(t, &extra[3], 1, 104 * S), LP2P_KAD_TABLE_CACHED);
  assert_int_equal(lp2p_kad_table_add(t, &extra[4], 1, 105 * S), LP2P_KAD_TABLE_CACHED);
  /* an unanswered check times out as dead (in[2] is now least recent) */
  assert_int_equal(lp2p_kad_table_poll_ping(t, &p), 1);
  assert_true(lp2p_peerid_equal(&p, &in[2]));
  lp2p_tstamp dl = lp2p_kad_table_next_timeout(t);
  assert_int_equal(dl, 104 * S + cfg.ping_timeout_ns);
  lp2p_kad_table_handle_timeout(t, dl - 1);
  assert_true(lp2p_kad_table_contains(t, &in[2]));
  lp2p_kad_table_handle_timeout(t, dl);
  assert_false(lp2p_kad_table_contains(t, &in[2]));
  assert_true(lp2p_kad_table_contains(t, &extra[4]));
  assert_int_equal(lp2p_kad_table_next_timeout(t), LP2P_TSTAMP_NONE);
  /* removal (failed queries) promotes the next replacement: extra[3] */
  assert_int_equal(lp2p_kad_table_remove(t, &in[5], 106 * S), 0);
  assert_true(lp2p_kad_table_contains(t, &extra[3]));
  /* then extra[1] (extra[0] was pushed out of the 3-slot cache) */
  assert_int_equal(lp2p_kad_table_remove(t, &in[6], 107 * S), 0);
  assert_true(lp2p_kad_table_contains(t, &extra[1]));
  assert_false(lp2p_kad_table_contains(t, &extra[0]));
  assert_int_equal(lp2p_kad_table_remove(t, &in[7], 108 * S), 0);
  assert_int_equal(lp2p_kad_table_bucket_size(t, 2), LP2P_KAD_K - 1);
  /* results for peers we never checked are ignored */
  lp2p_kad_table_ping_result(t, &extra[0], 0, 109 * S);
  assert_int_equal(lp2p_kad_table_bucket_size(t, 2), LP2P_KAD_K - 1);
  lp2p_kad_table_free(t);
}

static const uint8_t *sort_target;
static int by_dist(const void *a, const void *b) {
  uint8_t ka[32], kb[32];
  const lp2p_peerid *x = a, *y = b;
  lp2p_kad_key_hash(x->bytes, x->len, ka);
  lp2p_kad_key_hash(y->bytes, y->len, kb);
  return lp2p_kad_dist_cmp(sort_target, ka, kb);
}

static void test_closest(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 4, 0, &rng);
  lp2p_peerid self;
  rand_id(&self);
  lp2p_kad_table *t;
  assert_int_equal(lp2p_kad_table_new(&t, &self, NULL, NULL, 0), 0);
  enum { N = 600 };
  lp2p_peerid *all = calloc(N, sizeof *all), *in = calloc(N, sizeof *in);
  size_t nin = 0;
  for (int i = 0; i < N; i++) {
    rand_id(&all[i]);
    if (lp2p_kad_table_add(t, &all[i], 1, 0) == LP2P_KAD_TABLE_ADDED)
      in[nin++] = all[i];
  }
  assert_int_equal(nin, lp2p_kad_table_size(t));
  for (int round = 0; round < 20; round++) {
    lp2p_peerid target;
    rand_id(&target);
    uint8_t tk[32];
    lp2p_kad_key_hash(target.bytes, target.len, tk);
    sort_target = tk;
    qsort(in, nin, sizeof *in, by_dist);
    lp2p_peerid got[LP2P_KAD_K];
    assert_int_equal(lp2p_kad_table_closest(t, tk, got, LP2P_KAD_K), LP2P_KAD_K);
    for (int i = 0; i < LP2P_KAD_K; i++)
      assert_true(lp2p_peerid_equal(&got[i], &in[i]));
  }
  /* Targets at every common prefix length with ourselves (the table scans
   * bucket groups in distance order and stops early: it must still agree
   * with the full sort), our own key, and window sizes around k. */
  uint8_t self_key[32];
  lp2p_kad_key_hash(self.bytes, self.len, self_key);
  static const size_t sizes[] = {1, 3, LP2P_KAD_K - 1, LP2P_KAD_K,
                                 LP2P_KAD_K + 1, 2 * LP2P_KAD_K,
                                 4 * LP2P_KAD_K};
  for (unsigned cpl = 0; cpl <= 12; cpl++) {
    uint8_t tk[32];
    if (cpl == 12) {
      memcpy(tk, self_key, 32);
    } else {
      rng.fill(rng.ctx, tk, sizeof tk);
      for (unsigned bit = 0; bit <= cpl; bit++) {
        uint8_t m = (uint8_t)(0x80u >> (bit % 8));
        uint8_t want = self_key[bit / 8] & m;
        if (bit == cpl)
          want ^= m;
        tk[bit / 8] = (uint8_t)((tk[bit / 8] & ~m) | want);
      }
      assert_int_equal(lp2p_kad_cpl(tk, self_key), cpl);
    }
    sort_target = tk;
    qsort(in, nin, sizeof *in, by_dist);
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
      lp2p_peerid got[4 * LP2P_KAD_K];
      size_t want = sizes[z] < nin ? sizes[z] : nin;
      assert_int_equal(lp2p_kad_table_closest(t, tk, got, sizes[z]), want);
      for (size_t i = 0; i < want; i++)
        assert_true(lp2p_peerid_equal(&got[i], &in[i]));
    }
  }
  lp2p_peerid few[3];
  uint8_t zero[32] = {0};
  assert_int_equal(lp2p_kad_table_closest(t, zero, few, 3), 3);
  free(all);
  free(in);
  lp2p_kad_table_free(t);
}

static void test_refresh(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 5, 0, &rng);
  lp2p_peerid self, id;
  rand_id(&self);
  lp2p_kad_table *t;
  assert_int_equal(lp2p_kad_table_new(&t, &self, NULL, NULL, 0), 0);
  unsigned due[32];
  const lp2p_tstamp R = LP2P_KAD_REFRESH_INTERVAL_NS;
  assert_int_equal(lp2p_kad_table_refresh_due(t, 2 * R, due, 32), 0); /* empty */
  for (unsigned c = 0; c <= 15; c++) {
    assert_int_equal(lp2p_kad_table_refresh_target(t, c, &rng, &id), 0);
    assert_int_equal(cpl_of(&self, &id), c);
  }
  assert_int_equal(lp2p_kad_table_refresh_target(t, 16, &rng, &id), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_kad_table_refresh_target(t, 4, &rng, &id), 0);
  assert_int_equal(lp2p_kad_table_add(t, &id, 1, 0), LP2P_KAD_TABLE_ADDED);
  assert_int_equal(lp2p_kad_table_refresh_due(t, R - 1, due, 32), 0);
  assert_int_equal(lp2p_kad_table_refresh_due(t, R, due, 32), 5); /* cpl 0..4 */
  for (unsigned c = 0; c < 5; c++)
    assert_int_equal(due[c], c);
  lp2p_kad_table_refreshed(t, 3, R);
  assert_int_equal(lp2p_kad_table_refresh_due(t, R + 1, due, 32), 4);
  assert_int_equal(due[3], 4);
  assert_int_equal(lp2p_kad_table_refresh_due(t, R + 1, due, 2), 2);
  lp2p_kad_table_free(t);
}

static void test_alloc_failure(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 6, 0, &rng);
  lp2p_peerid self, id;
  rand_id(&self);
  for (uint64_t k = 1; k <= 3; k++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    mc.fail_at = k;
    lp2p_kad_table *t = NULL;
    int rc = lp2p_kad_table_new(&t, &self, NULL, &mc.mem, 0);
    if (rc == 0) {
      rand_id(&id);
      rc = lp2p_kad_table_add(t, &id, 1, 0);
      assert_true(rc == LP2P_KAD_TABLE_ADDED || rc == LP2P_ERR_NOMEM);
      lp2p_kad_table_free(t);
    } else {
      assert_int_equal(rc, LP2P_ERR_NOMEM);
    }
    assert_int_equal(mc.live_bytes, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_placement_and_bound),
      cmocka_unit_test(test_client_peers_stay_out),
      cmocka_unit_test(test_eviction),
      cmocka_unit_test(test_closest),
      cmocka_unit_test(test_refresh),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
