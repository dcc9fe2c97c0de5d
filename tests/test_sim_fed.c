/* Federated simulator worlds (lp2p/sim_fed.h): TCP between endpoints of
 * different worlds with the latencies of one world, the same run on any
 * number of threads, federation events before the worlds' own events of
 * their time, group blocks across worlds, and the rules (empty worlds,
 * unique addresses, no pair blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/sim_fed.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

typedef struct app {
  uint32_t node;
  uint64_t listener, conn, accepted;
  int connected, failed;
  lp2p_tstamp connected_at;
  size_t received;
  uint8_t sum; /* xor of the bytes received */
} app;

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  app *a = ud;
  (void)tag;
  if (what & LP2P_SIM_SOCK_CONNECTED) {
    a->connected++;
    a->connected_at = lp2p_sim_now(s);
  }
  if (what & LP2P_SIM_SOCK_FAILED)
    a->failed++;
  if (what & LP2P_SIM_SOCK_ACCEPT)
    lp2p_sim_tcp_accept(s, sock, &a->accepted);
  if (what & LP2P_SIM_SOCK_READABLE) {
    uint8_t buf[4096];
    lp2p_ssize n;
    while ((n = lp2p_sim_tcp_recv(s, sock, buf, sizeof buf)) > 0) {
      for (lp2p_ssize i = 0; i < n; i++)
        a->sum ^= buf[i];
      a->received += (size_t)n;
    }
  }
}

static void ep(lp2p_sim *s, lp2p_tstamp latency, app *a) {
  memset(a, 0, sizeof *a);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = latency;
  assert_int_equal(lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &l, &l,
                                   &a->node),
                   0);
  assert_int_equal(lp2p_sim_ep_on_sock(s, a->node, on_sock, a), 0);
}

static void worlds(lp2p_sim **w, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++)
    assert_int_equal(lp2p_sim_new(&w[i], seed + i, NULL), 0);
}

/* n new worlds in one federation. */
static lp2p_sim_fed *federate(lp2p_sim **w, size_t n, uint64_t seed) {
  worlds(w, n, seed);
  lp2p_sim_fed *f;
  assert_int_equal(lp2p_sim_fed_new(&f, w, n), 0);
  return f;
}

static void free_all(lp2p_sim_fed *f, lp2p_sim **w, size_t n) {
  lp2p_sim_fed_free(f);
  for (size_t i = 0; i < n; i++)
    lp2p_sim_free(w[i]);
}

/* A connect across worlds takes the round trip one world would give it:
 * SYN over B's up link and A's down link, SYN-ACK back the other way. */
static void test_fed_cross_world_tcp(void **state) {
  (void)state;
  lp2p_sim *w[2];
  lp2p_sim_fed *f = federate(w, 2, 7);
  lp2p_sim_fed_set_threads(f, 2);
  app a, b;
  ep(w[0], 7 * MS, &a);
  ep(w[1], 11 * MS, &b);
  assert_int_not_equal(lp2p_sim_node_ip(w[0], a.node),
                       lp2p_sim_node_ip(w[1], b.node));
  assert_int_equal(lp2p_sim_tcp_listen(w[0], a.node, 80, &a.listener, NULL),
                   0);
  lp2p_sockaddr to = lp2p_sim_node_sockaddr(w[0], a.node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(w[1], b.node, 0, &to, 0, &b.conn), 0);
  assert_int_equal(lp2p_sim_fed_run_until(f, SEC), 0);
  assert_int_equal(b.connected, 1);
  assert_int_equal(b.connected_at, 2 * (7 + 11) * MS);
  assert_true(a.accepted != 0);
  /* 200 KB across, every byte */
  static uint8_t data[200000];
  uint8_t sum = 0;
  for (size_t i = 0; i < sizeof data; i++)
    sum ^= data[i] = (uint8_t)(i * 31 + 7);
  size_t sent = 0;
  while (sent < sizeof data) {
    lp2p_ssize n = lp2p_sim_tcp_send(w[1], b.conn, data + sent,
                                     sizeof data - sent);
    assert_true(n >= 0);
    sent += (size_t)n;
    assert_int_equal(
        lp2p_sim_fed_run_until(f, lp2p_sim_fed_now(f) + 100 * MS), 0);
  }
  assert_int_equal(lp2p_sim_fed_run_until(f, lp2p_sim_fed_now(f) + 5 * SEC),
                   0);
  assert_int_equal(a.received, sizeof data);
  assert_int_equal(a.sum, sum);
  assert_true(lp2p_sim_fed_windows(f) > 0);
  assert_null(lp2p_sim_fed_failed(f));
  free_all(f, w, 2);
}

