/* plaintext/2.0.0 engine tests: exchanges between all key types over a
 * randomly re-chunking pipe, pass-through of MiB both ways with close/EOF,
 * id/key and expected-peer checks, malformed and oversized Exchanges,
 * early data, EOF and timeouts, bounds, and an allocation-failure sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/plaintext.h"
#include "lp2p/protobuf.h"
#include "proto/plaintext/plaintext_int.h"

static lp2p_privkey keys[4][2];
static int keys_ready[4][2];

static const lp2p_privkey *key(lp2p_key_type t, int which) {
  if (!keys_ready[t][which]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x706c61696eu, (uint64_t)t * 2 + (uint64_t)which,
                         &r);
    assert_int_equal(lp2p_key_generate(&keys[t][which], t, 0, &r), 0);
    keys_ready[t][which] = 1;
  }
  return &keys[t][which];
}

static lp2p_plaintext_config cfg_for(const lp2p_privkey *id) {
  lp2p_plaintext_config c;
  lp2p_plaintext_config_default(&c);
  c.identity = id;
  return c;
}

/* ---- pair driver ------------------------------------------------------ */

typedef struct buf {
  uint8_t *p;
  size_t off, len, cap;
} buf;

static void buf_put(buf *b, const uint8_t *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}

typedef struct side {
  lp2p_plaintext *t;
  int done, eof_ev, closed, closed_err, fatal;
  lp2p_plaintext_event hs;
  const uint8_t *send;
  size_t send_len, sent;
  buf recv;
} side;

typedef struct pair {
  side s[2];
  buf wire[2];
  lp2p_rng_chacha st;
  lp2p_rng rng;
} pair;

static size_t piece(pair *p, size_t max) {
  if (max == 0) return 0;
  unsigned e = (unsigned)lp2p_rng_below(&p->rng, 17);
  size_t k = 1 + (size_t)lp2p_rng_below(&p->rng, (uint64_t)1 << e);
  return k < max ? k : max;
}

static int step(pair *p, int i) {
  side *s = &p->s[i], *peer = &p->s[1 - i];
  buf *in = &p->wire[1 - i];
  int moved = 0;
  size_t len;
  const uint8_t *o;
  if (s->closed) return 0;
  while ((o = lp2p_plaintext_out_peek(s->t, &len)) != NULL) {
    size_t k = piece(p, len);
    buf_put(&p->wire[i], o, k);
    lp2p_plaintext_out_consume(s->t, k);
    moved = 1;
  }
  if (s->done && !s->fatal && s->sent < s->send_len) {
    lp2p_ssize r = lp2p_plaintext_write(s->t, 0, s->send + s->sent,
                                        piece(p, s->send_len - s->sent));
    if (r < 0) s->fatal = (int)r;
    else s->sent += (size_t)r, moved |= r > 0;
    if (s->sent == s->send_len) assert_int_equal(lp2p_plaintext_close(s->t, 0), 0);
  }
  if (in->len > in->off && !s->fatal) {
    lp2p_ssize r = lp2p_plaintext_feed(s->t, 0, in->p + in->off,
                                       piece(p, in->len - in->off));
    if (r < 0) s->fatal = (int)r;
    else in->off += (size_t)r, moved |= r > 0;
  }
  while ((o = lp2p_plaintext_read_peek(s->t, &len)) != NULL) {
    size_t k = piece(p, len);
    buf_put(&s->recv, o, k);
    lp2p_plaintext_read_consume(s->t, k);
    moved = 1;
  }
  lp2p_plaintext_event ev;
  while (lp2p_plaintext_poll_event(s->t, &ev)) {
    moved = 1;
    assert_false(s->closed);
    if (ev.type == LP2P_PLAINTEXT_EV_HANDSHAKE_DONE) s->done = 1, s->hs = ev;
    else if (ev.type == LP2P_PLAINTEXT_EV_EOF) s->eof_ev = 1;
    else if (ev.type == LP2P_PLAINTEXT_EV_CLOSED)
      s->closed = 1, s->closed_err = ev.err;
  }
  unsigned ps = lp2p_plaintext_state(peer->t);
  int shut = ((ps & LP2P_STATE_CLOSING) && !(ps & LP2P_STATE_HAS_OUTPUT)) ||
             ((ps & LP2P_STATE_CLOSED) && lp2p_plaintext_last_error(peer->t) == 0);
  if (shut && in->off == in->len && s->done && !s->eof_ev && !s->closed) {
    assert_int_equal(lp2p_plaintext_feed_eof(s->t, 0), 0);
    moved = 1;
  }
  return moved;
}

