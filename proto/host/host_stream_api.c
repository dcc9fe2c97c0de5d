/* Application commands on streams: the protocol registry, open_stream,
 * stream read / write / close / reset. (The services' own commands, such
 * as lp2p_host_ping, live in their folders.)
 * Every command that touches a connection ends with host_conn_pump so the
 * connection's output and timers are up to date for the driver. */
#include "proto/host/host_internal.h"

static int name_ok(const char *name, size_t *len) {
  if (!name)
    return 0;
  size_t n = strlen(name);
  if (n == 0 || n > 1000 || memchr(name, '\n', n))
    return 0;
  *len = n;
  return 1;
}

/* The table entry of `name`, added for the application if new. */
static int app_proto(lp2p_host *h, const char *name, uint16_t *i) {
  size_t n;
  if (!h || !name_ok(name, &n))
    return LP2P_ERR_INVAL;
  int err = 0;
  *i = host_proto_find(h, name, n, 1, HOWNER_APP, &err);
  return *i == UINT16_MAX ? err : 0;
}

int lp2p_host_register_protocol(lp2p_host *h, const char *name) {
  uint16_t i;
  int err = app_proto(h, name, &i);
  if (err)
    return err;
  if (h->protos[i].owner != HOWNER_APP) {
    if (h->protos[i].flags & HPROTO_INBOUND)
      return 0; /* a service serves it: nothing to change */
    /* A service protocol that is not served (e.g. ping.serve = 0): the
     * application serves it now, so inbound streams reach it. The
     * service's own client streams name their owner explicitly. */
    h->protos[i].owner = HOWNER_APP;
  }
  if ((h->protos[i].flags & (HPROTO_INBOUND | HPROTO_ADVERTISE)) ==
      (HPROTO_INBOUND | HPROTO_ADVERTISE))
    return 0;
  h->protos[i].flags |= HPROTO_INBOUND | HPROTO_ADVERTISE;
  /* identify spec: push on protocol changes */
  host_svc_local_changed(h, HSVC_LOCAL_PROTOCOLS, h->now);
  return 0;
}

int lp2p_host_unregister_protocol(lp2p_host *h, const char *name) {
  size_t n;
  if (!h || !name_ok(name, &n))
    return LP2P_ERR_INVAL;
  int err = 0;
  uint16_t i = host_proto_find(h, name, n, 0, HOWNER_APP, &err);
  if (i == UINT16_MAX || h->protos[i].owner != HOWNER_APP ||
      !(h->protos[i].flags & HPROTO_INBOUND))
    return LP2P_ERR_NOT_FOUND;
  h->protos[i].flags &= (uint8_t)~(HPROTO_INBOUND | HPROTO_ADVERTISE);
  host_svc_local_changed(h, HSVC_LOCAL_PROTOCOLS, h->now);
  return 0;
}

int lp2p_host_protocol_limits(lp2p_host *h, const char *name,
                              uint32_t inbound_max,
                              uint32_t inbound_per_peer_max) {
  size_t n;
  if (!h || !name_ok(name, &n))
    return LP2P_ERR_INVAL;
  int err = 0;
  /* Only known protocols: a typo must not add a table entry nobody
   * serves. */
  uint16_t i = host_proto_find(h, name, n, 0, HOWNER_APP, &err);
  if (i == UINT16_MAX)
    return LP2P_ERR_NOT_FOUND;
  h->protos[i].in_max = inbound_max;
  h->protos[i].in_peer_max = inbound_per_peer_max;
  return 0;
}

int lp2p_host_allow_limited(lp2p_host *h, const char *name, int allow) {
  uint16_t i;
  int err = app_proto(h, name, &i);
  if (err)
    return err;
  if (allow)
    h->protos[i].flags |= HPROTO_LIMITED;
  else
    h->protos[i].flags &= (uint8_t)~HPROTO_LIMITED;
  return 0;
}

static hconn *peer_conn(lp2p_host *h, const lp2p_peerid *peer) {
  hpeer *p = peer ? host_peer_find(h, peer) : NULL;
  return host_peer_best_conn(h, p);
}

