/* memnet: see memnet.h. Test-only code (libc allocation is fine here).
 * memnet is a backend of the shared driver core (drivers/core.h): the core
 * takes the hosts' io, keeps the id tables and moves bytes; memnet only
 * supplies the socket verbs on its in-memory pipes and the virtual clock. */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/memnet_internal.h"

static uint64_t rnd(memnet *n) {
  /* xorshift64*: reproducible from the seed */
  n->rng ^= n->rng >> 12;
  n->rng ^= n->rng << 25;
  n->rng ^= n->rng >> 27;
  return n->rng * UINT64_C(2685821657736338717);
}

static size_t rnd_len(memnet *n, size_t max) {
  if (max <= 1)
    return max;
  /* Mostly big chunks, sometimes tiny ones, so framing edges get hit. */
  switch (rnd(n) % 4) {
  case 0:
    return 1 + (size_t)(rnd(n) % (max < 16 ? max : 16));
  case 1:
    return 1 + (size_t)(rnd(n) % max);
  default:
    return max;
  }
}

memnet *memnet_new(uint64_t seed) {
  memnet *n = calloc(1, sizeof *n);
  n->rng = seed * 2 + 1;
  n->latency_ns = LP2P_NS_PER_MS;
  n->chunk_max = 65536;
  n->now = LP2P_NS_PER_S;
  return n;
}

void mn_ep_clear(ep *e) {
  seg *s = e->head;
  while (s) {
    seg *nx = s->next;
    free(s);
    s = nx;
  }
  e->head = e->tail = NULL;
}

void memnet_free(memnet *n) {
  if (!n)
    return;
  for (int i = 0; i < n->neps; i++) {
    mn_ep_clear(&n->eps[i]);
    free(n->eps[i].raw_in);
  }
  for (int i = 0; i < n->nhosts; i++) {
    drv_core_fini(n->hosts[i].core);
    free(n->hosts[i].core);
  }
  free(n->eps);
  for (int i = 0; i < n->nus; i++)
    while (n->us[i].head) {
      dgram *g = n->us[i].head;
      n->us[i].head = g->next;
      free(g);
    }
  while (n->out_head) {
    dgram *g = n->out_head;
    n->out_head = g->next;
    free(g);
  }
  free(n->us);
  free(n->accq);
  free(n);
}

lp2p_host *memnet_host(memnet *n, int i) { return n->hosts[i].h; }

void memnet_on_event(memnet *n, memnet_event_fn fn, void *ud) {
  n->on_event = fn;
  n->ud = ud;
}

void memnet_hold_events(memnet *n, int host, int hold) {
  n->hosts[host].hold = hold;
}

void memnet_set_latency(memnet *n, uint64_t ns) { n->latency_ns = ns; }
void memnet_set_chunk_max(memnet *n, size_t max) {
  n->chunk_max = max ? max : 1;
}
lp2p_tstamp memnet_now(const memnet *n) { return n->now; }

void memnet_addr(const memnet *n, int i, uint16_t port, lp2p_sockaddr *out) {
  (void)n;
  memset(out, 0, sizeof *out);
  out->family = 4;
  out->ip[0] = 10;
  out->ip[3] = (uint8_t)(i + 1);
  out->port = port;
}

int mn_ep_new(memnet *n) {
  if (n->neps == n->caps) {
    n->caps = n->caps ? n->caps * 2 : 64;
    n->eps = realloc(n->eps, (size_t)n->caps * sizeof *n->eps);
  }
  int i = n->neps++;
  memset(&n->eps[i], 0, sizeof n->eps[i]);
  n->eps[i].used = 1;
  n->eps[i].peer = -1;
  return i;
}

void mn_push(memnet *n, ep *e, const uint8_t *p, size_t len) {
  seg *s = malloc(sizeof *s + len);
  s->next = NULL;
  s->at = n->now + n->latency_ns;
  s->len = len;
  s->off = 0;
  memcpy(s->data, p, len);
  if (e->tail)
    e->tail->next = s;
  else
    e->head = s;
  e->tail = s;
  n->moved += len;
}

static int listener_port_host(memnet *n, const lp2p_sockaddr *sa, int *host,
                              uint64_t *lid) {
  if (sa->family != 4 || sa->ip[0] != 10)
    return 0;
  int i = sa->ip[3] - 1;
  if (i < 0 || i >= n->nhosts)
    return 0;
  for (int k = 0; k < n->hosts[i].nls; k++)
    if (n->hosts[i].ls[k].port == sa->port) {
      *host = i;
      *lid = n->hosts[i].ls[k].id;
      return 1;
    }
  return 0;
}