static void run(pair *p) {
  for (int idle = 0, r = 0; idle < 8 && r < 10000000; r++) {
    int m = step(p, 0);
    m |= step(p, 1);
    idle = m ? 0 : idle + 1;
  }
}

static void pair_free(pair *p) {
  for (int i = 0; i < 2; i++) {
    lp2p_plaintext_free(p->s[i].t);
    free(p->s[i].recv.p);
    free(p->wire[i].p);
  }
}

static void start(pair *p, uint64_t seed, const lp2p_plaintext_config *ci,
                  const lp2p_plaintext_config *cr, const lp2p_mem *mem) {
  memset(p, 0, sizeof *p);
  lp2p_rng_chacha_init(&p->st, seed, 5, &p->rng);
  assert_int_equal(lp2p_plaintext_new(&p->s[0].t, 1, ci, mem, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_new(&p->s[1].t, 0, cr, mem, NULL, 0), 0);
}

/* ---- cases ------------------------------------------------------------ */

static void test_exchange_all_key_types(void **state) {
  (void)state;
  for (int a = 0; a < 4; a++) {
    for (int b = 0; b < 4; b++) {
      lp2p_mem_counting mc;
      lp2p_mem_counting_init(&mc, NULL);
      lp2p_plaintext_config ci = cfg_for(key((lp2p_key_type)a, 0));
      lp2p_plaintext_config cr = cfg_for(key((lp2p_key_type)b, 1));
      pair p;
      start(&p, (uint64_t)(a * 4 + b), &ci, &cr, &mc.mem);
      /* Both sides speak at once. */
      assert_true(lp2p_plaintext_state(p.s[0].t) & LP2P_STATE_HAS_OUTPUT);
      assert_true(lp2p_plaintext_state(p.s[1].t) & LP2P_STATE_HAS_OUTPUT);
      run(&p);
      for (int i = 0; i < 2; i++) {
        const lp2p_privkey *remote = i ? ci.identity : cr.identity;
        lp2p_peerid want;
        assert_true(p.s[i].done);
        assert_int_equal(lp2p_peerid_from_pubkey(&want, &remote->pub), 0);
        assert_true(lp2p_peerid_equal(&want, &p.s[i].hs.peer));
        assert_true(lp2p_peerid_equal(&want, lp2p_plaintext_remote_peer(p.s[i].t)));
        assert_true(lp2p_pubkey_equal(&remote->pub, &p.s[i].hs.key));
        assert_int_equal(lp2p_plaintext_next_timeout(p.s[i].t), LP2P_TSTAMP_NONE);
      }
      /* Idle: just the two engine structs. */
      assert_int_equal(mc.live_allocs, 2);
      pair_free(&p);
      assert_int_equal(mc.live_bytes, 0);
    }
  }
}

static void fill(uint8_t *b, size_t n, uint64_t seed) {
  lp2p_rng_chacha st;
  lp2p_rng r;
  lp2p_rng_chacha_init(&st, seed, 3, &r);
  r.fill(r.ctx, b, n);
}

static void test_pass_through_and_close(void **state) {
  (void)state;
  size_t n0 = 2u << 20, n1 = 1234567;
  uint8_t *d0 = malloc(n0), *d1 = malloc(n1);
  assert_non_null(d0);
  assert_non_null(d1);
  fill(d0, n0, 1);
  fill(d1, n1, 2);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_plaintext_config ci = cfg_for(key(LP2P_KEY_ED25519, 0));
  lp2p_plaintext_config cr = cfg_for(key(LP2P_KEY_RSA, 1));
  pair p;
  start(&p, 77, &ci, &cr, &mc.mem);
  p.s[0].send = d0;
  p.s[0].send_len = n0;
  p.s[1].send = d1;
  p.s[1].send_len = n1;
  run(&p);
  assert_int_equal(p.s[1].recv.len, n0);
  assert_memory_equal(p.s[1].recv.p, d0, n0);
  assert_int_equal(p.s[0].recv.len, n1);
  assert_memory_equal(p.s[0].recv.p, d1, n1);
  for (int i = 0; i < 2; i++) {
    assert_true(p.s[i].eof_ev && p.s[i].closed);
    assert_int_equal(p.s[i].closed_err, 0);
    assert_int_equal(lp2p_plaintext_state(p.s[i].t), LP2P_STATE_CLOSED);
    assert_int_equal(lp2p_plaintext_write(p.s[i].t, 0, d0, 1), LP2P_ERR_CLOSED);
  }
  pair_free(&p);
  assert_int_equal(mc.live_bytes, 0);
  free(d0);
  free(d1);
}

/* Build a framed Exchange by hand. */
static size_t exchange(uint8_t *out, const uint8_t *id, size_t idl,
                       const uint8_t *pk, size_t pkl) {
  uint8_t body[2048];
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, body, sizeof body);
  if (id) lp2p_pb_put_bytes(&w, 1, id, idl);
  if (pk) lp2p_pb_put_bytes(&w, 2, pk, pkl);
  assert_int_equal(w.err, 0);
  assert_true(w.len < 128);
  out[0] = (uint8_t)w.len;
  memcpy(out + 1, body, w.len);
  return 1 + w.len;
}

