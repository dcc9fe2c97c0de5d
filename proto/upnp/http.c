/* The HTTP/1.1 client side UPnP needs (RFC 9112): a request builder for
 * the description GET and the SOAP POST, and an incremental response
 * parser that never allocates: lines go through a fixed buffer, the body
 * into the caller's.
 *
 * Body framing follows RFC 9112 section 6.3: no body for 1xx, 204 and 304;
 * a Transfer-Encoding whose last coding is chunked wins over any
 * Content-Length; another Transfer-Encoding, or no length at all, means the
 * body ends when the server closes (what many IGD web servers do, often
 * with HTTP/1.0). Interim 1xx responses are skipped. Every line, the
 * header count and the body are bounded. */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"

enum {
  PH_STATUS,
  PH_HEADERS,
  PH_BODY_LEN,    /* Content-Length bytes */
  PH_BODY_CLOSE,  /* until the server closes */
  PH_CHUNK_SIZE,
  PH_CHUNK_DATA,
  PH_CHUNK_END,   /* the CRLF after a chunk's data */
  PH_TRAILERS,
  PH_DONE,
};

#define TE_NONE 0
#define TE_CHUNKED 1
#define TE_OTHER 2 /* a coding we do not undo: read until close */

int lp2p_http_request_build(const lp2p_upnp_url *url, const char *soap_action,
                            const uint8_t *body, size_t body_len, uint8_t *out,
                            size_t cap, size_t *len) {
  if (!url || !out || !len || !url->host[0] || url->path[0] != '/')
    return LP2P_ERR_INVAL;
  if (upnp_has_ctl(url->path, strlen(url->path)) ||
      upnp_has_ctl(url->host, strlen(url->host)) ||
      (soap_action && upnp_has_ctl(soap_action, strlen(soap_action))))
    return LP2P_ERR_INVAL;
  upnp_w w = {out, cap, 0, 0};
  upnp_w_str(&w, soap_action ? "POST " : "GET ");
  upnp_w_str(&w, url->path);
  upnp_w_str(&w, " HTTP/1.1\r\nHost: ");
  upnp_w_str(&w, url->host);
  if (url->port != 80) { /* RFC 9110 7.2: the port only when not default */
    upnp_w_str(&w, ":");
    upnp_w_u64(&w, url->port);
  }
  upnp_w_str(&w, "\r\nUser-Agent: lp2p UPnP/1.1\r\nConnection: close\r\n");
  if (soap_action) {
    upnp_w_str(&w, "Content-Type: text/xml; charset=\"utf-8\"\r\n"
                   "SOAPAction: \"");
    upnp_w_str(&w, soap_action);
    upnp_w_str(&w, "\"\r\nContent-Length: ");
    upnp_w_u64(&w, body_len);
    upnp_w_str(&w, "\r\n");
  }
  upnp_w_str(&w, "\r\n");
  if (soap_action && body && body_len)
    upnp_w_bytes(&w, body, body_len);
  if (w.over)
    return LP2P_ERR_NOSPACE;
  *len = w.len;
  return 0;
}

void lp2p_http_resp_init(lp2p_http_resp *r, uint8_t *body, size_t body_cap) {
  memset(r, 0, sizeof *r);
  r->body = body;
  r->body_cap = body ? body_cap : 0;
  r->phase = PH_STATUS;
}

int lp2p_http_resp_done(const lp2p_http_resp *r) {
  return r->err == 0 && r->phase == PH_DONE;
}

static int fail(lp2p_http_resp *r, int err) {
  r->err = err;
  return err;
}

/* "HTTP/1.x NNN reason" */
static int status_line(lp2p_http_resp *r, const char *l, size_t n) {
  if (n < 12 || !upnp_iprefix(l, n, "HTTP/1.") || l[7] < '0' || l[7] > '9' ||
      l[8] != ' ')
    return LP2P_ERR_PARSE;
  uint64_t st;
  if (upnp_parse_u64(l + 9, 3, 999, &st) != 0 || st < 100 || st > 599 ||
      (n > 12 && l[12] != ' '))
    return LP2P_ERR_PARSE;
  r->status = (int)st;
  r->has_length = 0;
  r->chunked = TE_NONE;
  r->length = 0;
  return 0;
}

static int header_line(lp2p_http_resp *r, const char *l, size_t n) {
  if (++r->nheaders > LP2P_HTTP_HEADERS_MAX)
    return LP2P_ERR_LIMIT;
  if (upnp_is_blank(l[0]))
    return 0; /* obsolete line folding: only ever on headers we skip */
  const char *colon = memchr(l, ':', n);
  if (!colon)
    return LP2P_ERR_PARSE;
  const char *name = l, *val = colon + 1;
  size_t nl = (size_t)(colon - l), vl = n - nl - 1;
  upnp_trim(&name, &nl);
  upnp_trim(&val, &vl);
  if (nl == 0)
    return LP2P_ERR_PARSE;
  if (upnp_ieq(name, nl, "Content-Length")) {
    uint64_t v;
    if (upnp_parse_u64(val, vl, UINT64_MAX, &v) != 0)
      return vl > 0 && vl <= 20 && val[0] >= '0' && val[0] <= '9'
                 ? LP2P_ERR_OVERFLOW
                 : LP2P_ERR_PARSE;
    if (r->has_length && r->length != v)
      return LP2P_ERR_PARSE; /* RFC 9112 6.3 item 5: conflicting lengths */
    r->has_length = 1;
    r->length = v;
  } else if (upnp_ieq(name, nl, "Transfer-Encoding")) {
    /* the last coding decides (RFC 9112 6.3 item 4) */
    size_t s = vl;
    while (s > 0 && val[s - 1] != ',')
      s--;
    const char *last = val + s;
    size_t ln = vl - s;
    upnp_trim(&last, &ln);
    r->chunked = upnp_ieq(last, ln, "chunked") ? TE_CHUNKED : TE_OTHER;
  } else if (upnp_ieq(name, nl, "Connection")) {
    if (upnp_ieq(val, vl, "close"))
      r->conn_close = 1;
  }
  return 0;
}

