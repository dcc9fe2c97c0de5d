/* The TCP model: a reliable, ordered byte pipe per connection.
 *
 * What is modelled: the SYN / SYN-ACK / ACK handshake with a nonce per
 * side (so a stale SYN-ACK is recognised), SYN and SYN-ACK retransmission
 * with exponential backoff, simultaneous open (a SYN reaching a socket in
 * SYN_SENT: both answer SYN-ACK, both become established, RFC 9293 3.5),
 * SO_REUSEPORT dials beside a listener (an inbound SYN goes to the socket
 * whose 4-tuple it matches, else to the listener), cumulative ACKs with a
 * receive window, go-back-N retransmission on an RTO (RFC 6298 estimator),
 * window probes, FIN and half-close, RST, orphaned sockets that linger to
 * deliver their FIN. What is not: congestion control (links pace TCP and
 * turn losses into stalls, net.c), TIME_WAIT, urgent data, options. */
#include <string.h>

#include "drivers/sim/sim_internal.h"

#define RTO_INITIAL_NS LP2P_NS_PER_S
#define RTO_MAX_NS (60 * LP2P_NS_PER_S)
#define ORPHAN_LINGER_NS (60 * LP2P_NS_PER_S)

static sim_sock *SK(lp2p_sim *s, uint32_t i) { return &s->socks[i]; }

static sim_node *node_of(lp2p_sim *s, const sim_sock *k) {
  return sim_node_get(s, k->node);
}

static uint64_t k1_of(const sim_sock *k) {
  return sim_sock_k1(SIM_TCP, k->node, k->lport);
}

static uint64_t k2_of(const sim_sock *k) {
  return k->state == SK_LISTEN ? 0 : sim_sock_k2(k->rip, k->rport);
}

/* Forget the 4-tuple (or the listening port) so new SYNs go elsewhere. */
void sim_tcp_unhash(lp2p_sim *s, uint32_t idx) {
  sim_sock *k = SK(s, idx);
  uint64_t v;
  if (sim_map_get(&s->sockmap, k1_of(k), k2_of(k), &v) && v == idx)
    sim_map_del(&s->sockmap, k1_of(k), k2_of(k));
}

uint32_t sim_tcp_rcv_wnd(const lp2p_sim *s, const sim_sock *k) {
  const sim_node *n = sim_node_get(s, k->node);
  size_t max = n->ep.rcvbuf_bytes;
  return (uint32_t)(k->rcv.len < max ? max - k->rcv.len : 0);
}

/* Send a segment; DATA comes from the send ring at stream offset `seq`. */
void sim_tcp_emit(lp2p_sim *s, uint32_t idx, uint8_t flags, uint64_t seq,
                  size_t len, uint8_t ttl) {
  sim_sock *k = SK(s, idx);
  sim_node *n = node_of(s, k);
  sim_pkt *p = sim_pkt_new(len);
  if (!p)
    return;
  p->proto = SIM_TCP;
  p->flags = flags;
  p->ttl = ttl ? ttl : SIM_TTL_DEFAULT;
  p->src_ip = n->ip;
  p->src_port = k->lport;
  p->dst_ip = k->rip;
  p->dst_port = k->rport;
  p->seq = seq;
  p->ack = k->rcv_nxt + (k->fin_rcvd ? 1u : 0u);
  p->isn = k->isn;
  p->isn_ack = k->peer_isn;
  p->wnd = sim_tcp_rcv_wnd(s, k);
  k->last_wnd = p->wnd;
  k->segs_out++;
  if (len)
    sim_ring_copy(&k->snd, (size_t)(seq - k->snd_una), p->data, len);
  sim_net_send(s, n, p);
}

static void send_rst_for(lp2p_sim *s, sim_node *n, const sim_pkt *in) {
  sim_pkt *p = sim_pkt_new(0);
  if (!p)
    return;
  p->proto = SIM_TCP;
  p->flags = SIM_F_RST | SIM_F_ACK;
  p->src_ip = n->ip;
  p->src_port = in->dst_port;
  p->dst_ip = in->src_ip;
  p->dst_port = in->src_port;
  p->ack = in->seq + in->len + 1;
  sim_net_send(s, n, p);
}

/* ---- timers (lazy: one pending event, re-armed when it fires early) ---- */

static void timer_event(lp2p_sim *s, void *ud, uint64_t arg);

