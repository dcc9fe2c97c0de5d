/* /ipfs/ping/1.0.0 service (ping spec). Client: one outbound stream per
 * connection, reused for queued pings, half-closed when none is left;
 * 32 random bytes out, the same 32 back, RTT = time between writing them
 * and reading the echo. Server: echo every 32-byte payload; the stream
 * layer bounds inbound ping streams per peer. */
#include "proto/host/host_internal.h"
#include "proto/ping/ping_wire.h"

#define PING_QUEUE_MAX 16

typedef struct ping_state {
  uint8_t client;
  uint8_t out_off;     /* bytes of `out` written so far */
  uint8_t out_len;     /* bytes to write (32 while a payload is pending) */
  uint8_t awaiting;    /* client: echo outstanding */
  uint8_t out[LP2P_PING_LEN];
  lp2p_ping_acc acc;
  lp2p_tstamp sent_at;
} ping_state;

static void result(lp2p_host *h, hconn *c, int err, uint64_t rtt) {
  hevent *e = host_ev_push(h, LP2P_HOST_EV_PING_RESULT);
  e->conn = c->id;
  e->err = err;
  e->a = rtt;
  if (c->peer)
    e->peer = c->peer->id;
}

/* Fail the ping in flight and every queued one. */
static void fail_all(lp2p_host *h, hconn *c, ping_state *ps, int err) {
  if (ps && ps->awaiting)
    result(h, c, err, 0);
  while (c->ping_queued) {
    c->ping_queued--;
    result(h, c, err, 0);
  }
  c->ping_busy = 0;
}

static void next_payload(lp2p_host *h, hstream *s, ping_state *ps,
                         lp2p_tstamp now) {
  h->rng.fill(h->rng.ctx, ps->out, LP2P_PING_LEN);
  ps->out_off = 0;
  ps->out_len = LP2P_PING_LEN;
  ps->awaiting = 1;
  ps->acc.len = 0;
  ps->sent_at = now;
  s->deadline = host_add_ns(now, h->cfg.ping_timeout_ns);
}

static int flush(lp2p_host *h, hstream *s, ping_state *ps, lp2p_tstamp now) {
  while (ps->out_off < ps->out_len) {
    lp2p_ssize w = host_stream_write_raw(h, s, now, ps->out + ps->out_off,
                                         (size_t)(ps->out_len - ps->out_off));
    if (w < 0)
      return (int)w;
    if (w == 0)
      return 0;
    ps->out_off = (uint8_t)(ps->out_off + w);
  }
  return 0;
}

int ping_request(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  if (c->ping_busy) {
    if (c->ping_queued >= PING_QUEUE_MAX)
      return LP2P_ERR_LIMIT;
    c->ping_queued++;
    return 0;
  }
  ping_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps)
    return LP2P_ERR_NOMEM;
  hstream *s;
  int rc = host_stream_open(h, c, h->proto_ping, SVC_PING, now, &s);
  if (rc) {
    lp2p_mem_free(h->mem, ps);
    return rc;
  }
  ps->client = 1;
  s->svc = ps;
  c->ping_busy = 1;
  next_payload(h, s, ps, now);
  if (flush(h, s, ps, now) < 0) {
    /* The stream is unusable: report and drop it. */
    fail_all(h, c, ps, LP2P_ERR_RESET);
    ps->awaiting = 0;
    host_stream_reset_raw(h, s, now);
  }
  return 0;
}

int ping_svc_start(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  ping_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps) {
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  s->svc = ps;
  return ping_svc_activity(h, s, now);
}

static int client_activity(lp2p_host *h, hstream *s, ping_state *ps,
                           lp2p_tstamp now) {
  hconn *c = s->conn;
  if (flush(h, s, ps, now) < 0) {
    fail_all(h, c, ps, LP2P_ERR_RESET);
    ps->awaiting = 0;
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    if (!ps->awaiting) {
      /* Bytes nobody asked for. */
      fail_all(h, c, ps, LP2P_ERR_PROTO);
      host_stream_reset_raw(h, s, now);
      return -1;
    }
    int full = 0;
    size_t k = lp2p_ping_acc_feed(&ps->acc, p, len, &full);
    host_stream_consume_raw(h, s, now, k);
    if (!full)
      continue;
    ps->awaiting = 0;
    s->deadline = LP2P_TSTAMP_NONE;
    if (!lp2p_ping_match(ps->out, ps->acc.buf)) {
      result(h, c, LP2P_ERR_PROTO, 0);
      fail_all(h, c, ps, LP2P_ERR_PROTO);
      host_stream_reset_raw(h, s, now);
      return -1;
    }
    result(h, c, 0, now - ps->sent_at);
    if (c->ping_queued) {
      c->ping_queued--;
      next_payload(h, s, ps, now);
      if (flush(h, s, ps, now) < 0) {
        fail_all(h, c, ps, LP2P_ERR_RESET);
        host_stream_reset_raw(h, s, now);
        return -1;
      }
    } else {
      /* ping spec: close the write side after the last payload. */
      c->ping_busy = 0;
      host_stream_close_raw(h, s, now);
    }
  }
  if ((s->flags & HS_REMOTE_CLOSED) && ps->awaiting) {
    fail_all(h, c, ps, LP2P_ERR_EOF);
    ps->awaiting = 0;
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  return 0;
}

static int server_activity(lp2p_host *h, hstream *s, ping_state *ps,
                           lp2p_tstamp now) {
  for (;;) {
    if (ps->out_off < ps->out_len) {
      if (flush(h, s, ps, now) < 0) {
        host_stream_reset_raw(h, s, now);
        return -1;
      }
      if (ps->out_off < ps->out_len)
        return 0; /* wait for WRITABLE before reading more */
    }
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    int full = 0;
    size_t k = lp2p_ping_acc_feed(&ps->acc, p, len, &full);
    host_stream_consume_raw(h, s, now, k);
    if (full) {
      memcpy(ps->out, ps->acc.buf, LP2P_PING_LEN);
      ps->out_off = 0;
      ps->out_len = LP2P_PING_LEN;
      ps->acc.len = 0;
    }
  }
  if (host_stream_eof_raw(h, s) && ps->out_off == ps->out_len)
    host_stream_close_raw(h, s, now); /* ping spec: finish, then close */
  return 0;
}

int ping_svc_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  ping_state *ps = s->svc;
  if (!ps)
    return 0;
  return ps->client ? client_activity(h, s, ps, now)
                    : server_activity(h, s, ps, now);
}

void ping_svc_end(lp2p_host *h, hstream *s, int err, lp2p_tstamp now) {
  (void)now;
  ping_state *ps = s->svc;
  if (!ps || !ps->client)
    return;
  hconn *c = s->conn;
  /* Only the active ping stream has a ping in flight or queued ones. */
  if (ps->awaiting)
    fail_all(h, c, ps, err ? err : LP2P_ERR_EOF);
  ps->awaiting = 0;
}

int ping_svc_timeout(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  ping_state *ps = s->svc;
  if (ps && ps->client) {
    fail_all(h, s->conn, ps, LP2P_ERR_TIMEOUT);
    ps->awaiting = 0;
  }
  host_stream_reset_raw(h, s, now);
  return -1;
}
