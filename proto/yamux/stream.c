/* yamux stream API: open (spec "Opening a stream"), accept/ACK, write,
 * zero-copy read, half-close (FIN) and reset (RST) ("Closing a stream"). */
#include "proto/yamux/internal.h"

#define HB LP2P_YAMUX_HEADER_BYTES

/* NOMEM leaves the engine dead (common.h: fatal). */
static int fatal(lp2p_yamux *y, int rc) {
  ymx_fail(y, rc, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
  return rc;
}

/* The stream for an API call on a live session. */
static int lookup(lp2p_yamux *y, uint32_t id, ymx_stream **out) {
  if (!y)
    return LP2P_ERR_INVAL;
  if (y->closed)
    return LP2P_ERR_CLOSED;
  *out = ymx_find(y, id);
  return *out ? 0 : LP2P_ERR_NOT_FOUND;
}

int lp2p_yamux_stream_open(lp2p_yamux *y, lp2p_tstamp now, uint32_t *id) {
  if (!y || !id)
    return LP2P_ERR_INVAL;
  if (y->closed || y->goaway_sent || y->goaway_recv)
    return LP2P_ERR_CLOSED;
  if (y->n_streams >= y->cfg.streams_max || y->next_id > UINT32_MAX)
    return LP2P_ERR_LIMIT;
  /* Opening is the one control frame an application can repeat without
   * bound (open, reset, repeat): hold it to the queue's reserve. */
  if (ymx_out_queued(y) >= y->cfg.out_queue_bytes_max + YMX_CTRL_RESERVE)
    return LP2P_ERR_AGAIN;
  ymx_stream *s = NULL;
  uint32_t sid = (uint32_t)y->next_id;
  int rc = ymx_stream_create(y, sid, 1, now, &s);
  if (rc)
    return fatal(y, rc);
  y->next_id += 2;
  /* The peer assumes 256 KiB; the SYN carries any extra we allow. */
  uint32_t extra = y->cfg.window_bytes_initial - LP2P_YAMUX_WINDOW_SPEC_BYTES;
  s->recv_credit += extra;
  rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_WINDOW_UPDATE, LP2P_YAMUX_FLAG_SYN, sid,
                    extra);
  if (rc)
    return fatal(y, rc);
  *id = sid;
  return 0;
}

int lp2p_yamux_stream_accept(lp2p_yamux *y, lp2p_tstamp now, uint32_t id) {
  ymx_stream *s;
  int rc = lookup(y, id, &s);
  if (rc)
    return rc;
  if (s->flags & YS_RESET)
    return LP2P_ERR_RESET;
  uint16_t f = ymx_take_ack(y, s);
  if (!f)
    return 0;
  rc = ymx_window_update(y, s, now, f);
  return rc ? fatal(y, rc) : 0;
}

lp2p_ssize lp2p_yamux_stream_write(lp2p_yamux *y, lp2p_tstamp now, uint32_t id,
                                   const uint8_t *p, size_t n) {
  (void)now;
  ymx_stream *s;
  if (!p && n)
    return LP2P_ERR_INVAL;
  int rc = lookup(y, id, &s);
  if (rc)
    return rc;
  if (s->flags & YS_RESET)
    return LP2P_ERR_RESET;
  if (s->flags & YS_LOCAL_FIN)
    return LP2P_ERR_STATE;
  size_t total = 0, qmax = y->cfg.out_queue_bytes_max;
  while (total < n) {
    size_t q = ymx_out_queued(y);
    if (q + HB >= qmax) {
      y->out_blocked = 1; /* out_consume sends WRITABLE */
      break;
    }
    size_t k = n - total;
    if (k > s->send_window)
      k = s->send_window; /* 0: WRITABLE follows the window update */
    if (k > y->cfg.send_frame_bytes_max)
      k = y->cfg.send_frame_bytes_max;
    if (k > qmax - q - HB)
      k = qmax - q - HB;
    if (k == 0)
      break;
    /* An inbound stream is ACKed with its first frame (go/js style). */
    rc = ymx_out_data(y, ymx_take_ack(y, s), id, p + total, (uint32_t)k);
    if (rc)
      return fatal(y, rc);
    s->send_window -= (uint32_t)k;
    total += k;
  }
  if (total < n)
    s->flags |= YS_WANT_WRITE;
  return (lp2p_ssize)total;
}

