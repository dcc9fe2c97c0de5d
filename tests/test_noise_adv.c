/* noise-libp2p engine against adversarial peers: a hand-driven Noise peer
 * (the private HandshakeState) sends forged signatures for every key type,
 * malformed payloads, unknown fields, corrupted and short frames; plus
 * truncation, EOF, nonce exhaustion, garbage input, and an allocation
 * failure sweep (fail the Nth allocation for every N: only fatal errors,
 * no leaks). */
#include <stdio.h>

#include "lp2p/protobuf.h"
#include "proto/noise/noise_int.h"
#include "test_noise_pair.h"

static lp2p_noise_config cfg_for(const lp2p_privkey *id) {
  lp2p_noise_config c;
  lp2p_noise_config_default(&c);
  c.identity = id;
  return c;
}

static lp2p_rng_chacha rng_st;
static lp2p_rng rng;

static int setup(void **state) {
  (void)state;
  lp2p_rng_chacha_init(&rng_st, 42, 1, &rng);
  return 0;
}

/* ---- a hand-driven peer --------------------------------------------- */

typedef struct raw_peer {
  noise_hs hs;
  noise_cipher tx, rx;
} raw_peer;

static void raw_init(raw_peer *r, int initiator) {
  uint8_t s[32], e[32];
  rng.fill(rng.ctx, s, 32);
  rng.fill(rng.ctx, e, 32);
  noise_hs_init(&r->hs, initiator, NULL, 0, s, NULL, e);
}

/* Frame a handshake message carrying `pl`. Returns the frame length. */
static size_t raw_write(raw_peer *r, const uint8_t *pl, size_t pl_len,
                        uint8_t *out) {
  size_t ml = 0;
  if (pl_len) memcpy(out + 2 + noise_hs_payload_offset(&r->hs), pl, pl_len);
  assert_int_equal(noise_hs_write(&r->hs, out + 2, pl_len, &ml), 0);
  out[0] = (uint8_t)(ml >> 8);
  out[1] = (uint8_t)ml;
  if (noise_hs_done(&r->hs)) noise_hs_split(&r->hs, &r->tx, &r->rx);
  return 2 + ml;
}

/* Read one framed handshake message from the engine's output. */
static void raw_read(raw_peer *r, lp2p_noise *n) {
  size_t len;
  const uint8_t *o = lp2p_noise_out_peek(n, &len);
  assert_non_null(o);
  uint8_t buf[70000];
  memcpy(buf, o, len);
  size_t ml = (size_t)buf[0] << 8 | buf[1];
  assert_int_equal(ml + 2, len);
  lp2p_noise_out_consume(n, len);
  uint8_t *pl;
  size_t pll;
  assert_int_equal(noise_hs_read(&r->hs, buf + 2, ml, &pl, &pll), 0);
  if (noise_hs_done(&r->hs)) noise_hs_split(&r->hs, &r->tx, &r->rx);
}

/* A transport frame from the raw peer. */
static size_t raw_frame(raw_peer *r, const uint8_t *pt, size_t n,
                        uint8_t *out) {
  assert_int_equal(noise_cipher_encrypt(&r->tx, NULL, 0, pt, n, out + 2), 0);
  out[0] = (uint8_t)((n + 16) >> 8);
  out[1] = (uint8_t)(n + 16);
  return n + 18;
}

enum forge {
  FORGE_NONE,
  FORGE_FLIP_SIG,     /* signature bytes altered */
  FORGE_OTHER_STATIC, /* valid signature, but over another static key */
  FORGE_OTHER_KEY,    /* signed by a key other than the one presented */
  FORGE_EMPTY_SIG,
};

/* The payload the raw peer sends, optionally forged. */
static size_t raw_payload(raw_peer *r, const lp2p_privkey *id, enum forge f,
                          const char *const *mux, size_t mux_len,
                          uint8_t *out, size_t cap) {
  uint8_t msg[24 + 32];
  memcpy(msg, "noise-libp2p-static-key:", 24);
  memcpy(msg + 24, r->hs.s_pub, 32);
  if (f == FORGE_OTHER_STATIC) msg[24] ^= 1;
  const lp2p_privkey *signer = id;
  if (f == FORGE_OTHER_KEY) signer = test_key(id->type, id == test_key(id->type, 0));
  uint8_t sig[LP2P_SIG_MAX];
  size_t sl = sizeof sig;
  assert_int_equal(lp2p_key_sign(signer, msg, sizeof msg, sig, &sl), 0);
  if (f == FORGE_FLIP_SIG) sig[sl / 2] ^= 0x10;
  if (f == FORGE_EMPTY_SIG) sl = 0;
  size_t len, eo, el;
  uint8_t dummy = 0;
  assert_int_equal(noise_payload_encode(out, cap, &len, &id->pub,
                                        sl ? sig : &dummy, sl, mux, mux_len,
                                        &eo, &el),
                   0);
  return len;
}

