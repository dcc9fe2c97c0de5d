/* Connections over any carrier (host_carrier.c): host A and host B talk
 * through host C. A nested Noise + yamux connection runs inside a stream
 * that C splices (tests/lib/circuit_svc.c); ping and a 10 MiB echo go
 * through it; limited connections refuse protocols not allowed there;
 * the data budget ends the connection; when the outer stream closes, or
 * the outer connection dies, the inner connection ends with
 * LP2P_ERR_CARRIER_CLOSED; nothing leaks. */
#include "tests/lib/circuit_svc.h"
#include "tests/lib/echo_app.h"
#include "tests/test_host_util.h"

#define A 0
#define B 1
#define C 2

typedef struct world {
  th_net *t;
  lp2p_mem_counting cnt[3];
  echo_app echo;
  int echo_host;
} world;

static world *W;

static void hook(th_net *t, int host, const lp2p_host_event *ev) {
  (void)t;
  if (host == W->echo_host)
    echo_app_event(&W->echo, ev, th_now(W->t));
}

static world *world_new(uint64_t seed, const hsvc_carrier_limits *lim) {
  world *w = calloc(1, sizeof *w);
  W = w;
  w->t = th_new(seed);
  w->t->hook = hook;
  w->echo_host = -1;
  for (int i = 0; i < 3; i++) {
    lp2p_mem_counting_init(&w->cnt[i], NULL);
    assert_non_null(th_add(w->t, NULL, &w->cnt[i].mem));
    assert_int_equal(circuit_svc_add(w->t->h[i], lim), 0);
  }
  th_listen(w->t, C);
  th_connect(w->t, A, C);
  th_connect(w->t, B, C);
  assert_true(th_wait_for(w->t, A, LP2P_HOST_EV_IDENTIFY_DONE, 1,
                          5 * LP2P_NS_PER_S));
  assert_true(th_wait_for(w->t, B, LP2P_HOST_EV_IDENTIFY_DONE, 1,
                          5 * LP2P_NS_PER_S));
  return w;
}

static void world_free(world *w) {
  th_free(w->t);
  for (int i = 0; i < 3; i++)
    assert_int_equal(w->cnt[i].live_bytes, 0);
  free(w);
  W = NULL;
}

/* The inner connection's PEER_CONNECTED on A (to B) and on B (to A). */
static uint64_t circuit_up(world *w, uint64_t *b_conn) {
  th_net *t = w->t;
  uint64_t conn = 0;
  int a0 = th_count(t, A, LP2P_HOST_EV_PEER_CONNECTED);
  int b0 = th_count(t, B, LP2P_HOST_EV_PEER_CONNECTED);
  assert_int_equal(circuit_dial(t->h[A], th_now(t), &t->id[C], &t->id[B],
                                &conn),
                   0);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_PEER_CONNECTED, a0 + 1,
                          5 * LP2P_NS_PER_S));
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_PEER_CONNECTED, b0 + 1,
                          5 * LP2P_NS_PER_S));
  const th_ev *ea = th_find(t, A, LP2P_HOST_EV_PEER_CONNECTED, a0);
  const th_ev *eb = th_find(t, B, LP2P_HOST_EV_PEER_CONNECTED, b0);
  assert_int_equal(ea->conn, conn);
  assert_true(lp2p_peerid_equal(&ea->peer, &t->id[B]));
  assert_true(lp2p_peerid_equal(&eb->peer, &t->id[A]));
  assert_int_equal(circuit_splices(t->h[C]), 1);
  *b_conn = eb->conn;
  return conn;
}

static int echo_done(void *ud) { return echo_app_done(&((world *)ud)->echo); }

static void run_echo(world *w, int host, uint64_t conn, size_t total) {
  th_net *t = w->t;
  memset(&w->echo, 0, sizeof w->echo);
  w->echo.h = t->h[host];
  w->echo.total = total;
  w->echo.seed = 9;
  w->echo_host = host;
  assert_int_equal(lp2p_host_open_stream_on(t->h[host], th_now(t), conn,
                                            "/echo/1.0.0", &w->echo.id),
                   0);
  echo_app_pump(&w->echo, th_now(t));
  assert_true(memnet_run(t->net, echo_done, w, 120 * LP2P_NS_PER_S));
}

/* The last PEER_DISCONNECTED of `conn` on host i, or NULL. */
static const th_ev *disconnected(th_net *t, int i, uint64_t conn) {
  const th_ev *e = NULL;
  for (int k = 0; k < t->nev[i]; k++)
    if (t->ev[i][k].kind == LP2P_HOST_EV_PEER_DISCONNECTED &&
        t->ev[i][k].conn == conn)
      e = &t->ev[i][k];
  return e;
}

typedef struct dwait {
  th_net *t;
  uint64_t a, b;
} dwait;

static int both_gone(void *ud) {
  dwait *d = ud;
  return disconnected(d->t, A, d->a) && disconnected(d->t, B, d->b);
}

