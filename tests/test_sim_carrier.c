/* Connections over a carrier in the simulator: A and B sit behind
 * symmetric NATs that drop unsolicited SYNs, so they cannot dial each
 * other; C is public. A reaches B through C with the test circuit service
 * (tests/lib/circuit_svc.c): Noise + yamux inside a spliced stream, ping
 * and a 10 MiB echo through it, the carrier closed by C and both inner
 * connections ended with LP2P_ERR_CARRIER_CLOSED, each node within its
 * memory budget, the same trace for the same seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/sim.h"
#include "tests/lib/circuit_svc.h"
#include "tests/lib/echo_app.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

enum { A = 0, B, C, N };

typedef struct world {
  lp2p_sim *s;
  uint32_t node[N];
  lp2p_privkey key[N];
  lp2p_peerid id[N];
  uint64_t inner[N];      /* carried connection per node (A, B) */
  int inner_err[N];
  int inner_gone[N];
  int identified[N];
  int pings, ping_err;
  uint64_t ping_conn;
  echo_app echo;
} world;

static int which(world *w, uint32_t node) {
  for (int i = 0; i < N; i++)
    if (w->node[i] == node)
      return i;
  return -1;
}

static void on_event(void *ud, lp2p_sim *s, uint32_t node,
                     const lp2p_host_event *ev) {
  world *w = ud;
  int i = which(w, node);
  lp2p_tstamp now = lp2p_sim_ep_clock(s, node);
  if (i == A)
    echo_app_event(&w->echo, ev, now);
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    /* B learns of its carried connection here (inbound, peer A). */
    if (i == B && ev->peer.len && ev->peer.len == w->id[A].len &&
        memcmp(ev->peer.bytes, w->id[A].bytes, ev->peer.len) == 0)
      w->inner[B] = ev->conn;
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (i >= 0 && ev->conn && ev->conn == w->inner[i]) {
      w->inner_gone[i] = 1;
      w->inner_err[i] = ev->err;
    }
    break;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    if (i >= 0)
      w->identified[i]++;
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->pings++;
    w->ping_err = ev->err;
    w->ping_conn = ev->conn;
    break;
  default:
    break;
  }
  lp2p_sim_host_kick(s, node);
}

