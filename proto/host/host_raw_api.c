/* Raw TCP commands (include/lp2p/host.h "raw sockets"): creation with an
 * owner (host_raw_listen / host_raw_connect, used by services) and the
 * application's id-based calls (owner 0). */
#include "proto/host/host_raw.h"

static int sa_ok(const lp2p_sockaddr *sa) {
  return sa && (sa->family == 4 || sa->family == 6);
}

int host_raw_listen(lp2p_host *h, uint32_t owner, const lp2p_sockaddr *bind,
                    unsigned flags, uint64_t *raw) {
  if (raw)
    *raw = 0;
  if (!sa_ok(bind))
    return LP2P_ERR_INVAL;
  if (h->closing)
    return LP2P_ERR_STATE;
  hraw *r;
  int rc = host_raw_new(h, owner, LP2P_RAW_LISTENER, &r);
  if (rc)
    return rc;
  r->local = *bind;
  r->io_flags = (flags & LP2P_RAW_REUSEPORT) ? LP2P_IO_REUSEPORT : 0;
  host_raw_io(h, r, LP2P_IO_RAW_LISTEN);
  if (raw)
    *raw = r->id;
  return 0;
}

int host_raw_connect(lp2p_host *h, uint32_t owner, lp2p_tstamp now,
                     const lp2p_sockaddr *remote, const lp2p_sockaddr *local,
                     unsigned flags, uint8_t first_ttl, uint64_t *raw) {
  if (raw)
    *raw = 0;
  host_now(h, now);
  if (!sa_ok(remote) || (local && local->family != remote->family) ||
      ((flags & LP2P_RAW_REUSEPORT) && !local))
    return LP2P_ERR_INVAL;
  /* While the host closes (before CLOSED) a service may still open a
   * connection for its last word; it bounds that exchange itself. */
  if (h->closing && (owner == 0 || h->closed_ev))
    return LP2P_ERR_STATE;
  hraw *r;
  int rc = host_raw_new(h, owner, LP2P_RAW_TCP, &r);
  if (rc)
    return rc;
  if (h->closing)
    r->flags |= HR_F_LAST_WORD;
  r->dir = LP2P_DIR_OUTBOUND;
  r->remote = *remote;
  r->ttl = first_ttl;
  if (local) {
    r->local = *local;
    r->io_flags = (flags & LP2P_RAW_REUSEPORT) ? LP2P_IO_REUSEPORT
                                               : LP2P_IO_BIND_LOCAL;
  }
  host_raw_io(h, r, LP2P_IO_RAW_DIAL);
  if (raw)
    *raw = r->id;
  return 0;
}

int lp2p_host_raw_listen(lp2p_host *h, const lp2p_sockaddr *bind,
                         unsigned flags, uint64_t *raw) {
  return h ? host_raw_listen(h, 0, bind, flags, raw) : LP2P_ERR_INVAL;
}

int lp2p_host_raw_connect(lp2p_host *h, lp2p_tstamp now,
                          const lp2p_sockaddr *remote,
                          const lp2p_sockaddr *local, unsigned flags,
                          uint8_t first_ttl, uint64_t *raw) {
  return h ? host_raw_connect(h, 0, now, remote, local, flags, first_ttl, raw)
           : LP2P_ERR_INVAL;
}

lp2p_ssize lp2p_host_raw_write(lp2p_host *h, lp2p_tstamp now, uint64_t raw,
                               const uint8_t *p, size_t n) {
  if (!h || (!p && n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP)
    return LP2P_ERR_INVAL;
  if (r->flags & HR_F_LOCAL_CLOSED)
    return LP2P_ERR_CLOSED;
  uint32_t was = r->out.len;
  uint32_t k = hbuf_append(h, &r->out, p, n, h->cfg.raw_send_bytes_max);
  if (k < n)
    r->flags |= HR_F_WANT_WRITABLE;
  if (k && !was)
    host_raw_dirty(h, r);
  return (lp2p_ssize)k;
}

const uint8_t *lp2p_host_raw_read_peek(lp2p_host *h, uint64_t raw,
                                       size_t *len) {
  if (len)
    *len = 0;
  if (!h || !len)
    return NULL;
  hraw *r = host_raw_get(h, raw);
  if (!r || r->kind != LP2P_RAW_TCP || !r->in.len)
    return NULL;
  *len = r->in.len;
  return r->in.p + r->in.off;
}

int lp2p_host_raw_read_consume(lp2p_host *h, lp2p_tstamp now, uint64_t raw,
                               size_t n) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP || n > r->in.len)
    return LP2P_ERR_INVAL;
  int was_full = host_raw_room(h, r) == 0;
  r->in_reserved = 0; /* a recv_buf region is void now */
  hbuf_drop(&r->in, n);
  if (r->in.len == 0)
    r->flags &= (uint16_t)~HR_F_READABLE_EV; /* a new READABLE may come */
  if (was_full && n)
    host_raw_dirty(h, r); /* room again: the driver resumes reading */
  host_raw_progress(h, r, now);
  return 0;
}

int lp2p_host_raw_at_eof(const lp2p_host *h, uint64_t raw) {
  const hraw *r = h ? host_raw_get(h, raw) : NULL;
  return r && r->kind == LP2P_RAW_TCP && (r->flags & HR_F_EOF) &&
         r->in.len == 0;
}

int lp2p_host_raw_close(lp2p_host *h, lp2p_tstamp now, uint64_t raw) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->kind != LP2P_RAW_TCP) {
    host_raw_kill(h, r, LP2P_IO_RAW_CLOSE);
    return 0;
  }
  if (r->flags & HR_F_LOCAL_CLOSED)
    return 0;
  r->flags |= HR_F_LOCAL_CLOSED;
  r->flags &= (uint16_t)~HR_F_WANT_WRITABLE;
  host_raw_progress(h, r, now);
  return 0;
}

int lp2p_host_raw_reset(lp2p_host *h, lp2p_tstamp now, uint64_t raw) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  host_raw_kill(h, r, LP2P_IO_RAW_RESET);
  return 0;
}

int lp2p_host_raw_info_get(const lp2p_host *h, uint64_t raw,
                           lp2p_host_raw_info *out) {
  if (!h || !out)
    return LP2P_ERR_INVAL;
  const hraw *r = host_raw_get(h, raw);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  memset(out, 0, sizeof *out);
  out->kind = (lp2p_raw_kind)r->kind;
  out->direction = r->dir;
  out->connected = r->state == HR_OPEN;
  out->listener = r->listener;
  out->local = r->local;
  if (r->kind == LP2P_RAW_TCP)
    out->remote = r->remote;
  out->recv_buffered = r->kind == LP2P_RAW_UDP ? r->rq_len : r->in.len;
  out->send_buffered = r->out.len;
  out->dropped = r->dropped;
  return 0;
}
