/* Peer ids: derivation from public keys, binary and text forms (peer-ids
 * spec "Peer Ids" and "String representation"; RFC 0001). */
#include <string.h>

#include "lp2p/cid.h"
#include "lp2p/multibase.h"
#include "lp2p/multihash.h"
#include "lp2p/peerid.h"

int lp2p_peerid_from_pubkey(lp2p_peerid *out, const lp2p_pubkey *k) {
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  size_t n;
  if (!out || !k || lp2p_pubkey_marshal(k, pb, sizeof(pb), &n) != 0)
    return LP2P_ERR_INVAL;
  /* Spec: at most 42 bytes -> identity multihash, else sha2-256. */
  int rc = n <= LP2P_PEERID_INLINE_MAX
               ? lp2p_multihash_identity(pb, n, out->bytes, sizeof(out->bytes),
                                         &out->len)
               : lp2p_multihash_sha256(pb, n, out->bytes, sizeof(out->bytes),
                                       &out->len);
  return rc ? LP2P_ERR_INVAL : 0;
}

int lp2p_peerid_from_bytes(lp2p_peerid *out, const uint8_t *p, size_t n) {
  uint64_t code;
  const uint8_t *dig;
  size_t dlen;
  if (!out || (!p && n))
    return LP2P_ERR_INVAL;
  if (n > LP2P_PEERID_MAX)
    return LP2P_ERR_LIMIT;
  int rc = lp2p_multihash_parse(p, n, &code, &dig, &dlen);
  if (rc)
    return rc == LP2P_ERR_LIMIT ? LP2P_ERR_LIMIT : LP2P_ERR_PARSE;
  /* Only the two hash functions the spec derives peer ids with. */
  if (code != LP2P_MH_IDENTITY && code != LP2P_MH_SHA2_256)
    return LP2P_ERR_UNSUPPORTED;
  memcpy(out->bytes, p, n);
  out->len = n;
  return 0;
}

int lp2p_peerid_parse(lp2p_peerid *out, const char *text, size_t n) {
  uint8_t buf[LP2P_CID_MAX];
  size_t len;
  int rc;
  if (!out || !text)
    return LP2P_ERR_INVAL;
  if (n > LP2P_PEERID_TEXT_MAX)
    return LP2P_ERR_LIMIT;
  if (n == 0)
    return LP2P_ERR_PARSE;
  /* Spec "Decoding": "1..." or "Qm..." is a bare base58btc multihash. */
  if (text[0] == '1' || (n >= 2 && text[0] == 'Q' && text[1] == 'm')) {
    rc = lp2p_base58_decode(text, n, buf, sizeof(buf), &len);
    if (rc)
      return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_LIMIT : LP2P_ERR_PARSE;
    return lp2p_peerid_from_bytes(out, buf, len);
  }
  /* Otherwise a multibase CIDv1 with the libp2p-key codec. */
  rc = lp2p_multibase_decode(text, n, buf, sizeof(buf), &len);
  if (rc)
    return rc == LP2P_ERR_UNSUPPORTED ? rc
           : rc == LP2P_ERR_NOSPACE   ? LP2P_ERR_LIMIT
                                      : LP2P_ERR_PARSE;
  lp2p_cid cid;
  rc = lp2p_cid_decode(buf, len, &cid);
  if (rc)
    return rc == LP2P_ERR_LIMIT ? rc : LP2P_ERR_PARSE;
  if (cid.version != 1)
    return LP2P_ERR_PARSE;
  if (cid.codec != LP2P_CID_LIBP2P_KEY)
    return LP2P_ERR_UNSUPPORTED;
  return lp2p_peerid_from_bytes(out, cid.mh, cid.mh_len);
}

static int valid(const lp2p_peerid *id) {
  return id && id->len > 0 && id->len <= sizeof(id->bytes);
}

int lp2p_peerid_to_base58(const lp2p_peerid *id, char *out, size_t cap,
                          size_t *len) {
  if (!valid(id) || (!out && cap))
    return LP2P_ERR_INVAL;
  int rc = lp2p_base58_encode(id->bytes, id->len, out, cap, len);
  return rc == LP2P_ERR_NOSPACE ? rc : rc ? LP2P_ERR_INVAL : 0;
}

int lp2p_peerid_to_cid_base32(const lp2p_peerid *id, char *out, size_t cap,
                              size_t *len) {
  uint8_t cid[LP2P_CID_MAX];
  size_t clen;
  if (!valid(id) || (!out && cap))
    return LP2P_ERR_INVAL;
  if (lp2p_cid_encode(LP2P_CID_LIBP2P_KEY, id->bytes, id->len, cid, sizeof(cid),
                      &clen) != 0)
    return LP2P_ERR_INVAL;
  int rc = lp2p_cid_to_text(LP2P_BASE32, cid, clen, out, cap, len);
  return rc == LP2P_ERR_NOSPACE ? rc : rc ? LP2P_ERR_INVAL : 0;
}

int lp2p_peerid_equal(const lp2p_peerid *a, const lp2p_peerid *b) {
  return valid(a) && valid(b) && a->len == b->len &&
         memcmp(a->bytes, b->bytes, a->len) == 0;
}

int lp2p_peerid_pubkey(const lp2p_peerid *id, lp2p_pubkey *out) {
  uint64_t code;
  const uint8_t *dig;
  size_t dlen;
  if (!valid(id) || !out)
    return LP2P_ERR_INVAL;
  if (lp2p_multihash_parse(id->bytes, id->len, &code, &dig, &dlen) != 0)
    return LP2P_ERR_PARSE;
  if (code != LP2P_MH_IDENTITY)
    return LP2P_ERR_NOT_FOUND;
  lp2p_pubkey k;
  int rc = lp2p_pubkey_unmarshal(&k, dig, dlen);
  if (rc)
    return rc;
  /* An inlined key must re-derive this very id (e.g. a 65-byte secp256k1
   * point would normalize to a different, compressed id). */
  lp2p_peerid back;
  if (lp2p_peerid_from_pubkey(&back, &k) != 0 || !lp2p_peerid_equal(&back, id))
    return LP2P_ERR_PARSE;
  *out = k;
  return 0;
}

int lp2p_peerid_matches_pubkey(const lp2p_peerid *id, const lp2p_pubkey *k) {
  lp2p_peerid d;
  if (!valid(id) || !k || lp2p_peerid_from_pubkey(&d, k) != 0)
    return 0;
  return lp2p_peerid_equal(&d, id);
}
