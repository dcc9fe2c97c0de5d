/* AutoNAT v2 messages (autonat-v2.md, "RPC Messages"): Message with its
 * oneof of DialRequest, DialResponse, DialDataRequest, DialDataResponse on
 * /dial-request; DialBack and DialBackResponse on /dial-back. Every message
 * is prefixed with its length as an unsigned varint. Pure, no allocation:
 * decoded slices point into the caller's buffer. */
#include <string.h>

#include "lp2p/autonat.h"
#include "lp2p/protobuf.h"
#include "lp2p/varint.h"

/* Field numbers from the spec's .proto. */
enum { F_DREQ_ADDRS = 1, F_DREQ_NONCE = 2 };
enum { F_DRESP_STATUS = 1, F_DRESP_ADDR_IDX = 2, F_DRESP_DIAL_STATUS = 3 };
enum { F_DDREQ_ADDR_IDX = 1, F_DDREQ_NUM_BYTES = 2 };
enum { F_DDRESP_DATA = 1 };
enum { F_DB_NONCE = 1 };
enum { F_DBR_STATUS = 1 };

lp2p_ssize lp2p_autonat_frame(const uint8_t *p, size_t n, size_t body_max,
                              const uint8_t **body, size_t *body_len) {
  uint64_t len;
  if (!p || n == 0)
    return 0;
  lp2p_ssize k = lp2p_varint_decode(p, n, &len);
  if (k == LP2P_ERR_TRUNCATED)
    return 0;
  if (k < 0)
    return LP2P_ERR_PARSE;
  if (len > body_max)
    return LP2P_ERR_LIMIT;
  if (n - (size_t)k < len)
    return 0;
  if (body)
    *body = p + k;
  if (body_len)
    *body_len = (size_t)len;
  return k + (lp2p_ssize)len;
}

/* uint32 / enum fields arrive as varints; values above 2^32-1 are
 * truncated as protobuf implementations do for uint32. */
static int parse_dial_request(lp2p_autonat_msg *m, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == F_DREQ_ADDRS) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      if (m->naddrs < LP2P_AUTONAT_ADDRS_MAX) {
        m->addrs[m->naddrs].p = f.bytes;
        m->addrs[m->naddrs].len = f.len;
        m->naddrs++;
      }
      m->naddrs_seen++;
    } else if (f.num == F_DREQ_NONCE) {
      if (f.wire != LP2P_PB_FIXED64)
        return LP2P_ERR_PARSE;
      m->nonce = f.u64;
    }
  }
  return rc == 0 ? 0 : LP2P_ERR_PARSE;
}

static int parse_varint_fields(const uint8_t *p, size_t n, uint64_t *vals,
                               size_t nvals) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num >= 1 && f.num <= nvals) {
      if (f.wire != LP2P_PB_VARINT)
        return LP2P_ERR_PARSE;
      vals[f.num - 1] = f.u64;
    }
  }
  return rc == 0 ? 0 : LP2P_ERR_PARSE;
}

static int parse_data_response(lp2p_autonat_msg *m, const uint8_t *p,
                               size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == F_DDRESP_DATA) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      m->data.p = f.bytes;
      m->data.len = f.len;
    }
  }
  return rc == 0 ? 0 : LP2P_ERR_PARSE;
}

int lp2p_autonat_msg_parse(lp2p_autonat_msg *m, const uint8_t *p, size_t n) {
  if (!m || (!p && n))
    return LP2P_ERR_PARSE;
  memset(m, 0, sizeof *m);
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *sub = NULL;
  size_t sub_len = 0;
  uint32_t which = 0;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num < LP2P_AUTONAT_MSG_DIAL_REQUEST ||
        f.num > LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE)
      continue; /* unknown field: skip */
    if (f.wire != LP2P_PB_LEN)
      return LP2P_ERR_PARSE;
    which = f.num; /* a oneof set twice: the last wins */
    sub = f.bytes;
    sub_len = f.len;
  }
  if (rc != 0 || which == 0)
    return LP2P_ERR_PARSE;
  m->type = (lp2p_autonat_msg_type)which;
  uint64_t v[3] = {0, 0, 0};
  switch (which) {
  case LP2P_AUTONAT_MSG_DIAL_REQUEST:
    return parse_dial_request(m, sub, sub_len);
  case LP2P_AUTONAT_MSG_DIAL_RESPONSE:
    rc = parse_varint_fields(sub, sub_len, v, 3);
    m->status = (uint32_t)v[F_DRESP_STATUS - 1];
    m->addr_idx = (uint32_t)v[F_DRESP_ADDR_IDX - 1];
    m->dial_status = (uint32_t)v[F_DRESP_DIAL_STATUS - 1];
    return rc;
  case LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST:
    rc = parse_varint_fields(sub, sub_len, v, 2);
    m->addr_idx = (uint32_t)v[F_DDREQ_ADDR_IDX - 1];
    m->num_bytes = v[F_DDREQ_NUM_BYTES - 1];
    return rc;
  default:
    return parse_data_response(m, sub, sub_len);
  }
}

