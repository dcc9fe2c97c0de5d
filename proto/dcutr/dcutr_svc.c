/* The DCUtR service (relay/DCUtR.md): one engine (dcutr.c) per relayed
 * connection, wired to the host.
 *
 * B, the side that accepted the relayed connection, starts once identify
 * says the peer speaks /libp2p/dcutr; A answers the stream B opens. Our
 * addresses for CONNECT are everything we advertise plus every address
 * peers observed for us, unverified ones too (the engine keeps the public
 * ones). The peer can make us dial only its own IPs: those it listed in
 * identify.
 *
 * A DIAL is a hole punch per address: from our listen port with
 * REUSEPORT, the engine's first-SYN TTL, and the security role the engine
 * decided (lp2p_host_dial_punch, AS_RESPONDER when we are not the
 * client); a connection the peer's SYN opens at our listener instead takes
 * the same role (host_svc_punch_expect). Any direct connection to the
 * peer that comes up during the attempt is the result. Before punching,
 * B tries the spec's unilateral upgrade: when A's identify lists public
 * addresses (A is reachable), B dials up to UNILATERAL_MAX of them
 * directly; a connection is the result (attempts 0), and the punch starts
 * only once every such dial failed. After a punch the
 * relayed connection serves what it carries and closes once idle; new
 * streams already prefer the direct connection.
 *
 * Files: this one holds the sessions, the engine's drain and the hooks;
 * dcutr_svc_punch.c the punch dials, dcutr_svc_unilateral.c the
 * unilateral upgrade, dcutr_svc.h what they share. */
#include <string.h>

#include "proto/dcutr/dcutr_svc.h"

const hsvc_ops host_svc_dcutr_ops;

static dsess *by_conn(dcutr_svc *v, uint64_t relayed) {
  for (int i = 0; i < v->nsess; i++)
    if (v->s[i].used && v->s[i].relayed == relayed)
      return &v->s[i];
  return NULL;
}

static dsess *by_peer(dcutr_svc *v, const lp2p_peerid *p) {
  for (int i = 0; i < v->nsess; i++)
    if (v->s[i].used && !v->s[i].done && lp2p_peerid_equal(&v->s[i].peer, p))
      return &v->s[i];
  return NULL;
}

static void sess_free(dsess *d) {
  lp2p_dcutr_free(d->eng);
  memset(d, 0, sizeof *d);
}

/* Everything we could be reached at: advertised plus observed, verified
 * or not (the spec's CONNECT carries "observed addresses"). */
static void set_local(lp2p_host *h, dsess *d) {
  lp2p_maddr a[LP2P_DCUTR_ADDRS_MAX];
  size_t n = 0, total = 0;
  lp2p_host_addrs(h, a, LP2P_DCUTR_ADDRS_MAX, &total);
  n = total < LP2P_DCUTR_ADDRS_MAX ? total : LP2P_DCUTR_ADDRS_MAX;
  /* our TCP listen ports: an observed IP with one of them is where a
   * port-preserving NAT maps our punch (dialled from the listen port) */
  uint16_t lports[4];
  size_t nl = 0;
  for (uint32_t i = 0; i < h->nlisteners && nl < 4; i++)
    if (h->listeners[i].live)
      lports[nl++] = h->listeners[i].bound.port;
  /* A punch leaves from our listen port: only observations of that port
   * name the mapping it uses (one of an ephemeral port's mapping reaches
   * a socket that is no listener). Of the others only the IP counts, with
   * the listen port (a port-preserving NAT maps it there). */
  for (size_t i = 0; i < h->naddrs && n < LP2P_DCUTR_ADDRS_MAX; i++) {
    lp2p_host_addr_info info;
    if (lp2p_host_addr_get(h, i, &info) != 0 ||
        info.kind != LP2P_ADDR_OBSERVED)
      continue;
    if (h->addrs[i].on_listen_port)
      a[n++] = info.addr;
    lp2p_sockaddr sa;
    if (lp2p_sockaddr_from_maddr(&sa, &info.addr) != 0)
      continue;
    for (size_t k = 0; k < nl && n < LP2P_DCUTR_ADDRS_MAX; k++) {
      if (sa.port == lports[k])
        continue;
      lp2p_sockaddr guess = sa;
      guess.port = lports[k];
      if (lp2p_sockaddr_to_maddr(&a[n], &guess) == 0)
        n++;
    }
  }
  lp2p_dcutr_set_local_addrs(d->eng, a, n);
}

