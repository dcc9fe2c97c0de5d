/* The relay client (relay/circuit-v2.md): reservations we hold, dials
 * through a relay, and the stop handler that turns an inbound circuit
 * into a connection.
 *
 * A reservation is refreshed refresh_before (at most a quarter of what
 * the relay granted) ahead of its expiry; the circuit addresses stay
 * advertised meanwhile. It is lost when the relay refuses or its
 * connection goes (RELAY_RESERVATION_LOST); a lost reservation is not
 * retried here (AutoRelay, later, picks relays again).
 * A dial to .../p2p/R/p2p-circuit/p2p/T dials R first when needed, sends
 * CONNECT and hands the stream to the host as the carrier of the dial's
 * connection (host_dial_carried), limited as the relay said. */
#include <string.h>

#include "proto/relay/relay_internal.h"

static void ev_lost(lp2p_host *h, const lp2p_peerid *relay, int err,
                    uint32_t status) {
  hevent *e = host_ev_push(h, LP2P_HOST_EV_RELAY_RESERVATION_LOST);
  if (!e)
    return;
  e->peer = *relay;
  e->err = err;
  e->u.relay.status = status;
}

static rresv *resv_find(relay_svc *v, const lp2p_peerid *relay) {
  for (int i = 0; i < RELAY_RESV_MAX; i++)
    if (v->resv[i].used && lp2p_peerid_equal(&v->resv[i].relay, relay))
      return &v->resv[i];
  return NULL;
}

/* Our circuit addresses through relay addresses addrs[0..n): added when
 * granted, removed when lost (the address manager advertises them:
 * identify, peer records). */
static void resv_advertise(lp2p_host *h, const lp2p_maddr *addrs, size_t n,
                           int add, lp2p_tstamp now) {
  lp2p_maddr tail;
  if (lp2p_maddr_parse(&tail, "/p2p-circuit", 12) != 0)
    return;
  for (size_t i = 0; i < n; i++) {
    lp2p_maddr a = addrs[i];
    if (lp2p_maddr_encapsulate(&a, &tail) == 0)
      host_addr_relayed(h, now, &a, add);
  }
}

static void resv_drop(lp2p_host *h, relay_svc *v, rresv *r, int err,
                      uint32_t status, lp2p_tstamp now) {
  lp2p_peerid relay = r->relay;
  int had = r->expire_unix != 0;
  if (had)
    resv_advertise(h, r->addrs, r->naddrs, 0, now);
  if (r->stream) { /* a RESERVE in flight: a reset ends no hook, so its
                     * leg is freed here */
    uint64_t s = r->stream;
    r->stream = 0;
    host_svc_reset(h, s, now);
    relay_leg_free(h, r->leg);
  }
  memset(r, 0, sizeof *r);
  ev_lost(h, &relay, err, status);
  relay_auto_lost(h, v, &relay, now); /* AutoRelay asks another relay */
}

void relay_client_release(lp2p_host *h, relay_svc *v, rresv *r,
                          lp2p_tstamp now) {
  resv_drop(h, v, r, 0, 0, now);
}

int relay_client_holds(const relay_svc *v) {
  int n = 0;
  for (int i = 0; i < RELAY_RESV_MAX; i++)
    n += v->resv[i].used ? 1 : 0;
  return n;
}

/* Open a hop stream on conn for leg g (freed on failure) and send m with
 * the request deadline. Returns 0 (g->stream set) or an error. */
static int hop_request(lp2p_host *h, relay_svc *v, rleg *g, uint64_t conn,
                       const lp2p_relay_msg *m, lp2p_tstamp now) {
  uint64_t s = 0;
  int rc = host_svc_open(h, v->svc, conn, v->hop, g, now, &s);
  if (rc) {
    relay_leg_free(h, g);
    return rc;
  }
  g->stream = s;
  if ((rc = relay_write_msg(h, s, m, now)) != 0) {
    host_svc_reset(h, s, now);
    relay_leg_free(h, g);
    return rc;
  }
  host_svc_stream_deadline(h, s, host_add_ns(now, v->cfg.request_timeout_ns));
  return 0;
}

