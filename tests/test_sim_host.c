/* The sim driver (drivers/sim/host_driver.c): real lp2p_hosts on simulated
 * endpoints. Connect + ping across drifting clocks, determinism with
 * hosts, injected faults (failed dials, delayed accepts, partial writes,
 * bit flips that Noise must reject), listen errors, memory budgets and a
 * host crash with its leak check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/crypto.h"
#include "lp2p/peerid.h"
#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

typedef struct hw {
  lp2p_sim *s;
  uint32_t node[2];
  lp2p_peerid id[2];
  int connected[2], disconnected[2], dial_failed[2], listen_failed[2];
  int dial_err, ping_err, pings;
  uint64_t rtt_ns;
} hw;

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  hw *w = ud;
  (void)s;
  int i = hid == w->node[1];
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    w->connected[i]++;
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    w->disconnected[i]++;
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    w->dial_failed[i]++;
    w->dial_err = ev->err;
    break;
  case LP2P_HOST_EV_LISTEN_FAILED:
    w->listen_failed[i]++;
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->pings++;
    w->ping_err = ev->err;
    w->rtt_ns = ev->u.ping.rtt_ns;
    break;
  default:
    break;
  }
}

static int add_host(hw *w, int i, size_t budget) {
  static lp2p_privkey key;
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 10 * MS;
  lp2p_sim_ep_config ec;
  lp2p_sim_ep_config_default(&ec);
  ec.clock_offset_ns = i ? (int64_t)(5000 * SEC) : 3;
  ec.clock_drift_ppm = i ? -500 : 700;
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, &ec, &l, &l, &w->node[i]), 0);
  assert_int_equal(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0,
                                     lp2p_sim_node_rng(w->s, w->node[i])),
                   0);
  lp2p_peerid_from_pubkey(&w->id[i], &key.pub);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  return lp2p_sim_host_add(w->s, w->node[i], &cfg, budget);
}

static void maddr(hw *w, int i, uint32_t ip_override, lp2p_maddr *out,
                  int with_id) {
  char text[256], idt[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  uint32_t ip = ip_override ? ip_override : lp2p_sim_node_ip(w->s, w->node[i]);
  int k = snprintf(text, sizeof text, "/ip4/%u.%u.%u.%u/tcp/4001", ip >> 24,
                   (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  if (with_id) {
    lp2p_peerid_to_base58(&w->id[i], idt, sizeof idt, &n);
    snprintf(text + k, sizeof text - (size_t)k, "/p2p/%s", idt);
  }
  assert_int_equal(lp2p_maddr_parse(out, text, strlen(text)), 0);
}

static void setup_pair(hw *w, uint64_t seed, size_t budget) {
  memset(w, 0, sizeof *w);
  assert_int_equal(lp2p_sim_new(&w->s, seed, NULL), 0);
  lp2p_sim_on_host_event(w->s, on_event, w);
  assert_int_equal(add_host(w, 0, budget), 0);
  assert_int_equal(add_host(w, 1, budget), 0);
  lp2p_maddr l;
  maddr(w, 1, 0, &l, 0);
  assert_int_equal(lp2p_host_listen(lp2p_sim_host(w->s, w->node[1]), &l, NULL),
                   0);
  lp2p_sim_host_kick(w->s, w->node[1]);
}

static void dial(hw *w) {
  lp2p_maddr to;
  maddr(w, 1, 0, &to, 1);
  uint64_t d;
  lp2p_host *h = lp2p_sim_host(w->s, w->node[0]);
  assert_int_equal(
      lp2p_host_dial(h, lp2p_sim_ep_clock(w->s, w->node[0]), &to, 0, &d), 0);
  lp2p_sim_host_kick(w->s, w->node[0]);
}

static void test_connect_ping(void **state) {
  (void)state;
  hw w;
  setup_pair(&w, 1, 0);
  dial(&w);
  lp2p_sim_run_until(w.s, 2 * SEC);
  assert_int_equal(w.connected[0], 1);
  assert_int_equal(w.connected[1], 1);
  lp2p_host *h = lp2p_sim_host(w.s, w.node[0]);
  assert_int_equal(
      lp2p_host_ping(h, lp2p_sim_ep_clock(w.s, w.node[0]), &w.id[1]), 0);
  lp2p_sim_host_kick(w.s, w.node[0]);
  lp2p_sim_run_until(w.s, 4 * SEC);
  assert_int_equal(w.pings, 1);
  assert_int_equal(w.ping_err, 0);
  /* 4 x 10 ms of links, measured on a clock running 700 ppm fast */
  assert_true(w.rtt_ns >= 40 * MS && w.rtt_ns < 41 * MS);
  assert_null(lp2p_sim_failed(w.s));
  lp2p_sim_free(w.s);
}

static uint64_t run_trace(uint64_t seed) {
  hw w;
  setup_pair(&w, seed, 0);
  dial(&w);
  lp2p_sim_run_until(w.s, 30 * SEC); /* identify, keepalives */
  uint64_t h = lp2p_sim_trace_hash(w.s);
  lp2p_sim_free(w.s);
  return h;
}

static void test_determinism(void **state) {
  (void)state;
  assert_true(run_trace(5) == run_trace(5));
  assert_true(run_trace(5) != run_trace(6));
}

