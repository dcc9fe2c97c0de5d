/* Multiaddr (github.com/multiformats/multiaddr): binary form is a sequence
 * of <varint protocol code><value>, where the value is fixed-size (ip4,
 * ip6, ports), absent, or <varint length><bytes>. Codes and value rules
 * are from the multicodec table and protocols.csv. Text form is
 * /name/value/name/... (see include/lp2p/multiaddr.h for our exact rules).
 *
 * Every lp2p_maddr is validated, and the text parser runs the same binary
 * validator over its output, so text -> bytes -> text -> bytes is always
 * the identity on bytes (fuzz_multiaddr checks this). */
#include "lp2p/multiaddr.h"

#include <string.h>

#include "lp2p/multihash.h"
#include "lp2p/varint.h"
#include "multiaddr_internal.h"

static const proto PROTOS[] = {
    {LP2P_MA_IP4, K_IP4, "ip4"},
    {LP2P_MA_TCP, K_PORT, "tcp"},
    {LP2P_MA_IP6, K_IP6, "ip6"},
    {LP2P_MA_IP6ZONE, K_STR, "ip6zone"},
    {LP2P_MA_DNS, K_STR, "dns"},
    {LP2P_MA_DNS4, K_STR, "dns4"},
    {LP2P_MA_DNS6, K_STR, "dns6"},
    {LP2P_MA_DNSADDR, K_STR, "dnsaddr"},
    {LP2P_MA_UDP, K_PORT, "udp"},
    {LP2P_MA_WEBRTC_DIRECT, K_NONE, "webrtc-direct"},
    {LP2P_MA_WEBRTC, K_NONE, "webrtc"},
    {LP2P_MA_P2P_CIRCUIT, K_NONE, "p2p-circuit"},
    {LP2P_MA_UNIX, K_UNIX, "unix"},
    {LP2P_MA_P2P, K_P2P, "p2p"},
    {LP2P_MA_HTTPS, K_NONE, "https"},
    {LP2P_MA_TLS, K_NONE, "tls"},
    {LP2P_MA_SNI, K_STR, "sni"},
    {LP2P_MA_NOISE, K_NONE, "noise"},
    {LP2P_MA_QUIC, K_NONE, "quic"},
    {LP2P_MA_QUIC_V1, K_NONE, "quic-v1"},
    {LP2P_MA_WEBTRANSPORT, K_NONE, "webtransport"},
    {LP2P_MA_CERTHASH, K_CERTHASH, "certhash"},
    {LP2P_MA_WS, K_NONE, "ws"},
    {LP2P_MA_WSS, K_NONE, "wss"},
    {LP2P_MA_HTTP, K_NONE, "http"},
};
#define NPROTOS (sizeof PROTOS / sizeof PROTOS[0])

const proto *maddr_by_code(uint64_t code) {
  for (size_t i = 0; i < NPROTOS; i++)
    if (PROTOS[i].code == code)
      return &PROTOS[i];
  return NULL;
}

const proto *maddr_by_name(const char *s, size_t n) {
  /* "ipfs" is the historical name of p2p (same code 421). */
  if (n == 4 && memcmp(s, "ipfs", 4) == 0)
    return maddr_by_code(LP2P_MA_P2P);
  for (size_t i = 0; i < NPROTOS; i++)
    if (strlen(PROTOS[i].name) == n && memcmp(PROTOS[i].name, s, n) == 0)
      return &PROTOS[i];
  return NULL;
}

const char *lp2p_maddr_proto_name(uint32_t code) {
  const proto *p = maddr_by_code(code);
  return p ? p->name : NULL;
}

static size_t fixed_size(uint8_t kind) {
  switch (kind) {
  case K_IP4:
    return 4;
  case K_IP6:
    return 16;
  case K_PORT:
    return 2;
  default:
    return 0;
  }
}

int maddr_has_len_prefix(uint8_t kind) {
  return kind == K_STR || kind == K_P2P || kind == K_CERTHASH || kind == K_UNIX;
}

/* A peer id multihash as the peer-ids spec makes them: identity or
 * sha2-256. Other hash codes would not print as "1..."/"Qm..." base58 and
 * so could not be read back. */
int maddr_valid_peer_mh(const uint8_t *v, size_t n) {
  uint64_t code;
  if (lp2p_multihash_parse(v, n, &code, NULL, NULL) != 0)
    return 0;
  return code == LP2P_MH_IDENTITY || code == LP2P_MH_SHA2_256;
}

