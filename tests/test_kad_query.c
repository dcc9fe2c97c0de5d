/* Query engine: convergence on a synthetic 1,000-node Kademlia network
 * (every node a real routing table holding the peers it would keep),
 * timeouts and dead peers, hop counts, GET_VALUE selection and entry
 * correction, GET_PROVIDERS, PUT fan-out, and hostile answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/ipns.h"
#include "lp2p/kad.h"

static lp2p_rng_chacha rng_st;
static lp2p_rng rng;
static const lp2p_tstamp S = LP2P_NS_PER_S;

static void rand_id(lp2p_peerid *id) {
  id->len = 34;
  id->bytes[0] = 0x12;
  id->bytes[1] = 0x20;
  rng.fill(rng.ctx, id->bytes + 2, 32);
}

/* ---- a synthetic network ---------------------------------------------- */

enum { NET = 1000 };

typedef struct net {
  size_t n;
  lp2p_peerid id[NET];
  uint8_t key[NET][32];
  lp2p_kad_table *t[NET];
  uint8_t dead[NET];
} net;

static net *net_new(size_t n, uint64_t seed) {
  lp2p_rng_chacha_init(&rng_st, seed, 0, &rng);
  net *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->n = n;
  for (size_t i = 0; i < n; i++) {
    rand_id(&w->id[i]);
    lp2p_kad_key_hash(w->id[i].bytes, w->id[i].len, w->key[i]);
  }
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(lp2p_kad_table_new(&w->t[i], &w->id[i], NULL, NULL, 0), 0);
    for (size_t j = 0; j < n; j++)
      if (i != j)
        lp2p_kad_table_add(w->t[i], &w->id[j], 1, 0);
  }
  return w;
}

static void net_free(net *w) {
  for (size_t i = 0; i < w->n; i++)
    lp2p_kad_table_free(w->t[i]);
  free(w);
}

static size_t net_find(const net *w, const lp2p_peerid *id) {
  for (size_t i = 0; i < w->n; i++)
    if (lp2p_peerid_equal(&w->id[i], id))
      return i;
  fail_msg("unknown peer");
  return 0;
}

/* The k true closest live nodes to target, by brute force. */
static size_t true_closest(const net *w, const uint8_t target[32], size_t *out,
                           size_t k, size_t except) {
  size_t got = 0;
  for (size_t i = 0; i < w->n; i++) {
    if (w->dead[i] || i == except)
      continue;
    size_t pos = got;
    while (pos > 0 && lp2p_kad_dist_cmp(target, w->key[i], w->key[out[pos - 1]]) < 0)
      pos--;
    if (pos >= k)
      continue;
    size_t last = got < k ? got : k - 1;
    memmove(&out[pos + 1], &out[pos], (last - pos) * sizeof *out);
    out[pos] = i;
    if (got < k)
      got++;
  }
  return got;
}

/* Node i answers a request for `target` with its table's k closest. */
static void answer(const net *w, size_t i, const uint8_t target[32],
                   lp2p_kad_peer *peers, lp2p_peerid *ids, lp2p_kad_msg *m) {
  size_t n = lp2p_kad_table_closest(w->t[i], target, ids, LP2P_KAD_K);
  memset(m, 0, sizeof *m);
  m->type = LP2P_KAD_FIND_NODE;
  for (size_t j = 0; j < n; j++) {
    memset(&peers[j], 0, sizeof peers[j]);
    peers[j].id.p = ids[j].bytes;
    peers[j].id.n = ids[j].len;
  }
  m->closer = peers;
  m->closer_n = n;
}

/* Runs q against the network until done: requests to dead nodes time out
 * after the request timeout. Returns the virtual time taken. */
