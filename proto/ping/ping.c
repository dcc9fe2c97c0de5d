/* /ipfs/ping/1.0.0 service (ping spec). Client: one outbound stream per
 * connection, reused for queued pings, half-closed when none is left;
 * 32 random bytes out, the same 32 back, RTT = time between writing them
 * and reading the echo. Server: echo every 32-byte payload; at most
 * ping.streams_per_peer_max inbound streams per peer (the spec lets a
 * listener refuse more than a couple; the host's per-protocol caps do it).
 * State hangs on the streams. */
#include "proto/host/host_internal.h"
#include "proto/ping/ping_wire.h"

#define PING_QUEUE_MAX 16

typedef struct ping_svc {
  uint32_t svc;
  uint16_t proto;
} ping_svc;

typedef struct ping_state {
  uint64_t conn;
  uint8_t client;
  uint8_t active;      /* client: takes queued pings (not half-closed) */
  uint8_t awaiting;    /* client: echo outstanding */
  uint8_t queued;      /* client: pings asked while one is in flight */
  uint8_t out_off;     /* bytes of `out` written so far */
  uint8_t out_len;     /* bytes to write (32 while a payload is pending) */
  uint8_t out[LP2P_PING_LEN];
  lp2p_ping_acc acc;
  lp2p_tstamp sent_at;
} ping_state;

static void result(lp2p_host *h, uint64_t conn, int err, uint64_t rtt) {
  hevent *e = host_ev_push(h, LP2P_HOST_EV_PING_RESULT);
  e->conn = conn;
  e->err = err;
  e->u.ping.rtt_ns = rtt;
  const lp2p_peerid *p = host_svc_conn_peer(h, conn);
  if (p)
    e->peer = *p;
}

/* Fail the ping in flight and every queued one; the stream takes no more. */
static void fail_all(lp2p_host *h, ping_state *ps, int err) {
  if (ps->awaiting)
    result(h, ps->conn, err, 0);
  for (; ps->queued; ps->queued--)
    result(h, ps->conn, err, 0);
  ps->awaiting = 0;
  ps->active = 0;
}

static void drop(lp2p_host *h, uint64_t stream, ping_state *ps, int err,
                 lp2p_tstamp now) {
  if (ps->client)
    fail_all(h, ps, err);
  host_svc_reset(h, stream, now);
  lp2p_mem_free(h->mem, ps);
}

static void next_payload(lp2p_host *h, uint64_t stream, ping_state *ps,
                         lp2p_tstamp now) {
  h->rng.fill(h->rng.ctx, ps->out, LP2P_PING_LEN);
  ps->out_off = 0;
  ps->out_len = LP2P_PING_LEN;
  ps->awaiting = 1;
  ps->acc.len = 0;
  ps->sent_at = now;
  host_svc_stream_deadline(h, stream,
                           host_add_ns(now, h->cfg.ping.timeout_ns));
}

static int flush(lp2p_host *h, uint64_t stream, ping_state *ps,
                 lp2p_tstamp now) {
  while (ps->out_off < ps->out_len) {
    lp2p_ssize w = host_svc_write(h, stream, now, ps->out + ps->out_off,
                                  (size_t)(ps->out_len - ps->out_off));
    if (w < 0)
      return (int)w;
    if (w == 0)
      return 0;
    ps->out_off = (uint8_t)(ps->out_off + w);
  }
  return 0;
}

static void client_activity(lp2p_host *h, uint64_t stream, ping_state *ps,
                            lp2p_tstamp now) {
  if (flush(h, stream, ps, now) < 0) {
    drop(h, stream, ps, LP2P_ERR_RESET, now);
    return;
  }
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, stream, &len);
    if (!len)
      break;
    if (!ps->awaiting) {
      drop(h, stream, ps, LP2P_ERR_PROTO, now); /* bytes nobody asked for */
      return;
    }
    int full = 0;
    size_t k = lp2p_ping_acc_feed(&ps->acc, p, len, &full);
    host_svc_consume(h, stream, now, k);
    if (!full)
      continue;
    ps->awaiting = 0;
    host_svc_stream_deadline(h, stream, LP2P_TSTAMP_NONE);
    if (!lp2p_ping_match(ps->out, ps->acc.buf)) {
      result(h, ps->conn, LP2P_ERR_PROTO, 0);
      drop(h, stream, ps, LP2P_ERR_PROTO, now);
      return;
    }
    result(h, ps->conn, 0, now - ps->sent_at);
    if (ps->queued) {
      ps->queued--;
      next_payload(h, stream, ps, now);
      if (flush(h, stream, ps, now) < 0) {
        drop(h, stream, ps, LP2P_ERR_RESET, now);
        return;
      }
    } else {
      /* ping spec: close the write side after the last payload. */
      ps->active = 0;
      host_svc_close(h, stream, now);
    }
  }
  if (ps->awaiting && host_svc_remote_closed(h, stream))
    drop(h, stream, ps, LP2P_ERR_EOF, now);
}

