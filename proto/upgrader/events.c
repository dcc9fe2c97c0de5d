/* The upgrader's event queue: a ring that grows on demand. Pass-through
 * yamux events are bounded by events_max (beyond it they wait inside
 * yamux); the upgrader's own events are bounded by their sources (a few
 * per connection) and always fit. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

int upg_push(lp2p_upgrader *u, const uevent *e) {
  if (u->ev_len == u->ev_cap) {
    size_t cap = u->ev_cap ? u->ev_cap * 2 : 8;
    uevent *q = lp2p_mem_malloc(u->mem, cap * sizeof *q);
    if (!q)
      return LP2P_ERR_NOMEM;
    for (size_t i = 0; i < u->ev_len; i++)
      q[i] = u->evq[(u->ev_head + i) % u->ev_cap];
    lp2p_mem_free(u->mem, u->evq);
    u->evq = q;
    u->ev_cap = cap;
    u->ev_head = 0;
  }
  u->evq[(u->ev_head + u->ev_len) % u->ev_cap] = *e;
  u->ev_len++;
  return 0;
}

void upg_events_free(lp2p_upgrader *u) {
  lp2p_mem_free(u->mem, u->evq);
  u->evq = NULL;
  u->ev_len = u->ev_cap = u->ev_head = 0;
}

static int pop(lp2p_upgrader *u, uevent *e) {
  if (!u->ev_len)
    return 0;
  *e = u->evq[u->ev_head];
  u->ev_head = (u->ev_head + 1) % u->ev_cap;
  u->ev_len--;
  /* An open connection spends most of its life with nothing queued: give
   * the ring back then (a few hundred bytes per idle connection). */
  if (!u->ev_len && u->phase == PH_READY)
    upg_events_free(u);
  return 1;
}

int lp2p_upgrader_poll_event(lp2p_upgrader *u, lp2p_upgrader_event *ev) {
  if (!u || !ev)
    return 0;
  memset(ev, 0, sizeof *ev);
  uevent e;
  if (!pop(u, &e)) {
    /* The queue was full while yamux had more: pull it now. */
    if (!(u->yamux && u->phase != PH_CLOSED && (upg_pump(u), pop(u, &e)))) {
      if (u->closed_ev != 1)
        return 0;
      u->closed_ev = 2;
      ev->type = LP2P_UPGRADER_EV_CLOSED;
      ev->err = u->err;
      return 1;
    }
  }
  ev->type = (lp2p_upgrader_event_type)e.type;
  ev->stream_id = e.stream_id;
  ev->early_muxer = e.early;
  ev->yamux = e.y;
  switch (e.type) {
  case LP2P_UPGRADER_EV_PEER_IDENTIFIED:
    ev->peer = &u->peer;
    ev->key = u->hs ? &u->hs->key : NULL;
    ev->protocol = u->sec_name;
    break;
  case LP2P_UPGRADER_EV_READY:
    ev->protocol = LP2P_YAMUX_PROTOCOL_ID;
    /* PEER_IDENTIFIED's key was read before this poll: the handshake
     * part goes (lp2p_upgrader_remote_key returns NULL from now on). */
    upg_hs_free(u);
    break;
  default:
    break;
  }
  if (ev->protocol)
    ev->protocol_len = strlen(ev->protocol);
  return 1;
}