int lp2p_host_open_stream_on(lp2p_host *h, lp2p_tstamp now, uint64_t conn,
                             const char *protocol, uint64_t *stream) {
  if (stream)
    *stream = 0;
  size_t n;
  if (!h || !name_ok(protocol, &n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  if (h->closing)
    return LP2P_ERR_STATE;
  hconn *c = host_conn_get(h, conn);
  if (!c || c->state != HC_OPEN)
    return c ? LP2P_ERR_STATE : LP2P_ERR_NOT_FOUND;
  int err = 0;
  uint16_t i = host_proto_find(h, protocol, n, 1, HOWNER_APP, &err);
  if (i == UINT16_MAX)
    return err;
  hstream *s;
  int rc = host_stream_open(h, c, i, HOWNER_APP, NULL, now, &s);
  if (rc)
    return rc;
  s->flags |= HS_VISIBLE;
  if (stream)
    *stream = s->id;
  host_conn_pump(h, c, now);
  return 0;
}

int lp2p_host_open_stream(lp2p_host *h, lp2p_tstamp now,
                          const lp2p_peerid *peer, const char *protocol,
                          uint64_t *stream) {
  if (stream)
    *stream = 0;
  if (!h || !peer)
    return LP2P_ERR_INVAL;
  hconn *c = peer_conn(h, peer);
  if (!c)
    return LP2P_ERR_NOT_FOUND;
  return lp2p_host_open_stream_on(h, now, c->id, protocol, stream);
}

/* An application stream (visible, not a service) or NULL. */
static hstream *app_stream(const lp2p_host *h, uint64_t id) {
  hstream *s = h ? host_stream_get(h, id) : NULL;
  if (!s || !(s->flags & HS_VISIBLE) || s->owner != HOWNER_APP)
    return NULL;
  return s;
}

lp2p_ssize lp2p_host_stream_write(lp2p_host *h, lp2p_tstamp now,
                                  uint64_t stream, const uint8_t *p,
                                  size_t n) {
  if (!h || (!p && n))
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hstream *s = app_stream(h, stream);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  if (s->flags & HS_LOCAL_CLOSED)
    return LP2P_ERR_CLOSED;
  hconn *c = s->conn;
  lp2p_ssize w = host_stream_write_raw(h, s, now, p, n);
  if (w == LP2P_ERR_NOT_FOUND)
    w = LP2P_ERR_RESET;
  host_conn_pump(h, c, now);
  return w;
}

const uint8_t *lp2p_host_stream_read_peek(lp2p_host *h, uint64_t stream,
                                          size_t *len) {
  if (len)
    *len = 0;
  if (!len)
    return NULL;
  hstream *s = app_stream(h, stream);
  if (!s)
    return NULL;
  return host_stream_peek_raw(h, s, len);
}

int lp2p_host_stream_read_consume(lp2p_host *h, lp2p_tstamp now,
                                  uint64_t stream, size_t n) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hstream *s = app_stream(h, stream);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  if (n == 0)
    return 0;
  lp2p_yamux *y = host_conn_yamux(s->conn);
  if (!y || (s->flags & HS_NEGOTIATING) ||
      n > lp2p_yamux_stream_readable(y, s->ys))
    return LP2P_ERR_INVAL;
  hconn *c = s->conn;
  host_stream_consume_raw(h, s, now, n);
  host_conn_pump(h, c, now);
  return 0;
}

int lp2p_host_stream_at_eof(const lp2p_host *h, uint64_t stream) {
  hstream *s = app_stream(h, stream);
  if (!s) {
    /* A stream that just ended cleanly (both sides closed, all read) is
     * gone already; it still reads as "at EOF". */
    for (size_t i = 0; h && stream && i < 64; i++)
      if (h->done_ids[i] == stream)
        return 1;
    return 0;
  }
  return host_stream_eof_raw((lp2p_host *)h, s);
}

int lp2p_host_stream_close(lp2p_host *h, lp2p_tstamp now, uint64_t stream) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hstream *s = app_stream(h, stream);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  hconn *c = s->conn;
  host_stream_close_raw(h, s, now);
  host_conn_pump(h, c, now);
  return 0;
}

int lp2p_host_stream_reset(lp2p_host *h, lp2p_tstamp now, uint64_t stream) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  hstream *s = app_stream(h, stream);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  hconn *c = s->conn;
  host_stream_reset_raw(h, s, now);
  host_conn_pump(h, c, now);
  return 0;
}

int lp2p_host_stream_info_get(const lp2p_host *h, uint64_t stream,
                              lp2p_host_stream_info *out) {
  if (!h || !out)
    return LP2P_ERR_INVAL;
  const hstream *s = host_stream_get(h, stream);
  if (!s || !(s->flags & HS_VISIBLE))
    return LP2P_ERR_NOT_FOUND;
  memset(out, 0, sizeof *out);
  out->conn = s->conn->id;
  if (s->conn->peer)
    out->peer = s->conn->peer->id;
  out->protocol = s->proto < h->nprotos ? h->protos[s->proto].name : NULL;
  out->direction = s->dir;
  return 0;
}
