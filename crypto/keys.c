/* libp2p keys: dispatch by key type and the PublicKey / PrivateKey
 * protobufs (peer-ids spec, "Keys").
 *
 * The protobuf is hand-rolled here rather than taken from proto/codec,
 * because crypto/ sits below proto/ (DESIGN.md section 1). The spec
 * requires a deterministic encoding (minimal varints, tag order, all
 * fields, no others), and the parser accepts exactly that form: a key has
 * one byte representation, so peer ids derived from it are unambiguous. */
#include <sodium.h>
#include <string.h>

#include "crypto/aead_internal.h"
#include "crypto/keys_internal.h"
#include "crypto/verify_memo.h"

static const key_ops *ops_for(uint64_t type) {
  switch (type) {
  case LP2P_KEY_RSA:
    return &lp2p_key_ops_rsa;
  case LP2P_KEY_ED25519:
    return &lp2p_key_ops_ed25519;
  case LP2P_KEY_SECP256K1:
    return &lp2p_key_ops_secp256k1;
  case LP2P_KEY_ECDSA:
    return &lp2p_key_ops_ecdsa;
  default:
    return NULL;
  }
}

int lp2p_key_generate(lp2p_privkey *out, lp2p_key_type type, unsigned bits,
                      const lp2p_rng *rng) {
  if (!out || !rng || !rng->fill)
    return LP2P_ERR_INVAL;
  const key_ops *o = ops_for((uint64_t)type);
  if (!o)
    return LP2P_ERR_KEY_TYPE;
  if (sodium_init() < 0 || lp2p_aead_init() != 0)
    return LP2P_ERR_CRYPTO;
  lp2p_privkey k;
  memset(&k, 0, sizeof(k));
  k.type = type;
  int rc = o->generate(&k, bits, rng);
  if (rc == 0)
    *out = k;
  sodium_memzero(&k, sizeof(k));
  return rc;
}

int lp2p_key_sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                  uint8_t *sig, size_t *sig_len) {
  if (!k || !sig || !sig_len || (n && !msg))
    return LP2P_ERR_INVAL;
  const key_ops *o = ops_for((uint64_t)k->type);
  if (!o)
    return LP2P_ERR_KEY_TYPE;
  return o->sign(k, msg ? msg : (const uint8_t *)"", n, sig, sig_len);
}

int lp2p_key_verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                    const uint8_t *sig, size_t sig_len) {
  if (!k || (n && !msg) || (sig_len && !sig))
    return LP2P_ERR_SIGNATURE;
  const key_ops *o = ops_for((uint64_t)k->type);
  if (!o || k->len > sizeof(k->data))
    return LP2P_ERR_SIGNATURE;
  if (!msg)
    msg = (const uint8_t *)"";
  if (!sig)
    sig = (const uint8_t *)"";
  /* the same triple verified before: the same answer (verify_memo.c) */
  uint8_t d[32];
  lp2p_verify_memo_digest(k, msg, n, sig, sig_len, d);
  if (lp2p_verify_memo_seen(d))
    return 0;
  int rc = o->verify(k, msg, n, sig, sig_len);
  if (rc == 0)
    lp2p_verify_memo_add(d);
  return rc;
}

/* ---- protobuf: 0x08 <type varint> 0x12 <len varint> <data> ----------- */

