/* The host's service interface (proto/host/host_service.h): a test service
 * registered next to the built-ins sees every hook once and in order, its
 * timer runs from the host's heap, it can write to streams of other
 * connections from inside a hook (the host pumps them when the outermost
 * call unwinds, never re-entering the service), and each stream's state
 * is handed back exactly once. Services follow their config. */
#include "proto/host/host_internal.h"
#include "tests/test_host_util.h"

#define PROBE_PROTO "/lp2p-test/probe/1.0.0"

typedef struct probe_ud {
  uint64_t conn;
  int outbound;
  size_t got;
  char buf[32];
} probe_ud;

typedef struct probe {
  uint32_t svc;
  uint16_t proto;
  int in_hook;          /* re-entrancy detector */
  int reentered;
  int connected, identified, disconnected, local_changed;
  uint64_t last_conn;
  lp2p_peerid last_peer;
  int last_err;
  unsigned local_what;
  lp2p_tstamp deadline; /* service timer */
  lp2p_tstamp fired_at;
  int fired;
  int fanout;           /* on peer_identified: open a stream on every conn */
  int replies;          /* "pong" answers read by the opener */
} probe;

static int ud_live; /* probe_ud allocated and not yet handed back */

#define HOOK_IN(p)                                                             \
  do {                                                                         \
    if ((p)->in_hook)                                                          \
      (p)->reentered++;                                                        \
    (p)->in_hook = 1;                                                          \
  } while (0)
#define HOOK_OUT(p) ((p)->in_hook = 0)

static probe_ud *ud_new(uint64_t conn, int outbound) {
  probe_ud *u = calloc(1, sizeof *u);
  u->conn = conn;
  u->outbound = outbound;
  ud_live++;
  return u;
}

static void ud_free(probe_ud *u) {
  if (!u)
    return;
  ud_live--;
  free(u);
}

static int p_init(lp2p_host *h, uint32_t svc, void **state) {
  probe *p = calloc(1, sizeof *p);
  p->svc = svc;
  p->deadline = LP2P_TSTAMP_NONE;
  int err = 0;
  p->proto = host_svc_add_protocol(h, svc, PROBE_PROTO,
                                   HSVC_P_INBOUND | HSVC_P_ADVERTISE, &err);
  *state = p;
  return err;
}

static void p_fini(lp2p_host *h, void *state) {
  (void)h;
  free(state);
}

/* The opener wrote "ping"; the answerer reads it and answers "pong". */
static void p_activity(lp2p_host *h, void *state, uint64_t s, void *ud,
                       lp2p_tstamp now) {
  probe *p = state;
  probe_ud *u = ud;
  HOOK_IN(p);
  size_t len = 0;
  const uint8_t *b = host_svc_peek(h, s, &len);
  while (len && u->got < sizeof u->buf) {
    size_t k = len < sizeof u->buf - u->got ? len : sizeof u->buf - u->got;
    memcpy(u->buf + u->got, b, k);
    u->got += k;
    host_svc_consume(h, s, now, k);
    b = host_svc_peek(h, s, &len);
  }
  if (!u->outbound && u->got >= 4 && !host_svc_local_closed(h, s)) {
    assert_memory_equal(u->buf, "ping", 4);
    assert_int_equal(host_svc_write(h, s, now, (const uint8_t *)"pong", 4),
                     4);
    host_svc_close(h, s, now);
  }
  if (u->outbound && host_svc_at_eof(h, s) && u->got == 4 &&
      memcmp(u->buf, "pong", 4) == 0) {
    p->replies++;
    u->got = 0;
  }
  HOOK_OUT(p);
}

static void p_start(lp2p_host *h, void *state, uint64_t s, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  probe *p = state;
  assert_int_equal(proto, p->proto);
  host_svc_stream_set_ud(h, s, ud_new(conn, 0));
  hsvc_stream_info info;
  uint64_t pos = 0;
  /* The stream is listed among the service's streams of conn. */
  int found = 0;
  uint64_t id;
  while ((id = host_svc_stream_next(h, p->svc, conn, &pos, &info)) != 0)
    found |= id == s && info.dir == LP2P_DIR_INBOUND;
  assert_true(found);
  p_activity(h, state, s, info.ud, now);
}

static void p_end(lp2p_host *h, void *state, uint64_t s, void *ud, int err,
                  lp2p_tstamp now) {
  (void)h;
  (void)now;
  (void)err;
  probe *p = state;
  HOOK_IN(p);
  /* The id is dead already: the API answers NOT_FOUND. */
  assert_int_equal(host_svc_write(h, s, now, (const uint8_t *)"x", 1),
                   LP2P_ERR_NOT_FOUND);
  ud_free(ud);
  HOOK_OUT(p);
}

static void p_connected(lp2p_host *h, void *state, uint64_t conn,
                        lp2p_tstamp now) {
  (void)now;
  probe *p = state;
  HOOK_IN(p);
  p->connected++;
  p->last_conn = conn;
  assert_non_null(host_svc_conn_peer(h, conn));
  HOOK_OUT(p);
}

static void p_identified(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  probe *p = state;
  HOOK_IN(p);
  p->identified++;
  p->last_conn = conn;
  if (p->fanout) {
    p->fanout = 0;
    uint32_t pos = 0;
    uint64_t c;
    while ((c = host_svc_conn_next(h, &pos)) != 0) {
      probe_ud *u = ud_new(c, 1);
      uint64_t s;
      assert_int_equal(host_svc_open(h, p->svc, c, p->proto, u, now, &s), 0);
      assert_int_equal(
          host_svc_write(h, s, now, (const uint8_t *)"ping", 4), 4);
      host_svc_close(h, s, now);
    }
  }
  HOOK_OUT(p);
}

