/* ECDSA keys (peer-ids spec, "ECDSA"), NIST P-256 only, over BearSSL.
 * Public Data: PKIX SubjectPublicKeyInfo DER (id-ecPublicKey, prime256v1,
 * uncompressed point). Private Data: SEC1 ECPrivateKey DER (RFC 5915) with
 * the curve OID [0] and public key [1], as go-libp2p's
 * x509.MarshalECPrivateKey writes it (and as the spec's test vector is).
 * Signatures: ECDSA over SHA-256(msg), DER ECDSA-Sig-Value.
 *
 * For P-256 both DER structures have a fixed layout, so parsing is a
 * comparison against the fixed prefixes: anything else is non-canonical. */
#include <bearssl.h>
#include <sodium.h>
#include <string.h>

#include "crypto/br_prng.h"
#include "crypto/der.h"
#include "crypto/keys_internal.h"

/* SEQ { SEQ { OID ecPublicKey, OID prime256v1 }, BIT STRING { 0, point } } */
static const uint8_t spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a,
                                      0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                                      0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
                                      0x01, 0x07, 0x03, 0x42, 0x00};
#define SPKI_LEN (sizeof(spki_prefix) + 65)

/* SEQ { INT 1, OCTET STRING d(32), [0] { OID prime256v1 },
 *       [1] { BIT STRING { 0, point } } } */
static const uint8_t sec1_head[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20};
static const uint8_t sec1_mid[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                   0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                                   0xa1, 0x44, 0x03, 0x42, 0x00};
#define SEC1_D_OFF sizeof(sec1_head)
#define SEC1_PT_OFF (sizeof(sec1_head) + 32 + sizeof(sec1_mid))
#define SEC1_LEN (SEC1_PT_OFF + 65)

/* P-256 group order n. */
static const uint8_t p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
    0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* 1 if 0 < x < n (x 32 bytes big-endian), without data-dependent
 * branches. */
static int scalar_ok(const uint8_t x[32]) {
  unsigned lt = 0, gt = 0, nz = 0;
  for (size_t i = 0; i < 32; i++) {
    unsigned a = x[i], b = p256_n[i];
    unsigned undecided = 1u ^ (lt | gt);
    lt |= undecided & ((a - b) >> 8 & 1u);
    gt |= undecided & ((b - a) >> 8 & 1u);
    nz |= a;
  }
  return (int)(lt & (nz != 0));
}

static const br_ec_impl *impl(void) { return &br_ec_p256_m31; }

static int point_ok(const uint8_t pt[65]) {
  static const uint8_t one = 1;
  uint8_t tmp[65];
  if (pt[0] != 0x04)
    return 0;
  memcpy(tmp, pt, 65);
  /* mul() validates that the point is in the P-256 subgroup. */
  return impl()->mul(tmp, 65, &one, 1, BR_EC_secp256r1) == 1;
}

static void write_pub(lp2p_pubkey *pub, const uint8_t pt[65]) {
  pub->type = LP2P_KEY_ECDSA;
  memcpy(pub->data, spki_prefix, sizeof(spki_prefix));
  memcpy(pub->data + sizeof(spki_prefix), pt, 65);
  pub->len = SPKI_LEN;
}

static void write_priv(lp2p_privkey *k, const uint8_t d[32],
                       const uint8_t pt[65]) {
  memcpy(k->data, sec1_head, sizeof(sec1_head));
  memcpy(k->data + SEC1_D_OFF, d, 32);
  memcpy(k->data + SEC1_D_OFF + 32, sec1_mid, sizeof(sec1_mid));
  memcpy(k->data + SEC1_PT_OFF, pt, 65);
  k->len = SEC1_LEN;
  write_pub(&k->pub, pt);
}

static int compute_pub(const uint8_t d[32], uint8_t pt[65]) {
  br_ec_private_key sk = {BR_EC_secp256r1, (unsigned char *)(uintptr_t)d, 32};
  uint8_t kbuf[BR_EC_KBUF_PUB_MAX_SIZE];
  br_ec_public_key pk;
  if (br_ec_compute_pub(impl(), &pk, kbuf, &sk) != 65)
    return LP2P_ERR_CRYPTO;
  memcpy(pt, pk.q, 65);
  return 0;
}

