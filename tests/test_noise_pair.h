/* Shared harness for the Noise engine tests: cached identity keys of all
 * four types, a byte pipe, and a pair driver that shuttles two engines'
 * output into each other through a seeded random re-chunker (1 byte ..
 * 64 KiB pieces, random partial out_consume and read_consume), moving
 * application data both ways and recording events. */
#ifndef TEST_NOISE_PAIR_H
#define TEST_NOISE_PAIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/noise.h"

/* ---- identity keys (generated once per process, deterministic) -------- */

static lp2p_privkey test_keys[4][2];
static int test_keys_ready[4][2];

static const lp2p_privkey *test_key(lp2p_key_type t, int which) {
  if (!test_keys_ready[t][which]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x6e6f697365u, (uint64_t)t * 2 + (uint64_t)which,
                         &r);
    assert_int_equal(lp2p_key_generate(&test_keys[t][which], t, 0, &r), 0);
    test_keys_ready[t][which] = 1;
  }
  return &test_keys[t][which];
}

/* ---- a byte pipe ------------------------------------------------------- */

typedef struct pipe_buf {
  uint8_t *p;
  size_t off, len, cap;
} pipe_buf;

static void pipe_put(pipe_buf *w, const uint8_t *p, size_t n) {
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4096;
    while (cap < w->len + n) cap *= 2;
    w->p = realloc(w->p, cap);
    assert_non_null(w->p);
    w->cap = cap;
  }
  memcpy(w->p + w->len, p, n);
  w->len += n;
}
static size_t pipe_left(const pipe_buf *w) { return w->len - w->off; }
static void pipe_free(pipe_buf *w) {
  free(w->p);
  memset(w, 0, sizeof *w);
}

/* ---- the pair driver ---------------------------------------------------- */

typedef struct side {
  lp2p_noise *n;
  int done, eof_ev, closed, closed_err, fatal;
  lp2p_noise_event hs_ev;
  char muxer[64];
  int has_muxer;
  /* plaintext to send and received */
  const uint8_t *send;
  size_t send_len, sent;
  pipe_buf recv;
  int close_when_sent;
} side;

typedef struct pair {
  side s[2]; /* 0 = initiator, 1 = responder */
  pipe_buf wire[2]; /* wire[i]: bytes written by s[i] */
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_tstamp now;
  int steps;
} pair;

/* Piece sizes from 1 byte to 64 KiB, log-uniform so small pieces (which
 * split length prefixes) are common and large ones still happen. */
static size_t rand_piece(pair *p, size_t max) {
  if (max == 0) return 0;
  unsigned e = (unsigned)lp2p_rng_below(&p->rng, 17);
  size_t k = 1 + (size_t)lp2p_rng_below(&p->rng, (uint64_t)1 << e);
  return k < max ? k : max;
}

static void pair_init(pair *p, uint64_t seed) {
  memset(p, 0, sizeof *p);
  lp2p_rng_chacha_init(&p->st, seed, 99, &p->rng);
  p->now = 1000;
}

/* One round for side i: drain output (random partial consumes), write
 * app data, feed a random piece of the peer's bytes, read plaintext with
 * random partial consumes, poll events. Returns 1 if anything moved. */
