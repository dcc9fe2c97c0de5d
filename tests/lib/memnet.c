/* memnet: see memnet.h. Test-only code (libc allocation is fine here). */
#include "tests/lib/memnet.h"

#include <stdlib.h>
#include <string.h>

#define HOSTS_MAX 64
#define LISTENERS_MAX 8

typedef struct seg {
  struct seg *next;
  lp2p_tstamp at;   /* deliverable from this time */
  size_t len, off;
  uint8_t data[];
} seg;

/* One side of a TCP connection. */
typedef struct ep {
  int used;
  int host;         /* -1 = raw test client */
  uint64_t conn;    /* host's conn id */
  int peer;         /* other side's endpoint index */
  seg *head, *tail; /* bytes in flight towards the peer */
  int fin_sent;     /* we closed our sending side (after the queue) */
  int fin_delivered;
  int closed;       /* host took CLOSE: socket gone */
  int reset;        /* RESET io or raw reset */
  int gone;         /* host side forgotten (reset / failed delivered) */
  uint8_t *raw_in;  /* raw client: what it received */
  size_t raw_len, raw_cap;
  int dialing;      /* host dial answered next step */
} ep;

typedef struct mhost {
  lp2p_host *h;
  struct {
    uint64_t id;
    uint16_t port;
  } ls[LISTENERS_MAX];
  int nls;
  uint16_t next_port;
  int hold;
} mhost;

struct memnet {
  mhost hosts[HOSTS_MAX];
  int nhosts;
  ep *eps;
  int neps, caps;
  lp2p_tstamp now;
  uint64_t latency_ns;
  size_t chunk_max;
  uint64_t rng;
  memnet_event_fn on_event;
  void *ud;
  uint64_t moved;
};

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

static void ep_clear(ep *e) {
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
    ep_clear(&n->eps[i]);
    free(n->eps[i].raw_in);
  }
  free(n->eps);
  free(n);
}

