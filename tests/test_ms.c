/* multistream-select engine tests: pair negotiation over a randomly
 * re-chunking pipe, lazy mode with trailing application bytes, ls, refusal,
 * golden traces, bad input, timeouts and an allocation-failure sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/ms.h"
#include "tests/test_ms_pair.h"

/* ---- tests -------------------------------------------------------------- */

static void test_defaults_and_idle_size(void **st) {
  (void)st;
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  assert_int_equal(cfg.message_bytes_max, 1024);
  assert_true(cfg.proposals_max > 0 && cfg.protocols_max > 0);
  assert_true(cfg.timeout_ns > 0);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  lp2p_ms *ms = NULL;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, &c.mem, 0), 0);
  /* an idle dialer is one small object */
  assert_int_equal(c.live_allocs, 1);
  assert_true(c.live_bytes <= 256);
  assert_int_equal(lp2p_ms_state(ms), LP2P_STATE_WANT_READ);
  size_t len = 99;
  assert_null(lp2p_ms_out_peek(ms, &len));
  assert_int_equal(len, 0);
  lp2p_ms_free(ms);
  assert_int_equal(c.live_bytes, 0);
  lp2p_ms_free(NULL);
}

static void test_second_choice_after_na(void **st) {
  (void)st;
  peer d, l;
  wire d2l = {0}, l2d = {0};
  mk_pair(&d, &l, &d2l, &l2d, LPROTOS, 3, NULL);
  const char *props[] = {"/tls/1.0.0", "/noise"};
  assert_int_equal(lp2p_ms_propose(d.ms, props, 2, 0), 0);
  assert_int_equal(lp2p_ms_can_send(d.ms), 0);
  assert_int_equal(run_pair(&d, &l, &d2l, &l2d, NULL, NULL, NULL), 0);
  assert_int_equal(d.done, 1);
  assert_int_equal(l.done, 1);
  assert_int_equal(d.index, 1);
  assert_int_equal(l.index, 0);
  assert_string_equal(d.proto, "/noise");
  assert_string_equal(l.proto, "/noise");
  size_t len = 0, idx = 9;
  assert_string_equal(lp2p_ms_protocol(d.ms, &len, &idx), "/noise");
  assert_int_equal(len, 6);
  assert_int_equal(idx, 1);
  assert_int_equal(lp2p_ms_last_error(d.ms), 0);
  assert_int_equal(lp2p_ms_state(d.ms), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_ms_state(l.ms), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_ms_recv_room(d.ms), 0);
  assert_int_equal(lp2p_ms_next_timeout(d.ms), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_ms_can_send(l.ms), 1);
  /* exact bytes the dialer sent: header + first proposal in one write,
   * then the second proposal after the `na` */
  char hex[512];
  hexput(hex, sizeof hex, d2l.p, d2l.len);
  assert_string_equal(hex, "132f6d756c746973747265616d2f312e302e300a"
                           "0b2f746c732f312e302e300a"
                           "072f6e6f6973650a");
  hexput(hex, sizeof hex, l2d.p, l2d.len);
  assert_string_equal(hex, "132f6d756c746973747265616d2f312e302e300a"
                           "036e610a"
                           "072f6e6f6973650a");
  /* after success nothing more is consumed */
  assert_int_equal(lp2p_ms_feed(d.ms, 0, (const uint8_t *)"x", 1), 0);
  assert_int_equal(lp2p_ms_feed_eof(d.ms, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ms_last_error(d.ms), 0);
  peer_free(&d);
  peer_free(&l);
  wire_free(&d2l);
  wire_free(&l2d);
}

static void test_all_refused(void **st) {
  (void)st;
  peer d, l;
  wire d2l = {0}, l2d = {0};
  mk_pair(&d, &l, &d2l, &l2d, LPROTOS, 3, NULL);
  const char *props[] = {"/a", "/b", "/c"};
  assert_int_equal(lp2p_ms_propose(d.ms, props, 3, 0), 0);
  assert_int_equal(run_pair(&d, &l, &d2l, &l2d, NULL, NULL, NULL), 0);
  assert_int_equal(d.done, -1);
  assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_ms_last_error(d.ms), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_ms_state(d.ms), LP2P_STATE_CLOSED);
  assert_null(lp2p_ms_protocol(d.ms, NULL, NULL));
  assert_int_equal(l.done, 0); /* still waiting for a usable proposal */
  assert_true(lp2p_ms_state(l.ms) & LP2P_STATE_WANT_READ);
  /* a failed engine swallows input and refuses commands */
  assert_int_equal(lp2p_ms_feed(d.ms, 0, (const uint8_t *)"abc", 3), 3);
  assert_int_equal(lp2p_ms_ls(d.ms), LP2P_ERR_STATE);
  peer_free(&d);
  peer_free(&l);
  wire_free(&d2l);
  wire_free(&l2d);
}