static void feed_all(lp2p_noise *n, const uint8_t *p, size_t len) {
  assert_int_equal(lp2p_noise_feed(n, 0, p, len), (lp2p_ssize)len);
}

static void expect_closed(lp2p_noise *n, int err) {
  assert_int_equal(lp2p_noise_state(n), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_noise_last_error(n), err);
  lp2p_noise_event ev;
  int saw = 0;
  while (lp2p_noise_poll_event(n, &ev)) {
    if (ev.type == LP2P_NOISE_EV_CLOSED) {
      assert_int_equal(ev.err, err);
      saw = 1;
    }
  }
  assert_true(saw);
  assert_null(lp2p_noise_out_peek(n, NULL));
}

/* Engine as initiator against a raw responder sending `payload`. */
static lp2p_noise *vs_raw_responder(raw_peer *r, lp2p_mem_counting *mc,
                                    const uint8_t *pl, size_t pl_len) {
  lp2p_noise *n;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  assert_int_equal(lp2p_noise_new(&n, 1, &c, &mc->mem, &rng, 0), 0);
  raw_read(r, n);
  uint8_t frame[70000];
  size_t fl = raw_write(r, pl, pl_len, frame);
  feed_all(n, frame, fl);
  return n;
}

static void test_forged_signatures_all_types(void **state) {
  (void)state;
  for (int t = 0; t < 4; t++) {
    for (int f = FORGE_NONE; f <= FORGE_EMPTY_SIG; f++) {
      lp2p_mem_counting mc;
      lp2p_mem_counting_init(&mc, NULL);
      raw_peer r;
      raw_init(&r, 0);
      const lp2p_privkey *id = test_key((lp2p_key_type)t, 1);
      uint8_t pl[4096];
      size_t pll = raw_payload(&r, id, (enum forge)f, NULL, 0, pl, sizeof pl);
      lp2p_noise *n = vs_raw_responder(&r, &mc, pl, pll);
      if (f == FORGE_NONE) {
        assert_true(lp2p_noise_handshake_done(n));
        raw_read(&r, n); /* message 3 authenticates */
        lp2p_peerid want;
        assert_int_equal(lp2p_peerid_from_pubkey(&want, &id->pub), 0);
        assert_true(lp2p_peerid_equal(lp2p_noise_remote_peer(n), &want));
      } else {
        expect_closed(n, LP2P_ERR_SIGNATURE);
        assert_false(lp2p_noise_handshake_done(n));
      }
      lp2p_noise_free(n);
      assert_int_equal(mc.live_bytes, 0);
    }
  }
}

/* The engine as responder: the raw initiator forges message 3. */
static void test_forged_initiator(void **state) {
  (void)state;
  for (int f = FORGE_NONE; f <= FORGE_OTHER_KEY; f++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    lp2p_noise *n;
    lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_SECP256K1, 1));
    assert_int_equal(lp2p_noise_new(&n, 0, &c, &mc.mem, &rng, 0), 0);
    raw_peer r;
    raw_init(&r, 1);
    uint8_t frame[70000], pl[4096];
    feed_all(n, frame, raw_write(&r, NULL, 0, frame));
    raw_read(&r, n);
    size_t pll = raw_payload(&r, test_key(LP2P_KEY_RSA, 0), (enum forge)f,
                             NULL, 0, pl, sizeof pl);
    size_t fl = raw_write(&r, pl, pll, frame);
    /* Early data right behind message 3, in the same feed. */
    fl += raw_frame(&r, (const uint8_t *)"early", 5, frame + fl);
    feed_all(n, frame, fl);
    if (f == FORGE_NONE) {
      size_t len;
      const uint8_t *d = lp2p_noise_read_peek(n, &len);
      assert_int_equal(len, 5);
      assert_memory_equal(d, "early", 5);
    } else {
      expect_closed(n, LP2P_ERR_SIGNATURE);
    }
    lp2p_noise_free(n);
    assert_int_equal(mc.live_bytes, 0);
  }
}

