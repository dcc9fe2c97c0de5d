/* The service registry and hook dispatch (DESIGN §3a "Services"; the
 * interface is host_service.h). The host calls hooks through the vtables
 * registered with it (the built-ins by proto/services/builtin.c, the layer
 * above both); it knows nothing of any one service. After every hook the service's timer is re-read.
 *
 * Deferred pumping: hooks run with h->depth raised. A service that writes
 * to a stream of another connection (or of this one from a timer) only
 * marks that connection touched; the touched ones are pumped when the
 * outermost call leaves, so a hook is never re-entered from inside its own
 * call into the host. */
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

/* ---- registry ------------------------------------------------------------ */

static void svc_timer(lp2p_host *h, hsvc *v) {
  if (v->ops->next_timeout)
    host_timer_set(h, &v->tm, v->ops->next_timeout(v->state));
}

/* Stream and protocol owners are a byte: service index + 1. */
#define SVCS_MAX 254u

int host_svc_register(lp2p_host *h, const hsvc_ops *ops, uint32_t *svc) {
  if (!ops || !ops->init)
    return LP2P_ERR_INVAL;
  if (h->nsvcs >= SVCS_MAX)
    return LP2P_ERR_LIMIT;
  hsvc *n = lp2p_mem_realloc(h->mem, h->svcs, h->nsvcs * sizeof *n,
                             (h->nsvcs + 1) * sizeof *n);
  if (!n)
    return LP2P_ERR_NOMEM;
  /* The heap points at the service timers: re-seat them. */
  for (uint32_t i = 0; i < h->nsvcs; i++)
    if (n[i].tm.heap_idx != UINT32_MAX)
      h->heap[n[i].tm.heap_idx].t = &n[i].tm;
  h->svcs = n;
  int rc = host_heap_reserve(h, h->conns.used + h->nsvcs + 2); /* + trim */
  if (rc)
    return rc;
  uint32_t i = h->nsvcs;
  hsvc *v = &h->svcs[i];
  memset(v, 0, sizeof *v);
  v->ops = ops;
  host_timer_init(&v->tm, HT_SVC);
  h->nsvcs = i + 1; /* fini runs for every service whose init ran */
  rc = ops->init(h, i, &v->state);
  if (rc)
    return rc;
  svc_timer(h, v);
  if (svc)
    *svc = i;
  return 0;
}

void host_svcs_free(lp2p_host *h) {
  for (uint32_t i = h->nsvcs; i-- > 0;) {
    hsvc *v = &h->svcs[i];
    host_timer_remove(h, &v->tm);
    if (v->ops->fini)
      v->ops->fini(h, v->state);
  }
  lp2p_mem_free(h->mem, h->svcs);
  h->svcs = NULL;
  h->nsvcs = 0;
}

void *host_svc_state(const lp2p_host *h, const hsvc_ops *ops,
                     uint32_t *svc) {
  for (uint32_t i = 0; i < h->nsvcs; i++)
    if (h->svcs[i].ops == ops) {
      if (svc)
        *svc = i;
      return h->svcs[i].state;
    }
  return NULL;
}

uint16_t host_svc_add_protocol(lp2p_host *h, uint32_t svc, const char *name,
                               unsigned flags, int *err) {
  size_t len = strlen(name);
  uint16_t i = host_proto_find(h, name, len, 0, 0, err);
  if (i == UINT16_MAX) {
    /* Service protocols do not count against protocols_max. */
    h->nprotos_svc++;
    i = host_proto_find(h, name, len, 1, (uint8_t)(svc + 1), err);
    if (i == UINT16_MAX) {
      h->nprotos_svc--;
      return i;
    }
  }
  h->protos[i].owner = (uint8_t)(svc + 1);
  h->protos[i].flags = (uint8_t)flags;
  *err = 0;
  return i;
}

/* ---- depth and deferred pumping ------------------------------------------- */

void host_enter(lp2p_host *h) { h->depth++; }

