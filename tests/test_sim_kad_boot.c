/* DHT bootstrap through /dnsaddr in the simulator: a sim node runs the
 * test DNS server; four DHT servers B1..B4 listen on port 4001; node A's
 * bootstrap list names them only through /dnsaddr:
 *   boot.test     -> a second /dnsaddr level (b1.boot.test) for B1, and an
 *                    entry of B2 that the /p2p filter must drop;
 *   loop.test     -> itself, for B2: the recursion bound ends it (LIMIT);
 *   many.test     -> 8 entries for B3, the good one first: the answer bound
 *                    (answers_max 3) keeps the first three, B3 joins;
 *   toomany.test  -> 8 entries for B4, the good one last: cut by the bound,
 *                    so B4 is never reached (nothing past the bound is
 *                    dialled).
 * A ends with B1 and B3 in its table, both tagged as bootstrap peers, and
 * the self-lookup that follows finds B2 and B4 through them. A second
 * node with the same list and dial on start joins by itself. The same
 * seed gives the same trace. */
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
#define NB 4
#define NREC 24

typedef struct world {
  lp2p_sim *s;
  uint32_t dns, a, b[NB];
  lp2p_host *ha;
  lp2p_peerid bid[NB];
  char bidt[NB][64], ip[NB][32];
  dns_server srv;
  dns_sim ds;
  dns_rec recs[NREC];
  char txt[NREC][200];
  size_t nrecs;
  uint64_t dials[NB];
  size_t ndials;
  int ended;
  int err[NB]; /* per dial: 1 done, else the error */
} world;

static void on_host(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev) {
  world *w = ud;
  (void)s;
  if (hid != w->a || (ev->kind != LP2P_HOST_EV_DIAL_DONE &&
                      ev->kind != LP2P_HOST_EV_DIAL_FAILED))
    return;
  for (size_t i = 0; i < w->ndials; i++)
    if (w->dials[i] == ev->u.dial.id) {
      w->err[i] = ev->kind == LP2P_HOST_EV_DIAL_DONE ? 1 : ev->err;
      w->ended++;
    }
}

static void txt(world *w, const char *name, const char *fmt, const char *ip,
                unsigned port, const char *id) {
  assert_true(w->nrecs < NREC);
  snprintf(w->txt[w->nrecs], sizeof w->txt[0], fmt, ip, port, id);
  w->recs[w->nrecs].name = name;
  w->recs[w->nrecs].type = LP2P_DNS_TYPE_TXT;
  w->recs[w->nrecs].data = w->txt[w->nrecs];
  w->nrecs++;
}

static int all_ended(void *ud) {
  world *w = ud;
  return w->ended == (int)w->ndials;
}

static lp2p_host_config server_cfg(const lp2p_privkey *k) {
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = k;
  cfg.kad.mode = LP2P_KAD_MODE_SERVER; /* sim addresses are public */
  cfg.dns.timeout_ns = 500 * MS;
  cfg.dns.answers_max = 3;
  return cfg;
}

