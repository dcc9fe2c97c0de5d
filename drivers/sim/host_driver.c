/* The sim driver: runs a real lp2p_host on a simulated endpoint, doing for
 * it what drivers/loop.c does with real sockets (DESIGN.md sections 2-5).
 *
 * After every event that touches a host (a socket notification, its timer,
 * an application kick) the driver drains in the contract's order: dirty
 * connections' output (out_peek / conn_out_consume, partial sends), then
 * I/O requests (poll_io), then application events (poll_event), repeated
 * until all three are empty; then it reschedules the host's timer from
 * next_timeout, converted from the node's local clock (offset and drift)
 * to virtual time. A host whose timer fires more than spin_max times at
 * one virtual time without its deadline moving fails the run (a spin).
 * Checkers: no event for a stream after its CLOSED/RESET/OPEN_FAILED, no
 * event after the host's CLOSED. Faults: failed dials, delayed accepts,
 * partial writes, bit flips in fed bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/host_ops.h"
#include "drivers/sim/sim_internal.h"

#define STREAM_FAULT 5u
#define TAG_LISTENER (UINT64_C(1) << 63)
#define TAG_UDP (UINT64_C(1) << 62)
#define TAG_RAW (UINT64_C(1) << 61) /* a raw TCP socket or listener */
#define TAG_IDS (TAG_RAW - 1)
#define FEED_CHUNK_MAX 65536
#define UNIX_EPOCH_NS UINT64_C(1700000000000000000) /* a fixed 2023 date */

/* A byte socket of the host: a libp2p connection or a raw TCP connection
 * (ns DRV_NS_CONN / DRV_NS_RAW, answered through `ops`). */
typedef struct hconn {
  uint64_t conn; /* host id; 0 = free slot */
  uint64_t sock;
  const drv_sock_ops *ops;
  uint8_t ns;
  uint8_t eof_fed;
  uint8_t connecting;
} hconn;

typedef struct sim_hnode {
  lp2p_sim *s;
  uint32_t node;
  lp2p_host *h;
  lp2p_mem_counting mem;
  lp2p_rng_chacha fault_st;
  lp2p_rng fault_rng;
  lp2p_sim_faults faults;
  hconn *conns;
  size_t nconns, conns_cap;
  sim_map conn_idx;  /* (host id, ns) -> index in conns */
  sim_map listeners; /* (listener or raw id, ns) -> socket handle */
  sim_map dead_streams;
  lp2p_tstamp timer_at, ev_at; /* virtual */
  lp2p_tstamp spin_at;
  uint64_t spin_count;
  int closed; /* CLOSED event seen */
  int depth;  /* re-entrancy guard for drain */
} sim_hnode;

static lp2p_tstamp local_now(const sim_hnode *hn) {
  return sim_virtual_to_local(sim_node_get(hn->s, hn->node), hn->s->now);
}

static int chance(sim_hnode *hn, uint32_t ppm) {
  return ppm && sim_rand_below(&hn->fault_rng, 1000000) < ppm;
}

static void drain(sim_hnode *hn);

/* ---- connection records ----------------------------------------------------
 */

static hconn *conn_find(sim_hnode *hn, uint64_t conn, uint8_t ns) {
  uint64_t v;
  if (!conn || !sim_map_get(&hn->conn_idx, conn, ns, &v))
    return NULL;
  return &hn->conns[v];
}

static hconn *conn_add(sim_hnode *hn, uint64_t conn, uint8_t ns,
                       uint64_t sock) {
  size_t i;
  for (i = 0; i < hn->nconns && hn->conns[i].conn; i++)
    ;
  if (i == hn->nconns) {
    if (hn->nconns == hn->conns_cap) {
      size_t nc = hn->conns_cap ? hn->conns_cap * 2 : 8;
      hconn *n = realloc(hn->conns, nc * sizeof(*n));
      if (!n)
        return NULL;
      hn->conns = n;
      hn->conns_cap = nc;
    }
    hn->nconns++;
  }
  if (sim_map_put(&hn->conn_idx, conn, ns, i) != 0)
    return NULL;
  hconn *c = &hn->conns[i];
  memset(c, 0, sizeof(*c));
  c->conn = conn;
  c->sock = sock;
  c->ns = ns;
  c->ops = ns == DRV_NS_RAW ? &drv_raw_ops : &drv_conn_ops;
  lp2p_sim_sock_set_tag(hn->s, sock, ns == DRV_NS_RAW ? TAG_RAW | conn : conn);
  sim_sock_set_host(hn->s, sock);
  return c;
}

