/* nat-classify: the host's NAT service against every one of the 27 NAT
 * types of the simulator (3 mappings x 3 filterings x 3 port
 * allocations). Per type: an RFC 5780 STUN server on two public IPs
 * (stun_sim.c), three public lp2p peers O1 (listening on two ports), O2
 * and O3, and host H behind the NAT with STUN on. H listens on 4001 and
 * dials, one after the other and all from its listen port, O1:4001,
 * O2:4001, O1:4002 and O3:4001; each identify reports the address the
 * peer saw (an address-dependent mapping makes three mappings of them, an
 * address-and-port-dependent one four).
 *
 * Checked against the NAT's configuration (RFC 4787 terms):
 *  - mapping from the observations (TCP) and from STUN (UDP) both equal
 *    the NAT's mapping;
 *  - filtering (STUN) equals the NAT's filtering;
 *  - preserves_port is true exactly for an endpoint-independent,
 *    port-preserving NAT (a per-destination mapping cannot keep the port
 *    twice);
 *  - sequential allocation is seen exactly where the NAT maps per
 *    destination and allocates sequentially (port prediction's input);
 *  - an endpoint-independent mapping gives the external TCP address the
 *    observers agree on, at the NAT's IP. */
#include <stdio.h>
#include <string.h>

#include "lp2p/natclass.h"
#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"
#include "tools/lp2p-sim/stun_sim.h"

#define MIB (1024u * 1024u)

enum { O1 = 0, O2 = 1, O3 = 2, H = 3 };

typedef struct nc {
  shost h[4];
  sim_stun stun;
  int identified, failed, nat_events;
} nc;

static nc g;

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  (void)ud;
  (void)s;
  if (hid != g.h[H].node)
    return;
  if (ev->kind == LP2P_HOST_EV_IDENTIFY_DONE &&
      ev->u.identify.direction == LP2P_DIR_OUTBOUND)
    g.identified++;
  else if (ev->kind == LP2P_HOST_EV_DIAL_FAILED)
    g.failed++;
  else if (ev->kind == LP2P_HOST_EV_NAT_TYPE)
    g.nat_events++;
}

static void tweak(lp2p_host_config *cfg, void *ud) {
  if (!ud)
    return;
  cfg->nat.stun[0] = g.stun.addr[0];
  cfg->nat.nstun = 1;
}

static int identified(void *ud) {
  return g.identified + g.failed >= *(int *)ud;
}

static int stun_done(void *ud) {
  lp2p_host_nat_info ni;
  return lp2p_host_nat_info_get(ud, &ni) == 0 && ni.stun_status != 1;
}

static int dial(lp2p_sim *s, int to, uint16_t port, unsigned flags) {
  lp2p_maddr m;
  int rc = shost_maddr(&m, lp2p_sim_node_ip(s, g.h[to].node), port,
                       &g.h[to].id);
  if (!rc)
    rc = lp2p_host_dial(lp2p_sim_host(s, g.h[H].node), shost_now(s, &g.h[H]),
                        &m, LP2P_DIAL_REUSEPORT | flags, NULL);
  lp2p_sim_host_kick(s, g.h[H].node);
  return rc;
}

static lp2p_nat_behaviour want(int sim_value) {
  return sim_value == 0   ? LP2P_NAT_ENDPOINT_INDEPENDENT
         : sim_value == 1 ? LP2P_NAT_ADDRESS_DEPENDENT
                          : LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
}