void sim_tcp_arm(lp2p_sim *s, uint32_t idx, lp2p_tstamp at) {
  sim_sock *k = SK(s, idx);
  k->timer_at = at;
  if (k->ev_at != LP2P_TSTAMP_NONE && k->ev_at <= at)
    return; /* the queued event fires first and re-arms for `at` */
  k->ev_at = at;
  sim_evq_push(&s->q, at, timer_event, NULL, sim_sock_handle(s, idx));
}

static void disarm(sim_sock *k) { k->timer_at = LP2P_TSTAMP_NONE; }

/* ---- state changes ------------------------------------------------------ */

/* The connection died (refused, reset, timed out): forget its tuple, drop
 * its buffers, tell the owner. An orphan is released at once. */
static void die(lp2p_sim *s, uint32_t idx, int err, unsigned what) {
  sim_sock *k = SK(s, idx);
  sim_tcp_unhash(s, idx);
  k->state = SK_DEAD;
  k->err = err;
  disarm(k);
  sim_ring_free(&k->snd);
  sim_ring_free(&k->rcv);
  if (k->app_closed) {
    sim_sock_release(s, idx);
    return;
  }
  sim_sock_notify(s, idx, what);
}

static void rtt_sample(lp2p_sim *s, sim_sock *k, uint64_t r) {
  const sim_node *n = sim_node_get(s, k->node);
  if (!k->srtt_ns) {
    k->srtt_ns = r ? r : 1;
    k->rttvar_ns = r / 2;
  } else {
    uint64_t d = k->srtt_ns > r ? k->srtt_ns - r : r - k->srtt_ns;
    k->rttvar_ns = (3 * k->rttvar_ns + d) / 4;
    k->srtt_ns = (7 * k->srtt_ns + r) / 8;
  }
  uint64_t rto = k->srtt_ns + 4 * k->rttvar_ns;
  if (rto < n->ep.rto_min_ns)
    rto = n->ep.rto_min_ns;
  k->rto_ns = rto > RTO_MAX_NS ? RTO_MAX_NS : rto;
}

static int in_flight(const sim_sock *k) {
  return k->snd_nxt > k->snd_una || (k->fin_sent && !k->fin_acked);
}

/* Release an orphan whose both directions are finished. */
int sim_tcp_maybe_done(lp2p_sim *s, uint32_t idx) {
  sim_sock *k = SK(s, idx);
  if (k->fin_acked && k->fin_rcvd) {
    sim_tcp_unhash(s, idx);
    if (k->app_closed) {
      sim_sock_release(s, idx);
      return 1;
    }
  }
  return 0;
}

/* Send what the window allows, the FIN after the data, keep the timer. */
void sim_tcp_output(lp2p_sim *s, uint32_t idx) {
  sim_sock *k = SK(s, idx);
  if (k->state != SK_ESTABLISHED)
    return;
  uint32_t mss = s->cfg.tcp_mss_bytes;
  uint64_t end = k->snd_una + k->snd.len;
  uint64_t limit = k->snd_una + k->snd_wnd;
  while (k->snd_nxt < end && k->snd_nxt < limit) {
    uint64_t len = end - k->snd_nxt;
    if (len > mss)
      len = mss;
    if (len > limit - k->snd_nxt)
      len = limit - k->snd_nxt;
    sim_tcp_emit(s, idx, SIM_F_ACK, k->snd_nxt, (size_t)len, 0);
    if (!k->timed_seq) {
      k->timed_seq = k->snd_nxt + len;
      k->timed_at = s->now;
    }
    k->snd_nxt += len;
  }
  if (k->shut_wr && !k->fin_sent && k->snd_nxt == end) {
    sim_tcp_emit(s, idx, SIM_F_ACK | SIM_F_FIN, end, 0, 0);
    k->fin_sent = 1;
  }
  int probe = k->snd_nxt < end && k->snd_wnd == 0 && !in_flight(k);
  if (in_flight(k) || probe) {
    if (k->timer_at == LP2P_TSTAMP_NONE)
      sim_tcp_arm(s, idx, s->now + (k->rto_ns ? k->rto_ns : RTO_INITIAL_NS));
  } else if (k->app_closed && k->fin_acked) { /* FIN_WAIT_2 */
    if (k->timer_at == LP2P_TSTAMP_NONE)
      sim_tcp_arm(s, idx, s->now + ORPHAN_LINGER_NS);
  } else {
    disarm(k);
  }
}

static void established(lp2p_sim *s, uint32_t idx) {
  sim_sock *k = SK(s, idx);
  k->state = SK_ESTABLISHED;
  k->retries = 0;
  disarm(k);
  if (!k->snd_wnd)
    k->snd_wnd = 65535;
}

