/* noise-libp2p engine tests: handshakes between every pair of identity key
 * types over a randomly re-chunking pipe, muxer agreement, multi-MiB
 * transport both ways, framing, backpressure, close and EOF, timeouts,
 * expected PeerId, config checks and idle memory. Adversarial peers and the
 * allocation-failure sweep are in test_noise_adv.c. */
#include <stdio.h>

#include "test_noise_pair.h"

static lp2p_noise_config cfg_for(const lp2p_privkey *id) {
  lp2p_noise_config c;
  lp2p_noise_config_default(&c);
  c.identity = id;
  return c;
}

static void pair_start(pair *p, const lp2p_noise_config *ci,
                       const lp2p_noise_config *cr, const lp2p_mem *mem) {
  assert_int_equal(lp2p_noise_new(&p->s[0].n, 1, ci, mem, &p->rng, p->now), 0);
  assert_int_equal(lp2p_noise_new(&p->s[1].n, 0, cr, mem, &p->rng, p->now), 0);
  /* The initiator speaks first; the responder waits. */
  assert_true(lp2p_noise_state(p->s[0].n) & LP2P_STATE_HAS_OUTPUT);
  assert_false(lp2p_noise_state(p->s[1].n) & LP2P_STATE_HAS_OUTPUT);
}

static void expect_identity(const side *s, const lp2p_privkey *remote) {
  lp2p_peerid want;
  assert_int_equal(lp2p_peerid_from_pubkey(&want, &remote->pub), 0);
  assert_true(lp2p_peerid_equal(&want, &s->hs_ev.peer));
  assert_true(lp2p_pubkey_equal(&remote->pub, &s->hs_ev.key));
  assert_true(lp2p_peerid_equal(&want, lp2p_noise_remote_peer(s->n)));
}

static void test_handshake_all_key_types(void **state) {
  (void)state;
  for (int a = 0; a < 4; a++) {
    for (int b = 0; b < 4; b++) {
      lp2p_mem_counting mc;
      lp2p_mem_counting_init(&mc, NULL);
      const lp2p_privkey *ka = test_key((lp2p_key_type)a, 0);
      const lp2p_privkey *kb = test_key((lp2p_key_type)b, 1);
      lp2p_noise_config ci = cfg_for(ka), cr = cfg_for(kb);
      pair p;
      pair_init(&p, (uint64_t)(a * 4 + b));
      pair_start(&p, &ci, &cr, &mc.mem);
      assert_null(lp2p_noise_remote_peer(p.s[0].n));
      pair_run(&p, 100000);
      assert_true(p.s[0].done && p.s[1].done);
      assert_false(p.s[0].closed || p.s[1].closed);
      expect_identity(&p.s[0], kb);
      expect_identity(&p.s[1], ka);
      assert_false(p.s[0].has_muxer || p.s[1].has_muxer);
      assert_int_equal(lp2p_noise_last_error(p.s[0].n), 0);
      /* No handshake deadline any more; at most a large idle buffer
       * waiting for its release time. */
      for (int i = 0; i < 2; i++) {
        lp2p_tstamp t = lp2p_noise_next_timeout(p.s[i].n);
        if (t != LP2P_TSTAMP_NONE) {
          assert_int_equal(t, p.now + LP2P_NS_PER_S);
          assert_int_equal(lp2p_noise_handle_timeout(p.s[i].n, t), 0);
        }
        assert_int_equal(lp2p_noise_next_timeout(p.s[i].n), LP2P_TSTAMP_NONE);
        assert_int_equal(lp2p_noise_last_error(p.s[i].n), 0);
      }
      pair_free(&p);
      assert_int_equal(mc.live_bytes, 0);
      assert_int_equal(mc.live_allocs, 0);
    }
  }
}

typedef struct mux_case {
  const char *init[3], *resp[3];
  const char *want;
} mux_case;

static size_t count(const char *const *l) {
  size_t n = 0;
  while (n < 3 && l[n]) n++;
  return n;
}