static void test_lazy_trailing_bytes(void **st) {
  (void)st;
  peer d, l;
  wire d2l = {0}, l2d = {0};
  mk_pair(&d, &l, &d2l, &l2d, LPROTOS, 3, NULL);
  const char *props[] = {"/echo/1"};
  assert_int_equal(lp2p_ms_propose(d.ms, props, 2, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ms_propose(d.ms, props, 1, 1), 0);
  assert_int_equal(lp2p_ms_can_send(d.ms), 1);
  /* one write carries header, proposal and application data */
  drain_out(&d, NULL);
  wire_put(&d2l, (const uint8_t *)"PING", 4);
  assert_int_equal(lp2p_ms_feed(l.ms, 0, d2l.p, d2l.len), d2l.len - 4);
  d2l.off = d2l.len;
  drain_events(&l);
  assert_int_equal(l.done, 1);
  assert_string_equal(l.proto, "/echo/1");
  assert_int_equal(l.index, 2);
  /* the listener's echo, then its own application bytes, one write */
  drain_out(&l, NULL);
  wire_put(&l2d, (const uint8_t *)"PONG!", 5);
  lp2p_ssize r = lp2p_ms_feed(d.ms, 0, l2d.p, l2d.len);
  assert_int_equal(r, l2d.len - 5);
  assert_memory_equal(l2d.p + r, "PONG!", 5);
  drain_events(&d);
  assert_int_equal(d.done, 1);
  assert_int_equal(d.index, 0);
  peer_free(&d);
  peer_free(&l);
  wire_free(&d2l);
  wire_free(&l2d);
}

static void test_lazy_refused(void **st) {
  (void)st;
  peer d, l;
  wire d2l = {0}, l2d = {0};
  mk_pair(&d, &l, &d2l, &l2d, LPROTOS, 3, NULL);
  const char *props[] = {"/nope"};
  assert_int_equal(lp2p_ms_propose(d.ms, props, 1, 1), 0);
  assert_int_equal(run_pair(&d, &l, &d2l, &l2d, NULL, "DATA", NULL), 0);
  /* lazy: data may already be on the wire, so no second try */
  assert_int_equal(d.done, -1);
  assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_ms_can_send(d.ms), 0);
  peer_free(&d);
  peer_free(&l);
  wire_free(&d2l);
  wire_free(&l2d);
}

static void test_ls_then_propose(void **st) {
  (void)st;
  peer d, l;
  wire d2l = {0}, l2d = {0};
  mk_pair(&d, &l, &d2l, &l2d, LPROTOS, 3, NULL);
  assert_int_equal(lp2p_ms_ls(d.ms), 0);
  assert_int_equal(lp2p_ms_ls(d.ms), LP2P_ERR_STATE);
  const char *props[] = {"/yamux/1.0.0"};
  assert_int_equal(lp2p_ms_propose(d.ms, props, 1, 0), LP2P_ERR_STATE);
  assert_int_equal(run_pair(&d, &l, &d2l, &l2d, NULL, NULL, NULL), 0);
  assert_int_equal(d.ls_count, 3);
  for (size_t i = 0; i < 3; i++) {
    size_t len = 0;
    const char *e = lp2p_ms_ls_entry(d.ms, i, &len);
    assert_non_null(e);
    assert_string_equal(e, LPROTOS[i]);
    assert_int_equal(len, strlen(LPROTOS[i]));
  }
  assert_null(lp2p_ms_ls_entry(d.ms, 3, NULL));
  assert_int_equal(d.done, 0);
  assert_int_equal(lp2p_ms_propose(d.ms, props, 1, 0), 0);
  assert_int_equal(run_pair(&d, &l, &d2l, &l2d, NULL, NULL, NULL), 0);
  assert_int_equal(d.done, 1);
  assert_int_equal(l.done, 1);
  assert_string_equal(d.proto, "/yamux/1.0.0");
  assert_int_equal(l.index, 1);
  peer_free(&d);
  peer_free(&l);
  wire_free(&d2l);
  wire_free(&l2d);
}

