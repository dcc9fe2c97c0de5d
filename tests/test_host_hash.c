/* The peerstore's hash table is keyed from the host's injected rng: two
 * hosts with different seeds put the same peer ids into different buckets
 * (so no id set collides everywhere), and the same seed replays the same
 * layout (so simulations stay deterministic). Looks inside the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/host.h"
#include "proto/host/host_internal.h"

#define NPEERS 64

typedef struct hh {
  lp2p_rng_chacha rs;
  lp2p_rng rng;
  lp2p_privkey key;
  lp2p_host *h;
} hh;

static void hh_new(hh *x, uint64_t seed) {
  lp2p_rng kr;
  lp2p_rng_chacha ks;
  lp2p_rng_chacha_init(&ks, 1, 0, &kr); /* same identity for every host */
  assert_int_equal(lp2p_key_generate(&x->key, LP2P_KEY_ED25519, 0, &kr), 0);
  lp2p_rng_chacha_init(&x->rs, seed, 0, &x->rng);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &x->key;
  assert_int_equal(lp2p_host_new(&x->h, &cfg, NULL, &x->rng, 0), 0);
}

/* NPEERS distinct, valid peer ids (identity multihash of ed25519 keys). */
static void make_ids(lp2p_peerid *ids) {
  lp2p_rng r;
  lp2p_rng_chacha st;
  lp2p_rng_chacha_init(&st, 7, 7, &r);
  for (int i = 0; i < NPEERS; i++) {
    lp2p_privkey k;
    assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &r), 0);
    assert_int_equal(lp2p_peerid_from_pubkey(&ids[i], &k.pub), 0);
  }
}

static void add_all(lp2p_host *h, const lp2p_peerid *ids) {
  lp2p_maddr ma;
  const char *t = "/ip4/10.0.0.1/tcp/4001";
  assert_int_equal(lp2p_maddr_parse(&ma, t, strlen(t)), 0);
  for (int i = 0; i < NPEERS; i++)
    assert_int_equal(lp2p_host_peer_addr_add(h, 0, &ids[i], &ma, 0), 0);
}

/* The bucket that holds `id`, found by walking the table (not by hashing,
 * so the test does not restate the code under test). */
static uint32_t bucket_of(const lp2p_host *h, const lp2p_peerid *id) {
  for (uint32_t b = 0; b < h->nbuckets; b++)
    for (const hpeer *p = h->buckets[b]; p; p = p->hnext)
      if (lp2p_peerid_equal(&p->id, id))
        return b;
  fail_msg("peer not in the table");
  return 0;
}

static int same_layout(const hh *a, const hh *b, const lp2p_peerid *ids) {
  assert_int_equal(a->h->nbuckets, b->h->nbuckets);
  for (int i = 0; i < NPEERS; i++)
    if (bucket_of(a->h, &ids[i]) != bucket_of(b->h, &ids[i]))
      return 0;
  return 1;
}

static void test_seed_changes_buckets(void **s) {
  (void)s;
  static lp2p_peerid ids[NPEERS];
  make_ids(ids);
  hh a, b, c;
  hh_new(&a, 100);
  hh_new(&b, 200);
  hh_new(&c, 100);
  add_all(a.h, ids);
  add_all(b.h, ids);
  add_all(c.h, ids);
  assert_true(a.h->nbuckets >= 2);
  assert_memory_not_equal(a.h->hash_key, b.h->hash_key, sizeof a.h->hash_key);
  assert_false(same_layout(&a, &b, ids));
  assert_true(same_layout(&a, &c, ids));
  /* Lookups still work under either key. */
  for (int i = 0; i < NPEERS; i++) {
    assert_non_null(host_peer_find(a.h, &ids[i]));
    assert_non_null(host_peer_find(b.h, &ids[i]));
  }
  lp2p_host_free(a.h);
  lp2p_host_free(b.h);
  lp2p_host_free(c.h);
}

/* A peer's addresses live first in its entry (two slots), then on the
 * heap, grown by doubling up to addrs_per_peer_max; through that, every
 * address stays readable, a full list replaces the one that expires
 * first, expired ones make room, and nothing leaks (counting allocator).
 * Looks inside the entry for where the list lives. */
static void addr_at(lp2p_maddr *ma, int i) {
  char t[64];
  snprintf(t, sizeof t, "/ip4/10.0.%d.%d/tcp/4001", i / 250, i % 250 + 1);
  assert_int_equal(lp2p_maddr_parse(ma, t, strlen(t)), 0);
}