static void test_malformed_payloads(void **state) {
  (void)state;
  uint8_t key[LP2P_PUBKEY_PB_MAX];
  size_t kl;
  assert_int_equal(lp2p_pubkey_marshal(&test_key(LP2P_KEY_ED25519, 1)->pub,
                                       key, sizeof key, &kl),
                   0);
  struct {
    uint8_t p[256];
    size_t n;
  } cases[6];
  lp2p_pb_writer w;
  /* 0: not protobuf at all (truncated length-delimited field) */
  memcpy(cases[0].p, "\x0a\x50zz", 4);
  cases[0].n = 4;
  /* 1: empty payload: no identity key */
  cases[1].n = 0;
  /* 2: signature but no key */
  lp2p_pb_writer_init(&w, cases[2].p, sizeof cases[2].p);
  lp2p_pb_put_bytes(&w, 2, (const uint8_t *)"sig", 3);
  cases[2].n = w.len;
  /* 3: key but no signature */
  lp2p_pb_writer_init(&w, cases[3].p, sizeof cases[3].p);
  lp2p_pb_put_bytes(&w, 1, key, kl);
  cases[3].n = w.len;
  /* 4: a key that is not a valid PublicKey */
  lp2p_pb_writer_init(&w, cases[4].p, sizeof cases[4].p);
  lp2p_pb_put_bytes(&w, 1, (const uint8_t *)"\x08\x01\x12\x03" "abc", 7);
  lp2p_pb_put_bytes(&w, 2, (const uint8_t *)"sig", 3);
  cases[4].n = w.len;
  /* 5: extensions that do not parse */
  lp2p_pb_writer_init(&w, cases[5].p, sizeof cases[5].p);
  lp2p_pb_put_bytes(&w, 1, key, kl);
  lp2p_pb_put_bytes(&w, 2, (const uint8_t *)"sig", 3);
  lp2p_pb_put_bytes(&w, 4, (const uint8_t *)"\x12\x09/yamux", 7);
  cases[5].n = w.len;
  for (size_t i = 0; i < 6; i++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    raw_peer r;
    raw_init(&r, 0);
    lp2p_noise *n = vs_raw_responder(&r, &mc, cases[i].p, cases[i].n);
    expect_closed(n, LP2P_ERR_PROTO);
    lp2p_noise_free(n);
    assert_int_equal(mc.live_bytes, 0);
  }
}

/* Unknown fields (top level and in extensions), webtransport certhashes and
 * repeated fields are skipped; the muxer list is still read. */
static void test_unknown_fields_ignored(void **state) {
  (void)state;
  raw_peer r;
  raw_init(&r, 0);
  const char *mux[] = {"/mplex/6.7.0", "/yamux/1.0.0"};
  uint8_t base[4096], pl[4096];
  size_t bl = raw_payload(&r, test_key(LP2P_KEY_ECDSA, 1), FORGE_NONE, mux, 2,
                          base, sizeof base);
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, pl, sizeof pl);
  lp2p_pb_put_varint(&w, 3, 12345);
  lp2p_pb_put_fixed32(&w, 99, 7);
  lp2p_pb_put_raw(&w, base, bl); /* key, sig, extensions */
  uint8_t ext[64];
  lp2p_pb_writer we;
  lp2p_pb_writer_init(&we, ext, sizeof ext);
  lp2p_pb_put_bytes(&we, 1, (const uint8_t *)"certhash", 8);
  lp2p_pb_put_varint(&we, 1025, 1);
  lp2p_pb_put_string(&we, 2, "/other/1");
  lp2p_pb_put_fixed64(&w, 5, 1);
  lp2p_pb_put_bytes(&w, 6, ext, we.len); /* an unknown submessage */
  size_t pll = w.len;
  assert_int_equal(w.err, 0);
  lp2p_noise *n;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  const char *ours[] = {"/yamux/1.0.0"};
  c.muxers = ours;
  c.muxers_len = 1;
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), 0);
  raw_read(&r, n);
  uint8_t frame[70000];
  feed_all(n, frame, raw_write(&r, pl, pll, frame));
  assert_true(lp2p_noise_handshake_done(n));
  lp2p_noise_event ev;
  assert_int_equal(lp2p_noise_poll_event(n, &ev), 1);
  assert_int_equal(ev.type, LP2P_NOISE_EV_HANDSHAKE_DONE);
  assert_non_null(ev.muxer);
  assert_string_equal(ev.muxer, "/yamux/1.0.0");
  lp2p_noise_free(n);
}