/* Feed fixed bytes to a fresh engine in one go and in single bytes; render
 * "consumed=N out=<hex> ev=<...> err=<name>" and check both agree. */
static void trace(int dialer, const char *const *props, size_t np,
                  const uint8_t *in, size_t n, char *log, size_t cap) {
  char one[2][1024];
  for (int mode = 0; mode < 2; mode++) {
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    lp2p_ms_config cfg;
    lp2p_ms_config_default(&cfg);
    cfg.proposals_max = 2;
    cfg.message_bytes_max = 64;
    cfg.ls_bytes_max = 128;
    cfg.protocols_max = 4;
    if (!dialer) {
      cfg.protocols = props;
      cfg.protocols_len = np;
    }
    lp2p_ms *ms = NULL;
    assert_int_equal(lp2p_ms_new(&ms, dialer, &cfg, &c.mem, 0), 0);
    if (dialer) {
      assert_int_equal(lp2p_ms_propose(ms, props, np, 0), 0);
    }
    wire out = {0};
    size_t consumed = 0;
    if (mode == 0) {
      lp2p_ssize r = lp2p_ms_feed(ms, 0, in, n);
      assert_true(r >= 0);
      consumed = (size_t)r;
    } else {
      for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *o = lp2p_ms_out_peek(ms, &len);
        if (len) {
          wire_put(&out, o, len);
          lp2p_ms_out_consume(ms, len);
        }
        lp2p_ssize r = lp2p_ms_feed(ms, 0, in + i, 1);
        assert_true(r == 0 || r == 1);
        consumed += (size_t)r;
        if (r == 0)
          break;
      }
    }
    size_t len;
    const uint8_t *o = lp2p_ms_out_peek(ms, &len);
    if (len) {
      wire_put(&out, o, len);
      lp2p_ms_out_consume(ms, len);
    }
    char hex[512];
    hexput(hex, sizeof hex, out.p, out.len);
    int k = snprintf(one[mode], sizeof one[mode], "consumed=%zu out=%s",
                     consumed, hex);
    lp2p_ms_event ev;
    while (lp2p_ms_poll_event(ms, &ev)) {
      if (ev.type == LP2P_MS_EV_NEGOTIATED)
        k += snprintf(one[mode] + k, sizeof one[mode] - (size_t)k,
                      " NEGOTIATED(%zu,%s)", ev.index, ev.protocol);
      else if (ev.type == LP2P_MS_EV_FAILED)
        k += snprintf(one[mode] + k, sizeof one[mode] - (size_t)k,
                      " FAILED(%s)", lp2p_errname(ev.err));
      else
        k += snprintf(one[mode] + k, sizeof one[mode] - (size_t)k,
                      " LS(%zu)", ev.ls_count);
    }
    snprintf(one[mode] + k, sizeof one[mode] - (size_t)k, " state=%u",
             lp2p_ms_state(ms));
    lp2p_ms_free(ms);
    wire_free(&out);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_allocs, 0);
  }
  assert_string_equal(one[0], one[1]);
  snprintf(log, cap, "%s", one[0]);
}

#define HDR "\x13/multistream/1.0.0\n"
#define HDRHEX "132f6d756c746973747265616d2f312e302e300a"

static void test_golden_listener(void **st) {
  (void)st;
  const char *protos[] = {"/a", "/bb"};
  const char in[] = HDR "\x03/x\n"
                        "\x03ls\n"
                        "\x04/bb\n"
                        "APP";
  char log[1024];
  trace(0, protos, 2, (const uint8_t *)in, sizeof in - 1, log, sizeof log);
  assert_string_equal(log, "consumed=33 out=" HDRHEX "036e610a"
                           "0a" "032f610a" "042f62620a" "0a"
                           "042f62620a NEGOTIATED(1,/bb) state=8");
}

static void test_golden_dialer(void **st) {
  (void)st;
  const char *props[] = {"/x", "/a"};
  const char in[] = HDR "\x03na\n"
                        "\x03/a\n"
                        "rest";
  char log[1024];
  trace(1, props, 2, (const uint8_t *)in, sizeof in - 1, log, sizeof log);
  assert_string_equal(log, "consumed=28 out=" HDRHEX "032f780a032f610a"
                           " NEGOTIATED(1,/a) state=8");
}

/* ---- bad input ----------------------------------------------------------- */