/* Connect endpoint `a` (already created) to a listener. Returns the
 * listener-side endpoint, -1 (nothing listens) or -2 (the host refused). */
int mn_connect_to(memnet *n, int a, const lp2p_sockaddr *dst,
                  lp2p_sockaddr *local_out) {
  int lh;
  uint64_t lid;
  if (!listener_port_host(n, dst, &lh, &lid))
    return -1;
  lp2p_sockaddr remote;
  int src_host = n->eps[a].host;
  memnet_addr(n, src_host < 0 ? 99 : src_host,
              (uint16_t)(50000 + (a % 10000)), &remote);
  if (n->eps[a].src.family) {
    remote = n->eps[a].src;
    remote.port = (uint16_t)(50000 + (a % 10000));
  }
  if (n->eps[a].src_port)
    remote.port = n->eps[a].src_port;
  *local_out = remote;
  int b = mn_ep_new(n);
  n->eps[b].host = lh;
  drv_ref ref;
  if (drv_core_accept(n->hosts[lh].core, 0, lid, (drv_handle)b, &remote, dst,
                      &ref) != 0)
    return -2; /* b was ended (gone) by the core */
  n->eps[b].ref = ref;
  n->eps[b].peer = a;
  n->eps[a].peer = b;
  return b;
}

/* ---- the core's socket verbs on memnet pipes -------------------------------- */

static lp2p_tstamp mn_now(void *b) { return ((mhost *)b)->n->now; }

static int mn_listen(void *b, drv_ref ref, int kind, const lp2p_io *io,
                     drv_handle *h, lp2p_sockaddr *bound) {
  mhost *mh = b;
  if (kind == DRV_K_UDP)
    return mn_udp_bind(mh, ref, io, h, bound);
  if (kind != DRV_K_LISTEN)
    return LP2P_ERR_UNSUPPORTED; /* no raw listeners on memnet */
  memnet_addr(mh->n, mh->idx, io->addr.port ? io->addr.port : mh->next_port++,
              bound);
  if (io->addr.family == 4 && io->addr.ip[0] == 0)
    memset(bound->ip, 0, 4); /* keep 0.0.0.0 */
  if (mh->nls >= LISTENERS_MAX)
    return LP2P_ERR_IO;
  mh->ls[mh->nls].id = io->listener;
  mh->ls[mh->nls].port = bound->port;
  mh->nls++;
  *h = io->listener;
  return 0;
}

/* Dials connect at once, through the listener's host (refused: the dialer
 * sees the connection reset on its first read). */
static int mn_connect(void *b, drv_ref ref, const lp2p_io *io, drv_handle *h,
                      lp2p_sockaddr *local) {
  mhost *mh = b;
  memnet *n = mh->n;
  if (io->kind == LP2P_IO_RAW_DIAL)
    return mn_served(n, &io->addr) ? mn_raw_dial_served(mh, ref, h, local)
                                : LP2P_ERR_REFUSED;
  if (io->kind != LP2P_IO_DIAL)
    return LP2P_ERR_UNSUPPORTED;
  int a = mn_ep_new(n);
  n->eps[a].host = mh->idx;
  n->eps[a].ref = ref;
  if (io->flags & (LP2P_IO_REUSEPORT | LP2P_IO_BIND_LOCAL))
    n->eps[a].src_port = io->local.port; /* from our listen port */
  int peer = mn_connect_to(n, a, &io->addr, local);
  if (peer == -1) {
    n->eps[a].gone = 1;
    return LP2P_ERR_REFUSED;
  }
  if (peer == -2)
    n->eps[a].refused = 1;
  *h = (drv_handle)a;
  return 1;
}

/* Output is re-chunked at random boundaries; sometimes a write is partial
 * (the host must re-dirty the conn). */
static int mn_send(void *b, drv_handle h, const uint8_t *p, size_t len,
                   size_t *took) {
  memnet *n = ((mhost *)b)->n;
  ep *e = &n->eps[h];
  size_t k = rnd_len(n, len < n->chunk_max ? len : n->chunk_max);
  if (!e->closed && !e->refused)
    mn_push(n, e, p, k);
  *took = k;
  n->progress = 1;
  return rnd(n) % 8 == 0 ? LP2P_ERR_AGAIN : 0;
}

/* Peeks the due bytes of the peer's queue, one random chunk of one
 * segment; then the peer's FIN (EOF, or a reset). */
