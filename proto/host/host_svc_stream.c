/* The id-based API services use (host_service.h): stream I/O, iteration
 * and connection lookups. Every call that moves bytes touches the
 * connection, which is pumped once the outermost host call unwinds, so
 * calling from inside any hook is safe. */
#include "proto/host/host_internal.h"

static hstream *svc_stream(const lp2p_host *h, uint64_t id) {
  hstream *s = host_stream_get(h, id);
  return s && s->owner != HOWNER_APP ? s : NULL;
}

int host_svc_open(lp2p_host *h, uint32_t svc, uint64_t conn, uint16_t proto,
                  void *ud, lp2p_tstamp now, uint64_t *stream) {
  *stream = 0;
  hconn *c = host_conn_get(h, conn);
  if (!c)
    return LP2P_ERR_NOT_FOUND;
  if (proto >= h->nprotos || svc >= h->nsvcs)
    return LP2P_ERR_INVAL;
  hstream *s;
  int rc = host_stream_open(h, c, proto, (uint8_t)(svc + 1), ud, now, &s);
  if (rc)
    return rc;
  *stream = s->id;
  host_svc_touch(h, c);
  return 0;
}

void host_svc_stream_set_ud(lp2p_host *h, uint64_t stream, void *ud) {
  hstream *s = svc_stream(h, stream);
  if (s)
    s->ud = ud;
}

lp2p_ssize host_svc_write(lp2p_host *h, uint64_t stream, lp2p_tstamp now,
                          const uint8_t *p, size_t n) {
  hstream *s = svc_stream(h, stream);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  lp2p_ssize w = host_stream_write_raw(h, s, now, p, n);
  host_svc_touch(h, s->conn);
  return w;
}

const uint8_t *host_svc_peek(lp2p_host *h, uint64_t stream, size_t *len) {
  hstream *s = svc_stream(h, stream);
  if (!s) {
    *len = 0;
    return NULL;
  }
  return host_stream_peek_raw(h, s, len);
}

void host_svc_consume(lp2p_host *h, uint64_t stream, lp2p_tstamp now,
                      size_t n) {
  hstream *s = svc_stream(h, stream);
  if (!s)
    return;
  host_stream_consume_raw(h, s, now, n);
  host_svc_touch(h, s->conn); /* window updates go out */
}

int host_svc_at_eof(lp2p_host *h, uint64_t stream) {
  hstream *s = svc_stream(h, stream);
  return s ? host_stream_eof_raw(h, s) : 1;
}

int host_svc_remote_closed(lp2p_host *h, uint64_t stream) {
  hstream *s = svc_stream(h, stream);
  return s ? (s->flags & HS_REMOTE_CLOSED) != 0 : 1;
}

int host_svc_local_closed(lp2p_host *h, uint64_t stream) {
  hstream *s = svc_stream(h, stream);
  return s ? (s->flags & HS_LOCAL_CLOSED) != 0 : 1;
}

void host_svc_close(lp2p_host *h, uint64_t stream, lp2p_tstamp now) {
  hstream *s = svc_stream(h, stream);
  if (!s)
    return;
  host_stream_close_raw(h, s, now);
  host_svc_touch(h, s->conn);
}

void host_svc_reset(lp2p_host *h, uint64_t stream, lp2p_tstamp now) {
  hstream *s = svc_stream(h, stream);
  if (!s)
    return;
  hconn *c = s->conn;
  host_stream_reset_raw(h, s, now);
  host_svc_touch(h, c);
}

void host_svc_stream_fix_window(lp2p_host *h, uint64_t stream) {
  hstream *s = svc_stream(h, stream);
  lp2p_yamux *y = s ? host_conn_yamux(s->conn) : NULL;
  if (y)
    lp2p_yamux_stream_fix_window(y, s->ys);
}

void host_svc_stream_deadline(lp2p_host *h, uint64_t stream,
                              lp2p_tstamp deadline) {
  hstream *s = svc_stream(h, stream);
  if (!s)
    return;
  s->deadline = deadline;
  if (deadline == LP2P_TSTAMP_NONE)
    s->flags &= (uint16_t)~HS_SVC_DEADLINE;
  else
    s->flags |= HS_SVC_DEADLINE;
  host_svc_touch(h, s->conn); /* the pump re-reads the connection's timer */
}

uint64_t host_svc_stream_next(const lp2p_host *h, uint32_t svc,
                              uint64_t conn, uint64_t *pos,
                              hsvc_stream_info *info) {
  const hconn *c = host_conn_get(h, conn);
  if (!c)
    return 0;
  const hstream *s;
  if (*pos == 0) {
    s = c->streams;
  } else {
    s = host_stream_get(h, *pos);
    s = s && s->conn == c ? s->next : NULL;
  }
  for (; s; s = s->next) {
    if (s->owner != svc + 1)
      continue;
    *pos = s->id;
    if (info) {
      info->conn = conn;
      info->ud = s->ud;
      info->proto = s->proto;
      info->dir = s->dir;
    }
    return s->id;
  }
  return 0;
}

uint64_t host_svc_peer_conn(const lp2p_host *h, const lp2p_peerid *peer) {
  hpeer *p = peer ? host_peer_find(h, peer) : NULL;
  hconn *c = host_peer_best_conn(h, p);
  return c ? c->id : 0;
}

int host_svc_command(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *peer,
                     const hsvc_ops *ops, hsvc_command_fn fn,
                     const void *arg) {
  if (!h || !peer)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  if (h->closing)
    return LP2P_ERR_STATE;
  uint64_t conn = host_svc_peer_conn(h, peer);
  if (!conn)
    return LP2P_ERR_NOT_FOUND;
  void *state = host_svc_state(h, ops, NULL);
  if (!state)
    return LP2P_ERR_UNSUPPORTED;
  host_enter(h);
  int rc = fn(h, state, conn, arg, now);
  host_leave(h, now);
  return rc;
}

const lp2p_peerid *host_svc_conn_peer(const lp2p_host *h, uint64_t conn) {
  const hconn *c = host_conn_get(h, conn);
  return c && c->peer ? &c->peer->id : NULL;
}

int host_svc_conn_remote(const lp2p_host *h, uint64_t conn,
                         lp2p_maddr *out) {
  const hconn *c = host_conn_get(h, conn);
  if (!c)
    return LP2P_ERR_NOT_FOUND;
  return lp2p_sockaddr_to_maddr(out, &c->remote);
}

uint64_t host_svc_conn_next(const lp2p_host *h, uint32_t *pos) {
  hconn *c;
  while ((c = hid_next(&h->conns, pos)) != NULL)
    if (c->state == HC_OPEN)
      return c->id;
  return 0;
}

void host_svc_stream_no_idle(lp2p_host *h, uint64_t stream) {
  hstream *s = host_stream_get(h, stream);
  if (!s)
    return;
  s->flags |= HS_NO_IDLE;
  s->idle_deadline = LP2P_TSTAMP_NONE;
}