static void test_muxer_negotiation(void **state) {
  (void)state;
  static const mux_case cases[] = {
      /* The spec's example: the initiator's preference wins. */
      {{"/yamux/1.0.0", "/mplex/6.7.0"}, {"/mplex/6.7.0", "/yamux/1.0.0"},
       "/yamux/1.0.0"},
      {{"/mplex/6.7.0", "/yamux/1.0.0"}, {"/yamux/1.0.0", "/mplex/6.7.0"},
       "/mplex/6.7.0"},
      {{"/a", "/yamux/1.0.0"}, {"/yamux/1.0.0"}, "/yamux/1.0.0"},
      {{"/yamux/1.0.0"}, {"/mplex/6.7.0"}, NULL}, /* no overlap */
      {{"/yamux/1.0.0"}, {NULL}, NULL},           /* responder sends none */
      {{NULL}, {"/yamux/1.0.0"}, NULL},           /* initiator sends none */
      {{"/yamux/1.0.0"}, {"/yamux/1.0.00"}, NULL}, /* exact match only */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const mux_case *c = &cases[i];
    lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
    lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
    ci.muxers = c->init;
    ci.muxers_len = count(c->init);
    cr.muxers = c->resp;
    cr.muxers_len = count(c->resp);
    pair p;
    pair_init(&p, 100 + i);
    pair_start(&p, &ci, &cr, NULL);
    pair_run(&p, 100000);
    assert_true(p.s[0].done && p.s[1].done);
    for (int s = 0; s < 2; s++) {
      if (c->want) {
        assert_true(p.s[s].has_muxer);
        assert_string_equal(p.s[s].muxer, c->want);
      } else {
        assert_false(p.s[s].has_muxer);
      }
    }
    pair_free(&p);
  }
}

/* Several MiB both ways at once with random chunking, partial consumes
 * and small/large writes; bytes must arrive intact and in order. */
static void transport_round_trip(uint64_t seed, size_t n0, size_t n1,
                                 size_t buf_max) {
  uint8_t *d0 = malloc(n0 ? n0 : 1), *d1 = malloc(n1 ? n1 : 1);
  assert_non_null(d0);
  assert_non_null(d1);
  fill_pattern(d0, n0, seed);
  fill_pattern(d1, n1, seed + 1);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_SECP256K1, 1));
  ci.recv_buffer_bytes_max = ci.out_buffer_bytes_max = buf_max;
  cr.recv_buffer_bytes_max = cr.out_buffer_bytes_max = buf_max;
  pair p;
  pair_init(&p, seed);
  p.s[0].send = d0;
  p.s[0].send_len = n0;
  p.s[1].send = d1;
  p.s[1].send_len = n1;
  p.s[0].close_when_sent = p.s[1].close_when_sent = 1;
  pair_start(&p, &ci, &cr, &mc.mem);
  pair_run(&p, 10000000);
  for (int i = 0; i < 2; i++) {
    side *s = &p.s[i];
    size_t want = i ? n0 : n1;
    const uint8_t *wd = i ? d0 : d1;
    assert_int_equal(s->fatal, 0);
    assert_int_equal(s->recv.len, want);
    assert_memory_equal(s->recv.p, wd, want);
    assert_true(s->eof_ev);
    assert_true(s->closed);
    assert_int_equal(s->closed_err, 0);
    assert_int_equal(lp2p_noise_state(s->n), LP2P_STATE_CLOSED);
    assert_int_equal(lp2p_noise_last_error(s->n), 0);
  }
  /* A closed engine holds no buffers. */
  assert_true(mc.live_bytes < 2048);
  pair_free(&p);
  assert_int_equal(mc.live_bytes, 0);
  free(d0);
  free(d1);
}

static void test_transport_round_trip_mib(void **state) {
  (void)state;
  transport_round_trip(1, 3u << 20, (5u << 20) / 2, 4u * 65537);
}

static void test_transport_small_buffers(void **state) {
  (void)state;
  /* The minimum buffers (one frame) still move everything. */
  transport_round_trip(2, 700000, 300001, 65537);
  transport_round_trip(3, 0, 1, 65537);
}

/* Run a handshake to completion with plain full transfers. */
static void handshake_pair(pair *p, lp2p_noise_config *ci,
                           lp2p_noise_config *cr, const lp2p_mem *mem) {
  pair_start(p, ci, cr, mem);
  pair_run(p, 100000);
  assert_true(p->s[0].done && p->s[1].done);
}

/* Move everything s[i] has written into the pipe. */
static void drain(pair *p, int i) {
  size_t len;
  const uint8_t *o;
  while ((o = lp2p_noise_out_peek(p->s[i].n, &len)) != NULL) {
    pipe_put(&p->wire[i], o, len);
    lp2p_noise_out_consume(p->s[i].n, len);
  }
}