static lp2p_ssize mn_recv(void *b, drv_handle h, uint8_t *buf, size_t cap) {
  memnet *n = ((mhost *)b)->n;
  ep *d = &n->eps[h];
  if (d->refused) {
    d->gone = 1;
    n->progress = 1;
    return LP2P_ERR_RESET;
  }
  if (d->peer < 0)
    return LP2P_ERR_AGAIN;
  ep *e = &n->eps[d->peer];
  if (e->head) {
    seg *s = e->head;
    if (s->at > n->now)
      return LP2P_ERR_AGAIN;
    size_t left = s->len - s->off, max = n->chunk_max < cap ? n->chunk_max : cap;
    size_t k = rnd_len(n, left < max ? left : max);
    memcpy(buf, s->data + s->off, k);
    return (lp2p_ssize)k;
  }
  if (!e->fin_sent || e->fin_delivered)
    return LP2P_ERR_AGAIN;
  e->fin_delivered = 1;
  n->progress = 1;
  if (e->reset) {
    d->gone = 1;
    return LP2P_ERR_RESET;
  }
  return 0;
}

static void mn_consume(void *b, drv_handle h, size_t k) {
  memnet *n = ((mhost *)b)->n;
  ep *e = &n->eps[n->eps[h].peer];
  seg *s = e->head;
  s->off += k;
  n->progress = 1;
  if (s->off == s->len) {
    e->head = s->next;
    if (!e->head)
      e->tail = NULL;
    free(s);
  }
}

/* RAW_SHUTDOWN (raw connections to served addresses): our FIN follows
 * the queued bytes. */
static int mn_shutdown(void *b, drv_handle h) {
  ep *e = &((mhost *)b)->n->eps[h];
  e->fin_sent = 1;
  return 0;
}

/* CLOSE and RESET (GRACEFUL / ABORT): our FIN follows the queued bytes, or
 * the queue is dropped and the peer sees a reset. An endpoint that saw
 * the peer's reset is gone already: nothing to send. */
static void mn_end(void *b, drv_handle h, int kind, int how, int peer_eof) {
  mhost *mh = b;
  (void)peer_eof;
  if (kind == DRV_K_UDP) {
    usock *u = &mh->n->us[h];
    u->used = 0;
    while (u->head) {
      dgram *g = u->head;
      u->head = g->next;
      free(g);
    }
    u->tail = NULL;
    return;
  }
  if (kind != DRV_K_STREAM) {
    for (int k = 0; k < mh->nls; k++)
      if (mh->ls[k].id == h)
        mh->ls[k] = mh->ls[--mh->nls];
    return;
  }
  ep *e = &mh->n->eps[h];
  if (e->gone)
    return;
  if (how == DRV_END_ABORT) {
    e->reset = 1;
    mn_ep_clear(e); /* unsent bytes are discarded */
  }
  e->fin_sent = 1;
  e->closed = 1;
  e->gone = 1;
}

/* Events count as progress: the application may have acted on them. */
static int mn_round(void *b) {
  mhost *mh = b;
  lp2p_host_event ev;
  int any = 0;
  if (mh->hold)
    return 0;
  while (lp2p_host_poll_event(mh->h, &ev)) {
    any = 1;
    if (mh->n->on_event)
      mh->n->on_event(mh->n->ud, mh->idx, &ev);
  }
  return any;
}

/* Pipes notify nobody: the core reads after each flush, and memnet's step
 * offers due bytes to every receiver. */
static const drv_backend memnet_backend = {
    .listen = mn_listen,
    .connect = mn_connect,
    .send = mn_send,
    .recv = mn_recv,
    .consume = mn_consume,
    .shutdown = mn_shutdown,
    .end = mn_end,
    .udp_send = mn_udp_send,
    .udp_recv = mn_udp_recv,
    .udp_join = mn_udp_join,
    .want = NULL,
    .now = mn_now,
    .round = mn_round,
    .reads_max = 1u << 20,
    .short_read_drains = 0,
};

int memnet_add(memnet *n, lp2p_host *h) {
  int i = n->nhosts++;
  mhost *mh = &n->hosts[i];
  mh->n = n;
  mh->idx = i;
  mh->h = h;
  mh->next_port = 40000;
  mh->core = malloc(sizeof *mh->core);
  drv_core_init(mh->core, h, &memnet_backend, mh);
  return i;
}

/* Move due bytes from e towards its peer: a raw client collects them; a
 * host's core reads them (and the FIN); a receiver that is gone drops
 * them. */