/* The peer's own IPs, from its identify listen addresses: the public ones
 * it claims. A NATed peer often claims none (its observed address is not
 * advertised until several peers confirm it); then only the per-attempt
 * bound (dial_addrs_max) limits what it can make us dial, as in go. */
static void set_peer_ips(lp2p_host *h, dcutr_svc *v, dsess *d) {
  lp2p_maddr a[LP2P_DCUTR_ADDRS_MAX];
  size_t n = 0;
  if (lp2p_host_peer_addrs(h, h->now, &d->peer, a, LP2P_DCUTR_ADDRS_MAX, &n))
    return;
  if (n > LP2P_DCUTR_ADDRS_MAX)
    n = LP2P_DCUTR_ADDRS_MAX;
  int fam[LP2P_DCUTR_ADDRS_MAX];
  uint8_t ips[LP2P_DCUTR_ADDRS_MAX][16];
  size_t k = 0;
  lp2p_dcutr_is_public_fn pub =
      v->cfg.engine.is_public ? v->cfg.engine.is_public : lp2p_dcutr_ip_is_public;
  for (size_t i = 0; i < n; i++) {
    uint16_t port;
    int udp;
    if (lp2p_maddr_to_ip_port(&a[i], &fam[k], ips[k], &port, &udp) == 0 &&
        pub(v->cfg.engine.is_public_ud, fam[k], ips[k]))
      k++;
  }
  if (k)
    lp2p_dcutr_set_peer_ips(d->eng, fam, (const uint8_t(*)[16])ips, k);
}

/* A DCUtR engine for a session, with what the NAT service has learnt of
 * our NAT (a hopeless pair is named instead of tried, a sequential
 * allocator's ports are predicted). */
static int engine_new(lp2p_host *h, const dcutr_svc *v, lp2p_dcutr_role role,
                      lp2p_tstamp now, lp2p_dcutr **eng) {
  lp2p_dcutr_config ec = v->cfg.engine;
  lp2p_host_nat_info ni;
  if (ec.ours.mapping == LP2P_NAT_UNKNOWN && lp2p_host_nat_info_get(h, &ni) == 0)
    ec.ours = ni.cls;
  return lp2p_dcutr_new(eng, role, &ec, h->mem, now);
}

static dsess *sess_new(lp2p_host *h, dcutr_svc *v, uint64_t conn,
                       lp2p_dcutr_role role) {
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  if (!p || by_conn(v, conn))
    return NULL;
  for (int i = 0; i < v->nsess; i++) {
    dsess *d = &v->s[i];
    if (d->used)
      continue;
    if (engine_new(h, v, role, h->now, &d->eng))
      return NULL;
    d->used = 1;
    d->relayed = conn;
    d->peer = *p;
    d->role = (uint8_t)role;
    d->idle_close_at = LP2P_TSTAMP_NONE;
    d->retry_at = LP2P_TSTAMP_NONE;
    d->backoff_ns = v->cfg.retry_min_ns;
    hconn *c = host_conn_get(h, conn);
    d->since = c ? c->opened : h->now;
    set_local(h, d);
    set_peer_ips(h, v, d);
    return d;
  }
  return NULL;
}

