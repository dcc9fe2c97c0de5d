/* The hop server (relay/circuit-v2.md, "Hop Protocol", "Stop Protocol").
 *
 * RESERVE: a slot for the peer for reservation_ttl, bounded in all and
 * per source IP, answered with our addresses (each ending in /p2p/<us>),
 * a signed voucher and the circuit limits. A reservation lives while the
 * peer stays connected and until it expires.
 * CONNECT: only to a reserved peer (NO_RESERVATION), never over a relayed
 * connection (PERMISSION_DENIED, for RESERVE too: the spec's "should
 * not"), within the circuit caps (RESOURCE_LIMIT_EXCEEDED). We open a stop
 * stream to the target; its OK turns both streams into one circuit, any
 * other answer is CONNECTION_FAILED. The splice moves bytes only as fast
 * as the slower side takes them (a stream we cannot write to is not read),
 * counts each direction against the data limit and resets both streams at
 * either limit, as the spec asks; the reservation survives. */
#include <string.h>

#include "proto/relay/relay_internal.h"

/* ---- reservations ----------------------------------------------------------- */

static rslot *slot_find(relay_svc *v, const lp2p_peerid *p) {
  for (uint32_t i = 0; i < v->nslots; i++)
    if (lp2p_peerid_equal(&v->slots[i].peer, p))
      return &v->slots[i];
  return NULL;
}

static void slot_drop(relay_svc *v, rslot *s) {
  *s = v->slots[--v->nslots];
}

