/* The simulator's STUN server (stun_sim.h). */
#include <string.h>

#include "lp2p/stun.h"
#include "tools/lp2p-sim/stun_sim.h"

void sim_sockaddr(lp2p_sockaddr *out, uint32_t ip, uint16_t port) {
  memset(out, 0, sizeof *out);
  out->family = 4;
  out->ip[0] = (uint8_t)(ip >> 24);
  out->ip[1] = (uint8_t)(ip >> 16);
  out->ip[2] = (uint8_t)(ip >> 8);
  out->ip[3] = (uint8_t)ip;
  out->port = port;
}

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  sim_stun *st = ud;
  (void)what;
  if (tag >= 4 || st->sock[tag] != sock)
    return;
  uint8_t in[LP2P_STUN_MSG_MAX], out[256];
  lp2p_sockaddr from;
  lp2p_ssize n;
  while ((n = lp2p_sim_udp_recv(s, sock, &from, in, sizeof in)) >= 0) {
    size_t len;
    unsigned via;
    if (lp2p_stun_server_answer(in, (size_t)n, &from, st->addr, 4,
                                (unsigned)tag, out, sizeof out, &len,
                                &via) == 1 &&
        lp2p_sim_udp_send(s, st->sock[via], &from, out, len, 0) == 0)
      st->answered++;
  }
}

int sim_stun_add(lp2p_sim *s, const lp2p_sim_link *link, sim_stun *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < 2; i++) {
    int rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, link, link,
                             &out->node[i]);
    if (!rc)
      rc = lp2p_sim_ep_on_sock(s, out->node[i], on_sock, out);
    if (rc)
      return rc;
  }
  for (unsigned k = 0; k < 4; k++) {
    uint32_t node = out->node[k >> 1];
    uint16_t port = (uint16_t)(3478 + (k & 1));
    int rc = lp2p_sim_udp_open(s, node, port, &out->sock[k], NULL);
    if (!rc)
      rc = lp2p_sim_sock_set_tag(s, out->sock[k], k);
    if (rc)
      return rc;
    sim_sockaddr(&out->addr[k], lp2p_sim_node_ip(s, node), port);
  }
  return 0;
}
