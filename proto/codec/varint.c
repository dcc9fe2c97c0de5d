/* Multiformats unsigned varint (github.com/multiformats/unsigned-varint):
 * little-endian base-128 groups, MSB = continuation, minimal encoding only,
 * at most 9 bytes so the value fits in 63 bits. */
#include "lp2p/varint.h"

size_t lp2p_varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

int lp2p_varint_encode(uint64_t v, uint8_t *out, size_t cap, size_t *len) {
  size_t need = lp2p_varint_len(v);
  if (need > cap)
    return LP2P_ERR_NOSPACE;
  if (!out)
    return LP2P_ERR_INVAL;
  for (size_t i = 0; i < need; i++) {
    uint8_t b = (uint8_t)(v & 0x7f);
    v >>= 7;
    out[i] = (uint8_t)(i + 1 < need ? (b | 0x80) : b);
  }
  if (len)
    *len = need;
  return 0;
}

lp2p_ssize lp2p_varint_decode(const uint8_t *p, size_t n, uint64_t *v) {
  if ((!p && n) || !v)
    return LP2P_ERR_INVAL;
  uint64_t acc = 0;
  for (size_t i = 0; i < LP2P_VARINT_MF_MAX_LEN; i++) {
    if (i >= n)
      return LP2P_ERR_TRUNCATED;
    uint8_t b = p[i];
    acc |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      /* Spec "Practical maximum" and "Minimal": the last byte of a
       * multi-byte varint must not be zero. */
      if (b == 0 && i > 0)
        return LP2P_ERR_NONMINIMAL;
      *v = acc;
      return (lp2p_ssize)(i + 1);
    }
  }
  /* Nine bytes all with the continuation bit: a tenth would exceed 63
   * bits, which the spec forbids. */
  return LP2P_ERR_OVERFLOW;
}
