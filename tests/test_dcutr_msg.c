/* DCUtR HolePunch codec (relay/DCUtR.md, "RPC messages") byte for byte,
 * its bounds, and the address policy (what may be punched to). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/dcutr.h"

static lp2p_maddr ma(const char *s) {
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, s, strlen(s)), 0);
  return m;
}

static void test_golden(void **s) {
  (void)s;
  /* CONNECT {type 100, ObsAddrs [/ip4/1.2.3.4/tcp/1234]}:
   * field 1 varint (08 64), field 2 bytes (12 08 <04 01020304 06 04d2>),
   * body 12 bytes, prefix 0c */
  const uint8_t connect[] = {0x0c, 0x08, 0x64, 0x12, 0x08, 0x04, 0x01, 0x02,
                             0x03, 0x04, 0x06, 0x04, 0xd2};
  lp2p_maddr a = ma("/ip4/1.2.3.4/tcp/1234");
  lp2p_dcutr_msg m = {0};
  m.type = LP2P_DCUTR_CONNECT;
  m.naddrs = 1;
  m.addrs[0] = (lp2p_dcutr_bytes){a.bytes, a.len};
  uint8_t out[64];
  size_t len = 0;
  assert_int_equal(lp2p_dcutr_msg_encode(&m, out, sizeof out, &len), 0);
  assert_int_equal(len, sizeof connect);
  assert_memory_equal(out, connect, sizeof connect);
  /* SYNC {type 300}: 300 = varint ac 02 */
  const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
  m.type = LP2P_DCUTR_SYNC;
  m.naddrs = 0;
  assert_int_equal(lp2p_dcutr_msg_encode(&m, out, sizeof out, &len), 0);
  assert_int_equal(len, sizeof sync);
  assert_memory_equal(out, sync, sizeof sync);
  /* measuring and a short buffer */
  assert_int_equal(lp2p_dcutr_msg_encode(&m, NULL, 0, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(len, 4);
  assert_int_equal(lp2p_dcutr_msg_encode(&m, out, 3, &len), LP2P_ERR_NOSPACE);

  lp2p_dcutr_msg d;
  assert_int_equal(lp2p_dcutr_msg_decode(&d, connect + 1, 12), 0);
  assert_int_equal(d.type, LP2P_DCUTR_CONNECT);
  assert_int_equal(d.naddrs, 1);
  assert_int_equal(d.addrs[0].len, a.len);
  assert_memory_equal(d.addrs[0].p, a.bytes, a.len);
  assert_int_equal(lp2p_dcutr_msg_decode(&d, sync + 1, 3), 0);
  assert_int_equal(d.type, LP2P_DCUTR_SYNC);
  assert_int_equal(d.naddrs, 0);
}

/* lp2p's NAT-class extension field: round trip, and values we do not
 * know are ignored rather than fatal (a newer peer may know more). */
static void test_nat_field(void **s) {
  (void)s;
  lp2p_dcutr_msg m, d;
  memset(&m, 0, sizeof m);
  m.type = LP2P_DCUTR_CONNECT;
  m.has_type = 1;
  m.has_nat = 1;
  lp2p_nat_class_unknown(&m.nat);
  m.nat.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  m.nat.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  m.nat.preserves_port = 0;
  m.nat.sequential = 1;
  m.nat.port_stride = 3;
  uint8_t buf[64];
  size_t len;
  assert_int_equal(lp2p_dcutr_msg_encode(&m, buf, sizeof buf, &len), 0);
  assert_int_equal(lp2p_dcutr_msg_decode(&d, buf + 1, len - 1), 0);
  assert_true(d.has_nat);
  assert_int_equal(d.nat.mapping, LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  assert_int_equal(d.nat.filtering, LP2P_NAT_ADDRESS_DEPENDENT);
  assert_int_equal(d.nat.preserves_port, 0);
  assert_true(d.nat.sequential);
  assert_int_equal(d.nat.port_stride, 3);
  /* type CONNECT, field 1000 = mapping 9, filtering 2, preserves 3,
   * stride 999: unknown values stay unknown */
  const uint8_t odd[] = {0x08, 0x64, 0xc0, 0x3e, 0xa9, 0x86, 0x9c, 0x1f};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, odd, sizeof odd), 0);
  assert_true(d.has_nat);
  assert_int_equal(d.nat.mapping, LP2P_NAT_UNKNOWN);
  assert_int_equal(d.nat.filtering, LP2P_NAT_ENDPOINT_INDEPENDENT);
  assert_int_equal(d.nat.preserves_port, -1);
  assert_false(d.nat.sequential);
  /* the field as bytes instead of a varint: a malformed message */
  const uint8_t bad[] = {0x08, 0x64, 0xc2, 0x3e, 0x01, 0x00};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, bad, sizeof bad), LP2P_ERR_PARSE);
  /* without the field (go, js): has_nat 0 */
  const uint8_t plain[] = {0x08, 0x64};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, plain, sizeof plain), 0);
  assert_false(d.has_nat);
}

