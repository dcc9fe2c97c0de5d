/* The kad-dht wire codec (spec "RPC messages"): a protobuf Message behind
 * an unsigned-varint length prefix. Allocation-free: decoding points into
 * the input and fills caller arrays, encoding writes a caller buffer.
 *
 * Field numbers: Message {type 1, key 2, record 3, closerPeers 8,
 * providerPeers 9, clusterLevelRaw 10 (unused: skipped, never written)};
 * Record {key 1, value 2, timeReceived 5}; Peer {id 1, addrs 2,
 * connection 3}.
 *
 * Encoding writes `type` always (also PUT_VALUE = 0: a reader of either
 * proto2 or proto3 accepts it) and omits an empty key and connection 0,
 * as go's and js's proto3 encoders do. */
#include <string.h>

#include "lp2p/kad.h"
#include "lp2p/protobuf.h"
#include "lp2p/varint.h"

static int decode_record(lp2p_kad_msg *m, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1 && f.num != 2 && f.num != 5)
      continue;
    if (f.wire != LP2P_PB_LEN)
      return LP2P_ERR_PARSE;
    lp2p_kad_bytes b = {f.bytes, f.len};
    if (f.num == 1)
      m->rec_key = b;
    else if (f.num == 2)
      m->rec_value = b;
    else
      m->rec_time = b;
  }
  if (rc < 0)
    return LP2P_ERR_PARSE;
  m->has_record = 1;
  return 0;
}

/* One Peer into out, its addresses appended to the shared pool. */
static int decode_peer(lp2p_kad_peer *out, lp2p_kad_msg_space *sp,
                       size_t *addrs_used, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  memset(out, 0, sizeof *out);
  out->addrs = sp->addrs ? sp->addrs + *addrs_used : NULL;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1 || f.num == 2) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      if (f.num == 1) {
        out->id.p = f.bytes;
        out->id.n = f.len;
      } else if (out->addrs_n < sp->addrs_per_peer_max &&
                 *addrs_used < sp->addrs_cap) {
        sp->addrs[*addrs_used].p = f.bytes;
        sp->addrs[*addrs_used].n = f.len;
        (*addrs_used)++;
        out->addrs_n++;
      } else {
        sp->addrs_dropped++;
      }
    } else if (f.num == 3) {
      if (f.wire != LP2P_PB_VARINT)
        return LP2P_ERR_PARSE;
      /* Unknown connection types read as NOT_CONNECTED (proto3 enums are
       * open; the value is a hint only). */
      out->connection = f.u64 <= 3 ? (uint8_t)f.u64 : 0;
    }
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

int lp2p_kad_msg_decode(lp2p_kad_msg *m, lp2p_kad_msg_space *sp,
                        const uint8_t *p, size_t n) {
  if (!m || !sp || (!p && n))
    return LP2P_ERR_INVAL;
  if (n > LP2P_KAD_MSG_MAX)
    return LP2P_ERR_LIMIT;
  memset(m, 0, sizeof *m);
  m->closer = sp->closer;
  m->providers = sp->providers;
  sp->peers_dropped = sp->addrs_dropped = 0;
  size_t addrs_used = 0;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != LP2P_PB_VARINT || f.u64 > LP2P_KAD_PING)
        return LP2P_ERR_PARSE;
      m->type = (uint8_t)f.u64;
      break;
    case 2:
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      m->key.p = f.bytes;
      m->key.n = f.len;
      break;
    case 3:
      if (f.wire != LP2P_PB_LEN || decode_record(m, f.bytes, f.len) != 0)
        return LP2P_ERR_PARSE;
      break;
    case 8:
    case 9: {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      int closer = f.num == 8;
      size_t *cnt = closer ? &m->closer_n : &m->providers_n;
      size_t cap = closer ? sp->closer_cap : sp->providers_cap;
      lp2p_kad_peer *arr = closer ? sp->closer : sp->providers;
      if (*cnt >= cap || !arr) {
        /* Past the cap the peer is still checked to be a well-formed
         * submessage, so the verdict on the message does not depend on
         * the caller's capacities. */
        lp2p_kad_msg_space none = {0};
        lp2p_kad_peer scratch;
        size_t zero = 0;
        if (decode_peer(&scratch, &none, &zero, f.bytes, f.len) != 0)
          return LP2P_ERR_PARSE;
        sp->peers_dropped++;
        break;
      }
      if (decode_peer(&arr[*cnt], sp, &addrs_used, f.bytes, f.len) != 0)
        return LP2P_ERR_PARSE;
      (*cnt)++;
      break;
    }
    default:
      break; /* clusterLevelRaw and unknown fields */
    }
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