static lp2p_tstamp run(net *w, lp2p_kad_query *q, const uint8_t target[32]) {
  lp2p_tstamp now = 0;
  lp2p_kad_request rq;
  lp2p_kad_peer peers[LP2P_KAD_K];
  lp2p_peerid ids[LP2P_KAD_K];
  lp2p_kad_msg m;
  for (int guard = 0; guard < 100000 && !lp2p_kad_query_done(q); guard++) {
    int sent = 0;
    while (lp2p_kad_query_poll_request(q, now, &rq)) {
      sent = 1;
      size_t i = net_find(w, &rq.peer);
      if (w->dead[i])
        continue;
      now += LP2P_NS_PER_MS;
      answer(w, i, target, peers, ids, &m);
      assert_int_equal(lp2p_kad_query_on_response(q, &rq.peer, &m, now), 0);
    }
    if (!sent && !lp2p_kad_query_done(q)) {
      lp2p_tstamp t = lp2p_kad_query_next_timeout(q);
      assert_true(t != LP2P_TSTAMP_NONE);
      now = t > now ? t : now;
      lp2p_kad_query_handle_timeout(q, now);
    }
  }
  assert_true(lp2p_kad_query_done(q));
  return now;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* From a node's own table, FIND_NODE finds exactly the k true closest. */
static void test_convergence(void **s) {
  (void)s;
  net *w = net_new(NET, 11);
  enum { LOOKUPS = 60 };
  uint32_t hops[LOOKUPS];
  for (int l = 0; l < LOOKUPS; l++) {
    size_t from = (size_t)lp2p_rng_below(&rng, NET);
    lp2p_peerid target;
    rand_id(&target);
    uint8_t tk[32];
    lp2p_kad_key_hash(target.bytes, target.len, tk);
    lp2p_kad_query *q;
    assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, target.bytes,
                                        target.len, &w->id[from], NULL, NULL, 0), 0);
    lp2p_peerid seeds[LP2P_KAD_K];
    size_t ns = lp2p_kad_table_closest(w->t[from], tk, seeds, LP2P_KAD_K);
    assert_int_equal(lp2p_kad_query_seed(q, seeds, ns, 0), ns);
    run(w, q, tk);
    size_t want[LP2P_KAD_K];
    assert_int_equal(true_closest(w, tk, want, LP2P_KAD_K, from), LP2P_KAD_K);
    for (size_t i = 0; i < LP2P_KAD_K; i++) {
      lp2p_peerid got;
      uint32_t h;
      assert_int_equal(lp2p_kad_query_result(q, i, &got, &h), 1);
      assert_true(lp2p_peerid_equal(&got, &w->id[want[i]]));
      assert_true(h >= 1);
      if (i == 0)
        hops[l] = h;
    }
    assert_int_equal(lp2p_kad_query_result(q, LP2P_KAD_K, NULL, NULL), 0);
    lp2p_kad_query_stats st;
    lp2p_kad_query_stats_get(q, &st);
    assert_int_equal(st.failures, 0);
    assert_true(st.requests < 200);
    lp2p_kad_query_free(q);
  }
  qsort(hops, LOOKUPS, sizeof hops[0], cmp_u32);
  assert_true(hops[LOOKUPS / 2] <= 4); /* the closest peer is a few hops out */
  net_free(w);
}

/* A tenth of the network is dead (still in everyone's tables): requests
 * to them time out, the results hold no dead node and the closest live
 * nodes; a lookup waits at most a request timeout per failure. */
static void test_dead_peers(void **s) {
  (void)s;
  net *w = net_new(NET, 12);
  for (size_t i = 0; i < NET; i += 10)
    w->dead[i] = 1;
  for (int l = 0; l < 20; l++) {
    size_t from = 1 + 10 * (size_t)lp2p_rng_below(&rng, NET / 10 - 1);
    lp2p_peerid target;
    rand_id(&target);
    uint8_t tk[32];
    lp2p_kad_key_hash(target.bytes, target.len, tk);
    lp2p_kad_query *q;
    assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, target.bytes,
                                        target.len, &w->id[from], NULL, NULL, 0), 0);
    lp2p_peerid seeds[LP2P_KAD_K];
    size_t ns = lp2p_kad_table_closest(w->t[from], tk, seeds, LP2P_KAD_K);
    lp2p_kad_query_seed(q, seeds, ns, 0);
    lp2p_tstamp took = run(w, q, tk);
    size_t want[LP2P_KAD_K];
    true_closest(w, tk, want, LP2P_KAD_K, from);
    /* Nodes answer with their k closest, dead ones included, so a live
     * node is surely named only when fewer than k - 1 nodes, dead or
     * alive, are closer: those must all be found, in order. */
    size_t overall[LP2P_KAD_K], sure = 0;
    uint8_t dead_save[NET];
    memcpy(dead_save, w->dead, NET);
    memset(w->dead, 0, NET);
    true_closest(w, tk, overall, LP2P_KAD_K - 1, from);
    memcpy(w->dead, dead_save, NET);
    for (size_t i = 0; i < LP2P_KAD_K - 1; i++)
      sure += !w->dead[overall[i]];
    assert_true(sure >= LP2P_KAD_K / 2);
    for (size_t i = 0; i < LP2P_KAD_K; i++) {
      lp2p_peerid got;
      assert_int_equal(lp2p_kad_query_result(q, i, &got, NULL), 1);
      assert_false(w->dead[net_find(w, &got)]);
      if (i < sure)
        assert_true(lp2p_peerid_equal(&got, &w->id[want[i]]));
    }
    lp2p_kad_query_stats st;
    lp2p_kad_query_stats_get(q, &st);
    assert_true(took <= (st.failures + 1) * 10 * S + S);
    lp2p_kad_query_free(q);
  }
  net_free(w);
}

