/* Driver-facing connection calls (DESIGN.md section 3): accepted /
 * established / failed / feed / eof / reset, output, recv_room, and the
 * per-connection application commands (info, close). The lifecycle itself
 * is in host_conn.c. */
#include "proto/host/host_internal.h"

int lp2p_host_conn_accepted(lp2p_host *h, uint64_t listener,
                            const lp2p_sockaddr *remote,
                            const lp2p_sockaddr *local, lp2p_tstamp now,
                            uint64_t *conn) {
  if (conn)
    *conn = 0;
  if (!h || !conn)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  int found = 0;
  for (uint32_t i = 0; i < h->nlisteners; i++)
    if (h->listeners[i].id == listener && h->listeners[i].live)
      found = 1;
  if (!found)
    return LP2P_ERR_NOT_FOUND;
  if (h->closing)
    return LP2P_ERR_STATE;
  /* Per-IP caps, the inbound pending budget (evicting a silent pending
   * connection), conns_max: host_admit.c. */
  /* the gater's address rules: refused before any byte is read */
  int gated = host_gate_addr(h, remote);
  if (gated)
    return gated;
  lp2p_sockaddr unknown;
  memset(&unknown, 0, sizeof unknown);
  if (host_admit_inbound(h, remote ? remote : &unknown, now) != 0)
    return LP2P_ERR_LIMIT;
  hconn *c;
  int rc = host_conn_new(h, LP2P_DIR_INBOUND, remote, &c);
  if (rc) {
    h->stats.inbound_refused++;
    return rc;
  }
  if (local)
    c->local = *local;
  c->flags |= HC_F_IO_TAKEN;
  *conn = c->id;
  if (remote)
    host_punch_accepted(h, c, now); /* a punch's SYN at our listener */
  host_conn_start(h, c, now);
  return 0;
}

/* The entry of every call a driver makes about a connection's socket:
 * the connection, or NULL with *err set (INVAL: no host; NOT_FOUND; STATE:
 * a carried connection has no socket, the host carries it). */
static hconn *sock_conn(lp2p_host *h, uint64_t conn, lp2p_tstamp now,
                        int *err) {
  if (!h) {
    *err = LP2P_ERR_INVAL;
    return NULL;
  }
  host_now(h, now);
  hconn *c = host_conn_get(h, conn);
  *err = !c ? LP2P_ERR_NOT_FOUND : c->car ? LP2P_ERR_STATE : 0;
  return *err ? NULL : c;
}

int lp2p_host_conn_established(lp2p_host *h, uint64_t conn,
                               const lp2p_sockaddr *local, lp2p_tstamp now) {
  int err;
  hconn *c = sock_conn(h, conn, now, &err);
  if (!c)
    return err;
  if (c->state != HC_DIALING)
    return LP2P_ERR_STATE;
  if (local)
    c->local = *local;
  c->flags |= HC_F_IO_TAKEN;
  host_logf(h, LP2P_LOG_DEBUG, "host conn=%U ip=%A: tcp connected", c->id,
            &c->remote);
  host_conn_start(h, c, now);
  return 0;
}

int lp2p_host_conn_failed(lp2p_host *h, uint64_t conn, int err,
                          lp2p_tstamp now) {
  int bad;
  hconn *c = sock_conn(h, conn, now, &bad);
  if (!c)
    return bad;
  host_conn_abort(h, c, err < 0 ? err : LP2P_ERR_IO, 1, now);
  return 0;
}

lp2p_ssize lp2p_host_conn_feed(lp2p_host *h, uint64_t conn, lp2p_tstamp now,
                               const uint8_t *p, size_t n) {
  if (!p && n)
    return LP2P_ERR_INVAL;
  int err;
  hconn *c = sock_conn(h, conn, now, &err);
  if (!c)
    return err;
  if (c->state == HC_DIALING)
    return LP2P_ERR_STATE;
  if (!c->st || c->state == HC_ZOMBIE || c->state == HC_DRAINING)
    return (lp2p_ssize)n; /* nobody wants it any more */
  size_t used = 0;
  if (n)
    host_conn_progress(c);
  if (!host_ev_backpressure(h)) {
    lp2p_ssize k = hstack_feed(c->st, now, p, n);
    used = k > 0 ? (size_t)k : 0;
  } else {
    h->ev_paused = 1;
  }
  host_conn_pump(h, c, now);
  return (lp2p_ssize)used;
}

