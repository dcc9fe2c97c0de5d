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

#include "drivers/core.h"
#include "drivers/sim/sim_internal.h"

#define STREAM_FAULT 5u
#define UNIX_EPOCH_NS UINT64_C(1700000000000000000) /* a fixed 2023 date */

/* The sim's sockets carry the core record's ref as their tag, so a
 * notification finds its record without another table. */
typedef struct sim_hnode {
  lp2p_sim *s;
  uint32_t node;
  lp2p_host *h;
  drv_core core; /* the id tables, io dispatch and byte moving */
  lp2p_mem_counting mem;
  lp2p_rng_chacha fault_st;
  lp2p_rng fault_rng;
  lp2p_sim_faults faults;
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

/* ---- the core's socket verbs on the simulated network ----------------------
 */

static uint32_t sa_ip(const lp2p_sockaddr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

/* The sim's ports are shared by the node's host and its application, like
 * one OS's. */
static int sb_listen(void *b, drv_ref ref, int kind, const lp2p_io *io,
                     drv_handle *h, lp2p_sockaddr *bound) {
  sim_hnode *hn = b;
  lp2p_sim *s = hn->s;
  uint32_t ip = lp2p_sim_node_ip(s, hn->node);
  int rc;
  if (io->addr.family != 4 || (sa_ip(&io->addr) && sa_ip(&io->addr) != ip))
    rc = LP2P_ERR_IO; /* EADDRNOTAVAIL: IPv4 and our own address only */
  else if (kind == DRV_K_UDP)
    rc = lp2p_sim_udp_open(s, hn->node, io->addr.port, h, bound);
  else
    rc = lp2p_sim_tcp_listen(s, hn->node, io->addr.port, h, bound);
  if (rc != 0)
    return rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_IO;
  sim_sock_set_host(s, *h);
  lp2p_sim_sock_set_tag(s, *h, ref);
  return 0;
}

/* `ttl` reaches the sim's first-SYN TTL (DESIGN 5b). */
static int sb_connect(void *b, drv_ref ref, const lp2p_io *io, drv_handle *h,
                      lp2p_sockaddr *local) {
  sim_hnode *hn = b;
  (void)local;
  if (chance(hn, hn->faults.dial_fail_ppm))
    return LP2P_ERR_IO;
  if (io->addr.family != 4)
    return LP2P_ERR_UNREACHABLE;
  uint16_t lport = (io->flags & (LP2P_IO_REUSEPORT | LP2P_IO_BIND_LOCAL))
                       ? io->local.port
                       : 0;
  int rc =
      lp2p_sim_tcp_connect(hn->s, hn->node, lport, &io->addr, io->ttl, h);
  if (rc != 0)
    return rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_IO;
  lp2p_sim_sock_set_tag(hn->s, *h, ref);
  sim_sock_set_host(hn->s, *h);
  return 0;
}

/* Fault: a partial write of a random prefix. */
static int sb_send(void *b, drv_handle h, const uint8_t *p, size_t len,
                   size_t *took) {
  sim_hnode *hn = b;
  size_t n = len;
  if (n > 1 && chance(hn, hn->faults.partial_write_ppm))
    n = 1 + (size_t)sim_rand_below(&hn->fault_rng, n - 1);
  lp2p_ssize w = lp2p_sim_tcp_send(hn->s, h, p, n);
  if (w == LP2P_ERR_AGAIN)
    return LP2P_ERR_AGAIN; /* WRITABLE follows */
  if (w < 0)
    return (int)w == LP2P_ERR_CLOSED ? LP2P_ERR_IO : (int)w;
  *took = (size_t)w;
  return (size_t)w < n ? LP2P_ERR_AGAIN : 0;
}

/* Peeks (the core consumes what the host fed). Fault: a bit flip. */
static lp2p_ssize sb_recv(void *b, drv_handle h, uint8_t *buf, size_t cap) {
  sim_hnode *hn = b;
  lp2p_ssize r = sim_tcp_peek(hn->s, h, buf, cap);
  if (r > 0 && chance(hn, hn->faults.corrupt_ppm)) {
    uint64_t bit = sim_rand_below(&hn->fault_rng, (uint64_t)r * 8);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    sim_hash_u64(hn->s, 0xc0 ^ bit);
  }
  return r;
}

static void sb_consume(void *b, drv_handle h, size_t n) {
  sim_hnode *hn = b;
  sim_tcp_consume(hn->s, h, n);
}

/* A failed FIN shows up as the socket's reset or error notification. */
static int sb_shutdown(void *b, drv_handle h) {
  sim_hnode *hn = b;
  lp2p_sim_tcp_shutdown(hn->s, h);
  return 0;
}

/* The sim's TCP close already lingers (FIN after the queued bytes). */
static void sb_end(void *b, drv_handle h, int kind, int how, int peer_eof) {
  sim_hnode *hn = b;
  (void)peer_eof;
  if (kind == DRV_K_UDP)
    lp2p_sim_udp_close(hn->s, h);
  else if (how == DRV_END_ABORT)
    lp2p_sim_tcp_abort(hn->s, h);
  else
    lp2p_sim_tcp_close(hn->s, h);
}

static void sb_udp_send(void *b, drv_handle h, const lp2p_io *io) {
  sim_hnode *hn = b;
  lp2p_sim_udp_send(hn->s, h, &io->addr, io->data, io->len, io->ttl);
}

static lp2p_ssize sb_udp_recv(void *b, drv_handle h, lp2p_sockaddr *from,
                              uint8_t *buf, size_t cap) {
  sim_hnode *hn = b;
  return lp2p_sim_udp_recv(hn->s, h, from, buf, cap);
}

/* The sim has one multicast group per LAN (LP2P_SIM_MCAST_IP). */
static int sb_udp_join(void *b, drv_handle h, const lp2p_sockaddr *group) {
  sim_hnode *hn = b;
  return sa_ip(group) != LP2P_SIM_MCAST_IP ? LP2P_ERR_UNSUPPORTED
                                           : lp2p_sim_udp_join(hn->s, h);
}

static lp2p_tstamp sb_now(void *b) { return local_now(b); }

static int sb_round(void *b);

/* The sim notifies on every change, so no readiness interest (want). */
static const drv_backend sim_backend = {
    .listen = sb_listen,
    .connect = sb_connect,
    .send = sb_send,
    .recv = sb_recv,
    .consume = sb_consume,
    .shutdown = sb_shutdown,
    .end = sb_end,
    .udp_send = sb_udp_send,
    .udp_recv = sb_udp_recv,
    .udp_join = sb_udp_join,
    .want = NULL,
    .now = sb_now,
    .round = sb_round,
    .reads_max = 1024,
    .short_read_drains = 0,
};

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

/* Events are polled inside the drain, after each round's io requests: an
 * application callback may issue commands that produce more work. */
static int sb_round(void *b) {
  sim_hnode *hn = b;
  lp2p_sim *s = hn->s;
  int progress = 0;
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
  /* the callback may have removed the host (its core is gone) */
  if (!hn->h || s->fail_reason)
    return -1;
  return progress;
}

static void drain(sim_hnode *hn) {
  if (hn->depth) /* an app callback issued commands: the outer loop goes on */
    return;
  hn->depth++;
  /* The node's wall clock goes with its local clock (offset and drift
   * applied), fed before every drain as a real driver feeds it. */
  if (hn->h)
    lp2p_host_set_unix_time(hn->h, UNIX_EPOCH_NS + local_now(hn));
  if (hn->h && !hn->s->fail_reason)
    drv_core_drain(&hn->core);
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

/* `raw`: the listener is a raw one; `listener` its host id. */
static void accept_now(sim_hnode *hn, int raw, uint64_t listener,
                       uint64_t sock) {
  lp2p_sim_sock_info info;
  if (lp2p_sim_sock_info_get(hn->s, sock, &info) != 0)
    return;
  if (info.error) {
    lp2p_sim_tcp_close(hn->s, sock);
    return;
  }
  drv_ref ref;
  if (drv_core_accept(&hn->core, raw, listener, sock, &info.remote,
                      &info.local, &ref) != 0)
    return;
  lp2p_sim_sock_set_tag(hn->s, sock, ref);
  sim_sock_set_host(hn->s, sock);
  drv_core_read(&hn->core, ref);
}

typedef struct delayed_accept {
  sim_hnode *hn;
  int raw;
  uint64_t listener, sock;
} delayed_accept;

static void delayed_accept_event(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)s;
  (void)arg;
  delayed_accept *d = ud;
  sim_hnode *hn = d->hn;
  if (hn->h) {
    accept_now(hn, d->raw, d->listener, d->sock);
    drain(hn);
  }
  free(d);
}

void sim_host_free_event(sim_ev *e) {
  if (e->fn == delayed_accept_event)
    free(e->ud);
}

/* The host is asked when the connection is taken, which a fault may
 * delay (the listener's id is kept: it may be gone by then). */
static void on_listener(sim_hnode *hn, uint64_t lsock, const drv_rec *l) {
  const int raw = l->kind == DRV_K_RAW_LISTEN;
  const uint64_t listener = l->id;
  uint64_t sock;
  while (lp2p_sim_tcp_accept(hn->s, lsock, &sock) == 0) {
    if (hn->faults.accept_delay_max_ns) {
      delayed_accept *d = malloc(sizeof(*d));
      uint64_t delay =
          sim_rand_below(&hn->fault_rng, hn->faults.accept_delay_max_ns + 1);
      if (d) {
        d->hn = hn;
        d->raw = raw;
        d->listener = listener;
        d->sock = sock;
        if (sim_evq_push(&hn->s->q, hn->s->now + delay, delayed_accept_event, d,
                         0) == 0)
          continue;
        free(d);
      }
    }
    accept_now(hn, raw, listener, sock);
  }
}

/* A host stream's notification: failure, reset, or progress. */
static void on_stream(sim_hnode *hn, uint64_t sock, drv_ref ref,
                      unsigned what) {
  lp2p_sim *s = hn->s;
  lp2p_sim_sock_info info;
  if (what & LP2P_SIM_SOCK_FAILED) {
    int err = lp2p_sim_sock_info_get(s, sock, &info) == 0 && info.error
                  ? info.error
                  : LP2P_ERR_REFUSED;
    drv_core_connected(&hn->core, ref, err, NULL);
  } else if (what & LP2P_SIM_SOCK_RESET) {
    int err = lp2p_sim_sock_info_get(s, sock, &info) == 0 && info.error
                  ? info.error
                  : LP2P_ERR_RESET;
    drv_core_dead(&hn->core, ref, err);
  } else {
    if (what & LP2P_SIM_SOCK_CONNECTED) {
      lp2p_sim_sock_info_get(s, sock, &info);
      drv_core_connected(&hn->core, ref, 0, &info.local);
    }
    if (what & LP2P_SIM_SOCK_READABLE)
      drv_core_read(&hn->core, ref);
    if (what & (LP2P_SIM_SOCK_WRITABLE | LP2P_SIM_SOCK_CONNECTED))
      drv_core_flush(&hn->core, ref);
  }
}

static void on_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                    unsigned what) {
  (void)s;
  sim_hnode *hn = ud;
  if (!hn->h)
    return;
  drv_rec *r = drv_core_get(&hn->core, tag);
  if (!r || r->h != sock)
    return; /* a socket the host forgot */
  switch (r->kind) {
  case DRV_K_LISTEN:
  case DRV_K_RAW_LISTEN:
    on_listener(hn, sock, r);
    break;
  case DRV_K_UDP:
    drv_core_udp_read(&hn->core, tag, SIZE_MAX);
    break;
  default:
    on_stream(hn, sock, tag, what);
    break;
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
  drv_core_init(&hn->core, hn->h, &sim_backend, hn);
  n->host = hn;
  n->host_sock_fn = on_sock; /* the app keeps lp2p_sim_ep_on_sock */
  n->host_sock_ud = hn;
  if (n->realm != LP2P_SIM_INTERNET) {
    /* On a NAT's LAN the default gateway is the box's .1, as
     * drivers/gateway.c reads it from the routing table for a real host
     * (the portmap service asks it; a box without an IGD stays silent). */
    lp2p_sockaddr gw, me;
    memset(&gw, 0, sizeof gw);
    gw.family = 4;
    gw.ip[0] = 10;
    gw.ip[1] = (uint8_t)(n->realm >> 8);
    gw.ip[2] = (uint8_t)n->realm;
    gw.ip[3] = 1;
    me = gw;
    for (int i = 0; i < 4; i++)
      me.ip[i] = (uint8_t)(n->ip >> (24 - 8 * i));
    lp2p_host_portmap_set_gateway(hn->h, local_now(hn), &gw, &me);
  }
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
  for (size_t i = 0; i < hn->core.nrecs; i++) {
    const drv_rec *r = drv_core_rec(&hn->core, i);
    if (r && r->kind == DRV_K_STREAM)
      lp2p_sim_tcp_abort(s, r->h);
  }
  drv_core_fini(&hn->core);
  lp2p_host_free(hn->h);
  hn->h = NULL;
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
