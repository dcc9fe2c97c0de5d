/* Connection manager and address manager: /p2p id mismatch, dial
 * coalescing and reuse, FORCE, dial_peer over peerstore addresses, limits
 * on total / per-peer connections, idle trimming, high/low water marks,
 * identify push, announce / no-announce / interface / observed addresses. */
#include "tests/test_host_util.h"

static lp2p_maddr with_peer(const lp2p_maddr *addr, const lp2p_peerid *id) {
  lp2p_maddr m = *addr, p2p;
  lp2p_maddr_strip_peer_id(&m);
  char txt[160], s[LP2P_PEERID_TEXT_MAX];
  size_t n;
  assert_int_equal(lp2p_peerid_to_base58(id, s, sizeof s, &n), 0);
  snprintf(txt, sizeof txt, "/p2p/%s", s);
  assert_int_equal(lp2p_maddr_parse(&p2p, txt, strlen(txt)), 0);
  assert_int_equal(lp2p_maddr_encapsulate(&m, &p2p), 0);
  return m;
}

static lp2p_maddr parse(const char *txt) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, txt, strlen(txt)), 0);
  return m;
}

static void test_peer_id_mismatch(void **state) {
  (void)state;
  th_net *t = th_new(11);
  for (int i = 0; i < 3; i++)
    th_add(t, NULL, NULL);
  th_listen(t, 0);
  /* host 0's address, host 2's id */
  lp2p_maddr bad = with_peer(&t->listen[0], &t->id[2]);
  uint64_t d = 0;
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &bad, 0, &d), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_FAILED, 1, LP2P_NS_PER_S));
  const th_ev *e = th_find(t, 1, LP2P_HOST_EV_DIAL_FAILED, 0);
  assert_int_equal(e->dial, d);
  assert_int_equal(e->err, LP2P_ERR_PEER_ID_MISMATCH);
  assert_true(lp2p_peerid_equal(&e->peer, &t->id[2]));
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_PEER_CONNECTED), 0);
  /* host 0 saw an inbound connection fail; it is still fine */
  assert_true(
      th_wait_for(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, 1, LP2P_NS_PER_S));
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_PEER_CONNECTED), 0);
  th_connect(t, 1, 0);
  /* dialing ourselves is refused */
  assert_int_equal(lp2p_host_dial(t->h[0], th_now(t), &t->listen[0], 0, &d),
                   LP2P_ERR_INVAL);
  /* other transports are not ours */
  lp2p_maddr udp = parse("/ip4/10.0.0.1/udp/4000");
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &udp, 0, &d),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_host_listen(t->h[1], &udp, NULL),
                   LP2P_ERR_UNSUPPORTED);
  /* a name is accepted (the DNS service resolves it without blocking);
   * with no DNS server and no hosts entry the dial fails, saying so */
  lp2p_maddr dns = parse("/dns4/example.com/tcp/4000");
  int failed = th_count(t, 1, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &dns, 0, &d), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_FAILED, failed + 1,
                          LP2P_NS_PER_S));
  const th_ev *f = th_find(t, 1, LP2P_HOST_EV_DIAL_FAILED, failed);
  assert_non_null(f);
  assert_int_equal(f->err, LP2P_ERR_NO_RESOLVER);
  th_free(t);
}

static void test_dial_coalesce_reuse_force(void **state) {
  (void)state;
  th_net *t = th_new(12);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  uint64_t d1 = 0, d2 = 0, d3 = 0, d4 = 0;
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &t->listen[0], 0, &d1),
                   0);
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &t->listen[0], 0, &d2),
                   0);
  assert_int_equal(d1, d2); /* joined */
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_DONE, 1, LP2P_NS_PER_S));
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_DIAL_DONE), 1);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_PEER_CONNECTED), 1);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[1], &t->id[0]), 1);
  uint64_t conn = th_find(t, 1, LP2P_HOST_EV_DIAL_DONE, 0)->conn;
  /* connected: a new dial reuses the connection at once */
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &t->listen[0], 0, &d3),
                   0);
  assert_true(d3 != d1);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_DONE, 2, LP2P_NS_PER_S));
  const th_ev *e = th_find(t, 1, LP2P_HOST_EV_DIAL_DONE, 1);
  assert_int_equal(e->dial, d3);
  assert_int_equal(e->conn, conn);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_PEER_CONNECTED), 1);
  /* FORCE: a second connection */
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &t->listen[0],
                                  LP2P_DIAL_FORCE, &d4),
                   0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_DONE, 3, LP2P_NS_PER_S));
  e = th_find(t, 1, LP2P_HOST_EV_DIAL_DONE, 2);
  assert_int_equal(e->dial, d4);
  assert_true(e->conn != conn);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[1], &t->id[0]), 2);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PEER_CONNECTED, 2, LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[1]), 2);
  /* closing the peer closes both */
  assert_int_equal(lp2p_host_close_peer(t->h[1], th_now(t), &t->id[0]), 0);
  assert_true(
      th_wait_for(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, 2, LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[1]), 0);
  th_free(t);
}