int lp2p_host_conn_eof(lp2p_host *h, uint64_t conn, lp2p_tstamp now) {
  int err;
  hconn *c = sock_conn(h, conn, now, &err);
  if (!c)
    return err;
  if (c->flags & HC_F_EOF)
    return 0;
  c->flags |= HC_F_EOF;
  if (c->st && c->state != HC_ZOMBIE)
    hstack_feed_eof(c->st, now);
  host_conn_pump(h, c, now);
  return 0;
}

int lp2p_host_conn_reset(lp2p_host *h, uint64_t conn, int err,
                         lp2p_tstamp now) {
  int bad;
  hconn *c = sock_conn(h, conn, now, &bad);
  if (!c)
    return bad;
  host_conn_abort(h, c, err < 0 ? err : LP2P_ERR_RESET, 1, now);
  return 0;
}

size_t lp2p_host_conn_recv_room(const lp2p_host *h, uint64_t conn) {
  const hconn *c = h ? host_conn_get(h, conn) : NULL;
  if (!c || !c->st || c->state == HC_DIALING || c->state == HC_DRAINING ||
      c->state == HC_ZOMBIE || (c->flags & HC_F_EOF))
    return 0;
  if (host_ev_backpressure(h))
    return 0;
  return hstack_recv_room(c->st);
}

const uint8_t *lp2p_host_out_peek(lp2p_host *h, uint64_t conn, size_t *len) {
  if (len)
    *len = 0;
  if (!h || !len)
    return NULL;
  hconn *c = host_conn_get(h, conn);
  if (!c || !c->st || c->state == HC_ZOMBIE || c->state == HC_DIALING)
    return NULL;
  return hstack_out_peek(c->st, h->now, len);
}

int lp2p_host_conn_out_consume(lp2p_host *h, uint64_t conn, size_t n) {
  if (!h)
    return LP2P_ERR_INVAL;
  hconn *c = host_conn_get(h, conn);
  if (!c)
    return LP2P_ERR_NOT_FOUND;
  if (c->car)
    return LP2P_ERR_STATE; /* no socket: the host carries it */
  if (!c->st || c->state == HC_ZOMBIE)
    return n ? LP2P_ERR_INVAL : 0;
  size_t len = 0;
  hstack_out_peek(c->st, h->now, &len);
  if (n > len)
    return LP2P_ERR_INVAL;
  hstack_out_consume(c->st, n);
  /* Output moved on: FINs held back for it may go now (host_stream.c). */
  if (c->deferred_closes)
    host_streams_drained(h, c, h->now);
  host_conn_pump(h, c, h->now);
  return 0;
}

int lp2p_host_conn_info_get(const lp2p_host *h, uint64_t conn,
                            lp2p_host_conn_info *out) {
  if (!h || !out)
    return LP2P_ERR_INVAL;
  const hconn *c = host_conn_get(h, conn);
  if (!c || c->state == HC_ZOMBIE)
    return LP2P_ERR_NOT_FOUND;
  memset(out, 0, sizeof *out);
  out->state = c->state >= HC_DRAINING ? LP2P_CONN_CLOSING
                                       : (lp2p_host_conn_state)c->state;
  out->direction = c->dir;
  if (c->peer)
    out->peer = c->peer->id;
  out->remote = c->remote;
  out->local = c->local;
  if (c->car) {
    out->remote_addr = c->car->remote;
    out->carried = 1;
    out->limited = host_conn_limited(c);
  } else {
    lp2p_sockaddr_to_maddr(&out->remote_addr, &c->remote);
  }
  out->streams = c->nstreams;
  out->opened = c->opened;
  out->limit_bytes_left = c->car ? c->car->bytes_left : UINT64_MAX;
  out->limit_deadline = c->car ? c->car->deadline : LP2P_TSTAMP_NONE;
  return 0;
}

int lp2p_host_conn_close(lp2p_host *h, lp2p_tstamp now, uint64_t conn) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hconn *c = host_conn_get(h, conn);
  if (!c || c->state >= HC_CLOSING)
    return c ? 0 : LP2P_ERR_NOT_FOUND;
  host_conn_close(h, c, 0, now);
  return 0;
}

int lp2p_host_close_peer(lp2p_host *h, lp2p_tstamp now,
                         const lp2p_peerid *peer) {
  if (!h || !peer)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hpeer *p = host_peer_find(h, peer);
  if (!p || !p->conns)
    return LP2P_ERR_NOT_FOUND;
  hconn *c = p->conns;
  while (c) {
    hconn *next = c->peer_next;
    host_conn_close(h, c, 0, now);
    c = next;
  }
  return 0;
}
