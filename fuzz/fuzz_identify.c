/* Fuzzes the identify message parser and the check that decides whether a
 * signed peer record needs its signature verified (identify_record.h):
 * arbitrary bytes as an Identify message, checked for the peer the record
 * names and for a fixed other peer. A record judged redundant must decode,
 * name that peer, and only repeat listenAddrs.
 *
 * Input: an Identify protobuf (no length prefix). */
#include <stdlib.h>
#include <string.h>

#include "proto/identify/identify_msg.h"
#include "proto/identify/identify_record.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static lp2p_peer_record scratch, rec;

/* whether `a` is one of the message's listenAddrs (without /p2p) */
static int listed(const lp2p_id_view *v, const lp2p_maddr *a) {
  size_t pos = 0;
  lp2p_id_slice sl;
  while (lp2p_id_next(v, LP2P_ID_F_LISTEN_ADDRS, &pos, &sl)) {
    lp2p_maddr m;
    if (lp2p_maddr_from_bytes(&m, sl.p, sl.len) != 0)
      continue;
    lp2p_maddr_strip_peer_id(&m);
    if (lp2p_maddr_equal(&m, a))
      return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_id_view v;
  if (lp2p_id_parse(&v, data, size, NULL) != 0)
    return 0;
  if (!(v.has & (1u << LP2P_ID_F_SIGNED_PEER_RECORD)))
    return 0;
  lp2p_peerid other;
  memset(&other, 0, sizeof other);
  other.len = 34;
  other.bytes[0] = 0x12;
  other.bytes[1] = 0x20;
  scratch.peer_id.len = 0;
  (void)id_record_redundant(&v, &other, &scratch);
  /* again for the peer the record names, when its payload decoded */
  lp2p_peerid id = scratch.peer_id;
  if (id.len && id_record_redundant(&v, &id, &scratch)) {
    rec = scratch;
    CHECK(lp2p_peerid_equal(&rec.peer_id, &id));
    for (size_t i = 0; i < rec.addrs_len; i++)
      CHECK(rec.addrs[i].len == 0 || listed(&v, &rec.addrs[i]));
  }
  return 0;
}
