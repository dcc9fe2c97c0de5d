/* The virtual network: nodes, links, routing through realms and NAT boxes.
 *
 * A packet moves hop by hop. Each hop crosses one direction of one link
 * and is one event: "up" from a node to its realm's router, "down" from a
 * router to a node. The internet core is a router; a LAN's router is its
 * NAT box. Every router decrements the TTL (a NAT box also when a packet
 * enters from outside), so a low-TTL SYN can open the sender's own NAT
 * mapping and die before the far NAT (DESIGN.md 5b). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"

enum { HOP_ROUTER = 1, HOP_NODE = 2 };

#define STREAM_LINK 1u
#define STREAM_EP 3u
#define STREAM_NAT 2u
#define STREAM_APP 4u
#define STREAM_ID(kind, id) ((uint64_t)(kind) << 24 | (uint64_t)(id))

#define INET_BASE LP2P_SIM_IP4(20, 0, 0, 0)

/* ---- packets ----------------------------------------------------------------
 */

sim_pkt *sim_pkt_new(size_t len) {
  sim_pkt *p = malloc(sizeof(*p) + len);
  if (!p)
    return NULL;
  memset(p, 0, sizeof(*p));
  p->len = (uint32_t)len;
  p->ttl = SIM_TTL_DEFAULT;
  return p;
}

sim_pkt *sim_pkt_clone(const sim_pkt *p) {
  sim_pkt *c = malloc(sizeof(*p) + p->len);
  if (c)
    memcpy(c, p, sizeof(*p) + p->len);
  return c;
}

void sim_pkt_free(sim_pkt *p) { free(p); }

/* ---- defaults --------------------------------------------------------------
 */

void lp2p_sim_link_default(lp2p_sim_link *l) {
  memset(l, 0, sizeof(*l));
  l->latency_ns = LP2P_NS_PER_MS;
  l->queue_bytes_max = 256 * 1024;
}

void lp2p_sim_ep_config_default(lp2p_sim_ep_config *c) {
  memset(c, 0, sizeof(*c));
  c->closed_port_rst = 1;
  c->sndbuf_bytes = 128 * 1024;
  c->rcvbuf_bytes = 128 * 1024;
  c->backlog_max = 128;
  c->syn_retries = 6;
  c->synack_retries = 5;
  c->data_retries = 8;
  c->syn_rto_ns = LP2P_NS_PER_S;
  c->rto_min_ns = 200 * LP2P_NS_PER_MS;
  c->udp_queue_max = 64;
}

/* ---- trace ------------------------------------------------------------------
 */

static void hash_pkt(lp2p_sim *s, const sim_pkt *p, uint64_t where, int data) {
  sim_hash_u64(s, (uint64_t)p->proto | (uint64_t)p->flags << 8 |
                      (uint64_t)p->ttl << 16 | (uint64_t)p->len << 32);
  sim_hash_u64(s, (uint64_t)p->src_ip | (uint64_t)p->dst_ip << 32);
  sim_hash_u64(s, (uint64_t)p->src_port | (uint64_t)p->dst_port << 16);
  sim_hash_u64(s, p->seq);
  sim_hash_u64(s, p->ack);
  sim_hash_u64(s, where);
  if (data)
    sim_hash_bulk(s, p->data, p->len);
}

static void ip_text(uint32_t ip, char *out) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
           ip & 255);
}

static void trace_pkt(lp2p_sim *s, const char *what, uint64_t where,
                      const sim_pkt *p) {
  if (!sim_tracing(s))
    return;
  char a[16], b[16];
  ip_text(p->src_ip, a);
  ip_text(p->dst_ip, b);
  snprintf(s->line, sizeof s->line,
           "%llu %s %s%u %s %s:%u>%s:%u f%x seq=%llu ack=%llu len=%u ttl=%u",
           (unsigned long long)s->now, what,
           (where >> 32) == HOP_ROUTER ? "r" : "n",
           (unsigned)(where & 0xffffffffu), p->proto == SIM_TCP ? "tcp" : "udp",
           a, p->src_port, b, p->dst_port, p->flags, (unsigned long long)p->seq,
           (unsigned long long)p->ack, p->len, p->ttl);
  sim_trace_line(s, s->line);
}

static void drop(lp2p_sim *s, sim_pkt *p, uint64_t where, const char *why) {
  sim_hash_u64(s, 0xd5);
  if (sim_tracing(s))
    trace_pkt(s, why, where, p);
  sim_pkt_free(p);
}

