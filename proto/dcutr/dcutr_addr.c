/* Which addresses a hole punch may use (relay/DCUtR.md: "observed (and
 * possibly predicted) addresses"). Private, loopback and relay addresses
 * cannot be punched to and are skipped, not fatal: go-libp2p drops them
 * the same way (holepunch/util.go, removeRelayAddrs and the public-address
 * filter in svc.go). The public test is injectable because a lab's WAN
 * range (198.18.0.0/15) is an RFC 2544 benchmarking block. */
#include <string.h>

#include "lp2p/dcutr.h"

/* IPv4 special-purpose blocks, RFC 6890 section 2.2.2 (plus multicast
 * and the reserved 240/4), as (prefix, bits). */
static const struct {
  uint8_t a, b, c;
  uint8_t bits;
} v4_special[] = {
    {0, 0, 0, 8},      /* "this network" */
    {10, 0, 0, 8},     /* RFC 1918 */
    {100, 64, 0, 10},  /* shared address space (CGN), RFC 6598 */
    {127, 0, 0, 8},    /* loopback */
    {169, 254, 0, 16}, /* link local */
    {172, 16, 0, 12},  /* RFC 1918 */
    {192, 0, 0, 24},   /* IETF protocol assignments */
    {192, 0, 2, 24},   /* TEST-NET-1 */
    {192, 88, 99, 24}, /* 6to4 relay anycast */
    {192, 168, 0, 16}, /* RFC 1918 */
    {198, 18, 0, 15},  /* benchmarking, RFC 2544 */
    {198, 51, 100, 24},/* TEST-NET-2 */
    {203, 0, 113, 24}, /* TEST-NET-3 */
    {224, 0, 0, 4},    /* multicast */
    {240, 0, 0, 4},    /* reserved, broadcast */
};

static int v4_in(const uint8_t *ip, uint8_t a, uint8_t b, uint8_t c,
                 unsigned bits) {
  uint32_t x = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
               (uint32_t)ip[2] << 8 | ip[3];
  uint32_t p = (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8;
  uint32_t mask = bits ? ~UINT32_C(0) << (32 - bits) : 0;
  return (x & mask) == (p & mask);
}

static int v4_public(const uint8_t *ip) {
  for (size_t i = 0; i < sizeof v4_special / sizeof v4_special[0]; i++)
    if (v4_in(ip, v4_special[i].a, v4_special[i].b, v4_special[i].c,
              v4_special[i].bits))
      return 0;
  return 1;
}

int lp2p_dcutr_ip_is_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  if (!ip)
    return 0;
  if (family == 4)
    return v4_public(ip);
  if (family != 6)
    return 0;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(ip, mapped, 12) == 0) /* ::ffff:a.b.c.d */
    return v4_public(ip + 12);
  /* RFC 6890 section 2.2.3: only 2000::/3 is global unicast; inside it
   * 2001:db8::/32 is documentation and 2001::/23 IETF assignments
   * (Teredo and friends). Everything else (::, ::1, fc00::/7, fe80::/10,
   * ff00::/8, 64:ff9b::/96) is not dialable from elsewhere. */
  if ((ip[0] & 0xe0) != 0x20)
    return 0;
  if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8)
    return 0;
  if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] < 0x02)
    return 0;
  return 1;
}

int lp2p_dcutr_addr_dialable(const uint8_t *p, size_t n,
                             lp2p_dcutr_is_public_fn is_public, void *ud,
                             int *family, uint8_t ip[16], uint16_t *port,
                             int *udp) {
  lp2p_maddr m;
  if (!p || lp2p_maddr_from_bytes(&m, p, n) != 0)
    return 0;
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  int fam = 0, is_udp = 0, has_id = 0, k = 0, rc;
  uint8_t addr[16] = {0};
  uint32_t prt = 0;
  lp2p_maddr_iter_init(&it, &m);
  /* Exactly ip, then tcp or udp, then on udp optionally quic-v1, then
   * optionally one p2p, last. Anything else (circuit, ws, dns) is not punchable. */
  while ((rc = lp2p_maddr_next(&it, &c)) == 1) {
    if (k == 0 && (c.code == LP2P_MA_IP4 || c.code == LP2P_MA_IP6)) {
      fam = c.code == LP2P_MA_IP4 ? 4 : 6;
      memcpy(addr, c.value, c.len);
    } else if (k == 1 && (c.code == LP2P_MA_TCP || c.code == LP2P_MA_UDP)) {
      is_udp = c.code == LP2P_MA_UDP;
      prt = (uint32_t)c.value[0] << 8 | c.value[1];
    } else if (k == 2 && is_udp && c.code == LP2P_MA_QUIC_V1) {
      /* QUIC punches the same way (spec, "For a QUIC address") */
    } else if (k >= 2 && c.code == LP2P_MA_P2P && !has_id) {
      has_id = 1; /* our own id or theirs: the dialer checks it */
    } else {
      return 0;
    }
    k++;
  }
  if (rc < 0 || k < 2 || prt == 0)
    return 0;
  if (!(is_public ? is_public : lp2p_dcutr_ip_is_public)(ud, fam, addr))
    return 0;
  if (family)
    *family = fam;
  if (ip)
    memcpy(ip, addr, 16);
  if (port)
    *port = (uint16_t)prt;
  if (udp)
    *udp = is_udp;
  return 1;
}

size_t lp2p_dcutr_unilateral_candidates(const lp2p_maddr *addrs, size_t n,
                                        lp2p_dcutr_is_public_fn is_public,
                                        void *ud, size_t *idx, size_t max) {
  size_t k = 0;
  for (size_t i = 0; addrs && i < n && k < max; i++)
    if (lp2p_dcutr_addr_dialable(addrs[i].bytes, addrs[i].len, is_public, ud,
                                 NULL, NULL, NULL, NULL)) {
      if (idx)
        idx[k] = i;
      k++;
    }
  return k;
}
