/* yamux output queue: encoded frames in one bip buffer (two contiguous
 * regions, see internal.h), handed out zero-copy by out_peek one region
 * at a time. Stream payload is copied into it exactly once and, unless the
 * buffer grows, never moved again.
 * Small frames coalesce while their header is still unsent: data appended
 * to the stream's last Data frame, a FIN or ACK folded into it, window
 * deltas added up, and a bare SYN/ACK Window Update turned into the first
 * Data frame (spec "Opening a stream": SYN/ACK "may be sent with a data or
 * window update message"). */
#include <string.h>

#include "proto/yamux/internal.h"

#define HB LP2P_YAMUX_HEADER_BYTES

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static void put_hdr(uint8_t *p, uint8_t type, uint16_t flags, uint32_t id,
                    uint32_t len) {
  lp2p_yamux_header h = {LP2P_YAMUX_VERSION, type, flags, id, len};
  lp2p_yamux_header_encode(p, &h);
}

size_t ymx_out_queued(const lp2p_yamux *y) {
  return y->out_tail - y->out_head + (y->out_b ? y->out_wrap : 0);
}

/* Where the next byte goes, and how many fit there contiguously. */
static size_t put_off(const lp2p_yamux *y) {
  return y->out_b ? y->out_wrap : y->out_tail;
}

static size_t put_room(const lp2p_yamux *y) {
  return y->out_b ? y->out_head - y->out_wrap : y->out_cap - y->out_tail;
}

static void put_commit(lp2p_yamux *y, size_t k) {
  if (y->out_b)
    y->out_wrap += k;
  else
    y->out_tail += k;
}

/* Lay the queued bytes out linearly at the front of `nb` (which may be
 * y->out when there is no region B). */
static void rebase(lp2p_yamux *y, uint8_t *nb, size_t cap) {
  size_t a = y->out_tail - y->out_head, q = ymx_out_queued(y);
  if (y->last_valid) /* the newest frame: in B when B exists */
    y->last_off = y->out_b ? a + y->last_off : y->last_off - y->out_head;
  if (a)
    memmove(nb, y->out + y->out_head, a);
  if (y->out_b && y->out_wrap)
    memcpy(nb + a, y->out, y->out_wrap);
  if (nb != y->out) {
    lp2p_mem_free(y->mem, y->out);
    y->out = nb;
    y->out_cap = cap;
  }
  y->out_head = 0;
  y->out_tail = q;
  y->out_b = 0;
  y->out_wrap = 0;
}

/* Make room for `k` contiguous bytes where the next frame goes. A bulk
 * writer keeps the queue large while the transport drains it in pieces:
 * compacting then moved most queued bytes once more (0.7 extra copies per
 * sent byte measured with /perf), so when the front has room the queue
 * wraps there instead (region B) and nothing moves. Compaction stays for
 * small queues (cheap) and growth copies only when the buffer doubles. */
static int make_room(lp2p_yamux *y, size_t k) {
  if (put_room(y) >= k)
    return 0;
  size_t q = ymx_out_queued(y);
  if (!y->out_b) {
    size_t a = y->out_tail - y->out_head;
    if (y->out_cap >= q + k && a <= y->out_cap / 8) {
      rebase(y, y->out, y->out_cap);
      return 0;
    }
    if (y->out_head >= k) {
      y->out_b = 1;
      y->out_wrap = 0;
      return 0;
    }
    if (y->out_cap >= q + k && y->out_head >= a) {
      rebase(y, y->out, y->out_cap);
      return 0;
    }
  }
  size_t cap = (q + k) * 2;
  if (cap < YMX_OUT_MIN_BYTES)
    cap = YMX_OUT_MIN_BYTES;
  uint8_t *nb = lp2p_mem_malloc(y->mem, cap);
  if (!nb)
    return LP2P_ERR_NOMEM;
  rebase(y, nb, cap);
  return 0;
}

/* The last queued frame, if it belongs to `id` and its header is unsent. */
static uint8_t *last_frame(lp2p_yamux *y, uint32_t id) {
  if (!y->last_valid || (!y->out_b && y->out_head > y->last_off))
    return NULL;
  uint8_t *h = y->out + y->last_off;
  return get32(h + 4) == id ? h : NULL;
}

static uint16_t hdr_flags(const uint8_t *h) {
  return (uint16_t)((unsigned)h[2] << 8 | h[3]);
}

static void set_flags(uint8_t *h, uint16_t f) {
  h[2] = (uint8_t)(f >> 8);
  h[3] = (uint8_t)f;
}

