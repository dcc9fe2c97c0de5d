/* Connections: the connection table, the driver-facing calls and the
 * lifecycle DIALING -> UPGRADING -> OPEN -> CLOSING -> DRAINING -> ZOMBIE.
 *
 * "Detaching" a connection (streams dropped, PEER_DISCONNECTED /
 * DIAL_FAILED, counters, peer link) happens once, at the logical end; the
 * socket end (CLOSE io once the last bytes, e.g. a yamux GoAway, are out;
 * RESET io; or nothing when the driver reported the failure) follows. A
 * zombie keeps only this small struct until its io is taken. */
#include "proto/host/host_internal.h"

hconn *host_conn_get(const lp2p_host *h, uint64_t id) {
  return hid_get(&h->conns, id);
}

lp2p_yamux *host_conn_yamux(const hconn *c) {
  return c->st ? hstack_yamux(c->st) : NULL;
}

int host_conn_new(lp2p_host *h, int dir, const lp2p_sockaddr *remote,
                  hconn **out) {
  *out = NULL;
  /* one more for the trim timer (host_admit.c) */
  int rc = host_heap_reserve(h, h->conns.used + 2 + h->nsvcs);
  if (rc)
    return rc;
  hconn *c = lp2p_mem_calloc(h->mem, 1, sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  rc = hid_add(&h->conns, h->mem, c, &c->id);
  if (rc) {
    lp2p_mem_free(h->mem, c);
    return rc;
  }
  c->dir = (uint8_t)dir;
  host_rm_conn_new(h, c, remote != NULL);
  c->goaway = -1;
  c->state = HC_DIALING;
  host_timer_init(&c->tm, HT_CONN);
  c->upgrade_deadline = LP2P_TSTAMP_NONE;
  c->idle_since = LP2P_TSTAMP_NONE;
  c->close_deadline = LP2P_TSTAMP_NONE;
  if (remote)
    c->remote = *remote;
  host_pending_add(h, c);
  *out = c;
  return 0;
}

void host_conn_free(lp2p_host *h, hconn *c) {
  host_src_leave(h, c); /* left at detach already; this is a safety net */
  host_carrier_free(h, c);
  host_io_unlink(h, c);
  host_dirty_unlink(h, c);
  host_touched_unlink(h, c);
  host_timer_remove(h, &c->tm);
  hid_del(&h->conns, c->id);
  hstack_free(c->st);
  host_rm_conn_free(c);
  lp2p_mem_free(h->mem, c);
  if (h->nconns_dead)
    h->nconns_dead--;
  host_maybe_finish_close(h);
}

void host_conns_free(lp2p_host *h) {
  uint32_t pos = 0;
  hconn *c;
  /* Carried connections first let go of their carrier streams, so freeing
   * those streams below touches no freed connection. */
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    host_carrier_free(h, c);
  pos = 0;
  while ((c = hid_next(&h->conns, &pos)) != NULL) {
    /* Streams first: services free their per-stream state (and, with the
     * connection no longer OPEN, cannot open new streams on it). */
    host_src_leave(h, c);
    if (c->state == HC_OPEN && c->peer)
      c->peer->nopen--;
    c->state = HC_DRAINING;
    host_streams_drop(h, c, LP2P_ERR_CLOSED, h->now);
    hstack_free(c->st);
    host_peer_conn_unlink(h, c);
    host_rm_conn_free(c);
    lp2p_mem_free(h->mem, c);
  }
  hid_free(&h->conns, h->mem);
}

void host_conn_start(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  const lp2p_peerid *expected = NULL;
  if (c->dial && c->dial->peer.len)
    expected = &c->dial->peer;
  else if (c->car && c->car->expect.len)
    expected = &c->car->expect;
  c->opened = now;
  c->state = HC_UPGRADING;
  if (host_src_enter(h, c) != 0) { /* no memory to count it by source */
    host_conn_abort(h, c, LP2P_ERR_NOMEM, 0, now);
    return;
  }
  c->upgrade_deadline = host_add_ns(now, h->cfg.handshake_timeout_ns);
  /* the upgrade's role: the TCP direction, unless a hole punch decided
   * it (a simultaneous open has no TCP dialer) */
  const int initiator = c->dir == LP2P_DIR_OUTBOUND
                            ? !(c->flags & HC_F_AS_RESPONDER)
                            : !!(c->flags & HC_F_AS_INITIATOR);
  int rc = hstack_new(&c->st, initiator, &h->upcfg, expected, h->mem,
                      &h->rng, now);
  if (rc) {
    host_conn_abort(h, c, rc, 0, now);
    return;
  }
  host_conn_pump(h, c, now);
}

int host_peer_connected(const hpeer *p) { return p && p->nopen; }

hconn *host_peer_best_conn(const lp2p_host *h, const hpeer *p) {
  (void)h;
  /* every OPEN connection is counted in nopen: none there, no need to
   * visit the connections */
  if (!host_peer_connected(p))
    return NULL;
  /* Direct connections first (a relayed one is a detour, issue 14: new
   * streams use the direct connection once a punch gave one), then
   * unlimited ones (a limited relayed one has a budget), then the most
   * recent. */
  hconn *best = NULL;
  for (hconn *c = p->conns; c; c = c->peer_next) {
    if (c->state != HC_OPEN)
      continue;
    if (best) {
      int rb = best->car != NULL, rc = c->car != NULL;
      int lb = host_conn_limited(best), lc = host_conn_limited(c);
      if (rc > rb || (rc == rb && lc > lb) ||
          (rc == rb && lc == lb && c->opened <= best->opened))
        continue;
    }
    best = c;
  }
  return best;
}

/* ---- the logical end --------------------------------------------------- */

static void detach(lp2p_host *h, hconn *c, int reason, lp2p_tstamp now) {
  if (c->state == HC_DRAINING || c->state == HC_ZOMBIE)
    return;
  uint8_t was = c->state;
  c->reason = reason;
  if (!c->dial) { /* a dial attempt's end is logged as the dial's */
    if (reason)
      host_logf(h, LP2P_LOG_INFO, "host conn=%U peer=%P closed: %E", c->id,
                c->peer ? &c->peer->id : NULL, reason);
    else
      host_logf(h, LP2P_LOG_INFO, "host conn=%U peer=%P closed gracefully",
                c->id, c->peer ? &c->peer->id : NULL);
  }
  host_src_leave(h, c);
  if (was == HC_OPEN && c->peer)
    c->peer->nopen--;
  c->state = HC_DRAINING;
  h->nconns_dead++;
  if (was == HC_DIALING || was == HC_UPGRADING) {
    host_pending_del(h, c);
  } else {
    h->nconns_open--;
    h->open_gen++;
  }
  if (reason && reason != LP2P_ERR_EOF)
    h->stats.conns_failed++;
  host_streams_drop(h, c, reason ? reason : LP2P_ERR_CLOSED, now);
  if (c->flags & HC_F_CONNECTED_EV) {
    hevent *e = host_ev_push(h, LP2P_HOST_EV_PEER_DISCONNECTED);
    e->conn = c->id;
    e->err = reason;
    e->u.disconnected.direction = c->dir;
    e->u.disconnected.goaway = c->goaway;
    if (c->peer)
      e->peer = c->peer->id;
    host_svc_peer_disconnected(h, c, reason, now);
  } else if (c->dial) {
    host_dial_conn_failed(h, c, reason ? reason : LP2P_ERR_CLOSED, now);
  } else if (c->dir == LP2P_DIR_INBOUND) {
    /* An inbound connection that failed before the upgrade: reported with
     * an empty peer so bad input stays visible with its reason. */
    hevent *e = host_ev_push(h, LP2P_HOST_EV_PEER_DISCONNECTED);
    e->conn = c->id;
    e->err = reason;
    e->u.disconnected.direction = LP2P_DIR_INBOUND;
    e->u.disconnected.goaway = c->goaway;
  }
  if (c->flags & HC_F_LINKED) {
    c->peer->nconns--;
    c->flags &= (uint16_t)~HC_F_LINKED;
  }
  host_rm_conn_close(h, c);
  host_peer_conn_unlink(h, c);
}

/* Free the engines and hand the socket end to the driver. */
static void finish(lp2p_host *h, hconn *c, uint8_t io) {
  hstack_free(c->st);
  c->st = NULL;
  c->state = HC_ZOMBIE;
  host_timer_remove(h, &c->tm);
  host_dirty_unlink(h, c);
  if (c->car) {
    /* No driver: the host ends the carrier stream itself, now. */
    host_carrier_finish(h, c, io, h->now);
    io = 0;
  }
  if (io == 0) {
    host_conn_free(h, c);
    return;
  }
  host_io_queue(h, c, io);
}

void host_conn_abort(lp2p_host *h, hconn *c, int reason, int silent,
                     lp2p_tstamp now) {
  if (c->state == HC_ZOMBIE) {
    if (silent)
      host_conn_free(h, c);
    return;
  }
  uint8_t was = c->state;
  int io_taken = (c->flags & HC_F_IO_TAKEN) != 0;
  detach(h, c, reason, now);
  if (reason == LP2P_ERR_EOF && c->car)
    reason = LP2P_ERR_CARRIER_CLOSED;
  if (silent || (was == HC_DIALING && !io_taken)) {
    /* The driver already dropped the socket, or never saw the DIAL. */
    finish(h, c, 0);
    return;
  }
  finish(h, c, LP2P_IO_RESET);
}

/* Graceful close as go-libp2p and js-libp2p do it: send GoAway, stop
 * using the streams, let the output drain, then close the socket (the peer
 * sees GoAway then EOF: an orderly end). Waiting for the peer to finish
 * its streams could take forever (js keeps identify/ping streams open). */
void host_conn_close(lp2p_host *h, hconn *c, int reason, lp2p_tstamp now) {
  switch (c->state) {
  case HC_OPEN:
  case HC_CLOSING: {
    lp2p_yamux *y = host_conn_yamux(c);
    if (y)
      lp2p_yamux_go_away(y, now, LP2P_YAMUX_GOAWAY_NORMAL);
    c->flags |= HC_F_CLOSE_NOW;
    detach(h, c, reason, now);
    c->close_deadline = host_add_ns(now, h->cfg.close_timeout_ns);
    host_conn_pump(h, c, now);
    return;
  }
  case HC_DIALING:
  case HC_UPGRADING:
    host_conn_abort(h, c, reason ? reason : LP2P_ERR_CLOSED, 0, now);
    return;
  default:
    return;
  }
}

/* yamux finished (orderly or not): detach; the upgrader closes the secure
 * channel (orderly) or fails (error); then drain and CLOSE. */
static void mux_done(lp2p_host *h, hconn *c, int err, lp2p_tstamp now) {
  c->flags |= HC_F_MUX_DONE;
  int reason = err ? err : c->reason;
  /* A carried connection's bytes end when its carrier stream does. */
  if (reason == LP2P_ERR_EOF && c->car)
    reason = LP2P_ERR_CARRIER_CLOSED;
  detach(h, c, reason, now);
  if (c->state == HC_DRAINING && c->close_deadline == LP2P_TSTAMP_NONE)
    c->close_deadline = host_add_ns(now, h->cfg.close_timeout_ns);
}

/* ---- upgrade milestones ------------------------------------------------- */

static void on_identified(lp2p_host *h, hconn *c, const hstack_event *ev,
                          lp2p_tstamp now) {
  if (!ev->peer || lp2p_peerid_equal(ev->peer, &h->self)) {
    host_conn_abort(h, c, LP2P_ERR_PROTO, 0, now); /* talking to ourselves */
    return;
  }
  /* A dial as the responder (a hole punch) checks the expected peer here:
   * the upgrader checks it for initiators only. */
  if (c->dial && c->dial->peer.len && !lp2p_peerid_equal(ev->peer, &c->dial->peer)) {
    host_conn_abort(h, c, LP2P_ERR_PEER_ID_MISMATCH, 0, now);
    return;
  }
  /* The gater, right after the handshake and before the muxer is up:
   * a denied peer never gets a stream (host_gate.c). */
  int denied = host_gate_peer(h, ev->peer, c->dir);
  if (denied) {
    host_logf(h, LP2P_LOG_INFO, "host conn=%U peer=%P refused: %E", c->id,
              ev->peer, denied);
    host_conn_abort(h, c, denied, 0, now);
    return;
  }
  int err = 0;
  hpeer *p = host_peer_get(h, ev->peer, &err);
  if (!p) {
    host_conn_abort(h, c, err, 0, now);
    return;
  }
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  size_t pbl = 0;
  if (ev->key && lp2p_pubkey_marshal(ev->key, pb, sizeof pb, &pbl) == 0)
    host_peer_set_pubkey(h, p, pb, pbl);
  host_peer_conn_link(h, p, c);
}

static void on_ready(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  hpeer *p = c->peer;
  if (!p) {
    host_conn_abort(h, c, LP2P_ERR_INTERNAL, 0, now);
    return;
  }
  if (p->nconns >= h->cfg.conns_per_peer_max ||
      host_admit_ready(h, c, now) != 0) {
    host_conn_abort(h, c, LP2P_ERR_LIMIT, 0, now);
    return;
  }
  if (host_rm_conn_established(c) != 0 || host_rm_conn_open(h, c) != 0) {
    host_logf(h, LP2P_LOG_INFO,
              "host conn=%U peer=%P ip=%A refused: no memory grant", c->id,
              &p->id, &c->remote);
    host_conn_abort(h, c, LP2P_ERR_LIMIT, 0, now);
    return;
  }
  p->nconns++;
  c->flags |= HC_F_LINKED | HC_F_CONNECTED_EV;
  host_pending_del(h, c); /* while c->state still says pending */
  c->state = HC_OPEN;
  p->nopen++;
  host_src_open(h, c);
  h->nconns_open++;
  h->open_gen++;
  c->upgrade_deadline = LP2P_TSTAMP_NONE;
  c->idle_since = now;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_PEER_CONNECTED);
  e->conn = c->id;
  e->peer = p->id;
  e->u.connected.direction = c->dir;
  if (c->dial)
    host_dial_conn_open(h, c, now);
  /* Remember where an outbound connection reached the peer. */
  if (c->dir == LP2P_DIR_OUTBOUND) {
    lp2p_maddr m;
    if (lp2p_sockaddr_to_maddr(&m, &c->remote) == 0)
      host_peer_add_addr_bytes(h, p, m.bytes, m.len,
                               host_add_ns(now, h->cfg.peer_addr_ttl_ns));
  }
  uint64_t id = c->id;
  host_svc_peer_connected(h, c, now);
  if (host_conn_get(h, id) != c || c->state != HC_OPEN)
    return; /* a service closed it (a carried one is freed already) */
  if (h->closing)
    host_conn_close(h, c, 0, now);
  else
    host_connmgr_trim(h, now);
}