/* Send RESERVE on a connection to the relay. */
static int send_reserve(lp2p_host *h, relay_svc *v, rresv *r, uint64_t conn,
                        lp2p_tstamp now) {
  rleg *g = relay_leg_new(h, RL_RESERVE, 0, conn);
  if (!g)
    return LP2P_ERR_NOMEM;
  g->resv = r;
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.has_type = 1;
  m.type = LP2P_RELAY_HOP_RESERVE;
  int rc = hop_request(h, v, g, conn, &m, now);
  if (rc)
    return rc;
  r->stream = g->stream;
  r->leg = g;
  r->refresh_at = LP2P_TSTAMP_NONE;
  r->waiting = LP2P_TSTAMP_NONE;
  return 0;
}

/* 1 when some open connection to `peer` leaves from one of our listen
 * ports, or we listen nowhere. */
static int from_listen_port(const lp2p_host *h, const lp2p_peerid *peer) {
  int listening = 0;
  for (uint32_t i = 0; i < h->nlisteners; i++)
    listening |= h->listeners[i].live && h->listeners[i].bound.port;
  if (!listening)
    return 1;
  uint32_t pos = 0;
  for (uint64_t id; (id = host_svc_conn_next(h, &pos)) != 0;) {
    const hconn *c = host_conn_get(h, id);
    const lp2p_peerid *p = host_svc_conn_peer(h, id);
    if (!c || c->car || !p || !lp2p_peerid_equal(p, peer))
      continue;
    for (uint32_t i = 0; i < h->nlisteners; i++)
      if (h->listeners[i].live && h->listeners[i].bound.port == c->local.port)
        return 1;
  }
  return 0;
}

int relay_client_reserve(lp2p_host *h, relay_svc *v, const lp2p_peerid *relay,
                         lp2p_tstamp now) {
  rresv *r = resv_find(v, relay);
  if (r)
    return 0; /* held (or asked) already: refreshed on its own */
  for (int i = 0; i < RELAY_RESV_MAX && !r; i++)
    if (!v->resv[i].used)
      r = &v->resv[i];
  if (!r)
    return LP2P_ERR_LIMIT;
  memset(r, 0, sizeof *r);
  r->used = 1;
  r->relay = *relay;
  r->refresh_at = LP2P_TSTAMP_NONE;
  r->waiting = LP2P_TSTAMP_NONE;
  uint64_t conn = host_svc_peer_conn(h, relay);
  int rc;
  if (conn) {
    rc = send_reserve(h, v, r, conn, now);
    /* The relay must observe the mapping of our listen port, which a hole
     * punch leaves from (DCUtR's CONNECT names that one): a connection
     * from an ephemeral port shows another mapping. Add one from the
     * listen port (REUSEPORT), the host's own dial. */
    uint64_t id = 0;
    if (rc == 0 && !from_listen_port(h, relay) &&
        lp2p_host_dial_peer(h, now, relay, LP2P_DIAL_REUSEPORT, &id) == 0 &&
        id)
      host_svc_dial_adopt(h, v->svc, id);
  } else { /* dial it; RESERVE goes once it is connected */
    /* from our listen port when we have one (REUSEPORT), as go does for
     * TCP: the relay then observes the mapping a hole punch will use */
    rc = lp2p_host_dial_peer(h, now, relay, LP2P_DIAL_REUSEPORT, NULL);
    r->waiting = now;
  }
  if (rc)
    memset(r, 0, sizeof *r);
  return rc;
}

