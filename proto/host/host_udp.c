/* Raw UDP sockets (include/lp2p/host.h "raw sockets"): open with an owner,
 * send through a bounded host-wide FIFO of copied datagrams (the driver
 * takes them as SEND_DATAGRAM io), receive into a bounded per-socket
 * queue, multicast join. UDP is best effort, so a full queue drops and
 * counts instead of failing: RFC 8085 section 3.1 asks applications to
 * cope with loss anyway. */
#include "proto/host/host_raw.h"

int host_udp_open(lp2p_host *h, uint32_t owner, const lp2p_sockaddr *bind,
                  unsigned flags, uint64_t *raw) {
  if (raw)
    *raw = 0;
  if (!bind || (bind->family != 4 && bind->family != 6))
    return LP2P_ERR_INVAL;
  if (h->closing)
    return LP2P_ERR_STATE;
  hraw *r;
  int rc = host_raw_new(h, owner, LP2P_RAW_UDP, &r);
  if (rc)
    return rc;
  r->local = *bind;
  r->io_flags = (flags & LP2P_RAW_REUSEPORT) ? LP2P_IO_REUSEPORT : 0;
  host_raw_io(h, r, LP2P_IO_UDP_OPEN);
  if (raw)
    *raw = r->id;
  return 0;
}

int lp2p_host_udp_open(lp2p_host *h, const lp2p_sockaddr *bind,
                       unsigned flags, uint64_t *raw) {
  return h ? host_udp_open(h, 0, bind, flags, raw) : LP2P_ERR_INVAL;
}

static hraw *udp_get(const lp2p_host *h, uint64_t raw, int *err) {
  hraw *r = h ? host_raw_get(h, raw) : NULL;
  *err = r ? (r->kind == LP2P_RAW_UDP ? 0 : LP2P_ERR_INVAL)
           : LP2P_ERR_NOT_FOUND;
  return *err ? NULL : r;
}

int lp2p_host_udp_send(lp2p_host *h, uint64_t raw, const lp2p_sockaddr *to,
                       uint8_t ttl, const uint8_t *p, size_t n) {
  int err;
  hraw *r = udp_get(h, raw, &err);
  if (!r)
    return err;
  if (!to || (to->family != 4 && to->family != 6) || (!p && n) ||
      n > h->cfg.udp_datagram_bytes_max)
    return LP2P_ERR_INVAL;
  if (r->state != HR_OPEN)
    return LP2P_ERR_STATE;
  hraw_state *st = h->rawst;
  if (st->sq_len >= h->cfg.udp_send_queue_max)
    return LP2P_ERR_AGAIN;
  hdgram *g = lp2p_mem_malloc(h->mem, sizeof *g + n);
  if (!g)
    return LP2P_ERR_NOMEM;
  memset(g, 0, sizeof *g);
  g->raw = raw;
  g->addr = *to;
  g->ttl = ttl;
  g->len = (uint32_t)n;
  if (n)
    memcpy(g->data, p, n);
  if (st->sq_tail)
    st->sq_tail->next = g;
  else
    st->sq_head = g;
  st->sq_tail = g;
  st->sq_len++;
  return 0;
}

int lp2p_host_udp_join(lp2p_host *h, uint64_t raw,
                       const lp2p_sockaddr *group) {
  int err;
  hraw *r = udp_get(h, raw, &err);
  if (!r)
    return err;
  /* IPv4 multicast is 224.0.0.0/4 (RFC 5771). */
  if (!group || group->family != 4 || (group->ip[0] & 0xf0) != 0xe0)
    return LP2P_ERR_INVAL;
  if (r->state != HR_OPEN)
    return LP2P_ERR_STATE;
  if (r->flags & HR_F_JOINING)
    return LP2P_ERR_AGAIN;
  r->flags |= HR_F_JOINING;
  r->remote = *group;
  host_raw_io(h, r, LP2P_IO_UDP_JOIN);
  return 0;
}

int lp2p_host_udp_joined(lp2p_host *h, uint64_t udp, int err,
                         lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  int e;
  hraw *r = udp_get(h, udp, &e);
  if (!r || !(r->flags & HR_F_JOINING))
    return LP2P_ERR_NOT_FOUND;
  r->flags &= (uint16_t)~HR_F_JOINING;
  host_raw_notify(h, r, LP2P_HOST_EV_UDP_JOINED, err > 0 ? LP2P_ERR_IO : err,
                  now);
  return 0;
}

int lp2p_host_datagram_feed(lp2p_host *h, uint64_t udp,
                            const lp2p_sockaddr *from, lp2p_tstamp now,
                            const uint8_t *p, size_t n) {
  if (!h || (!p && n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  int err;
  hraw *r = udp_get(h, udp, &err);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (r->state != HR_OPEN)
    return 0;
  if (r->rq_len >= h->cfg.udp_queue_max ||
      n > h->cfg.udp_datagram_bytes_max) {
    r->dropped++;
    return 0;
  }
  hdgram *g = lp2p_mem_malloc(h->mem, sizeof *g + n);
  if (!g) {
    r->dropped++;
    return 0;
  }
  memset(g, 0, sizeof *g);
  g->raw = udp;
  if (from)
    g->addr = *from;
  g->len = (uint32_t)n;
  if (n)
    memcpy(g->data, p, n);
  if (r->rq_tail)
    r->rq_tail->next = g;
  else
    r->rq_head = g;
  r->rq_tail = g;
  r->rq_len++;
  host_raw_notify(h, r, LP2P_HOST_EV_UDP_READABLE, 0, now);
  return 0;
}

const uint8_t *lp2p_host_udp_recv_peek(lp2p_host *h, uint64_t raw,
                                       lp2p_sockaddr *from, size_t *len) {
  if (len)
    *len = 0;
  if (from)
    memset(from, 0, sizeof *from);
  int err;
  hraw *r = udp_get(h, raw, &err);
  if (!r || !len || !r->rq_head)
    return NULL;
  if (from)
    *from = r->rq_head->addr;
  *len = r->rq_head->len;
  return r->rq_head->data;
}

int lp2p_host_udp_recv_consume(lp2p_host *h, uint64_t raw) {
  int err;
  hraw *r = udp_get(h, raw, &err);
  if (!r)
    return err;
  hdgram *g = r->rq_head;
  if (!g)
    return LP2P_ERR_AGAIN;
  r->rq_head = g->next;
  if (!r->rq_head) {
    r->rq_tail = NULL;
    r->flags &= (uint16_t)~HR_F_READABLE_EV; /* the next one is news */
  }
  r->rq_len--;
  lp2p_mem_free(h->mem, g);
  return 0;
}

int lp2p_host_udp_close(lp2p_host *h, uint64_t raw) {
  int err;
  hraw *r = udp_get(h, raw, &err);
  if (!r)
    return err;
  host_raw_kill(h, r, LP2P_IO_RAW_CLOSE);
  return 0;
}
