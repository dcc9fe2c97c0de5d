/* Pair harness for the upgrader tests: identity keys, a byte pipe, and a
 * world of two upgraders shuttled through a seeded random re-chunker with
 * a small application on top (stream handlers, echo, senders). The
 * application negotiates each stream's protocol itself with an lp2p_ms
 * engine over the yamux stream (lp2p_upgrader_yamux + _flush), the way the
 * host does. */
#ifndef TEST_UPGRADER_PAIR_H
#define TEST_UPGRADER_PAIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/ms.h"
#include "lp2p/upgrader.h"

/* ---- keys ---------------------------------------------------------------- */

static lp2p_privkey keys[3];
static int keys_ready[3];

static const lp2p_privkey *key(int i) {
  if (!keys_ready[i]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x75706772u, (uint64_t)i, &r);
    assert_int_equal(lp2p_key_generate(&keys[i], LP2P_KEY_ED25519, 0, &r), 0);
    keys_ready[i] = 1;
  }
  return &keys[i];
}

static lp2p_peerid peer_of(int i) {
  lp2p_peerid id;
  assert_int_equal(lp2p_peerid_from_pubkey(&id, &key(i)->pub), 0);
  return id;
}

/* ---- byte pipe ------------------------------------------------------------- */

typedef struct buf {
  uint8_t *p;
  size_t off, len, cap;
} buf;

static void buf_put(buf *b, const uint8_t *p, size_t n) {
  if (!n)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}
