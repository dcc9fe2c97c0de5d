/* Pair harness for the upgrader tests: identity keys, a byte pipe, and a
 * world of two upgraders shuttled through a seeded random re-chunker with
 * a small application on top (stream handlers, echo, senders). */
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
  app_stream s[STREAMS];
  int events_after_close;
} node;

typedef struct world {
  node n[2];
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
  case LP2P_UPGRADER_EV_STREAM_NEGOTIATED: {
    app_stream *s = app_find(n, ev->stream_id, 0);
    assert_non_null(s);
    assert_false(s->negotiated);
    s->negotiated = 1;
    assert_int_equal(strlen(ev->protocol), ev->protocol_len);
    strcpy(s->proto, ev->protocol);
    break;
  }
  case LP2P_UPGRADER_EV_STREAM_NEGOTIATION_FAILED: {
    app_stream *s = app_find(n, ev->stream_id, 0);
    assert_non_null(s);
    s->failed = 1;
    s->fail_err = ev->err;
    break;
  }
  case LP2P_UPGRADER_EV_YAMUX: {
    const lp2p_yamux_event *y = &ev->yamux;
    if (y->type == LP2P_YAMUX_EV_STREAM_OPENED) {
      app_stream *s = app_find(n, y->stream_id, 1);
      s->echo = n->serve != NULL; /* without handlers: a silent peer */
      if (n->serve) {
        int r = lp2p_upgrader_stream_handle(n->u, w->now, y->stream_id,
                                            n->serve, n->nserve);
        if (r == LP2P_ERR_NOMEM)
          n->fatal = r;
        else if (r == LP2P_ERR_STATE) /* only once the connection died */
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
      if (s)
        s->closed = 1;
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
  for (int i = 0; i < STREAMS; i++) {
    app_stream *s = &n->s[i];
    if (!s->used || s->closed || s->failed)
      continue;
    size_t len;
    const uint8_t *d;
    while ((d = lp2p_upgrader_stream_read_peek(n->u, s->id, &len)) != NULL) {
      size_t k = lp2p_rng_below(&w->r, 2) ? len : piece(w, len);
      buf_put(&s->recv, d, k);
      int r = lp2p_upgrader_stream_read_consume(n->u, w->now, s->id, k);
      if (r == LP2P_ERR_NOMEM) {
        n->fatal = r;
        return 1;
      }
      assert_int_equal(r, 0);
      moved = 1;
    }
    const uint8_t *src = s->echo ? s->recv.p : s->send;
    size_t total = s->echo ? s->recv.len : s->send_len;
    size_t *done = s->echo ? &s->echoed : &s->sent;
    if (*done < total) {
      lp2p_ssize r = lp2p_upgrader_stream_write(n->u, w->now, s->id,
                                                src + *done,
                                                piece(w, total - *done));
      if (r == LP2P_ERR_NOMEM) {
        n->fatal = (int)r;
        return 1;
      }
      if (r == LP2P_ERR_AGAIN)
        continue;
      assert_true(r >= 0);
      *done += (size_t)r;
      moved |= r > 0;
    }
    int finished = s->echo ? s->remote_closed : 1;
    if (*done == total && finished && !s->close_sent &&
        (s->echo || s->send)) {
      int r = lp2p_upgrader_stream_close(n->u, w->now, s->id);
      if (r == LP2P_ERR_NOMEM) {
        n->fatal = r;
        return 1;
      }
      if (r == 0) {
        s->close_sent = 1;
        moved = 1;
      } else {
        assert_int_equal(r, LP2P_ERR_AGAIN);
      }
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
    for (int j = 0; j < STREAMS; j++)
      buf_free(&w->n[i].s[j].recv);
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
