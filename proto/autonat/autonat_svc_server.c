/* AutoNAT v2 server side of the service (autonat_svc.c): requests we
 * serve within the limits, our dial-backs, and the dial-back streams of
 * both ends. */
#include <string.h>

#include "proto/autonat/autonat_svc.h"

/* ---- dial-back streams
 * --------------------------------------------------------- */

void an_back_flush(lp2p_host *h, uint64_t s, an_back *b, lp2p_tstamp now) {
  while (b->out_off < b->out_len) {
    lp2p_ssize w =
        host_svc_write(h, s, now, b->out + b->out_off, b->out_len - b->out_off);
    if (w <= 0)
      return;
    b->out_off += (size_t)w;
  }
}

/* Read one length-prefixed body (<= BACK_BODY_MAX) into b->in. Returns 1
 * with *body / *blen set, 0 when more is needed, or an error. */
static int back_read(lp2p_host *h, uint64_t s, an_back *b, lp2p_tstamp now,
                     const uint8_t **body, size_t *blen) {
  const uint8_t *p;
  size_t len;
  for (;;) {
    lp2p_ssize f =
        lp2p_autonat_frame(b->in, b->in_len, BACK_BODY_MAX, body, blen);
    if (f < 0)
      return (int)f;
    if (f > 0)
      return 1;
    if (!(p = host_svc_peek(h, s, &len)) || !len)
      break;
    size_t room = sizeof b->in - b->in_len;
    size_t k = len < room ? len : room;
    if (k == 0)
      return LP2P_ERR_LIMIT;
    memcpy(b->in + b->in_len, p, k);
    b->in_len += k;
    host_svc_consume(h, s, now, k);
  }
  return host_svc_at_eof(h, s) ? LP2P_ERR_EOF : 0;
}

void an_sreq_pump(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now);

/* Client side: a server dials us back with a nonce. */
void an_back_in_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
                         lp2p_tstamp now) {
  if (!b->done) {
    const uint8_t *body = NULL;
    size_t blen = 0;
    int k = back_read(h, s, b, now, &body, &blen);
    if (k == 0)
      return;
    uint64_t nonce = 0;
    an_creq *match = NULL;
    if (k > 0 && lp2p_autonat_dialback_parse(body, blen, &nonce) == 0)
      for (an_creq *c = st->creqs; c; c = c->next)
        if (!c->finished && c->eng.nonce == nonce)
          match = c;
    if (!match) { /* no request of ours: js-libp2p aborts too */
      host_svc_reset(h, s, now);
      lp2p_mem_free(h->mem, b);
      return;
    }
    match->got_back = 1;
    b->done = 1;
    lp2p_autonat_dialback_resp_encode(0 /* OK */, b->out, sizeof b->out,
                                      &b->out_len);
    host_svc_stream_deadline(h, s, host_add_ns(now, BACK_TIMEOUT_NS));
  }
  an_back_flush(h, s, b, now);
  if (b->out_off == b->out_len && !host_svc_local_closed(h, s))
    host_svc_close(h, s, now); /* "The client MUST close this stream" */
}

/* Server side: the dial-back stream to the client. */
void an_back_out_result(lp2p_host *h, an_svc *st, an_back *b,
                        uint32_t dial_status, lp2p_tstamp now) {
  an_sreq *r = b->req;
  b->done = 1;
  if (!r)
    return;
  r->back = NULL;
  b->req = NULL;
  lp2p_autonat_sreq_dial_result(&r->eng, dial_status);
  an_sreq_pump(h, st, r, now);
}

void an_back_out_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
                          lp2p_tstamp now) {
  an_back_flush(h, s, b, now);
  if (b->done)
    return;
  const uint8_t *body = NULL;
  size_t blen = 0;
  int k = back_read(h, s, b, now, &body, &blen);
  if (k == 0)
    return;
  uint32_t status = 1;
  if (k > 0 && lp2p_autonat_dialback_resp_parse(body, blen, &status) != 0)
    status = 1;
  uint64_t conn = b->conn;
  an_back_out_result(h, st, b,
                     k > 0 && status == 0 ? LP2P_AUTONAT_DIAL_OK
                                          : LP2P_AUTONAT_DIAL_BACK_ERROR,
                     now);
  /* The response tells us the nonce arrived: close the connection (the
   * stream's end frees b). */
  lp2p_host_conn_close(h, now, conn);
}

/* ---- server requests
 * ------------------------------------------------------------ */