static void test_framing_and_write_limits(void **state) {
  (void)state;
  lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
  ci.out_buffer_bytes_max = 2 * 65537 + 100;
  pair p;
  pair_init(&p, 7);
  handshake_pair(&p, &ci, &cr, NULL);
  lp2p_noise *a = p.s[0].n;
  size_t big = 300000;
  uint8_t *buf = malloc(big);
  assert_non_null(buf);
  fill_pattern(buf, big, 9);
  assert_int_equal(lp2p_noise_write(a, p.now, buf, 0), 0);
  assert_int_equal(lp2p_noise_write(a, p.now, NULL, 5), LP2P_ERR_INVAL);
  /* Two full frames plus 100 - 18 bytes of a third fit in the bound. */
  size_t room = lp2p_noise_write_room(a);
  assert_int_equal(room, 2 * 65519 + 82);
  lp2p_ssize w = lp2p_noise_write(a, p.now, buf, big);
  assert_int_equal(w, (lp2p_ssize)room);
  assert_int_equal(lp2p_noise_write_room(a), 0);
  assert_int_equal(lp2p_noise_write(a, p.now, buf, big), 0);
  size_t len;
  const uint8_t *o = lp2p_noise_out_peek(a, &len);
  assert_int_equal(len, 2 * 65537 + 100);
  /* Frame lengths on the wire: 65535, 65535, 98. */
  assert_int_equal(o[0] << 8 | o[1], 65535);
  assert_int_equal(o[65537] << 8 | o[65538], 65535);
  assert_int_equal(o[2 * 65537] << 8 | o[2 * 65537 + 1], 98);
  /* A partial consume frees room only for what was taken. */
  pipe_put(&p.wire[0], o, 65537);
  lp2p_noise_out_consume(a, 65537);
  assert_int_equal(lp2p_noise_write_room(a), 65519);
  drain(&p, 0);
  /* The responder decrypts frame by frame: each peek is one frame's rest. */
  lp2p_noise *b = p.s[1].n;
  pipe_buf *in = &p.wire[0];
  assert_int_equal(lp2p_noise_feed(b, p.now, in->p + in->off, pipe_left(in)),
                   (lp2p_ssize)pipe_left(in));
  const uint8_t *d = lp2p_noise_read_peek(b, &len);
  assert_int_equal(len, 65519);
  assert_memory_equal(d, buf, 65519);
  lp2p_noise_read_consume(b, 19);
  d = lp2p_noise_read_peek(b, &len);
  assert_int_equal(len, 65500);
  assert_memory_equal(d, buf + 19, 65500);
  lp2p_noise_read_consume(b, 1u << 30); /* clamped to the frame */
  d = lp2p_noise_read_peek(b, &len);
  assert_int_equal(len, 65519);
  assert_memory_equal(d, buf + 65519, 65519);
  lp2p_noise_read_consume(b, len);
  d = lp2p_noise_read_peek(b, &len);
  assert_int_equal(len, 82);
  assert_memory_equal(d, buf + 2 * 65519, 82);
  lp2p_noise_read_consume(b, len);
  assert_null(lp2p_noise_read_peek(b, &len));
  assert_int_equal(len, 0);
  free(buf);
  pair_free(&p);
}

static void test_recv_backpressure(void **state) {
  (void)state;
  lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
  cr.recv_buffer_bytes_max = 65537;
  pair p;
  pair_init(&p, 8);
  handshake_pair(&p, &ci, &cr, NULL);
  lp2p_noise *a = p.s[0].n, *b = p.s[1].n;
  uint8_t msg[40000];
  fill_pattern(msg, sizeof msg, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_noise_write(a, p.now, msg, sizeof msg),
                     (lp2p_ssize)sizeof msg);
    drain(&p, 0);
  }
  pipe_buf *in = &p.wire[0];
  /* 3 frames of 40018 bytes do not fit in a 65537-byte receive buffer. */
  lp2p_ssize r = lp2p_noise_feed(b, p.now, in->p + in->off, pipe_left(in));
  assert_int_equal(r, 65537);
  in->off += (size_t)r;
  assert_int_equal(lp2p_noise_recv_room(b), 0);
  assert_false(lp2p_noise_state(b) & LP2P_STATE_WANT_READ);
  assert_int_equal(lp2p_noise_feed(b, p.now, in->p + in->off, pipe_left(in)),
                   0);
  size_t got = 0, len;
  const uint8_t *d;
  for (int i = 0; i < 3; i++) {
    d = lp2p_noise_read_peek(b, &len);
    assert_int_equal(len, sizeof msg);
    assert_memory_equal(d, msg, len);
    lp2p_noise_read_consume(b, len);
    got++;
    assert_true(lp2p_noise_recv_room(b) > 0);
    assert_true(lp2p_noise_state(b) & LP2P_STATE_WANT_READ);
    r = lp2p_noise_feed(b, p.now, in->p + in->off, pipe_left(in));
    assert_true(r >= 0);
    in->off += (size_t)r;
  }
  assert_int_equal(got, 3);
  assert_int_equal(pipe_left(in), 0);
  assert_null(lp2p_noise_read_peek(b, &len));
  pair_free(&p);
}