static int has_addr(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *id,
                    int i) {
  lp2p_maddr want, got[16];
  size_t n = 0;
  addr_at(&want, i);
  assert_int_equal(lp2p_host_peer_addrs(h, now, id, got, 16, &n), 0);
  for (size_t k = 0; k < n; k++)
    if (lp2p_maddr_equal(&got[k], &want))
      return 1;
  return 0;
}

static size_t naddrs(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *id) {
  lp2p_maddr got[16];
  size_t n = 0;
  assert_int_equal(lp2p_host_peer_addrs(h, now, id, got, 16, &n), 0);
  return n;
}

static void test_peer_addrs_inline_then_heap(void **s) {
  (void)s;
  static lp2p_peerid ids[NPEERS];
  make_ids(ids);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_rng_chacha ks, rs;
  lp2p_rng kr, rng;
  lp2p_rng_chacha_init(&ks, 1, 0, &kr);
  lp2p_privkey key;
  assert_int_equal(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &kr), 0);
  lp2p_rng_chacha_init(&rs, 3, 0, &rng);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.addrs_per_peer_max = 6;
  lp2p_host *h;
  assert_int_equal(lp2p_host_new(&h, &cfg, &mc.mem, &rng, 0), 0);
  const lp2p_tstamp S = LP2P_NS_PER_S;
  lp2p_maddr ma;
  /* addresses i = 0..5 expire at (10 + i) s */
  for (int i = 0; i < 6; i++) {
    addr_at(&ma, i);
    assert_int_equal(
        lp2p_host_peer_addr_add(h, 0, &ids[0], &ma, (uint64_t)(10 + i) * S), 0);
    const hpeer *p = host_peer_find(h, &ids[0]);
    assert_non_null(p);
    assert_int_equal(p->naddrs, i + 1);
    if (i < 2)
      assert_ptr_equal(p->addrs, p->addrs_inl); /* in the entry */
    else
      assert_ptr_not_equal(p->addrs, p->addrs_inl); /* moved out */
    for (int k = 0; k <= i; k++)
      assert_true(has_addr(h, 0, &ids[0], k));
  }
  /* known address: refreshed (later expiry kept), not added */
  addr_at(&ma, 0);
  assert_int_equal(lp2p_host_peer_addr_add(h, 0, &ids[0], &ma, 30 * S), 0);
  assert_int_equal(naddrs(h, 0, &ids[0]), 6);
  /* full: a seventh replaces the one that expires first (1, at 11 s) */
  addr_at(&ma, 6);
  assert_int_equal(lp2p_host_peer_addr_add(h, 0, &ids[0], &ma, 40 * S), 0);
  assert_int_equal(naddrs(h, 0, &ids[0]), 6);
  assert_false(has_addr(h, 0, &ids[0], 1));
  assert_true(has_addr(h, 0, &ids[0], 0) && has_addr(h, 0, &ids[0], 6));
  /* at 13.5 s, 2 and 3 have expired: a newcomer drops them first */
  addr_at(&ma, 7);
  assert_int_equal(
      lp2p_host_peer_addr_add(h, 13 * S + S / 2, &ids[0], &ma, 50 * S), 0);
  assert_int_equal(host_peer_find(h, &ids[0])->naddrs, 5); /* 0 4 5 6 7 */
  assert_true(has_addr(h, 14 * S, &ids[0], 7));
  /* a second peer that stays inline, a third that moves out */
  for (int i = 0; i < 2; i++) {
    addr_at(&ma, 100 + i);
    assert_int_equal(lp2p_host_peer_addr_add(h, 0, &ids[1], &ma, 0), 0);
  }
  for (int i = 0; i < 3; i++) {
    addr_at(&ma, 200 + i);
    assert_int_equal(lp2p_host_peer_addr_add(h, 0, &ids[2], &ma, 0), 0);
  }
  assert_ptr_equal(host_peer_find(h, &ids[1])->addrs,
                   host_peer_find(h, &ids[1])->addrs_inl);
  assert_int_equal(naddrs(h, 0, &ids[1]), 2);
  assert_int_equal(naddrs(h, 0, &ids[2]), 3);
  lp2p_host_free(h);
  assert_int_equal(mc.live_bytes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_changes_buckets),
      cmocka_unit_test(test_peer_addrs_inline_then_heap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
