/* The DHT service's bootstrap, address filter and entry correction over
 * memnet (10.0.0.x addresses):
 *  - a node given a bootstrap list joins by itself (dial on start), tags
 *    the bootstrap peers, and the connection manager trims other
 *    connections but never theirs; a list entry without /p2p is refused;
 *  - a newcomer the bootstrap peer turned away dials it again at the
 *    next low-peers check (go's fixLowPeers) and joins;
 *  - a server with the default `public` filter names peers without their
 *    private addresses; with an injected predicate that makes 10.0.0.0/8
 *    public (LP2P_PUBLIC_CIDRS in the tools) it serves them, as `all`;
 *  - entry correction: after a GET, the k closest that answered with an
 *    older record or none get a PUT_VALUE of the best one, so the next GET
 *    needs no correction at all. */
#include "lp2p/autonat.h"
#include "lp2p/ipns.h"
#include "lp2p/kad.h"
#include "tests/test_host_util.h"

#define QK 8
#define UNIX_NOW (1765000000ull * LP2P_NS_PER_S)

static lp2p_host_config kad_cfg(int mode, size_t qk, int filter) {
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.kad.mode = mode;
  c.kad.query.k = qk;
  c.kad.addr_filter = filter;
  return c;
}

static int add_node(th_net *t, const lp2p_host_config *c) {
  lp2p_host *h = th_add(t, c, NULL);
  assert_non_null(h);
  lp2p_host_set_unix_time(h, UNIX_NOW);
  th_listen(t, t->n - 1);
  return t->n - 1;
}

static lp2p_kad_query_info wait_query(th_net *t, int i, uint64_t q) {
  lp2p_kad_query_info info;
  for (int k = 0; k < 2400; k++) {
    assert_int_equal(lp2p_host_kad_query_info(t->h[i], q, &info), 0);
    if (info.done)
      break;
    memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
  }
  assert_int_equal(lp2p_host_kad_query_info(t->h[i], q, &info), 0);
  assert_true(info.done);
  return info;
}

/* ---- bootstrap --------------------------------------------------------- */

/* n servers, each connected to the one before: a network to join */
static void server_chain(th_net *t, const lp2p_host_config *c, int n) {
  for (int i = 0; i < n; i++)
    add_node(t, c);
  for (int i = 1; i < n; i++)
    th_connect(t, i, i - 1);
  memnet_run_for(t->net, 3 * LP2P_NS_PER_S);
}

