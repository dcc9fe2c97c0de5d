/* Reservation vouchers (relay/circuit-v2.md, "Reservation Vouchers"): a
 * signed envelope, domain "libp2p-relay-rsvp", payload type the multicodec
 * 0x0302 written as the two bytes 03 02 (as go-libp2p writes it, and as
 * peer records write 0x0301), over the canonical protobuf
 * Voucher{relay 1, peer 2, expiration 3}. They are advisory today: a
 * client checks the one it gets, nobody requires them for dialing. */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/record.h"
#include "lp2p/relay.h"

#define VOUCHER_PTYPE ((const uint8_t *)"\x03\x02")

int lp2p_relay_voucher_seal(const lp2p_privkey *k, const lp2p_peerid *peer,
                            uint64_t expire, uint8_t *out, size_t cap,
                            size_t *len) {
  if (!k || !peer || !peer->len || !len)
    return LP2P_ERR_INVAL;
  lp2p_peerid relay;
  int rc = lp2p_peerid_from_pubkey(&relay, &k->pub);
  if (rc)
    return rc;
  uint8_t body[2 * (LP2P_PEERID_MAX + 2) + 12];
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, body, sizeof body);
  lp2p_pb_put_bytes(&w, 1, relay.bytes, relay.len);
  lp2p_pb_put_bytes(&w, 2, peer->bytes, peer->len);
  lp2p_pb_put_varint(&w, 3, expire);
  size_t n = 0;
  if ((rc = lp2p_pb_writer_finish(&w, &n)) != 0)
    return rc;
  return lp2p_envelope_seal(k, LP2P_RELAY_VOUCHER_DOMAIN, VOUCHER_PTYPE, 2,
                            body, n, out, cap, len);
}

int lp2p_relay_voucher_open(const uint8_t *p, size_t n, lp2p_peerid *relay,
                            lp2p_peerid *peer, uint64_t *expire) {
  if (!p || !relay || !peer || !expire)
    return LP2P_ERR_INVAL;
  lp2p_envelope_view v;
  int rc = lp2p_envelope_open(p, n, LP2P_RELAY_VOUCHER_DOMAIN, &v);
  if (rc)
    return rc;
  if (v.payload_type_len != 2 || memcmp(v.payload_type, VOUCHER_PTYPE, 2))
    return LP2P_ERR_PARSE;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int has = 0;
  lp2p_pb_reader_init(&r, v.payload, v.payload_len);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num == 3 && f.wire == LP2P_PB_VARINT) {
      *expire = f.u64;
      has |= 4;
    } else if ((f.num == 1 || f.num == 2) && f.wire == LP2P_PB_LEN) {
      if (lp2p_peerid_from_bytes(f.num == 1 ? relay : peer, f.bytes, f.len))
        return LP2P_ERR_PARSE;
      has |= (int)f.num;
    } else if (f.num <= 3) {
      return LP2P_ERR_PARSE;
    }
  }
  if (rc < 0 || has != 7)
    return LP2P_ERR_PARSE;
  /* the relay it names is the one that signed it */
  return lp2p_peerid_equal(relay, &v.signer) ? 0 : LP2P_ERR_PEER_ID_MISMATCH;
}
