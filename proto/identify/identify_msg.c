/* Identify message codec: see identify_msg.h and the identify spec,
 * "The Identify Message". */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/varint.h"
#include "proto/identify/identify_msg.h"

static void put_opt(lp2p_pb_writer *w, uint32_t num, lp2p_id_slice s) {
  if (s.p)
    lp2p_pb_put_bytes(w, num, s.p, s.len);
}

int lp2p_id_encode(const lp2p_id_fields *f, uint8_t *out, size_t cap,
                   size_t *len) {
  if (!f || (!out && cap) || (f->listen_addrs_len && !f->listen_addrs) ||
      (f->protocols_len && !f->protocols))
    return LP2P_ERR_INVAL;
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, cap);
  /* Field order follows the spec's message definition. */
  put_opt(&w, LP2P_ID_F_PROTOCOL_VERSION, f->protocol_version);
  put_opt(&w, LP2P_ID_F_AGENT_VERSION, f->agent_version);
  put_opt(&w, LP2P_ID_F_PUBLIC_KEY, f->public_key);
  for (size_t i = 0; i < f->listen_addrs_len; i++)
    lp2p_pb_put_bytes(&w, LP2P_ID_F_LISTEN_ADDRS, f->listen_addrs[i].p,
                      f->listen_addrs[i].len);
  put_opt(&w, LP2P_ID_F_OBSERVED_ADDR, f->observed_addr);
  for (size_t i = 0; i < f->protocols_len; i++)
    lp2p_pb_put_bytes(&w, LP2P_ID_F_PROTOCOLS, f->protocols[i].p,
                      f->protocols[i].len);
  put_opt(&w, LP2P_ID_F_SIGNED_PEER_RECORD, f->signed_peer_record);
  return lp2p_pb_writer_finish(&w, len);
}

void lp2p_id_limits_default(lp2p_id_limits *l) {
  l->listen_addrs_max = 64;
  l->protocols_max = 256;
  l->protocol_bytes_max = 1024;
  l->addr_bytes_max = 1024;
  l->string_bytes_max = 1024;
}

static int text_ok(const uint8_t *p, size_t n, int is_protocol) {
  if (is_protocol && n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == 0)
      return 0;
    if (is_protocol && p[i] == '\n')
      return 0;
  }
  return 1;
}

int lp2p_id_parse(lp2p_id_view *v, const uint8_t *p, size_t n,
                  const lp2p_id_limits *lim) {
  lp2p_id_limits def;
  if (!v || (!p && n))
    return LP2P_ERR_INVAL;
  if (!lim) {
    lp2p_id_limits_default(&def);
    lim = &def;
  }
  memset(v, 0, sizeof *v);
  v->msg = p;
  v->msg_len = n;
  lp2p_pb_reader r;
  lp2p_pb_reader_init(&r, p, n);
  lp2p_pb_field f;
  int rc;
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num > 8 || f.num == 7) /* unknown: skip, forward compatible */
      continue;
    if (f.wire != LP2P_PB_LEN)
      return LP2P_ERR_PARSE;
    lp2p_id_slice s = {f.bytes, f.len};
    switch (f.num) {
    case LP2P_ID_F_PUBLIC_KEY:
      v->public_key = s;
      break;
    case LP2P_ID_F_LISTEN_ADDRS:
      if (f.len > lim->addr_bytes_max)
        return LP2P_ERR_LIMIT;
      if (++v->listen_addrs_len > lim->listen_addrs_max)
        return LP2P_ERR_LIMIT;
      break;
    case LP2P_ID_F_PROTOCOLS:
      if (f.len > lim->protocol_bytes_max)
        return LP2P_ERR_LIMIT;
      if (!text_ok(f.bytes, f.len, 1))
        return LP2P_ERR_PARSE;
      if (++v->protocols_len > lim->protocols_max)
        return LP2P_ERR_LIMIT;
      break;
    case LP2P_ID_F_OBSERVED_ADDR:
      if (f.len > lim->addr_bytes_max)
        return LP2P_ERR_LIMIT;
      v->observed_addr = s;
      break;
    case LP2P_ID_F_PROTOCOL_VERSION:
    case LP2P_ID_F_AGENT_VERSION:
      if (f.len > lim->string_bytes_max)
        return LP2P_ERR_LIMIT;
      if (!text_ok(f.bytes, f.len, 0))
        return LP2P_ERR_PARSE;
      if (f.num == LP2P_ID_F_AGENT_VERSION)
        v->agent_version = s;
      else
        v->protocol_version = s;
      break;
    case LP2P_ID_F_SIGNED_PEER_RECORD:
      v->signed_peer_record = s;
      break;
    default:
      break;
    }
    v->has |= 1u << f.num;
  }
  return rc == 0 ? 0 : LP2P_ERR_PARSE;
}

int lp2p_id_next(const lp2p_id_view *v, unsigned field, size_t *pos,
                 lp2p_id_slice *out) {
  lp2p_pb_reader r;
  lp2p_pb_reader_init(&r, v->msg, v->msg_len);
  r.pos = *pos;
  lp2p_pb_field f;
  while (lp2p_pb_next(&r, &f) == 1) {
    if (f.num == field && f.wire == LP2P_PB_LEN) {
      *pos = r.pos;
      out->p = f.bytes;
      out->len = f.len;
      return 1;
    }
  }
  *pos = v->msg_len;
  return 0;
}

void lp2p_id_reader_init(lp2p_id_reader *r, uint8_t *buf, size_t cap,
                         size_t msg_max) {
  memset(r, 0, sizeof *r);
  r->buf = buf;
  r->cap = cap;
  r->msg_max = msg_max;
}

lp2p_ssize lp2p_id_reader_feed(lp2p_id_reader *r, const uint8_t *p,
                               size_t n) {
  if (r->err)
    return r->err;
  size_t i = 0;
  while (i < n) {
    if (!r->in_body) {
      r->hdr[r->hdr_len++] = p[i++];
      uint64_t v = 0;
      lp2p_ssize k = lp2p_varint_decode(r->hdr, r->hdr_len, &v);
      if (k == LP2P_ERR_TRUNCATED) {
        if (r->hdr_len >= LP2P_VARINT_MF_MAX_LEN)
          return r->err = LP2P_ERR_PARSE;
        continue;
      }
      if (k < 0)
        return r->err = LP2P_ERR_PARSE;
      r->hdr_len = 0;
      if (v > r->msg_max || v > r->cap - r->len)
        return r->err = LP2P_ERR_LIMIT;
      r->want = v;
      r->in_body = v > 0;
      r->messages++;
      continue;
    }
    size_t take = n - i;
    if (take > r->want)
      take = (size_t)r->want;
    memcpy(r->buf + r->len, p + i, take);
    r->len += take;
    r->want -= take;
    i += take;
    if (r->want == 0)
      r->in_body = 0;
  }
  return (lp2p_ssize)n;
}

int lp2p_id_reader_finish(const lp2p_id_reader *r) {
  if (r->err)
    return r->err;
  if (r->in_body || r->hdr_len)
    return LP2P_ERR_TRUNCATED;
  return 0;
}
