/* relay: a host behind each of the 27 NAT types reserves a slot on a
 * public circuit relay v2 (its dial out works through every NAT), and each
 * reaches the next one (type t -> t+1) through the relay by its
 * /p2p-circuit address alone, then pings it. The limits hold: a 1 MiB perf
 * through a circuit (128 KiB limit) is cut, and its reservation survives.
 * Reservations last 60 s here and are renewed: after 150 s each host has
 * been granted its slot at least twice and none was lost. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p-sim/natworld.h"

#define TTL_S 60
#define RUN_S 150

typedef struct relay_world {
  nat_world w;
  uint64_t relay_dial[NW_TYPES];
  int reserved[NW_TYPES];   /* RELAY_RESERVED count */
  int lost[NW_TYPES];
  uint64_t circ_dial[NW_TYPES];
  int circ_done[NW_TYPES];  /* 1 ok, -1 failed */
  int circ_err[NW_TYPES];
  int pinged[NW_TYPES];     /* 1 ok, -1 failed */
  uint64_t rtt_ns[NW_TYPES];
  int perf_done, perf_err;
} relay_world;

static relay_world g;

static void pub_tweak(lp2p_host_config *cfg, void *ud) {
  (void)ud;
  cfg->relay.hop = 1;
  cfg->relay.reservation_ttl_ns = TTL_S * LP2P_NS_PER_S;
}

static void nat_tweak(lp2p_host_config *cfg, void *ud) {
  (void)ud;
  cfg->relay.refresh_before_ns = 10 * LP2P_NS_PER_S;
}

static void circuit_addr(lp2p_sim *s, int to, lp2p_maddr *out) {
  shost_maddr(out, lp2p_sim_node_ip(s, g.w.pub.node), 4001, &g.w.pub.id);
  char t[160];
  size_t n = 0;
  memcpy(t, "/p2p-circuit/p2p/", 17);
  lp2p_peerid_to_base58(&g.w.h[to].id, t + 17, sizeof t - 17, &n);
  lp2p_maddr tail;
  lp2p_maddr_parse(&tail, t, 17 + n);
  lp2p_maddr_encapsulate(out, &tail);
}

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  (void)ud;
  int t = nw_index(&g.w, hid);
  if (t < 0)
    return;
  lp2p_host *h = lp2p_sim_host(s, hid);
  lp2p_tstamp now = shost_now(s, &g.w.h[t]);
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_DONE:
    if (ev->u.dial.id == g.relay_dial[t]) {
      if (lp2p_host_relay_reserve(h, now, &g.w.pub.id) != 0)
        g.lost[t]++;
    } else if (ev->u.dial.id == g.circ_dial[t] && !g.circ_done[t]) {
      g.circ_done[t] = 1;
      int to = (t + 1) % NW_TYPES;
      if (lp2p_host_ping(h, now, &g.w.h[to].id) != 0)
        g.pinged[t] = -1;
    }
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (ev->u.dial.id == g.circ_dial[t] && !g.circ_done[t]) {
      g.circ_done[t] = -1;
      g.circ_err[t] = ev->err;
    }
    break;
  case LP2P_HOST_EV_RELAY_RESERVED:
    g.reserved[t]++;
    break;
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST:
    g.lost[t]++;
    break;
  case LP2P_HOST_EV_PING_RESULT:
    if (g.circ_done[t] == 1 && !g.pinged[t] &&
        lp2p_peerid_equal(&ev->peer, &g.w.h[(t + 1) % NW_TYPES].id)) {
      g.pinged[t] = ev->err ? -1 : 1;
      g.rtt_ns[t] = ev->u.ping.rtt_ns;
    }
    break;
  case LP2P_HOST_EV_PERF_RESULT:
    if (t == 0 && ev->u.perf.direction == LP2P_DIR_OUTBOUND) {
      g.perf_done = 1;
      g.perf_err = ev->err;
    }
    break;
  default:
    break;
  }
}

static int all_reserved(void *ud) {
  (void)ud;
  for (int t = 0; t < NW_TYPES; t++)
    if (!g.reserved[t] && !g.lost[t])
      return 0;
  return 1;
}

static int all_pinged(void *ud) {
  (void)ud;
  for (int t = 0; t < NW_TYPES; t++)
    if (!g.pinged[t] && g.circ_done[t] != -1)
      return 0;
  return 1;
}

static int perf_done(void *ud) {
  (void)ud;
  return g.perf_done;
}

