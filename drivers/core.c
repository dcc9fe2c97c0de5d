/* The driver core: see drivers/core.h. */
#include "drivers/core.h"

#include <stdlib.h>
#include <string.h>

#include "lp2p/driver.h"

/* Map key: host id plus its namespace (DRV_NS_*): conn, listener and raw
 * ids are unique only within their own table. */
static uint64_t key_of(uint64_t id, unsigned ns) { return id << 2 | ns; }

static drv_ref ref_of(const drv_core *c, const drv_rec *r) {
  return (uint64_t)r->gen << 32 | (uint64_t)(r - c->recs);
}

void drv_core_init(drv_core *c, lp2p_host *h, const drv_backend *be,
                   void *b) {
  memset(c, 0, offsetof(drv_core, rbuf));
  c->host = h;
  c->be = be;
  c->b = b;
}

void drv_core_fini(drv_core *c) {
  for (size_t i = 0; i < c->nrecs; i++)
    free(c->recs[i].pend);
  free(c->recs);
  free(c->free_list);
  drv_idmap_free(&c->map);
  memset(c, 0, offsetof(drv_core, rbuf));
}

drv_rec *drv_core_rec(drv_core *c, size_t i) {
  return i < c->nrecs && c->recs[i].kind != DRV_K_FREE ? &c->recs[i] : NULL;
}

drv_rec *drv_core_get(drv_core *c, drv_ref ref) {
  size_t i = (size_t)(ref & 0xffffffffu);
  if (i >= c->nrecs)
    return NULL;
  drv_rec *r = &c->recs[i];
  return r->kind != DRV_K_FREE && r->gen == (uint32_t)(ref >> 32) ? r : NULL;
}

static drv_rec *find(drv_core *c, uint64_t id, unsigned ns) {
  uint32_t i;
  return drv_idmap_get(&c->map, key_of(id, ns), &i) ? &c->recs[i] : NULL;
}

/* A new record for host id `id`; NULL without memory. Pointers into the
 * table are invalid afterwards (it may move): keep refs. */
static drv_rec *rec_new(drv_core *c, uint64_t id, unsigned ns, uint8_t kind) {
  uint32_t i;
  if (c->nfree) {
    i = c->free_list[--c->nfree];
  } else {
    if (c->nrecs == c->cap) {
      size_t nc = c->cap ? c->cap * 2 : 64;
      drv_rec *nr = realloc(c->recs, nc * sizeof(*nr));
      if (!nr)
        return NULL;
      c->recs = nr;
      uint32_t *nf = realloc(c->free_list, nc * sizeof(*nf));
      if (!nf)
        return NULL;
      c->free_list = nf;
      c->cap = nc;
    }
    i = (uint32_t)c->nrecs++;
    c->recs[i].gen = 0;
  }
  drv_rec *r = &c->recs[i];
  uint32_t gen = r->gen + 1;
  memset(r, 0, sizeof(*r));
  r->gen = gen ? gen : 1; /* a ref is never 0 */
  r->id = id;
  r->ns = (uint8_t)ns;
  r->kind = kind;
  r->ops = ns == DRV_NS_RAW ? &drv_raw_ops : &drv_conn_ops;
  if (drv_idmap_put(&c->map, key_of(id, ns), i) != 0) {
    r->kind = DRV_K_FREE;
    c->free_list[c->nfree++] = i;
    return NULL;
  }
  return r;
}

/* Forget a record (its socket is the backend's to end). */
static void rec_del(drv_core *c, drv_rec *r) {
  drv_idmap_del(&c->map, key_of(r->id, r->ns));
  free(r->pend);
  r->pend = NULL;
  r->pend_len = 0;
  r->kind = DRV_K_FREE;
  c->free_list[c->nfree++] = (uint32_t)(r - c->recs);
}

/* Forget the record, then end its socket `how`. */
static void rec_end(drv_core *c, drv_rec *r, int how) {
  drv_handle h = r->h;
  int kind = r->kind, eof = r->eof;
  rec_del(c, r);
  c->be->end(c->b, h, kind, how, eof);
}

void drv_core_dead(drv_core *c, drv_ref ref, int err) {
  drv_rec *r = drv_core_get(c, ref);
  if (!r)
    return;
  uint64_t id = r->id;
  const drv_sock_ops *ops = r->ops;
  rec_end(c, r, DRV_END_CLOSE);
  ops->broken(c->host, id, err, c->be->now(c->b));
}