static void conn_del(sim_hnode *hn, hconn *c) {
  sim_map_del(&hn->conn_idx, c->conn, c->ns);
  c->conn = 0;
  while (hn->nconns && !hn->conns[hn->nconns - 1].conn)
    hn->nconns--;
}

/* ---- moving bytes
 * ------------------------------------------------------------ */

/* The socket failed under the host: tell it, forget the conn. */
static void conn_broken(sim_hnode *hn, hconn *c, int err) {
  uint64_t conn = c->conn, sock = c->sock;
  const drv_sock_ops *ops = c->ops;
  conn_del(hn, c);
  lp2p_sim_tcp_close(hn->s, sock);
  ops->broken(hn->h, conn, err, local_now(hn));
}

static void feed(sim_hnode *hn, hconn *c) {
  lp2p_sim *s = hn->s;
  uint8_t buf[FEED_CHUNK_MAX];
  uint64_t conn = c->conn;
  const uint8_t ns = c->ns;
  const drv_sock_ops *ops = c->ops;
  for (int guard = 0; guard < 1024; guard++) {
    c = conn_find(hn, conn, ns);
    if (!c || c->connecting || c->eof_fed)
      return;
    size_t room = ops->recv_room(hn->h, conn);
    if (!room)
      return;
    lp2p_ssize r =
        sim_tcp_peek(s, c->sock, buf, room < sizeof buf ? room : sizeof buf);
    if (r == LP2P_ERR_AGAIN)
      return;
    if (r == 0) {
      c->eof_fed = 1;
      ops->eof(hn->h, conn, local_now(hn));
      return;
    }
    if (r < 0) {
      conn_broken(hn, c, (int)r);
      return;
    }
    if (chance(hn, hn->faults.corrupt_ppm)) {
      uint64_t bit = sim_rand_below(&hn->fault_rng, (uint64_t)r * 8);
      buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      sim_hash_u64(s, 0xc0 ^ bit);
    }
    lp2p_ssize k = ops->feed(hn->h, conn, local_now(hn), buf, (size_t)r);
    if (k <= 0)
      return; /* full (recv_room lied) or the host forgot the conn */
    sim_tcp_consume(s, c->sock, (size_t)k);
  }
}

static void flush(sim_hnode *hn, uint64_t conn, uint8_t ns) {
  hconn *c = conn_find(hn, conn, ns);
  if (!c || c->connecting)
    return;
  const drv_sock_ops *ops = c->ops;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = ops->out_peek(hn->h, conn, &len);
    if (!len)
      break;
    size_t n = len;
    if (n > 1 && chance(hn, hn->faults.partial_write_ppm))
      n = 1 + (size_t)sim_rand_below(&hn->fault_rng, n - 1);
    lp2p_ssize w = lp2p_sim_tcp_send(hn->s, c->sock, p, n);
    if (w == LP2P_ERR_AGAIN)
      break; /* WRITABLE follows */
    if (w < 0) {
      conn_broken(hn, c, (int)w == LP2P_ERR_CLOSED ? LP2P_ERR_IO : (int)w);
      return;
    }
    ops->out_consume(hn->h, conn, (size_t)w);
    c = conn_find(hn, conn, ns);
    if (!c || (size_t)w < n)
      break;
  }
  if (c)
    feed(hn, c); /* interest may have re-opened reading */
}

/* ---- I/O requests
 * ---------------------------------------------------------------- */

