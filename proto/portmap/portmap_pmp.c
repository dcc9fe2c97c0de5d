/* PCP (RFC 6887) and NAT-PMP (RFC 6886) rungs of the portmap service:
 * the pure engines (pcp.h, natpmp.h) over the service's UDP socket to the
 * gateway's port 5351. Tag i + 1 is map i's request; PM_TAG_ADDR the
 * NAT-PMP external address request; PM_TAG_DEL + i a delete. */
#include "proto/portmap/portmap_internal.h"

#define PM_TAG_DEL 0x200u

static uint8_t reason_of(int err) {
  return err == LP2P_ERR_TIMEOUT       ? (uint8_t)LP2P_PORTMAP_R_TIMEOUT
         : err == LP2P_ERR_UNSUPPORTED ? (uint8_t)LP2P_PORTMAP_R_UNSUPPORTED
                                       : (uint8_t)LP2P_PORTMAP_R_REFUSED;
}

/* Send what the running engine has queued, while the socket is bound. */
static void flush(lp2p_host *h, pm_svc *st) {
  lp2p_sockaddr to;
  size_t len;
  const uint8_t *p;
  if (!pm_udp(h, st))
    return; /* UDP_READY brings us back */
  for (;;) {
    if (st->pcp && (p = lp2p_pcp_out_peek(st->pcp, &to, &len)) != NULL) {
      pm_send(h, st, &to, p, len);
      lp2p_pcp_out_consume(st->pcp);
    } else if (st->nat &&
               (p = lp2p_natpmp_out_peek(st->nat, &to, &len)) != NULL) {
      pm_send(h, st, &to, p, len);
      lp2p_natpmp_out_consume(st->nat);
    } else {
      return;
    }
  }
}

int pm_pcp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  (void)now;
  lp2p_sockaddr local;
  pm_local_addr(h, st, &local);
  if (local.family != 4)
    return LP2P_PORTMAP_R_NO_LOCAL;
  lp2p_pcp_config cfg;
  lp2p_pcp_config_default(&cfg);
  cfg.mrc = 4; /* 3 + 6 + 12 s of silence (RFC 6887 8.1.1): then NAT-PMP */
  if (lp2p_pcp_new(&st->pcp, &cfg, h->mem, &h->rng, &st->gateway, &local))
    return LP2P_PORTMAP_R_UNSUPPORTED;
  pm_udp(h, st);
  return 0;
}

int pm_natpmp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  lp2p_natpmp_config cfg;
  lp2p_natpmp_config_default(&cfg);
  cfg.tries_max = 6; /* 250 ms doubling: ~16 s (RFC 6886 3.1 allows 9) */
  if (lp2p_natpmp_new(&st->nat, &cfg, h->mem, &st->gateway))
    return LP2P_PORTMAP_R_UNSUPPORTED;
  /* The external address first: a private one means a double NAT and no
   * mapping is asked for (RFC 6886 3.2). */
  st->addr_asked = lp2p_natpmp_request_addr(st->nat, now, PM_TAG_ADDR) == 0;
  flush(h, st);
  return 0;
}

void pm_pmp_stop(pm_svc *st) {
  lp2p_pcp_free(st->pcp);
  st->pcp = NULL;
  lp2p_natpmp_free(st->nat);
  st->nat = NULL;
  st->addr_asked = 0;
}

static pm_map *map_of(pm_svc *st, uint64_t tag) {
  if (tag < 1 || tag > PM_MAPS_MAX || !st->maps[tag - 1].used)
    return NULL;
  return &st->maps[tag - 1];
}

static void pcp_events(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  lp2p_pcp_event e;
  lp2p_pcp *c = st->pcp;
  while (st->pcp == c && lp2p_pcp_poll_event(c, &e) == 1) {
    if (e.type == LP2P_PCP_EV_LOST) {
      pm_all_lost(h, st, LP2P_PORTMAP_R_EPOCH, now);
      continue;
    }
    pm_map *m = map_of(st, e.tag);
    if (!m || m->state != PM_BUSY)
      continue; /* a delete's answer, or a map gone meanwhile */
    if (e.type == LP2P_PCP_EV_FAILED) {
      pm_request_failed(h, st, m,
                        e.natpmp ? (uint8_t)LP2P_PORTMAP_R_UNSUPPORTED
                                 : reason_of(e.err),
                        now);
      continue;
    }
    const uint8_t *ip = e.external_ip + 12; /* ::ffff:a.b.c.d (RFC 6887 5) */
    if (lp2p_portmap_ip4_is_private(ip)) {
      /* Mapped on a router that is itself behind a NAT: take it back. */
      lp2p_pcp_request_map(c, now, PM_TAG_DEL + (uint64_t)(m - st->maps),
                           LP2P_PCP_PROTO_TCP, m->internal_port, NULL, 0,
                           e.nonce);
      flush(h, st);
      pm_external_ip(h, st, ip, now);
      return;
    }
    memcpy(st->ext_ip, ip, 4);
    st->have_ext = 1;
    memcpy(m->ext_ip, ip, 4);
    memcpy(m->nonce, e.nonce, sizeof m->nonce);
    m->have_nonce = 1;
    m->external_port = e.external_port;
    m->lifetime_s = e.lifetime_s;
    pm_granted(h, st, m, now);
  }
}

