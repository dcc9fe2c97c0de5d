/* Fuzz the multiformats varint decoder and, for accepted input, check that
 * re-encoding gives back exactly the consumed bytes (minimality). Also
 * exercises the protobuf varint decoder on the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/protobuf.h"
#include "lp2p/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t v = 0;
  lp2p_ssize r = lp2p_varint_decode(data, size, &v);
  if (r > 0) {
    uint8_t out[LP2P_VARINT_MAX_LEN];
    size_t len = 0;
    if (r > LP2P_VARINT_MF_MAX_LEN)
      abort();
    if (lp2p_varint_encode(v, out, sizeof out, &len) != 0)
      abort();
    if (len != (size_t)r || memcmp(out, data, len) != 0)
      abort();
    if (lp2p_varint_len(v) != len)
      abort();
    /* Any valid multiformats varint is a valid protobuf varint. */
    uint64_t w = 0;
    if (lp2p_pb_varint_decode(data, size, &w) != r || w != v)
      abort();
  } else if (r != LP2P_ERR_TRUNCATED && r != LP2P_ERR_NONMINIMAL &&
             r != LP2P_ERR_OVERFLOW) {
    abort();
  }
  uint64_t w = 0;
  lp2p_ssize q = lp2p_pb_varint_decode(data, size, &w);
  if (q > 0) {
    if (q > LP2P_VARINT_MAX_LEN)
      abort();
    /* A minimal re-encoding is never longer than what was read. */
    if (lp2p_varint_len(w) > (size_t)q)
      abort();
  }
  return 0;
}
