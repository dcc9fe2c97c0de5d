/* An RFC 5780 STUN server in the simulator: two public endpoints (A1, A2)
 * with a UDP socket on each of two ports (P1, P2), answering like `lp2p
 * stun-server` (lp2p_stun_server_answer). */
#ifndef LP2P_SIM_STUN_SIM_H
#define LP2P_SIM_STUN_SIM_H

#include "lp2p/sim.h"

typedef struct sim_stun {
  uint32_t node[2];      /* A1, A2 */
  uint64_t sock[4];      /* A1:P1, A1:P2, A2:P1, A2:P2 */
  lp2p_sockaddr addr[4]; /* the same order */
  uint64_t answered;
} sim_stun;

/* Add the two endpoints on the internet (link may be NULL) and bind the
 * four sockets on ports 3478 and 3479. *out must stay where it is while
 * the world runs (the socket callbacks point at it). Returns 0 or an
 * LP2P_ERR_*. */
int sim_stun_add(lp2p_sim *s, const lp2p_sim_link *link, sim_stun *out);

/* A simulator IPv4 address (host order, LP2P_SIM_IP4) as a sockaddr. */
void sim_sockaddr(lp2p_sockaddr *out, uint32_t ip, uint16_t port);

#endif
