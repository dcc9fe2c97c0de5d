/* Driver-facing queues: the io FIFO (DIAL / CLOSE / RESET per connection,
 * LISTEN / UNLISTEN per listener) and the dirty FIFO (connections whose
 * output or readiness interest changed). Both are intrusive doubly linked
 * lists through hconn (proto/common/ilist.h), so queueing never allocates and never fails, and a
 * driver touches only connections that changed. */
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

void host_io_queue(lp2p_host *h, hconn *c, uint8_t kind) {
  c->io_kind = kind;
  if (c->flags & HC_F_IN_IO)
    return;
  c->flags |= HC_F_IN_IO;
  IFIFO_PUSH_BACK(h->io_head, h->io_tail, c, io_next, io_prev);
}

void host_io_unlink(lp2p_host *h, hconn *c) {
  if (!(c->flags & HC_F_IN_IO))
    return;
  IFIFO_REMOVE(h->io_head, h->io_tail, c, io_next, io_prev);
  c->flags &= (uint16_t)~HC_F_IN_IO;
}

void host_dirty(lp2p_host *h, hconn *c) {
  if (c->flags & HC_F_IN_DIRTY)
    return;
  c->flags |= HC_F_IN_DIRTY;
  IFIFO_PUSH_BACK(h->dirty_head, h->dirty_tail, c, dirty_next, dirty_prev);
}

void host_dirty_unlink(lp2p_host *h, hconn *c) {
  if (!(c->flags & HC_F_IN_DIRTY))
    return;
  IFIFO_REMOVE(h->dirty_head, h->dirty_tail, c, dirty_next, dirty_prev);
  c->flags &= (uint16_t)~HC_F_IN_DIRTY;
}

int lp2p_host_poll_dirty(lp2p_host *h, uint64_t *conn) {
  if (!h || !conn || !h->dirty_head)
    return 0;
  hconn *c = h->dirty_head;
  host_dirty_unlink(h, c);
  *conn = c->id;
  return 1;
}

unsigned lp2p_host_conn_interest(const lp2p_host *h, uint64_t conn) {
  if (!h)
    return 0;
  const hconn *c = host_conn_get(h, conn);
  return c ? host_conn_interest_of(h, c) : 0;
}

int lp2p_host_poll_io(lp2p_host *h, lp2p_io *out) {
  if (!h || !out)
    return 0;
  memset(out, 0, sizeof *out);
  if (host_raw_poll_io(h, out)) /* raw sockets (host_raw.c) */
    return 1;
  /* Listeners first: there are few, and a LISTEN must precede dials that
   * want to reuse its port. */
  for (uint32_t i = 0; i < h->nlisteners; i++) {
    hlistener *l = &h->listeners[i];
    if (!l->io)
      continue;
    out->kind = (lp2p_io_kind)l->io;
    out->listener = l->id;
    out->addr = l->io == LP2P_IO_LISTEN ? l->want : l->bound;
    l->io = 0;
    if (out->kind == LP2P_IO_UNLISTEN) {
      host_listener_remove(h, out->listener);
      host_maybe_finish_close(h);
    }
    return 1;
  }
  hconn *c = h->io_head;
  if (!c)
    return 0;
  host_io_unlink(h, c);
  out->kind = (lp2p_io_kind)c->io_kind;
  out->conn = c->id;
  out->addr = c->remote;
  c->io_kind = 0;
  if (out->kind == LP2P_IO_DIAL) {
    out->ttl = c->first_ttl;
    if (c->flags & HC_F_REUSEPORT) {
      out->flags |= LP2P_IO_REUSEPORT;
      out->local = c->local;
    }
    return 1;
  }
  /* CLOSE / RESET: the connection is gone from the host now. */
  if (c->state == HC_ZOMBIE)
    host_conn_free(h, c);
  return 1;
}
