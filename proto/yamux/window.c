/* yamux receive side of a stream: the receive buffer (a chunk list, filled
 * straight from the input and freed as soon as it is read) and the flow
 * control window (spec "Flow Control"), with go-yamux style auto-tuning. */
#include <string.h>

#include "proto/yamux/internal.h"

int ymx_rbuf_append(lp2p_yamux *y, ymx_stream *s, const uint8_t *p, uint32_t k,
                    uint32_t frame_left) {
  uint32_t done = 0;
  ymx_chunk *t = s->tail;
  if (t && t->cap > t->end) {
    uint32_t m = t->cap - t->end;
    if (m > k)
      m = k;
    memcpy(t->data + t->end, p, m);
    t->end += m;
    done = m;
  }
  int rc = 0;
  while (done < k) {
    /* Size the chunk for the rest of the frame, so a big frame that
     * arrives in pieces fills one chunk, and small frames share one. */
    uint32_t left = frame_left - done;
    uint32_t cap = left < YMX_CHUNK_MIN ? YMX_CHUNK_MIN : left;
    if (cap > YMX_CHUNK_MAX)
      cap = YMX_CHUNK_MAX;
    ymx_chunk *c = lp2p_mem_malloc(y->mem, sizeof(*c) + cap);
    if (!c) {
      rc = LP2P_ERR_NOMEM;
      break;
    }
    uint32_t m = k - done < cap ? k - done : cap;
    c->next = NULL;
    c->start = 0;
    c->end = m;
    c->cap = cap;
    memcpy(c->data, p + done, m);
    if (s->tail)
      s->tail->next = c;
    else
      s->head = c;
    s->tail = c;
    done += m;
  }
  s->buffered += done;
  y->session_buffered += done;
  return rc;
}

void ymx_rbuf_drop(lp2p_yamux *y, ymx_stream *s, uint32_t n) {
  while (n && s->head) {
    ymx_chunk *c = s->head;
    uint32_t m = c->end - c->start;
    if (m > n)
      m = n;
    c->start += m;
    n -= m;
    s->buffered -= m;
    y->session_buffered -= m;
    if (c->start == c->end) {
      s->head = c->next;
      if (!s->head)
        s->tail = NULL;
      lp2p_mem_free(y->mem, c);
    }
  }
}

uint16_t ymx_take_ack(lp2p_yamux *y, ymx_stream *s) {
  if (s->flags & (YS_OUTBOUND | YS_ACKED))
    return 0;
  s->flags |= YS_ACKED;
  y->n_unacked--;
  return LP2P_YAMUX_FLAG_ACK;
}

/* Grant the peer the window we have free: recv_window minus what it may
 * still send minus what we hold. Without flags to carry, only once half
 * the window is free (as hashicorp and go-yamux), to keep updates rare. */
int ymx_window_update(lp2p_yamux *y, ymx_stream *s, lp2p_tstamp now,
                      uint16_t flags) {
  if (s->flags & YS_RESET)
    return 0;
  uint32_t used = s->recv_credit + s->buffered;
  uint32_t delta = s->recv_window > used ? s->recv_window - used : 0;
  if (s->flags & YS_REMOTE_FIN)
    delta = 0; /* the peer sends nothing more: only flags matter */
  if (!flags) {
    if (delta < s->recv_window / 2 || delta == 0)
      return 0;
    /* Auto-tuning (go-yamux): updates less than 2 RTT apart mean the
     * window, not the reader, limits throughput (one window per RTT), so
     * double it, within window_bytes_max and the session budget. */
    uint64_t rtt = y->rtt_ns;
    if (rtt && now >= s->epoch_start && now - s->epoch_start < 2 * rtt &&
        s->recv_window < y->cfg.window_bytes_max &&
        !(s->flags & YS_FIXED_WINDOW)) {
      uint32_t nw = s->recv_window > y->cfg.window_bytes_max / 2
                        ? y->cfg.window_bytes_max
                        : s->recv_window * 2;
      uint32_t grow = nw - s->recv_window;
      if (y->recv_window_total + grow <= y->cfg.session_buffered_bytes_max) {
        s->recv_window = nw;
        y->recv_window_total += grow;
        delta += grow;
      }
    }
    s->epoch_start = now;
  }
  if (!delta && !flags)
    return 0;
  s->recv_credit += delta;
  return ymx_out_ctrl(y, LP2P_YAMUX_TYPE_WINDOW_UPDATE, flags, s->id, delta);
}

/* Spec "Closing a stream": "Once both sides have closed the connection,
 * the stream is closed"; we also wait until the reader took every byte. */
void ymx_check_done(lp2p_yamux *y, ymx_stream *s) {
  if (s->flags & YS_DONE)
    return;
  if ((s->flags & YS_RESET) ||
      ((s->flags & YS_LOCAL_FIN) && (s->flags & YS_REMOTE_FIN) &&
       s->buffered == 0)) {
    s->flags |= YS_DONE;
    s->flags &= (uint8_t)~YS_WANT_WRITE;
    ymx_ev(y, s, YE_CLOSED);
  }
}
