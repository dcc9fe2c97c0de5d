/* The punch forwarding protocol's wire format (include/lp2p/punch.h):
 * the 3-byte stream header and the 2-byte length framing of datagrams.
 * A version byte leads the header so a later format can be told apart,
 * and so that bytes of another protocol are refused rather than read as
 * a port. */
#include "lp2p/punch.h"

int lp2p_punch_header_encode(uint8_t out[LP2P_PUNCH_HEADER_LEN],
                             uint16_t port) {
  if (!out || port == 0)
    return LP2P_ERR_INVAL;
  out[0] = LP2P_PUNCH_VERSION;
  out[1] = (uint8_t)(port >> 8);
  out[2] = (uint8_t)port;
  return 0;
}

lp2p_ssize lp2p_punch_header_decode(const uint8_t *p, size_t n,
                                    uint16_t *port) {
  if (!p && n)
    return LP2P_ERR_INVAL;
  if (n >= 1 && p[0] != LP2P_PUNCH_VERSION)
    return LP2P_ERR_PARSE;
  if (n < LP2P_PUNCH_HEADER_LEN)
    return 0;
  uint16_t v = (uint16_t)((p[1] << 8) | p[2]);
  if (v == 0)
    return LP2P_ERR_PARSE;
  if (port)
    *port = v;
  return LP2P_PUNCH_HEADER_LEN;
}

int lp2p_punch_frame_encode(uint8_t out[LP2P_PUNCH_FRAME_HEADER_LEN],
                            size_t len) {
  if (!out)
    return LP2P_ERR_INVAL;
  if (len > LP2P_PUNCH_DATAGRAM_MAX)
    return LP2P_ERR_LIMIT;
  out[0] = (uint8_t)(len >> 8);
  out[1] = (uint8_t)len;
  return 0;
}

lp2p_ssize lp2p_punch_frame_decode(const uint8_t *p, size_t n,
                                   const uint8_t **payload, size_t *len) {
  if (!p && n)
    return LP2P_ERR_INVAL;
  if (n < LP2P_PUNCH_FRAME_HEADER_LEN)
    return 0;
  size_t l = ((size_t)p[0] << 8) | p[1];
  if (l > LP2P_PUNCH_DATAGRAM_MAX)
    return LP2P_ERR_PARSE;
  if (n - LP2P_PUNCH_FRAME_HEADER_LEN < l)
    return 0;
  if (payload)
    *payload = p + LP2P_PUNCH_FRAME_HEADER_LEN;
  if (len)
    *len = l;
  return (lp2p_ssize)(LP2P_PUNCH_FRAME_HEADER_LEN + l);
}