static void expect_bad(int dialer, const uint8_t *in, size_t n, int eof,
                       int want) {
  for (size_t chunk = 1; chunk <= n + 1; chunk = chunk * 2 + 1) {
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    lp2p_ms_config cfg;
    lp2p_ms_config_default(&cfg);
    cfg.proposals_max = 2;
    const char *protos[] = {"/a"};
    if (!dialer) {
      cfg.protocols = protos;
      cfg.protocols_len = 1;
    }
    lp2p_ms *ms = NULL;
    assert_int_equal(lp2p_ms_new(&ms, dialer, &cfg, &c.mem, 0), 0);
    if (dialer)
      assert_int_equal(lp2p_ms_propose(ms, protos, 1, 0), 0);
    for (size_t i = 0; i < n; i += chunk) {
      size_t k = n - i < chunk ? n - i : chunk;
      lp2p_ssize r = lp2p_ms_feed(ms, 0, in + i, k);
      assert_true(r >= 0);
    }
    if (eof)
      assert_int_equal(lp2p_ms_feed_eof(ms, 0), 0);
    assert_int_equal(lp2p_ms_last_error(ms), want);
    lp2p_ms_event ev;
    assert_int_equal(lp2p_ms_poll_event(ms, &ev), 1);
    assert_int_equal(ev.type, LP2P_MS_EV_FAILED);
    assert_int_equal(ev.err, want);
    assert_int_equal(lp2p_ms_poll_event(ms, &ev), 0);
    assert_false(lp2p_ms_state(ms) & LP2P_STATE_WANT_READ);
    assert_int_equal(lp2p_ms_recv_room(ms), 0);
    /* further input is ignored */
    assert_int_equal(lp2p_ms_feed(ms, 0, in, n), n);
    assert_int_equal(lp2p_ms_last_error(ms), want);
    lp2p_ms_free(ms);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_allocs, 0);
  }
}

#define BAD(dialer, s, eof, want)                                              \
  expect_bad(dialer, (const uint8_t *)(s), sizeof(s) - 1, eof, want)

static void test_bad_truncated(void **st) {
  (void)st;
  BAD(0, HDR "\x05/a", 1, LP2P_ERR_TRUNCATED);
  BAD(1, "\x13/multi", 1, LP2P_ERR_TRUNCATED);
  BAD(0, HDR "\x85", 1, LP2P_ERR_TRUNCATED);
  BAD(0, HDR, 1, LP2P_ERR_EOF);
  BAD(1, "", 1, LP2P_ERR_EOF);
}

static void test_bad_oversized(void **st) {
  (void)st;
  BAD(0, HDR "\x81\x08", 0, LP2P_ERR_LIMIT); /* 1025 > 1024 */
  BAD(1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 0, LP2P_ERR_LIMIT);
  BAD(0, "\x80\x80\x80\x80", 0, LP2P_ERR_LIMIT);
}

static void test_bad_nonminimal(void **st) {
  (void)st;
  BAD(0, "\x93\x00/multistream/1.0.0\n", 0, LP2P_ERR_PROTO);
  BAD(1, HDR "\x83\x00na\n", 0, LP2P_ERR_PROTO);
}

static void test_bad_newline(void **st) {
  (void)st;
  BAD(0, "\x13/multistream/1.0.0x", 0, LP2P_ERR_PROTO);
  BAD(1, HDR "\x03/ab", 0, LP2P_ERR_PROTO);
  BAD(0, HDR "\x00", 0, LP2P_ERR_PROTO);
}

static void test_bad_header(void **st) {
  (void)st;
  BAD(0, "\x13/multistream/2.0.0\n", 0, LP2P_ERR_PROTO);
  BAD(1, "\x03/a\n", 0, LP2P_ERR_PROTO);
  /* 'G' reads as length 71; the request is long enough to complete it */
  BAD(0,
      "GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.0\r\n"
      "Accept: */*\r\n\r\n",
      0, LP2P_ERR_PROTO);
}

static void test_bad_too_many_proposals(void **st) {
  (void)st;
  /* proposals_max = 2: the third refusal fails, with a final `na` */
  BAD(0, HDR "\x03/x\n\x03/y\n\x03ls\n", 0, LP2P_ERR_LIMIT);
  BAD(0, HDR "\x03/x\n\x03/y\n\x03/z\n\x03/a\n", 0, LP2P_ERR_LIMIT);
}

/* LIMIT is a non-fatal code (common.h), so what ends the engine is the
 * engine's own decision: an API call over a limit leaves it usable, a peer
 * over a limit kills it (sticky error, `na` goodbye, then CLOSED). */