static size_t varint_put(uint8_t *p, uint64_t v) {
  size_t i = 0;
  while (v >= 0x80) {
    p[i++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[i++] = (uint8_t)v;
  return i;
}

/* Minimal protobuf varint at p[0..n). Returns bytes used, 0 on error. */
static size_t varint_get(const uint8_t *p, size_t n, uint64_t *v) {
  uint64_t r = 0;
  for (size_t i = 0; i < n && i < 10; i++) {
    uint64_t b = p[i] & 0x7f;
    if (i == 9 && b > 1)
      return 0; /* above 2^64-1 */
    r |= b << (7 * i);
    if (!(p[i] & 0x80)) {
      if (i > 0 && p[i] == 0)
        return 0; /* not minimal */
      *v = r;
      return i + 1;
    }
  }
  return 0;
}

static int marshal(uint64_t type, const uint8_t *d, size_t dl, uint8_t *out,
                   size_t cap, size_t *len) {
  uint8_t hdr[2 + 10 + 1 + 10];
  size_t h = 0;
  hdr[h++] = 0x08;
  h += varint_put(hdr + h, type);
  hdr[h++] = 0x12;
  h += varint_put(hdr + h, dl);
  if (len)
    *len = h + dl;
  if (!out || cap < h || dl > cap - h)
    return LP2P_ERR_NOSPACE;
  memcpy(out, hdr, h);
  if (dl)
    memcpy(out + h, d, dl);
  return 0;
}

/* Split a canonical key protobuf into type and Data. */
static int unmarshal(const uint8_t *p, size_t n, size_t data_max,
                     uint64_t *type, const uint8_t **d, size_t *dl) {
  size_t pos = 0, k;
  uint64_t t, l;
  if (!p || n < 4 || p[0] != 0x08)
    return LP2P_ERR_PARSE;
  pos = 1;
  if (!(k = varint_get(p + pos, n - pos, &t)))
    return LP2P_ERR_PARSE;
  pos += k;
  if (pos >= n || p[pos] != 0x12)
    return LP2P_ERR_PARSE;
  pos++;
  if (!(k = varint_get(p + pos, n - pos, &l)))
    return LP2P_ERR_PARSE;
  pos += k;
  if (l != n - pos) /* Data must end the message: no extra fields */
    return LP2P_ERR_PARSE;
  if (!ops_for(t))
    return LP2P_ERR_KEY_TYPE;
  if (l > data_max)
    return LP2P_ERR_LIMIT;
  *type = t;
  *d = p + pos;
  *dl = (size_t)l;
  return 0;
}

int lp2p_pubkey_marshal(const lp2p_pubkey *k, uint8_t *out, size_t cap,
                        size_t *len) {
  if (!k || k->len > sizeof(k->data) || !ops_for((uint64_t)k->type))
    return LP2P_ERR_INVAL;
  return marshal((uint64_t)k->type, k->data, k->len, out, cap, len);
}

int lp2p_privkey_marshal(const lp2p_privkey *k, uint8_t *out, size_t cap,
                         size_t *len) {
  if (!k || k->len > sizeof(k->data) || !ops_for((uint64_t)k->type))
    return LP2P_ERR_INVAL;
  return marshal((uint64_t)k->type, k->data, k->len, out, cap, len);
}

int lp2p_pubkey_unmarshal(lp2p_pubkey *k, const uint8_t *p, size_t n) {
  uint64_t t;
  const uint8_t *d;
  size_t dl;
  if (!k)
    return LP2P_ERR_INVAL;
  int rc = unmarshal(p, n, LP2P_PUBKEY_DATA_MAX, &t, &d, &dl);
  if (rc)
    return rc;
  lp2p_pubkey tmp;
  memset(&tmp, 0, sizeof(tmp));
  tmp.type = (lp2p_key_type)t;
  rc = ops_for(t)->pub_load(&tmp, d, dl);
  if (rc == 0)
    *k = tmp;
  return rc;
}

int lp2p_privkey_unmarshal(lp2p_privkey *k, const uint8_t *p, size_t n) {
  uint64_t t;
  const uint8_t *d;
  size_t dl;
  if (!k)
    return LP2P_ERR_INVAL;
  if (sodium_init() < 0 || lp2p_aead_init() != 0)
    return LP2P_ERR_CRYPTO;
  int rc = unmarshal(p, n, LP2P_PRIVKEY_DATA_MAX, &t, &d, &dl);
  if (rc)
    return rc;
  lp2p_privkey tmp;
  memset(&tmp, 0, sizeof(tmp));
  tmp.type = (lp2p_key_type)t;
  rc = ops_for(t)->priv_load(&tmp, d, dl);
  if (rc == 0)
    *k = tmp;
  sodium_memzero(&tmp, sizeof(tmp));
  return rc;
}

int lp2p_pubkey_equal(const lp2p_pubkey *a, const lp2p_pubkey *b) {
  return a && b && a->type == b->type && a->len == b->len &&
         a->len <= sizeof(a->data) && memcmp(a->data, b->data, a->len) == 0;
}