/* Message 1 with a (plaintext) payload is accepted; extensions there are
 * not interpreted. */
static void test_msg1_payload_ignored(void **state) {
  (void)state;
  lp2p_noise *n;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 1));
  assert_int_equal(lp2p_noise_new(&n, 0, &c, NULL, &rng, 0), 0);
  raw_peer r;
  raw_init(&r, 1);
  uint8_t frame[256];
  feed_all(n, frame, raw_write(&r, (const uint8_t *)"hello", 5, frame));
  raw_read(&r, n);
  assert_int_equal(lp2p_noise_last_error(n), 0);
  lp2p_noise_free(n);
}

/* A finished pair of (engine initiator, raw responder). */
static lp2p_noise *established(raw_peer *r, lp2p_mem_counting *mc) {
  raw_init(r, 0);
  uint8_t pl[4096];
  size_t pll = raw_payload(r, test_key(LP2P_KEY_ED25519, 1), FORGE_NONE, NULL,
                           0, pl, sizeof pl);
  lp2p_noise *n = vs_raw_responder(r, mc, pl, pll);
  raw_read(r, n);
  assert_true(noise_hs_done(&r->hs));
  return n;
}

static void test_corrupted_ciphertext(void **state) {
  (void)state;
  /* Flip a bit in the length-covered body or tag of the 2nd frame. */
  for (size_t pos = 2; pos < 2 + 10 + 16; pos += 3) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    raw_peer r;
    lp2p_noise *n = established(&r, &mc);
    uint8_t f[128];
    size_t a = raw_frame(&r, (const uint8_t *)"first", 5, f);
    size_t b = raw_frame(&r, (const uint8_t *)"0123456789", 10, f + a);
    f[a + pos] ^= 0x04;
    feed_all(n, f, a + b);
    expect_closed(n, LP2P_ERR_CRYPTO);
    assert_null(lp2p_noise_read_peek(n, NULL)); /* nothing after failure */
    assert_int_equal(lp2p_noise_feed(n, 0, f, 1), LP2P_ERR_CRYPTO);
    assert_int_equal(lp2p_noise_write(n, 0, f, 1), LP2P_ERR_CRYPTO);
    lp2p_noise_free(n);
    assert_int_equal(mc.live_bytes, 0);
  }
  /* A corrupted handshake message 2 fails the initiator too. */
  raw_peer r;
  raw_init(&r, 0);
  lp2p_noise *n;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  assert_int_equal(lp2p_noise_new(&n, 1, &c, NULL, &rng, 0), 0);
  raw_read(&r, n);
  uint8_t pl[4096], frame[70000];
  size_t pll = raw_payload(&r, test_key(LP2P_KEY_ED25519, 1), FORGE_NONE, NULL,
                           0, pl, sizeof pl);
  size_t fl = raw_write(&r, pl, pll, frame);
  frame[fl - 1] ^= 1;
  feed_all(n, frame, fl);
  expect_closed(n, LP2P_ERR_CRYPTO);
  lp2p_noise_free(n);
}

