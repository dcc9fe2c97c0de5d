/* STUN message codec for Binding (RFC 5389 sections 6 and 15) and the
 * RFC 5780 attributes used by behaviour discovery (section 7).
 *
 * Header: type (2, top two bits zero), length (2, body bytes, a multiple
 * of 4), magic cookie 0x2112A442, transaction id (12). Attributes: type
 * (2), length (2), value padded to 4 bytes. */
#include <string.h>

#include "lp2p/stun.h"

#define A_MAPPED 0x0001
#define A_CHANGE_REQUEST 0x0003
#define A_INTEGRITY 0x0008
#define A_ERROR_CODE 0x0009
#define A_XOR_MAPPED 0x0020
#define A_RESPONSE_ORIGIN 0x802B
#define A_OTHER_ADDRESS 0x802C
#define A_FINGERPRINT 0x8028
#define FINGERPRINT_XOR 0x5354554Eu /* section 15.5: "STUN" */

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static void wr16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

uint32_t lp2p_stun_crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

int lp2p_stun_is_stun(const uint8_t *p, size_t n) {
  if (!p || n < LP2P_STUN_HEADER || (p[0] & 0xC0) != 0)
    return 0;
  size_t len = rd16(p + 2);
  return rd32(p + 4) == LP2P_STUN_MAGIC && len % 4 == 0 &&
         len == n - LP2P_STUN_HEADER;
}

/* MAPPED-ADDRESS family (section 15.1): 0, family (1 IPv4, 2 IPv6),
 * port, address. XOR-MAPPED-ADDRESS (15.2) XORs port with the cookie's
 * top half and the address with cookie || transaction id. */
static int get_addr(lp2p_sockaddr *a, const uint8_t *v, size_t n, int xor,
                    const uint8_t *hdr) {
  if (n < 4)
    return LP2P_ERR_PARSE;
  memset(a, 0, sizeof *a);
  size_t alen = v[1] == 1 ? 4 : v[1] == 2 ? 16 : 0;
  if (!alen || n != 4 + alen)
    return LP2P_ERR_PARSE;
  a->family = alen == 4 ? 4 : 6;
  a->port = rd16(v + 2);
  memcpy(a->ip, v + 4, alen);
  if (xor) {
    a->port ^= (uint16_t)(LP2P_STUN_MAGIC >> 16);
    for (size_t i = 0; i < alen; i++)
      a->ip[i] ^= hdr[4 + i]; /* cookie then transaction id */
  }
  return 0;
}

int lp2p_stun_decode(lp2p_stun_msg *m, const uint8_t *p, size_t n) {
  if (!m || (!p && n))
    return LP2P_ERR_INVAL;
  memset(m, 0, sizeof *m);
  if (!lp2p_stun_is_stun(p, n) || n > LP2P_STUN_MSG_MAX)
    return LP2P_ERR_PARSE;
  m->type = rd16(p);
  memcpy(m->txid, p + 8, 12);
  size_t pos = LP2P_STUN_HEADER;
  while (pos < n) {
    if (m->has_fingerprint) /* FINGERPRINT must be last (15.5) */
      return LP2P_ERR_PARSE;
    if (n - pos < 4)
      return LP2P_ERR_PARSE;
    uint16_t t = rd16(p + pos), len = rd16(p + pos + 2);
    size_t padded = ((size_t)len + 3) & ~(size_t)3;
    if (padded > n - pos - 4)
      return LP2P_ERR_PARSE;
    const uint8_t *v = p + pos + 4;
    int rc = 0;
    switch (t) {
    case A_MAPPED:
      rc = get_addr(&m->mapped, v, len, 0, p);
      m->has_mapped = 1;
      break;
    case A_XOR_MAPPED:
      rc = get_addr(&m->xor_mapped, v, len, 1, p);
      m->has_xor_mapped = 1;
      break;
    case A_OTHER_ADDRESS:
      rc = get_addr(&m->other, v, len, 0, p);
      m->has_other = 1;
      break;
    case A_RESPONSE_ORIGIN:
      rc = get_addr(&m->origin, v, len, 0, p);
      m->has_origin = 1;
      break;
    case A_CHANGE_REQUEST:
      if (len != 4)
        return LP2P_ERR_PARSE;
      m->change = rd32(v);
      m->has_change = 1;
      break;
    case A_ERROR_CODE: /* 15.6: 21 reserved bits, class 3..6, number */
      if (len < 4 || (v[2] & 7) < 3 || (v[2] & 7) > 6 || v[3] > 99)
        return LP2P_ERR_PARSE;
      m->error_code = (uint16_t)((v[2] & 7) * 100 + v[3]);
      m->has_error = 1;
      break;
    case A_INTEGRITY:
      if (len != 20)
        return LP2P_ERR_PARSE;
      m->has_integrity = 1;
      break;
    case A_FINGERPRINT: {
      /* CRC over the message up to this attribute, with the header's
       * length already covering it (it does: the attribute is last) */
      if (len != 4 || (lp2p_stun_crc32(p, pos) ^ FINGERPRINT_XOR) != rd32(v))
        return LP2P_ERR_PARSE;
      m->has_fingerprint = 1;
      break;
    }
    default:
      if (t < 0x8000) /* comprehension-required (section 15) */
        m->unknown_required++;
      break;
    }
    if (rc)
      return rc;
    pos += 4 + padded;
  }
  return 0;
}

