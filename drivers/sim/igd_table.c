/* The IGD's mapping table (igd.h): leases on the virtual clock, each
 * mapping a port forward in the simulated NAT box, and the epoch of
 * NAT-PMP and PCP answers (seconds since the boot). */
#include <string.h>

#include "drivers/sim/igd.h"
#include "lp2p/multiaddr.h"
#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"

void igd_init(sim_igd *g, const lp2p_sim_igd_config *cfg, sim_nat *nat,
              uint32_t lan_ip, uint32_t ext_ip, lp2p_tstamp now) {
  memset(g, 0, sizeof *g);
  g->cfg = *cfg;
  if (g->cfg.entries_max == 0 || g->cfg.entries_max > IGD_ENTRIES_MAX)
    g->cfg.entries_max = IGD_ENTRIES_MAX;
  g->nat = nat;
  g->lan_ip = lan_ip;
  g->ext_ip = ext_ip;
  g->boot = now;
  g->next_port = 20000;
}

int igd_entry_live(const igd_entry *e, lp2p_tstamp now) {
  return e->used && (e->until == LP2P_TSTAMP_NONE || e->until > now);
}

size_t igd_live(const sim_igd *g, lp2p_tstamp now) {
  size_t k = 0;
  for (size_t i = 0; i < IGD_ENTRIES_MAX; i++)
    k += igd_entry_live(&g->e[i], now) ? 1u : 0u;
  return k;
}

void igd_reset(sim_igd *g, lp2p_tstamp now) {
  memset(g->e, 0, sizeof g->e);
  sim_nat_reset(g->nat);
  g->boot = now;
}

uint32_t igd_epoch(const sim_igd *g, lp2p_tstamp now) {
  return (uint32_t)((now - g->boot) / LP2P_NS_PER_S);
}

igd_entry *igd_by_port(sim_igd *g, uint8_t proto, uint16_t ext_port,
                       lp2p_tstamp now) {
  for (size_t i = 0; i < IGD_ENTRIES_MAX; i++)
    if (igd_entry_live(&g->e[i], now) && g->e[i].proto == proto &&
        g->e[i].ext_port == ext_port)
      return &g->e[i];
  return NULL;
}

igd_entry *igd_by_internal(sim_igd *g, uint8_t proto, uint32_t ip,
                           uint16_t port, lp2p_tstamp now) {
  for (size_t i = 0; i < IGD_ENTRIES_MAX; i++)
    if (igd_entry_live(&g->e[i], now) && g->e[i].proto == proto &&
        g->e[i].int_ip == ip && g->e[i].int_port == port)
      return &g->e[i];
  return NULL;
}

void igd_drop_entry(sim_igd *g, igd_entry *e, lp2p_tstamp now) {
  sim_nat_fwd_del(g->nat, e->proto, e->ext_port, now);
  e->used = 0;
}

int igd_map(sim_igd *g, uint8_t by, uint8_t proto, uint16_t ext_port,
            uint32_t int_ip, uint16_t int_port, uint32_t lease_s,
            lp2p_tstamp now, igd_entry **out) {
  lp2p_tstamp until =
      lease_s ? now + (uint64_t)lease_s * LP2P_NS_PER_S : LP2P_TSTAMP_NONE;
  igd_entry *e = igd_by_port(g, proto, ext_port, now);
  if (e && (e->int_ip != int_ip || e->int_port != int_port))
    return LP2P_ERR_INVAL;
  if (!e) {
    size_t used = 0;
    for (size_t i = 0; i < IGD_ENTRIES_MAX; i++) {
      if (g->e[i].used && !igd_entry_live(&g->e[i], now))
        igd_drop_entry(g, &g->e[i], now); /* expired: its slot is free */
      used += g->e[i].used;
    }
    if (used >= g->cfg.entries_max)
      return LP2P_ERR_LIMIT;
    if (!sim_nat_port_free(g->nat, proto, ext_port, now))
      return LP2P_ERR_INVAL; /* a session of someone's own uses it */
    for (size_t i = 0; i < IGD_ENTRIES_MAX && !e; i++)
      if (!g->e[i].used)
        e = &g->e[i];
    memset(e, 0, sizeof *e);
    e->proto = proto;
    e->ext_port = ext_port;
    e->int_ip = int_ip;
    e->int_port = int_port;
    g->st.mapped++;
  } else {
    g->st.renewed++;
  }
  int rc =
      sim_nat_fwd_add(g->nat, proto, ext_port, int_ip, int_port, until, now);
  if (rc != 0) {
    if (!e->used)
      g->st.mapped--;
    return rc;
  }
  e->used = 1;
  e->by = by;
  e->until = until;
  if (out)
    *out = e;
  return 0;
}

/* A free external port for a new mapping, near `want` when that is taken
 * (0 when the table has none). */
uint16_t igd_free_port(sim_igd *g, uint8_t proto, uint16_t want,
                       lp2p_tstamp now) {
  if (want >= 1024 && !igd_by_port(g, proto, want, now) &&
      sim_nat_port_free(g->nat, proto, want, now))
    return want;
  for (uint32_t i = 0; i < 64512; i++) {
    uint16_t p = g->next_port;
    g->next_port = (uint16_t)(p >= 65535 ? 1024 : p + 1);
    if (!igd_by_port(g, proto, p, now) &&
        sim_nat_port_free(g->nat, proto, p, now))
      return p;
  }
  return 0;
}

uint32_t igd_cap_lease(const sim_igd *g, uint32_t lease_s) {
  return lease_s > g->cfg.lease_max_s ? g->cfg.lease_max_s : lease_s;
}