static void test_limit_api_vs_peer(void **st) {
  (void)st;
  assert_false(lp2p_err_is_fatal(LP2P_ERR_LIMIT));
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  cfg.proposals_max = 2;
  lp2p_ms *ms = NULL;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, NULL, 0), 0);
  const char *p3[] = {"/a", "/b", "/c"};
  assert_int_equal(lp2p_ms_propose(ms, p3, 3, 0), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_ms_last_error(ms), 0);
  assert_false(lp2p_ms_state(ms) & LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_ms_propose(ms, p3, 2, 0), 0); /* still usable */
  assert_non_null(lp2p_ms_out_peek(ms, NULL));
  lp2p_ms_free(ms);
  /* The same code from the peer's side: three refusals with max 2. */
  const char *protos[] = {"/a"};
  cfg.protocols = protos;
  cfg.protocols_len = 1;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), 0);
  const char in[] = HDR "\x03/x\n\x03/y\n\x03/z\n";
  size_t len;
  lp2p_ms_out_consume(ms, 1000); /* our header */
  assert_int_equal(lp2p_ms_feed(ms, 0, (const uint8_t *)in, sizeof in - 1),
                   sizeof in - 1);
  assert_int_equal(lp2p_ms_last_error(ms), LP2P_ERR_LIMIT);
  const uint8_t *o = lp2p_ms_out_peek(ms, &len);
  assert_non_null(o); /* na, na, and the goodbye na */
  assert_true(len >= 4);
  assert_memory_equal(o + len - 4, "\x03na\n", 4);
  assert_int_equal(lp2p_ms_state(ms),
                   LP2P_STATE_HAS_OUTPUT | LP2P_STATE_CLOSING);
  lp2p_ms_out_consume(ms, len);
  assert_int_equal(lp2p_ms_state(ms), LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_ms_recv_room(ms), 0);
  lp2p_ms_free(ms);
}

static void test_bad_dialer_answers(void **st) {
  (void)st;
  BAD(1, HDR "\x03/b\n", 0, LP2P_ERR_PROTO); /* neither echo nor na */
  /* single proposal refused */
  BAD(1, HDR "\x03na\n", 0, LP2P_ERR_UNSUPPORTED);
}

static void test_limit_goodbye_na(void **st) {
  (void)st;
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  cfg.proposals_max = 0;
  lp2p_ms *ms = NULL;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), 0);
  const char in[] = HDR "\x03/x\n";
  assert_int_equal(lp2p_ms_feed(ms, 0, (const uint8_t *)in, sizeof in - 1),
                   sizeof in - 1);
  size_t len;
  const uint8_t *o = lp2p_ms_out_peek(ms, &len);
  char hex[256];
  hexput(hex, sizeof hex, o, len);
  assert_string_equal(hex, HDRHEX "036e610a");
  assert_int_equal(lp2p_ms_state(ms),
                   LP2P_STATE_HAS_OUTPUT | LP2P_STATE_CLOSING);
  lp2p_ms_out_consume(ms, len);
  assert_int_equal(lp2p_ms_state(ms), LP2P_STATE_CLOSED);
  lp2p_ms_free(ms);
}

/* An ls answer in the older js-libp2p layout (entry varints exclude the
 * newline) and one in the spec layout both parse; bad ones fail. */
