/* The portmap service: keeps each private TCP listen port of the host
 * mapped on the home router. Thin glue over the pure engines (upnp.h,
 * pcp.h, natpmp.h): which ports to map (local_changed), the method ladder
 * (UPnP IGD, then PCP, then NAT-PMP, or the one configured), the events
 * and the address manager, the lease timers.
 *
 * Leases are cfg.lease_s (1 h) and renewed at half (RFC 6886 3.3 and RFC
 * 6887 11.2.1 recommend renewing well before expiry; UPnP IGD leases are
 * refreshed by repeating AddPortMapping, WANIPConnection:2 2.5.16). An
 * external address that is itself private or CGNAT means another NAT
 * beyond this router: a mapping would reach nobody, so none is made and
 * PORT_MAPPING_FAILED says DOUBLE_NAT. */
#include "proto/portmap/portmap_internal.h"

static void ev(lp2p_host *h, lp2p_host_event_kind kind, const pm_map *m,
               int method, uint8_t reason) {
  hevent *e = host_ev_push(h, kind);
  e->u.portmap.method = method;
  e->u.portmap.reason = reason;
  e->u.portmap.internal_port = m->internal_port;
  if (kind != LP2P_HOST_EV_PORT_MAPPING_FAILED) {
    memcpy(e->u.portmap.external_ip, m->ext_ip, 4);
    e->u.portmap.external_port = m->external_port;
    e->u.portmap.lifetime_s = m->lifetime_s;
  }
}

/* /ip4/EXT/tcp/PORT of a mapping. */
static int map_maddr(const pm_map *m, lp2p_maddr *out) {
  lp2p_sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.family = 4;
  memcpy(sa.ip, m->ext_ip, 4);
  sa.port = m->external_port;
  return lp2p_sockaddr_to_maddr(out, &sa);
}

static void advertise(lp2p_host *h, const pm_map *m, int add,
                      lp2p_tstamp now) {
  lp2p_maddr ma;
  if (map_maddr(m, &ma) == 0)
    host_addr_mapped(h, now, &ma, add);
}

void pm_granted(lp2p_host *h, pm_svc *st, pm_map *m, lp2p_tstamp now) {
  int was = m->mapped;
  m->state = PM_MAPPED;
  m->mapped = 1;
  m->method = st->method;
  m->tries = 0;
  m->renew_at = m->lifetime_s
                    ? host_add_ns(now, (uint64_t)m->lifetime_s / 2 *
                                           LP2P_NS_PER_S)
                    : LP2P_TSTAMP_NONE;
  if (!was) {
    advertise(h, m, 1, now);
    ev(h, LP2P_HOST_EV_PORT_MAPPED, m, st->method, 0);
    host_logf(h, LP2P_LOG_INFO, "portmap: port %u mapped to %u via %s",
              (unsigned)m->internal_port, (unsigned)m->external_port,
              lp2p_portmap_method_name((lp2p_portmap_method)st->method));
  }
}

static void lose(lp2p_host *h, pm_svc *st, pm_map *m, uint8_t reason,
                 lp2p_tstamp now) {
  advertise(h, m, 0, now);
  ev(h, LP2P_HOST_EV_PORT_MAPPING_LOST, m, m->method, reason);
  m->mapped = 0;
  m->state = PM_IDLE; /* map again */
  m->tries = 0;
  m->renew_at = LP2P_TSTAMP_NONE;
  (void)st;
}

void pm_all_lost(lp2p_host *h, pm_svc *st, uint8_t reason, lp2p_tstamp now) {
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (m->used && m->mapped)
      lose(h, st, m, reason, now);
  }
}

static void fail_map(lp2p_host *h, pm_svc *st, pm_map *m, uint8_t reason,
                     lp2p_tstamp now) {
  m->state = PM_FAILED;
  m->retry_at = host_add_ns(now, st->cfg.retry_ns);
  ev(h, LP2P_HOST_EV_PORT_MAPPING_FAILED, m, st->method, reason);
  host_logf(h, LP2P_LOG_INFO, "portmap: port %u not mapped: %s",
            (unsigned)m->internal_port,
            lp2p_portmap_reason_name((lp2p_portmap_reason)reason));
}

