/* RSA keys (peer-ids spec, "RSA") over BearSSL. Public Data: PKIX
 * SubjectPublicKeyInfo DER (rsaEncryption with NULL parameters, as
 * x509.MarshalPKIXPublicKey writes it). Private Data: PKCS#1 RSAPrivateKey
 * DER (two primes, version 0). Signatures: RSASSA-PKCS1-v1_5 with SHA-256.
 *
 * Sizes: generation 2048..4096 bits; parsing and verification accept
 * 2048..4096-bit moduli (go-libp2p's minimum is 2048; 4096 is BearSSL's
 * maximum and what LP2P_PUBKEY_DATA_MAX is sized for). */
#include <bearssl.h>
#include <sodium.h>
#include <string.h>

#include "crypto/br_prng.h"
#include "crypto/der.h"
#include "crypto/keys_internal.h"

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096
#define RSA_BYTES_MAX (RSA_BITS_MAX / 8)
#define RSA_E 65537u

/* AlgorithmIdentifier contents: OID 1.2.840.113549.1.1.1, NULL. */
static const uint8_t rsa_alg[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

static size_t bitlen(const uint8_t *mag, size_t n) {
  if (n == 0)
    return 0;
  size_t bits = (n - 1) * 8;
  for (unsigned v = mag[0]; v; v >>= 1)
    bits++;
  return bits;
}

/* Public exponent: 3 <= e < 2^31 and odd (go-libp2p rejects e > 2^31-1). */
static int e_ok(const uint8_t *e, size_t el) {
  if (el == 0 || el > 4 || !(e[el - 1] & 1))
    return 0;
  if (el == 4 && (e[0] & 0x80))
    return 0;
  return !(el == 1 && e[0] < 3);
}

static int n_ok(const uint8_t *n, size_t nl) {
  size_t b = bitlen(n, nl);
  return b >= RSA_BITS_MIN && b <= RSA_BITS_MAX;
}

/* Parse SubjectPublicKeyInfo into pointers to n and e (inside `d`). */
static int parse_spki(const uint8_t *d, size_t len, br_rsa_public_key *pk) {
  der_reader r, s, ks;
  const uint8_t *body, *bits, *kseq, *n, *e;
  size_t blen, bitsl, kl, nl, el;
  lp2p_der_reader_init(&r, d, len);
  if (lp2p_der_read(&r, DER_SEQUENCE, &body, &blen) || !lp2p_der_done(&r))
    return LP2P_ERR_PARSE;
  lp2p_der_reader_init(&s, body, blen);
  if (lp2p_der_expect(&s, DER_SEQUENCE, rsa_alg, sizeof(rsa_alg)) ||
      lp2p_der_read(&s, DER_BIT_STRING, &bits, &bitsl) || !lp2p_der_done(&s))
    return LP2P_ERR_PARSE;
  if (bitsl < 1 || bits[0] != 0) /* no unused bits */
    return LP2P_ERR_PARSE;
  lp2p_der_reader_init(&s, bits + 1, bitsl - 1);
  if (lp2p_der_read(&s, DER_SEQUENCE, &kseq, &kl) || !lp2p_der_done(&s))
    return LP2P_ERR_PARSE;
  lp2p_der_reader_init(&ks, kseq, kl);
  if (lp2p_der_read_uint(&ks, &n, &nl) || lp2p_der_read_uint(&ks, &e, &el) ||
      !lp2p_der_done(&ks))
    return LP2P_ERR_PARSE;
  if (!n_ok(n, nl) || !e_ok(e, el))
    return LP2P_ERR_PARSE;
  pk->n = (unsigned char *)(uintptr_t)n;
  pk->nlen = nl;
  pk->e = (unsigned char *)(uintptr_t)e;
  pk->elen = el;
  return 0;
}

static int write_spki(lp2p_pubkey *k, const uint8_t *n, size_t nl,
                      const uint8_t *e, size_t el) {
  size_t kbody = lp2p_der_uint_size(n, nl) + lp2p_der_uint_size(e, el);
  size_t bits = 1 + lp2p_der_tlv_size(kbody);
  size_t body = lp2p_der_tlv_size(sizeof(rsa_alg)) + lp2p_der_tlv_size(bits);
  der_writer w;
  lp2p_der_writer_init(&w, k->data, sizeof(k->data));
  lp2p_der_put_hdr(&w, DER_SEQUENCE, body);
  lp2p_der_put_hdr(&w, DER_SEQUENCE, sizeof(rsa_alg));
  lp2p_der_put_raw(&w, rsa_alg, sizeof(rsa_alg));
  lp2p_der_put_hdr(&w, DER_BIT_STRING, bits);
  lp2p_der_put_raw(&w, (const uint8_t *)"", 1);
  lp2p_der_put_hdr(&w, DER_SEQUENCE, kbody);
  lp2p_der_put_uint(&w, n, nl);
  lp2p_der_put_uint(&w, e, el);
  if (w.err)
    return LP2P_ERR_LIMIT;
  k->type = LP2P_KEY_RSA;
  k->len = w.len;
  return 0;
}

/* Parsed RSAPrivateKey: pointers into the DER. */
typedef struct rsa_priv {
  br_rsa_private_key sk;
  const uint8_t *n, *e, *d;
  size_t nl, el, dl;
} rsa_priv;

static int parse_pkcs1(const uint8_t *der, size_t len, rsa_priv *o) {
  der_reader r, s;
  const uint8_t *body, *ver, *v[8];
  size_t blen, verl, l[8];
  lp2p_der_reader_init(&r, der, len);
  if (lp2p_der_read(&r, DER_SEQUENCE, &body, &blen) || !lp2p_der_done(&r))
    return LP2P_ERR_PARSE;
  lp2p_der_reader_init(&s, body, blen);
  /* version 0 = two-prime; multi-prime (1) keys are not supported. */
  if (lp2p_der_read_uint(&s, &ver, &verl) || verl != 0)
    return LP2P_ERR_PARSE;
  for (int i = 0; i < 8; i++)
    if (lp2p_der_read_uint(&s, &v[i], &l[i]))
      return LP2P_ERR_PARSE;
  if (!lp2p_der_done(&s))
    return LP2P_ERR_PARSE;
  /* n e d p q dp dq qinv */
  if (!n_ok(v[0], l[0]) || !e_ok(v[1], l[1]))
    return LP2P_ERR_PARSE;
  size_t half = (l[0] + 1) / 2 + 1; /* factor sizes must be balanced */
  if (l[2] == 0 || l[2] > l[0])
    return LP2P_ERR_PARSE;
  for (int i = 3; i < 8; i++)
    if (l[i] == 0 || l[i] > half)
      return LP2P_ERR_PARSE;
  o->n = v[0];
  o->nl = l[0];
  o->e = v[1];
  o->el = l[1];
  o->d = v[2];
  o->dl = l[2];
  o->sk.n_bitlen = (uint32_t)bitlen(v[0], l[0]);
  o->sk.p = (unsigned char *)(uintptr_t)v[3];
  o->sk.plen = l[3];
  o->sk.q = (unsigned char *)(uintptr_t)v[4];
  o->sk.qlen = l[4];
  o->sk.dp = (unsigned char *)(uintptr_t)v[5];
  o->sk.dplen = l[5];
  o->sk.dq = (unsigned char *)(uintptr_t)v[6];
  o->sk.dqlen = l[6];
  o->sk.iq = (unsigned char *)(uintptr_t)v[7];
  o->sk.iqlen = l[7];
  return 0;
}

static int verify_raw(const br_rsa_public_key *pk, const uint8_t *msg, size_t n,
                      const uint8_t *sig, size_t sig_len) {
  uint8_t h[32], got[32];
  if (sig_len != pk->nlen)
    return LP2P_ERR_SIGNATURE;
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  if (!br_rsa_pkcs1_vrfy_get_default()(sig, sig_len, BR_HASH_OID_SHA256, 32, pk,
                                       got))
    return LP2P_ERR_SIGNATURE;
  return memcmp(h, got, 32) == 0 ? 0 : LP2P_ERR_SIGNATURE;
}

static int verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                  const uint8_t *sig, size_t sig_len) {
  br_rsa_public_key pk;
  if (parse_spki(k->data, k->len, &pk))
    return LP2P_ERR_SIGNATURE;
  return verify_raw(&pk, msg, n, sig, sig_len);
}