static void msg_naming(lp2p_kad_msg *m, lp2p_kad_peer *pp, const lp2p_peerid *ids,
                       size_t n) {
  memset(m, 0, sizeof *m);
  for (size_t i = 0; i < n; i++) {
    memset(&pp[i], 0, sizeof pp[i]);
    pp[i].id.p = ids[i].bytes;
    pp[i].id.n = ids[i].len;
  }
  m->closer = pp;
  m->closer_n = n;
}

/* Hop counts: seed A names B, B names the target C. */
static void test_hops(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 13, 0, &rng);
  lp2p_peerid a, b, c, self;
  rand_id(&a);
  rand_id(&b);
  rand_id(&c);
  rand_id(&self);
  lp2p_kad_query_config cfg;
  lp2p_kad_query_config_default(&cfg);
  cfg.stop_at_target = 1;
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, c.bytes, c.len,
                                      &self, &cfg, NULL, 0), 0);
  assert_int_equal(lp2p_kad_query_seed(q, &a, 1, 0), 1);
  lp2p_kad_request rq;
  assert_int_equal(lp2p_kad_query_poll_request(q, 0, &rq), 1);
  assert_true(lp2p_peerid_equal(&rq.peer, &a));
  assert_int_equal(rq.hops, 1);
  assert_int_equal(rq.type, LP2P_KAD_FIND_NODE);
  assert_int_equal(lp2p_kad_query_poll_request(q, 0, &rq), 0);
  lp2p_kad_msg m;
  lp2p_kad_peer pp[2];
  lp2p_peerid named[2] = {b, self}; /* we are never queried */
  msg_naming(&m, pp, named, 2);
  assert_int_equal(lp2p_kad_query_on_response(q, &a, &m, 1), 0);
  assert_int_equal(lp2p_kad_query_target(q, NULL), 0);
  assert_int_equal(lp2p_kad_query_poll_request(q, 1, &rq), 1);
  assert_true(lp2p_peerid_equal(&rq.peer, &b));
  assert_int_equal(rq.hops, 2);
  assert_int_equal(lp2p_kad_query_poll_request(q, 1, &rq), 0);
  msg_naming(&m, pp, &c, 1);
  assert_int_equal(lp2p_kad_query_on_response(q, &b, &m, 2), 0);
  uint32_t h;
  assert_int_equal(lp2p_kad_query_target(q, &h), 1);
  assert_int_equal(h, 3);
  assert_true(lp2p_kad_query_done(q)); /* stop_at_target */
  lp2p_kad_query_free(q);

  /* the target is the bootstrap peer itself: 1 hop */
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, a.bytes, a.len,
                                      &self, &cfg, NULL, 0), 0);
  lp2p_kad_query_seed(q, &a, 1, 0);
  assert_int_equal(lp2p_kad_query_target(q, &h), 1);
  assert_int_equal(h, 1);
  lp2p_kad_query_free(q);

  /* responses nobody asked for are ignored; a failure ends a lone lookup */
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, c.bytes, c.len,
                                      NULL, NULL, NULL, 0), 0);
  lp2p_kad_query_seed(q, &a, 1, 0);
  msg_naming(&m, pp, &b, 1);
  assert_int_equal(lp2p_kad_query_on_response(q, &b, &m, 0), 0);
  assert_int_equal(lp2p_kad_query_on_response(q, &a, &m, 0), 0); /* not asked yet */
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.peers_seen, 1);
  assert_int_equal(lp2p_kad_query_poll_request(q, 0, &rq), 1);
  lp2p_kad_query_on_failure(q, &a, 1);
  assert_true(lp2p_kad_query_done(q));
  assert_int_equal(lp2p_kad_query_result(q, 0, NULL, NULL), 0);
  lp2p_kad_query_free(q);
}

