/* The AutoNAT v2 service (autonat-v2.md): thin glue between the host and
 * the pure engines of this folder.
 *
 * Client: asks peers whose identify lists /libp2p/autonat/2/dial-request
 * about our candidate addresses (advertised listen addresses, those
 * peers observed and port mappings on our router, TCP, public by the is-public predicate: "Client SHOULD
 * NOT send any private address"), one address per request, a fresh random
 * nonce each; answers dial-data requests within the byte budget; serves
 * /libp2p/autonat/2/dial-back and counts an address reachable only when
 * the server reports DialStatus OK *and* our nonce came back ("The client
 * MUST check that the nonce received in the DialBack is the same as the
 * nonce it sent"). Verdicts (lp2p_autonat_book, the rule is there) go to
 * the address manager with a time; the overall verdict to a REACHABILITY
 * event. lp2p_host_autonat_ask asks one server explicitly.
 *
 * Server: serves dial-request within the rate limits; dials back with a
 * new connection (host_svc_dial forces one: "never on the asking
 * connection"; the asking peer's id is appended, as go-libp2p and
 * js-libp2p dial back the same peer), opens dial-back on it, sends the
 * nonce, waits for DialBackResponse, then closes that connection and
 * answers DialResponse. */
#include <string.h>

#include "lp2p/relay.h"
#include "lp2p/varint.h"
#include "proto/common/keyed_hash.h"
#include "proto/host/host_internal.h"

#define AUTO_INFLIGHT_MAX 4u /* automatic requests at a time */
#define ASKS_MAX 64u         /* client requests at a time (all kinds) */
#define BACK_BODY_MAX 64u    /* DialBack / DialBackResponse bodies */
#define BACK_TIMEOUT_NS (10 * LP2P_NS_PER_S)
#define TICK_NS (10 * LP2P_NS_PER_S) /* re-look for due checks */

enum { K_CREQ = 1, K_SREQ, K_BACK_IN, K_BACK_OUT };

typedef struct an_creq {
  uint8_t kind;
  uint8_t got_back; /* our nonce came back on a dial-back */
  uint8_t finished;
  struct an_creq *next;
  uint64_t stream, conn, server;
  uint64_t ask_id; /* 0: automatic (book) */
  lp2p_peerid peer;
  lp2p_maddr addr; /* automatic: the address asked about */
  lp2p_autonat_creq eng;
} an_creq;

struct an_back_out;

typedef struct an_sreq {
  uint8_t kind;
  uint8_t dialing;
  uint8_t answered;
  struct an_sreq *next;
  uint64_t stream, conn, peer_fp;
  uint8_t admitted; /* counted by the limiter */
  lp2p_peerid peer;
  uint64_t dial;
  struct an_back_out *back;
  lp2p_autonat_sreq eng;
} an_sreq;

/* Both ends of a dial-back stream: the client's answer (IN) and the
 * server's nonce (OUT). */
typedef struct an_back_out {
  uint8_t kind;
  uint8_t done;
  an_sreq *req; /* OUT: the request it serves (NULL once gone) */
  uint64_t conn;
  uint8_t in[BACK_BODY_MAX + 10];
  size_t in_len;
  uint8_t out[32];
  size_t out_len, out_off;
} an_back;

typedef struct an_svc {
  uint32_t svc;
  uint16_t p_req, p_back;
  lp2p_host_autonat_config cfg;
  lp2p_autonat_book *book;
  lp2p_autonat_limiter *lim;
  an_creq *creqs;
  an_sreq *sreqs;
  uint32_t ncreqs, nauto;
  uint64_t ask_serial;
  int overall;
  int kick; /* an automatic request ended: others may ask now */
  lp2p_tstamp next;
} an_svc;

extern const hsvc_ops host_svc_autonat_ops;

static uint64_t peer_fp(const lp2p_host *h, const lp2p_peerid *p) {
  return lp2p_keyed_hash(h->hash_key, p->bytes, p->len);
}

static uint64_t rnd64(lp2p_host *h) {
  uint8_t b[8];
  uint64_t v = 0;
  h->rng.fill(h->rng.ctx, b, sizeof b);
  for (int i = 0; i < 8; i++)
    v = v << 8 | b[i];
  return v;
}

static int ip_public(const an_svc *st, const lp2p_maddr *m) {
  int fam, udp;
  uint8_t ip[16];
  uint16_t port;
  if (lp2p_maddr_to_ip_port(m, &fam, ip, &port, &udp) != 0 || udp)
    return 0;
  lp2p_ip_public_fn f =
      st->cfg.is_public ? st->cfg.is_public : lp2p_autonat_ip_is_public;
  return f(st->cfg.is_public_ud, fam, ip);
}

/* ---- client: candidates, verdicts ------------------------------------------
 */

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

