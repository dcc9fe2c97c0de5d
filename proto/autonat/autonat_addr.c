/* Which IPs count as public for AutoNAT (autonat-v2.md: "Client SHOULD NOT
 * send any private address ... The Server SHOULD NOT dial any private
 * address"), and an injectable override by CIDR list (the lab's
 * 198.18.0.0/15 must count as public there; LP2P_PUBLIC_CIDRS in the
 * tools). Pure. */
#include <string.h>

#include "lp2p/autonat.h"

typedef struct net4 {
  uint8_t a, b, c, d, bits;
} net4;

/* IANA special-purpose IPv4 (RFC 6890 and successors) that is not
 * globally reachable. */
static const net4 private4[] = {
    {0, 0, 0, 0, 8},       /* "this network" */
    {10, 0, 0, 0, 8},      /* RFC 1918 */
    {100, 64, 0, 0, 10},   /* RFC 6598 shared (CGN) */
    {127, 0, 0, 0, 8},     /* loopback */
    {169, 254, 0, 0, 16},  /* link local */
    {172, 16, 0, 0, 12},   /* RFC 1918 */
    {192, 0, 0, 0, 24},    /* IETF protocol assignments */
    {192, 0, 2, 0, 24},    /* TEST-NET-1 */
    {192, 88, 99, 0, 24},  /* 6to4 relay anycast (deprecated) */
    {192, 168, 0, 0, 16},  /* RFC 1918 */
    {198, 18, 0, 0, 15},   /* RFC 2544 benchmarking */
    {198, 51, 100, 0, 24}, /* TEST-NET-2 */
    {203, 0, 113, 0, 24},  /* TEST-NET-3 */
    {224, 0, 0, 0, 4},     /* multicast */
    {240, 0, 0, 0, 4},     /* reserved, broadcast */
};

static int prefix_match(const uint8_t *ip, const uint8_t *net, unsigned bits) {
  unsigned full = bits / 8, rest = bits % 8;
  if (memcmp(ip, net, full) != 0)
    return 0;
  if (!rest)
    return 1;
  uint8_t mask = (uint8_t)(0xffu << (8 - rest));
  return (ip[full] & mask) == (net[full] & mask);
}

/* One mask and compare per range on the address as a 32-bit number:
 * every DHT response checks some twenty peers' addresses with this. */
static int public4(const uint8_t *ip) {
  uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
               (uint32_t)ip[2] << 8 | ip[3];
  for (size_t i = 0; i < sizeof private4 / sizeof private4[0]; i++) {
    const net4 *n = &private4[i];
    uint32_t net = (uint32_t)n->a << 24 | (uint32_t)n->b << 16 |
                   (uint32_t)n->c << 8 | n->d;
    uint32_t mask = n->bits ? 0xffffffffu << (32 - n->bits) : 0;
    if ((a & mask) == net)
      return 0;
  }
  return 1;
}

int lp2p_autonat_ip_is_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  if (!ip)
    return 0;
  if (family == 4)
    return public4(ip);
  if (family != 6)
    return 0;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(ip, mapped, 12) == 0)
    return public4(ip + 12);
  if ((ip[0] & 0xe0) != 0x20) /* global unicast is 2000::/3 */
    return 0;
  static const uint8_t doc[4] = {0x20, 0x01, 0x0d, 0xb8};
  if (memcmp(ip, doc, 4) == 0) /* documentation, RFC 3849 */
    return 0;
  return 1;
}

static int parse_one(lp2p_autonat_cidrs *c, const char *s, size_t n) {
  size_t slash = 0;
  while (slash < n && s[slash] != '/')
    slash++;
  if (slash == n || slash + 1 == n || c->n == LP2P_AUTONAT_CIDRS_MAX)
    return slash == n || slash + 1 == n ? LP2P_ERR_PARSE : LP2P_ERR_LIMIT;
  uint8_t ip[16];
  memset(ip, 0, sizeof ip);
  int fam;
  if (lp2p_ip4_from_text(s, slash, ip) == 0)
    fam = 4;
  else if (lp2p_ip6_from_text(s, slash, ip) == 0)
    fam = 6;
  else
    return LP2P_ERR_PARSE;
  unsigned bits = 0;
  for (size_t i = slash + 1; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || i - slash > 3)
      return LP2P_ERR_PARSE;
    bits = bits * 10 + (unsigned)(s[i] - '0');
  }
  if (bits > (fam == 4 ? 32u : 128u))
    return LP2P_ERR_PARSE;
  c->net[c->n].family = (uint8_t)fam;
  c->net[c->n].bits = (uint8_t)bits;
  memcpy(c->net[c->n].ip, ip, 16);
  c->n++;
  return 0;
}

int lp2p_autonat_cidrs_parse(lp2p_autonat_cidrs *c, const char *text) {
  if (!c || !text)
    return LP2P_ERR_PARSE;
  memset(c, 0, sizeof *c);
  const char *p = text;
  while (*p) {
    const char *e = p;
    while (*e && *e != ',')
      e++;
    /* tolerate spaces around items */
    const char *a = p, *b = e;
    while (a < b && *a == ' ')
      a++;
    while (b > a && b[-1] == ' ')
      b--;
    if (b > a) {
      int rc = parse_one(c, a, (size_t)(b - a));
      if (rc)
        return rc;
    }
    p = *e ? e + 1 : e;
  }
  return 0;
}

int lp2p_autonat_cidrs_public(void *ud, int family, const uint8_t *ip) {
  const lp2p_autonat_cidrs *c = ud;
  if (c && ip)
    for (size_t i = 0; i < c->n; i++)
      if (c->net[i].family == family &&
          prefix_match(ip, c->net[i].ip, c->net[i].bits))
        return 1;
  return lp2p_autonat_ip_is_public(NULL, family, ip);
}

int lp2p_autonat_maddr_ip(const lp2p_maddr *m, int *family, uint8_t ip[16]) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  if (!m || !family || !ip)
    return LP2P_ERR_UNSUPPORTED;
  lp2p_maddr_iter_init(&it, m);
  if (lp2p_maddr_next(&it, &c) != 1)
    return LP2P_ERR_UNSUPPORTED;
  memset(ip, 0, 16);
  if (c.code == LP2P_MA_IP4 && c.len == 4) {
    *family = 4;
    memcpy(ip, c.value, 4);
    return 0;
  }
  if (c.code == LP2P_MA_IP6 && c.len == 16) {
    *family = 6;
    memcpy(ip, c.value, 16);
    return 0;
  }
  return LP2P_ERR_UNSUPPORTED;
}
