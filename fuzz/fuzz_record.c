/* Fuzzes signed envelope opening (any domain, the peer record domain) and
 * peer record decoding; decoded records must re-encode to a record that
 * decodes to the same values.
 *
 * Input: [mode u8][envelope or record bytes...] */
#include <stdlib.h>
#include <string.h>

#include "lp2p/record.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static lp2p_peer_record rec, rec2;
static uint8_t buf[LP2P_PEER_RECORD_ADDRS_MAX * (LP2P_MADDR_MAX + 8) + 128];

static void check_record(void) {
  size_t n;
  CHECK(rec.addrs_len <= LP2P_PEER_RECORD_ADDRS_MAX);
  CHECK(lp2p_peer_record_encode(&rec.peer_id, rec.seq, rec.addrs, rec.addrs_len,
                                buf, sizeof(buf), &n) == 0);
  CHECK(lp2p_peer_record_decode(&rec2, buf, n) == 0);
  CHECK(lp2p_peerid_equal(&rec.peer_id, &rec2.peer_id));
  CHECK(rec.seq == rec2.seq && rec.addrs_len == rec2.addrs_len);
  CHECK(rec2.addrs_skipped == 0);
  for (size_t i = 0; i < rec.addrs_len; i++)
    CHECK(lp2p_maddr_equal(&rec.addrs[i], &rec2.addrs[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  static lp2p_envelope_view v;
  switch (data[0] & 3) {
  case 0:
    if (lp2p_peer_record_open(p, n, &rec, &v) == 0) {
      CHECK(lp2p_peerid_equal(&rec.peer_id, &v.signer));
      check_record();
    }
    break;
  case 1:
    if (lp2p_envelope_open(p, n, "fuzz-domain", &v) == 0)
      CHECK(v.payload_len <= n && v.signature_len > 0);
    break;
  default:
    if (lp2p_peer_record_decode(&rec, p, n) == 0)
      check_record();
    break;
  }
  return 0;
}
