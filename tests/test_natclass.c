/* NAT classification from observed addresses, sequential port
 * prediction, and the punch verdict against the outcomes measured in
 * DESIGN.md section 5b. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/natclass.h"

static lp2p_nat_obs ob(uint16_t local, uint8_t observer, uint16_t oport,
                       uint8_t ext, uint16_t eport) {
  lp2p_nat_obs o;
  memset(&o, 0, sizeof o);
  o.family = 4;
  o.local_port = local;
  o.observer_ip[0] = 198;
  o.observer_ip[1] = 18;
  o.observer_ip[3] = observer;
  o.observer_port = oport;
  o.observed_ip[0] = 198;
  o.observed_ip[1] = 19;
  o.observed_ip[3] = ext;
  o.observed_port = eport;
  return o;
}

static void test_eim(void **s) {
  (void)s;
  /* three peers see the same ip:port for local 4001: EIM, preserving */
  lp2p_nat_obs o[3] = {ob(4001, 1, 4001, 9, 4001), ob(4001, 2, 4001, 9, 4001),
                       ob(4001, 3, 5000, 9, 4001)};
  lp2p_natclass_result r;
  assert_int_equal(lp2p_natclass_classify(o, 3, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ENDPOINT_INDEPENDENT);
  assert_int_equal(r.cls.preserves_port, 1);
  assert_int_equal(r.cls.filtering, LP2P_NAT_UNKNOWN);
  assert_int_equal(r.agree, 3);
  assert_int_equal(r.disagree, 0);
  assert_int_equal(r.external_family, 4);
  assert_int_equal(r.external_ip[3], 9);
  assert_int_equal(r.external_port, 4001);
  assert_string_equal(lp2p_nat_behaviour_name(r.cls.mapping),
                      "endpoint-independent");
  /* EIM without port preservation */
  lp2p_nat_obs p[2] = {ob(4001, 1, 4001, 9, 31000), ob(4001, 2, 4001, 9, 31000)};
  assert_int_equal(lp2p_natclass_classify(p, 2, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ENDPOINT_INDEPENDENT);
  assert_int_equal(r.cls.preserves_port, 0);
  assert_int_equal(r.external_port, 31000);
}

static void test_dependent(void **s) {
  (void)s;
  lp2p_natclass_result r;
  /* different ports per observer IP, and per port on one IP: APDM */
  lp2p_nat_obs a[3] = {ob(4001, 1, 4001, 9, 1024), ob(4001, 2, 4001, 9, 53011),
                       ob(4001, 2, 4002, 9, 7777)};
  assert_int_equal(lp2p_natclass_classify(a, 3, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  assert_int_equal(r.cls.preserves_port, 0);
  assert_int_equal(r.external_port, 0);
  assert_false(r.cls.sequential);
  assert_string_equal(lp2p_nat_behaviour_name(r.cls.mapping),
                      "address-and-port-dependent");
  /* the same port for two ports of one observer IP: ADM */
  lp2p_nat_obs b[3] = {ob(4001, 1, 4001, 9, 1024), ob(4001, 2, 4001, 9, 53011),
                       ob(4001, 2, 4002, 9, 53011)};
  assert_int_equal(lp2p_natclass_classify(b, 3, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_DEPENDENT);
  /* only different observer IPs: per destination, APDM assumed */
  lp2p_nat_obs c[2] = {ob(4001, 1, 4001, 9, 1024), ob(4001, 2, 4001, 9, 2999)};
  assert_int_equal(lp2p_natclass_classify(c, 2, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  /* a sequential allocator: ports 40001, 40002, 40004 in order */
  lp2p_nat_obs d[3] = {ob(4001, 1, 4001, 9, 40001), ob(4001, 2, 4001, 9, 40002),
                       ob(4001, 3, 4001, 9, 40004)};
  assert_int_equal(lp2p_natclass_classify(d, 3, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  assert_true(r.cls.sequential);
  assert_int_equal(r.cls.port_stride, 1);
  /* an address-dependent mapping reused for an observer's second port
   * is one mapping, not a step back: 40001, 40002 (twice), 40003 */
  lp2p_nat_obs e[4] = {ob(4001, 1, 4001, 9, 40001), ob(4001, 2, 4001, 9, 40002),
                       ob(4001, 2, 4002, 9, 40002), ob(4001, 3, 4001, 9, 40003)};
  assert_int_equal(lp2p_natclass_classify(e, 4, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_DEPENDENT);
  assert_true(r.cls.sequential);
  assert_int_equal(r.cls.port_stride, 1);
}

static void test_evidence(void **s) {
  (void)s;
  lp2p_natclass_result r;
  /* one observer only: nothing to compare */
  lp2p_nat_obs a[2] = {ob(4001, 1, 4001, 9, 4001), ob(4001, 1, 4001, 9, 4001)};
  assert_int_equal(lp2p_natclass_classify(a, 2, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_UNKNOWN);
  assert_int_equal(r.cls.preserves_port, 1);
  /* different local ports are different flows, never compared */
  lp2p_nat_obs b[2] = {ob(4001, 1, 4001, 9, 4001), ob(4002, 2, 4001, 9, 4002)};
  assert_int_equal(lp2p_natclass_classify(b, 2, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_UNKNOWN);
  /* nor TCP against UDP */
  b[1] = ob(4001, 2, 4001, 9, 9999);
  b[1].udp = 1;
  assert_int_equal(lp2p_natclass_classify(b, 2, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_UNKNOWN);
  /* one lying peer among four honest ones does not flip EIM */
  lp2p_nat_obs c[5] = {ob(4001, 1, 4001, 9, 4001), ob(4001, 2, 4001, 9, 4001),
                       ob(4001, 3, 4001, 9, 4001), ob(4001, 4, 4001, 9, 4001),
                       ob(4001, 5, 4001, 66, 1)};
  assert_int_equal(lp2p_natclass_classify(c, 5, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ENDPOINT_INDEPENDENT);
  assert_int_equal(r.agree, 6);
  assert_int_equal(r.disagree, 4);
  assert_int_equal(r.external_ip[3], 9);
  /* a tie stays unknown */
  lp2p_nat_obs d[3] = {ob(4001, 1, 4001, 9, 4001), ob(4001, 2, 4001, 9, 4001),
                       ob(4001, 3, 4001, 9, 5000)};
  assert_int_equal(lp2p_natclass_classify(d, 3, &r), 0);
  assert_int_equal(r.agree, 1);
  assert_int_equal(r.disagree, 2);
  assert_int_equal(r.cls.mapping, LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
  /* empty input, bad arguments */
  assert_int_equal(lp2p_natclass_classify(NULL, 0, &r), 0);
  assert_int_equal(r.cls.mapping, LP2P_NAT_UNKNOWN);
  assert_int_equal(r.cls.preserves_port, -1);
  assert_int_equal(r.external_family, 0);
  assert_int_equal(lp2p_natclass_classify(NULL, 1, &r), LP2P_ERR_INVAL);
  d[0].family = 5;
  assert_int_equal(lp2p_natclass_classify(d, 3, &r), LP2P_ERR_INVAL);
}

static void test_predict(void **s) {
  (void)s;
  uint16_t out[4], stride;
  const uint16_t seq[] = {50000, 50001, 50002};
  assert_int_equal(lp2p_natclass_predict_ports(seq, 3, out, 4, &stride), 4);
  assert_int_equal(stride, 1);
  assert_int_equal(out[0], 50003);
  assert_int_equal(out[3], 50006);
  /* gaps from other hosts: the smallest step is the stride */
  const uint16_t gaps[] = {1000, 1004, 1006, 1010};
  assert_int_equal(lp2p_natclass_predict_ports(gaps, 4, out, 2, &stride), 2);
  assert_int_equal(stride, 2);
  assert_int_equal(out[0], 1012);
  assert_int_equal(out[1], 1014);
  /* random ports, a decrease, a repeat, too few: no prediction */
  const uint16_t rnd[] = {1024, 61000, 3000};
  assert_int_equal(lp2p_natclass_predict_ports(rnd, 3, out, 2, &stride), 0);
  assert_int_equal(stride, 0);
  const uint16_t down[] = {3000, 3001, 2999};
  assert_int_equal(lp2p_natclass_predict_ports(down, 3, out, 2, NULL), 0);
  const uint16_t rep[] = {3000, 3000, 3001};
  assert_int_equal(lp2p_natclass_predict_ports(rep, 3, out, 2, NULL), 0);
  assert_int_equal(lp2p_natclass_predict_ports(seq, 2, out, 2, NULL), 0);
  const uint16_t far[] = {3000, 3017, 3034};
  assert_int_equal(lp2p_natclass_predict_ports(far, 3, out, 2, NULL), 0);
  /* at the top of the port space: stops before 65535 */
  const uint16_t top[] = {65530, 65532, 65533};
  assert_int_equal(lp2p_natclass_predict_ports(top, 3, out, 4, &stride), 1);
  assert_int_equal(out[0], 65534);
}

static lp2p_nat_class cls(lp2p_nat_behaviour m, lp2p_nat_behaviour f) {
  lp2p_nat_class c;
  lp2p_nat_class_unknown(&c);
  c.mapping = m;
  c.filtering = f;
  return c;
}

static void test_verdict(void **s) {
  (void)s;
  const lp2p_nat_behaviour EI = LP2P_NAT_ENDPOINT_INDEPENDENT,
                           AD = LP2P_NAT_ADDRESS_DEPENDENT,
                           APD = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT,
                           UN = LP2P_NAT_UNKNOWN;
  /* the natlab REPORT section 3 table: cone pairs punch, EIM-EIF/ADF
   * against symmetric punches (with a listener), EIM-APDF against
   * symmetric and symmetric against symmetric never do */
  struct {
    lp2p_nat_behaviour am, af, bm, bf;
    lp2p_punch_reason want;
  } cases[] = {
      {EI, EI, EI, EI, LP2P_PUNCH_OK},
      {EI, AD, EI, APD, LP2P_PUNCH_OK},
      {EI, APD, EI, APD, LP2P_PUNCH_OK},
      {EI, EI, APD, APD, LP2P_PUNCH_OK},
      {EI, AD, AD, APD, LP2P_PUNCH_OK},
      {EI, APD, APD, APD, LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER},
      {AD, APD, EI, APD, LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER},
      {APD, APD, APD, APD, LP2P_PUNCH_BOTH_ADDR_DEPENDENT},
      {AD, APD, APD, APD, LP2P_PUNCH_BOTH_ADDR_DEPENDENT},
      {AD, AD, APD, AD, LP2P_PUNCH_BOTH_ADDR_DEPENDENT},
      /* an EIF symmetric side takes the SYN on its relay-seen mapping */
      {AD, EI, APD, AD, LP2P_PUNCH_OK},
      {UN, UN, APD, APD, LP2P_PUNCH_OK},
      {UN, APD, APD, APD, LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER},
      {UN, UN, UN, UN, LP2P_PUNCH_OK},
      /* a symmetric EIF side against a port-restricted cone: the cone's
       * SYN gets in on the symmetric side's relay-seen mapping */
      {APD, EI, EI, APD, LP2P_PUNCH_OK},
      /* filtering unknown (observations only): never hopeless */
      {APD, UN, AD, UN, LP2P_PUNCH_OK},
      {AD, UN, EI, APD, LP2P_PUNCH_OK},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lp2p_nat_class a = cls(cases[i].am, cases[i].af);
    lp2p_nat_class b = cls(cases[i].bm, cases[i].bf);
    assert_int_equal(lp2p_nat_punch_verdict(&a, &b), cases[i].want);
    assert_int_equal(lp2p_nat_punch_verdict(&b, &a), cases[i].want);
  }
  /* every complete pair agrees with the RFC oracle of tcp-punch-matrix:
   * X admits Y's SYN when X filters EIF, or ADF and maps EIM, or APDF and
   * both map EIM */
  const lp2p_nat_behaviour k[3] = {EI, AD, APD};
  for (int i = 0; i < 81; i++) {
    int am = i / 27, af = i / 9 % 3, bm = i / 3 % 3, bf = i % 3;
    int ab = af == 0 || (af == 1 && am == 0) || (af == 2 && am == 0 && bm == 0);
    int ba = bf == 0 || (bf == 1 && bm == 0) || (bf == 2 && bm == 0 && am == 0);
    lp2p_nat_class a = cls(k[am], k[af]), b = cls(k[bm], k[bf]);
    lp2p_punch_reason r = lp2p_nat_punch_verdict(&a, &b);
    assert_int_equal(r == LP2P_PUNCH_OK, ab || ba);
    if (r != LP2P_PUNCH_OK)
      assert_int_equal(r, am && bm ? LP2P_PUNCH_BOTH_ADDR_DEPENDENT
                                   : LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER);
  }
  /* a sequential allocator is predictable: against a port-restricted
   * cone the cone side dials the predicted ports, which opens its filter
   * for them */
  lp2p_nat_class a = cls(EI, APD), b = cls(APD, APD);
  b.sequential = 1;
  b.port_stride = 1;
  assert_int_equal(lp2p_nat_punch_verdict(&a, &b), LP2P_PUNCH_OK);
  /* but an unpredictable symmetric side stays hopeless against it: its
   * SYN comes from a port the sequential side's filter never saw (the
   * name says what both NATs are: per destination) */
  a = cls(APD, APD);
  assert_int_equal(lp2p_nat_punch_verdict(&a, &b),
                   LP2P_PUNCH_BOTH_ADDR_DEPENDENT);
  assert_int_equal(lp2p_nat_punch_verdict(NULL, &b), LP2P_PUNCH_OK);
  /* names */
  assert_string_equal(lp2p_punch_reason_name(LP2P_PUNCH_BOTH_ADDR_DEPENDENT),
                      "both-address-dependent");
  assert_string_equal(lp2p_punch_reason_name((lp2p_punch_reason)99), "unknown");
  assert_string_equal(lp2p_nat_behaviour_name((lp2p_nat_behaviour)99),
                      "unknown");
  for (int r = 0; r <= LP2P_PUNCH_UNREACHABLE; r++)
    assert_string_not_equal(lp2p_punch_reason_name((lp2p_punch_reason)r),
                            "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eim),      cmocka_unit_test(test_dependent),
      cmocka_unit_test(test_evidence), cmocka_unit_test(test_predict),
      cmocka_unit_test(test_verdict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
