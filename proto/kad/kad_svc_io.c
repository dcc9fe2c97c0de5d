/* Kademlia messages on streams: each is an unsigned-varint length and a
 * protobuf Message (kad-dht spec "RPC messages"). A stream carries any
 * number of them (go and js reuse streams); bytes read past one frame
 * stay buffered for the next. The buffer grows with what the peer really
 * sent, up to the limit the caller gives (requests 160 KiB, answers the
 * 4 MiB cap). */
#include <string.h>

#include "proto/kad/kad_svc.h"

#define KAD_PREFIX_MAX 10 /* varint bytes */

kad_stream *kad_stream_new(lp2p_host *h, uint64_t stream, uint64_t conn,
                           int inbound) {
  kad_stream *ks = lp2p_mem_calloc(h->mem, 1, sizeof *ks);
  if (ks) {
    ks->stream = stream;
    ks->conn = conn;
    ks->inbound = inbound ? 1 : 0;
  }
  return ks;
}

void kad_stream_free(lp2p_host *h, kad_stream *ks) {
  if (!ks)
    return;
  lp2p_mem_free(h->mem, ks->buf);
  lp2p_mem_free(h->mem, ks);
}

static int grow(lp2p_host *h, kad_stream *ks, size_t need, size_t limit) {
  if (need <= ks->cap)
    return 0;
  size_t c = ks->cap ? ks->cap : 1024;
  while (c < need)
    c *= 2;
  if (c > limit)
    c = limit;
  if (c < need)
    return LP2P_ERR_LIMIT;
  uint8_t *b = lp2p_mem_malloc(h->mem, c);
  if (!b)
    return LP2P_ERR_NOMEM;
  if (ks->have)
    memcpy(b, ks->buf, ks->have);
  lp2p_mem_free(h->mem, ks->buf);
  ks->buf = b;
  ks->cap = c;
  return 0;
}

int kad_read_frame(lp2p_host *h, kad_stream *ks, size_t max,
                   lp2p_tstamp now) {
  const size_t limit = max + KAD_PREFIX_MAX;
  for (;;) {
    int rc = ks->have ? lp2p_kad_frame(ks->buf, ks->have, max, &ks->body_off,
                                       &ks->body_len)
                      : LP2P_ERR_TRUNCATED;
    if (rc == 0)
      return 1;
    if (rc != LP2P_ERR_TRUNCATED)
      return rc;
    size_t avail = 0;
    const uint8_t *p = host_svc_peek(h, ks->stream, &avail);
    if (!avail || !p)
      return host_svc_remote_closed(h, ks->stream) ? LP2P_ERR_EOF : 0;
    size_t want = ks->have + avail;
    if (want > limit)
      want = limit;
    if (want <= ks->have)
      return LP2P_ERR_LIMIT;
    rc = grow(h, ks, want, limit);
    if (rc)
      return rc;
    size_t k = want - ks->have;
    memcpy(ks->buf + ks->have, p, k);
    ks->have += k;
    host_svc_consume(h, ks->stream, now, k);
  }
}

void kad_frame_done(kad_stream *ks) {
  size_t used = ks->body_off + ks->body_len;
  if (used > ks->have)
    used = ks->have;
  memmove(ks->buf, ks->buf + used, ks->have - used);
  ks->have -= used;
  ks->body_off = ks->body_len = 0;
}

int kad_write_msg(lp2p_host *h, uint64_t stream, const lp2p_kad_msg *m,
                  lp2p_tstamp now) {
  size_t n = 0;
  int rc = lp2p_kad_msg_encode(m, NULL, 0, &n);
  if (rc && rc != LP2P_ERR_NOSPACE)
    return rc;
  uint8_t *b = lp2p_mem_malloc(h->mem, n ? n : 1);
  if (!b)
    return LP2P_ERR_NOMEM;
  rc = lp2p_kad_msg_encode(m, b, n, &n);
  if (!rc) {
    lp2p_ssize w = host_svc_write(h, stream, now, b, n);
    rc = w < 0 ? (int)w : (size_t)w == n ? 0 : LP2P_ERR_LIMIT;
  }
  lp2p_mem_free(h->mem, b);
  return rc;
}