/* ---- timers ---------------------------------------------------------------
 */

static void timer_event(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)ud;
  uint32_t idx;
  sim_sock *k = sim_sock_by_handle(s, arg, &idx);
  if (!k || k->ev_at != s->now)
    return; /* superseded by an earlier event */
  k->ev_at = LP2P_TSTAMP_NONE;
  if (k->timer_at == LP2P_TSTAMP_NONE)
    return;
  if (k->timer_at > s->now) {
    sim_tcp_arm(s, idx, k->timer_at);
    return;
  }
  k->timer_at = LP2P_TSTAMP_NONE;
  const sim_node *n = node_of(s, k);
  sim_hash_u64(s, 0x7100 | k->state);
  switch (k->state) {
  case SK_SYN_SENT:
  case SK_SYN_RCVD: {
    uint32_t max = k->state == SK_SYN_SENT || !k->passive
                       ? n->ep.syn_retries
                       : n->ep.synack_retries;
    if (k->retries >= max) {
      if (k->passive) {
        sim_tcp_unhash(s, idx);
        sim_sock_release(s, idx);
      } else {
        die(s, idx, LP2P_ERR_TIMEOUT, LP2P_SIM_SOCK_FAILED);
      }
      return;
    }
    k->retries++;
    sim_tcp_emit(s, idx,
                 k->state == SK_SYN_SENT ? SIM_F_SYN : SIM_F_SYN | SIM_F_ACK, 0,
                 0, 0);
    sim_tcp_arm(s, idx, s->now + (n->ep.syn_rto_ns << k->retries));
    return;
  }
  case SK_ESTABLISHED:
    break;
  default:
    return;
  }
  int zero_wnd = k->snd.len > k->snd_nxt - k->snd_una && k->snd_wnd == 0;
  if (!in_flight(k) && !zero_wnd && !(k->app_closed && k->fin_acked))
    return;                            /* nothing left to time */
  if (k->app_closed && k->fin_acked) { /* FIN_WAIT_2 timeout */
    sim_tcp_unhash(s, idx);
    sim_sock_release(s, idx);
    return;
  }
  if (++k->retries > n->ep.data_retries) {
    sim_tcp_emit(s, idx, SIM_F_RST | SIM_F_ACK, k->snd_nxt, 0, 0);
    die(s, idx, LP2P_ERR_TIMEOUT, LP2P_SIM_SOCK_RESET);
    return;
  }
  k->rto_ns = k->rto_ns ? k->rto_ns * 2 : RTO_INITIAL_NS;
  if (k->rto_ns > RTO_MAX_NS)
    k->rto_ns = RTO_MAX_NS;
  k->timed_seq = 0;   /* Karn: no samples from retransmissions */
  if (in_flight(k)) { /* go back N */
    k->snd_nxt = k->snd_una;
    if (!k->fin_acked)
      k->fin_sent = 0;
    sim_tcp_output(s, idx);
    if (k->snd_nxt == k->snd_una && !k->fin_sent) /* zero window */
      sim_tcp_emit(s, idx, SIM_F_ACK | SIM_F_PROBE, k->snd_nxt, 0, 0);
  } else {
    sim_tcp_emit(s, idx, SIM_F_ACK | SIM_F_PROBE, k->snd_nxt, 0, 0);
  }
  if (k->timer_at == LP2P_TSTAMP_NONE)
    sim_tcp_arm(s, idx, s->now + k->rto_ns);
}

/* ---- input -----------------------------------------------------------------
 */

static void on_ack(lp2p_sim *s, uint32_t idx, const sim_pkt *p) {
  sim_sock *k = SK(s, idx);
  uint64_t end = k->snd_una + k->snd.len;
  k->snd_wnd = p->wnd;
  if (p->ack <= k->snd_una)
    return;
  uint64_t a = p->ack > end ? end : p->ack;
  if (k->fin_sent && p->ack == end + 1)
    k->fin_acked = 1;
  if (a > k->snd_una) {
    if (k->timed_seq && a >= k->timed_seq) {
      rtt_sample(s, k, s->now - k->timed_at);
      k->timed_seq = 0;
    }
    sim_ring_drop(&k->snd, (size_t)(a - k->snd_una));
    k->snd_una = a;
    if (k->snd_nxt < a)
      k->snd_nxt = a;
  }
  k->retries = 0;
  disarm(k); /* sim_tcp_output() re-arms while something is in flight */
}