/* Write the body of the inner message into w (a NULL buffer measures). */
static void put_inner(lp2p_pb_writer *w, const lp2p_autonat_msg *m) {
  switch (m->type) {
  case LP2P_AUTONAT_MSG_DIAL_REQUEST:
    for (size_t i = 0; i < m->naddrs; i++)
      lp2p_pb_put_bytes(w, F_DREQ_ADDRS, m->addrs[i].p, m->addrs[i].len);
    lp2p_pb_put_fixed64(w, F_DREQ_NONCE, m->nonce);
    break;
  case LP2P_AUTONAT_MSG_DIAL_RESPONSE:
    /* proto3: zero values are not written */
    if (m->status)
      lp2p_pb_put_varint(w, F_DRESP_STATUS, m->status);
    if (m->addr_idx)
      lp2p_pb_put_varint(w, F_DRESP_ADDR_IDX, m->addr_idx);
    if (m->dial_status)
      lp2p_pb_put_varint(w, F_DRESP_DIAL_STATUS, m->dial_status);
    break;
  case LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST:
    if (m->addr_idx)
      lp2p_pb_put_varint(w, F_DDREQ_ADDR_IDX, m->addr_idx);
    if (m->num_bytes)
      lp2p_pb_put_varint(w, F_DDREQ_NUM_BYTES, m->num_bytes);
    break;
  default:
    lp2p_pb_put_tag_len(w, F_DDRESP_DATA, m->data.len);
    if (m->data.p) {
      lp2p_pb_put_raw(w, m->data.p, m->data.len);
    } else {
      static const uint8_t zeros[256];
      for (size_t left = m->data.len; left;) {
        size_t k = left < sizeof zeros ? left : sizeof zeros;
        lp2p_pb_put_raw(w, zeros, k);
        left -= k;
      }
    }
    break;
  }
}

static size_t inner_size(const lp2p_autonat_msg *m) {
  lp2p_pb_writer w;
  size_t n = 0;
  lp2p_pb_writer_init(&w, NULL, 0);
  put_inner(&w, m);
  lp2p_pb_writer_finish(&w, &n);
  return n;
}

/* varint length + body, into out; *len = total (also on NOSPACE). */
static int frame_out(size_t body, uint8_t *out, size_t cap, size_t *len,
                     lp2p_pb_writer *w) {
  size_t k = lp2p_varint_len(body);
  *len = k + body;
  if (!out || cap < *len)
    return LP2P_ERR_NOSPACE;
  lp2p_varint_encode(body, out, cap, NULL);
  lp2p_pb_writer_init(w, out + k, cap - k);
  return 0;
}

int lp2p_autonat_msg_encode(const lp2p_autonat_msg *m, uint8_t *out, size_t cap,
                            size_t *len) {
  size_t tmp;
  if (!len)
    len = &tmp;
  *len = 0;
  if (!m || m->type < LP2P_AUTONAT_MSG_DIAL_REQUEST ||
      m->type > LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE ||
      m->naddrs > LP2P_AUTONAT_ADDRS_MAX)
    return LP2P_ERR_INVAL;
  if (m->type == LP2P_AUTONAT_MSG_DIAL_REQUEST)
    for (size_t i = 0; i < m->naddrs; i++)
      if (!m->addrs[i].p && m->addrs[i].len)
        return LP2P_ERR_INVAL;
  size_t inner = inner_size(m);
  size_t body = lp2p_pb_size_bytes((uint32_t)m->type, inner);
  lp2p_pb_writer w;
  int rc = frame_out(body, out, cap, len, &w);
  if (rc)
    return rc;
  lp2p_pb_put_tag_len(&w, (uint32_t)m->type, inner);
  put_inner(&w, m);
  return lp2p_pb_writer_finish(&w, NULL);
}

int lp2p_autonat_dialback_encode(uint64_t nonce, uint8_t *out, size_t cap,
                                 size_t *len) {
  size_t tmp;
  lp2p_pb_writer w;
  if (!len)
    len = &tmp;
  int rc = frame_out(9, out, cap, len, &w); /* tag + 8 bytes */
  if (rc)
    return rc;
  lp2p_pb_put_fixed64(&w, F_DB_NONCE, nonce);
  return lp2p_pb_writer_finish(&w, NULL);
}

int lp2p_autonat_dialback_parse(const uint8_t *p, size_t n, uint64_t *nonce) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc, seen = 0;
  if (!nonce || (!p && n))
    return LP2P_ERR_PARSE;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != F_DB_NONCE)
      continue;
    if (f.wire != LP2P_PB_FIXED64)
      return LP2P_ERR_PARSE;
    *nonce = f.u64;
    seen = 1;
  }
  /* proto3 leaves a zero nonce out: an empty DialBack means nonce 0. */
  if (!seen)
    *nonce = 0;
  return rc == 0 ? 0 : LP2P_ERR_PARSE;
}

int lp2p_autonat_dialback_resp_encode(uint32_t status, uint8_t *out, size_t cap,
                                      size_t *len) {
  size_t tmp;
  lp2p_pb_writer w;
  if (!len)
    len = &tmp;
  size_t body = status ? lp2p_pb_size_varint(F_DBR_STATUS, status) : 0;
  int rc = frame_out(body, out, cap, len, &w);
  if (rc)
    return rc;
  if (status)
    lp2p_pb_put_varint(&w, F_DBR_STATUS, status);
  return lp2p_pb_writer_finish(&w, NULL);
}

int lp2p_autonat_dialback_resp_parse(const uint8_t *p, size_t n,
                                     uint32_t *status) {
  uint64_t v[1] = {0};
  if (!status || (!p && n))
    return LP2P_ERR_PARSE;
  int rc = parse_varint_fields(p, n, v, 1);
  *status = (uint32_t)v[0];
  return rc;
}