static uint32_t sa_ip(const lp2p_sockaddr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

/* LISTEN, RAW_LISTEN and UDP_OPEN (kind: 0 libp2p listener, 1 raw
 * listener, 2 UDP). The sim's ports are shared by the node's host and its
 * application, like one OS's. */
static void io_listen(sim_hnode *hn, const lp2p_io *io, int kind) {
  lp2p_sim *s = hn->s;
  const int udp = kind == 2;
  const uint64_t id = kind ? io->raw : io->listener;
  const uint8_t ns = kind ? DRV_NS_RAW : DRV_NS_LISTENER;
  uint32_t ip = lp2p_sim_node_ip(s, hn->node);
  uint64_t sock = 0;
  lp2p_sockaddr bound;
  int rc;
  if (io->addr.family != 4 || (sa_ip(&io->addr) && sa_ip(&io->addr) != ip))
    rc = LP2P_ERR_IO; /* EADDRNOTAVAIL: IPv4 and our own address only */
  else if (udp)
    rc = lp2p_sim_udp_open(s, hn->node, io->addr.port, &sock, &bound);
  else
    rc = lp2p_sim_tcp_listen(s, hn->node, io->addr.port, &sock, &bound);
  if (rc == 0 && sim_map_put(&hn->listeners, id, ns, sock) != 0) {
    udp ? lp2p_sim_udp_close(s, sock) : lp2p_sim_tcp_close(s, sock);
    rc = LP2P_ERR_NOMEM;
  }
  if (rc != 0) {
    rc = rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_IO;
    if (kind)
      lp2p_host_raw_bound(hn->h, id, rc, NULL, local_now(hn));
    else
      lp2p_host_listen_done(hn->h, id, rc, NULL);
    return;
  }
  sim_sock_set_host(s, sock);
  lp2p_sim_sock_set_tag(s, sock,
                        id | (udp ? TAG_UDP
                                  : TAG_LISTENER | (kind ? TAG_RAW : 0)));
  if (kind)
    lp2p_host_raw_bound(hn->h, id, 0, &bound, local_now(hn));
  else
    lp2p_host_listen_done(hn->h, id, 0, &bound);
}

/* DIAL and RAW_DIAL; `ttl` reaches the sim's first-SYN TTL (DESIGN 5b). */
static void io_dial(sim_hnode *hn, const lp2p_io *io, uint8_t ns) {
  lp2p_sim *s = hn->s;
  lp2p_tstamp now = local_now(hn);
  const drv_sock_ops *ops = ns == DRV_NS_RAW ? &drv_raw_ops : &drv_conn_ops;
  const uint64_t id = ns == DRV_NS_RAW ? io->raw : io->conn;
  if (chance(hn, hn->faults.dial_fail_ppm)) {
    ops->failed(hn->h, id, LP2P_ERR_IO, now);
    return;
  }
  if (io->addr.family != 4) {
    ops->failed(hn->h, id, LP2P_ERR_UNREACHABLE, now);
    return;
  }
  uint16_t lport = (io->flags & (LP2P_IO_REUSEPORT | LP2P_IO_BIND_LOCAL))
                       ? io->local.port
                       : 0;
  uint64_t sock;
  int rc = lp2p_sim_tcp_connect(s, hn->node, lport, &io->addr, io->ttl, &sock);
  if (rc != 0) {
    ops->failed(hn->h, id, rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_IO, now);
    return;
  }
  hconn *c = conn_add(hn, id, ns, sock);
  if (!c) {
    lp2p_sim_tcp_abort(s, sock);
    ops->failed(hn->h, id, LP2P_ERR_NOMEM, now);
    return;
  }
  c->connecting = 1;
}

/* RAW_CLOSE / RAW_RESET: a raw connection, listener or UDP socket. */
static void io_raw_end(sim_hnode *hn, const lp2p_io *io) {
  lp2p_sim *s = hn->s;
  hconn *c = conn_find(hn, io->raw, DRV_NS_RAW);
  uint64_t sock;
  if (c) {
    sock = c->sock;
    conn_del(hn, c);
    io->kind == LP2P_IO_RAW_RESET ? lp2p_sim_tcp_abort(s, sock)
                                  : lp2p_sim_tcp_close(s, sock);
  } else if (sim_map_get(&hn->listeners, io->raw, DRV_NS_RAW, &sock)) {
    sim_map_del(&hn->listeners, io->raw, DRV_NS_RAW);
    if (lp2p_sim_tcp_close(s, sock) != 0)
      lp2p_sim_udp_close(s, sock);
  }
}

static void handle_io(sim_hnode *hn, const lp2p_io *io) {
  lp2p_sim *s = hn->s;
  hconn *c;
  uint64_t sock;
  switch (io->kind) {
  case LP2P_IO_LISTEN:
    io_listen(hn, io, 0);
    break;
  case LP2P_IO_RAW_LISTEN:
    io_listen(hn, io, 1);
    break;
  case LP2P_IO_UDP_OPEN:
    io_listen(hn, io, 2);
    break;
  case LP2P_IO_DIAL:
    io_dial(hn, io, DRV_NS_CONN);
    break;
  case LP2P_IO_RAW_DIAL:
    io_dial(hn, io, DRV_NS_RAW);
    break;
  case LP2P_IO_CLOSE:
  case LP2P_IO_RESET:
    if ((c = conn_find(hn, io->conn, DRV_NS_CONN))) {
      sock = c->sock;
      conn_del(hn, c);
      if (io->kind == LP2P_IO_RESET)
        lp2p_sim_tcp_abort(s, sock);
      else
        lp2p_sim_tcp_close(s, sock);
    }
    break;
  case LP2P_IO_RAW_SHUTDOWN:
    if ((c = conn_find(hn, io->raw, DRV_NS_RAW)))
      lp2p_sim_tcp_shutdown(s, c->sock);
    break;
  case LP2P_IO_RAW_CLOSE:
  case LP2P_IO_RAW_RESET:
    io_raw_end(hn, io);
    break;
  case LP2P_IO_UNLISTEN:
    if (sim_map_get(&hn->listeners, io->listener, DRV_NS_LISTENER, &sock)) {
      sim_map_del(&hn->listeners, io->listener, DRV_NS_LISTENER);
      if (lp2p_sim_tcp_close(s, sock) != 0)
        lp2p_sim_udp_close(s, sock);
    }
    break;
  case LP2P_IO_SEND_DATAGRAM:
    if (sim_map_get(&hn->listeners, io->raw, DRV_NS_RAW, &sock))
      lp2p_sim_udp_send(s, sock, &io->addr, io->data, io->len, io->ttl);
    break;
  case LP2P_IO_UDP_JOIN:
    /* The sim has one multicast group per LAN (LP2P_SIM_MCAST_IP). */
    if (sim_map_get(&hn->listeners, io->raw, DRV_NS_RAW, &sock))
      lp2p_host_udp_joined(
          hn->h, io->raw,
          sa_ip(&io->addr) != LP2P_SIM_MCAST_IP ? LP2P_ERR_UNSUPPORTED
                                                : lp2p_sim_udp_join(s, sock),
          local_now(hn));
    break;
  }
}

/* ---- events and checkers
 * ------------------------------------------------------------- */

static void check_event(sim_hnode *hn, const lp2p_host_event *ev) {
  lp2p_sim *s = hn->s;
  char why[160];
  if (hn->closed) {
    snprintf(why, sizeof why, "node %u: event %s after CLOSED (seed %llu)",
             hn->node, lp2p_host_event_name(ev->kind),
             (unsigned long long)s->seed);
    lp2p_sim_fail(s, why);
  }
  if (ev->kind == LP2P_HOST_EV_CLOSED)
    hn->closed = 1;
  if (!ev->stream)
    return;
  if (sim_map_get(&hn->dead_streams, ev->stream, 0, NULL)) {
    snprintf(why, sizeof why,
             "node %u: event %s for stream %llu after it ended (seed %llu)",
             hn->node, lp2p_host_event_name(ev->kind),
             (unsigned long long)ev->stream, (unsigned long long)s->seed);
    lp2p_sim_fail(s, why);
  }
  if (ev->kind == LP2P_HOST_EV_STREAM_CLOSED ||
      ev->kind == LP2P_HOST_EV_STREAM_RESET ||
      ev->kind == LP2P_HOST_EV_STREAM_OPEN_FAILED)
    sim_map_put(&hn->dead_streams, ev->stream, 0, 1);
}

static void timer_event(lp2p_sim *s, void *ud, uint64_t arg);

static void reschedule(sim_hnode *hn) {
  lp2p_sim *s = hn->s;
  lp2p_tstamp local = lp2p_host_next_timeout(hn->h);
  if (local == LP2P_TSTAMP_NONE) {
    hn->timer_at = LP2P_TSTAMP_NONE;
    return;
  }
  lp2p_tstamp at = sim_local_to_virtual(sim_node_get(s, hn->node), local);
  if (at < s->now)
    at = s->now;
  hn->timer_at = at;
  if (hn->ev_at != LP2P_TSTAMP_NONE && hn->ev_at <= at)
    return; /* the queued event comes first and re-arms */
  hn->ev_at = at;
  sim_evq_push(&s->q, at, timer_event, hn, 0);
}

static void drain(sim_hnode *hn) {
  lp2p_sim *s = hn->s;
  if (hn->depth) /* an app callback issued commands: the outer loop goes on */
    return;
  hn->depth++;
  for (int progress = 1; progress && hn->h && !s->fail_reason;) {
    progress = 0;
    uint64_t c;
    while (lp2p_host_poll_dirty(hn->h, &c)) {
      flush(hn, c, DRV_NS_CONN);
      progress = 1;
    }
    while (hn->h && lp2p_host_raw_poll_dirty(hn->h, &c)) {
      flush(hn, c, DRV_NS_RAW);
      progress = 1;
    }
    lp2p_io io;
    while (lp2p_host_poll_io(hn->h, &io)) {
      handle_io(hn, &io);
      progress = 1;
    }
    lp2p_host_event ev;
    while (hn->h && lp2p_host_poll_event(hn->h, &ev)) {
      sim_hash_u64(s, (uint64_t)ev.kind << 32 | hn->node);
      sim_hash_u64(s, ev.conn ^ ev.stream << 20 ^ (uint64_t)(int64_t)ev.err);
      if (sim_tracing(s)) {
        snprintf(s->line, sizeof s->line,
                 "%llu host%u %s conn=%llu stream=%llu err=%d",
                 (unsigned long long)s->now, hn->node,
                 lp2p_host_event_name(ev.kind), (unsigned long long)ev.conn,
                 (unsigned long long)ev.stream, ev.err);
        sim_trace_line(s, s->line);
      }
      check_event(hn, &ev);
      if (s->host_fn)
        s->host_fn(s->host_ud, s, hn->node, &ev);
      progress = 1;
    }
  }
  hn->depth--;
  if (hn->h)
    reschedule(hn);
}

static void timer_event(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  sim_hnode *hn = ud;
  if (hn->ev_at != s->now)
    return; /* superseded by an earlier event */
  hn->ev_at = LP2P_TSTAMP_NONE;
  if (!hn->h || hn->timer_at == LP2P_TSTAMP_NONE)
    return;
  if (hn->timer_at > s->now) {
    reschedule(hn);
    return;
  }
  if (hn->spin_at == s->now) {
    if (++hn->spin_count > s->cfg.spin_max) {
      char why[128];
      snprintf(why, sizeof why, "node %u spins at t=%llu ns (seed %llu)",
               hn->node, (unsigned long long)s->now,
               (unsigned long long)s->seed);
      lp2p_sim_fail(s, why);
      return;
    }
  } else {
    hn->spin_at = s->now;
    hn->spin_count = 1;
  }
  sim_hash_u64(s, 0x7e00 | hn->node);
  lp2p_host_handle_timeout(hn->h, local_now(hn));
  drain(hn);
}

/* ---- socket notifications
 * --------------------------------------------------------------- */

/* `listener` is the host id, with TAG_RAW for a raw listener. */
static void accept_now(sim_hnode *hn, uint64_t listener, uint64_t sock) {
  const uint8_t ns = (listener & TAG_RAW) ? DRV_NS_RAW : DRV_NS_CONN;
  const drv_sock_ops *ops = ns == DRV_NS_RAW ? &drv_raw_ops : &drv_conn_ops;
  lp2p_sim_sock_info info;
  if (lp2p_sim_sock_info_get(hn->s, sock, &info) != 0)
    return;
  if (info.error) {
    lp2p_sim_tcp_close(hn->s, sock);
    return;
  }
  uint64_t conn = 0;
  if (ops->accepted(hn->h, listener & TAG_IDS, &info.remote, &info.local,
                    local_now(hn), &conn) != 0) {
    lp2p_sim_tcp_close(hn->s, sock); /* refused by limits */
    return;
  }
  hconn *c = conn_add(hn, conn, ns, sock);
  if (!c) {
    lp2p_sim_tcp_abort(hn->s, sock);
    ops->broken(hn->h, conn, LP2P_ERR_NOMEM, local_now(hn));
    return;
  }
  feed(hn, c);
}

typedef struct delayed_accept {
  sim_hnode *hn;
  uint64_t listener, sock;
} delayed_accept;

static void delayed_accept_event(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)s;
  (void)arg;
  delayed_accept *d = ud;
  sim_hnode *hn = d->hn;
  if (hn->h) {
    accept_now(hn, d->listener, d->sock);
    drain(hn);
  }
  free(d);
}

