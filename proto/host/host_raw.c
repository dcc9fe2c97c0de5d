/* Raw sockets: the id table, the io and dirty FIFOs, buffers and the
 * lifecycle shared by raw TCP and UDP (host_raw.h). Like host_io.c the
 * FIFOs are intrusive lists, so queueing never allocates or fails, and a
 * driver touches only raw sockets that changed. */
#include "proto/host/host_raw.h"

hraw_state *host_raw_state(lp2p_host *h) {
  if (h->rawst)
    return h->rawst;
  hraw_state *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return NULL;
  hid_init(&st->ids, h->cfg.raws_max);
  h->rawst = st;
  return st;
}

hraw *host_raw_get(const lp2p_host *h, uint64_t id) {
  if (!h->rawst)
    return NULL;
  hraw *r = hid_get(&h->rawst->ids, id);
  return r && r->state != HR_ZOMBIE ? r : NULL;
}

int host_raw_new(lp2p_host *h, uint32_t owner, uint8_t kind, hraw **out) {
  hraw_state *st = host_raw_state(h);
  if (!st)
    return LP2P_ERR_NOMEM;
  if (st->ids.used >= h->cfg.raws_max)
    return LP2P_ERR_LIMIT;
  hraw *r = lp2p_mem_calloc(h->mem, 1, sizeof *r);
  if (!r)
    return LP2P_ERR_NOMEM;
  int rc = hid_add(&st->ids, h->mem, r, &r->id);
  if (rc) {
    lp2p_mem_free(h->mem, r);
    return rc;
  }
  r->owner = owner;
  r->kind = kind;
  r->state = HR_PENDING;
  *out = r;
  return 0;
}

/* ---- buffers ---------------------------------------------------------------- */

uint8_t *hbuf_reserve(lp2p_host *h, hbuf *b, size_t n, uint32_t max,
                      uint32_t *take) {
  *take = 0;
  if (b->len >= max || n == 0)
    return NULL;
  uint32_t t = n < (size_t)(max - b->len) ? (uint32_t)n : max - b->len;
  uint32_t need = b->len + t;
  /* Move the unread bytes to the front only when that is cheap or when
   * growing within max cannot make room: a forwarder draining the buffer
   * in pieces otherwise moved a large remainder on most appends. */
  if (b->off + need > b->cap && b->off &&
      (b->len <= b->cap / 8 || b->off + need > max)) {
    memmove(b->p, b->p + b->off, b->len);
    b->off = 0;
  }
  uint32_t end = b->off + need;
  if (end > b->cap) {
    uint32_t ncap = b->cap ? b->cap : 4096;
    while (ncap < end)
      ncap = ncap > max / 2 ? max : ncap * 2;
    if (ncap > max)
      ncap = max;
    uint8_t *np = lp2p_mem_realloc(h->mem, b->p, b->cap, ncap);
    if (np) {
      b->p = np;
      b->cap = ncap;
    } else if (b->off && need <= b->cap) { /* no memory: compact after all */
      memmove(b->p, b->p + b->off, b->len);
      b->off = 0;
    } else { /* out of memory: no room (a short write, never a failure) */
      return NULL;
    }
  }
  *take = t;
  return b->p + b->off + b->len;
}

uint32_t hbuf_append(lp2p_host *h, hbuf *b, const uint8_t *p, size_t n,
                     uint32_t max) {
  uint32_t take = 0;
  uint8_t *dst = hbuf_reserve(h, b, n, max, &take);
  if (!dst)
    return 0;
  memcpy(dst, p, take);
  b->len += take;
  return take;
}

void hbuf_drop(hbuf *b, size_t n) {
  if (n >= b->len) {
    b->off = b->len = 0;
    return;
  }
  b->off += (uint32_t)n;
  b->len -= (uint32_t)n;
}

void hbuf_free(lp2p_host *h, hbuf *b) {
  lp2p_mem_free(h->mem, b->p);
  memset(b, 0, sizeof *b);
}

/* ---- FIFOs ------------------------------------------------------------------ */

void host_raw_io(lp2p_host *h, hraw *r, uint8_t kind) {
  hraw_state *st = h->rawst;
  r->io = kind;
  if (r->flags & HR_F_IN_IO)
    return;
  r->flags |= HR_F_IN_IO;
  r->io_next = NULL;
  r->io_prev = st->io_tail;
  if (st->io_tail)
    st->io_tail->io_next = r;
  else
    st->io_head = r;
  st->io_tail = r;
}

static void io_unlink(hraw_state *st, hraw *r) {
  if (!(r->flags & HR_F_IN_IO))
    return;
  if (r->io_prev)
    r->io_prev->io_next = r->io_next;
  else
    st->io_head = r->io_next;
  if (r->io_next)
    r->io_next->io_prev = r->io_prev;
  else
    st->io_tail = r->io_prev;
  r->io_next = r->io_prev = NULL;
  r->flags &= (uint16_t)~HR_F_IN_IO;
}