void dsvc_result(lp2p_host *h, dcutr_svc *v, dsess *d,
                 const lp2p_dcutr_event *e, lp2p_tstamp now) {
  d->done = 1;
  hevent *ev = host_ev_push(h, LP2P_HOST_EV_HOLEPUNCH_RESULT);
  if (ev) {
    ev->peer = d->peer;
    ev->conn = e->ok ? d->direct : 0;
    ev->u.holepunch.ok = e->ok;
    ev->u.holepunch.reason = (int)e->reason;
    ev->u.holepunch.attempts = lp2p_dcutr_attempts(d->eng);
    ev->u.holepunch.time_ns = now > d->since ? now - d->since : 0;
  }
  host_logf(h, LP2P_LOG_INFO, "dcutr peer=%P %s (%s) after %u attempts",
            &d->peer, e->ok ? "direct" : "stays relayed",
            lp2p_punch_reason_name(e->reason), lp2p_dcutr_attempts(d->eng));
  d->ok = (uint8_t)e->ok;
  if (e->ok) {
    d->idle_close_at = host_add_ns(now, v->cfg.relayed_idle_close_ns);
  } else if (d->role == LP2P_DCUTR_INITIATOR && v->cfg.retry_min_ns) {
    /* issue 14 "Path upkeep": keep trying while relayed, with backoff */
    d->retry_at = host_add_ns(now, d->backoff_ns);
    uint64_t next = d->backoff_ns * 2;
    d->backoff_ns = next > v->cfg.retry_max_ns ? v->cfg.retry_max_ns : next;
  }
}

/* A new attempt on the same relayed connection after a failed one: a
 * fresh engine (same role), our addresses and the peer's again. */
static int sess_restart(lp2p_host *h, dcutr_svc *v, dsess *d,
                        lp2p_tstamp now) {
  lp2p_dcutr *eng = NULL;
  if (engine_new(h, v, (lp2p_dcutr_role)d->role, now, &eng))
    return -1;
  lp2p_dcutr_free(d->eng);
  d->eng = eng;
  d->done = d->ok = d->dialing = 0;
  d->unilateral = 0;
  d->nlater = 0;
  d->pend = d->refused = 0;
  d->direct = 0;
  d->stream = 0;
  d->retry_at = LP2P_TSTAMP_NONE;
  d->since = now;
  set_local(h, d);
  set_peer_ips(h, v, d);
  return 0;
}

/* Drain the engine: stream bytes out, then its events. */
void dsvc_run(lp2p_host *h, dcutr_svc *v, dsess *d, lp2p_tstamp now) {
  for (int guard = 0; guard < 64 && d->used; guard++) {
    size_t len = 0;
    const uint8_t *p = lp2p_dcutr_out_peek(d->eng, &len);
    if (len && d->stream) {
      lp2p_ssize w = host_svc_write(h, d->stream, now, p, len);
      if (w > 0)
        lp2p_dcutr_out_consume(d->eng, (size_t)w);
    }
    lp2p_dcutr_event e;
    if (!lp2p_dcutr_poll_event(d->eng, &e))
      return;
    switch (e.type) {
    case LP2P_DCUTR_EV_OPEN_STREAM: {
      uint64_t s = 0;
      if (host_svc_open(h, v->svc, d->relayed, v->proto, d, now, &s) != 0) {
        lp2p_dcutr_stream_closed(d->eng, now, LP2P_ERR_CLOSED);
      } else {
        d->stream = s;
        lp2p_dcutr_stream_opened(d->eng, now); /* lazy: write at once */
      }
      break;
    }
    case LP2P_DCUTR_EV_CLOSE_STREAM:
      if (d->stream) {
        uint64_t s = d->stream;
        d->stream = 0;
        if (e.reset)
          host_svc_reset(h, s, now);
        else
          host_svc_close(h, s, now);
        host_svc_stream_set_ud(h, s, NULL); /* its end is nothing to us */
      }
      break;
    case LP2P_DCUTR_EV_DIAL:
      dsvc_dial(h, v, d, &e, now);
      break;
    case LP2P_DCUTR_EV_PROBE:
      dsvc_probe(h, v, d, &e, now);
      break;
    case LP2P_DCUTR_EV_CANCEL_DIALS:
      d->dialing = 0; /* what still connects is ignored, then trimmed */
      d->nlater = 0;
      break;
    case LP2P_DCUTR_EV_RESULT:
      dsvc_result(h, v, d, &e, now);
      break;
    default:
      break;
    }
  }
}