static void server_activity(lp2p_host *h, uint64_t stream, ping_state *ps,
                            lp2p_tstamp now) {
  for (;;) {
    if (ps->out_off < ps->out_len) {
      if (flush(h, stream, ps, now) < 0) {
        drop(h, stream, ps, LP2P_ERR_RESET, now);
        return;
      }
      if (ps->out_off < ps->out_len)
        return; /* wait for WRITABLE before reading more */
    }
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, stream, &len);
    if (!len)
      break;
    int full = 0;
    size_t k = lp2p_ping_acc_feed(&ps->acc, p, len, &full);
    host_svc_consume(h, stream, now, k);
    if (full) {
      memcpy(ps->out, ps->acc.buf, LP2P_PING_LEN);
      ps->out_off = 0;
      ps->out_len = LP2P_PING_LEN;
      ps->acc.len = 0;
    }
  }
  if (host_svc_at_eof(h, stream) && ps->out_off == ps->out_len)
    host_svc_close(h, stream, now); /* ping spec: finish, then close */
}

static void ping_activity(lp2p_host *h, void *state, uint64_t stream,
                          void *ud, lp2p_tstamp now) {
  (void)state;
  ping_state *ps = ud;
  if (!ps)
    return;
  if (ps->client)
    client_activity(h, stream, ps, now);
  else
    server_activity(h, stream, ps, now);
}

static void ping_start(lp2p_host *h, void *state, uint64_t stream,
                       uint64_t conn, uint16_t proto, lp2p_tstamp now) {
  (void)proto;
  ping_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps) {
    host_svc_reset(h, stream, now);
    return;
  }
  ps->conn = conn;
  host_svc_stream_set_ud(h, stream, ps);
  /* One 32-byte payload is held while its echo cannot go out (server
   * activity reads no further): the rest waits in yamux, and a fixed
   * window keeps that to 256 KiB for a peer that never reads. */
  host_svc_stream_fix_window(h, stream);
  ping_activity(h, state, stream, ps, now);
}

static void ping_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                     int err, lp2p_tstamp now) {
  (void)state;
  (void)stream;
  (void)now;
  ping_state *ps = ud;
  if (!ps)
    return;
  if (ps->client && (ps->awaiting || ps->queued))
    fail_all(h, ps, err ? err : LP2P_ERR_EOF);
  lp2p_mem_free(h->mem, ps);
}

static void ping_timeout(lp2p_host *h, void *state, uint64_t stream,
                         void *ud, lp2p_tstamp now) {
  (void)state;
  ping_state *ps = ud;
  if (ps)
    drop(h, stream, ps, LP2P_ERR_TIMEOUT, now);
  else
    host_svc_reset(h, stream, now);
}

static int ping_init(lp2p_host *h, uint32_t svc, void **state) {
  ping_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  if (h->cfg.ping.serve && !h->cfg.ping.streams_per_peer_max)
    return LP2P_ERR_INVAL;
  int err = 0;
  /* Ping runs on limited (relayed) connections too, as in go-libp2p and
   * js-libp2p: it is how one checks a circuit. */
  v->proto = host_svc_add_protocol(
      h, svc, LP2P_PING_PROTOCOL,
      HSVC_P_LIMITED |
          (h->cfg.ping.serve ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0),
      &err);
  /* ping spec: a listener may refuse more than a couple of streams per
   * peer. The host's per-protocol-per-peer cap enforces (and counts) it. */
  if (!err && h->cfg.ping.serve)
    err = lp2p_host_protocol_limits(h, LP2P_PING_PROTOCOL, 0,
                                    h->cfg.ping.streams_per_peer_max);
  return err;
}

static void ping_fini(lp2p_host *h, void *state) {
  lp2p_mem_free(h->mem, state);
}

const hsvc_ops host_svc_ping_ops = {
    .name = "ping",
    .init = ping_init,
    .fini = ping_fini,
    .stream_start = ping_start,
    .stream_activity = ping_activity,
    .stream_end = ping_end,
    .stream_timeout = ping_timeout,
};

/* The client stream of conn that takes more pings, or 0. */
static uint64_t active_client(lp2p_host *h, ping_svc *v, uint64_t conn,
                              ping_state **out) {
  uint64_t pos = 0, id;
  hsvc_stream_info info;
  while ((id = host_svc_stream_next(h, v->svc, conn, &pos, &info)) != 0) {
    ping_state *ps = info.ud;
    if (ps && ps->client && ps->active && info.proto == v->proto) {
      *out = ps;
      return id;
    }
  }
  return 0;
}

static int request(lp2p_host *h, ping_svc *v, uint64_t conn,
                   lp2p_tstamp now) {
  ping_state *ps = NULL;
  if (active_client(h, v, conn, &ps)) {
    if (ps->queued >= PING_QUEUE_MAX)
      return LP2P_ERR_LIMIT;
    ps->queued++;
    return 0;
  }
  ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps)
    return LP2P_ERR_NOMEM;
  uint64_t stream;
  int rc = host_svc_open(h, v->svc, conn, v->proto, ps, now, &stream);
  if (rc) {
    lp2p_mem_free(h->mem, ps);
    return rc;
  }
  ps->conn = conn;
  ps->client = 1;
  ps->active = 1;
  next_payload(h, stream, ps, now);
  if (flush(h, stream, ps, now) < 0)
    drop(h, stream, ps, LP2P_ERR_RESET, now);
  return 0;
}

static int ping_cmd(lp2p_host *h, void *state, uint64_t conn,
                    const void *arg, lp2p_tstamp now) {
  (void)arg;
  return request(h, state, conn, now);
}

int lp2p_host_ping(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *peer) {
  return host_svc_command(h, now, peer, &host_svc_ping_ops, ping_cmd, NULL);
}
