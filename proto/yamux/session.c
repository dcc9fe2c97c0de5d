/* yamux session: lifecycle, configuration, timers (keepalive, ping
 * timeout), ping/RTT (spec type 0x2), GoAway (spec "Session termination"),
 * the event queue and the state flags. */
#include <string.h>

#include "proto/yamux/internal.h"

void lp2p_yamux_config_default(lp2p_yamux_config *c) {
  if (!c)
    return;
  memset(c, 0, sizeof(*c));
  c->streams_max = 1024;
  c->accept_backlog_max = 256;
  c->window_bytes_initial = LP2P_YAMUX_WINDOW_SPEC_BYTES;
  c->window_bytes_max = 16u * 1024u * 1024u;
  c->stream_recv_buffer_bytes_max = 16u * 1024u * 1024u;
  c->session_buffered_bytes_max = UINT64_C(64) * 1024u * 1024u;
  c->frame_bytes_max = 16u * 1024u * 1024u;
  c->send_frame_bytes_max = 64u * 1024u;
  c->out_queue_bytes_max = 1024u * 1024u;
  c->keepalive_ns = 30 * LP2P_NS_PER_S;
  c->ping_timeout_ns = 10 * LP2P_NS_PER_S;
  c->measure_rtt = 1;
}

static int config_ok(const lp2p_yamux_config *c) {
  return c->streams_max > 0 &&
         c->window_bytes_initial >= LP2P_YAMUX_WINDOW_SPEC_BYTES &&
         c->window_bytes_max >= c->window_bytes_initial &&
         c->stream_recv_buffer_bytes_max >= c->window_bytes_max &&
         c->session_buffered_bytes_max > 0 && c->frame_bytes_max > 0 &&
         c->send_frame_bytes_max > 0 && c->out_queue_bytes_max >= 64 &&
         c->out_queue_bytes_max <= SIZE_MAX / 4;
}

static lp2p_tstamp add_sat(lp2p_tstamp a, uint64_t b) {
  return a > LP2P_TSTAMP_NONE - 1 - b ? LP2P_TSTAMP_NONE - 1 : a + b;
}

int ymx_send_ping(lp2p_yamux *y, lp2p_tstamp now) {
  uint32_t id = y->ping_id_next++;
  if (y->ping_id_next == 0)
    y->ping_id_next = 1;
  int rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_PING, LP2P_YAMUX_FLAG_SYN, 0, id);
  if (rc)
    return rc;
  y->ping_outstanding = 1;
  y->ping_id_out = id;
  y->ping_sent = now;
  if (y->cfg.keepalive_ns)
    y->keepalive_at = add_sat(now, y->cfg.keepalive_ns);
  return 0;
}

int lp2p_yamux_new(lp2p_yamux **out, int is_client,
                   const lp2p_yamux_config *cfg, const lp2p_mem *mem,
                   lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_yamux_config def;
  if (!cfg) {
    lp2p_yamux_config_default(&def);
    cfg = &def;
  }
  if (!config_ok(cfg))
    return LP2P_ERR_INVAL;
  lp2p_yamux *y = lp2p_mem_calloc(mem, 1, sizeof(*y));
  if (!y)
    return LP2P_ERR_NOMEM;
  y->cfg = *cfg;
  y->mem = mem;
  y->is_client = is_client ? 1 : 0;
  y->next_id = is_client ? 1 : 2;
  y->ping_id_next = 1;
  y->last_input = now;
  y->keepalive_at =
      cfg->keepalive_ns ? add_sat(now, cfg->keepalive_ns) : LP2P_TSTAMP_NONE;
  /* go-yamux measures the RTT once at start; auto-tuning needs it. */
  if (cfg->measure_rtt) {
    int rc = ymx_send_ping(y, now);
    if (rc) {
      lp2p_yamux_free(y);
      return rc;
    }
  }
  *out = y;
  return 0;
}

void lp2p_yamux_free(lp2p_yamux *y) {
  if (!y)
    return;
  ymx_free_all(y);
  lp2p_mem_free(y->mem, y->out);
  lp2p_mem_free(y->mem, y);
}