void host_leave(lp2p_host *h, lp2p_tstamp now) {
  if (h->depth > 1) {
    h->depth--;
    return;
  }
  /* Outermost: pump what services touched (pumping can touch more; the
   * depth stays raised so none of it recurses). */
  while (h->touched) {
    hconn *c = h->touched;
    h->touched = c->touched_next;
    c->touched_next = NULL;
    c->flags &= (uint16_t)~HC_F_TOUCHED;
    host_conn_pump(h, c, now);
  }
  h->depth = 0;
}

void host_svc_touch(lp2p_host *h, hconn *c) {
  if (c == h->pumping || (c->flags & HC_F_TOUCHED))
    return; /* its pump loop is running and will see the output */
  if (h->depth == 0) {
    host_conn_pump(h, c, h->now);
    return;
  }
  c->flags |= HC_F_TOUCHED;
  c->touched_next = h->touched;
  h->touched = c;
}

void host_touched_unlink(lp2p_host *h, hconn *c) {
  if (!(c->flags & HC_F_TOUCHED))
    return;
  for (hconn **pp = &h->touched; *pp; pp = &(*pp)->touched_next)
    if (*pp == c) {
      *pp = c->touched_next;
      break;
    }
  c->flags &= (uint16_t)~HC_F_TOUCHED;
}

/* ---- stream hooks ---------------------------------------------------------- */

static hsvc *owner_svc(lp2p_host *h, uint8_t owner) {
  return owner && owner <= h->nsvcs ? &h->svcs[owner - 1] : NULL;
}

int host_svc_stream_start(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  hsvc *v = owner_svc(h, s->owner);
  uint64_t id = s->id;
  if (!v || !v->ops->stream_start) {
    host_stream_reset_raw(h, s, now);
    return 0;
  }
  host_enter(h);
  v->ops->stream_start(h, v->state, id, s->conn->id, s->proto, now);
  svc_timer(h, v);
  host_leave(h, now);
  return host_stream_get(h, id) == s;
}

int host_svc_stream_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  hsvc *v = owner_svc(h, s->owner);
  uint64_t id = s->id;
  if (s->owner == HOWNER_CARRIER) {
    host_carrier_stream_activity(h, s, now);
    return host_stream_get(h, id) == s;
  }
  if (!v || !v->ops->stream_activity)
    return 1;
  host_enter(h);
  v->ops->stream_activity(h, v->state, id, s->ud, now);
  svc_timer(h, v);
  host_leave(h, now);
  return host_stream_get(h, id) == s;
}

int host_svc_stream_timeout(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  hsvc *v = owner_svc(h, s->owner);
  uint64_t id = s->id;
  if (!v || !v->ops->stream_timeout) {
    if (v && v->ops->stream_end) {
      void *ud = s->ud;
      uint8_t owner = s->owner;
      host_stream_reset_raw(h, s, now);
      host_svc_stream_end(h, owner, id, ud, LP2P_ERR_TIMEOUT, now);
    } else {
      host_stream_reset_raw(h, s, now);
    }
    return 0;
  }
  host_enter(h);
  v->ops->stream_timeout(h, v->state, id, s->ud, now);
  svc_timer(h, v);
  host_leave(h, now);
  return host_stream_get(h, id) == s;
}

void host_svc_stream_end(lp2p_host *h, uint8_t owner, uint64_t id, void *ud,
                         int err, lp2p_tstamp now) {
  if (owner == HOWNER_CARRIER) {
    host_carrier_stream_end(h, ud, err, now);
    return;
  }
  hsvc *v = owner_svc(h, owner);
  if (!v || !v->ops->stream_end)
    return;
  host_enter(h);
  v->ops->stream_end(h, v->state, id, ud, err, now);
  svc_timer(h, v);
  host_leave(h, now);
}

/* ---- dials for services ------------------------------------------------------ */