static void refresh_candidates(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
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
    if (ip_public(st, &adv[i]))
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
        ip_public(st, &a.addr)) {
      lp2p_autonat_book_add(st->book, &a.addr, a.kind == LP2P_ADDR_MAPPED,
                            now);
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

static void creq_unlink(an_svc *st, an_creq *c) {
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
static void creq_finish(lp2p_host *h, an_svc *st, an_creq *c, int err,
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
static void creq_drop(lp2p_host *h, an_svc *st, an_creq *c, int err,
                      lp2p_tstamp now) {
  creq_finish(h, st, c, err, now);
  host_svc_reset(h, c->stream, now);
  creq_unlink(st, c);
  lp2p_mem_free(h->mem, c);
}

static void creq_pump(lp2p_host *h, an_svc *st, an_creq *c, lp2p_tstamp now) {
  const uint8_t *p;
  size_t len;
  while ((p = lp2p_autonat_creq_out_peek(&c->eng, &len)) && len) {
    lp2p_ssize w = host_svc_write(h, c->stream, now, p, len);
    if (w < 0) {
      creq_drop(h, st, c, (int)w, now);
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
        creq_drop(h, st, c, (int)w, now);
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
    creq_drop(h, st, c, c->eng.err, now);
    return;
  }
  if (c->eng.state == LP2P_AUTONAT_CREQ_DONE && !c->finished) {
    creq_finish(h, st, c, 0, now);
    host_svc_close(h, c->stream, now); /* "The client MUST close" */
  }
}

static int creq_start(lp2p_host *h, an_svc *st, uint64_t conn,
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
  c->server = peer_fp(h, peer);
  c->ask_id = ask_id;
  if (!ask_id)
    c->addr = addrs[0];
  /* A nonce that no request in flight uses. */
  uint64_t nonce;
  int clash;
  do {
    nonce = rnd64(h);
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
static void auto_ask(lp2p_host *h, an_svc *st, uint64_t conn, lp2p_tstamp now) {
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  if (!st->book || !peer || st->nauto >= AUTO_INFLIGHT_MAX ||
      !supports_dial_request(h, peer))
    return;
  uint64_t fp = peer_fp(h, peer);
  for (an_creq *c = st->creqs; c; c = c->next)
    if (c->server == fp && !c->ask_id)
      return; /* one automatic request per server at a time */
  lp2p_maddr a;
  if (!lp2p_autonat_book_pick(st->book, fp, now, &a))
    return;
  if (creq_start(h, st, conn, &a, 1, 0, now) != 0)
    lp2p_autonat_book_result(st->book, &a, fp, LP2P_AUTONAT_UNKNOWN, now);
}

static void auto_ask_all(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
  uint32_t pos = 0;
  uint64_t conn;
  while (st->book && st->nauto < AUTO_INFLIGHT_MAX &&
         (conn = host_svc_conn_next(h, &pos)) != 0)
    auto_ask(h, st, conn, now);
}

/* Re-read the timer. A finished automatic request (kick) makes it due at
 * once rather than asking from inside the hook that ended it: hooks also
 * run while the host frees its connections, when none may be walked. */
static void rearm(lp2p_host *h, an_svc *st, lp2p_tstamp now) {
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

/* ---- dial-back streams
 * --------------------------------------------------------- */

static void back_flush(lp2p_host *h, uint64_t s, an_back *b, lp2p_tstamp now) {
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

static void sreq_pump(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now);

/* Client side: a server dials us back with a nonce. */
static void back_in_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
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
  back_flush(h, s, b, now);
  if (b->out_off == b->out_len && !host_svc_local_closed(h, s))
    host_svc_close(h, s, now); /* "The client MUST close this stream" */
}

/* Server side: the dial-back stream to the client. */
static void back_out_result(lp2p_host *h, an_svc *st, an_back *b,
                            uint32_t dial_status, lp2p_tstamp now) {
  an_sreq *r = b->req;
  b->done = 1;
  if (!r)
    return;
  r->back = NULL;
  b->req = NULL;
  lp2p_autonat_sreq_dial_result(&r->eng, dial_status);
  sreq_pump(h, st, r, now);
}

static void back_out_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
                              lp2p_tstamp now) {
  back_flush(h, s, b, now);
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
  back_out_result(h, st, b,
                  k > 0 && status == 0 ? LP2P_AUTONAT_DIAL_OK
                                       : LP2P_AUTONAT_DIAL_BACK_ERROR,
                  now);
  /* The response tells us the nonce arrived: close the connection (the
   * stream's end frees b). */
  lp2p_host_conn_close(h, now, conn);
}

/* ---- server requests
 * ------------------------------------------------------------ */

static void sreq_unlink(lp2p_host *h, an_svc *st, an_sreq *r) {
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

static void sreq_drop(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now) {
  host_svc_reset(h, r->stream, now);
  sreq_unlink(h, st, r);
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

static void sreq_pump(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now) {
  const uint8_t *p;
  size_t len;
  for (;;) {
    while ((p = lp2p_autonat_sreq_out_peek(&r->eng, &len)) && len) {
      lp2p_ssize w = host_svc_write(h, r->stream, now, p, len);
      if (w < 0) {
        sreq_drop(h, st, r, now);
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
      sreq_drop(h, st, r, now);
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

static void sreq_start(lp2p_host *h, an_svc *st, uint64_t stream, uint64_t conn,
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
  r->peer_fp = peer_fp(h, peer);
  r->admitted = (uint8_t)lp2p_autonat_limiter_accept(st->lim, r->peer_fp, now);
  if (!r->admitted)
    host_logf(h, LP2P_LOG_INFO, "autonat peer=%P request rate-limited", peer);
  lp2p_autonat_sreq_init(&r->eng, &st->cfg.s, st->lim, fam, ip, !r->admitted,
                         rnd64(h));
  r->next = st->sreqs;
  st->sreqs = r;
  host_svc_stream_set_ud(h, stream, r);
  host_svc_stream_deadline(h, stream, host_add_ns(now, st->cfg.s.timeout_ns));
  sreq_pump(h, st, r, now);
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
    sreq_start(h, st, stream, conn, now);
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
  back_in_activity(h, st, stream, b, now);
}

static void an_stream_activity(lp2p_host *h, void *state, uint64_t stream,
                               void *ud, lp2p_tstamp now) {
  an_svc *st = state;
  if (!ud)
    return;
  switch (*(uint8_t *)ud) {
  case K_CREQ:
    creq_pump(h, st, ud, now);
    break;
  case K_SREQ:
    sreq_pump(h, st, ud, now);
    break;
  case K_BACK_IN:
    back_in_activity(h, st, stream, ud, now);
    break;
  case K_BACK_OUT:
    back_out_activity(h, st, stream, ud, now);
    break;
  }
  rearm(h, st, now);
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
    creq_finish(h, st, c, err ? err : LP2P_ERR_EOF, now);
    creq_unlink(st, c);
    lp2p_mem_free(h->mem, c);
    break;
  }
  case K_SREQ:
    sreq_unlink(h, st, ud);
    break;
  case K_BACK_OUT: {
    an_back *b = ud;
    if (!b->done) /* ended before the client's answer */
      back_out_result(h, st, b, LP2P_AUTONAT_DIAL_BACK_ERROR, now);
    if (b->req)
      b->req->back = NULL;
    lp2p_mem_free(h->mem, b);
    break;
  }
  default:
    lp2p_mem_free(h->mem, ud);
  }
  rearm(h, st, now);
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
    creq_drop(h, st, ud, LP2P_ERR_TIMEOUT, now);
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
      sreq_pump(h, st, r, now);
      break;
    }
    sreq_drop(h, st, r, now);
    break;
  }
  case K_BACK_OUT: {
    an_back *b = ud;
    uint64_t conn = b->conn;
    host_svc_reset(h, stream, now);
    if (!b->done)
      back_out_result(h, st, b, LP2P_AUTONAT_DIAL_BACK_ERROR, now);
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
  rearm(h, st, now);
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
    sreq_pump(h, st, r, now);
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
    sreq_pump(h, st, r, now);
    return;
  }
  b->kind = K_BACK_OUT;
  b->req = r;
  b->conn = conn;
  r->back = b;
  lp2p_autonat_dialback_encode(r->eng.nonce, b->out, sizeof b->out,
                               &b->out_len);
  host_svc_stream_deadline(h, s, host_add_ns(now, BACK_TIMEOUT_NS));
  back_flush(h, s, b, now);
}

static void an_identified(lp2p_host *h, void *state, uint64_t conn,
                          lp2p_tstamp now) {
  an_svc *st = state;
  if (!st->book)
    return;
  refresh_candidates(h, st, now);
  auto_ask(h, st, conn, now);
  rearm(h, st, now);
}

static void an_local_changed(lp2p_host *h, void *state, unsigned what,
                             lp2p_tstamp now) {
  an_svc *st = state;
  if (!st->book || !(what & (HSVC_LOCAL_ADDRS | HSVC_LOCAL_CANDIDATES)))
    return;
  /* "Re-checks on address changes": new candidates are due at once. */
  refresh_candidates(h, st, now);
  auto_ask_all(h, st, now);
  rearm(h, st, now);
}

static lp2p_tstamp an_next_timeout(const void *state) {
  return ((const an_svc *)state)->next;
}

static void an_handle_timeout(lp2p_host *h, void *state, lp2p_tstamp now) {
  an_svc *st = state;
  if (now < st->next)
    return;
  st->kick = 0;
  refresh_candidates(h, st, now);
  auto_ask_all(h, st, now);
  rearm(h, st, now);
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
  int rc = creq_start(h, st, conn, a->addrs, a->n, id, now);
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
