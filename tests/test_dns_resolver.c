/* The resolver engine alone (lp2p_dns_res_*), against the test DNS server's
 * reply builder, in virtual time: /dns4, /dns6, /dns, /dnsaddr with
 * recursion and peer-id filtering, the recursion bound, CNAME chains (in
 * one answer and across queries, bounded), NXDOMAIN, timeout then retry
 * then success, timeouts, spoofed answers (wrong id, wrong source port,
 * wrong question, garbage) ignored, too many answers bounded, the hosts
 * text first, no server, resolv.conf parsing, cancel, lookups_max. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/dns.h"
#include "lp2p/multiaddr.h"
#include "tests/lib/dns_server.h"

#define ID1 "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"
#define ID2 "QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa"
#define SEC LP2P_NS_PER_S

static const dns_rec table[] = {
    {"a.test", LP2P_DNS_TYPE_A, "10.1.2.3"},
    {"a.test", LP2P_DNS_TYPE_AAAA, "::1"},
    {"v4only.test", LP2P_DNS_TYPE_A, "10.0.0.4"},
    {"alias.test", LP2P_DNS_TYPE_CNAME, "a.test"},
    {"chain0.test", LP2P_DNS_TYPE_CNAME, "chain1.test"},
    {"chain1.test", LP2P_DNS_TYPE_CNAME, "chain2.test"},
    {"chain2.test", LP2P_DNS_TYPE_CNAME, "chain3.test"},
    {"chain3.test", LP2P_DNS_TYPE_CNAME, "chain4.test"},
    {"chain4.test", LP2P_DNS_TYPE_CNAME, "chain5.test"},
    {"chain5.test", LP2P_DNS_TYPE_CNAME, "chain6.test"},
    {"chain6.test", LP2P_DNS_TYPE_CNAME, "chain7.test"},
    {"chain7.test", LP2P_DNS_TYPE_CNAME, "chain8.test"},
    {"chain8.test", LP2P_DNS_TYPE_CNAME, "chain9.test"},
    {"chain9.test", LP2P_DNS_TYPE_A, "10.9.9.9"},
    {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT,
     "dnsaddr=/dnsaddr/inner.test/p2p/" ID1},
    {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT,
     "dnsaddr=/ip4/1.2.3.4/tcp/4001/p2p/" ID2},
    {"_dnsaddr.boot.test", LP2P_DNS_TYPE_TXT, "not-a-dnsaddr"},
    {"_dnsaddr.inner.test", LP2P_DNS_TYPE_TXT,
     "dnsaddr=/dns4/a.test/tcp/4001/p2p/" ID1},
    {"_dnsaddr.loop.test", LP2P_DNS_TYPE_TXT, "dnsaddr=/dnsaddr/loop.test"},
};

typedef struct rig {
  lp2p_dns_res *r;
  lp2p_rng_chacha rc;
  lp2p_rng rng;
  dns_server srv;
  lp2p_sockaddr ns, ns2;
  lp2p_tstamp now;
  int spoof_question; /* rewrite the question of every answer */
} rig;

static void rig_init(rig *g, const lp2p_dns_config *cfg, int servers) {
  memset(g, 0, sizeof *g);
  lp2p_rng_chacha_init(&g->rc, 7, 1, &g->rng);
  assert_int_equal(lp2p_dns_res_new(&g->r, cfg, NULL, &g->rng), 0);
  g->srv.recs = table;
  g->srv.nrecs = sizeof table / sizeof table[0];
  g->ns.family = 4;
  g->ns.ip[0] = 192;
  g->ns.ip[1] = 0;
  g->ns.ip[2] = 2;
  g->ns.ip[3] = 53;
  g->ns.port = 53;
  g->ns2 = g->ns;
  g->ns2.port = 54; /* the test server's "other socket" */
  g->now = 1000;
  assert_int_equal(lp2p_dns_res_configure(g->r, NULL, 0, &g->ns,
                                          (size_t)servers),
                   0);
}

