/* Connection manager: listeners, dials (reuse of an existing connection,
 * FORCE, coalescing of concurrent dials to one peer or address, trying a
 * peer's addresses in turn), limits on total / pending / per-peer
 * connections (admission and trimming: host_admit.c). */
#include "proto/host/host_internal.h"

/* ---- listeners ----------------------------------------------------------- */

int lp2p_host_listen(lp2p_host *h, const lp2p_maddr *ma, uint64_t *listener) {
  if (listener)
    *listener = 0;
  if (!h || !ma)
    return LP2P_ERR_INVAL;
  if (h->closing)
    return LP2P_ERR_STATE;
  lp2p_sockaddr sa;
  int rc = lp2p_sockaddr_from_maddr(&sa, ma);
  if (rc)
    return rc;
  if (h->nlisteners >= h->cfg.host_addrs_max)
    return LP2P_ERR_LIMIT;
  if (h->nlisteners == h->listeners_cap) {
    uint32_t ncap = h->listeners_cap ? h->listeners_cap * 2 : 4;
    hlistener *n = lp2p_mem_realloc(h->mem, h->listeners,
                                    h->listeners_cap * sizeof *n,
                                    ncap * sizeof *n);
    if (!n)
      return LP2P_ERR_NOMEM;
    h->listeners = n;
    h->listeners_cap = ncap;
  }
  lp2p_maddr m;
  rc = lp2p_sockaddr_to_maddr(&m, &sa);
  if (rc)
    return rc;
  uint64_t id = ++h->serial;
  rc = host_addr_set_listen(h, id, &m, LP2P_ADDR_PENDING);
  if (rc)
    return rc;
  hlistener *l = &h->listeners[h->nlisteners++];
  memset(l, 0, sizeof *l);
  l->id = id;
  l->want = sa;
  l->status = LP2P_ADDR_PENDING;
  l->io = LP2P_IO_LISTEN;
  if (listener)
    *listener = id;
  return 0;
}

static hlistener *listener_find(lp2p_host *h, uint64_t id) {
  for (uint32_t i = 0; i < h->nlisteners; i++)
    if (h->listeners[i].id == id)
      return &h->listeners[i];
  return NULL;
}

void host_listener_remove(lp2p_host *h, uint64_t id) {
  for (uint32_t i = 0; i < h->nlisteners; i++)
    if (h->listeners[i].id == id) {
      h->listeners[i] = h->listeners[--h->nlisteners];
      break;
    }
  host_addr_set_listen(h, id, NULL, 0);
}

int lp2p_host_listen_done(lp2p_host *h, uint64_t listener, int err,
                          const lp2p_sockaddr *bound) {
  if (!h)
    return LP2P_ERR_INVAL;
  hlistener *l = listener_find(h, listener);
  if (!l || l->status != LP2P_ADDR_PENDING)
    return LP2P_ERR_NOT_FOUND;
  if (err == 0 && bound && bound->family != 4 && bound->family != 6)
    err = LP2P_ERR_INVAL;
  if (err) {
    l->status = LP2P_ADDR_FAILED;
    lp2p_maddr m;
    if (lp2p_sockaddr_to_maddr(&m, &l->want) == 0)
      host_addr_set_listen(h, listener, &m, LP2P_ADDR_FAILED);
    hevent *e = host_ev_push(h, LP2P_HOST_EV_LISTEN_FAILED);
    e->u.listen.listener = listener;
    e->err = err < 0 ? err : LP2P_ERR_IO;
    return 0;
  }
  l->bound = bound ? *bound : l->want;
  l->status = LP2P_ADDR_ACTIVE;
  l->live = 1;
  lp2p_maddr m;
  if (lp2p_sockaddr_to_maddr(&m, &l->bound) == 0)
    host_addr_set_listen(h, listener, &m, LP2P_ADDR_ACTIVE);
  hevent *e = host_ev_push(h, LP2P_HOST_EV_LISTENING);
  e->u.listen.listener = listener;
  if (h->closing) {
    l->io = LP2P_IO_UNLISTEN;
    l->live = 0;
    return 0;
  }
  host_addrs_changed(h, h->now);
  return 0;
}

/* ---- dials ------------------------------------------------------------------ */