static void reserve_reply(lp2p_host *h, relay_svc *v, rleg *g,
                          lp2p_tstamp now) {
  rresv *r = g->resv;
  int rd = relay_read_msg(h, g, now);
  if (rd == 0)
    return;
  lp2p_relay_msg m;
  int rc = rd < 0 ? rd : lp2p_relay_msg_decode(&m, 0, g->buf, g->want);
  g->done = 1;
  uint64_t stream = g->stream;
  r->stream = 0;
  g->resv = NULL;
  if (rc || m.type != LP2P_RELAY_HOP_STATUS || !m.has_status ||
      m.status != LP2P_RELAY_OK || !m.has_rsvp) {
    uint32_t status = rc == 0 && m.has_status ? m.status : 0;
    relay_msg_done(h, g);
    host_svc_close(h, stream, now);
    host_logf(h, LP2P_LOG_INFO, "relay %P refused our reservation: %u",
              &r->relay, (unsigned)status);
    resv_drop(h, v, r, rc ? rc : LP2P_ERR_PROTO, status, now);
    return;
  }
  /* the voucher is advisory (the spec); a bad one is logged, not fatal */
  if (m.voucher.len) {
    lp2p_peerid vr, vp;
    uint64_t ve;
    if (lp2p_relay_voucher_open(m.voucher.p, m.voucher.len, &vr, &vp, &ve) ||
        !lp2p_peerid_equal(&vr, &r->relay) || !lp2p_peerid_equal(&vp, &h->self))
      host_logf(h, LP2P_LOG_INFO, "relay %P: voucher does not check out",
                &r->relay);
  }
  /* a refresh may list other addresses: the old ones that went are
   * withdrawn below, the others stay advertised throughout */
  lp2p_maddr old[LP2P_RELAY_ADDRS_MAX];
  size_t nold = r->expire_unix ? r->naddrs : 0;
  memcpy(old, r->addrs, nold * sizeof old[0]);
  r->naddrs = 0;
  for (size_t i = 0; i < m.nrsvp_addrs && r->naddrs < LP2P_RELAY_ADDRS_MAX;
       i++) {
    lp2p_maddr a;
    const uint8_t *idb;
    size_t idn;
    lp2p_peerid id;
    if (lp2p_maddr_from_bytes(&a, m.rsvp_addrs[i].p, m.rsvp_addrs[i].len) ||
        lp2p_maddr_get_peer_id(&a, &idb, &idn) ||
        lp2p_peerid_from_bytes(&id, idb, idn) ||
        !lp2p_peerid_equal(&id, &r->relay))
      continue; /* only addresses of this relay, with its id */
    r->addrs[r->naddrs++] = a;
  }
  uint64_t unix_s = relay_unix_s(h);
  uint64_t left = m.expire > unix_s ? m.expire - unix_s : 0;
  uint64_t left_ns = left > UINT64_MAX / LP2P_NS_PER_S ? UINT64_MAX
                                                       : left * LP2P_NS_PER_S;
  uint64_t before = v->cfg.refresh_before_ns;
  if (before > left_ns / 4)
    before = left_ns / 4;
  uint64_t in = left_ns - before;
  if (in < RELAY_REFRESH_MIN_NS) {
    /* already expired by our clock: the relay's or ours is off (the
     * expiry is the relay's UNIX time); refresh soon, but never in a
     * tight loop */
    host_logf(h, LP2P_LOG_INFO,
              "relay %P: reservation expires at %U, our clock says %U",
              &r->relay, m.expire, unix_s);
    in = RELAY_REFRESH_MIN_NS;
  }
  r->refresh_at = host_add_ns(now, in);
  r->expire_unix = m.expire;
  relay_msg_done(h, g);
  host_svc_close(h, stream, now);
  hevent *e = host_ev_push(h, LP2P_HOST_EV_RELAY_RESERVED);
  if (e) {
    e->peer = r->relay;
    e->conn = host_svc_peer_conn(h, &r->relay);
    e->u.relay.expire_unix = m.expire;
  }
  for (size_t i = 0; i < nold; i++) {
    int kept = 0;
    for (size_t k = 0; k < r->naddrs && !kept; k++)
      kept = lp2p_maddr_equal(&old[i], &r->addrs[k]);
    if (!kept)
      resv_advertise(h, &old[i], 1, 0, now);
  }
  resv_advertise(h, r->addrs, r->naddrs, 1, now);
}

/* ---- dials through a relay -------------------------------------------------- */

static rdial *dial_find(relay_svc *v, uint64_t dial) {
  for (int i = 0; i < RELAY_DIALS_MAX; i++)
    if (v->dials[i].dial == dial)
      return &v->dials[i];
  return NULL;
}

static void dial_fail(lp2p_host *h, rdial *d, int err, lp2p_tstamp now) {
  uint64_t id = d->dial;
  d->dial = 0;
  host_dial_resolved(h, id, NULL, 0, err, now);
}