/* ---- bytes in ---------------------------------------------------------- */

/* Offers bytes the host refused earlier; returns 1 if all were taken. */
static int feed_pending(drv_core *c, drv_rec *r) {
  while (r->pend_len) {
    lp2p_ssize k =
        r->ops->feed(c->host, r->id, c->be->now(c->b), r->pend, r->pend_len);
    if (k <= 0)
      return 0;
    memmove(r->pend, r->pend + k, r->pend_len - (size_t)k);
    r->pend_len -= (size_t)k;
  }
  free(r->pend);
  r->pend = NULL;
  return 1;
}

void drv_core_read(drv_core *c, drv_ref ref) {
  const drv_backend *be = c->be;
  for (unsigned i = 0; i < be->reads_max; i++) {
    drv_rec *r = drv_core_get(c, ref);
    if (!r || r->connecting || r->eof)
      return;
    if (r->pend_len && !feed_pending(c, r))
      return;
    const uint64_t id = r->id;
    const drv_sock_ops *ops = r->ops;
    size_t room = ops->recv_room(c->host, id);
    if (!room)
      return;
    /* A backend that consumes what it read (real sockets) reads straight
     * into the host's buffer when the host offers one: one copy less.
     * Otherwise (peeking backends, no memory) through rbuf and feed. */
    uint8_t *buf = NULL;
    if (ops->recv_buf && !be->consume)
      buf = ops->recv_buf(c->host, id, &room);
    if (!buf) {
      buf = c->rbuf;
      room = ops->recv_room(c->host, id);
      if (room > sizeof c->rbuf)
        room = sizeof c->rbuf;
    }
    lp2p_ssize n = be->recv(c->b, r->h, buf, room);
    if (n == LP2P_ERR_AGAIN)
      return;
    if (n < 0) {
      drv_core_dead(c, ref, (int)n);
      return;
    }
    if (n == 0) {
      r->eof = 1;
      ops->eof(c->host, id, be->now(c->b));
      return;
    }
    if (buf != c->rbuf) {
      if (ops->recv_commit(c->host, id, be->now(c->b), (size_t)n) < 0)
        return; /* the host forgot the socket: it will send CLOSE/RESET */
      if (be->short_read_drains && (size_t)n < room)
        return; /* drained the socket */
      continue;
    }
    lp2p_ssize k = ops->feed(c->host, id, be->now(c->b), c->rbuf, (size_t)n);
    if (be->consume) { /* peeked: what the host took leaves the socket */
      if (k <= 0)
        return; /* full (recv_room lied) or the host forgot the conn */
      be->consume(c->b, r->h, (size_t)k);
      continue;
    }
    if (k < 0) /* the host forgot the conn: it will send CLOSE/RESET */
      return;
    if ((size_t)k < (size_t)n) {
      r->pend = malloc((size_t)n - (size_t)k);
      if (!r->pend) {
        drv_core_dead(c, ref, LP2P_ERR_NOMEM);
        return;
      }
      r->pend_len = (size_t)n - (size_t)k;
      memcpy(r->pend, c->rbuf + k, r->pend_len);
      return;
    }
    if (be->short_read_drains && (size_t)n < room)
      return; /* drained the socket */
  }
}

/* ---- bytes out ----------------------------------------------------------- */

void drv_core_flush(drv_core *c, drv_ref ref) {
  const drv_backend *be = c->be;
  drv_rec *r = drv_core_get(c, ref);
  if (!r)
    return;
  if (r->connecting) {
    if (be->want)
      be->want(c->b, r->h, LP2P_POLL_WRITE);
    return;
  }
  const uint64_t id = r->id;
  const drv_sock_ops *ops = r->ops;
  /* bytes read earlier but refused for lack of room: offer them again as
   * soon as the host has room (it marks the conn dirty when room opens) */
  if (r->pend_len && ops->recv_room(c->host, id) > 0)
    feed_pending(c, r);
  for (;;) {
    size_t len = 0, took = 0;
    const uint8_t *p = ops->out_peek(c->host, id, &len);
    if (!len)
      break;
    int rc = be->send(c->b, r->h, p, len, &took);
    if (rc < 0 && rc != LP2P_ERR_AGAIN) {
      drv_core_dead(c, ref, rc);
      return;
    }
    if (took)
      ops->out_consume(c->host, id, took);
    if (rc == LP2P_ERR_AGAIN)
      break;
  }
  if (!be->want) {
    drv_core_read(c, ref);
    return;
  }
  unsigned hi = ops->interest(c->host, id);
  unsigned want = 0;
  if ((hi & LP2P_INTEREST_READ) && !r->eof && ops->recv_room(c->host, id) > 0)
    want |= LP2P_POLL_READ;
  size_t left = 0;
  ops->out_peek(c->host, id, &left);
  if ((hi & LP2P_INTEREST_WRITE) || left)
    want |= LP2P_POLL_WRITE;
  be->want(c->b, r->h, want);
}

