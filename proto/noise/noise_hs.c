/* Noise_XX_25519_ChaChaPoly_SHA256: CipherState, SymmetricState and
 * HandshakeState as in the Noise Protocol Framework (rev 34), sections 5.1
 * to 5.3, 7.5 (pattern XX) and 12 (25519, ChaChaPoly, SHA256). Everything
 * works in place on caller buffers; primitives come from crypto.h. */
#include "proto/noise/noise_hs.h"

#include <string.h>

#include "lp2p/crypto.h"

/* Exactly 32 bytes, so h is the name itself without hashing (5.2). */
static const char protocol_name[] = "Noise_XX_25519_ChaChaPoly_SHA256";

/* ---- CipherState (5.1) ------------------------------------------------ */

int noise_cipher_encrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                         const uint8_t *pt, size_t n, uint8_t *out) {
  if (!c->has_key) {
    if (out != pt && n) memmove(out, pt, n);
    return 0;
  }
  /* 2^64-1 is reserved: reaching it means the session must end (5.1 and
   * the libp2p noise spec, "Encryption and I/O"). */
  if (c->n == NOISE_NONCE_MAX) return LP2P_ERR_LIMIT;
  /* The backend can fail only for want of memory for its context. */
  if (lp2p_aead_encrypt(c->k, c->n, ad, ad_len, pt, n, out) != 0)
    return LP2P_ERR_CRYPTO;
  c->n++;
  return 0;
}

int noise_cipher_decrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                         const uint8_t *ct, size_t n, uint8_t *out) {
  if (!c->has_key) {
    if (out != ct && n) memmove(out, ct, n);
    return 0;
  }
  if (c->n == NOISE_NONCE_MAX) return LP2P_ERR_LIMIT;
  if (n < NOISE_TAGLEN) return LP2P_ERR_CRYPTO;
  if (lp2p_aead_decrypt(c->k, c->n, ad, ad_len, ct, n, out) != 0)
    return LP2P_ERR_CRYPTO;
  c->n++;
  return 0;
}

/* ---- SymmetricState (5.2) --------------------------------------------- */

static void mix_hash(noise_sym *s, const uint8_t *data, size_t n) {
  lp2p_sha256_ctx c;
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, s->h, sizeof s->h);
  lp2p_sha256_update(&c, data, n);
  lp2p_sha256_final(&c, s->h);
}

/* Noise's HKDF (section 4.3) with two outputs: temp = HMAC(ck, ikm),
 * o1 = HMAC(temp, 0x01), o2 = HMAC(temp, o1 || 0x02). It is not RFC 5869
 * with an info string, so it is built from HMAC directly. */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len,
                  uint8_t o1[32], uint8_t o2[32]) {
  uint8_t temp[32], buf[33];
  const uint8_t one = 0x01;
  lp2p_hmac_sha256(temp, ck, 32, ikm, ikm_len);
  lp2p_hmac_sha256(buf, temp, sizeof temp, &one, 1);
  memcpy(o1, buf, 32);
  buf[32] = 0x02;
  lp2p_hmac_sha256(o2, temp, sizeof temp, buf, 33);
  lp2p_memzero(temp, sizeof temp);
  lp2p_memzero(buf, sizeof buf);
}

static void mix_key(noise_sym *s, const uint8_t ikm[32]) {
  uint8_t ck[32], k[32];
  hkdf2(s->ck, ikm, 32, ck, k);
  memcpy(s->ck, ck, 32);
  memcpy(s->cs.k, k, 32); /* HASHLEN == 32: no truncation needed */
  s->cs.n = 0;
  s->cs.has_key = 1;
  lp2p_memzero(ck, sizeof ck);
  lp2p_memzero(k, sizeof k);
}

/* EncryptAndHash in place: buf holds n plaintext bytes and has room for the
 * tag. Returns the ciphertext length via *out_len. */
