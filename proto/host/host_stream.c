/* Streams: the host stream table, per-stream multistream-select
 * (connections spec, "Protocol Negotiation": the initiator proposes its one
 * protocol lazily, so data can follow the proposal without a round trip),
 * the yamux event dispatch, and the stream I/O used by services. The
 * application API is in host_stream_api.c. */
#include "proto/host/host_internal.h"

hstream *host_stream_get(const lp2p_host *h, uint64_t id) {
  return hid_get(&h->streams, id);
}

/* Unlink and free. The yamux stream (if any) must already be dealt with;
 * later yamux events naming its id find nothing and are ignored. The
 * owning service hears of the end (stream_end with `err`) when `notify`:
 * always, except when it reset the stream itself. The hook runs after the
 * stream is gone, so it may do anything the service API allows. */
static void stream_free(lp2p_host *h, hstream *s, int err, int notify,
                        lp2p_tstamp now) {
  hconn *c = s->conn;
  ILIST_REMOVE(c->streams, s, next, prev);
  c->nstreams--;
  if (s->flags & HS_IN_COUNTED)
    host_rm_stream_del(c, s->dir);
  if ((s->flags & HS_PROTO_COUNTED) && s->proto < h->nprotos)
    h->protos[s->proto].streams_in--;
  if ((s->flags & HS_CLOSE_DEFERRED) && c->deferred_closes)
    c->deferred_closes--;
  if (c->nstreams == 0)
    c->idle_since = now;
  hid_del(&h->streams, s->id);
  lp2p_ms_free(s->ms);
  uint8_t owner = s->owner;
  uint64_t id = s->id;
  void *ud = s->ud;
  lp2p_mem_free(h->mem, s);
  if (notify && owner != HOWNER_APP)
    host_svc_stream_end(h, owner, id, ud, err, now);
}

static hstream *stream_new(lp2p_host *h, hconn *c, uint32_t ys, uint8_t dir,
                           lp2p_tstamp now, int *err) {
  hstream *s = lp2p_mem_calloc(h->mem, 1, sizeof *s);
  if (!s) {
    *err = LP2P_ERR_NOMEM;
    return NULL;
  }
  *err = hid_add(&h->streams, h->mem, s, &s->id);
  if (*err) {
    lp2p_mem_free(h->mem, s);
    return NULL;
  }
  s->conn = c;
  s->ys = ys;
  s->dir = dir;
  s->proto = UINT16_MAX;
  s->opened = now;
  s->deadline = host_add_ns(now, h->cfg.stream_negotiate_timeout_ns);
  s->idle_deadline = LP2P_TSTAMP_NONE; /* negotiation has its own */
  /* counted in its connection's, peer's and the system's scopes; the
   * caps were checked before (host_stream_admit_open, host_stream_open), so
   * a refusal here is only a race the caller reports like them */
  if (host_rm_stream_add(h, c, dir, NULL) != 0) {
    hid_del(&h->streams, s->id);
    lp2p_mem_free(h->mem, s);
    *err = LP2P_ERR_LIMIT;
    return NULL;
  }
  s->flags |= HS_IN_COUNTED;
  ILIST_PUSH_FRONT(c->streams, s, next, prev);
  c->nstreams++;
  c->idle_since = LP2P_TSTAMP_NONE;
  return s;
}

/* Write pending multistream output into the yamux stream. Returns 1 when
 * it is all out. */
static void fin_try(lp2p_host *h, hstream *s, lp2p_tstamp now);

static int flush_ms(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  if (!s->ms)
    return 1;
  lp2p_yamux *y = host_conn_yamux(s->conn);
  size_t len = 0;
  const uint8_t *p = lp2p_ms_out_peek(s->ms, &len);
  if (len && y) {
    lp2p_ssize w = lp2p_yamux_stream_write(y, now, s->ys, p, len);
    if (w > 0)
      lp2p_ms_out_consume(s->ms, (size_t)w);
    lp2p_ms_out_peek(s->ms, &len);
  }
  if (len)
    return 0;
  if (!(s->flags & HS_NEGOTIATING)) {
    lp2p_ms_free(s->ms); /* negotiation over and echo sent */
    s->ms = NULL;
    /* A close asked for during the negotiation can go now. */
    if (s->flags & HS_CLOSE_PENDING) {
      s->flags &= (uint16_t)~HS_CLOSE_PENDING;
      fin_try(h, s, now);
    }
  }
  return 1;
}