/* alpha bounds the requests in flight; a timeout frees a slot. */
static void test_alpha_and_timeout(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 14, 0, &rng);
  lp2p_peerid seeds[10], key;
  for (int i = 0; i < 10; i++)
    rand_id(&seeds[i]);
  rand_id(&key);
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, key.bytes, key.len,
                                      NULL, NULL, NULL, 0), 0);
  lp2p_kad_query_seed(q, seeds, 10, 0);
  lp2p_kad_request rq;
  int sent = 0;
  while (lp2p_kad_query_poll_request(q, 0, &rq))
    sent++;
  assert_int_equal(sent, 3);
  assert_int_equal(lp2p_kad_query_next_timeout(q), 10 * S);
  lp2p_kad_query_handle_timeout(q, 10 * S - 1);
  assert_int_equal(lp2p_kad_query_poll_request(q, 10 * S - 1, &rq), 0);
  lp2p_kad_query_handle_timeout(q, 10 * S);
  sent = 0;
  while (lp2p_kad_query_poll_request(q, 10 * S, &rq))
    sent++;
  assert_int_equal(sent, 3);
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.failures, 3);
  lp2p_kad_query_free(q);
}

/* A hostile peer answers with thousands of peers and garbage ids: the
 * candidate set stays within peers_max, garbage is skipped. */
static void test_flood(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 15, 0, &rng);
  lp2p_peerid a, key;
  rand_id(&a);
  rand_id(&key);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_kad_query_config cfg;
  lp2p_kad_query_config_default(&cfg);
  cfg.peers_max = 100;
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, key.bytes, key.len,
                                      NULL, &cfg, &mc.mem, 0), 0);
  lp2p_kad_query_seed(q, &a, 1, 0);
  lp2p_kad_request rq;
  assert_int_equal(lp2p_kad_query_poll_request(q, 0, &rq), 1);
  enum { N = 5000 };
  lp2p_peerid *ids = calloc(N, sizeof *ids);
  lp2p_kad_peer *pp = calloc(N, sizeof *pp);
  for (int i = 0; i < N; i++)
    rand_id(&ids[i]);
  for (int i = 0; i < N; i += 7)
    ids[i].bytes[1] = 0x21; /* a sha2-256 multihash of the wrong length */
  lp2p_kad_msg m;
  msg_naming(&m, pp, ids, N);
  assert_int_equal(lp2p_kad_query_on_response(q, &a, &m, 1), 0);
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.peers_seen, 100);
  assert_true(st.peers_dropped > 0);
  assert_true(mc.peak_bytes < 100 * 200 + 4096);
  /* the 100 kept are the closest of the valid ones */
  uint8_t tk[32];
  lp2p_kad_key_hash(key.bytes, key.len, tk);
  size_t closer_than_kept = 0;
  lp2p_kad_request req[3];
  int nr = 0;
  while (nr < 3 && lp2p_kad_query_poll_request(q, 1, &req[nr]))
    nr++;
  assert_int_equal(nr, 3);
  uint8_t k0[32];
  lp2p_kad_key_hash(req[0].peer.bytes, req[0].peer.len, k0);
  for (int i = 0; i < N; i++) {
    if (i % 7 == 0)
      continue;
    uint8_t ki[32];
    lp2p_kad_key_hash(ids[i].bytes, ids[i].len, ki);
    if (lp2p_kad_dist_cmp(tk, ki, k0) < 0)
      closer_than_kept++;
  }
  assert_int_equal(closer_than_kept, 0); /* the first request is the closest */
  free(ids);
  free(pp);
  lp2p_kad_query_free(q);
  assert_int_equal(mc.live_bytes, 0);
}

/* ---- values ------------------------------------------------------------ */