static void test_bootstrap_dial_on_start(void **state) {
  (void)state;
  th_net *t = th_new(11);
  lp2p_host_config c = kad_cfg(LP2P_KAD_MODE_SERVER, QK, LP2P_KAD_ADDRS_ALL);
  server_chain(t, &c, 8);
  /* the newcomer knows two bootstrap peers and dials nobody by hand */
  lp2p_maddr boot[2] = {t->listen[0], t->listen[5]};
  c.kad.bootstrap = boot;
  c.kad.bootstrap_n = 2;
  c.conns_low_water = 2;
  c.conns_high_water = 3;
  c.conns_grace_ns = 0; /* trim at once */
  int x = add_node(t, &c);
  memset(boot, 0, sizeof boot); /* copied at start: the array may go */
  memnet_run_for(t->net, 10 * LP2P_NS_PER_S);
  assert_true(lp2p_host_kad_table_size(t->h[x]) >= 2);
  assert_int_equal(lp2p_host_peer_protected(t->h[x], &t->id[0]),
                   LP2P_PEER_TAG_KAD_BOOTSTRAP);
  assert_int_equal(lp2p_host_peer_protected(t->h[x], &t->id[5]),
                   LP2P_PEER_TAG_KAD_BOOTSTRAP);
  assert_int_equal(lp2p_host_peer_protected(t->h[x], &t->id[3]), 0);
  /* the self-lookup connected to more peers than the high water mark:
   * trimmed, but never a bootstrap peer */
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[x], &st);
  printf("bootstrap: table %zu, trimmed %llu\n",
         lp2p_host_kad_table_size(t->h[x]),
         (unsigned long long)st.conns_trimmed);
  assert_true(st.conns_trimmed >= 1);
  assert_true(lp2p_host_peer_conn_count(t->h[x], &t->id[0]) >= 1);
  assert_true(lp2p_host_peer_conn_count(t->h[x], &t->id[5]) >= 1);
  /* the explicit call dials them again (joined to the live connections) */
  uint64_t dials[2];
  size_t n = 0;
  assert_int_equal(lp2p_host_kad_bootstrap(t->h[x], th_now(t), dials, 2, &n),
                   0);
  assert_int_equal(n, 2);
  /* untagging puts a peer back under the usual rules */
  assert_int_equal(lp2p_host_peer_protect(t->h[x], &t->id[0],
                                          LP2P_PEER_TAG_KAD_BOOTSTRAP, 0),
                   0);
  assert_int_equal(lp2p_host_peer_protected(t->h[x], &t->id[0]), 0);
  assert_int_equal(lp2p_host_peer_protect(t->h[x], &t->id[0], 0, 1),
                   LP2P_ERR_INVAL);
  /* no list: NOT_FOUND; a list entry without /p2p: the host is refused */
  assert_int_equal(lp2p_host_kad_bootstrap(t->h[1], th_now(t), NULL, 0, &n),
                   LP2P_ERR_NOT_FOUND);
  lp2p_maddr bad;
  const char *bt = "/ip4/10.0.0.1/tcp/4001";
  assert_int_equal(lp2p_maddr_parse(&bad, bt, strlen(bt)), 0);
  c.kad.bootstrap = &bad;
  c.kad.bootstrap_n = 1;
  lp2p_host *h = NULL;
  assert_int_not_equal(lp2p_host_new(&h, &c, NULL, &t->rng[0], th_now(t)), 0);
  th_free(t);
}

/* go's fixLowPeers: a newcomer whose only bootstrap peer turned it away
 * has an empty table; the low-peers check two minutes later dials the
 * bootstrap peer again and the newcomer joins (before this check, a
 * table found empty was re-dialled only at the 10-minute refresh). */
static void test_low_peers_redial(void **state) {
  (void)state;
  th_net *t = th_new(12);
  lp2p_host_config c = kad_cfg(LP2P_KAD_MODE_SERVER, QK, LP2P_KAD_ADDRS_ALL);
  server_chain(t, &c, 6);
  lp2p_maddr boot = t->listen[0];
  c.kad.bootstrap = &boot;
  c.kad.bootstrap_n = 1;
  lp2p_tstamp t0 = th_now(t);
  int x = add_node(t, &c);
  /* the bootstrap peer refuses the newcomer right after the handshake */
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[x], 0), 0);
  memnet_run_for(t->net, 30 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_host_kad_table_size(t->h[x]), 0);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_true(st.conns_gated >= 1);
  /* it lets it in; nothing happens until the check */
  assert_int_equal(lp2p_host_gate_peer_clear(t->h[0], &t->id[x]), 0);
  memnet_run_for(t->net, t0 + 110 * LP2P_NS_PER_S - th_now(t));
  assert_int_equal(lp2p_host_kad_table_size(t->h[x]), 0);
  /* the check at 120 s dials it again: identify, then the self-lookup */
  memnet_run_for(t->net, 20 * LP2P_NS_PER_S);
  printf("low peers: table %zu at %llu s\n", lp2p_host_kad_table_size(t->h[x]),
         (unsigned long long)((th_now(t) - t0) / LP2P_NS_PER_S));
  assert_true(lp2p_host_kad_table_size(t->h[x]) >= 3);
  /* with the check off, only the start dials */
  c.kad.low_check_ns = 0;
  int y = add_node(t, &c);
  assert_int_equal(lp2p_host_gate_peer(t->h[0], &t->id[y], 0), 0);
  memnet_run_for(t->net, 30 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_host_gate_peer_clear(t->h[0], &t->id[y]), 0);
  memnet_run_for(t->net, 150 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_host_kad_table_size(t->h[y]), 0);
  th_free(t);
}