void sim_host_free_event(sim_ev *e) {
  if (e->fn == delayed_accept_event)
    free(e->ud);
}

static void on_listener(sim_hnode *hn, uint64_t lsock, uint64_t listener) {
  uint64_t sock;
  while (lp2p_sim_tcp_accept(hn->s, lsock, &sock) == 0) {
    if (hn->faults.accept_delay_max_ns) {
      delayed_accept *d = malloc(sizeof(*d));
      uint64_t delay =
          sim_rand_below(&hn->fault_rng, hn->faults.accept_delay_max_ns + 1);
      if (d) {
        d->hn = hn;
        d->listener = listener;
        d->sock = sock;
        if (sim_evq_push(&hn->s->q, hn->s->now + delay, delayed_accept_event, d,
                         0) == 0)
          continue;
        free(d);
      }
    }
    accept_now(hn, listener, sock);
  }
}

static void on_udp(sim_hnode *hn, uint64_t sock, uint64_t listener) {
  static uint8_t buf[65536]; /* any IPv4 datagram; one thread */
  lp2p_sockaddr from;
  lp2p_ssize r;
  while ((r = lp2p_sim_udp_recv(hn->s, sock, &from, buf, sizeof buf)) >= 0)
    lp2p_host_datagram_feed(hn->h, listener, &from, local_now(hn), buf,
                            (size_t)r);
}

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  sim_hnode *hn = ud;
  if (!hn->h)
    return;
  if (tag & TAG_LISTENER) {
    on_listener(hn, sock, tag & ~TAG_LISTENER);
  } else if (tag & TAG_UDP) {
    on_udp(hn, sock, tag & ~TAG_UDP);
  } else {
    const uint8_t ns = (tag & TAG_RAW) ? DRV_NS_RAW : DRV_NS_CONN;
    tag &= TAG_IDS;
    hconn *c = conn_find(hn, tag, ns);
    if (!c || c->sock != sock)
      return;
    const drv_sock_ops *ops = c->ops;
    lp2p_tstamp now = local_now(hn);
    if (what & LP2P_SIM_SOCK_FAILED) {
      lp2p_sim_sock_info info;
      int err = lp2p_sim_sock_info_get(s, sock, &info) == 0 && info.error
                    ? info.error
                    : LP2P_ERR_REFUSED;
      conn_del(hn, c);
      lp2p_sim_tcp_close(s, sock);
      ops->failed(hn->h, tag, err, now);
    } else if (what & LP2P_SIM_SOCK_RESET) {
      lp2p_sim_sock_info info;
      int err = lp2p_sim_sock_info_get(s, sock, &info) == 0 && info.error
                    ? info.error
                    : LP2P_ERR_RESET;
      conn_broken(hn, c, err);
    } else {
      if (what & LP2P_SIM_SOCK_CONNECTED) {
        lp2p_sim_sock_info info;
        lp2p_sim_sock_info_get(s, sock, &info);
        c->connecting = 0;
        ops->established(hn->h, tag, &info.local, now);
      }
      if ((c = conn_find(hn, tag, ns)) && (what & LP2P_SIM_SOCK_READABLE))
        feed(hn, c);
      if ((c = conn_find(hn, tag, ns)) &&
          (what & (LP2P_SIM_SOCK_WRITABLE | LP2P_SIM_SOCK_CONNECTED)))
        flush(hn, tag, ns);
    }
  }
  drain(hn);
}

