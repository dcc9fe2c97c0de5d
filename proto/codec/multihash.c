/* Multihash (github.com/multiformats/multihash): <varint code><varint
 * length><digest>. Both varints use the multiformats unsigned-varint rules
 * (minimal, <= 9 bytes). */
#include "lp2p/multihash.h"

#include <string.h>

#include "lp2p/crypto.h"
#include "lp2p/varint.h"

lp2p_ssize lp2p_multihash_read(const uint8_t *p, size_t n, uint64_t *code,
                               const uint8_t **digest, size_t *dlen) {
  if (!p && n)
    return LP2P_ERR_INVAL;
  uint64_t c, l;
  lp2p_ssize k1 = lp2p_varint_decode(p, n, &c);
  if (k1 < 0)
    return LP2P_ERR_PARSE;
  lp2p_ssize k2 = lp2p_varint_decode(p + k1, n - (size_t)k1, &l);
  if (k2 < 0)
    return LP2P_ERR_PARSE;
  size_t off = (size_t)k1 + (size_t)k2;
  if (l > LP2P_MH_DIGEST_MAX)
    return LP2P_ERR_LIMIT;
  if (l > n - off)
    return LP2P_ERR_PARSE;
  /* A sha2-256 multihash with a truncated digest is legal in the spec
   * but never valid for libp2p peer ids or certhashes: reject it. */
  if (c == LP2P_MH_SHA2_256 && l != LP2P_MH_SHA2_256_LEN)
    return LP2P_ERR_PARSE;
  if (code)
    *code = c;
  if (digest)
    *digest = p + off;
  if (dlen)
    *dlen = (size_t)l;
  return (lp2p_ssize)(off + (size_t)l);
}

int lp2p_multihash_parse(const uint8_t *p, size_t n, uint64_t *code,
                         const uint8_t **digest, size_t *dlen) {
  lp2p_ssize k = lp2p_multihash_read(p, n, code, digest, dlen);
  if (k < 0)
    return (int)k;
  if ((size_t)k != n)
    return LP2P_ERR_PARSE;
  return 0;
}

int lp2p_multihash_identity(const uint8_t *p, size_t n, uint8_t *out,
                            size_t cap, size_t *len) {
  if ((!p && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  if (n > LP2P_MH_DIGEST_MAX)
    return LP2P_ERR_LIMIT;
  size_t vl = lp2p_varint_len(n);
  if (cap < 1 + vl + n)
    return LP2P_ERR_NOSPACE;
  out[0] = LP2P_MH_IDENTITY;
  (void)lp2p_varint_encode(n, out + 1, vl, NULL);
  if (n)
    memmove(out + 1 + vl, p, n);
  if (len)
    *len = 1 + vl + n;
  return 0;
}

int lp2p_multihash_sha256(const uint8_t *p, size_t n, uint8_t *out, size_t cap,
                          size_t *len) {
  if ((!p && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  if (cap < 2 + LP2P_MH_SHA2_256_LEN)
    return LP2P_ERR_NOSPACE;
  uint8_t d[LP2P_MH_SHA2_256_LEN];
  lp2p_sha256(d, p, n); /* hash first: p may overlap out */
  out[0] = LP2P_MH_SHA2_256;
  out[1] = LP2P_MH_SHA2_256_LEN;
  memcpy(out + 2, d, sizeof d);
  if (len)
    *len = 2 + LP2P_MH_SHA2_256_LEN;
  return 0;
}
