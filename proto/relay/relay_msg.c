/* Circuit relay v2 HopMessage / StopMessage codec (relay/circuit-v2.md,
 * "Protobuf"). Decoding keeps pointers into the input and copies only the
 * peer id; every count is bounded (LP2P_RELAY_ADDRS_MAX addresses are
 * kept, the rest skipped) and the message size is capped at 4 KiB as
 * go-libp2p caps it. Field numbers differ between the two messages:
 *   Hop:  type 1, peer 2, reservation 3, limit 4, status 5
 *   Stop: type 1, peer 2, limit 3, status 4 */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/relay.h"
#include "lp2p/varint.h"

static int decode_peer(lp2p_relay_msg *m, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc, has_id = 0;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if (f.wire != LP2P_PB_LEN ||
          lp2p_peerid_from_bytes(&m->peer, f.bytes, f.len) != 0)
        return LP2P_ERR_PARSE;
      has_id = 1;
    } else if (f.num == 2) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      if (m->npeer_addrs < LP2P_RELAY_ADDRS_MAX)
        m->peer_addrs[m->npeer_addrs++] = (lp2p_relay_bytes){f.bytes, f.len};
    }
  }
  /* a Peer without its id names nobody */
  return rc < 0 || !has_id ? LP2P_ERR_PARSE : 0;
}

static int decode_rsvp(lp2p_relay_msg *m, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if (f.wire != LP2P_PB_VARINT)
        return LP2P_ERR_PARSE;
      m->expire = f.u64;
    } else if (f.num == 2 || f.num == 3) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      if (f.num == 3)
        m->voucher = (lp2p_relay_bytes){f.bytes, f.len};
      else if (m->nrsvp_addrs < LP2P_RELAY_ADDRS_MAX)
        m->rsvp_addrs[m->nrsvp_addrs++] = (lp2p_relay_bytes){f.bytes, f.len};
    }
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

static int decode_limit(lp2p_relay_msg *m, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2)
      continue;
    if (f.wire != LP2P_PB_VARINT)
      return LP2P_ERR_PARSE;
    if (f.num == 1) /* uint32 on the wire may carry more: clamp */
      m->limit_duration = f.u64 > UINT32_MAX ? UINT32_MAX : (uint32_t)f.u64;
    else
      m->limit_data = f.u64;
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

int lp2p_relay_msg_decode(lp2p_relay_msg *m, int stop, const uint8_t *p,
                          size_t n) {
  if (!m || (!p && n))
    return LP2P_ERR_INVAL;
  memset(m, 0, sizeof *m);
  m->stop = stop ? 1 : 0;
  if (n > LP2P_RELAY_MSG_MAX)
    return LP2P_ERR_LIMIT;
  const uint32_t f_limit = stop ? 3 : 4, f_status = stop ? 4 : 5;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    int e = 0;
    if (f.num == 1 || f.num == f_status) {
      if (f.wire != LP2P_PB_VARINT || f.u64 > UINT32_MAX)
        return LP2P_ERR_PARSE;
      if (f.num == 1) {
        m->type = (uint32_t)f.u64;
        m->has_type = 1;
      } else {
        m->status = (uint32_t)f.u64;
        m->has_status = 1;
      }
      continue;
    }
    if (f.num != 2 && f.num != f_limit && (stop || f.num != 3))
      continue; /* unknown field */
    if (f.wire != LP2P_PB_LEN)
      return LP2P_ERR_PARSE;
    if (f.num == 2) {
      if (m->has_peer) /* a second Peer: which one is meant? */
        return LP2P_ERR_PARSE;
      m->has_peer = 1;
      e = decode_peer(m, f.bytes, f.len);
    } else if (f.num == f_limit) {
      m->has_limit = 1;
      e = decode_limit(m, f.bytes, f.len);
    } else {
      m->has_rsvp = 1;
      e = decode_rsvp(m, f.bytes, f.len);
    }
    if (e)
      return e;
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

/* The body of m into w (measure with a NULL writer buffer). */
static void put_body(lp2p_pb_writer *w, const void *msg) {
  const lp2p_relay_msg *m = msg;
  const uint32_t f_limit = m->stop ? 3 : 4, f_status = m->stop ? 4 : 5;
  lp2p_pb_put_varint(w, 1, m->type);
  if (m->has_peer) {
    size_t len = lp2p_pb_size_bytes(1, m->peer.len);
    for (size_t i = 0; i < m->npeer_addrs; i++)
      len += lp2p_pb_size_bytes(2, m->peer_addrs[i].len);
    lp2p_pb_put_tag_len(w, 2, len);
    lp2p_pb_put_bytes(w, 1, m->peer.bytes, m->peer.len);
    for (size_t i = 0; i < m->npeer_addrs; i++)
      lp2p_pb_put_bytes(w, 2, m->peer_addrs[i].p, m->peer_addrs[i].len);
  }
  if (m->has_rsvp && !m->stop) {
    size_t len = lp2p_pb_size_varint(1, m->expire);
    for (size_t i = 0; i < m->nrsvp_addrs; i++)
      len += lp2p_pb_size_bytes(2, m->rsvp_addrs[i].len);
    if (m->voucher.len)
      len += lp2p_pb_size_bytes(3, m->voucher.len);
    lp2p_pb_put_tag_len(w, 3, len);
    lp2p_pb_put_varint(w, 1, m->expire);
    for (size_t i = 0; i < m->nrsvp_addrs; i++)
      lp2p_pb_put_bytes(w, 2, m->rsvp_addrs[i].p, m->rsvp_addrs[i].len);
    if (m->voucher.len)
      lp2p_pb_put_bytes(w, 3, m->voucher.p, m->voucher.len);
  }
  if (m->has_limit) {
    size_t len = 0;
    if (m->limit_duration)
      len += lp2p_pb_size_varint(1, m->limit_duration);
    if (m->limit_data)
      len += lp2p_pb_size_varint(2, m->limit_data);
    lp2p_pb_put_tag_len(w, f_limit, len);
    if (m->limit_duration)
      lp2p_pb_put_varint(w, 1, m->limit_duration);
    if (m->limit_data)
      lp2p_pb_put_varint(w, 2, m->limit_data);
  }
  if (m->has_status)
    lp2p_pb_put_varint(w, f_status, m->status);
}

int lp2p_relay_msg_encode(const lp2p_relay_msg *m, uint8_t *out, size_t cap,
                          size_t *len) {
  if (!m || !len || (!out && cap) || m->npeer_addrs > LP2P_RELAY_ADDRS_MAX ||
      m->nrsvp_addrs > LP2P_RELAY_ADDRS_MAX)
    return LP2P_ERR_INVAL;
  return lp2p_pb_encode_framed(put_body, m, LP2P_RELAY_MSG_MAX, out, cap, len);
}