/* ---- the pump ---------------------------------------------------------------- */

unsigned host_conn_interest_of(const lp2p_host *h, const hconn *c) {
  unsigned i = 0;
  if (!c->st || c->state == HC_ZOMBIE || c->state == HC_DIALING)
    return 0;
  if (c->state != HC_DRAINING && !(c->flags & HC_F_EOF) &&
      !host_ev_backpressure(h) && hstack_recv_room(c->st) > 0)
    i |= LP2P_INTEREST_READ;
  /* The output check is done by the pump, which marks the conn dirty; here
   * we only have const access: ask for WRITE while the last pump saw bytes. */
  if (c->last_interest & LP2P_INTEREST_WRITE)
    i |= LP2P_INTEREST_WRITE;
  return i;
}

static void on_yamux(lp2p_host *h, hconn *c, const lp2p_yamux_event *y,
                     lp2p_tstamp now) {
  switch (y->type) {
  case LP2P_YAMUX_EV_CLOSED:
    if (!(c->flags & HC_F_MUX_DONE))
      mux_done(h, c, y->error, now);
    break;
  case LP2P_YAMUX_EV_GOAWAY_RECEIVED:
    /* The peer is leaving: no new streams; ours finish. */
    c->goaway = (int32_t)y->code;
    if (c->state == HC_OPEN) {
      c->state = HC_CLOSING;
      if (c->peer)
        c->peer->nopen--;
      c->close_deadline = host_add_ns(now, h->cfg.close_timeout_ns);
    }
    break;
  case LP2P_YAMUX_EV_PING_RTT:
    break;
  default:
    if (c->state == HC_OPEN || c->state == HC_CLOSING)
      host_stream_on_yamux(h, c, y, now);
    break;
  }
}