int host_svc_dial(lp2p_host *h, uint32_t svc, const lp2p_maddr *ma,
                  unsigned flags, lp2p_tstamp now, uint64_t *dial) {
  uint64_t id = 0;
  if (!h || svc >= h->nsvcs || svc > 254)
    return LP2P_ERR_INVAL;
  /* FORCE: a dial in flight is never joined and an open connection never
   * reused, so the dial is ours alone and still in h->dials here. */
  int rc = lp2p_host_dial(h, now, ma, flags | LP2P_DIAL_FORCE, &id);
  if (rc)
    return rc;
  for (hdial *d = h->dials; d; d = d->next)
    if (d->id == id) {
      d->owner = (uint8_t)(svc + 1);
      break;
    }
  if (dial)
    *dial = id;
  return 0;
}

int host_svc_dial_adopt(lp2p_host *h, uint32_t svc, uint64_t dial) {
  if (!h || svc >= h->nsvcs || svc > 254 || !dial)
    return LP2P_ERR_INVAL;
  for (hdial *d = h->dials; d; d = d->next)
    if (d->id == dial) {
      if (!(d->flags & LP2P_DIAL_FORCE) || d->owner)
        return LP2P_ERR_INVAL; /* joinable: the application may share it */
      d->owner = (uint8_t)(svc + 1);
      return 0;
    }
  return LP2P_ERR_NOT_FOUND;
}

void host_svc_dial_end(lp2p_host *h, uint8_t owner, uint64_t dial,
                       uint64_t conn, int err, lp2p_tstamp now) {
  hsvc *v = owner_svc(h, owner);
  if (!v || !v->ops->dial_result)
    return;
  host_enter(h);
  v->ops->dial_result(h, v->state, dial, conn, err, now);
  svc_timer(h, v);
  host_leave(h, now);
}

/* ---- peer, address and timer hooks ------------------------------------------ */

/* Every service's hook `field`, with the depth raised; leaves at the end
 * (these run from places where no pump is on the stack, or inside one:
 * host_leave only pumps when the depth comes back to zero). */
#define EACH_SVC(h, now, field, ...)                                           \
  do {                                                                         \
    host_enter(h);                                                             \
    for (uint32_t i_ = 0; i_ < (h)->nsvcs; i_++) {                             \
      hsvc *v_ = &(h)->svcs[i_];                                               \
      if (v_->ops->field) {                                                    \
        v_->ops->field((h), v_->state, __VA_ARGS__);                           \
        svc_timer((h), v_);                                                    \
      }                                                                        \
    }                                                                          \
    host_leave((h), (now));                                                    \
  } while (0)

void host_svc_peer_connected(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  uint64_t id = c->id;
  EACH_SVC(h, now, peer_connected, id, now);
}

void host_svc_notify_identified(lp2p_host *h, uint64_t conn,
                                lp2p_tstamp now) {
  EACH_SVC(h, now, peer_identified, conn, now);
}

void host_svc_peer_disconnected(lp2p_host *h, hconn *c, int err,
                                lp2p_tstamp now) {
  if (!c->peer)
    return;
  lp2p_peerid peer = c->peer->id;
  uint64_t id = c->id;
  EACH_SVC(h, now, peer_disconnected, id, &peer, err, now);
}

void host_svc_raw_activity(lp2p_host *h, uint32_t owner, uint64_t raw,
                           unsigned what, lp2p_tstamp now) {
  hsvc *v = owner <= 255 ? owner_svc(h, (uint8_t)owner) : NULL;
  if (!v || !v->ops->raw_activity)
    return;
  host_enter(h);
  v->ops->raw_activity(h, v->state, raw, what, now);
  svc_timer(h, v);
  host_leave(h, now);
}

void host_svc_local_changed(lp2p_host *h, unsigned what, lp2p_tstamp now) {
  EACH_SVC(h, now, local_changed, what, now);
}

void host_svc_timeout(lp2p_host *h, hsvc *v, lp2p_tstamp now) {
  host_enter(h);
  if (v->ops->handle_timeout)
    v->ops->handle_timeout(h, v->state, now);
  svc_timer(h, v);
  host_leave(h, now);
}

void host_svc_timer_update(lp2p_host *h, uint32_t svc) {
  if (svc < h->nsvcs)
    svc_timer(h, &h->svcs[svc]);
}