int host_stream_open(lp2p_host *h, hconn *c, uint16_t proto, uint8_t owner,
                     void *ud, lp2p_tstamp now, hstream **out) {
  *out = NULL;
  lp2p_yamux *y = host_conn_yamux(c);
  if (!y || c->state != HC_OPEN)
    return LP2P_ERR_STATE;
  if (host_conn_limited(c) && !(h->protos[proto].flags & HPROTO_LIMITED))
    return LP2P_ERR_LIMITED;
  if (h->streams.used >= h->cfg.streams_max)
    return LP2P_ERR_LIMIT;
  /* our own streams to one peer, all connections (go's peer scope,
   * StreamsOutbound): a runaway caller meets a clear LIMIT */
  const rm_scope *ps = c->peer ? &c->peer->rm : &c->rmc;
  if (ps->used[RM_STREAMS_OUT] >= h->cfg.streams_outbound_per_peer_max) {
    h->stats.streams_refused_outbound++;
    return LP2P_ERR_LIMIT;
  }
  uint32_t ys;
  int rc = lp2p_yamux_stream_open(y, now, &ys);
  if (rc)
    return rc == LP2P_ERR_CLOSED ? LP2P_ERR_STATE : rc;
  hstream *s = stream_new(h, c, ys, LP2P_DIR_OUTBOUND, now, &rc);
  if (!s) {
    lp2p_yamux_stream_reset(y, now, ys);
    return rc;
  }
  s->proto = proto;
  s->owner = owner;
  s->ud = ud;
  s->flags |= HS_NEGOTIATING;
  lp2p_ms_config mc;
  lp2p_ms_config_default(&mc);
  mc.timeout_ns = 0; /* s->deadline covers it */
  const char *names[1] = {h->protos[proto].name};
  rc = lp2p_ms_new(&s->ms, 1, &mc, h->mem, now);
  if (rc == 0)
    rc = lp2p_ms_propose(s->ms, names, 1, 1);
  if (rc) {
    lp2p_yamux_stream_reset(y, now, ys);
    stream_free(h, s, 0, 0, now);
    return rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_INVAL;
  }
  flush_ms(h, s, now);
  *out = s;
  return 0;
}

/* ---- idle timeout ---------------------------------------------------------- */

/* The idle timeout of a negotiated stream by its owner. A carrier stream
 * has none: the connection inside it has its own keepalive and idle
 * timeout, and a relayed circuit its own budget. */
static uint64_t idle_ns(const lp2p_host *h, const hstream *s) {
  if (s->owner == HOWNER_CARRIER || (s->flags & HS_NO_IDLE))
    return 0;
  return s->owner == HOWNER_APP ? h->cfg.app_stream_idle_timeout_ns
                                : h->cfg.stream_idle_timeout_ns;
}

void host_stream_active(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  if (s->flags & HS_NEGOTIATING)
    return;
  s->idle_deadline = host_add_ns(now, idle_ns(h, s));
}

static const lp2p_peerid *conn_peer(const hconn *c) {
  return c->peer ? &c->peer->id : NULL;
}

/* ---- negotiation -------------------------------------------------------- */

static void emit(lp2p_host *h, hstream *s, lp2p_host_event_kind k, int err) {
  hevent *e = host_ev_push(h, k);
  e->stream = s->id;
  e->conn = s->conn->id;
  e->err = err;
  e->u.stream.direction = s->dir;
  e->u.stream.protocol = s->proto < h->nprotos ? h->protos[s->proto].name
                                               : NULL;
  if (s->conn->peer)
    e->peer = s->conn->peer->id;
}

/* Negotiation failed or the stream died before it finished. */
static void negotiation_failed(lp2p_host *h, hstream *s, int err,
                               lp2p_tstamp now) {
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (y)
    lp2p_yamux_stream_reset(y, now, s->ys);
  if (s->dir == LP2P_DIR_OUTBOUND && s->owner == HOWNER_APP)
    emit(h, s, LP2P_HOST_EV_STREAM_OPEN_FAILED, err);
  /* An inbound stream has no owner yet; an outbound one's service hears. */
  stream_free(h, s, err, 1, now);
}

