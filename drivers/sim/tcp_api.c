/* The TCP model's socket API (listen, connect, accept, send, receive,
 * shutdown, close, abort); the protocol machine is in tcp.c. */
#include <string.h>

#include "drivers/sim/sim_internal.h"

static sim_sock *SK(lp2p_sim *s, uint32_t i) { return &s->socks[i]; }

static sim_node *node_of(lp2p_sim *s, const sim_sock *k) {
  return sim_node_get(s, k->node);
}

/* ---- the socket API
 * ---------------------------------------------------------- */

static uint32_t ip_of(const lp2p_sockaddr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

static uint16_t ephemeral(lp2p_sim *s, sim_node *n, uint32_t rip,
                          uint16_t rport) {
  for (uint32_t i = 0; i < 28232; i++) {
    uint16_t p = n->next_ephemeral;
    n->next_ephemeral = (uint16_t)(p >= 60999 ? 32768 : p + 1);
    uint64_t k1 = sim_sock_k1(SIM_TCP, n->id, p);
    if (!sim_map_get(&s->sockmap, k1, 0, NULL) &&
        (!rip || !sim_map_get(&s->sockmap, k1, sim_sock_k2(rip, rport), NULL)))
      return p;
  }
  return 0;
}

int lp2p_sim_tcp_listen(lp2p_sim *s, uint32_t node, uint16_t port,
                        uint64_t *sock, lp2p_sockaddr *bound) {
  sim_node *n = sim_node_get(s, node);
  if (!n || n->kind != NODE_EP)
    return LP2P_ERR_NOT_FOUND;
  if (!port && !(port = ephemeral(s, n, 0, 0)))
    return LP2P_ERR_LIMIT;
  uint64_t k1 = sim_sock_k1(SIM_TCP, node, port);
  if (sim_map_get(&s->sockmap, k1, 0, NULL))
    return LP2P_ERR_INVAL;
  uint32_t idx;
  sim_sock *k = sim_sock_alloc(s, &idx);
  if (!k)
    return LP2P_ERR_NOMEM;
  k->state = SK_LISTEN;
  k->node = node;
  k->lport = port;
  if (sim_map_put(&s->sockmap, k1, 0, idx) != 0) {
    sim_sock_release(s, idx);
    return LP2P_ERR_NOMEM;
  }
  *sock = sim_sock_handle(s, idx);
  if (bound) {
    lp2p_sim_sock_info info;
    lp2p_sim_sock_info_get(s, *sock, &info);
    *bound = info.local;
  }
  return 0;
}

int lp2p_sim_tcp_connect(lp2p_sim *s, uint32_t node, uint16_t local_port,
                         const lp2p_sockaddr *remote, uint8_t first_ttl,
                         uint64_t *sock) {
  sim_node *n = sim_node_get(s, node);
  if (!n || n->kind != NODE_EP)
    return LP2P_ERR_NOT_FOUND;
  if (!remote || remote->family != 4 || !remote->port)
    return LP2P_ERR_INVAL;
  uint32_t rip = ip_of(remote);
  if (!local_port && !(local_port = ephemeral(s, n, rip, remote->port)))
    return LP2P_ERR_LIMIT;
  uint64_t k1 = sim_sock_k1(SIM_TCP, node, local_port);
  uint64_t k2 = sim_sock_k2(rip, remote->port);
  if (sim_map_get(&s->sockmap, k1, k2, NULL))
    return LP2P_ERR_INVAL; /* EADDRINUSE: that 4-tuple exists */
  uint32_t idx;
  sim_sock *k = sim_sock_alloc(s, &idx);
  if (!k)
    return LP2P_ERR_NOMEM;
  k->state = SK_SYN_SENT;
  k->node = node;
  k->lport = local_port;
  k->rip = rip;
  k->rport = remote->port;
  k->isn = (uint32_t)lp2p_rng_u64(&n->ep_rng);
  k->syn_at = s->now;
  if (sim_map_put(&s->sockmap, k1, k2, idx) != 0) {
    sim_sock_release(s, idx);
    return LP2P_ERR_NOMEM;
  }
  *sock = sim_sock_handle(s, idx);
  sim_tcp_emit(s, idx, SIM_F_SYN, 0, 0, first_ttl);
  sim_tcp_arm(s, idx, s->now + n->ep.syn_rto_ns);
  return 0;
}

int lp2p_sim_tcp_accept(lp2p_sim *s, uint64_t listener, uint64_t *sock) {
  uint32_t li;
  sim_sock *L = sim_sock_by_handle(s, listener, &li);
  if (!L || L->state != SK_LISTEN)
    return LP2P_ERR_NOT_FOUND;
  if (!L->q_head)
    return LP2P_ERR_AGAIN;
  uint32_t idx = L->q_head;
  sim_sock *c = SK(s, idx);
  L->q_head = c->next_q;
  if (!L->q_head)
    L->q_tail = 0;
  L->q_len--;
  c->next_q = 0;
  c->accepted = 1;
  *sock = sim_sock_handle(s, idx);
  return 0;
}

static sim_sock *conn_sock(lp2p_sim *s, uint64_t h, uint32_t *idx) {
  sim_sock *k = sim_sock_by_handle(s, h, idx);
  if (!k || k->state == SK_LISTEN || k->state == SK_UDP || k->app_closed)
    return NULL;
  return k;
}

lp2p_ssize lp2p_sim_tcp_send(lp2p_sim *s, uint64_t sock, const uint8_t *p,
                             size_t n) {
  uint32_t idx;
  sim_sock *k = conn_sock(s, sock, &idx);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  if (k->state == SK_DEAD)
    return k->err == LP2P_ERR_RESET ? LP2P_ERR_RESET : k->err;
  if (k->state != SK_ESTABLISHED)
    return LP2P_ERR_STATE;
  if (k->shut_wr)
    return LP2P_ERR_CLOSED;
  size_t max = node_of(s, k)->ep.sndbuf_bytes;
  size_t room = k->snd.len < max ? max - k->snd.len : 0;
  size_t take = n < room ? n : room;
  if (take && sim_ring_reserve(&k->snd, take, max) != 0)
    take = 0;
  if (take < n)
    k->want_write = 1;
  if (!take)
    return n ? LP2P_ERR_AGAIN : 0;
  sim_ring_push(&k->snd, p, take);
  k->bytes_sent += take;
  sim_tcp_output(s, idx);
  return (lp2p_ssize)take;
}

size_t lp2p_sim_tcp_readable(const lp2p_sim *s, uint64_t sock) {
  const sim_sock *k = sim_sock_by_handle(s, sock, NULL);
  return k ? k->rcv.len : 0;
}

/* Copy a random-sized chunk of the buffered bytes (so framing bugs surface:
 * DESIGN.md 5) without taking it. Returns bytes, 0 at EOF, or an error. */
lp2p_ssize sim_tcp_peek(lp2p_sim *s, uint64_t sock, uint8_t *out, size_t cap) {
  uint32_t idx;
  sim_sock *k = conn_sock(s, sock, &idx);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  if (k->state == SK_DEAD)
    return k->err;
  if (!k->rcv.len)
    return k->fin_rcvd ? 0 : LP2P_ERR_AGAIN;
  if (!cap)
    return LP2P_ERR_INVAL;
  sim_node *n = node_of(s, k);
  size_t avail = k->rcv.len < cap ? k->rcv.len : cap;
  size_t take = avail;
  if (avail > 1 && (lp2p_rng_u64(&n->ep_rng) & 1))
    take = 1 + (size_t)sim_rand_below(&n->ep_rng, avail);
  sim_ring_copy(&k->rcv, 0, out, take);
  return (lp2p_ssize)take;
}

void sim_tcp_consume(lp2p_sim *s, uint64_t sock, size_t n) {
  uint32_t idx;
  sim_sock *k = conn_sock(s, sock, &idx);
  if (!k || k->state == SK_DEAD || !n || n > k->rcv.len)
    return;
  uint32_t before = k->last_wnd;
  sim_ring_drop(&k->rcv, n);
  uint32_t now_wnd = sim_tcp_rcv_wnd(s, k);
  uint32_t rcvbuf = node_of(s, k)->ep.rcvbuf_bytes;
  /* window update when a small window opened up, or by half the buffer
   * (receiver-side silly window avoidance, RFC 9293 3.8.6.2.2) */
  if (k->state == SK_ESTABLISHED && !k->fin_rcvd && now_wnd > before &&
      ((before < s->cfg.tcp_mss_bytes && now_wnd >= s->cfg.tcp_mss_bytes) ||
       now_wnd - before >= rcvbuf / 2))
    sim_tcp_emit(s, idx, SIM_F_ACK, k->snd_nxt, 0, 0);
}

lp2p_ssize lp2p_sim_tcp_recv(lp2p_sim *s, uint64_t sock, uint8_t *out,
                             size_t cap) {
  lp2p_ssize r = sim_tcp_peek(s, sock, out, cap);
  if (r > 0)
    sim_tcp_consume(s, sock, (size_t)r);
  return r;
}

int lp2p_sim_tcp_shutdown(lp2p_sim *s, uint64_t sock) {
  uint32_t idx;
  sim_sock *k = conn_sock(s, sock, &idx);
  if (!k)
    return LP2P_ERR_NOT_FOUND;
  k->shut_wr = 1;
  sim_tcp_output(s, idx);
  return 0;
}

static void close_listener(lp2p_sim *s, uint32_t li) {
  sim_sock *L = SK(s, li);
  sim_tcp_unhash(s, li);
  uint32_t c = L->q_head;
  while (c) {
    uint32_t next = SK(s, c)->next_q;
    if (SK(s, c)->state == SK_ESTABLISHED)
      sim_tcp_emit(s, c, SIM_F_RST | SIM_F_ACK, SK(s, c)->snd_nxt, 0, 0);
    sim_tcp_unhash(s, c);
    sim_sock_release(s, c);
    c = next;
  }
  sim_sock_release(s, li);
}

int lp2p_sim_tcp_abort(lp2p_sim *s, uint64_t sock) {
  uint32_t idx;
  sim_sock *k = sim_sock_by_handle(s, sock, &idx);
  if (!k || k->app_closed || k->state == SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  if (k->state == SK_LISTEN) {
    close_listener(s, idx);
    return 0;
  }
  if (k->state == SK_ESTABLISHED || k->state == SK_SYN_RCVD)
    sim_tcp_emit(s, idx, SIM_F_RST | SIM_F_ACK, k->snd_nxt, 0, 0);
  sim_tcp_unhash(s, idx);
  sim_sock_release(s, idx);
  return 0;
}

int lp2p_sim_tcp_close(lp2p_sim *s, uint64_t sock) {
  uint32_t idx;
  sim_sock *k = sim_sock_by_handle(s, sock, &idx);
  if (!k || k->app_closed || k->state == SK_UDP)
    return LP2P_ERR_NOT_FOUND;
  if (k->state == SK_LISTEN) {
    close_listener(s, idx);
    return 0;
  }
  if (k->state != SK_ESTABLISHED) { /* connecting or dead: nothing to say */
    sim_tcp_unhash(s, idx);
    sim_sock_release(s, idx);
    return 0;
  }
  if (k->rcv.len) /* unread data: Linux aborts with RST */
    return lp2p_sim_tcp_abort(s, sock);
  k->app_closed = 1;
  k->shut_wr = 1;
  sim_tcp_output(s, idx);
  sim_tcp_maybe_done(s, idx);
  return 0;
}
