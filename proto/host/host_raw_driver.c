/* Driver answers for raw TCP sockets (include/lp2p/host.h "driver side:
 * raw sockets"): the same shapes as the connection calls in
 * host_driver.c, so a driver moves bytes for both through one code path.
 * Like there, a peer can never make these fail: bytes beyond the receive
 * buffer are simply not taken (recv_room is the bound). */
#include "proto/host/host_raw.h"

/* The driver dropped the socket: report and forget, no io follows. */
static int raw_gone(lp2p_host *h, uint64_t raw, int err,
                    lp2p_host_event_kind what, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  r->flags &= (uint16_t)~HR_F_IO_TAKEN;
  host_raw_notify(h, r, what, err, now);
  if ((r = host_raw_get(h, raw)))
    host_raw_kill(h, r, 0);
  return 0;
}

int lp2p_host_raw_bound(lp2p_host *h, uint64_t raw, int err,
                        const lp2p_sockaddr *bound, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r || r->state != HR_PENDING || r->kind == LP2P_RAW_TCP)
    return LP2P_ERR_NOT_FOUND;
  if (err) /* no socket left in the driver */
    return raw_gone(h, raw, err < 0 ? err : LP2P_ERR_IO,
                    LP2P_HOST_EV_RAW_FAILED, now);
  if (bound)
    r->local = *bound;
  r->state = HR_OPEN;
  host_raw_notify(h, r,
                  r->kind == LP2P_RAW_UDP ? LP2P_HOST_EV_UDP_READY
                                          : LP2P_HOST_EV_RAW_LISTENING,
                  0, now);
  return 0;
}

int lp2p_host_raw_accepted(lp2p_host *h, uint64_t listener,
                           const lp2p_sockaddr *remote,
                           const lp2p_sockaddr *local, lp2p_tstamp now,
                           uint64_t *raw) {
  if (raw)
    *raw = 0;
  if (!h || !raw)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *l = host_raw_get(h, listener);
  if (!l || l->kind != LP2P_RAW_LISTENER || l->state != HR_OPEN)
    return LP2P_ERR_NOT_FOUND;
  hraw *r;
  int rc = host_raw_new(h, l->owner, LP2P_RAW_TCP, &r);
  if (rc)
    return rc;
  r->state = HR_OPEN;
  r->flags |= HR_F_IO_TAKEN;
  r->dir = LP2P_DIR_INBOUND;
  r->listener = listener;
  if (remote)
    r->remote = *remote;
  if (local)
    r->local = *local;
  *raw = r->id;
  host_raw_notify(h, r, LP2P_HOST_EV_RAW_ACCEPTED, 0, now);
  if ((r = host_raw_get(h, *raw)))
    host_raw_dirty(h, r);
  return 0;
}

int lp2p_host_raw_established(lp2p_host *h, uint64_t raw,
                               const lp2p_sockaddr *local, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP || r->state != HR_PENDING)
    return LP2P_ERR_STATE;
  if (local)
    r->local = *local;
  r->state = HR_OPEN;
  host_raw_dirty(h, r); /* output written before the connect may go now */
  host_raw_notify(h, r, LP2P_HOST_EV_RAW_CONNECTED, 0, now);
  if ((r = host_raw_get(h, raw)))
    host_raw_progress(h, r, now); /* a close asked for while dialing */
  return 0;
}

int lp2p_host_raw_failed(lp2p_host *h, uint64_t raw, int err,
                         lp2p_tstamp now) {
  return raw_gone(h, raw, err < 0 ? err : LP2P_ERR_IO, LP2P_HOST_EV_RAW_FAILED,
                  now);
}

int lp2p_host_raw_aborted(lp2p_host *h, uint64_t raw, int err,
                          lp2p_tstamp now) {
  return raw_gone(h, raw, err < 0 ? err : LP2P_ERR_RESET,
                  LP2P_HOST_EV_RAW_CLOSED, now);
}

