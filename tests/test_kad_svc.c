/* The Kademlia DHT service over memnet: a 20-node server network that
 * bootstraps by dialling, then find-peer, closest (checked against the
 * true XOR order), put/get of /pk and /ipns, provide/providers, a client
 * that is never put in a table, and the bounds under a peer that floods
 * PUT_VALUE and ADD_PROVIDER or answers with 10,000 closer peers. */
#include "lp2p/ipns.h"
#include "lp2p/kad.h"
#include "lp2p/multihash.h"
#include "tests/test_host_util.h"

#define N 20
#define QK 8 /* query k: small enough that "closest" picks a real subset */
#define UNIX_NOW (1765000000ull * LP2P_NS_PER_S)

static lp2p_host_config kad_cfg(int mode) {
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.kad.mode = mode;
  c.kad.query.k = QK;
  c.kad.addr_filter = LP2P_KAD_ADDRS_ALL; /* memnet is 10.0.0.x */
  return c;
}

static void add_node(th_net *t, const lp2p_host_config *c) {
  lp2p_host *h = th_add(t, c, NULL);
  assert_non_null(h);
  lp2p_host_set_unix_time(h, UNIX_NOW);
  th_listen(t, t->n - 1);
}

/* N servers; node i dials node 0 and node i-1 (the self-lookups that
 * follow fill the tables). */
static th_net *network(uint64_t seed) {
  th_net *t = th_new(seed);
  lp2p_host_config c = kad_cfg(LP2P_KAD_MODE_SERVER);
  for (int i = 0; i < N; i++)
    add_node(t, &c);
  for (int i = 1; i < N; i++) {
    th_connect(t, i, 0);
    if (i > 1)
      th_connect(t, i, i - 1);
  }
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  return t;
}

/* Run until query q of host i is done; returns its info. */
static lp2p_kad_query_info wait_query(th_net *t, int i, uint64_t q) {
  lp2p_kad_query_info info;
  for (int k = 0; k < 2400; k++) { /* 120 s */
    assert_int_equal(lp2p_host_kad_query_info(t->h[i], q, &info), 0);
    if (info.done)
      break;
    memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
  }
  assert_int_equal(lp2p_host_kad_query_info(t->h[i], q, &info), 0);
  assert_true(info.done);
  memnet_run_for(t->net, LP2P_NS_PER_MS); /* deliver the events */
  /* the DONE event carried the id */
  int seen = 0;
  for (int e = 0; e < t->nev[i]; e++)
    seen |= t->ev[i][e].kind == LP2P_HOST_EV_KAD_QUERY_DONE;
  assert_true(seen);
  return info;
}

static void test_tables_and_find_peer(void **state) {
  (void)state;
  th_net *t = network(1);
  for (int i = 0; i < N; i++) {
    size_t n = lp2p_host_kad_table_size(t->h[i]);
    assert_true(n >= QK);
    assert_true(n <= N - 1);
    assert_true(th_count(t, i, LP2P_HOST_EV_KAD_TABLE) >= 1);
  }
  uint64_t q = 0;
  assert_int_equal(lp2p_host_kad_find_peer(t->h[19], th_now(t), &t->id[7], &q),
                   0);
  lp2p_kad_query_info info = wait_query(t, 19, q);
  assert_int_equal(info.err, 0);
  assert_true(info.target_found);
  assert_true(info.target_hops >= 1 && info.target_hops <= 3);
  /* a peer nobody knows is not found */
  lp2p_privkey k;
  lp2p_peerid ghost;
  lp2p_rng r;
  lp2p_rng_chacha rs;
  lp2p_rng_chacha_init(&rs, 77, 1, &r);
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &r), 0);
  assert_int_equal(lp2p_peerid_from_pubkey(&ghost, &k.pub), 0);
  assert_int_equal(lp2p_host_kad_find_peer(t->h[3], th_now(t), &ghost, &q), 0);
  info = wait_query(t, 3, q);
  assert_int_equal(info.err, LP2P_ERR_NOT_FOUND);
  assert_false(info.target_found);
  th_free(t);
}

static uint8_t g_target[32];
static const th_net *g_t;
static int by_distance(const void *a, const void *b) {
  const lp2p_peerid *x = &g_t->id[*(const int *)a];
  const lp2p_peerid *y = &g_t->id[*(const int *)b];
  uint8_t kx[32], ky[32];
  lp2p_kad_key_hash(x->bytes, x->len, kx);
  lp2p_kad_key_hash(y->bytes, y->len, ky);
  return lp2p_kad_dist_cmp(g_target, kx, ky);
}