static void test_dial_peer_addrs(void **state) {
  (void)state;
  th_net *t = th_new(13);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  uint64_t d;
  assert_int_equal(lp2p_host_dial_peer(t->h[1], th_now(t), &t->id[0], 0, &d),
                   LP2P_ERR_NOT_FOUND);
  /* a dead address first, then the real one */
  lp2p_maddr dead = parse("/ip4/10.0.0.1/tcp/9");
  assert_int_equal(lp2p_host_peer_addr_add(t->h[1], th_now(t), &t->id[0],
                                           &dead, 0),
                   0);
  assert_int_equal(lp2p_host_peer_addr_add(t->h[1], th_now(t), &t->id[0],
                                           &t->listen[0], LP2P_NS_PER_S * 60),
                   0);
  /* a /p2p suffix of another peer is refused */
  lp2p_maddr other = with_peer(&dead, &t->id[1]);
  assert_int_equal(lp2p_host_peer_addr_add(t->h[1], th_now(t), &t->id[0],
                                           &other, 0),
                   LP2P_ERR_PEER_ID_MISMATCH);
  lp2p_maddr got[4];
  size_t n = 0;
  assert_int_equal(
      lp2p_host_peer_addrs(t->h[1], th_now(t), &t->id[0], got, 4, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(lp2p_host_dial_peer(t->h[1], th_now(t), &t->id[0], 0, &d),
                   0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_DONE, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_DIAL_DONE, 0)->dial, d);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_DIAL_FAILED), 0);
  /* connected already: REUSEPORT still makes a new connection to a
   * known address (it used to take the reuse path with no address) */
  assert_int_equal(lp2p_host_dial_peer(t->h[1], th_now(t), &t->id[0],
                                       LP2P_DIAL_REUSEPORT, &d),
                   0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_DONE, 2, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_DIAL_DONE, 1)->dial, d);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[1], &t->id[0]), 2);
  /* the TTL'd address expires */
  memnet_run_for(t->net, 61 * LP2P_NS_PER_S);
  assert_int_equal(
      lp2p_host_peer_addrs(t->h[1], th_now(t), &t->id[0], got, 4, &n), 0);
  /* identify re-added the listen address with its own (1 h) TTL */
  assert_int_equal(n, 2);
  th_free(t);
}