/* ---- links
 * ------------------------------------------------------------------- */

static void hop_event(lp2p_sim *s, void *ud, uint64_t arg);

void sim_net_free_event(sim_ev *e) {
  if (e->fn == hop_event)
    sim_pkt_free(e->ud);
}

static int chance(const lp2p_rng *r, uint32_t ppm) {
  return ppm && sim_rand_below(r, 1000000) < ppm;
}

/* Queues p's arrival at `where`: here, or in world `remote` (>= 0) when
 * the hop leads into another world of a federation (fed.c). */
static void arrive(lp2p_sim *s, int remote, lp2p_tstamp at, sim_pkt *p,
                   uint64_t where) {
  if (remote >= 0)
    sim_fed_post(s, remote, at, p, where);
  else if (sim_evq_push(&s->q, at, hop_event, p, where) != 0)
    sim_pkt_free(p);
}

void sim_net_inject(lp2p_sim *s, lp2p_tstamp at, sim_pkt *p, uint64_t where) {
  arrive(s, -1, at, p, where);
}

/* Sends `p` across direction `d` of node `n`'s link towards `where` (in
 * world `remote`, or here when it is -1). */
static void xmit(lp2p_sim *s, sim_node *n, sim_dir *d, sim_pkt *p,
                 uint64_t where, int remote) {
  const lp2p_sim_link *c = &d->cfg;
  const lp2p_rng *r = &n->link_rng;
  if (d->blocked) {
    drop(s, p, where, "drop-partition");
    return;
  }
  lp2p_tstamp start = s->now > d->clog_until ? s->now : d->clog_until;
  uint64_t size = (uint64_t)p->len + 40;
  if (c->bandwidth_bps) {
    if (d->busy_until > start) {
      if (p->proto == SIM_UDP) {
        uint64_t backlog = (d->busy_until - start) / 1000 * c->bandwidth_bps /
                           UINT64_C(8000000);
        if (backlog + size > c->queue_bytes_max) {
          drop(s, p, where, "drop-queue");
          return;
        }
      }
      start = d->busy_until;
    }
    uint64_t tx = size * 8 * LP2P_NS_PER_S / c->bandwidth_bps;
    d->busy_until = start + tx;
    start += tx;
  }
  lp2p_tstamp at = start + c->latency_ns;
  if (c->jitter_ns)
    at += sim_rand_below(r, c->jitter_ns + 1);
  if (p->proto == SIM_TCP) {
    /* a lost segment is retransmitted by the (abstracted) sender: model it
     * as a stall; segments stay in order, as TCP delivers them */
    if (chance(r, c->loss_ppm)) {
      if (!p->len && !(p->flags & (SIM_F_SYN | SIM_F_FIN | SIM_F_RST))) {
        drop(s, p, where, "drop-loss"); /* a later ACK covers it */
        return;
      }
      uint64_t stall = s->cfg.tcp_loss_stall_ns;
      if (!stall)
        stall = 3 * (c->latency_ns + c->jitter_ns);
      at += stall > LP2P_NS_PER_MS ? stall : LP2P_NS_PER_MS;
    }
    if (at < d->last_tcp_arrival)
      at = d->last_tcp_arrival;
    d->last_tcp_arrival = at;
  } else {
    if (chance(r, c->loss_ppm)) {
      drop(s, p, where, "drop-loss");
      return;
    }
    if (chance(r, c->reorder_ppm))
      at += sim_rand_below(r, 2 * c->latency_ns + 1);
  }
  if (chance(r, c->dup_ppm)) {
    sim_pkt *dup = sim_pkt_clone(p);
    if (dup)
      arrive(s, remote, at + sim_rand_below(r, c->latency_ns + 1), dup, where);
  }
  arrive(s, remote, at, p, where);
}

static uint64_t where_router(uint32_t realm) {
  return (uint64_t)HOP_ROUTER << 32 | realm;
}
static uint64_t where_node(uint32_t id) {
  return (uint64_t)HOP_NODE << 32 | id;
}

/* Up to the realm's router. In a federation, a packet for an internet
 * address of another world crosses its up link here and reaches that
 * world's copy of the internet router (the router hop runs there). */