static void p_disconnected(lp2p_host *h, void *state, uint64_t conn,
                           const lp2p_peerid *peer, int err,
                           lp2p_tstamp now) {
  (void)h;
  (void)now;
  probe *p = state;
  HOOK_IN(p);
  p->disconnected++;
  p->last_conn = conn;
  p->last_peer = *peer;
  p->last_err = err;
  HOOK_OUT(p);
}

static void p_local(lp2p_host *h, void *state, unsigned what,
                    lp2p_tstamp now) {
  (void)h;
  (void)now;
  probe *p = state;
  p->local_changed++;
  p->local_what |= what;
}

static lp2p_tstamp p_next(const void *state) {
  return ((const probe *)state)->deadline;
}

static void p_timeout(lp2p_host *h, void *state, lp2p_tstamp now) {
  (void)h;
  probe *p = state;
  HOOK_IN(p);
  assert_true(now >= p->deadline);
  p->fired++;
  p->fired_at = now;
  p->deadline = LP2P_TSTAMP_NONE;
  HOOK_OUT(p);
}

static const hsvc_ops probe_ops = {
    .name = "probe",
    .init = p_init,
    .fini = p_fini,
    .stream_start = p_start,
    .stream_activity = p_activity,
    .stream_end = p_end,
    .peer_connected = p_connected,
    .peer_identified = p_identified,
    .peer_disconnected = p_disconnected,
    .local_changed = p_local,
    .next_timeout = p_next,
    .handle_timeout = p_timeout,
};

static probe *add_probe(th_net *t, int i) {
  uint32_t svc = 0;
  assert_int_equal(host_svc_register(t->h[i], &probe_ops, &svc), 0);
  probe *p = host_svc_state(t->h[i], &probe_ops, NULL);
  assert_non_null(p);
  assert_int_equal(p->svc, svc);
  return p;
}

static int replies_at_least_2(void *ud) { return ((probe *)ud)->replies >= 2; }

static void test_hooks_and_fanout(void **state) {
  (void)state;
  th_net *t = th_new(7);
  for (int i = 0; i < 3; i++)
    assert_non_null(th_add(t, NULL, NULL));
  probe *pa = add_probe(t, 0);
  add_probe(t, 1);
  add_probe(t, 2);
  th_listen(t, 1);
  th_listen(t, 2);
  th_connect(t, 0, 1);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(pa->connected, 1);
  assert_int_equal(pa->identified, 1);
  /* The identify of the second connection fans out to both peers. */
  pa->fanout = 1;
  th_connect(t, 0, 2);
  assert_true(memnet_run(t->net, replies_at_least_2, pa, 5 * LP2P_NS_PER_S));
  assert_int_equal(pa->replies, 2);
  assert_int_equal(pa->connected, 2);
  assert_int_equal(pa->reentered, 0);
  /* Our protocol is advertised: the peers learnt it through identify. */
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], PROBE_PROTO));

  /* local_changed: registering an application protocol. */
  assert_int_equal(lp2p_host_register_protocol(t->h[0], "/app/1"), 0);
  assert_true(pa->local_what & HSVC_LOCAL_PROTOCOLS);

  /* Service timer from the one heap. */
  lp2p_tstamp now = th_now(t);
  pa->deadline = now + 3 * LP2P_NS_PER_S;
  host_svc_timer_update(t->h[0], pa->svc);
  assert_true(lp2p_host_next_timeout(t->h[0]) <= pa->deadline);
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  assert_int_equal(pa->fired, 1);
  assert_true(pa->fired_at >= now + 3 * LP2P_NS_PER_S);

  /* peer_disconnected names the connection, the peer and the reason. */
  const th_ev *c1 = th_find(t, 0, LP2P_HOST_EV_PEER_CONNECTED, 0);
  assert_non_null(c1);
  assert_int_equal(lp2p_host_conn_close(t->h[0], th_now(t), c1->conn), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(pa->disconnected, 1);
  assert_int_equal(pa->last_conn, c1->conn);
  assert_true(lp2p_peerid_equal(&pa->last_peer, &t->id[1]));
  assert_int_equal(pa->last_err, 0);
  assert_int_equal(pa->reentered, 0);
  th_free(t);
  /* Every stream's state came back through stream_end, including the
   * streams still open when the hosts were freed. */
  assert_int_equal(ud_live, 0);
}

/* Services can be switched off by config: a host that does not serve ping
 * refuses the protocol, and the application may serve it instead. */
static void test_service_config(void **state) {
  (void)state;
  th_net *t = th_new(13);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.ping.serve = 0;
  cfg.echo.serve = 0;
  assert_non_null(th_add(t, NULL, NULL));
  assert_non_null(th_add(t, &cfg, NULL));
  th_listen(t, 1);
  th_connect(t, 0, 1);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1,
                          5 * LP2P_NS_PER_S));
  assert_false(lp2p_host_peer_supports(t->h[0], &t->id[1],
                                       "/ipfs/ping/1.0.0"));
  assert_false(lp2p_host_peer_supports(t->h[0], &t->id[1], "/echo/1.0.0"));
  assert_true(lp2p_host_peer_supports(t->h[0], &t->id[1], "/perf/1.0.0"));
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[1]), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PING_RESULT, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_not_equal(th_find(t, 0, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  /* Bad service config fails host creation. */
  cfg.identify.msg_bytes_max = 1;
  lp2p_host *h = NULL;
  lp2p_rng_chacha rs;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&rs, 1, 1, &rng);
  cfg.identity = &t->key[0];
  assert_int_equal(lp2p_host_new(&h, &cfg, NULL, &rng, 0), LP2P_ERR_INVAL);
  assert_null(h);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hooks_and_fanout),
      cmocka_unit_test(test_service_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
