/* nat-dialin: a public host dials a host behind a NAT of each of the 27
 * types at the NAT's external address and the host's listen port. No NAT
 * has an inbound mapping, so every dial must fail with a named reason:
 * LP2P_ERR_REFUSED where the NAT answers unsolicited SYNs with RST (odd
 * types here), LP2P_ERR_TIMEOUT where it drops them; and no NATed host may
 * see a connection. */
#include <string.h>

#include "tools/lp2p-sim/natworld.h"

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  nat_world *w = ud;
  (void)s;
  int t = nw_index(w, hid);
  if (t >= 0) {
    if (ev->kind == LP2P_HOST_EV_PEER_CONNECTED)
      w->connected_in[t] = 1;
    return;
  }
  if (hid != w->pub.node)
    return;
  for (t = 0; t < NW_TYPES; t++) {
    if ((ev->kind != LP2P_HOST_EV_DIAL_DONE &&
         ev->kind != LP2P_HOST_EV_DIAL_FAILED) ||
        !w->dial[t] || ev->u.dial.id != w->dial[t] || w->done[t])
      continue;
    if (ev->kind == LP2P_HOST_EV_DIAL_FAILED) {
      w->done[t] = 1;
      w->err[t] = ev->err;
      w->ndone++;
    } else if (ev->kind == LP2P_HOST_EV_DIAL_DONE) {
      w->done[t] = 1;
      w->err[t] = 0;
      w->ndone++;
    }
  }
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
  lp2p_sim_run_until(s, LP2P_NS_PER_S);
  lp2p_host *ph = lp2p_sim_host(s, w.pub.node);
  for (int t = 0; t < NW_TYPES; t++) {
    lp2p_maddr to;
    shost_maddr(&to, lp2p_sim_node_ip(s, w.nat[t]), 4001, &w.h[t].id);
    int rc = lp2p_host_dial(ph, shost_now(s, &w.pub), &to, 0, &w.dial[t]);
    if (rc != 0) {
      w.done[t] = 1;
      w.err[t] = rc;
      w.ndone++;
    }
  }
  lp2p_sim_host_kick(s, w.pub.node);
  lp2p_sim_run(s, all_done, &w, 300 * LP2P_NS_PER_S);
  unsigned named = 0;
  for (int t = 0; t < NW_TYPES; t++) {
    int want = w.ncfg[t].syn_rst ? LP2P_ERR_REFUSED : LP2P_ERR_TIMEOUT;
    const char *got = !w.done[t] ? "pending"
                      : w.err[t] ? lp2p_errname(w.err[t])
                                 : "connected";
    scen_line(c, "nat %s rst=%d dialin fail %s", nw_type(&w, t),
              w.ncfg[t].syn_rst, got);
    if (!w.done[t] || w.err[t] != want || w.connected_in[t])
      scen_fail(c, "nat %s: dial in gave %s%s, expected %s", nw_type(&w, t),
                got, w.connected_in[t] ? " (host saw a connection)" : "",
                lp2p_errname(want));
    else
      named++;
  }
  scen_line(c, "dialin failed as expected %u of %d", named, NW_TYPES);
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_nat_dialin = {
    "nat-dialin",
    "a public host dials a host behind each NAT type: all fail, named reason",
    run};