static int encrypt_and_hash(noise_sym *s, uint8_t *buf, size_t n,
                            size_t *out_len) {
  int rc = noise_cipher_encrypt(&s->cs, s->h, sizeof s->h, buf, n, buf);
  if (rc) return rc;
  *out_len = n + (s->cs.has_key ? NOISE_TAGLEN : 0);
  mix_hash(s, buf, *out_len);
  return 0;
}

/* DecryptAndHash in place: h must absorb the ciphertext, yet the old h is
 * the AD; keep a copy of it because decryption overwrites the ciphertext. */
static int decrypt_and_hash(noise_sym *s, uint8_t *buf, size_t n,
                            size_t *pt_len) {
  uint8_t ad[NOISE_HASHLEN];
  if (s->cs.has_key && n < NOISE_TAGLEN) return LP2P_ERR_PROTO;
  memcpy(ad, s->h, sizeof ad);
  mix_hash(s, buf, n);
  int rc = noise_cipher_decrypt(&s->cs, ad, sizeof ad, buf, n, buf);
  if (rc) return rc;
  *pt_len = n - (s->cs.has_key ? NOISE_TAGLEN : 0);
  return 0;
}

/* ---- HandshakeState (5.3, pattern XX from 7.5) ------------------------ */

void noise_hs_init(noise_hs *hs, int initiator, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t s_priv[NOISE_DHLEN],
                   const uint8_t *s_pub, const uint8_t e_priv[NOISE_DHLEN]) {
  memset(hs, 0, sizeof *hs);
  memcpy(hs->ss.h, protocol_name, NOISE_HASHLEN);
  memcpy(hs->ss.ck, hs->ss.h, NOISE_HASHLEN);
  mix_hash(&hs->ss, prologue, prologue_len);
  memcpy(hs->s_priv, s_priv, NOISE_DHLEN);
  memcpy(hs->e_priv, e_priv, NOISE_DHLEN);
  /* a reused static key comes with its public half (one scalar
   * multiplication saved per session) */
  if (s_pub)
    memcpy(hs->s_pub, s_pub, NOISE_DHLEN);
  else
    lp2p_x25519_public(hs->s_pub, hs->s_priv);
  lp2p_x25519_public(hs->e_pub, hs->e_priv);
  hs->initiator = initiator ? 1 : 0;
  hs->step = 0;
}

int noise_hs_my_turn(const noise_hs *hs) {
  if (hs->step >= 3) return 0;
  /* The initiator writes messages 0 and 2, the responder message 1. */
  return (hs->step % 2 == 0) == (hs->initiator != 0);
}

int noise_hs_done(const noise_hs *hs) { return hs->step >= 3; }

size_t noise_hs_payload_offset(const noise_hs *hs) {
  switch (hs->step) {
  case 0: return NOISE_DHLEN;                                /* e */
  case 1: return NOISE_DHLEN + NOISE_DHLEN + NOISE_TAGLEN;   /* e, s */
  default: return NOISE_DHLEN + NOISE_TAGLEN;                /* s */
  }
}

size_t noise_hs_overhead(const noise_hs *hs) {
  /* Message 0 has no key yet, so its payload travels without a tag. */
  return noise_hs_payload_offset(hs) + (hs->step == 0 ? 0 : NOISE_TAGLEN);
}

static int dh_mix(noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32]) {
  uint8_t shared[32];
  int rc = lp2p_x25519(shared, priv, pub);
  if (rc == 0) mix_key(&hs->ss, shared);
  lp2p_memzero(shared, sizeof shared);
  return rc ? LP2P_ERR_CRYPTO : 0;
}