void pm_request_failed(lp2p_host *h, pm_svc *st, pm_map *m, uint8_t reason,
                       lp2p_tstamp now) {
  if (m->mapped) {
    lose(h, st, m, LP2P_PORTMAP_R_RENEWAL, now);
    return;
  }
  /* A gateway that refuses one port is not worth a new rung: only
   * silence or "unsupported" moves the ladder on. */
  if (reason == LP2P_PORTMAP_R_TIMEOUT ||
      reason == LP2P_PORTMAP_R_UNSUPPORTED) {
    int any = 0;
    for (int i = 0; i < PM_MAPS_MAX; i++)
      any |= st->maps[i].used && st->maps[i].mapped;
    if (!any) {
      pm_rung_failed(h, st, reason, now);
      return;
    }
  }
  fail_map(h, st, m, reason, now);
}

static void stop_rung(lp2p_host *h, pm_svc *st) {
  pm_upnp_stop(h, st);
  pm_pmp_stop(st);
  st->have_ext = 0;
  st->deadline = LP2P_TSTAMP_NONE;
}

/* Start rung `method`; 0, or the reason it cannot start. */
static uint8_t start_rung(lp2p_host *h, pm_svc *st, uint8_t method,
                          lp2p_tstamp now) {
  st->method = method;
  for (int i = 0; i < PM_MAPS_MAX; i++)
    if (st->maps[i].used && !st->maps[i].mapped)
      st->maps[i].state = PM_IDLE;
  switch (method) {
  case LP2P_PORTMAP_UPNP:
    st->phase = PH_UPNP_SEARCH;
    pm_upnp_start(h, st, now);
    return 0;
  case LP2P_PORTMAP_PCP:
    if (st->gateway.family != 4)
      return LP2P_PORTMAP_R_NO_GATEWAY;
    st->phase = PH_PCP;
    return (uint8_t)pm_pcp_start(h, st, now);
  case LP2P_PORTMAP_NATPMP:
    if (st->gateway.family != 4)
      return LP2P_PORTMAP_R_NO_GATEWAY;
    st->phase = PH_NATPMP;
    return (uint8_t)pm_natpmp_start(h, st, now);
  }
  return LP2P_PORTMAP_R_UNSUPPORTED;
}

/* The rung after `method` on the configured ladder, 0 at the end. */
static uint8_t next_rung(const pm_svc *st, uint8_t method) {
  if (st->cfg.method != LP2P_PORTMAP_AUTO)
    return 0;
  if (method == LP2P_PORTMAP_UPNP)
    return LP2P_PORTMAP_PCP;
  if (method == LP2P_PORTMAP_PCP)
    return LP2P_PORTMAP_NATPMP;
  return 0;
}

void pm_rung_failed(lp2p_host *h, pm_svc *st, uint8_t reason,
                    lp2p_tstamp now) {
  stop_rung(h, st);
  /* "No gateway" is the better reason when UPnP found nothing and the
   * other rungs had no address to ask. */
  if (reason != LP2P_PORTMAP_R_NO_GATEWAY || !st->reason)
    st->reason = reason;
  for (uint8_t m = next_rung(st, st->method); m; m = next_rung(st, m)) {
    uint8_t r = start_rung(h, st, m, now);
    if (!r)
      return;
    if (st->reason == LP2P_PORTMAP_R_TIMEOUT && r == LP2P_PORTMAP_R_NO_GATEWAY)
      st->reason = r;
  }
  st->phase = PH_FAILED;
  st->retry_at = host_add_ns(now, st->cfg.retry_ns);
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (m->used && !m->mapped && m->state != PM_FAILED)
      fail_map(h, st, m, st->reason, now);
  }
}

