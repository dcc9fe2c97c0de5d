/* A world with one public host and a host behind a NAT of each of the 27
 * types (shared by nat-dialout and nat-dialin). */
#ifndef LP2P_SIM_NATWORLD_H
#define LP2P_SIM_NATWORLD_H

#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

#define NW_TYPES 27

typedef struct nat_world {
  scen_ctx *c;
  lp2p_sim *s;
  shost pub;
  shost h[NW_TYPES];
  uint32_t nat[NW_TYPES];
  lp2p_sim_nat_config ncfg[NW_TYPES];
  /* per type outcome */
  int done[NW_TYPES];
  int err[NW_TYPES];
  int connected_in[NW_TYPES]; /* PEER_CONNECTED seen on the NATed host */
  lp2p_maddr observed[NW_TYPES];
  uint64_t rtt_ns[NW_TYPES];
  uint64_t dial[NW_TYPES];
  int ndone;
} nat_world;

/* Build the world; the NAT of type t answers unsolicited SYNs with RST
 * when rst_odd and t is odd. Returns 0 or an error (recorded). */
int nw_build(nat_world *w, scen_ctx *c, int rst_odd, lp2p_sim_host_event_fn fn);
/* The same with the public host's config changed by pub_tweak and every
 * NATed host's by nat_tweak (either may be NULL); skew 0 keeps every
 * clock on the world's time (nw_build puts NATed host t t hours ahead,
 * with drift). */
int nw_build_with(nat_world *w, scen_ctx *c, int rst_odd, int skew,
                  lp2p_sim_host_event_fn fn,
                  void (*pub_tweak)(lp2p_host_config *cfg, void *ud),
                  void (*nat_tweak)(lp2p_host_config *cfg, void *ud));
/* Index of the NATed host on `node`, or -1. */
int nw_index(const nat_world *w, uint32_t node);
const char *nw_type(const nat_world *w, int t);
void nw_ip_text(uint32_t ip, char out[16]);

#endif