static void test_closest(void **state) {
  (void)state;
  th_net *t = network(2);
  const char *keys[] = {"hello", "world", "kademlia"};
  for (int kk = 0; kk < 3; kk++) {
    const int from = 4 + kk;
    uint64_t q = 0;
    const uint8_t *key = (const uint8_t *)keys[kk];
    size_t kl = strlen(keys[kk]);
    assert_int_equal(lp2p_host_kad_closest(t->h[from], th_now(t), key, kl, &q),
                     0);
    lp2p_kad_query_info info = wait_query(t, from, q);
    assert_int_equal(info.err, 0);
    /* the truth: every other node sorted by distance */
    int order[N - 1], m = 0;
    for (int i = 0; i < N; i++)
      if (i != from)
        order[m++] = i;
    lp2p_kad_key_hash(key, kl, g_target);
    g_t = t;
    qsort(order, (size_t)m, sizeof order[0], by_distance);
    for (size_t i = 0; i < QK; i++) {
      lp2p_peerid p;
      uint32_t hops = 0;
      assert_int_equal(lp2p_host_kad_query_peer(t->h[from], q, i, &p, &hops),
                       1);
      assert_true(lp2p_peerid_equal(&p, &t->id[order[i]]));
      assert_true(hops >= 1);
    }
    assert_int_equal(lp2p_host_kad_query_peer(t->h[from], q, QK, NULL, NULL),
                     0);
  }
  th_free(t);
}

/* put on one node, get on another; `key` / `val` given. */
static void put_get(th_net *t, int from, int to, const uint8_t *key,
                    size_t kl, const uint8_t *val, size_t vl) {
  uint64_t q = 0;
  assert_int_equal(
      lp2p_host_kad_put(t->h[from], th_now(t), key, kl, val, vl, &q), 0);
  lp2p_kad_query_info info = wait_query(t, from, q);
  assert_int_equal(info.err, 0);
  assert_true(info.stored >= QK / 2);
  size_t holders = 0;
  for (int i = 0; i < N; i++)
    holders += lp2p_host_kad_records_count(t->h[i]);
  assert_true(holders >= info.stored);
  assert_int_equal(lp2p_host_kad_get(t->h[to], th_now(t), key, kl, &q), 0);
  info = wait_query(t, to, q);
  assert_int_equal(info.err, 0);
  size_t n = 0;
  const uint8_t *got = lp2p_host_kad_query_value(t->h[to], q, &n);
  assert_non_null(got);
  assert_int_equal(n, vl);
  assert_memory_equal(got, val, vl);
}

static void test_put_get(void **state) {
  (void)state;
  th_net *t = network(3);
  lp2p_rng r;
  lp2p_rng_chacha rs;
  lp2p_rng_chacha_init(&rs, 99, 1, &r);
  /* /pk of a key no host has seen: only the put can make it findable */
  lp2p_privkey k;
  lp2p_peerid id;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &r), 0);
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &k.pub), 0);
  uint8_t key[128], pk[128];
  size_t pkl = 0;
  memcpy(key, "/pk/", 4);
  memcpy(key + 4, id.bytes, id.len);
  assert_int_equal(lp2p_pubkey_marshal(&k.pub, pk, sizeof pk, &pkl), 0);
  put_get(t, 2, 17, key, 4 + id.len, pk, pkl);
  /* an invalid /pk value is refused before anything is sent */
  uint64_t q = 0;
  assert_int_not_equal(lp2p_host_kad_put(t->h[2], th_now(t), key, 4 + id.len,
                                         (const uint8_t *)"junk", 4, &q),
                       0);
  /* /ipns: seq 1, then seq 2 replaces it everywhere it went */
  uint8_t rec[2048], rec2[2048];
  size_t rl = 0, rl2 = 0;
  const char *path = "/ipfs/bafkqaaa";
  uint64_t eol = UNIX_NOW + 3600 * LP2P_NS_PER_S;
  assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)path, strlen(path), 1,
                                  eol, 60 * LP2P_NS_PER_S, 1, rec, sizeof rec,
                                  &rl),
                   0);
  memcpy(key, "/ipns/", 6);
  memcpy(key + 6, id.bytes, id.len);
  put_get(t, 5, 11, key, 6 + id.len, rec, rl);
  assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)path, strlen(path), 2,
                                  eol, 60 * LP2P_NS_PER_S, 1, rec2,
                                  sizeof rec2, &rl2),
                   0);
  put_get(t, 8, 13, key, 6 + id.len, rec2, rl2);
  /* the older record is refused by servers that hold the newer one */
  assert_int_equal(lp2p_host_kad_put(t->h[9], th_now(t), key, 6 + id.len, rec,
                                     rl, &q),
                   0);
  lp2p_kad_query_info info = wait_query(t, 9, q);
  assert_true(info.stored < QK / 2);
  assert_int_equal(lp2p_host_kad_get(t->h[14], th_now(t), key, 6 + id.len,
                                     &q),
                   0);
  info = wait_query(t, 14, q);
  size_t n = 0;
  const uint8_t *got = lp2p_host_kad_query_value(t->h[14], q, &n);
  assert_non_null(got);
  assert_int_equal(n, rl2);
  assert_memory_equal(got, rec2, rl2);
  /* a key nobody stored */
  assert_int_equal(
      lp2p_host_kad_get(t->h[1], th_now(t), (const uint8_t *)"/pk/x", 5, &q),
      0);
  info = wait_query(t, 1, q);
  assert_int_equal(info.err, LP2P_ERR_NOT_FOUND);
  th_free(t);
}