void host_dial_unlink(lp2p_host *h, hdial *d) {
  hdial **pp = &h->dials;
  while (*pp && *pp != d)
    pp = &(*pp)->next;
  if (*pp)
    *pp = d->next;
  h->ndials--;
  lp2p_mem_free(h->mem, d->addrs);
  lp2p_mem_free(h->mem, d);
}

void host_dials_free(lp2p_host *h) {
  while (h->dials)
    host_dial_unlink(h, h->dials);
}

/* Our dials have their own pending budget: an inbound flood (host_admit.c)
 * never blocks them. */
static int dial_limited(lp2p_host *h, lp2p_tstamp now) {
  return h->nconns_pending - h->npending_in >=
             h->cfg.conns_outbound_pending_max ||
         !host_admit_dial_room(h, now);
}

/* Start a connection attempt to d's current address. */
static int dial_attempt(lp2p_host *h, hdial *d, lp2p_tstamp now) {
  if (dial_limited(h, now))
    return LP2P_ERR_LIMIT;
  const lp2p_sockaddr *sa = &((const lp2p_sockaddr *)d->addrs)[d->cur];
  hconn *c;
  int rc = host_conn_new(h, LP2P_DIR_OUTBOUND, sa, &c);
  if (rc)
    return rc;
  c->dial = d;
  d->conn = c;
  c->first_ttl = d->first_ttl;
  if (d->flags & LP2P_DIAL_AS_RESPONDER)
    c->flags |= HC_F_AS_RESPONDER;
  if (d->flags & LP2P_DIAL_REUSEPORT) {
    for (uint32_t i = 0; i < h->nlisteners; i++) {
      const hlistener *l = &h->listeners[i];
      if (l->live && l->bound.family == sa->family) {
        c->local = l->bound;
        c->flags |= HC_F_REUSEPORT;
        break;
      }
    }
  }
  c->upgrade_deadline = host_add_ns(now, h->cfg.dial_timeout_ns);
  host_io_queue(h, c, LP2P_IO_DIAL);
  host_conn_timer(h, c);
  return 0;
}

void host_dial_fail(lp2p_host *h, hdial *d, int err) {
  host_logf(h, LP2P_LOG_DEBUG, "host dial=%U peer=%P dial ended: %E", d->id,
            &d->peer, err);
  if (d->owner) { /* a service's dial (host_svc_dial) */
    uint8_t owner = d->owner;
    uint64_t id = d->id;
    host_dial_unlink(h, d);
    host_svc_dial_end(h, owner, id, 0, err, h->now);
    return;
  }
  hevent *e = host_ev_push(h, LP2P_HOST_EV_DIAL_FAILED);
  e->u.dial.id = d->id;
  e->err = err;
  e->peer = d->peer;
  host_dial_unlink(h, d);
}

void host_dial_conn_open(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  (void)now;
  hdial *d = c->dial;
  c->dial = NULL;
  if (!d)
    return;
  if (d->owner) { /* a service's dial (host_svc_dial) */
    uint8_t owner = d->owner;
    uint64_t id = d->id;
    host_dial_unlink(h, d);
    host_svc_dial_end(h, owner, id, c->id, 0, now);
    return;
  }
  hevent *e = host_ev_push(h, LP2P_HOST_EV_DIAL_DONE);
  e->u.dial.id = d->id;
  e->conn = c->id;
  if (c->peer)
    e->peer = c->peer->id;
  host_dial_unlink(h, d);
}

void host_dial_conn_failed(lp2p_host *h, hconn *c, int err, lp2p_tstamp now) {
  hdial *d = c->dial;
  c->dial = NULL;
  if (!d)
    return;
  d->conn = NULL;
  d->last_err = err;
  host_logf(h, LP2P_LOG_INFO, "host conn=%U peer=%P dial failed: %E", c->id,
            &d->peer, err);
  /* Try the next known address; a wrong peer at one address (a stale
   * entry) does not condemn the others. */
  while (!h->closing && ++d->cur < d->naddrs) {
    if (dial_attempt(h, d, now) == 0)
      return;
  }
  host_dial_fail(h, d, err);
}