/* Run the lookup `text` to completion; results as text. Returns its err. */
static int run(rig *g, const char *text, char out[][256], size_t *n) {
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, text, strlen(text)), 0);
  assert_int_equal(lp2p_dns_res_resolve(g->r, g->now, 42, &ma), 0);
  for (int iter = 0; iter < 1000; iter++) {
    uint64_t tag;
    int err;
    const lp2p_maddr *res;
    if (lp2p_dns_res_poll_done(g->r, &tag, &err, &res, n) == 1) {
      assert_int_equal(tag, 42);
      for (size_t i = 0; i < *n; i++) {
        size_t l;
        assert_int_equal(lp2p_maddr_to_string(&res[i], out[i], 256, &l), 0);
      }
      return err;
    }
    lp2p_sockaddr to;
    size_t len;
    const uint8_t *p =
        lp2p_dns_res_out_peek(g->r, LP2P_DNS_FAM4 | LP2P_DNS_FAM6, &to, &len);
    if (p) {
      uint8_t q[512];
      memcpy(q, p, len);
      lp2p_dns_res_out_consume(g->r);
      dns_reply rep[3];
      size_t k = dns_server_reply(&g->srv, q, len, rep);
      for (size_t i = 0; i < k; i++) {
        if (g->spoof_question && rep[i].len > 13)
          rep[i].buf[13] ^= 0x01; /* another (same-length) name */
        lp2p_dns_res_feed(g->r, g->now, rep[i].other_port ? &g->ns2 : &to,
                          rep[i].buf, rep[i].len);
      }
      continue;
    }
    lp2p_tstamp t = lp2p_dns_res_next_timeout(g->r);
    assert_true(t != LP2P_TSTAMP_NONE);
    if (t > g->now)
      g->now = t;
    lp2p_dns_res_handle_timeout(g->r, g->now);
  }
  fail_msg("lookup never finished");
  return 0;
}