static void pump(lp2p_host *h, hconn *c, lp2p_tstamp now);

/* Pumps nest (a graceful close inside a pump pumps again); connections
 * that services touch meanwhile are pumped when the outermost call leaves
 * (host_svc.c). */
void host_conn_pump(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  hconn *prev = h->pumping;
  host_enter(h);
  h->pumping = c;
  if (c->car) {
    /* Moving output into the carrier can let the pump finish a close, and
     * taking input can make more output: a few rounds until quiet. */
    uint64_t id = c->id;
    for (int round = 0; round < 4; round++) {
      host_carrier_pull(h, c, now);
      pump(h, c, now);
      c = host_conn_get(h, id); /* the pump may have freed it */
      if (!c || !c->car || !host_carrier_push(h, c, now))
        break;
    }
    if (c && c->car && c->car->spent &&
        (c->state == HC_OPEN || c->state == HC_UPGRADING))
      host_conn_close(h, c, LP2P_ERR_LIMIT, now);
  } else {
    pump(h, c, now);
  }
  h->pumping = prev;
  host_leave(h, now);
}

/* A carried connection that ends is freed at once (no driver holds its
 * socket), so after any handler that may end it the pump checks by id
 * (ids are never reused) before it looks at c again. */
static void pump(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  const uint64_t id = c->id;
  for (int guard = 0; guard < 64; guard++) {
    if (!c->st || c->state == HC_ZOMBIE)
      return;
    int progress = 0;
    hstack_event sev;
    if (host_ev_full(h)) {
      c->flags |= HC_F_STALLED;
      h->ev_paused = 1;
      break;
    }
    while (c->st && !host_ev_full(h) && hstack_poll_event(c->st, &sev)) {
      progress = 1;
      switch (sev.type) {
      case HSTACK_EV_IDENTIFIED:
        on_identified(h, c, &sev, now);
        break;
      case HSTACK_EV_READY:
        if (c->state == HC_UPGRADING)
          on_ready(h, c, now);
        break;
      case HSTACK_EV_YAMUX:
        on_yamux(h, c, &sev.y, now);
        break;
      case HSTACK_EV_CLOSED:
        if (c->state == HC_DRAINING) {
          /* the channel ended after yamux: drain below */
        } else if (c->state == HC_OPEN || c->state == HC_CLOSING) {
          mux_done(h, c, sev.err ? sev.err : LP2P_ERR_EOF, now);
        } else {
          host_conn_abort(h, c, sev.err ? sev.err : LP2P_ERR_EOF, 0, now);
          return;
        }
        break;
      default:
        break;
      }
      if (host_conn_get(h, id) != c || c->state == HC_ZOMBIE)
        return;
    }
    /* Moving output through the channel can produce more events (yamux
     * WRITABLE after its queue drained). */
    size_t out = 0;
    hstack_out_peek(c->st, now, &out);
    if (!progress)
      break;
  }
  if (!c->st || c->state == HC_ZOMBIE)
    return;
  size_t out = 0;
  hstack_out_peek(c->st, now, &out);
  if (c->state == HC_DRAINING && out == 0 &&
      ((c->flags & HC_F_CLOSE_NOW) || hstack_write_done(c->st))) {
    finish(h, c, LP2P_IO_CLOSE);
    return;
  }
  if (host_ev_backpressure(h))
    h->ev_paused = 1;
  if (c->rm.own[RM_MEMORY] && (c->state == HC_OPEN || c->state == HC_CLOSING))
    host_rm_conn_adjust(h, c); /* grants follow use (host_rm.c) */
  unsigned interest = host_conn_interest_of(h, c) & LP2P_INTEREST_READ;
  if (out)
    interest |= LP2P_INTEREST_WRITE;
  if (!c->car && (out || interest != c->last_interest))
    host_dirty(h, c); /* a carried connection has no socket to drive */
  c->last_interest = (uint8_t)interest;
  host_conn_timer(h, c);
}