int pm_external_ip(lp2p_host *h, pm_svc *st, const uint8_t ip[4],
                   lp2p_tstamp now) {
  memcpy(st->ext_ip, ip, 4);
  st->have_ext = 1;
  if (!lp2p_portmap_ip4_is_private(ip))
    return 0;
  host_logf(h, LP2P_LOG_INFO,
            "portmap: external address %u.%u.%u.%u is private: double NAT",
            ip[0], ip[1], ip[2], ip[3]);
  pm_rung_failed(h, st, LP2P_PORTMAP_R_DOUBLE_NAT, now);
  return 1;
}

/* ---- our own addresses --------------------------------------------------- */

static int ip4_is_rfc1918(const uint8_t *ip) {
  return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
         (ip[0] == 192 && ip[1] == 168);
}

void pm_local_addr(lp2p_host *h, pm_svc *st, lp2p_sockaddr *out) {
  memset(out, 0, sizeof *out);
  if (st->local.family == 4) {
    *out = st->local;
    return;
  }
  /* A specific private listen address, else an INTERFACE one. */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < h->naddrs; i++) {
      const hhaddr *a = &h->addrs[i];
      uint8_t want = pass ? LP2P_ADDR_INTERFACE : LP2P_ADDR_LISTEN;
      const uint8_t *v;
      size_t vl;
      if (a->kind != want ||
          lp2p_maddr_find(&a->addr, LP2P_MA_IP4, &v, &vl) != 0 || vl != 4 ||
          !ip4_is_rfc1918(v))
        continue;
      out->family = 4;
      memcpy(out->ip, v, 4);
      return;
    }
}

/* Which listen ports to map: ACTIVE TCP listeners on IPv4 addresses that
 * are private (RFC 1918) or unspecified; not loopback, not public (a
 * public address needs no mapping). */
static void sync_ports(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  for (int i = 0; i < PM_MAPS_MAX; i++)
    st->maps[i].seen = 0;
  for (uint32_t i = 0; i < h->naddrs; i++) {
    const hhaddr *a = &h->addrs[i];
    lp2p_sockaddr sa;
    if (a->kind != LP2P_ADDR_LISTEN || a->status != LP2P_ADDR_ACTIVE ||
        lp2p_sockaddr_from_maddr(&sa, &a->addr) != 0 || sa.family != 4 ||
        sa.port == 0)
      continue;
    if (!host_sockaddr_unspecified(&sa) && !ip4_is_rfc1918(sa.ip))
      continue;
    pm_map *m = NULL, *free_slot = NULL;
    uint32_t n = 0;
    for (int k = 0; k < PM_MAPS_MAX; k++) {
      if (st->maps[k].used) {
        n++;
        if (st->maps[k].internal_port == sa.port)
          m = &st->maps[k];
      } else if (!free_slot) {
        free_slot = &st->maps[k];
      }
    }
    if (!m) {
      if (!free_slot || n >= st->cfg.mappings_max)
        continue;
      m = free_slot;
      memset(m, 0, sizeof *m);
      m->used = 1;
      m->internal_port = sa.port;
      m->lease_ask = st->cfg.lease_s;
      m->renew_at = m->retry_at = LP2P_TSTAMP_NONE;
      if (st->phase == PH_FAILED) {
        m->state = PM_FAILED; /* its turn comes with the retry */
        m->retry_at = st->retry_at;
      }
    }
    m->seen = 1;
  }
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used || m->seen || m->state == PM_BUSY)
      continue;
    /* The listener went: its mapping stays until the lease runs out or
     * the host closes (a DELETE needs the exchange slot); forget it. */
    if (m->mapped)
      advertise(h, m, 0, now);
    m->used = 0;
  }
}

/* ---- the ladder ------------------------------------------------------------ */