void an_sreq_unlink(lp2p_host *h, an_svc *st, an_sreq *r) {
  for (an_sreq **pp = &st->sreqs; *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  if (r->admitted)
    lp2p_autonat_limiter_done(st->lim, r->peer_fp);
  if (r->back)
    r->back->req = NULL;
  lp2p_mem_free(h->mem, r);
}

void an_sreq_drop(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now) {
  host_svc_reset(h, r->stream, now);
  an_sreq_unlink(h, st, r);
}

static void sreq_dial(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now) {
  lp2p_maddr ma = r->eng.addr, id;
  uint8_t b[LP2P_MADDR_MAX];
  size_t k = 0, k2 = 0;
  r->dialing = 1;
  lp2p_varint_encode(LP2P_MA_P2P, b, sizeof b, &k);
  lp2p_varint_encode(r->peer.len, b + k, sizeof b - k, &k2);
  int rc = LP2P_ERR_INVAL;
  if (k + k2 + r->peer.len <= sizeof b) {
    memcpy(b + k + k2, r->peer.bytes, r->peer.len);
    rc = lp2p_maddr_from_bytes(&id, b, k + k2 + r->peer.len);
    if (!rc)
      rc = lp2p_maddr_encapsulate(&ma, &id);
  }
  if (!rc)
    rc = host_svc_dial(h, st->svc, &ma, LP2P_DIAL_FORCE, now, &r->dial);
  if (!rc && st->cfg.s.dial_timeout_ns) /* see an_stream_timeout */
    host_svc_stream_deadline(h, r->stream,
                             host_add_ns(now, st->cfg.s.dial_timeout_ns));
  if (rc) {
    host_logf(h, LP2P_LOG_INFO, "autonat peer=%P dial-back not started: %E",
              &r->peer, rc);
    lp2p_autonat_sreq_dial_result(&r->eng, LP2P_AUTONAT_DIAL_ERROR);
  }
}

void an_sreq_pump(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now) {
  const uint8_t *p;
  size_t len;
  for (;;) {
    while ((p = lp2p_autonat_sreq_out_peek(&r->eng, &len)) && len) {
      lp2p_ssize w = host_svc_write(h, r->stream, now, p, len);
      if (w < 0) {
        an_sreq_drop(h, st, r, now);
        return;
      }
      if (w == 0)
        return;
      lp2p_autonat_sreq_out_consume(&r->eng, (size_t)w);
    }
    uint8_t s = r->eng.state;
    if (s == LP2P_AUTONAT_SREQ_READ_REQUEST ||
        s == LP2P_AUTONAT_SREQ_READ_DATA) {
      if ((p = host_svc_peek(h, r->stream, &len)) && len) {
        lp2p_autonat_sreq_feed(&r->eng, now, p, len);
        host_svc_consume(h, r->stream, now, len);
        continue;
      }
      if (host_svc_at_eof(h, r->stream))
        lp2p_autonat_sreq_feed_eof(&r->eng);
    }
    s = r->eng.state;
    if (s == LP2P_AUTONAT_SREQ_FAILED) {
      host_logf(h, LP2P_LOG_INFO, "autonat peer=%P bad request: %E", &r->peer,
                r->eng.err);
      an_sreq_drop(h, st, r, now);
      return;
    }
    if (s == LP2P_AUTONAT_SREQ_DIAL && !r->dialing) {
      sreq_dial(h, st, r, now);
      continue;
    }
    if (s == LP2P_AUTONAT_SREQ_DONE && !r->answered) {
      r->answered = 1;
      host_svc_close(h, r->stream, now); /* "The server MUST close" */
    }
    return;
  }
}

void an_sreq_start(lp2p_host *h, an_svc *st, uint64_t stream, uint64_t conn,
                   lp2p_tstamp now) {
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  lp2p_maddr remote;
  int fam = 0;
  uint8_t ip[16] = {0};
  if (!peer || host_svc_conn_remote(h, conn, &remote) != 0 ||
      lp2p_autonat_maddr_ip(&remote, &fam, ip) != 0) {
    host_svc_reset(h, stream, now); /* not over IP (e.g. relayed) */
    return;
  }
  an_sreq *r = lp2p_mem_calloc(h->mem, 1, sizeof *r);
  if (!r) {
    host_svc_reset(h, stream, now);
    return;
  }
  r->kind = K_SREQ;
  r->stream = stream;
  r->conn = conn;
  r->peer = *peer;
  r->peer_fp = an_peer_fp(h, peer);
  r->admitted = (uint8_t)lp2p_autonat_limiter_accept(st->lim, r->peer_fp, now);
  if (!r->admitted)
    host_logf(h, LP2P_LOG_INFO, "autonat peer=%P request rate-limited", peer);
  lp2p_autonat_sreq_init(&r->eng, &st->cfg.s, st->lim, fam, ip, !r->admitted,
                         an_rnd64(h));
  r->next = st->sreqs;
  st->sreqs = r;
  host_svc_stream_set_ud(h, stream, r);
  host_svc_stream_deadline(h, stream, host_add_ns(now, st->cfg.s.timeout_ns));
  an_sreq_pump(h, st, r, now);
}
