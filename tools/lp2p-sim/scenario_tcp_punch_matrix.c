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

#include "tools/lp2p-sim/scenario.h"

#define PUNCH_PORT 4001
#define OBS_PORT 9000
#define T_PUNCH (2 * LP2P_NS_PER_S)
#define T_END (T_PUNCH + 40 * LP2P_NS_PER_S)

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

static void punch_now(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  peer *p = ud;
  if (p->other->obs_len != 6)
    return; /* the observer never answered: the pair fails visibly */
  if (lp2p_sim_tcp_connect(s, p->node, PUNCH_PORT, &p->other->public_addr, 0,
                           &p->punch) == 0)
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

/* Runs one pair; returns 1 (punched), 0 (not), -1 (setup error). */
static int run_pair(scen_ctx *c, const lp2p_sim_nat_config *a,
                    const lp2p_sim_nat_config *b) {
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
  lp2p_sim_at(s, T_PUNCH, punch_now, &w.x, 0);
  lp2p_sim_at(s, T_PUNCH, punch_now, &w.y, 0);
  rc = lp2p_sim_run(s, both_done, &w, T_END) ? 1 : 0;
  if (w.broken)
    rc = -1;
out:
  scen_world_done(c, s);
  return rc;
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
      int got = run_pair(c, &ca, &cb);
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