/* Returns 0, or -1 when the stream was freed. */
static int inbound_negotiated(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  const char *name = lp2p_ms_protocol(s->ms, NULL, NULL);
  int err = 0;
  uint16_t idx = name ? host_proto_find(h, name, strlen(name), 0, 0, &err)
                      : UINT16_MAX;
  if (idx == UINT16_MAX || !(h->protos[idx].flags & HPROTO_INBOUND)) {
    negotiation_failed(h, s, LP2P_ERR_UNSUPPORTED, now);
    return -1;
  }
  if (!host_stream_admit_protocol(h, s->conn, idx)) {
    /* Our ms answer dies with the stream: the peer sees only the RST. */
    lp2p_yamux *y = host_conn_yamux(s->conn);
    if (y)
      lp2p_yamux_stream_reset(y, now, s->ys);
    stream_free(h, s, 0, 0, now);
    return -1;
  }
  s->proto = idx;
  s->owner = h->protos[idx].owner;
  s->flags |= HS_FRESH | HS_PROTO_COUNTED;
  h->protos[idx].streams_in++;
  s->deadline = LP2P_TSTAMP_NONE;
  s->idle_deadline = host_add_ns(now, idle_ns(h, s));
  if (s->owner == HOWNER_APP) {
    s->flags |= HS_VISIBLE;
    emit(h, s, LP2P_HOST_EV_STREAM_INBOUND, 0);
    size_t len = 0;
    if (lp2p_yamux_stream_read_peek(host_conn_yamux(s->conn), s->ys, &len) &&
        len) {
      s->flags |= HS_READABLE_EV;
      emit(h, s, LP2P_HOST_EV_STREAM_READABLE, 0);
    }
    return 0;
  }
  return host_svc_stream_start(h, s, now) ? 0 : -1;
}

/* Feed buffered stream bytes to the ms engine. Returns 1 when the stream
 * left negotiation (success), 0 while still negotiating, -1 when the
 * stream was freed. */
static int negotiate(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  lp2p_yamux *y = host_conn_yamux(s->conn);
  while (s->flags & HS_NEGOTIATING) {
    size_t len = 0;
    const uint8_t *p = lp2p_yamux_stream_read_peek(y, s->ys, &len);
    lp2p_ssize k = 0;
    if (len) {
      k = lp2p_ms_feed(s->ms, now, p, len);
      if (k < 0) {
        negotiation_failed(h, s, (int)k, now);
        return -1;
      }
      if (k)
        lp2p_yamux_stream_read_consume(y, now, s->ys, (size_t)k);
    } else if (s->flags & HS_REMOTE_CLOSED) {
      lp2p_ms_feed_eof(s->ms, now);
    }
    lp2p_ms_event ev;
    while (lp2p_ms_poll_event(s->ms, &ev)) {
      if (ev.type == LP2P_MS_EV_FAILED) {
        negotiation_failed(h, s, ev.err ? ev.err : LP2P_ERR_PROTO, now);
        return -1;
      }
      if (ev.type == LP2P_MS_EV_NEGOTIATED) {
        s->flags &= (uint16_t)~HS_NEGOTIATING;
        if (s->dir == LP2P_DIR_INBOUND) {
          /* The echo goes out before any reply: service writes flush the
           * ms output first (host_stream_write_raw). */
          if (inbound_negotiated(h, s, now) < 0)
            return -1;
          flush_ms(h, s, now);
          return 1;
        }
        flush_ms(h, s, now);
        s->idle_deadline = host_add_ns(now, idle_ns(h, s));
        /* A deadline the service set (identify, ping) stays. */
        if (!(s->flags & HS_SVC_DEADLINE))
          s->deadline = LP2P_TSTAMP_NONE;
        if (s->owner == HOWNER_APP)
          emit(h, s, LP2P_HOST_EV_STREAM_OPENED, 0);
        return 1;
      }
    }
    flush_ms(h, s, now); /* e.g. a listener's `na` */
    if (!len || k == 0)
      break;
  }
  return (s->flags & HS_NEGOTIATING) ? 0 : 1;
}