static void test_conn_limits(void **state) {
  (void)state;
  th_net *t = th_new(14);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.conns_max = 3;
  c.conns_per_peer_max = 1;
  th_add(t, &c, NULL);
  for (int i = 1; i <= 5; i++)
    th_add(t, NULL, NULL);
  th_listen(t, 0);
  uint64_t d;
  for (int i = 1; i <= 5; i++)
    assert_int_equal(
        lp2p_host_dial(t->h[i], th_now(t), &t->listen[0], 0, &d), 0);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  int ok = 0, failed = 0;
  for (int i = 1; i <= 5; i++) {
    ok += th_count(t, i, LP2P_HOST_EV_DIAL_DONE);
    failed += th_count(t, i, LP2P_HOST_EV_DIAL_FAILED);
  }
  assert_int_equal(ok, 3);
  assert_int_equal(failed, 2);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.inbound_refused, 2);
  assert_int_equal(st.conns_open, 3);
  /* per peer: a forced second connection from a connected peer is cut */
  int who = 0;
  for (int i = 1; i <= 5 && !who; i++)
    if (th_count(t, i, LP2P_HOST_EV_DIAL_DONE))
      who = i;
  /* make room for it first so only the per-peer limit applies */
  int gone = 0;
  for (int i = 1; i <= 5; i++)
    if (i != who && th_count(t, i, LP2P_HOST_EV_DIAL_DONE) && !gone) {
      assert_int_equal(lp2p_host_close_peer(t->h[i], th_now(t), &t->id[0]), 0);
      gone = 1;
    }
  memnet_run_for(t->net, LP2P_NS_PER_S);
  int before = th_count(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED);
  assert_int_equal(lp2p_host_dial(t->h[who], th_now(t), &t->listen[0],
                                  LP2P_DIAL_FORCE, &d),
                   0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, before + 1,
                          LP2P_NS_PER_S));
  const th_ev *e = th_find(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, before);
  assert_int_equal(e->err, LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[who]), 1);
  /* the first connection still works */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[who]), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PING_RESULT, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  th_free(t);
}

/* Host 0 trims above 2 open connections down to 1, with no grace period
 * (trim at once) and the given silence; hosts 1..peers dial it. */
static th_net *water_net(uint64_t seed, int peers, uint64_t silence) {
  th_net *t = th_new(seed);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.conns_high_water = 2;
  c.conns_low_water = 1;
  c.conns_grace_ns = 0;
  c.conns_trim_silence_ns = silence;
  th_add(t, &c, NULL);
  for (int i = 1; i <= peers; i++)
    th_add(t, NULL, NULL);
  th_listen(t, 0);
  return t;
}

/* Hosts from..to connect to host 0, 100 ms apart. */
static void water_connect(th_net *t, int from, int to) {
  for (int i = from; i <= to; i++) {
    th_connect(t, i, 0);
    memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  }
}

static void test_idle_and_trim(void **state) {
  (void)state;
  th_net *t = th_new(15);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.idle_timeout_ns = 2 * LP2P_NS_PER_S;
  th_add(t, &c, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED), 0);
  assert_true(
      th_wait_for(t, 1, LP2P_HOST_EV_PEER_DISCONNECTED, 1, 3 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_PEER_DISCONNECTED, 0)->err, 0);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns_trimmed, 1);
  th_free(t);

  /* high / low water: above 2, trim to 1 */
  t = water_net(16, 3, 10 * LP2P_NS_PER_S);
  water_connect(t, 1, 3);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns_trimmed, 2);
  assert_int_equal(st.conns_open, 1);
  th_free(t);
}

/* go's silence period: a trim that a new connection asks for runs at
 * most once in conns_trim_silence_ns; one asked sooner runs when it ends.
 * With the silence off, every new connection above the mark trims. */
static void trim_silence_run(uint64_t silence, uint64_t *after_burst,
                             uint64_t *after_silence) {
  th_net *t = water_net(18, 5, silence);
  water_connect(t, 1, 3);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns_trimmed, 2); /* the first trim runs at once */
  /* two more within the silence: 3 open again, above the mark */
  water_connect(t, 4, 5);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[0], &st);
  *after_burst = st.conns_trimmed;
  memnet_run_for(t->net, 10 * LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[0], &st);
  *after_silence = st.conns_trimmed;
  assert_int_equal(st.conns_open, 1);
  th_free(t);
}

static void test_trim_silence(void **state) {
  (void)state;
  uint64_t burst, later;
  trim_silence_run(10 * LP2P_NS_PER_S, &burst, &later);
  assert_int_equal(burst, 2); /* asked inside the silence: waits */
  assert_int_equal(later, 4); /* ran when it ended */
  trim_silence_run(0, &burst, &later);
  assert_int_equal(burst, 4); /* no silence: trimmed at once */
  assert_int_equal(later, 4);
}

