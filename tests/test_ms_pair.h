/* Pair harness for the multistream-select tests: a byte pipe, a seeded
 * random re-chunker and a driver that shuttles a dialer and a listener
 * and records their events. */
#ifndef TEST_MS_PAIR_H
#define TEST_MS_PAIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/ms.h"

/* ---- a growable byte buffer standing in for the wire ------------------ */

typedef struct wire {
  uint8_t *p;
  size_t off, len, cap;
} wire;

static void wire_put(wire *w, const uint8_t *p, size_t n) {
  if (n == 0)
    return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < w->len + n)
      cap *= 2;
    w->p = realloc(w->p, cap);
    assert_non_null(w->p);
    w->cap = cap;
  }
  memcpy(w->p + w->len, p, n);
  w->len += n;
}
static size_t wire_left(const wire *w) { return w->len - w->off; }
static void wire_free(wire *w) {
  free(w->p);
  memset(w, 0, sizeof *w);
}

static void hexput(char *dst, size_t cap, const uint8_t *p, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 3 < cap; i++)
    o += (size_t)snprintf(dst + o, cap - o, "%02x", p[i]);
  dst[o] = 0;
}

/* ---- pair driver ------------------------------------------------------- */

typedef struct peer {
  lp2p_ms *ms;
  wire *tx;       /* what this peer writes */
  wire rest;      /* bytes fed but left for the next layer */
  int done;       /* 1 negotiated, -1 failed */
  int err;
  size_t index;
  char proto[64];
  size_t ls_count;
  int events;
} peer;

typedef struct rnd {
  lp2p_rng_chacha st;
  lp2p_rng r;
} rnd;

static size_t pick_chunk(rnd *g, size_t left) {
  /* Mostly small chunks, sometimes huge: 1 byte .. 64 KiB. */
  size_t max = lp2p_rng_below(&g->r, 4) == 0 ? 65536 : 7;
  size_t k = 1 + (size_t)lp2p_rng_below(&g->r, max);
  return k < left ? k : left;
}

/* Drain a peer's output into its wire, with random partial consumes. */
static void drain_out(peer *a, rnd *g) {
  for (;;) {
    size_t len = 0;
    const uint8_t *o = lp2p_ms_out_peek(a->ms, &len);
    if (!len) {
      assert_null(o);
      assert_false(lp2p_ms_state(a->ms) & LP2P_STATE_HAS_OUTPUT);
      return;
    }
    assert_true(lp2p_ms_state(a->ms) & LP2P_STATE_HAS_OUTPUT);
    size_t k = g ? 1 + (size_t)lp2p_rng_below(&g->r, len) : len;
    wire_put(a->tx, o, k);
    lp2p_ms_out_consume(a->ms, k);
  }
}

static void drain_events(peer *a) {
  lp2p_ms_event ev;
  while (lp2p_ms_poll_event(a->ms, &ev)) {
    a->events++;
    switch (ev.type) {
    case LP2P_MS_EV_NEGOTIATED:
      assert_int_equal(a->done, 0);
      a->done = 1;
      a->index = ev.index;
      assert_true(ev.protocol_len < sizeof a->proto);
      assert_int_equal(strlen(ev.protocol), ev.protocol_len);
      memcpy(a->proto, ev.protocol, ev.protocol_len + 1);
      break;
    case LP2P_MS_EV_FAILED:
      assert_int_equal(a->done, 0);
      a->done = -1;
      a->err = ev.err;
      assert_int_equal(ev.err, lp2p_ms_last_error(a->ms));
      break;
    case LP2P_MS_EV_LS_RESULT:
      a->ls_count = ev.ls_count;
      break;
    default:
      fail_msg("unknown event %d", ev.type);
    }
  }
}

/* Feed one random chunk of `w` (written by the other side) into `a`.
 * Bytes the engine leaves go to a->rest, as a next layer would get them.
 * Returns 0, or the negative feed result (NOMEM only). */
static lp2p_ssize deliver(peer *a, wire *w, rnd *g) {
  size_t left = wire_left(w);
  if (!left)
    return 0;
  size_t k = g ? pick_chunk(g, left) : left;
  if (a->done) { /* next layer owns everything now */
    wire_put(&a->rest, w->p + w->off, k);
    w->off += k;
    return 0;
  }
  lp2p_ssize r = lp2p_ms_feed(a->ms, 0, w->p + w->off, k);
  if (r < 0)
    return r;
  assert_true((size_t)r <= k);
  if ((size_t)r < k) /* stopped: the negotiation must be over */
    assert_false(lp2p_ms_state(a->ms) & LP2P_STATE_WANT_READ);
  wire_put(&a->rest, w->p + w->off + r, k - (size_t)r);
  w->off += k;
  return 0;
}

static void peer_free(peer *a) {
  lp2p_ms_free(a->ms);
  wire_free(&a->rest);
}

/* Shuttle until both sides are quiet. `lazy_data` is written by the
 * dialer right after its lazy proposal; `reply` by the listener right
 * after agreeing. Returns 0 or the first NOMEM seen. */
static int run_pair(peer *d, peer *l, wire *d2l, wire *l2d, rnd *g,
                    const char *lazy_data, const char *reply) {
  int sent_lazy = 0, sent_reply = 0;
  for (int iter = 0; iter < 100000; iter++) {
    drain_out(d, g);
    drain_out(l, g);
    if (lazy_data && !sent_lazy && lp2p_ms_can_send(d->ms)) {
      wire_put(d2l, (const uint8_t *)lazy_data, strlen(lazy_data));
      sent_lazy = 1;
    }
    drain_events(d);
    drain_events(l);
    if (reply && !sent_reply && l->done == 1) {
      wire_put(l2d, (const uint8_t *)reply, strlen(reply));
      sent_reply = 1;
    }
    if (!wire_left(d2l) && !wire_left(l2d))
      return 0;
    lp2p_ssize r = deliver(l, d2l, g);
    if (r < 0)
      return (int)r;
    r = deliver(d, l2d, g);
    if (r < 0)
      return (int)r;
  }
  fail_msg("pair did not settle");
  return -1;
}

static void mk_pair(peer *d, peer *l, wire *d2l, wire *l2d,
                    const char *const *lprotos, size_t nl,
                    const lp2p_mem *mem) {
  memset(d, 0, sizeof *d);
  memset(l, 0, sizeof *l);
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  assert_int_equal(lp2p_ms_new(&d->ms, 1, &cfg, mem, 0), 0);
  cfg.protocols = lprotos;
  cfg.protocols_len = nl;
  assert_int_equal(lp2p_ms_new(&l->ms, 0, &cfg, mem, 0), 0);
  d->tx = d2l;
  l->tx = l2d;
}

static const char *const LPROTOS[] = {"/noise", "/yamux/1.0.0", "/echo/1"};

#endif
