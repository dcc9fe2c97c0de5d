/* tcp-punch-rst: the DESIGN.md 5b facts about NATs that answer unsolicited
 * SYNs with RST (a bare Linux masquerade box), over all 27x27 NAT pairs
 * with RST NATs, Y starting 30 ms (more than a one-way delay) after X.
 *
 * With normal SYNs, X's SYN reaches Y's NAT before Y's own SYN opened it:
 * unless Y filters endpoint-independently it answers RST, which refuses
 * X's connect and also deletes X's flow from X's NAT (conntrack); Y's SYN
 * then meets the same fate at X's NAT unless X filters endpoint-
 * independently. Expected: punched iff X or Y filters endpoint-
 * independently.
 *
 * With a low-TTL first SYN (TTL 2: it opens the sender's own NAT and dies
 * in the core), no SYN reaches a NAT that has not sent yet; the SYN
 * retransmissions 1 s later meet open sessions. Expected: every cone pair
 * (both mappings endpoint-independent) is punched. Other pairs are printed
 * for information (a one-sided admission still draws an RST that kills
 * the other side's session). */
#include "tools/lp2p-sim/punch.h"

static int eif(int t) { return t / 3 % 3 == 0; }
static int eim(int t) { return t / 9 == 0; }

static void nat_cfg(lp2p_sim_nat_config *cfg, int t) {
  lp2p_sim_nat_config_default(cfg);
  cfg->mapping = (lp2p_sim_nat_mapping)(t / 9);
  cfg->filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
  cfg->alloc = (lp2p_sim_nat_alloc)(t % 3);
  cfg->syn_rst = 1;
  cfg->rst_deletes = 1;
}

static int run(scen_ctx *c) {
  unsigned bad = 0, low_ok = 0, plain_ok = 0, cone = 0;
  for (int a = 0; a < 27; a++) {
    for (int b = 0; b < 27; b++) {
      lp2p_sim_nat_config ca, cb;
      nat_cfg(&ca, a);
      nat_cfg(&cb, b);
      punch_opts plain = {0, 30 * LP2P_NS_PER_MS};
      punch_opts low = {2, 30 * LP2P_NS_PER_MS};
      int gp = punch_pair(c, &ca, &cb, &plain);
      int gl = punch_pair(c, &ca, &cb, &low);
      if (gp < 0 || gl < 0)
        return scen_fail(c, "pair %d/%d: world setup failed", a, b);
      int want_plain = eif(a) || eif(b);
      int is_cone = eim(a) && eim(b);
      const char *ta =
          lp2p_sim_nat_type_name(ca.mapping, ca.filtering, ca.alloc);
      const char *tb =
          lp2p_sim_nat_type_name(cb.mapping, cb.filtering, cb.alloc);
      scen_line(c, "A %s B %s ttl64 expected %s got %s lowttl %s%s", ta, tb,
                want_plain ? "ok" : "fail", gp ? "ok" : "fail",
                gl ? "ok" : "fail", is_cone ? " (cone: expected ok)" : "");
      plain_ok += gp ? 1u : 0u;
      low_ok += gl ? 1u : 0u;
      cone += is_cone ? 1u : 0u;
      if (gp != want_plain || (is_cone && !gl)) {
        bad++;
        scen_fail(c, "A %s B %s: ttl64 %s (expected %s), lowttl %s", ta, tb,
                  gp ? "ok" : "fail", want_plain ? "ok" : "fail",
                  gl ? "ok" : "fail");
      }
    }
  }
  scen_line(c,
            "pairs 729 cone %u ttl64 punched %u lowttl punched %u "
            "mismatches %u",
            cone, plain_ok, low_ok, bad);
  return bad ? 1 : 0;
}

const scenario scenario_tcp_punch_rst = {
    "tcp-punch-rst",
    "RST-answering NATs: plain SYNs vs a low-TTL first SYN (DESIGN 5b)", run};