/* ---- hooks ------------------------------------------------------------------ */

static int d_init(lp2p_host *h, uint32_t svc, void **state) {
  dcutr_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  v->cfg = h->cfg.dcutr;
  if (v->cfg.enabled) {
    v->s = lp2p_mem_calloc(h->mem, SESSIONS_MAX, sizeof *v->s);
    if (!v->s)
      return LP2P_ERR_NOMEM;
    v->nsess = SESSIONS_MAX;
  }
  int err = 0;
  v->proto = host_svc_add_protocol(
      h, svc, LP2P_DCUTR_PROTOCOL,
      (v->cfg.enabled ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0) |
          HSVC_P_LIMITED,
      &err);
  return err;
}

static void d_fini(lp2p_host *h, void *state) {
  dcutr_svc *v = state;
  for (int i = 0; i < v->nsess; i++)
    if (v->s[i].used)
      sess_free(&v->s[i]);
  lp2p_mem_free(h->mem, v->s);
  lp2p_mem_free(h->mem, v);
}

/* Does the peer speak dcutr? (identify's protocol list) */
static int speaks_dcutr(lp2p_host *h, const lp2p_peerid *p) {
  hpeer *hp = host_peer_find(h, p);
  if (!hp || !hp->protocols)
    return 0;
  const char *s = hp->protocols, *end = s + hp->protocols_bytes;
  while (s < end) {
    size_t n = strnlen(s, (size_t)(end - s));
    if (n == sizeof LP2P_DCUTR_PROTOCOL - 1 &&
        !memcmp(s, LP2P_DCUTR_PROTOCOL, n))
      return 1;
    s += n + 1;
  }
  return 0;
}

/* B: a relayed connection we accepted, and the peer speaks dcutr. Any
 * relayed (carried) connection, limited or not, as go-libp2p's holepunch
 * service does (it checks for a relay address): an unlimited relay, such
 * as `punch relay`, is still a detour worth leaving. */
static void d_identified(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  dcutr_svc *v = state;
  hconn *c = host_conn_get(h, conn);
  /* relayed, not "limited": a relay may grant a circuit without limits,
   * and it is still worth going direct (go starts on any relay address) */
  if (!v->cfg.enabled || !c || !host_conn_relayed(c) ||
      c->dir != LP2P_DIR_INBOUND || by_conn(v, conn) ||
      !speaks_dcutr(h, host_svc_conn_peer(h, conn)) ||
      by_peer(v, host_svc_conn_peer(h, conn)))
    return; /* (one punch per peer at a time: see d_start) */
  dsess *d = sess_new(h, v, conn, LP2P_DCUTR_INITIATOR);
  if (!d)
    return;
  if (dsvc_unilateral_start(h, v, d, now))
    return; /* the punch waits for their outcome (dsvc_dial_result) */
  lp2p_dcutr_start(d->eng, now);
  dsvc_run(h, v, d, now);
}


/* A direct connection to a peer we are punching to: the attempt's result
 * (dialed by us, or accepted from the peer's SYN). */
