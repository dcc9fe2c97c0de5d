/* IPv4 / IPv6 text forms, written here rather than taken from inet_pton so
 * that proto/ stays libc-light and the parsers are fuzzable on their own.
 * Parsing follows RFC 4291 section 2.2; printing follows RFC 5952
 * (lower case, no leading zeros, the longest run of two or more zero
 * groups shortened to "::", the first on a tie, IPv4-mapped addresses in
 * mixed notation per section 5). */
#include <string.h>

#include "lp2p/multiaddr.h"

int lp2p_ip4_from_text(const char *s, size_t n, uint8_t out[4]) {
  if (!s || !out)
    return LP2P_ERR_PARSE;
  uint8_t ip[4];
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part) {
      if (i >= n || s[i] != '.')
        return LP2P_ERR_PARSE;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      v = v * 10 + (unsigned)(s[i] - '0');
      i++;
    }
    size_t digits = i - start;
    /* "01" is ambiguous (octal in some parsers): reject it. */
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
      return LP2P_ERR_PARSE;
    ip[part] = (uint8_t)v;
  }
  if (i != n)
    return LP2P_ERR_PARSE;
  memcpy(out, ip, 4);
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int lp2p_ip6_from_text(const char *s, size_t n, uint8_t out[16]) {
  if (!s || !out || n < 2)
    return LP2P_ERR_PARSE;
  uint16_t g[8];
  size_t ng = 0, i = 0;
  int dc = -1; /* group index where "::" stands */
  if (s[0] == ':') {
    if (s[1] != ':')
      return LP2P_ERR_PARSE;
    dc = 0;
    i = 2;
  }
  while (i < n) {
    size_t j = i;
    unsigned v = 0;
    while (j < n && hexval(s[j]) >= 0 && j - i < 5) {
      v = v << 4 | (unsigned)hexval(s[j]);
      j++;
    }
    if (j < n && s[j] == '.') {
      /* Trailing dotted quad fills the last two groups. */
      uint8_t v4[4];
      if (ng > 6 || lp2p_ip4_from_text(s + i, n - i, v4) != 0)
        return LP2P_ERR_PARSE;
      g[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
      g[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
      i = n;
      break;
    }
    if (j == i || j - i > 4 || ng == 8)
      return LP2P_ERR_PARSE;
    g[ng++] = (uint16_t)v;
    i = j;
    if (i == n)
      break;
    if (s[i] != ':')
      return LP2P_ERR_PARSE;
    i++;
    if (i < n && s[i] == ':') {
      if (dc >= 0)
        return LP2P_ERR_PARSE;
      dc = (int)ng;
      i++;
    } else if (i == n) {
      return LP2P_ERR_PARSE; /* a single trailing colon */
    }
  }
  uint16_t full[8] = {0};
  if (dc >= 0) {
    /* "::" stands for one or more zero groups. */
    if (ng > 7)
      return LP2P_ERR_PARSE;
    size_t d = (size_t)dc;
    for (size_t k = 0; k < d; k++)
      full[k] = g[k];
    for (size_t k = d; k < ng; k++)
      full[8 - (ng - k)] = g[k];
  } else {
    if (ng != 8)
      return LP2P_ERR_PARSE;
    memcpy(full, g, sizeof full);
  }
  for (size_t k = 0; k < 8; k++) {
    out[2 * k] = (uint8_t)(full[k] >> 8);
    out[2 * k + 1] = (uint8_t)full[k];
  }
  return 0;
}

typedef struct sbuf {
  char *p;
  size_t cap, len;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (n && b->len <= b->cap && n <= b->cap - b->len)
    memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void put_dec(sbuf *b, unsigned v) {
  char t[10];
  size_t k = sizeof t;
  do {
    t[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(b, t + k, sizeof t - k);
}

static void put_ip4(sbuf *b, const uint8_t *ip) {
  for (int i = 0; i < 4; i++) {
    if (i)
      put(b, ".", 1);
    put_dec(b, ip[i]);
  }
}

static void put_ip6(sbuf *b, const uint8_t *ip) {
  static const char hx[] = "0123456789abcdef";
  unsigned g[8];
  for (int i = 0; i < 8; i++)
    g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
  /* RFC 5952 section 5: IPv4-mapped addresses in mixed notation. */
  if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) {
    put(b, "::ffff:", 7);
    put_ip4(b, ip + 12);
    return;
  }
  int bs = -1, bl = 0;
  for (int i = 0; i < 8;) {
    if (g[i]) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && !g[j])
      j++;
    if (j - i > bl && j - i >= 2) {
      bs = i;
      bl = j - i;
    }
    i = j;
  }
  for (int i = 0; i < 8;) {
    if (i == bs) {
      put(b, "::", 2);
      i += bl;
      continue;
    }
    if (i && i != bs + bl)
      put(b, ":", 1);
    char t[4];
    size_t k = sizeof t;
    unsigned v = g[i];
    do {
      t[--k] = hx[v & 15];
      v >>= 4;
    } while (v);
    put(b, t + k, sizeof t - k);
    i++;
  }
}

int lp2p_ip_to_text(int family, const uint8_t *ip, char *out, size_t cap,
                    size_t *len) {
  if (!ip || (!out && cap) || (family != 4 && family != 6))
    return LP2P_ERR_INVAL;
  sbuf b = {out, cap, 0};
  if (family == 4)
    put_ip4(&b, ip);
  else
    put_ip6(&b, ip);
  if (b.len > cap)
    return LP2P_ERR_NOSPACE;
  if (b.len < cap)
    out[b.len] = '\0';
  if (len)
    *len = b.len;
  return 0;
}