static int same_ip(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static int loopback(const lp2p_sockaddr *a) {
  static const uint8_t v6lo[16] = {[15] = 1};
  return a->family == 4 ? a->ip[0] == 127 : memcmp(a->ip, v6lo, 16) == 0;
}

void relay_hop_expire(relay_svc *v, lp2p_tstamp now) {
  for (uint32_t i = 0; i < v->nslots;)
    if (v->slots[i].expires <= now)
      slot_drop(v, &v->slots[i]);
    else
      i++;
}

void relay_hop_peer_gone(relay_svc *v, uint64_t conn) {
  for (uint32_t i = 0; i < v->nslots;)
    if (v->slots[i].conn == conn)
      slot_drop(v, &v->slots[i]);
    else
      i++;
}

/* Our addresses, each with /p2p/<us>: what a client builds its circuit
 * addresses from (js builds them from these alone). */
static size_t our_addrs(lp2p_host *h, lp2p_maddr *out, size_t cap) {
  size_t n = 0;
  lp2p_host_addrs(h, out, cap, &n);
  if (n > cap)
    n = cap;
  lp2p_maddr p2p;
  char t[LP2P_PEERID_TEXT_MAX + 8];
  size_t tl = 0;
  memcpy(t, "/p2p/", 5);
  if (lp2p_peerid_to_base58(&h->self, t + 5, sizeof t - 5, &tl) != 0 ||
      lp2p_maddr_parse(&p2p, t, 5 + tl) != 0)
    return 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (lp2p_maddr_encapsulate(&out[i], &p2p) == 0)
      out[k++] = out[i];
  return k;
}

static void put_limit(const relay_svc *v, lp2p_relay_msg *m) {
  if (!v->cfg.limit_duration_ns && !v->cfg.limit_data_bytes)
    return; /* no Limit: the spec's "no limits applied" */
  m->has_limit = 1;
  uint64_t d = v->cfg.limit_duration_ns / LP2P_NS_PER_S;
  m->limit_duration = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
  m->limit_data = v->cfg.limit_data_bytes;
}

static uint32_t reserve(lp2p_host *h, relay_svc *v, rleg *g,
                        lp2p_tstamp now) {
  hconn *c = host_conn_get(h, g->conn);
  if (!c || !c->peer)
    return LP2P_RELAY_CONNECTION_FAILED;
  if (host_conn_limited(c))
    return LP2P_RELAY_PERMISSION_DENIED;
  relay_hop_expire(v, now);
  rslot *s = slot_find(v, &c->peer->id);
  if (!s) {
    uint32_t same = 0;
    for (uint32_t i = 0; i < v->nslots; i++)
      same += same_ip(&v->slots[i].ip, &c->remote) ? 1u : 0u;
    if (v->nslots >= v->cfg.reservations_max ||
        (!loopback(&c->remote) && same >= v->cfg.reservations_per_ip_max))
      return LP2P_RELAY_RESERVATION_REFUSED;
    if (!v->slots) {
      v->slots = lp2p_mem_calloc(h->mem, v->cfg.reservations_max,
                                 sizeof *v->slots);
      if (!v->slots)
        return LP2P_RELAY_RESERVATION_REFUSED;
    }
    s = &v->slots[v->nslots++];
    memset(s, 0, sizeof *s);
    s->peer = c->peer->id;
    s->ip = c->remote;
  }
  s->conn = g->conn; /* the connection that asked keeps it alive */
  s->expires = host_add_ns(now, v->cfg.reservation_ttl_ns);
  s->expire_unix = relay_unix_s(h) + v->cfg.reservation_ttl_ns / LP2P_NS_PER_S;
  c->flags |= HC_F_PROTECTED; /* never trimmed while it holds a slot */

  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_RELAY_HOP_STATUS;
  m.has_status = 1;
  m.status = LP2P_RELAY_OK;
  m.has_rsvp = 1;
  m.expire = s->expire_unix;
  lp2p_maddr addrs[LP2P_RELAY_ADDRS_MAX];
  size_t n = our_addrs(h, addrs, LP2P_RELAY_ADDRS_MAX);
  for (size_t i = 0; i < n; i++)
    m.rsvp_addrs[i] = (lp2p_relay_bytes){addrs[i].bytes, addrs[i].len};
  m.nrsvp_addrs = n;
  uint8_t voucher[LP2P_RELAY_VOUCHER_MAX];
  size_t vn = 0;
  if (lp2p_relay_voucher_seal(h->key, &s->peer, s->expire_unix, voucher,
                              sizeof voucher, &vn) == 0)
    m.voucher = (lp2p_relay_bytes){voucher, vn};
  put_limit(v, &m);
  if (relay_write_msg(h, g->stream, &m, now) != 0)
    return LP2P_RELAY_CONNECTION_FAILED;
  host_logf(h, LP2P_LOG_INFO, "relay reservation peer=%P ip=%A until %U",
            &s->peer, &s->ip, s->expire_unix);
  return LP2P_RELAY_OK;
}

/* ---- circuits --------------------------------------------------------------- */

static uint32_t circuits_of(const relay_svc *v, const lp2p_peerid *p) {
  uint32_t n = 0;
  for (const rcircuit *c = v->circuits; c; c = c->next)
    n += lp2p_peerid_equal(&c->src, p) || lp2p_peerid_equal(&c->dst, p);
  return n;
}

static void circuit_unlink(relay_svc *v, rcircuit *c) {
  for (rcircuit **pp = &v->circuits; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      v->ncircuits--;
      return;
    }
}

static uint32_t connect(lp2p_host *h, relay_svc *v, rleg *g,
                        const lp2p_relay_msg *req, lp2p_tstamp now) {
  hconn *c = host_conn_get(h, g->conn);
  if (!c || !c->peer)
    return LP2P_RELAY_CONNECTION_FAILED;
  if (host_conn_limited(c))
    return LP2P_RELAY_PERMISSION_DENIED;
  if (!req->has_peer)
    return LP2P_RELAY_MALFORMED_MESSAGE;
  relay_hop_expire(v, now);
  rslot *s = slot_find(v, &req->peer);
  if (!s || !host_conn_get(h, s->conn))
    return LP2P_RELAY_NO_RESERVATION;
  if (v->ncircuits >= v->cfg.circuits_max ||
      circuits_of(v, &c->peer->id) >= v->cfg.circuits_per_peer_max ||
      circuits_of(v, &req->peer) >= v->cfg.circuits_per_peer_max)
    return LP2P_RELAY_RESOURCE_LIMIT_EXCEEDED;
  rcircuit *k = lp2p_mem_calloc(h->mem, 1, sizeof *k);
  if (!k)
    return LP2P_RELAY_RESOURCE_LIMIT_EXCEEDED;
  k->src = c->peer->id;
  k->dst = req->peer;
  k->deadline = LP2P_TSTAMP_NONE;
  k->hop = *g; /* the hop leg moves into the circuit */
  k->hop.buf = NULL;
  k->hop.cir = k;
  k->stop.role = RL_STOP_OUT;
  k->stop.cir = k;
  k->stop.conn = s->conn;
  uint64_t out = 0;
  if (host_svc_open(h, v->svc, s->conn, v->stop, &k->stop, now, &out) != 0) {
    lp2p_mem_free(h->mem, k);
    return LP2P_RELAY_CONNECTION_FAILED;
  }
  k->stop.stream = out;
  lp2p_relay_msg m;
  memset(&m, 0, sizeof m);
  m.stop = 1;
  m.type = LP2P_RELAY_STOP_CONNECT;
  m.has_peer = 1;
  m.peer = k->src;
  put_limit(v, &m);
  if (relay_write_msg(h, out, &m, now) != 0) {
    host_svc_reset(h, out, now);
    lp2p_mem_free(h->mem, k);
    return LP2P_RELAY_CONNECTION_FAILED;
  }
  host_svc_stream_deadline(h, out, host_add_ns(now, v->cfg.request_timeout_ns));
  host_svc_stream_set_ud(h, g->stream, &k->hop);
  k->hop.role = RL_STOP_OUT; /* waiting too, until the target answers */
  k->next = v->circuits;
  v->circuits = k;
  v->ncircuits++;
  return 0; /* answered when the target answers */
}

/* End an exchange on a hop stream we serve: the reply is out, our side
 * closes, the peer's FIN (or the deadline) ends the stream. */
static void hop_done(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now) {
  g->done = 1;
  relay_msg_done(h, g);
  host_svc_close(h, g->stream, now);
  host_svc_stream_deadline(h, g->stream,
                           host_add_ns(now, v->cfg.request_timeout_ns));
}

/* The circuit's hop stream leaves it with a refusal: it gets its own leg
 * (so the circuit can go) and the status goes out before our FIN. */
static void hop_refuse(lp2p_host *h, relay_svc *v, rcircuit *k,
                       uint32_t status, lp2p_tstamp now) {
  if (k->hop.dead)
    return;
  k->hop.dead = 1;
  rleg *g = relay_leg_new(h, RL_HOP_SERVE, k->hop.stream, k->hop.conn);
  if (!g) {
    host_svc_reset(h, k->hop.stream, now);
    return;
  }
  host_svc_stream_set_ud(h, g->stream, g);
  relay_write_status(h, g->stream, 0, status, now);
  hop_done(h, v, g, now);
}

static void circuit_free(lp2p_host *h, relay_svc *v, rcircuit *k) {
  lp2p_mem_free(h->mem, k->hop.buf);
  lp2p_mem_free(h->mem, k->stop.buf);
  circuit_unlink(v, k);
  lp2p_mem_free(h->mem, k);
}

void relay_hop_request(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now) {
  int r = relay_read_msg(h, g, now);
  if (r == 0)
    return;
  lp2p_relay_msg req;
  uint32_t status;
  if (r < 0 || lp2p_relay_msg_decode(&req, 0, g->buf, g->want) != 0) {
    status = LP2P_RELAY_MALFORMED_MESSAGE;
  } else if (req.type == LP2P_RELAY_HOP_RESERVE) {
    status = reserve(h, v, g, now);
  } else if (req.type == LP2P_RELAY_HOP_CONNECT) {
    status = connect(h, v, g, &req, now);
    if (status == 0) { /* g now lives inside the circuit */
      relay_leg_free(h, g);
      return;
    }
  } else {
    status = LP2P_RELAY_UNEXPECTED_MESSAGE;
  }
  if (status != LP2P_RELAY_OK) {
    host_logf(h, LP2P_LOG_INFO, "relay conn=%U hop refused: status %u",
              g->conn, (unsigned)status);
    relay_write_status(h, g->stream, 0, status, now);
  }
  hop_done(h, v, g, now);
}

/* The target's answer on our stop stream. */
void relay_hop_stop_reply(lp2p_host *h, relay_svc *v, rleg *g,
                          lp2p_tstamp now) {
  rcircuit *k = g->cir;
  int r = relay_read_msg(h, g, now);
  if (r == 0)
    return;
  lp2p_relay_msg m;
  int ok = r > 0 && lp2p_relay_msg_decode(&m, 1, g->buf, g->want) == 0 &&
           m.type == LP2P_RELAY_STOP_STATUS && m.has_status &&
           m.status == LP2P_RELAY_OK;
  relay_msg_done(h, g);
  if (!ok) {
    hop_refuse(h, v, k, LP2P_RELAY_CONNECTION_FAILED, now);
    relay_hop_circuit_kill(h, v, k, now);
    return;
  }
  lp2p_relay_msg rep;
  memset(&rep, 0, sizeof rep);
  rep.type = LP2P_RELAY_HOP_STATUS;
  rep.has_status = 1;
  rep.status = LP2P_RELAY_OK;
  put_limit(v, &rep);
  if (relay_write_msg(h, k->hop.stream, &rep, now) != 0) {
    relay_hop_circuit_kill(h, v, k, now);
    return;
  }
  /* live: both streams are legs now, under the limits */
  k->hop.role = k->stop.role = RL_LEG;
  uint64_t data = v->cfg.limit_data_bytes ? v->cfg.limit_data_bytes
                                          : UINT64_MAX;
  k->hop.left = k->stop.left = data;
  k->deadline = v->cfg.limit_duration_ns
                    ? host_add_ns(now, v->cfg.limit_duration_ns)
                    : LP2P_TSTAMP_NONE;
  host_svc_stream_deadline(h, k->hop.stream, k->deadline);
  host_svc_stream_deadline(h, k->stop.stream, k->deadline);
  /* a quiet circuit is not idle: its limits bound it, its ends keep it */
  host_svc_stream_no_idle(h, k->hop.stream);
  host_svc_stream_no_idle(h, k->stop.stream);
  host_logf(h, LP2P_LOG_INFO, "relay circuit %P -> %P", &k->src, &k->dst);
  relay_hop_splice(h, v, k, now);
}

/* Move what `from` received to `to` while `to` takes it and the limit
 * allows; 1 when the data limit was hit. */
static int copy(lp2p_host *h, rleg *from, rleg *to, lp2p_tstamp now) {
  if (from->dead || to->dead)
    return 0;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, from->stream, &len);
    if (!len)
      break;
    if (len > from->left)
      return 1;
    lp2p_ssize w = host_svc_write(h, to->stream, now, p, len);
    if (w <= 0)
      break; /* full: stop reading this side (its window stalls) */
    from->left -= (uint64_t)w;
    host_svc_consume(h, from->stream, now, (size_t)w);
  }
  if (host_svc_at_eof(h, from->stream) && !host_svc_local_closed(h, to->stream))
    host_svc_close(h, to->stream, now);
  return 0;
}

