/* The TCP hole-punching experiment shared by tcp-punch-matrix and
 * tcp-punch-rst: endpoints X and Y behind two NATs learn their public
 * endpoints from an observer O (each connects to it from its listening
 * port 4001; O writes back ip4 + port), then both connect from port 4001 to
 * the other's observed endpoint (Y `skew_ns` after X; the first SYN with
 * `first_ttl`, 0 = 64), SYN retransmission on. Whichever connection gets
 * through (dialled, simultaneous open, or accepted by the listener) carries
 * a "HELO" each way; the pair is punched iff both sides receive it. */
#include <string.h>

#include "tools/lp2p-sim/punch.h"

#define PUNCH_PORT 4001
#define OBS_PORT 9000
#define T_PUNCH (2 * LP2P_NS_PER_S)
#define T_END (T_PUNCH + 40 * LP2P_NS_PER_S)

enum { TAG_LISTEN = 1, TAG_OBS, TAG_PUNCH, TAG_ACCEPTED };

typedef struct peer {
  uint32_t node;
  uint64_t lsock, obs, punch;
  uint8_t obs_buf[6];
  size_t obs_len;
  lp2p_sockaddr public_addr;
  char hello[4];
  size_t hello_len;
  int got_hello;
  struct peer *other;
} peer;

typedef struct world {
  peer x, y;
  uint32_t obs_node;
  uint64_t obs_listen;
  int broken;
} world;

static void on_obs(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                   unsigned what) {
  world *w = ud;
  (void)tag;
  if (!(what & LP2P_SIM_SOCK_ACCEPT) || sock != w->obs_listen)
    return;
  uint64_t c;
  while (lp2p_sim_tcp_accept(s, sock, &c) == 0) {
    lp2p_sim_sock_info info;
    lp2p_sim_sock_info_get(s, c, &info);
    uint8_t msg[6];
    memcpy(msg, info.remote.ip, 4);
    msg[4] = (uint8_t)(info.remote.port >> 8);
    msg[5] = (uint8_t)info.remote.port;
    if (lp2p_sim_tcp_send(s, c, msg, 6) != 6)
      w->broken = 1;
  }
}

static void send_hello(lp2p_sim *s, uint64_t sock) {
  lp2p_sim_tcp_send(s, sock, (const uint8_t *)"HELO", 4);
}

static void read_hello(lp2p_sim *s, peer *p, uint64_t sock) {
  uint8_t buf[64];
  lp2p_ssize r;
  while ((r = lp2p_sim_tcp_recv(s, sock, buf, sizeof buf)) > 0) {
    for (lp2p_ssize i = 0; i < r && p->hello_len < 4; i++)
      p->hello[p->hello_len++] = (char)buf[i];
    if (p->hello_len == 4 && !memcmp(p->hello, "HELO", 4))
      p->got_hello = 1;
  }
}

static void on_peer(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  peer *p = ud;
  if (tag == TAG_LISTEN && (what & LP2P_SIM_SOCK_ACCEPT)) {
    uint64_t c;
    while (lp2p_sim_tcp_accept(s, sock, &c) == 0) {
      lp2p_sim_sock_set_tag(s, c, TAG_ACCEPTED);
      send_hello(s, c);
      read_hello(s, p, c);
    }
    return;
  }
  if (tag == TAG_OBS && (what & LP2P_SIM_SOCK_READABLE)) {
    lp2p_ssize r;
    while (p->obs_len < 6 &&
           (r = lp2p_sim_tcp_recv(s, sock, p->obs_buf + p->obs_len,
                                  6 - p->obs_len)) > 0)
      p->obs_len += (size_t)r;
    if (p->obs_len == 6) {
      memset(&p->public_addr, 0, sizeof p->public_addr);
      p->public_addr.family = 4;
      memcpy(p->public_addr.ip, p->obs_buf, 4);
      p->public_addr.port = (uint16_t)(p->obs_buf[4] << 8 | p->obs_buf[5]);
    }
    return;
  }
  if (tag == TAG_PUNCH && (what & LP2P_SIM_SOCK_CONNECTED))
    send_hello(s, sock);
  if ((tag == TAG_PUNCH || tag == TAG_ACCEPTED) &&
      (what & LP2P_SIM_SOCK_READABLE))
    read_hello(s, p, sock);
}

