/* X25519 public keys (RFC 7748: X25519(k, 9)) through the Edwards form:
 * the same point, computed with libsodium's fixed-base table for
 * edwards25519, then mapped to the Montgomery u-coordinate.
 *
 * Why: libsodium 1.0.18 computes crypto_scalarmult_base with its AVX
 * ladder ("sandy2x") on CPUs that have AVX, the same ~30 us as any scalar
 * multiplication, while the table-driven Edwards base multiplication
 * (crypto_scalarmult_ed25519_base) takes ~14 us; each Noise handshake
 * makes one ephemeral key. (libsodium's portable ref10 code does this
 * same thing internally, but it is not the code it picks here.)
 *
 * RFC 7748 section 4.1: the birational map from edwards25519 to curve25519
 * is u = (1 + y) / (1 - y). crypto_scalarmult_ed25519_base clamps the
 * scalar exactly as X25519 does (bits 0-2 cleared, bit 255 cleared, bit
 * 254 set), so the points agree; it refuses the identity and an all-zero
 * scalar, and then the ladder runs instead. The division is a Fermat
 * inversion in GF(2^255 - 19), radix 2^51 (five limbs, 128-bit
 * products), constant time like the rest of the computation. */
#include <sodium.h>
#include <string.h>

#include "lp2p/crypto.h"

#ifndef __SIZEOF_INT128__
/* No 128-bit products (32-bit targets): the ladder. */
void lp2p_x25519_public(uint8_t pub[32], const uint8_t priv[32]) {
  crypto_scalarmult_base(pub, priv);
}
#else
__extension__ typedef unsigned __int128 u128; /* GCC, Clang on 64-bit */
typedef uint64_t fe[5];

#define MASK51 ((UINT64_C(1) << 51) - 1)

static uint64_t load64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* The low 255 bits of s (the top bit is the Edwards x sign). */
static void fe_frombytes(fe h, const uint8_t s[32]) {
  h[0] = load64(s) & MASK51;
  h[1] = (load64(s + 6) >> 3) & MASK51;
  h[2] = (load64(s + 12) >> 6) & MASK51;
  h[3] = (load64(s + 19) >> 1) & MASK51;
  h[4] = (load64(s + 24) >> 12) & MASK51;
}

/* Limbs back under 2^51 (plus a small excess in h[0]). */
static void fe_carry(fe h) {
  for (int i = 0; i < 4; i++) {
    h[i + 1] += h[i] >> 51;
    h[i] &= MASK51;
  }
  uint64_t c = h[4] >> 51;
  h[4] &= MASK51;
  h[0] += 19 * c;
  h[1] += h[0] >> 51;
  h[0] &= MASK51;
}

static void fe_add(fe h, const fe f, const fe g) {
  for (int i = 0; i < 5; i++)
    h[i] = f[i] + g[i];
  fe_carry(h);
}

/* f - g + 2p, so no limb goes negative (limbs of g < 2^52). */
static void fe_sub(fe h, const fe f, const fe g) {
  h[0] = f[0] + UINT64_C(0xfffffffffffda) * 2 - g[0];
  for (int i = 1; i < 5; i++)
    h[i] = f[i] + UINT64_C(0xffffffffffffe) * 2 - g[i];
  fe_carry(h);
}

/* Inputs with limbs < 2^53: every 128-bit sum below stays under 2^113
 * and every carry fits 64 bits. */
static void fe_mul(fe h, const fe f, const fe g) {
  uint64_t g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];
  u128 r0 = (u128)f[0] * g[0] + (u128)f[1] * g4 + (u128)f[2] * g3 +
            (u128)f[3] * g2 + (u128)f[4] * g1;
  u128 r1 = (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g4 +
            (u128)f[3] * g3 + (u128)f[4] * g2;
  u128 r2 = (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] +
            (u128)f[3] * g4 + (u128)f[4] * g3;
  u128 r3 = (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] +
            (u128)f[3] * g[0] + (u128)f[4] * g4;
  u128 r4 = (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] +
            (u128)f[3] * g[1] + (u128)f[4] * g[0];
  r1 += (uint64_t)(r0 >> 51);
  r2 += (uint64_t)(r1 >> 51);
  r3 += (uint64_t)(r2 >> 51);
  r4 += (uint64_t)(r3 >> 51);
  uint64_t c = (uint64_t)(r4 >> 51);
  h[0] = ((uint64_t)r0 & MASK51) + 19 * c;
  h[1] = (uint64_t)r1 & MASK51;
  h[2] = (uint64_t)r2 & MASK51;
  h[3] = (uint64_t)r3 & MASK51;
  h[4] = (uint64_t)r4 & MASK51;
  h[1] += h[0] >> 51;
  h[0] &= MASK51;
}