static void send_up(lp2p_sim *s, sim_node *n, sim_pkt *p) {
  int remote = -1;
  if (s->fed && n->realm == LP2P_SIM_INTERNET)
    remote = sim_fed_route(s, p->dst_ip);
  xmit(s, n, &n->up, p, where_router(n->realm), remote);
}

static void send_down(lp2p_sim *s, sim_node *n, sim_pkt *p) {
  xmit(s, n, &n->down, p, where_node(n->id), -1);
}

void sim_net_send(lp2p_sim *s, sim_node *from, sim_pkt *p) {
  p->origin = from->id;
  p->origin_group = from->group;
  if (p->dst_ip == from->ip) { /* loopback: straight to ourselves */
    if (sim_evq_push(&s->q, s->now, hop_event, p, where_node(from->id)) != 0)
      sim_pkt_free(p);
    return;
  }
  send_up(s, from, p);
}

static uint32_t gateway_ip(uint32_t realm) {
  return LP2P_SIM_IP4(10, realm >> 8 & 255, realm & 255, 1);
}

static sim_node *lookup(const lp2p_sim *s, uint32_t realm, uint32_t ip) {
  uint64_t v;
  if (!sim_map_get(&s->ips, realm, ip, &v))
    return NULL;
  return sim_node_get(s, (uint32_t)v);
}

static void nat_rst(lp2p_sim *s, sim_node *nat, const sim_pkt *in) {
  /* the NAT answers an unsolicited SYN itself, from the address it hit */
  sim_pkt *r = sim_pkt_new(0);
  if (!r)
    return;
  r->proto = SIM_TCP;
  r->flags = SIM_F_RST | SIM_F_ACK;
  r->src_ip = in->dst_ip;
  r->src_port = in->dst_port;
  r->dst_ip = in->src_ip;
  r->dst_port = in->src_port;
  r->ack = in->seq + 1;
  r->origin = nat->id;
  r->origin_group = nat->group;
  send_up(s, nat, r);
}

/* A packet for the LAN of NAT `nat` that has been translated inbound. */
static void into_lan(lp2p_sim *s, sim_node *nat, sim_pkt *p, uint64_t where) {
  sim_node *m = lookup(s, nat->id, p->dst_ip);
  if (!m) {
    drop(s, p, where, "drop-noroute");
    return;
  }
  send_down(s, m, p);
}

/* One copy to every endpoint of the realm with a joined socket on the
 * port; multicast never crosses a router (TTL-scoped SSDP). */
static void mcast(lp2p_sim *s, uint32_t realm, sim_pkt *p) {
  if (p->proto == SIM_UDP) {
    for (size_t i = 1; i < s->nnodes; i++) {
      sim_node *m = s->nodes[i];
      if (m->kind != NODE_EP || m->realm != realm || m->id == p->origin ||
          !sim_udp_joined(s, m->id, p->dst_port))
        continue;
      sim_pkt *c = sim_pkt_clone(p);
      if (c)
        send_down(s, m, c);
    }
  }
  sim_pkt_free(p);
}

static void router(lp2p_sim *s, uint32_t realm, sim_pkt *p, uint64_t where) {
  if (p->ttl <= 1) {
    drop(s, p, where, "drop-ttl");
    return;
  }
  p->ttl--;
  if (p->dst_ip == LP2P_SIM_MCAST_IP) {
    mcast(s, realm, p);
    return;
  }
  sim_node *m = lookup(s, realm, p->dst_ip);
  if (m) {
    send_down(s, m, p);
    return;
  }
  sim_node *nat = realm ? sim_node_get(s, realm) : NULL;
  if (nat && p->dst_ip == gateway_ip(realm)) {
    drop(s, p, where, "drop-gateway"); /* no services on the box (yet) */
    return;
  }
  if (!nat || !nat->nat) {
    drop(s, p, where, "drop-noroute");
    return;
  }
  if (sim_nat_outbound(nat->nat, p, s->now) != SIM_NAT_FORWARD) {
    drop(s, p, where, "drop-nat-out");
    return;
  }
  if (p->dst_ip != nat->ip) {
    send_up(s, nat, p);
    return;
  }
  /* hairpin: the LAN host addressed our own external IP */
  if (!nat->nat->cfg.hairpin) {
    drop(s, p, where, "drop-nohairpin");
    return;
  }
  int v = sim_nat_inbound(nat->nat, p, s->now);
  if (v == SIM_NAT_FORWARD)
    into_lan(s, nat, p, where);
  else
    drop(s, p, where, "drop-nat-hairpin");
}

