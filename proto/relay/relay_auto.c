/* AutoRelay (issue 11; after go-libp2p's p2p/host/autorelay): relays are
 * found among connected peers whose identify lists the hop protocol; we
 * keep autorelay_reservations of them. A relay that refuses or goes is
 * set aside for autorelay_backoff and another candidate is asked. In
 * LP2P_AUTORELAY_PRIVATE mode this runs only while the host's
 * reachability verdict is private (lp2p_host_relay_set_private, fed by
 * AutoNAT); turning public drops the reservations we made. */
#include <string.h>

#include "proto/relay/relay_internal.h"

static int enabled(const relay_svc *v) {
  return v->cfg.autorelay == LP2P_AUTORELAY_ON ||
         (v->cfg.autorelay == LP2P_AUTORELAY_PRIVATE && v->private_now);
}

static rcand *cand_find(relay_svc *v, const lp2p_peerid *p) {
  for (int i = 0; i < RELAY_CANDIDATES_MAX; i++)
    if (v->cands[i].used && lp2p_peerid_equal(&v->cands[i].peer, p))
      return &v->cands[i];
  return NULL;
}

/* Does the peer serve hop? (identify's protocol list, NUL-separated) */
static int serves_hop(lp2p_host *h, const lp2p_peerid *p) {
  hpeer *hp = host_peer_find(h, p);
  if (!hp || !hp->protocols)
    return 0;
  const char *s = hp->protocols, *end = s + hp->protocols_bytes;
  while (s < end) {
    size_t n = strnlen(s, (size_t)(end - s));
    if (n == sizeof LP2P_RELAY_HOP_ID - 1 && !memcmp(s, LP2P_RELAY_HOP_ID, n))
      return 1;
    s += n + 1;
  }
  return 0;
}

/* Ask candidates until we hold (or asked) enough. */
static void fill(lp2p_host *h, relay_svc *v, lp2p_tstamp now) {
  if (!enabled(v))
    return;
  for (int i = 0; i < RELAY_CANDIDATES_MAX; i++) {
    if (relay_client_holds(v) >= (int)v->cfg.autorelay_reservations)
      return;
    rcand *c = &v->cands[i];
    if (!c->used || c->retry_at > now || !host_svc_peer_conn(h, &c->peer))
      continue;
    int held = 0;
    for (int k = 0; k < RELAY_RESV_MAX && !held; k++)
      held = v->resv[k].used && lp2p_peerid_equal(&v->resv[k].relay, &c->peer);
    if (held)
      continue;
    host_logf(h, LP2P_LOG_INFO, "autorelay: reserving on %P", &c->peer);
    if (relay_client_reserve(h, v, &c->peer, now) != 0)
      c->retry_at = host_add_ns(now, v->cfg.autorelay_backoff_ns);
  }
}

void relay_auto_identified(lp2p_host *h, relay_svc *v, uint64_t conn,
                           lp2p_tstamp now) {
  if (v->cfg.autorelay == LP2P_AUTORELAY_OFF)
    return;
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  hconn *c = host_conn_get(h, conn);
  if (!p || !c || host_conn_limited(c) || !serves_hop(h, p))
    return; /* (a relay reached through a relay is no use) */
  if (!cand_find(v, p)) {
    rcand *free_slot = NULL;
    for (int i = 0; i < RELAY_CANDIDATES_MAX && !free_slot; i++)
      if (!v->cands[i].used)
        free_slot = &v->cands[i];
    if (!free_slot)
      return;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    free_slot->peer = *p;
  }
  fill(h, v, now);
}

void relay_auto_lost(lp2p_host *h, relay_svc *v, const lp2p_peerid *relay,
                     lp2p_tstamp now) {
  rcand *c = cand_find(v, relay);
  if (c)
    c->retry_at = host_add_ns(now, v->cfg.autorelay_backoff_ns);
  fill(h, v, now);
}

void relay_auto_timers(lp2p_host *h, relay_svc *v, lp2p_tstamp now) {
  fill(h, v, now);
}

lp2p_tstamp relay_auto_next(const relay_svc *v) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  if (!enabled(v))
    return t;
  for (int i = 0; i < RELAY_CANDIDATES_MAX; i++)
    if (v->cands[i].used && v->cands[i].retry_at && v->cands[i].retry_at < t)
      t = v->cands[i].retry_at;
  return t;
}

int lp2p_host_relay_set_private(lp2p_host *h, lp2p_tstamp now, int is_private) {
  relay_svc *v = h ? host_svc_state(h, &host_svc_relay_ops, NULL) : NULL;
  if (!v)
    return h ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_INVAL;
  host_enter(h);
  int was = enabled(v);
  v->private_now = is_private ? 1 : 0;
  if (!was && enabled(v)) {
    fill(h, v, now);
  } else if (was && !enabled(v)) {
    /* public now: the reservations AutoRelay made go */
    for (int i = 0; i < RELAY_RESV_MAX; i++)
      if (v->resv[i].used && cand_find(v, &v->resv[i].relay))
        relay_client_release(h, v, &v->resv[i], now);
  }
  host_leave(h, now);
  return 0;
}
