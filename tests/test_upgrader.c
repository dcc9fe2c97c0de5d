/* Upgrader tests: two upgraders shuttled through a seeded random
 * re-chunking pipe (1 byte .. 64 KiB pieces, random partial out_consume),
 * with a small application on top that opens yamux streams, negotiates
 * their protocols with lp2p_ms and moves data end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/upgrader.h"
#include "tests/test_upgrader_pair.h"

/* Full upgrade, then `nstreams` streams each sending `bytes` to the echo
 * server and reading it back. */
static void full_case_sec(uint64_t seed, lp2p_upgrader_config *dc,
                          lp2p_upgrader_config *lc, int expect_early,
                          int lazy, int nstreams, size_t bytes,
                          const char *sec) {
  rngs g;
  rngs_init(&g, seed);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  world w;
  world_init(&w, seed, dc, lc, &c.mem, g.r);
  w.n[1].serve = SERVE;
  w.n[1].nserve = 2;
  run(&w, 20000);
  for (int i = 0; i < 2; i++) {
    assert_false(w.n[i].closed);
    assert_true(w.n[i].identified);
    assert_true(w.n[i].ready);
    assert_int_equal(w.n[i].early, expect_early);
    assert_string_equal(w.n[i].sec, sec);
  }
  lp2p_peerid p0 = peer_of(0), p1 = peer_of(1);
  assert_true(lp2p_peerid_equal(&w.n[0].peer, &p1));
  assert_true(lp2p_peerid_equal(&w.n[1].peer, &p0));
  assert_true(lp2p_peerid_equal(lp2p_upgrader_remote_peer(w.n[0].u), &p1));
  uint8_t *data[STREAMS];
  for (int k = 0; k < nstreams; k++) {
    const char *want[] = {k % 2 ? "/nope/1" : "/echo/1.0.0", "/echo/1.0.0"};
    size_t nwant = lazy ? 1 : 2;
    if (lazy)
      want[0] = "/echo/1.0.0";
    app_stream *s = NULL;
    assert_int_equal(app_select(&w, &w.n[0], want, nwant, lazy, &s), 0);
    data[k] = pattern(bytes, (uint8_t)k);
    s->send = data[k];
    s->send_len = bytes;
    assert_non_null(s->ms);
  }
  run(&w, 200000);
  for (int k = 0; k < nstreams; k++) {
    app_stream *s = &w.n[0].s[k];
    assert_true(s->used);
    assert_true(s->negotiated);
    assert_string_equal(s->proto, "/echo/1.0.0");
    assert_int_equal(s->recv.len, bytes);
    if (bytes)
      assert_memory_equal(s->recv.p, data[k], bytes);
    assert_true(s->closed);
    app_stream *e = app_find(&w.n[1], s->id, 0);
    assert_non_null(e);
    assert_true(e->negotiated);
    assert_string_equal(e->proto, "/echo/1.0.0");
    assert_int_equal(e->recv.len, bytes);
    free(data[k]);
  }
  /* clean close: GoAway, secure channel close, both CLOSED with 0 */
  assert_int_equal(lp2p_upgrader_close(w.n[0].u, w.now), 0);
  run(&w, 20000);
  for (int i = 0; i < 2; i++) {
    assert_true(w.n[i].closed);
    assert_int_equal(w.n[i].closed_err, 0);
    assert_int_equal(w.n[i].events_after_close, 0);
    assert_int_equal(lp2p_upgrader_state(w.n[i].u), LP2P_STATE_CLOSED);
  }
  world_free(&w);
  assert_int_equal(c.live_bytes, 0);
  assert_int_equal(c.live_allocs, 0);
}

static void upgrade_only(uint64_t seed, lp2p_upgrader_config *dc,
                         lp2p_upgrader_config *lc, const uint8_t *garbage,
                         size_t glen, int *err0, int *err1);

static void full_case(uint64_t seed, lp2p_upgrader_config *dc,
                      lp2p_upgrader_config *lc, int expect_early, int lazy,
                      int nstreams, size_t bytes) {
  full_case_sec(seed, dc, lc, expect_early, lazy, nstreams, bytes, "/noise");
}

/* ---- tests ------------------------------------------------------------- */

static void test_noise_early_muxer(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  lp2p_peerid want = peer_of(1);
  dc.expected_peer = &want;
  full_case(1, &dc, &lc, 1, 0, 2, 3000);
}