static void test_dns4_dns6_dns(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  char o[16][256];
  size_t n;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/80", o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/80");
  assert_int_equal(run(&g, "/dns6/a.test/tcp/80/p2p/" ID1, o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip6/::1/tcp/80/p2p/" ID1);
  assert_int_equal(run(&g, "/dns/a.test/udp/9", o, &n), 0);
  assert_int_equal(n, 2);
  /* /dns on a name with only an A record: the AAAA miss does not matter */
  assert_int_equal(run(&g, "/dns/v4only.test/tcp/1", o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.0.0.4/tcp/1");
  /* non-DNS addresses pass through */
  assert_int_equal(run(&g, "/ip4/1.1.1.1/tcp/1", o, &n), 0);
  assert_string_equal(o[0], "/ip4/1.1.1.1/tcp/1");
  lp2p_dns_res_free(g.r);
}

static void test_dnsaddr(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  char o[16][256];
  size_t n;
  assert_int_equal(run(&g, "/dnsaddr/boot.test", o, &n), 0);
  assert_int_equal(n, 2);
  int seen1 = 0, seen2 = 0;
  for (size_t i = 0; i < n; i++) {
    seen1 |= !strcmp(o[i], "/ip4/10.1.2.3/tcp/4001/p2p/" ID1);
    seen2 |= !strcmp(o[i], "/ip4/1.2.3.4/tcp/4001/p2p/" ID2);
  }
  assert_true(seen1 && seen2);
  /* a trailing /p2p keeps only that peer's records */
  assert_int_equal(run(&g, "/dnsaddr/boot.test/p2p/" ID2, o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/1.2.3.4/tcp/4001/p2p/" ID2);
  assert_int_equal(run(&g, "/dnsaddr/boot.test/p2p/" ID1, o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/4001/p2p/" ID1);
  /* the recursion bound (4 levels, as the blocking resolver had) */
  unsigned before = g.srv.queries;
  assert_int_equal(run(&g, "/dnsaddr/loop.test", o, &n), LP2P_ERR_LIMIT);
  assert_int_equal(g.srv.queries - before, LP2P_DNSADDR_DEPTH_MAX);
  lp2p_dns_res_free(g.r);
}

static void test_cname(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  char o[16][256];
  size_t n;
  assert_int_equal(run(&g, "/dns4/alias.test/tcp/5", o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/5");
  /* nine hops is past LP2P_DNS_CNAME_MAX */
  assert_int_equal(run(&g, "/dns4/chain0.test/tcp/5", o, &n), LP2P_ERR_LIMIT);
  /* from chain2 it is seven hops: followed */
  assert_int_equal(run(&g, "/dns4/chain2.test/tcp/5", o, &n), 0);
  assert_string_equal(o[0], "/ip4/10.9.9.9/tcp/5");
  lp2p_dns_res_free(g.r);
}

static void test_failures(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  char o[16][256];
  size_t n;
  assert_int_equal(run(&g, "/dns4/nx.test/tcp/1", o, &n), LP2P_ERR_NOT_FOUND);
  /* a TXT record without "dnsaddr=" is no address */
  assert_int_equal(run(&g, "/dns4/boot.test/tcp/1", o, &n),
                   LP2P_ERR_NOT_FOUND);
  lp2p_dns_res_free(g.r);
  /* no server and no hosts entry */
  rig_init(&g, NULL, 0);
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n),
                   LP2P_ERR_NO_RESOLVER);
  lp2p_dns_res_free(g.r);
}

static void test_timeout_retry(void **s) {
  (void)s;
  lp2p_dns_config cfg;
  lp2p_dns_config_default(&cfg);
  rig g;
  rig_init(&g, &cfg, 1);
  char o[16][256];
  size_t n;
  /* the first query is lost: the retry after timeout_ns succeeds */
  g.srv.drop_first = 1;
  lp2p_tstamp t0 = g.now;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), 0);
  assert_int_equal(n, 1);
  assert_true(g.now - t0 >= cfg.timeout_ns);
  assert_int_equal(g.srv.queries, 2);
  /* both lost: TIMEOUT after 1 + retries attempts */
  g.srv.drop_first = 2;
  g.srv.queries = 0;
  t0 = g.now;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), LP2P_ERR_TIMEOUT);
  assert_int_equal(g.srv.queries, 2);
  assert_true(g.now - t0 >= 2 * cfg.timeout_ns);
  lp2p_dns_res_free(g.r);
}

static void test_spoofing(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  char o[16][256];
  size_t n;
  lp2p_dns_res_stats st;
  /* garbage and a wrong id before the real answer: ignored, then success */
  g.srv.garbage = 1;
  g.srv.wrong_id = 1;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), 0);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/1");
  lp2p_dns_res_stats_get(g.r, &st);
  assert_int_equal(st.ignored, 2);
  /* the answer only ever comes from the wrong port: never accepted */
  g.srv.garbage = g.srv.wrong_id = 0;
  g.srv.wrong_port = 1;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), LP2P_ERR_TIMEOUT);
  lp2p_dns_res_stats_get(g.r, &st);
  assert_int_equal(st.ignored, 4); /* one per attempt */
  /* right id and source, wrong question: ignored */
  g.srv.wrong_port = 0;
  g.spoof_question = 1;
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), LP2P_ERR_TIMEOUT);
  lp2p_dns_res_free(g.r);
}

static void test_bounds(void **s) {
  (void)s;
  lp2p_dns_config cfg;
  lp2p_dns_config_default(&cfg);
  cfg.answers_max = 4;
  cfg.lookups_max = 2;
  rig g;
  rig_init(&g, &cfg, 1);
  char o[16][256];
  size_t n;
  g.srv.flood = 60; /* as many A records as fit in one message */
  assert_int_equal(run(&g, "/dns4/a.test/tcp/1", o, &n), 0);
  assert_int_equal(n, 4);
  lp2p_dns_res_stats st;
  lp2p_dns_res_stats_get(g.r, &st);
  assert_true(st.answers_dropped > 40); /* 1232 bytes hold ~54 */
  /* lookups_max, cancel, tags */
  lp2p_maddr ma;
  const char *t = "/dns4/a.test/tcp/1";
  assert_int_equal(lp2p_maddr_parse(&ma, t, strlen(t)), 0);
  assert_int_equal(lp2p_dns_res_resolve(g.r, g.now, 1, &ma), 0);
  assert_int_equal(lp2p_dns_res_resolve(g.r, g.now, 1, &ma), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dns_res_resolve(g.r, g.now, 2, &ma), 0);
  assert_int_equal(lp2p_dns_res_resolve(g.r, g.now, 3, &ma), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_dns_res_cancel(g.r, 1), 0);
  assert_int_equal(lp2p_dns_res_cancel(g.r, 1), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_dns_res_resolve(g.r, g.now, 3, &ma), 0);
  lp2p_dns_res_free(g.r); /* with lookups in flight */
}