/* ---- yamux events ---------------------------------------------------------- */

static void inbound_open(lp2p_host *h, hconn *c, uint32_t ys,
                         lp2p_tstamp now) {
  lp2p_yamux *y = host_conn_yamux(c);
  if (c->state != HC_OPEN) {
    h->stats.streams_refused++;
    lp2p_yamux_stream_reset(y, now, ys);
    return;
  }
  if (!host_stream_admit_open(h, c)) {
    lp2p_yamux_stream_reset(y, now, ys);
    return;
  }
  int err = 0;
  hstream *s = stream_new(h, c, ys, LP2P_DIR_INBOUND, now, &err);
  if (!s) {
    h->stats.streams_refused++;
    lp2p_yamux_stream_reset(y, now, ys);
    return;
  }
  /* The listener offers every protocol we accept inbound. */
  const char *stackbuf[64];
  const char **names = stackbuf;
  if (h->nprotos > 64) {
    names = lp2p_mem_malloc(h->mem, h->nprotos * sizeof *names);
    if (!names) {
      lp2p_yamux_stream_reset(y, now, ys);
      stream_free(h, s, 0, 0, now);
      return;
    }
  }
  /* On a limited connection only the protocols allowed there. */
  size_t n = 0;
  uint8_t need = (uint8_t)(HPROTO_INBOUND |
                           (host_conn_limited(c) ? HPROTO_LIMITED : 0));
  for (uint16_t i = 0; i < h->nprotos; i++)
    if ((h->protos[i].flags & need) == need)
      names[n++] = h->protos[i].name;
  lp2p_ms_config mc;
  lp2p_ms_config_default(&mc);
  mc.timeout_ns = 0;
  mc.protocols = names;
  mc.protocols_len = n;
  if (mc.protocols_max < n)
    mc.protocols_max = n;
  err = lp2p_ms_new(&s->ms, 0, &mc, h->mem, now);
  if (names != stackbuf)
    lp2p_mem_free(h->mem, names);
  if (err) {
    lp2p_yamux_stream_reset(y, now, ys);
    stream_free(h, s, 0, 0, now);
    return;
  }
  s->flags |= HS_NEGOTIATING;
  flush_ms(h, s, now);
}

static void app_readable(lp2p_host *h, hstream *s) {
  if (!(s->flags & HS_VISIBLE) || (s->flags & HS_READABLE_EV))
    return;
  s->flags |= HS_READABLE_EV;
  emit(h, s, LP2P_HOST_EV_STREAM_READABLE, 0);
}

static void stream_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  if (s->flags & HS_NEGOTIATING) {
    if (negotiate(h, s, now) <= 0)
      return;
  }
  if (!flush_ms(h, s, now))
    return;
  if (s->owner != HOWNER_APP) {
    host_svc_stream_activity(h, s, now);
    return;
  }
  size_t len = 0;
  lp2p_yamux_stream_read_peek(host_conn_yamux(s->conn), s->ys, &len);
  if (len)
    app_readable(h, s);
}

/* The peer's FIN. The upgrader queues yamux events while it feeds the
 * rest of the input, so by now a RST that came after the FIN may have
 * dropped the unread bytes (yamux spec "Closing a stream": RST is an abrupt
 * end). A clean end is reported only when it still holds: yamux keeps the
 * stream and it is not reset. When yamux already forgot the stream, its
 * CLOSED (clean: everything was read) or RESET event follows in the same
 * queue and decides. remote_eof returns -1 when the stream was freed. */
static int remote_eof(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  s->flags = (uint16_t)((s->flags & ~HS_EOF_UNSURE) | HS_REMOTE_CLOSED);
  if (s->flags & HS_NEGOTIATING)
    return negotiate(h, s, now) < 0 ? -1 : 0;
  if (s->owner != HOWNER_APP)
    return host_svc_stream_activity(h, s, now) ? 0 : -1;
  if (s->flags & HS_VISIBLE) {
    emit(h, s, LP2P_HOST_EV_STREAM_REMOTE_CLOSED, 0);
    s->flags |= HS_EOF_EV;
  }
  return 0;
}

