/* Small text helpers shared by the UPnP codecs (SSDP, HTTP, URLs, SOAP):
 * ASCII case folding, trimming, and a bounded writer that can also just
 * count (out == NULL) so a body's length is known before it is written. */
#ifndef LP2P_PROTO_UPNP_TEXT_H
#define LP2P_PROTO_UPNP_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int upnp_lower(int c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* a[0..an) equals the NUL-terminated b, ignoring ASCII case */
static inline int upnp_ieq(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  if (an != bn)
    return 0;
  for (size_t i = 0; i < an; i++)
    if (upnp_lower((unsigned char)a[i]) != upnp_lower((unsigned char)b[i]))
      return 0;
  return 1;
}

/* a[0..an) starts with the NUL-terminated b, ignoring ASCII case */
static inline int upnp_iprefix(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  return an >= bn && upnp_ieq(a, bn, b);
}

static inline int upnp_is_blank(char c) { return c == ' ' || c == '\t'; }
static inline int upnp_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* trims blanks (and CR/LF) on both sides of *p..*p+*n */
static inline void upnp_trim(const char **p, size_t *n) {
  while (*n && upnp_is_space((*p)[0])) {
    (*p)++;
    (*n)--;
  }
  while (*n && upnp_is_space((*p)[*n - 1]))
    (*n)--;
}

/* 1 if any byte is CR, LF or NUL (header injection) */
static inline int upnp_has_ctl(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
      return 1;
  return 0;
}

/* Bounded writer. With buf == NULL it only counts; otherwise it stops
 * writing at cap and remembers that it overflowed. */
typedef struct upnp_w {
  uint8_t *buf;
  size_t cap;
  size_t len;
  int over;
} upnp_w;

static inline void upnp_w_bytes(upnp_w *w, const void *p, size_t n) {
  if (w->buf) {
    if (n > w->cap - w->len || w->over) {
      w->over = 1;
      return;
    }
    memcpy(w->buf + w->len, p, n);
  }
  w->len += n;
}

static inline void upnp_w_str(upnp_w *w, const char *s) {
  upnp_w_bytes(w, s, strlen(s));
}

static inline void upnp_w_u64(upnp_w *w, uint64_t v) {
  char d[20];
  size_t n = 0;
  do {
    d[sizeof d - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  upnp_w_bytes(w, d + sizeof d - n, n);
}

/* Decimal digits only, value <= max. Returns 0 or -1. */
static inline int upnp_parse_u64(const char *p, size_t n, uint64_t max,
                                 uint64_t *v) {
  if (n == 0 || n > 20)
    return -1;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    uint64_t d = (uint64_t)(p[i] - '0');
    if (d > max || x > (max - d) / 10)
      return -1;
    x = x * 10 + d;
  }
  *v = x;
  return 0;
}

#endif