static void test_hosts_first(void **s) {
  (void)s;
  rig g;
  rig_init(&g, NULL, 1);
  const char *hosts = "# comment\n127.0.0.1\tlocalhost\n"
                      "10.7.7.7 a.test other # shadows DNS\n"
                      "fe80::1%eth0 zoned.test\n::1 six.test\n";
  assert_int_equal(
      lp2p_dns_res_configure(g.r, hosts, strlen(hosts), &g.ns, 1), 0);
  char o[16][256];
  size_t n;
  assert_int_equal(run(&g, "/dns4/A.TEST./tcp/1", o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.7.7.7/tcp/1");
  assert_int_equal(g.srv.queries, 0); /* the server was never asked */
  assert_int_equal(run(&g, "/dns/six.test/tcp/2", o, &n), 0);
  assert_string_equal(o[0], "/ip6/::1/tcp/2");
  assert_int_equal(g.srv.queries, 0);
  /* the hosts text is cut at a line end by hosts_bytes_max */
  lp2p_dns_res_free(g.r);
  lp2p_dns_config cfg;
  lp2p_dns_config_default(&cfg);
  cfg.hosts_bytes_max = 30;
  rig_init(&g, &cfg, 0);
  assert_int_equal(
      lp2p_dns_res_configure(g.r, hosts, strlen(hosts), NULL, 0), 0);
  assert_int_equal(run(&g, "/dns4/other/tcp/1", o, &n), LP2P_ERR_NO_RESOLVER);
  /* localhost without a hosts entry: RFC 6761 loopback */
  assert_int_equal(lp2p_dns_res_configure(g.r, NULL, 0, NULL, 0), 0);
  assert_int_equal(run(&g, "/dns6/localhost/tcp/3", o, &n), 0);
  assert_string_equal(o[0], "/ip6/::1/tcp/3");
  lp2p_dns_res_free(g.r);
}

static void test_resolv_conf(void **s) {
  (void)s;
  const char *t = "# x\nsearch example\nnameserver 192.0.2.1\n"
                  "nameserver ::1 5353 ; test port\nnameserver bogus\n"
                  "nameserver 192.0.2.9 99999\n options ndots:1\n"
                  "nameserver 10.0.0.1\nnameserver 10.0.0.2";
  lp2p_sockaddr sv[8];
  size_t n;
  assert_int_equal(lp2p_dns_resolv_conf_parse(t, strlen(t), sv, 8, &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(sv[0].family, 4);
  assert_int_equal(sv[0].port, 53);
  assert_int_equal(sv[0].ip[3], 1);
  assert_int_equal(sv[1].family, 6);
  assert_int_equal(sv[1].port, 5353);
  assert_int_equal(sv[3].ip[3], 2); /* last line without a newline */
  assert_int_equal(lp2p_dns_resolv_conf_parse(t, strlen(t), sv, 1, &n), 0);
  assert_int_equal(n, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns4_dns6_dns), cmocka_unit_test(test_dnsaddr),
      cmocka_unit_test(test_cname),         cmocka_unit_test(test_failures),
      cmocka_unit_test(test_timeout_retry), cmocka_unit_test(test_spoofing),
      cmocka_unit_test(test_bounds),        cmocka_unit_test(test_hosts_first),
      cmocka_unit_test(test_resolv_conf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
