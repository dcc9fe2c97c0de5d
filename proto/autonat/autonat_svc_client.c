/* AutoNAT v2 client side of the service (autonat_svc.c): candidates,
 * requests to servers, verdicts to the address manager. */
#include <string.h>

#include "proto/autonat/autonat_svc.h"

/* ---- client: candidates, verdicts ---------------------------------------- */

/* The host's overall verdict changed: the REACHABILITY event, and
 * AutoRelay's private flag (lp2p_host_relay_set_private: in
 * LP2P_AUTORELAY_PRIVATE mode relays are used only while we are private;
 * UNSUPPORTED without the relay service, ignored). */
static void overall_update(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
  int o = (int)lp2p_autonat_book_overall(st->book);
  if (o == st->overall)
    return;
  st->overall = o;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_REACHABILITY);
  e->u.reachability.value = o;
  lp2p_host_relay_set_private(h, now, o == LP2P_REACHABILITY_PRIVATE);
}

void an_refresh_candidates(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
  if (!st->book)
    return;
  lp2p_autonat_book_mark(st->book);
  lp2p_maddr adv[32];
  size_t n = 0;
  lp2p_host_addrs(h, adv, 32, &n);
  if (n > 32)
    n = 32;
  for (size_t i = 0; i < n; i++) {
    int observed = 0;
    for (size_t j = 0; j < lp2p_host_addr_count(h); j++) {
      lp2p_host_addr_info a;
      if (lp2p_host_addr_get(h, j, &a) == 0 && a.kind == LP2P_ADDR_OBSERVED &&
          lp2p_maddr_equal(&a.addr, &adv[i]))
        observed = 1;
    }
    if (an_ip_public(st, &adv[i]))
      lp2p_autonat_book_add(st->book, &adv[i], !observed, now);
  }
  /* Observed addresses (advertised or not), and port mappings on our
   * router, which are advertised only once confirmed (host_addrs.c
   * mapped_advertised). A mapping forwards to a port we bound, so it
   * counts as a listen address: one dial-back carrying our nonce through
   * it is proof, whatever server sent it (no per-destination mapping or
   * filtering stands in the way of a port forward). */
  for (size_t j = 0; j < lp2p_host_addr_count(h); j++) {
    lp2p_host_addr_info a;
    if (lp2p_host_addr_get(h, j, &a) == 0 &&
        (a.kind == LP2P_ADDR_OBSERVED || a.kind == LP2P_ADDR_MAPPED) &&
        an_ip_public(st, &a.addr)) {
      lp2p_autonat_book_add(st->book, &a.addr, a.kind == LP2P_ADDR_MAPPED, now);
      /* A mapping without a verdict of its own (made again after a
       * router reboot, or over an address the book already judged as
       * observed) is checked now, not at the next recheck. */
      if (a.kind == LP2P_ADDR_MAPPED && a.reachability_at == LP2P_TSTAMP_NONE)
        lp2p_autonat_book_recheck(st->book, &a.addr, now);
    }
  }
  lp2p_autonat_book_sweep(st->book);
  overall_update(h, st, now);
}

static int supports_dial_request(const lp2p_host *h, const lp2p_peerid *p) {
  size_t n = lp2p_host_peer_protocol_count(h, p);
  for (size_t i = 0; i < n; i++) {
    const char *s = lp2p_host_peer_protocol(h, p, i);
    if (s && strcmp(s, LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL) == 0)
      return 1;
  }
  return 0;
}

void an_creq_unlink(an_svc *st, an_creq *c) {
  for (an_creq **pp = &st->creqs; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      st->ncreqs--;
      if (!c->ask_id)
        st->nauto--;
      return;
    }
}

