/* NAT-PMP messages (RFC 6886 section 3): version 0, big-endian fields.
 *
 *   address request   vers op=0                              2 bytes
 *   mapping request   vers op=1|2 reserved(16) internal(16)
 *                     suggested external(16) lifetime(32)    12 bytes
 *   response header   vers op=128+x result(16) epoch(32)      8 bytes
 *     + address       external IPv4(32)                      12 bytes
 *     + mapping       internal(16) external(16) lifetime(32) 16 bytes */
#include <string.h>

#include "lp2p/natpmp.h"

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

size_t lp2p_natpmp_addr_req_encode(uint8_t out[LP2P_NATPMP_REQ_ADDR_LEN]) {
  out[0] = 0;
  out[1] = LP2P_NATPMP_OP_ADDR;
  return LP2P_NATPMP_REQ_ADDR_LEN;
}

size_t lp2p_natpmp_map_req_encode(uint8_t out[LP2P_NATPMP_REQ_MAP_LEN],
                                  uint8_t op, uint16_t internal_port,
                                  uint16_t suggested_port,
                                  uint32_t lifetime_s) {
  if (op != LP2P_NATPMP_OP_MAP_UDP && op != LP2P_NATPMP_OP_MAP_TCP)
    return 0;
  out[0] = 0;
  out[1] = op;
  put16(out + 2, 0); /* reserved, MUST be zero */
  put16(out + 4, internal_port);
  put16(out + 6, suggested_port);
  put32(out + 8, lifetime_s);
  return LP2P_NATPMP_REQ_MAP_LEN;
}

int lp2p_natpmp_resp_parse(const uint8_t *p, size_t n,
                           lp2p_natpmp_resp *out) {
  memset(out, 0, sizeof *out);
  if (n < 2)
    return LP2P_ERR_TRUNCATED;
  if (p[0] != 0 || p[1] < 128)
    return LP2P_ERR_PARSE; /* not a NAT-PMP response (3.5) */
  uint8_t op = (uint8_t)(p[1] - 128);
  if (op > LP2P_NATPMP_OP_MAP_TCP)
    return LP2P_ERR_PARSE;
  if (n < LP2P_NATPMP_RESP_ERR_LEN)
    return LP2P_ERR_TRUNCATED;
  out->op = op;
  out->result = get16(p + 2);
  out->epoch = get32(p + 4);
  if (op == LP2P_NATPMP_OP_ADDR) {
    if (n >= LP2P_NATPMP_RESP_ADDR_LEN)
      memcpy(out->external_ip, p + 8, 4);
    else if (out->result == LP2P_NATPMP_OK)
      return LP2P_ERR_TRUNCATED;
    return 0;
  }
  if (n >= LP2P_NATPMP_RESP_MAP_LEN) {
    out->internal_port = get16(p + 8);
    out->external_port = get16(p + 10);
    out->lifetime_s = get32(p + 12);
  } else if (out->result == LP2P_NATPMP_OK) {
    return LP2P_ERR_TRUNCATED;
  }
  return 0;
}
