/* Multibase (github.com/multiformats/multibase, multibase.csv) and the
 * RFC 4648 encodings it names. Two families:
 *  - power-of-two bases (16, 32, 64) pack bits: RFC 4648 sections 4-8
 *    without padding, as multibase uses for the 'b', 'v', 'm', 'u', 'f'
 *    prefixes;
 *  - radix bases (58btc, 36) treat the input as one big-endian number and
 *    keep leading zero bytes as leading zero digits (draft-msporny-base58).
 * Decoders are strict so that decode followed by encode is the identity:
 * a fuzz target checks this. */
#include "lp2p/multibase.h"

#include <string.h>

static const char ALPHA58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char ALPHA36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static const char ALPHA32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char ALPHA32U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char ALPHA32H[] = "0123456789abcdefghijklmnopqrstuv";
static const char ALPHA64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char ALPHA64U[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char ALPHA16[] = "0123456789abcdef";

typedef struct base_def {
  char prefix;
  unsigned bits;  /* bits per character; 0 for a radix base */
  unsigned radix; /* radix bases only */
  const char *alpha;
} base_def;

static const base_def BASES[] = {
    {LP2P_BASE58BTC, 0, 58, ALPHA58}, {LP2P_BASE36, 0, 36, ALPHA36},
    {LP2P_BASE32, 5, 0, ALPHA32},     {LP2P_BASE32UPPER, 5, 0, ALPHA32U},
    {LP2P_BASE32HEX, 5, 0, ALPHA32H}, {LP2P_BASE64, 6, 0, ALPHA64},
    {LP2P_BASE64URL, 6, 0, ALPHA64U}, {LP2P_BASE16, 4, 0, ALPHA16},
};

static const base_def *find_base(char prefix) {
  for (size_t i = 0; i < sizeof BASES / sizeof BASES[0]; i++)
    if (BASES[i].prefix == prefix)
      return &BASES[i];
  return NULL;
}

/* Reverse-lookup table: character -> digit, or 0xff. */
static void build_table(uint8_t t[256], const char *alpha, size_t count) {
  memset(t, 0xff, 256);
  for (size_t i = 0; i < count; i++)
    t[(uint8_t)alpha[i]] = (uint8_t)i;
}

static void terminate(char *out, size_t cap, size_t len) {
  if (len < cap)
    out[len] = '\0';
}

/* ---- radix bases (base58btc, base36) ---------------------------------- */

static int radix_encode(const base_def *b, const uint8_t *p, size_t n,
                        char *out, size_t cap, size_t *len) {
  if (n > LP2P_BASE58_MAX_BYTES)
    return LP2P_ERR_LIMIT;
  if ((!p && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  size_t zeros = 0;
  while (zeros < n && p[zeros] == 0)
    zeros++;
  if (zeros > cap)
    return LP2P_ERR_NOSPACE;
  /* Digits, least significant first, live in out[0..nd) as raw values
   * while the number is built; the caller's buffer is the work space. */
  size_t nd = 0;
  for (size_t i = zeros; i < n; i++) {
    unsigned carry = p[i];
    for (size_t j = 0; j < nd; j++) {
      carry += (unsigned)(uint8_t)out[j] << 8;
      out[j] = (char)(carry % b->radix);
      carry /= b->radix;
    }
    while (carry) {
      if (zeros + nd >= cap)
        return LP2P_ERR_NOSPACE;
      out[nd++] = (char)(carry % b->radix);
      carry /= b->radix;
    }
  }
  /* Never emit text our own decoder would refuse: base36 needs more
   * characters per byte than base58, so the byte bound alone is not
   * enough (found by fuzz_multibase). */
  if (zeros + nd > LP2P_BASE58_MAX_CHARS)
    return LP2P_ERR_LIMIT;
  for (size_t i = 0; i < nd / 2; i++) {
    char t = out[i];
    out[i] = out[nd - 1 - i];
    out[nd - 1 - i] = t;
  }
  if (nd)
    memmove(out + zeros, out, nd);
  for (size_t i = 0; i < zeros; i++)
    out[i] = b->alpha[0];
  for (size_t i = zeros; i < zeros + nd; i++)
    out[i] = b->alpha[(uint8_t)out[i]];
  terminate(out, cap, zeros + nd);
  if (len)
    *len = zeros + nd;
  return 0;
}

static int radix_decode(const base_def *b, const char *s, size_t n,
                        uint8_t *out, size_t cap, size_t *len) {
  if (n > LP2P_BASE58_MAX_CHARS)
    return LP2P_ERR_LIMIT;
  if ((!s && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  uint8_t t[256];
  build_table(t, b->alpha, b->radix);
  for (size_t i = 0; i < n; i++)
    if (t[(uint8_t)s[i]] == 0xff)
      return LP2P_ERR_PARSE;
  size_t zeros = 0;
  while (zeros < n && s[zeros] == b->alpha[0])
    zeros++;
  if (zeros > cap)
    return LP2P_ERR_NOSPACE;
  /* Bytes, least significant first, in out[0..nb). */
  size_t nb = 0;
  for (size_t i = zeros; i < n; i++) {
    unsigned carry = t[(uint8_t)s[i]];
    for (size_t j = 0; j < nb; j++) {
      carry += (unsigned)out[j] * b->radix;
      out[j] = (uint8_t)(carry & 0xff);
      carry >>= 8;
    }
    while (carry) {
      if (zeros + nb >= cap)
        return LP2P_ERR_NOSPACE;
      out[nb++] = (uint8_t)(carry & 0xff);
      carry >>= 8;
    }
  }
  for (size_t i = 0; i < nb / 2; i++) {
    uint8_t x = out[i];
    out[i] = out[nb - 1 - i];
    out[nb - 1 - i] = x;
  }
  if (nb)
    memmove(out + zeros, out, nb);
  if (zeros)
    memset(out, 0, zeros);
  if (len)
    *len = zeros + nb;
  return 0;
}

/* ---- power-of-two bases (RFC 4648 without padding) -------------------- */

static int bits_encode(const char *alpha, unsigned bits, const uint8_t *p,
                       size_t n, char *out, size_t cap, size_t *len) {
  if ((!p && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  if (n > SIZE_MAX / 8)
    return LP2P_ERR_NOSPACE;
  size_t need = (n * 8 + bits - 1) / bits;
  if (need > cap)
    return LP2P_ERR_NOSPACE;
  unsigned mask = (1u << bits) - 1, acc = 0, have = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8 | p[i]) & 0xffffu; /* at most 5 + 8 bits matter */
    have += 8;
    while (have >= bits) {
      have -= bits;
      out[o++] = alpha[(acc >> have) & mask];
    }
  }
  if (have)
    out[o++] = alpha[(acc << (bits - have)) & mask];
  terminate(out, cap, o);
  if (len)
    *len = o;
  return 0;
}

static int bits_decode(const uint8_t table[256], unsigned bits, const char *s,
                       size_t n, uint8_t *out, size_t cap, size_t *len) {
  if ((!s && n) || (!out && cap))
    return LP2P_ERR_INVAL;
  /* Leftover bits that fill a whole character mean an impossible length
   * (RFC 4648: base32 length mod 8 in {1,3,6}, base64 mod 4 == 1, odd hex). */
  uint64_t total_bits = (uint64_t)n * bits;
  if (total_bits % 8 >= bits)
    return LP2P_ERR_PARSE;
  size_t need = (size_t)(total_bits / 8);
  if (need > cap)
    return LP2P_ERR_NOSPACE;
  unsigned acc = 0, have = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t v = table[(uint8_t)s[i]];
    if (v == 0xff)
      return LP2P_ERR_PARSE;
    acc = (acc << bits | v) & 0xffffu;
    have += bits;
    if (have >= 8) {
      have -= 8;
      out[o++] = (uint8_t)(acc >> have);
    }
  }
  /* Canonical form: the unused low bits of the last character are zero. */
  if (acc & ((1u << have) - 1))
    return LP2P_ERR_PARSE;
  if (len)
    *len = o;
  return 0;
}

/* ---- public ----------------------------------------------------------- */

int lp2p_base58_encode(const uint8_t *p, size_t n, char *out, size_t cap,
                       size_t *len) {
  return radix_encode(&BASES[0], p, n, out, cap, len);
}

int lp2p_base58_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                       size_t *len) {
  return radix_decode(&BASES[0], s, n, out, cap, len);
}

int lp2p_base_encode(char base, const uint8_t *p, size_t n, char *out,
                     size_t cap, size_t *len) {
  const base_def *b = find_base(base);
  if (!b)
    return LP2P_ERR_UNSUPPORTED;
  if (!b->bits)
    return radix_encode(b, p, n, out, cap, len);
  return bits_encode(b->alpha, b->bits, p, n, out, cap, len);
}

int lp2p_base_decode(char base, const char *s, size_t n, uint8_t *out,
                     size_t cap, size_t *len) {
  const base_def *b = find_base(base);
  if (!b)
    return LP2P_ERR_UNSUPPORTED;
  if (!b->bits)
    return radix_decode(b, s, n, out, cap, len);
  uint8_t t[256];
  build_table(t, b->alpha, (size_t)1 << b->bits);
  return bits_decode(t, b->bits, s, n, out, cap, len);
}

size_t lp2p_base_encoded_max(char base, size_t n) {
  const base_def *b = find_base(base);
  if (!b || n > SIZE_MAX / 8)
    return 0;
  if (b->bits)
    return (n * 8 + b->bits - 1) / b->bits;
  /* log(256)/log(58) < 1.37 and log(256)/log(36) < 1.55; +1 for rounding. */
  if (b->radix == 58)
    return n + n * 37 / 100 + 1;
  return n + n * 55 / 100 + 1;
}

int lp2p_multibase_encode(char prefix, const uint8_t *p, size_t n, char *out,
                          size_t cap, size_t *len) {
  if (!find_base(prefix))
    return LP2P_ERR_UNSUPPORTED;
  if (!out && cap)
    return LP2P_ERR_INVAL;
  if (cap < 1)
    return LP2P_ERR_NOSPACE;
  size_t k = 0;
  int rc = lp2p_base_encode(prefix, p, n, out + 1, cap - 1, &k);
  if (rc)
    return rc;
  out[0] = prefix;
  if (len)
    *len = k + 1;
  return 0;
}

int lp2p_multibase_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                          size_t *len) {
  if (!s && n)
    return LP2P_ERR_INVAL;
  if (n == 0)
    return LP2P_ERR_PARSE;
  return lp2p_base_decode(s[0], s + 1, n - 1, out, cap, len);
}

int lp2p_hex_encode(const uint8_t *p, size_t n, char *out, size_t cap,
                    size_t *len) {
  return bits_encode(ALPHA16, 4, p, n, out, cap, len);
}

int lp2p_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                    size_t *len) {
  uint8_t t[256];
  build_table(t, ALPHA16, 16);
  for (unsigned i = 0; i < 6; i++)
    t['A' + i] = (uint8_t)(10 + i);
  return bits_decode(t, 4, s, n, out, cap, len);
}
