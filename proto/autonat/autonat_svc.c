/* The AutoNAT v2 service (autonat-v2.md): thin glue between the host and
 * the pure engines of this folder.
 *
 * Client: asks peers whose identify lists /libp2p/autonat/2/dial-request
 * about our candidate addresses (advertised listen addresses, those
 * peers observed and port mappings on our router, TCP, public by the is-public
 * predicate: "Client SHOULD NOT send any private address"), one address per
 * request, a fresh random nonce each; answers dial-data requests within the
 * byte budget; serves /libp2p/autonat/2/dial-back and counts an address
 * reachable only when the server reports DialStatus OK *and* our nonce came
 * back ("The client MUST check that the nonce received in the DialBack is the
 * same as the nonce it sent"). Verdicts (lp2p_autonat_book, the rule is there)
 * go to the address manager with a time; the overall verdict to a REACHABILITY
 * event. lp2p_host_autonat_ask asks one server explicitly.
 *
 * Server: serves dial-request within the rate limits; dials back with a
 * new connection (host_svc_dial forces one: "never on the asking
 * connection"; the asking peer's id is appended, as go-libp2p and
 * js-libp2p dial back the same peer), opens dial-back on it, sends the
 * nonce, waits for DialBackResponse, then closes that connection and
 * answers DialResponse. */
#include <string.h>

#include "proto/autonat/autonat_svc.h"

uint64_t an_peer_fp(const lp2p_host *h, const lp2p_peerid *p) {
  return lp2p_keyed_hash(h->hash_key, p->bytes, p->len);
}

uint64_t an_rnd64(lp2p_host *h) {
  uint8_t b[8];
  uint64_t v = 0;
  h->rng.fill(h->rng.ctx, b, sizeof b);
  for (int i = 0; i < 8; i++)
    v = v << 8 | b[i];
  return v;
}

int an_ip_public(const an_svc *st, const lp2p_maddr *m) {
  int fam, udp;
  uint8_t ip[16];
  uint16_t port;
  if (lp2p_maddr_to_ip_port(m, &fam, ip, &port, &udp) != 0 || udp)
    return 0;
  lp2p_ip_public_fn f =
      st->cfg.is_public ? st->cfg.is_public : lp2p_autonat_ip_is_public;
  return f(st->cfg.is_public_ud, fam, ip);
}

/* ---- hooks
 * ---------------------------------------------------------------------- */

static int an_init(lp2p_host *h, uint32_t svc, void **state) {
  an_svc *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return LP2P_ERR_NOMEM;
  st->svc = svc;
  st->cfg = h->cfg.autonat;
  st->next = LP2P_TSTAMP_NONE;
  int err = 0;
  /* dial-back is always served: lp2p_host_autonat_ask works without the
   * automatic client. */
  st->p_back = host_svc_add_protocol(h, svc, LP2P_AUTONAT_DIAL_BACK_PROTOCOL,
                                     HSVC_P_INBOUND, &err);
  if (!err)
    st->p_req = host_svc_add_protocol(
        h, svc, LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL,
        st->cfg.server ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0, &err);
  /* Inbound stream caps (README "Streams"): a server holds one dial-back
   * stream per request; a client a few requests in flight, plus room to
   * be told E_REQUEST_REJECTED (js-libp2p allows 2 per connection). */
  if (!err)
    lp2p_host_protocol_limits(h, LP2P_AUTONAT_DIAL_BACK_PROTOCOL, 64, 4);
  if (!err && st->cfg.server)
    lp2p_host_protocol_limits(h, LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL,
                              st->cfg.s.concurrent_max * 2 + 1,
                              st->cfg.s.concurrent_per_peer_max + 2);
  if (!err && st->cfg.client)
    err = lp2p_autonat_book_new(&st->book, &st->cfg.c, h->mem);
  if (!err && st->cfg.server)
    err = lp2p_autonat_limiter_new(&st->lim, &st->cfg.s, h->mem);
  if (err) {
    lp2p_autonat_book_free(st->book);
    lp2p_mem_free(h->mem, st);
    return err;
  }
  *state = st;
  return 0;
}

static void an_fini(lp2p_host *h, void *state) {
  an_svc *st = state;
  while (st->creqs) {
    an_creq *c = st->creqs;
    st->creqs = c->next;
    lp2p_mem_free(h->mem, c);
  }
  while (st->sreqs) {
    an_sreq *r = st->sreqs;
    st->sreqs = r->next;
    lp2p_mem_free(h->mem, r);
  }
  lp2p_autonat_book_free(st->book);
  lp2p_autonat_limiter_free(st->lim);
  lp2p_mem_free(h->mem, st);
}

