/* Peer records (libp2p RFC 0003, "Address Record Format" and
 * "Certification / Verification"), with the domain and payload type that
 * go-libp2p and js-libp2p use. */
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/record.h"

int lp2p_peer_record_encode(const lp2p_peerid *id, uint64_t seq,
                            const lp2p_maddr *addrs, size_t naddrs,
                            uint8_t *out, size_t cap, size_t *len) {
  if (!id || id->len == 0 || id->len > LP2P_PEERID_MAX || (naddrs && !addrs) ||
      (!out && cap))
    return LP2P_ERR_INVAL;
  if (naddrs > LP2P_PEER_RECORD_ADDRS_MAX)
    return LP2P_ERR_LIMIT;
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, cap);
  lp2p_pb_put_bytes(&w, 1, id->bytes, id->len);
  if (seq)
    lp2p_pb_put_varint(&w, 2, seq);
  for (size_t i = 0; i < naddrs; i++) {
    const lp2p_maddr *a = &addrs[i];
    if (a->len == 0 || a->len > LP2P_MADDR_MAX)
      return LP2P_ERR_INVAL;
    /* AddressInfo { bytes multiaddr = 1; } */
    lp2p_pb_put_tag_len(&w, 3, lp2p_pb_size_bytes(1, a->len));
    lp2p_pb_put_bytes(&w, 1, a->bytes, a->len);
  }
  return lp2p_pb_writer_finish(&w, len);
}

/* AddressInfo: take the multiaddr (field 1), skip unknown fields. Returns
 * 0 with *ma set (NULL when absent), or LP2P_ERR_PARSE. */
static int address_info(const uint8_t *p, size_t n, const uint8_t **ma,
                        size_t *malen) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  *ma = NULL;
  *malen = 0;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.num != 1)
      continue;
    if (f.wire != LP2P_PB_LEN || *ma)
      return LP2P_ERR_PARSE;
    *ma = f.bytes;
    *malen = f.len;
  }
  return rc < 0 ? LP2P_ERR_PARSE : 0;
}

int lp2p_peer_record_decode(lp2p_peer_record *rec, const uint8_t *p, size_t n) {
  if (!rec || (!p && n))
    return LP2P_ERR_INVAL;
  rec->peer_id.len = 0;
  rec->seq = 0;
  rec->addrs_len = 0;
  rec->addrs_skipped = 0;
  int have_id = 0, have_seq = 0, rc;
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != LP2P_PB_LEN || have_id ||
          lp2p_peerid_from_bytes(&rec->peer_id, f.bytes, f.len) != 0)
        goto bad;
      have_id = 1;
      break;
    case 2:
      if (f.wire != LP2P_PB_VARINT || have_seq)
        goto bad;
      rec->seq = f.u64;
      have_seq = 1;
      break;
    case 3: {
      const uint8_t *ma;
      size_t malen;
      if (f.wire != LP2P_PB_LEN || address_info(f.bytes, f.len, &ma, &malen))
        goto bad;
      if (!ma || malen == 0 || malen > LP2P_MADDR_MAX) {
        rec->addrs_skipped++;
        break;
      }
      if (rec->addrs_len == LP2P_PEER_RECORD_ADDRS_MAX) {
        /* Validate before counting it against the limit. */
        lp2p_maddr tmp;
        if (lp2p_maddr_from_bytes(&tmp, ma, malen) != 0) {
          rec->addrs_skipped++;
          break;
        }
        rc = LP2P_ERR_LIMIT;
        goto fail;
      }
      if (lp2p_maddr_from_bytes(&rec->addrs[rec->addrs_len], ma, malen) != 0)
        rec->addrs_skipped++;
      else
        rec->addrs_len++;
      break;
    }
    default:
      break; /* unknown field: proto3 skips it (the record is extensible) */
    }
  }
  if (rc < 0 || !have_id)
    goto bad;
  return 0;
bad:
  rc = LP2P_ERR_PARSE;
fail:
  rec->peer_id.len = 0;
  rec->seq = 0;
  rec->addrs_len = 0;
  return rc;
}

int lp2p_peer_record_seal(const lp2p_privkey *k, uint64_t seq,
                          const lp2p_maddr *addrs, size_t naddrs, uint8_t *out,
                          size_t cap, size_t *len) {
  lp2p_peerid id;
  if (!k || lp2p_peerid_from_pubkey(&id, &k->pub) != 0)
    return LP2P_ERR_INVAL;
  uint8_t rec[LP2P_ENVELOPE_MAX];
  size_t rlen;
  int rc =
      lp2p_peer_record_encode(&id, seq, addrs, naddrs, rec, sizeof(rec), &rlen);
  if (rc)
    return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_LIMIT : rc;
  return lp2p_envelope_seal(
      k, LP2P_PEER_RECORD_DOMAIN, LP2P_PEER_RECORD_PAYLOAD_TYPE,
      LP2P_PEER_RECORD_PAYLOAD_TYPE_LEN, rec, rlen, out, cap, len);
}

int lp2p_peer_record_open(const uint8_t *p, size_t n, lp2p_peer_record *rec,
                          lp2p_envelope_view *env) {
  lp2p_envelope_view local;
  lp2p_envelope_view *v = env ? env : &local;
  if (!rec)
    return LP2P_ERR_INVAL;
  rec->peer_id.len = 0;
  rec->addrs_len = 0;
  /* RFC 0003: validate the signature before deserializing the record. */
  int rc = lp2p_envelope_open(p, n, LP2P_PEER_RECORD_DOMAIN, v);
  if (rc)
    return rc;
  if (v->payload_type_len != LP2P_PEER_RECORD_PAYLOAD_TYPE_LEN ||
      memcmp(v->payload_type, LP2P_PEER_RECORD_PAYLOAD_TYPE,
             LP2P_PEER_RECORD_PAYLOAD_TYPE_LEN) != 0)
    return LP2P_ERR_UNSUPPORTED;
  rc = lp2p_peer_record_decode(rec, v->payload, v->payload_len);
  if (rc)
    return rc;
  /* ... and then that the record's peer id is the envelope key's. */
  if (!lp2p_peerid_equal(&rec->peer_id, &v->signer)) {
    rec->peer_id.len = 0;
    rec->addrs_len = 0;
    return LP2P_ERR_PEER_ID_MISMATCH;
  }
  return 0;
}