void host_raw_dirty(lp2p_host *h, hraw *r) {
  hraw_state *st = h->rawst;
  if ((r->flags & HR_F_IN_DIRTY) || r->kind != LP2P_RAW_TCP)
    return;
  r->flags |= HR_F_IN_DIRTY;
  r->dirty_next = NULL;
  r->dirty_prev = st->dirty_tail;
  if (st->dirty_tail)
    st->dirty_tail->dirty_next = r;
  else
    st->dirty_head = r;
  st->dirty_tail = r;
}

static void dirty_unlink(hraw_state *st, hraw *r) {
  if (!(r->flags & HR_F_IN_DIRTY))
    return;
  if (r->dirty_prev)
    r->dirty_prev->dirty_next = r->dirty_next;
  else
    st->dirty_head = r->dirty_next;
  if (r->dirty_next)
    r->dirty_next->dirty_prev = r->dirty_prev;
  else
    st->dirty_tail = r->dirty_prev;
  r->dirty_next = r->dirty_prev = NULL;
  r->flags &= (uint16_t)~HR_F_IN_DIRTY;
}

int lp2p_host_raw_poll_dirty(lp2p_host *h, uint64_t *raw) {
  if (!h || !raw || !h->rawst || !h->rawst->dirty_head)
    return 0;
  hraw *r = h->rawst->dirty_head;
  dirty_unlink(h->rawst, r);
  *raw = r->id;
  return 1;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void dgrams_free(lp2p_host *h, hraw *r) {
  while (r->rq_head) {
    hdgram *g = r->rq_head;
    r->rq_head = g->next;
    lp2p_mem_free(h->mem, g);
  }
  r->rq_tail = NULL;
  r->rq_len = 0;
}

static void raw_release(lp2p_host *h, hraw *r) {
  hraw_state *st = h->rawst;
  io_unlink(st, r);
  dirty_unlink(st, r);
  hbuf_free(h, &r->in);
  hbuf_free(h, &r->out);
  dgrams_free(h, r);
  hid_del(&st->ids, r->id);
  lp2p_mem_free(h->mem, r);
}

void host_raw_kill(lp2p_host *h, hraw *r, uint8_t io) {
  hraw_state *st = h->rawst;
  dirty_unlink(st, r);
  if (!(r->flags & HR_F_IO_TAKEN)) {
    raw_release(h, r); /* the driver never saw it */
    return;
  }
  /* The socket exists in the driver: free the buffers now, keep the id
   * until the driver takes the io that closes it. */
  hbuf_free(h, &r->in);
  hbuf_free(h, &r->out);
  dgrams_free(h, r);
  r->state = HR_ZOMBIE;
  if (r->kind != LP2P_RAW_TCP)
    io = LP2P_IO_RAW_CLOSE; /* listeners and UDP have no RST */
  host_raw_io(h, r, io);
}

void host_raw_notify(lp2p_host *h, hraw *r, lp2p_host_event_kind what,
                     int err, lp2p_tstamp now) {
  if (r->owner) {
    host_svc_raw_activity(h, r->owner, r->id, (unsigned)what, now);
    return;
  }
  if (what == LP2P_HOST_EV_RAW_READABLE ||
      what == LP2P_HOST_EV_UDP_READABLE) {
    /* One pending READABLE per socket keeps the queue bounded by raws_max
     * whatever the peer sends. */
    if (r->flags & HR_F_READABLE_EV)
      return;
    r->flags |= HR_F_READABLE_EV;
  }
  hevent *e = host_ev_push(h, what);
  e->u.raw.id = r->id;
  e->u.raw.listener = r->listener;
  e->err = err;
  e->u.raw.direction = r->dir;
}

uint32_t host_raw_room(const lp2p_host *h, const hraw *r) {
  uint32_t max = h->cfg.raw_recv_bytes_max;
  return r->in.len >= max ? 0 : max - r->in.len;
}

void host_raw_progress(lp2p_host *h, hraw *r, lp2p_tstamp now) {
  if (r->kind != LP2P_RAW_TCP || r->state != HR_OPEN)
    return;
  if ((r->flags & HR_F_LOCAL_CLOSED) && !(r->flags & HR_F_FIN_SENT) &&
      r->out.len == 0) {
    r->flags |= HR_F_FIN_SENT;
    host_raw_io(h, r, LP2P_IO_RAW_SHUTDOWN);
  }
  if ((r->flags & HR_F_FIN_SENT) && (r->flags & HR_F_EOF) && r->in.len == 0 &&
      r->io != LP2P_IO_RAW_SHUTDOWN) {
    /* Both directions ended and all was read (the SHUTDOWN io is out, so
     * the FIN precedes the close): a clean end. */
    host_raw_notify(h, r, LP2P_HOST_EV_RAW_CLOSED, 0, now);
    host_raw_kill(h, r, LP2P_IO_RAW_CLOSE);
  }
}

/* A datagram queued before its socket was closed still goes out while the
 * driver holds the socket (its RAW_CLOSE not taken yet), as sendto()
 * before close() does: a service deletes its port mappings that way when
 * the host closes. */
static int dgram_sendable(const lp2p_host *h, uint64_t id) {
  const hraw *r = hid_get(&h->rawst->ids, id);
  return r && (r->state == HR_OPEN ||
               (r->state == HR_ZOMBIE && r->io == LP2P_IO_RAW_CLOSE));
}

/* ---- hooks for the host core ------------------------------------------------- */

int host_raw_poll_io(lp2p_host *h, lp2p_io *out) {
  hraw_state *st = h->rawst;
  if (!st)
    return 0;
  if (st->sent) {
    lp2p_mem_free(h->mem, st->sent);
    st->sent = NULL;
  }
  /* Datagrams first: a UDP close queued after sends must not overtake
   * them (sends need a bound socket, so its UDP_OPEN went out before). */
  while (st->sq_head) {
    hdgram *g = st->sq_head;
    st->sq_head = g->next;
    if (!st->sq_head)
      st->sq_tail = NULL;
    st->sq_len--;
    if (!dgram_sendable(h, g->raw)) {
      lp2p_mem_free(h->mem, g);
      continue;
    }
    st->sent = g;
    out->kind = LP2P_IO_SEND_DATAGRAM;
    out->raw = g->raw;
    out->addr = g->addr;
    out->ttl = g->ttl;
    out->data = g->data;
    out->len = g->len;
    return 1;
  }
  hraw *r = st->io_head;
  if (!r)
    return 0;
  io_unlink(st, r);
  out->kind = (lp2p_io_kind)r->io;
  out->raw = r->id;
  out->flags = r->io_flags;
  r->io = 0;
  switch (out->kind) {
  case LP2P_IO_RAW_LISTEN:
  case LP2P_IO_UDP_OPEN:
    out->addr = r->local;
    r->flags |= HR_F_IO_TAKEN;
    break;
  case LP2P_IO_RAW_DIAL:
    out->addr = r->remote;
    out->local = r->local;
    out->ttl = r->ttl;
    r->flags |= HR_F_IO_TAKEN;
    break;
  case LP2P_IO_UDP_JOIN:
    out->addr = r->remote;
    break;
  case LP2P_IO_RAW_SHUTDOWN:
    /* the FIN is out: the clean end may be complete now */
    host_raw_progress(h, r, h->now);
    break;
  default: /* RAW_CLOSE / RAW_RESET: the id is dead now */
    if (r->state == HR_ZOMBIE) {
      raw_release(h, r);
      host_maybe_finish_close(h); /* a closing host waits for its sockets */
    }
    break;
  }
  return 1;
}

void host_raw_close_all(lp2p_host *h, lp2p_tstamp now) {
  hraw_state *st = h->rawst;
  if (!st)
    return;
  uint32_t pos = 0;
  hraw *r;
  while ((r = hid_next(&st->ids, &pos)) != NULL) {
    if (r->state == HR_ZOMBIE || (r->flags & HR_F_LAST_WORD))
      continue; /* a last word opened by a hook of this very loop */
    uint64_t id = r->id;
    host_raw_notify(h, r, LP2P_HOST_EV_RAW_CLOSED, LP2P_ERR_CLOSED, now);
    r = host_raw_get(h, id); /* the owner may have closed it meanwhile */
    if (r)
      host_raw_kill(h, r, LP2P_IO_RAW_CLOSE);
  }
}

int host_raw_open_count(const lp2p_host *h) {
  return h->rawst ? (int)h->rawst->ids.used : 0;
}

void host_raw_free(lp2p_host *h) {
  hraw_state *st = h->rawst;
  if (!st)
    return;
  uint32_t pos = 0;
  hraw *r;
  while ((r = hid_next(&st->ids, &pos)) != NULL)
    raw_release(h, r);
  while (st->sq_head) {
    hdgram *g = st->sq_head;
    st->sq_head = g->next;
    lp2p_mem_free(h->mem, g);
  }
  lp2p_mem_free(h->mem, st->sent);
  hid_free(&st->ids, h->mem);
  lp2p_mem_free(h->mem, st);
  h->rawst = NULL;
}

void host_raw_event_polled(lp2p_host *h, const lp2p_host_event *ev) {
  if (ev->kind != LP2P_HOST_EV_RAW_READABLE &&
      ev->kind != LP2P_HOST_EV_UDP_READABLE)
    return;
  hraw *r = host_raw_get(h, ev->u.raw.id);
  if (r)
    r->flags &= (uint16_t)~HR_F_READABLE_EV;
}