static void test_decode_errors(void **s) {
  (void)s;
  lp2p_dcutr_msg d;
  /* no type: nothing to act on */
  const uint8_t notype[] = {0x12, 0x00};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, notype, sizeof notype),
                   LP2P_ERR_PARSE);
  /* an unknown type */
  const uint8_t badtype[] = {0x08, 0x65};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, badtype, sizeof badtype),
                   LP2P_ERR_PARSE);
  /* type with the wrong wire type, addrs as a varint */
  const uint8_t badwire1[] = {0x0a, 0x01, 0x64};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, badwire1, sizeof badwire1),
                   LP2P_ERR_PARSE);
  const uint8_t badwire2[] = {0x08, 0x64, 0x10, 0x01};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, badwire2, sizeof badwire2),
                   LP2P_ERR_PARSE);
  /* truncated bytes field */
  const uint8_t trunc[] = {0x08, 0x64, 0x12, 0x05, 0x01};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, trunc, sizeof trunc),
                   LP2P_ERR_PARSE);
  /* unknown fields are skipped */
  const uint8_t unknown[] = {0x08, 0x64, 0x18, 0x07, 0x22, 0x01, 0xff};
  assert_int_equal(lp2p_dcutr_msg_decode(&d, unknown, sizeof unknown), 0);
  assert_int_equal(d.type, LP2P_DCUTR_CONNECT);
  /* over 4 KiB */
  static uint8_t big[LP2P_DCUTR_MSG_MAX + 1];
  assert_int_equal(lp2p_dcutr_msg_decode(&d, big, sizeof big), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_dcutr_msg_decode(NULL, big, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_dcutr_msg_decode(&d, NULL, 1), LP2P_ERR_INVAL);
}

static void test_many_addrs(void **s) {
  (void)s;
  /* 40 ObsAddrs of 2 bytes: 16 kept, 24 counted */
  uint8_t b[2 + 40 * 4];
  size_t n = 0;
  b[n++] = 0x08;
  b[n++] = 0x64;
  for (int i = 0; i < 40; i++) {
    b[n++] = 0x12;
    b[n++] = 0x02;
    b[n++] = (uint8_t)i;
    b[n++] = 0xff;
  }
  lp2p_dcutr_msg d;
  assert_int_equal(lp2p_dcutr_msg_decode(&d, b, n), 0);
  assert_int_equal(d.naddrs, LP2P_DCUTR_ADDRS_MAX);
  assert_int_equal(d.naddrs_skipped, 40 - LP2P_DCUTR_ADDRS_MAX);
  assert_int_equal(d.addrs[15].p[0], 15);
  /* the encoder refuses more than it can hold, and bodies over 4 KiB */
  lp2p_dcutr_msg m = {0};
  m.type = LP2P_DCUTR_CONNECT;
  m.naddrs = LP2P_DCUTR_ADDRS_MAX + 1;
  size_t len;
  assert_int_equal(lp2p_dcutr_msg_encode(&m, NULL, 0, &len), LP2P_ERR_INVAL);
  static uint8_t blob[300];
  m.naddrs = LP2P_DCUTR_ADDRS_MAX;
  for (size_t i = 0; i < m.naddrs; i++)
    m.addrs[i] = (lp2p_dcutr_bytes){blob, sizeof blob};
  assert_int_equal(lp2p_dcutr_msg_encode(&m, NULL, 0, &len), LP2P_ERR_LIMIT);
}

static int lab_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  if (family == 4 && ip[0] == 198 && (ip[1] & 0xfe) == 18)
    return 1;
  return lp2p_dcutr_ip_is_public(NULL, family, ip);
}

static int pub4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t ip[4] = {a, b, c, d};
  return lp2p_dcutr_ip_is_public(NULL, 4, ip);
}