static size_t seal(const lp2p_privkey *k, uint64_t seq, uint64_t eol, uint8_t *out) {
  size_t n;
  const char *v = "/ipfs/bafkqaaa";
  assert_int_equal(lp2p_ipns_seal(k, (const uint8_t *)v, strlen(v), seq, eol,
                                  LP2P_IPNS_TTL_DEFAULT_NS, 0, out, 2048, &n), 0);
  return n;
}

static void test_get_value(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 16, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_peerid name;
  assert_int_equal(lp2p_peerid_from_pubkey(&name, &k.pub), 0);
  uint8_t key[80];
  memcpy(key, "/ipns/", 6);
  memcpy(key + 6, name.bytes, name.len);
  size_t klen = 6 + name.len;
  const uint64_t now_unix = UINT64_C(1700000000) * LP2P_NS_PER_S;
  const uint64_t eol = now_unix + 3600 * LP2P_NS_PER_S;
  uint8_t r1[2048], r2[2048], bad[2048];
  size_t n1 = seal(&k, 1, eol, r1), n2 = seal(&k, 2, eol, r2);
  size_t nb = seal(&k, 9, eol, bad);
  bad[nb - 1] ^= 1; /* broken signature: never selected */

  lp2p_peerid p[4];
  for (int i = 0; i < 4; i++)
    rand_id(&p[i]);
  lp2p_kad_query_config cfg;
  lp2p_kad_query_config_default(&cfg);
  cfg.unix_ns = now_unix;
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_GET_VALUE, key, klen, NULL,
                                      &cfg, NULL, 0), 0);
  lp2p_kad_query_seed(q, p, 4, 0);
  lp2p_kad_request rq;
  int sent = 0;
  while (lp2p_kad_query_poll_request(q, 0, &rq)) {
    assert_int_equal(rq.type, LP2P_KAD_GET_VALUE);
    sent++;
  }
  assert_int_equal(sent, 3);
  const uint8_t *vals[4] = {r1, r2, bad, NULL};
  const size_t lens[4] = {n1, n2, nb, 0};
  /* answer in the order the engine asked, then the 4th */
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 4; i++) {
      lp2p_kad_msg m;
      memset(&m, 0, sizeof m);
      m.type = LP2P_KAD_GET_VALUE;
      if (vals[i]) {
        m.has_record = 1;
        m.rec_key.p = key;
        m.rec_key.n = klen;
        m.rec_value.p = vals[i];
        m.rec_value.n = lens[i];
      }
      lp2p_kad_query_on_response(q, &p[i], &m, 1);
      while (lp2p_kad_query_poll_request(q, 1, &rq))
        ;
    }
  assert_true(lp2p_kad_query_done(q));
  size_t vl;
  const uint8_t *v = lp2p_kad_query_value(q, &vl);
  assert_non_null(v);
  assert_int_equal(vl, n2);
  assert_memory_equal(v, r2, n2);
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.values, 2);
  assert_int_equal(st.invalid_values, 1);
  /* correction: the peers with seq 1, the broken one and the empty one */
  lp2p_peerid o;
  int outdated = 0, saw_best = 0;
  while (lp2p_kad_query_outdated(q, (size_t)outdated, &o)) {
    if (lp2p_peerid_equal(&o, &p[1]))
      saw_best = 1;
    outdated++;
  }
  assert_int_equal(outdated, 3);
  assert_false(saw_best);
  lp2p_kad_query_free(q);

  /* quorum 1: the first valid value ends the query */
  cfg.quorum = 1;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_GET_VALUE, key, klen, NULL,
                                      &cfg, NULL, 0), 0);
  lp2p_kad_query_seed(q, p, 4, 0);
  lp2p_kad_request first;
  assert_int_equal(lp2p_kad_query_poll_request(q, 0, &first), 1);
  lp2p_kad_msg m;
  memset(&m, 0, sizeof m);
  m.has_record = 1;
  m.rec_key.p = key;
  m.rec_key.n = klen;
  m.rec_value.p = r1;
  m.rec_value.n = n1;
  assert_int_equal(lp2p_kad_query_on_response(q, &first.peer, &m, 1), 0);
  assert_true(lp2p_kad_query_done(q));
  assert_non_null(lp2p_kad_query_value(q, &vl));
  lp2p_kad_query_free(q);

  /* an expired record or one under another key is not a value */
  cfg.quorum = 0;
  cfg.unix_ns = eol;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_GET_VALUE, key, klen, NULL,
                                      &cfg, NULL, 0), 0);
  lp2p_kad_query_seed(q, p, 2, 0);
  while (lp2p_kad_query_poll_request(q, 0, &rq))
    ;
  assert_int_equal(lp2p_kad_query_on_response(q, &p[0], &m, 1), 0);
  m.rec_key.n--;
  cfg.unix_ns = now_unix;
  assert_int_equal(lp2p_kad_query_on_response(q, &p[1], &m, 1), 0);
  assert_true(lp2p_kad_query_done(q));
  assert_null(lp2p_kad_query_value(q, &vl));
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.invalid_values, 2);
  assert_int_equal(lp2p_kad_query_outdated(q, 0, &o), 0);
  lp2p_kad_query_free(q);
}