/* A reset (the peer's, ours, or the connection's end) after a clean end
 * was queued but before the application polled it: the reset dropped the
 * bytes still unread (or the application will never read them), so the
 * promise "everything up to the FIN is readable" no longer holds. The
 * queued REMOTE_CLOSED is taken back; the application sees only the
 * reset. Seen when the FIN and the RST come in separate reads that the
 * host processes before the application polls. */
static void eof_revoke(lp2p_host *h, hstream *s) {
  if (!(s->flags & HS_EOF_EV))
    return;
  s->flags &= (uint16_t)~HS_EOF_EV;
  host_ev_cancel(h, s->id, LP2P_HOST_EV_STREAM_REMOTE_CLOSED);
}

static void remote_closed(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  int st = lp2p_yamux_stream_status(host_conn_yamux(s->conn), s->ys);
  if (st == LP2P_ERR_NOT_FOUND)
    s->flags |= HS_EOF_UNSURE;
  else if (st >= 0 && !((unsigned)st & LP2P_YAMUX_STREAM_RESET))
    remote_eof(h, s, now);
  /* else: reset, the RESET event follows */
}

void host_stream_on_yamux(lp2p_host *h, hconn *c, const lp2p_yamux_event *ev,
                          lp2p_tstamp now) {
  if (ev->type == LP2P_YAMUX_EV_STREAM_OPENED) {
    inbound_open(h, c, ev->stream_id, now);
    return;
  }
  /* Find our stream by its yamux id in the connection's list. The event's
   * user pointer cannot be trusted: the upgrader queues yamux events
   * eagerly, so one may outlive the stream it names (and the engine may
   * already have forgotten the stream). The hit moves to the front, so
   * busy streams are found at once. */
  hstream *s = NULL;
  for (hstream *t = c->streams; t; t = t->next)
    if (t->ys == ev->stream_id) {
      s = t;
      break;
    }
  if (s && s != c->streams) {
    ILIST_REMOVE(c->streams, s, next, prev);
    ILIST_PUSH_FRONT(c->streams, s, next, prev);
  }
  if (!s || s->conn != c || s->ys != ev->stream_id)
    return; /* a stream we already forgot */
  /* Bytes arrived, or the peer read ours (its window update), or its FIN:
   * the stream is not idle. */
  host_stream_active(h, s, now);
  switch (ev->type) {
  case LP2P_YAMUX_EV_STREAM_READABLE:
    stream_activity(h, s, now);
    break;
  case LP2P_YAMUX_EV_STREAM_WRITABLE:
    if (!flush_ms(h, s, now))
      break;
    if (s->flags & HS_NEGOTIATING) {
      if (s->dir == LP2P_DIR_INBOUND)
        break;
    }
    if (s->owner != HOWNER_APP) {
      host_svc_stream_activity(h, s, now);
    } else if (s->flags & HS_WANT_WRITABLE) {
      s->flags &= (uint16_t)~HS_WANT_WRITABLE;
      emit(h, s, LP2P_HOST_EV_STREAM_WRITABLE, 0);
    }
    break;
  case LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED:
    remote_closed(h, s, now);
    break;
  case LP2P_YAMUX_EV_STREAM_RESET:
    if (s->flags & HS_NEGOTIATING) {
      negotiation_failed(h, s, LP2P_ERR_RESET, now);
      break;
    }
    eof_revoke(h, s);
    if (s->owner == HOWNER_APP && (s->flags & HS_VISIBLE))
      emit(h, s, LP2P_HOST_EV_STREAM_RESET, LP2P_ERR_RESET);
    stream_free(h, s, LP2P_ERR_RESET, 1, now);
    break;
  case LP2P_YAMUX_EV_STREAM_CLOSED:
    /* the FIN was a clean end after all */
    if ((s->flags & HS_EOF_UNSURE) && remote_eof(h, s, now) < 0)
      break;
    if (s->flags & HS_NEGOTIATING) {
      negotiation_failed(h, s, LP2P_ERR_EOF, now);
      break;
    }
    if (s->owner == HOWNER_APP && (s->flags & HS_VISIBLE)) {
      emit(h, s, LP2P_HOST_EV_STREAM_CLOSED, 0);
      /* remembered so lp2p_host_stream_at_eof stays true for a while */
      h->done_ids[h->done_pos++ % 64] = s->id;
    }
    stream_free(h, s, 0, 1, now);
    break;
  default:
    break;
  }
}