static void test_close_and_eof(void **state) {
  (void)state;
  lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
  pair p;
  pair_init(&p, 9);
  handshake_pair(&p, &ci, &cr, NULL);
  lp2p_noise *a = p.s[0].n, *b = p.s[1].n;
  assert_int_equal(lp2p_noise_write(a, p.now, (const uint8_t *)"bye", 3), 3);
  assert_int_equal(lp2p_noise_close(a, p.now), 0);
  assert_int_equal(lp2p_noise_write(a, p.now, (const uint8_t *)"x", 1),
                   LP2P_ERR_CLOSED);
  assert_true(lp2p_noise_state(a) & LP2P_STATE_CLOSING);
  assert_true(lp2p_noise_state(a) & LP2P_STATE_HAS_OUTPUT);
  drain(&p, 0);
  /* Still readable after our close; no CLOSED until the peer's EOF. */
  assert_int_equal(lp2p_noise_state(a),
                   LP2P_STATE_CLOSING | LP2P_STATE_WANT_READ);
  pipe_buf *in = &p.wire[0];
  assert_int_equal(lp2p_noise_feed(b, p.now, in->p + in->off, pipe_left(in)),
                   (lp2p_ssize)pipe_left(in));
  in->off = in->len;
  assert_int_equal(lp2p_noise_feed_eof(b, p.now), 0);
  assert_int_equal(lp2p_noise_feed(b, p.now, in->p, 1), LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_recv_room(b), 0);
  lp2p_noise_event ev;
  assert_int_equal(lp2p_noise_poll_event(b, &ev), 1);
  assert_int_equal(ev.type, LP2P_NOISE_EV_EOF);
  assert_false(lp2p_noise_read_eof(b)); /* "bye" is still unread */
  size_t len;
  const uint8_t *d = lp2p_noise_read_peek(b, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(d, "bye", 3);
  lp2p_noise_read_consume(b, 3);
  assert_true(lp2p_noise_read_eof(b));
  /* b can still write after the peer's EOF (half-close). */
  assert_int_equal(lp2p_noise_write(b, p.now, (const uint8_t *)"ok", 2), 2);
  assert_int_equal(lp2p_noise_close(b, p.now), 0);
  assert_false(lp2p_noise_state(b) & LP2P_STATE_CLOSED);
  drain(&p, 1);
  assert_int_equal(lp2p_noise_state(b), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_noise_poll_event(b, &ev), 1);
  assert_int_equal(ev.type, LP2P_NOISE_EV_CLOSED);
  assert_int_equal(ev.err, 0);
  assert_int_equal(lp2p_noise_poll_event(b, &ev), 0);
  in = &p.wire[1];
  assert_int_equal(lp2p_noise_feed(a, p.now, in->p + in->off, pipe_left(in)),
                   (lp2p_ssize)pipe_left(in));
  assert_int_equal(lp2p_noise_feed_eof(a, p.now), 0);
  d = lp2p_noise_read_peek(a, &len);
  assert_int_equal(len, 2);
  lp2p_noise_read_consume(a, 2);
  assert_int_equal(lp2p_noise_state(a), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_noise_last_error(a), 0);
  pair_free(&p);
}

static void test_handshake_timeout(void **state) {
  (void)state;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  c.handshake_timeout_ns = 5 * LP2P_NS_PER_S;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 1, 1, &rng);
  lp2p_noise *n;
  assert_int_equal(lp2p_noise_new(&n, 0, &c, NULL, &rng, 1000), 0);
  lp2p_tstamp dl = lp2p_noise_next_timeout(n);
  assert_int_equal(dl, 1000 + 5 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_noise_handle_timeout(n, dl - 1), 0);
  assert_int_equal(lp2p_noise_state(n), LP2P_STATE_WANT_READ);
  assert_int_equal(lp2p_noise_handle_timeout(n, dl), 0);
  assert_int_equal(lp2p_noise_state(n), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_noise_last_error(n), LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_noise_next_timeout(n), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_noise_handle_timeout(n, dl + 5), 0); /* idempotent */
  lp2p_noise_event ev;
  assert_int_equal(lp2p_noise_poll_event(n, &ev), 1);
  assert_int_equal(ev.type, LP2P_NOISE_EV_CLOSED);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_noise_poll_event(n, &ev), 0);
  assert_int_equal(lp2p_noise_feed(n, dl, (const uint8_t *)"x", 1),
                   LP2P_ERR_TIMEOUT);
  lp2p_noise_free(n);
  /* 0 disables the deadline. */
  c.handshake_timeout_ns = 0;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 1000), 0);
  assert_int_equal(lp2p_noise_next_timeout(n), LP2P_TSTAMP_NONE);
  lp2p_noise_free(n);
  /* A deadline past the end of time saturates instead of wrapping. */
  c.handshake_timeout_ns = UINT64_MAX - 10;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 1000), 0);
  assert_true(lp2p_noise_next_timeout(n) > 1000);
  lp2p_noise_free(n);
}