static void test_noise_muxer_via_multistream(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  lc.early_muxer = 0; /* the listener does not offer it: fall back */
  full_case(2, &dc, &lc, 0, 0, 2, 3000);
  base_cfg(&lc, 1);
  dc.early_muxer = 0;
  full_case(3, &dc, &lc, 0, 0, 1, 100);
}

static void test_noise_lazy(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  dc.lazy = 1;
  dc.early_muxer = 0;
  full_case(4, &dc, &lc, 0, 1, 3, 5000);
  dc.early_muxer = 1;
  full_case(5, &dc, &lc, 1, 1, 1, 0);
}

static void test_plaintext(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  dc.security = LP2P_UPGRADER_SECURITY_PLAINTEXT;
  lc.security = LP2P_UPGRADER_SECURITY_PLAINTEXT;
  lp2p_peerid want = peer_of(1);
  dc.expected_peer = &want;
  /* no Noise, so the muxer always goes through multistream-select */
  full_case_sec(30, &dc, &lc, 0, 0, 2, 4000, "/plaintext/2.0.0");
  dc.lazy = 1;
  full_case_sec(31, &dc, &lc, 0, 1, 3, 70000, "/plaintext/2.0.0");
  /* both offered, listener only plaintext: `na` for /noise, then plaintext */
  dc.lazy = 0;
  dc.security = LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT;
  full_case_sec(32, &dc, &lc, 0, 0, 1, 10, "/plaintext/2.0.0");
  /* both on both sides: the dialer's preference (Noise) wins */
  lc.security = LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT;
  full_case_sec(33, &dc, &lc, 1, 0, 1, 10, "/noise");
}

static void test_security_mismatch(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  dc.security = LP2P_UPGRADER_SECURITY_PLAINTEXT;
  int e0, e1;
  upgrade_only(34, &dc, &lc, NULL, 0, &e0, &e1);
  assert_int_equal(e0, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(e1, LP2P_ERR_EOF); /* the dialer hung up */
  /* plaintext with the wrong expected peer */
  lc.security = LP2P_UPGRADER_SECURITY_PLAINTEXT;
  lp2p_peerid other = peer_of(2);
  dc.expected_peer = &other;
  upgrade_only(35, &dc, &lc, NULL, 0, &e0, &e1);
  assert_int_equal(e0, LP2P_ERR_PEER_ID_MISMATCH);
  assert_true(e1 < 0);
}

static void test_random_rechunking(void **st) {
  (void)st;
  for (uint64_t seed = 10; seed < 40; seed++) {
    lp2p_upgrader_config dc, lc;
    base_cfg(&dc, 0);
    base_cfg(&lc, 1);
    dc.early_muxer = seed & 1;
    lc.early_muxer = (seed >> 1) & 1;
    dc.lazy = (seed >> 2) & 1;
    full_case(seed, &dc, &lc, (int)(seed & 1 && (seed >> 1) & 1),
              (int)((seed >> 2) & 1), 1 + (int)(seed % 3),
              (size_t)(seed * 977 % 20000));
  }
}

static void test_large_transfer(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  full_case(77, &dc, &lc, 1, 0, 2, 700000); /* beyond the 256 KiB window */
}

/* Upgrade only; returns both CLOSED reasons. */
static void upgrade_only(uint64_t seed, lp2p_upgrader_config *dc,
                         lp2p_upgrader_config *lc, const uint8_t *garbage,
                         size_t glen, int *err0, int *err1) {
  rngs g;
  rngs_init(&g, seed);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  world w;
  world_init(&w, seed, dc, lc, &c.mem, g.r);
  if (garbage) { /* a rogue dialer: replace its bytes with garbage */
    lp2p_upgrader_free(w.n[0].u);
    w.n[0].u = NULL;
    buf_put(&w.wire[0], garbage, glen);
  }
  run(&w, 20000);
  *err0 = w.n[0].closed ? w.n[0].closed_err : 1;
  *err1 = w.n[1].closed ? w.n[1].closed_err : 1;
  world_free(&w);
  assert_int_equal(c.live_bytes, 0);
}

static void test_peer_id_mismatch(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  lp2p_peerid other = peer_of(2);
  dc.expected_peer = &other;
  int e0, e1;
  upgrade_only(5, &dc, &lc, NULL, 0, &e0, &e1);
  assert_int_equal(e0, LP2P_ERR_PEER_ID_MISMATCH);
  assert_true(e1 < 0); /* the listener sees the connection die */
}

static void test_garbage_before_multistream(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  static const uint8_t tls_hello[] = {0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00,
                                      0x00, 0xa1, 0x03, 0x03, 0x11, 0x22, 0x33,
                                      0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                                      0xbb, 0xcc, 0xdd};
  int e0, e1;
  upgrade_only(6, &dc, &lc, tls_hello, sizeof tls_hello, &e0, &e1);
  assert_int_equal(e1, LP2P_ERR_PROTO);
  static const char http[] = "GET / HTTP/1.1\r\nHost: example.org\r\n"
                             "User-Agent: test/1.0\r\nAccept: */*\r\n\r\n";
  upgrade_only(7, &dc, &lc, (const uint8_t *)http, sizeof http - 1, &e0, &e1);
  assert_int_equal(e1, LP2P_ERR_PROTO);
  /* oversized multistream message */
  static const uint8_t big[] = {0xff, 0x7f};
  upgrade_only(8, &dc, &lc, big, sizeof big, &e0, &e1);
  assert_int_equal(e1, LP2P_ERR_LIMIT);
}

static void test_timeout(void **st) {
  (void)st;
  lp2p_upgrader_config dc;
  base_cfg(&dc, 0);
  dc.upgrade_timeout_ns = 5000;
  rngs g;
  rngs_init(&g, 9);
  lp2p_upgrader *u = NULL;
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 100), 0);
  assert_int_equal(lp2p_upgrader_next_timeout(u), 5100);
  assert_int_equal(lp2p_upgrader_handle_timeout(u, 5099), 0);
  assert_int_equal(lp2p_upgrader_last_error(u), 0);
  assert_int_equal(lp2p_upgrader_handle_timeout(u, 5100), 0);
  assert_int_equal(lp2p_upgrader_handle_timeout(u, 6000), 0);
  assert_int_equal(lp2p_upgrader_last_error(u), LP2P_ERR_TIMEOUT);
  lp2p_upgrader_event ev;
  assert_int_equal(lp2p_upgrader_poll_event(u, &ev), 1);
  assert_int_equal(ev.type, LP2P_UPGRADER_EV_CLOSED);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_upgrader_poll_event(u, &ev), 0);
  assert_int_equal(lp2p_upgrader_next_timeout(u), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_upgrader_recv_room(u), 0);
  lp2p_upgrader_free(u);
}