/* ---- public
 * -------------------------------------------------------------------------------
 */

static sim_hnode *hnode(const lp2p_sim *s, uint32_t node) {
  const sim_node *n = sim_node_get(s, node);
  return n ? n->host : NULL;
}

int lp2p_sim_host_add(lp2p_sim *s, uint32_t node, const lp2p_host_config *cfg,
                      size_t mem_budget_bytes) {
  sim_node *n = sim_node_get(s, node);
  if (!n || n->kind != NODE_EP)
    return LP2P_ERR_NOT_FOUND;
  if (n->host)
    return LP2P_ERR_INVAL;
  sim_hnode *hn = calloc(1, sizeof(*hn));
  if (!hn)
    return LP2P_ERR_NOMEM;
  hn->s = s;
  hn->node = node;
  hn->timer_at = hn->ev_at = LP2P_TSTAMP_NONE;
  hn->spin_at = LP2P_TSTAMP_NONE;
  lp2p_mem_counting_init(&hn->mem, NULL);
  hn->mem.limit_bytes = mem_budget_bytes;
  lp2p_sim_rng(s, (uint64_t)STREAM_FAULT << 24 | node, &hn->fault_st,
               &hn->fault_rng);
  int rc = lp2p_host_new(&hn->h, cfg, &hn->mem.mem, &n->app_rng, local_now(hn));
  if (rc != 0) {
    free(hn);
    return rc;
  }
  lp2p_host_set_unix_time(hn->h, UNIX_EPOCH_NS + local_now(hn));
  n->host = hn;
  n->host_sock_fn = on_sock; /* the app keeps lp2p_sim_ep_on_sock */
  n->host_sock_ud = hn;
  drain(hn);
  return 0;
}

