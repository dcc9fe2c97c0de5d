/* Fuzzes the DCUtR HolePunch codec and the address policy: decode any
 * body; what decodes re-encodes and decodes to the same message; every
 * kept address goes through the dialable check (which must not read past
 * it). */
#include <stdlib.h>
#include <string.h>

#include "lp2p/dcutr.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_dcutr_msg m;
  int rc = lp2p_dcutr_msg_decode(&m, data, size);
  if (size > LP2P_DCUTR_MSG_MAX)
    CHECK(rc == LP2P_ERR_LIMIT);
  if (rc != 0)
    return 0;
  CHECK(m.type == LP2P_DCUTR_CONNECT || m.type == LP2P_DCUTR_SYNC);
  CHECK(m.naddrs <= LP2P_DCUTR_ADDRS_MAX);
  for (size_t i = 0; i < m.naddrs; i++) {
    int fam = 0, udp = 0;
    uint8_t ip[16];
    uint16_t port = 0;
    if (lp2p_dcutr_addr_dialable(m.addrs[i].p, m.addrs[i].len, NULL, NULL,
                                 &fam, ip, &port, &udp)) {
      CHECK(fam == 4 || fam == 6);
      CHECK(port != 0);
      CHECK(lp2p_dcutr_ip_is_public(NULL, fam, ip));
    }
  }
  /* the kept part re-encodes within the cap and decodes the same */
  static uint8_t out[LP2P_DCUTR_MSG_MAX + 16];
  size_t len = 0;
  rc = lp2p_dcutr_msg_encode(&m, out, sizeof out, &len);
  CHECK(rc == 0 || rc == LP2P_ERR_LIMIT);
  if (rc != 0)
    return 0;
  lp2p_dcutr_msg back;
  size_t pre = out[0] < 0x80 ? 1 : 2;
  CHECK(lp2p_dcutr_msg_decode(&back, out + pre, len - pre) == 0);
  CHECK(back.type == m.type && back.naddrs == m.naddrs);
  for (size_t i = 0; i < m.naddrs; i++) {
    CHECK(back.addrs[i].len == m.addrs[i].len);
    CHECK(m.addrs[i].len == 0 ||
          memcmp(back.addrs[i].p, m.addrs[i].p, m.addrs[i].len) == 0);
  }
  return 0;
}