static void test_ping_and_echo_through_relay(void **state) {
  (void)state;
  hsvc_carrier_limits lim = {64u << 20, 600 * LP2P_NS_PER_S};
  world *w = world_new(21, &lim);
  th_net *t = w->t;
  uint64_t bconn, conn = circuit_up(w, &bconn);

  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(t->h[A], conn, &ci), 0);
  assert_int_equal(ci.carried, 1);
  assert_int_equal(ci.limited, 1);
  char txt[300];
  size_t n = 0;
  assert_int_equal(
      lp2p_maddr_to_string(&ci.remote_addr, txt, sizeof txt, &n), 0);
  assert_non_null(strstr(txt, "/p2p-circuit/p2p/"));
  /* Driver calls do not apply to a carried connection. */
  assert_int_equal(lp2p_host_conn_eof(t->h[A], conn, th_now(t)),
                   LP2P_ERR_STATE);

  /* Identify ran inside (allowed on limited connections). */
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_IDENTIFY_DONE, 2,
                          5 * LP2P_NS_PER_S));
  assert_true(lp2p_host_peer_supports(t->h[A], &t->id[B], "/echo/1.0.0"));

  /* Ping: A has no other connection to B, so it runs in the circuit. */
  assert_int_equal(lp2p_host_ping(t->h[A], th_now(t), &t->id[B]), 0);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_PING_RESULT, 1,
                          5 * LP2P_NS_PER_S));
  const th_ev *pr = th_find(t, A, LP2P_HOST_EV_PING_RESULT, 0);
  assert_int_equal(pr->err, 0);
  assert_int_equal(pr->conn, conn);

  /* Echo is an application protocol: not on limited connections... */
  uint64_t sid = 0;
  assert_int_equal(lp2p_host_open_stream_on(t->h[A], th_now(t), conn,
                                            "/echo/1.0.0", &sid),
                   LP2P_ERR_LIMITED);
  /* ...until both ends allow it. */
  assert_int_equal(lp2p_host_allow_limited(t->h[A], "/echo/1.0.0", 1), 0);
  assert_int_equal(lp2p_host_allow_limited(t->h[B], "/echo/1.0.0", 1), 0);
  run_echo(w, A, conn, 10u << 20);
  assert_false(w->echo.reset);
  assert_false(w->echo.bad);
  assert_int_equal(w->echo.recvd, 10u << 20);

  /* The outer streams close: the inner connection ends, named. */
  assert_int_equal(circuit_close_all(t->h[C], th_now(t)), 1);
  dwait d = {t, conn, bconn};
  assert_true(memnet_run(t->net, both_gone, &d, 10 * LP2P_NS_PER_S));
  assert_int_equal(disconnected(t, A, conn)->err, LP2P_ERR_CARRIER_CLOSED);
  assert_int_equal(disconnected(t, B, bconn)->err, LP2P_ERR_CARRIER_CLOSED);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(circuit_splices(t->h[C]), 0);
  /* The connections to the relay are untouched. */
  assert_int_equal(lp2p_host_peer_conn_count(t->h[A], &t->id[C]), 1);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[B], &t->id[C]), 1);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[C], &st);
  assert_int_equal(st.streams, 0);
  world_free(w);
}

/* The relay's connection to B dies: the circuit's carrier streams are
 * reset and both ends learn why. */
static void test_outer_conn_dies(void **state) {
  (void)state;
  world *w = world_new(22, NULL);
  th_net *t = w->t;
  uint64_t bconn, conn = circuit_up(w, &bconn);
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(t->h[A], conn, &ci), 0);
  assert_int_equal(ci.limited, 0);
  assert_int_equal(lp2p_host_close_peer(t->h[C], th_now(t), &t->id[B]), 0);
  dwait d = {t, conn, bconn};
  assert_true(memnet_run(t->net, both_gone, &d, 10 * LP2P_NS_PER_S));
  assert_int_equal(disconnected(t, A, conn)->err, LP2P_ERR_CARRIER_CLOSED);
  assert_int_equal(disconnected(t, B, bconn)->err, LP2P_ERR_CARRIER_CLOSED);
  world_free(w);
}

/* A data budget: the echo outgrows it and the connection closes with
 * LIMIT on the side that counted it. */
static void test_data_budget(void **state) {
  (void)state;
  hsvc_carrier_limits lim = {256u << 10, 0};
  world *w = world_new(23, &lim);
  th_net *t = w->t;
  uint64_t bconn, conn = circuit_up(w, &bconn);
  assert_int_equal(lp2p_host_allow_limited(t->h[A], "/echo/1.0.0", 1), 0);
  assert_int_equal(lp2p_host_allow_limited(t->h[B], "/echo/1.0.0", 1), 0);
  run_echo(w, A, conn, 4u << 20);
  assert_true(w->echo.reset);
  dwait d = {t, conn, bconn};
  assert_true(memnet_run(t->net, both_gone, &d, 10 * LP2P_NS_PER_S));
  int ea = disconnected(t, A, conn)->err, eb = disconnected(t, B, bconn)->err;
  assert_true(ea == LP2P_ERR_LIMIT || eb == LP2P_ERR_LIMIT);
  world_free(w);
}

/* A time budget: the connection closes once it is spent. */
static void test_time_budget(void **state) {
  (void)state;
  hsvc_carrier_limits lim = {0, 30 * LP2P_NS_PER_S};
  world *w = world_new(24, &lim);
  th_net *t = w->t;
  uint64_t bconn, conn = circuit_up(w, &bconn);
  lp2p_tstamp t0 = th_now(t);
  dwait d = {t, conn, bconn};
  assert_true(memnet_run(t->net, both_gone, &d, 60 * LP2P_NS_PER_S));
  assert_true(th_now(t) >= t0 + 29 * LP2P_NS_PER_S);
  assert_int_equal(disconnected(t, A, conn)->err, LP2P_ERR_LIMIT);
  world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_and_echo_through_relay),
      cmocka_unit_test(test_outer_conn_dies),
      cmocka_unit_test(test_data_budget),
      cmocka_unit_test(test_time_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