static int do_deliver(memnet *n, int ei) {
  ep *e = &n->eps[ei];
  if (e->refused && !e->gone) { /* the dialer learns of the refusal */
    n->progress = 0;
    drv_core_read(n->hosts[e->host].core, e->ref);
    return n->progress;
  }
  if (e->peer < 0)
    return 0;
  ep *d = &n->eps[e->peer];
  if (d->host >= 0 && !d->gone && !d->reset) {
    n->progress = 0;
    drv_core_read(n->hosts[d->host].core, d->ref);
    return n->progress;
  }
  int progress = 0;
  while (e->head && e->head->at <= n->now) {
    seg *s = e->head;
    if (d->host < 0 && !d->reset) {
      size_t left = s->len - s->off;
      if (d->raw_len + left > d->raw_cap) {
        d->raw_cap = (d->raw_len + left) * 2;
        d->raw_in = realloc(d->raw_in, d->raw_cap);
      }
      memcpy(d->raw_in + d->raw_len, s->data + s->off, left);
      d->raw_len += left;
    } /* else the receiver is gone: bytes vanish */
    e->head = s->next;
    if (!e->head)
      e->tail = NULL;
    free(s);
    progress = 1;
  }
  if (!e->head && e->fin_sent && !e->fin_delivered) {
    e->fin_delivered = 1;
    progress = 1;
    if (d->host < 0) {
      d->closed = 1;
      if (e->reset)
        d->reset = 1;
    }
  }
  return progress;
}

static int step(memnet *n) {
  int progress = 0;
  for (int i = 0; i < n->nhosts; i++) {
    n->progress = 0;
    progress |= drv_core_drain(n->hosts[i].core) | n->progress;
  }
  for (int e = 0; e < n->neps; e++)
    progress |= do_deliver(n, e);
  for (int e = 0; e < n->neps; e++)
    if (n->eps[e].raw_out && !n->eps[e].gone) {
      n->progress = 0;
      drv_core_flush(n->hosts[n->eps[e].host].core, n->eps[e].ref);
      progress |= n->progress;
    }
  for (int i = 0; i < n->nus; i++) {
    usock *u = &n->us[i];
    if (u->used && u->head && u->head->at <= n->now) {
      n->progress = 0;
      drv_core_udp_read(n->hosts[u->host].core, u->ref, 16);
      progress |= n->progress;
    }
  }
  return progress;
}

/* Bytes from e wait for a host that takes none now (its receive buffers
 * are full: TCP backpressure). They are not an event in time: only the
 * host's own progress or a timer can open room, and both are seen. */
static int held_back(memnet *n, int ei) {
  const ep *e = &n->eps[ei];
  if (e->peer < 0)
    return 0;
  const ep *d = &n->eps[e->peer];
  if (d->host < 0 || d->gone || d->reset)
    return 0;
  drv_core *c = n->hosts[d->host].core;
  drv_rec *r = drv_core_get(c, d->ref);
  if (!r || r->connecting || r->eof)
    return 0;
  return r->pend_len > 0 || r->ops->recv_room(c->host, r->id) == 0;
}

static lp2p_tstamp next_time(memnet *n) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (int i = 0; i < n->nhosts; i++) {
    lp2p_tstamp d = lp2p_host_next_timeout(n->hosts[i].h);
    if (d < t)
      t = d;
  }
  for (int e = 0; e < n->neps; e++) {
    if (n->eps[e].head && n->eps[e].head->at < t && !held_back(n, e))
      t = n->eps[e].head->at;
  }
  for (int i = 0; i < n->nus; i++)
    if (n->us[i].used && n->us[i].head && n->us[i].head->at < t)
      t = n->us[i].head->at;
  return t;
}

static void timers(memnet *n) {
  for (int i = 0; i < n->nhosts; i++)
    if (lp2p_host_next_timeout(n->hosts[i].h) <= n->now)
      lp2p_host_handle_timeout(n->hosts[i].h, n->now);
}

int memnet_run(memnet *n, int (*stop)(void *ud), void *ud, uint64_t max_ns) {
  lp2p_tstamp end = n->now + max_ns;
  for (;;) {
    int progress = step(n);
    if (stop && stop(ud))
      return 1;
    if (progress)
      continue;
    lp2p_tstamp t = next_time(n);
    if (t == LP2P_TSTAMP_NONE || t > end) {
      if (!stop)
        n->now = end;
      return 0;
    }
    if (t > n->now)
      n->now = t;
    timers(n);
  }
}

void memnet_run_for(memnet *n, uint64_t ns) { memnet_run(n, NULL, NULL, ns); }

size_t memnet_pipes_open(const memnet *n) {
  size_t k = 0;
  for (int e = 0; e < n->neps; e++)
    if (n->eps[e].used && n->eps[e].host >= 0 && !n->eps[e].gone)
      k++;
  return k;
}

uint64_t memnet_bytes_moved(const memnet *n) { return n->moved; }
