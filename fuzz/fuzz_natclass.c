/* Fuzzes the NAT classifier (include/lp2p/natclass.h) with observations a
 * swarm of lying peers could report, port prediction over any port list,
 * and the punch verdict over any pair of classes, including values out of
 * range (a CONNECT carries the peer's class). Checks: every answer is in
 * range; an EIM answer has an external port and a per-destination one
 * none; sequential implies a stride in 1..LP2P_NAT_STRIDE_MAX; predicted
 * ports strictly increase by the stride, below 65535; the verdict is
 * symmetric, names only the two hopeless reasons, and is never hopeless
 * when either side is unknown or sequential. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/natclass.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static lp2p_nat_class any_class(fdp *f) {
  lp2p_nat_class c;
  lp2p_nat_class_unknown(&c);
  c.mapping = (lp2p_nat_behaviour)fdp_range(f, 0, 4);
  c.filtering = (lp2p_nat_behaviour)fdp_range(f, 0, 4);
  c.preserves_port = (int)fdp_range(f, 0, 2) - 1;
  c.sequential = fdp_bool(f);
  c.port_stride = c.sequential ? (uint16_t)fdp_range(f, 1, 16) : 0;
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  /* observations: few distinct IPs and ports so that pairs compare */
  lp2p_nat_obs obs[40];
  size_t n = fdp_range(&f, 0, 40);
  for (size_t i = 0; i < n; i++) {
    lp2p_nat_obs *o = &obs[i];
    memset(o, 0, sizeof *o);
    o->family = fdp_bool(&f) ? 6 : 4;
    o->udp = fdp_u8(&f) % 8 == 0;
    o->local_port = (uint16_t)(4001 + fdp_range(&f, 0, 1));
    o->observer_ip[0] = 198;
    o->observer_ip[3] = (uint8_t)fdp_range(&f, 1, 4);
    o->observer_port = (uint16_t)(4001 + fdp_range(&f, 0, 2));
    o->observed_ip[0] = 203;
    o->observed_ip[3] = (uint8_t)fdp_range(&f, 1, 2);
    o->observed_port = fdp_bool(&f) ? (uint16_t)(4000 + fdp_range(&f, 0, 40))
                                    : fdp_u16(&f);
  }
  if (fdp_u8(&f) == 0xff && n) /* a bad family is refused, not read */
    obs[n - 1].family = 5;
  lp2p_natclass_result r;
  int rc = lp2p_natclass_classify(obs, n, &r);
  if (rc == 0) {
    CHECK(r.cls.mapping == LP2P_NAT_UNKNOWN ||
          r.cls.mapping == LP2P_NAT_ENDPOINT_INDEPENDENT ||
          r.cls.mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
          r.cls.mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT);
    CHECK(r.cls.filtering == LP2P_NAT_UNKNOWN);
    CHECK(r.cls.preserves_port >= -1 && r.cls.preserves_port <= 1);
    CHECK(n || r.cls.preserves_port == -1);
    CHECK(!r.cls.sequential ||
          (r.cls.port_stride >= 1 && r.cls.port_stride <= LP2P_NAT_STRIDE_MAX));
    CHECK(r.cls.mapping == LP2P_NAT_ENDPOINT_INDEPENDENT || !r.external_port);
    CHECK(!n || r.external_family == 4 || r.external_family == 6);
  } else {
    CHECK(rc == LP2P_ERR_INVAL);
  }
  CHECK(lp2p_natclass_classify(NULL, 1, &r) == LP2P_ERR_INVAL);

  /* prediction */
  uint16_t ports[20], out[20], stride;
  size_t np = fdp_range(&f, 0, 20), k = fdp_range(&f, 0, 20);
  uint16_t base = fdp_u16(&f);
  for (size_t i = 0; i < np; i++)
    ports[i] = fdp_bool(&f) ? (uint16_t)(base + i * fdp_range(&f, 0, 20))
                            : fdp_u16(&f);
  size_t m = lp2p_natclass_predict_ports(ports, np, out, k, &stride);
  CHECK(m <= k);
  if (m) {
    CHECK(stride >= 1 && stride <= LP2P_NAT_STRIDE_MAX);
    uint32_t prev = ports[np - 1];
    for (size_t i = 0; i < m; i++) {
      CHECK(out[i] == prev + stride && out[i] < 65535);
      prev = out[i];
    }
  }

  /* the verdict */
  lp2p_nat_class a = any_class(&f), b = any_class(&f);
  lp2p_punch_reason v = lp2p_nat_punch_verdict(&a, &b);
  CHECK(v == lp2p_nat_punch_verdict(&b, &a));
  CHECK(v == LP2P_PUNCH_OK || v == LP2P_PUNCH_BOTH_ADDR_DEPENDENT ||
        v == LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER);
  if (a.mapping == LP2P_NAT_UNKNOWN || a.filtering == LP2P_NAT_UNKNOWN ||
      b.filtering == LP2P_NAT_UNKNOWN ||
      (a.sequential && b.sequential))
    CHECK(v == LP2P_PUNCH_OK || (a.mapping == LP2P_NAT_UNKNOWN &&
                                 a.filtering != LP2P_NAT_UNKNOWN &&
                                 b.filtering != LP2P_NAT_UNKNOWN));
  CHECK(lp2p_punch_reason_name(v) != NULL);
  return 0;
}
