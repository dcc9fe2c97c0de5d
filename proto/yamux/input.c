/* yamux input: the frame parser (lp2p_yamux_feed) and what each frame does
 * (spec "Message Flow"). Data payload goes straight from the caller's
 * buffer into the stream's receive chunks. Every peer mistake ends in
 * ymx_fail(): sticky error, GoAway, CLOSED event; never an API failure. */
#include <string.h>

#include "proto/yamux/internal.h"

#define F_SYN LP2P_YAMUX_FLAG_SYN
#define F_ACK LP2P_YAMUX_FLAG_ACK
#define F_FIN LP2P_YAMUX_FLAG_FIN
#define F_RST LP2P_YAMUX_FLAG_RST

static void proto_error(lp2p_yamux *y) {
  ymx_fail(y, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void remote_fin(lp2p_yamux *y, ymx_stream *s) {
  if (s->flags & (YS_REMOTE_FIN | YS_RESET))
    return;
  s->flags |= YS_REMOTE_FIN;
  ymx_ev(y, s, YE_REMOTE_CLOSED);
  ymx_check_done(y, s);
}

static void remote_reset(lp2p_yamux *y, ymx_stream *s) {
  if (s->flags & YS_RESET)
    return;
  ymx_rbuf_drop(y, s, s->buffered);
  s->flags |= YS_RESET;
  /* The bytes a pending READABLE or REMOTE_CLOSED (EOF after them) spoke
   * of are gone: only the reset is reported. */
  s->ev &= (uint8_t) ~(YE_READABLE | YE_WRITABLE | YE_REMOTE_CLOSED);
  ymx_ev(y, s, YE_RESET);
  ymx_check_done(y, s);
}

/* A SYN from the peer. Returns the new stream, or NULL when it was refused
 * with RST (spec "ACK backlog & backpressure") or the session failed. */
static ymx_stream *remote_open(lp2p_yamux *y, lp2p_tstamp now, uint32_t id,
                               int *rc) {
  if (ymx_find(y, id)) { /* duplicate SYN */
    proto_error(y);
    return NULL;
  }
  /* "The client side should use odd ID's, and the server even." */
  if ((id & 1u) == (y->is_client ? 1u : 0u)) {
    proto_error(y);
    return NULL;
  }
  if (y->goaway_sent || y->goaway_recv || y->n_streams >= y->cfg.streams_max ||
      y->n_unacked >= y->cfg.accept_backlog_max) {
    y->streams_refused++;
    *rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_WINDOW_UPDATE, F_RST, id, 0);
    return NULL;
  }
  ymx_stream *s = NULL;
  *rc = ymx_stream_create(y, id, 0, now, &s);
  if (*rc)
    return NULL;
  ymx_ev(y, s, YE_OPENED);
  return s;
}

static int on_stream_frame(lp2p_yamux *y, lp2p_tstamp now,
                           const lp2p_yamux_header *h) {
  int is_data = h->type == LP2P_YAMUX_TYPE_DATA;
  if (h->stream_id == 0) { /* "the 0 ID is reserved to represent the session" */
    proto_error(y);
    return 0;
  }
  if (is_data && h->length > y->cfg.frame_bytes_max) {
    ymx_fail(y, LP2P_ERR_LIMIT, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
    return 0;
  }
  int rc = 0;
  ymx_stream *s;
  if (h->flags & F_SYN)
    s = remote_open(y, now, h->stream_id, &rc);
  else
    s = ymx_find(y, h->stream_id);
  if (rc || y->closed)
    return rc;
  /* Unknown id: most likely a stream we reset or refused; drop its data
   * (as go-yamux). */
  if (s && (h->flags & F_ACK) && (s->flags & YS_OUTBOUND))
    s->flags |= YS_ACKED; /* via Data or Window Update, as peers differ */
  if (s && (h->flags & F_RST)) {
    remote_reset(y, s);
    s = NULL;
  }
  if (s && !is_data && !(s->flags & YS_RESET)) {
    if (h->length > UINT32_MAX - s->send_window) {
      proto_error(y);
      return 0;
    }
    s->send_window += h->length;
    if ((s->flags & YS_WANT_WRITE) && s->send_window > 0) {
      if (ymx_out_queued(y) < y->cfg.out_queue_bytes_max) {
        s->flags &= (uint8_t)~YS_WANT_WRITE;
        ymx_ev(y, s, YE_WRITABLE);
      } else {
        y->out_blocked = 1; /* out_consume wakes it */
      }
    }
  }
  if (is_data && h->length > 0) {
    if (s && !(s->flags & YS_RESET)) {
      if ((s->flags & YS_REMOTE_FIN) || h->length > s->recv_credit) {
        proto_error(y); /* data after FIN, or past the window we granted */
        return 0;
      }
      s->recv_credit -= h->length;
    } else {
      s = NULL;
    }
    y->rx_stream = s;
    y->rx_left = y->rx_frame_len = h->length;
    y->rx_flags = h->flags;
    return 0;
  }
  if (s && (h->flags & F_FIN))
    remote_fin(y, s);
  return 0;
}

static int on_ping(lp2p_yamux *y, lp2p_tstamp now, const lp2p_yamux_header *h) {
  if (h->flags & F_SYN) {
    /* Like go-yamux, drop the reply rather than grow the queue for a peer
     * that pings but does not read. */
    if (ymx_out_queued(y) >= y->cfg.out_queue_bytes_max) {
      y->pongs_dropped++;
      return 0;
    }
    return ymx_out_ctrl(y, LP2P_YAMUX_TYPE_PING, F_ACK, 0, h->length);
  }
  if ((h->flags & F_ACK) && y->ping_outstanding &&
      h->length == y->ping_id_out) {
    y->ping_outstanding = 0;
    y->rtt_ns = now > y->ping_sent ? now - y->ping_sent : 0;
    y->ev_rtt = 1;
    y->ev_rtt_ns = y->rtt_ns;
  }
  return 0; /* unsolicited or stale pongs are ignored */
}

static void on_go_away(lp2p_yamux *y, const lp2p_yamux_header *h) {
  if (y->goaway_recv)
    return;
  y->goaway_recv = 1;
  y->goaway_code = h->length;
  y->ev_goaway = 1;
  if (h->length != LP2P_YAMUX_GOAWAY_NORMAL)
    ymx_fail(y, LP2P_ERR_GOAWAY, -1);
  else
    ymx_check_drained(y);
}

static int on_frame(lp2p_yamux *y, lp2p_tstamp now) {
  lp2p_yamux_header h;
  if (lp2p_yamux_header_decode(&h, y->hdr, sizeof y->hdr)) {
    proto_error(y); /* bad version or unknown type */
    return 0;
  }
  switch (h.type) {
  case LP2P_YAMUX_TYPE_PING:
    return on_ping(y, now, &h);
  case LP2P_YAMUX_TYPE_GO_AWAY:
    on_go_away(y, &h);
    return 0;
  default:
    return on_stream_frame(y, now, &h);
  }
}

/* The payload of the current Data frame. Returns bytes taken. */
static size_t take_payload(lp2p_yamux *y, const uint8_t *p, size_t n, int *rc) {
  size_t k = n < y->rx_left ? n : y->rx_left;
  ymx_stream *s = y->rx_stream;
  if (s && (s->flags & YS_RESET))
    s = y->rx_stream = NULL;
  if (s) {
    uint64_t max = y->cfg.session_buffered_bytes_max;
    uint64_t room = y->session_buffered < max ? max - y->session_buffered : 0;
    if (room < k)
      k = (size_t)room; /* back-pressure: 0 stops feed */
    if (k == 0)
      return 0;
    *rc = ymx_rbuf_append(y, s, p, (uint32_t)k, y->rx_left);
    if (*rc)
      return 0;
    ymx_ev(y, s, YE_READABLE);
  }
  y->rx_left -= (uint32_t)k;
  if (y->rx_left == 0) {
    if (s && (y->rx_flags & F_FIN))
      remote_fin(y, s);
    y->rx_stream = NULL;
  }
  return k;
}

lp2p_ssize lp2p_yamux_feed(lp2p_yamux *y, lp2p_tstamp now, const uint8_t *p,
                           size_t n) {
  if (!y || (!p && n))
    return LP2P_ERR_INVAL;
  if (y->closed)
    return (lp2p_ssize)n; /* further input is ignored */
  size_t off = 0;
  int rc = 0;
  while (off < n && !y->closed) {
    if (y->rx_left) {
      size_t k = take_payload(y, p + off, n - off, &rc);
      if (rc)
        break;
      if (k == 0)
        break;
      off += k;
      continue;
    }
    /* Refusals and window updates may pass the queue limit by the reserve;
     * beyond it, stop reading until the output drains. */
    if (ymx_out_queued(y) >= y->cfg.out_queue_bytes_max + YMX_CTRL_RESERVE)
      break;
    size_t k = LP2P_YAMUX_HEADER_BYTES - y->hdr_have;
    if (k > n - off)
      k = n - off;
    memcpy(y->hdr + y->hdr_have, p + off, k);
    y->hdr_have = (uint8_t)(y->hdr_have + k);
    off += k;
    if (y->hdr_have < LP2P_YAMUX_HEADER_BYTES)
      break;
    y->hdr_have = 0;
    rc = on_frame(y, now);
    if (rc)
      break;
  }
  if (off)
    y->last_input = now;
  if (rc) {
    ymx_fail(y, rc, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
    return rc;
  }
  return y->closed ? (lp2p_ssize)n : (lp2p_ssize)off;
}

int lp2p_yamux_feed_eof(lp2p_yamux *y, lp2p_tstamp now) {
  (void)now;
  if (!y)
    return LP2P_ERR_INVAL;
  if (y->closed)
    return 0;
  int clean = y->goaway_recv && y->hdr_have == 0 && y->rx_left == 0;
  ymx_fail(y, clean ? 0 : LP2P_ERR_EOF, -1);
  return 0;
}