static void on_data(lp2p_sim *s, uint32_t idx, const sim_pkt *p, int *ack,
                    unsigned *what) {
  sim_sock *k = SK(s, idx);
  sim_node *n = node_of(s, k);
  if (p->len) {
    *ack = 1;
    if (p->seq <= k->rcv_nxt && k->rcv_nxt < p->seq + p->len && !k->fin_rcvd) {
      size_t off = (size_t)(k->rcv_nxt - p->seq);
      size_t take = p->len - off;
      uint32_t room = sim_tcp_rcv_wnd(s, k);
      if (take > room)
        take = room;
      if (take && sim_ring_reserve(&k->rcv, take, n->ep.rcvbuf_bytes) == 0) {
        sim_ring_push(&k->rcv, p->data + off, take);
        k->rcv_nxt += take;
        k->bytes_received += take;
        *what |= LP2P_SIM_SOCK_READABLE;
      }
    }
  }
  if (p->flags & SIM_F_FIN) {
    *ack = 1;
    if (!k->fin_rcvd && p->seq + p->len == k->rcv_nxt) {
      k->fin_rcvd = 1;
      *what |= LP2P_SIM_SOCK_READABLE;
    }
  }
  if (p->flags & SIM_F_PROBE)
    *ack = 1;
}

static void enqueue_accept(lp2p_sim *s, uint32_t idx, uint32_t li) {
  sim_sock *L = SK(s, li);
  SK(s, idx)->next_q = 0;
  if (L->q_tail)
    SK(s, L->q_tail)->next_q = idx;
  else
    L->q_head = idx;
  L->q_tail = idx;
  L->q_len++;
  sim_sock_notify(s, li, LP2P_SIM_SOCK_ACCEPT);
}

static void conn_input(lp2p_sim *s, uint32_t idx, sim_pkt *p) {
  sim_sock *k = SK(s, idx);
  uint8_t f = p->flags;
  if (f & SIM_F_RST) {
    if (k->state == SK_SYN_RCVD && k->passive) {
      sim_tcp_unhash(s, idx);
      sim_sock_release(s, idx);
    } else if (k->state == SK_SYN_SENT || k->state == SK_SYN_RCVD) {
      die(s, idx, LP2P_ERR_REFUSED, LP2P_SIM_SOCK_FAILED);
    } else {
      die(s, idx, LP2P_ERR_RESET, LP2P_SIM_SOCK_RESET);
    }
    return;
  }
  if (f & SIM_F_SYN) {
    if (!(f & SIM_F_ACK)) {          /* a SYN */
      if (k->state == SK_SYN_SENT) { /* simultaneous open */
        k->peer_isn = p->isn;
        k->state = SK_SYN_RCVD;
        sim_tcp_emit(s, idx, SIM_F_SYN | SIM_F_ACK, 0, 0, 0);
      } else if (k->state == SK_SYN_RCVD) {
        sim_tcp_emit(s, idx, SIM_F_SYN | SIM_F_ACK, 0, 0, 0);
      } else {
        sim_tcp_emit(s, idx, SIM_F_ACK, k->snd_nxt, 0, 0);
      }
      return;
    }
    /* a SYN-ACK */
    if ((k->state == SK_SYN_SENT || (k->state == SK_SYN_RCVD && !k->passive)) &&
        p->isn_ack == k->isn) {
      if (k->state == SK_SYN_SENT && k->retries == 0)
        rtt_sample(s, k, s->now - k->syn_at);
      k->peer_isn = p->isn;
      established(s, idx);
      k->snd_wnd = p->wnd;
      sim_tcp_emit(s, idx, SIM_F_ACK, 0, 0, 0);
      sim_sock_notify(s, idx, LP2P_SIM_SOCK_CONNECTED);
    } else if (k->state == SK_ESTABLISHED) {
      sim_tcp_emit(s, idx, SIM_F_ACK, k->snd_nxt, 0, 0);
    }
    return;
  }
  if (k->state == SK_SYN_SENT || !(f & SIM_F_ACK))
    return;
  if (k->state == SK_SYN_RCVD) {
    established(s, idx);
    if (k->retries == 0 && k->syn_at)
      rtt_sample(s, k, s->now - k->syn_at);
    k->snd_wnd = p->wnd;
    if (k->passive) {
      uint32_t li;
      sim_sock *L = sim_sock_by_handle(s, k->listener_h, &li);
      if (!L || L->state != SK_LISTEN) {
        sim_tcp_emit(s, idx, SIM_F_RST | SIM_F_ACK, 0, 0, 0);
        sim_tcp_unhash(s, idx);
        sim_sock_release(s, idx);
        return;
      }
      enqueue_accept(s, idx, li);
    } else {
      sim_sock_notify(s, idx, LP2P_SIM_SOCK_CONNECTED);
    }
    k = SK(s, idx);
    if (k->state != SK_ESTABLISHED)
      return;
  }
  if (k->state != SK_ESTABLISHED)
    return;
  if (k->app_closed && p->len) { /* data for a closed socket: RST */
    sim_tcp_emit(s, idx, SIM_F_RST | SIM_F_ACK, k->snd_nxt, 0, 0);
    sim_tcp_unhash(s, idx);
    sim_sock_release(s, idx);
    return;
  }
  on_ack(s, idx, p);
  int ack = 0;
  unsigned what = 0;
  on_data(s, idx, p, &ack, &what);
  k = SK(s, idx);
  /* Data owes an ACK. Any segment we send carries it, so a bare one goes
   * out only if nothing else does: not after our own queued output, and,
   * when the owner is told about new data, not before it had its chance
   * to answer at this same instant (a delayed ACK that the answer
   * carries, as a real stack's does within its delayed-ACK time). */
  uint32_t segs = k->segs_out;
  sim_tcp_output(s, idx);
  k = SK(s, idx);
  int defer = ack && what && !k->app_closed;
  if (ack && !defer && k->segs_out == segs)
    sim_tcp_emit(s, idx, SIM_F_ACK, k->snd_nxt, 0, 0);
  if (sim_tcp_maybe_done(s, idx))
    return;
  k = SK(s, idx);
  if (k->want_write && k->snd.len < node_of(s, k)->ep.sndbuf_bytes) {
    k->want_write = 0;
    what |= LP2P_SIM_SOCK_WRITABLE;
  }
  if (!what)
    return;
  uint64_t handle = sim_sock_handle(s, idx);
  sim_sock_notify(s, idx, what);
  if (!defer)
    return;
  /* the owner may have closed, reset or replaced the socket meanwhile */
  uint32_t j;
  k = sim_sock_by_handle(s, handle, &j);
  if (k && k->state == SK_ESTABLISHED && k->segs_out == segs)
    sim_tcp_emit(s, j, SIM_F_ACK, k->snd_nxt, 0, 0);
}