static int send_connect(lp2p_host *h, relay_svc *v, rdial *d, uint64_t conn,
                        lp2p_tstamp now) {
  rleg *g = relay_leg_new(h, RL_DIAL, 0, conn);
  if (!g)
    return LP2P_ERR_NOMEM;
  g->rd = d;
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.has_type = 1;
  m.type = LP2P_RELAY_HOP_CONNECT;
  m.has_peer = 1;
  m.peer = d->target;
  int rc = hop_request(h, v, g, conn, &m, now);
  if (rc == 0)
    d->stream = g->stream;
  return rc;
}

int relay_client_dial(lp2p_host *h, relay_svc *v, uint64_t dial,
                      const lp2p_maddr *ma, lp2p_tstamp now) {
  /* split at /p2p-circuit: the relay part must end in /p2p/<relay>, the
   * rest is /p2p/<target> */
  lp2p_maddr relay_ma = *ma;
  if (lp2p_maddr_decapsulate(&relay_ma, LP2P_MA_P2P_CIRCUIT) != 0)
    return LP2P_ERR_INVAL;
  rdial *d = NULL;
  for (int i = 0; i < RELAY_DIALS_MAX && !d; i++)
    if (!v->dials[i].dial)
      d = &v->dials[i];
  if (!d)
    return LP2P_ERR_LIMIT;
  memset(d, 0, sizeof *d);
  const uint8_t *idb;
  size_t idn;
  if (lp2p_maddr_get_peer_id(&relay_ma, &idb, &idn) ||
      lp2p_peerid_from_bytes(&d->relay, idb, idn) ||
      lp2p_maddr_get_peer_id(ma, &idb, &idn) ||
      lp2p_peerid_from_bytes(&d->target, idb, idn) ||
      lp2p_peerid_equal(&d->relay, &d->target) ||
      host_maddr_is_circuit(&relay_ma)) /* no circuits over circuits */
    return LP2P_ERR_INVAL;
  d->remote = *ma;
  d->deadline = host_add_ns(now, v->dial_timeout_ns);
  uint64_t conn = host_svc_peer_conn(h, &d->relay);
  hconn *c = conn ? host_conn_get(h, conn) : NULL;
  if (c && !host_conn_limited(c)) {
    d->dial = dial;
    int rc = send_connect(h, v, d, conn, now);
    if (rc)
      memset(d, 0, sizeof *d);
    return rc;
  }
  /* reach the relay first (from our listen port, as above); CONNECT goes
   * once it is connected */
  uint64_t rd = 0;
  int rc = lp2p_host_dial(h, now, &relay_ma, LP2P_DIAL_REUSEPORT, &rd);
  if (rc == 0) {
    host_svc_dial_adopt(h, v->svc, rd); /* internal: no app DIAL_* event */
    d->dial = dial;
  }
  return rc;
}

void relay_client_dial_cancel(relay_svc *v, uint64_t dial) {
  rdial *d = dial_find(v, dial);
  if (d && !d->stream)
    d->dial = 0; /* one in flight ends with its stream */
}

/* Our CONNECT answered. */
static void dial_reply(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now) {
  (void)v;
  int rd = relay_read_msg(h, g, now);
  if (rd == 0)
    return;
  lp2p_relay_msg m;
  int rc = rd < 0 ? rd : lp2p_relay_msg_decode(&m, 0, g->buf, g->want);
  rdial *d = g->rd;
  uint64_t dial = d->dial, stream = g->stream, conn = g->conn;
  lp2p_maddr remote = d->remote;
  lp2p_peerid target = d->target;
  memset(d, 0, sizeof *d);
  g->rd = NULL;
  g->done = 1;
  relay_msg_done(h, g);
  if (rc == 0 && (m.type != LP2P_RELAY_HOP_STATUS || !m.has_status))
    rc = LP2P_ERR_PROTO;
  if (rc == 0 && m.status != LP2P_RELAY_OK) {
    host_logf(h, LP2P_LOG_INFO, "relay conn=%U refused our circuit: %u", conn,
              (unsigned)m.status);
    rc = m.status == LP2P_RELAY_NO_RESERVATION ? LP2P_ERR_NOT_FOUND
                                               : LP2P_ERR_REFUSED;
  }
  hsvc_carrier_limits lim;
  memset(&lim, 0, sizeof lim);
  if (rc == 0 && m.has_limit) {
    lim.bytes_max = m.limit_data;
    lim.duration_ns = (uint64_t)m.limit_duration * LP2P_NS_PER_S;
  }
  if (rc == 0) {
    /* the carrier owns the stream from here: the leg goes */
    host_svc_stream_set_ud(h, stream, NULL);
    relay_leg_free(h, g);
    g = NULL;
    rc = host_dial_carried(h, dial, stream, &remote,
                           m.has_limit ? &lim : NULL, now);
    if (rc == 0) {
      hevent *e = host_ev_push(h, LP2P_HOST_EV_RELAY_CIRCUIT);
      if (e) {
        e->peer = target;
        e->u.relay.direction = LP2P_DIR_OUTBOUND;
      }
      return;
    }
  }
  host_svc_reset(h, stream, now);
  relay_leg_free(h, g);
  host_dial_resolved(h, dial, NULL, 0, rc, now);
}