static void test_short_and_truncated_frames(void **state) {
  (void)state;
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  raw_peer r;
  /* A frame shorter than the tag. */
  lp2p_noise *n = established(&r, &mc);
  feed_all(n, (const uint8_t *)"\x00\x0f" "0123456789abcde", 17);
  expect_closed(n, LP2P_ERR_PROTO);
  lp2p_noise_free(n);
  /* An empty frame is legal and yields nothing; then a real one. */
  n = established(&r, &mc);
  uint8_t f[200];
  size_t a = raw_frame(&r, NULL, 0, f);
  a += raw_frame(&r, (const uint8_t *)"x", 1, f + a);
  feed_all(n, f, a);
  size_t len;
  assert_non_null(lp2p_noise_read_peek(n, &len));
  assert_int_equal(len, 1);
  /* EOF in the middle of the next frame: truncated. */
  a = raw_frame(&r, (const uint8_t *)"partial", 7, f);
  feed_all(n, f, a - 1);
  assert_int_equal(lp2p_noise_feed_eof(n, 0), 0);
  expect_closed(n, LP2P_ERR_TRUNCATED);
  lp2p_noise_free(n);
  /* EOF right after the length prefix: truncated as well. */
  n = established(&r, &mc);
  feed_all(n, (const uint8_t *)"\x00\x20", 2);
  assert_int_equal(lp2p_noise_feed_eof(n, 0), 0);
  expect_closed(n, LP2P_ERR_TRUNCATED);
  lp2p_noise_free(n);
  /* EOF during the handshake: at a message boundary and inside one. */
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  assert_int_equal(lp2p_noise_new(&n, 1, &c, &mc.mem, &rng, 0), 0);
  assert_int_equal(lp2p_noise_feed_eof(n, 0), 0);
  expect_closed(n, LP2P_ERR_EOF);
  assert_int_equal(lp2p_noise_feed_eof(n, 0), LP2P_ERR_EOF);
  lp2p_noise_free(n);
  assert_int_equal(lp2p_noise_new(&n, 0, &c, &mc.mem, &rng, 0), 0);
  feed_all(n, (const uint8_t *)"\x00\x20" "abc", 5);
  assert_int_equal(lp2p_noise_feed_eof(n, 0), 0);
  expect_closed(n, LP2P_ERR_TRUNCATED);
  lp2p_noise_free(n);
  /* Message 1 shorter than a key; message 2 too short for its parts. */
  assert_int_equal(lp2p_noise_new(&n, 0, &c, &mc.mem, &rng, 0), 0);
  feed_all(n, (const uint8_t *)"\x00\x03" "abc", 5);
  expect_closed(n, LP2P_ERR_PROTO);
  lp2p_noise_free(n);
  assert_int_equal(lp2p_noise_new(&n, 1, &c, &mc.mem, &rng, 0), 0);
  uint8_t m2[2 + 95] = {0, 95};
  feed_all(n, m2, sizeof m2);
  expect_closed(n, LP2P_ERR_PROTO);
  lp2p_noise_free(n);
  assert_int_equal(mc.live_bytes, 0);
}

static void test_nonce_exhaustion(void **state) {
  (void)state;
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  raw_peer r;
  lp2p_noise *n = established(&r, &mc);
  /* Sending: the last usable nonce works, the reserved one ends it. */
  noise_test_set_nonces(n, NOISE_NONCE_MAX - 1, 0);
  assert_int_equal(lp2p_noise_write(n, 0, (const uint8_t *)"a", 1), 1);
  size_t len;
  const uint8_t *o = lp2p_noise_out_peek(n, &len);
  assert_int_equal(len, 19);
  r.rx.n = NOISE_NONCE_MAX - 1;
  uint8_t buf[32];
  memcpy(buf, o + 2, 17);
  assert_int_equal(noise_cipher_decrypt(&r.rx, NULL, 0, buf, 17, buf), 0);
  assert_int_equal(buf[0], 'a');
  assert_int_equal(lp2p_noise_write(n, 0, (const uint8_t *)"b", 1),
                   LP2P_ERR_LIMIT);
  expect_closed(n, LP2P_ERR_LIMIT);
  lp2p_noise_free(n);
  /* Receiving at the reserved nonce. */
  n = established(&r, &mc);
  noise_test_set_nonces(n, 0, NOISE_NONCE_MAX);
  r.tx.n = 5;
  uint8_t f[64];
  feed_all(n, f, raw_frame(&r, (const uint8_t *)"z", 1, f));
  expect_closed(n, LP2P_ERR_LIMIT);
  lp2p_noise_free(n);
  assert_int_equal(mc.live_bytes, 0);
}

/* Random bytes at either role: never a crash, a leak or a non-fatal
 * ending; the engine ends closed or keeps waiting. */
