/* The plaintext engine (/plaintext/2.0.0) behind the upgrader's security
 * ops table; the same thin `void *` wrappers as sec_noise.c. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

static int start(lp2p_upgrader *u, void **out) {
  lp2p_plaintext_config pc = u->hs->plaintext_cfg;
  pc.identity = u->identity;
  pc.expected_peer = (u->dialer && u->has_expected) ? &u->hs->expected : NULL;
  pc.handshake_timeout_ns = 0; /* the upgrade deadline covers it */
  lp2p_plaintext *t = NULL;
  int r = lp2p_plaintext_new(&t, u->dialer, &pc, u->mem, u->rng, u->now);
  *out = t;
  return r;
}

static void tfree(void *s) { lp2p_plaintext_free(s); }
static lp2p_ssize feed(void *s, lp2p_tstamp now, const uint8_t *p, size_t n) {
  return lp2p_plaintext_feed(s, now, p, n);
}
static int feed_eof(void *s, lp2p_tstamp now) {
  return lp2p_plaintext_feed_eof(s, now);
}
static size_t recv_room(const void *s) { return lp2p_plaintext_recv_room(s); }
static const uint8_t *out_peek(const void *s, size_t *len) {
  return lp2p_plaintext_out_peek(s, len);
}
static void out_consume(void *s, size_t n) {
  lp2p_plaintext_out_consume(s, n);
}
static lp2p_tstamp next_timeout(const void *s) {
  return lp2p_plaintext_next_timeout(s);
}
static int handle_timeout(void *s, lp2p_tstamp now) {
  return lp2p_plaintext_handle_timeout(s, now);
}

static int poll_ev(void *s, sec_event *ev) {
  lp2p_plaintext_event te;
  if (!lp2p_plaintext_poll_event(s, &te))
    return 0;
  memset(ev, 0, sizeof *ev);
  ev->err = te.err;
  switch (te.type) {
  case LP2P_PLAINTEXT_EV_HANDSHAKE_DONE:
    ev->type = SEC_EV_DONE;
    ev->peer = te.peer;
    ev->key = te.key;
    break;
  case LP2P_PLAINTEXT_EV_EOF:
    ev->type = SEC_EV_EOF;
    break;
  default:
    ev->type = SEC_EV_CLOSED;
    break;
  }
  return 1;
}

static lp2p_ssize twrite(void *s, lp2p_tstamp now, const uint8_t *p,
                         size_t n) {
  return lp2p_plaintext_write(s, now, p, n);
}
static const uint8_t *read_peek(const void *s, size_t *len) {
  return lp2p_plaintext_read_peek(s, len);
}
static void read_consume(void *s, size_t n) {
  lp2p_plaintext_read_consume(s, n);
}
static int read_eof(const void *s) { return lp2p_plaintext_read_eof(s); }
static int tclose(void *s, lp2p_tstamp now) {
  return lp2p_plaintext_close(s, now);
}

const sec_ops sec_plaintext_ops = {
    .name = LP2P_PLAINTEXT_PROTOCOL_ID,
    .start = start,
    .free = tfree,
    .feed = feed,
    .feed_eof = feed_eof,
    .recv_room = recv_room,
    .out_peek = out_peek,
    .out_consume = out_consume,
    .next_timeout = next_timeout,
    .handle_timeout = handle_timeout,
    .poll = poll_ev,
    .write = twrite,
    .read_peek = read_peek,
    .read_consume = read_consume,
    .read_eof = read_eof,
    .close = tclose,
};
