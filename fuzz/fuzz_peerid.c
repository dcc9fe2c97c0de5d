/* Fuzzes peer id parsing from text (base58btc, multibase CIDv1) and from
 * bytes, the text round trips, and inlined key extraction.
 *
 * Input: [mode u8][text or bytes...] */
#include <stdlib.h>
#include <string.h>

#include "lp2p/peerid.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static void roundtrip(const lp2p_peerid *id) {
  char t[LP2P_PEERID_TEXT_MAX];
  size_t n;
  lp2p_peerid back;
  CHECK(id->len > 0 && id->len <= LP2P_PEERID_MAX);
  CHECK(lp2p_peerid_to_base58(id, t, sizeof(t), &n) == 0);
  CHECK(n < sizeof(t));
  CHECK(lp2p_peerid_parse(&back, t, n) == 0);
  CHECK(lp2p_peerid_equal(id, &back));
  CHECK(lp2p_peerid_to_cid_base32(id, t, sizeof(t), &n) == 0);
  CHECK(n < sizeof(t));
  CHECK(lp2p_peerid_parse(&back, t, n) == 0);
  CHECK(lp2p_peerid_equal(id, &back));
  lp2p_pubkey k;
  if (lp2p_peerid_pubkey(id, &k) == 0)
    CHECK(lp2p_peerid_matches_pubkey(id, &k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  lp2p_peerid id;
  if (data[0] & 1) {
    if (lp2p_peerid_from_bytes(&id, data + 1, size - 1) == 0) {
      CHECK(id.len == size - 1 && memcmp(id.bytes, data + 1, id.len) == 0);
      roundtrip(&id);
    }
  } else {
    if (lp2p_peerid_parse(&id, (const char *)data + 1, size - 1) == 0)
      roundtrip(&id);
  }
  return 0;
}
