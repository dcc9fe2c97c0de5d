/* Simulated sockets: handles, byte rings, notifications, and UDP.
 *
 * A handle is (generation << 32 | index): never 0, and a stale handle
 * (released socket, slot reused) is recognised by its generation. */
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"

/* ---- rings -------------------------------------------------------------- */

void sim_ring_free(sim_ring *r) {
  free(r->b);
  memset(r, 0, sizeof(*r));
}

int sim_ring_reserve(sim_ring *r, size_t need, size_t max) {
  if (r->len + need <= r->cap)
    return 0;
  size_t nc = r->cap ? r->cap : 4096;
  while (nc < r->len + need)
    nc *= 2;
  if (nc > max)
    nc = max;
  if (nc < r->len + need)
    return LP2P_ERR_LIMIT;
  uint8_t *nb = malloc(nc);
  if (!nb)
    return LP2P_ERR_NOMEM;
  sim_ring_copy(r, 0, nb, r->len);
  free(r->b);
  r->b = nb;
  r->cap = nc;
  r->head = 0;
  return 0;
}

void sim_ring_push(sim_ring *r, const uint8_t *p, size_t n) {
  size_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);
  size_t first = r->cap - tail < n ? r->cap - tail : n;
  memcpy(r->b + tail, p, first);
  memcpy(r->b, p + first, n - first);
  r->len += n;
}

void sim_ring_copy(const sim_ring *r, size_t off, uint8_t *out, size_t n) {
  if (!n)
    return;
  size_t start = (r->head + off) % r->cap;
  size_t first = r->cap - start < n ? r->cap - start : n;
  memcpy(out, r->b + start, first);
  memcpy(out + first, r->b, n - first);
}

void sim_ring_drop(sim_ring *r, size_t n) {
  r->len -= n;
  r->head = r->len ? (r->head + n) % r->cap : 0;
  /* idle sockets keep no buffer: a simulated DHT holds ~200 open
   * connections per host, mostly quiet, and 8 KiB of rings per
   * connection was most of the simulator's memory at 1,000 hosts */
  if (!r->len)
    sim_ring_free(r);
}

/* ---- handles ------------------------------------------------------------- */

uint64_t sim_sock_k1(uint8_t proto, uint32_t node, uint16_t lport) {
  return (uint64_t)proto << 56 | (uint64_t)node << 16 | lport;
}

uint64_t sim_sock_k2(uint32_t rip, uint16_t rport) {
  return (uint64_t)rip << 16 | rport;
}

sim_sock *sim_sock_alloc(lp2p_sim *s, uint32_t *idx) {
  uint32_t i;
  if (s->nsock_free) {
    i = s->sock_free[--s->nsock_free];
  } else {
    if (s->nsocks >= s->socks_cap) {
      size_t nc = s->socks_cap ? s->socks_cap * 2 : 64;
      sim_sock *ns = realloc(s->socks, nc * sizeof(*ns));
      if (!ns)
        return NULL;
      s->socks = ns;
      uint32_t *nf = realloc(s->sock_free, nc * sizeof(*nf));
      if (!nf)
        return NULL;
      s->sock_free = nf;
      s->socks_cap = nc;
    }
    i = (uint32_t)s->nsocks++;
    s->socks[i].gen = 0;
  }
  sim_sock *k = &s->socks[i];
  uint32_t gen = k->gen + 1;
  memset(k, 0, sizeof(*k));
  k->gen = gen ? gen : 1;
  k->timer_at = LP2P_TSTAMP_NONE;
  k->ev_at = LP2P_TSTAMP_NONE;
  *idx = i;
  return k;
}

void sim_sock_release(lp2p_sim *s, uint32_t idx) {
  sim_sock *k = &s->socks[idx];
  if (k->state == SK_FREE)
    return;
  sim_ring_free(&k->snd);
  sim_ring_free(&k->rcv);
  while (k->dq_head) {
    sim_dgram *d = k->dq_head;
    k->dq_head = d->next;
    free(d);
  }
  k->state = SK_FREE;
  k->gen++;
  k->timer_at = LP2P_TSTAMP_NONE;
  s->sock_free[s->nsock_free++] = idx;
}

