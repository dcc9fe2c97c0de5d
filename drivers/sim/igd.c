/* The NAT box's optional IGD (lp2p_sim_igd_*, DESIGN.md 5): an endpoint
 * at the box's LAN address .1 whose sockets are served here — UDP 1900
 * joined to the SSDP group, UDP 5351 for NAT-PMP and PCP, a TCP listener
 * for HTTP (one request per connection, answered and closed, as
 * miniupnpd does) — with the answers computed by igd_proto.c. A granted
 * mapping is installed in the box's translation table as a forward. */
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/igd.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"

enum { TAG_SSDP = 1, TAG_PMP, TAG_HTTP, TAG_CONN = 16 };

void lp2p_sim_igd_config_default(lp2p_sim_igd_config *c) {
  memset(c, 0, sizeof *c);
  c->upnp = 1;
  c->upnp_version = 2;
  c->natpmp = 1;
  c->pcp = 1;
  c->http_port = 5000;
  c->lease_max_s = 86400;
  c->permanent_only = 0;
  c->entries_max = IGD_ENTRIES_MAX;
}

static void conn_free(sim_igd *g, int i, int abort) {
  igd_conn *c = g->conns[i];
  if (!c)
    return;
  if (abort)
    lp2p_sim_tcp_abort(g->s, c->sock);
  else
    lp2p_sim_tcp_close(g->s, c->sock);
  free(c);
  g->conns[i] = NULL;
}

void sim_igd_free(sim_igd *g) {
  if (!g)
    return;
  /* the world frees the sockets themselves */
  for (int i = 0; i < IGD_CONNS_MAX; i++)
    free(g->conns[i]);
  free(g);
}

static uint32_t ip_of(const lp2p_sockaddr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

static void udp_in(sim_igd *g, uint64_t sock, int pmp) {
  lp2p_sockaddr from;
  uint8_t in[LP2P_PCP_MSG_MAX + 4], out[LP2P_SSDP_MSG_MAX];
  lp2p_ssize n;
  while ((n = lp2p_sim_udp_recv(g->s, sock, &from, in, sizeof in)) >= 0) {
    size_t len = 0;
    int ok = pmp ? igd_pmp(g, ip_of(&from), in, (size_t)n, g->s->now, out,
                           sizeof out, &len)
                 : igd_ssdp(g, in, (size_t)n, (char *)out, sizeof out, &len);
    if (ok)
      lp2p_sim_udp_send(g->s, sock, &from, out, len, 0);
  }
}

/* Send what is left of the answer; close once it is all queued. */
static void conn_flush(sim_igd *g, int i) {
  igd_conn *c = g->conns[i];
  while (c->out_off < c->out_len) {
    lp2p_ssize w = lp2p_sim_tcp_send(g->s, c->sock, c->out + c->out_off,
                                     c->out_len - c->out_off);
    if (w == LP2P_ERR_AGAIN)
      return; /* WRITABLE follows */
    if (w < 0) {
      conn_free(g, i, 1);
      return;
    }
    c->out_off += (size_t)w;
  }
  if (c->answered)
    conn_free(g, i, 0);
}

static void conn_in(sim_igd *g, int i) {
  igd_conn *c = g->conns[i];
  if (c->answered)
    return;
  for (;;) {
    if (c->in_len == sizeof c->in)
      break;
    lp2p_ssize n = lp2p_sim_tcp_recv(g->s, c->sock, c->in + c->in_len,
                                     sizeof c->in - c->in_len);
    if (n == LP2P_ERR_AGAIN)
      break;
    if (n <= 0) { /* EOF before a whole request, or reset */
      conn_free(g, i, n < 0);
      return;
    }
    c->in_len += (size_t)n;
  }
  lp2p_sim_sock_info info;
  if (lp2p_sim_sock_info_get(g->s, c->sock, &info) != 0) {
    conn_free(g, i, 1);
    return;
  }
  size_t len = 0;
  if (!igd_http(g, ip_of(&info.remote), c->in, c->in_len, g->s->now,
                (char *)c->out, sizeof c->out, &len))
    return;
  c->answered = 1;
  c->out_len = len;
  c->out_off = 0;
  conn_flush(g, i);
}

static void accept_all(sim_igd *g) {
  uint64_t sock;
  while (lp2p_sim_tcp_accept(g->s, g->http_sock, &sock) == 0) {
    int i = 0;
    while (i < IGD_CONNS_MAX && g->conns[i])
      i++;
    igd_conn *c = i < IGD_CONNS_MAX ? calloc(1, sizeof *c) : NULL;
    if (!c) { /* busy: refuse it */
      lp2p_sim_tcp_abort(g->s, sock);
      continue;
    }
    c->sock = sock;
    g->conns[i] = c;
    lp2p_sim_sock_set_tag(g->s, sock, (uint64_t)(TAG_CONN + i));
    conn_in(g, i); /* bytes may be there already */
  }
}

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  sim_igd *g = ud;
  (void)s;
  if (tag == TAG_SSDP || tag == TAG_PMP) {
    if (what & LP2P_SIM_SOCK_READABLE)
      udp_in(g, sock, tag == TAG_PMP);
    return;
  }
  if (tag == TAG_HTTP) {
    if (what & LP2P_SIM_SOCK_ACCEPT)
      accept_all(g);
    return;
  }
  if (tag < TAG_CONN || tag >= TAG_CONN + IGD_CONNS_MAX)
    return;
  int i = (int)(tag - TAG_CONN);
  if (!g->conns[i] || g->conns[i]->sock != sock)
    return;
  if (what & (LP2P_SIM_SOCK_RESET | LP2P_SIM_SOCK_FAILED)) {
    conn_free(g, i, 1);
    return;
  }
  if (what & LP2P_SIM_SOCK_READABLE)
    conn_in(g, i);
  if (g->conns[i] && (what & LP2P_SIM_SOCK_WRITABLE))
    conn_flush(g, i);
}