void relay_hop_splice(lp2p_host *h, relay_svc *v, rcircuit *k,
                      lp2p_tstamp now) {
  if (copy(h, &k->hop, &k->stop, now) || copy(h, &k->stop, &k->hop, now)) {
    host_logf(h, LP2P_LOG_INFO, "relay circuit %P -> %P: data limit",
              &k->src, &k->dst);
    relay_hop_circuit_kill(h, v, k, now);
  }
}

/* Reset whatever is alive and free the circuit. */
void relay_hop_circuit_kill(lp2p_host *h, relay_svc *v, rcircuit *k,
                            lp2p_tstamp now) {
  if (!k->hop.dead) {
    k->hop.dead = 1;
    host_svc_reset(h, k->hop.stream, now);
  }
  if (!k->stop.dead) {
    k->stop.dead = 1;
    host_svc_reset(h, k->stop.stream, now);
  }
  circuit_free(h, v, k);
}

/* One leg ended (the stream is gone). A clean end carries the half-close
 * over and waits for the other; an abrupt one resets the other. */
void relay_hop_leg_end(lp2p_host *h, relay_svc *v, rleg *g, int err,
                       lp2p_tstamp now) {
  rcircuit *k = g->cir;
  g->dead = 1;
  rleg *o = g == &k->hop ? &k->stop : &k->hop;
  if (g->role != RL_LEG) { /* before the circuit was up */
    if (o == &k->hop)
      hop_refuse(h, v, k, LP2P_RELAY_CONNECTION_FAILED, now);
    relay_hop_circuit_kill(h, v, k, now);
    return;
  }
  if (!o->dead && err) {
    o->dead = 1;
    host_svc_reset(h, o->stream, now);
  } else if (!o->dead) {
    copy(h, o, g, now);
  }
  if (o->dead)
    circuit_free(h, v, k);
}

void relay_hop_free(lp2p_host *h, relay_svc *v) {
  while (v->circuits) {
    rcircuit *k = v->circuits;
    v->circuits = k->next;
    lp2p_mem_free(h->mem, k->hop.buf);
    lp2p_mem_free(h->mem, k->stop.buf);
    lp2p_mem_free(h->mem, k);
  }
  lp2p_mem_free(h->mem, v->slots);
}
