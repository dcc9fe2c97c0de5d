/* http:// URLs as UPnP uses them: splitting LOCATION / controlURL for a
 * request, and resolving a description's relative controlURL against
 * URLBase or LOCATION (UDA 1.1 section 2.3: "relative URLs are resolved
 * against URLBase, else against the URL the description came from"),
 * with the reference resolution of RFC 3986 section 5.2 reduced to the
 * forms devices write. */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"

#define HTTP_SCHEME "http://"
#define HTTP_SCHEME_LEN 7

/* end of the authority that starts at s[from] */
static size_t authority_end(const char *s, size_t n, size_t from) {
  size_t i = from;
  while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
    i++;
  return i;
}

static int bad_char(char c) {
  return (unsigned char)c <= 0x20 || c == 0x7f;
}

int lp2p_upnp_url_parse(const char *url, size_t n, lp2p_upnp_url *out) {
  memset(out, 0, sizeof *out);
  if (!url || n == 0)
    return LP2P_ERR_PARSE;
  if (!upnp_iprefix(url, n, HTTP_SCHEME)) {
    const char *c = memchr(url, ':', n);
    return (c && c != url) ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_PARSE;
  }
  size_t a = HTTP_SCHEME_LEN, ae = authority_end(url, n, a);
  const char *auth = url + a;
  size_t al = ae - a;
  if (al == 0 || memchr(auth, '@', al))
    return LP2P_ERR_PARSE; /* no host, or userinfo: never sent by an IGD */
  size_t hl;
  if (auth[0] == '[') {
    const char *rb = memchr(auth, ']', al);
    if (!rb || rb == auth + 1)
      return LP2P_ERR_PARSE;
    hl = (size_t)(rb - auth) + 1;
  } else {
    const char *c = memchr(auth, ':', al);
    hl = c ? (size_t)(c - auth) : al;
  }
  if (hl == 0)
    return LP2P_ERR_PARSE;
  if (hl >= sizeof out->host)
    return LP2P_ERR_LIMIT;
  for (size_t i = 0; i < hl; i++)
    if (bad_char(auth[i]))
      return LP2P_ERR_PARSE;
  memcpy(out->host, auth, hl);
  out->port = 80;
  if (hl < al) {
    if (auth[hl] != ':')
      return LP2P_ERR_PARSE;
    uint64_t port;
    if (hl + 1 < al) { /* "host:" alone means the default port */
      if (upnp_parse_u64(auth + hl + 1, al - hl - 1, 65535, &port) != 0 ||
          port == 0)
        return LP2P_ERR_PARSE;
      out->port = (uint16_t)port;
    }
  }
  /* path and query; a fragment is never sent */
  size_t pe = ae;
  while (pe < n && url[pe] != '#')
    pe++;
  size_t pl = pe - ae, o = 0;
  if (pl == 0 || url[ae] != '/')
    out->path[o++] = '/';
  if (o + pl >= sizeof out->path)
    return LP2P_ERR_LIMIT;
  for (size_t i = 0; i < pl; i++) {
    if (bad_char(url[ae + i]))
      return LP2P_ERR_PARSE;
    out->path[o++] = url[ae + i];
  }
  return 0;
}

int lp2p_upnp_url_resolve(const char *base, size_t base_len, const char *ref,
                          size_t ref_len, char *out, size_t cap, size_t *len) {
  lp2p_upnp_url check;
  int rc = lp2p_upnp_url_parse(base, base_len, &check);
  if (rc == LP2P_ERR_LIMIT)
    rc = LP2P_ERR_PARSE;
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < ref_len; i++)
    if (bad_char(ref[i]))
      return LP2P_ERR_PARSE;
  /* base without its fragment */
  size_t bl = 0;
  while (bl < base_len && base[bl] != '#')
    bl++;
  size_t ae = authority_end(base, bl, HTTP_SCHEME_LEN);
  size_t qs = ae; /* where base's query starts */
  while (qs < bl && base[qs] != '?')
    qs++;
  upnp_w w = {(uint8_t *)out, cap, 0, 0};
  /* a scheme: letters, digits, + - . before the first ':' (RFC 3986 3.1) */
  size_t k = 0;
  while (k < ref_len && ref[k] != ':' && ref[k] != '/' && ref[k] != '?' &&
         ref[k] != '#')
    k++;
  if (k < ref_len && ref[k] == ':' && k > 0) {
    if (!upnp_iprefix(ref, ref_len, HTTP_SCHEME))
      return LP2P_ERR_UNSUPPORTED;
    upnp_w_bytes(&w, ref, ref_len);
  } else if (ref_len >= 2 && ref[0] == '/' && ref[1] == '/') {
    upnp_w_str(&w, "http:");
    upnp_w_bytes(&w, ref, ref_len);
  } else if (ref_len >= 1 && ref[0] == '/') {
    upnp_w_bytes(&w, base, ae);
    upnp_w_bytes(&w, ref, ref_len);
  } else if (ref_len == 0) {
    upnp_w_bytes(&w, base, bl);
  } else if (ref[0] == '?') {
    upnp_w_bytes(&w, base, qs);
    upnp_w_bytes(&w, ref, ref_len);
  } else {
    /* merge (RFC 3986 5.2.3): base path up to its last '/' */
    size_t d = qs;
    while (d > ae && base[d - 1] != '/')
      d--;
    upnp_w_bytes(&w, base, d);
    if (d == ae)
      upnp_w_str(&w, "/");
    upnp_w_bytes(&w, ref, ref_len);
  }
  upnp_w_bytes(&w, "", 1); /* NUL */
  if (w.over)
    return LP2P_ERR_NOSPACE;
  *len = w.len - 1;
  rc = lp2p_upnp_url_parse(out, *len, &check);
  if (rc == LP2P_ERR_LIMIT)
    return LP2P_ERR_NOSPACE;
  return rc;
}