static int side_step(pair *p, int i) {
  side *s = &p->s[i];
  pipe_buf *in = &p->wire[1 - i];
  int moved = 0;
  if (!s->n || s->closed) return 0;
  size_t len;
  const uint8_t *o;
  while ((o = lp2p_noise_out_peek(s->n, &len)) != NULL) {
    assert_true(len > 0);
    assert_true(lp2p_noise_state(s->n) & LP2P_STATE_HAS_OUTPUT);
    size_t k = lp2p_rng_below(&p->rng, 2) ? len : rand_piece(p, len);
    pipe_put(&p->wire[i], o, k);
    lp2p_noise_out_consume(s->n, k);
    moved = 1;
  }
  if (s->done && !s->fatal && s->sent < s->send_len) {
    size_t k = rand_piece(p, s->send_len - s->sent);
    if (lp2p_rng_below(&p->rng, 4) == 0) k = s->send_len - s->sent;
    lp2p_ssize r = lp2p_noise_write(s->n, p->now, s->send + s->sent, k);
    if (r < 0) {
      s->fatal = (int)r;
    } else {
      assert_true((size_t)r <= k);
      s->sent += (size_t)r;
      if (r > 0) moved = 1;
    }
  }
  if (s->done && s->close_when_sent && s->sent == s->send_len &&
      !(lp2p_noise_state(s->n) & LP2P_STATE_CLOSING))
    assert_int_equal(lp2p_noise_close(s->n, p->now), 0);
  if (pipe_left(in) > 0 && !s->fatal && lp2p_rng_below(&p->rng, 3) == 0) {
    /* The zero-copy path: read "from the socket" straight into the
     * engine's buffer. */
    size_t cap = 0;
    uint8_t *dst = lp2p_noise_recv_buf(s->n, &cap);
    assert_true(cap <= lp2p_noise_recv_room(s->n));
    assert_true(dst || cap == 0);
    size_t k = rand_piece(p, pipe_left(in));
    if (k > cap) k = cap;
    if (dst) memcpy(dst, in->p + in->off, k);
    int rc = lp2p_noise_recv_commit(s->n, p->now, k);
    if (rc < 0) {
      s->fatal = rc;
    } else {
      in->off += k;
      if (k) moved = 1;
    }
  } else if (pipe_left(in) > 0 && !s->fatal) {
    size_t k = rand_piece(p, pipe_left(in));
    lp2p_ssize r = lp2p_noise_feed(s->n, p->now, in->p + in->off, k);
    if (r < 0) {
      s->fatal = (int)r;
    } else {
      assert_true((size_t)r <= k);
      in->off += (size_t)r;
      if (r > 0) moved = 1;
    }
  }
  const uint8_t *d;
  while ((d = lp2p_noise_read_peek(s->n, &len)) != NULL) {
    assert_true(len > 0);
    size_t k = lp2p_rng_below(&p->rng, 2) ? len : rand_piece(p, len);
    pipe_put(&s->recv, d, k);
    lp2p_noise_read_consume(s->n, k);
    moved = 1;
  }
  lp2p_noise_event ev;
  while (lp2p_noise_poll_event(s->n, &ev)) {
    moved = 1;
    assert_false(s->closed); /* nothing after CLOSED */
    if (ev.type == LP2P_NOISE_EV_HANDSHAKE_DONE) {
      assert_false(s->done);
      s->done = 1;
      s->hs_ev = ev;
      s->has_muxer = ev.muxer != NULL;
      if (ev.muxer) {
        assert_true(strlen(ev.muxer) < sizeof s->muxer);
        strcpy(s->muxer, ev.muxer);
      }
    } else if (ev.type == LP2P_NOISE_EV_EOF) {
      s->eof_ev = 1;
    } else if (ev.type == LP2P_NOISE_EV_CLOSED) {
      s->closed = 1;
      s->closed_err = ev.err;
    } else {
      fail_msg("unknown event %d", ev.type);
    }
  }
  if (lp2p_noise_state(s->n) & LP2P_STATE_CLOSED) {
    if (!s->closed) {
      /* the CLOSED event must already have been delivered above */
      fail_msg("state CLOSED without CLOSED event");
    }
  }
  /* The peer shut its write side once it was drained: pass the EOF on. */
  side *peer = &p->s[1 - i];
  unsigned ps = peer->n ? lp2p_noise_state(peer->n) : 0;
  int peer_shut = (ps & LP2P_STATE_CLOSING && !(ps & LP2P_STATE_HAS_OUTPUT)) ||
                  (ps & LP2P_STATE_CLOSED && lp2p_noise_last_error(peer->n) == 0);
  if (peer_shut && pipe_left(in) == 0 && !s->eof_ev && !s->closed && s->done) {
    assert_int_equal(lp2p_noise_feed_eof(s->n, p->now), 0);
    moved = 1;
  }
  return moved;
}

/* Run until nothing moves for a while. Returns the number of rounds. */
static int pair_run(pair *p, int max_rounds) {
  int idle = 0, r = 0;
  for (; r < max_rounds && idle < 8; r++) {
    int m = side_step(p, (int)lp2p_rng_below(&p->rng, 2));
    m |= side_step(p, 0);
    m |= side_step(p, 1);
    idle = m ? 0 : idle + 1;
  }
  return r;
}

static void pair_free(pair *p) {
  for (int i = 0; i < 2; i++) {
    lp2p_noise_free(p->s[i].n);
    pipe_free(&p->s[i].recv);
    pipe_free(&p->wire[i]);
  }
}

static void fill_pattern(uint8_t *buf, size_t n, uint64_t seed) {
  lp2p_rng_chacha st;
  lp2p_rng r;
  lp2p_rng_chacha_init(&st, seed, 7, &r);
  r.fill(r.ctx, buf, n);
}

#endif
