/* Fuzzes the routing table with operation sequences over a pool of peer
 * ids: add (kad server or not), remove, liveness checks taken and
 * answered either way, timeouts, time steps, closest and refresh queries,
 * with small k and replacement caches so buckets fill and churn, and a
 * fail-at allocation. Checks: the size is the sum of the buckets, no
 * bucket holds more than k, closest answers are ordered, in the table and
 * closer than every member left out, refresh targets land in their
 * bucket, nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/kad.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define POOL 48

/* A xorshift stream seeded by the input: refresh targets need many
 * distinct draws, which a run-out input (zeros) would not give. */
static void fill(void *ctx, uint8_t *out, size_t n) {
  uint64_t *x = ctx;
  for (size_t i = 0; i < n; i++) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    out[i] = (uint8_t)*x;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_kad_table_config cfg;
  lp2p_kad_table_config_default(&cfg);
  cfg.k = fdp_range(&f, 1, 6);
  cfg.replacements_max = fdp_range(&f, 1, 4);
  cfg.ping_min_age_ns = fdp_range(&f, 0, 100);
  cfg.ping_timeout_ns = fdp_range(&f, 1, 100);
  cfg.refresh_interval_ns = fdp_range(&f, 1, 1000);
  cfg.refresh_cpl_max = (unsigned)fdp_range(&f, 0, 20);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 40) : 0;
  lp2p_peerid pool[POOL], self;
  /* ids: distinct indices folded into sha2-256 multihashes whose digest
   * the input shapes (the table hashes them again, so any bytes do) */
  for (int i = 0; i < POOL; i++) {
    pool[i].len = 34;
    pool[i].bytes[0] = 0x12;
    pool[i].bytes[1] = 0x20;
    memset(pool[i].bytes + 2, 0, 32);
    pool[i].bytes[2] = (uint8_t)i;
    pool[i].bytes[3] = fdp_u8(&f);
  }
  self = pool[0];
  self.bytes[2] = 0xff;
  lp2p_kad_table *t;
  if (lp2p_kad_table_new(&t, &self, &cfg, &mem.mem, 0) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  uint64_t seed = fdp_u64(&f) | 1;
  lp2p_rng rng = {fill, &seed};
  lp2p_tstamp now = 0;
  for (int op = 0; op < 400 && fdp_left(&f); op++) {
    const lp2p_peerid *id = &pool[fdp_range(&f, 0, POOL - 1)];
    lp2p_peerid got[POOL];
    switch (fdp_range(&f, 0, 8)) {
    case 0:
    case 1: {
      int rc = lp2p_kad_table_add(t, id, fdp_u8(&f) != 0, now);
      CHECK(rc == LP2P_ERR_NOMEM || (rc >= 1 && rc <= 4));
      break;
    }
    case 2:
      lp2p_kad_table_remove(t, id, now);
      CHECK(!lp2p_kad_table_contains(t, id));
      break;
    case 3: {
      lp2p_peerid p;
      if (lp2p_kad_table_poll_ping(t, &p)) {
        CHECK(lp2p_kad_table_contains(t, &p));
        lp2p_kad_table_ping_result(t, &p, fdp_bool(&f), now);
      }
      break;
    }
    case 4:
      lp2p_kad_table_ping_result(t, id, fdp_bool(&f), now);
      break;
    case 5:
      now += fdp_range(&f, 0, 200);
      break;
    case 6: {
      lp2p_tstamp dl = lp2p_kad_table_next_timeout(t);
      if (dl != LP2P_TSTAMP_NONE && dl > now)
        now = dl;
      lp2p_kad_table_handle_timeout(t, now);
      CHECK(lp2p_kad_table_next_timeout(t) > now);
      break;
    }
    case 7: {
      uint8_t target[32];
      lp2p_kad_key_hash(id->bytes, id->len, target);
      size_t want = fdp_range(&f, 0, POOL);
      size_t n = lp2p_kad_table_closest(t, target, got, want);
      CHECK(n <= want && n <= lp2p_kad_table_size(t));
      CHECK(n == want || n == lp2p_kad_table_size(t));
      uint8_t prev[32], cur[32];
      for (size_t i = 0; i < n; i++) {
        CHECK(lp2p_kad_table_contains(t, &got[i]));
        lp2p_kad_key_hash(got[i].bytes, got[i].len, cur);
        if (i)
          CHECK(lp2p_kad_dist_cmp(target, prev, cur) < 0);
        memcpy(prev, cur, 32);
      }
      /* and they are the closest: every member of the table left out is
       * farther than the last one given (the table stops scanning early) */
      for (int j = 0; n && j < POOL; j++) {
        if (!lp2p_kad_table_contains(t, &pool[j]))
          continue;
        int given = 0;
        for (size_t i = 0; i < n && !given; i++)
          given = lp2p_peerid_equal(&got[i], &pool[j]);
        lp2p_kad_key_hash(pool[j].bytes, pool[j].len, cur);
        CHECK(given || lp2p_kad_dist_cmp(target, prev, cur) < 0);
      }
      break;
    }
    case 8: {
      unsigned due[32];
      size_t n = lp2p_kad_table_refresh_due(t, now, due, 32);
      for (size_t i = 0; i < n; i++) {
        CHECK(due[i] <= cfg.refresh_cpl_max);
        if (fdp_bool(&f))
          lp2p_kad_table_refreshed(t, due[i], now);
      }
      unsigned cpl = (unsigned)fdp_range(&f, 0, 3);
      lp2p_peerid tgt;
      if (lp2p_kad_table_refresh_target(t, cpl, &rng, &tgt) == 0) {
        uint8_t a[32], b[32];
        lp2p_kad_key_hash(self.bytes, self.len, a);
        lp2p_kad_key_hash(tgt.bytes, tgt.len, b);
        CHECK(lp2p_kad_cpl(a, b) == cpl);
      }
      break;
    }
    }
    size_t sum = 0;
    for (unsigned c = 0; c <= 256; c++) {
      size_t b = lp2p_kad_table_bucket_size(t, c);
      CHECK(b <= cfg.k);
      sum += b;
    }
    CHECK(sum == lp2p_kad_table_size(t));
    CHECK(!lp2p_kad_table_contains(t, &self));
  }
  lp2p_kad_table_free(t);
  CHECK(mem.live_bytes == 0);
  return 0;
}