static int pair_blocked(const lp2p_sim *s, uint32_t from, uint32_t to) {
  for (size_t i = 0; i < s->nblocks; i++)
    if (s->blocks[i].from == from && s->blocks[i].to == to)
      return 1;
  return 0;
}

/* The sender's group travels in the packet: in a federation the origin
 * node may live in another world. */
static int group_blocked(const lp2p_sim *s, const sim_pkt *p,
                         const sim_node *to) {
  return s->group_block[p->origin_group] >> to->group & 1u;
}

static void at_node(lp2p_sim *s, sim_node *n, sim_pkt *p, uint64_t where) {
  if (n->kind == NODE_EP) {
    if (s->nblocks && pair_blocked(s, p->origin, n->id)) {
      drop(s, p, where, "drop-pair");
      return;
    }
    if (s->group_blocks && group_blocked(s, p, n)) {
      drop(s, p, where, "drop-group");
      return;
    }
    hash_pkt(s, p, where, 1);
    if (sim_tracing(s))
      trace_pkt(s, "rx", where, p);
    if (p->proto == SIM_TCP)
      sim_tcp_input(s, n, p);
    else
      sim_udp_input(s, n, p);
    return;
  }
  /* a NAT box, on its external interface */
  if (p->ttl <= 1) {
    drop(s, p, where, "drop-ttl");
    return;
  }
  p->ttl--;
  int v = sim_nat_inbound(n->nat, p, s->now);
  if (v == SIM_NAT_FORWARD) {
    into_lan(s, n, p, where);
    return;
  }
  if (v == SIM_NAT_RST)
    nat_rst(s, n, p);
  drop(s, p, where, v == SIM_NAT_RST ? "drop-nat-rst" : "drop-nat-in");
}

static void hop_event(lp2p_sim *s, void *ud, uint64_t arg) {
  sim_pkt *p = ud;
  if ((arg >> 32) == HOP_ROUTER) {
    hash_pkt(s, p, arg, 0);
    router(s, (uint32_t)arg, p, arg);
    return;
  }
  sim_node *n = sim_node_get(s, (uint32_t)arg);
  if (!n) {
    sim_pkt_free(p);
    return;
  }
  if (n->kind == NODE_NAT)
    hash_pkt(s, p, arg, 0);
  at_node(s, n, p, arg);
}

/* ---- building the world ----------------------------------------------------
 */

static int realm_ok(const lp2p_sim *s, uint32_t realm) {
  if (realm == LP2P_SIM_INTERNET)
    return 1;
  const sim_node *n = sim_node_get(s, realm);
  return n && n->kind == NODE_NAT;
}

static int assign_ip(lp2p_sim *s, uint32_t realm, uint32_t *ip) {
  if (*ip) {
    if (realm && *ip == gateway_ip(realm) && !s->gateway_ok)
      return LP2P_ERR_INVAL;
    /* (node_new asks the federation, sim_fed_note_ip) */
    return sim_map_get(&s->ips, realm, *ip, NULL) ? LP2P_ERR_INVAL : 0;
  }
  for (;;) {
    uint32_t cand;
    if (realm == LP2P_SIM_INTERNET) {
      uint32_t k = s->inet_next++;
      if (k >= (1u << 24) - 2)
        return LP2P_ERR_LIMIT;
      cand = INET_BASE + 1 + k;
    } else {
      sim_node *nat = sim_node_get(s, realm);
      if (nat->lan_next > 254)
        return LP2P_ERR_LIMIT;
      cand = LP2P_SIM_IP4(10, realm >> 8 & 255, realm & 255, nat->lan_next++);
    }
    uint8_t last = (uint8_t)cand;
    if (last == 0 || last == 255)
      continue;
    if (!sim_map_get(&s->ips, realm, cand, NULL) &&
        !(realm == LP2P_SIM_INTERNET && sim_fed_ip_taken(s, cand))) {
      *ip = cand;
      return 0;
    }
  }
}

/* The federation's lookahead: no packet leaves an internet node's up link
 * sooner than its latency (xmit only ever adds to it). It only shrinks: a
 * stale, smaller value is merely less parallel. */
static void note_up_latency(lp2p_sim *s, const sim_node *n) {
  if (n->realm == LP2P_SIM_INTERNET && n->up.cfg.latency_ns < s->min_up_latency)
    s->min_up_latency = n->up.cfg.latency_ns;
}

