/* The NAT classification service (lp2p_host_config.nat): what kind of
 * NAT we sit behind, from two sources, published as NAT_TYPE events.
 *
 * Observations. Identify tells us, on every connection, the address the
 * peer saw us at (identify spec, observedAddr). On an outbound socket
 * connection that is our NAT's mapping of (local address, peer address):
 * RFC 4787 section 4.1 defines the mapping behaviour by whether that
 * mapping stays the same for other destinations, so observations of one
 * local port by several peers tell endpoint-independent mapping from a
 * mapping per destination (lp2p_natclass_classify). Inbound and relayed
 * connections say nothing about our mappings and are not used.
 *
 * STUN. With servers configured, the service opens one UDP socket and
 * runs the RFC 5780 behaviour discovery (proto/stun) against the first
 * server that answers; that adds filtering, which observations cannot
 * show. The STUN socket is UDP: its mapping facts stand in for the TCP
 * ones only while the observations cannot tell. */
#include <string.h>

#include "lp2p/stun.h"
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

typedef struct nat_svc {
  uint32_t svc;
  lp2p_host_nat_config cfg;
  lp2p_nat_obs obs[LP2P_HOST_NAT_OBS_MAX];
  size_t nobs;
  lp2p_natclass_result from_obs;
  /* STUN */
  uint64_t udp;
  uint8_t udp_ready, stun_done;
  uint32_t server; /* index of the server being asked */
  lp2p_stun *stun;
  lp2p_stun_result stun_res;
  int stun_status;
  lp2p_tstamp start_at;
  /* what was published last */
  lp2p_nat_class cls;
  int published;
} nat_svc;

const hsvc_ops host_svc_nat_ops;

/* ---- the class ------------------------------------------------------------ */

static void merged(const nat_svc *v, lp2p_nat_class *c) {
  *c = v->from_obs.cls;
  if (!v->nobs)
    lp2p_nat_class_unknown(c);
  c->filtering = LP2P_NAT_UNKNOWN;
  if (v->stun_done && v->stun_res.status == 0) {
    const lp2p_stun_result *r = &v->stun_res;
    int from_stun = c->mapping == LP2P_NAT_UNKNOWN;
    if (from_stun)
      c->mapping = r->mapping;
    c->filtering = r->filtering;
    if (c->preserves_port < 0)
      c->preserves_port = r->preserves_port;
    /* Sequential allocation from STUN's three mappings (an APDM NAT
     * makes three; the ports are UDP ones, standing in for TCP only
     * while the observations cannot tell) */
    uint16_t stride = 0, next;
    if (from_stun && !c->sequential &&
        (c->mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
         c->mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT) &&
        lp2p_natclass_predict_ports(r->ports, r->nports, &next, 1, &stride)) {
      c->sequential = 1;
      c->port_stride = stride;
    }
  }
}

static void publish(lp2p_host *h, nat_svc *v) {
  lp2p_nat_class c;
  merged(v, &c);
  if (v->published && !memcmp(&c, &v->cls, sizeof c))
    return;
  if (!v->published && c.mapping == LP2P_NAT_UNKNOWN &&
      c.filtering == LP2P_NAT_UNKNOWN && c.preserves_port < 0)
    return; /* nothing known yet: nothing to say */
  v->cls = c;
  v->published = 1;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_NAT_TYPE);
  if (e) {
    e->u.nat.mapping = (int)c.mapping;
    e->u.nat.filtering = (int)c.filtering;
    e->u.nat.preserves_port = c.preserves_port;
    e->u.nat.port_stride = c.sequential ? c.port_stride : 0;
  }
  host_logf(h, LP2P_LOG_INFO,
            "nat mapping=%s filtering=%s preserves_port=%d stride=%u",
            lp2p_nat_behaviour_name(c.mapping),
            lp2p_nat_behaviour_name(c.filtering), c.preserves_port,
            (unsigned)(c.sequential ? c.port_stride : 0));
}

/* ---- observations --------------------------------------------------------- */

static int same_obs(const lp2p_nat_obs *a, const lp2p_nat_obs *b) {
  return a->family == b->family && a->udp == b->udp &&
         a->local_port == b->local_port && a->observer_port == b->observer_port &&
         !memcmp(a->observer_ip, b->observer_ip, 16);
}