void host_streams_drop(lp2p_host *h, hconn *c, int err, lp2p_tstamp now) {
  while (c->streams) {
    hstream *s = c->streams;
    if (s->owner == HOWNER_APP) {
      if (s->flags & HS_NEGOTIATING) {
        if (s->dir == LP2P_DIR_OUTBOUND)
          emit(h, s, LP2P_HOST_EV_STREAM_OPEN_FAILED, err);
      } else if (s->flags & HS_VISIBLE) {
        eof_revoke(h, s);
        emit(h, s, LP2P_HOST_EV_STREAM_RESET, err);
      }
    }
    stream_free(h, s, err, 1, now);
  }
}

/* ---- timers -------------------------------------------------------------------- */

lp2p_tstamp host_streams_deadline(const hconn *c) {
  lp2p_tstamp d = LP2P_TSTAMP_NONE;
  for (const hstream *s = c->streams; s; s = s->next) {
    if (s->deadline < d)
      d = s->deadline;
    if (s->idle_deadline < d)
      d = s->idle_deadline;
  }
  return d;
}

/* A timeout hook may end or open any stream, so the scan starts over after
 * each one; every round clears or frees the stream it handles, and a
 * budget stops a hook that keeps re-arming a past deadline. */
/* No byte moved either way for the idle timeout: reset, and tell the
 * owner (application: STREAM_RESET with TIMEOUT; service: stream_end with
 * TIMEOUT). Counted and logged. */
static void idle_close(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  if (idle_ns(h, s) == 0) { /* became a carrier since */
    s->idle_deadline = LP2P_TSTAMP_NONE;
    return;
  }
  hconn *c = s->conn;
  h->stats.streams_idle_closed++;
  host_logf(h, LP2P_LOG_INFO,
            "host conn=%U peer=%P stream=%U (%s) idle: reset", c->id,
            conn_peer(c), s->id,
            s->proto < h->nprotos ? h->protos[s->proto].name : NULL);
  lp2p_yamux *y = host_conn_yamux(c);
  if (y)
    lp2p_yamux_stream_reset(y, now, s->ys);
  if (s->owner == HOWNER_APP && (s->flags & HS_VISIBLE)) {
    eof_revoke(h, s);
    emit(h, s, LP2P_HOST_EV_STREAM_RESET, LP2P_ERR_TIMEOUT);
  }
  stream_free(h, s, LP2P_ERR_TIMEOUT, 1, now);
}

void host_streams_timeout(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  for (uint32_t budget = 2u * c->nstreams + 2; budget; budget--) {
    hstream *s = c->streams;
    while (s && s->deadline > now && s->idle_deadline > now)
      s = s->next;
    if (!s)
      return;
    if (s->deadline > now) {
      idle_close(h, s, now);
      continue;
    }
    if (s->flags & HS_NEGOTIATING) {
      negotiation_failed(h, s, LP2P_ERR_TIMEOUT, now);
      continue;
    }
    s->deadline = LP2P_TSTAMP_NONE;
    s->flags &= (uint16_t)~HS_SVC_DEADLINE;
    if (s->owner != HOWNER_APP)
      host_svc_stream_timeout(h, s, now);
  }
}

/* ---- raw stream I/O for services ------------------------------------------------- */

lp2p_ssize host_stream_write_raw(lp2p_host *h, hstream *s, lp2p_tstamp now,
                                 const uint8_t *p, size_t n) {
  if (s->flags & HS_LOCAL_CLOSED)
    return LP2P_ERR_CLOSED;
  if (!flush_ms(h, s, now)) {
    s->flags |= HS_WANT_WRITABLE;
    return 0;
  }
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (!y)
    return LP2P_ERR_CLOSED;
  if (n == 0)
    return 0;
  lp2p_ssize w = lp2p_yamux_stream_write(y, now, s->ys, p, n);
  if (w > 0)
    host_stream_active(h, s, now);
  if (w >= 0 && (size_t)w < n)
    s->flags |= HS_WANT_WRITABLE;
  if (w == LP2P_ERR_STATE)
    return LP2P_ERR_CLOSED;
  return w;
}