static int node_new(lp2p_sim *s, uint8_t kind, uint32_t realm, uint32_t ip,
                    const lp2p_sim_link *up, const lp2p_sim_link *down,
                    sim_node **out) {
  if (!realm_ok(s, realm))
    return LP2P_ERR_NOT_FOUND;
  if (s->nnodes >= (1u << 24))
    return LP2P_ERR_LIMIT;
  int rc = assign_ip(s, realm, &ip);
  if (rc != 0)
    return rc;
  if (s->nnodes >= s->nodes_cap) {
    size_t nc = s->nodes_cap ? s->nodes_cap * 2 : 64;
    sim_node **nn = realloc(s->nodes, nc * sizeof(*nn));
    if (!nn)
      return LP2P_ERR_NOMEM;
    s->nodes = nn;
    s->nodes_cap = nc;
  }
  sim_node *n = calloc(1, sizeof(*n));
  if (!n)
    return LP2P_ERR_NOMEM;
  n->kind = kind;
  n->id = (uint32_t)s->nnodes;
  n->realm = realm;
  n->ip = ip;
  n->lan_next = 2; /* .1 is the gateway */
  if (realm == LP2P_SIM_INTERNET && (rc = sim_fed_note_ip(s, ip)) != 0) {
    free(n);
    return rc;
  }
  if (sim_map_put(&s->ips, realm, ip, n->id) != 0) {
    free(n);
    return LP2P_ERR_NOMEM;
  }
  lp2p_sim_link_default(&n->up.cfg);
  lp2p_sim_link_default(&n->down.cfg);
  if (up)
    n->up.cfg = *up;
  if (down)
    n->down.cfg = *down;
  note_up_latency(s, n);
  lp2p_sim_rng(s, STREAM_ID(STREAM_LINK, n->id), &n->link_rng_st, &n->link_rng);
  lp2p_sim_rng(s, STREAM_ID(kind == NODE_EP ? STREAM_EP : STREAM_NAT, n->id),
               &n->ep_rng_st, &n->ep_rng);
  if (kind == NODE_EP)
    lp2p_sim_rng(s, STREAM_ID(STREAM_APP, n->id), &n->app_rng_st, &n->app_rng);
  lp2p_sim_ep_config_default(&n->ep);
  s->nodes[s->nnodes++] = n;
  *out = n;
  return 0;
}

int lp2p_sim_ep_add(lp2p_sim *s, uint32_t realm, uint32_t ip,
                    const lp2p_sim_ep_config *cfg, const lp2p_sim_link *up,
                    const lp2p_sim_link *down, uint32_t *node) {
  sim_node *n;
  int rc = node_new(s, NODE_EP, realm, ip, up, down, &n);
  if (rc != 0)
    return rc;
  if (cfg)
    n->ep = *cfg;
  n->next_ephemeral = (uint16_t)(32768 + sim_rand_below(&n->ep_rng, 28232));
  if (node)
    *node = n->id;
  return 0;
}

int lp2p_sim_nat_add(lp2p_sim *s, uint32_t realm, uint32_t ext_ip,
                     const lp2p_sim_nat_config *cfg, const lp2p_sim_link *up,
                     const lp2p_sim_link *down, uint32_t *node) {
  sim_nat *nat = calloc(1, sizeof(*nat));
  if (!nat)
    return LP2P_ERR_NOMEM;
  sim_node *n;
  int rc = node_new(s, NODE_NAT, realm, ext_ip, up, down, &n);
  if (rc != 0) {
    free(nat);
    return rc;
  }
  lp2p_sim_nat_config def;
  if (!cfg) {
    lp2p_sim_nat_config_default(&def);
    cfg = &def;
  }
  n->nat = nat;
  rc = sim_nat_init(nat, cfg, n->ip, &n->ep_rng);
  if (rc != 0)
    return rc; /* the node stays, without tables: it drops everything */
  if (node)
    *node = n->id;
  return 0;
}

int sim_gateway_ep_add(lp2p_sim *s, uint32_t nat, uint32_t *node) {
  const sim_node *b = sim_node_get(s, nat);
  if (!b || b->kind != NODE_NAT)
    return LP2P_ERR_NOT_FOUND;
  s->gateway_ok = 1; /* the one way to the .1 address */
  int rc = lp2p_sim_ep_add(s, nat, gateway_ip(nat), NULL, NULL, NULL, node);
  s->gateway_ok = 0;
  return rc;
}

