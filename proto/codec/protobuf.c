/* Protobuf wire format (protobuf.dev/programming-guides/encoding): a field
 * is a varint tag (number << 3 | wire type) followed by its value. Only the
 * wire types libp2p messages use are accepted; groups (3/4, deprecated)
 * and the undefined types 6/7 are parse errors. */
#include "lp2p/protobuf.h"

#include <string.h>

#include "lp2p/varint.h"

lp2p_ssize lp2p_pb_varint_decode(const uint8_t *p, size_t n, uint64_t *v) {
  if ((!p && n) || !v)
    return LP2P_ERR_INVAL;
  uint64_t acc = 0;
  for (size_t i = 0; i < LP2P_VARINT_MAX_LEN; i++) {
    if (i >= n)
      return LP2P_ERR_TRUNCATED;
    uint8_t b = p[i];
    /* The tenth byte carries bit 63 only: anything above 1 overflows. */
    if (i == 9 && (b & 0x7f) > 1)
      return LP2P_ERR_OVERFLOW;
    acc |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *v = acc;
      return (lp2p_ssize)(i + 1);
    }
  }
  return LP2P_ERR_OVERFLOW;
}

void lp2p_pb_reader_init(lp2p_pb_reader *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->n = p ? n : 0;
  r->pos = 0;
}

static uint64_t load_le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;)
    v = v << 8 | p[i];
  return v;
}

int lp2p_pb_next(lp2p_pb_reader *r, lp2p_pb_field *f) {
  if (r->pos >= r->n)
    return 0;
  const uint8_t *p = r->p + r->pos;
  size_t left = r->n - r->pos;
  uint64_t tag, v;
  lp2p_ssize k = lp2p_pb_varint_decode(p, left, &tag);
  if (k < 0)
    return LP2P_ERR_PARSE;
  size_t off = (size_t)k;
  uint64_t num = tag >> 3;
  unsigned wire = (unsigned)(tag & 7);
  if (num == 0 || num > LP2P_PB_FIELD_MAX)
    return LP2P_ERR_PARSE;
  lp2p_pb_field out = {(uint32_t)num, (uint8_t)wire, 0, NULL, 0};
  switch (wire) {
  case LP2P_PB_VARINT:
    k = lp2p_pb_varint_decode(p + off, left - off, &v);
    if (k < 0)
      return LP2P_ERR_PARSE;
    out.u64 = v;
    off += (size_t)k;
    break;
  case LP2P_PB_FIXED64:
    if (left - off < 8)
      return LP2P_ERR_PARSE;
    out.u64 = load_le(p + off, 8);
    off += 8;
    break;
  case LP2P_PB_FIXED32:
    if (left - off < 4)
      return LP2P_ERR_PARSE;
    out.u64 = load_le(p + off, 4);
    off += 4;
    break;
  case LP2P_PB_LEN:
    k = lp2p_pb_varint_decode(p + off, left - off, &v);
    if (k < 0)
      return LP2P_ERR_PARSE;
    off += (size_t)k;
    /* Compare in 64 bits before narrowing: a huge length must not wrap. */
    if (v > (uint64_t)(left - off))
      return LP2P_ERR_PARSE;
    out.bytes = p + off;
    out.len = (size_t)v;
    off += (size_t)v;
    break;
  default:
    return LP2P_ERR_PARSE;
  }
  r->pos += off;
  *f = out;
  return 1;
}

/* ---- writer ---------------------------------------------------------- */

void lp2p_pb_writer_init(lp2p_pb_writer *w, uint8_t *p, size_t cap) {
  w->p = p;
  w->cap = p ? cap : 0;
  w->len = 0;
  w->err = 0;
}

/* Append n bytes (src NULL: nothing to copy, only count). Once the buffer
 * overflows, keep counting so finish() can report the size needed. */
static void emit(lp2p_pb_writer *w, const uint8_t *src, size_t n) {
  if (w->err && w->err != LP2P_ERR_NOSPACE)
    return;
  if (n > SIZE_MAX - w->len) {
    w->err = LP2P_ERR_NOSPACE;
    w->len = SIZE_MAX;
    return;
  }
  if (!w->err && n <= w->cap - w->len) {
    if (n)
      memcpy(w->p + w->len, src, n);
  } else {
    w->err = LP2P_ERR_NOSPACE;
  }
  w->len += n;
}

static void emit_varint(lp2p_pb_writer *w, uint64_t v) {
  uint8_t b[LP2P_VARINT_MAX_LEN];
  size_t n = 0;
  (void)lp2p_varint_encode(v, b, sizeof b, &n);
  emit(w, b, n);
}

