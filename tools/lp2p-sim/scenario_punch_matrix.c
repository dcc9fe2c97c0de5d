/* punch-matrix: DCUtR with whole lp2p hosts through every ordered pair of
 * the 27 NAT types (729 worlds). Per pair: a public relay R; B behind a
 * NAT of the second type reserves on R (from its listen port 4001); A
 * behind a NAT of the first type dials B's /p2p-circuit address; B starts
 * DCUtR; both punch from port 4001. A pair goes direct when both see
 * HOLEPUNCH_RESULT ok and a ping runs over a connection that is not
 * limited; otherwise the result names a reason and the relayed
 * connection still carries a ping (the relay fallback).
 *
 * Checked line by line against the oracle of tcp-punch-matrix (RFC 4787 /
 * 5382 theory for a punch to the observed endpoints): every pair the
 * oracle allows must go direct; a pair it does not allow must fail with a
 * reason, or go direct only through what the oracle leaves out (our
 * CONNECT also names our observed IP with our listen port, which a
 * port-preserving NAT maps a new destination to: reported as "beyond").
 * Both hosts learn their NAT by STUN first (stun_sim.c), and the class
 * rides in CONNECT: a pair the oracle refuses is not punched, both sides
 * name the reason (both-address-dependent, or
 * address-dependent-vs-port-filter), except where one side is an APDM
 * NAT that allocates sequentially: STUN sees that, the other side also
 * dials the ports it will hand out next (port prediction), and such a
 * pair may go direct beyond the oracle. Relay fallback must work on
 * every pair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/natclass.h"
#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"
#include "tools/lp2p-sim/stun_sim.h"

#define MIB (1024u * 1024u)

enum { R = 0, A = 1, B = 2 };

typedef struct pm {
  shost h[3];
  uint32_t nat[3];
  uint64_t relay_dial, circ_dial, circ_conn;
  int reserved, circ_ok, circ_failed;
  int done[3], ok[3], reason[3];
  uint64_t direct[3], ms;
  int pings, ping_err;
  sim_stun stun;
  int nat_known[3];
} pm;

static pm g;

static int idx(uint32_t node) {
  for (int i = 0; i < 3; i++)
    if (g.h[i].node == node)
      return i;
  return -1;
}

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  (void)ud;
  int i = idx(hid);
  if (i < 0)
    return;
  lp2p_host *h = lp2p_sim_host(s, hid);
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_DONE:
    if (i == B && ev->u.dial.id == g.relay_dial)
      lp2p_host_relay_reserve(h, shost_now(s, &g.h[B]), &g.h[R].id);
    if (i == A && ev->u.dial.id == g.circ_dial) {
      g.circ_ok = 1;
      g.circ_conn = ev->conn;
    }
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (i == A && ev->u.dial.id == g.circ_dial)
      g.circ_failed = 1;
    break;
  case LP2P_HOST_EV_RELAY_RESERVED:
    g.reserved = 1;
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    g.done[i] = 1;
    g.ok[i] = ev->u.holepunch.ok;
    g.reason[i] = ev->u.holepunch.reason;
    g.direct[i] = ev->conn;
    if (i == A)
      g.ms = ev->u.holepunch.time_ns / LP2P_NS_PER_MS;
    break;
  case LP2P_HOST_EV_NAT_TYPE:
    g.nat_known[i] = ev->u.nat.mapping != LP2P_NAT_UNKNOWN &&
                     ev->u.nat.filtering != LP2P_NAT_UNKNOWN;
    break;
  case LP2P_HOST_EV_PING_RESULT:
    g.pings++;
    g.ping_err = ev->err;
    break;
  default:
    break;
  }
}

static void tweak(lp2p_host_config *cfg, void *ud) {
  int i = (int)(intptr_t)ud;
  cfg->relay.hop = i == R;
  cfg->dcutr.enabled = i != R;
  /* A and B learn their NAT by STUN: a hopeless pair is named at once */
  if (i != R) {
    cfg->nat.stun[0] = g.stun.addr[0];
    cfg->nat.nstun = 1;
  }
}

static int stun_done(void *ud) {
  (void)ud;
  return g.nat_known[A] && g.nat_known[B];
}

static void nat_cfg(lp2p_sim_nat_config *cfg, int t) {
  lp2p_sim_nat_config_default(cfg);
  cfg->mapping = (lp2p_sim_nat_mapping)(t / 9);
  cfg->filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
  cfg->alloc = (lp2p_sim_nat_alloc)(t % 3);
  cfg->syn_rst = 0; /* silent-drop NATs, as the oracle's matrix */
}