static void test_expected_peer(void **state) {
  (void)state;
  for (int mismatch = 0; mismatch < 2; mismatch++) {
    lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ECDSA, 0));
    lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_RSA, 1));
    lp2p_peerid want;
    /* The responder is RSA key 1; key 0 is somebody else. */
    const lp2p_privkey *who = test_key(LP2P_KEY_RSA, mismatch ? 0 : 1);
    assert_int_equal(lp2p_peerid_from_pubkey(&want, &who->pub), 0);
    ci.expected_peer = &want;
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    pair p;
    pair_init(&p, 20 + (uint64_t)mismatch);
    pair_start(&p, &ci, &cr, &mc.mem);
    pair_run(&p, 100000);
    if (!mismatch) {
      assert_true(p.s[0].done && p.s[1].done);
    } else {
      assert_false(p.s[0].done);
      assert_true(p.s[0].closed);
      assert_int_equal(p.s[0].closed_err, LP2P_ERR_PEER_ID_MISMATCH);
      assert_int_equal(lp2p_noise_last_error(p.s[0].n),
                       LP2P_ERR_PEER_ID_MISMATCH);
      assert_null(lp2p_noise_remote_peer(p.s[0].n));
      /* The responder never gets message 3 and stays waiting. */
      assert_false(p.s[1].done);
      assert_int_equal(lp2p_noise_write(p.s[0].n, p.now, (const uint8_t *)"x", 1),
                       LP2P_ERR_PEER_ID_MISMATCH);
    }
    pair_free(&p);
    assert_int_equal(mc.live_bytes, 0);
  }
}

/* One static key (lp2p_noise_static) for many sessions: each handshake
 * completes and moves data; a static key signed by another identity fails
 * at the peer's signature check. */
static void test_static_key_reuse(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 9, 1, &rng);
  const lp2p_privkey *ki = test_key(LP2P_KEY_ED25519, 0);
  lp2p_noise_static sk, wrong;
  assert_int_equal(lp2p_noise_static_make(&sk, ki, &rng), 0);
  assert_int_equal(
      lp2p_noise_static_make(&wrong, test_key(LP2P_KEY_ED25519, 1), &rng), 0);
  assert_int_equal(lp2p_noise_static_make(NULL, ki, &rng), LP2P_ERR_INVAL);
  for (int i = 0; i < 3; i++) {
    lp2p_noise_config ci = cfg_for(ki);
    lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_SECP256K1, 1));
    ci.static_key = i < 2 ? &sk : &wrong;
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    pair p;
    pair_init(&p, 300 + (uint64_t)i);
    p.s[0].send = (const uint8_t *)"hello";
    p.s[0].send_len = 5;
    pair_start(&p, &ci, &cr, &mc.mem);
    pair_run(&p, 100000);
    if (i < 2) {
      assert_true(p.s[0].done && p.s[1].done);
      assert_int_equal(p.s[1].recv.len, 5);
      assert_memory_equal(p.s[1].recv.p, "hello", 5);
    } else {
      /* the responder checks message 3's signature and refuses it */
      assert_false(p.s[1].done);
      assert_true(p.s[1].closed);
      assert_int_equal(p.s[1].closed_err, LP2P_ERR_SIGNATURE);
    }
    pair_free(&p);
    assert_int_equal(mc.live_bytes, 0);
  }
}