int memnet_add(memnet *n, lp2p_host *h) {
  int i = n->nhosts++;
  n->hosts[i].h = h;
  n->hosts[i].next_port = 40000;
  return i;
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

static int ep_new(memnet *n) {
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

/* Endpoint of (host, conn): linear search is fine at test sizes, but keep
 * it cheap by scanning from the end (recent connections are hot). */
static int ep_find(memnet *n, int host, uint64_t conn) {
  for (int i = n->neps - 1; i >= 0; i--)
    if (n->eps[i].used && n->eps[i].host == host && n->eps[i].conn == conn &&
        !n->eps[i].gone)
      return i;
  return -1;
}

static void push(memnet *n, ep *e, const uint8_t *p, size_t len) {
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
 * listener-side endpoint, or -1 (refused). */
static int connect_to(memnet *n, int a, const lp2p_sockaddr *dst,
                      lp2p_sockaddr *local_out) {
  int lh;
  uint64_t lid;
  if (!listener_port_host(n, dst, &lh, &lid))
    return -1;
  lp2p_sockaddr remote;
  int src_host = n->eps[a].host;
  memnet_addr(n, src_host < 0 ? 99 : src_host,
              (uint16_t)(50000 + (a % 10000)), &remote);
  *local_out = remote;
  uint64_t conn = 0;
  if (lp2p_host_conn_accepted(n->hosts[lh].h, lid, &remote, dst, n->now,
                              &conn) != 0)
    return -2;
  int b = ep_new(n);
  n->eps[b].host = lh;
  n->eps[b].conn = conn;
  n->eps[b].peer = a;
  n->eps[a].peer = b;
  return b;
}

/* Events count as progress: the application may have acted on them. */
static int deliver_events(memnet *n, int i) {
  lp2p_host_event ev;
  int any = 0;
  if (n->hosts[i].hold)
    return 0;
  while (lp2p_host_poll_event(n->hosts[i].h, &ev)) {
    any = 1;
    if (n->on_event)
      n->on_event(n->ud, i, &ev);
  }
  return any;
}

static int do_io(memnet *n, int i) {
  mhost *mh = &n->hosts[i];
  lp2p_io io;
  int progress = 0;
  while (lp2p_host_poll_io(mh->h, &io)) {
    progress = 1;
    switch (io.kind) {
    case LP2P_IO_LISTEN: {
      lp2p_sockaddr b = io.addr;
      memnet_addr(n, i, io.addr.port ? io.addr.port : mh->next_port++, &b);
      if (io.addr.family == 4 && io.addr.ip[0] == 0)
        b.ip[0] = b.ip[1] = b.ip[2] = b.ip[3] = 0; /* keep 0.0.0.0 */
      if (mh->nls < LISTENERS_MAX) {
        mh->ls[mh->nls].id = io.listener;
        mh->ls[mh->nls].port = b.port;
        mh->nls++;
        lp2p_host_listen_done(mh->h, io.listener, 0, &b);
      } else {
        lp2p_host_listen_done(mh->h, io.listener, LP2P_ERR_IO, NULL);
      }
      break;
    }
    case LP2P_IO_UNLISTEN:
      for (int k = 0; k < mh->nls; k++)
        if (mh->ls[k].id == io.listener)
          mh->ls[k] = mh->ls[--mh->nls];
      break;
    case LP2P_IO_DIAL: {
      int a = ep_new(n);
      n->eps[a].host = i;
      n->eps[a].conn = io.conn;
      lp2p_sockaddr local;
      int b = connect_to(n, a, &io.addr, &local);
      if (b == -1) {
        n->eps[a].gone = 1;
        lp2p_host_conn_failed(mh->h, io.conn, LP2P_ERR_REFUSED, n->now);
      } else {
        lp2p_host_conn_established(mh->h, io.conn, &local, n->now);
        if (b == -2) {
          /* The listener refused after accept: the dialer sees a reset. */
          n->eps[a].gone = 1;
          lp2p_host_conn_reset(mh->h, io.conn, LP2P_ERR_RESET, n->now);
        }
      }
      break;
    }
    case LP2P_IO_CLOSE:
    case LP2P_IO_RESET: {
      int e = ep_find(n, i, io.conn);
      if (e < 0)
        break;
      if (io.kind == LP2P_IO_RESET) {
        n->eps[e].reset = 1;
        ep_clear(&n->eps[e]); /* unsent bytes are discarded */
      }
      n->eps[e].fin_sent = 1;
      n->eps[e].closed = 1;
      n->eps[e].gone = 1;
      break;
    }
    default:
      break;
    }
  }
  return progress;
}

static int do_output(memnet *n, int i) {
  mhost *mh = &n->hosts[i];
  uint64_t conn;
  int progress = 0;
  while (lp2p_host_poll_dirty(mh->h, &conn)) {
    int e = ep_find(n, i, conn);
    for (int rounds = 0; rounds < 64; rounds++) {
      size_t len = 0;
      const uint8_t *p = lp2p_host_out_peek(mh->h, conn, &len);
      if (!len)
        break;
      size_t k = rnd_len(n, len < n->chunk_max ? len : n->chunk_max);
      if (e >= 0 && !n->eps[e].closed)
        push(n, &n->eps[e], p, k);
      lp2p_host_conn_out_consume(mh->h, conn, k);
      progress = 1;
      if (rnd(n) % 8 == 0)
        break; /* a partial write: the host must re-dirty the conn */
    }
    (void)lp2p_host_conn_interest(mh->h, conn);
  }
  return progress;
}

/* Move due bytes from e towards its peer. */
static int do_deliver(memnet *n, int ei) {
  ep *e = &n->eps[ei];
  if (e->peer < 0)
    return 0;
  ep *d = &n->eps[e->peer];
  int progress = 0;
  while (e->head && e->head->at <= n->now) {
    seg *s = e->head;
    if (d->reset || (d->host >= 0 && d->gone)) {
      /* The receiver is gone: bytes vanish. */
      e->head = s->next;
      if (!e->head)
        e->tail = NULL;
      free(s);
      continue;
    }
    size_t left = s->len - s->off;
    if (d->host < 0) {
      if (d->raw_len + left > d->raw_cap) {
        d->raw_cap = (d->raw_len + left) * 2;
        d->raw_in = realloc(d->raw_in, d->raw_cap);
      }
      memcpy(d->raw_in + d->raw_len, s->data + s->off, left);
      d->raw_len += left;
      s->off = s->len;
    } else {
      lp2p_host *h = n->hosts[d->host].h;
      size_t room = lp2p_host_conn_recv_room(h, d->conn);
      if (room == 0)
        break;
      size_t k = rnd_len(n, left < n->chunk_max ? left : n->chunk_max);
      lp2p_ssize took = lp2p_host_conn_feed(h, d->conn, n->now,
                                            s->data + s->off, k);
      if (took < 0) {
        /* unknown conn (host forgot it): drop */
        s->off = s->len;
      } else {
        s->off += (size_t)took;
        if (took == 0)
          break;
      }
    }
    progress = 1;
    if (s->off == s->len) {
      e->head = s->next;
      if (!e->head)
        e->tail = NULL;
      free(s);
    }
  }
  if (!e->head && e->fin_sent && !e->fin_delivered) {
    e->fin_delivered = 1;
    progress = 1;
    if (d->host >= 0 && !d->gone) {
      lp2p_host *h = n->hosts[d->host].h;
      if (e->reset) {
        d->gone = 1;
        lp2p_host_conn_reset(h, d->conn, LP2P_ERR_RESET, n->now);
      } else {
        lp2p_host_conn_eof(h, d->conn, n->now);
      }
    } else if (d->host < 0) {
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
    progress |= do_output(n, i);
    progress |= do_io(n, i);
    progress |= do_output(n, i);
    progress |= deliver_events(n, i);
  }
  for (int e = 0; e < n->neps; e++)
    progress |= do_deliver(n, e);
  return progress;
}

static lp2p_tstamp next_time(memnet *n) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (int i = 0; i < n->nhosts; i++) {
    lp2p_tstamp d = lp2p_host_next_timeout(n->hosts[i].h);
    if (d < t)
      t = d;
  }
  for (int e = 0; e < n->neps; e++) {
    if (n->eps[e].head && n->eps[e].head->at < t)
      t = n->eps[e].head->at;
  }
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

/* ---- raw endpoints ------------------------------------------------------------ */

int memnet_raw_connect(memnet *n, int host, uint16_t port) {
  int a = ep_new(n);
  n->eps[a].host = -1;
  lp2p_sockaddr dst, local;
  memnet_addr(n, host, port, &dst);
  int b = connect_to(n, a, &dst, &local);
  if (b < 0) {
    n->eps[a].used = 0;
    return -1;
  }
  return a;
}

void memnet_raw_send(memnet *n, int e, const void *p, size_t len) {
  push(n, &n->eps[e], p, len);
}

const uint8_t *memnet_raw_received(memnet *n, int e, size_t *len) {
  *len = n->eps[e].raw_len;
  return n->eps[e].raw_in;
}

int memnet_raw_closed(memnet *n, int e) { return n->eps[e].closed; }
int memnet_raw_was_reset(memnet *n, int e) { return n->eps[e].reset; }

void memnet_raw_close(memnet *n, int e) { n->eps[e].fin_sent = 1; }

void memnet_raw_reset(memnet *n, int e) {
  n->eps[e].fin_sent = 1;
  n->eps[e].reset = 1;
  ep_clear(&n->eps[e]);
}

size_t memnet_pipes_open(const memnet *n) {
  size_t k = 0;
  for (int e = 0; e < n->neps; e++)
    if (n->eps[e].used && n->eps[e].host >= 0 && !n->eps[e].gone)
      k++;
  return k;
}

uint64_t memnet_bytes_moved(const memnet *n) { return n->moved; }