sim_sock *sim_sock_by_handle(const lp2p_sim *s, uint64_t h, uint32_t *idx) {
  uint32_t i = (uint32_t)h;
  if (i == 0 || i >= s->nsocks)
    return NULL;
  sim_sock *k = &s->socks[i];
  if (k->state == SK_FREE || k->gen != (uint32_t)(h >> 32))
    return NULL;
  if (idx)
    *idx = i;
  return k;
}

uint64_t sim_sock_handle(const lp2p_sim *s, uint32_t idx) {
  return (uint64_t)s->socks[idx].gen << 32 | idx;
}

void sim_sock_notify(lp2p_sim *s, uint32_t idx, unsigned what) {
  sim_sock *k = &s->socks[idx];
  if (k->app_closed || (k->passive && !k->accepted))
    return; /* nobody holds this handle */
  sim_node *n = sim_node_get(s, k->node);
  if (!n)
    return;
  lp2p_sim_sock_fn fn = k->host_owned ? n->host_sock_fn : n->sock_fn;
  if (fn)
    fn(k->host_owned ? n->host_sock_ud : n->sock_ud, s,
       sim_sock_handle(s, idx), k->tag, what);
}

int sim_sock_set_host(lp2p_sim *s, uint64_t sock) {
  sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  k->host_owned = 1;
  return 0;
}

void sim_sock_free_all(lp2p_sim *s) {
  for (size_t i = 1; i < s->nsocks; i++)
    if (s->socks[i].state != SK_FREE)
      sim_sock_release(s, (uint32_t)i);
  free(s->socks);
  free(s->sock_free);
  s->socks = NULL;
  s->sock_free = NULL;
}

int lp2p_sim_ep_on_sock(lp2p_sim *s, uint32_t node, lp2p_sim_sock_fn fn,
                        void *ud) {
  sim_node *n = sim_node_get(s, node);
  if (!n || n->kind != NODE_EP)
    return LP2P_ERR_NOT_FOUND;
  n->sock_fn = fn;
  n->sock_ud = ud;
  return 0;
}

int lp2p_sim_sock_set_tag(lp2p_sim *s, uint64_t sock, uint64_t tag) {
  sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  k->tag = tag;
  return 0;
}

static void addr_of(lp2p_sockaddr *a, uint32_t ip, uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->family = 4;
  a->ip[0] = (uint8_t)(ip >> 24);
  a->ip[1] = (uint8_t)(ip >> 16);
  a->ip[2] = (uint8_t)(ip >> 8);
  a->ip[3] = (uint8_t)ip;
  a->port = port;
}

int lp2p_sim_sock_info_get(const lp2p_sim *s, uint64_t sock,
                           lp2p_sim_sock_info *out) {
  const sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  memset(out, 0, sizeof(*out));
  const sim_node *n = sim_node_get(s, k->node);
  out->listening = k->state == SK_LISTEN;
  out->established = k->state == SK_ESTABLISHED;
  out->eof = k->fin_rcvd;
  out->error = k->err;
  addr_of(&out->local, n ? n->ip : 0, k->lport);
  if (k->state != SK_LISTEN && k->state != SK_UDP)
    addr_of(&out->remote, k->rip, k->rport);
  out->bytes_sent = k->bytes_sent;
  out->bytes_acked = k->snd_una;
  out->bytes_received = k->bytes_received;
  return 0;
}

/* ---- UDP ----------------------------------------------------------------- */

