/* DNS codec: queries byte-exact, responses with compression, hostile
 * pointers, truncation, TXT joining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/dns.h"

static const uint8_t q_example_a[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',
    0,    0x00, 0x01, 0x00, 0x01};

static void test_query(void **s) {
  (void)s;
  uint8_t b[512];
  size_t n;
  assert_int_equal(lp2p_dns_query_encode(0x1234, "example.com.", 12, 1, b, sizeof b, &n), 0);
  assert_int_equal(n, sizeof q_example_a);
  assert_memory_equal(b, q_example_a, n);
  assert_int_equal(lp2p_dns_query_encode(1, "a..b", 4, 1, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dns_query_encode(1, "", 0, 1, b, sizeof b, &n), LP2P_ERR_INVAL);
  char lab[70];
  memset(lab, 'a', 64);
  assert_int_equal(lp2p_dns_query_encode(1, lab, 64, 1, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dns_query_encode(1, "example.com", 11, 1, b, 10, &n), LP2P_ERR_NOSPACE);
}

/* response to the query above: one A 93.184.216.34 with a pointer name,
 * one CNAME, one TXT of two strings */
static size_t build_resp(uint8_t *m) {
  memcpy(m, q_example_a, sizeof q_example_a);
  m[2] = 0x81; m[3] = 0x80; /* QR RD RA */
  m[7] = 3;                 /* ANCOUNT */
  size_t o = sizeof q_example_a;
  const uint8_t a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34};
  memcpy(m + o, a, sizeof a); o += sizeof a;
  const uint8_t cn[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12};
  memcpy(m + o, cn, sizeof cn); o += sizeof cn;
  const uint8_t txt[] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 9, 3, 'a', 'b', 'c', 4, 'd', 'e', 'f', 'g'};
  memcpy(m + o, txt, sizeof txt); o += sizeof txt;
  return o;
}

static void test_response(void **s) {
  (void)s;
  uint8_t m[512];
  size_t n = build_resp(m);
  lp2p_dns_resp r;
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, "EXAMPLE.com", 11, 1), 0);
  assert_int_equal(r.id, 0x1234);
  assert_int_equal(r.rcode, 0);
  lp2p_dns_rr rr;
  assert_int_equal(lp2p_dns_resp_next(&r, &rr), 1);
  assert_int_equal(rr.type, LP2P_DNS_TYPE_A);
  assert_int_equal(rr.ttl, 3600);
  const uint8_t ip[] = {93, 184, 216, 34};
  assert_memory_equal(rr.data, ip, 4);
  assert_int_equal(lp2p_dns_resp_next(&r, &rr), 1);
  assert_int_equal(rr.type, LP2P_DNS_TYPE_CNAME);
  char name[256];
  size_t nl;
  assert_int_equal(lp2p_dns_name_decode(m, n, (size_t)(rr.data - m), name, sizeof name, &nl), 0);
  assert_int_equal(nl, 15);
  assert_memory_equal(name, "www.example.com", 15);
  assert_int_equal(lp2p_dns_resp_next(&r, &rr), 1);
  char txt[32];
  assert_int_equal(lp2p_dns_txt_join(&rr, txt, sizeof txt, &nl), 0);
  assert_int_equal(nl, 7);
  assert_memory_equal(txt, "abcdefg", 7);
  assert_int_equal(lp2p_dns_txt_join(&rr, txt, 3, &nl), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_dns_resp_next(&r, &rr), 0);
  /* wrong question name or type */
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, "example.org", 11, 1), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, "example.com", 11, 28), LP2P_ERR_PARSE);
  /* truncated at every length: never reads past the end, errors cleanly */
  for (size_t k = 0; k < n; k++) {
    int rc = lp2p_dns_resp_parse(&r, m, k, NULL, 0, 0);
    if (rc == 0)
      while ((rc = lp2p_dns_resp_next(&r, &rr)) == 1)
        ;
    assert_true(rc < 0);
  }
}

static void test_hostile(void **s) {
  (void)s;
  uint8_t m[512];
  size_t n = build_resp(m);
  lp2p_dns_resp r;
  char name[256];
  size_t nl;
  /* a pointer to itself must not loop */
  uint8_t loop[] = {0, 0, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12};
  assert_int_equal(lp2p_dns_name_decode(loop, sizeof loop, 12, name, sizeof name, &nl), LP2P_ERR_PARSE);
  /* forward pointer rejected */
  uint8_t fwd[] = {0, 0, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 14, 1, 'a', 0};
  assert_int_equal(lp2p_dns_name_decode(fwd, sizeof fwd, 12, name, sizeof name, &nl), LP2P_ERR_PARSE);
  /* TC bit, non-response, oversized */
  m[2] |= 0x02;
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, NULL, 0, 0), LP2P_ERR_TRUNCATED);
  m[2] = 0x01;
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, NULL, 0, 0), LP2P_ERR_PARSE);
  static uint8_t big[LP2P_DNS_MSG_MAX + 1];
  assert_int_equal(lp2p_dns_resp_parse(&r, big, sizeof big, NULL, 0, 0), LP2P_ERR_LIMIT);
  /* A record with the wrong length */
  n = build_resp(m);
  m[sizeof q_example_a + 11] = 5;
  lp2p_dns_rr rr;
  assert_int_equal(lp2p_dns_resp_parse(&r, m, n, NULL, 0, 0), 0);
  assert_int_equal(lp2p_dns_resp_next(&r, &rr), LP2P_ERR_PARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query),
      cmocka_unit_test(test_response),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