hdial *host_dial_new(lp2p_host *h, const lp2p_peerid *peer, unsigned flags,
                     const lp2p_sockaddr *addrs, size_t n) {
  hdial *d = lp2p_mem_calloc(h->mem, 1, sizeof *d);
  if (!d)
    return NULL;
  if (n) { /* a resolving dial gets its candidates later */
    d->addrs = lp2p_mem_malloc(h->mem, n * sizeof *addrs);
    if (!d->addrs) {
      lp2p_mem_free(h->mem, d);
      return NULL;
    }
    memcpy(d->addrs, addrs, n * sizeof *addrs);
  }
  d->naddrs = (uint16_t)n;
  d->flags = (uint8_t)flags;
  d->id = ++h->serial;
  if (peer)
    d->peer = *peer;
  d->next = h->dials;
  h->dials = d;
  h->ndials++;
  return d;
}

static int same_sa(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

/* Shared front half of every dial: reuse of an established connection,
 * coalescing with a dial in flight, limits. Returns 0 with *dial set when
 * the dial was answered or joined, 1 when a new dial may start, or an
 * error. */
int host_dial_precheck(lp2p_host *h, const lp2p_peerid *peer,
                       const lp2p_sockaddr *addrs, size_t naddrs,
                       unsigned flags, uint64_t *dial) {
  if (h->closing)
    return LP2P_ERR_STATE;
  if (flags & LP2P_DIAL_REUSEPORT)
    flags |= LP2P_DIAL_FORCE;
  if (peer && lp2p_peerid_equal(peer, &h->self))
    return LP2P_ERR_INVAL;
  hpeer *p = peer ? host_peer_find(h, peer) : NULL;
  if (!(flags & LP2P_DIAL_FORCE)) {
    hconn *best = host_peer_best_conn(h, p);
    if (best) {
      hevent *e = host_ev_push(h, LP2P_HOST_EV_DIAL_DONE);
      e->u.dial.id = ++h->serial;
      e->conn = best->id;
      e->peer = *peer;
      *dial = e->u.dial.id;
      return 0;
    }
    for (hdial *d = h->dials; d; d = d->next) {
      if (d->flags & LP2P_DIAL_FORCE)
        continue;
      int match = 0;
      if (peer && d->peer.len)
        match = lp2p_peerid_equal(peer, &d->peer);
      else if (!peer && !d->peer.len && naddrs == 1 && d->naddrs == 1)
        match = same_sa(&addrs[0], (const lp2p_sockaddr *)d->addrs);
      if (match) {
        *dial = d->id;
        return 0;
      }
    }
  }
  if (h->ndials >= h->cfg.dials_max)
    return LP2P_ERR_LIMIT;
  if (dial_limited(h, h->now))
    return LP2P_ERR_LIMIT;
  if (p && p->nconns >= h->cfg.conns_per_peer_max)
    return LP2P_ERR_LIMIT;
  return 1;
}

static int dial_common(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *peer,
                       const lp2p_sockaddr *addrs, size_t naddrs,
                       unsigned flags, uint8_t first_ttl, uint64_t *dial) {
  int rc = host_dial_precheck(h, peer, addrs, naddrs, flags, dial);
  if (rc != 1)
    return rc;
  if (flags & LP2P_DIAL_REUSEPORT)
    flags |= LP2P_DIAL_FORCE;
  hdial *d = host_dial_new(h, peer, flags, addrs, naddrs);
  if (!d)
    return LP2P_ERR_NOMEM;
  d->first_ttl = first_ttl;
  rc = dial_attempt(h, d, now);
  if (rc) {
    host_dial_unlink(h, d);
    return rc;
  }
  *dial = d->id;
  return 0;
}

int host_dial_start(lp2p_host *h, hdial *d, lp2p_tstamp now) {
  int rc = LP2P_ERR_NOT_FOUND;
  for (; d->cur < d->naddrs; d->cur++)
    if ((rc = dial_attempt(h, d, now)) == 0)
      return 0;
  return rc;
}

int lp2p_host_dial(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                   unsigned flags, uint64_t *dial) {
  uint64_t tmp;
  if (!dial)
    dial = &tmp;
  *dial = 0;
  if (!h || !ma)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  lp2p_sockaddr sa;
  int rc = lp2p_sockaddr_from_maddr(&sa, ma);
  /* names and relayed addresses are handed to a service */
  int dns = rc != 0 && (host_maddr_is_dns(ma) || host_maddr_is_circuit(ma));
  if (rc && !dns)
    return rc;
  lp2p_peerid peer;
  const uint8_t *idb;
  size_t idn;
  int has_peer = 0;
  if (lp2p_maddr_get_peer_id(ma, &idb, &idn) == 0) {
    if (lp2p_peerid_from_bytes(&peer, idb, idn) != 0)
      return LP2P_ERR_INVAL;
    has_peer = 1;
  }
  if (dns) /* host_resolve.c: a service resolves, the dial waits */
    return host_dial_resolve(h, now, ma, has_peer ? &peer : NULL, flags,
                             dial);
  return dial_common(h, now, has_peer ? &peer : NULL, &sa, 1, flags, 0,
                     dial);
}

int lp2p_host_dial_punch(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                         unsigned flags, uint8_t first_ttl, uint64_t *dial) {
  uint64_t tmp;
  if (!dial)
    dial = &tmp;
  *dial = 0;
  if (!h || !ma)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  lp2p_sockaddr sa;
  int rc = lp2p_sockaddr_from_maddr(&sa, ma);
  if (rc)
    return rc; /* a punch goes to a socket address, never a name */
  lp2p_peerid peer;
  const uint8_t *idb;
  size_t idn;
  if (lp2p_maddr_get_peer_id(ma, &idb, &idn) != 0 ||
      lp2p_peerid_from_bytes(&peer, idb, idn) != 0)
    return LP2P_ERR_INVAL; /* the roles need the peer: no anonymous punch */
  return dial_common(h, now, &peer, &sa, 1, flags | LP2P_DIAL_FORCE,
                     first_ttl, dial);
}

int lp2p_host_dial_peer(lp2p_host *h, lp2p_tstamp now,
                        const lp2p_peerid *peer, unsigned flags,
                        uint64_t *dial) {
  uint64_t tmp;
  if (!dial)
    dial = &tmp;
  *dial = 0;
  if (!h || !peer || peer->len == 0)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hpeer *p = host_peer_find(h, peer);
  if (!p)
    return LP2P_ERR_NOT_FOUND;
  /* (REUSEPORT forces a new connection too: it must not take the
   * reuse path, which has no address to dial) */
  if (!(flags & (LP2P_DIAL_FORCE | LP2P_DIAL_REUSEPORT)) &&
      host_peer_best_conn(h, p))
    return dial_common(h, now, peer, NULL, 0, flags, 0, dial);
  lp2p_sockaddr *list = NULL;
  size_t n = 0;
  if (p->naddrs) {
    list = lp2p_mem_malloc(h->mem, p->naddrs * sizeof *list);
    if (!list)
      return LP2P_ERR_NOMEM;
  }
  for (uint16_t i = 0; i < p->naddrs; i++) {
    const haddr *a = p->addrs[i];
    if (a->expires != LP2P_TSTAMP_NONE && a->expires <= now)
      continue;
    lp2p_maddr m;
    if (lp2p_maddr_from_bytes(&m, a->bytes, a->len) != 0)
      continue;
    if (lp2p_sockaddr_from_maddr(&list[n], &m) == 0)
      n++;
  }
  int rc = n ? dial_common(h, now, peer, list, n, flags, 0, dial)
             : LP2P_ERR_NOT_FOUND;
  lp2p_mem_free(h->mem, list);
  if (n)
    return rc;
  /* no direct address: the first relayed one, through the relay service
   * (identify lists them without the peer's own /p2p: append it) */
  for (uint16_t i = 0; i < p->naddrs; i++) {
    const haddr *a = p->addrs[i];
    lp2p_maddr m;
    if ((a->expires != LP2P_TSTAMP_NONE && a->expires <= now) ||
        lp2p_maddr_from_bytes(&m, a->bytes, a->len) != 0 ||
        !host_maddr_is_circuit(&m))
      continue;
    const uint8_t *idb;
    size_t idn;
    lp2p_maddr last = m;
    if (lp2p_maddr_decapsulate(&last, LP2P_MA_P2P_CIRCUIT) != 0)
      continue;
    if (lp2p_maddr_get_peer_id(&m, &idb, &idn) != 0) { /* no target */
      char t[LP2P_PEERID_TEXT_MAX + 8];
      size_t tl = 0;
      lp2p_maddr tail;
      memcpy(t, "/p2p/", 5);
      if (lp2p_peerid_to_base58(peer, t + 5, sizeof t - 5, &tl) != 0 ||
          lp2p_maddr_parse(&tail, t, 5 + tl) != 0 ||
          lp2p_maddr_encapsulate(&m, &tail) != 0)
        continue;
    }
    return lp2p_host_dial(h, now, &m, flags, dial);
  }
  return rc;
}