static void step(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->cfg.method == LP2P_PORTMAP_OFF || st->closing)
    return;
  int want = 0;
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used)
      continue;
    if (m->state == PM_FAILED && m->retry_at <= now && st->phase != PH_FAILED)
      m->state = PM_IDLE;
    want |= m->state != PM_FAILED;
  }
  if (st->phase == PH_FAILED && st->retry_at <= now) {
    st->phase = PH_IDLE;
    for (int i = 0; i < PM_MAPS_MAX; i++)
      if (st->maps[i].used && st->maps[i].state == PM_FAILED)
        st->maps[i].state = PM_IDLE, want = 1;
  }
  if (!want && st->phase == PH_IDLE)
    return;
  if (st->phase == PH_IDLE) {
    st->reason = 0;
    uint8_t first = st->cfg.method == LP2P_PORTMAP_AUTO
                        ? (uint8_t)LP2P_PORTMAP_UPNP
                        : (uint8_t)st->cfg.method;
    uint8_t r = start_rung(h, st, first, now);
    if (r) {
      pm_rung_failed(h, st, r, now);
      return;
    }
  }
  if (st->phase == PH_UPNP || st->phase == PH_UPNP_SEARCH)
    pm_upnp_step(h, st, now);
  else if (st->phase == PH_PCP || st->phase == PH_NATPMP)
    pm_pmp_step(h, st, now);
}

/* ---- the UDP socket (SSDP, PCP, NAT-PMP) ---------------------------------- */

int pm_udp(lp2p_host *h, pm_svc *st) {
  if (!st->udp) {
    lp2p_sockaddr any;
    memset(&any, 0, sizeof any);
    any.family = 4;
    st->udp_ready = 0;
    if (host_udp_open(h, st->svc + 1, &any, 0, &st->udp) != 0)
      st->udp = 0;
  }
  return st->udp && st->udp_ready;
}

void pm_send(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *to,
             const uint8_t *p, size_t n) {
  if (st->udp && st->udp_ready)
    lp2p_host_udp_send(h, st->udp, to, 0, p, n); /* best effort: lost
                                                    datagrams are resent */
}

/* ---- hooks ------------------------------------------------------------------ */

static int pm_init(lp2p_host *h, uint32_t svc, void **state) {
  pm_svc *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return LP2P_ERR_NOMEM;
  st->svc = svc;
  st->cfg = h->cfg.portmap;
  if (st->cfg.lease_s == 0 || st->cfg.mappings_max == 0 ||
      st->cfg.conflict_tries_max == 0 || st->cfg.ssdp_wait_ns == 0 ||
      st->cfg.http_timeout_ns == 0) {
    lp2p_mem_free(h->mem, st);
    return LP2P_ERR_INVAL;
  }
  if (st->cfg.mappings_max > PM_MAPS_MAX)
    st->cfg.mappings_max = PM_MAPS_MAX;
  st->gateway = st->cfg.gateway;
  st->local = st->cfg.local;
  st->deadline = st->retry_at = LP2P_TSTAMP_NONE;
  *state = st;
  return 0;
}

static void pm_fini(lp2p_host *h, void *state) {
  pm_svc *st = state;
  if (!st)
    return;
  /* The host frees its raw sockets itself: only our own memory here. */
  lp2p_mem_free(h->mem, st->http.body);
  pm_pmp_stop(st);
  lp2p_mem_free(h->mem, st);
}

static void pm_local_changed(lp2p_host *h, void *state, unsigned what,
                             lp2p_tstamp now) {
  pm_svc *st = state;
  if (!(what & HSVC_LOCAL_ADDRS) || st->cfg.method == LP2P_PORTMAP_OFF ||
      st->closing)
    return;
  sync_ports(h, st, now);
  step(h, st, now);
}

/* The host closes (seen on the first socket it closes under us): delete
 * what we mapped. PCP and NAT-PMP deletes are datagrams queued while the
 * UDP socket is still there (host_raw.c sends them before it closes it);
 * UPnP deletes go over new connections the close waits for
 * (host_raw_connect's "last word"). A running exchange is dropped. No
 * events from here on. */
static void enter_closing(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  st->closing = 1;
  pm_pmp_delete_all(h, st, now);
  if (st->http.op != OP_NONE)
    pm_upnp_stop_op(h, st);
  pm_upnp_close_next(h, st, now);
}

