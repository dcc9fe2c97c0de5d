/* TCP hole punching between two raw endpoints behind NATs (punch.c). */
#ifndef LP2P_SIM_PUNCH_H
#define LP2P_SIM_PUNCH_H

#include "tools/lp2p-sim/scenario.h"

typedef struct punch_opts {
  uint8_t first_ttl; /* TTL of each side's first SYN (0 = 64) */
  uint64_t skew_ns;  /* Y starts this much after X */
} punch_opts;

/* Runs one pair in a fresh world; returns 1 (punched), 0 (not), -1 (setup
 * error). */
int punch_pair(scen_ctx *c, const lp2p_sim_nat_config *a,
               const lp2p_sim_nat_config *b, const punch_opts *o);

#endif