static void test_provide(void **state) {
  (void)state;
  th_net *t = network(4);
  uint8_t mh[34];
  size_t ml = 0;
  assert_int_equal(lp2p_multihash_sha256((const uint8_t *)"content", 7, mh,
                                         sizeof mh, &ml),
                   0);
  uint64_t q = 0;
  assert_int_equal(lp2p_host_kad_provide(t->h[4], th_now(t), mh, ml, &q), 0);
  lp2p_kad_query_info info = wait_query(t, 4, q);
  assert_int_equal(info.err, 0);
  assert_true(info.stored >= QK / 2);
  assert_int_equal(lp2p_host_kad_providers(t->h[12], th_now(t), mh, ml, &q),
                   0);
  info = wait_query(t, 12, q);
  assert_int_equal(info.err, 0);
  lp2p_peerid p;
  size_t na = 0;
  assert_int_equal(lp2p_host_kad_query_provider(t->h[12], q, 0, &p, &na), 1);
  assert_true(lp2p_peerid_equal(&p, &t->id[4]));
  assert_true(na >= 1);
  lp2p_maddr a;
  assert_int_equal(lp2p_host_kad_query_provider_addr(t->h[12], q, 0, 0, &a),
                   0);
  /* the address is the provider's listen address (its /p2p stripped) */
  assert_true(a.len < t->listen[4].len);
  assert_memory_equal(a.bytes, t->listen[4].bytes, a.len);
  /* not a multihash: refused */
  assert_int_equal(lp2p_host_kad_provide(t->h[4], th_now(t),
                                         (const uint8_t *)"nope", 4, &q),
                   LP2P_ERR_INVAL);
  th_free(t);
}

/* A client runs queries but no server puts it in its table. */
static void test_client_mode(void **state) {
  (void)state;
  th_net *t = th_new(5);
  lp2p_host_config s = kad_cfg(LP2P_KAD_MODE_SERVER);
  lp2p_host_config c = kad_cfg(LP2P_KAD_MODE_CLIENT);
  for (int i = 0; i < 6; i++)
    add_node(t, &s);
  add_node(t, &c);
  for (int i = 1; i < 6; i++)
    th_connect(t, i, 0);
  th_connect(t, 6, 0);
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  for (int i = 0; i < 6; i++) {
    assert_true(lp2p_host_kad_table_size(t->h[i]) >= 3);
    lp2p_peerid out[N];
    size_t n = lp2p_host_kad_table_closest(t->h[i], t->id[6].bytes,
                                           t->id[6].len, out, N);
    for (size_t j = 0; j < n; j++)
      assert_false(lp2p_peerid_equal(&out[j], &t->id[6]));
  }
  assert_true(lp2p_host_kad_table_size(t->h[6]) >= 1);
  assert_false(lp2p_host_peer_supports(t->h[0], &t->id[6], "/ipfs/kad/1.0.0"));
  uint64_t q = 0;
  assert_int_equal(lp2p_host_kad_find_peer(t->h[6], th_now(t), &t->id[5], &q),
                   0);
  lp2p_kad_query_info info = wait_query(t, 6, q);
  assert_int_equal(info.err, 0);
  /* the off mode: no service */
  lp2p_host_config off;
  lp2p_host_config_default(&off);
  add_node(t, &off);
  assert_int_equal(lp2p_host_kad_find_peer(t->h[7], th_now(t), &t->id[5], &q),
                   LP2P_ERR_UNSUPPORTED);
  th_free(t);
}