static void test_api_errors(void **st) {
  (void)st;
  lp2p_upgrader_config dc;
  base_cfg(&dc, 0);
  rngs g;
  rngs_init(&g, 9);
  lp2p_upgrader *u = NULL;
  assert_int_equal(lp2p_upgrader_new(NULL, 1, &dc, NULL, &g.r[0], 0),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, NULL, 0),
                   LP2P_ERR_INVAL);
  dc.identity = NULL;
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 0),
                   LP2P_ERR_INVAL);
  assert_null(u);
  base_cfg(&dc, 0);
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 0), 0);
  /* before READY there is no session to open streams on */
  assert_null(lp2p_upgrader_yamux(u));
  assert_null(lp2p_upgrader_remote_peer(u));
  assert_int_equal(lp2p_upgrader_ready(u), 0);
  /* the dialer's first bytes are queued at once */
  size_t len = 0;
  assert_non_null(lp2p_upgrader_out_peek(u, &len));
  assert_true(len > 20);
  /* closing before READY abandons */
  assert_int_equal(lp2p_upgrader_close(u, 0), 0);
  assert_int_equal(lp2p_upgrader_last_error(u), LP2P_ERR_CLOSED);
  lp2p_upgrader_free(u);
  lp2p_upgrader_free(NULL);
}

/* The listener does not serve the protocol: the dialer's stream fails with
 * UNSUPPORTED and is reset; the listener's side sees the reset. */
