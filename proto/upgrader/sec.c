/* One small interface over the security engines (Noise, plaintext), so the
 * upgrader's sequencing code does not care which one multistream-select
 * picked. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

int sec_supported(int kind) {
  return kind == SEC_NOISE || kind == SEC_PLAINTEXT;
}

int sec_start(lp2p_upgrader *u, const char *proto) {
  if (strcmp(proto, LP2P_NOISE_PROTOCOL_ID) == 0) {
    lp2p_noise_config nc = u->noise_cfg;
    static const char *const muxers[] = {LP2P_YAMUX_PROTOCOL_ID};
    nc.identity = u->identity;
    nc.expected_peer = (u->dialer && u->has_expected) ? &u->expected : NULL;
    nc.muxers = u->early_muxer ? muxers : NULL;
    nc.muxers_len = u->early_muxer ? 1 : 0;
    nc.handshake_timeout_ns = 0; /* the upgrade deadline covers it */
    lp2p_noise *n = NULL;
    int r = lp2p_noise_new(&n, u->dialer, &nc, u->mem, u->rng, u->now);
    if (r)
      return r;
    u->sec = n;
    u->sec_kind = SEC_NOISE;
    u->sec_name = LP2P_NOISE_PROTOCOL_ID;
    return 0;
  }
  if (strcmp(proto, LP2P_PLAINTEXT_PROTOCOL_ID) == 0) {
    lp2p_plaintext_config pc = u->plaintext_cfg;
    pc.identity = u->identity;
    pc.expected_peer = (u->dialer && u->has_expected) ? &u->expected : NULL;
    pc.handshake_timeout_ns = 0;
    lp2p_plaintext *t = NULL;
    int r = lp2p_plaintext_new(&t, u->dialer, &pc, u->mem, u->rng, u->now);
    if (r)
      return r;
    u->sec = t;
    u->sec_kind = SEC_PLAINTEXT;
    u->sec_name = LP2P_PLAINTEXT_PROTOCOL_ID;
    return 0;
  }
  return LP2P_ERR_UNSUPPORTED;
}

void sec_free(lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    lp2p_noise_free(u->sec);
  else if (u->sec_kind == SEC_PLAINTEXT)
    lp2p_plaintext_free(u->sec);
  u->sec = NULL;
  u->sec_kind = SEC_NONE;
}

lp2p_ssize sec_feed(lp2p_upgrader *u, const uint8_t *p, size_t n) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_feed(u->sec, u->now, p, n);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_feed(u->sec, u->now, p, n);
  return 0;
}

int sec_feed_eof(lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_feed_eof(u->sec, u->now);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_feed_eof(u->sec, u->now);
  return 0;
}

size_t sec_recv_room(const lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_recv_room(u->sec);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_recv_room(u->sec);
  return 0;
}

const uint8_t *sec_out_peek(const lp2p_upgrader *u, size_t *len) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_out_peek(u->sec, len);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_out_peek(u->sec, len);
  *len = 0;
  return NULL;
}

void sec_out_consume(lp2p_upgrader *u, size_t n) {
  if (u->sec_kind == SEC_NOISE)
    lp2p_noise_out_consume(u->sec, n);
  if (u->sec_kind == SEC_PLAINTEXT)
    lp2p_plaintext_out_consume(u->sec, n);
}

lp2p_tstamp sec_next_timeout(const lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_next_timeout(u->sec);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_next_timeout(u->sec);
  return LP2P_TSTAMP_NONE;
}

void sec_handle_timeout(lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    (void)lp2p_noise_handle_timeout(u->sec, u->now);
  if (u->sec_kind == SEC_PLAINTEXT)
    (void)lp2p_plaintext_handle_timeout(u->sec, u->now);
}

int sec_poll(lp2p_upgrader *u, sec_event *ev) {
  if (u->sec_kind == SEC_NOISE) {
    lp2p_noise_event ne;
    if (!lp2p_noise_poll_event(u->sec, &ne))
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
  if (u->sec_kind == SEC_PLAINTEXT) {
    lp2p_plaintext_event te;
    if (!lp2p_plaintext_poll_event(u->sec, &te))
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
  return 0;
}

lp2p_ssize sec_write(lp2p_upgrader *u, const uint8_t *p, size_t n) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_write(u->sec, u->now, p, n);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_write(u->sec, u->now, p, n);
  return 0;
}

const uint8_t *sec_read_peek(const lp2p_upgrader *u, size_t *len) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_read_peek(u->sec, len);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_read_peek(u->sec, len);
  *len = 0;
  return NULL;
}

void sec_read_consume(lp2p_upgrader *u, size_t n) {
  if (u->sec_kind == SEC_NOISE)
    lp2p_noise_read_consume(u->sec, n);
  if (u->sec_kind == SEC_PLAINTEXT)
    lp2p_plaintext_read_consume(u->sec, n);
}

int sec_read_eof(const lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_read_eof(u->sec);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_read_eof(u->sec);
  return 0;
}

int sec_close(lp2p_upgrader *u) {
  if (u->sec_kind == SEC_NOISE)
    return lp2p_noise_close(u->sec, u->now);
  if (u->sec_kind == SEC_PLAINTEXT)
    return lp2p_plaintext_close(u->sec, u->now);
  return 0;
}