/* A responder engine fed `p`; returns it for inspection. */
static lp2p_plaintext *fed(const uint8_t *p, size_t n, lp2p_mem_counting *mc) {
  lp2p_plaintext_config c = cfg_for(key(LP2P_KEY_ED25519, 0));
  lp2p_plaintext *t;
  assert_int_equal(lp2p_plaintext_new(&t, 0, &c, &mc->mem, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_feed(t, 0, p, n), (lp2p_ssize)n);
  return t;
}

static void expect_closed(lp2p_plaintext *t, int err) {
  assert_int_equal(lp2p_plaintext_state(t), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_plaintext_last_error(t), err);
  lp2p_plaintext_event ev;
  assert_int_equal(lp2p_plaintext_poll_event(t, &ev), 1);
  assert_int_equal(ev.type, LP2P_PLAINTEXT_EV_CLOSED);
  assert_int_equal(ev.err, err);
  assert_int_equal(lp2p_plaintext_poll_event(t, &ev), 0);
}

static void test_bad_exchanges(void **state) {
  (void)state;
  const lp2p_pubkey *k1 = &key(LP2P_KEY_ED25519, 1)->pub;
  const lp2p_pubkey *k2 = &key(LP2P_KEY_SECP256K1, 1)->pub;
  uint8_t pk[LP2P_PUBKEY_PB_MAX], pk2[LP2P_PUBKEY_PB_MAX];
  size_t pkl, pk2l;
  assert_int_equal(lp2p_pubkey_marshal(k1, pk, sizeof pk, &pkl), 0);
  assert_int_equal(lp2p_pubkey_marshal(k2, pk2, sizeof pk2, &pk2l), 0);
  lp2p_peerid id1, id2;
  assert_int_equal(lp2p_peerid_from_pubkey(&id1, k1), 0);
  assert_int_equal(lp2p_peerid_from_pubkey(&id2, k2), 0);
  struct {
    uint8_t m[512];
    size_t n;
    int err;
  } c[8];
  size_t nc = 0;
  /* id of another key */
  c[nc].n = exchange(c[nc].m, id2.bytes, id2.len, pk, pkl);
  c[nc++].err = LP2P_ERR_PEER_ID_MISMATCH;
  /* no pubkey / no id */
  c[nc].n = exchange(c[nc].m, id1.bytes, id1.len, NULL, 0);
  c[nc++].err = LP2P_ERR_PROTO;
  c[nc].n = exchange(c[nc].m, NULL, 0, pk, pkl);
  c[nc++].err = LP2P_ERR_PROTO;
  /* an invalid PublicKey */
  c[nc].n = exchange(c[nc].m, id1.bytes, id1.len,
                     (const uint8_t *)"\x08\x01\x12\x02zz", 6);
  c[nc++].err = LP2P_ERR_PROTO;
  /* body that is not protobuf */
  memcpy(c[nc].m, "\x03\x0a\x09z", 4);
  c[nc].n = 4;
  c[nc++].err = LP2P_ERR_PROTO;
  /* non-minimal varint length */
  memcpy(c[nc].m, "\x80\x00", 2);
  c[nc].n = 2;
  c[nc++].err = LP2P_ERR_PROTO;
  /* longer than exchange_bytes_max (4096) */
  memcpy(c[nc].m, "\x81\x20", 2);
  c[nc].n = 2;
  c[nc++].err = LP2P_ERR_LIMIT;
  for (size_t i = 0; i < nc; i++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    lp2p_plaintext *t = fed(c[i].m, c[i].n, &mc);
    expect_closed(t, c[i].err);
    assert_null(lp2p_plaintext_remote_peer(t));
    assert_int_equal(lp2p_plaintext_feed(t, 0, c[i].m, 1), c[i].err);
    lp2p_plaintext_free(t);
    assert_int_equal(mc.live_bytes, 0);
  }
  /* Unknown fields are skipped; bytes behind the Exchange are app data. */
  uint8_t m[512];
  size_t n = exchange(m, id1.bytes, id1.len, pk, pkl);
  uint8_t ext[600];
  memcpy(ext, m + 1, n - 1);
  ext[n - 1] = 0x18; /* field 3, varint 7 */
  ext[n] = 0x07;
  m[0] = (uint8_t)(n + 1);
  memcpy(m + 1, ext, n + 1);
  n += 2;
  memcpy(m + n, "hello", 5);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_plaintext *t = fed(m, n + 5, &mc);
  assert_true(lp2p_plaintext_handshake_done(t));
  size_t len;
  const uint8_t *d = lp2p_plaintext_read_peek(t, &len);
  assert_int_equal(len, 5);
  assert_memory_equal(d, "hello", 5);
  lp2p_plaintext_free(t);
  assert_int_equal(mc.live_bytes, 0);
}

static void test_expected_peer(void **state) {
  (void)state;
  for (int mismatch = 0; mismatch < 2; mismatch++) {
    lp2p_plaintext_config ci = cfg_for(key(LP2P_KEY_ECDSA, 0));
    lp2p_plaintext_config cr = cfg_for(key(LP2P_KEY_ECDSA, 1));
    lp2p_peerid want;
    assert_int_equal(
        lp2p_peerid_from_pubkey(&want, &key(LP2P_KEY_ECDSA, mismatch ? 0 : 1)->pub),
        0);
    ci.expected_peer = &want;
    pair p;
    start(&p, 5, &ci, &cr, NULL);
    run(&p);
    assert_int_equal(p.s[0].done, !mismatch);
    assert_true(p.s[1].done); /* the listener cannot tell */
    if (mismatch) assert_int_equal(p.s[0].closed_err, LP2P_ERR_PEER_ID_MISMATCH);
    pair_free(&p);
  }
}

static void test_eof_timeout_and_config(void **state) {
  (void)state;
  lp2p_plaintext_config c = cfg_for(key(LP2P_KEY_ED25519, 0));
  c.handshake_timeout_ns = 3 * LP2P_NS_PER_S;
  lp2p_plaintext *t;
  assert_int_equal(lp2p_plaintext_new(&t, 1, &c, NULL, NULL, 100), 0);
  assert_int_equal(lp2p_plaintext_next_timeout(t), 100 + 3 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_plaintext_write(t, 0, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_plaintext_handle_timeout(t, 99 + 3 * LP2P_NS_PER_S), 0);
  assert_int_equal(lp2p_plaintext_last_error(t), 0);
  assert_int_equal(lp2p_plaintext_handle_timeout(t, 100 + 3 * LP2P_NS_PER_S), 0);
  expect_closed(t, LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_plaintext_next_timeout(t), LP2P_TSTAMP_NONE);
  lp2p_plaintext_free(t);
  /* EOF during the exchange, at a boundary and inside the message. */
  assert_int_equal(lp2p_plaintext_new(&t, 0, &c, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_feed_eof(t, 0), 0);
  expect_closed(t, LP2P_ERR_EOF);
  lp2p_plaintext_free(t);
  assert_int_equal(lp2p_plaintext_new(&t, 0, &c, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_feed(t, 0, (const uint8_t *)"\x20\x0a", 2), 2);
  assert_int_equal(lp2p_plaintext_feed_eof(t, 0), 0);
  expect_closed(t, LP2P_ERR_TRUNCATED);
  lp2p_plaintext_free(t);
  /* Closing during the exchange abandons it. */
  assert_int_equal(lp2p_plaintext_new(&t, 0, &c, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_close(t, 0), 0);
  expect_closed(t, LP2P_ERR_CLOSED);
  lp2p_plaintext_free(t);
  /* Config checks. */
  t = (lp2p_plaintext *)&c;
  lp2p_plaintext_config bad = cfg_for(NULL);
  assert_int_equal(lp2p_plaintext_new(&t, 0, &bad, NULL, NULL, 0), LP2P_ERR_INVAL);
  assert_null(t);
  bad = cfg_for(key(LP2P_KEY_ED25519, 0));
  bad.recv_buffer_bytes_max = bad.exchange_bytes_max;
  assert_int_equal(lp2p_plaintext_new(&t, 0, &bad, NULL, NULL, 0), LP2P_ERR_INVAL);
  bad = cfg_for(key(LP2P_KEY_ED25519, 0));
  bad.out_buffer_bytes_max = 10;
  assert_int_equal(lp2p_plaintext_new(&t, 0, &bad, NULL, NULL, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_plaintext_new(NULL, 0, &c, NULL, NULL, 0), LP2P_ERR_INVAL);
  lp2p_plaintext_free(NULL);
}

static void test_bounds(void **state) {
  (void)state;
  lp2p_plaintext_config ci = cfg_for(key(LP2P_KEY_ED25519, 0));
  lp2p_plaintext_config cr = cfg_for(key(LP2P_KEY_ED25519, 1));
  ci.out_buffer_bytes_max = 5000;
  cr.recv_buffer_bytes_max = 4200;
  lp2p_plaintext *a, *b;
  assert_int_equal(lp2p_plaintext_new(&a, 1, &ci, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_plaintext_new(&b, 0, &cr, NULL, NULL, 0), 0);
  size_t len;
  const uint8_t *o = lp2p_plaintext_out_peek(a, &len);
  assert_int_equal(lp2p_plaintext_feed(b, 0, o, len), (lp2p_ssize)len);
  lp2p_plaintext_out_consume(a, len);
  o = lp2p_plaintext_out_peek(b, &len);
  assert_int_equal(lp2p_plaintext_feed(a, 0, o, len), (lp2p_ssize)len);
  lp2p_plaintext_out_consume(b, len);
  assert_true(lp2p_plaintext_handshake_done(a) && lp2p_plaintext_handshake_done(b));
  uint8_t big[9000];
  fill(big, sizeof big, 4);
  assert_int_equal(lp2p_plaintext_write_room(a), 5000);
  assert_int_equal(lp2p_plaintext_write(a, 0, big, sizeof big), 5000);
  assert_int_equal(lp2p_plaintext_write(a, 0, big, sizeof big), 0);
  o = lp2p_plaintext_out_peek(a, &len);
  assert_int_equal(len, 5000);
  assert_int_equal(lp2p_plaintext_feed(b, 0, o, len), 4200);
  assert_int_equal(lp2p_plaintext_recv_room(b), 0);
  assert_false(lp2p_plaintext_state(b) & LP2P_STATE_WANT_READ);
  const uint8_t *d = lp2p_plaintext_read_peek(b, &len);
  assert_int_equal(len, 4200);
  assert_memory_equal(d, big, 4200);
  lp2p_plaintext_read_consume(b, 1000);
  assert_int_equal(lp2p_plaintext_recv_room(b), 1000);
  lp2p_plaintext_out_consume(a, 4200);
  assert_int_equal(lp2p_plaintext_write_room(a), 4200);
  lp2p_plaintext_free(a);
  lp2p_plaintext_free(b);
}

static void test_alloc_failure_sweep(void **state) {
  (void)state;
  uint8_t data[100000];
  fill(data, sizeof data, 9);
  int completed = 0;
  for (uint64_t f = 1; f < 500 && !completed; f++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    mc.fail_at = f;
    lp2p_plaintext_config ci = cfg_for(key(LP2P_KEY_ED25519, 0));
    lp2p_plaintext_config cr = cfg_for(key(LP2P_KEY_SECP256K1, 1));
    pair p;
    memset(&p, 0, sizeof p);
    lp2p_rng_chacha_init(&p.st, f, 5, &p.rng);
    int r0 = lp2p_plaintext_new(&p.s[0].t, 1, &ci, &mc.mem, NULL, 0);
    int r1 = r0 ? 0 : lp2p_plaintext_new(&p.s[1].t, 0, &cr, &mc.mem, NULL, 0);
    if (r0 || r1) {
      assert_int_equal(r0 ? r0 : r1, LP2P_ERR_NOMEM);
    } else {
      p.s[0].send = p.s[1].send = data;
      p.s[0].send_len = p.s[1].send_len = sizeof data;
      run(&p);
      for (int i = 0; i < 2; i++) {
        if (p.s[i].fatal) assert_int_equal(p.s[i].fatal, LP2P_ERR_NOMEM);
        int e = lp2p_plaintext_last_error(p.s[i].t);
        assert_true(e == 0 || e == LP2P_ERR_NOMEM);
      }
      if (mc.failed_allocs == 0) {
        completed = 1;
        assert_int_equal(p.s[0].recv.len, sizeof data);
        assert_int_equal(p.s[1].recv.len, sizeof data);
      }
    }
    pair_free(&p);
    assert_int_equal(mc.live_bytes, 0);
  }
  assert_true(completed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exchange_all_key_types),
      cmocka_unit_test(test_pass_through_and_close),
      cmocka_unit_test(test_bad_exchanges),
      cmocka_unit_test(test_expected_peer),
      cmocka_unit_test(test_eof_timeout_and_config),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