/* ---- lifecycle answers ----------------------------------------------------- */

void drv_core_connected(drv_core *c, drv_ref ref, int err,
                        const lp2p_sockaddr *local) {
  drv_rec *r = drv_core_get(c, ref);
  if (!r)
    return;
  uint64_t id = r->id;
  const drv_sock_ops *ops = r->ops;
  if (err) {
    rec_end(c, r, DRV_END_CLOSE);
    ops->failed(c->host, id, err, c->be->now(c->b));
    return;
  }
  r->connecting = 0;
  ops->established(c->host, id, local, c->be->now(c->b));
}

int drv_core_accept(drv_core *c, int raw, uint64_t listener, drv_handle h,
                    const lp2p_sockaddr *remote, const lp2p_sockaddr *local,
                    drv_ref *out) {
  const drv_sock_ops *ops = raw ? &drv_raw_ops : &drv_conn_ops;
  uint64_t id = 0;
  int rc = ops->accepted(c->host, listener, remote, local, c->be->now(c->b),
                         &id);
  if (rc != 0) {
    c->be->end(c->b, h, DRV_K_STREAM, DRV_END_CLOSE, 0); /* refused */
    return rc;
  }
  drv_rec *r = rec_new(c, id, raw ? DRV_NS_RAW : DRV_NS_CONN, DRV_K_STREAM);
  if (!r) {
    c->be->end(c->b, h, DRV_K_STREAM, DRV_END_ABORT, 0);
    ops->broken(c->host, id, LP2P_ERR_NOMEM, c->be->now(c->b));
    return LP2P_ERR_NOMEM;
  }
  r->h = h;
  *out = ref_of(c, r);
  return 0;
}

void drv_core_udp_read(drv_core *c, drv_ref ref, size_t max) {
  for (size_t i = 0; i < max; i++) {
    drv_rec *r = drv_core_get(c, ref);
    if (!r)
      return;
    lp2p_sockaddr from;
    lp2p_ssize n = c->be->udp_recv(c->b, r->h, &from, c->rbuf, sizeof c->rbuf);
    if (n < 0)
      return;
    lp2p_host_datagram_feed(c->host, r->id, &from, c->be->now(c->b), c->rbuf,
                            (size_t)n);
  }
}

/* ---- io requests ------------------------------------------------------------ */

/* LISTEN, RAW_LISTEN, UDP_OPEN. */
static void io_listen(drv_core *c, const lp2p_io *io, uint8_t kind) {
  const int raw = kind != DRV_K_LISTEN;
  const uint64_t id = raw ? io->raw : io->listener;
  lp2p_sockaddr bound;
  memset(&bound, 0, sizeof bound);
  int err = LP2P_ERR_NOMEM;
  drv_rec *r = rec_new(c, id, raw ? DRV_NS_RAW : DRV_NS_LISTENER, kind);
  if (r) {
    drv_ref ref = ref_of(c, r);
    drv_handle h = 0;
    err = c->be->listen(c->b, ref, kind, io, &h, &bound);
    if (err)
      rec_del(c, r);
    else
      r->h = h;
  }
  if (raw)
    lp2p_host_raw_bound(c->host, id, err, err ? NULL : &bound,
                        c->be->now(c->b));
  else
    lp2p_host_listen_done(c->host, id, err, err ? NULL : &bound);
}

