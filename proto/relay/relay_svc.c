/* The circuit relay v2 service: registration, hooks, timers, and the
 * public calls (lp2p_host_relay_reserve, lp2p_host_relay_addrs). Hop is
 * served only when configured (a relay is public by choice); the stop
 * handler and the client are always there. Both relay protocols may run
 * on limited connections (HSVC_P_LIMITED), so the hop server can answer
 * PERMISSION_DENIED there itself, as the spec asks. */
#include <string.h>

#include "proto/relay/relay_internal.h"

static int r_init(lp2p_host *h, uint32_t svc, void **state) {
  relay_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  v->cfg = h->cfg.relay;
  v->dial_timeout_ns = h->cfg.dial_timeout_ns;
  int err = 0;
  v->hop = host_svc_add_protocol(
      h, svc, LP2P_RELAY_HOP_ID,
      (v->cfg.hop ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0) | HSVC_P_LIMITED,
      &err);
  if (!err)
    v->stop = host_svc_add_protocol(
        h, svc, LP2P_RELAY_STOP_ID,
        (v->cfg.stop ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0) |
            HSVC_P_LIMITED,
        &err);
  return err;
}

static void r_fini(lp2p_host *h, void *state) {
  relay_svc *v = state;
  relay_hop_free(h, v);
  lp2p_mem_free(h->mem, v);
}

static void r_start(lp2p_host *h, void *state, uint64_t stream, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  relay_svc *v = state;
  rleg *g = relay_leg_new(h, proto == v->hop ? RL_HOP_SERVE : RL_STOP_IN,
                          stream, conn);
  if (!g) {
    host_svc_reset(h, stream, now);
    return;
  }
  host_svc_stream_set_ud(h, stream, g);
  host_svc_stream_deadline(h, stream,
                           host_add_ns(now, v->cfg.request_timeout_ns));
  if (g->role == RL_HOP_SERVE)
    relay_hop_request(h, v, g, now);
  else
    relay_client_stop(h, v, g, now);
}

static void r_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                       lp2p_tstamp now) {
  (void)stream;
  relay_svc *v = state;
  rleg *g = ud;
  if (!g)
    return;
  if (g->done) { /* the exchange is over: drop whatever still comes */
    size_t len = 0;
    while (host_svc_peek(h, g->stream, &len) && len)
      host_svc_consume(h, g->stream, now, len);
    return;
  }
  switch (g->role) {
  case RL_HOP_SERVE:
    relay_hop_request(h, v, g, now);
    break;
  case RL_STOP_OUT: /* the hop side waits; the stop side has the answer */
    if (g == &g->cir->stop)
      relay_hop_stop_reply(h, v, g, now);
    break;
  case RL_LEG:
    relay_hop_splice(h, v, g->cir, now);
    break;
  case RL_STOP_IN:
    relay_client_stop(h, v, g, now);
    break;
  default:
    relay_client_reply(h, v, g, now);
    break;
  }
}

static void r_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                  int err, lp2p_tstamp now) {
  (void)stream;
  relay_svc *v = state;
  rleg *g = ud;
  if (!g)
    return;
  if (g->cir) { /* a leg inside a circuit: the circuit owns it */
    relay_hop_leg_end(h, v, g, err, now);
    return;
  }
  if (g->role == RL_RESERVE || g->role == RL_DIAL)
    relay_client_leg_end(h, v, g, err, now);
  relay_leg_free(h, g);
}

static void r_timeout(lp2p_host *h, void *state, uint64_t stream, void *ud,
                      lp2p_tstamp now) {
  relay_svc *v = state;
  rleg *g = ud;
  if (g && g->cir) { /* the duration limit, or a target that never said */
    if (g->role == RL_LEG)
      host_logf(h, LP2P_LOG_INFO, "relay circuit %P -> %P: duration limit",
                &g->cir->src, &g->cir->dst);
    relay_hop_circuit_kill(h, v, g->cir, now);
    return;
  }
  host_svc_reset(h, stream, now); /* no stream_end follows: end it here */
  if (g) {
    if (g->role == RL_RESERVE || g->role == RL_DIAL)
      relay_client_leg_end(h, v, g, LP2P_ERR_TIMEOUT, now);
    relay_leg_free(h, g);
  }
}