static void an_stream_start(lp2p_host *h, void *state, uint64_t stream,
                            uint64_t conn, uint16_t proto, lp2p_tstamp now) {
  an_svc *st = state;
  if (proto == st->p_req && st->lim) {
    an_sreq_start(h, st, stream, conn, now);
    return;
  }
  if (proto != st->p_back) {
    host_svc_reset(h, stream, now);
    return;
  }
  an_back *b = lp2p_mem_calloc(h->mem, 1, sizeof *b);
  if (!b) {
    host_svc_reset(h, stream, now);
    return;
  }
  b->kind = K_BACK_IN;
  b->conn = conn;
  host_svc_stream_set_ud(h, stream, b);
  host_svc_stream_deadline(h, stream, host_add_ns(now, BACK_TIMEOUT_NS));
  an_back_in_activity(h, st, stream, b, now);
}

static void an_stream_activity(lp2p_host *h, void *state, uint64_t stream,
                               void *ud, lp2p_tstamp now) {
  an_svc *st = state;
  if (!ud)
    return;
  switch (*(uint8_t *)ud) {
  case K_CREQ:
    an_creq_pump(h, st, ud, now);
    break;
  case K_SREQ:
    an_sreq_pump(h, st, ud, now);
    break;
  case K_BACK_IN:
    an_back_in_activity(h, st, stream, ud, now);
    break;
  case K_BACK_OUT:
    an_back_out_activity(h, st, stream, ud, now);
    break;
  }
  an_rearm(h, st, now);
}

static void an_stream_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                          int err, lp2p_tstamp now) {
  an_svc *st = state;
  (void)stream;
  if (!ud)
    return;
  switch (*(uint8_t *)ud) {
  case K_CREQ: {
    an_creq *c = ud;
    an_creq_finish(h, st, c, err ? err : LP2P_ERR_EOF, now);
    an_creq_unlink(st, c);
    lp2p_mem_free(h->mem, c);
    break;
  }
  case K_SREQ:
    an_sreq_unlink(h, st, ud);
    break;
  case K_BACK_OUT: {
    an_back *b = ud;
    if (!b->done) /* ended before the client's answer */
      an_back_out_result(h, st, b, LP2P_AUTONAT_DIAL_BACK_ERROR, now);
    if (b->req)
      b->req->back = NULL;
    lp2p_mem_free(h->mem, b);
    break;
  }
  default:
    lp2p_mem_free(h->mem, ud);
  }
  an_rearm(h, st, now);
}

static void an_stream_timeout(lp2p_host *h, void *state, uint64_t stream,
                              void *ud, lp2p_tstamp now) {
  an_svc *st = state;
  if (!ud) {
    host_svc_reset(h, stream, now);
    return;
  }
  switch (*(uint8_t *)ud) {
  case K_CREQ:
    an_creq_drop(h, st, ud, LP2P_ERR_TIMEOUT, now);
    break;
  case K_SREQ: {
    an_sreq *r = ud;
    if (r->dial && r->eng.state == LP2P_AUTONAT_SREQ_DIAL) {
      /* The dial-back did not connect in time: answer E_DIAL_ERROR now
       * (its late end closes whatever it made), then the rest of the
       * request's time to deliver the answer. */
      r->dial = 0;
      lp2p_autonat_sreq_dial_result(&r->eng, LP2P_AUTONAT_DIAL_ERROR);
      host_svc_stream_deadline(h, stream,
                               host_add_ns(now, st->cfg.s.timeout_ns));
      an_sreq_pump(h, st, r, now);
      break;
    }
    an_sreq_drop(h, st, r, now);
    break;
  }
  case K_BACK_OUT: {
    an_back *b = ud;
    uint64_t conn = b->conn;
    host_svc_reset(h, stream, now);
    if (!b->done)
      an_back_out_result(h, st, b, LP2P_AUTONAT_DIAL_BACK_ERROR, now);
    if (b->req)
      b->req->back = NULL;
    lp2p_mem_free(h->mem, b);
    lp2p_host_conn_close(h, now, conn);
    break;
  }
  default:
    host_svc_reset(h, stream, now);
    lp2p_mem_free(h->mem, ud);
  }
  an_rearm(h, st, now);
}