static void natpmp_events(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  lp2p_natpmp_event e;
  lp2p_natpmp *c = st->nat;
  while (st->nat == c && lp2p_natpmp_poll_event(c, &e) == 1) {
    if (e.type == LP2P_NATPMP_EV_LOST) {
      pm_all_lost(h, st, LP2P_PORTMAP_R_EPOCH, now);
      continue;
    }
    if (e.tag == PM_TAG_ADDR) {
      st->addr_asked = 0;
      if (e.type == LP2P_NATPMP_EV_FAILED) {
        pm_rung_failed(h, st, reason_of(e.err), now);
        return;
      }
      if (pm_external_ip(h, st, e.external_ip, now))
        return;
      continue;
    }
    pm_map *m = map_of(st, e.tag);
    if (!m || m->state != PM_BUSY)
      continue;
    if (e.type == LP2P_NATPMP_EV_FAILED) {
      pm_request_failed(h, st, m, reason_of(e.err), now);
      continue;
    }
    memcpy(m->ext_ip, st->ext_ip, 4);
    m->external_port = e.external_port;
    m->lifetime_s = e.lifetime_s;
    pm_granted(h, st, m, now);
  }
}

static void events(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->pcp)
    pcp_events(h, st, now);
  if (st->nat)
    natpmp_events(h, st, now);
}

void pm_pmp_step(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used || m->state != PM_IDLE)
      continue;
    /* Renewals ask for the port we hold (RFC 6886 3.3, RFC 6887 11.2). */
    uint16_t want = m->mapped ? m->external_port : m->internal_port;
    int rc;
    if (st->pcp) {
      lp2p_sockaddr sug;
      memset(&sug, 0, sizeof sug);
      sug.port = want;
      /* The same nonce for the mapping's whole life (RFC 6887 11.2),
       * also when it is made again after the server lost its state
       * (8.5): a renewal may already have re-created it on the rebooted
       * server, which refuses another nonce with NOT_AUTHORIZED (11.3). */
      rc = lp2p_pcp_request_map(st->pcp, now, (uint64_t)i + 1,
                                LP2P_PCP_PROTO_TCP, m->internal_port, &sug,
                                st->cfg.lease_s,
                                m->have_nonce ? m->nonce : NULL);
    } else if (st->nat && st->have_ext) {
      rc = lp2p_natpmp_request_map(st->nat, now, (uint64_t)i + 1, 0,
                                   m->internal_port, want, st->cfg.lease_s);
    } else {
      continue;
    }
    if (rc == 0)
      m->state = PM_BUSY;
  }
  flush(h, st);
  events(h, st, now);
}

void pm_pmp_datagram(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *from,
                     const uint8_t *p, size_t n, lp2p_tstamp now) {
  if (st->pcp)
    lp2p_pcp_feed(st->pcp, now, from, p, n);
  else if (st->nat)
    lp2p_natpmp_feed(st->nat, now, from, p, n);
  events(h, st, now);
  flush(h, st);
}

lp2p_tstamp pm_pmp_next_timeout(const pm_svc *st) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  if (st->pcp)
    t = lp2p_pcp_next_timeout(st->pcp);
  if (st->nat) {
    lp2p_tstamp u = lp2p_natpmp_next_timeout(st->nat);
    if (u < t)
      t = u;
  }
  return t;
}

void pm_pmp_timeout(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->pcp)
    lp2p_pcp_handle_timeout(st->pcp, now);
  if (st->nat)
    lp2p_natpmp_handle_timeout(st->nat, now);
  events(h, st, now);
  flush(h, st);
}

void pm_pmp_delete_all(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used || !m->mapped)
      continue;
    uint64_t tag = (uint64_t)i + 1;
    /* RFC 6887 15 and RFC 6886 3.4: lifetime 0 deletes; PCP matches the
     * mapping by its nonce. */
    if (st->pcp) {
      lp2p_pcp_cancel(st->pcp, tag);
      lp2p_pcp_request_map(st->pcp, now, PM_TAG_DEL + (uint64_t)i,
                           LP2P_PCP_PROTO_TCP, m->internal_port, NULL, 0,
                           m->nonce);
    } else if (st->nat) {
      lp2p_natpmp_cancel(st->nat, tag);
      lp2p_natpmp_request_map(st->nat, now, PM_TAG_DEL + (uint64_t)i, 0,
                              m->internal_port, 0, 0);
    }
  }
  flush(h, st);
}