lp2p_host *lp2p_sim_host(const lp2p_sim *s, uint32_t node) {
  sim_hnode *hn = hnode(s, node);
  return hn ? hn->h : NULL;
}

const lp2p_rng *lp2p_sim_node_rng(lp2p_sim *s, uint32_t node) {
  sim_node *n = sim_node_get(s, node);
  return n && n->kind == NODE_EP ? &n->app_rng : NULL;
}

lp2p_mem_counting *lp2p_sim_host_mem(lp2p_sim *s, uint32_t node) {
  sim_hnode *hn = hnode(s, node);
  return hn ? &hn->mem : NULL;
}

int lp2p_sim_host_set_faults(lp2p_sim *s, uint32_t node,
                             const lp2p_sim_faults *f) {
  sim_hnode *hn = hnode(s, node);
  if (!hn)
    return LP2P_ERR_NOT_FOUND;
  hn->faults = *f;
  return 0;
}

void lp2p_sim_on_host_event(lp2p_sim *s, lp2p_sim_host_event_fn fn, void *ud) {
  s->host_fn = fn;
  s->host_ud = ud;
}

void lp2p_sim_host_kick(lp2p_sim *s, uint32_t node) {
  sim_hnode *hn = hnode(s, node);
  if (hn && hn->h)
    drain(hn);
}