/* ---- the address filter in the service ---------------------------------- */

static void test_filter_served(void **state) {
  (void)state;
  th_net *t = th_new(12);
  lp2p_host_config all = kad_cfg(LP2P_KAD_MODE_SERVER, QK, LP2P_KAD_ADDRS_ALL);
  for (int i = 0; i < 6; i++)
    add_node(t, &all);
  for (int i = 1; i < 6; i++)
    th_connect(t, i, i - 1);
  /* P: public filter, default predicate; L: public with the lab's
   * predicate (10.0.0.0/8 counts as public); A: all */
  static lp2p_autonat_cidrs lab;
  assert_int_equal(lp2p_autonat_cidrs_parse(&lab, "10.0.0.0/8"), 0);
  lp2p_host_config pub =
      kad_cfg(LP2P_KAD_MODE_SERVER, QK, LP2P_KAD_ADDRS_PUBLIC);
  lp2p_host_config labc = pub;
  labc.kad.is_public = lp2p_autonat_cidrs_public;
  labc.kad.is_public_ud = &lab;
  int srv[3];
  srv[0] = add_node(t, &pub);
  srv[1] = add_node(t, &labc);
  srv[2] = add_node(t, &all);
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < 6; i++)
      th_connect(t, srv[s], i);
  memnet_run_for(t->net, 3 * LP2P_NS_PER_S);
  /* three clients, each connected to one of them only */
  lp2p_host_config cl = kad_cfg(LP2P_KAD_MODE_CLIENT, QK, LP2P_KAD_ADDRS_ALL);
  cl.kad.refresh = 0;
  size_t got[3];
  for (int s = 0; s < 3; s++) {
    int c = add_node(t, &cl);
    th_connect(t, c, srv[s]);
    memnet_run_for(t->net, LP2P_NS_PER_S);
    uint64_t q = 0;
    assert_int_equal(lp2p_host_kad_find_peer(t->h[c], th_now(t), &t->id[4],
                                             &q),
                     0);
    lp2p_kad_query_info info = wait_query(t, c, q);
    assert_true(info.target_found); /* named either way */
    lp2p_maddr a[8];
    got[s] = 0;
    if (lp2p_host_peer_addrs(t->h[c], th_now(t), &t->id[4], a, 8, &got[s]))
      got[s] = 0;
  }
  printf("addresses of node 4 served by public %zu, lab %zu, all %zu\n",
         got[0], got[1], got[2]);
  assert_int_equal(got[0], 0);
  assert_true(got[1] >= 1);
  assert_true(got[2] >= 1);
  th_free(t);
}

/* ---- entry correction ---------------------------------------------------- */

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