static void test_stream_refused(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  rngs g;
  rngs_init(&g, 12);
  world w;
  world_init(&w, 12, &dc, &lc, NULL, g.r);
  w.n[1].serve = SERVE;
  w.n[1].nserve = 2;
  run(&w, 20000);
  assert_true(w.n[0].ready && w.n[1].ready);
  app_stream *s = NULL;
  const char *want[] = {"/a/1", "/b/1"};
  assert_int_equal(app_select(&w, &w.n[0], want, 2, 0, &s), 0);
  uint32_t id = s->id;
  assert_int_equal(lp2p_ms_propose(s->ms, want, 2, 0), LP2P_ERR_STATE);
  run(&w, 20000);
  assert_true(s->failed);
  assert_int_equal(s->fail_err, LP2P_ERR_UNSUPPORTED);
  assert_null(s->ms);
  assert_int_equal(s->recv.len, 0); /* nothing leaked to the application */
  app_stream *e = app_find(&w.n[1], id, 0);
  assert_non_null(e);
  assert_true(e->failed);
  assert_int_equal(e->fail_err, LP2P_ERR_RESET);
  assert_false(w.n[0].closed || w.n[1].closed); /* the connection lives */
  world_free(&w);
}

static void test_lazy_first_flight(void **st) {
  (void)st;
  rngs g;
  rngs_init(&g, 40);
  lp2p_upgrader_config dc;
  base_cfg(&dc, 0);
  lp2p_upgrader *u = NULL;
  size_t len;
  const uint8_t *o;
  /* waiting dialer: header + proposal only */
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 0), 0);
  o = lp2p_upgrader_out_peek(u, &len);
  assert_int_equal(len, 20 + 8);
  assert_memory_equal(o, "\x13/multistream/1.0.0\n\x07/noise\n", 28);
  lp2p_upgrader_free(u);
  /* lazy: Noise message 1 (2-byte length, 32-byte e) rides along */
  dc.lazy = 1;
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 0), 0);
  size_t total = 0;
  while ((o = lp2p_upgrader_out_peek(u, &len)) != NULL) {
    if (total == 0)
      assert_memory_equal(o, "\x13/multistream/1.0.0\n\x07/noise\n", 28);
    total += len;
    lp2p_upgrader_out_consume(u, len);
  }
  assert_int_equal(total, 28 + 2 + 32);
  /* with two choices lazy is not possible: back to waiting */
  lp2p_upgrader_free(u);
  dc.security = LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT;
  assert_int_equal(lp2p_upgrader_new(&u, 1, &dc, NULL, &g.r[0], 0), 0);
  o = lp2p_upgrader_out_peek(u, &len);
  assert_int_equal(len, 28);
  lp2p_upgrader_out_consume(u, len);
  assert_null(lp2p_upgrader_out_peek(u, &len));
  lp2p_upgrader_free(u);
}

/* A listener that never answers: the stream negotiation times out. */
static void test_stream_negotiation_timeout(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  rngs g;
  rngs_init(&g, 41);
  world w;
  world_init(&w, 41, &dc, &lc, NULL, g.r);
  w.n[0].stream_timeout_ns = 50000;
  run(&w, 20000); /* listener has no `serve`: inbound streams hang */
  assert_true(w.n[0].ready && w.n[1].ready);
  app_stream *s = NULL;
  const char *want[] = {"/echo/1.0.0"};
  assert_int_equal(app_select(&w, &w.n[0], want, 1, 0, &s), 0);
  lp2p_tstamp deadline = w.now + 50000;
  assert_int_equal(lp2p_ms_next_timeout(s->ms), deadline);
  run(&w, 20);
  assert_true(w.now < deadline);
  assert_false(s->failed);
  w.now = deadline;
  run(&w, 20000);
  assert_true(s->failed);
  assert_int_equal(s->fail_err, LP2P_ERR_TIMEOUT);
  assert_false(w.n[0].closed);
  world_free(&w);
}

/* A flipped bit in the encrypted stream kills the connection with a named
 * reason, and nothing leaks. */
static void test_tampered_transport(void **st) {
  (void)st;
  lp2p_upgrader_config dc, lc;
  base_cfg(&dc, 0);
  base_cfg(&lc, 1);
  rngs g;
  rngs_init(&g, 42);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  world w;
  world_init(&w, 42, &dc, &lc, &c.mem, g.r);
  w.n[1].serve = SERVE;
  w.n[1].nserve = 2;
  run(&w, 20000);
  assert_true(w.n[0].ready && w.n[1].ready);
  app_stream *s = NULL;
  const char *want[] = {"/echo/1.0.0"};
  assert_int_equal(app_select(&w, &w.n[0], want, 1, 1, &s), 0);
  assert_int_equal(ms_step(&w, &w.n[0], s), 1); /* the proposal goes out */
  size_t len;
  const uint8_t *o = lp2p_upgrader_out_peek(w.n[0].u, &len);
  assert_non_null(o);
  buf_put(&w.wire[0], o, len);
  lp2p_upgrader_out_consume(w.n[0].u, len);
  w.wire[0].p[w.wire[0].len - 1] ^= 0x20; /* inside the AEAD tag */
  run(&w, 20000);
  assert_true(w.n[1].closed);
  assert_int_equal(w.n[1].closed_err, LP2P_ERR_CRYPTO);
  assert_true(w.n[0].closed);
  world_free(&w);
  assert_int_equal(c.live_bytes, 0);
}