int noise_hs_write(noise_hs *hs, uint8_t *msg, size_t payload_len,
                   size_t *msg_len) {
  size_t off = 0, n = 0;
  int rc = 0;
  if (!noise_hs_my_turn(hs)) return LP2P_ERR_STATE;
  if (hs->step == 0 || hs->step == 1) { /* token e */
    memcpy(msg, hs->e_pub, NOISE_DHLEN);
    mix_hash(&hs->ss, hs->e_pub, NOISE_DHLEN);
    off = NOISE_DHLEN;
  }
  if (hs->step == 1) {
    /* ee, s, es (the responder's es is DH(s, re)) */
    if ((rc = dh_mix(hs, hs->e_priv, hs->re))) return rc;
    memcpy(msg + off, hs->s_pub, NOISE_DHLEN);
    if ((rc = encrypt_and_hash(&hs->ss, msg + off, NOISE_DHLEN, &n))) return rc;
    off += n;
    if ((rc = dh_mix(hs, hs->s_priv, hs->re))) return rc;
  } else if (hs->step == 2) {
    /* s, se (the initiator's se is DH(s, re)) */
    memcpy(msg, hs->s_pub, NOISE_DHLEN);
    if ((rc = encrypt_and_hash(&hs->ss, msg, NOISE_DHLEN, &n))) return rc;
    off = n;
    if ((rc = dh_mix(hs, hs->s_priv, hs->re))) return rc;
  }
  if ((rc = encrypt_and_hash(&hs->ss, msg + off, payload_len, &n))) return rc;
  *msg_len = off + n;
  hs->step++;
  return 0;
}

int noise_hs_read(noise_hs *hs, uint8_t *msg, size_t len, uint8_t **payload,
                  size_t *payload_len) {
  size_t off = 0, n = 0;
  int rc = 0;
  if (hs->step >= 3 || noise_hs_my_turn(hs)) return LP2P_ERR_STATE;
  if (len < noise_hs_overhead(hs)) return LP2P_ERR_PROTO;
  if (hs->step == 0 || hs->step == 1) { /* token e */
    memcpy(hs->re, msg, NOISE_DHLEN);
    mix_hash(&hs->ss, hs->re, NOISE_DHLEN);
    off = NOISE_DHLEN;
  }
  if (hs->step == 1) {
    /* ee, s, es (the initiator's es is DH(e, rs)) */
    if ((rc = dh_mix(hs, hs->e_priv, hs->re))) return rc;
    if ((rc = decrypt_and_hash(&hs->ss, msg + off, NOISE_DHLEN + NOISE_TAGLEN,
                               &n)))
      return rc;
    memcpy(hs->rs, msg + off, NOISE_DHLEN);
    off += NOISE_DHLEN + NOISE_TAGLEN;
    if ((rc = dh_mix(hs, hs->e_priv, hs->rs))) return rc;
  } else if (hs->step == 2) {
    /* s, se (the responder's se is DH(e, rs)) */
    if ((rc = decrypt_and_hash(&hs->ss, msg, NOISE_DHLEN + NOISE_TAGLEN, &n)))
      return rc;
    memcpy(hs->rs, msg, NOISE_DHLEN);
    off = NOISE_DHLEN + NOISE_TAGLEN;
    if ((rc = dh_mix(hs, hs->e_priv, hs->rs))) return rc;
  }
  if ((rc = decrypt_and_hash(&hs->ss, msg + off, len - off, &n))) return rc;
  *payload = msg + off;
  *payload_len = n;
  hs->step++;
  return 0;
}

void noise_hs_split(noise_hs *hs, noise_cipher *send, noise_cipher *recv) {
  uint8_t k1[32], k2[32];
  hkdf2(hs->ss.ck, NULL, 0, k1, k2);
  noise_cipher *c1 = hs->initiator ? send : recv;
  noise_cipher *c2 = hs->initiator ? recv : send;
  memcpy(c1->k, k1, 32);
  c1->n = 0;
  c1->has_key = 1;
  memcpy(c2->k, k2, 32);
  c2->n = 0;
  c2->has_key = 1;
  lp2p_memzero(k1, sizeof k1);
  lp2p_memzero(k2, sizeof k2);
}