static void maddr_of(world *w, int i, lp2p_maddr *out, int with_id) {
  char text[256], idt[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  uint32_t ip = lp2p_sim_node_ip(w->s, w->node[i]);
  int k = snprintf(text, sizeof text, "/ip4/%u.%u.%u.%u/tcp/4001", ip >> 24,
                   (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  if (with_id) {
    lp2p_peerid_to_base58(&w->id[i], idt, sizeof idt, &n);
    snprintf(text + k, sizeof text - (size_t)k, "/p2p/%s", idt);
  }
  assert_int_equal(lp2p_maddr_parse(out, text, strlen(text)), 0);
}

static lp2p_host *host(world *w, int i) {
  return lp2p_sim_host(w->s, w->node[i]);
}

static lp2p_tstamp clk(world *w, int i) {
  return lp2p_sim_ep_clock(w->s, w->node[i]);
}

static void setup(world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  assert_int_equal(lp2p_sim_new(&w->s, seed, NULL), 0);
  lp2p_sim_on_host_event(w->s, on_event, w);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 15 * MS;
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  nc.mapping = LP2P_SIM_MAP_APD;
  nc.filtering = LP2P_SIM_FILT_APD;
  nc.alloc = LP2P_SIM_PORT_RANDOM;
  for (int i = 0; i < N; i++) {
    uint32_t realm = LP2P_SIM_INTERNET;
    if (i != C)
      assert_int_equal(
          lp2p_sim_nat_add(w->s, LP2P_SIM_INTERNET, 0, &nc, &l, &l, &realm),
          0);
    assert_int_equal(
        lp2p_sim_ep_add(w->s, realm, 0, NULL, &l, &l, &w->node[i]), 0);
    assert_int_equal(lp2p_key_generate(&w->key[i], LP2P_KEY_ED25519, 0,
                                       lp2p_sim_node_rng(w->s, w->node[i])),
                     0);
    lp2p_peerid_from_pubkey(&w->id[i], &w->key[i].pub);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &w->key[i];
    assert_int_equal(lp2p_sim_host_add(w->s, w->node[i], &cfg, 8u << 20), 0);
    assert_int_equal(circuit_svc_add(host(w, i), NULL), 0);
  }
  lp2p_maddr m;
  maddr_of(w, C, &m, 0);
  assert_int_equal(lp2p_host_listen(host(w, C), &m, NULL), 0);
  lp2p_sim_host_kick(w->s, w->node[C]);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 100 * MS);
  maddr_of(w, C, &m, 1);
  for (int i = 0; i < 2; i++) {
    uint64_t d;
    assert_int_equal(lp2p_host_dial(host(w, i), clk(w, i), &m, 0, &d), 0);
    lp2p_sim_host_kick(w->s, w->node[i]);
  }
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 3 * SEC);
  assert_true(w->identified[A] >= 1 && w->identified[B] >= 1);
}

static int echo_done(void *ud) { return echo_app_done(&((world *)ud)->echo); }

static uint64_t run(uint64_t seed, int full) {
  world w;
  setup(&w, seed);
  /* No direct path: B's NAT drops A's SYNs. */
  assert_int_equal(circuit_dial(host(&w, A), clk(&w, A), &w.id[C], &w.id[B],
                                &w.inner[A]),
                   0);
  lp2p_sim_host_kick(w.s, w.node[A]);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 3 * SEC);
  assert_true(w.inner[B] != 0);
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(host(&w, A), w.inner[A], &ci), 0);
  assert_int_equal(ci.state, LP2P_CONN_OPEN);
  assert_int_equal(ci.carried, 1);

  assert_int_equal(lp2p_host_ping(host(&w, A), clk(&w, A), &w.id[B]), 0);
  lp2p_sim_host_kick(w.s, w.node[A]);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 2 * SEC);
  assert_int_equal(w.pings, 1);
  assert_int_equal(w.ping_err, 0);
  assert_int_equal(w.ping_conn, w.inner[A]);

  if (full) {
    w.echo.h = host(&w, A);
    w.echo.total = 10u << 20;
    w.echo.seed = 3;
    assert_int_equal(lp2p_host_open_stream_on(host(&w, A), clk(&w, A),
                                              w.inner[A], "/echo/1.0.0",
                                              &w.echo.id),
                     0);
    echo_app_pump(&w.echo, clk(&w, A));
    lp2p_sim_host_kick(w.s, w.node[A]);
    assert_true(lp2p_sim_run(w.s, echo_done, &w, 600 * SEC) >= 0);
    assert_true(echo_done(&w));
    assert_false(w.echo.reset);
    assert_false(w.echo.bad);
    assert_int_equal(w.echo.recvd, 10u << 20);
  }

  assert_int_equal(circuit_close_all(host(&w, C), clk(&w, C)), 1);
  lp2p_sim_host_kick(w.s, w.node[C]);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 3 * SEC);
  assert_true(w.inner_gone[A] && w.inner_gone[B]);
  assert_int_equal(w.inner_err[A], LP2P_ERR_CARRIER_CLOSED);
  assert_int_equal(w.inner_err[B], LP2P_ERR_CARRIER_CLOSED);
  assert_int_equal(circuit_splices(host(&w, C)), 0);
  assert_null(lp2p_sim_failed(w.s));
  uint64_t h = lp2p_sim_trace_hash(w.s);
  lp2p_sim_free(w.s);
  return h;
}

static void test_circuit_in_sim(void **state) {
  (void)state;
  run(77, 1);
}

static void test_circuit_deterministic(void **state) {
  (void)state;
  assert_true(run(5, 0) == run(5, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_circuit_in_sim),
      cmocka_unit_test(test_circuit_deterministic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