/* Fail the Nth allocation (both sides share the allocator) for every N
 * over a whole upgrade plus one echoed stream: each run ends either in
 * success or with LP2P_ERR_NOMEM on some side, and nothing leaks. */
static void alloc_sweep(int variant) {
  uint64_t total = 0;
  for (uint64_t n = 0;; n++) {
    lp2p_upgrader_config dc, lc;
    base_cfg(&dc, 0);
    base_cfg(&lc, 1);
    dc.early_muxer = variant == 0;
    dc.lazy = variant == 2;
    if (variant == 2)
      dc.security = lc.security = LP2P_UPGRADER_SECURITY_PLAINTEXT;
    rngs g;
    rngs_init(&g, 21);
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    c.fail_at = n;
    world w;
    memset(&w, 0, sizeof w);
    w.mem = &c.mem;
    lp2p_rng_chacha_init(&w.st, 21, 1, &w.r);
    w.now = 1000;
    w.n[0].tx = &w.wire[0];
    w.n[1].tx = &w.wire[1];
    int r0 = lp2p_upgrader_new(&w.n[0].u, 1, &dc, &c.mem, &g.r[0], w.now);
    int r1 = r0 ? 0 : lp2p_upgrader_new(&w.n[1].u, 0, &lc, &c.mem, &g.r[1],
                                        w.now);
    int ok = 0, nomem = r0 == LP2P_ERR_NOMEM || r1 == LP2P_ERR_NOMEM;
    if (r0 == 0 && r1 == 0) {
      w.n[1].serve = SERVE;
      w.n[1].nserve = 2;
      run(&w, 20000);
      uint8_t msg[] = "hello through every layer";
      if (w.n[0].ready && !w.n[0].closed) {
        app_stream *s = NULL;
        int r = app_select(&w, &w.n[0], SERVE, 1, 1, &s);
        if (s) {
          s->send = msg;
          s->send_len = sizeof msg;
        }
        if (r)
          nomem |= r == LP2P_ERR_NOMEM;
        else
          run(&w, 20000);
        ok = s && s->recv.len == sizeof msg && s->closed;
      }
      for (int i = 0; i < 2; i++)
        nomem |= w.n[i].fatal == LP2P_ERR_NOMEM ||
                 lp2p_upgrader_last_error(w.n[i].u) == LP2P_ERR_NOMEM;
    } else {
      assert_int_equal(r0 ? r0 : r1, LP2P_ERR_NOMEM);
    }
    world_free(&w);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_allocs, 0);
    if (n == 0) {
      assert_true(ok);
      total = c.total_allocs;
      continue;
    }
    /* a failed allocation must show up as NOMEM, never as silent damage */
    if (!ok)
      assert_true(nomem);
    if (n > total + 1)
      break;
  }
  assert_true(total > 20);
  print_message("allocation sweep (variant %d) over %llu allocations\n",
                variant, (unsigned long long)total);
}

static void test_alloc_failure_sweep(void **st) {
  (void)st;
  for (int v = 0; v < 3; v++)
    alloc_sweep(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noise_early_muxer),
      cmocka_unit_test(test_noise_muxer_via_multistream),
      cmocka_unit_test(test_noise_lazy),
      cmocka_unit_test(test_large_transfer),
      cmocka_unit_test(test_plaintext),
      cmocka_unit_test(test_security_mismatch),
      cmocka_unit_test(test_random_rechunking),
      cmocka_unit_test(test_peer_id_mismatch),
      cmocka_unit_test(test_garbage_before_multistream),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_stream_refused),
      cmocka_unit_test(test_lazy_first_flight),
      cmocka_unit_test(test_stream_negotiation_timeout),
      cmocka_unit_test(test_tampered_transport),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