static void test_identify_push(void **state) {
  (void)state;
  th_net *t = th_new(17);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  assert_false(lp2p_host_peer_supports(t->h[1], &t->id[0], "/app/new/1.0.0"));
  assert_int_equal(lp2p_host_register_protocol(t->h[0], "/app/new/1.0.0"), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 2, LP2P_NS_PER_S));
  const th_ev *e = th_find(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1);
  assert_int_equal(e->err, 0);
  assert_int_equal(e->dir, LP2P_DIR_INBOUND); /* pushed to us */
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], "/app/new/1.0.0"));
  /* and away again */
  assert_int_equal(lp2p_host_unregister_protocol(t->h[0], "/app/new/1.0.0"), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 3, LP2P_NS_PER_S));
  assert_false(lp2p_host_peer_supports(t->h[1], &t->id[0], "/app/new/1.0.0"));
  assert_int_equal(lp2p_host_unregister_protocol(t->h[0], "/app/new/1.0.0"),
                   LP2P_ERR_NOT_FOUND);
  /* explicit identify */
  assert_int_equal(lp2p_host_identify(t->h[0], th_now(t), &t->id[1]), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 2, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1)->err, 0);
  th_free(t);
}

static int addr_listed(lp2p_host *h, const lp2p_maddr *m) {
  lp2p_maddr list[16];
  size_t n = 0;
  lp2p_host_addrs(h, list, 16, &n);
  for (size_t i = 0; i < n && i < 16; i++)
    if (lp2p_maddr_equal(&list[i], m))
      return 1;
  return 0;
}

static void test_address_manager(void **state) {
  (void)state;
  th_net *t = th_new(18);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.observed_confirm_min = 2;
  c.advertise_observed = 1;
  th_add(t, &c, NULL);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  /* unspecified listen address, expanded with interface addresses */
  lp2p_maddr any = parse("/ip4/0.0.0.0/tcp/4001");
  assert_int_equal(lp2p_host_listen(t->h[0], &any, NULL), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_LISTENING, 1, LP2P_NS_PER_S));
  assert_true(addr_listed(t->h[0], &any)); /* no interfaces known yet */
  lp2p_maddr ifa = parse("/ip4/10.0.0.1");
  assert_int_equal(
      lp2p_host_addr_add(t->h[0], th_now(t), &ifa, LP2P_ADDR_INTERFACE), 0);
  lp2p_maddr expanded = parse("/ip4/10.0.0.1/tcp/4001");
  assert_true(addr_listed(t->h[0], &expanded));
  assert_false(addr_listed(t->h[0], &any));
  /* no-announce filters */
  assert_int_equal(lp2p_host_addr_add(t->h[0], th_now(t), &expanded,
                                      LP2P_ADDR_NO_ANNOUNCE),
                   0);
  assert_false(addr_listed(t->h[0], &expanded));
  assert_int_equal(lp2p_host_addr_remove(t->h[0], th_now(t), &expanded,
                                         LP2P_ADDR_NO_ANNOUNCE),
                   0);
  /* announce replaces */
  lp2p_maddr pub = parse("/ip4/203.0.113.7/tcp/4001");
  assert_int_equal(
      lp2p_host_addr_add(t->h[0], th_now(t), &pub, LP2P_ADDR_ANNOUNCE), 0);
  assert_true(addr_listed(t->h[0], &pub));
  assert_false(addr_listed(t->h[0], &expanded));
  size_t n = 0;
  lp2p_host_addrs(t->h[0], NULL, 0, &n);
  assert_int_equal(n, 1);
  assert_int_equal(
      lp2p_host_addr_remove(t->h[0], th_now(t), &pub, LP2P_ADDR_ANNOUNCE), 0);
  assert_int_equal(
      lp2p_host_addr_remove(t->h[0], th_now(t), &pub, LP2P_ADDR_ANNOUNCE),
      LP2P_ERR_NOT_FOUND);
  memnet_run_for(t->net, LP2P_NS_PER_MS);
  /* listen, interface, no-announce on/off, announce on/off */
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED), 6);
  /* observed: two peers dial in and both see 10.0.0.1:4001 */
  t->listen[0] = expanded;
  lp2p_maddr target = with_peer(&expanded, &t->id[0]);
  t->listen[0] = target;
  th_connect(t, 1, 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  int found = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(t->h[0]); i++) {
    lp2p_host_addr_info ai;
    assert_int_equal(lp2p_host_addr_get(t->h[0], i, &ai), 0);
    if (ai.kind == LP2P_ADDR_OBSERVED) {
      found = 1;
      assert_int_equal(ai.status, LP2P_ADDR_UNCONFIRMED);
      assert_int_equal(ai.observers, 1);
    }
  }
  assert_true(found);
  th_connect(t, 2, 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 2, LP2P_NS_PER_S));
  found = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(t->h[0]); i++) {
    lp2p_host_addr_info ai;
    assert_int_equal(lp2p_host_addr_get(t->h[0], i, &ai), 0);
    if (ai.kind == LP2P_ADDR_OBSERVED) {
      found = 1;
      assert_int_equal(ai.status, LP2P_ADDR_CONFIRMED);
      assert_int_equal(ai.observers, 2);
      assert_true(lp2p_maddr_equal(&ai.addr, &expanded));
    }
  }
  assert_true(found);
  th_free(t);
}

