/* PCP messages (RFC 6887 sections 7 and 11), big-endian:
 *
 *   request header   version=2 R=0|opcode reserved(16) lifetime(32)
 *                    client IP(128)                            24 bytes
 *   response header  version R=1|opcode reserved(8) result(8) lifetime(32)
 *                    epoch(32) reserved(96)                    24 bytes
 *   MAP payload      nonce(96) protocol(8) reserved(24) internal port(16)
 *                    suggested/assigned external port(16)
 *                    suggested/assigned external IP(128)       36 bytes
 *   option           code(8) reserved(8) length(16) data, padded to 4
 *
 * A NAT-PMP-only server answers our version 2 with its own version 0
 * UNSUPP_VERSION (RFC 6887 9, RFC 6886 3.5); that is parsed too, so the
 * client can fall back. */
#include <string.h>

#include "lp2p/pcp.h"

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}
static uint16_t get16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)get16(p) << 16) | get16(p + 2);
}

int lp2p_pcp_map_encode(const lp2p_pcp_map_req *req, uint8_t *out, size_t cap,
                        size_t *len) {
  if (cap < LP2P_PCP_MAP_LEN)
    return LP2P_ERR_NOSPACE;
  memset(out, 0, LP2P_PCP_MAP_LEN);
  out[0] = LP2P_PCP_VERSION;
  out[1] = LP2P_PCP_OP_MAP; /* R = 0: a request */
  put32(out + 4, req->lifetime_s);
  memcpy(out + 8, req->client_ip, 16);
  memcpy(out + 24, req->nonce, LP2P_PCP_NONCE_LEN);
  out[36] = req->protocol;
  put16(out + 40, req->internal_port);
  put16(out + 42, req->suggested_port);
  memcpy(out + 44, req->suggested_ip, 16);
  *len = LP2P_PCP_MAP_LEN;
  return 0;
}

/* options after the opcode payload: framing only (RFC 6887 7.3) */
static int walk_options(const uint8_t *p, size_t n, size_t off) {
  while (off < n) {
    if (n - off < 4)
      return LP2P_ERR_PARSE;
    size_t olen = get16(p + off + 2);
    size_t padded = (olen + 3) & ~(size_t)3;
    if (padded > n - off - 4)
      return LP2P_ERR_PARSE;
    off += 4 + padded;
  }
  return 0;
}

int lp2p_pcp_resp_parse(const uint8_t *p, size_t n, lp2p_pcp_resp *out) {
  memset(out, 0, sizeof *out);
  if (n < 4)
    return LP2P_ERR_TRUNCATED;
  if (p[0] == 0) { /* NAT-PMP: vers 0, op 128 + x, result(16), epoch(32) */
    if (p[1] < 128)
      return LP2P_ERR_PARSE;
    if (n < 8)
      return LP2P_ERR_TRUNCATED;
    uint16_t r = get16(p + 2);
    out->version = 0;
    out->opcode = (uint8_t)(p[1] - 128);
    out->result = r > 255 ? 255 : (uint8_t)r;
    out->epoch = get32(p + 4);
    return 0;
  }
  /* RFC 6887 8.3: silently drop what is too long or not 4-aligned */
  if (n > LP2P_PCP_MSG_MAX || n % 4 != 0 || !(p[1] & 0x80))
    return LP2P_ERR_PARSE;
  out->version = p[0];
  out->opcode = p[1] & 0x7f;
  out->result = p[3];
  if (p[0] != LP2P_PCP_VERSION) {
    /* RFC 6887 9: a server of another version answers UNSUPP_VERSION
     * with the version it speaks */
    if (p[3] != LP2P_PCP_UNSUPP_VERSION)
      return LP2P_ERR_UNSUPPORTED;
    if (n >= 12)
      out->epoch = get32(p + 8);
    return 0;
  }
  if (n < LP2P_PCP_HEADER_LEN)
    return LP2P_ERR_TRUNCATED;
  out->lifetime_s = get32(p + 4);
  out->epoch = get32(p + 8);
  size_t off = LP2P_PCP_HEADER_LEN;
  if (out->opcode == LP2P_PCP_OP_MAP) {
    if (n >= LP2P_PCP_MAP_LEN) {
      const uint8_t *m = p + LP2P_PCP_HEADER_LEN;
      out->has_map = 1;
      memcpy(out->nonce, m, LP2P_PCP_NONCE_LEN);
      out->protocol = m[12];
      out->internal_port = get16(m + 16);
      out->external_port = get16(m + 18);
      memcpy(out->external_ip, m + 20, 16);
      off = LP2P_PCP_MAP_LEN;
    } else if (out->result == LP2P_PCP_SUCCESS) {
      return LP2P_ERR_TRUNCATED;
    } else {
      return 0; /* a short error answer: nothing more to read */
    }
  } else if (out->opcode != LP2P_PCP_OP_ANNOUNCE) {
    return 0; /* PEER and others: we never ask, the caller drops them */
  }
  return walk_options(p, n, off);
}