/* Frees the host and aborts its sockets; the record stays (timers and
 * delayed accepts may still point at it) until the world is freed. */
static void host_stop(lp2p_sim *s, sim_hnode *hn) {
  for (size_t i = 0; i < hn->nconns; i++)
    if (hn->conns[i].conn)
      lp2p_sim_tcp_abort(s, hn->conns[i].sock);
  hn->nconns = 0;
  lp2p_host_free(hn->h);
  hn->h = NULL;
  free(hn->conns);
  hn->conns = NULL;
  hn->conns_cap = 0;
  sim_map_free(&hn->conn_idx);
  sim_map_free(&hn->listeners);
  sim_map_free(&hn->dead_streams);
}

int lp2p_sim_host_remove(lp2p_sim *s, uint32_t node) {
  sim_hnode *hn = hnode(s, node);
  if (!hn || !hn->h)
    return LP2P_ERR_NOT_FOUND;
  /* listeners: close every socket of the node still held */
  for (size_t i = 1; i < s->nsocks; i++) {
    sim_sock *k = &s->socks[i];
    if (k->state != SK_FREE && k->node == node && !k->app_closed &&
        k->host_owned && (k->state == SK_LISTEN || k->state == SK_UDP))
      k->state == SK_UDP
          ? lp2p_sim_udp_close(s, sim_sock_handle(s, (uint32_t)i))
          : lp2p_sim_tcp_close(s, sim_sock_handle(s, (uint32_t)i));
  }
  host_stop(s, hn);
  return 0;
}

void sim_hosts_free(lp2p_sim *s) {
  for (size_t i = 1; i < s->nnodes; i++) {
    sim_hnode *hn = s->nodes[i]->host;
    if (!hn)
      continue;
    if (hn->h)
      host_stop(s, hn);
    free(hn);
    s->nodes[i]->host = NULL;
  }
}