/* ---- the same run on any number of threads ------------------------------ */

#define MESH_WORLDS 4
#define MESH_EPS 12

typedef struct mesh {
  lp2p_sim *w[MESH_WORLDS];
  lp2p_sim_fed *f;
  app a[MESH_EPS];
} mesh;

static lp2p_sim *mesh_world(mesh *m, size_t i) { return m->w[i % MESH_WORLDS]; }

/* A federation event: every endpoint dials the one three further on (in
 * another world), with a different start per endpoint. */
static void mesh_dial(lp2p_sim_fed *f, void *ud, uint64_t i) {
  (void)f;
  mesh *m = ud;
  size_t j = (i + 3) % MESH_EPS;
  lp2p_sockaddr to = lp2p_sim_node_sockaddr(mesh_world(m, j), m->a[j].node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(mesh_world(m, i), m->a[i].node, 0,
                                        &to, 0, &m->a[i].conn),
                   0);
}

static void mesh_run(unsigned threads, uint64_t traces[MESH_WORLDS],
                     size_t received[MESH_EPS]) {
  mesh *m = calloc(1, sizeof *m);
  assert_non_null(m);
  m->f = federate(m->w, MESH_WORLDS, 99);
  lp2p_sim_fed_set_threads(m->f, threads);
  for (size_t i = 0; i < MESH_EPS; i++) {
    lp2p_sim *s = mesh_world(m, i);
    lp2p_sim_link l;
    lp2p_sim_link_default(&l);
    l.latency_ns = (3 + i % 5) * MS;
    l.jitter_ns = 2 * MS;
    l.bandwidth_bps = 20000000;
    l.loss_ppm = 20000;
    ep(s, l.latency_ns, &m->a[i]);
    assert_int_equal(lp2p_sim_link_set(s, m->a[i].node, &l, &l), 0);
    assert_int_equal(
        lp2p_sim_tcp_listen(s, m->a[i].node, 80, &m->a[i].listener, NULL), 0);
    assert_int_equal(
        lp2p_sim_fed_at(m->f, (1 + i) * MS, mesh_dial, m, (uint64_t)i), 0);
  }
  assert_int_equal(lp2p_sim_fed_run_until(m->f, SEC), 0);
  static uint8_t data[30000];
  for (size_t i = 0; i < MESH_EPS; i++) {
    assert_int_equal(m->a[i].connected, 1);
    memset(data, (int)(i + 1), sizeof data);
    assert_int_equal(
        lp2p_sim_tcp_send(mesh_world(m, i), m->a[i].conn, data, sizeof data),
        (lp2p_ssize)sizeof data);
  }
  assert_int_equal(lp2p_sim_fed_run_until(m->f, 10 * SEC), 0);
  for (size_t i = 0; i < MESH_WORLDS; i++)
    traces[i] = lp2p_sim_trace_hash(m->w[i]);
  for (size_t i = 0; i < MESH_EPS; i++)
    received[i] = m->a[i].received;
  free_all(m->f, m->w, MESH_WORLDS);
  free(m);
}

static void test_fed_threads_same_run(void **state) {
  (void)state;
  uint64_t t1[MESH_WORLDS], t3[MESH_WORLDS];
  size_t r1[MESH_EPS], r3[MESH_EPS];
  mesh_run(1, t1, r1);
  mesh_run(3, t3, r3);
  for (size_t i = 0; i < MESH_EPS; i++) {
    assert_int_equal(r1[i], 30000); /* every stream arrived whole */
    assert_int_equal(r3[i], 30000);
  }
  assert_memory_equal(t1, t3, sizeof t1);
}

/* ---- federation events -------------------------------------------------- */

typedef struct order {
  lp2p_sim *w;
  char seen[8];
  size_t n;
  lp2p_tstamp world_now;
} order;

static void world_ev(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)s;
  order *o = ud;
  o->seen[o->n++] = (char)arg;
}

static void fed_ev(lp2p_sim_fed *f, void *ud, uint64_t arg) {
  (void)f;
  order *o = ud;
  o->seen[o->n++] = (char)arg;
  o->world_now = lp2p_sim_now(o->w);
}