/* ---- the stop handler -------------------------------------------------------- */

void relay_client_stop(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now) {
  int rd = relay_read_msg(h, g, now);
  if (rd == 0)
    return;
  lp2p_relay_msg m;
  int rc = rd < 0 ? rd : lp2p_relay_msg_decode(&m, 1, g->buf, g->want);
  uint64_t stream = g->stream, conn = g->conn;
  relay_msg_done(h, g);
  uint32_t status = LP2P_RELAY_OK;
  if (rc)
    status = LP2P_RELAY_MALFORMED_MESSAGE;
  else if (m.type != LP2P_RELAY_STOP_CONNECT)
    status = LP2P_RELAY_UNEXPECTED_MESSAGE;
  else if (!m.has_peer)
    status = LP2P_RELAY_MALFORMED_MESSAGE;
  else if (!v->cfg.stop)
    status = LP2P_RELAY_CONNECTION_FAILED;
  const lp2p_peerid *relay = host_svc_conn_peer(h, conn);
  if (status == LP2P_RELAY_OK && !relay)
    status = LP2P_RELAY_CONNECTION_FAILED;
  if (status != LP2P_RELAY_OK) {
    relay_write_status(h, stream, 1, status, now);
    g->done = 1;
    host_svc_close(h, stream, now);
    host_svc_stream_deadline(h, stream,
                             host_add_ns(now, v->cfg.request_timeout_ns));
    return;
  }
  /* the relayed connection's remote address:
   * /p2p/<relay>/p2p-circuit/p2p/<initiator> */
  lp2p_maddr remote;
  char txt[2 * LP2P_PEERID_TEXT_MAX + 32];
  size_t o = 0, n = 0;
  memcpy(txt, "/p2p/", 5);
  o = 5;
  if (lp2p_peerid_to_base58(relay, txt + o, sizeof txt - o, &n) == 0) {
    o += n;
    memcpy(txt + o, "/p2p-circuit/p2p/", 17);
    o += 17;
    if (lp2p_peerid_to_base58(&m.peer, txt + o, sizeof txt - o, &n) == 0)
      o += n;
  }
  if (lp2p_maddr_parse(&remote, txt, o) != 0)
    memset(&remote, 0, sizeof remote);
  hsvc_carrier_limits lim;
  memset(&lim, 0, sizeof lim);
  if (m.has_limit) {
    lim.bytes_max = m.limit_data;
    lim.duration_ns = (uint64_t)m.limit_duration * LP2P_NS_PER_S;
  }
  lp2p_peerid initiator = m.peer;
  if (relay_write_status(h, stream, 1, LP2P_RELAY_OK, now) != 0) {
    host_svc_reset(h, stream, now);
    relay_leg_free(h, g);
    return;
  }
  relay_leg_free(h, g);
  host_svc_stream_set_ud(h, stream, NULL);
  uint64_t c = 0;
  /* the initiator proves its id in the handshake inside; the relay's word
   * for it is only what we expect */
  if (host_svc_carrier_attach(h, stream, LP2P_DIR_INBOUND, NULL, &remote,
                              m.has_limit ? &lim : NULL, now, &c) != 0) {
    host_svc_reset(h, stream, now);
    return;
  }
  hevent *e = host_ev_push(h, LP2P_HOST_EV_RELAY_CIRCUIT);
  if (e) {
    e->peer = initiator;
    e->conn = c;
    e->u.relay.direction = LP2P_DIR_INBOUND;
  }
}