/* h = f^(2^n) */
static void fe_sqn(fe h, const fe f, int n) {
  fe t;
  memcpy(t, f, sizeof t);
  for (int i = 0; i < n; i++)
    fe_mul(t, t, t);
  memcpy(h, t, sizeof t);
}

/* z^(p - 2) = z^(2^255 - 21) = 1/z (0 for 0), by the usual chain of
 * 254 squarings and 11 multiplications. */
static void fe_invert(fe out, const fe z) {
  fe z2, z9, z11, a, b, c;
  fe_mul(z2, z, z);          /* 2 */
  fe_sqn(a, z2, 2);          /* 8 */
  fe_mul(z9, a, z);          /* 9 */
  fe_mul(z11, z9, z2);       /* 11 */
  fe_mul(a, z11, z11);       /* 22 */
  fe_mul(a, a, z9);          /* 2^5 - 1 */
  fe_sqn(b, a, 5);
  fe_mul(a, b, a);           /* 2^10 - 1 */
  fe_sqn(b, a, 10);
  fe_mul(b, b, a);           /* 2^20 - 1 */
  fe_sqn(c, b, 20);
  fe_mul(b, c, b);           /* 2^40 - 1 */
  fe_sqn(b, b, 10);
  fe_mul(a, b, a);           /* 2^50 - 1 */
  fe_sqn(b, a, 50);
  fe_mul(b, b, a);           /* 2^100 - 1 */
  fe_sqn(c, b, 100);
  fe_mul(b, c, b);           /* 2^200 - 1 */
  fe_sqn(b, b, 50);
  fe_mul(a, b, a);           /* 2^250 - 1 */
  fe_sqn(a, a, 5);           /* 2^255 - 32 */
  fe_mul(out, a, z11);       /* 2^255 - 21 */
}

/* The canonical 32 bytes (value mod p, top bit 0). */
static void fe_tobytes(uint8_t s[32], const fe f) {
  fe h;
  memcpy(h, f, sizeof h);
  fe_carry(h);
  fe_carry(h); /* now h < 2^255 + small, limbs < 2^51 */
  /* q = 1 when h >= p: h + 19 reaches 2^255 */
  uint64_t q = (h[0] + 19) >> 51;
  q = (h[1] + q) >> 51;
  q = (h[2] + q) >> 51;
  q = (h[3] + q) >> 51;
  q = (h[4] + q) >> 51;
  h[0] += 19 * q;
  for (int i = 0; i < 4; i++) {
    h[i + 1] += h[i] >> 51;
    h[i] &= MASK51;
  }
  h[4] &= MASK51; /* drops the 2^255 that h - p leaves */
  uint64_t w[4] = {h[0] | h[1] << 51, h[1] >> 13 | h[2] << 38,
                   h[2] >> 26 | h[3] << 25, h[3] >> 39 | h[4] << 12};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++)
      s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

static void edwards_y_to_u(uint8_t u[32], const uint8_t ed[32]) {
  fe y, one = {1, 0, 0, 0, 0}, num, den, inv, r;
  fe_frombytes(y, ed);
  fe_add(num, one, y);
  fe_sub(den, one, y);
  fe_invert(inv, den);
  fe_mul(r, num, inv);
  fe_tobytes(u, r);
  sodium_memzero(y, sizeof y);
  sodium_memzero(num, sizeof num);
  sodium_memzero(den, sizeof den);
  sodium_memzero(inv, sizeof inv);
  sodium_memzero(r, sizeof r);
}

void lp2p_x25519_public(uint8_t pub[32], const uint8_t priv[32]) {
  uint8_t ed[32];
  if (crypto_scalarmult_ed25519_base(ed, priv) == 0)
    edwards_y_to_u(pub, ed);
  else /* identity or an all-zero scalar: the ladder says what it is */
    crypto_scalarmult_base(pub, priv);
  sodium_memzero(ed, sizeof ed);
}
#endif