int ymx_out_ctrl(lp2p_yamux *y, uint8_t type, uint16_t flags, uint32_t id,
                 uint32_t len) {
  uint8_t *h =
      type == LP2P_YAMUX_TYPE_WINDOW_UPDATE && id ? last_frame(y, id) : NULL;
  if (h && !((hdr_flags(h) | flags) & LP2P_YAMUX_FLAG_RST)) {
    uint32_t ll = get32(h + 8);
    if (h[1] == LP2P_YAMUX_TYPE_WINDOW_UPDATE && ll <= UINT32_MAX - len) {
      set_flags(h, (uint16_t)(hdr_flags(h) | flags));
      put32(h + 8, ll + len);
      return 0;
    }
    if (h[1] == LP2P_YAMUX_TYPE_DATA && len == 0) { /* FIN/ACK onto data */
      set_flags(h, (uint16_t)(hdr_flags(h) | flags));
      return 0;
    }
  }
  if (make_room(y, HB))
    return LP2P_ERR_NOMEM;
  y->last_off = put_off(y);
  y->last_valid = 1;
  put_hdr(y->out + y->last_off, type, flags, id, len);
  put_commit(y, HB);
  return 0;
}

int ymx_out_data(lp2p_yamux *y, uint16_t flags, uint32_t id, const uint8_t *p,
                 uint32_t k) {
  uint8_t *h = last_frame(y, id);
  if (h) {
    uint16_t lf = hdr_flags(h);
    uint32_t ll = get32(h + 8);
    int merge = !(lf & (LP2P_YAMUX_FLAG_FIN | LP2P_YAMUX_FLAG_RST)) &&
                (h[1] == LP2P_YAMUX_TYPE_DATA ||
                 (h[1] == LP2P_YAMUX_TYPE_WINDOW_UPDATE && ll == 0)) &&
                ll <= y->cfg.send_frame_bytes_max &&
                k <= y->cfg.send_frame_bytes_max - ll;
    /* The payload must follow the frame: merge only when it fits there
     * as things are (the last frame always ends where bytes go next);
     * otherwise a new frame, which may wrap. */
    if (merge && put_room(y) >= k) {
      h[1] = LP2P_YAMUX_TYPE_DATA;
      set_flags(h, (uint16_t)(lf | flags));
      put32(h + 8, ll + k);
      memcpy(y->out + put_off(y), p, k);
      put_commit(y, k);
      return 0;
    }
  }
  if (make_room(y, HB + (size_t)k))
    return LP2P_ERR_NOMEM;
  y->last_off = put_off(y);
  y->last_valid = 1;
  put_hdr(y->out + y->last_off, LP2P_YAMUX_TYPE_DATA, flags, id, k);
  memcpy(y->out + y->last_off + HB, p, k);
  put_commit(y, HB + (size_t)k);
  return 0;
}

/* Region A only (contiguous); region B follows once A is consumed. */
const uint8_t *lp2p_yamux_out_peek(const lp2p_yamux *y, size_t *len) {
  size_t a = y ? y->out_tail - y->out_head : 0;
  if (len)
    *len = a;
  return a ? y->out + y->out_head : NULL;
}

void lp2p_yamux_out_consume(lp2p_yamux *y, size_t n) {
  if (!y)
    return;
  for (;;) {
    size_t a = y->out_tail - y->out_head, m = n < a ? n : a;
    y->out_head += m;
    n -= m;
    /* A frame whose header went out is no longer open for merging. */
    if (y->last_valid && !y->out_b && y->out_head > y->last_off)
      y->last_valid = 0;
    if (y->out_head < y->out_tail || !y->out_b)
      break;
    y->out_head = 0; /* A drained: B becomes A */
    y->out_tail = y->out_wrap;
    y->out_b = 0;
    y->out_wrap = 0;
    if (y->last_valid && y->out_head > y->last_off)
      y->last_valid = 0;
    if (!n)
      break;
  }
  if (y->out_head == y->out_tail) {
    y->out_head = y->out_tail = 0;
    y->last_valid = 0;
    /* a small buffer goes now; a big one later, from handle_timeout, once
     * the session is idle (YMX_OUT_IDLE_NS): idle sessions stay small */
    if (y->out_cap <= YMX_OUT_KEEP_BYTES) {
      lp2p_mem_free(y->mem, y->out);
      y->out = NULL;
      y->out_cap = 0;
    }
  }
  if (y->out_blocked && ymx_out_queued(y) <= y->cfg.out_queue_bytes_max / 2) {
    y->out_blocked = 0;
    ymx_wake_writers(y);
  }
}
