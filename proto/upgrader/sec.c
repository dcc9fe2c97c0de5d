/* One small interface over the security engines, so the upgrader's
 * sequencing code does not care which one multistream-select picked. The
 * protocol id selects an ops table once (sec_start); every other call is
 * one indirect call through it. Before a protocol is chosen (no table)
 * the calls are no-ops with neutral results. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

static const sec_ops *const sec_all[] = {&sec_noise_ops, &sec_plaintext_ops};

static const sec_ops *sec_find(const char *proto) {
  for (size_t i = 0; i < sizeof sec_all / sizeof sec_all[0]; i++)
    if (strcmp(proto, sec_all[i]->name) == 0)
      return sec_all[i];
  return NULL;
}

int sec_supported(const char *proto) { return sec_find(proto) != NULL; }

int sec_start(lp2p_upgrader *u, const char *proto) {
  const sec_ops *ops = sec_find(proto);
  if (!ops)
    return LP2P_ERR_UNSUPPORTED;
  void *s = NULL;
  int r = ops->start(u, &s);
  if (r)
    return r;
  u->sec = s;
  u->sec_ops = ops;
  u->sec_name = ops->name;
  return 0;
}

void sec_free(lp2p_upgrader *u) {
  if (u->sec_ops)
    u->sec_ops->free(u->sec);
  u->sec = NULL;
  u->sec_ops = NULL;
}

lp2p_ssize sec_feed(lp2p_upgrader *u, const uint8_t *p, size_t n) {
  return u->sec_ops ? u->sec_ops->feed(u->sec, u->now, p, n) : 0;
}

int sec_feed_eof(lp2p_upgrader *u) {
  return u->sec_ops ? u->sec_ops->feed_eof(u->sec, u->now) : 0;
}

size_t sec_recv_room(const lp2p_upgrader *u) {
  return u->sec_ops ? u->sec_ops->recv_room(u->sec) : 0;
}

const uint8_t *sec_out_peek(const lp2p_upgrader *u, size_t *len) {
  if (u->sec_ops)
    return u->sec_ops->out_peek(u->sec, len);
  *len = 0;
  return NULL;
}

void sec_out_consume(lp2p_upgrader *u, size_t n) {
  if (u->sec_ops)
    u->sec_ops->out_consume(u->sec, n);
}

lp2p_tstamp sec_next_timeout(const lp2p_upgrader *u) {
  return u->sec_ops ? u->sec_ops->next_timeout(u->sec) : LP2P_TSTAMP_NONE;
}

void sec_handle_timeout(lp2p_upgrader *u) {
  if (u->sec_ops)
    (void)u->sec_ops->handle_timeout(u->sec, u->now);
}

int sec_poll(lp2p_upgrader *u, sec_event *ev) {
  return u->sec_ops ? u->sec_ops->poll(u->sec, ev) : 0;
}

lp2p_ssize sec_write(lp2p_upgrader *u, const uint8_t *p, size_t n) {
  return u->sec_ops ? u->sec_ops->write(u->sec, u->now, p, n) : 0;
}

const uint8_t *sec_read_peek(const lp2p_upgrader *u, size_t *len) {
  if (u->sec_ops)
    return u->sec_ops->read_peek(u->sec, len);
  *len = 0;
  return NULL;
}

void sec_read_consume(lp2p_upgrader *u, size_t n) {
  if (u->sec_ops)
    u->sec_ops->read_consume(u->sec, n);
}

int sec_read_eof(const lp2p_upgrader *u) {
  return u->sec_ops ? u->sec_ops->read_eof(u->sec) : 0;
}

int sec_close(lp2p_upgrader *u) {
  return u->sec_ops ? u->sec_ops->close(u->sec, u->now) : 0;
}
