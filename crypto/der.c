/* Strict DER reader/writer (see der.h). X.690 section 10 (DER) demands
 * definite, minimal lengths and section 8.3.2 minimal INTEGER contents. */
#include <string.h>

#include "crypto/der.h"
#include "lp2p/common.h"

void lp2p_der_reader_init(der_reader *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->n = p ? n : 0;
  r->pos = 0;
}

int lp2p_der_done(const der_reader *r) { return r->pos == r->n; }

int lp2p_der_peek_tag(const der_reader *r) {
  return r->pos < r->n ? r->p[r->pos] : -1;
}

int lp2p_der_read(der_reader *r, uint8_t tag, const uint8_t **val,
                  size_t *len) {
  size_t left = r->n - r->pos;
  const uint8_t *q = r->p + r->pos;
  if (left < 2 || q[0] != tag)
    return LP2P_ERR_PARSE;
  size_t hdr, l;
  if (q[1] < 0x80) {
    hdr = 2;
    l = q[1];
  } else {
    size_t k = q[1] & 0x7fu;
    /* 0x80 is the BER indefinite form; more than 3 octets is never needed
     * for the keys we handle. */
    if (k == 0 || k > 3 || left < 2 + k || q[2] == 0)
      return LP2P_ERR_PARSE;
    l = 0;
    for (size_t i = 0; i < k; i++)
      l = (l << 8) | q[2 + i];
    if (l < 0x80) /* long form for a short length: not minimal */
      return LP2P_ERR_PARSE;
    hdr = 2 + k;
  }
  if (l > left - hdr)
    return LP2P_ERR_PARSE;
  *val = q + hdr;
  *len = l;
  r->pos += hdr + l;
  return 0;
}

int lp2p_der_read_uint(der_reader *r, const uint8_t **mag, size_t *len) {
  const uint8_t *v;
  size_t l;
  if (lp2p_der_read(r, DER_INTEGER, &v, &l) != 0 || l == 0)
    return LP2P_ERR_PARSE;
  if (v[0] & 0x80) /* negative */
    return LP2P_ERR_PARSE;
  if (v[0] == 0) {
    if (l == 1) {
      *mag = v + 1;
      *len = 0;
      return 0;
    }
    if (!(v[1] & 0x80)) /* redundant leading zero */
      return LP2P_ERR_PARSE;
    v++;
    l--;
  }
  *mag = v;
  *len = l;
  return 0;
}

int lp2p_der_expect(der_reader *r, uint8_t tag, const uint8_t *exp,
                    size_t elen) {
  const uint8_t *v;
  size_t l;
  if (lp2p_der_read(r, tag, &v, &l) != 0 || l != elen ||
      (elen && memcmp(v, exp, elen) != 0))
    return LP2P_ERR_PARSE;
  return 0;
}

size_t lp2p_der_len_size(size_t len) {
  if (len < 0x80)
    return 1;
  if (len <= 0xff)
    return 2;
  if (len <= 0xffff)
    return 3;
  return 4;
}

size_t lp2p_der_tlv_size(size_t len) {
  return 1 + lp2p_der_len_size(len) + len;
}

static void strip(const uint8_t **mag, size_t *n) {
  while (*n && (*mag)[0] == 0) {
    (*mag)++;
    (*n)--;
  }
}

size_t lp2p_der_uint_size(const uint8_t *mag, size_t n) {
  strip(&mag, &n);
  size_t body = n == 0 ? 1 : n + ((mag[0] & 0x80) ? 1 : 0);
  return lp2p_der_tlv_size(body);
}

void lp2p_der_writer_init(der_writer *w, uint8_t *p, size_t cap) {
  w->p = p;
  w->cap = p ? cap : 0;
  w->len = 0;
  w->err = 0;
}

static void put_byte(der_writer *w, uint8_t b) {
  if (w->len < w->cap)
    w->p[w->len] = b;
  else
    w->err = LP2P_ERR_NOSPACE;
  w->len++;
}

void lp2p_der_put_raw(der_writer *w, const uint8_t *p, size_t n) {
  if (w->len > w->cap || n > w->cap - w->len) {
    w->err = LP2P_ERR_NOSPACE;
  } else if (n) {
    memcpy(w->p + w->len, p, n);
  }
  w->len += n;
}

void lp2p_der_put_hdr(der_writer *w, uint8_t tag, size_t len) {
  put_byte(w, tag);
  size_t ls = lp2p_der_len_size(len);
  if (ls == 1) {
    put_byte(w, (uint8_t)len);
    return;
  }
  put_byte(w, (uint8_t)(0x80 | (ls - 1)));
  for (size_t i = ls - 1; i > 0; i--)
    put_byte(w, (uint8_t)(len >> (8 * (i - 1))));
}

void lp2p_der_put_uint(der_writer *w, const uint8_t *mag, size_t n) {
  strip(&mag, &n);
  if (n == 0) {
    put_byte(w, DER_INTEGER);
    put_byte(w, 1);
    put_byte(w, 0);
    return;
  }
  int pad = (mag[0] & 0x80) != 0;
  lp2p_der_put_hdr(w, DER_INTEGER, n + (size_t)pad);
  if (pad)
    put_byte(w, 0);
  lp2p_der_put_raw(w, mag, n);
}