static uint32_t ip_of(const lp2p_sockaddr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

int lp2p_sim_udp_open(lp2p_sim *s, uint32_t node, uint16_t port, uint64_t *sock,
                      lp2p_sockaddr *bound) {
  sim_node *n = sim_node_get(s, node);
  if (!n || n->kind != NODE_EP)
    return LP2P_ERR_NOT_FOUND;
  if (!port) {
    for (uint32_t i = 0; i < 28232 && !port; i++) {
      uint16_t p = n->next_ephemeral;
      n->next_ephemeral = (uint16_t)(p >= 60999 ? 32768 : p + 1);
      if (!sim_map_get(&s->sockmap, sim_sock_k1(SIM_UDP, node, p), 0, NULL))
        port = p;
    }
    if (!port)
      return LP2P_ERR_LIMIT;
  } else if (sim_map_get(&s->sockmap, sim_sock_k1(SIM_UDP, node, port), 0,
                         NULL)) {
    return LP2P_ERR_INVAL;
  }
  uint32_t idx;
  sim_sock *k = sim_sock_alloc(s, &idx);
  if (!k)
    return LP2P_ERR_NOMEM;
  k->state = SK_UDP;
  k->node = node;
  k->lport = port;
  if (sim_map_put(&s->sockmap, sim_sock_k1(SIM_UDP, node, port), 0, idx)) {
    sim_sock_release(s, idx);
    return LP2P_ERR_NOMEM;
  }
  *sock = sim_sock_handle(s, idx);
  if (bound)
    addr_of(bound, n->ip, port);
  return 0;
}

int lp2p_sim_udp_join(lp2p_sim *s, uint64_t sock) {
  sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k || k->state != SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  k->mcast = 1;
  return 0;
}

int lp2p_sim_udp_send(lp2p_sim *s, uint64_t sock, const lp2p_sockaddr *to,
                      const uint8_t *p, size_t n, uint8_t ttl) {
  sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k || k->state != SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  if (to->family != 4 || n > 65507)
    return LP2P_ERR_INVAL;
  sim_node *node = sim_node_get(s, k->node);
  sim_pkt *pk = sim_pkt_new(n);
  if (!pk)
    return LP2P_ERR_NOMEM;
  pk->proto = SIM_UDP;
  pk->ttl = ttl ? ttl : SIM_TTL_DEFAULT;
  pk->src_ip = node->ip;
  pk->src_port = k->lport;
  pk->dst_ip = ip_of(to);
  pk->dst_port = to->port;
  if (n)
    memcpy(pk->data, p, n);
  sim_net_send(s, node, pk);
  return 0;
}

void sim_udp_input(lp2p_sim *s, sim_node *n, sim_pkt *p) {
  uint64_t v;
  if (!sim_map_get(&s->sockmap, sim_sock_k1(SIM_UDP, n->id, p->dst_port), 0,
                   &v)) {
    sim_pkt_free(p);
    return;
  }
  sim_sock *k = &s->socks[v];
  if ((p->dst_ip == LP2P_SIM_MCAST_IP && !k->mcast) ||
      k->dq_len >= n->ep.udp_queue_max) {
    sim_pkt_free(p);
    return;
  }
  sim_dgram *d = malloc(sizeof(*d) + p->len);
  if (!d) {
    sim_pkt_free(p);
    return;
  }
  d->next = NULL;
  addr_of(&d->from, p->src_ip, p->src_port);
  d->len = p->len;
  memcpy(d->data, p->data, p->len);
  sim_pkt_free(p);
  if (k->dq_tail)
    k->dq_tail->next = d;
  else
    k->dq_head = d;
  k->dq_tail = d;
  k->dq_len++;
  sim_sock_notify(s, (uint32_t)v, LP2P_SIM_SOCK_READABLE);
}

int sim_udp_joined(const lp2p_sim *s, uint32_t node, uint16_t port) {
  uint64_t v;
  if (!sim_map_get(&s->sockmap, sim_sock_k1(SIM_UDP, node, port), 0, &v))
    return 0;
  return s->socks[v].mcast;
}

lp2p_ssize lp2p_sim_udp_recv(lp2p_sim *s, uint64_t sock, lp2p_sockaddr *from,
                             uint8_t *out, size_t cap) {
  sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  if (!k || k->state != SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  sim_dgram *d = k->dq_head;
  if (!d)
    return LP2P_ERR_AGAIN;
  k->dq_head = d->next;
  if (!k->dq_head)
    k->dq_tail = NULL;
  k->dq_len--;
  size_t n = d->len < cap ? d->len : cap;
  if (n)
    memcpy(out, d->data, n);
  if (from)
    *from = d->from;
  free(d);
  return (lp2p_ssize)n;
}

int lp2p_sim_udp_close(lp2p_sim *s, uint64_t sock) {
  uint32_t idx;
  sim_sock *k = sim_sock_by_handle(s, sock, &idx);
  if (!k || k->state != SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  sim_map_del(&s->sockmap, sim_sock_k1(SIM_UDP, k->node, k->lport), 0);
  sim_sock_release(s, idx);
  return 0;
}