static size_t buf_left(const buf *b) { return b->len - b->off; }
static void buf_free(buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ---- the application on each side ---------------------------------------- */

#define STREAMS 8

typedef struct app_stream {
  int used;
  uint32_t id;
  lp2p_ms *ms; /* while the stream's protocol is negotiated */
  int lazy, ms_eof;
  int negotiated, failed, fail_err, closed, remote_closed, close_sent;
  char proto[64];
  const uint8_t *send; /* outbound data (dialer streams) */
  size_t send_len, sent;
  int echo;            /* listener streams echo what they read */
  buf recv;            /* everything read */
  size_t echoed;
} app_stream;

typedef struct node {
  lp2p_upgrader *u;
  buf *tx;
  int identified, ready, early, closed, closed_err, eof_fed, fatal;
  char sec[32];
  lp2p_peerid peer;
  const char *const *serve;
  size_t nserve;
  uint64_t stream_timeout_ns; /* per-stream negotiation deadline, 0 none */
  app_stream s[STREAMS];
  int events_after_close;
} node;

typedef struct world {
  node n[2];
  const lp2p_mem *mem; /* also for the per-stream engines */
  buf wire[2];
  lp2p_rng_chacha st;
  lp2p_rng r;
  lp2p_tstamp now;
} world;

static size_t piece(world *w, size_t max) {
  if (!max)
    return 0;
  unsigned e = (unsigned)lp2p_rng_below(&w->r, 17);
  size_t k = 1 + (size_t)lp2p_rng_below(&w->r, (uint64_t)1 << e);
  return k < max ? k : max;
}

static app_stream *app_find(node *n, uint32_t id, int create) {
  for (int i = 0; i < STREAMS; i++)
    if (n->s[i].used && n->s[i].id == id)
      return &n->s[i];
  if (!create)
    return NULL;
  for (int i = 0; i < STREAMS; i++)
    if (!n->s[i].used) {
      memset(&n->s[i], 0, sizeof n->s[i]);
      n->s[i].used = 1;
      n->s[i].id = id;
      return &n->s[i];
    }
  fail_msg("too many streams");
  return NULL;
}

/* After a call on the yamux session: move its bytes and events through
 * the upgrader. NOMEM (from the call or the flush) ends the node. */
static int after(world *w, node *n, int r) {
  int f = lp2p_upgrader_flush(n->u, w->now);
  if (r == LP2P_ERR_NOMEM || f == LP2P_ERR_NOMEM)
    n->fatal = LP2P_ERR_NOMEM;
  return r;
}

/* Attach a multistream engine to stream s: a dialer proposes `protos`, a
 * listener serves them (and accepts the stream). Returns 0 or the
 * lp2p_ms / yamux error. */
static int app_attach(world *w, node *n, app_stream *s, int dialer,
                      const char *const *protos, size_t np, int lazy) {
  lp2p_ms_config mc;
  lp2p_ms_config_default(&mc);
  mc.timeout_ns = n->stream_timeout_ns;
  if (!dialer) {
    mc.protocols = protos;
    mc.protocols_len = np;
    int r = after(w, n, lp2p_yamux_stream_accept(lp2p_upgrader_yamux(n->u),
                                                 w->now, s->id));
    if (r)
      return r;
  }
  int r = lp2p_ms_new(&s->ms, dialer, &mc, w->mem, w->now);
  if (r == 0 && dialer)
    r = lp2p_ms_propose(s->ms, protos, np, lazy);
  if (r) {
    lp2p_ms_free(s->ms);
    s->ms = NULL;
    return r;
  }
  s->lazy = lazy;
  return 0;
}

/* Open an outbound stream and propose `protos` on it. Returns 0 or the
 * yamux / lp2p_ms error; *out gets the application's stream. */
static int app_select(world *w, node *n, const char *const *protos, size_t np,
                      int lazy, app_stream **out) {
  uint32_t id;
  lp2p_yamux *y = lp2p_upgrader_yamux(n->u);
  if (!y)
    return LP2P_ERR_STATE;
  int r = after(w, n, lp2p_yamux_stream_open(y, w->now, &id));
  if (r)
    return r;
  app_stream *s = app_find(n, id, 1);
  *out = s;
  return app_attach(w, n, s, 1, protos, np, lazy);
}

/* One step of a stream's negotiation: the engine's output into the
 * stream, the stream's bytes into the engine (it takes only its own
 * messages: what follows stays for the application), its deadline, its
 * outcome. Returns 1 if anything moved. */
static int ms_step(world *w, node *n, app_stream *s) {
  lp2p_yamux *y = lp2p_upgrader_yamux(n->u);
  int moved = 0;
  size_t len;
  const uint8_t *p;
  while ((p = lp2p_ms_out_peek(s->ms, &len)) != NULL) {
    lp2p_ssize r = lp2p_yamux_stream_write(y, w->now, s->id, p, len);
    after(w, n, r < 0 ? (int)r : 0);
    if (r <= 0)
      break; /* blocked (WRITABLE follows) or stream gone */
    lp2p_ms_out_consume(s->ms, (size_t)r);
    moved = 1;
  }
  while ((lp2p_ms_state(s->ms) & LP2P_STATE_WANT_READ) &&
         (p = lp2p_yamux_stream_read_peek(y, s->id, &len)) != NULL) {
    lp2p_ssize r = lp2p_ms_feed(s->ms, w->now, p, len);
    if (r < 0) { /* only NOMEM: the engine is dead */
      assert_int_equal(r, LP2P_ERR_NOMEM);
      n->fatal = (int)r;
      return 1;
    }
    if (r == 0)
      break;
    after(w, n, lp2p_yamux_stream_read_consume(y, w->now, s->id, (size_t)r));
    moved = 1;
  }
  if (s->remote_closed && !s->ms_eof &&
      (lp2p_ms_state(s->ms) & LP2P_STATE_WANT_READ) &&
      !lp2p_yamux_stream_read_peek(y, s->id, &len)) {
    s->ms_eof = 1;
    (void)lp2p_ms_feed_eof(s->ms, w->now);
    moved = 1;
  }
  if (lp2p_ms_next_timeout(s->ms) <= w->now)
    (void)lp2p_ms_handle_timeout(s->ms, w->now);
  lp2p_ms_event ev;
  int failed = 0;
  while (lp2p_ms_poll_event(s->ms, &ev)) {
    moved = 1;
    if (ev.type == LP2P_MS_EV_NEGOTIATED) {
      assert_false(s->negotiated);
      s->negotiated = 1;
      assert_int_equal(strlen(ev.protocol), ev.protocol_len);
      strcpy(s->proto, ev.protocol);
    } else if (ev.type == LP2P_MS_EV_FAILED) {
      s->failed = 1;
      s->fail_err = ev.err;
      failed = 1;
    }
  }
  if (failed) { /* no goodbye on a stream: reset it */
    lp2p_ms_free(s->ms);
    s->ms = NULL;
    after(w, n, lp2p_yamux_stream_reset(y, w->now, s->id));
  } else if (s->negotiated && !lp2p_ms_out_peek(s->ms, &len)) {
    lp2p_ms_free(s->ms); /* echo out: the stream is the application's */
    s->ms = NULL;
  }
  return moved;
}

static void on_event(world *w, node *n, const lp2p_upgrader_event *ev) {
  if (n->closed)
    n->events_after_close++;
  switch (ev->type) {
  case LP2P_UPGRADER_EV_PEER_IDENTIFIED:
    assert_false(n->identified);
    n->identified = 1;
    n->peer = *ev->peer;
    assert_true(lp2p_peerid_matches_pubkey(ev->peer, ev->key));
    assert_true(ev->protocol_len < sizeof n->sec);
    strcpy(n->sec, ev->protocol);
    break;
  case LP2P_UPGRADER_EV_READY:
    assert_true(n->identified);
    assert_false(n->ready);
    n->ready = 1;
    n->early = ev->early_muxer;
    assert_string_equal(ev->protocol, "/yamux/1.0.0");
    break;
  case LP2P_UPGRADER_EV_CLOSED:
    assert_false(n->closed);
    n->closed = 1;
    n->closed_err = ev->err;
    assert_int_equal(ev->err, lp2p_upgrader_last_error(n->u));
    break;
  case LP2P_UPGRADER_EV_YAMUX: {
    const lp2p_yamux_event *y = &ev->yamux;
    if (y->type == LP2P_YAMUX_EV_STREAM_OPENED) {
      app_stream *s = app_find(n, y->stream_id, 1);
      s->echo = n->serve != NULL; /* without handlers: a silent peer */
      if (n->serve) {
        int r = app_attach(w, n, s, 0, n->serve, n->nserve, 0);
        if (r == LP2P_ERR_NOMEM)
          n->fatal = r;
        else if (r == LP2P_ERR_CLOSED) /* only once the connection died */
          assert_true(lp2p_upgrader_last_error(n->u) < 0);
        else
          assert_int_equal(r, 0);
      }
    } else if (y->type == LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED) {
      app_stream *s = app_find(n, y->stream_id, 0);
      if (s)
        s->remote_closed = 1;
    } else if (y->type == LP2P_YAMUX_EV_STREAM_CLOSED ||
               y->type == LP2P_YAMUX_EV_STREAM_RESET) {
      app_stream *s = app_find(n, y->stream_id, 0);
      if (s) {
        s->closed = 1;
        if (s->ms) { /* gone while negotiating */
          lp2p_ms_free(s->ms);
          s->ms = NULL;
          s->failed = 1;
          s->fail_err = LP2P_ERR_RESET;
        }
      }
    }
    break;
  }
  default:
    fail_msg("unexpected event %d", ev->type);
  }
}

/* Application work on one node: read streams, echo, send, close. */
static int app_step(world *w, node *n) {
  int moved = 0;
  if (!n->ready || n->closed || n->fatal)
    return 0;
  lp2p_yamux *y = lp2p_upgrader_yamux(n->u);
  for (int i = 0; i < STREAMS; i++) {
    app_stream *s = &n->s[i];
    if (!s->used || s->closed || s->failed)
      continue;
    if (s->ms) {
      moved |= ms_step(w, n, s);
      if (n->fatal)
        return 1;
      if (s->failed)
        continue;
    }
    /* While negotiating the stream's bytes are the engine's; a lazy
     * dialer may write (and finish) once its proposal is out. */
    int may_write = !s->ms || (s->lazy && !lp2p_ms_out_peek(s->ms, NULL));
    size_t len;
    const uint8_t *d;
    while (!s->ms &&
           (d = lp2p_yamux_stream_read_peek(y, s->id, &len)) != NULL) {
      size_t k = lp2p_rng_below(&w->r, 2) ? len : piece(w, len);
      buf_put(&s->recv, d, k);
      int r = after(w, n, lp2p_yamux_stream_read_consume(y, w->now, s->id, k));
      if (n->fatal)
        return 1;
      assert_int_equal(r, 0);
      moved = 1;
    }
    const uint8_t *src = s->echo ? s->recv.p : s->send;
    size_t total = s->echo ? s->recv.len : s->send_len;
    size_t *done = s->echo ? &s->echoed : &s->sent;
    if (*done < total && may_write) {
      lp2p_ssize r = lp2p_yamux_stream_write(y, w->now, s->id, src + *done,
                                             piece(w, total - *done));
      after(w, n, r < 0 ? (int)r : 0);
      if (n->fatal)
        return 1;
      assert_true(r >= 0);
      *done += (size_t)r;
      moved |= r > 0;
    }
    int finished = s->echo ? s->remote_closed : 1;
    if (*done == total && finished && !s->close_sent && may_write &&
        (s->echo || s->send)) {
      int r = after(w, n, lp2p_yamux_stream_close(y, w->now, s->id));
      if (n->fatal)
        return 1;
      assert_int_equal(r, 0);
      s->close_sent = 1;
      moved = 1;
    }
  }
  return moved;
}

static int node_step(world *w, int i) {
  node *n = &w->n[i], *o = &w->n[1 - i];
  buf *in = &w->wire[1 - i];
  int moved = 0;
  if (!n->u)
    return 0;
  size_t len;
  const uint8_t *p;
  while ((p = lp2p_upgrader_out_peek(n->u, &len)) != NULL) {
    assert_true(lp2p_upgrader_state(n->u) & LP2P_STATE_HAS_OUTPUT);
    size_t k = lp2p_rng_below(&w->r, 2) ? len : piece(w, len);
    buf_put(&w->wire[i], p, k);
    lp2p_upgrader_out_consume(n->u, k);
    moved = 1;
  }
  if (buf_left(in) && !n->fatal) {
    size_t k = piece(w, buf_left(in));
    lp2p_ssize r = lp2p_upgrader_feed(n->u, w->now, in->p + in->off, k);
    if (r < 0) {
      assert_int_equal(r, LP2P_ERR_NOMEM);
      n->fatal = (int)r;
    } else {
      assert_true((size_t)r <= k);
      in->off += (size_t)r;
      moved |= r > 0;
    }
  }
  if (lp2p_upgrader_next_timeout(n->u) <= w->now && !n->fatal) {
    int r = lp2p_upgrader_handle_timeout(n->u, w->now);
    if (r)
      n->fatal = r;
    moved = 1;
  }
  lp2p_upgrader_event ev;
  while (lp2p_upgrader_poll_event(n->u, &ev)) {
    on_event(w, n, &ev);
    moved = 1;
  }
  moved |= app_step(w, n);
  /* The peer is done writing (closing and drained, or dead): EOF. */
  unsigned os = o->u ? lp2p_upgrader_state(o->u) : LP2P_STATE_CLOSED;
  int o_shut = !(os & LP2P_STATE_HAS_OUTPUT) &&
               ((os & (LP2P_STATE_CLOSING | LP2P_STATE_CLOSED)) || o->fatal);
  if (o_shut && !buf_left(in) && !n->eof_fed && !n->fatal) {
    n->eof_fed = 1;
    assert_int_equal(lp2p_upgrader_feed_eof(n->u, w->now), 0);
    moved = 1;
  }
  return moved;
}

static void run(world *w, int rounds) {
  int idle = 0;
  for (int r = 0; r < rounds && idle < 6; r++) {
    int m = node_step(w, (int)lp2p_rng_below(&w->r, 2));
    m |= node_step(w, 0);
    m |= node_step(w, 1);
    idle = m ? 0 : idle + 1;
    w->now += 1000;
  }
}

static void base_cfg(lp2p_upgrader_config *c, int keyi) {
  lp2p_upgrader_config_default(c);
  c->identity = key(keyi);
}

static void world_init(world *w, uint64_t seed, const lp2p_upgrader_config *dc,
                       const lp2p_upgrader_config *lc, const lp2p_mem *mem,
                       lp2p_rng *rngs) {
  memset(w, 0, sizeof *w);
  w->mem = mem;
  lp2p_rng_chacha_init(&w->st, seed, 1, &w->r);
  w->now = 1000;
  w->n[0].tx = &w->wire[0];
  w->n[1].tx = &w->wire[1];
  assert_int_equal(lp2p_upgrader_new(&w->n[0].u, 1, dc, mem, &rngs[0], w->now),
                   0);
  assert_int_equal(lp2p_upgrader_new(&w->n[1].u, 0, lc, mem, &rngs[1], w->now),
                   0);
}

static void world_free(world *w) {
  for (int i = 0; i < 2; i++) {
    lp2p_upgrader_free(w->n[i].u);
    for (int j = 0; j < STREAMS; j++) {
      lp2p_ms_free(w->n[i].s[j].ms);
      buf_free(&w->n[i].s[j].recv);
    }
    buf_free(&w->wire[i]);
  }
}

typedef struct rngs {
  lp2p_rng_chacha st[2];
  lp2p_rng r[2];
} rngs;

static void rngs_init(rngs *g, uint64_t seed) {
  lp2p_rng_chacha_init(&g->st[0], seed, 10, &g->r[0]);
  lp2p_rng_chacha_init(&g->st[1], seed, 11, &g->r[1]);
}

static uint8_t *pattern(size_t n, uint8_t salt) {
  uint8_t *p = malloc(n ? n : 1);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 131u + salt + (i >> 9));
  return p;
}

static const char *const SERVE[] = {"/echo/1.0.0", "/ipfs/ping/1.0.0"};

#endif