static void test_ls_answer_layouts(void **st) {
  (void)st;
  const char *answers[] = {
      HDR "\x0a\x02/a\n\x03/bc\n\n", /* js < 1.0: len excludes newline */
      HDR "\x0a\x03/a\n\x04/bc\n\n", /* spec / go / js >= 1.0 */
  };
  for (int i = 0; i < 2; i++) {
    lp2p_ms *ms = NULL;
    assert_int_equal(lp2p_ms_new(&ms, 1, NULL, NULL, 0), 0);
    assert_int_equal(lp2p_ms_ls(ms), 0);
    size_t n = strlen(answers[i]);
    assert_int_equal(lp2p_ms_feed(ms, 0, (const uint8_t *)answers[i], n), n);
    lp2p_ms_event ev;
    assert_int_equal(lp2p_ms_poll_event(ms, &ev), 1);
    assert_int_equal(ev.type, LP2P_MS_EV_LS_RESULT);
    assert_int_equal(ev.ls_count, 2);
    assert_string_equal(lp2p_ms_ls_entry(ms, 0, NULL), "/a");
    assert_string_equal(lp2p_ms_ls_entry(ms, 1, NULL), "/bc");
    assert_int_equal(lp2p_ms_last_error(ms), 0);
    lp2p_ms_free(ms);
  }
  /* entry runs past the block */
  lp2p_ms *ms = NULL;
  assert_int_equal(lp2p_ms_new(&ms, 1, NULL, NULL, 0), 0);
  assert_int_equal(lp2p_ms_ls(ms), 0);
  const char bad[] = HDR "\x04\x09/a\n\n";
  assert_int_equal(lp2p_ms_feed(ms, 0, (const uint8_t *)bad, sizeof bad - 1),
                   sizeof bad - 1);
  assert_int_equal(lp2p_ms_last_error(ms), LP2P_ERR_PROTO);
  lp2p_ms_free(ms);
  /* more entries than protocols_max */
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  cfg.protocols_max = 1;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, NULL, 0), 0);
  assert_int_equal(lp2p_ms_ls(ms), 0);
  size_t n = strlen(answers[1]);
  assert_int_equal(lp2p_ms_feed(ms, 0, (const uint8_t *)answers[1], n), n);
  assert_int_equal(lp2p_ms_last_error(ms), LP2P_ERR_LIMIT);
  lp2p_ms_free(ms);
}

static void test_timeout(void **st) {
  (void)st;
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  cfg.timeout_ns = 5000;
  lp2p_ms *ms = NULL;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, NULL, 1000), 0);
  assert_int_equal(lp2p_ms_next_timeout(ms), 6000);
  assert_int_equal(lp2p_ms_handle_timeout(ms, 5999), 0);
  assert_int_equal(lp2p_ms_last_error(ms), 0);
  lp2p_ms_event ev;
  assert_int_equal(lp2p_ms_poll_event(ms, &ev), 0);
  assert_int_equal(lp2p_ms_handle_timeout(ms, 6000), 0);
  assert_int_equal(lp2p_ms_last_error(ms), LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_ms_handle_timeout(ms, 7000), 0); /* idempotent */
  assert_int_equal(lp2p_ms_poll_event(ms, &ev), 1);
  assert_int_equal(ev.type, LP2P_MS_EV_FAILED);
  assert_int_equal(ev.err, LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_ms_poll_event(ms, &ev), 0);
  assert_int_equal(lp2p_ms_next_timeout(ms), LP2P_TSTAMP_NONE);
  lp2p_ms_free(ms);
  /* timeout_ns 0: no deadline */
  cfg.timeout_ns = 0;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 1000), 0);
  assert_int_equal(lp2p_ms_next_timeout(ms), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_ms_handle_timeout(ms, UINT64_MAX - 1), 0);
  assert_int_equal(lp2p_ms_last_error(ms), 0);
  lp2p_ms_free(ms);
}

