/* tcp-punch-matrix: TCP simultaneous open through every ordered pair of NAT
 * types (mapping x filtering x allocation = 27 types, 729 pairs), checked
 * against an oracle that encodes RFC 4787 / RFC 5382 theory.
 *
 * Per pair: endpoints X and Y sit behind silent-drop NATs of the two types.
 * Each listens on port 4001 and connects from that port to a public
 * observer O, which writes back the address it saw (ip4 + port). At the
 * same moment both then connect from port 4001 to the other's observed
 * endpoint (SYN retransmission on); whichever connection gets through
 * carries a "HELO" each way. The pair succeeds iff both sides receive it.
 *
 * The oracle (independent of the simulator's NAT code): Y's SYN, sent to
 * X's observed endpoint, is admitted by X's NAT iff
 *   - X filters endpoint-independently (the mapping to O exists), or
 *   - X filters by address and X's mapping is endpoint-independent (X's own
 *     SYN to Y left through the observed mapping, so Y's IP is a session
 *     of it), or
 *   - X filters by address and port and BOTH mappings are endpoint-
 *     independent (then Y's SYN also comes from the port X sent to).
 * An admitted SYN is answered by X's connecting socket (4-tuple match) or
 * listener through the same mapping, and Y's NAT admits the answer since
 * Y sent to exactly that endpoint. The pair succeeds iff either direction
 * is admitted. Allocation does not matter without port prediction. */
#include <string.h>

#include "tools/lp2p-sim/punch.h"

enum { MAP_EI, MAP_AD, MAP_APD };
enum { FILT_EI, FILT_AD, FILT_APD };

/* RFC 4787 section 4.1/5: does X's NAT let Y's punch SYN in? */
static int oracle_admits(int x_map, int x_filt, int y_map) {
  if (x_filt == FILT_EI)
    return 1;
  if (x_filt == FILT_AD)
    return x_map == MAP_EI;
  return x_map == MAP_EI && y_map == MAP_EI;
}

static int oracle(int xm, int xf, int ym, int yf) {
  return oracle_admits(xm, xf, ym) || oracle_admits(ym, yf, xm);
}

static void nat_cfg(lp2p_sim_nat_config *cfg, int t) {
  lp2p_sim_nat_config_default(cfg);
  cfg->mapping = (lp2p_sim_nat_mapping)(t / 9);
  cfg->filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
  cfg->alloc = (lp2p_sim_nat_alloc)(t % 3);
  cfg->syn_rst = 0; /* silent-drop NATs for this matrix */
}

static int run(scen_ctx *c) {
  unsigned mismatches = 0, ok = 0, total = 0;
  for (int a = 0; a < 27; a++) {
    for (int b = 0; b < 27; b++) {
      lp2p_sim_nat_config ca, cb;
      nat_cfg(&ca, a);
      nat_cfg(&cb, b);
      int expected = oracle(a / 9, a / 3 % 3, b / 9, b / 3 % 3);
      punch_opts o = {0, 0};
      int got = punch_pair(c, &ca, &cb, &o);
      if (got < 0)
        return scen_fail(c, "pair %d/%d: world setup failed", a, b);
      const char *ta =
          lp2p_sim_nat_type_name(ca.mapping, ca.filtering, ca.alloc);
      const char *tb =
          lp2p_sim_nat_type_name(cb.mapping, cb.filtering, cb.alloc);
      scen_line(c, "A %s B %s expected %s got %s", ta, tb,
                expected ? "ok" : "fail", got ? "ok" : "fail");
      total++;
      ok += got ? 1u : 0u;
      if (expected != got) {
        mismatches++;
        scen_fail(c, "A %s B %s: expected %s, got %s", ta, tb,
                  expected ? "ok" : "fail", got ? "ok" : "fail");
      }
      if (c->fail[0] && !mismatches)
        return 1; /* a world failed for another reason */
    }
  }
  scen_line(c, "pairs %u punched %u mismatches %u", total, ok, mismatches);
  return mismatches ? 1 : 0;
}

const scenario scenario_tcp_punch_matrix = {
    "tcp-punch-matrix",
    "TCP simultaneous open across all 27x27 NAT type pairs vs an RFC oracle",
    run};