void host_conn_timeout(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  switch (c->state) {
  case HC_DIALING:
  case HC_UPGRADING:
    if (now >= host_progress_deadline(h, c)) {
      /* An inbound socket that never spoke: it only holds a slot. */
      h->stats.inbound_progress_timeouts++;
      host_logf(h, LP2P_LOG_INFO,
                "host conn=%U ip=%A closed: no byte within the progress "
                "timeout",
                c->id, &c->remote);
      host_conn_abort(h, c, LP2P_ERR_TIMEOUT, 0, now);
      return;
    }
    if (now >= c->upgrade_deadline) {
      if (c->state == HC_UPGRADING)
        h->stats.handshake_timeouts++;
      host_conn_abort(h, c, LP2P_ERR_TIMEOUT, 0, now);
      return;
    }
    break;
  case HC_CLOSING:
  case HC_DRAINING:
    if (now >= c->close_deadline) {
      if (c->state == HC_CLOSING)
        detach(h, c, c->reason ? c->reason : LP2P_ERR_TIMEOUT, now);
      finish(h, c, LP2P_IO_RESET);
      return;
    }
    break;
  case HC_OPEN:
    if (c->car && now >= c->car->deadline) {
      host_conn_close(h, c, LP2P_ERR_LIMIT, now); /* time budget spent */
      return;
    }
    if (c->idle_since != LP2P_TSTAMP_NONE && h->cfg.idle_timeout_ns &&
        now >= host_add_ns(c->idle_since, h->cfg.idle_timeout_ns)) {
      h->stats.conns_trimmed++;
      host_conn_close(h, c, 0, now);
      return;
    }
    break;
  default:
    return;
  }
  if (c->st && (c->state == HC_OPEN || c->state == HC_CLOSING)) {
    hstack_handle_timeout(c->st, now);
    host_streams_timeout(h, c, now);
  }
  host_conn_pump(h, c, now);
}