static void r_connected(lp2p_host *h, void *state, uint64_t conn,
                        lp2p_tstamp now) {
  relay_client_connected(h, state, conn, now);
}

static void r_disconnected(lp2p_host *h, void *state, uint64_t conn,
                           const lp2p_peerid *peer, int err,
                           lp2p_tstamp now) {
  (void)err;
  relay_svc *v = state;
  relay_hop_peer_gone(v, conn);
  relay_client_disconnected(h, v, peer, now);
}

static void r_identified(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  relay_auto_identified(h, state, conn, now);
}

static int r_circuit(lp2p_host *h, void *state, uint64_t dial,
                     const lp2p_maddr *ma, lp2p_tstamp now) {
  return relay_client_dial(h, state, dial, ma, now);
}

static void r_cancel(lp2p_host *h, void *state, uint64_t dial) {
  (void)h;
  relay_client_dial_cancel(state, dial);
}

static lp2p_tstamp r_next(const void *state) {
  lp2p_tstamp a = relay_client_next(state), b = relay_auto_next(state);
  return a < b ? a : b;
}

static void r_timers(lp2p_host *h, void *state, lp2p_tstamp now) {
  relay_client_timers(h, state, now);
  relay_auto_timers(h, state, now);
}

const hsvc_ops host_svc_relay_ops = {
    .name = "relay",
    .init = r_init,
    .fini = r_fini,
    .stream_start = r_start,
    .stream_activity = r_activity,
    .stream_end = r_end,
    .stream_timeout = r_timeout,
    .peer_connected = r_connected,
    .peer_identified = r_identified,
    .peer_disconnected = r_disconnected,
    .circuit = r_circuit,
    .resolve_cancel = r_cancel,
    .next_timeout = r_next,
    .handle_timeout = r_timers,
};

/* ---- public calls -------------------------------------------------------------- */

static int reserve_cmd(lp2p_host *h, void *state, uint64_t conn,
                       const void *arg, lp2p_tstamp now) {
  (void)conn;
  return relay_client_reserve(h, state, arg, now);
}

int lp2p_host_relay_reserve(lp2p_host *h, lp2p_tstamp now,
                            const lp2p_peerid *relay) {
  if (!h || !relay || !relay->len)
    return LP2P_ERR_INVAL;
  int rc = host_svc_command(h, now, relay, &host_svc_relay_ops, reserve_cmd,
                            relay);
  if (rc != LP2P_ERR_NOT_FOUND)
    return rc;
  /* not connected: the reservation dials it (its addresses must be known) */
  relay_svc *v = host_svc_state(h, &host_svc_relay_ops, NULL);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  host_enter(h);
  rc = relay_client_reserve(h, v, relay, now);
  host_leave(h, now);
  return rc;
}

int lp2p_host_relay_addrs(const lp2p_host *h, lp2p_maddr *out, size_t cap,
                          size_t *n) {
  if (!h || !n || (!out && cap))
    return LP2P_ERR_INVAL;
  *n = 0;
  const relay_svc *v = host_svc_state(h, &host_svc_relay_ops, NULL);
  if (!v)
    return 0;
  char t[LP2P_PEERID_TEXT_MAX + 32];
  size_t tl = 0;
  memcpy(t, "/p2p-circuit/p2p/", 17);
  lp2p_maddr tail;
  if (lp2p_peerid_to_base58(&h->self, t + 17, sizeof t - 17, &tl) != 0 ||
      lp2p_maddr_parse(&tail, t, 17 + tl) != 0)
    return LP2P_ERR_INTERNAL;
  for (int i = 0; i < RELAY_RESV_MAX; i++) {
    const rresv *r = &v->resv[i];
    if (!r->used || !r->expire_unix)
      continue;
    for (size_t k = 0; k < r->naddrs; k++) {
      lp2p_maddr a = r->addrs[k];
      if (lp2p_maddr_encapsulate(&a, &tail) != 0)
        continue;
      if (*n < cap)
        out[*n] = a;
      (*n)++;
    }
  }
  return 0;
}