static void test_is_public(void **s) {
  (void)s;
  assert_true(pub4(1, 2, 3, 4));
  assert_true(pub4(8, 8, 8, 8));
  assert_true(pub4(172, 32, 0, 1));
  assert_true(pub4(100, 128, 0, 1));
  assert_false(pub4(10, 1, 2, 3));
  assert_false(pub4(172, 16, 0, 1));
  assert_false(pub4(172, 31, 255, 255));
  assert_false(pub4(192, 168, 1, 1));
  assert_false(pub4(127, 0, 0, 1));
  assert_false(pub4(169, 254, 1, 1));
  assert_false(pub4(100, 64, 0, 1));
  assert_false(pub4(198, 18, 0, 1));
  assert_false(pub4(198, 19, 255, 1));
  assert_true(pub4(198, 20, 0, 1));
  assert_false(pub4(0, 1, 2, 3));
  assert_false(pub4(224, 0, 0, 1));
  assert_false(pub4(255, 255, 255, 255));
  assert_false(pub4(203, 0, 113, 9));
  uint8_t v6[16] = {0x26, 0x06, 0x47, 0x00};
  assert_true(lp2p_dcutr_ip_is_public(NULL, 6, v6));
  v6[0] = 0xfd;
  assert_false(lp2p_dcutr_ip_is_public(NULL, 6, v6));
  v6[0] = 0xfe;
  v6[1] = 0x80;
  assert_false(lp2p_dcutr_ip_is_public(NULL, 6, v6));
  const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  assert_false(lp2p_dcutr_ip_is_public(NULL, 6, doc));
  const uint8_t lo[16] = {[15] = 1};
  assert_false(lp2p_dcutr_ip_is_public(NULL, 6, lo));
  uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 1, [13] = 2, [14] = 3, [15] = 4};
  assert_true(lp2p_dcutr_ip_is_public(NULL, 6, mapped));
  mapped[12] = 10;
  assert_false(lp2p_dcutr_ip_is_public(NULL, 6, mapped));
  assert_false(lp2p_dcutr_ip_is_public(NULL, 5, mapped));
  /* the lab predicate */
  const uint8_t lab[4] = {198, 18, 0, 11};
  assert_true(lab_public(NULL, 4, lab));
}

static int dialable(const char *s, lp2p_dcutr_is_public_fn f) {
  lp2p_maddr m = ma(s);
  return lp2p_dcutr_addr_dialable(m.bytes, m.len, f, NULL, NULL, NULL, NULL,
                                  NULL);
}

static void test_dialable(void **s) {
  (void)s;
  assert_true(dialable("/ip4/1.2.3.4/tcp/4001", NULL));
  assert_true(dialable("/ip4/1.2.3.4/udp/4001/quic-v1", NULL));
  assert_true(dialable("/ip6/2606:4700::1/tcp/4001", NULL));
  assert_true(dialable(
      "/ip4/1.2.3.4/tcp/4001/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupGZz",
      NULL));
  assert_false(dialable("/ip4/192.168.1.2/tcp/4001", NULL));
  assert_false(dialable("/ip4/127.0.0.1/tcp/4001", NULL));
  assert_false(dialable("/ip4/1.2.3.4/tcp/0", NULL));
  assert_false(dialable("/ip4/198.18.0.11/tcp/4001", NULL));
  assert_true(dialable("/ip4/198.18.0.11/tcp/4001", lab_public));
  assert_false(dialable("/ip4/1.2.3.4/tcp/4001/p2p/"
                        "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupGZz/"
                        "p2p-circuit",
                        NULL));
  assert_false(dialable("/dns4/example.com/tcp/4001", NULL));
  assert_false(dialable("/ip4/1.2.3.4/tcp/4001/ws", NULL));
  assert_false(dialable("/ip4/1.2.3.4/udp/4001/quic", NULL));
  assert_false(dialable("/ip4/1.2.3.4", NULL));
  const uint8_t junk[] = {0xff, 0xff, 0xff};
  assert_false(lp2p_dcutr_addr_dialable(junk, 3, NULL, NULL, NULL, NULL, NULL,
                                        NULL));
  int fam, udp;
  uint8_t ip[16];
  uint16_t port;
  lp2p_maddr m = ma("/ip4/5.6.7.8/udp/9/quic-v1");
  assert_true(lp2p_dcutr_addr_dialable(m.bytes, m.len, NULL, NULL, &fam, ip,
                                       &port, &udp));
  assert_int_equal(fam, 4);
  assert_int_equal(udp, 1);
  assert_int_equal(port, 9);
  assert_int_equal(ip[3], 8);
}

static void test_unilateral(void **s) {
  (void)s;
  lp2p_maddr a[4] = {ma("/ip4/10.0.0.2/tcp/4001"),
                     ma("/ip4/1.2.3.4/tcp/4001/p2p/"
                        "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupGZz/"
                        "p2p-circuit"),
                     ma("/ip4/5.6.7.8/tcp/4001"),
                     ma("/ip4/9.9.9.9/udp/4001/quic-v1")};
  size_t idx[4];
  assert_int_equal(lp2p_dcutr_unilateral_candidates(a, 4, NULL, NULL, idx, 4),
                   2);
  assert_int_equal(idx[0], 2);
  assert_int_equal(idx[1], 3);
  assert_int_equal(lp2p_dcutr_unilateral_candidates(a, 4, NULL, NULL, idx, 1),
                   1);
  /* only private and relayed addresses: punch straight away */
  assert_int_equal(lp2p_dcutr_unilateral_candidates(a, 2, NULL, NULL, idx, 4),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),     cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_nat_field),
      cmocka_unit_test(test_many_addrs), cmocka_unit_test(test_is_public),
      cmocka_unit_test(test_dialable),   cmocka_unit_test(test_unilateral),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