int maddr_valid_value(uint8_t kind, const uint8_t *v, size_t n) {
  switch (kind) {
  case K_STR:
    return n > 0 && !memchr(v, '/', n);
  case K_P2P:
    return maddr_valid_peer_mh(v, n);
  case K_CERTHASH:
    return lp2p_multihash_parse(v, n, NULL, NULL, NULL) == 0;
  case K_UNIX:
    /* "/" + rest of the text: at least one character, and no trailing
     * '/' (the text parser drops one trailing slash). */
    return n >= 2 && v[0] == '/' && v[n - 1] != '/';
  default:
    return 1;
  }
}

/* Read one component at p[0..n). Returns its size or an error. */
static lp2p_ssize read_comp(const uint8_t *p, size_t n, lp2p_maddr_comp *c,
                            const proto **pp) {
  uint64_t code, vlen;
  lp2p_ssize k = lp2p_varint_decode(p, n, &code);
  if (k < 0)
    return LP2P_ERR_PARSE;
  const proto *pr = maddr_by_code(code);
  if (!pr)
    return LP2P_ERR_UNSUPPORTED;
  size_t off = (size_t)k;
  if (maddr_has_len_prefix(pr->kind)) {
    k = lp2p_varint_decode(p + off, n - off, &vlen);
    if (k < 0)
      return LP2P_ERR_PARSE;
    off += (size_t)k;
  } else {
    vlen = fixed_size(pr->kind);
  }
  if (vlen > n - off)
    return LP2P_ERR_PARSE;
  if (!maddr_valid_value(pr->kind, p + off, (size_t)vlen))
    return LP2P_ERR_PARSE;
  c->code = pr->code;
  c->value = p + off;
  c->len = (size_t)vlen;
  c->size = off + (size_t)vlen;
  if (pp)
    *pp = pr;
  return (lp2p_ssize)c->size;
}

int maddr_validate(const uint8_t *p, size_t n) {
  if (n == 0)
    return LP2P_ERR_PARSE;
  if (n > LP2P_MADDR_MAX)
    return LP2P_ERR_LIMIT;
  size_t pos = 0;
  while (pos < n) {
    lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
    const proto *pr;
    lp2p_ssize k = read_comp(p + pos, n - pos, &c, &pr);
    if (k < 0)
      return (int)k;
    pos += (size_t)k;
    if (pr->kind == K_UNIX && pos != n)
      return LP2P_ERR_PARSE;
  }
  return 0;
}

int lp2p_maddr_from_bytes(lp2p_maddr *m, const uint8_t *p, size_t n) {
  if (!m || (!p && n))
    return LP2P_ERR_INVAL;
  m->len = 0;
  int rc = maddr_validate(p, n);
  if (rc)
    return rc;
  memcpy(m->bytes, p, n);
  m->len = n;
  return 0;
}

/* ---- iteration and operations ---------------------------------------- */

void lp2p_maddr_iter_init(lp2p_maddr_iter *it, const lp2p_maddr *m) {
  it->p = m->bytes;
  it->n = m->len <= LP2P_MADDR_MAX ? m->len : 0;
  it->pos = 0;
}

int lp2p_maddr_next(lp2p_maddr_iter *it, lp2p_maddr_comp *c) {
  if (it->pos >= it->n)
    return 0;
  lp2p_maddr_comp t = {0, NULL, 0, 0, 0};
  lp2p_ssize k = read_comp(it->p + it->pos, it->n - it->pos, &t, NULL);
  if (k < 0)
    return (int)k;
  t.offset = it->pos;
  it->pos += (size_t)k;
  *c = t;
  return 1;
}

int lp2p_maddr_encapsulate(lp2p_maddr *a, const lp2p_maddr *b) {
  if (!a || !b || a->len > LP2P_MADDR_MAX || b->len > LP2P_MADDR_MAX)
    return LP2P_ERR_INVAL;
  if (b->len > LP2P_MADDR_MAX - a->len)
    return LP2P_ERR_LIMIT;
  if (b->len == 0)
    return 0;
  lp2p_maddr_iter it;
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  int rc;
  lp2p_maddr_iter_init(&it, a);
  while ((rc = lp2p_maddr_next(&it, &c)) == 1) {
  }
  if (rc < 0)
    return LP2P_ERR_INVAL;
  if (a->len && c.code == LP2P_MA_UNIX)
    return LP2P_ERR_INVAL;
  memmove(a->bytes + a->len, b->bytes, b->len);
  a->len += b->len;
  return 0;
}

