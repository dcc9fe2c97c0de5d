/* yamux stream table and per-stream event queue.
 *
 * Streams are found by id in an open-addressing table (linear probing,
 * backward-shift deletion, power-of-two size kept between 2x and 8x the
 * stream count), so the cost per stream is one pointer or two. Pending
 * events are bits on the stream plus an intrusive FIFO of streams, so the
 * event queue is bounded by the stream count and needs no allocation. */
#include <string.h>

#include "proto/yamux/internal.h"

static uint32_t slot_of(uint32_t id, uint32_t size) {
  /* Fibonacci hashing: ids are sequential, spread them. */
  return (uint32_t)((id * UINT32_C(2654435769)) >> 7) & (size - 1);
}

ymx_stream *ymx_find(const lp2p_yamux *y, uint32_t id) {
  if (!y->tab || id == 0)
    return NULL;
  uint32_t m = y->tab_size - 1;
  for (uint32_t i = slot_of(id, y->tab_size);; i = (i + 1) & m) {
    ymx_stream *s = y->tab[i];
    if (!s)
      return NULL;
    if (s->id == id)
      return s;
  }
}

static void put(ymx_stream **tab, uint32_t size, ymx_stream *s) {
  uint32_t i = slot_of(s->id, size);
  while (tab[i])
    i = (i + 1) & (size - 1);
  tab[i] = s;
}

static int resize(lp2p_yamux *y, uint32_t size) {
  ymx_stream **nt = lp2p_mem_calloc(y->mem, size, sizeof(*nt));
  if (!nt)
    return LP2P_ERR_NOMEM;
  for (uint32_t i = 0; i < y->tab_size; i++)
    if (y->tab[i])
      put(nt, size, y->tab[i]);
  lp2p_mem_free(y->mem, y->tab);
  y->tab = nt;
  y->tab_size = size;
  return 0;
}

int ymx_stream_create(lp2p_yamux *y, uint32_t id, int outbound, lp2p_tstamp now,
                      ymx_stream **out) {
  if ((uint64_t)(y->n_streams + 1) * 2 > y->tab_size) {
    uint32_t size = y->tab_size ? y->tab_size * 2 : YMX_TAB_MIN;
    if (resize(y, size))
      return LP2P_ERR_NOMEM;
  }
  ymx_stream *s = lp2p_mem_calloc(y->mem, 1, sizeof(*s));
  if (!s)
    return LP2P_ERR_NOMEM;
  s->id = id;
  s->flags = outbound ? YS_OUTBOUND : 0;
  s->send_window = LP2P_YAMUX_WINDOW_SPEC_BYTES;
  s->recv_window = y->cfg.window_bytes_initial;
  s->recv_credit = LP2P_YAMUX_WINDOW_SPEC_BYTES;
  s->epoch_start = now;
  put(y->tab, y->tab_size, s);
  y->n_streams++;
  y->recv_window_total += s->recv_window;
  if (!outbound)
    y->n_unacked++;
  *out = s;
  return 0;
}

static void tab_remove(lp2p_yamux *y, ymx_stream *s) {
  uint32_t m = y->tab_size - 1;
  uint32_t i = slot_of(s->id, y->tab_size);
  while (y->tab[i] != s)
    i = (i + 1) & m;
  y->tab[i] = NULL;
  /* Backward shift: pull later entries of the probe run into the hole
   * unless their home slot lies cyclically in (hole, their slot]. */
  for (uint32_t j = (i + 1) & m; y->tab[j]; j = (j + 1) & m) {
    uint32_t k = slot_of(y->tab[j]->id, y->tab_size);
    int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays)
      continue;
    y->tab[i] = y->tab[j];
    y->tab[j] = NULL;
    i = j;
  }
  y->n_streams--;
  if (y->n_streams == 0) { /* an idle session holds no table */
    lp2p_mem_free(y->mem, y->tab);
    y->tab = NULL;
    y->tab_size = 0;
  } else if (y->tab_size > YMX_TAB_MIN && y->n_streams * 8 < y->tab_size) {
    (void)resize(y, y->tab_size / 2); /* on failure keep the big one */
  }
}

static void free_chunks(lp2p_yamux *y, ymx_stream *s) {
  for (ymx_chunk *c = s->head, *n; c; c = n) {
    n = c->next;
    lp2p_mem_free(y->mem, c);
  }
  s->head = s->tail = NULL;
}

void ymx_stream_destroy(lp2p_yamux *y, ymx_stream *s) {
  if (y->rx_stream == s)
    y->rx_stream = NULL; /* the rest of its frame is discarded */
  ymx_rbuf_drop(y, s, s->buffered);
  y->recv_window_total -= s->recv_window;
  if (!(s->flags & (YS_OUTBOUND | YS_ACKED)))
    y->n_unacked--;
  tab_remove(y, s);
  free_chunks(y, s);
  lp2p_mem_free(y->mem, s);
  ymx_check_drained(y);
}

void ymx_free_all(lp2p_yamux *y) {
  for (uint32_t i = 0; i < y->tab_size; i++) {
    ymx_stream *s = y->tab[i];
    if (!s)
      continue;
    free_chunks(y, s);
    lp2p_mem_free(y->mem, s);
  }
  lp2p_mem_free(y->mem, y->tab);
  y->tab = NULL;
  y->tab_size = y->n_streams = 0;
}

void ymx_ev(lp2p_yamux *y, ymx_stream *s, uint8_t bits) {
  if (y->closed_polled)
    return; /* nothing after CLOSED */
  s->ev |= bits;
  if (s->queued)
    return;
  s->queued = 1;
  s->ev_next = NULL;
  if (y->evq_tail)
    y->evq_tail->ev_next = s;
  else
    y->evq_head = s;
  y->evq_tail = s;
}

void ymx_wake_writers(lp2p_yamux *y) {
  for (uint32_t i = 0; i < y->tab_size; i++) {
    ymx_stream *s = y->tab[i];
    if (s && (s->flags & YS_WANT_WRITE) && s->send_window > 0) {
      s->flags &= (uint8_t)~YS_WANT_WRITE;
      ymx_ev(y, s, YE_WRITABLE);
    }
  }
}