static void test_dial_fault(void **state) {
  (void)state;
  hw w;
  setup_pair(&w, 2, 0);
  lp2p_sim_faults f;
  memset(&f, 0, sizeof f);
  f.dial_fail_ppm = 1000000;
  assert_int_equal(lp2p_sim_host_set_faults(w.s, w.node[0], &f), 0);
  dial(&w);
  lp2p_sim_run_until(w.s, 2 * SEC);
  assert_int_equal(w.dial_failed[0], 1);
  assert_int_equal(w.dial_err, LP2P_ERR_IO);
  assert_int_equal(w.connected[1], 0);
  lp2p_sim_free(w.s);
}

static void test_delay_and_partial_writes(void **state) {
  (void)state;
  hw w;
  setup_pair(&w, 3, 0);
  lp2p_sim_faults f;
  memset(&f, 0, sizeof f);
  f.accept_delay_max_ns = 500 * MS;
  f.partial_write_ppm = 500000;
  lp2p_sim_host_set_faults(w.s, w.node[0], &f);
  lp2p_sim_host_set_faults(w.s, w.node[1], &f);
  dial(&w);
  lp2p_sim_run_until(w.s, 3 * SEC);
  assert_int_equal(w.connected[0], 1);
  assert_int_equal(w.connected[1], 1);
  lp2p_host *h = lp2p_sim_host(w.s, w.node[0]);
  assert_int_equal(lp2p_host_perf(h, lp2p_sim_ep_clock(w.s, w.node[0]),
                                  &w.id[1], 1 << 20, 1 << 20),
                   0);
  lp2p_sim_host_kick(w.s, w.node[0]);
  lp2p_sim_run_until(w.s, 30 * SEC);
  assert_int_equal(w.disconnected[0], 0);
  assert_null(lp2p_sim_failed(w.s));
  lp2p_sim_free(w.s);
}

static void test_corruption_rejected(void **state) {
  (void)state;
  hw w;
  setup_pair(&w, 4, 0);
  dial(&w);
  lp2p_sim_run_until(w.s, 2 * SEC);
  assert_int_equal(w.connected[1], 1);
  /* from now on every chunk fed to host 1 has one bit flipped: Noise must
   * reject it and the connection dies, without a crash or a spin */
  lp2p_sim_faults f;
  memset(&f, 0, sizeof f);
  f.corrupt_ppm = 1000000;
  lp2p_sim_host_set_faults(w.s, w.node[1], &f);
  lp2p_host *h = lp2p_sim_host(w.s, w.node[0]);
  lp2p_host_ping(h, lp2p_sim_ep_clock(w.s, w.node[0]), &w.id[1]);
  lp2p_sim_host_kick(w.s, w.node[0]);
  lp2p_sim_run_until(w.s, 60 * SEC);
  assert_int_equal(w.disconnected[1], 1);
  assert_int_equal(w.disconnected[0], 1);
  assert_true(w.pings == 0 || w.ping_err != 0);
  assert_null(lp2p_sim_failed(w.s));
  lp2p_sim_free(w.s);
}

static void test_listen_elsewhere_fails(void **state) {
  (void)state;
  hw w;
  setup_pair(&w, 5, 0);
  lp2p_maddr l;
  maddr(&w, 0, LP2P_SIM_IP4(1, 2, 3, 4), &l, 0);
  assert_int_equal(lp2p_host_listen(lp2p_sim_host(w.s, w.node[0]), &l, NULL),
                   0);
  lp2p_sim_host_kick(w.s, w.node[0]);
  lp2p_sim_run_until(w.s, SEC);
  assert_int_equal(w.listen_failed[0], 1);
  assert_int_equal(w.listen_failed[1], 0);
  lp2p_sim_free(w.s);
}

static void test_budget_and_crash(void **state) {
  (void)state;
  hw w;
  /* a budget too small for a connection: it fails cleanly */
  setup_pair(&w, 6, 0);
  lp2p_mem_counting *m0 = lp2p_sim_host_mem(w.s, w.node[0]);
  m0->limit_bytes = m0->live_bytes + 2048;
  dial(&w);
  lp2p_sim_run_until(w.s, 20 * SEC);
  assert_int_equal(w.connected[0], 0);
  assert_true(m0->peak_bytes <= m0->limit_bytes);
  assert_true(m0->failed_allocs > 0);
  assert_null(lp2p_sim_failed(w.s));
  /* with room again the same host connects */
  m0->limit_bytes = 0;
  dial(&w);
  lp2p_sim_run_until(w.s, 40 * SEC);
  assert_int_equal(w.connected[0], 1);
  /* crash host 1: its sockets are aborted, the peer notices, and the
   * crashed host leaves nothing allocated */
  lp2p_mem_counting *m1 = lp2p_sim_host_mem(w.s, w.node[1]);
  assert_int_equal(lp2p_sim_host_remove(w.s, w.node[1]), 0);
  assert_null(lp2p_sim_host(w.s, w.node[1]));
  assert_int_equal(m1->live_bytes, 0);
  assert_int_equal(m1->live_allocs, 0);
  assert_int_equal(lp2p_sim_host_remove(w.s, w.node[1]), LP2P_ERR_NOT_FOUND);
  lp2p_sim_run_until(w.s, 45 * SEC);
  assert_int_equal(w.disconnected[0], 1);
  lp2p_sim_free(w.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_ping),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_dial_fault),
      cmocka_unit_test(test_delay_and_partial_writes),
      cmocka_unit_test(test_corruption_rejected),
      cmocka_unit_test(test_listen_elsewhere_fails),
      cmocka_unit_test(test_budget_and_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
