/* /perf/1.0.0 wire helpers: see perf_wire.h. */
#include "proto/perf/perf_wire.h"

/* Senders stream from this block; 16 KiB keeps the copies per yamux frame
 * few without costing memory per stream. */
static const uint8_t payload[16384];

void lp2p_perf_hdr_encode(uint8_t out[LP2P_PERF_HDR_LEN], uint64_t download) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)(download & 0xff);
    download >>= 8;
  }
}

size_t lp2p_perf_hdr_feed(lp2p_perf_hdr_reader *r, const uint8_t *p, size_t n,
                          int *done, uint64_t *download) {
  size_t take = 0;
  while (r->len < LP2P_PERF_HDR_LEN && take < n)
    r->buf[r->len++] = p[take++];
  *done = r->len == LP2P_PERF_HDR_LEN;
  if (*done) {
    uint64_t v = 0;
    for (int i = 0; i < LP2P_PERF_HDR_LEN; i++)
      v = v << 8 | r->buf[i];
    *download = v;
  }
  return take;
}

const uint8_t *lp2p_perf_payload(size_t *len) {
  *len = sizeof payload;
  return payload;
}