static int run(scen_ctx *c) {
  memset(&g, 0, sizeof g);
  /* Clocks agree here: a reservation's expiry is an absolute UNIX time on
   * the relay's clock (the spec), so a client hours off cannot time its
   * refresh (go and js cannot either); ours refreshes at least every 10 s
   * when the expiry looks past, and logs why. */
  if (nw_build_with(&g.w, c, 1, 0, on_event, pub_tweak, nat_tweak) != 0) {
    scen_world_done(c, g.w.s);
    return 1;
  }
  lp2p_sim *s = g.w.s;
  lp2p_sim_run_until(s, LP2P_NS_PER_S);
  lp2p_maddr relay;
  shost_maddr(&relay, lp2p_sim_node_ip(s, g.w.pub.node), 4001, &g.w.pub.id);
  for (int t = 0; t < NW_TYPES; t++) {
    lp2p_host *h = lp2p_sim_host(s, g.w.h[t].node);
    if (lp2p_host_dial(h, shost_now(s, &g.w.h[t]), &relay, 0,
                       &g.relay_dial[t]) != 0)
      g.lost[t]++;
    lp2p_sim_host_kick(s, g.w.h[t].node);
  }
  lp2p_sim_run(s, all_reserved, NULL, lp2p_sim_now(s) + 60 * LP2P_NS_PER_S);
  for (int t = 0; t < NW_TYPES; t++) {
    lp2p_host *h = lp2p_sim_host(s, g.w.h[t].node);
    lp2p_maddr to;
    circuit_addr(s, (t + 1) % NW_TYPES, &to);
    if (lp2p_host_dial(h, shost_now(s, &g.w.h[t]), &to, 0, &g.circ_dial[t]))
      g.circ_done[t] = -1;
    lp2p_sim_host_kick(s, g.w.h[t].node);
  }
  lp2p_sim_run(s, all_pinged, NULL, lp2p_sim_now(s) + 60 * LP2P_NS_PER_S);
  /* the data limit: 1 MiB from host 0 to host 1 through the relay */
  lp2p_host *h0 = lp2p_sim_host(s, g.w.h[0].node);
  lp2p_host *h1 = lp2p_sim_host(s, g.w.h[1].node);
  lp2p_host_allow_limited(h0, "/perf/1.0.0", 1);
  lp2p_host_allow_limited(h1, "/perf/1.0.0", 1);
  if (lp2p_host_perf(h0, shost_now(s, &g.w.h[0]), &g.w.h[1].id, 1u << 20,
                     0) != 0)
    scen_fail(c, "perf through the relay could not start");
  lp2p_sim_host_kick(s, g.w.h[0].node);
  lp2p_sim_run(s, perf_done, NULL, lp2p_sim_now(s) + 60 * LP2P_NS_PER_S);
  /* renewals */
  lp2p_sim_run_until(s, (lp2p_tstamp)RUN_S * LP2P_NS_PER_S);
  unsigned ok = 0, renewed = 0;
  for (int t = 0; t < NW_TYPES; t++) {
    int good = g.reserved[t] && g.circ_done[t] == 1 && g.pinged[t] == 1;
    ok += good ? 1u : 0u;
    renewed += g.reserved[t] >= 2 && !g.lost[t] ? 1u : 0u;
    scen_line(c, "nat %s relay reserved=%d lost=%d circuit %s rtt_us=%llu",
              nw_type(&g.w, t), g.reserved[t], g.lost[t],
              g.pinged[t] == 1    ? "ok"
              : g.circ_done[t] < 0 ? lp2p_errname(g.circ_err[t])
                                   : "pending",
              (unsigned long long)(g.rtt_ns[t] / 1000));
    if (!good)
      scen_fail(c, "nat %s: no circuit through the relay", nw_type(&g.w, t));
    if (g.reserved[t] < 2 || g.lost[t])
      scen_fail(c, "nat %s: reservation not renewed (%d grants, %d lost)",
                nw_type(&g.w, t), g.reserved[t], g.lost[t]);
  }
  scen_line(c, "relay circuits ok %u of %d, renewed %u, 1 MiB perf %s", ok,
            NW_TYPES, renewed,
            !g.perf_done ? "pending"
            : g.perf_err ? lp2p_errname(g.perf_err)
                         : "went through");
  if (!g.perf_done || !g.perf_err)
    scen_fail(c, "the data limit did not cut a 1 MiB perf");
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_relay = {
    "relay",
    "27 NATed hosts reserve on a public relay and reach each other through it",
    run};
