/* yamux output queue: encoded frames in one linear buffer, handed out
 * zero-copy by out_peek. Stream payload is copied into it exactly once.
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

size_t ymx_out_queued(const lp2p_yamux *y) { return y->out_tail - y->out_head; }

/* Move the queued bytes to the front of `nb` (which may be y->out). */
static void rebase(lp2p_yamux *y, uint8_t *nb, size_t cap) {
  size_t q = ymx_out_queued(y);
  if (q)
    memmove(nb, y->out + y->out_head, q);
  if (y->last_valid)
    y->last_off -= y->out_head;
  if (nb != y->out) {
    lp2p_mem_free(y->mem, y->out);
    y->out = nb;
    y->out_cap = cap;
  }
  y->out_head = 0;
  y->out_tail = q;
}

/* Make room for `k` more bytes at the tail. Compaction copies the queued
 * bytes only when at least as many were consumed (or the buffer is twice
 * the need), so each byte is moved O(1) times on average. */
static int make_room(lp2p_yamux *y, size_t k) {
  if (y->out_cap - y->out_tail >= k)
    return 0;
  size_t q = ymx_out_queued(y);
  size_t need = q + k;
  if (y->out_cap >= need && (y->out_head >= q || y->out_cap / 2 >= need)) {
    rebase(y, y->out, y->out_cap);
    return 0;
  }
  size_t cap = need * 2;
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
  if (!y->last_valid || y->out_head > y->last_off)
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
  put_hdr(y->out + y->out_tail, type, flags, id, len);
  y->last_off = y->out_tail;
  y->last_valid = 1;
  y->out_tail += HB;
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
    if (merge) {
      if (make_room(y, k)) /* may move the buffer: recompute h */
        return LP2P_ERR_NOMEM;
      h = y->out + y->last_off;
      h[1] = LP2P_YAMUX_TYPE_DATA;
      set_flags(h, (uint16_t)(lf | flags));
      put32(h + 8, ll + k);
      memcpy(y->out + y->out_tail, p, k);
      y->out_tail += k;
      return 0;
    }
  }
  if (make_room(y, HB + (size_t)k))
    return LP2P_ERR_NOMEM;
  put_hdr(y->out + y->out_tail, LP2P_YAMUX_TYPE_DATA, flags, id, k);
  y->last_off = y->out_tail;
  y->last_valid = 1;
  memcpy(y->out + y->out_tail + HB, p, k);
  y->out_tail += HB + (size_t)k;
  return 0;
}

const uint8_t *lp2p_yamux_out_peek(const lp2p_yamux *y, size_t *len) {
  size_t q = y ? ymx_out_queued(y) : 0;
  if (len)
    *len = q;
  return q ? y->out + y->out_head : NULL;
}

void lp2p_yamux_out_consume(lp2p_yamux *y, size_t n) {
  if (!y)
    return;
  size_t q = ymx_out_queued(y);
  if (n > q)
    n = q;
  y->out_head += n;
  if (y->last_valid && y->out_head > y->last_off)
    y->last_valid = 0;
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
