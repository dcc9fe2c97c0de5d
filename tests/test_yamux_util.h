/* Helpers shared by the yamux tests: a seeded PRNG, byte pipes, a shuttle
 * that moves two engines' output into each other with random chunking and
 * partial consumes, frame builders and an event log. Header-only (static)
 * so each test binary stays self-contained. */
#ifndef LP2P_TEST_YAMUX_UTIL_H
#define LP2P_TEST_YAMUX_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/yamux.h"

/* ---- PRNG (splitmix64), reproducible from a printed seed -------------- */
static inline uint64_t yt_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}
static inline size_t yt_below(uint64_t *s, size_t n) {
  return n ? (size_t)(yt_next(s) % n) : 0;
}
/* 1 .. max, log-uniform so tiny and huge chunks both show up. */
static inline size_t yt_chunk(uint64_t *s, size_t max) {
  unsigned bits = (unsigned)yt_below(s, 17); /* 1 .. 64 KiB */
  size_t n = 1 + yt_below(s, (size_t)1 << bits);
  return n > max ? max : n;
}
/* Test seed: $YAMUX_SEED if set, else `def`; printed for replay. */
static inline uint64_t yt_seed(const char *what, uint64_t def) {
  const char *e = getenv("YAMUX_SEED");
  uint64_t s = e ? strtoull(e, NULL, 0) : def;
  printf("# %s seed=%llu (replay: YAMUX_SEED=%llu)\n", what,
         (unsigned long long)s, (unsigned long long)s);
  return s;
}

/* The byte at offset `i` of a stream's data, so receivers check content
 * and order without storing what was sent. */
static inline uint8_t yt_byte(uint64_t key, uint64_t i) {
  uint64_t s = key * UINT64_C(0x100000001b3) + (i >> 3);
  uint64_t v = yt_next(&s);
  return (uint8_t)(v >> (8 * (i & 7)));
}

/* ---- byte pipe --------------------------------------------------------- */
typedef struct yt_pipe {
  uint8_t *p;
  size_t head, len, cap;
} yt_pipe;

static inline void yt_pipe_push(yt_pipe *q, const uint8_t *p, size_t n) {
  if (q->head && q->head + q->len + n > q->cap) {
    memmove(q->p, q->p + q->head, q->len);
    q->head = 0;
  }
  if (q->len + n > q->cap) {
    size_t c = q->cap ? q->cap : 4096;
    while (c < q->len + n)
      c *= 2;
    q->p = realloc(q->p, c);
    if (!q->p)
      abort();
    q->cap = c;
  }
  memcpy(q->p + q->head + q->len, p, n);
  q->len += n;
}
static inline void yt_pipe_pop(yt_pipe *q, size_t n) {
  q->head += n;
  q->len -= n;
  if (!q->len)
    q->head = 0;
}
static inline void yt_pipe_free(yt_pipe *q) {
  free(q->p);
  memset(q, 0, sizeof(*q));
}

/* Take all output of `y` into `q`: with a seed, in random partial
 * consumes. Returns bytes moved. */
static inline size_t yt_drain(lp2p_yamux *y, yt_pipe *q, uint64_t *rng) {
  size_t moved = 0, len;
  const uint8_t *p;
  while ((p = lp2p_yamux_out_peek(y, &len)) != NULL) {
    size_t k = rng ? 1 + yt_below(rng, len) : len;
    yt_pipe_push(q, p, k);
    lp2p_yamux_out_consume(y, k);
    moved += k;
  }
  return moved;
}

/* Feed what `q` holds into `y` (random chunk sizes with a seed), honouring
 * partial consumption. Returns bytes taken, or a negative error. */
static inline lp2p_ssize yt_feed(lp2p_yamux *y, lp2p_tstamp now, yt_pipe *q,
                                 uint64_t *rng) {
  lp2p_ssize total = 0;
  while (q->len) {
    size_t k = rng ? yt_chunk(rng, q->len) : q->len;
    lp2p_ssize r = lp2p_yamux_feed(y, now, q->p + q->head, k);
    if (r < 0)
      return r;
    yt_pipe_pop(q, (size_t)r);
    total += r;
    if ((size_t)r < k)
      break; /* back-pressure: the engine wants us to stop */
  }
  return total;
}

/* ---- frame builder ------------------------------------------------------ */
static inline size_t yt_frame(uint8_t *out, uint8_t type, uint16_t flags,
                              uint32_t id, uint32_t len) {
  lp2p_yamux_header h = {0, type, flags, id, len};
  lp2p_yamux_header_encode(out, &h);
  return LP2P_YAMUX_HEADER_BYTES;
}

/* ---- event log ------------------------------------------------------------
 */
static inline const char *yt_ev_name(lp2p_yamux_event_type t) {
  switch (t) {
  case LP2P_YAMUX_EV_STREAM_OPENED:
    return "OPENED";
  case LP2P_YAMUX_EV_STREAM_READABLE:
    return "READABLE";
  case LP2P_YAMUX_EV_STREAM_WRITABLE:
    return "WRITABLE";
  case LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED:
    return "REMOTE_CLOSED";
  case LP2P_YAMUX_EV_STREAM_RESET:
    return "RESET";
  case LP2P_YAMUX_EV_STREAM_CLOSED:
    return "STREAM_CLOSED";
  case LP2P_YAMUX_EV_PING_RTT:
    return "PING_RTT";
  case LP2P_YAMUX_EV_GOAWAY_RECEIVED:
    return "GOAWAY";
  case LP2P_YAMUX_EV_CLOSED:
    return "CLOSED";
  default:
    return "?";
  }
}

/* Append every pending event to `log` as "NAME arg;". Returns the count. */
static inline int yt_log_events(lp2p_yamux *y, char *log, size_t cap) {
  lp2p_yamux_event ev;
  int n = 0;
  while (lp2p_yamux_poll_event(y, &ev)) {
    size_t l = strlen(log);
    long long arg = ev.stream_id;
    if (ev.type == LP2P_YAMUX_EV_GOAWAY_RECEIVED)
      arg = ev.code;
    else if (ev.type == LP2P_YAMUX_EV_CLOSED)
      arg = ev.error;
    else if (ev.type == LP2P_YAMUX_EV_PING_RTT)
      arg = (long long)ev.rtt_ns;
    snprintf(log + l, cap - l, "%s %lld;", yt_ev_name(ev.type), arg);
    n++;
  }
  return n;
}

static inline void yt_hex(const uint8_t *p, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[p[i] >> 4];
    out[2 * i + 1] = hx[p[i] & 15];
  }
  out[2 * n] = 0;
}

/* A config for deterministic tests: no start ping, no keepalive. */
static inline lp2p_yamux_config yt_quiet_config(void) {
  lp2p_yamux_config c;
  lp2p_yamux_config_default(&c);
  c.measure_rtt = 0;
  c.keepalive_ns = 0;
  return c;
}

#endif