/* ---- bounds ------------------------------------------------------------------ */

static void test_flood_bounded(void **state) {
  (void)state;
  th_net *t = th_new(6);
  lp2p_host_config v = kad_cfg(LP2P_KAD_MODE_SERVER);
  v.kad.records.entries_max = 30;
  v.kad.providers.keys_max = 50;
  add_node(t, &v);                     /* 0: the victim */
  lp2p_host_config s = kad_cfg(LP2P_KAD_MODE_SERVER);
  add_node(t, &s);                     /* 1: an honest server */
  lp2p_host_config a;
  lp2p_host_config_default(&a);
  add_node(t, &a);                     /* 2: the flooder (raw streams) */
  th_connect(t, 1, 0);
  th_connect(t, 2, 0);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  lp2p_rng r;
  lp2p_rng_chacha rs;
  lp2p_rng_chacha_init(&rs, 5, 5, &r);
  uint8_t *buf = malloc(1 << 20);
  size_t bl = 0;
  /* 1000 ADD_PROVIDER for distinct keys, all naming the flooder */
  lp2p_kad_bytes addr = {t->listen[2].bytes, t->listen[2].len - 0};
  for (int i = 0; i < 1000; i++) {
    uint8_t mh[34], seed[4] = {(uint8_t)i, (uint8_t)(i >> 8), 1, 2};
    size_t ml = 0;
    lp2p_multihash_sha256(seed, 4, mh, sizeof mh, &ml);
    lp2p_kad_peer p = {{t->id[2].bytes, t->id[2].len}, &addr, 1, 0};
    lp2p_kad_msg m;
    memset(&m, 0, sizeof m);
    m.type = LP2P_KAD_ADD_PROVIDER;
    m.key.p = mh;
    m.key.n = ml;
    m.providers = &p;
    m.providers_n = 1;
    size_t n = 0;
    assert_int_equal(lp2p_kad_msg_encode(&m, buf + bl, (1 << 20) - bl, &n), 0);
    bl += n;
  }
  /* 100 PUT_VALUE of valid /pk records */
  for (int i = 0; i < 100; i++) {
    lp2p_privkey k;
    lp2p_peerid id;
    assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &r), 0);
    lp2p_peerid_from_pubkey(&id, &k.pub);
    uint8_t key[80], pk[80];
    size_t pkl = 0;
    memcpy(key, "/pk/", 4);
    memcpy(key + 4, id.bytes, id.len);
    lp2p_pubkey_marshal(&k.pub, pk, sizeof pk, &pkl);
    lp2p_kad_msg m;
    memset(&m, 0, sizeof m);
    m.type = LP2P_KAD_PUT_VALUE;
    m.key.p = key;
    m.key.n = 4 + id.len;
    m.has_record = 1;
    m.rec_key = m.key;
    m.rec_value.p = pk;
    m.rec_value.n = pkl;
    size_t n = 0;
    assert_int_equal(lp2p_kad_msg_encode(&m, buf + bl, (1 << 20) - bl, &n), 0);
    bl += n;
  }
  uint64_t s1 = 0;
  assert_int_equal(lp2p_host_open_stream(t->h[2], th_now(t), &t->id[0],
                                         "/ipfs/kad/1.0.0", &s1),
                   0);
  size_t off = 0;
  for (int k = 0; k < 400 && off < bl; k++) {
    lp2p_ssize w = lp2p_host_stream_write(t->h[2], th_now(t), s1, buf + off,
                                          bl - off);
    if (w > 0)
      off += (size_t)w;
    memnet_run_for(t->net, 20 * LP2P_NS_PER_MS);
    size_t len = 0;
    if (lp2p_host_stream_read_peek(t->h[2], s1, &len) && len)
      lp2p_host_stream_read_consume(t->h[2], th_now(t), s1, len);
  }
  memnet_run_for(t->net, LP2P_NS_PER_S);
  printf("flood: sent %zu of %zu bytes; victim holds %zu records, %zu "
         "provider keys\n",
         off, bl, lp2p_host_kad_records_count(t->h[0]),
         lp2p_host_kad_provider_keys(t->h[0]));
  assert_int_equal(off, bl);
  assert_int_equal(lp2p_host_kad_provider_keys(t->h[0]), 50);
  assert_int_equal(lp2p_host_kad_records_count(t->h[0]), 30);
  /* the victim still serves an honest query */
  uint64_t q = 0;
  assert_int_equal(lp2p_host_kad_find_peer(t->h[1], th_now(t), &t->id[0], &q),
                   0);
  lp2p_kad_query_info info = wait_query(t, 1, q);
  assert_int_equal(info.err, 0);
  free(buf);
  th_free(t);
}

