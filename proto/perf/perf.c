/* /perf/1.0.0 service (perf spec, "Protocol"), streaming both ways:
 * payload is written from one shared constant block as the send window
 * allows and read bytes are counted and dropped, so a transfer of any size
 * costs no buffer memory.
 * Client: 8-byte big-endian download size, upload bytes, half-close, then
 * count download bytes until the server's EOF. Server: read the size,
 * discard until the client's EOF, then send that many bytes and close. */
#include "proto/host/host_internal.h"
#include "proto/perf/perf_wire.h"

typedef struct perf_state {
  uint8_t client;
  uint8_t hdr_off;       /* client: header bytes written */
  uint8_t reported;      /* PERF_RESULT emitted */
  uint8_t have_hdr;      /* server: header complete */
  uint8_t hdr[LP2P_PERF_HDR_LEN];
  lp2p_perf_hdr_reader rd;
  uint64_t up_total, up_done;     /* bytes we send */
  uint64_t down_total, down_done; /* bytes we receive (client) */
  lp2p_tstamp started;
} perf_state;

static void report(lp2p_host *h, hstream *s, perf_state *ps, int err,
                   lp2p_tstamp now) {
  if (ps->reported)
    return;
  ps->reported = 1;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_PERF_RESULT);
  e->conn = s->conn->id;
  e->stream = s->id;
  e->err = err;
  /* Byte counts are always in the client's terms (perf spec), so a served
   * stream (direction inbound) reports what the client uploaded to us and
   * what we sent it. */
  e->dir = ps->client ? LP2P_DIR_OUTBOUND : LP2P_DIR_INBOUND;
  e->a = ps->client ? ps->up_done : ps->down_done;
  e->b = ps->client ? ps->down_done : ps->up_done;
  e->c = now - ps->started;
  if (s->conn->peer)
    e->peer = s->conn->peer->id;
}

/* Write payload until `total` is sent or the window is full. Returns 0 or
 * a negative error. */
static int send_payload(lp2p_host *h, hstream *s, perf_state *ps,
                        lp2p_tstamp now) {
  size_t blen = 0;
  const uint8_t *block = lp2p_perf_payload(&blen);
  while (ps->up_done < ps->up_total) {
    uint64_t left = ps->up_total - ps->up_done;
    size_t n = left < blen ? (size_t)left : blen;
    lp2p_ssize w = host_stream_write_raw(h, s, now, block, n);
    if (w < 0)
      return (int)w;
    if (w == 0)
      break;
    ps->up_done += (uint64_t)w;
  }
  return 0;
}

/* Count and drop everything readable. */
static void drain(lp2p_host *h, hstream *s, uint64_t *count,
                  lp2p_tstamp now) {
  for (;;) {
    size_t len = 0;
    host_stream_peek_raw(h, s, &len);
    if (!len)
      return;
    *count += len;
    host_stream_consume_raw(h, s, now, len);
  }
}

int perf_request(lp2p_host *h, hconn *c, uint64_t up, uint64_t down,
                 lp2p_tstamp now) {
  perf_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps)
    return LP2P_ERR_NOMEM;
  hstream *s;
  int rc = host_stream_open(h, c, h->proto_perf, SVC_PERF, now, &s);
  if (rc) {
    lp2p_mem_free(h->mem, ps);
    return rc;
  }
  s->svc = ps;
  ps->client = 1;
  ps->up_total = up;
  ps->down_total = down;
  ps->started = now;
  lp2p_perf_hdr_encode(ps->hdr, down);
  perf_svc_activity(h, s, now);
  return 0;
}

int perf_svc_start(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  perf_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps) {
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  ps->started = now;
  s->svc = ps;
  return perf_svc_activity(h, s, now);
}

static int client(lp2p_host *h, hstream *s, perf_state *ps, lp2p_tstamp now) {
  int rc = 0;
  while (ps->hdr_off < LP2P_PERF_HDR_LEN) {
    lp2p_ssize w = host_stream_write_raw(h, s, now, ps->hdr + ps->hdr_off,
                                         LP2P_PERF_HDR_LEN - ps->hdr_off);
    if (w <= 0) {
      rc = (int)w;
      break;
    }
    ps->hdr_off = (uint8_t)(ps->hdr_off + w);
  }
  if (rc == 0 && ps->hdr_off == LP2P_PERF_HDR_LEN) {
    rc = send_payload(h, s, ps, now);
    if (rc == 0 && ps->up_done == ps->up_total &&
        !(s->flags & HS_LOCAL_CLOSED))
      host_stream_close_raw(h, s, now);
  }
  if (rc < 0) {
    report(h, s, ps, rc, now);
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  drain(h, s, &ps->down_done, now);
  if (host_stream_eof_raw(h, s) && !ps->reported) {
    int err = 0;
    if (ps->up_done != ps->up_total || ps->down_done != ps->down_total)
      err = LP2P_ERR_PROTO;
    report(h, s, ps, err, now);
  }
  return 0;
}

static int server(lp2p_host *h, hstream *s, perf_state *ps, lp2p_tstamp now) {
  while (!ps->have_hdr) {
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    int done = 0;
    size_t k = lp2p_perf_hdr_feed(&ps->rd, p, len, &done, &ps->up_total);
    host_stream_consume_raw(h, s, now, k);
    ps->have_hdr = (uint8_t)done;
  }
  if (!ps->have_hdr) {
    if (host_stream_eof_raw(h, s)) {
      host_stream_reset_raw(h, s, now); /* EOF inside the header */
      return -1;
    }
    return 0;
  }
  drain(h, s, &ps->down_done, now);
  /* perf spec: sending must not overlap the client's upload. */
  if (!host_stream_eof_raw(h, s))
    return 0;
  int rc = send_payload(h, s, ps, now);
  if (rc < 0) {
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  if (ps->up_done == ps->up_total && !(s->flags & HS_LOCAL_CLOSED)) {
    host_stream_close_raw(h, s, now);
    report(h, s, ps, 0, now); /* served: the application may count it */
  }
  return 0;
}

int perf_svc_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  perf_state *ps = s->svc;
  if (!ps)
    return 0;
  return ps->client ? client(h, s, ps, now) : server(h, s, ps, now);
}

void perf_svc_end(lp2p_host *h, hstream *s, int err, lp2p_tstamp now) {
  perf_state *ps = s->svc;
  if (ps && !ps->reported)
    report(h, s, ps, err ? err : LP2P_ERR_EOF, now);
}