/* The request ended (once): the explicit answer, or the book's count. */
void an_creq_finish(lp2p_host *h, an_svc *st, an_creq *c, int err,
                    lp2p_tstamp now) {
  if (c->finished)
    return;
  c->finished = 1;
  const lp2p_autonat_creq *r = &c->eng;
  int reach = LP2P_AUTONAT_UNKNOWN;
  if (!err && r->state == LP2P_AUTONAT_CREQ_DONE &&
      r->status == LP2P_AUTONAT_RESP_OK) {
    if (r->dial_status == LP2P_AUTONAT_DIAL_OK && c->got_back)
      reach = LP2P_AUTONAT_REACHABLE;
    else if (r->dial_status == LP2P_AUTONAT_DIAL_ERROR)
      reach = LP2P_AUTONAT_UNREACHABLE;
    /* OK without our nonce: discarded, as the spec says */
  }
  if (c->ask_id) {
    hevent *e = host_ev_push(h, LP2P_HOST_EV_AUTONAT_RESULT);
    e->err = err;
    e->peer = c->peer;
    e->conn = c->conn;
    e->u.autonat.id = c->ask_id;
    e->u.autonat.reach = reach;
    if (r->state == LP2P_AUTONAT_CREQ_DONE) {
      e->u.autonat.status = r->status;
      e->u.autonat.dial_status = r->dial_status;
      e->u.autonat.addr_idx = r->addr_idx;
    }
    return;
  }
  if (!st->book)
    return;
  st->kick = 1;
  /* A round that ended, with a new verdict or the old one confirmed:
   * the address manager takes it (and its time), so a mapping made again
   * over an address already judged gets its own verdict. */
  if (lp2p_autonat_book_result(st->book, &c->addr, c->server,
                               (lp2p_autonat_reach)reach, now)) {
    lp2p_autonat_reach v =
        lp2p_autonat_book_verdict(st->book, &c->addr, NULL, NULL);
    host_addr_set_reach(h, &c->addr, (int)v, now);
    host_logf(h, LP2P_LOG_INFO, "autonat peer=%P verdict %s", &c->peer,
              v == LP2P_AUTONAT_REACHABLE ? "reachable" : "unreachable");
  }
  overall_update(h, st, now);
}

/* Drop a request we reset ourselves (no stream_end follows). */
void an_creq_drop(lp2p_host *h, an_svc *st, an_creq *c, int err,
                  lp2p_tstamp now) {
  an_creq_finish(h, st, c, err, now);
  host_svc_reset(h, c->stream, now);
  an_creq_unlink(st, c);
  lp2p_mem_free(h->mem, c);
}

void an_creq_pump(lp2p_host *h, an_svc *st, an_creq *c, lp2p_tstamp now) {
  const uint8_t *p;
  size_t len;
  while ((p = lp2p_autonat_creq_out_peek(&c->eng, &len)) && len) {
    lp2p_ssize w = host_svc_write(h, c->stream, now, p, len);
    if (w < 0) {
      an_creq_drop(h, st, c, (int)w, now);
      return;
    }
    if (w == 0)
      break;
    lp2p_autonat_creq_out_consume(&c->eng, (size_t)w);
  }
  while (c->eng.state == LP2P_AUTONAT_CREQ_SENDING &&
         (p = host_svc_peek(h, c->stream, &len)) && len) {
    uint8_t asked = c->eng.data_asked;
    lp2p_autonat_creq_feed(&c->eng, p, len);
    host_svc_consume(h, c->stream, now, len);
    if (!asked && c->eng.data_asked)
      host_logf(h, LP2P_LOG_INFO,
                "autonat peer=%P dial data: sending %U bytes (IP differs)",
                &c->peer, c->eng.data_left);
    /* a DialDataRequest may have queued output */
    while ((p = lp2p_autonat_creq_out_peek(&c->eng, &len)) && len) {
      lp2p_ssize w = host_svc_write(h, c->stream, now, p, len);
      if (w < 0) {
        an_creq_drop(h, st, c, (int)w, now);
        return;
      }
      if (w == 0)
        break;
      lp2p_autonat_creq_out_consume(&c->eng, (size_t)w);
    }
  }
  if (c->eng.state == LP2P_AUTONAT_CREQ_SENDING &&
      host_svc_at_eof(h, c->stream))
    lp2p_autonat_creq_feed_eof(&c->eng);
  if (c->eng.state == LP2P_AUTONAT_CREQ_FAILED) {
    /* over budget: "the client resets the stream" */
    an_creq_drop(h, st, c, c->eng.err, now);
    return;
  }
  if (c->eng.state == LP2P_AUTONAT_CREQ_DONE && !c->finished) {
    an_creq_finish(h, st, c, 0, now);
    host_svc_close(h, c->stream, now); /* "The client MUST close" */
  }
}