/* RFC 4787/5382 (the tcp-punch-matrix oracle): does X admit Y's SYN? */
static int admits(int xm, int xf, int ym) {
  if (xf == 0)
    return 1;
  if (xf == 1)
    return xm == 0;
  return xm == 0 && ym == 0;
}

/* APDM with sequential allocation (type index: mapping*9 + filter*3 +
 * alloc) */
static int is_apdm_seq(int t) { return t / 9 == 2 && t % 3 == 1; }

static int reserved(void *ud) { (void)ud; return g.reserved; }
static int circ(void *ud) { (void)ud; return g.circ_ok || g.circ_failed; }
static int punched(void *ud) { (void)ud; return g.done[A] && g.done[B]; }
static int pinged(void *ud) { (void)ud; return g.pings > 0; }

/* One pair; returns 0 when its world ran (result in g), else an error. */
static int pair(scen_ctx *c, int ta, int tb) {
  memset(&g, 0, sizeof g);
  lp2p_sim *s = scen_world(c, NULL);
  if (!s)
    return LP2P_ERR_NOMEM;
  lp2p_sim_on_host_event(s, on_event, NULL);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 15 * LP2P_NS_PER_MS;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  uint32_t rn, an, bn;
  lp2p_sim_nat_config na, nb;
  nat_cfg(&na, ta);
  nat_cfg(&nb, tb);
  int rc = sim_stun_add(s, &wan, &g.stun);
  if (!rc)
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &rn);
  if (!rc)
    rc = shost_add(s, rn, 16 * MIB, tweak, (void *)(intptr_t)R, &g.h[R]);
  if (!rc)
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &na, &wan, &wan, &g.nat[A]);
  if (!rc)
    rc = lp2p_sim_ep_add(s, g.nat[A], 0, NULL, &lan, &lan, &an);
  if (!rc)
    rc = shost_add(s, an, 16 * MIB, tweak, (void *)(intptr_t)A, &g.h[A]);
  if (!rc)
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nb, &wan, &wan, &g.nat[B]);
  if (!rc)
    rc = lp2p_sim_ep_add(s, g.nat[B], 0, NULL, &lan, &lan, &bn);
  if (!rc)
    rc = shost_add(s, bn, 16 * MIB, tweak, (void *)(intptr_t)B, &g.h[B]);
  for (int i = 0; i < 3 && !rc; i++)
    rc = shost_listen(s, &g.h[i], 4001);
  if (rc) {
    scen_world_done(c, s);
    return rc;
  }
  lp2p_sim_run_until(s, LP2P_NS_PER_S);
  /* STUN's filtering tests wait out silence (about 23 s for APDF) */
  lp2p_sim_run(s, stun_done, NULL, lp2p_sim_now(s) + 60 * LP2P_NS_PER_S);
  lp2p_maddr ra;
  shost_maddr(&ra, lp2p_sim_node_ip(s, rn), 4001, &g.h[R].id);
  lp2p_host *hb = lp2p_sim_host(s, bn), *ha = lp2p_sim_host(s, an);
  lp2p_host_dial(hb, shost_now(s, &g.h[B]), &ra, LP2P_DIAL_REUSEPORT,
                 &g.relay_dial);
  lp2p_sim_host_kick(s, bn);
  lp2p_sim_run(s, reserved, NULL, lp2p_sim_now(s) + 20 * LP2P_NS_PER_S);
  lp2p_maddr circ_addr;
  size_t n = 0;
  lp2p_host_relay_addrs(hb, &circ_addr, 1, &n);
  if (n == 1) {
    lp2p_host_dial(ha, shost_now(s, &g.h[A]), &circ_addr, 0, &g.circ_dial);
    lp2p_sim_host_kick(s, an);
    lp2p_sim_run(s, circ, NULL, lp2p_sim_now(s) + 20 * LP2P_NS_PER_S);
    lp2p_sim_run(s, punched, NULL, lp2p_sim_now(s) + 90 * LP2P_NS_PER_S);
  }
  /* a ping from A: over the direct connection when there is one, else
   * over the relayed one (the fallback) */
  int prc =
      g.circ_ok ? lp2p_host_ping(ha, shost_now(s, &g.h[A]), &g.h[B].id) : -1;
  if (prc == 0) {
    lp2p_sim_host_kick(s, an);
    lp2p_sim_run(s, pinged, NULL, lp2p_sim_now(s) + 10 * LP2P_NS_PER_S);
  }
  scen_world_done(c, s);
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int run(scen_ctx *c) {
  unsigned total = 0, direct = 0, expected_direct = 0, beyond = 0,
           fallback = 0, mismatches = 0, predicted_pairs = 0;
  static uint64_t ms[729];
  /* LP2P_SIM_PAIR=A,B runs one pair (type indexes 0..26), for debugging */
  int only_a = -1, only_b = -1;
  const char *one = getenv("LP2P_SIM_PAIR");
  if (one && sscanf(one, "%d,%d", &only_a, &only_b) != 2)
    only_a = only_b = -1;
  for (int a = 0; a < 27; a++) {
    for (int b = 0; b < 27; b++) {
      if (only_a >= 0 && (a != only_a || b != only_b))
        continue;
      if (pair(c, a, b) != 0)
        return scen_fail(c, "pair %d/%d: world setup failed", a, b);
      lp2p_sim_nat_config ca, cb;
      nat_cfg(&ca, a);
      nat_cfg(&cb, b);
      int exp = admits(a / 9, a / 3 % 3, b / 9) || admits(b / 9, b / 3 % 3, a / 9);
      int got = g.done[A] && g.done[B] && g.ok[A] && g.ok[B];
      int relayed_ok = g.circ_ok && g.pings && !g.ping_err;
      const char *ta = lp2p_sim_nat_type_name(ca.mapping, ca.filtering, ca.alloc);
      const char *tb = lp2p_sim_nat_type_name(cb.mapping, cb.filtering, cb.alloc);
      const char *why = got ? "direct"
                        : g.done[B] ? lp2p_punch_reason_name(
                                          (lp2p_punch_reason)g.reason[B])
                                    : "no-result";
      scen_line(c, "A %s B %s expected %s got %s%s ms=%llu ping %s", ta, tb,
                exp ? "ok" : "fail", why, !exp && got ? " (beyond)" : "",
                (unsigned long long)(got ? g.ms : 0),
                relayed_ok ? "ok" : g.pings ? lp2p_errname(g.ping_err) : "none");
      total++;
      if (got)
        ms[direct] = g.ms;
      direct += got ? 1u : 0u;
      expected_direct += exp ? 1u : 0u;
      beyond += !exp && got ? 1u : 0u;
      fallback += relayed_ok ? 1u : 0u;
      if (exp && !got) {
        mismatches++;
        scen_fail(c, "A %s B %s: the oracle allows a punch, got %s", ta, tb,
                  why);
      }
      /* both hosts know their NAT (STUN): a pair the oracle refuses is
       * not tried, both sides name why (both map per destination, or one
       * does and the other filters by address and port) */
      const char *hopeless =
          a / 9 && b / 9 ? "both-address-dependent"
                         : "address-dependent-vs-port-filter";
      /* STUN sees a sequential allocator in an APDM NAT (three mappings
       * in a row): its ports are predicted, the pair is tried, and may
       * go direct beyond the oracle, or fail as a punch does */
      int predicted = is_apdm_seq(a) || is_apdm_seq(b);
      predicted_pairs += !exp && predicted ? 1u : 0u;
      if (!exp && !got && !predicted &&
          (!g.done[A] || !g.done[B] || g.reason[A] != g.reason[B] ||
           strcmp(why, hopeless) != 0)) {
        mismatches++;
        scen_fail(c, "A %s B %s: expected %s on both sides, got %s / %s", ta,
                  tb, hopeless,
                  lp2p_punch_reason_name((lp2p_punch_reason)g.reason[A]), why);
      }
      if (!relayed_ok)
        scen_fail(c, "A %s B %s: no ping through the relay or directly", ta,
                  tb);
    }
  }
  qsort(ms, direct, sizeof ms[0], cmp_u64);
  scen_line(c,
            "pairs %u oracle %u direct %u beyond-oracle %u (of %u with "
            "predicted ports) mismatches %u ping %u median_ms_to_direct %llu",
            total, expected_direct, direct, beyond, predicted_pairs,
            mismatches, fallback,
            (unsigned long long)(direct ? ms[direct / 2] : 0));
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_punch_matrix = {
    "punch-matrix",
    "DCUtR with whole hosts through all 27x27 NAT type pairs vs the oracle",
    run};
