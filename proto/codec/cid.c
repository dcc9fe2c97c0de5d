/* CID (github.com/multiformats/cid): "CIDv0" is a bare sha2-256 multihash;
 * "CIDv1" is <multicodec-cidv1><multicodec-content-type><multihash>. The
 * spec's decoding algorithm: a 46-char string starting "Qm" is v0
 * base58btc; otherwise a multibase string whose decoded bytes start with
 * version 1 (0x12 as the first byte would be a v0 CID in binary). */
#include "lp2p/cid.h"

#include <string.h>

#include "lp2p/multibase.h"
#include "lp2p/multihash.h"
#include "lp2p/varint.h"

int lp2p_cid_decode(const uint8_t *p, size_t n, lp2p_cid *out) {
  if (!p && n)
    return LP2P_ERR_INVAL;
  lp2p_cid c;
  if (n == 2 + LP2P_MH_SHA2_256_LEN && p[0] == LP2P_MH_SHA2_256 &&
      p[1] == LP2P_MH_SHA2_256_LEN) {
    c.version = 0;
    c.codec = LP2P_CID_DAG_PB;
    c.mh = p;
    c.mh_len = n;
  } else {
    uint64_t ver, codec;
    lp2p_ssize k1 = lp2p_varint_decode(p, n, &ver);
    if (k1 < 0)
      return LP2P_ERR_PARSE;
    if (ver != 1)
      return LP2P_ERR_PARSE;
    lp2p_ssize k2 = lp2p_varint_decode(p + k1, n - (size_t)k1, &codec);
    if (k2 < 0)
      return LP2P_ERR_PARSE;
    size_t off = (size_t)k1 + (size_t)k2;
    int rc = lp2p_multihash_parse(p + off, n - off, NULL, NULL, NULL);
    if (rc)
      return rc;
    c.version = 1;
    c.codec = codec;
    c.mh = p + off;
    c.mh_len = n - off;
  }
  if (out)
    *out = c;
  return 0;
}

int lp2p_cid_encode(uint64_t codec, const uint8_t *mh, size_t mh_len,
                    uint8_t *out, size_t cap, size_t *len) {
  if ((!mh && mh_len) || (!out && cap))
    return LP2P_ERR_INVAL;
  if (codec >= UINT64_C(1) << 63)
    return LP2P_ERR_INVAL;
  int rc = lp2p_multihash_parse(mh, mh_len, NULL, NULL, NULL);
  if (rc)
    return rc;
  size_t cl = lp2p_varint_len(codec);
  if (cap < 1 + cl || mh_len > cap - 1 - cl)
    return LP2P_ERR_NOSPACE;
  memmove(out + 1 + cl, mh, mh_len);
  out[0] = 1;
  (void)lp2p_varint_encode(codec, out + 1, cl, NULL);
  if (len)
    *len = 1 + cl + mh_len;
  return 0;
}

int lp2p_cid_to_text(char base, const uint8_t *cid, size_t n, char *out,
                     size_t cap, size_t *len) {
  lp2p_cid c;
  int rc = lp2p_cid_decode(cid, n, &c);
  if (rc)
    return rc;
  if (c.version == 0)
    return lp2p_base58_encode(cid, n, out, cap, len);
  return lp2p_multibase_encode(base, cid, n, out, cap, len);
}

int lp2p_cid_from_text(const char *s, size_t n, uint8_t *out, size_t cap,
                       size_t *len) {
  if ((!s && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  size_t k = 0;
  int rc;
  int v0 = n == 46 && s[0] == 'Q' && s[1] == 'm';
  if (v0)
    rc = lp2p_base58_decode(s, n, out, cap, &k);
  else
    rc = lp2p_multibase_decode(s, n, out, cap, &k);
  if (rc)
    return rc;
  lp2p_cid c;
  rc = lp2p_cid_decode(out, k, &c);
  if (rc)
    return rc;
  /* A v1 text whose bytes happen to be a v0 CID is not canonical. */
  if ((c.version == 0) != v0)
    return LP2P_ERR_PARSE;
  if (len)
    *len = k;
  return 0;
}
