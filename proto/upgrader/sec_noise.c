/* The Noise engine behind the upgrader's security ops table. The wrappers
 * only convert `void *` back to lp2p_noise (calling through a cast function
 * pointer of another type would be undefined behaviour). */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

static int start(lp2p_upgrader *u, void **out) {
  lp2p_noise_config nc = u->hs->noise_cfg;
  static const char *const muxers[] = {LP2P_YAMUX_PROTOCOL_ID};
  nc.identity = u->identity;
  nc.expected_peer = (u->dialer && u->has_expected) ? &u->hs->expected : NULL;
  nc.muxers = u->early_muxer ? muxers : NULL;
  nc.muxers_len = u->early_muxer ? 1 : 0;
  nc.handshake_timeout_ns = 0; /* the upgrade deadline covers it */
  lp2p_noise *n = NULL;
  int r = lp2p_noise_new(&n, u->dialer, &nc, u->mem, u->rng, u->now);
  *out = n;
  return r;
}

static void nfree(void *s) { lp2p_noise_free(s); }
static lp2p_ssize feed(void *s, lp2p_tstamp now, const uint8_t *p, size_t n) {
  return lp2p_noise_feed(s, now, p, n);
}
static int feed_eof(void *s, lp2p_tstamp now) {
  return lp2p_noise_feed_eof(s, now);
}
static size_t recv_room(const void *s) { return lp2p_noise_recv_room(s); }
static const uint8_t *out_peek(const void *s, size_t *len) {
  return lp2p_noise_out_peek(s, len);
}
static void out_consume(void *s, size_t n) { lp2p_noise_out_consume(s, n); }
static lp2p_tstamp next_timeout(const void *s) {
  return lp2p_noise_next_timeout(s);
}
static int handle_timeout(void *s, lp2p_tstamp now) {
  return lp2p_noise_handle_timeout(s, now);
}

static int poll_ev(void *s, sec_event *ev) {
  lp2p_noise_event ne;
  if (!lp2p_noise_poll_event(s, &ne))
    return 0;
  memset(ev, 0, sizeof *ev);
  ev->err = ne.err;
  switch (ne.type) {
  case LP2P_NOISE_EV_HANDSHAKE_DONE:
    ev->type = SEC_EV_DONE;
    ev->peer = ne.peer;
    ev->key = ne.key;
    ev->muxer = ne.muxer;
    break;
  case LP2P_NOISE_EV_EOF:
    ev->type = SEC_EV_EOF;
    break;
  default:
    ev->type = SEC_EV_CLOSED;
    break;
  }
  return 1;
}

static lp2p_ssize nwrite(void *s, lp2p_tstamp now, const uint8_t *p,
                         size_t n) {
  return lp2p_noise_write(s, now, p, n);
}
static const uint8_t *read_peek(const void *s, size_t *len) {
  return lp2p_noise_read_peek(s, len);
}
static void read_consume(void *s, size_t n) { lp2p_noise_read_consume(s, n); }
static int read_eof(const void *s) { return lp2p_noise_read_eof(s); }
static int nclose(void *s, lp2p_tstamp now) { return lp2p_noise_close(s, now); }

const sec_ops sec_noise_ops = {
    .name = LP2P_NOISE_PROTOCOL_ID,
    .start = start,
    .free = nfree,
    .feed = feed,
    .feed_eof = feed_eof,
    .recv_room = recv_room,
    .out_peek = out_peek,
    .out_consume = out_consume,
    .next_timeout = next_timeout,
    .handle_timeout = handle_timeout,
    .poll = poll_ev,
    .write = nwrite,
    .read_peek = read_peek,
    .read_consume = read_consume,
    .read_eof = read_eof,
    .close = nclose,
};