static void an_dial_result(lp2p_host *h, void *state, uint64_t dial,
                           uint64_t conn, int err, lp2p_tstamp now) {
  an_svc *st = state;
  an_sreq *r = st->sreqs;
  while (r && !(r->dialing && r->dial && r->dial == dial))
    r = r->next;
  if (!r) { /* the request is gone: drop the connection we made for it */
    if (!err)
      lp2p_host_conn_close(h, now, conn);
    return;
  }
  r->dial = 0;
  /* the dial ended: the rest of the request's time for the dial-back
   * exchange (its stream has its own timeout) and the answer */
  host_svc_stream_deadline(h, r->stream,
                           host_add_ns(now, st->cfg.s.timeout_ns));
  if (err || conn == r->conn) {
    host_logf(h, LP2P_LOG_INFO, "autonat peer=%P dial-back failed: %E",
              &r->peer, err ? err : LP2P_ERR_STATE);
    lp2p_autonat_sreq_dial_result(&r->eng, LP2P_AUTONAT_DIAL_ERROR);
    an_sreq_pump(h, st, r, now);
    return;
  }
  an_back *b = lp2p_mem_calloc(h->mem, 1, sizeof *b);
  uint64_t s = 0;
  int rc = b ? host_svc_open(h, st->svc, conn, st->p_back, b, now, &s)
             : LP2P_ERR_NOMEM;
  if (rc) {
    lp2p_mem_free(h->mem, b);
    lp2p_host_conn_close(h, now, conn);
    lp2p_autonat_sreq_dial_result(&r->eng, LP2P_AUTONAT_DIAL_BACK_ERROR);
    an_sreq_pump(h, st, r, now);
    return;
  }
  b->kind = K_BACK_OUT;
  b->req = r;
  b->conn = conn;
  r->back = b;
  lp2p_autonat_dialback_encode(r->eng.nonce, b->out, sizeof b->out,
                               &b->out_len);
  host_svc_stream_deadline(h, s, host_add_ns(now, BACK_TIMEOUT_NS));
  an_back_flush(h, s, b, now);
}

static void an_identified(lp2p_host *h, void *state, uint64_t conn,
                          lp2p_tstamp now) {
  an_svc *st = state;
  if (!st->book)
    return;
  an_refresh_candidates(h, st, now);
  an_auto_ask(h, st, conn, now);
  an_rearm(h, st, now);
}

static void an_local_changed(lp2p_host *h, void *state, unsigned what,
                             lp2p_tstamp now) {
  an_svc *st = state;
  if (!st->book || !(what & (HSVC_LOCAL_ADDRS | HSVC_LOCAL_CANDIDATES)))
    return;
  /* "Re-checks on address changes": new candidates are due at once. */
  an_refresh_candidates(h, st, now);
  an_auto_ask_all(h, st, now);
  an_rearm(h, st, now);
}

static lp2p_tstamp an_next_timeout(const void *state) {
  return ((const an_svc *)state)->next;
}

static void an_handle_timeout(lp2p_host *h, void *state, lp2p_tstamp now) {
  an_svc *st = state;
  if (now < st->next)
    return;
  st->kick = 0;
  an_refresh_candidates(h, st, now);
  an_auto_ask_all(h, st, now);
  an_rearm(h, st, now);
}

const hsvc_ops host_svc_autonat_ops = {
    .name = "autonat",
    .init = an_init,
    .fini = an_fini,
    .stream_start = an_stream_start,
    .stream_activity = an_stream_activity,
    .stream_end = an_stream_end,
    .stream_timeout = an_stream_timeout,
    .peer_identified = an_identified,
    .local_changed = an_local_changed,
    .next_timeout = an_next_timeout,
    .handle_timeout = an_handle_timeout,
    .dial_result = an_dial_result,
};

/* ---- public entry points
 * ---------------------------------------------------------- */

typedef struct ask_arg {
  const lp2p_maddr *addrs;
  size_t n;
  uint64_t *id;
} ask_arg;

static int ask_cmd(lp2p_host *h, void *state, uint64_t conn, const void *arg,
                   lp2p_tstamp now) {
  an_svc *st = state;
  const ask_arg *a = arg;
  uint64_t id = ++st->ask_serial;
  int rc = an_creq_start(h, st, conn, a->addrs, a->n, id, now);
  if (!rc && a->id)
    *a->id = id;
  return rc;
}

int lp2p_host_autonat_ask(lp2p_host *h, lp2p_tstamp now,
                          const lp2p_peerid *peer, const lp2p_maddr *addrs,
                          size_t n, uint64_t *id) {
  if (!addrs || n == 0 || n > LP2P_AUTONAT_ADDRS_MAX)
    return LP2P_ERR_INVAL;
  ask_arg a = {addrs, n, id};
  return host_svc_command(h, now, peer, &host_svc_autonat_ops, ask_cmd, &a);
}

int lp2p_host_reachability(const lp2p_host *h) {
  const an_svc *st = h ? host_svc_state(h, &host_svc_autonat_ops, NULL) : NULL;
  return st ? st->overall : LP2P_REACHABILITY_UNKNOWN;
}
