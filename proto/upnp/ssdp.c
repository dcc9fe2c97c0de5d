/* SSDP for gateway discovery (UPnP Device Architecture 1.1, section 1.3):
 * the M-SEARCH request and a tolerant parser for the unicast replies and
 * NOTIFY announcements routers send.
 *
 * Routers are sloppy: header names in any case (LOCATION, Location,
 * location), bare LF line ends, blanks before the colon or around values,
 * headers we have never heard of, a trailing blank line or none at all.
 * All of that is accepted; only the bounds (datagram, line, header count)
 * and the missing essentials (ST/NT, LOCATION) are refused. */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"

int lp2p_ssdp_msearch_build(const char *st, unsigned mx, char *out,
                            size_t cap, size_t *len) {
  if (!st || !st[0] || upnp_has_ctl(st, strlen(st)) || !out || !len)
    return LP2P_ERR_INVAL;
  /* UDA 1.1 1.3.2: MX between 1 and 5 seconds */
  if (mx < 1)
    mx = 1;
  if (mx > 5)
    mx = 5;
  upnp_w w = {(uint8_t *)out, cap, 0, 0};
  upnp_w_str(&w, "M-SEARCH * HTTP/1.1\r\n"
                 "HOST: " LP2P_SSDP_ADDR4 ":1900\r\n"
                 "MAN: \"ssdp:discover\"\r\n"
                 "MX: ");
  upnp_w_u64(&w, mx);
  upnp_w_str(&w, "\r\nST: ");
  upnp_w_str(&w, st);
  upnp_w_str(&w, "\r\n\r\n");
  if (w.over)
    return LP2P_ERR_NOSPACE;
  *len = w.len;
  return 0;
}

/* CACHE-CONTROL: "max-age = 1800" (blanks allowed, other directives
 * ignored); 0 when absent or unreadable */
static uint32_t parse_max_age(const char *v, size_t n) {
  for (size_t i = 0; i + 7 <= n; i++) {
    if (!upnp_iprefix(v + i, n - i, "max-age"))
      continue;
    size_t j = i + 7;
    while (j < n && upnp_is_blank(v[j]))
      j++;
    if (j >= n || v[j] != '=')
      return 0;
    j++;
    while (j < n && upnp_is_blank(v[j]))
      j++;
    size_t k = j;
    while (k < n && v[k] >= '0' && v[k] <= '9')
      k++;
    uint64_t x;
    if (upnp_parse_u64(v + j, k - j, UINT32_MAX, &x) != 0)
      return 0;
    return (uint32_t)x;
  }
  return 0;
}

int lp2p_ssdp_reply_parse(const uint8_t *p, size_t n, lp2p_ssdp_reply *out) {
  memset(out, 0, sizeof *out);
  if (n > LP2P_SSDP_MSG_MAX)
    return LP2P_ERR_LIMIT;
  const char *s = (const char *)p;
  size_t pos = 0, lines = 0;
  int first = 1, have_st = 0;
  while (pos < n) {
    size_t e = pos;
    while (e < n && s[e] != '\n')
      e++;
    const char *line = s + pos;
    size_t ll = e - pos;
    pos = e < n ? e + 1 : n;
    if (ll > LP2P_SSDP_LINE_MAX)
      return LP2P_ERR_LIMIT;
    if (ll && line[ll - 1] == '\r')
      ll--;
    if (first) {
      first = 0;
      /* "HTTP/1.1 200 OK" (some send HTTP/1.0) or "NOTIFY * HTTP/1.1" */
      if (upnp_iprefix(line, ll, "HTTP/1.")) {
        if (ll < 12 || line[8] != ' ' || memcmp(line + 9, "200", 3) != 0 ||
            (ll > 12 && line[12] != ' '))
          return LP2P_ERR_PARSE;
      } else if (upnp_iprefix(line, ll, "NOTIFY ")) {
        out->notify = 1;
      } else {
        return LP2P_ERR_PARSE;
      }
      continue;
    }
    if (ll == 0)
      break; /* end of headers; SSDP has no body */
    if (++lines > LP2P_SSDP_HEADERS_MAX)
      return LP2P_ERR_LIMIT;
    const char *colon = memchr(line, ':', ll);
    if (!colon)
      continue;
    const char *name = line, *val = colon + 1;
    size_t nl = (size_t)(colon - line), vl = ll - nl - 1;
    upnp_trim(&name, &nl);
    upnp_trim(&val, &vl);
    if (upnp_ieq(name, nl, "LOCATION")) {
      if (!out->location) {
        out->location = val;
        out->location_len = vl;
      }
    } else if (upnp_ieq(name, nl, out->notify ? "NT" : "ST")) {
      if (!have_st) {
        have_st = 1;
        out->st = val;
        out->st_len = vl;
      }
    } else if (upnp_ieq(name, nl, "USN")) {
      if (!out->usn) {
        out->usn = val;
        out->usn_len = vl;
      }
    } else if (upnp_ieq(name, nl, "NTS")) {
      if (out->notify && upnp_ieq(val, vl, "ssdp:byebye"))
        out->byebye = 1;
    } else if (upnp_ieq(name, nl, "CACHE-CONTROL")) {
      out->max_age = parse_max_age(val, vl);
    }
  }
  if (first || !have_st || out->st_len == 0)
    return LP2P_ERR_PARSE;
  if (!out->byebye && (!out->location || out->location_len == 0))
    return LP2P_ERR_PARSE;
  return 0;
}

int lp2p_ssdp_reply_igd_version(const lp2p_ssdp_reply *r) {
  /* URNs compare case-insensitively in their NID (RFC 8141 3.1); routers
   * do not vary the rest, so one rule for all of it is fine */
  static const struct { const char *st; int v; } known[] = {
      {LP2P_UPNP_ST_IGD1, 1},   {LP2P_UPNP_ST_IGD2, 2},
      {LP2P_UPNP_ST_WANIP1, 1}, {LP2P_UPNP_ST_WANIP2, 2},
      {LP2P_UPNP_ST_WANPPP1, 1},
  };
  if (!r->st || r->byebye)
    return 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (upnp_ieq(r->st, r->st_len, known[i].st))
      return known[i].v;
  return 0;
}