static size_t peer_body_len(const lp2p_kad_peer *pr) {
  size_t s = lp2p_pb_size_bytes(1, pr->id.n);
  for (size_t i = 0; i < pr->addrs_n; i++)
    s += lp2p_pb_size_bytes(2, pr->addrs[i].n);
  if (pr->connection)
    s += lp2p_pb_size_varint(3, pr->connection);
  return s;
}

static void put_peer(lp2p_pb_writer *w, uint32_t num, const lp2p_kad_peer *pr) {
  lp2p_pb_put_tag_len(w, num, peer_body_len(pr));
  lp2p_pb_put_bytes(w, 1, pr->id.p, pr->id.n);
  for (size_t i = 0; i < pr->addrs_n; i++)
    lp2p_pb_put_bytes(w, 2, pr->addrs[i].p, pr->addrs[i].n);
  if (pr->connection)
    lp2p_pb_put_varint(w, 3, pr->connection);
}

static void put_body(lp2p_pb_writer *w, const void *msg) {
  const lp2p_kad_msg *m = msg;
  lp2p_pb_put_varint(w, 1, m->type);
  if (m->key.n)
    lp2p_pb_put_bytes(w, 2, m->key.p, m->key.n);
  if (m->has_record) {
    size_t rl = lp2p_pb_size_bytes(1, m->rec_key.n) +
                lp2p_pb_size_bytes(2, m->rec_value.n) +
                (m->rec_time.n ? lp2p_pb_size_bytes(5, m->rec_time.n) : 0);
    lp2p_pb_put_tag_len(w, 3, rl);
    lp2p_pb_put_bytes(w, 1, m->rec_key.p, m->rec_key.n);
    lp2p_pb_put_bytes(w, 2, m->rec_value.p, m->rec_value.n);
    if (m->rec_time.n)
      lp2p_pb_put_bytes(w, 5, m->rec_time.p, m->rec_time.n);
  }
  for (size_t i = 0; i < m->closer_n; i++)
    put_peer(w, 8, &m->closer[i]);
  for (size_t i = 0; i < m->providers_n; i++)
    put_peer(w, 9, &m->providers[i]);
}

int lp2p_kad_msg_encode(const lp2p_kad_msg *m, uint8_t *out, size_t cap,
                        size_t *len) {
  if (!m || (!out && cap) || m->type > LP2P_KAD_PING ||
      (m->closer_n && !m->closer) || (m->providers_n && !m->providers))
    return LP2P_ERR_INVAL;
  return lp2p_pb_encode_framed(put_body, m, LP2P_KAD_MSG_MAX, out, cap, len);
}

int lp2p_kad_frame(const uint8_t *p, size_t n, size_t max, size_t *body_off,
                   size_t *body_len) {
  uint64_t v;
  lp2p_ssize k = lp2p_varint_decode(p, n, &v);
  if (k == LP2P_ERR_TRUNCATED)
    return LP2P_ERR_TRUNCATED;
  if (k < 0)
    return LP2P_ERR_PARSE;
  if (v > max)
    return LP2P_ERR_LIMIT;
  if (n - (size_t)k < v)
    return LP2P_ERR_TRUNCATED;
  *body_off = (size_t)k;
  *body_len = (size_t)v;
  return 0;
}