/* A server that answers every request with 10,000 closer peers. */
typedef struct liar {
  int host;
  uint8_t *out;
  size_t out_len, out_off;
  uint64_t stream;
  int answered;
} liar;

static void liar_hook(th_net *t, int host, const lp2p_host_event *ev) {
  liar *l = t->ud;
  if (host != l->host)
    return;
  if (ev->kind == LP2P_HOST_EV_STREAM_INBOUND) { /* one at a time here */
    l->stream = ev->stream;
    l->answered = 0;
  }
  if (ev->stream != l->stream || !l->stream)
    return;
  size_t len = 0;
  if (!l->answered && lp2p_host_stream_read_peek(t->h[host], l->stream, &len) &&
      len) {
    lp2p_host_stream_read_consume(t->h[host], memnet_now(t->net), l->stream,
                                  len);
    l->answered = 1;
    l->out_off = 0;

  }
  while (l->answered && l->out_off < l->out_len) {
    lp2p_ssize w = lp2p_host_stream_write(t->h[host], memnet_now(t->net),
                                          l->stream, l->out + l->out_off,
                                          l->out_len - l->out_off);
    if (w <= 0)
      break;
    l->out_off += (size_t)w;
  }
}

static void test_ten_thousand_closer(void **state) {
  (void)state;
  th_net *t = th_new(7);
  lp2p_host_config v = kad_cfg(LP2P_KAD_MODE_SERVER);
  add_node(t, &v); /* 0: queries */
  lp2p_host_config a;
  lp2p_host_config_default(&a);
  add_node(t, &a); /* 1: the liar, "serving" kad as an application */
  assert_int_equal(lp2p_host_register_protocol(t->h[1], "/ipfs/kad/1.0.0"), 0);
  /* 10,000 peers with one address each */
  enum { LIES = 10000 };
  lp2p_kad_peer *ps = calloc(LIES, sizeof *ps);
  uint8_t (*ids)[34] = calloc(LIES, 34);
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, "/ip4/10.9.0.1/tcp/4001", 22), 0);
  lp2p_kad_bytes addr = {ma.bytes, ma.len};
  for (int i = 0; i < LIES; i++) {
    uint8_t seed[4] = {(uint8_t)i, (uint8_t)(i >> 8), 7, 7};
    size_t ml = 0;
    lp2p_multihash_sha256(seed, 4, ids[i], 34, &ml);
    ps[i].id.p = ids[i];
    ps[i].id.n = 34;
    ps[i].addrs = &addr;
    ps[i].addrs_n = 1;
  }
  lp2p_kad_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_KAD_FIND_NODE;
  m.key.p = (const uint8_t *)"target";
  m.key.n = 6;
  m.closer = ps;
  m.closer_n = LIES;
  liar l = {1, NULL, 0, 0, 0, 0};
  size_t n = 0;
  lp2p_kad_msg_encode(&m, NULL, 0, &n);
  l.out = malloc(n);
  assert_int_equal(lp2p_kad_msg_encode(&m, l.out, n, &l.out_len), 0);
  t->hook = liar_hook;
  t->ud = &l;
  th_connect(t, 0, 1);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_host_kad_table_size(t->h[0]), 1);
  uint64_t q = 0;
  assert_int_equal(lp2p_host_kad_closest(t->h[0], th_now(t),
                                         (const uint8_t *)"target", 6, &q),
                   0);
  lp2p_kad_query_info info = wait_query(t, 0, q);
  printf("liar: answer of %zu bytes; querier saw %zu peers, %zu requests, "
         "%zu failures\n",
         l.out_len, info.stats.peers_seen, info.stats.requests,
         info.stats.failures);
  assert_true(l.answered);
  /* the answer was read and cut at closer_max (k): the liar and 20 */
  assert_int_equal(info.stats.peers_seen, LP2P_KAD_K + 1);
  assert_true(info.stats.requests <= LP2P_KAD_K + 2);
  free(l.out);
  free(ps);
  free(ids);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables_and_find_peer),
      cmocka_unit_test(test_closest),
      cmocka_unit_test(test_put_get),
      cmocka_unit_test(test_provide),
      cmocka_unit_test(test_client_mode),
      cmocka_unit_test(test_flood_bounded),
      cmocka_unit_test(test_ten_thousand_closer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