int an_creq_start(lp2p_host *h, an_svc *st, uint64_t conn,
                  const lp2p_maddr *addrs, size_t n, uint64_t ask_id,
                  lp2p_tstamp now) {
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  if (!peer)
    return LP2P_ERR_NOT_FOUND;
  if (st->ncreqs >= ASKS_MAX)
    return LP2P_ERR_LIMIT;
  an_creq *c = lp2p_mem_calloc(h->mem, 1, sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  c->kind = K_CREQ;
  c->conn = conn;
  c->peer = *peer;
  c->server = an_peer_fp(h, peer);
  c->ask_id = ask_id;
  if (!ask_id)
    c->addr = addrs[0];
  /* A nonce that no request in flight uses. */
  uint64_t nonce;
  int clash;
  do {
    nonce = an_rnd64(h);
    clash = 0;
    for (an_creq *o = st->creqs; o; o = o->next)
      clash |= o->eng.nonce == nonce;
  } while (clash);
  int rc =
      lp2p_autonat_creq_init(&c->eng, addrs, n, nonce, st->cfg.c.data_budget);
  if (!rc)
    rc = host_svc_open(h, st->svc, conn, st->p_req, c, now, &c->stream);
  if (rc) {
    lp2p_mem_free(h->mem, c);
    return rc;
  }
  c->next = st->creqs;
  st->creqs = c;
  st->ncreqs++;
  if (!ask_id)
    st->nauto++;
  host_svc_stream_deadline(h, c->stream,
                           host_add_ns(now, st->cfg.c.request_timeout_ns));
  return 0;
}

/* Ask the server behind conn about one due candidate, if any. */
void an_auto_ask(lp2p_host *h, an_svc *st, uint64_t conn, lp2p_tstamp now) {
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  if (!st->book || !peer || st->nauto >= AUTO_INFLIGHT_MAX ||
      !supports_dial_request(h, peer))
    return;
  uint64_t fp = an_peer_fp(h, peer);
  for (an_creq *c = st->creqs; c; c = c->next)
    if (c->server == fp && !c->ask_id)
      return; /* one automatic request per server at a time */
  lp2p_maddr a;
  if (!lp2p_autonat_book_pick(st->book, fp, now, &a))
    return;
  if (an_creq_start(h, st, conn, &a, 1, 0, now) != 0)
    lp2p_autonat_book_result(st->book, &a, fp, LP2P_AUTONAT_UNKNOWN, now);
}

void an_auto_ask_all(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
  uint32_t pos = 0;
  uint64_t conn;
  while (st->book && st->nauto < AUTO_INFLIGHT_MAX &&
         (conn = host_svc_conn_next(h, &pos)) != 0)
    an_auto_ask(h, st, conn, now);
}

/* Re-read the timer. A finished automatic request (kick) makes it due at
 * once rather than asking from inside the hook that ended it: hooks also
 * run while the host frees its connections, when none may be walked. */
void an_rearm(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
  (void)h;
  st->next = LP2P_TSTAMP_NONE;
  if (!st->book || lp2p_autonat_book_count(st->book) == 0)
    return;
  if (st->kick) {
    st->next = now;
    return;
  }
  lp2p_tstamp t = lp2p_autonat_book_next_due(st->book);
  if (t != LP2P_TSTAMP_NONE && t < now + TICK_NS)
    t = now + TICK_NS; /* due but no server free: look again later */
  st->next = t;
}
