/* /perf/1.0.0 wire helpers (perf spec, "Protocol"), pure. The only framing
 * in perf is the client's first 8 bytes: the number of bytes it wants back,
 * a big-endian uint64. Everything after it is opaque payload. */
#ifndef LP2P_PROTO_PERF_WIRE_H
#define LP2P_PROTO_PERF_WIRE_H

#include "lp2p/common.h"

#define LP2P_PERF_PROTOCOL "/perf/1.0.0"
#define LP2P_PERF_HDR_LEN 8

/* Write the download size header into out[0..8). */
void lp2p_perf_hdr_encode(uint8_t out[LP2P_PERF_HDR_LEN], uint64_t download);

/* Incremental header reader: collects the 8 header bytes from a stream
 * that may deliver them one at a time. */
typedef struct lp2p_perf_hdr_reader {
  uint8_t buf[LP2P_PERF_HDR_LEN];
  uint8_t len;
} lp2p_perf_hdr_reader;

/* Take header bytes from p[0..n). Returns bytes consumed (0..8) and sets
 * *done (1 when all 8 are in, then *download holds the value). */
size_t lp2p_perf_hdr_feed(lp2p_perf_hdr_reader *r, const uint8_t *p, size_t n,
                          int *done, uint64_t *download);

/* A shared block of payload bytes (zeros; the spec allows any fixed
 * pattern) that senders write from, in chunks, so nothing is buffered. */
const uint8_t *lp2p_perf_payload(size_t *len);

#endif
