/* Dials to names over real loopback sockets, on the epoll and the poll
 * driver: the host's DNS service asks the test DNS server (tests/lib) over
 * its own UDP socket while lp2p_host_dial returns at once. /dns4 resolving
 * and connecting, /dnsaddr with recursion and peer-id filtering, timeout
 * then retry then success, NXDOMAIN, a spoofed answer source, the hosts
 * text first, no server configured, the host closing while resolving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "tests/lib/dns_server.h"

#define MS LP2P_NS_PER_MS

typedef struct node {
  lp2p_privkey key;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_mem_counting mem;
  lp2p_host *h;
  lp2p_driver *d;
  char id[64];
} node;

typedef struct world {
  node a, b;
  dns_udp udp;
  dns_server srv;
  dns_rec recs[8];
  char txt[3][300], port_txt[16];
  uint16_t port;
} world;

static void node_start(node *n, const lp2p_backend *be, uint64_t seed) {
  lp2p_rng_chacha_init(&n->st, seed, 0, &n->rng);
  assert_int_equal(lp2p_key_generate(&n->key, LP2P_KEY_ED25519, 0, &n->rng),
                   0);
  lp2p_mem_counting_init(&n->mem, NULL);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n->key;
  cfg.dns.timeout_ns = 150 * MS; /* keep the retry tests short */
  assert_int_equal(
      lp2p_host_new(&n->h, &cfg, &n->mem.mem, &n->rng, lp2p_clock_now()), 0);
  assert_int_equal(lp2p_driver_new(&n->d, n->h, be), 0);
  size_t il;
  assert_int_equal(
      lp2p_peerid_to_base58(lp2p_host_peer_id(n->h), n->id, sizeof n->id, &il),
      0);
}

static void node_stop(node *n) {
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
  assert_int_equal(n->mem.live_bytes, 0);
}

/* Step everything until A reports `kind` (any when 0) for `dial`. */
static lp2p_host_event wait_a(world *w, lp2p_host_event_kind kind,
                              uint64_t dial) {
  lp2p_tstamp end = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  while (lp2p_clock_now() < end) {
    lp2p_driver_step(w->a.d, 2);
    lp2p_driver_step(w->b.d, 1);
    dns_udp_service(&w->udp);
    while (lp2p_host_poll_event(w->b.h, &ev))
      ;
    while (lp2p_host_poll_event(w->a.h, &ev)) {
      int is_dial = ev.kind == LP2P_HOST_EV_DIAL_DONE ||
                    ev.kind == LP2P_HOST_EV_DIAL_FAILED;
      if ((!kind || ev.kind == kind) &&
          (!dial || (is_dial && ev.u.dial.id == dial)))
        return ev;
    }
  }
  fail_msg("timed out waiting for %s", lp2p_host_event_name(kind));
  return ev;
}

static void start(world *w, const lp2p_backend *be) {
  memset(w, 0, sizeof *w);
  node_start(&w->a, be, 1);
  node_start(&w->b, be, 2);
  const char *l = "/ip4/127.0.0.1/tcp/0";
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, l, strlen(l)), 0);
  assert_int_equal(lp2p_host_listen(w->b.h, &ma, NULL), 0);
  lp2p_driver_flush(w->b.d);
  lp2p_host_event ev;
  for (int i = 0; i < 1000; i++) {
    lp2p_driver_step(w->b.d, 5);
    if (lp2p_host_poll_event(w->b.h, &ev) && ev.kind == LP2P_HOST_EV_LISTENING)
      break;
  }
  assert_int_equal(ev.kind, LP2P_HOST_EV_LISTENING);
  lp2p_sockaddr sa;
  lp2p_maddr bound;
  assert_int_equal(
      lp2p_host_listener_addr(w->b.h, ev.u.listen.listener, &bound), 0);
  assert_int_equal(lp2p_sockaddr_from_maddr(&sa, &bound), 0);
  w->port = sa.port;
  /* the table names B at its real port, and another peer to filter out */
  snprintf(w->txt[0], sizeof w->txt[0], "dnsaddr=/dnsaddr/inner.test/p2p/%s",
           w->b.id);
  snprintf(w->txt[1], sizeof w->txt[1],
           "dnsaddr=/ip4/127.0.0.1/tcp/1/p2p/%s", w->a.id);
  snprintf(w->txt[2], sizeof w->txt[2],
           "dnsaddr=/dns4/node.test/tcp/%u/p2p/%s", w->port, w->b.id);
  const dns_rec recs[] = {
      {"node.test", LP2P_DNS_TYPE_A, "127.0.0.1"},
      {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT, w->txt[1]},
      {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT, w->txt[0]},
      {"_dnsaddr.inner.test", LP2P_DNS_TYPE_TXT, w->txt[2]},
  };
  memcpy(w->recs, recs, sizeof recs);
  w->srv.recs = w->recs;
  w->srv.nrecs = sizeof recs / sizeof recs[0];
  assert_int_equal(dns_udp_open(&w->udp, &w->srv), 0);
  assert_int_equal(lp2p_host_dns_configure(w->a.h, NULL, 0, &w->udp.addr, 1),
                   0);
}

static void stop(world *w) {
  node_stop(&w->a);
  node_stop(&w->b);
  dns_udp_close(&w->udp);
}

