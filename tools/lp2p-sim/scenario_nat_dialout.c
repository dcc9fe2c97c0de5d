/* nat-dialout: a host behind a NAT of each of the 27 types dials a public
 * host (Noise, yamux), identifies and pings it. All must succeed, and the
 * address the public host observed must be the NAT's external address. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p-sim/natworld.h"

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  nat_world *w = ud;
  int t = nw_index(w, hid);
  if (t < 0 || w->done[t])
    return;
  lp2p_host *h = lp2p_sim_host(s, hid);
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_FAILED:
    w->done[t] = 1;
    w->err[t] = ev->err ? ev->err : LP2P_ERR_INTERNAL;
    w->ndone++;
    break;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    if (!lp2p_peerid_equal(&ev->peer, &w->pub.id))
      break;
    if (ev->err) {
      w->done[t] = 1;
      w->err[t] = ev->err;
      w->ndone++;
      break;
    }
    lp2p_host_peer_observed_addr(h, &ev->peer, &w->observed[t]);
    if (lp2p_host_ping(h, shost_now(s, &w->h[t]), &w->pub.id) != 0) {
      w->done[t] = 1;
      w->err[t] = LP2P_ERR_STATE;
      w->ndone++;
    }
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->done[t] = 1;
    w->err[t] = ev->err;
    w->rtt_ns[t] = ev->u.ping.rtt_ns;
    w->ndone++;
    break;
  default:
    break;
  }
}

static void start_dial(lp2p_sim *s, void *ud, uint64_t t) {
  nat_world *w = ud;
  lp2p_maddr to;
  shost_maddr(&to, lp2p_sim_node_ip(s, w->pub.node), 4001, &w->pub.id);
  lp2p_host *h = lp2p_sim_host(s, w->h[t].node);
  int rc = lp2p_host_dial(h, shost_now(s, &w->h[t]), &to, 0, &w->dial[t]);
  if (rc != 0) {
    w->done[t] = 1;
    w->err[t] = rc;
    w->ndone++;
  }
  lp2p_sim_host_kick(s, w->h[t].node);
}

static int all_done(void *ud) {
  nat_world *w = ud;
  return w->ndone == NW_TYPES;
}

static int run(scen_ctx *c) {
  static nat_world w;
  if (nw_build(&w, c, 1, on_event) != 0) {
    scen_world_done(c, w.s);
    return 1;
  }
  lp2p_sim *s = w.s;
  for (uint64_t t = 0; t < NW_TYPES; t++) /* staggered starts */
    lp2p_sim_at(s, LP2P_NS_PER_S + t * 7 * LP2P_NS_PER_MS, start_dial, &w, t);
  lp2p_sim_run(s, all_done, &w, 120 * LP2P_NS_PER_S);
  unsigned ok = 0;
  for (int t = 0; t < NW_TYPES; t++) {
    char ext[16], obs[80] = "-";
    nw_ip_text(lp2p_sim_node_ip(s, w.nat[t]), ext);
    int family = 0;
    uint8_t ip[16];
    uint16_t port = 0;
    int obs_ok = 0, udp = 0;
    if (w.observed[t].len &&
        lp2p_maddr_to_ip_port(&w.observed[t], &family, ip, &port, &udp) == 0 &&
        family == 4) {
      uint32_t oip = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
                     (uint32_t)ip[2] << 8 | ip[3];
      nw_ip_text(oip, obs);
      snprintf(obs + strlen(obs), sizeof obs - strlen(obs), ":%u", port);
      obs_ok = oip == lp2p_sim_node_ip(s, w.nat[t]);
    }
    int good = w.done[t] && !w.err[t] && obs_ok;
    ok += good ? 1u : 0u;
    scen_line(c, "nat %s dialout %s observed=%s rtt_us=%llu", nw_type(&w, t),
              good ? "ok" : (w.done[t] ? lp2p_errname(w.err[t]) : "pending"),
              obs, (unsigned long long)(w.rtt_ns[t] / 1000));
    if (!good)
      scen_fail(c, "nat %s: dial out did not succeed (%s, observed %s, nat %s)",
                nw_type(&w, t),
                w.done[t] ? lp2p_errname(w.err[t]) : "no result", obs, ext);
  }
  scen_line(c, "dialout ok %u of %d", ok, NW_TYPES);
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_nat_dialout = {
    "nat-dialout", "a host behind each of the 27 NAT types dials a public host",
    run};