static void test_entry_correction(void **state) {
  (void)state;
  th_net *t = th_new(13);
  lp2p_host_config c = kad_cfg(LP2P_KAD_MODE_SERVER, QK, LP2P_KAD_ADDRS_ALL);
  for (int i = 0; i < 20; i++)
    add_node(t, &c);
  /* two writers that reach only their 2 and 1 closest peers */
  lp2p_host_config w2 = kad_cfg(LP2P_KAD_MODE_CLIENT, 2, LP2P_KAD_ADDRS_ALL);
  lp2p_host_config w1 = kad_cfg(LP2P_KAD_MODE_CLIENT, 1, LP2P_KAD_ADDRS_ALL);
  w2.kad.query.alpha = 2; /* alpha <= k */
  w1.kad.query.alpha = 1;
  int a = add_node(t, &w2), b = add_node(t, &w1);
  for (int i = 1; i < 20; i++) {
    th_connect(t, i, 0);
    if (i > 1)
      th_connect(t, i, i - 1);
  }
  th_connect(t, a, 0);
  th_connect(t, b, 0);
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  /* an IPNS name, seq 1 written to 2 peers, then seq 2 to 1 peer */
  lp2p_rng r;
  lp2p_rng_chacha rs;
  lp2p_rng_chacha_init(&rs, 5, 1, &r);
  lp2p_privkey k;
  lp2p_peerid id;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &r), 0);
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &k.pub), 0);
  uint8_t key[64], rec[2][2048];
  size_t kl = 6 + id.len, rl[2];
  memcpy(key, "/ipns/", 6);
  memcpy(key + 6, id.bytes, id.len);
  const char *path = "/ipfs/bafkqaaa";
  for (int s = 0; s < 2; s++)
    assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)path, strlen(path),
                                    (uint64_t)s + 1,
                                    UNIX_NOW + 3600 * LP2P_NS_PER_S,
                                    60 * LP2P_NS_PER_S, 1, rec[s],
                                    sizeof rec[s], &rl[s]),
                     0);
  uint64_t q = 0;
  assert_int_equal(
      lp2p_host_kad_put(t->h[a], th_now(t), key, kl, rec[0], rl[0], &q), 0);
  assert_int_equal(wait_query(t, a, q).stored, 2);
  assert_int_equal(
      lp2p_host_kad_put(t->h[b], th_now(t), key, kl, rec[1], rl[1], &q), 0);
  assert_int_equal(wait_query(t, b, q).stored, 1);
  size_t before = 0;
  for (int i = 0; i < 20; i++)
    before += lp2p_host_kad_records_count(t->h[i]);
  assert_true(before >= 2 && before <= 3);
  /* readers far from the key: their k closest are the same 8 servers */
  int order[20];
  for (int i = 0; i < 20; i++)
    order[i] = i;
  lp2p_kad_key_hash(key, kl, g_target);
  g_t = t;
  qsort(order, 20, sizeof order[0], by_distance);
  int r1 = order[19], r2 = order[18];
  assert_int_equal(lp2p_host_kad_get(t->h[r1], th_now(t), key, kl, &q), 0);
  lp2p_kad_query_info info = wait_query(t, r1, q);
  assert_int_equal(info.err, 0);
  size_t n = 0;
  const uint8_t *v = lp2p_host_kad_query_value(t->h[r1], q, &n);
  assert_int_equal(n, rl[1]);
  assert_memory_equal(v, rec[1], n);
  /* at most one of the 8 closest held seq 2: the others are corrected */
  printf("correction: %zu sent\n", info.corrections);
  assert_true(info.corrections >= QK - 1 && info.corrections <= QK);
  for (int i = 0; i < 200 && info.corrections_pending; i++) {
    memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
    assert_int_equal(lp2p_host_kad_query_info(t->h[r1], q, &info), 0);
  }
  assert_int_equal(info.corrections_pending, 0);
  assert_int_equal(info.corrections_done, info.corrections);
  size_t after = 0;
  for (int i = 0; i < 20; i++)
    after += lp2p_host_kad_records_count(t->h[i]);
  assert_true(after >= QK); /* every one of the 8 closest holds a record */
  for (int i = 0; i < QK; i++)
    assert_int_equal(lp2p_host_kad_records_count(t->h[order[i]]), 1);
  /* the next reader finds every closest peer up to date */
  assert_int_equal(lp2p_host_kad_get(t->h[r2], th_now(t), key, kl, &q), 0);
  info = wait_query(t, r2, q);
  v = lp2p_host_kad_query_value(t->h[r2], q, &n);
  assert_int_equal(n, rl[1]);
  assert_memory_equal(v, rec[1], n);
  assert_int_equal(info.corrections, 0);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bootstrap_dial_on_start),
      cmocka_unit_test(test_low_peers_redial),
      cmocka_unit_test(test_filter_served),
      cmocka_unit_test(test_entry_correction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