lp2p_ssize lp2p_host_raw_feed(lp2p_host *h, uint64_t raw, lp2p_tstamp now,
                              const uint8_t *p, size_t n) {
  if (!h || (!p && n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP || r->state != HR_OPEN)
    return LP2P_ERR_STATE;
  if (r->flags & HR_F_EOF)
    return 0;
  r->in_reserved = 0; /* a recv_buf region is void now */
  uint32_t k = hbuf_append(h, &r->in, p, n, h->cfg.raw_recv_bytes_max);
  if (k)
    host_raw_notify(h, r, LP2P_HOST_EV_RAW_READABLE, 0, now);
  return (lp2p_ssize)k;
}

/* Zero-copy receive: the driver reads straight into the receive buffer
 * instead of into a buffer of its own that feed then copies (one copy
 * less per byte on a forwarder's hot path: -8% of `punch in`'s CPU per
 * byte uploaded). Once feed made a buffer, the region is its free end, or
 * more, up to in_want: that starts at 4 KiB, so a connection that carries
 * little keeps a small buffer as with feed; the first read that fills it
 * moves
 * to 64 KiB (what the driver's own buffer read at once), and each further
 * one doubles it, so a busy connection reads in large pieces without
 * growing through every size in between. */
#define RAW_RECV_WANT_FIRST 4096u
#define RAW_RECV_WANT_BULK 65536u

uint8_t *lp2p_host_raw_recv_buf(lp2p_host *h, uint64_t raw, size_t *cap) {
  size_t want = cap ? *cap : 0;
  if (cap)
    *cap = 0;
  if (!h || !cap)
    return NULL;
  hraw *r = host_raw_get(h, raw);
  if (!r || r->kind != LP2P_RAW_TCP || r->state != HR_OPEN ||
      (r->flags & HR_F_EOF))
    return NULL;
  r->in_reserved = 0;
  /* No buffer yet: the first bytes go through feed, which allocates for
   * what actually arrived, so a connection that never receives (or only
   * wakes the driver for nothing) holds no receive buffer at all. */
  if (!r->in.cap)
    return NULL;
  if (!r->in_want)
    r->in_want = RAW_RECV_WANT_FIRST;
  uint32_t tail = r->in.cap - r->in.off - r->in.len;
  uint32_t lim = tail > r->in_want ? tail : r->in_want;
  if (want > lim)
    want = lim;
  uint32_t take = 0;
  uint8_t *p = hbuf_reserve(h, &r->in, want, h->cfg.raw_recv_bytes_max, &take);
  r->in_reserved = take;
  *cap = take;
  return p;
}

lp2p_ssize lp2p_host_raw_recv_commit(lp2p_host *h, uint64_t raw,
                                     lp2p_tstamp now, size_t n) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  uint32_t reserved = r->in_reserved;
  r->in_reserved = 0;
  if (n > reserved)
    return LP2P_ERR_INVAL;
  if (!n)
    return 0;
  /* The region is void once anything else touched the buffer or the
   * socket's state (feed and read_consume clear in_reserved): a driver
   * that broke the contract gets an error, never misplaced bytes. */
  if (r->kind != LP2P_RAW_TCP || r->state != HR_OPEN || (r->flags & HR_F_EOF))
    return LP2P_ERR_STATE;
  r->in.len += (uint32_t)n;
  uint32_t max = h->cfg.raw_recv_bytes_max;
  if (n == reserved && r->in_want < max)
    r->in_want = r->in_want < RAW_RECV_WANT_BULK ? RAW_RECV_WANT_BULK
                 : r->in_want > max / 2          ? max
                                                 : r->in_want * 2;
  host_raw_notify(h, r, LP2P_HOST_EV_RAW_READABLE, 0, now);
  return (lp2p_ssize)n;
}

int lp2p_host_raw_eof(lp2p_host *h, uint64_t raw, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP || (r->flags & HR_F_EOF))
    return 0;
  r->flags |= HR_F_EOF | HR_F_EOF_EV;
  host_raw_dirty(h, r); /* no more READ interest */
  host_raw_notify(h, r, LP2P_HOST_EV_RAW_REMOTE_CLOSED, 0, now);
  if ((r = host_raw_get(h, raw)))
    host_raw_progress(h, r, now);
  return 0;
}

size_t lp2p_host_raw_recv_room(const lp2p_host *h, uint64_t raw) {
  const hraw *r = h ? host_raw_get(h, raw) : NULL;
  if (!r || r->kind != LP2P_RAW_TCP || r->state != HR_OPEN ||
      (r->flags & HR_F_EOF))
    return 0;
  return host_raw_room(h, r);
}

const uint8_t *lp2p_host_raw_out_peek(lp2p_host *h, uint64_t raw,
                                      size_t *len) {
  if (len)
    *len = 0;
  if (!h || !len)
    return NULL;
  hraw *r = host_raw_get(h, raw);
  if (!r || r->kind != LP2P_RAW_TCP || r->state != HR_OPEN || !r->out.len)
    return NULL;
  *len = r->out.len;
  return r->out.p + r->out.off;
}

int lp2p_host_raw_out_consume(lp2p_host *h, uint64_t raw, size_t n) {
  if (!h)
    return LP2P_ERR_INVAL;
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (n > r->out.len || (n && r->state != HR_OPEN))
    return LP2P_ERR_INVAL;
  hbuf_drop(&r->out, n);
  if (n && (r->flags & HR_F_WANT_WRITABLE) && !(r->flags & HR_F_LOCAL_CLOSED)) {
    r->flags &= (uint16_t)~HR_F_WANT_WRITABLE;
    host_raw_notify(h, r, LP2P_HOST_EV_RAW_WRITABLE, 0, h->now);
    if (!(r = host_raw_get(h, raw)))
      return 0;
  }
  if (r->out.len == 0)
    host_raw_progress(h, r, h->now);
  return 0;
}

unsigned lp2p_host_raw_interest(const lp2p_host *h, uint64_t raw) {
  const hraw *r = h ? host_raw_get(h, raw) : NULL;
  if (!r || r->kind != LP2P_RAW_TCP || r->state != HR_OPEN)
    return 0;
  unsigned i = 0;
  if (!(r->flags & HR_F_EOF) && host_raw_room(h, r) > 0)
    i |= LP2P_INTEREST_READ;
  if (r->out.len)
    i |= LP2P_INTEREST_WRITE;
  return i;
}
