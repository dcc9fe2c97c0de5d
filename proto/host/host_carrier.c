/* Connections over any carrier (DESIGN §3a "Carriers"). A connection's
 * bytes travel on a driver socket or inside a stream of another
 * connection: the circuit relay v2 spec's relayed connection is exactly
 * that, the same multistream + Noise + yamux upgrade running inside a
 * /libp2p/circuit/relay/0.2.0/{hop,stop} stream. Everything above the
 * bytes (upgrade, streams, services) is the same code as for sockets; only
 * the two ends differ:
 *   input  : the carrier stream's readable bytes are fed to the carried
 *            connection's stack, as far as its receive room allows (pull,
 *            before each pump of the carried connection);
 *   output : the stack's output is written into the carrier stream as far
 *            as its send window allows (push, after each pump).
 * Either connection's activity touches the other, which is pumped when
 * the outermost host call unwinds (host_svc.c), so neither recurses into
 * the other. The carrier stream belongs to the host (owner
 * HOWNER_CARRIER): its events come here instead of to a service. */
#include "proto/host/host_internal.h"

static hstream *carrier_stream(const lp2p_host *h, const hconn *c) {
  if (!c->car || !c->car->stream)
    return NULL;
  hstream *s = host_stream_get(h, c->car->stream);
  return s && s->owner == HOWNER_CARRIER && s->ud == c ? s : NULL;
}

/* Data budget (circuit relay v2 spec, "Reservation": a relay limits the
 * bytes relayed per connection). Spent: host_conn_pump closes the
 * connection with LIMIT once its pump is over (never from inside). */
static void spend(hconn *c, size_t n) {
  hcarrier *k = c->car;
  if (k->bytes_left == UINT64_MAX)
    return;
  if (n < k->bytes_left) {
    k->bytes_left -= n;
    return;
  }
  k->bytes_left = 0;
  k->spent = 1;
}

int host_svc_carrier_attach(lp2p_host *h, uint64_t stream, int dir,
                            const lp2p_peerid *expect,
                            const lp2p_maddr *remote,
                            const hsvc_carrier_limits *lim, lp2p_tstamp now,
                            uint64_t *conn) {
  *conn = 0;
  hstream *s = host_stream_get(h, stream);
  if (!s || s->owner == HOWNER_APP || s->owner == HOWNER_CARRIER)
    return LP2P_ERR_NOT_FOUND;
  if (dir == LP2P_DIR_OUTBOUND && (!expect || !expect->len))
    return LP2P_ERR_INVAL;
  if (s->flags & (HS_LOCAL_CLOSED | HS_REMOTE_CLOSED) || h->closing)
    return LP2P_ERR_STATE;
  /* The pending budget of the direction (no eviction for circuits: the
   * relay service bounds them), and conns_max. */
  uint32_t out = h->nconns_pending - h->npending_in;
  if (dir == LP2P_DIR_INBOUND
          ? h->npending_in >= h->cfg.conns_pending_max ||
                h->nconns_open + h->npending_in >= h->cfg.conns_max
          : out >= h->cfg.conns_outbound_pending_max ||
                !host_admit_dial_room(h, now))
    return LP2P_ERR_LIMIT;
  hcarrier *k = lp2p_mem_calloc(h->mem, 1, sizeof *k);
  if (!k)
    return LP2P_ERR_NOMEM;
  hconn *c;
  int rc = host_conn_new(h, dir, NULL, &c);
  if (rc) {
    lp2p_mem_free(h->mem, k);
    return rc;
  }
  k->stream = stream;
  if (expect)
    k->expect = *expect;
  if (remote)
    k->remote = *remote;
  k->bytes_left = lim && lim->bytes_max ? lim->bytes_max : UINT64_MAX;
  k->deadline = lim && lim->duration_ns ? host_add_ns(now, lim->duration_ns)
                                        : LP2P_TSTAMP_NONE;
  c->car = k;
  c->flags |= HC_F_IO_TAKEN; /* no driver io: the host is the driver */
  /* The stream now carries c: the service forgets it (no stream_end). */
  s->owner = HOWNER_CARRIER;
  s->ud = c;
  s->deadline = LP2P_TSTAMP_NONE;
  s->flags &= (uint16_t)~HS_SVC_DEADLINE;
  *conn = c->id;
  host_conn_start(h, c, now);
  return 0;
}

