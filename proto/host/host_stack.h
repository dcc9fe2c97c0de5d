/* The per-connection stack the host drives: the shared upgrader
 * (multistream-select -> /noise or /plaintext/2.0.0 -> multistream-select,
 * skipped when Noise agreed on the muxer -> yamux; connections spec,
 * "Upgrading Connections"). This thin layer maps the upgrader onto what
 * the host needs; per-stream negotiation is done by the host itself
 * (host_stream.c) directly on the yamux streams, followed by a flush. */
#ifndef LP2P_PROTO_HOST_STACK_H
#define LP2P_PROTO_HOST_STACK_H

#include "lp2p/host.h"
#include "lp2p/upgrader.h"
#include "lp2p/yamux.h"

typedef lp2p_upgrader hstack;

enum hstack_ev {
  HSTACK_EV_NONE = 0,
  HSTACK_EV_IDENTIFIED, /* remote peer authenticated: peer, key */
  HSTACK_EV_READY,      /* yamux is up: hstack_yamux() is usable */
  HSTACK_EV_YAMUX,      /* a yamux event in `y` */
  HSTACK_EV_CLOSED      /* the stack is over: err (0 = orderly) */
};

typedef struct hstack_event {
  int type;
  int err;
  const lp2p_peerid *peer; /* IDENTIFIED: engine-owned */
  const lp2p_pubkey *key;
  lp2p_yamux_event y;
} hstack_event;

/* `expected` (initiator, may be NULL): a different authenticated peer
 * fails the stack with LP2P_ERR_PEER_ID_MISMATCH. `base` is the host's
 * prepared upgrader config (copied by the upgrader). */
int hstack_new(hstack **out, int initiator, const lp2p_upgrader_config *base,
               const lp2p_peerid *expected, const lp2p_mem *mem,
               const lp2p_rng *rng, lp2p_tstamp now);
void hstack_free(hstack *s);
lp2p_ssize hstack_feed(hstack *s, lp2p_tstamp now, const uint8_t *p,
                       size_t n);
void hstack_feed_eof(hstack *s, lp2p_tstamp now);
size_t hstack_recv_room(const hstack *s);
/* Moves bytes queued directly on yamux through the secure channel, then
 * shows the wire bytes. */
const uint8_t *hstack_out_peek(hstack *s, lp2p_tstamp now, size_t *len);
void hstack_out_consume(hstack *s, size_t n);
lp2p_tstamp hstack_next_timeout(const hstack *s);
void hstack_handle_timeout(hstack *s, lp2p_tstamp now);
int hstack_poll_event(hstack *s, hstack_event *ev);
/* yamux once READY (NULL before). */
lp2p_yamux *hstack_yamux(const hstack *s);
/* 1 when our side is finished: the write side may be shut once the
 * output is drained. */
int hstack_write_done(const hstack *s);

#endif
