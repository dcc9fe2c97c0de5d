/* The application event queue: a ring of events that grows on demand up
 * to event_queue_max. Each event is filled when it is pushed (a small
 * header and the kind's fields; nothing bulky: addresses are fetched by
 * id), so an event costs ~130 bytes while queued and polling is a copy.
 *
 * Backpressure: while the queue is above 3/4 of its bound, every
 * connection reports recv_room 0 / no READ interest, so peers cannot make
 * the queue overflow. Events that would still overflow it (timers, local
 * commands) are dropped and counted; EVENTS_LOST reports the count. */
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

static int ev_grow(lp2p_host *h) {
  uint32_t max = h->cfg.event_queue_max;
  if (h->ev_cap >= max)
    return LP2P_ERR_LIMIT;
  uint32_t ncap = h->ev_cap ? h->ev_cap * 2 : 32;
  if (ncap > max)
    ncap = max;
  hevent *n = lp2p_mem_malloc(h->mem, (size_t)ncap * sizeof *n);
  if (!n)
    return LP2P_ERR_NOMEM;
  for (uint32_t i = 0; i < h->ev_len; i++)
    n[i] = h->ev[(h->ev_head + i) % h->ev_cap];
  lp2p_mem_free(h->mem, h->ev);
  h->ev = n;
  h->ev_cap = ncap;
  h->ev_head = 0;
  return 0;
}

hevent *host_ev_push(lp2p_host *h, lp2p_host_event_kind kind) {
  if (h->ev_len == h->ev_cap && ev_grow(h) != 0) {
    h->ev_lost++;
    h->stats.events_lost++;
    /* A scratch slot, so callers never check for NULL. */
    memset(&h->ev_sink, 0, sizeof h->ev_sink);
    return &h->ev_sink;
  }
  hevent *e = &h->ev[(h->ev_head + h->ev_len) % h->ev_cap];
  h->ev_len++;
  memset(e, 0, sizeof *e);
  e->kind = kind;
  return e;
}

void host_ev_cancel(lp2p_host *h, uint64_t stream,
                    lp2p_host_event_kind kind) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < h->ev_len; i++) {
    const hevent *e = &h->ev[(h->ev_head + i) % h->ev_cap];
    if (e->kind == kind && e->stream == stream)
      continue;
    if (kept != i)
      h->ev[(h->ev_head + kept) % h->ev_cap] = *e;
    kept++;
  }
  h->ev_len = kept;
}

void host_ev_free(lp2p_host *h) {
  lp2p_mem_free(h->mem, h->ev);
  h->ev = NULL;
  h->ev_cap = h->ev_len = h->ev_head = 0;
}

int host_ev_backpressure(const lp2p_host *h) {
  return h->ev_len >= h->cfg.event_queue_max - h->cfg.event_queue_max / 4;
}

/* A connection stops taking engine events (they stay queued in the
 * upgrader and yamux, both bounded) once fewer than 8 slots are left;
 * the slots are for events of timers and commands. */
int host_ev_full(const lp2p_host *h) {
  return h->ev_len + 8 >= h->cfg.event_queue_max;
}

static void resume_reading(lp2p_host *h) {
  /* Rare (only after the application fell behind): wake every conn whose
   * reading was paused and process what the stalled ones left queued. */
  h->ev_paused = 0;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL) {
    if (!c->st || c->state == HC_ZOMBIE)
      continue;
    if (c->flags & HC_F_STALLED) {
      c->flags &= (uint16_t)~HC_F_STALLED;
      host_conn_pump(h, c, h->now);
      if (h->ev_paused)
        return; /* full again; the rest waits for the next poll */
    }
    if (c->state != HC_ZOMBIE)
      host_dirty(h, c);
  }
}

int lp2p_host_listener_addr(const lp2p_host *h, uint64_t listener,
                            lp2p_maddr *out) {
  if (!h || !out)
    return LP2P_ERR_INVAL;
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (h->addrs[i].kind == LP2P_ADDR_LISTEN &&
        h->addrs[i].listener == listener) {
      *out = h->addrs[i].addr;
      return 0;
    }
  return LP2P_ERR_NOT_FOUND;
}

int lp2p_host_poll_event(lp2p_host *h, lp2p_host_event *ev) {
  if (!h || !ev)
    return 0;
  if (h->ev_lost) {
    memset(ev, 0, sizeof *ev);
    ev->kind = LP2P_HOST_EV_EVENTS_LOST;
    ev->u.lost.count = h->ev_lost;
    h->ev_lost = 0;
    return 1;
  }
  if (h->ev_len == 0)
    return 0;
  *ev = h->ev[h->ev_head];
  h->ev_head = (h->ev_head + 1) % h->ev_cap;
  h->ev_len--;
  if (ev->kind >= LP2P_HOST_EV_RAW_LISTENING &&
      ev->kind <= LP2P_HOST_EV_UDP_JOINED) /* host_raw.c */
    host_raw_event_polled(h, ev);
  if (ev->kind == LP2P_HOST_EV_STREAM_READABLE ||
      ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED) {
    hstream *s = host_stream_get(h, ev->stream);
    if (s)
      s->flags &= (uint16_t)~(ev->kind == LP2P_HOST_EV_STREAM_READABLE
                                  ? HS_READABLE_EV
                                  : HS_EOF_EV);
  }
  if (h->ev_paused && !host_ev_backpressure(h))
    resume_reading(h);
  return 1;
}

