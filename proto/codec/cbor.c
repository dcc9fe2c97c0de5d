/* The bounded DAG-CBOR reader and writer of include/lp2p/cbor.h (RFC 8949
 * section 3; IPLD DAG-CBOR "Strictness": minimal integer and length
 * encodings, definite lengths, canonical map key order). */
#include <string.h>

#include "lp2p/cbor.h"

/* Read a head at p[*pos..n): major type and argument. */
static int head(const uint8_t *p, size_t n, size_t *pos, uint8_t *major,
                uint64_t *u) {
  if (*pos >= n)
    return LP2P_ERR_PARSE;
  uint8_t b = p[(*pos)++];
  uint8_t ai = b & 0x1f;
  *major = (uint8_t)(b >> 5);
  if (ai < 24) {
    *u = ai;
    return 0;
  }
  if (ai > 27)
    return LP2P_ERR_PARSE; /* 28-30 reserved, 31 indefinite */
  size_t len = (size_t)1 << (ai - 24);
  if (n - *pos < len)
    return LP2P_ERR_PARSE;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++)
    v = v << 8 | p[(*pos)++];
  /* Minimal: each width only for values the narrower one cannot hold.
   * Floats (major 7, 25..27) carry bits, not a length: any is fine. */
  if (*major != LP2P_CBOR_SIMPLE) {
    static const uint64_t floor_[4] = {24, 0x100, 0x10000, 0x100000000ull};
    if (v < floor_[ai - 24])
      return LP2P_ERR_PARSE;
  } else if (ai == 24 && v < 32) {
    return LP2P_ERR_PARSE; /* simple values below 32 use the short form */
  }
  *u = v;
  return 0;
}

/* Map keys in DAG-CBOR order: shorter first, then bytewise. */
static int key_before(const lp2p_cbor_item *a, const lp2p_cbor_item *b) {
  if (a->n != b->n)
    return a->n < b->n;
  return memcmp(a->p, b->p, a->n) < 0;
}

static int item(const uint8_t *p, size_t n, size_t *pos, lp2p_cbor_item *it,
                unsigned depth) {
  size_t start = *pos;
  uint8_t major;
  uint64_t u;
  if (head(p, n, pos, &major, &u) != 0)
    return LP2P_ERR_PARSE;
  it->major = major;
  it->u = u;
  it->p = NULL;
  it->n = 0;
  switch (major) {
  case LP2P_CBOR_UINT:
  case LP2P_CBOR_NEGINT:
  case LP2P_CBOR_SIMPLE:
    break;
  case LP2P_CBOR_BYTES:
  case LP2P_CBOR_TEXT:
    if (u > n - *pos)
      return LP2P_ERR_PARSE;
    it->p = p + *pos;
    it->n = (size_t)u;
    *pos += (size_t)u;
    break;
  default: { /* array, map, tag */
    if (depth >= LP2P_CBOR_DEPTH_MAX)
      return LP2P_ERR_PARSE;
    /* Every element takes at least one byte: a count above what is left
     * is malformed, which also bounds the loop by the input size. */
    uint64_t count = major == LP2P_CBOR_TAG ? 1 : u;
    if (major == LP2P_CBOR_MAP && count > (n - *pos) / 2)
      return LP2P_ERR_PARSE;
    if (count > n - *pos)
      return LP2P_ERR_PARSE;
    lp2p_cbor_item prev = {0}, sub;
    for (uint64_t i = 0; i < count; i++) {
      if (major == LP2P_CBOR_MAP) {
        if (item(p, n, pos, &sub, depth + 1) != 0 || sub.major != LP2P_CBOR_TEXT)
          return LP2P_ERR_PARSE;
        if (i > 0 && !key_before(&prev, &sub))
          return LP2P_ERR_PARSE;
        prev = sub;
      }
      if (item(p, n, pos, &sub, depth + 1) != 0)
        return LP2P_ERR_PARSE;
    }
    it->p = p + start;
    it->n = *pos - start;
    break;
  }
  }
  return 0;
}

int lp2p_cbor_read(const uint8_t *p, size_t n, size_t *pos,
                   lp2p_cbor_item *it) {
  if ((!p && n) || !pos || !it || *pos > n)
    return LP2P_ERR_PARSE;
  return item(p, n, pos, it, 0);
}

int lp2p_cbor_map_open(lp2p_cbor_map *m, const uint8_t *p, size_t n) {
  size_t pos = 0;
  lp2p_cbor_item it;
  if (lp2p_cbor_read(p, n, &pos, &it) != 0 || it.major != LP2P_CBOR_MAP ||
      pos != n)
    return LP2P_ERR_PARSE;
  /* Checked whole: now step into it. */
  m->p = p;
  m->n = n;
  m->pos = 0;
  uint8_t major;
  head(p, n, &m->pos, &major, &m->left);
  return 0;
}

int lp2p_cbor_map_next(lp2p_cbor_map *m, lp2p_cbor_item *key,
                       lp2p_cbor_item *val) {
  if (!m->left)
    return 0;
  m->left--;
  /* Already validated by map_open: these reads cannot fail. */
  if (item(m->p, m->n, &m->pos, key, 1) != 0 ||
      item(m->p, m->n, &m->pos, val, 1) != 0) {
    m->left = 0;
    return 0;
  }
  return 1;
}

void lp2p_cbor_writer_init(lp2p_cbor_writer *w, uint8_t *p, size_t cap) {
  w->p = p;
  w->cap = p ? cap : 0;
  w->len = 0;
  w->err = 0;
}

static void put(lp2p_cbor_writer *w, const uint8_t *b, size_t n) {
  if (!w->err && w->cap - w->len >= n && w->len <= w->cap) {
    if (n)
      memcpy(w->p + w->len, b, n);
  } else {
    w->err = LP2P_ERR_NOSPACE;
  }
  w->len += n;
}

void lp2p_cbor_put_head(lp2p_cbor_writer *w, uint8_t major, uint64_t u) {
  uint8_t b[9];
  size_t k;
  uint8_t m = (uint8_t)(major << 5);
  if (u < 24) {
    b[0] = (uint8_t)(m | u);
    k = 1;
  } else {
    unsigned w2 = u <= 0xff ? 0 : u <= 0xffff ? 1 : u <= 0xffffffffu ? 2 : 3;
    size_t len = (size_t)1 << w2;
    b[0] = (uint8_t)(m | (24 + w2));
    for (size_t i = 0; i < len; i++)
      b[1 + i] = (uint8_t)(u >> (8 * (len - 1 - i)));
    k = 1 + len;
  }
  put(w, b, k);
}

void lp2p_cbor_put_uint(lp2p_cbor_writer *w, uint64_t u) {
  lp2p_cbor_put_head(w, LP2P_CBOR_UINT, u);
}

void lp2p_cbor_put_bytes(lp2p_cbor_writer *w, const uint8_t *p, size_t n) {
  lp2p_cbor_put_head(w, LP2P_CBOR_BYTES, n);
  put(w, p, n);
}

void lp2p_cbor_put_text(lp2p_cbor_writer *w, const char *s, size_t n) {
  lp2p_cbor_put_head(w, LP2P_CBOR_TEXT, n);
  put(w, (const uint8_t *)s, n);
}
