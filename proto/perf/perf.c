/* /perf/1.0.0 service (perf spec, "Protocol"), streaming both ways:
 * payload is written from one shared constant block as the send window
 * allows and read bytes are counted and dropped, so a transfer of any size
 * costs no buffer memory.
 * Client: 8-byte big-endian download size, upload bytes, half-close, then
 * count download bytes until the server's EOF. Server: read the size,
 * discard until the client's EOF, then send that many bytes and close. */
#include "proto/host/host_internal.h"
#include "proto/perf/perf_wire.h"

typedef struct perf_svc {
  uint32_t svc;
  uint16_t proto;
} perf_svc;

typedef struct perf_state {
  uint64_t conn;
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

static void report(lp2p_host *h, uint64_t stream, perf_state *ps, int err,
                   lp2p_tstamp now) {
  if (ps->reported)
    return;
  ps->reported = 1;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_PERF_RESULT);
  e->conn = ps->conn;
  e->stream = stream;
  e->err = err;
  /* Byte counts are always in the client's terms (perf spec), so a served
   * stream (direction inbound) reports what the client uploaded to us and
   * what we sent it. */
  e->u.perf.direction = ps->client ? LP2P_DIR_OUTBOUND : LP2P_DIR_INBOUND;
  e->u.perf.upload_bytes = ps->client ? ps->up_done : ps->down_done;
  e->u.perf.download_bytes = ps->client ? ps->down_done : ps->up_done;
  e->u.perf.time_ns = now - ps->started;
  const lp2p_peerid *p = host_svc_conn_peer(h, ps->conn);
  if (p)
    e->peer = *p;
}

/* Write payload until `total` is sent or the window is full. Returns 0 or
 * a negative error. */
static int send_payload(lp2p_host *h, uint64_t s, perf_state *ps,
                        lp2p_tstamp now) {
  size_t blen = 0;
  const uint8_t *block = lp2p_perf_payload(&blen);
  while (ps->up_done < ps->up_total) {
    uint64_t left = ps->up_total - ps->up_done;
    size_t n = left < blen ? (size_t)left : blen;
    lp2p_ssize w = host_svc_write(h, s, now, block, n);
    if (w < 0)
      return (int)w;
    if (w == 0)
      break;
    ps->up_done += (uint64_t)w;
  }
  return 0;
}

/* Count and drop everything readable. */
static void drain(lp2p_host *h, uint64_t s, uint64_t *count,
                  lp2p_tstamp now) {
  for (;;) {
    size_t len = 0;
    host_svc_peek(h, s, &len);
    if (!len)
      return;
    *count += len;
    host_svc_consume(h, s, now, len);
  }
}

static int client(lp2p_host *h, uint64_t s, perf_state *ps, lp2p_tstamp now) {
  int rc = 0;
  while (ps->hdr_off < LP2P_PERF_HDR_LEN) {
    lp2p_ssize w = host_svc_write(h, s, now, ps->hdr + ps->hdr_off,
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
        !host_svc_local_closed(h, s))
      host_svc_close(h, s, now);
  }
  if (rc < 0) {
    report(h, s, ps, rc, now);
    host_svc_reset(h, s, now);
    lp2p_mem_free(h->mem, ps);
    return -1;
  }
  drain(h, s, &ps->down_done, now);
  if (host_svc_at_eof(h, s) && !ps->reported) {
    int err = 0;
    if (ps->up_done != ps->up_total || ps->down_done != ps->down_total)
      err = LP2P_ERR_PROTO;
    report(h, s, ps, err, now);
  }
  return 0;
}

static int server(lp2p_host *h, uint64_t s, perf_state *ps, lp2p_tstamp now) {
  while (!ps->have_hdr) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, s, &len);
    if (!len)
      break;
    int done = 0;
    size_t k = lp2p_perf_hdr_feed(&ps->rd, p, len, &done, &ps->up_total);
    host_svc_consume(h, s, now, k);
    ps->have_hdr = (uint8_t)done;
  }
  if (!ps->have_hdr) {
    if (host_svc_at_eof(h, s)) {
      host_svc_reset(h, s, now); /* EOF inside the header */
      lp2p_mem_free(h->mem, ps);
      return -1;
    }
    return 0;
  }
  drain(h, s, &ps->down_done, now);
  /* perf spec: sending must not overlap the client's upload. */
  if (!host_svc_at_eof(h, s))
    return 0;
  int rc = send_payload(h, s, ps, now);
  if (rc < 0) {
    host_svc_reset(h, s, now);
    lp2p_mem_free(h->mem, ps);
    return -1;
  }
  if (ps->up_done == ps->up_total && !host_svc_local_closed(h, s)) {
    host_svc_close(h, s, now);
    report(h, s, ps, 0, now); /* served: the application may count it */
  }
  return 0;
}

static void perf_activity(lp2p_host *h, void *state, uint64_t stream,
                          void *ud, lp2p_tstamp now) {
  (void)state;
  perf_state *ps = ud;
  if (!ps)
    return;
  if (ps->client)
    client(h, stream, ps, now);
  else
    server(h, stream, ps, now);
}

static void perf_start(lp2p_host *h, void *state, uint64_t stream,
                       uint64_t conn, uint16_t proto, lp2p_tstamp now) {
  (void)proto;
  perf_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps) {
    host_svc_reset(h, stream, now);
    return;
  }
  ps->conn = conn;
  ps->started = now;
  host_svc_stream_set_ud(h, stream, ps);
  perf_activity(h, state, stream, ps, now);
}

static void perf_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                     int err, lp2p_tstamp now) {
  (void)state;
  perf_state *ps = ud;
  if (!ps)
    return;
  if (!ps->reported)
    report(h, stream, ps, err ? err : LP2P_ERR_EOF, now);
  lp2p_mem_free(h->mem, ps);
}

static int perf_init(lp2p_host *h, uint32_t svc, void **state) {
  perf_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  int err = 0;
  v->proto = host_svc_add_protocol(
      h, svc, LP2P_PERF_PROTOCOL,
      h->cfg.perf.serve ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0, &err);
  return err;
}

static void perf_fini(lp2p_host *h, void *state) {
  lp2p_mem_free(h->mem, state);
}

const hsvc_ops host_svc_perf_ops = {
    .name = "perf",
    .init = perf_init,
    .fini = perf_fini,
    .stream_start = perf_start,
    .stream_activity = perf_activity,
    .stream_end = perf_end,
};

int lp2p_host_perf(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *peer,
                   uint64_t upload_bytes, uint64_t download_bytes) {
  uint64_t conn;
  int rc = host_svc_command_conn(h, now, peer, &conn);
  if (rc)
    return rc;
  perf_svc *v = host_svc_state(h, &host_svc_perf_ops, NULL);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  perf_state *ps = lp2p_mem_calloc(h->mem, 1, sizeof *ps);
  if (!ps)
    return LP2P_ERR_NOMEM;
  host_enter(h);
  uint64_t stream;
  rc = host_svc_open(h, v->svc, conn, v->proto, ps, now, &stream);
  if (rc) {
    lp2p_mem_free(h->mem, ps);
  } else {
    ps->conn = conn;
    ps->client = 1;
    ps->up_total = upload_bytes;
    ps->down_total = download_bytes;
    ps->started = now;
    lp2p_perf_hdr_encode(ps->hdr, download_bytes);
    perf_activity(h, v, stream, ps, now);
  }
  host_leave(h, now);
  return rc;
}
