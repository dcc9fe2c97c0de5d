/* Hop and stop messages on a stream: varint length, then the body
 * (relay/circuit-v2.md uses length-prefixed protobufs on both protocols).
 * Reading copies one message into a buffer that lives only while a
 * message is read, and never consumes a byte past it: after STATUS OK the
 * same stream carries the relayed connection. */
#include <string.h>

#include "lp2p/varint.h"
#include "proto/relay/relay_internal.h"

#define PREFIX_MAX 3 /* a varint of at most LP2P_RELAY_MSG_MAX */

rleg *relay_leg_new(lp2p_host *h, uint8_t role, uint64_t stream,
                    uint64_t conn) {
  rleg *g = lp2p_mem_calloc(h->mem, 1, sizeof *g);
  if (g) {
    g->role = role;
    g->stream = stream;
    g->conn = conn;
  }
  return g;
}

void relay_leg_free(lp2p_host *h, rleg *g) {
  if (!g)
    return;
  lp2p_mem_free(h->mem, g->buf);
  lp2p_mem_free(h->mem, g);
}

void relay_msg_done(lp2p_host *h, rleg *g) {
  lp2p_mem_free(h->mem, g->buf);
  g->buf = NULL;
  g->have = g->want = 0;
}

int relay_read_msg(lp2p_host *h, rleg *g, lp2p_tstamp now) {
  if (!g->buf) {
    g->buf = lp2p_mem_malloc(h->mem, LP2P_RELAY_MSG_MAX + PREFIX_MAX);
    if (!g->buf)
      return LP2P_ERR_NOMEM;
    g->have = g->want = 0;
  }
  for (;;) {
    if (g->want && g->have == g->want)
      return 1;
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, g->stream, &len);
    if (!len)
      return host_svc_remote_closed(h, g->stream) ? LP2P_ERR_EOF : 0;
    if (!g->want) { /* the prefix, a byte at a time */
      const uint8_t b = p[0]; /* consume may free what p points into */
      g->buf[g->have++] = b;
      host_svc_consume(h, g->stream, now, 1);
      if (b & 0x80) {
        if (g->have == PREFIX_MAX)
          return LP2P_ERR_LIMIT;
        continue;
      }
      uint64_t n = 0;
      if (lp2p_varint_decode(g->buf, g->have, &n) <= 0 ||
          n > LP2P_RELAY_MSG_MAX)
        return LP2P_ERR_LIMIT;
      g->have = 0;
      g->want = (size_t)n;
      if (n == 0) /* an empty body: every field at its default */
        return 1;
      continue;
    }
    size_t k = g->want - g->have;
    if (k > len)
      k = len;
    memcpy(g->buf + g->have, p, k);
    g->have += k;
    host_svc_consume(h, g->stream, now, k);
  }
}

int relay_write_msg(lp2p_host *h, uint64_t stream, const lp2p_relay_msg *m,
                    lp2p_tstamp now) {
  uint8_t b[LP2P_RELAY_MSG_MAX + PREFIX_MAX];
  size_t n = 0;
  int rc = lp2p_relay_msg_encode(m, b, sizeof b, &n);
  if (rc)
    return rc;
  lp2p_ssize w = host_svc_write(h, stream, now, b, n);
  if (w < 0)
    return (int)w;
  return (size_t)w == n ? 0 : LP2P_ERR_LIMIT;
}

int relay_write_status(lp2p_host *h, uint64_t stream, int stop,
                       uint32_t status, lp2p_tstamp now) {
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.stop = stop ? 1 : 0;
  m.type = stop ? LP2P_RELAY_STOP_STATUS : LP2P_RELAY_HOP_STATUS;
  m.has_status = 1;
  m.status = status;
  return relay_write_msg(h, stream, &m, now);
}

uint64_t relay_unix_s(const lp2p_host *h) {
  return h->unix_ns / LP2P_NS_PER_S;
}