static void test_config_checks(void **state) {
  (void)state;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 1, 2, &rng);
  lp2p_noise *n = (lp2p_noise *)&st;
  lp2p_noise_config c = cfg_for(NULL);
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  assert_null(n);
  c.identity = test_key(LP2P_KEY_ED25519, 0);
  assert_int_equal(lp2p_noise_new(NULL, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_noise_new(&n, 1, NULL, NULL, &rng, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, NULL, 0), LP2P_ERR_INVAL);
  c.recv_buffer_bytes_max = 65536;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  c.out_buffer_bytes_max = 100;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  const char *bad[] = {"/yamux/1.0.0", ""};
  c.muxers = bad;
  c.muxers_len = 2;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  const char *null_entry[] = {NULL};
  c.muxers = null_entry;
  c.muxers_len = 1;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  c.muxers = NULL;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  /* A muxer list too large for one Noise message. */
  static char big_id[1026];
  memset(big_id, 'm', sizeof big_id - 1);
  const char *many[80];
  for (size_t i = 0; i < 80; i++) many[i] = big_id;
  c.muxers = many;
  c.muxers_len = 1;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  big_id[1000] = 0;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), 0);
  lp2p_noise_free(n);
  c.muxers_len = 80;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), LP2P_ERR_INVAL);
  lp2p_noise_free(NULL);
  /* Calls before the handshake completes. */
  c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), 0);
  assert_int_equal(lp2p_noise_write(n, 0, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_noise_write_room(n), 0);
  assert_false(lp2p_noise_handshake_done(n));
  size_t len = 7;
  assert_null(lp2p_noise_read_peek(n, &len));
  assert_int_equal(len, 0);
  assert_int_equal(lp2p_noise_feed(n, 0, NULL, 1), LP2P_ERR_INVAL);
  /* Zero-copy receive: commit only inside the area handed out. */
  assert_int_equal(lp2p_noise_recv_commit(n, 0, 1), LP2P_ERR_INVAL);
  size_t cap = 0;
  uint8_t *rb = lp2p_noise_recv_buf(n, &cap);
  assert_non_null(rb);
  assert_int_equal(cap, 16384); /* a light session gets a small area */
  assert_int_equal(lp2p_noise_recv_commit(n, 0, cap + 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_noise_recv_commit(n, 0, 0), 0);
  assert_int_equal(lp2p_noise_recv_commit(NULL, 0, 0), LP2P_ERR_INVAL);
  /* Closing during the handshake abandons it. */
  assert_int_equal(lp2p_noise_close(n, 0), 0);
  assert_int_equal(lp2p_noise_state(n), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_noise_last_error(n), LP2P_ERR_CLOSED);
  lp2p_noise_free(n);
}

/* After the handshake, with events polled and buffers drained, the engine
 * keeps only its small struct (the 8 KiB per idle Noise+yamux budget). */
static void test_idle_memory(void **state) {
  (void)state;
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_RSA, 0));
  lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
  const char *mux[] = {"/yamux/1.0.0"};
  ci.muxers = cr.muxers = mux;
  ci.muxers_len = cr.muxers_len = 1;
  pair p;
  pair_init(&p, 30);
  uint8_t data[1000];
  fill_pattern(data, sizeof data, 1);
  p.s[0].send = p.s[1].send = data;
  p.s[0].send_len = p.s[1].send_len = sizeof data;
  pair_start(&p, &ci, &cr, &mc.mem);
  size_t during = mc.live_bytes;
  pair_run(&p, 100000);
  assert_int_equal(p.s[0].recv.len, sizeof data);
  assert_int_equal(p.s[1].recv.len, sizeof data);
  for (int i = 0; i < 2; i++) { /* release buffers kept for reuse */
    lp2p_tstamp t = lp2p_noise_next_timeout(p.s[i].n);
    if (t != LP2P_TSTAMP_NONE) lp2p_noise_handle_timeout(p.s[i].n, t);
  }
  size_t idle = mc.live_bytes;
  printf("# noise: %zu bytes for 2 engines in handshake, %zu idle\n", during,
         idle);
  assert_int_equal(mc.live_allocs, 4); /* 2 engines + 2 agreed muxer ids */
  assert_true(idle < 2 * 640);
  pair_free(&p);
  assert_int_equal(mc.live_bytes, 0);
}