static void test_fed_events_first(void **state) {
  (void)state;
  lp2p_sim *w[2];
  lp2p_sim_fed *f = federate(w, 2, 1);
  order o = {.w = w[1]};
  assert_int_equal(lp2p_sim_at(w[1], 10 * MS, world_ev, &o, 'w'), 0);
  assert_int_equal(lp2p_sim_fed_at(f, 10 * MS, fed_ev, &o, 'f'), 0);
  assert_int_equal(lp2p_sim_at(w[1], 9 * MS, world_ev, &o, 'e'), 0);
  assert_int_equal(lp2p_sim_fed_run_until(f, 20 * MS), 0);
  assert_int_equal(o.n, 3);
  assert_memory_equal(o.seen, "efw", 3);
  assert_int_equal(o.world_now, 10 * MS);
  assert_int_equal(lp2p_sim_fed_now(f), 20 * MS);
  assert_int_equal(lp2p_sim_now(w[0]), 20 * MS);
  free_all(f, w, 2);
}

/* A group block in the receiving world drops packets from a sender of the
 * blocked group in another world. */
static void test_fed_group_block(void **state) {
  (void)state;
  lp2p_sim *w[2];
  lp2p_sim_fed *f = federate(w, 2, 3);
  app a, b, c;
  ep(w[0], 5 * MS, &a);
  ep(w[1], 5 * MS, &b);
  ep(w[1], 5 * MS, &c);
  assert_int_equal(lp2p_sim_node_group(w[1], b.node, 1), 0);
  assert_int_equal(lp2p_sim_node_group(w[0], a.node, 2), 0);
  assert_int_equal(lp2p_sim_group_block(w[0], 1, 2, 1), 0);
  assert_int_equal(lp2p_sim_tcp_listen(w[0], a.node, 80, &a.listener, NULL),
                   0);
  lp2p_sockaddr to = lp2p_sim_node_sockaddr(w[0], a.node, 80);
  assert_int_equal(lp2p_sim_tcp_connect(w[1], b.node, 0, &to, 0, &b.conn), 0);
  assert_int_equal(lp2p_sim_tcp_connect(w[1], c.node, 0, &to, 0, &c.conn), 0);
  assert_int_equal(lp2p_sim_fed_run_until(f, 200 * SEC), 0);
  assert_int_equal(b.connected, 0);
  assert_int_equal(b.failed, 1);
  assert_int_equal(c.connected, 1); /* group 0: not blocked */
  free_all(f, w, 2);
}

static void test_fed_rules(void **state) {
  (void)state;
  lp2p_sim *w[3];
  worlds(w, 3, 5);
  lp2p_sim_fed *f = NULL;
  assert_int_equal(lp2p_sim_fed_new(&f, w, 0), LP2P_ERR_INVAL);
  app x;
  ep(w[2], MS, &x);
  assert_int_equal(lp2p_sim_fed_new(&f, w, 3), LP2P_ERR_STATE);
  assert_null(f);
  assert_int_equal(lp2p_sim_fed_new(&f, w, 2), 0);
  lp2p_sim_fed *g;
  assert_int_equal(lp2p_sim_fed_new(&g, w + 1, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_sim_fed_size(f), 2);
  assert_ptr_equal(lp2p_sim_fed_world(f, 1), w[1]);
  assert_null(lp2p_sim_fed_world(f, 2));
  /* an address is one world's */
  uint32_t ip = LP2P_SIM_IP4(30, 0, 0, 9), n0, n1;
  assert_int_equal(
      lp2p_sim_ep_add(w[0], LP2P_SIM_INTERNET, ip, NULL, NULL, NULL, &n0), 0);
  assert_int_equal(
      lp2p_sim_ep_add(w[1], LP2P_SIM_INTERNET, ip, NULL, NULL, NULL, &n1),
      LP2P_ERR_INVAL);
  assert_int_equal(
      lp2p_sim_ep_add(w[1], LP2P_SIM_INTERNET, 0, NULL, NULL, NULL, &n1), 0);
  /* node ids are per world: pair blocks cannot name a remote sender */
  assert_int_equal(lp2p_sim_pair_block(w[1], n1, n1, 1), LP2P_ERR_STATE);
  free_all(f, w, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fed_cross_world_tcp),
      cmocka_unit_test(test_fed_threads_same_run),
      cmocka_unit_test(test_fed_events_first),
      cmocka_unit_test(test_fed_group_block),
      cmocka_unit_test(test_fed_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
