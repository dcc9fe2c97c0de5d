/* yamux frame header codec (spec "Framing"): 12 bytes, network byte order:
 * version (8), type (8), flags (16), stream id (32), length (32). Pure: no
 * allocation, no state. */
#include "lp2p/yamux.h"

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

void lp2p_yamux_header_encode(uint8_t out[LP2P_YAMUX_HEADER_BYTES],
                              const lp2p_yamux_header *h) {
  out[0] = h->version;
  out[1] = h->type;
  out[2] = (uint8_t)(h->flags >> 8);
  out[3] = (uint8_t)h->flags;
  put32(out + 4, h->stream_id);
  put32(out + 8, h->length);
}

int lp2p_yamux_header_decode(lp2p_yamux_header *h, const uint8_t *p, size_t n) {
  if (!h || (!p && n))
    return LP2P_ERR_INVAL;
  if (n < LP2P_YAMUX_HEADER_BYTES)
    return LP2P_ERR_TRUNCATED;
  h->version = p[0];
  h->type = p[1];
  h->flags = (uint16_t)((unsigned)p[2] << 8 | p[3]);
  h->stream_id = get32(p + 4);
  h->length = get32(p + 8);
  /* "At the current time, the field is always set to 0". */
  if (h->version != LP2P_YAMUX_VERSION)
    return LP2P_ERR_UNSUPPORTED;
  if (h->type > LP2P_YAMUX_TYPE_GO_AWAY)
    return LP2P_ERR_PARSE;
  return 0;
}
