/* Fuzz the protobuf reader: iterate all fields, descend one level into
 * length-delimited fields, and check that re-writing the fields read gives
 * a message that reads back to the same fields. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

static void rewrite_check(const uint8_t *data, size_t size) {
  lp2p_pb_reader r;
  lp2p_pb_field f[MAX_FIELDS];
  size_t nf = 0;
  int rc;
  lp2p_pb_reader_init(&r, data, size);
  while (nf < MAX_FIELDS && (rc = lp2p_pb_next(&r, &f[nf])) == 1)
    nf++;
  if (nf == MAX_FIELDS)
    return;
  if (rc < 0 && rc != LP2P_ERR_PARSE)
    abort();
  if (r.pos > size)
    abort();

  static uint8_t out[8192];
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, sizeof out);
  for (size_t i = 0; i < nf; i++) {
    switch (f[i].wire) {
    case LP2P_PB_VARINT:
      lp2p_pb_put_varint(&w, f[i].num, f[i].u64);
      break;
    case LP2P_PB_FIXED64:
      lp2p_pb_put_fixed64(&w, f[i].num, f[i].u64);
      break;
    case LP2P_PB_FIXED32:
      if (f[i].u64 > UINT32_MAX)
        abort();
      lp2p_pb_put_fixed32(&w, f[i].num, (uint32_t)f[i].u64);
      break;
    case LP2P_PB_LEN:
      if (f[i].bytes < data || f[i].bytes + f[i].len > data + size)
        abort();
      lp2p_pb_put_bytes(&w, f[i].num, f[i].bytes, f[i].len);
      break;
    default:
      abort();
    }
  }
  size_t len;
  if (lp2p_pb_writer_finish(&w, &len) != 0)
    return; /* larger than out */
  /* Minimal encoding is never longer than the (valid prefix of) input. */
  if (len > r.pos)
    abort();
  lp2p_pb_reader r2;
  lp2p_pb_field g;
  lp2p_pb_reader_init(&r2, out, len);
  for (size_t i = 0; i < nf; i++) {
    if (lp2p_pb_next(&r2, &g) != 1)
      abort();
    if (g.num != f[i].num || g.wire != f[i].wire || g.u64 != f[i].u64 ||
        g.len != f[i].len)
      abort();
    if (g.len && memcmp(g.bytes, f[i].bytes, g.len) != 0)
      abort();
  }
  if (lp2p_pb_next(&r2, &g) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  rewrite_check(data, size);
  /* One level of nesting: libp2p messages are shallow. */
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, data, size);
  while (lp2p_pb_next(&r, &f) == 1)
    if (f.wire == LP2P_PB_LEN)
      rewrite_check(f.bytes, f.len);
  return 0;
}