static void observe(lp2p_host *h, nat_svc *v, const lp2p_nat_obs *o) {
  size_t i;
  for (i = 0; i < v->nobs; i++)
    if (same_obs(&v->obs[i], o))
      break;
  if (i < v->nobs) {
    if (v->obs[i].observed_port == o->observed_port &&
        !memcmp(v->obs[i].observed_ip, o->observed_ip, 16))
      return; /* nothing new (identify push, a second identify) */
    /* the same connection reported another mapping: the newer one counts */
    memmove(&v->obs[i], &v->obs[i + 1], (v->nobs - i - 1) * sizeof *o);
    v->nobs--;
  }
  if (v->nobs == v->cfg.observations_max) { /* drop the oldest */
    memmove(&v->obs[0], &v->obs[1], (v->nobs - 1) * sizeof *o);
    v->nobs--;
  }
  v->obs[v->nobs++] = *o;
  lp2p_natclass_classify(v->obs, v->nobs, &v->from_obs);
  publish(h, v);
}

static void n_identified(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  (void)now;
  nat_svc *v = state;
  hconn *c = host_conn_get(h, conn);
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  /* only our own outbound socket connections went through our NAT's
   * mapping for this destination */
  if (!v->cfg.observe || !c || !p || c->car || host_conn_limited(c) ||
      c->dir != LP2P_DIR_OUTBOUND || c->local.port == 0 ||
      (c->remote.family != 4 && c->remote.family != 6))
    return;
  lp2p_maddr m;
  if (lp2p_host_peer_observed_addr(h, p, &m) != 0)
    return;
  lp2p_nat_obs o;
  memset(&o, 0, sizeof o);
  uint16_t port;
  if (lp2p_maddr_to_ip_port(&m, &o.family, o.observed_ip, &port, &o.udp) != 0 ||
      o.family != c->remote.family || o.udp)
    return; /* only TCP: our connections are TCP */
  o.observed_port = port;
  o.local_port = c->local.port;
  memcpy(o.observer_ip, c->remote.ip, 16);
  o.observer_port = c->remote.port;
  observe(h, v, &o);
}

/* ---- STUN ------------------------------------------------------------------ */

static void stun_pump(lp2p_host *h, nat_svc *v, lp2p_tstamp now);

static void stun_start(lp2p_host *h, nat_svc *v, lp2p_tstamp now) {
  lp2p_host_raw_info ri;
  lp2p_sockaddr local, *lp = NULL;
  if (lp2p_host_raw_info_get(h, v->udp, &ri) == 0 && ri.local.family) {
    local = ri.local;
    lp = &local;
  }
  lp2p_stun_free(v->stun);
  v->stun = NULL;
  int rc = lp2p_stun_new(&v->stun, &v->cfg.stun_cfg, h->mem, &h->rng, now,
                         &v->cfg.stun[v->server], lp);
  if (rc) {
    v->stun_status = rc;
    v->stun_done = 1;
    return;
  }
  stun_pump(h, v, now);
}

static void stun_pump(lp2p_host *h, nat_svc *v, lp2p_tstamp now) {
  if (!v->stun)
    return;
  size_t len;
  lp2p_sockaddr to;
  const uint8_t *p = lp2p_stun_out_peek(v->stun, &len, &to);
  if (p) {
    /* best effort, like UDP: the engine retransmits */
    lp2p_host_udp_send(h, v->udp, &to, 0, p, len);
    lp2p_stun_out_consume(v->stun);
  }
  lp2p_stun_event e;
  if (!lp2p_stun_poll_event(v->stun, &e))
    return;
  if (e.result.status != 0 && v->server + 1 < v->cfg.nstun) {
    host_logf(h, LP2P_LOG_INFO, "nat stun server %u: %s, next", v->server,
              lp2p_strerror(e.result.status));
    v->server++;
    stun_start(h, v, now);
    return;
  }
  v->stun_res = e.result;
  v->stun_status = e.result.status;
  v->stun_done = 1;
  lp2p_stun_free(v->stun);
  v->stun = NULL;
  lp2p_host_udp_close(h, v->udp); /* one discovery per host life */
  v->udp = 0;
  host_logf(h, LP2P_LOG_INFO, "nat stun: %s mapped=%A mapping=%s filtering=%s",
            e.result.status ? lp2p_strerror(e.result.status) : "done",
            &e.result.mapped, lp2p_nat_behaviour_name(e.result.mapping),
            lp2p_nat_behaviour_name(e.result.filtering));
  publish(h, v);
}

static void n_raw(lp2p_host *h, void *state, uint64_t raw, unsigned what,
                  lp2p_tstamp now) {
  nat_svc *v = state;
  if (raw != v->udp || !v->udp)
    return;
  if (what == LP2P_HOST_EV_UDP_READY) {
    v->udp_ready = 1;
    stun_start(h, v, now);
  } else if (what == LP2P_HOST_EV_RAW_FAILED ||
             what == LP2P_HOST_EV_RAW_CLOSED) {
    v->udp = 0;
    v->stun_status = LP2P_ERR_UNREACHABLE;
    v->stun_done = 1;
    lp2p_stun_free(v->stun);
    v->stun = NULL;
  } else if (what == LP2P_HOST_EV_UDP_READABLE) {
    lp2p_sockaddr from;
    size_t len;
    const uint8_t *p;
    while (v->udp && (p = lp2p_host_udp_recv_peek(h, raw, &from, &len))) {
      if (v->stun && lp2p_stun_is_stun(p, len))
        lp2p_stun_feed(v->stun, now, &from, p, len);
      lp2p_host_udp_recv_consume(h, raw);
      stun_pump(h, v, now); /* may close the socket */
    }
  }
}

