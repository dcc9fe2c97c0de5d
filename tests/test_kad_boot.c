/* The DHT's bootstrap list and address filter (proto/kad/kad_boot.c): the
 * built-in public list parses and names a peer in every entry; the filter
 * modes public, private, all and custom; an injected is-public predicate
 * (the tools' LP2P_PUBLIC_CIDRS) turns a lab range public. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/autonat.h"
#include "lp2p/kad.h"

static lp2p_maddr ma(const char *t) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, t, strlen(t)), 0);
  return m;
}

static void test_default_list(void **st) {
  (void)st;
  const char *const *list = NULL;
  size_t n = lp2p_kad_default_bootstrap(&list);
  assert_non_null(list);
  assert_true(n >= 5 && n <= LP2P_KAD_BOOTSTRAP_MAX);
  lp2p_maddr m[LP2P_KAD_BOOTSTRAP_MAX];
  assert_int_equal(lp2p_kad_default_bootstrap_parse(m, 2), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_kad_default_bootstrap_parse(m, LP2P_KAD_BOOTSTRAP_MAX),
                   (int)n);
  size_t dnsaddr = 0, literal = 0;
  for (size_t i = 0; i < n; i++) {
    /* every entry names its peer, and the text round-trips */
    const uint8_t *id;
    size_t idn;
    lp2p_peerid p;
    assert_int_equal(lp2p_maddr_get_peer_id(&m[i], &id, &idn), 0);
    assert_int_equal(lp2p_peerid_from_bytes(&p, id, idn), 0);
    char back[600];
    size_t bl = 0;
    assert_int_equal(lp2p_maddr_to_string(&m[i], back, sizeof back, &bl), 0);
    assert_int_equal(bl, strlen(list[i]));
    assert_memory_equal(back, list[i], bl);
    if (!strncmp(list[i], "/dnsaddr/", 9)) {
      dnsaddr++;
      assert_non_null(strstr(list[i], "bootstrap.libp2p.io/p2p/"));
    } else {
      literal++;
      assert_true(!strncmp(list[i], "/ip4/", 5) ||
                  !strncmp(list[i], "/ip6/", 5));
      assert_non_null(strstr(list[i], "/tcp/"));
    }
    for (size_t j = 0; j < i; j++) /* no entry twice */
      assert_false(lp2p_maddr_equal(&m[i], &m[j]));
  }
  assert_true(dnsaddr >= 4);
  assert_true(literal >= 1);
}

static int only_port_4001(void *ud, const lp2p_maddr *m) {
  (*(int *)ud)++;
  const uint8_t *v;
  size_t n;
  return lp2p_maddr_find(m, LP2P_MA_TCP, &v, &n) == 0 && n == 2 &&
         v[0] == 0x0f && v[1] == 0xa1;
}

static void test_filter(void **st) {
  (void)st;
  lp2p_kad_config c;
  lp2p_kad_config_default(&c);
  assert_int_equal(c.addr_filter, LP2P_KAD_ADDRS_PUBLIC);
  const lp2p_maddr pub4 = ma("/ip4/8.8.8.8/tcp/4001"),
                   pub6 = ma("/ip6/2606:4700::1/tcp/4001"),
                   loop4 = ma("/ip4/127.0.0.1/tcp/4001"),
                   loop6 = ma("/ip6/::1/tcp/4001"),
                   lan = ma("/ip4/192.168.1.7/tcp/5"),
                   lab = ma("/ip4/198.18.0.5/tcp/4001"),
                   name = ma("/dns4/example.com/tcp/4001");
  /* public (the default): only globally routable IPs; names pass */
  assert_true(lp2p_kad_addr_allowed(&c, &pub4));
  assert_true(lp2p_kad_addr_allowed(&c, &pub6));
  assert_false(lp2p_kad_addr_allowed(&c, &loop4));
  assert_false(lp2p_kad_addr_allowed(&c, &loop6));
  assert_false(lp2p_kad_addr_allowed(&c, &lan));
  assert_false(lp2p_kad_addr_allowed(&c, &lab));
  assert_true(lp2p_kad_addr_allowed(&c, &name));
  /* private: the complement for IPs */
  c.addr_filter = LP2P_KAD_ADDRS_PRIVATE;
  assert_false(lp2p_kad_addr_allowed(&c, &pub4));
  assert_true(lp2p_kad_addr_allowed(&c, &loop4));
  assert_true(lp2p_kad_addr_allowed(&c, &lan));
  /* all */
  c.addr_filter = LP2P_KAD_ADDRS_ALL;
  assert_true(lp2p_kad_addr_allowed(&c, &loop6));
  assert_true(lp2p_kad_addr_allowed(&c, &lab));
  /* an injected predicate: the lab range counts as public, as the tools
   * do with LP2P_PUBLIC_CIDRS */
  lp2p_autonat_cidrs cidrs;
  assert_int_equal(lp2p_autonat_cidrs_parse(&cidrs, "198.18.0.0/15"), 0);
  c.addr_filter = LP2P_KAD_ADDRS_PUBLIC;
  c.is_public = lp2p_autonat_cidrs_public;
  c.is_public_ud = &cidrs;
  assert_true(lp2p_kad_addr_allowed(&c, &lab));
  assert_true(lp2p_kad_addr_allowed(&c, &pub4));
  assert_false(lp2p_kad_addr_allowed(&c, &lan));
  c.addr_filter = LP2P_KAD_ADDRS_PRIVATE;
  assert_false(lp2p_kad_addr_allowed(&c, &lab));
  /* custom: the function decides, for every address */
  int calls = 0;
  c.addr_filter = LP2P_KAD_ADDRS_CUSTOM;
  c.addr_filter_fn = only_port_4001;
  c.addr_filter_ud = &calls;
  assert_true(lp2p_kad_addr_allowed(&c, &loop4));
  assert_false(lp2p_kad_addr_allowed(&c, &lan));
  assert_int_equal(calls, 2);
  c.addr_filter_fn = NULL; /* custom without a function keeps nothing */
  assert_false(lp2p_kad_addr_allowed(&c, &pub4));
  c.addr_filter = 9;
  assert_false(lp2p_kad_addr_allowed(&c, &pub4));
  assert_false(lp2p_kad_addr_allowed(NULL, &pub4));
}

static void test_filter_names(void **st) {
  (void)st;
  assert_int_equal(lp2p_kad_addr_filter_parse("public"), LP2P_KAD_ADDRS_PUBLIC);
  assert_int_equal(lp2p_kad_addr_filter_parse("private"),
                   LP2P_KAD_ADDRS_PRIVATE);
  assert_int_equal(lp2p_kad_addr_filter_parse("all"), LP2P_KAD_ADDRS_ALL);
  assert_int_equal(lp2p_kad_addr_filter_parse("custom"), LP2P_KAD_ADDRS_CUSTOM);
  assert_int_equal(lp2p_kad_addr_filter_parse("Public"), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_kad_addr_filter_parse(""), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_kad_addr_filter_parse(NULL), LP2P_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_list),
      cmocka_unit_test(test_filter),
      cmocka_unit_test(test_filter_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
