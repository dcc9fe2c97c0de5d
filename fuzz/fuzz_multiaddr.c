/* Fuzz multiaddr text and binary parsing. The first byte picks the mode:
 *  even: the rest is text; odd: the rest is binary.
 * Whatever parses must print, re-parse to identical bytes, and print to
 * identical text; every accessor must stay inside the value. abort() on
 * any mismatch so the fuzzer reports it. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const lp2p_maddr *m) {
  static char t1[4096], t2[4096];
  size_t l1, l2;
  lp2p_maddr b, c;
  if (lp2p_maddr_to_string(m, t1, sizeof t1, &l1) != 0)
    abort();
  if (lp2p_maddr_parse(&b, t1, l1) != 0)
    abort();
  if (!lp2p_maddr_equal(m, &b))
    abort();
  if (lp2p_maddr_to_string(&b, t2, sizeof t2, &l2) != 0)
    abort();
  if (l1 != l2 || memcmp(t1, t2, l1) != 0)
    abort();
  if (lp2p_maddr_from_bytes(&c, m->bytes, m->len) != 0)
    abort();
  /* A too-small buffer fails cleanly and the size is exact. */
  if (l1 > 0 && lp2p_maddr_to_string(m, t2, l1 - 1, &l2) != LP2P_ERR_NOSPACE)
    abort();

  lp2p_maddr_iter it;
  lp2p_maddr_comp comp;
  size_t total = 0;
  int rc;
  lp2p_maddr_iter_init(&it, m);
  while ((rc = lp2p_maddr_next(&it, &comp)) == 1) {
    if (comp.offset != total || comp.value < m->bytes ||
        comp.value + comp.len > m->bytes + m->len)
      abort();
    total += comp.size;
  }
  if (rc != 0 || total != m->len)
    abort();

  const uint8_t *id;
  size_t idl;
  int fam, udp;
  uint8_t ip[16];
  uint16_t port;
  (void)lp2p_maddr_get_peer_id(m, &id, &idl);
  if (lp2p_maddr_to_ip_port(m, &fam, ip, &port, &udp) == 0) {
    lp2p_maddr d;
    if (lp2p_maddr_from_ip_port(&d, fam, ip, port, udp) != 0)
      abort();
  }
  c = *m;
  (void)lp2p_maddr_strip_peer_id(&c);
  if (c.len && lp2p_maddr_from_bytes(&b, c.bytes, c.len) != 0)
    abort();
  c = *m;
  if (lp2p_maddr_decapsulate(&c, LP2P_MA_TCP) == 0 && c.len &&
      lp2p_maddr_from_bytes(&b, c.bytes, c.len) != 0)
    abort();
  c = *m;
  if (lp2p_maddr_encapsulate(&c, m) == 0 &&
      lp2p_maddr_from_bytes(&b, c.bytes, c.len) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 2048)
    return 0;
  lp2p_maddr m;
  int rc;
  if (data[0] & 1)
    rc = lp2p_maddr_from_bytes(&m, data + 1, size - 1);
  else
    rc = lp2p_maddr_parse(&m, (const char *)data + 1, size - 1);
  if (rc == 0)
    exercise(&m);
  else if (m.len != 0)
    abort();
  /* IP text parsers on their own */
  uint8_t ip[16];
  char t[LP2P_IP_TEXT_MAX];
  size_t tl;
  if (lp2p_ip6_from_text((const char *)data + 1, size - 1, ip) == 0) {
    uint8_t ip2[16];
    if (lp2p_ip_to_text(6, ip, t, sizeof t, &tl) != 0)
      abort();
    if (lp2p_ip6_from_text(t, tl, ip2) != 0 || memcmp(ip, ip2, 16) != 0)
      abort();
  }
  if (lp2p_ip4_from_text((const char *)data + 1, size - 1, ip) == 0) {
    if (lp2p_ip_to_text(4, ip, t, sizeof t, &tl) != 0)
      abort();
    if (tl != size - 1 || memcmp(t, data + 1, tl) != 0)
      abort();
  }
  return 0;
}
