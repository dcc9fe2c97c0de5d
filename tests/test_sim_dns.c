/* Dials to names in the simulator: a sim node runs the test DNS server on
 * simulator UDP sockets, node B a listening host, node A (behind a NAT)
 * dials /dns4/b.test/tcp/4001/p2p/B and /dnsaddr/boot.test; its DNS
 * service's queries cross the NAT like any UDP. Also: a lost first query
 * (retry after the timeout), garbage and a wrong-id answer before the real
 * one, and answers from a wrong port only (a timeout). The same seed gives
 * the same trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/crypto.h"
#include "lp2p/sim.h"
#include "tests/lib/dns_server.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

typedef struct world {
  lp2p_sim *s;
  uint32_t nat, dns, b, a;
  lp2p_host *ha, *hb;
  dns_server srv;
  dns_sim ds;
  dns_rec recs[4];
  char ipb[32], txt[2][200];
  uint64_t dial;
  int done, err;
  lp2p_peerid peer;
} world;

static void on_host(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev) {
  world *w = ud;
  (void)s;
  if (hid != w->a || !w->dial ||
      (ev->kind != LP2P_HOST_EV_DIAL_DONE &&
       ev->kind != LP2P_HOST_EV_DIAL_FAILED) ||
      ev->u.dial.id != w->dial)
    return;
  if (ev->kind == LP2P_HOST_EV_DIAL_DONE) {
    w->done = 1;
    w->peer = ev->peer;
  } else if (ev->kind == LP2P_HOST_EV_DIAL_FAILED) {
    w->done = 1;
    w->err = ev->err;
  }
}

static void build(world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  assert_int_equal(lp2p_sim_new(&w->s, seed, NULL), 0);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 10 * MS;
  lp2p_sim_nat_config nc;
  lp2p_sim_nat_config_default(&nc);
  assert_int_equal(lp2p_sim_nat_add(w->s, LP2P_SIM_INTERNET, 0, &nc, &l, &l,
                                    &w->nat),
                   0);
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->dns), 0);
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->b), 0);
  assert_int_equal(lp2p_sim_ep_add(w->s, w->nat, 0, NULL, &l, &l, &w->a), 0);
  static lp2p_privkey key[2];
  uint32_t nodes[2] = {w->b, w->a};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lp2p_key_generate(&key[i], LP2P_KEY_ED25519, 0,
                                       lp2p_sim_node_rng(w->s, nodes[i])),
                     0);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &key[i];
    cfg.dns.timeout_ns = 500 * MS;
    assert_int_equal(lp2p_sim_host_add(w->s, nodes[i], &cfg, 0), 0);
  }
  w->hb = lp2p_sim_host(w->s, w->b);
  w->ha = lp2p_sim_host(w->s, w->a);
  lp2p_sim_on_host_event(w->s, on_host, w);
  /* B listens on 4001 */
  const char *lt = "/ip4/0.0.0.0/tcp/4001";
  lp2p_maddr lm;
  assert_int_equal(lp2p_maddr_parse(&lm, lt, strlen(lt)), 0);
  assert_int_equal(lp2p_host_listen(w->hb, &lm, NULL), 0);
  lp2p_sim_host_kick(w->s, w->b);
  /* the DNS table names B */
  uint32_t ip = lp2p_sim_node_ip(w->s, w->b);
  snprintf(w->ipb, sizeof w->ipb, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
           (ip >> 8) & 255, ip & 255);
  char id[64];
  size_t il;
  assert_int_equal(
      lp2p_peerid_to_base58(lp2p_host_peer_id(w->hb), id, sizeof id, &il), 0);
  snprintf(w->txt[0], sizeof w->txt[0],
           "dnsaddr=/dns4/b.test/tcp/4001/p2p/%s", id);
  const dns_rec recs[] = {
      {"b.test", LP2P_DNS_TYPE_A, w->ipb},
      {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT, w->txt[0]},
  };
  memcpy(w->recs, recs, sizeof recs);
  w->srv.recs = w->recs;
  w->srv.nrecs = 2;
  assert_int_equal(dns_sim_open(&w->ds, w->s, w->dns, 53, &w->srv), 0);
  assert_int_equal(lp2p_host_dns_configure(w->ha, NULL, 0, &w->ds.addr, 1),
                   0);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 100 * MS);
}

static int dial_done(void *ud) { return ((world *)ud)->done; }

/* Dial `text` (%s = B's id) from A and run until it ends. */
static int dial(world *w, const char *text) {
  char t[256];
  char id[64];
  size_t il;
  assert_int_equal(
      lp2p_peerid_to_base58(lp2p_host_peer_id(w->hb), id, sizeof id, &il), 0);
  snprintf(t, sizeof t, text, id);
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, t, strlen(t)), 0);
  w->done = w->err = 0;
  assert_int_equal(lp2p_host_dial(w->ha, lp2p_sim_ep_clock(w->s, w->a), &ma,
                                  LP2P_DIAL_FORCE, &w->dial),
                   0);
  lp2p_sim_host_kick(w->s, w->a);
  assert_int_equal(
      lp2p_sim_run(w->s, dial_done, w, lp2p_sim_now(w->s) + 30 * SEC), 1);
  assert_null(lp2p_sim_failed(w->s));
  if (!w->err)
    assert_true(lp2p_peerid_equal(&w->peer, lp2p_host_peer_id(w->hb)));
  return w->err;
}

static void scenario(world *w, uint64_t seed) {
  build(w, seed);
  assert_int_equal(dial(w, "/dns4/b.test/tcp/4001/p2p/%s"), 0);
  assert_int_equal(dial(w, "/dnsaddr/boot.test/p2p/%s"), 0);
  /* the first query is lost: connected after the retry */
  w->srv.drop_first = 1;
  lp2p_tstamp t0 = lp2p_sim_now(w->s);
  assert_int_equal(dial(w, "/dns4/b.test/tcp/4001/p2p/%s"), 0);
  assert_true(lp2p_sim_now(w->s) - t0 >= 500 * MS);
  /* garbage and a wrong id first: ignored */
  w->srv.garbage = w->srv.wrong_id = 1;
  assert_int_equal(dial(w, "/dns4/b.test/tcp/4001/p2p/%s"), 0);
  w->srv.garbage = w->srv.wrong_id = 0;
  /* answers from another port only: never taken */
  w->srv.wrong_port = 1;
  assert_int_equal(dial(w, "/dns4/b.test/tcp/4001/p2p/%s"), LP2P_ERR_TIMEOUT);
  w->srv.wrong_port = 0;
  assert_int_equal(dial(w, "/dns4/nx.test/tcp/4001/p2p/%s"),
                   LP2P_ERR_NOT_FOUND);
  /* every name went over the simulated network: 1 + 2 + 2 + 1 + 2 + 1 */
  assert_int_equal(w->srv.queries, 9);
}

static void test_sim_dns(void **st) {
  (void)st;
  world w1, w2;
  scenario(&w1, 21);
  uint64_t h1 = lp2p_sim_trace_hash(w1.s);
  lp2p_sim_free(w1.s);
  scenario(&w2, 21);
  assert_int_equal(lp2p_sim_trace_hash(w2.s), h1);
  lp2p_sim_free(w2.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sim_dns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