static void test_get_providers(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 17, 0, &rng);
  lp2p_peerid p[3], prov[5], key;
  for (int i = 0; i < 3; i++)
    rand_id(&p[i]);
  for (int i = 0; i < 5; i++)
    rand_id(&prov[i]);
  rand_id(&key);
  lp2p_kad_query_config cfg;
  lp2p_kad_query_config_default(&cfg);
  cfg.providers_max = 4;
  cfg.provider_addrs_max = 2;
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_GET_PROVIDERS, key.bytes,
                                      key.len, NULL, &cfg, NULL, 0), 0);
  lp2p_kad_query_seed(q, p, 3, 0);
  lp2p_kad_request rq;
  while (lp2p_kad_query_poll_request(q, 0, &rq))
    assert_int_equal(rq.type, LP2P_KAD_GET_PROVIDERS);
  const uint8_t a1[] = {4, 1, 2, 3, 4, 6, 0, 80}, a2[] = {4, 5, 6, 7, 8, 6, 0, 81};
  lp2p_kad_bytes addrs[3] = {{a1, 8}, {a2, 8}, {a1, 8}};
  lp2p_kad_peer pp[3];
  memset(pp, 0, sizeof pp);
  for (int i = 0; i < 3; i++) {
    pp[i].id.p = prov[i].bytes;
    pp[i].id.n = prov[i].len;
  }
  pp[0].addrs = addrs;
  pp[0].addrs_n = 3;
  lp2p_kad_msg m;
  memset(&m, 0, sizeof m);
  m.providers = pp;
  m.providers_n = 2; /* prov 0, 1 */
  assert_int_equal(lp2p_kad_query_on_response(q, &p[0], &m, 1), 0);
  assert_false(lp2p_kad_query_done(q));
  m.providers_n = 3; /* 0 and 1 again, and 2 */
  assert_int_equal(lp2p_kad_query_on_response(q, &p[1], &m, 1), 0);
  lp2p_peerid got;
  size_t na, al;
  assert_int_equal(lp2p_kad_query_provider(q, 0, &got, &na), 1);
  assert_true(lp2p_peerid_equal(&got, &prov[0]));
  assert_int_equal(na, 2);
  const uint8_t *ad = lp2p_kad_query_provider_addr(q, 0, 1, &al);
  assert_int_equal(al, 8);
  assert_memory_equal(ad, a2, 8);
  assert_null(lp2p_kad_query_provider_addr(q, 0, 2, &al));
  assert_int_equal(lp2p_kad_query_provider(q, 2, &got, &na), 1);
  assert_int_equal(na, 0);
  assert_int_equal(lp2p_kad_query_provider(q, 3, &got, &na), 0);
  assert_false(lp2p_kad_query_done(q));
  /* the 4th provider reaches providers_max: done */
  pp[0].id.p = prov[3].bytes;
  m.providers_n = 1;
  assert_int_equal(lp2p_kad_query_on_response(q, &p[2], &m, 1), 0);
  assert_true(lp2p_kad_query_done(q));
  assert_int_equal(lp2p_kad_query_provider(q, 3, &got, &na), 1);
  lp2p_kad_query_free(q);
}

/* PUT_VALUE: a FIND_NODE lookup, then PUT_VALUE to the k closest that
 * answered, all at once; stored counts the acknowledgements. */
