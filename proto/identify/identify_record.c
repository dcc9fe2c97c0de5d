/* Identify: when a signed peer record need not be verified (see
 * identify_record.h). */
#include <string.h>

#include "lp2p/protobuf.h"
#include "proto/identify/identify_record.h"

int id_record_redundant(const lp2p_id_view *v, const lp2p_peerid *id,
                        lp2p_peer_record *rec) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  const uint8_t *payload = NULL;
  size_t plen = 0;
  int rc;
  lp2p_pb_reader_init(&r, v->signed_peer_record.p, v->signed_peer_record.len);
  while ((rc = lp2p_pb_next(&r, &f)) == 1)
    if (f.num == 3 && f.wire == LP2P_PB_LEN) {
      payload = f.bytes;
      plen = f.len;
    }
  if (rc < 0 || !payload ||
      lp2p_peer_record_decode(rec, payload, plen) != 0 ||
      !lp2p_peerid_equal(&rec->peer_id, id))
    return 0;
  for (size_t i = 0; i < rec->addrs_len; i++) {
    lp2p_maddr_strip_peer_id(&rec->addrs[i]);
    int found = rec->addrs[i].len == 0;
    size_t pos = 0;
    lp2p_id_slice sl;
    while (!found && lp2p_id_next(v, LP2P_ID_F_LISTEN_ADDRS, &pos, &sl)) {
      lp2p_maddr m;
      if (lp2p_maddr_from_bytes(&m, sl.p, sl.len) != 0)
        continue;
      lp2p_maddr_strip_peer_id(&m);
      found = m.len == rec->addrs[i].len &&
              memcmp(m.bytes, rec->addrs[i].bytes, m.len) == 0;
    }
    if (!found)
      return 0;
  }
  return 1;
}