static void d_connected(lp2p_host *h, void *state, uint64_t conn,
                        lp2p_tstamp now) {
  dcutr_svc *v = state;
  hconn *c = host_conn_get(h, conn);
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  if (!c || !p || host_conn_relayed(c))
    return;
  dsess *d = by_peer(v, p);
  if (!d && v->cfg.enabled && c->dir == LP2P_DIR_INBOUND) {
    /* A: the peer we reach through a relay dialled us directly (its
     * unilateral upgrade): the same result, from our side
     * (only this peer's connections: not a scan of every connection on
     * each inbound one) */
    hpeer *hp = host_peer_find(h, p);
    for (hconn *r = hp ? hp->conns : NULL; r; r = r->peer_next) {
      uint64_t id = r->id;
      if (r->state == HC_OPEN && host_conn_relayed(r) &&
          r->dir == LP2P_DIR_OUTBOUND && !by_conn(v, id) &&
          (d = sess_new(h, v, id, LP2P_DCUTR_RESPONDER)) != NULL) {
        d->direct = conn;
        dsvc_unilateral_ok(h, v, d, now);
        return;
      }
    }
  }
  if (!d || d->direct)
    return;
  d->direct = conn; /* (the peer's SYN may reach us before we dial) */
  if (d->unilateral) {
    dsvc_unilateral_ok(h, v, d, now);
    return;
  }
  /* the result now, unless the engine has not started (then it is
   * reported as soon as the engine asks us to dial) */
  if (lp2p_dcutr_direct_result(d->eng, now, 1, 0) != 0)
    return;
  d->dialing = 0;
  d->nlater = 0;
  dsvc_run(h, v, d, now);
}

static void d_disconnected(lp2p_host *h, void *state, uint64_t conn,
                           const lp2p_peerid *peer, int err, lp2p_tstamp now) {
  (void)peer;
  (void)err;
  (void)now;
  (void)h;
  dsess *d = by_conn(state, conn);
  if (d)
    sess_free(d); /* the relayed connection went: nothing left */
}

/* A: the peer opened a dcutr stream on a relayed connection it accepted
 * from us. */
static void d_start(lp2p_host *h, void *state, uint64_t stream, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  (void)proto;
  dcutr_svc *v = state;
  hconn *c = host_conn_get(h, conn);
  dsess *d = by_conn(v, conn);
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  if (!d && p) {
    /* Both sides dialled each other through a relay, so each started as
     * B on the relayed connection it accepted. Two punches in opposite
     * roles would fight over the roles of one 4-tuple (an accepted SYN
     * takes the role by IP): one pair of roles wins, by peer id. The
     * side with the smaller id keeps its B and refuses this stream; the
     * other drops its B and answers as A. */
    dsess *b = by_peer(v, p);
    if (b && b->relayed != conn && b->role == LP2P_DCUTR_INITIATOR) {
      if (memcmp(h->self.bytes, p->bytes,
                 h->self.len < p->len ? h->self.len : p->len) < 0) {
        host_svc_reset(h, stream, now);
        return;
      }
      if (b->stream) {
        host_svc_reset(h, b->stream, now);
        b->stream = 0;
      }
      sess_free(b);
    }
  }
  if (!d && c && host_conn_relayed(c) && c->dir == LP2P_DIR_OUTBOUND)
    d = sess_new(h, v, conn, LP2P_DCUTR_RESPONDER);
  /* the initiator tries again after a failed punch (retry_min_ns) */
  if (d && d->done && !d->ok && !d->stream &&
      d->role == LP2P_DCUTR_RESPONDER && sess_restart(h, v, d, now) != 0)
    d = NULL;
  if (!d || d->done || d->stream) {
    host_svc_reset(h, stream, now); /* not relayed, or one at a time */
    return;
  }
  d->stream = stream;
  host_svc_stream_set_ud(h, stream, d);
  lp2p_dcutr_stream_opened(d->eng, now);
  dsvc_run(h, v, d, now);
}

static void d_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                       lp2p_tstamp now) {
  dsess *d = ud;
  if (!d || d->stream != stream)
    return;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, stream, &len);
    if (!len)
      break;
    lp2p_ssize k = lp2p_dcutr_feed(d->eng, now, p, len);
    if (k <= 0)
      break;
    host_svc_consume(h, stream, now, (size_t)k);
  }
  if (host_svc_at_eof(h, stream))
    lp2p_dcutr_stream_closed(d->eng, now, 0);
  dsvc_run(h, state, d, now);
}