int lp2p_host_event_direction(const lp2p_host_event *ev) {
  if (!ev)
    return -1;
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    return ev->u.connected.direction;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    return ev->u.disconnected.direction;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    return ev->u.identify.direction;
  case LP2P_HOST_EV_PERF_RESULT:
    return ev->u.perf.direction;
  case LP2P_HOST_EV_STREAM_OPENED:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
  case LP2P_HOST_EV_STREAM_INBOUND:
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_WRITABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
  case LP2P_HOST_EV_STREAM_CLOSED:
  case LP2P_HOST_EV_STREAM_RESET:
    return ev->u.stream.direction;
  case LP2P_HOST_EV_RELAY_CIRCUIT:
    return ev->u.relay.direction;
  case LP2P_HOST_EV_RELAY_RESERVED:
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST:
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
  case LP2P_HOST_EV_REACHABILITY:
  case LP2P_HOST_EV_AUTONAT_RESULT:
  case LP2P_HOST_EV_PORT_MAPPED:
  case LP2P_HOST_EV_PORT_MAPPING_FAILED:
  case LP2P_HOST_EV_PORT_MAPPING_LOST:
  case LP2P_HOST_EV_NAT_TYPE:
    return -1;
  default:
    return ev->kind >= LP2P_HOST_EV_RAW_LISTENING &&
                   ev->kind <= LP2P_HOST_EV_UDP_JOINED
               ? ev->u.raw.direction
               : -1;
  }
}

const char *lp2p_host_event_name(lp2p_host_event_kind k) {
  switch (k) {
  case LP2P_HOST_EV_LISTENING: return "LISTENING";
  case LP2P_HOST_EV_LISTEN_FAILED: return "LISTEN_FAILED";
  case LP2P_HOST_EV_PEER_CONNECTED: return "PEER_CONNECTED";
  case LP2P_HOST_EV_PEER_DISCONNECTED: return "PEER_DISCONNECTED";
  case LP2P_HOST_EV_DIAL_DONE: return "DIAL_DONE";
  case LP2P_HOST_EV_DIAL_FAILED: return "DIAL_FAILED";
  case LP2P_HOST_EV_IDENTIFY_DONE: return "IDENTIFY_DONE";
  case LP2P_HOST_EV_PING_RESULT: return "PING_RESULT";
  case LP2P_HOST_EV_PERF_RESULT: return "PERF_RESULT";
  case LP2P_HOST_EV_STREAM_OPENED: return "STREAM_OPENED";
  case LP2P_HOST_EV_STREAM_OPEN_FAILED: return "STREAM_OPEN_FAILED";
  case LP2P_HOST_EV_STREAM_INBOUND: return "STREAM_INBOUND";
  case LP2P_HOST_EV_STREAM_READABLE: return "STREAM_READABLE";
  case LP2P_HOST_EV_STREAM_WRITABLE: return "STREAM_WRITABLE";
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED: return "STREAM_REMOTE_CLOSED";
  case LP2P_HOST_EV_STREAM_CLOSED: return "STREAM_CLOSED";
  case LP2P_HOST_EV_STREAM_RESET: return "STREAM_RESET";
  case LP2P_HOST_EV_ADDRESS_CHANGED: return "ADDRESS_CHANGED";
  case LP2P_HOST_EV_CLOSED: return "CLOSED";
  case LP2P_HOST_EV_EVENTS_LOST: return "EVENTS_LOST";
  case LP2P_HOST_EV_RELAY_RESERVED: return "RELAY_RESERVED";
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST: return "RELAY_RESERVATION_LOST";
  case LP2P_HOST_EV_RELAY_CIRCUIT: return "RELAY_CIRCUIT";
  case LP2P_HOST_EV_HOLEPUNCH_RESULT: return "HOLEPUNCH_RESULT";
  case LP2P_HOST_EV_KAD_QUERY_PROGRESS: return "KAD_QUERY_PROGRESS";
  case LP2P_HOST_EV_KAD_QUERY_DONE: return "KAD_QUERY_DONE";
  case LP2P_HOST_EV_KAD_TABLE: return "KAD_TABLE";
  case LP2P_HOST_EV_PORT_MAPPED: return "PORT_MAPPED";
  case LP2P_HOST_EV_PORT_MAPPING_FAILED: return "PORT_MAPPING_FAILED";
  case LP2P_HOST_EV_PORT_MAPPING_LOST: return "PORT_MAPPING_LOST";
  case LP2P_HOST_EV_NAT_TYPE: return "NAT_TYPE";
  case LP2P_HOST_EV_RAW_LISTENING: return "RAW_LISTENING";
  case LP2P_HOST_EV_RAW_ACCEPTED: return "RAW_ACCEPTED";
  case LP2P_HOST_EV_RAW_CONNECTED: return "RAW_CONNECTED";
  case LP2P_HOST_EV_RAW_READABLE: return "RAW_READABLE";
  case LP2P_HOST_EV_RAW_WRITABLE: return "RAW_WRITABLE";
  case LP2P_HOST_EV_RAW_REMOTE_CLOSED: return "RAW_REMOTE_CLOSED";
  case LP2P_HOST_EV_RAW_CLOSED: return "RAW_CLOSED";
  case LP2P_HOST_EV_RAW_FAILED: return "RAW_FAILED";
  case LP2P_HOST_EV_UDP_READY: return "UDP_READY";
  case LP2P_HOST_EV_UDP_READABLE: return "UDP_READABLE";
  case LP2P_HOST_EV_UDP_JOINED: return "UDP_JOINED";
  case LP2P_HOST_EV_REACHABILITY: return "REACHABILITY";
  case LP2P_HOST_EV_AUTONAT_RESULT: return "AUTONAT_RESULT";
  }
  return "UNKNOWN";
}