void ymx_fail(lp2p_yamux *y, int err, int goaway_code) {
  if (y->closed)
    return;
  if (goaway_code >= 0 && !y->goaway_sent) {
    y->goaway_sent = 1;
    (void)ymx_out_ctrl(y, LP2P_YAMUX_TYPE_GO_AWAY, 0, 0,
                       (uint32_t)goaway_code); /* best effort */
  }
  y->closed = 1;
  y->close_err = err;
  if (err && !y->last_error)
    y->last_error = err;
  y->rx_left = 0;
  y->rx_stream = NULL;
}

/* After a GoAway either way no stream can open; once the last one is
 * gone the session has nothing left to do. */
void ymx_check_drained(lp2p_yamux *y) {
  if (!y->closed && (y->goaway_sent || y->goaway_recv) && y->n_streams == 0)
    ymx_fail(y, 0, -1);
}

int ymx_input_blocked(const lp2p_yamux *y) {
  return y->session_buffered >= y->cfg.session_buffered_bytes_max;
}

size_t lp2p_yamux_recv_room(const lp2p_yamux *y) {
  if (!y || y->closed || ymx_input_blocked(y) ||
      ymx_out_queued(y) >= y->cfg.out_queue_bytes_max + YMX_CTRL_RESERVE)
    return 0;
  uint64_t room = y->cfg.session_buffered_bytes_max - y->session_buffered;
  return room > SIZE_MAX ? SIZE_MAX : (size_t)room;
}

/* When a kept (drained, large) output buffer is to be freed. */
static lp2p_tstamp spare_out_at(const lp2p_yamux *y) {
  if (!y->out || y->out_cap <= YMX_OUT_KEEP_BYTES || ymx_out_queued(y))
    return LP2P_TSTAMP_NONE;
  return add_sat(y->last_input, YMX_OUT_IDLE_NS);
}

static lp2p_tstamp timers_at(const lp2p_yamux *y);

lp2p_tstamp lp2p_yamux_next_timeout(const lp2p_yamux *y) {
  if (!y || y->closed)
    return LP2P_TSTAMP_NONE;
  lp2p_tstamp a = timers_at(y), b = spare_out_at(y);
  return a < b ? a : b;
}

static lp2p_tstamp timers_at(const lp2p_yamux *y) {
  if (y->ping_outstanding) {
    /* While we refuse input ourselves, the peer cannot be judged dead. */
    if (!y->cfg.ping_timeout_ns || ymx_input_blocked(y))
      return LP2P_TSTAMP_NONE;
    lp2p_tstamp base =
        y->ping_sent > y->last_input ? y->ping_sent : y->last_input;
    return add_sat(base, y->cfg.ping_timeout_ns);
  }
  return y->cfg.keepalive_ns ? y->keepalive_at : LP2P_TSTAMP_NONE;
}