void host_carrier_pull(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  hstream *s = carrier_stream(h, c);
  if (!s || !c->st || c->state == HC_DIALING || c->state == HC_DRAINING ||
      c->state == HC_ZOMBIE || (c->flags & HC_F_EOF))
    return;
  size_t took = 0;
  for (;;) {
    if (host_ev_backpressure(h)) {
      h->ev_paused = 1;
      break;
    }
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len || hstack_recv_room(c->st) == 0)
      break;
    lp2p_ssize k = hstack_feed(c->st, now, p, len);
    if (k <= 0)
      break;
    host_stream_consume_raw(h, s, now, (size_t)k);
    took += (size_t)k;
  }
  if (took) {
    host_conn_progress(c);
    host_svc_touch(h, s->conn); /* window updates for the carrier */
    spend(c, took);
  }
  /* The carrier's FIN after its last byte: the carried connection's EOF. */
  if (host_stream_eof_raw(h, s) && !(c->flags & HC_F_EOF) && c->st &&
      c->state != HC_ZOMBIE) {
    c->flags |= HC_F_EOF;
    if (c->reason == 0)
      c->reason = LP2P_ERR_CARRIER_CLOSED;
    hstack_feed_eof(c->st, now);
  }
}

size_t host_carrier_push(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  hstream *s = carrier_stream(h, c);
  if (!s || !c->st || c->state == HC_ZOMBIE || c->state == HC_DIALING)
    return 0;
  size_t moved = 0;
  for (int round = 0; round < 64; round++) {
    size_t len = 0;
    const uint8_t *p = hstack_out_peek(c->st, now, &len);
    if (!len)
      break;
    lp2p_ssize w = host_stream_write_raw(h, s, now, p, len);
    if (w <= 0)
      break; /* window full: its WRITABLE touches us again */
    hstack_out_consume(c->st, (size_t)w);
    moved += (size_t)w;
    /* Output moved on: FINs held back for it may go (host_stream.c). */
    if (c->deferred_closes)
      host_streams_drained(h, c, now);
  }
  if (moved) {
    host_svc_touch(h, s->conn);
    spend(c, moved);
  }
  return moved;
}

void host_carrier_stream_activity(lp2p_host *h, hstream *s,
                                  lp2p_tstamp now) {
  hconn *c = s->ud;
  if (c) {
    host_svc_touch(h, c);
    return;
  }
  /* The carried connection is gone: drain what still arrives, as a socket
   * close reads until EOF, so the far end sees an orderly close. */
  size_t len = 0;
  while (host_stream_peek_raw(h, s, &len) && len)
    host_stream_consume_raw(h, s, now, len);
}

void host_carrier_stream_end(lp2p_host *h, void *ud, int err,
                             lp2p_tstamp now) {
  (void)err;
  hconn *c = ud;
  if (!c || !c->car)
    return;
  c->car->stream = 0;
  /* Nothing can travel any more: the connection ends here, named. */
  host_conn_abort(h, c, c->reason ? c->reason : LP2P_ERR_CARRIER_CLOSED, 1,
                  now);
}

void host_carrier_finish(lp2p_host *h, hconn *c, uint8_t io,
                         lp2p_tstamp now) {
  hstream *s = carrier_stream(h, c);
  if (!s)
    return;
  hconn *outer = s->conn; /* a reset frees s */
  s->ud = NULL; /* the stream outlives c while it drains */
  c->car->stream = 0;
  if (io == LP2P_IO_CLOSE)
    host_stream_close_raw(h, s, now);
  else
    host_stream_reset_raw(h, s, now);
  host_svc_touch(h, outer);
}

void host_carrier_free(lp2p_host *h, hconn *c) {
  if (!c->car)
    return;
  hstream *s = carrier_stream(h, c);
  if (s)
    s->ud = NULL;
  lp2p_mem_free(h->mem, c->car);
  c->car = NULL;
}