const uint8_t *host_stream_peek_raw(lp2p_host *h, hstream *s, size_t *len) {
  (void)h;
  *len = 0;
  if (s->flags & HS_NEGOTIATING)
    return NULL;
  lp2p_yamux *y = host_conn_yamux(s->conn);
  return y ? lp2p_yamux_stream_read_peek(y, s->ys, len) : NULL;
}

void host_stream_consume_raw(lp2p_host *h, hstream *s, lp2p_tstamp now,
                             size_t n) {
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (y && n) {
    lp2p_yamux_stream_read_consume(y, now, s->ys, n);
    host_stream_active(h, s, now);
  }
}

/* When our FIN may go out. js-libp2p (3.x) mishandles two things a
 * correct yamux peer may do, so we avoid both:
 * - a FIN flag on a Data frame: it processes the flags first, closes the
 *   stream's readable end and then drops the frame's data. Our yamux merges
 *   a FIN into the stream's last frame while that frame is still queued, so
 *   the FIN waits until the yamux output queue is empty (frames moved on to
 *   the secure channel) and then travels as its own frame.
 * - an inbound stream's reply and FIN arriving with our multistream echo:
 *   its select reads the echo, then pushes the bytes that followed back into
 *   the stream, which fails once the FIN closed it ("Cannot push data onto a
 *   stream that is closed"). So while our echo may still be unsent (HS_FRESH)
 *   the FIN waits until the connection's whole output was taken.
 * Returns 1 while the FIN must wait. */
static int fin_blocked(hstream *s, lp2p_tstamp now) {
  size_t out = 0;
  hstack_out_peek(s->conn->st, now, &out);
  if (s->flags & HS_FRESH) {
    if (out)
      return 1;
    s->flags &= (uint16_t)~HS_FRESH;
  }
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (!y || out == 0)
    return 0;
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  return st.out_queued_bytes != 0;
}

/* Send our FIN unless something holds it back; then remember it:
 * - while the stream negotiates (HS_CLOSE_PENDING, sent from flush_ms once
 *   the negotiation is over and our echo is out): js-libp2p's listener
 *   reads our lazy proposal, then pushes the data after it back into the
 *   stream, which fails when a FIN already closed it;
 * - while fin_blocked() (HS_CLOSE_DEFERRED, retried as output drains). */
static void fin_try(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  (void)h;
  if (s->ms || (s->flags & HS_NEGOTIATING)) {
    s->flags |= HS_CLOSE_PENDING;
    return;
  }
  if (fin_blocked(s, now)) {
    if (!(s->flags & HS_CLOSE_DEFERRED)) {
      s->flags |= HS_CLOSE_DEFERRED;
      s->conn->deferred_closes++;
    }
    return;
  }
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (y)
    lp2p_yamux_stream_close(y, now, s->ys);
}

void host_streams_drained(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  if (!c->deferred_closes)
    return;
  for (hstream *s = c->streams; s; s = s->next) {
    if (!(s->flags & HS_CLOSE_DEFERRED) || fin_blocked(s, now))
      continue;
    s->flags &= (uint16_t)~HS_CLOSE_DEFERRED;
    c->deferred_closes--;
    fin_try(h, s, now);
  }
}

void host_stream_close_raw(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  if (s->flags & HS_LOCAL_CLOSED)
    return;
  s->flags |= HS_LOCAL_CLOSED;
  if (s->ms)
    flush_ms(h, s, now); /* the ms bytes go before the FIN */
  fin_try(h, s, now);
}

void host_stream_reset_raw(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  eof_revoke(h, s);
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (y)
    lp2p_yamux_stream_reset(y, now, s->ys);
  stream_free(h, s, 0, 0, now);
}

int host_stream_eof_raw(lp2p_host *h, hstream *s) {
  if (!(s->flags & HS_REMOTE_CLOSED))
    return 0;
  size_t len = 0;
  host_stream_peek_raw(h, s, &len);
  return len == 0;
}
