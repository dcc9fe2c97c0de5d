/* Dials to names (/dns, /dns4, /dns6, /dnsaddr). The host core resolves
 * nothing itself and names no resolver: lp2p_host_dial creates the dial in
 * a RESOLVING state and hands the address to the first service with a
 * `resolve` hook; that service answers with host_dial_resolved, which
 * continues on the usual multi-candidate path (host_dial_start) or fails
 * the dial with the resolver's reason. A dial that ends otherwise while
 * resolving (the host closing) tells the service through resolve_cancel,
 * and a late answer finds no dial (NOT_FOUND), so nothing calls back into
 * a dead dial. lp2p_host_dial never blocks. */
#include "proto/host/host_internal.h"

int host_maddr_is_dns(const lp2p_maddr *ma) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  lp2p_maddr_iter_init(&it, ma);
  if (lp2p_maddr_next(&it, &c) != 1)
    return 0;
  return c.code == LP2P_MA_DNS || c.code == LP2P_MA_DNS4 ||
         c.code == LP2P_MA_DNS6 || c.code == LP2P_MA_DNSADDR;
}

static hdial *dial_find(const lp2p_host *h, uint64_t id) {
  for (hdial *d = h->dials; d; d = d->next)
    if (d->id == id)
      return d;
  return NULL;
}

int host_maddr_is_circuit(const lp2p_maddr *ma) {
  const uint8_t *v;
  size_t n;
  return lp2p_maddr_find(ma, LP2P_MA_P2P_CIRCUIT, &v, &n) == 0;
}

int host_dial_resolve(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                      const lp2p_peerid *peer, unsigned flags,
                      uint64_t *dial) {
  /* a relayed address goes to the relay service, a name to the resolver */
  const int circuit = host_maddr_is_circuit(ma);
  uint32_t i = 0;
  while (i < h->nsvcs && !(circuit ? h->svcs[i].ops->circuit != NULL
                                   : h->svcs[i].ops->resolve != NULL))
    i++;
  if (i == h->nsvcs)
    return LP2P_ERR_UNSUPPORTED; /* no resolver (or relay) registered */
  int rc = host_dial_precheck(h, peer, NULL, 0, flags, dial);
  if (rc != 1)
    return rc;
  if (flags & LP2P_DIAL_REUSEPORT)
    flags |= LP2P_DIAL_FORCE;
  hdial *d = host_dial_new(h, peer, flags, NULL, 0);
  if (!d)
    return LP2P_ERR_NOMEM;
  d->resolving = 1;
  d->resolver = (uint8_t)i;
  uint64_t id = d->id;
  *dial = id;
  hsvc *v = &h->svcs[i];
  host_enter(h);
  rc = circuit ? v->ops->circuit(h, v->state, id, ma, now)
               : v->ops->resolve(h, v->state, id, ma, now);
  host_svc_timer_update(h, i);
  host_leave(h, now);
  if (rc) {
    /* The contract: a refusing service has not answered the dial. */
    d = dial_find(h, id);
    if (d && d->resolving)
      host_dial_unlink(h, d);
    *dial = 0;
  }
  return rc;
}

/* Keep the candidates the dial can use: TCP socket addresses whose /p2p,
 * when they carry one, is the peer we expect. A dial without an expected
 * peer (/dnsaddr/<name> alone) adopts the first candidate's peer, so every
 * attempt of the one dial aims at one peer. */
static size_t usable(hdial *d, const lp2p_maddr *addrs, size_t n,
                     lp2p_sockaddr *out) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < UINT16_MAX; i++) {
    lp2p_sockaddr sa;
    if (lp2p_sockaddr_from_maddr(&sa, &addrs[i]) != 0)
      continue;
    const uint8_t *idb;
    size_t idn;
    if (lp2p_maddr_get_peer_id(&addrs[i], &idb, &idn) == 0) {
      lp2p_peerid p;
      if (lp2p_peerid_from_bytes(&p, idb, idn) != 0)
        continue;
      if (!d->peer.len)
        d->peer = p;
      else if (!lp2p_peerid_equal(&p, &d->peer))
        continue;
    }
    out[k++] = sa;
  }
  return k;
}

int host_dial_resolved(lp2p_host *h, uint64_t dial, const lp2p_maddr *addrs,
                       size_t n, int err, lp2p_tstamp now) {
  if (!h || (!addrs && n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hdial *d = dial_find(h, dial);
  if (!d || !d->resolving)
    return LP2P_ERR_NOT_FOUND;
  d->resolving = 0;
  if (!err && h->closing)
    err = LP2P_ERR_CLOSED;
  if (!err && n) {
    lp2p_sockaddr *list = lp2p_mem_malloc(h->mem, n * sizeof *list);
    if (!list) {
      host_dial_fail(h, d, LP2P_ERR_NOMEM);
      return 0;
    }
    size_t k = usable(d, addrs, n, list);
    if (!k) {
      lp2p_mem_free(h->mem, list);
      err = LP2P_ERR_UNSUPPORTED; /* names found, none dialable here */
    } else {
      d->addrs = (uint8_t *)list;
      d->naddrs = (uint16_t)k;
      d->cur = 0;
      host_logf(h, LP2P_LOG_DEBUG, "host dial=%U resolved to %u addresses",
                dial, (unsigned)k);
      err = host_dial_start(h, d, now);
    }
  } else if (!err) {
    err = LP2P_ERR_NOT_FOUND;
  }
  if (err) {
    host_logf(h, LP2P_LOG_INFO, "host dial=%U peer=%P resolve failed: %E",
              dial, &d->peer, err);
    host_dial_fail(h, d, err);
  }
  return 0;
}

int host_dial_carried(lp2p_host *h, uint64_t dial, uint64_t stream,
                      const lp2p_maddr *remote,
                      const hsvc_carrier_limits *lim, lp2p_tstamp now) {
  hdial *d = dial_find(h, dial);
  if (!d || !d->resolving)
    return LP2P_ERR_NOT_FOUND;
  uint64_t id = 0;
  int rc = host_svc_carrier_attach(h, stream, LP2P_DIR_OUTBOUND, &d->peer,
                                   remote, lim, now, &id);
  if (rc)
    return rc;
  hconn *c = host_conn_get(h, id);
  if (!c) /* refused at once (a limit): the carrier is gone */
    return LP2P_ERR_LIMIT;
  d->resolving = 0;
  c->dial = d;
  d->conn = c;
  return 0;
}

void host_dials_cancel_resolving(lp2p_host *h) {
  for (;;) {
    hdial *d = h->dials;
    while (d && !d->resolving)
      d = d->next;
    if (!d)
      return;
    uint64_t id = d->id;
    uint8_t i = d->resolver;
    host_dial_fail(h, d, LP2P_ERR_CLOSED);
    if (i < h->nsvcs && h->svcs[i].ops->resolve_cancel) {
      host_enter(h);
      h->svcs[i].ops->resolve_cancel(h, h->svcs[i].state, id);
      host_svc_timer_update(h, i);
      host_leave(h, h->now);
    }
  }
}
