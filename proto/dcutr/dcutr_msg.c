/* DCUtR HolePunch codec (relay/DCUtR.md, "RPC messages"):
 *   message HolePunch { optional Type type = 1; repeated bytes ObsAddrs = 2; }
 *   enum Type { CONNECT = 100; SYNC = 300; }
 * Bodies are capped at 4 KiB as go-libp2p caps them (holepunch/svc.go,
 * maxMsgSize); at most LP2P_DCUTR_ADDRS_MAX addresses are kept, the rest
 * only counted, so a hostile CONNECT costs no memory. */
#include <string.h>

#include "lp2p/dcutr.h"
#include "lp2p/protobuf.h"
#include "lp2p/varint.h"

int lp2p_dcutr_msg_decode(lp2p_dcutr_msg *m, const uint8_t *p, size_t n) {
  if (!m || (!p && n))
    return LP2P_ERR_INVAL;
  memset(m, 0, sizeof *m);
  if (n > LP2P_DCUTR_MSG_MAX)
    return LP2P_ERR_LIMIT;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 1) {
      if (f.wire != LP2P_PB_VARINT || f.u64 > UINT32_MAX)
        return LP2P_ERR_PARSE;
      m->type = (uint32_t)f.u64; /* last one wins, as protobuf says */
      m->has_type = 1;
    } else if (f.num == LP2P_DCUTR_F_NAT) {
      /* ours; values out of range are ignored, not fatal: a newer peer
       * may know more behaviours than we do */
      if (f.wire != LP2P_PB_VARINT)
        return LP2P_ERR_PARSE;
      unsigned mp = (unsigned)(f.u64 & 0xf), fl = (unsigned)(f.u64 >> 4 & 0xf),
               pp = (unsigned)(f.u64 >> 8 & 0x3);
      uint64_t stride = f.u64 >> 16 & 0xffff;
      lp2p_nat_class_unknown(&m->nat);
      if (mp <= LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT)
        m->nat.mapping = (lp2p_nat_behaviour)mp;
      if (fl <= LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT)
        m->nat.filtering = (lp2p_nat_behaviour)fl;
      if (pp <= 2)
        m->nat.preserves_port = (int)pp - 1;
      if (stride && stride <= LP2P_NAT_STRIDE_MAX) {
        m->nat.sequential = 1;
        m->nat.port_stride = (uint16_t)stride;
      }
      m->has_nat = 1;
    } else if (f.num == 2) {
      if (f.wire != LP2P_PB_LEN)
        return LP2P_ERR_PARSE;
      if (m->naddrs < LP2P_DCUTR_ADDRS_MAX)
        m->addrs[m->naddrs++] = (lp2p_dcutr_bytes){f.bytes, f.len};
      else
        m->naddrs_skipped++;
    }
  }
  if (rc < 0)
    return LP2P_ERR_PARSE;
  /* a message without a type asks for nothing; only two values exist */
  if (!m->has_type ||
      (m->type != LP2P_DCUTR_CONNECT && m->type != LP2P_DCUTR_SYNC))
    return LP2P_ERR_PARSE;
  return 0;
}

static void put_body(lp2p_pb_writer *w, const void *msg) {
  const lp2p_dcutr_msg *m = msg;
  lp2p_pb_put_varint(w, 1, m->type);
  for (size_t i = 0; i < m->naddrs; i++)
    lp2p_pb_put_bytes(w, 2, m->addrs[i].p, m->addrs[i].len);
  if (m->has_nat) {
    const lp2p_nat_class *c = &m->nat;
    uint64_t v = (uint64_t)(c->mapping & 0xf) |
                 (uint64_t)(c->filtering & 0xf) << 4 |
                 (uint64_t)((c->preserves_port + 1) & 0x3) << 8 |
                 (uint64_t)(c->sequential ? c->port_stride : 0) << 16;
    lp2p_pb_put_varint(w, LP2P_DCUTR_F_NAT, v);
  }
}

int lp2p_dcutr_msg_encode(const lp2p_dcutr_msg *m, uint8_t *out, size_t cap,
                          size_t *len) {
  if (!m || !len || (!out && cap) || m->naddrs > LP2P_DCUTR_ADDRS_MAX)
    return LP2P_ERR_INVAL;
  for (size_t i = 0; i < m->naddrs; i++)
    if (!m->addrs[i].p && m->addrs[i].len)
      return LP2P_ERR_INVAL;
  return lp2p_pb_encode_framed(put_body, m, LP2P_DCUTR_MSG_MAX, out, cap, len);
}