const uint8_t *lp2p_yamux_stream_read_peek(const lp2p_yamux *y, uint32_t id,
                                           size_t *len) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  const ymx_chunk *c = s ? s->head : NULL;
  if (len)
    *len = c ? c->end - c->start : 0;
  return c ? c->data + c->start : NULL;
}

size_t lp2p_yamux_stream_readable(const lp2p_yamux *y, uint32_t id) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  return s ? s->buffered : 0;
}

int lp2p_yamux_stream_read_consume(lp2p_yamux *y, lp2p_tstamp now, uint32_t id,
                                   size_t n) {
  if (!y)
    return LP2P_ERR_INVAL;
  ymx_stream *s = ymx_find(y, id); /* buffered data stays readable */
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  if (n > s->buffered)
    return LP2P_ERR_INVAL;
  if (n == 0)
    return 0;
  int was_blocked = ymx_input_blocked(y);
  ymx_rbuf_drop(y, s, (uint32_t)n);
  if (was_blocked)
    y->last_input = now; /* we were the ones not reading */
  if (!y->closed) {
    int rc = ymx_window_update(y, s, now, ymx_take_ack(y, s));
    if (rc)
      return fatal(y, rc);
  }
  ymx_check_done(y, s);
  return 0;
}

int lp2p_yamux_stream_close(lp2p_yamux *y, lp2p_tstamp now, uint32_t id) {
  (void)now;
  ymx_stream *s;
  int rc = lookup(y, id, &s);
  if (rc)
    return rc;
  if (s->flags & YS_RESET)
    return LP2P_ERR_RESET;
  if (s->flags & YS_LOCAL_FIN)
    return 0;
  uint16_t f = (uint16_t)(LP2P_YAMUX_FLAG_FIN | ymx_take_ack(y, s));
  rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_WINDOW_UPDATE, f, id, 0);
  if (rc)
    return fatal(y, rc);
  s->flags = (uint8_t)((s->flags | YS_LOCAL_FIN) & ~YS_WANT_WRITE);
  ymx_check_done(y, s);
  return 0;
}

int lp2p_yamux_stream_reset(lp2p_yamux *y, lp2p_tstamp now, uint32_t id) {
  ymx_stream *s;
  int rc = lookup(y, id, &s);
  if (rc)
    return rc;
  if (s->flags & (YS_RESET | YS_DONE))
    return 0; /* already reset, or both sides finished */
  int was_blocked = ymx_input_blocked(y);
  ymx_rbuf_drop(y, s, s->buffered);
  if (was_blocked)
    y->last_input = now;
  s->flags |= YS_RESET;
  s->ev &= (uint8_t) ~(YE_READABLE | YE_WRITABLE | YE_REMOTE_CLOSED);
  rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_WINDOW_UPDATE, LP2P_YAMUX_FLAG_RST, id,
                    0);
  if (rc)
    return fatal(y, rc);
  ymx_check_done(y, s);
  return 0;
}

lp2p_ssize lp2p_yamux_stream_send_window(const lp2p_yamux *y, uint32_t id) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  return s ? (lp2p_ssize)s->send_window : LP2P_ERR_NOT_FOUND;
}

int lp2p_yamux_stream_fix_window(lp2p_yamux *y, uint32_t id) {
  ymx_stream *s = y ? ymx_find(y, id) : NULL;
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  s->flags |= YS_FIXED_WINDOW;
  return 0;
}

lp2p_ssize lp2p_yamux_stream_recv_window(const lp2p_yamux *y, uint32_t id) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  return s ? (lp2p_ssize)s->recv_window : LP2P_ERR_NOT_FOUND;
}

int lp2p_yamux_stream_status(const lp2p_yamux *y, uint32_t id) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  return s ? (int)(s->flags & YS_PUBLIC) : LP2P_ERR_NOT_FOUND;
}

int lp2p_yamux_stream_set_user(lp2p_yamux *y, uint32_t id, void *user) {
  ymx_stream *s = y ? ymx_find(y, id) : NULL;
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  s->user = user;
  return 0;
}

void *lp2p_yamux_stream_get_user(const lp2p_yamux *y, uint32_t id) {
  const ymx_stream *s = y ? ymx_find(y, id) : NULL;
  return s ? s->user : NULL;
}