/* A large buffer that empties is kept for buffer_idle_ns (no allocation per
 * burst), then released from handle_timeout; with buffer_idle_ns 0 it goes
 * at once. */
static void test_idle_buffer_release(void **state) {
  (void)state;
  for (int keep = 0; keep < 2; keep++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
    lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ED25519, 1));
    ci.buffer_idle_ns = cr.buffer_idle_ns = keep ? 2 * LP2P_NS_PER_S : 0;
    pair p;
    pair_init(&p, 40);
    handshake_pair(&p, &ci, &cr, &mc.mem);
    lp2p_noise *a = p.s[0].n, *b = p.s[1].n;
    for (int i = 0; i < 2; i++) {
      lp2p_tstamp t = lp2p_noise_next_timeout(p.s[i].n);
      if (t != LP2P_TSTAMP_NONE) lp2p_noise_handle_timeout(p.s[i].n, t);
    }
    size_t base = mc.live_bytes;
    static uint8_t big[200000];
    fill_pattern(big, sizeof big, 2);
    uint64_t allocs0 = mc.total_allocs;
    for (int round = 0; round < 5; round++) {
      p.now += 1000;
      assert_int_equal(lp2p_noise_write(a, p.now, big, sizeof big),
                       (lp2p_ssize)sizeof big);
      size_t len;
      const uint8_t *o = lp2p_noise_out_peek(a, &len);
      assert_int_equal(lp2p_noise_feed(b, p.now, o, len), (lp2p_ssize)len);
      lp2p_noise_out_consume(a, len);
      const uint8_t *d;
      size_t got = 0;
      while ((d = lp2p_noise_read_peek(b, &len)) != NULL) {
        assert_memory_equal(d, big + got, len);
        got += len;
        lp2p_noise_read_consume(b, len);
      }
      assert_int_equal(got, sizeof big);
    }
    if (keep) {
      /* One allocation per buffer for all five bursts. */
      assert_int_equal(mc.total_allocs - allocs0, 2);
      assert_true(mc.live_bytes > base + 2 * 200000);
      assert_int_equal(lp2p_noise_next_timeout(a), p.now + 2 * LP2P_NS_PER_S);
      assert_int_equal(lp2p_noise_next_timeout(b), p.now + 2 * LP2P_NS_PER_S);
      assert_int_equal(lp2p_noise_handle_timeout(a, p.now + 2 * LP2P_NS_PER_S - 1), 0);
      assert_true(mc.live_bytes > base + 2 * 200000);
      assert_int_equal(lp2p_noise_handle_timeout(a, p.now + 2 * LP2P_NS_PER_S), 0);
      assert_int_equal(lp2p_noise_handle_timeout(b, p.now + 2 * LP2P_NS_PER_S), 0);
    } else {
      assert_int_equal(mc.total_allocs - allocs0, 10);
    }
    assert_int_equal(mc.live_bytes, base);
    assert_int_equal(lp2p_noise_next_timeout(a), LP2P_TSTAMP_NONE);
    assert_int_equal(lp2p_noise_next_timeout(b), LP2P_TSTAMP_NONE);
    assert_int_equal(lp2p_noise_last_error(a), 0);
    pair_free(&p);
    assert_int_equal(mc.live_bytes, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_all_key_types),
      cmocka_unit_test(test_muxer_negotiation),
      cmocka_unit_test(test_transport_round_trip_mib),
      cmocka_unit_test(test_transport_small_buffers),
      cmocka_unit_test(test_framing_and_write_limits),
      cmocka_unit_test(test_recv_backpressure),
      cmocka_unit_test(test_close_and_eof),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_expected_peer),
      cmocka_unit_test(test_config_checks),
      cmocka_unit_test(test_static_key_reuse),
      cmocka_unit_test(test_idle_memory),
      cmocka_unit_test(test_idle_buffer_release),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
