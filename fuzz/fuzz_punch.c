/* Fuzz punch's wire format and command-line specs (include/lp2p/punch.h).
 * The first byte picks the target:
 *   0: a stream: header, then frames until garbage or the end; each frame
 *      re-encoded must give the same bytes, the payload must lie inside
 *      the input, and a frame cut at any point must ask for more
 *   1: a port spec, 2: a mapping (NUL-terminated copies); what parses
 *      must print back to an equal value
 * abort() on any mismatch so the fuzzer reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/punch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stream(const uint8_t *p, size_t n) {
  uint16_t port = 0;
  lp2p_ssize r = lp2p_punch_header_decode(p, n, &port);
  if (r == 0) {
    if (n >= LP2P_PUNCH_HEADER_LEN)
      abort();
    return;
  }
  if (r < 0)
    return;
  if (r != LP2P_PUNCH_HEADER_LEN || port == 0)
    abort();
  uint8_t h[LP2P_PUNCH_HEADER_LEN];
  if (lp2p_punch_header_encode(h, port) != 0 || memcmp(h, p, sizeof h))
    abort();
  size_t off = (size_t)r;
  for (;;) {
    const uint8_t *pl = NULL;
    size_t len = 0;
    r = lp2p_punch_frame_decode(p + off, n - off, &pl, &len);
    if (r <= 0)
      return;
    if ((size_t)r != len + LP2P_PUNCH_FRAME_HEADER_LEN || pl < p + off ||
        pl + len > p + n || len > LP2P_PUNCH_DATAGRAM_MAX)
      abort();
    uint8_t fh[LP2P_PUNCH_FRAME_HEADER_LEN];
    if (lp2p_punch_frame_encode(fh, len) != 0 || memcmp(fh, p + off, 2))
      abort();
    /* every cut of a complete frame is "need more" */
    for (size_t cut = 0; cut < (size_t)r; cut += 1 + cut / 4)
      if (lp2p_punch_frame_decode(p + off, cut, NULL, NULL) != 0)
        abort();
    off += (size_t)r;
  }
}

static void spec(const uint8_t *p, size_t n, int mapping) {
  char s[128];
  if (n >= sizeof s)
    n = sizeof s - 1;
  memcpy(s, p, n);
  s[n] = 0;
  const char *why = NULL;
  char back[128];
  if (!mapping) {
    lp2p_punch_port a, b;
    if (lp2p_punch_port_parse(s, &a, &why) != 0) {
      if (!why)
        abort();
      return;
    }
    if (a.port == 0 || (a.proto != LP2P_PUNCH_TCP && a.proto != LP2P_PUNCH_UDP))
      abort();
    snprintf(back, sizeof back, "%u/%s", a.port, lp2p_punch_proto_name(a.proto));
    if (lp2p_punch_port_parse(back, &b, &why) != 0 || b.port != a.port ||
        b.proto != a.proto)
      abort();
    return;
  }
  lp2p_punch_mapping a, b;
  if (lp2p_punch_mapping_parse(s, &a, &why) != 0) {
    if (!why)
      abort();
    return;
  }
  if (a.remote == 0 || (a.stdio && (a.local || a.proto != LP2P_PUNCH_TCP)) ||
      (!a.stdio && !a.local))
    abort();
  if (a.stdio)
    snprintf(back, sizeof back, "-:%u/%s", a.remote,
             lp2p_punch_proto_name(a.proto));
  else
    snprintf(back, sizeof back, "%u:%u/%s", a.local, a.remote,
             lp2p_punch_proto_name(a.proto));
  if (lp2p_punch_mapping_parse(back, &b, &why) != 0 ||
      memcmp(&a, &b, sizeof a) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  switch (data[0] % 3) {
  case 0:
    stream(data + 1, size - 1);
    break;
  case 1:
    spec(data + 1, size - 1, 0);
    break;
  default:
    spec(data + 1, size - 1, 1);
    break;
  }
  return 0;
}