static int put_header(uint8_t *out, uint16_t type, size_t body,
                      const uint8_t txid[12]) {
  wr16(out, type);
  wr16(out + 2, (uint32_t)body);
  wr32(out + 4, LP2P_STUN_MAGIC);
  memcpy(out + 8, txid, 12);
  return 0;
}

static size_t put_addr(uint8_t *p, uint16_t type, const lp2p_sockaddr *a,
                       int xor, const uint8_t *hdr) {
  size_t alen = a->family == 6 ? 16 : 4;
  wr16(p, type);
  wr16(p + 2, (uint32_t)(4 + alen));
  p[4] = 0;
  p[5] = a->family == 6 ? 2 : 1;
  wr16(p + 6, xor ? a->port ^ (LP2P_STUN_MAGIC >> 16) : a->port);
  for (size_t i = 0; i < alen; i++)
    p[8 + i] = xor ? (uint8_t)(a->ip[i] ^ hdr[4 + i]) : a->ip[i];
  return 8 + alen;
}

static void put_fingerprint(uint8_t *out, size_t pos) {
  wr16(out + pos, A_FINGERPRINT);
  wr16(out + pos + 2, 4);
  wr32(out + pos + 4, lp2p_stun_crc32(out, pos) ^ FINGERPRINT_XOR);
}

int lp2p_stun_binding_request(const uint8_t txid[12], uint32_t change,
                              int fingerprint, uint8_t *out, size_t cap,
                              size_t *len) {
  if (!txid || !len || (!out && cap))
    return LP2P_ERR_INVAL;
  size_t body = (change ? 8u : 0u) + (fingerprint ? 8u : 0u);
  *len = LP2P_STUN_HEADER + body;
  if (cap < *len)
    return LP2P_ERR_NOSPACE;
  put_header(out, LP2P_STUN_BINDING_REQUEST, body, txid);
  size_t pos = LP2P_STUN_HEADER;
  if (change) {
    wr16(out + pos, A_CHANGE_REQUEST);
    wr16(out + pos + 2, 4);
    wr32(out + pos + 4, change & (LP2P_STUN_CHANGE_IP | LP2P_STUN_CHANGE_PORT));
    pos += 8;
  }
  if (fingerprint)
    put_fingerprint(out, pos);
  return 0;
}

static int fam_ok(const lp2p_sockaddr *a) {
  return a->family == 4 || a->family == 6;
}

int lp2p_stun_binding_response(const uint8_t txid[12],
                               const lp2p_sockaddr *mapped,
                               const lp2p_sockaddr *other,
                               const lp2p_sockaddr *origin, uint8_t *out,
                               size_t cap, size_t *len) {
  if (!txid || !mapped || !len || (!out && cap) || !fam_ok(mapped) ||
      (other && !fam_ok(other)) || (origin && !fam_ok(origin)))
    return LP2P_ERR_INVAL;
  size_t body = mapped->family == 6 ? 24u : 12u;
  if (other)
    body += other->family == 6 ? 24u : 12u;
  if (origin)
    body += origin->family == 6 ? 24u : 12u;
  *len = LP2P_STUN_HEADER + body;
  if (cap < *len)
    return LP2P_ERR_NOSPACE;
  put_header(out, LP2P_STUN_BINDING_SUCCESS, body, txid);
  size_t pos = LP2P_STUN_HEADER;
  pos += put_addr(out + pos, A_XOR_MAPPED, mapped, 1, out);
  if (other)
    pos += put_addr(out + pos, A_OTHER_ADDRESS, other, 0, out);
  if (origin)
    put_addr(out + pos, A_RESPONSE_ORIGIN, origin, 0, out);
  return 0;
}