static void test_put_fanout(void **s) {
  (void)s;
  net *w = net_new(300, 18);
  lp2p_peerid target;
  rand_id(&target);
  uint8_t tk[32];
  lp2p_kad_key_hash(target.bytes, target.len, tk);
  w->dead[7] = 1;
  lp2p_kad_query *q;
  assert_int_equal(lp2p_kad_query_new(&q, LP2P_KAD_PUT_VALUE, target.bytes,
                                      target.len, &w->id[0], NULL, NULL, 0), 0);
  lp2p_peerid seeds[LP2P_KAD_K];
  size_t ns = lp2p_kad_table_closest(w->t[0], tk, seeds, LP2P_KAD_K);
  lp2p_kad_query_seed(q, seeds, ns, 0);
  lp2p_tstamp now = 0;
  lp2p_kad_request rq;
  lp2p_kad_peer peers[LP2P_KAD_K];
  lp2p_peerid ids[LP2P_KAD_K];
  lp2p_kad_msg m;
  lp2p_peerid put_to[LP2P_KAD_K];
  size_t nput = 0;
  for (int guard = 0; guard < 10000 && !lp2p_kad_query_done(q); guard++) {
    int any = 0;
    while (lp2p_kad_query_poll_request(q, now, &rq)) {
      any = 1;
      if (rq.type == LP2P_KAD_PUT_VALUE) {
        assert_true(nput < LP2P_KAD_K);
        put_to[nput++] = rq.peer;
        continue; /* answered below, all at once */
      }
      assert_int_equal(rq.type, LP2P_KAD_FIND_NODE);
      size_t i = net_find(w, &rq.peer);
      if (w->dead[i])
        continue;
      answer(w, i, tk, peers, ids, &m);
      lp2p_kad_query_on_response(q, &rq.peer, &m, now);
    }
    if (nput == LP2P_KAD_K) {
      for (size_t i = 0; i + 1 < nput; i++)
        lp2p_kad_query_on_response(q, &put_to[i], NULL, now);
      lp2p_kad_query_on_failure(q, &put_to[nput - 1], now);
      nput = 0;
      continue;
    }
    if (!any) {
      now = lp2p_kad_query_next_timeout(q);
      lp2p_kad_query_handle_timeout(q, now);
    }
  }
  assert_true(lp2p_kad_query_done(q));
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(q, &st);
  assert_int_equal(st.stored, LP2P_KAD_K - 1);
  lp2p_kad_query_free(q);
  net_free(w);
}

static void test_alloc_failures(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 19, 0, &rng);
  lp2p_peerid seeds[40], key;
  for (int i = 0; i < 40; i++)
    rand_id(&seeds[i]);
  rand_id(&key);
  for (uint64_t k = 1; k <= 6; k++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    mc.fail_at = k;
    lp2p_kad_query *q = NULL;
    if (lp2p_kad_query_new(&q, LP2P_KAD_GET_PROVIDERS, key.bytes, key.len, NULL,
                           NULL, &mc.mem, 0) == 0) {
      lp2p_kad_query_seed(q, seeds, 40, 0);
      lp2p_kad_request rq;
      if (lp2p_kad_query_poll_request(q, 0, &rq)) {
        lp2p_kad_peer pp[10];
        memset(pp, 0, sizeof pp);
        for (int i = 0; i < 10; i++) {
          pp[i].id.p = seeds[20 + i].bytes;
          pp[i].id.n = 34;
        }
        lp2p_kad_msg m;
        memset(&m, 0, sizeof m);
        m.closer = pp;
        m.closer_n = 10;
        m.providers = pp;
        m.providers_n = 10;
        int rc = lp2p_kad_query_on_response(q, &rq.peer, &m, 1);
        assert_true(rc == 0 || rc == LP2P_ERR_NOMEM);
      }
      lp2p_kad_query_free(q);
    }
    assert_int_equal(mc.live_bytes, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_convergence),
      cmocka_unit_test(test_dead_peers),
      cmocka_unit_test(test_hops),
      cmocka_unit_test(test_alpha_and_timeout),
      cmocka_unit_test(test_flood),
      cmocka_unit_test(test_get_value),
      cmocka_unit_test(test_get_providers),
      cmocka_unit_test(test_put_fanout),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