static int sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                uint8_t *sig, size_t *sig_len) {
  rsa_priv rp;
  if (parse_pkcs1(k->data, k->len, &rp))
    return LP2P_ERR_CRYPTO;
  size_t mlen = (rp.sk.n_bitlen + 7) / 8;
  if (*sig_len < mlen)
    return LP2P_ERR_NOSPACE;
  uint8_t h[32];
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  if (!br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, h, 32, &rp.sk, sig))
    return LP2P_ERR_CRYPTO;
  /* Check the signature with the public key before releasing it: a wrong
   * CRT parameter would otherwise leak a factor of n (fault attacks). */
  br_rsa_public_key pk = {(unsigned char *)(uintptr_t)rp.n, rp.nl,
                          (unsigned char *)(uintptr_t)rp.e, rp.el};
  if (verify_raw(&pk, msg, n, sig, mlen) != 0) {
    sodium_memzero(sig, mlen);
    return LP2P_ERR_CRYPTO;
  }
  *sig_len = mlen;
  return 0;
}

static int pub_load(lp2p_pubkey *k, const uint8_t *d, size_t n) {
  br_rsa_public_key pk;
  if (n > sizeof(k->data))
    return LP2P_ERR_LIMIT;
  if (parse_spki(d, n, &pk))
    return LP2P_ERR_PARSE;
  /* Strict DER parse: the input is canonical, keep it byte for byte. */
  memcpy(k->data, d, n);
  k->len = n;
  return 0;
}