static void scenario(world *w, uint64_t seed) {
  memset(w, 0, sizeof *w);
  assert_int_equal(lp2p_sim_new(&w->s, seed, NULL), 0);
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 10 * MS;
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->dns), 0);
  static lp2p_privkey key[NB + 1];
  const char *lt = "/ip4/0.0.0.0/tcp/4001";
  lp2p_maddr lm;
  assert_int_equal(lp2p_maddr_parse(&lm, lt, strlen(lt)), 0);
  for (int i = 0; i < NB; i++) {
    assert_int_equal(
        lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->b[i]), 0);
    assert_int_equal(lp2p_key_generate(&key[i], LP2P_KEY_ED25519, 0,
                                       lp2p_sim_node_rng(w->s, w->b[i])),
                     0);
    lp2p_host_config cfg = server_cfg(&key[i]);
    assert_int_equal(lp2p_sim_host_add(w->s, w->b[i], &cfg, 0), 0);
    lp2p_host *h = lp2p_sim_host(w->s, w->b[i]);
    assert_int_equal(lp2p_host_listen(h, &lm, NULL), 0);
    lp2p_sim_host_kick(w->s, w->b[i]);
    w->bid[i] = *lp2p_host_peer_id(h);
    size_t il;
    assert_int_equal(lp2p_peerid_to_base58(&w->bid[i], w->bidt[i],
                                           sizeof w->bidt[i], &il),
                     0);
    uint32_t ip = lp2p_sim_node_ip(w->s, w->b[i]);
    snprintf(w->ip[i], sizeof w->ip[i], "%u.%u.%u.%u", ip >> 24,
             (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  }
  /* the B servers know each other (B1 - B2, B3 - B4, B1 - B3) */
  const int links[3][2] = {{0, 1}, {2, 3}, {0, 2}};
  for (int i = 0; i < 3; i++) {
    char t[200];
    snprintf(t, sizeof t, "/ip4/%s/tcp/4001/p2p/%s", w->ip[links[i][1]],
             w->bidt[links[i][1]]);
    lp2p_maddr m;
    assert_int_equal(lp2p_maddr_parse(&m, t, strlen(t)), 0);
    lp2p_host *h = lp2p_sim_host(w->s, w->b[links[i][0]]);
    assert_int_equal(lp2p_host_dial(h, lp2p_sim_ep_clock(w->s, w->b[0]), &m,
                                    0, NULL),
                     0);
    lp2p_sim_host_kick(w->s, w->b[links[i][0]]);
  }
  /* the DNS table */
  txt(w, "_dnsaddr.boot.test", "dnsaddr=/ip4/%s/tcp/%u/p2p/%s", w->ip[1], 4001,
      w->bidt[1]);
  txt(w, "_dnsaddr.boot.test", "dnsaddr=/dnsaddr/b1.boot.test%.0s%.0u/p2p/%s",
      "", 0, w->bidt[0]);
  txt(w, "_dnsaddr.b1.boot.test", "dnsaddr=/ip4/%s/tcp/%u/p2p/%s", w->ip[0],
      4001, w->bidt[0]);
  txt(w, "_dnsaddr.loop.test", "dnsaddr=/dnsaddr/loop.test%.0s%.0u/p2p/%s", "",
      0, w->bidt[1]);
  for (unsigned i = 0; i < 8; i++)
    txt(w, "_dnsaddr.many.test", "dnsaddr=/ip4/%s/tcp/%u/p2p/%s", w->ip[2],
        i ? 5000 + i : 4001, w->bidt[2]);
  for (unsigned i = 0; i < 8; i++)
    txt(w, "_dnsaddr.toomany.test", "dnsaddr=/ip4/%s/tcp/%u/p2p/%s", w->ip[3],
        i < 7 ? 5000 + i : 4001, w->bidt[3]);
  w->srv.recs = w->recs;
  w->srv.nrecs = w->nrecs;
  assert_int_equal(dns_sim_open(&w->ds, w->s, w->dns, 53, &w->srv), 0);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 2 * SEC);
  /* A: its bootstrap list, all /dnsaddr */
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &w->a), 0);
  assert_int_equal(lp2p_key_generate(&key[NB], LP2P_KEY_ED25519, 0,
                                     lp2p_sim_node_rng(w->s, w->a)),
                   0);
  const char *names[NB] = {"boot.test", "loop.test", "many.test",
                           "toomany.test"};
  lp2p_maddr boot[NB];
  for (int i = 0; i < NB; i++) {
    char t[200];
    snprintf(t, sizeof t, "/dnsaddr/%s/p2p/%s", names[i], w->bidt[i]);
    assert_int_equal(lp2p_maddr_parse(&boot[i], t, strlen(t)), 0);
  }
  lp2p_host_config cfg = server_cfg(&key[NB]);
  cfg.kad.bootstrap = boot;
  cfg.kad.bootstrap_n = NB;
  cfg.kad.dial_on_start = 0; /* dialled below, to follow each dial */
  assert_int_equal(lp2p_sim_host_add(w->s, w->a, &cfg, 0), 0);
  w->ha = lp2p_sim_host(w->s, w->a);
  assert_int_equal(lp2p_host_dns_configure(w->ha, NULL, 0, &w->ds.addr, 1),
                   0);
  assert_int_equal(lp2p_host_listen(w->ha, &lm, NULL), 0);
  lp2p_sim_on_host_event(w->s, on_host, w);
  assert_int_equal(lp2p_host_kad_bootstrap(w->ha, lp2p_sim_ep_clock(w->s, w->a),
                                           w->dials, NB, &w->ndials),
                   0);
  assert_int_equal(w->ndials, NB);
  lp2p_sim_host_kick(w->s, w->a);
  assert_int_equal(lp2p_sim_run(w->s, all_ended, w,
                                lp2p_sim_now(w->s) + 60 * SEC),
                   1);
  assert_null(lp2p_sim_failed(w->s));
  printf("dnsaddr bootstrap: B1 %d, B2 %s, B3 %d, B4 %s; %u DNS queries\n",
         w->err[0], lp2p_strerror(w->err[1]), w->err[2],
         lp2p_strerror(w->err[3]), w->srv.queries);
  assert_int_equal(w->err[0], 1);               /* two levels, id-filtered */
  assert_int_equal(w->err[1], LP2P_ERR_LIMIT);  /* the loop */
  assert_int_equal(w->err[2], 1);               /* the first 3 of 8 */
  assert_true(w->err[3] != 1);                  /* the good one was 8th */
  /* queries: 2 (boot) + the loop's bounded chain + 1 + 1 */
  assert_true(w->srv.queries <= 4 + 16);
  /* then the self-lookup through B1 and B3 reaches everyone */
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 10 * SEC);
  for (int i = 0; i < NB; i++)
    assert_int_equal(lp2p_host_peer_protected(w->ha, &w->bid[i]),
                     LP2P_PEER_TAG_KAD_BOOTSTRAP);
  size_t n = lp2p_host_kad_table_size(w->ha);
  printf("table after the self-lookup: %zu\n", n);
  assert_int_equal(n, NB);
  /* the same list with dial on start: the service dials it from its own
   * timer (inside the host), names resolved the same way */
  uint32_t a2;
  assert_int_equal(
      lp2p_sim_ep_add(w->s, LP2P_SIM_INTERNET, 0, NULL, &l, &l, &a2), 0);
  static lp2p_privkey k2;
  assert_int_equal(
      lp2p_key_generate(&k2, LP2P_KEY_ED25519, 0, lp2p_sim_node_rng(w->s, a2)),
      0);
  cfg = server_cfg(&k2);
  cfg.kad.bootstrap = boot;
  cfg.kad.bootstrap_n = NB;
  assert_int_equal(lp2p_sim_host_add(w->s, a2, &cfg, 0), 0);
  lp2p_host *h2 = lp2p_sim_host(w->s, a2);
  assert_int_equal(lp2p_host_dns_configure(h2, NULL, 0, &w->ds.addr, 1), 0);
  lp2p_sim_host_kick(w->s, a2);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 20 * SEC);
  assert_null(lp2p_sim_failed(w->s));
  printf("dial on start: table %zu\n", lp2p_host_kad_table_size(h2));
  assert_int_equal(lp2p_host_peer_protected(h2, &w->bid[0]),
                   LP2P_PEER_TAG_KAD_BOOTSTRAP);
  assert_true(lp2p_host_kad_table_size(h2) >= NB); /* A, too, by now */
}

static void test_sim_kad_dnsaddr_bootstrap(void **st) {
  (void)st;
  world w1, w2;
  scenario(&w1, 31);
  uint64_t h1 = lp2p_sim_trace_hash(w1.s);
  lp2p_sim_free(w1.s);
  scenario(&w2, 31);
  assert_int_equal(lp2p_sim_trace_hash(w2.s), h1);
  lp2p_sim_free(w2.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sim_kad_dnsaddr_bootstrap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
