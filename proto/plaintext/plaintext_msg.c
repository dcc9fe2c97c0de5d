/* The plaintext/2.0.0 Exchange message (libp2p plaintext spec,
 * "Messages"): message Exchange { optional bytes id = 1;
 * optional PublicKey pubkey = 2; }, framed by an unsigned varint length
 * ("Message Framing"). Pure codec on caller buffers. */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/varint.h"
#include "proto/plaintext/plaintext_int.h"

int pt_exchange_encode(const lp2p_pubkey *key, uint8_t *out, size_t cap,
                       size_t *len) {
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  size_t pkl = 0;
  lp2p_peerid id;
  int rc = lp2p_peerid_from_pubkey(&id, key);
  if (rc) return rc;
  if ((rc = lp2p_pubkey_marshal(key, pk, sizeof pk, &pkl)) != 0) return rc;
  size_t body = lp2p_pb_size_bytes(1, id.len) + lp2p_pb_size_bytes(2, pkl);
  size_t vl = 0;
  if ((rc = lp2p_varint_encode(body, out, cap, &vl)) != 0) return rc;
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out + vl, cap - vl);
  lp2p_pb_put_bytes(&w, 1, id.bytes, id.len);
  lp2p_pb_put_bytes(&w, 2, pk, pkl);
  size_t bl = 0;
  if ((rc = lp2p_pb_writer_finish(&w, &bl)) != 0) return rc;
  *len = vl + bl;
  return 0;
}

int pt_exchange_frame(const uint8_t *p, size_t n, size_t max, size_t *hdr,
                      size_t *body) {
  uint64_t v = 0;
  lp2p_ssize r = lp2p_varint_decode(p, n, &v);
  if (r == LP2P_ERR_TRUNCATED) return 0;
  if (r < 0) return LP2P_ERR_PROTO;
  if (v > max) return LP2P_ERR_LIMIT;
  if (n - (size_t)r < v) return 0;
  *hdr = (size_t)r;
  *body = (size_t)v;
  return 1;
}

int pt_exchange_verify(const uint8_t *p, size_t n, lp2p_pubkey *key,
                       lp2p_peerid *id) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *idp = NULL, *kp = NULL;
  size_t idl = 0, kl = 0;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.wire != LP2P_PB_LEN) continue; /* unknown or foreign: skip */
    if (f.num == 1) {
      idp = f.bytes;
      idl = f.len;
    } else if (f.num == 2) {
      kp = f.bytes;
      kl = f.len;
    }
  }
  if (rc != 0 || !idp || !kp) return LP2P_ERR_PROTO;
  if (lp2p_pubkey_unmarshal(key, kp, kl) != 0) return LP2P_ERR_PROTO;
  if (lp2p_peerid_from_pubkey(id, key) != 0) return LP2P_ERR_PROTO;
  /* "validate that the given peer id is consistent with the given public
   * key by deriving a peer id from the key" (spec, "Exchange"). */
  if (id->len != idl || memcmp(id->bytes, idp, idl) != 0)
    return LP2P_ERR_PEER_ID_MISMATCH;
  return 0;
}