static void test_api_misuse(void **st) {
  (void)st;
  lp2p_ms *ms = NULL;
  lp2p_ms_config cfg;
  lp2p_ms_config_default(&cfg);
  assert_int_equal(lp2p_ms_new(NULL, 1, &cfg, NULL, 0), LP2P_ERR_INVAL);
  cfg.message_bytes_max = 10;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, NULL, 0), LP2P_ERR_INVAL);
  assert_null(ms);
  lp2p_ms_config_default(&cfg);
  const char *bad1[] = {"/a\nb"};
  cfg.protocols = bad1;
  cfg.protocols_len = 1;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), LP2P_ERR_INVAL);
  const char *bad2[] = {""};
  cfg.protocols = bad2;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), LP2P_ERR_INVAL);
  cfg.protocols_max = 0;
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), LP2P_ERR_LIMIT);
  lp2p_ms_config_default(&cfg);
  /* listener cannot propose */
  assert_int_equal(lp2p_ms_new(&ms, 0, &cfg, NULL, 0), 0);
  const char *p1[] = {"/a"};
  assert_int_equal(lp2p_ms_propose(ms, p1, 1, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ms_ls(ms), LP2P_ERR_INVAL);
  lp2p_ms_free(ms);
  /* dialer */
  cfg.proposals_max = 2;
  assert_int_equal(lp2p_ms_new(&ms, 1, &cfg, NULL, 0), 0);
  const char *p3[] = {"/a", "/b", "/c"};
  assert_int_equal(lp2p_ms_propose(ms, p3, 3, 0), LP2P_ERR_LIMIT);
  const char *rsv[] = {"na"};
  assert_int_equal(lp2p_ms_propose(ms, rsv, 1, 0), LP2P_ERR_INVAL);
  const char *hdr[] = {LP2P_MS_PROTOCOL_ID};
  assert_int_equal(lp2p_ms_propose(ms, hdr, 1, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ms_propose(ms, p1, 0, 0), LP2P_ERR_INVAL);
  char longname[1100];
  memset(longname, 'x', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = 0;
  const char *pl[] = {longname};
  assert_int_equal(lp2p_ms_propose(ms, pl, 1, 0), LP2P_ERR_INVAL);
  /* none of that changed the engine */
  assert_int_equal(lp2p_ms_last_error(ms), 0);
  assert_int_equal(lp2p_ms_propose(ms, p1, 1, 0), 0);
  assert_int_equal(lp2p_ms_propose(ms, p1, 1, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ms_ls(ms), LP2P_ERR_STATE);
  assert_int_equal(lp2p_ms_feed(ms, 0, NULL, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ms_feed(ms, 0, NULL, 0), 0);
  lp2p_ms_free(ms);
}

/* Many seeded runs: random lists (sometimes disjoint), random chunking and
 * partial output consumes, lazy or not, trailing application bytes. */
static void test_pair_random(void **st) {
  (void)st;
  static const char *pool[] = {"/p0", "/p1/1.0.0", "/p2", "/p3/x/y",
                               "/p4", "/p5", "/p6"};
  for (uint64_t seed = 1; seed <= 400; seed++) {
    rnd g;
    lp2p_rng_chacha_init(&g.st, seed, 7, &g.r);
    const char *lp[7], *dp[7];
    size_t nl = (size_t)lp2p_rng_below(&g.r, 4),
           nd = 1 + (size_t)lp2p_rng_below(&g.r, 4);
    for (size_t i = 0; i < nl; i++)
      lp[i] = pool[lp2p_rng_below(&g.r, 7)];
    for (size_t i = 0; i < nd; i++)
      dp[i] = pool[lp2p_rng_below(&g.r, 7)];
    int lazy = nd == 1 && lp2p_rng_below(&g.r, 2);
    int do_ls = !lazy && lp2p_rng_below(&g.r, 3) == 0;
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    peer d, l;
    wire d2l = {0}, l2d = {0};
    mk_pair(&d, &l, &d2l, &l2d, lp, nl, &c.mem);
    if (do_ls) {
      assert_int_equal(lp2p_ms_ls(d.ms), 0);
      assert_int_equal(run_pair(&d, &l, &d2l, &l2d, &g, NULL, NULL), 0);
      assert_int_equal(d.ls_count, nl);
      for (size_t i = 0; i < nl; i++)
        assert_string_equal(lp2p_ms_ls_entry(d.ms, i, NULL), lp[i]);
    }
    assert_int_equal(lp2p_ms_propose(d.ms, dp, nd, lazy), 0);
    const char *app = lazy ? "lazy-app-data" : NULL;
    assert_int_equal(run_pair(&d, &l, &d2l, &l2d, &g, app, "reply"), 0);
    /* expected: the first dialer choice the listener supports */
    size_t want = nd, lwant = 0;
    for (size_t i = 0; i < nd && want == nd; i++)
      for (size_t j = 0; j < nl; j++)
        if (!strcmp(dp[i], lp[j])) {
          want = i;
          lwant = j;
          break;
        }
    if (lazy && want != 0)
      want = nd;
    if (want < nd) {
      assert_int_equal(d.done, 1);
      assert_int_equal(l.done, 1);
      assert_int_equal(d.index, want);
      assert_int_equal(l.index, lwant);
      assert_string_equal(d.proto, dp[want]);
      assert_string_equal(l.proto, dp[want]);
      assert_int_equal(d.rest.len, 5);
      assert_memory_equal(d.rest.p, "reply", 5);
      if (lazy) {
        assert_int_equal(l.rest.len, strlen(app));
        assert_memory_equal(l.rest.p, app, strlen(app));
      } else {
        assert_int_equal(l.rest.len, 0);
      }
    } else {
      assert_int_equal(d.done, -1);
      assert_int_equal(d.err, LP2P_ERR_UNSUPPORTED);
      assert_int_not_equal(l.done, 1);
    }
    peer_free(&d);
    peer_free(&l);
    wire_free(&d2l);
    wire_free(&l2d);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_allocs, 0);
  }
}

/* Fail the Nth allocation for every N: each run either succeeds or ends in
 * LP2P_ERR_NOMEM (fatal) somewhere, and never leaks. */
static void test_alloc_failure_sweep(void **st) {
  (void)st;
  const char *lp[] = {"/a", "/b", "/c"};
  const char *dp[] = {"/x", "/c"};
  uint64_t total = 0;
  { /* count allocations of a clean run */
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    peer d, l;
    wire d2l = {0}, l2d = {0};
    mk_pair(&d, &l, &d2l, &l2d, lp, 3, &c.mem);
    assert_int_equal(lp2p_ms_ls(d.ms), 0);
    rnd g;
    lp2p_rng_chacha_init(&g.st, 3, 3, &g.r);
    assert_int_equal(run_pair(&d, &l, &d2l, &l2d, &g, NULL, NULL), 0);
    assert_int_equal(lp2p_ms_propose(d.ms, dp, 2, 0), 0);
    assert_int_equal(run_pair(&d, &l, &d2l, &l2d, &g, NULL, NULL), 0);
    assert_int_equal(d.done, 1);
    total = c.total_allocs;
    peer_free(&d);
    peer_free(&l);
    wire_free(&d2l);
    wire_free(&l2d);
  }
  assert_true(total > 5);
  int saw_nomem = 0;
  for (uint64_t n = 1; n <= total + 1; n++) {
    lp2p_mem_counting c;
    lp2p_mem_counting_init(&c, NULL);
    c.fail_at = n;
    lp2p_ms_config cfg;
    lp2p_ms_config_default(&cfg);
    lp2p_ms *dm = NULL, *lm = NULL;
    int r = lp2p_ms_new(&dm, 1, &cfg, &c.mem, 0);
    if (r == 0) {
      cfg.protocols = lp;
      cfg.protocols_len = 3;
      r = lp2p_ms_new(&lm, 0, &cfg, &c.mem, 0);
    }
    int ok = 0;
    if (r == 0) {
      peer d = {0}, l = {0};
      wire d2l = {0}, l2d = {0};
      d.ms = dm;
      l.ms = lm;
      d.tx = &d2l;
      l.tx = &l2d;
      rnd g;
      lp2p_rng_chacha_init(&g.st, 3, 3, &g.r);
      r = lp2p_ms_ls(d.ms);
      if (r == 0)
        r = run_pair(&d, &l, &d2l, &l2d, &g, NULL, NULL);
      if (r == 0 && d.done == 0)
        r = lp2p_ms_propose(d.ms, dp, 2, 0);
      if (r == 0)
        r = run_pair(&d, &l, &d2l, &l2d, &g, NULL, NULL);
      if (r == 0 && d.done == -1)
        r = d.err;
      if (r == 0 && l.done == -1)
        r = l.err;
      if (r == 0) {
        assert_int_equal(d.done, 1);
        assert_int_equal(l.done, 1);
        ok = 1;
      }
      peer_free(&d);
      peer_free(&l);
      wire_free(&d2l);
      wire_free(&l2d);
    } else {
      lp2p_ms_free(dm);
    }
    if (!ok) {
      assert_int_equal(r, LP2P_ERR_NOMEM);
      assert_true(lp2p_err_is_fatal(r));
      saw_nomem++;
    }
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_allocs, 0);
  }
  assert_int_equal(saw_nomem, (int)total);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_idle_size),
      cmocka_unit_test(test_second_choice_after_na),
      cmocka_unit_test(test_all_refused),
      cmocka_unit_test(test_lazy_trailing_bytes),
      cmocka_unit_test(test_lazy_refused),
      cmocka_unit_test(test_ls_then_propose),
      cmocka_unit_test(test_golden_listener),
      cmocka_unit_test(test_golden_dialer),
      cmocka_unit_test(test_bad_truncated),
      cmocka_unit_test(test_bad_oversized),
      cmocka_unit_test(test_bad_nonminimal),
      cmocka_unit_test(test_bad_newline),
      cmocka_unit_test(test_bad_header),
      cmocka_unit_test(test_bad_too_many_proposals),
      cmocka_unit_test(test_limit_api_vs_peer),
      cmocka_unit_test(test_bad_dialer_answers),
      cmocka_unit_test(test_limit_goodbye_na),
      cmocka_unit_test(test_ls_answer_layouts),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_api_misuse),
      cmocka_unit_test(test_pair_random),
      cmocka_unit_test(test_alloc_failure_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