static sim_igd *igd_of(const lp2p_sim *s, uint32_t nat) {
  const sim_node *n = sim_node_get(s, nat);
  return n && n->kind == NODE_NAT ? n->igd : NULL;
}

int lp2p_sim_igd_add(lp2p_sim *s, uint32_t nat, const lp2p_sim_igd_config *cfg,
                     uint32_t *node) {
  sim_node *b = sim_node_get(s, nat);
  if (!b || b->kind != NODE_NAT || !b->nat)
    return LP2P_ERR_NOT_FOUND;
  lp2p_sim_igd_config def;
  if (!cfg) {
    lp2p_sim_igd_config_default(&def);
    cfg = &def;
  }
  if (b->igd || cfg->upnp_version < 1 || cfg->upnp_version > 2 ||
      cfg->lease_max_s == 0 || (cfg->upnp && cfg->http_port == 0))
    return LP2P_ERR_INVAL;
  sim_igd *g = calloc(1, sizeof *g);
  if (!g)
    return LP2P_ERR_NOMEM;
  uint32_t ep;
  int rc = sim_gateway_ep_add(s, nat, &ep);
  if (rc != 0) {
    free(g);
    return rc;
  }
  igd_init(g, cfg, b->nat, lp2p_sim_node_ip(s, ep), b->ip, s->now);
  g->s = s;
  g->node = ep;
  g->nat_node = nat;
  b->igd = g;
  lp2p_sim_ep_on_sock(s, ep, on_sock, g);
  if (cfg->upnp) {
    if ((rc = lp2p_sim_udp_open(s, ep, LP2P_SSDP_PORT, &g->ssdp_sock,
                                NULL)) != 0 ||
        (rc = lp2p_sim_udp_join(s, g->ssdp_sock)) != 0 ||
        (rc = lp2p_sim_tcp_listen(s, ep, cfg->http_port, &g->http_sock,
                                  NULL)) != 0)
      return rc;
    lp2p_sim_sock_set_tag(s, g->ssdp_sock, TAG_SSDP);
    lp2p_sim_sock_set_tag(s, g->http_sock, TAG_HTTP);
  }
  if (cfg->natpmp || cfg->pcp) {
    if ((rc = lp2p_sim_udp_open(s, ep, LP2P_PCP_PORT, &g->pmp_sock, NULL)) !=
        0)
      return rc;
    lp2p_sim_sock_set_tag(s, g->pmp_sock, TAG_PMP);
  }
  if (node)
    *node = ep;
  return 0;
}

int lp2p_sim_igd_reboot(lp2p_sim *s, uint32_t nat) {
  sim_igd *g = igd_of(s, nat);
  if (!g)
    return LP2P_ERR_NOT_FOUND;
  for (int i = 0; i < IGD_CONNS_MAX; i++)
    conn_free(g, i, 1);
  igd_reset(g, s->now);
  g->st.reboots++;
  if (sim_tracing(s))
    sim_trace_line(s, "igd reboot");
  sim_hash_u64(s, 0x1cdb007u ^ nat);
  return 0;
}

int lp2p_sim_igd_forward(lp2p_sim *s, uint32_t nat, int tcp, uint16_t ext_port,
                         uint32_t int_ip, uint16_t int_port, uint32_t lease_s) {
  sim_igd *g = igd_of(s, nat);
  if (!g)
    return LP2P_ERR_NOT_FOUND;
  if (ext_port == 0 || int_port == 0)
    return LP2P_ERR_INVAL;
  return igd_map(g, IGD_BY_STATIC, tcp ? SIM_TCP : SIM_UDP, ext_port, int_ip,
                 int_port, lease_s, s->now, NULL);
}

int lp2p_sim_igd_stats_get(const lp2p_sim *s, uint32_t nat,
                           lp2p_sim_igd_stats *out) {
  const sim_igd *g = igd_of(s, nat);
  if (!g || !out)
    return LP2P_ERR_NOT_FOUND;
  *out = g->st;
  return 0;
}

size_t lp2p_sim_igd_mappings(const lp2p_sim *s, uint32_t nat) {
  const sim_igd *g = igd_of(s, nat);
  return g ? igd_live(g, s->now) : 0;
}