static int tag_ok(lp2p_pb_writer *w, uint32_t num) {
  if (w->err && w->err != LP2P_ERR_NOSPACE)
    return 0;
  if (num == 0 || num > LP2P_PB_FIELD_MAX) {
    w->err = LP2P_ERR_INVAL;
    return 0;
  }
  return 1;
}

static void emit_tag(lp2p_pb_writer *w, uint32_t num, unsigned wire) {
  emit_varint(w, (uint64_t)num << 3 | wire);
}

void lp2p_pb_put_varint(lp2p_pb_writer *w, uint32_t num, uint64_t v) {
  if (!tag_ok(w, num))
    return;
  emit_tag(w, num, LP2P_PB_VARINT);
  emit_varint(w, v);
}

void lp2p_pb_put_tag_len(lp2p_pb_writer *w, uint32_t num, size_t len) {
  if (!tag_ok(w, num))
    return;
  emit_tag(w, num, LP2P_PB_LEN);
  emit_varint(w, (uint64_t)len);
}

void lp2p_pb_put_raw(lp2p_pb_writer *w, const uint8_t *p, size_t n) {
  if (w->err && w->err != LP2P_ERR_NOSPACE)
    return;
  if (!p && n) {
    w->err = LP2P_ERR_INVAL;
    return;
  }
  emit(w, p, n);
}

void lp2p_pb_put_bytes(lp2p_pb_writer *w, uint32_t num, const uint8_t *p,
                       size_t n) {
  if (!p && n) {
    if (!w->err || w->err == LP2P_ERR_NOSPACE)
      w->err = LP2P_ERR_INVAL;
    return;
  }
  lp2p_pb_put_tag_len(w, num, n);
  lp2p_pb_put_raw(w, p, n);
}

void lp2p_pb_put_string(lp2p_pb_writer *w, uint32_t num, const char *s) {
  if (!s) {
    if (!w->err || w->err == LP2P_ERR_NOSPACE)
      w->err = LP2P_ERR_INVAL;
    return;
  }
  lp2p_pb_put_bytes(w, num, (const uint8_t *)s, strlen(s));
}

static void put_fixed(lp2p_pb_writer *w, uint32_t num, unsigned wire,
                      uint64_t v, size_t n) {
  if (!tag_ok(w, num))
    return;
  uint8_t b[8];
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  emit_tag(w, num, wire);
  emit(w, b, n);
}

void lp2p_pb_put_fixed64(lp2p_pb_writer *w, uint32_t num, uint64_t v) {
  put_fixed(w, num, LP2P_PB_FIXED64, v, 8);
}

void lp2p_pb_put_fixed32(lp2p_pb_writer *w, uint32_t num, uint32_t v) {
  put_fixed(w, num, LP2P_PB_FIXED32, v, 4);
}

size_t lp2p_pb_size_varint(uint32_t num, uint64_t v) {
  return lp2p_varint_len((uint64_t)num << 3) + lp2p_varint_len(v);
}

size_t lp2p_pb_size_bytes(uint32_t num, size_t n) {
  return lp2p_varint_len((uint64_t)num << 3) + lp2p_varint_len(n) + n;
}

int lp2p_pb_writer_finish(const lp2p_pb_writer *w, size_t *len) {
  if (len)
    *len = w->len;
  return w->err;
}

int lp2p_pb_encode_framed(lp2p_pb_put_fn put, const void *msg,
                          size_t body_max, uint8_t *out, size_t cap,
                          size_t *len) {
  if (!put || (!out && cap))
    return LP2P_ERR_INVAL;
  lp2p_pb_writer w;
  size_t body = 0;
  lp2p_pb_writer_init(&w, NULL, 0); /* measure: the prefix is the length */
  put(&w, msg);
  int rc = lp2p_pb_writer_finish(&w, &body);
  if (rc != 0 && rc != LP2P_ERR_NOSPACE)
    return rc;
  if (body > body_max)
    return LP2P_ERR_LIMIT;
  size_t pre = lp2p_varint_len(body);
  if (len)
    *len = pre + body;
  if (cap < pre + body)
    return LP2P_ERR_NOSPACE;
  lp2p_varint_encode(body, out, cap, NULL);
  lp2p_pb_writer_init(&w, out + pre, body);
  put(&w, msg);
  size_t k = 0;
  rc = lp2p_pb_writer_finish(&w, &k);
  return rc ? rc : k == body ? 0 : LP2P_ERR_INTERNAL;
}