/* ---- hooks ------------------------------------------------------------------ */

static int n_init(lp2p_host *h, uint32_t svc, void **state) {
  nat_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  v->svc = svc;
  v->cfg = h->cfg.nat;
  if (v->cfg.observations_max < 2 ||
      v->cfg.observations_max > LP2P_HOST_NAT_OBS_MAX ||
      v->cfg.nstun > LP2P_HOST_NAT_STUN_MAX) {
    lp2p_mem_free(h->mem, v);
    return LP2P_ERR_INVAL;
  }
  for (uint32_t i = 0; i < v->cfg.nstun; i++)
    if (v->cfg.stun[i].family != 4 && v->cfg.stun[i].family != 6) {
      lp2p_mem_free(h->mem, v);
      return LP2P_ERR_INVAL;
    }
  lp2p_nat_class_unknown(&v->cls);
  lp2p_nat_class_unknown(&v->from_obs.cls);
  v->stun_status = v->cfg.nstun ? 1 : LP2P_ERR_NOT_FOUND;
  v->stun_done = v->cfg.nstun == 0;
  v->start_at = v->cfg.nstun ? h->now : LP2P_TSTAMP_NONE;
  *state = v;
  return 0;
}

static void n_fini(lp2p_host *h, void *state) {
  nat_svc *v = state;
  lp2p_stun_free(v->stun); /* the host frees its raw sockets itself */
  lp2p_mem_free(h->mem, v);
}

static lp2p_tstamp n_next(const void *state) {
  const nat_svc *v = state;
  if (v->start_at != LP2P_TSTAMP_NONE)
    return v->start_at;
  return v->stun ? lp2p_stun_next_timeout(v->stun) : LP2P_TSTAMP_NONE;
}

static void n_timers(lp2p_host *h, void *state, lp2p_tstamp now) {
  nat_svc *v = state;
  if (v->start_at != LP2P_TSTAMP_NONE && v->start_at <= now) {
    v->start_at = LP2P_TSTAMP_NONE;
    if (h->closing)
      return;
    lp2p_sockaddr any;
    memset(&any, 0, sizeof any);
    any.family = v->cfg.stun[0].family;
    any.port = v->cfg.stun_local_port;
    if (host_udp_open(h, v->svc + 1, &any, 0, &v->udp) != 0) {
      v->udp = 0;
      v->stun_status = LP2P_ERR_UNREACHABLE;
      v->stun_done = 1;
    }
    return;
  }
  if (v->stun && lp2p_stun_next_timeout(v->stun) <= now) {
    lp2p_stun_handle_timeout(v->stun, now);
    stun_pump(h, v, now);
  }
}

int lp2p_host_nat_info_get(const lp2p_host *h, lp2p_host_nat_info *out) {
  if (!h || !out)
    return LP2P_ERR_INVAL;
  const nat_svc *v = host_svc_state(h, &host_svc_nat_ops, NULL);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  merged(v, &out->cls);
  out->obs_mapping = v->nobs ? v->from_obs.cls.mapping : LP2P_NAT_UNKNOWN;
  out->stun_mapping = v->stun_done && v->stun_res.status == 0
                          ? v->stun_res.mapping
                          : LP2P_NAT_UNKNOWN;
  out->observations = v->nobs;
  out->stun_status = v->stun_done ? v->stun_status : 1;
  const lp2p_natclass_result *r = &v->from_obs;
  if (v->nobs && r->external_port &&
      lp2p_maddr_from_ip_port(&out->external[out->nexternal],
                              r->external_family, r->external_ip,
                              r->external_port, 0) == 0)
    out->nexternal++;
  const lp2p_sockaddr *m = &v->stun_res.mapped;
  if (v->stun_done && v->stun_res.status == 0 && m->family &&
      lp2p_maddr_from_ip_port(&out->external[out->nexternal], m->family, m->ip,
                              m->port, 1) == 0)
    out->nexternal++;
  return 0;
}

const hsvc_ops host_svc_nat_ops = {
    .name = "nat",
    .init = n_init,
    .fini = n_fini,
    .peer_identified = n_identified,
    .raw_activity = n_raw,
    .next_timeout = n_next,
    .handle_timeout = n_timers,
};
