/* Signed envelopes (libp2p RFC 0002, "Wire Format" and "Signature
 * Production / Verification"). */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/record.h"
#include "lp2p/varint.h"

/* The signed bytes: three varint-length-prefixed fields. */
#define SIGBUF_MAX (LP2P_ENVELOPE_MAX + LP2P_ENVELOPE_DOMAIN_MAX + 3 * 10)

static int domain_len(const char *domain, size_t *dl) {
  if (!domain)
    return LP2P_ERR_INVAL;
  size_t n = 0;
  while (domain[n] && n <= LP2P_ENVELOPE_DOMAIN_MAX)
    n++;
  if (n == 0 || n > LP2P_ENVELOPE_DOMAIN_MAX)
    return LP2P_ERR_INVAL;
  *dl = n;
  return 0;
}

static void put_field(uint8_t *buf, size_t *pos, const uint8_t *p, size_t n) {
  size_t k = 0;
  lp2p_varint_encode(n, buf + *pos, 10, &k);
  *pos += k;
  if (n)
    memcpy(buf + *pos, p, n);
  *pos += n;
}

/* Assemble the signed buffer into buf[0..SIGBUF_MAX); the caller has
 * bounded ptlen + plen by LP2P_ENVELOPE_MAX. */
static size_t signed_bytes(uint8_t *buf, const char *domain, size_t dl,
                           const uint8_t *ptype, size_t ptlen,
                           const uint8_t *payload, size_t plen) {
  size_t pos = 0;
  put_field(buf, &pos, (const uint8_t *)domain, dl);
  put_field(buf, &pos, ptype, ptlen);
  put_field(buf, &pos, payload, plen);
  return pos;
}

int lp2p_envelope_seal(const lp2p_privkey *k, const char *domain,
                       const uint8_t *ptype, size_t ptlen,
                       const uint8_t *payload, size_t plen, uint8_t *out,
                       size_t cap, size_t *len) {
  size_t dl;
  if (!k || (ptlen && !ptype) || (plen && !payload) || (!out && cap) ||
      domain_len(domain, &dl))
    return LP2P_ERR_INVAL;
  if (ptlen > LP2P_ENVELOPE_MAX || plen > LP2P_ENVELOPE_MAX - ptlen)
    return LP2P_ERR_LIMIT;

  uint8_t key[LP2P_PUBKEY_PB_MAX];
  size_t keylen;
  if (lp2p_pubkey_marshal(&k->pub, key, sizeof(key), &keylen) != 0)
    return LP2P_ERR_INVAL;

  uint8_t sig[LP2P_SIG_MAX];
  size_t siglen = sizeof(sig);
  {
    uint8_t buf[SIGBUF_MAX];
    size_t bl = signed_bytes(buf, domain, dl, ptype, ptlen, payload, plen);
    int rc = lp2p_key_sign(k, buf, bl, sig, &siglen);
    if (rc)
      return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_CRYPTO : rc;
  }

  /* Measure first so that LIMIT is reported before NOSPACE. */
  size_t total = lp2p_pb_size_bytes(1, keylen) + lp2p_pb_size_bytes(5, siglen);
  if (ptlen)
    total += lp2p_pb_size_bytes(2, ptlen);
  if (plen)
    total += lp2p_pb_size_bytes(3, plen);
  if (len)
    *len = total;
  if (total > LP2P_ENVELOPE_MAX)
    return LP2P_ERR_LIMIT;
  if (total > cap)
    return LP2P_ERR_NOSPACE;

  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, cap);
  lp2p_pb_put_bytes(&w, 1, key, keylen);
  if (ptlen)
    lp2p_pb_put_bytes(&w, 2, ptype, ptlen);
  if (plen)
    lp2p_pb_put_bytes(&w, 3, payload, plen);
  lp2p_pb_put_bytes(&w, 5, sig, siglen);
  return lp2p_pb_writer_finish(&w, len);
}

int lp2p_envelope_open(const uint8_t *p, size_t n, const char *expected_domain,
                       lp2p_envelope_view *out) {
  size_t dl;
  if (!out)
    return LP2P_ERR_INVAL;
  memset(out, 0, sizeof(*out));
  if ((!p && n) || domain_len(expected_domain, &dl))
    return LP2P_ERR_INVAL;
  if (n > LP2P_ENVELOPE_MAX)
    return LP2P_ERR_LIMIT;

  lp2p_envelope_view v;
  memset(&v, 0, sizeof(v));
  const uint8_t *key = NULL;
  size_t keylen = 0;
  unsigned seen = 0;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2 && f.num != 3 && f.num != 5)
      continue; /* unknown field: proto3 skips it */
    if (f.wire != LP2P_PB_LEN || (seen & (1u << f.num)))
      return LP2P_ERR_PARSE;
    seen |= 1u << f.num;
    switch (f.num) {
    case 1:
      key = f.bytes;
      keylen = f.len;
      break;
    case 2:
      v.payload_type = f.bytes;
      v.payload_type_len = f.len;
      break;
    case 3:
      v.payload = f.bytes;
      v.payload_len = f.len;
      break;
    default:
      v.signature = f.bytes;
      v.signature_len = f.len;
      break;
    }
  }
  if (rc < 0 || !key)
    return LP2P_ERR_PARSE;
  rc = lp2p_pubkey_unmarshal(&v.key, key, keylen);
  if (rc)
    return rc == LP2P_ERR_KEY_TYPE ? rc : LP2P_ERR_PARSE;
  if (!v.signature || v.signature_len == 0)
    return LP2P_ERR_SIGNATURE;

  {
    /* payload_type + payload are inside an input of at most
     * LP2P_ENVELOPE_MAX bytes, so they fit the buffer. */
    uint8_t buf[SIGBUF_MAX];
    size_t bl = signed_bytes(buf, expected_domain, dl, v.payload_type,
                             v.payload_type_len, v.payload, v.payload_len);
    if (lp2p_key_verify(&v.key, buf, bl, v.signature, v.signature_len) != 0)
      return LP2P_ERR_SIGNATURE;
  }
  if (lp2p_peerid_from_pubkey(&v.signer, &v.key) != 0)
    return LP2P_ERR_PARSE;
  *out = v;
  return 0;
}