static void test_garbage_input(void **state) {
  (void)state;
  lp2p_noise_config c = cfg_for(test_key(LP2P_KEY_ED25519, 0));
  for (int i = 0; i < 200; i++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    lp2p_noise *n;
    assert_int_equal(lp2p_noise_new(&n, i & 1, &c, &mc.mem, &rng, 0), 0);
    uint8_t g[600];
    size_t gl = (size_t)lp2p_rng_below(&rng, sizeof g) + 1;
    rng.fill(rng.ctx, g, gl);
    if (i % 3 == 0) { /* plausible length prefix */
      g[0] = 0;
      g[1] = (uint8_t)(gl - 2);
    }
    lp2p_ssize fr = lp2p_noise_feed(n, 0, g, gl);
    assert_true(fr >= 0);
    int err = lp2p_noise_last_error(n);
    if (lp2p_noise_state(n) & LP2P_STATE_CLOSED)
      assert_true(err == LP2P_ERR_PROTO || err == LP2P_ERR_CRYPTO);
    else
      assert_int_equal(err, 0);
    lp2p_noise_free(n);
    assert_int_equal(mc.live_bytes, 0);
  }
}

/* Fail allocation number N for every N until a run needs no failure. Each
 * run: a full handshake and some transport both ways. Failures surface as
 * LP2P_ERR_NOMEM only (from new, feed or write, or as last_error), and
 * every byte is returned after free. */
static void test_alloc_failure_sweep(void **state) {
  (void)state;
  const char *mux[] = {"/yamux/1.0.0"};
  uint8_t data[150000];
  fill_pattern(data, sizeof data, 5);
  int completed = 0;
  uint64_t fail = 1;
  for (; fail < 1000 && !completed; fail++) {
    lp2p_mem_counting mc;
    lp2p_mem_counting_init(&mc, NULL);
    mc.fail_at = fail;
    lp2p_noise_config ci = cfg_for(test_key(LP2P_KEY_ED25519, 0));
    lp2p_noise_config cr = cfg_for(test_key(LP2P_KEY_ECDSA, 1));
    ci.muxers = cr.muxers = mux;
    ci.muxers_len = cr.muxers_len = 1;
    pair p;
    pair_init(&p, fail);
    p.s[0].send = p.s[1].send = data;
    p.s[0].send_len = p.s[1].send_len = sizeof data;
    p.s[0].close_when_sent = p.s[1].close_when_sent = 1;
    int r0 = lp2p_noise_new(&p.s[0].n, 1, &ci, &mc.mem, &p.rng, 0);
    int r1 = r0 ? 0 : lp2p_noise_new(&p.s[1].n, 0, &cr, &mc.mem, &p.rng, 0);
    if (r0 || r1) {
      assert_int_equal(r0 ? r0 : r1, LP2P_ERR_NOMEM);
    } else {
      pair_run(&p, 1000000);
      for (int i = 0; i < 2; i++) {
        side *s = &p.s[i];
        int err = lp2p_noise_last_error(s->n);
        if (s->fatal) assert_int_equal(s->fatal, LP2P_ERR_NOMEM);
        if (err) {
          assert_true(lp2p_err_is_fatal(err) || err == LP2P_ERR_EOF ||
                      err == LP2P_ERR_TRUNCATED);
          assert_int_equal(lp2p_noise_state(s->n), LP2P_STATE_CLOSED);
        }
      }
      /* At least one side died of NOMEM unless the budget was never hit. */
      if (mc.failed_allocs == 0) {
        completed = 1;
        for (int i = 0; i < 2; i++) {
          assert_int_equal(p.s[i].recv.len, sizeof data);
          assert_int_equal(p.s[i].closed_err, 0);
        }
      } else {
        assert_true(lp2p_noise_last_error(p.s[0].n) == LP2P_ERR_NOMEM ||
                    lp2p_noise_last_error(p.s[1].n) == LP2P_ERR_NOMEM);
      }
    }
    pair_free(&p);
    assert_int_equal(mc.live_bytes, 0);
    assert_int_equal(mc.live_allocs, 0);
  }
  assert_true(completed);
  printf("# noise: allocation failure swept over %u allocations\n",
         (unsigned)(fail - 2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forged_signatures_all_types),
      cmocka_unit_test(test_forged_initiator),
      cmocka_unit_test(test_malformed_payloads),
      cmocka_unit_test(test_unknown_fields_ignored),
      cmocka_unit_test(test_msg1_payload_ignored),
      cmocka_unit_test(test_corrupted_ciphertext),
      cmocka_unit_test(test_short_and_truncated_frames),
      cmocka_unit_test(test_nonce_exhaustion),
      cmocka_unit_test(test_garbage_input),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