static void pm_raw_activity(lp2p_host *h, void *state, uint64_t raw,
                            unsigned what, lp2p_tstamp now) {
  pm_svc *st = state;
  if (h->closing && !st->closing)
    enter_closing(h, st, now);
  if (raw != st->udp || !st->udp) {
    pm_upnp_raw(h, st, raw, what, now);
    step(h, st, now);
    return;
  }
  if (what == LP2P_HOST_EV_UDP_READY) {
    st->udp_ready = 1;
  } else if (what == LP2P_HOST_EV_RAW_FAILED ||
             what == LP2P_HOST_EV_RAW_CLOSED) {
    st->udp = 0;
    st->udp_ready = 0;
  } else if (what == LP2P_HOST_EV_UDP_READABLE) {
    lp2p_sockaddr from;
    size_t len;
    const uint8_t *p;
    while ((p = lp2p_host_udp_recv_peek(h, raw, &from, &len)) != NULL) {
      if (from.port == LP2P_PCP_PORT)
        pm_pmp_datagram(h, st, &from, p, len, now);
      else
        pm_upnp_datagram(h, st, &from, p, len, now);
      lp2p_host_udp_recv_consume(h, raw);
      if (raw != st->udp)
        break; /* the handlers closed it */
    }
  }
  step(h, st, now);
}

static lp2p_tstamp pm_next_timeout(const void *state) {
  const pm_svc *st = state;
  if (st->closing) /* only the deletes' exchange runs */
    return st->http.op != OP_NONE ? st->http.deadline : LP2P_TSTAMP_NONE;
  if (st->cfg.method == LP2P_PORTMAP_OFF)
    return LP2P_TSTAMP_NONE;
  lp2p_tstamp t = st->deadline;
  if (st->phase == PH_FAILED && st->retry_at < t)
    t = st->retry_at;
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    const pm_map *m = &st->maps[i];
    if (!m->used)
      continue;
    if (m->state == PM_MAPPED && m->renew_at < t)
      t = m->renew_at;
    if (m->state == PM_FAILED && m->retry_at < t)
      t = m->retry_at;
  }
  lp2p_tstamp u = pm_upnp_next_timeout(st);
  if (u < t)
    t = u;
  u = pm_pmp_next_timeout(st);
  return u < t ? u : t;
}

static void pm_handle_timeout(lp2p_host *h, void *state, lp2p_tstamp now) {
  pm_svc *st = state;
  if (st->closing) {
    pm_upnp_timeout(h, st, now); /* a delete that hangs: the next one */
    return;
  }
  pm_upnp_timeout(h, st, now);
  pm_pmp_timeout(h, st, now);
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (m->used && m->state == PM_MAPPED && m->renew_at <= now)
      m->state = PM_IDLE; /* renewal: the same request again */
  }
  step(h, st, now);
}

const hsvc_ops host_svc_portmap_ops = {
    .name = "portmap",
    .init = pm_init,
    .fini = pm_fini,
    .local_changed = pm_local_changed,
    .raw_activity = pm_raw_activity,
    .next_timeout = pm_next_timeout,
    .handle_timeout = pm_handle_timeout,
};

int lp2p_host_portmap_set_gateway(lp2p_host *h, lp2p_tstamp now,
                                  const lp2p_sockaddr *gateway,
                                  const lp2p_sockaddr *local) {
  if (!h || !gateway || gateway->family != 4)
    return LP2P_ERR_INVAL;
  uint32_t svc;
  pm_svc *st = host_svc_state(h, &host_svc_portmap_ops, &svc);
  if (!st)
    return LP2P_ERR_UNSUPPORTED;
  host_now(h, now);
  /* What the configuration names wins over what the driver found. */
  if (st->cfg.gateway.family != 4) {
    st->gateway = *gateway;
    st->gateway.port = LP2P_PCP_PORT;
  }
  if (local && local->family == 4 && st->cfg.local.family != 4)
    st->local = *local;
  /* A ladder that failed for want of a gateway starts again now. */
  if (st->phase == PH_FAILED && st->reason == LP2P_PORTMAP_R_NO_GATEWAY)
    st->retry_at = now;
  step(h, st, now);
  host_svc_timer_update(h, svc);
  return 0;
}