static void new_child(lp2p_sim *s, sim_node *n, uint32_t li, sim_pkt *p) {
  sim_sock *L = SK(s, li);
  if (L->q_len >= n->ep.backlog_max)
    return; /* accept queue full: drop the SYN, the peer retries */
  uint64_t lh = sim_sock_handle(s, li);
  uint32_t idx;
  sim_sock *c = sim_sock_alloc(s, &idx);
  if (!c)
    return;
  c->state = SK_SYN_RCVD;
  c->passive = 1;
  c->listener_h = lh;
  c->host_owned = SK(s, li)->host_owned; /* whoever owns the listener */
  c->node = n->id;
  c->lport = p->dst_port;
  c->rip = p->src_ip;
  c->rport = p->src_port;
  c->peer_isn = p->isn;
  c->isn = (uint32_t)lp2p_rng_u64(&n->ep_rng);
  c->syn_at = s->now;
  c->snd_wnd = p->wnd;
  if (sim_map_put(&s->sockmap, k1_of(c), k2_of(c), idx) != 0) {
    sim_sock_release(s, idx);
    return;
  }
  sim_tcp_emit(s, idx, SIM_F_SYN | SIM_F_ACK, 0, 0, 0);
  sim_tcp_arm(s, idx, s->now + n->ep.syn_rto_ns);
}

void sim_tcp_input(lp2p_sim *s, sim_node *n, sim_pkt *p) {
  uint64_t v;
  uint64_t k1 = sim_sock_k1(SIM_TCP, n->id, p->dst_port);
  if (sim_map_get(&s->sockmap, k1, sim_sock_k2(p->src_ip, p->src_port), &v)) {
    conn_input(s, (uint32_t)v, p);
  } else if ((p->flags & (SIM_F_SYN | SIM_F_ACK | SIM_F_RST)) == SIM_F_SYN &&
             sim_map_get(&s->sockmap, k1, 0, &v)) {
    new_child(s, n, (uint32_t)v, p);
  } else if (!(p->flags & SIM_F_RST) && n->ep.closed_port_rst) {
    send_rst_for(s, n, p);
  }
  sim_pkt_free(p);
}