/* The driver contract without memnet: io requests, REUSEPORT dials, dead
 * ids, dirty queue and interest. */
static void test_driver_contract(void **state) {
  (void)state;
  lp2p_rng_chacha rs;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&rs, 99, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  lp2p_host *h = NULL;
  assert_int_equal(lp2p_host_new(&h, &c, NULL, &rng, 1), LP2P_ERR_INVAL);
  c.identity = &k;
  c.conns_pending_max = 0;
  assert_int_equal(lp2p_host_new(&h, &c, NULL, &rng, 1), LP2P_ERR_INVAL);
  c.conns_pending_max = 8;
  assert_int_equal(lp2p_host_new(&h, &c, NULL, &rng, 1), 0);
  assert_int_equal(lp2p_host_next_timeout(h), LP2P_TSTAMP_NONE);
  lp2p_io io;
  assert_int_equal(lp2p_host_poll_io(h, &io), 0);
  /* listen: one LISTEN io, answered with the bound port */
  lp2p_maddr m = parse("/ip4/0.0.0.0/tcp/0");
  uint64_t lid = 0;
  assert_int_equal(lp2p_host_listen(h, &m, &lid), 0);
  assert_int_equal(lp2p_host_poll_io(h, &io), 1);
  assert_int_equal(io.kind, LP2P_IO_LISTEN);
  assert_int_equal(io.listener, lid);
  assert_int_equal(io.addr.family, 4);
  assert_int_equal(io.addr.port, 0);
  lp2p_sockaddr bound = io.addr;
  bound.port = 4100;
  assert_int_equal(lp2p_host_poll_io(h, &io), 0);
  assert_int_equal(lp2p_host_listen_done(h, lid, 0, &bound), 0);
  assert_int_equal(lp2p_host_listen_done(h, lid, 0, &bound),
                   LP2P_ERR_NOT_FOUND);
  lp2p_host_event ev;
  assert_int_equal(lp2p_host_poll_event(h, &ev), 1);
  assert_int_equal(ev.kind, LP2P_HOST_EV_LISTENING);
  lp2p_maddr want = parse("/ip4/0.0.0.0/tcp/4100");
  lp2p_maddr got;
  assert_int_equal(lp2p_host_listener_addr(h, ev.u.listen.listener, &got), 0);
  assert_true(lp2p_maddr_equal(&got, &want));
  assert_int_equal(lp2p_host_poll_event(h, &ev), 1);
  assert_int_equal(ev.kind, LP2P_HOST_EV_ADDRESS_CHANGED);
  assert_int_equal(lp2p_host_poll_event(h, &ev), 0);
  /* a REUSEPORT dial binds the listen port */
  lp2p_maddr dst = parse("/ip4/192.0.2.7/tcp/4001");
  uint64_t d = 0;
  assert_int_equal(lp2p_host_dial(h, 5, &dst, LP2P_DIAL_REUSEPORT, &d), 0);
  assert_int_equal(lp2p_host_poll_io(h, &io), 1);
  assert_int_equal(io.kind, LP2P_IO_DIAL);
  assert_true(io.flags & LP2P_IO_REUSEPORT);
  assert_int_equal(io.local.port, 4100);
  assert_int_equal(io.addr.port, 4001);
  uint64_t dconn = io.conn;
  /* the dial deadline is armed */
  assert_int_equal(lp2p_host_next_timeout(h), 5 + c.dial_timeout_ns);
  assert_int_equal(lp2p_host_conn_failed(h, dconn, LP2P_ERR_REFUSED, 6), 0);
  assert_int_equal(lp2p_host_conn_failed(h, dconn, LP2P_ERR_REFUSED, 6),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_host_poll_event(h, &ev), 1);
  assert_int_equal(ev.kind, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(ev.u.dial.id, d);
  assert_int_equal(ev.err, LP2P_ERR_REFUSED);
  /* an inbound connection: the host speaks first (multistream header) */
  lp2p_sockaddr remote = bound;
  remote.ip[0] = 10;
  remote.port = 5555;
  uint64_t conn = 0;
  assert_int_equal(lp2p_host_conn_accepted(h, lid + 100, &remote, &bound, 7,
                                           &conn),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_host_conn_accepted(h, lid, &remote, &bound, 7, &conn),
                   0);
  uint64_t dc = 0;
  assert_int_equal(lp2p_host_poll_dirty(h, &dc), 1);
  assert_int_equal(dc, conn);
  assert_int_equal(lp2p_host_poll_dirty(h, &dc), 0);
  unsigned interest = lp2p_host_conn_interest(h, conn);
  assert_true(interest & LP2P_INTEREST_READ);
  size_t len = 0;
  const uint8_t *out = lp2p_host_out_peek(h, conn, &len);
  assert_true(len >= 20);
  assert_memory_equal(out, "\x13/multistream/1.0.0\n", 20);
  assert_true(lp2p_host_conn_interest(h, conn) & LP2P_INTEREST_WRITE);
  assert_int_equal(lp2p_host_conn_out_consume(h, conn, len + 1),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_host_conn_out_consume(h, conn, len), 0);
  assert_false(lp2p_host_conn_interest(h, conn) & LP2P_INTEREST_WRITE);
  /* a silent inbound connection has the shorter progress budget first */
  assert_int_equal(lp2p_host_next_timeout(h), 7 + c.progress_timeout_ns);
  /* garbage: the connection is reset, the id dies with its io */
  uint8_t junk[100];
  memset(junk, 'Z', sizeof junk);
  lp2p_ssize k2 = lp2p_host_conn_feed(h, conn, 8, junk, sizeof junk);
  assert_true(k2 >= 0);
  assert_int_equal(lp2p_host_poll_io(h, &io), 1);
  assert_int_equal(io.kind, LP2P_IO_RESET);
  assert_int_equal(io.conn, conn);
  assert_int_equal(lp2p_host_conn_feed(h, conn, 9, junk, 1),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_host_conn_interest(h, conn), 0);
  assert_int_equal(lp2p_host_conn_recv_room(h, conn), 0);
  assert_null(lp2p_host_out_peek(h, conn, &len));
  assert_int_equal(len, 0);
  assert_int_equal(lp2p_host_poll_event(h, &ev), 1);
  assert_int_equal(ev.kind, LP2P_HOST_EV_PEER_DISCONNECTED);
  assert_int_equal(ev.conn, conn);
  assert_int_equal(ev.err, LP2P_ERR_PROTO);
  /* close: the listener goes away, then CLOSED */
  assert_int_equal(lp2p_host_close(h, 10), 0);
  assert_int_equal(lp2p_host_poll_io(h, &io), 1);
  assert_int_equal(io.kind, LP2P_IO_UNLISTEN);
  assert_int_equal(io.listener, lid);
  assert_int_equal(lp2p_host_poll_event(h, &ev), 1);
  assert_int_equal(ev.kind, LP2P_HOST_EV_CLOSED);
  assert_int_equal(lp2p_host_listen(h, &m, NULL), LP2P_ERR_STATE);
  lp2p_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_peer_id_mismatch),
      cmocka_unit_test(test_dial_coalesce_reuse_force),
      cmocka_unit_test(test_dial_peer_addrs),
      cmocka_unit_test(test_conn_limits),
      cmocka_unit_test(test_idle_and_trim),
      cmocka_unit_test(test_trim_silence),
      cmocka_unit_test(test_identify_push),
      cmocka_unit_test(test_address_manager),
      cmocka_unit_test(test_driver_contract),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
