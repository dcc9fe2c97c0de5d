/* DNS message codec, RFC 1035 section 4. Zero allocation; every read is
 * bounds-checked against the message length; compression pointers may only
 * point backwards and a chain is bounded, so a hostile answer cannot loop. */
#include <string.h>

#include "lp2p/dns.h"

#define PTR_HOPS_MAX 16

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

int lp2p_dns_query_encode(uint16_t id, const char *name, size_t name_len,
                          uint16_t qtype, uint8_t *out, size_t cap,
                          size_t *len) {
  if (name_len && name[name_len - 1] == '.')
    name_len--;
  if (name_len == 0 || name_len > LP2P_DNS_NAME_MAX - 1)
    return LP2P_ERR_INVAL;
  size_t need = 12 + name_len + 2 + 4;
  if (cap < need)
    return LP2P_ERR_NOSPACE;
  put16(out, id);
  put16(out + 2, 0x0100); /* RD: ask the resolver to recurse */
  put16(out + 4, 1);      /* QDCOUNT */
  memset(out + 6, 0, 6);
  size_t o = 12, start = 0;
  for (size_t i = 0; i <= name_len; i++) {
    if (i < name_len && name[i] != '.')
      continue;
    size_t l = i - start;
    if (l == 0 || l > 63)
      return LP2P_ERR_INVAL;
    out[o++] = (uint8_t)l;
    memcpy(out + o, name + start, l);
    o += l;
    start = i + 1;
  }
  out[o++] = 0;
  put16(out + o, qtype);
  put16(out + o + 2, 1); /* class IN */
  *len = o + 4;
  return 0;
}

/* Skips a name at *off without decoding it. */
static int skip_name(const uint8_t *m, size_t n, size_t *off) {
  size_t o = *off;
  for (;;) {
    if (o >= n)
      return LP2P_ERR_PARSE;
    uint8_t l = m[o];
    if ((l & 0xc0) == 0xc0) {
      if (o + 2 > n)
        return LP2P_ERR_PARSE;
      *off = o + 2;
      return 0;
    }
    if (l & 0xc0)
      return LP2P_ERR_PARSE; /* 0x40/0x80 label types are obsolete */
    o += 1u + l;
    if (l == 0) {
      *off = o;
      return 0;
    }
  }
}

int lp2p_dns_name_decode(const uint8_t *m, size_t n, size_t off, char *out,
                         size_t cap, size_t *len) {
  size_t o = off, w = 0;
  int hops = 0;
  for (;;) {
    if (o >= n)
      return LP2P_ERR_PARSE;
    uint8_t l = m[o];
    if ((l & 0xc0) == 0xc0) {
      if (o + 2 > n || ++hops > PTR_HOPS_MAX)
        return LP2P_ERR_PARSE;
      size_t target = (size_t)(get16(m + o) & 0x3fff);
      if (target >= o) /* only backwards: no loops, no forward tricks */
        return LP2P_ERR_PARSE;
      o = target;
      continue;
    }
    if (l & 0xc0)
      return LP2P_ERR_PARSE;
    if (l == 0)
      break;
    if (o + 1 + l > n)
      return LP2P_ERR_PARSE;
    if (w + l + 1 > LP2P_DNS_NAME_MAX)
      return LP2P_ERR_PARSE;
    if (w + l + (w ? 1 : 0) > cap)
      return LP2P_ERR_NOSPACE;
    if (w)
      out[w++] = '.';
    memcpy(out + w, m + o + 1, l);
    w += l;
    o += 1u + l;
  }
  *len = w;
  return 0;
}

static int name_eq(const uint8_t *m, size_t n, size_t off, const char *name,
                   size_t name_len) {
  char buf[LP2P_DNS_NAME_MAX];
  size_t l;
  if (name_len && name[name_len - 1] == '.')
    name_len--;
  if (lp2p_dns_name_decode(m, n, off, buf, sizeof buf, &l) != 0 ||
      l != name_len)
    return 0;
  for (size_t i = 0; i < l; i++) {
    char a = buf[i], b = name[i];
    if (a >= 'A' && a <= 'Z')
      a = (char)(a + 32);
    if (b >= 'A' && b <= 'Z')
      b = (char)(b + 32);
    if (a != b)
      return 0;
  }
  return 1;
}

int lp2p_dns_resp_parse(lp2p_dns_resp *r, const uint8_t *m, size_t n,
                        const char *name, size_t name_len, uint16_t qtype) {
  memset(r, 0, sizeof(*r));
  if (n > LP2P_DNS_MSG_MAX)
    return LP2P_ERR_LIMIT;
  if (n < 12)
    return LP2P_ERR_PARSE;
  r->id = get16(m);
  r->flags = get16(m + 2);
  if (!(r->flags & 0x8000))
    return LP2P_ERR_PARSE; /* not a response */
  if (r->flags & 0x0200)
    return LP2P_ERR_TRUNCATED;
  r->rcode = (uint8_t)(r->flags & 0xf);
  r->qdcount = get16(m + 4);
  r->ancount = get16(m + 6);
  r->msg = m;
  r->msg_len = n;
  size_t o = 12;
  if (name && r->qdcount != 1)
    return LP2P_ERR_PARSE;
  for (uint16_t i = 0; i < r->qdcount; i++) {
    size_t qname = o;
    if (skip_name(m, n, &o) != 0 || o + 4 > n)
      return LP2P_ERR_PARSE;
    if (name && (!name_eq(m, n, qname, name, name_len) ||
                 get16(m + o) != qtype))
      return LP2P_ERR_PARSE;
    o += 4;
  }
  r->pos = o;
  r->left = r->ancount;
  return 0;
}

int lp2p_dns_resp_next(lp2p_dns_resp *r, lp2p_dns_rr *rr) {
  if (r->left == 0)
    return 0;
  size_t o = r->pos;
  if (skip_name(r->msg, r->msg_len, &o) != 0 || o + 10 > r->msg_len)
    return LP2P_ERR_PARSE;
  const uint8_t *p = r->msg + o;
  rr->type = get16(p);
  rr->rclass = get16(p + 2);
  rr->ttl = (uint32_t)get16(p + 4) << 16 | get16(p + 6);
  rr->len = get16(p + 8);
  o += 10;
  if (o + rr->len > r->msg_len)
    return LP2P_ERR_PARSE;
  rr->data = r->msg + o;
  if ((rr->type == LP2P_DNS_TYPE_A && rr->len != 4) ||
      (rr->type == LP2P_DNS_TYPE_AAAA && rr->len != 16))
    return LP2P_ERR_PARSE;
  r->pos = o + rr->len;
  r->left--;
  return 1;
}

int lp2p_dns_txt_join(const lp2p_dns_rr *rr, char *out, size_t cap,
                      size_t *len) {
  size_t o = 0, w = 0;
  while (o < rr->len) {
    size_t l = rr->data[o];
    if (o + 1 + l > rr->len)
      return LP2P_ERR_PARSE;
    if (w + l > cap)
      return LP2P_ERR_NOSPACE;
    memcpy(out + w, rr->data + o + 1, l);
    w += l;
    o += 1 + l;
  }
  *len = w;
  return 0;
}