int lp2p_yamux_handle_timeout(lp2p_yamux *y, lp2p_tstamp now) {
  if (!y)
    return LP2P_ERR_INVAL;
  if (y->closed)
    return 0;
  if (now >= spare_out_at(y)) {
    lp2p_mem_free(y->mem, y->out);
    y->out = NULL;
    y->out_cap = 0;
  }
  if (y->ping_outstanding) {
    if (ymx_input_blocked(y)) {
      y->last_input = now;
      return 0;
    }
    lp2p_tstamp due = timers_at(y);
    if (due != LP2P_TSTAMP_NONE && now >= due)
      ymx_fail(y, LP2P_ERR_TIMEOUT, -1); /* dead peer: no goodbye */
    return 0;
  }
  if (y->cfg.keepalive_ns && now >= y->keepalive_at) {
    int rc = ymx_send_ping(y, now);
    if (rc) {
      ymx_fail(y, rc, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
      return rc;
    }
  }
  return 0;
}

int lp2p_yamux_ping(lp2p_yamux *y, lp2p_tstamp now) {
  if (!y)
    return LP2P_ERR_INVAL;
  if (y->closed)
    return LP2P_ERR_CLOSED;
  if (y->ping_outstanding)
    return LP2P_ERR_AGAIN;
  int rc = ymx_send_ping(y, now);
  if (rc)
    ymx_fail(y, rc, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
  return rc;
}

int lp2p_yamux_go_away(lp2p_yamux *y, lp2p_tstamp now, uint32_t code) {
  (void)now;
  if (!y || code > LP2P_YAMUX_GOAWAY_INTERNAL_ERROR)
    return LP2P_ERR_INVAL;
  if (y->closed)
    return LP2P_ERR_CLOSED;
  if (y->goaway_sent)
    return 0;
  y->goaway_sent = 1;
  int rc = ymx_out_ctrl(y, LP2P_YAMUX_TYPE_GO_AWAY, 0, 0, code);
  if (rc) {
    ymx_fail(y, rc, -1);
    return rc;
  }
  if (code != LP2P_YAMUX_GOAWAY_NORMAL)
    ymx_fail(y, 0, -1);
  else
    ymx_check_drained(y);
  return 0;
}

static const lp2p_yamux_event_type ev_types[] = {
    LP2P_YAMUX_EV_STREAM_OPENED,   LP2P_YAMUX_EV_STREAM_READABLE,
    LP2P_YAMUX_EV_STREAM_WRITABLE, LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED,
    LP2P_YAMUX_EV_STREAM_RESET,    LP2P_YAMUX_EV_STREAM_CLOSED,
};

int lp2p_yamux_poll_event(lp2p_yamux *y, lp2p_yamux_event *ev) {
  if (!y || !ev || y->closed_polled)
    return 0;
  memset(ev, 0, sizeof(*ev));
  if (y->ev_goaway) {
    y->ev_goaway = 0;
    ev->type = LP2P_YAMUX_EV_GOAWAY_RECEIVED;
    ev->code = y->goaway_code;
    return 1;
  }
  if (y->ev_rtt) {
    y->ev_rtt = 0;
    ev->type = LP2P_YAMUX_EV_PING_RTT;
    ev->rtt_ns = y->ev_rtt_ns;
    return 1;
  }
  while (y->evq_head) {
    ymx_stream *s = y->evq_head;
    unsigned bit = s->ev & (0u - s->ev); /* lowest pending first */
    if (bit) {
      unsigned i = 0;
      while (!(bit >> i & 1u))
        i++;
      s->ev = (uint8_t)(s->ev & ~bit);
      ev->type = ev_types[i];
      ev->stream_id = s->id;
      ev->user = s->user;
    }
    if (!s->ev || bit == YE_CLOSED) {
      s->ev = 0;
      s->queued = 0;
      y->evq_head = s->ev_next;
      if (!y->evq_head)
        y->evq_tail = NULL;
    }
    if (bit == YE_CLOSED)
      ymx_stream_destroy(y, s); /* "id is then freed" */
    if (bit)
      return 1;
  }
  if (y->closed) {
    y->closed_polled = 1;
    ev->type = LP2P_YAMUX_EV_CLOSED;
    ev->error = y->close_err;
    return 1;
  }
  return 0;
}

unsigned lp2p_yamux_state(const lp2p_yamux *y) {
  if (!y)
    return LP2P_STATE_CLOSED;
  unsigned st = 0;
  if (ymx_out_queued(y))
    st |= LP2P_STATE_HAS_OUTPUT;
  if (y->closed)
    return st | LP2P_STATE_CLOSED;
  if (lp2p_yamux_recv_room(y))
    st |= LP2P_STATE_WANT_READ;
  if (y->goaway_sent || y->goaway_recv)
    st |= LP2P_STATE_CLOSING;
  return st;
}

int lp2p_yamux_last_error(const lp2p_yamux *y) {
  return y ? y->last_error : LP2P_ERR_INVAL;
}

int lp2p_yamux_set_budget(lp2p_yamux *y, uint64_t buffered_max,
                          size_t out_queue_max) {
  if (!y || buffered_max < 65536 || out_queue_max < 64 ||
      out_queue_max > SIZE_MAX / 4)
    return LP2P_ERR_INVAL;
  y->cfg.session_buffered_bytes_max = buffered_max;
  y->cfg.out_queue_bytes_max = out_queue_max;
  return 0;
}

void lp2p_yamux_get_stats(const lp2p_yamux *y, lp2p_yamux_stats *out) {
  if (!out)
    return;
  memset(out, 0, sizeof(*out));
  if (!y)
    return;
  out->streams = y->n_streams;
  out->inbound_unacked = y->n_unacked;
  out->streams_refused = y->streams_refused;
  out->pongs_dropped = y->pongs_dropped;
  out->rtt_ns = y->rtt_ns;
  out->session_buffered_bytes = y->session_buffered;
  out->recv_window_total_bytes = y->recv_window_total;
  out->out_queued_bytes = ymx_out_queued(y);
}
