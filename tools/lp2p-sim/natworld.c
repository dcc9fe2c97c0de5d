/* The shared NAT-type world of nat-dialout and nat-dialin. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p-sim/natworld.h"

#define MIB (1024u * 1024u)

void nw_ip_text(uint32_t ip, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
           ip & 255);
}

const char *nw_type(const nat_world *w, int t) {
  const lp2p_sim_nat_config *n = &w->ncfg[t];
  return lp2p_sim_nat_type_name(n->mapping, n->filtering, n->alloc);
}

int nw_index(const nat_world *w, uint32_t node) {
  for (int t = 0; t < NW_TYPES; t++)
    if (w->h[t].node == node)
      return t;
  return -1;
}

int nw_build(nat_world *w, scen_ctx *c, int rst_odd,
             lp2p_sim_host_event_fn fn) {
  return nw_build_with(w, c, rst_odd, 1, fn, NULL, NULL);
}

int nw_build_with(nat_world *w, scen_ctx *c, int rst_odd, int skew,
                  lp2p_sim_host_event_fn fn,
                  void (*pub_tweak)(lp2p_host_config *cfg, void *ud),
                  void (*nat_tweak)(lp2p_host_config *cfg, void *ud)) {
  memset(w, 0, sizeof(*w));
  w->c = c;
  w->s = scen_world(c, NULL);
  if (!w->s)
    return LP2P_ERR_NOMEM;
  lp2p_sim *s = w->s;
  lp2p_sim_on_host_event(s, fn, w);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 15 * LP2P_NS_PER_MS;
  wan.jitter_ns = 3 * LP2P_NS_PER_MS;
  wan.loss_ppm = 2000;
  wan.bandwidth_bps = 20000000;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  uint32_t pn;
  int rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &pn);
  if (!rc)
    rc = shost_add(s, pn, 64 * MIB, pub_tweak, w, &w->pub);
  if (!rc)
    rc = shost_listen(s, &w->pub, 4001);
  for (int t = 0; t < NW_TYPES && !rc; t++) {
    lp2p_sim_nat_config *n = &w->ncfg[t];
    lp2p_sim_nat_config_default(n);
    n->mapping = (lp2p_sim_nat_mapping)(t / 9);
    n->filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
    n->alloc = (lp2p_sim_nat_alloc)(t % 3);
    n->syn_rst = rst_odd && (t & 1);
    lp2p_sim_ep_config ec;
    lp2p_sim_ep_config_default(&ec);
    if (skew) {
      ec.clock_offset_ns = (int64_t)((uint64_t)t * 3600 * LP2P_NS_PER_S);
      ec.clock_drift_ppm = (int32_t)(t * 37 % 401) - 200;
    }
    uint32_t hn;
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, n, &wan, &wan, &w->nat[t]);
    if (!rc)
      rc = lp2p_sim_ep_add(s, w->nat[t], 0, &ec, &lan, &lan, &hn);
    if (!rc)
      rc = shost_add(s, hn, 16 * MIB, nat_tweak, w, &w->h[t]);
    if (!rc)
      rc = shost_listen(s, &w->h[t], 4001);
  }
  if (rc)
    scen_fail(c, "setup: %s", lp2p_errname(rc));
  return rc;
}