int lp2p_maddr_decapsulate(lp2p_maddr *a, uint32_t code) {
  if (!a)
    return LP2P_ERR_INVAL;
  lp2p_maddr_iter it;
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  size_t cut = SIZE_MAX;
  lp2p_maddr_iter_init(&it, a);
  while (lp2p_maddr_next(&it, &c) == 1)
    if (c.code == code)
      cut = c.offset;
  if (cut == SIZE_MAX)
    return LP2P_ERR_NOT_FOUND;
  a->len = cut;
  return 0;
}

int lp2p_maddr_equal(const lp2p_maddr *a, const lp2p_maddr *b) {
  return a->len == b->len && a->len <= LP2P_MADDR_MAX &&
         memcmp(a->bytes, b->bytes, a->len) == 0;
}

int lp2p_maddr_find(const lp2p_maddr *m, uint32_t code, const uint8_t **value,
                    size_t *len) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  lp2p_maddr_iter_init(&it, m);
  while (lp2p_maddr_next(&it, &c) == 1) {
    if (c.code == code) {
      if (value)
        *value = c.value;
      if (len)
        *len = c.len;
      return 0;
    }
  }
  return LP2P_ERR_NOT_FOUND;
}

/* The last component, if it is /p2p. */
static int last_p2p(const lp2p_maddr *m, lp2p_maddr_comp *out) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  int any = 0;
  lp2p_maddr_iter_init(&it, m);
  while (lp2p_maddr_next(&it, &c) == 1) {
    *out = c;
    any = 1;
  }
  return any && out->code == LP2P_MA_P2P && out->offset + out->size == m->len;
}

int lp2p_maddr_get_peer_id(const lp2p_maddr *m, const uint8_t **id,
                           size_t *len) {
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  if (!last_p2p(m, &c))
    return LP2P_ERR_NOT_FOUND;
  if (id)
    *id = c.value;
  if (len)
    *len = c.len;
  return 0;
}

int lp2p_maddr_strip_peer_id(lp2p_maddr *m) {
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  if (!last_p2p(m, &c))
    return 0;
  m->len = c.offset;
  return 1;
}

static size_t put_comp_hdr(uint8_t *p, uint32_t code) {
  size_t k = 0;
  (void)lp2p_varint_encode(code, p, LP2P_VARINT_MF_MAX_LEN, &k);
  return k;
}

int lp2p_maddr_from_ip_port(lp2p_maddr *m, int family, const uint8_t ip[16],
                            uint16_t port, int udp) {
  if (!m || !ip || (family != 4 && family != 6))
    return LP2P_ERR_INVAL;
  size_t n = 0, iplen = family == 4 ? 4 : 16;
  n += put_comp_hdr(m->bytes + n, family == 4 ? LP2P_MA_IP4 : LP2P_MA_IP6);
  memcpy(m->bytes + n, ip, iplen);
  n += iplen;
  n += put_comp_hdr(m->bytes + n, udp ? LP2P_MA_UDP : LP2P_MA_TCP);
  m->bytes[n++] = (uint8_t)(port >> 8);
  m->bytes[n++] = (uint8_t)port;
  m->len = n;
  return 0;
}

int lp2p_maddr_to_ip_port(const lp2p_maddr *m, int *family, uint8_t ip[16],
                          uint16_t *port, int *udp) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp a = {0, NULL, 0, 0, 0}, b = a, c = a;
  lp2p_maddr_iter_init(&it, m);
  if (lp2p_maddr_next(&it, &a) != 1 || lp2p_maddr_next(&it, &b) != 1)
    return LP2P_ERR_UNSUPPORTED;
  if (a.code != LP2P_MA_IP4 && a.code != LP2P_MA_IP6)
    return LP2P_ERR_UNSUPPORTED;
  if (b.code != LP2P_MA_TCP && b.code != LP2P_MA_UDP)
    return LP2P_ERR_UNSUPPORTED;
  int r = lp2p_maddr_next(&it, &c);
  if (r < 0 || (r == 1 && c.code != LP2P_MA_P2P))
    return LP2P_ERR_UNSUPPORTED;
  if (r == 1 && lp2p_maddr_next(&it, &c) != 0)
    return LP2P_ERR_UNSUPPORTED;
  if (ip) {
    memset(ip, 0, 16);
    memcpy(ip, a.value, a.len);
  }
  if (family)
    *family = a.code == LP2P_MA_IP4 ? 4 : 6;
  if (port)
    *port = (uint16_t)(b.value[0] << 8 | b.value[1]);
  if (udp)
    *udp = b.code == LP2P_MA_UDP;
  return 0;
}
