/* The resolver's text inputs: resolv.conf(5) "nameserver" lines and the
 * hosts(5) table. The driver reads the files (proto/ never opens one) and
 * passes the text in; both parsers walk it once, bounded by its length,
 * and allocate nothing. */
#include <string.h>

#include "lp2p/multiaddr.h"
#include "proto/dns/dns_conf.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Next whitespace-separated token of the line [*pos, end). */
static int token(const char *t, size_t end, size_t *pos, const char **tok,
                 size_t *tl) {
  size_t i = *pos;
  while (i < end && is_space(t[i]))
    i++;
  size_t s = i;
  while (i < end && !is_space(t[i]))
    i++;
  *pos = i;
  *tok = t + s;
  *tl = i - s;
  return *tl != 0;
}

/* End of the line starting at `s`, without its comment ('#', and ';' in
 * resolv.conf). */
static size_t line_end(const char *t, size_t len, size_t s, size_t *next,
                       int semicolon) {
  size_t e = s;
  while (e < len && t[e] != '\n')
    e++;
  *next = e < len ? e + 1 : e;
  for (size_t i = s; i < e; i++)
    if (t[i] == '#' || (semicolon && t[i] == ';'))
      return i;
  return e;
}

static int ip_parse(const char *s, size_t n, uint8_t ip[16], uint8_t *fam) {
  memset(ip, 0, 16);
  if (lp2p_ip4_from_text(s, n, ip) == 0) {
    *fam = 4;
    return 1;
  }
  if (lp2p_ip6_from_text(s, n, ip) == 0) {
    *fam = 6;
    return 1;
  }
  return 0;
}

int lp2p_dns_resolv_conf_parse(const char *text, size_t len,
                               lp2p_sockaddr *out, size_t cap, size_t *n) {
  if (n)
    *n = 0;
  if ((!text && len) || (!out && cap) || !n)
    return LP2P_ERR_INVAL;
  for (size_t s = 0, next; s < len && *n < cap; s = next) {
    size_t e = line_end(text, len, s, &next, 1), pos = s, tl;
    const char *tok;
    if (!token(text, e, &pos, &tok, &tl) || tl != 10 ||
        memcmp(tok, "nameserver", 10) != 0 ||
        !token(text, e, &pos, &tok, &tl))
      continue;
    lp2p_sockaddr sa;
    memset(&sa, 0, sizeof sa);
    if (!ip_parse(tok, tl, sa.ip, &sa.family))
      continue;
    sa.port = 53; /* RFC 1035 4.2.1 */
    if (token(text, e, &pos, &tok, &tl)) {
      uint32_t port = 0;
      size_t i = 0;
      for (; i < tl && i < 6 && tok[i] >= '0' && tok[i] <= '9'; i++)
        port = port * 10 + (uint32_t)(tok[i] - '0');
      if (i != tl || port == 0 || port > 65535)
        continue;
      sa.port = (uint16_t)port;
    }
    out[(*n)++] = sa;
  }
  return 0;
}

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

int dns_name_eq(const char *a, size_t al, const char *b, size_t bl) {
  if (al && a[al - 1] == '.')
    al--;
  if (bl && b[bl - 1] == '.')
    bl--;
  if (al != bl)
    return 0;
  for (size_t i = 0; i < al; i++)
    if (lower(a[i]) != lower(b[i]))
      return 0;
  return 1;
}

size_t dns_hosts_find(const char *text, size_t len, const char *name,
                      size_t name_len, unsigned fams, uint8_t (*ips)[16],
                      uint8_t *fam, size_t max) {
  size_t k = 0;
  for (size_t s = 0, next; s < len && k < max; s = next) {
    size_t e = line_end(text, len, s, &next, 0), pos = s, tl;
    const char *tok;
    uint8_t ip[16], f;
    if (!token(text, e, &pos, &tok, &tl) || !ip_parse(tok, tl, ip, &f))
      continue;
    if (!(fams & (f == 4 ? LP2P_DNS_FAM4 : LP2P_DNS_FAM6)))
      continue;
    while (token(text, e, &pos, &tok, &tl))
      if (dns_name_eq(tok, tl, name, name_len)) {
        memcpy(ips[k], ip, 16);
        fam[k++] = f;
        break;
      }
  }
  return k;
}