static void punch_now(lp2p_sim *s, void *ud, uint64_t ttl) {
  peer *p = ud;
  if (p->other->obs_len != 6)
    return; /* the observer never answered: the pair fails visibly */
  if (lp2p_sim_tcp_connect(s, p->node, PUNCH_PORT, &p->other->public_addr,
                           (uint8_t)ttl, &p->punch) == 0)
    lp2p_sim_sock_set_tag(s, p->punch, TAG_PUNCH);
}

static int both_done(void *ud) {
  world *w = ud;
  return w->x.got_hello && w->y.got_hello;
}

static int setup_peer(lp2p_sim *s, world *w, peer *p, uint32_t nat,
                      const lp2p_sockaddr *obs) {
  lp2p_sim_link lan;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  if (lp2p_sim_ep_add(s, nat, 0, NULL, &lan, &lan, &p->node) != 0 ||
      lp2p_sim_ep_on_sock(s, p->node, on_peer, p) != 0 ||
      lp2p_sim_tcp_listen(s, p->node, PUNCH_PORT, &p->lsock, NULL) != 0)
    return -1;
  lp2p_sim_sock_set_tag(s, p->lsock, TAG_LISTEN);
  if (lp2p_sim_tcp_connect(s, p->node, PUNCH_PORT, obs, 0, &p->obs) != 0)
    return -1;
  lp2p_sim_sock_set_tag(s, p->obs, TAG_OBS);
  (void)w;
  return 0;
}

int punch_pair(scen_ctx *c, const lp2p_sim_nat_config *a,
               const lp2p_sim_nat_config *b, const punch_opts *o) {
  lp2p_sim *s = scen_world(c, NULL);
  if (!s)
    return -1;
  world w;
  memset(&w, 0, sizeof w);
  w.x.other = &w.y;
  w.y.other = &w.x;
  lp2p_sim_link wan, obs_link;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 10 * LP2P_NS_PER_MS;
  wan.jitter_ns = 2 * LP2P_NS_PER_MS;
  lp2p_sim_link_default(&obs_link);
  obs_link.latency_ns = 5 * LP2P_NS_PER_MS;
  uint32_t nat_a, nat_b;
  int rc = -1;
  if (lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &obs_link, &obs_link,
                      &w.obs_node) != 0 ||
      lp2p_sim_ep_on_sock(s, w.obs_node, on_obs, &w) != 0 ||
      lp2p_sim_tcp_listen(s, w.obs_node, OBS_PORT, &w.obs_listen, NULL) != 0 ||
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, a, &wan, &wan, &nat_a) != 0 ||
      lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, b, &wan, &wan, &nat_b) != 0)
    goto out;
  lp2p_sockaddr obs;
  memset(&obs, 0, sizeof obs);
  obs.family = 4;
  uint32_t oip = lp2p_sim_node_ip(s, w.obs_node);
  for (int i = 0; i < 4; i++)
    obs.ip[i] = (uint8_t)(oip >> (24 - 8 * i));
  obs.port = OBS_PORT;
  if (setup_peer(s, &w, &w.x, nat_a, &obs) != 0 ||
      setup_peer(s, &w, &w.y, nat_b, &obs) != 0)
    goto out;
  lp2p_sim_at(s, T_PUNCH, punch_now, &w.x, o->first_ttl);
  lp2p_sim_at(s, T_PUNCH + o->skew_ns, punch_now, &w.y, o->first_ttl);
  rc = lp2p_sim_run(s, both_done, &w, T_END + o->skew_ns) ? 1 : 0;
  if (w.broken)
    rc = -1;
out:
  scen_world_done(c, s);
  return rc;
}