static int priv_load(lp2p_privkey *k, const uint8_t *d, size_t n) {
  rsa_priv rp;
  uint8_t nbuf[RSA_BYTES_MAX];
  if (n > sizeof(k->data))
    return LP2P_ERR_LIMIT;
  if (parse_pkcs1(d, n, &rp))
    return LP2P_ERR_PARSE;
  /* n must be p * q. The i15 engine is used on purpose: BearSSL 0.6's i31
   * compute_modulus has a scratch buffer too small for 4096-bit keys and
   * returns 0 for them. */
  br_rsa_compute_modulus cm = br_rsa_i15_compute_modulus;
  size_t ml = cm(NULL, &rp.sk);
  if (ml != rp.nl || ml > sizeof(nbuf) || cm(nbuf, &rp.sk) != ml ||
      memcmp(nbuf, rp.n, ml) != 0)
    return LP2P_ERR_PARSE;
  int rc = write_spki(&k->pub, rp.n, rp.nl, rp.e, rp.el);
  if (rc)
    return rc;
  memcpy(k->data, d, n);
  k->len = n;
  return 0;
}

static int gen(lp2p_privkey *k, unsigned bits, const lp2p_rng *rng) {
  if (bits == 0)
    bits = RSA_BITS_MIN;
  if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX || bits % 8)
    return LP2P_ERR_INVAL;
  lp2p_br_prng prng;
  lp2p_br_prng_init(&prng, rng);
  uint8_t kpriv[BR_RSA_KBUF_PRIV_SIZE(RSA_BITS_MAX)];
  uint8_t kpub[BR_RSA_KBUF_PUB_SIZE(RSA_BITS_MAX)];
  uint8_t dbuf[RSA_BYTES_MAX], nbuf[RSA_BYTES_MAX];
  br_rsa_private_key sk;
  br_rsa_public_key pk;
  int rc = LP2P_ERR_CRYPTO;
  if (!br_rsa_keygen_get_default()(&prng.vtable, &sk, kpriv, &pk, kpub, bits,
                                   RSA_E))
    goto out;
  size_t dl = br_rsa_compute_privexp_get_default()(NULL, &sk, RSA_E);
  if (dl == 0 || dl > sizeof(dbuf) ||
      br_rsa_compute_privexp_get_default()(dbuf, &sk, RSA_E) != dl)
    goto out;
  if (pk.nlen > sizeof(nbuf))
    goto out;
  memcpy(nbuf, pk.n, pk.nlen);

  const uint8_t *f[9] = {
      (const uint8_t *)"", pk.n, pk.e, dbuf, sk.p, sk.q, sk.dp, sk.dq, sk.iq};
  size_t fl[9] = {0,       pk.nlen,  pk.elen,  dl,      sk.plen,
                  sk.qlen, sk.dplen, sk.dqlen, sk.iqlen};
  size_t body = 0;
  for (int i = 0; i < 9; i++)
    body += lp2p_der_uint_size(f[i], fl[i]);
  der_writer w;
  lp2p_der_writer_init(&w, k->data, sizeof(k->data));
  lp2p_der_put_hdr(&w, DER_SEQUENCE, body);
  for (int i = 0; i < 9; i++)
    lp2p_der_put_uint(&w, f[i], fl[i]);
  if (w.err) {
    rc = LP2P_ERR_LIMIT;
    goto out;
  }
  k->len = w.len;
  rc = write_spki(&k->pub, nbuf, pk.nlen, pk.e, pk.elen);
out:
  sodium_memzero(kpriv, sizeof(kpriv));
  sodium_memzero(dbuf, sizeof(dbuf));
  return rc;
}

const key_ops lp2p_key_ops_rsa = {gen, sign, verify, pub_load, priv_load};
