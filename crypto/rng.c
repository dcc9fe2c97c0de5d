/* RNGs: libsodium for production, a seeded ChaCha20 keystream for
 * deterministic runs (simulator, tests, fuzzing). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/common.h"

static void sys_fill(void *ctx, uint8_t *out, size_t n) {
  (void)ctx;
  randombytes_buf(out, n);
}

void lp2p_rng_system(lp2p_rng *out) {
  if (sodium_init() < 0)
    abort();
  out->fill = sys_fill;
  out->ctx = NULL;
}

static void chacha_fill(void *ctx, uint8_t *out, size_t n) {
  lp2p_rng_chacha *st = ctx;
  while (n) {
    if (st->buf_pos == sizeof(st->buf)) {
      static const uint8_t zero[64];
      crypto_stream_chacha20_ietf_xor_ic(st->buf, zero, sizeof(zero),
                                         st->nonce, (uint32_t)st->counter,
                                         st->key);
      st->counter++;
      if ((st->counter & 0xffffffffu) == 0) /* 256 GiB: move to next nonce */
        st->nonce[0]++;
      st->buf_pos = 0;
    }
    size_t k = sizeof(st->buf) - st->buf_pos;
    if (k > n)
      k = n;
    memcpy(out, st->buf + st->buf_pos, k);
    st->buf_pos += k;
    out += k;
    n -= k;
  }
}

void lp2p_rng_chacha_init(lp2p_rng_chacha *st, uint64_t seed, uint64_t stream,
                          lp2p_rng *out) {
  memset(st, 0, sizeof(*st));
  /* key = SHA-256("lp2p-rng" || seed || stream), so streams are independent */
  uint8_t in[8 + 16];
  memcpy(in, "lp2p-rng", 8);
  for (int i = 0; i < 8; i++) {
    in[8 + i] = (uint8_t)(seed >> (8 * i));
    in[16 + i] = (uint8_t)(stream >> (8 * i));
  }
  crypto_hash_sha256(st->key, in, sizeof(in));
  st->buf_pos = sizeof(st->buf);
  out->fill = chacha_fill;
  out->ctx = st;
}

uint64_t lp2p_rng_u64(const lp2p_rng *r) {
  uint8_t b[8];
  r->fill(r->ctx, b, 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)b[i] << (8 * i);
  return v;
}

uint64_t lp2p_rng_below(const lp2p_rng *r, uint64_t bound) {
  if (bound == 0)
    return 0;
  uint64_t lim = UINT64_MAX - UINT64_MAX % bound;
  uint64_t v;
  do
    v = lp2p_rng_u64(r);
  while (v >= lim);
  return v % bound;
}
