/* Host view of the upgrader: see host_stack.h. */
#include <string.h>

#include "proto/host/host_stack.h"

int hstack_new(hstack **out, int initiator, const lp2p_upgrader_config *base,
               const lp2p_peerid *expected, const lp2p_mem *mem,
               const lp2p_rng *rng, lp2p_tstamp now) {
  lp2p_upgrader_config cfg = *base;
  cfg.expected_peer = (initiator && expected && expected->len) ? expected
                                                               : NULL;
  return lp2p_upgrader_new(out, initiator, &cfg, mem, rng, now);
}

void hstack_free(hstack *s) { lp2p_upgrader_free(s); }

lp2p_ssize hstack_feed(hstack *s, lp2p_tstamp now, const uint8_t *p,
                       size_t n) {
  return lp2p_upgrader_feed(s, now, p, n);
}

void hstack_feed_eof(hstack *s, lp2p_tstamp now) {
  lp2p_upgrader_feed_eof(s, now);
}

size_t hstack_recv_room(const hstack *s) {
  return lp2p_upgrader_recv_room(s);
}

const uint8_t *hstack_out_peek(hstack *s, lp2p_tstamp now, size_t *len) {
  lp2p_upgrader_flush(s, now);
  return lp2p_upgrader_out_peek(s, len);
}

void hstack_out_consume(hstack *s, size_t n) {
  lp2p_upgrader_out_consume(s, n);
}

lp2p_tstamp hstack_next_timeout(const hstack *s) {
  return lp2p_upgrader_next_timeout(s);
}

void hstack_handle_timeout(hstack *s, lp2p_tstamp now) {
  lp2p_upgrader_handle_timeout(s, now);
}

int hstack_poll_event(hstack *s, hstack_event *ev) {
  lp2p_upgrader_event ue;
  memset(ev, 0, sizeof *ev);
  while (lp2p_upgrader_poll_event(s, &ue)) {
    switch (ue.type) {
    case LP2P_UPGRADER_EV_PEER_IDENTIFIED:
      ev->type = HSTACK_EV_IDENTIFIED;
      ev->peer = ue.peer;
      ev->key = ue.key;
      return 1;
    case LP2P_UPGRADER_EV_READY:
      ev->type = HSTACK_EV_READY;
      return 1;
    case LP2P_UPGRADER_EV_CLOSED:
      ev->type = HSTACK_EV_CLOSED;
      ev->err = ue.err;
      return 1;
    case LP2P_UPGRADER_EV_YAMUX:
      ev->type = HSTACK_EV_YAMUX;
      ev->y = ue.yamux;
      return 1;
    default:
      break; /* stream negotiation events: the host negotiates itself */
    }
  }
  return 0;
}

lp2p_yamux *hstack_yamux(const hstack *s) {
  return lp2p_upgrader_ready(s) ? lp2p_upgrader_yamux((hstack *)s) : NULL;
}

int hstack_write_done(const hstack *s) {
  return (lp2p_upgrader_state(s) & (LP2P_STATE_CLOSING | LP2P_STATE_CLOSED)) !=
         0;
}
