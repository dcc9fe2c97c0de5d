/* SipHash-2-4, written from the paper's description (section 2): four
 * 64-bit words of state initialised from the key and four constants,
 * two SipRounds per 8-byte little-endian message word, the length in the
 * top byte of the last word, then 0xff into v2 and four final rounds.
 * Little-endian loads are spelled out so the result does not depend on the
 * host's byte order. */
#include "proto/common/keyed_hash.h"

static uint64_t rotl(uint64_t x, unsigned b) {
  return (x << b) | (x >> (64u - b));
}

static uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8u * i);
  return v;
}

typedef struct sip {
  uint64_t v0, v1, v2, v3;
} sip;

static void sip_round(sip *s) {
  s->v0 += s->v1;
  s->v1 = rotl(s->v1, 13);
  s->v1 ^= s->v0;
  s->v0 = rotl(s->v0, 32);
  s->v2 += s->v3;
  s->v3 = rotl(s->v3, 16);
  s->v3 ^= s->v2;
  s->v0 += s->v3;
  s->v3 = rotl(s->v3, 21);
  s->v3 ^= s->v0;
  s->v2 += s->v1;
  s->v1 = rotl(s->v1, 17);
  s->v1 ^= s->v2;
  s->v2 = rotl(s->v2, 32);
}

static void sip_word(sip *s, uint64_t m) {
  s->v3 ^= m;
  sip_round(s);
  sip_round(s);
  s->v0 ^= m;
}

uint64_t lp2p_keyed_hash(const uint8_t key[LP2P_KEYED_HASH_KEY_BYTES],
                         const uint8_t *p, size_t n) {
  uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
  /* "somepseudorandomlygeneratedbytes", the paper's constants. */
  sip s = {k0 ^ UINT64_C(0x736f6d6570736575), k1 ^ UINT64_C(0x646f72616e646f6d),
           k0 ^ UINT64_C(0x6c7967656e657261), k1 ^ UINT64_C(0x7465646279746573)};
  size_t full = n - n % 8;
  for (size_t i = 0; i < full; i += 8)
    sip_word(&s, load_le64(p + i));
  /* Last word: the remaining 0..7 bytes, and n mod 256 in the top byte. */
  uint64_t last = (uint64_t)(n & 0xffu) << 56;
  for (size_t i = 0; i < n % 8; i++)
    last |= (uint64_t)p[full + i] << (8u * i);
  sip_word(&s, last);
  s.v2 ^= 0xffu;
  for (int i = 0; i < 4; i++)
    sip_round(&s);
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