static int gen(lp2p_privkey *k, unsigned bits, const lp2p_rng *rng) {
  (void)bits;
  lp2p_br_prng prng;
  lp2p_br_prng_init(&prng, rng);
  uint8_t kbuf[BR_EC_KBUF_PRIV_MAX_SIZE], d[32], pt[65];
  br_ec_private_key sk;
  /* br_ec_keygen draws until the scalar is in [1, n-1]. */
  size_t xl = br_ec_keygen(&prng.vtable, impl(), &sk, kbuf, BR_EC_secp256r1);
  if (xl == 0 || xl > 32)
    return LP2P_ERR_CRYPTO;
  memset(d, 0, 32);
  memcpy(d + 32 - xl, sk.x, xl);
  int rc = compute_pub(d, pt);
  if (rc == 0)
    write_priv(k, d, pt);
  sodium_memzero(kbuf, sizeof(kbuf));
  sodium_memzero(d, sizeof(d));
  return rc;
}

static int sign(const lp2p_privkey *k, const uint8_t *msg, size_t n,
                uint8_t *sig, size_t *sig_len) {
  if (k->len != SEC1_LEN)
    return LP2P_ERR_CRYPTO;
  uint8_t h[32], out[2 * 66 + 9];
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  br_ec_private_key sk = {
      BR_EC_secp256r1, (unsigned char *)(uintptr_t)(k->data + SEC1_D_OFF), 32};
  /* RFC 6979 deterministic nonce (HMAC-DRBG over SHA-256). */
  size_t l = br_ecdsa_i31_sign_asn1(impl(), &br_sha256_vtable, h, &sk, out);
  if (l == 0)
    return LP2P_ERR_CRYPTO;
  if (*sig_len < l)
    return LP2P_ERR_NOSPACE;
  memcpy(sig, out, l);
  *sig_len = l;
  return 0;
}

/* Strict DER ECDSA-Sig-Value -> raw r || s (32 bytes each). */
static int sig_to_raw(const uint8_t *sig, size_t len, uint8_t raw[64]) {
  der_reader r, seq;
  const uint8_t *body, *rv, *sv;
  size_t blen, rl, sl;
  lp2p_der_reader_init(&r, sig, len);
  if (lp2p_der_read(&r, DER_SEQUENCE, &body, &blen) || !lp2p_der_done(&r))
    return -1;
  lp2p_der_reader_init(&seq, body, blen);
  if (lp2p_der_read_uint(&seq, &rv, &rl) ||
      lp2p_der_read_uint(&seq, &sv, &sl) || !lp2p_der_done(&seq))
    return -1;
  if (rl == 0 || sl == 0 || rl > 32 || sl > 32)
    return -1;
  memset(raw, 0, 64);
  memcpy(raw + 32 - rl, rv, rl);
  memcpy(raw + 64 - sl, sv, sl);
  return 0;
}

static int verify(const lp2p_pubkey *k, const uint8_t *msg, size_t n,
                  const uint8_t *sig, size_t sig_len) {
  uint8_t raw[64], h[32];
  if (k->len != SPKI_LEN || sig_len > 80 || sig_to_raw(sig, sig_len, raw))
    return LP2P_ERR_SIGNATURE;
  br_ec_public_key pk = {
      BR_EC_secp256r1,
      (unsigned char *)(uintptr_t)(k->data + sizeof(spki_prefix)), 65};
  crypto_hash_sha256(h, msg, (unsigned long long)n);
  /* vrfy_raw rejects r or s outside [1, n-1] and invalid points. */
  return br_ecdsa_i31_vrfy_raw(impl(), h, 32, &pk, raw, 64) == 1
             ? 0
             : LP2P_ERR_SIGNATURE;
}

static int pub_load(lp2p_pubkey *k, const uint8_t *d, size_t n) {
  if (n != SPKI_LEN || memcmp(d, spki_prefix, sizeof(spki_prefix)) != 0 ||
      !point_ok(d + sizeof(spki_prefix)))
    return LP2P_ERR_PARSE;
  write_pub(k, d + sizeof(spki_prefix));
  return 0;
}

static int priv_load(lp2p_privkey *k, const uint8_t *d, size_t n) {
  uint8_t pt[65];
  if (n != SEC1_LEN || memcmp(d, sec1_head, sizeof(sec1_head)) != 0 ||
      memcmp(d + SEC1_D_OFF + 32, sec1_mid, sizeof(sec1_mid)) != 0 ||
      !scalar_ok(d + SEC1_D_OFF))
    return LP2P_ERR_PARSE;
  if (compute_pub(d + SEC1_D_OFF, pt) != 0 ||
      memcmp(pt, d + SEC1_PT_OFF, 65) != 0)
    return LP2P_ERR_PARSE; /* embedded public key must belong to d */
  write_priv(k, d + SEC1_D_OFF, pt);
  return 0;
}

const key_ops lp2p_key_ops_ecdsa = {gen, sign, verify, pub_load, priv_load};