size_t lp2p_sim_nat_mappings(const lp2p_sim *s, uint32_t nat) {
  const sim_node *n = sim_node_get(s, nat);
  return n && n->nat ? sim_nat_live_mappings(n->nat, s->now) : 0;
}

uint32_t lp2p_sim_node_ip(const lp2p_sim *s, uint32_t node) {
  const sim_node *n = sim_node_get(s, node);
  return n ? n->ip : 0;
}

lp2p_sockaddr lp2p_sim_node_sockaddr(const lp2p_sim *s, uint32_t node,
                                     uint16_t port) {
  lp2p_sockaddr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  uint32_t ip = lp2p_sim_node_ip(s, node);
  for (int i = 0; i < 4; i++)
    a.ip[i] = (uint8_t)(ip >> (24 - 8 * i));
  a.port = port;
  return a;
}

uint32_t lp2p_sim_node_realm(const lp2p_sim *s, uint32_t node) {
  const sim_node *n = sim_node_get(s, node);
  return n ? n->realm : 0;
}

int lp2p_sim_link_set(lp2p_sim *s, uint32_t node, const lp2p_sim_link *up,
                      const lp2p_sim_link *down) {
  sim_node *n = sim_node_get(s, node);
  if (!n)
    return LP2P_ERR_NOT_FOUND;
  if (up)
    n->up.cfg = *up;
  if (down)
    n->down.cfg = *down;
  note_up_latency(s, n);
  return 0;
}

int lp2p_sim_link_block(lp2p_sim *s, uint32_t node, unsigned dirs, int on) {
  sim_node *n = sim_node_get(s, node);
  if (!n)
    return LP2P_ERR_NOT_FOUND;
  if (dirs & LP2P_SIM_UP)
    n->up.blocked = on ? 1 : 0;
  if (dirs & LP2P_SIM_DOWN)
    n->down.blocked = on ? 1 : 0;
  return 0;
}

int lp2p_sim_link_clog(lp2p_sim *s, uint32_t node, unsigned dirs,
                       lp2p_tstamp until) {
  sim_node *n = sim_node_get(s, node);
  if (!n)
    return LP2P_ERR_NOT_FOUND;
  if (dirs & LP2P_SIM_UP)
    n->up.clog_until = until;
  if (dirs & LP2P_SIM_DOWN)
    n->down.clog_until = until;
  return 0;
}

#define PAIR_BLOCKS_MAX 4096

int lp2p_sim_pair_block(lp2p_sim *s, uint32_t from, uint32_t to, int on) {
  if (s->fed) /* node ids are a world's own: a packet's origin may not be */
    return LP2P_ERR_STATE;
  if (!sim_node_get(s, from) || !sim_node_get(s, to))
    return LP2P_ERR_NOT_FOUND;
  for (size_t i = 0; i < s->nblocks; i++) {
    if (s->blocks[i].from == from && s->blocks[i].to == to) {
      if (!on)
        s->blocks[i] = s->blocks[--s->nblocks];
      return 0;
    }
  }
  if (!on)
    return 0;
  if (s->nblocks >= PAIR_BLOCKS_MAX)
    return LP2P_ERR_LIMIT;
  sim_block *nb = realloc(s->blocks, (s->nblocks + 1) * sizeof(*nb));
  if (!nb)
    return LP2P_ERR_NOMEM;
  s->blocks = nb;
  s->blocks[s->nblocks].from = from;
  s->blocks[s->nblocks].to = to;
  s->nblocks++;
  return 0;
}

int lp2p_sim_node_group(lp2p_sim *s, uint32_t node, unsigned group) {
  sim_node *n = sim_node_get(s, node);
  if (!n)
    return LP2P_ERR_NOT_FOUND;
  if (group > 15)
    return LP2P_ERR_INVAL;
  n->group = (uint8_t)group;
  return 0;
}

int lp2p_sim_group_block(lp2p_sim *s, unsigned from, unsigned to, int on) {
  if (from > 15 || to > 15)
    return LP2P_ERR_INVAL;
  uint16_t bit = (uint16_t)(1u << to);
  int was = (s->group_block[from] & bit) != 0;
  if (on && !was) {
    s->group_block[from] |= bit;
    s->group_blocks++;
  } else if (!on && was) {
    s->group_block[from] &= (uint16_t)~bit;
    s->group_blocks--;
  }
  return 0;
}