/* the empty line after the headers: decide how the body is framed */
static int headers_end(lp2p_http_resp *r) {
  if (r->status < 200) { /* interim (100 Continue ...): another follows */
    r->phase = PH_STATUS;
    r->nheaders = 0;
    return 0;
  }
  if (r->status == 204 || r->status == 304) {
    r->phase = PH_DONE;
    return 0;
  }
  if (r->chunked == TE_CHUNKED) {
    r->phase = PH_CHUNK_SIZE;
  } else if (r->chunked == TE_NONE && r->has_length) {
    if (r->length > r->body_cap)
      return LP2P_ERR_LIMIT;
    r->phase = r->length ? PH_BODY_LEN : PH_DONE;
  } else {
    r->phase = PH_BODY_CLOSE;
  }
  return 0;
}

/* "1a3f[;ext]" (RFC 9112 7.1) */
static int chunk_size_line(lp2p_http_resp *r, const char *l, size_t n) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < n) {
    int c = upnp_lower((unsigned char)l[i]), d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      break;
    if (v >> 60)
      return LP2P_ERR_OVERFLOW;
    v = v * 16 + (uint64_t)d;
    i++;
  }
  if (i == 0)
    return LP2P_ERR_PARSE;
  while (i < n && upnp_is_blank(l[i]))
    i++;
  if (i < n && l[i] != ';')
    return LP2P_ERR_PARSE;
  if (v == 0) {
    r->phase = PH_TRAILERS;
    return 0;
  }
  if (v > r->body_cap - r->body_len)
    return LP2P_ERR_LIMIT;
  r->chunk_left = v;
  r->phase = PH_CHUNK_DATA;
  return 0;
}

static int line_done(lp2p_http_resp *r) {
  size_t n = r->line_len;
  const char *l = r->line;
  if (n && l[n - 1] == '\r')
    n--;
  r->line_len = 0;
  switch (r->phase) {
  case PH_STATUS:
    if (n == 0)
      return 0; /* stray CRLF before a status line (RFC 9112 2.2) */
    if (status_line(r, l, n) != 0)
      return LP2P_ERR_PARSE;
    r->phase = PH_HEADERS;
    return 0;
  case PH_HEADERS:
    return n == 0 ? headers_end(r) : header_line(r, l, n);
  case PH_CHUNK_SIZE:
    return chunk_size_line(r, l, n);
  case PH_CHUNK_END:
    if (n != 0)
      return LP2P_ERR_PARSE;
    r->phase = PH_CHUNK_SIZE;
    return 0;
  case PH_TRAILERS:
    if (n == 0) {
      r->phase = PH_DONE;
      return 0;
    }
    return ++r->nheaders > LP2P_HTTP_HEADERS_MAX ? LP2P_ERR_LIMIT : 0;
  default:
    return LP2P_ERR_INTERNAL;
  }
}

static size_t take_body(lp2p_http_resp *r, const uint8_t *p, size_t n,
                        uint64_t want) {
  size_t k = want < n ? (size_t)want : n;
  memcpy(r->body + r->body_len, p, k);
  r->body_len += k;
  return k;
}

lp2p_ssize lp2p_http_resp_feed(lp2p_http_resp *r, const uint8_t *p,
                               size_t n) {
  if (r->err)
    return r->err;
  size_t i = 0;
  while (i < n && r->phase != PH_DONE) {
    int rc = 0;
    switch (r->phase) {
    case PH_BODY_LEN:
      i += take_body(r, p + i, n - i, r->length - r->body_len);
      if (r->body_len == r->length)
        r->phase = PH_DONE;
      break;
    case PH_BODY_CLOSE:
      if (n - i > r->body_cap - r->body_len)
        return fail(r, LP2P_ERR_LIMIT);
      i += take_body(r, p + i, n - i, n - i);
      break;
    case PH_CHUNK_DATA: {
      size_t k = take_body(r, p + i, n - i, r->chunk_left);
      i += k;
      r->chunk_left -= k;
      if (r->chunk_left == 0)
        r->phase = PH_CHUNK_END;
      break;
    }
    default: { /* a line phase */
      const uint8_t *nl = memchr(p + i, '\n', n - i);
      size_t k = nl ? (size_t)(nl - (p + i)) : n - i;
      if (k > sizeof r->line - r->line_len)
        return fail(r, LP2P_ERR_LIMIT);
      memcpy(r->line + r->line_len, p + i, k);
      r->line_len += k;
      i += k;
      if (nl) {
        i++;
        rc = line_done(r);
      }
      break;
    }
    }
    if (rc)
      return fail(r, rc);
  }
  return (lp2p_ssize)i;
}

int lp2p_http_resp_eof(lp2p_http_resp *r) {
  if (r->err)
    return r->err;
  if (r->phase == PH_BODY_CLOSE)
    r->phase = PH_DONE;
  if (r->phase != PH_DONE)
    return fail(r, LP2P_ERR_TRUNCATED);
  return 0;
}