/* One NAT type; fills *ni and *nat_ip. Returns 0 when the world ran. */
static int one(scen_ctx *c, const lp2p_sim_nat_config *ncfg,
               lp2p_host_nat_info *ni, uint32_t *nat_ip) {
  memset(&g, 0, sizeof g);
  lp2p_sim *s = scen_world(c, NULL);
  if (!s)
    return LP2P_ERR_NOMEM;
  lp2p_sim_on_host_event(s, on_event, NULL);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 10 * LP2P_NS_PER_MS;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  uint32_t on[3], nat, hn;
  int rc = sim_stun_add(s, &wan, &g.stun);
  for (int i = 0; i < 3 && !rc; i++) {
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &on[i]);
    if (!rc)
      rc = shost_add(s, on[i], 16 * MIB, tweak, NULL, &g.h[i]);
    if (!rc)
      rc = shost_listen(s, &g.h[i], 4001);
  }
  if (!rc) { /* O1's second port: same IP, another port (ADM vs APDM) */
    lp2p_maddr second;
    rc = shost_maddr(&second, lp2p_sim_node_ip(s, on[0]), 4002, NULL);
    if (!rc)
      rc = lp2p_host_listen(lp2p_sim_host(s, on[0]), &second, NULL);
  }
  if (!rc)
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, ncfg, &wan, &wan, &nat);
  if (!rc)
    rc = lp2p_sim_ep_add(s, nat, 0, NULL, &lan, &lan, &hn);
  if (!rc)
    rc = shost_add(s, hn, 16 * MIB, tweak, (void *)1, &g.h[H]);
  if (!rc)
    rc = shost_listen(s, &g.h[H], 4001);
  if (rc) {
    scen_world_done(c, s);
    return rc;
  }
  *nat_ip = lp2p_sim_node_ip(s, nat);
  lp2p_sim_run_until(s, LP2P_NS_PER_S);
  /* one after the other, so the NAT allocates in this order */
  static const struct { int to; uint16_t port; unsigned flags; } d[] = {
      {O1, 4001, 0}, {O2, 4001, 0}, {O1, 4002, LP2P_DIAL_FORCE},
      {O3, 4001, 0}};
  for (int i = 0; i < 4; i++) {
    int n = i + 1;
    if (dial(s, d[i].to, d[i].port, d[i].flags) == 0)
      lp2p_sim_run(s, identified, &n, lp2p_sim_now(s) + 20 * LP2P_NS_PER_S);
  }
  lp2p_host *hh = lp2p_sim_host(s, hn);
  lp2p_sim_run(s, stun_done, hh, lp2p_sim_now(s) + 60 * LP2P_NS_PER_S);
  lp2p_host_nat_info_get(hh, ni);
  scen_world_done(c, s);
  return 0;
}

static int run(scen_ctx *c) {
  unsigned total = 0, good = 0;
  for (int t = 0; t < 27; t++) {
    lp2p_sim_nat_config ncfg;
    lp2p_sim_nat_config_default(&ncfg);
    ncfg.mapping = (lp2p_sim_nat_mapping)(t / 9);
    ncfg.filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
    ncfg.alloc = (lp2p_sim_nat_alloc)(t % 3);
    lp2p_host_nat_info ni;
    memset(&ni, 0, sizeof ni);
    uint32_t nat_ip = 0;
    if (one(c, &ncfg, &ni, &nat_ip) != 0)
      return scen_fail(c, "type %d: world setup failed", t);
    const char *name =
        lp2p_sim_nat_type_name(ncfg.mapping, ncfg.filtering, ncfg.alloc);
    lp2p_nat_behaviour wm = want((int)ncfg.mapping),
                       wf = want((int)ncfg.filtering);
    int dependent = ncfg.mapping != LP2P_SIM_MAP_EI;
    int wp = !dependent && ncfg.alloc == LP2P_SIM_PORT_PRESERVE;
    int wseq = dependent && ncfg.alloc == LP2P_SIM_PORT_SEQUENTIAL;
    /* the external TCP address: the NAT's IP (its port is the NAT's) */
    int ext_ok = 1;
    if (!dependent) {
      lp2p_sockaddr e;
      ext_ok = ni.nexternal >= 1 &&
               lp2p_sockaddr_from_maddr(&e, &ni.external[0]) == 0;
      lp2p_sockaddr ip;
      sim_sockaddr(&ip, nat_ip, 0);
      ext_ok = ext_ok && !memcmp(e.ip, ip.ip, 4);
    }
    int ok = ni.obs_mapping == wm && ni.stun_mapping == wm &&
             ni.cls.mapping == wm && ni.cls.filtering == wf &&
             ni.cls.preserves_port == wp && ni.cls.sequential == wseq &&
             ni.observations == 4 && ext_ok;
    scen_line(c,
              "NAT %s mapping obs %s stun %s filtering %s preserves_port %d "
              "sequential %d stride %u observations %zu %s",
              name, lp2p_nat_behaviour_name(ni.obs_mapping),
              lp2p_nat_behaviour_name(ni.stun_mapping),
              lp2p_nat_behaviour_name(ni.cls.filtering),
              ni.cls.preserves_port, ni.cls.sequential,
              (unsigned)ni.cls.port_stride, ni.observations,
              ok ? "ok" : "MISMATCH");
    total++;
    good += ok ? 1u : 0u;
    if (!ok)
      scen_fail(c, "NAT %s: classified wrong", name);
  }
  scen_line(c, "types %u classified-right %u", total, good);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_nat_classify = {
    "nat-classify",
    "the NAT service (observations + STUN) against all 27 NAT types",
    run};