static void d_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                  int err, lp2p_tstamp now) {
  dsess *d = ud;
  if (!d || d->stream != stream)
    return;
  d->stream = 0;
  lp2p_dcutr_stream_closed(d->eng, now, err);
  dsvc_run(h, state, d, now);
}

static lp2p_tstamp d_next(const void *state) {
  const dcutr_svc *v = state;
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (int i = 0; i < v->nsess; i++) {
    const dsess *d = &v->s[i];
    if (!d->used)
      continue;
    lp2p_tstamp a = !d->done ? lp2p_dcutr_next_timeout(d->eng)
                    : d->ok    ? d->idle_close_at
                               : d->retry_at;
    if (a < t)
      t = a;
    if (d->nlater && d->redial_at < t)
      t = d->redial_at;
  }
  return t;
}

static void d_timers(lp2p_host *h, void *state, lp2p_tstamp now) {
  dcutr_svc *v = state;
  for (int i = 0; i < v->nsess; i++) {
    dsess *d = &v->s[i];
    if (!d->used)
      continue;
    if (d->nlater && d->redial_at <= now) {
      uint32_t n = d->nlater;
      d->nlater = 0;
      if (d->direct && d->dialing && !d->done) { /* theirs came first */
        d->dialing = 0;
        lp2p_dcutr_direct_result(d->eng, now, 1, 0);
        dsvc_run(h, v, d, now);
      } else if (d->dialing && !d->done) {
        for (uint32_t k = 0; k < n; k++)
          dsvc_punch_dial(h, v, d, &d->later[k], d->later_flags, 0, now);
      }
      if (!d->used)
        continue;
    }
    if (!d->done) {
      if (lp2p_dcutr_next_timeout(d->eng) <= now) {
        lp2p_dcutr_handle_timeout(d->eng, now);
        dsvc_run(h, v, d, now);
      }
      continue;
    }
    if (!d->ok) {
      if (d->retry_at > now)
        continue;
      if (sess_restart(h, v, d, now) == 0) {
        host_logf(h, LP2P_LOG_INFO, "dcutr peer=%P trying again", &d->peer);
        lp2p_dcutr_start(d->eng, now);
        dsvc_run(h, v, d, now);
      } else {
        d->retry_at = host_add_ns(now, d->backoff_ns);
      }
      continue;
    }
    if (d->idle_close_at > now)
      continue;
    /* punched: the relayed connection goes once it carries nothing */
    hconn *c = host_conn_get(h, d->relayed);
    if (c && c->nstreams) {
      d->idle_close_at = host_add_ns(now, v->cfg.relayed_idle_close_ns);
      continue;
    }
    if (c)
      host_conn_close(h, c, 0, now);
    sess_free(d);
  }
}

/* Our addresses changed: a failed punch may work now, try at once. */
static void d_local(lp2p_host *h, void *state, unsigned what,
                    lp2p_tstamp now) {
  (void)h;
  dcutr_svc *v = state;
  if (!(what & HSVC_LOCAL_ADDRS) || !v->cfg.retry_min_ns)
    return;
  for (int i = 0; i < v->nsess; i++) {
    dsess *d = &v->s[i];
    if (d->used && d->done && !d->ok && d->retry_at != LP2P_TSTAMP_NONE &&
        d->retry_at > now)
      d->retry_at = now;
  }
}

const hsvc_ops host_svc_dcutr_ops = {
    .name = "dcutr",
    .init = d_init,
    .fini = d_fini,
    .stream_start = d_start,
    .stream_activity = d_activity,
    .stream_end = d_end,
    .peer_connected = d_connected,
    .peer_identified = d_identified,
    .peer_disconnected = d_disconnected,
    .local_changed = d_local,
    .next_timeout = d_next,
    .handle_timeout = d_timers,
    .dial_result = dsvc_dial_result,
};