/* ---- hooks ------------------------------------------------------------------ */

void relay_client_reply(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now) {
  if (g->role == RL_RESERVE)
    reserve_reply(h, v, g, now);
  else
    dial_reply(h, v, g, now);
}

void relay_client_leg_end(lp2p_host *h, relay_svc *v, rleg *g, int err,
                          lp2p_tstamp now) {
  if (g->role == RL_RESERVE && g->resv && g->resv->stream == g->stream) {
    g->resv->stream = 0;
    resv_drop(h, v, g->resv, err ? err : LP2P_ERR_EOF, 0, now);
  } else if (g->role == RL_DIAL && g->rd) {
    uint64_t dial = g->rd->dial;
    memset(g->rd, 0, sizeof *g->rd);
    host_dial_resolved(h, dial, NULL, 0, err ? err : LP2P_ERR_EOF, now);
  }
}

void relay_client_connected(lp2p_host *h, relay_svc *v, uint64_t conn,
                            lp2p_tstamp now) {
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  hconn *c = host_conn_get(h, conn);
  if (!p || !c || host_conn_limited(c))
    return;
  for (int i = 0; i < RELAY_DIALS_MAX; i++) {
    rdial *d = &v->dials[i];
    if (d->dial && !d->stream && lp2p_peerid_equal(&d->relay, p) &&
        send_connect(h, v, d, conn, now) != 0)
      dial_fail(h, d, LP2P_ERR_LIMIT, now);
  }
  rresv *r = resv_find(v, p);
  if (r && r->waiting != LP2P_TSTAMP_NONE && !r->stream)
    if (send_reserve(h, v, r, conn, now) != 0)
      resv_drop(h, v, r, LP2P_ERR_LIMIT, 0, now);
}

void relay_client_disconnected(lp2p_host *h, relay_svc *v,
                               const lp2p_peerid *peer, lp2p_tstamp now) {
  rresv *r = resv_find(v, peer);
  if (r && r->waiting == LP2P_TSTAMP_NONE && !host_svc_peer_conn(h, peer))
    resv_drop(h, v, r, LP2P_ERR_CLOSED, 0, now);
}

void relay_client_timers(lp2p_host *h, relay_svc *v, lp2p_tstamp now) {
  for (int i = 0; i < RELAY_DIALS_MAX; i++) /* (a CONNECT in flight has
                                                 its stream's deadline) */
    if (v->dials[i].dial && !v->dials[i].stream &&
        v->dials[i].deadline <= now)
      dial_fail(h, &v->dials[i], LP2P_ERR_TIMEOUT, now);
  for (int i = 0; i < RELAY_RESV_MAX; i++) {
    rresv *r = &v->resv[i];
    if (!r->used)
      continue;
    if (r->waiting != LP2P_TSTAMP_NONE &&
        host_add_ns(r->waiting, v->dial_timeout_ns) <= now) {
      resv_drop(h, v, r, LP2P_ERR_TIMEOUT, 0, now);
    } else if (r->refresh_at <= now && !r->stream) {
      uint64_t conn = host_svc_peer_conn(h, &r->relay);
      if (!conn || send_reserve(h, v, r, conn, now) != 0)
        resv_drop(h, v, r, LP2P_ERR_CLOSED, 0, now);
    }
  }
}

lp2p_tstamp relay_client_next(const relay_svc *v) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (int i = 0; i < RELAY_DIALS_MAX; i++)
    if (v->dials[i].dial && !v->dials[i].stream && v->dials[i].deadline < t)
      t = v->dials[i].deadline;
  for (int i = 0; i < RELAY_RESV_MAX; i++) {
    const rresv *r = &v->resv[i];
    if (!r->used)
      continue;
    if (r->refresh_at < t)
      t = r->refresh_at;
    if (r->waiting != LP2P_TSTAMP_NONE) {
      lp2p_tstamp w = host_add_ns(r->waiting, v->dial_timeout_ns);
      if (w < t)
        t = w;
    }
  }
  return t;
}