/* Dial `text` from A (FORCE: a new connection each time). */
static uint64_t dial(world *w, const char *text) {
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, text, strlen(text)), 0);
  uint64_t d = 0;
  lp2p_tstamp t0 = lp2p_clock_now();
  assert_int_equal(lp2p_host_dial(w->a.h, t0, &ma, LP2P_DIAL_FORCE, &d), 0);
  assert_true(lp2p_clock_now() - t0 < 50 * MS); /* never blocks */
  assert_true(d != 0);
  lp2p_driver_flush(w->a.d);
  return d;
}

static void expect_peer_b(world *w, uint64_t d) {
  lp2p_host_event ev = wait_a(w, 0, d);
  if (ev.kind != LP2P_HOST_EV_DIAL_DONE)
    fail_msg("dial failed: %s", lp2p_strerror(ev.err));
  assert_true(lp2p_peerid_equal(&ev.peer, lp2p_host_peer_id(w->b.h)));
}

static int expect_failed(world *w, uint64_t d) {
  lp2p_host_event ev = wait_a(w, 0, d);
  assert_int_equal(ev.kind, LP2P_HOST_EV_DIAL_FAILED);
  return ev.err;
}

static void run(const lp2p_backend *be) {
  world w;
  start(&w, be);
  char t[256];
  /* /dns4 resolving and connecting, with the /p2p check */
  snprintf(t, sizeof t, "/dns4/node.test/tcp/%u/p2p/%s", w.port, w.b.id);
  expect_peer_b(&w, dial(&w, t));
  /* /dnsaddr: two levels, the record for another peer filtered out */
  snprintf(t, sizeof t, "/dnsaddr/boot.test/p2p/%s", w.b.id);
  unsigned q0 = w.srv.queries;
  expect_peer_b(&w, dial(&w, t));
  assert_int_equal(w.srv.queries - q0, 3); /* TXT, TXT, A */
  /* the first query is lost: the retry after timeout_ns connects */
  w.srv.drop_first = 1;
  snprintf(t, sizeof t, "/dns4/node.test/tcp/%u/p2p/%s", w.port, w.b.id);
  lp2p_tstamp t0 = lp2p_clock_now();
  expect_peer_b(&w, dial(&w, t));
  assert_true(lp2p_clock_now() - t0 >= 150 * MS);
  /* NXDOMAIN */
  assert_int_equal(expect_failed(&w, dial(&w, "/dns4/nx.test/tcp/1")),
                   LP2P_ERR_NOT_FOUND);
  /* answers only from a port we did not ask: ignored, so a timeout */
  w.srv.wrong_port = 1;
  assert_int_equal(expect_failed(&w, dial(&w, t)), LP2P_ERR_TIMEOUT);
  w.srv.wrong_port = 0;
  /* a wrong id and garbage first: ignored, the real answer is taken */
  w.srv.wrong_id = w.srv.garbage = 1;
  expect_peer_b(&w, dial(&w, t));
  w.srv.wrong_id = w.srv.garbage = 0;
  /* the hosts text comes first: the server is not asked */
  const char *hosts = "127.0.0.1 node.test hostsonly.test\n";
  assert_int_equal(lp2p_host_dns_configure(w.a.h, hosts, strlen(hosts),
                                           &w.udp.addr, 1),
                   0);
  q0 = w.srv.queries;
  snprintf(t, sizeof t, "/dns/hostsonly.test/tcp/%u/p2p/%s", w.port, w.b.id);
  expect_peer_b(&w, dial(&w, t));
  assert_int_equal(w.srv.queries, q0);
  /* no server and no hosts entry: a named reason */
  assert_int_equal(lp2p_host_dns_configure(w.a.h, hosts, strlen(hosts),
                                           NULL, 0),
                   0);
  assert_int_equal(expect_failed(&w, dial(&w, "/dns4/nohost.test/tcp/1")),
                   LP2P_ERR_NO_RESOLVER);
  /* the host closes while a dial resolves: DIAL_FAILED (CLOSED), then the
   * host's CLOSED; the late answer finds no dial */
  assert_int_equal(lp2p_host_dns_configure(w.a.h, NULL, 0, &w.udp.addr, 1),
                   0);
  w.srv.drop_first = 1;
  uint64_t d = dial(&w, t);
  assert_int_equal(lp2p_host_close(w.a.h, lp2p_clock_now()), 0);
  assert_int_equal(expect_failed(&w, d), LP2P_ERR_CLOSED);
  wait_a(&w, LP2P_HOST_EV_CLOSED, 0);
  /* the retry would be due now: nothing more about any dial */
  lp2p_tstamp end = lp2p_clock_now() + 400 * MS;
  lp2p_host_event ev;
  while (lp2p_clock_now() < end) {
    lp2p_driver_step(w.a.d, 5);
    dns_udp_service(&w.udp);
    while (lp2p_host_poll_event(w.a.h, &ev))
      assert_true(ev.kind != LP2P_HOST_EV_DIAL_DONE &&
                  ev.kind != LP2P_HOST_EV_DIAL_FAILED);
  }
  stop(&w);
}

static void test_epoll(void **s) {
  (void)s;
  run(lp2p_backend_epoll());
}

static void test_poll(void **s) {
  (void)s;
  run(lp2p_backend_poll());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_epoll),
      cmocka_unit_test(test_poll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