/* DIAL, RAW_DIAL. */
static void io_dial(drv_core *c, const lp2p_io *io, int raw) {
  const drv_sock_ops *ops = raw ? &drv_raw_ops : &drv_conn_ops;
  const uint64_t id = raw ? io->raw : io->conn;
  drv_rec *r = rec_new(c, id, raw ? DRV_NS_RAW : DRV_NS_CONN, DRV_K_STREAM);
  if (!r) {
    ops->failed(c->host, id, LP2P_ERR_NOMEM, c->be->now(c->b));
    return;
  }
  drv_ref ref = ref_of(c, r);
  r->connecting = 1;
  lp2p_sockaddr local;
  memset(&local, 0, sizeof local);
  drv_handle h = 0;
  int rc = c->be->connect(c->b, ref, io, &h, &local);
  r = drv_core_get(c, ref);
  if (rc < 0) {
    rec_del(c, r);
    ops->failed(c->host, id, rc, c->be->now(c->b));
    return;
  }
  r->h = h;
  if (rc == 1)
    drv_core_connected(c, ref, 0, local.family ? &local : NULL);
}

static void handle_io(drv_core *c, const lp2p_io *io) {
  drv_rec *r;
  switch (io->kind) {
  case LP2P_IO_LISTEN:
    io_listen(c, io, DRV_K_LISTEN);
    break;
  case LP2P_IO_RAW_LISTEN:
    io_listen(c, io, DRV_K_RAW_LISTEN);
    break;
  case LP2P_IO_UDP_OPEN:
    io_listen(c, io, DRV_K_UDP);
    break;
  case LP2P_IO_DIAL:
    io_dial(c, io, 0);
    break;
  case LP2P_IO_RAW_DIAL:
    io_dial(c, io, 1);
    break;
  case LP2P_IO_CLOSE:
    if ((r = find(c, io->conn, DRV_NS_CONN)))
      rec_end(c, r, DRV_END_GRACEFUL);
    break;
  case LP2P_IO_RESET:
    if ((r = find(c, io->conn, DRV_NS_CONN)))
      rec_end(c, r, DRV_END_ABORT);
    break;
  case LP2P_IO_UNLISTEN:
    if ((r = find(c, io->listener, DRV_NS_LISTENER)))
      rec_end(c, r, DRV_END_CLOSE);
    break;
  case LP2P_IO_SEND_DATAGRAM:
    if ((r = find(c, io->raw, DRV_NS_RAW)) && r->kind == DRV_K_UDP)
      c->be->udp_send(c->b, r->h, io);
    break;
  case LP2P_IO_UDP_JOIN:
    if ((r = find(c, io->raw, DRV_NS_RAW)) && r->kind == DRV_K_UDP)
      lp2p_host_udp_joined(c->host, io->raw,
                           c->be->udp_join(c->b, r->h, &io->addr),
                           c->be->now(c->b));
    break;
  case LP2P_IO_RAW_SHUTDOWN:
    if ((r = find(c, io->raw, DRV_NS_RAW)) && r->kind == DRV_K_STREAM) {
      int rc = c->be->shutdown(c->b, r->h);
      if (rc != 0)
        drv_core_dead(c, ref_of(c, r), rc);
    }
    break;
  case LP2P_IO_RAW_CLOSE:
  case LP2P_IO_RAW_RESET:
    /* a raw connection closes only after both FINs (host_raw.c), so a
     * plain close never discards unread input into an RST */
    if ((r = find(c, io->raw, DRV_NS_RAW)))
      rec_end(c, r,
              io->kind == LP2P_IO_RAW_RESET && r->kind == DRV_K_STREAM
                  ? DRV_END_ABORT
                  : DRV_END_CLOSE);
    break;
  }
}

int drv_core_drain(drv_core *c) {
  int any = 0;
  for (int progress = 1; progress; any |= progress) {
    progress = 0;
    uint64_t id;
    while (lp2p_host_poll_dirty(c->host, &id)) {
      drv_rec *r = find(c, id, DRV_NS_CONN);
      if (r)
        drv_core_flush(c, ref_of(c, r));
      progress = 1;
    }
    while (lp2p_host_raw_poll_dirty(c->host, &id)) {
      drv_rec *r = find(c, id, DRV_NS_RAW);
      if (r && r->kind == DRV_K_STREAM)
        drv_core_flush(c, ref_of(c, r));
      progress = 1;
    }
    lp2p_io io;
    while (lp2p_host_poll_io(c->host, &io)) {
      handle_io(c, &io);
      progress = 1;
    }
    if (c->be->round) {
      int rc = c->be->round(c->b);
      if (rc < 0)
        return 1;
      if (rc > 0)
        progress = 1;
    }
  }
  return any;
}
