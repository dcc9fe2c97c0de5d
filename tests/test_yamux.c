/* yamux: header codec, a golden trace, and every class of bad peer input
 * (each ending in a named error with memory back to baseline). Stream and
 * session behaviours one at a time are in test_yamux_flow.c, random pair
 * runs and auto-tuning in test_yamux_pair.c, memory budgets and the
 * allocation failure sweep in test_yamux_mem.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/test_yamux_util.h"

#define HB LP2P_YAMUX_HEADER_BYTES
#define KIB 1024u

/* ---- codec --------------------------------------------------------------- */

static void test_header_codec(void **state) {
  (void)state;
  lp2p_yamux_header h = {0, LP2P_YAMUX_TYPE_WINDOW_UPDATE,
                         LP2P_YAMUX_FLAG_SYN | LP2P_YAMUX_FLAG_FIN, 0x01020304u,
                         0xa0b0c0d0u};
  uint8_t b[HB];
  lp2p_yamux_header_encode(b, &h);
  static const uint8_t want[HB] = {0x00, 0x01, 0x00, 0x05, 0x01, 0x02,
                                   0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0};
  assert_memory_equal(b, want, HB);
  lp2p_yamux_header d;
  assert_int_equal(lp2p_yamux_header_decode(&d, b, HB), 0);
  assert_int_equal(d.type, h.type);
  assert_int_equal(d.flags, h.flags);
  assert_int_equal(d.stream_id, h.stream_id);
  assert_int_equal(d.length, h.length);
  assert_int_equal(lp2p_yamux_header_decode(&d, b, HB - 1), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_yamux_header_decode(NULL, b, HB), LP2P_ERR_INVAL);
  b[0] = 1;
  assert_int_equal(lp2p_yamux_header_decode(&d, b, HB), LP2P_ERR_UNSUPPORTED);
  b[0] = 0;
  b[1] = 4;
  assert_int_equal(lp2p_yamux_header_decode(&d, b, HB), LP2P_ERR_PARSE);
  b[1] = 3;
  assert_int_equal(lp2p_yamux_header_decode(&d, b, HB), 0);
}

static void test_config_invalid(void **state) {
  (void)state;
  lp2p_yamux *y = NULL;
  lp2p_yamux_config c;
  assert_int_equal(lp2p_yamux_new(NULL, 1, NULL, NULL, 0), LP2P_ERR_INVAL);
  lp2p_yamux_config_default(&c);
  c.window_bytes_initial = 128 * KIB; /* below what the peer assumes */
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), LP2P_ERR_INVAL);
  lp2p_yamux_config_default(&c);
  c.stream_recv_buffer_bytes_max = c.window_bytes_max - 1;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), LP2P_ERR_INVAL);
  lp2p_yamux_config_default(&c);
  c.window_bytes_max = c.window_bytes_initial - 1;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), LP2P_ERR_INVAL);
  lp2p_yamux_config_default(&c);
  c.streams_max = 0;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), LP2P_ERR_INVAL);
  assert_null(y);
  assert_int_equal(lp2p_yamux_new(&y, 1, NULL, NULL, 0), 0);
  /* defaults: a start ping is queued */
  size_t len;
  const uint8_t *o = lp2p_yamux_out_peek(y, &len);
  assert_int_equal(len, HB);
  assert_int_equal(o[1], LP2P_YAMUX_TYPE_PING);
  assert_int_equal(o[3], LP2P_YAMUX_FLAG_SYN);
  lp2p_yamux_free(y);
  lp2p_yamux_free(NULL);
}

/* ---- golden trace ----------------------------------------------------------
 */

/* Fixed input to a server -> exact event log and exact output bytes. */
static void test_golden_trace(void **state) {
  (void)state;
  uint8_t in[256];
  size_t n = 0;
  n += yt_frame(in + n, 1, LP2P_YAMUX_FLAG_SYN, 1, 0); /* open 1 */
  n += yt_frame(in + n, 0, 0, 1, 5);                   /* data */
  memcpy(in + n, "hello", 5), n += 5;
  n += yt_frame(in + n, 2, LP2P_YAMUX_FLAG_SYN, 0, 0x11223344u); /* ping */
  n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_FIN, 1, 0);           /* FIN 1 */
  n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_SYN, 3, 2);           /* open 3 */
  memcpy(in + n, "hi", 2), n += 2;
  n += yt_frame(in + n, 1, LP2P_YAMUX_FLAG_RST, 3, 0); /* RST 3 */
  n += yt_frame(in + n, 3, 0, 0, 0);                   /* GoAway */

  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  lp2p_yamux_config cfg = yt_quiet_config();
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 0, &cfg, &c.mem, 0), 0);
  assert_int_equal(lp2p_yamux_feed(y, 10, in, n), (lp2p_ssize)n);
  char log[512] = "";
  yt_log_events(y, log, sizeof log);
  assert_string_equal(log, "GOAWAY 0;OPENED 1;READABLE 1;REMOTE_CLOSED 1;"
                           "OPENED 3;RESET 3;STREAM_CLOSED 3;");
  assert_true(lp2p_yamux_state(y) & LP2P_STATE_CLOSING);
  size_t len;
  const uint8_t *p = lp2p_yamux_stream_read_peek(y, 1, &len);
  assert_int_equal(len, 5);
  assert_memory_equal(p, "hello", 5);
  assert_int_equal(lp2p_yamux_stream_read_consume(y, 11, 1, 5), 0);
  assert_int_equal(
      lp2p_yamux_stream_write(y, 12, 1, (const uint8_t *)"world", 5), 5);
  assert_int_equal(lp2p_yamux_stream_close(y, 13, 1), 0);
  /* pong; then the ACK, the data and the FIN coalesced into one frame */
  char hex[256];
  p = lp2p_yamux_out_peek(y, &len);
  yt_hex(p, len, hex);
  assert_string_equal(hex, "000200020000000011223344"
                           "000000060000000100000005776f726c64");
  lp2p_yamux_out_consume(y, len);
  log[0] = 0;
  yt_log_events(y, log, sizeof log);
  assert_string_equal(log, "STREAM_CLOSED 1;CLOSED 0;");
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  assert_true(lp2p_yamux_state(y) & LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_yamux_poll_event(y, &(lp2p_yamux_event){0}), 0);
  lp2p_yamux_free(y);
  assert_int_equal(c.live_bytes, 0);
  assert_int_equal(c.live_allocs, 0);
}

/* ---- bad peer input --------------------------------------------------------
 */

/* Feed `in` to a fresh engine: the session must close with `want_err`,
 * queue GoAway(`want_code`) (or none when want_code < 0), end its events
 * with CLOSED, ignore later input, fail later calls with CLOSED, and free
 * everything. */
static void expect_bad(const uint8_t *in, size_t n, int is_client,
                       const lp2p_yamux_config *cfg, int want_err,
                       int want_code) {
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  lp2p_yamux_config def = yt_quiet_config();
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, is_client, cfg ? cfg : &def, &c.mem, 0),
                   0);
  /* in random-ish pieces: the error must not depend on chunking */
  size_t off = 0, step = 1;
  while (off < n) {
    size_t k = n - off < step ? n - off : step;
    lp2p_ssize r = lp2p_yamux_feed(y, 1, in + off, k);
    assert_int_equal(r, (lp2p_ssize)k); /* a peer never fails the call */
    off += k;
    step = step * 3 + 1;
  }
  assert_true(lp2p_yamux_state(y) & LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_yamux_last_error(y), want_err);
  size_t len;
  const uint8_t *o = lp2p_yamux_out_peek(y, &len);
  if (want_code >= 0) {
    assert_true(len >= HB);
    lp2p_yamux_header h;
    assert_int_equal(lp2p_yamux_header_decode(&h, o + len - HB, HB), 0);
    assert_int_equal(h.type, LP2P_YAMUX_TYPE_GO_AWAY);
    assert_int_equal(h.length, (uint32_t)want_code);
  } else {
    for (size_t i = 0; i + HB <= len; i += HB) /* control frames only here */
      assert_int_not_equal(o[i + 1], LP2P_YAMUX_TYPE_GO_AWAY);
  }
  lp2p_yamux_event ev, last = {0};
  while (lp2p_yamux_poll_event(y, &ev))
    last = ev;
  assert_int_equal(last.type, LP2P_YAMUX_EV_CLOSED);
  assert_int_equal(last.error, want_err);
  assert_int_equal(lp2p_yamux_feed(y, 2, in, n), (lp2p_ssize)n);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(y, 3, &id), LP2P_ERR_CLOSED);
  assert_int_equal(lp2p_yamux_ping(y, 3), LP2P_ERR_CLOSED);
  assert_int_equal(lp2p_yamux_next_timeout(y), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_yamux_recv_room(y), 0);
  lp2p_yamux_free(y);
  assert_int_equal(c.live_bytes, 0);
  assert_int_equal(c.live_allocs, 0);
}

static void test_bad_data_past_window(void **state) {
  (void)state;
  /* 256 KiB within the window, then one byte more: protocol error */
  size_t n = 2 * HB + LP2P_YAMUX_WINDOW_SPEC_BYTES + HB + 1;
  uint8_t *in = calloc(1, n);
  size_t o = yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 1, 0);
  o += yt_frame(in + o, 0, 0, 1, LP2P_YAMUX_WINDOW_SPEC_BYTES);
  o += LP2P_YAMUX_WINDOW_SPEC_BYTES;
  o += yt_frame(in + o, 0, 0, 1, 1);
  expect_bad(in, o + 1, 0, NULL, LP2P_ERR_PROTO,
             LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
  /* and a single frame larger than the window */
  o = yt_frame(in, 0, LP2P_YAMUX_FLAG_SYN, 1, LP2P_YAMUX_WINDOW_SPEC_BYTES + 1);
  expect_bad(in, o, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
  free(in);
}

static void test_bad_version(void **state) {
  (void)state;
  uint8_t in[HB];
  yt_frame(in, 2, LP2P_YAMUX_FLAG_SYN, 0, 7);
  in[0] = 1;
  expect_bad(in, HB, 1, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_type(void **state) {
  (void)state;
  uint8_t in[HB];
  yt_frame(in, 4, 0, 0, 0);
  expect_bad(in, HB, 1, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_frame_too_big(void **state) {
  (void)state;
  lp2p_yamux_config cfg = yt_quiet_config();
  cfg.frame_bytes_max = 1000;
  uint8_t in[2 * HB];
  size_t n = yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 2, 0);
  n += yt_frame(in + n, 0, 0, 2, 1001); /* within the window, over limit */
  expect_bad(in, n, 1, &cfg, LP2P_ERR_LIMIT, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
  /* unknown streams too: the limit protects the parser, not a stream */
  n = yt_frame(in, 0, 0, 9, 1001);
  expect_bad(in, n, 0, &cfg, LP2P_ERR_LIMIT, LP2P_YAMUX_GOAWAY_INTERNAL_ERROR);
}

static void test_bad_duplicate_syn(void **state) {
  (void)state;
  uint8_t in[2 * HB];
  size_t n = yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 1, 0);
  n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_SYN, 1, 0);
  expect_bad(in, n, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_parity(void **state) {
  (void)state;
  uint8_t in[HB];
  /* the server (peer of a client) must open even ids */
  yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 3, 0);
  expect_bad(in, HB, 1, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
  /* and a client must open odd ones */
  yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 4, 0);
  expect_bad(in, HB, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_stream_zero(void **state) {
  (void)state;
  uint8_t in[HB];
  yt_frame(in, 0, LP2P_YAMUX_FLAG_SYN, 0, 0);
  expect_bad(in, HB, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_window_overflow(void **state) {
  (void)state;
  uint8_t in[HB];
  yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 1, UINT32_MAX);
  expect_bad(in, HB, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_bad_data_after_fin(void **state) {
  (void)state;
  uint8_t in[3 * HB + 1];
  size_t n = yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN | LP2P_YAMUX_FLAG_FIN, 1, 0);
  n += yt_frame(in + n, 0, 0, 1, 1);
  in[n++] = 'x';
  expect_bad(in, n, 0, NULL, LP2P_ERR_PROTO, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void test_goaway_error_received(void **state) {
  (void)state;
  uint8_t in[HB];
  yt_frame(in, 3, 0, 0, LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR);
  /* the peer ended it: no GoAway back */
  expect_bad(in, HB, 1, NULL, LP2P_ERR_GOAWAY, -1);
}

/* Data, FIN and RST in one read, before any event was polled: the RST
 * drops the unread bytes, so the stream reports a reset, never a clean
 * REMOTE_CLOSED whose promised bytes are gone. */
static void test_rst_after_fin_unread(void **state) {
  (void)state;
  uint8_t in[64];
  size_t n = 0;
  n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_SYN, 1, 3);
  memcpy(in + n, "abc", 3), n += 3;
  n += yt_frame(in + n, 1, LP2P_YAMUX_FLAG_FIN, 1, 0);
  n += yt_frame(in + n, 1, LP2P_YAMUX_FLAG_RST, 1, 0);
  lp2p_yamux_config cfg = yt_quiet_config();
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 0, &cfg, NULL, 0), 0);
  assert_int_equal(lp2p_yamux_feed(y, 1, in, n), (lp2p_ssize)n);
  char log[256] = "";
  yt_log_events(y, log, sizeof log);
  assert_string_equal(log, "OPENED 1;RESET 1;STREAM_CLOSED 1;");
  lp2p_yamux_free(y);
}

/* SYNs past accept_backlog_max are reset and counted, never fatal. */
static void test_syn_flood_backlog(void **state) {
  (void)state;
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  lp2p_yamux_config cfg = yt_quiet_config();
  cfg.accept_backlog_max = 4;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 0, &cfg, &c.mem, 0), 0);
  uint8_t in[8 * HB];
  size_t n = 0;
  for (uint32_t id = 1; id <= 11; id += 2) /* 6 streams, 2 over */
    n += yt_frame(in + n, 1, LP2P_YAMUX_FLAG_SYN, id, 0);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, n), (lp2p_ssize)n);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  assert_int_equal(st.streams, 4);
  assert_int_equal(st.inbound_unacked, 4);
  assert_int_equal(st.streams_refused, 2);
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  size_t len;
  const uint8_t *o = lp2p_yamux_out_peek(y, &len);
  assert_int_equal(len, 2 * HB);
  lp2p_yamux_header h;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lp2p_yamux_header_decode(&h, o + (size_t)i * HB, HB), 0);
    assert_int_equal(h.flags, LP2P_YAMUX_FLAG_RST);
    assert_int_equal(h.stream_id, 9u + 2u * (unsigned)i);
  }
  lp2p_yamux_out_consume(y, len);
  /* accepting one frees a backlog slot: the next SYN is taken */
  assert_int_equal(lp2p_yamux_stream_accept(y, 1, 1), 0);
  assert_int_equal(lp2p_yamux_stream_status(y, 1), LP2P_YAMUX_STREAM_ACKED);
  o = lp2p_yamux_out_peek(y, &len);
  assert_int_equal(len, HB);
  assert_int_equal(lp2p_yamux_header_decode(&h, o, HB), 0);
  assert_int_equal(h.type, LP2P_YAMUX_TYPE_WINDOW_UPDATE);
  assert_int_equal(h.flags, LP2P_YAMUX_FLAG_ACK);
  lp2p_yamux_out_consume(y, len);
  n = yt_frame(in, 1, LP2P_YAMUX_FLAG_SYN, 13, 0);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, n), (lp2p_ssize)n);
  lp2p_yamux_get_stats(y, &st);
  assert_int_equal(st.streams, 5);
  assert_int_equal(st.streams_refused, 2);
  /* data for a refused stream is dropped quietly */
  n = yt_frame(in, 0, 0, 9, 3);
  memcpy(in + n, "abc", 3);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, n + 3), (lp2p_ssize)n + 3);
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  lp2p_yamux_free(y);
  assert_int_equal(c.live_bytes, 0);
}

static void test_syn_flood_streams_max(void **state) {
  (void)state;
  lp2p_yamux_config cfg = yt_quiet_config();
  cfg.streams_max = 3;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 1, &cfg, NULL, 0), 0);
  uint32_t mine;
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &mine), 0);
  assert_int_equal(mine, 1);
  uint8_t in[4 * HB];
  size_t n = 0;
  for (uint32_t id = 2; id <= 8; id += 2)
    n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_SYN, id, 0);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, n), (lp2p_ssize)n);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  assert_int_equal(st.streams, 3);
  assert_int_equal(st.streams_refused, 2);
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &mine), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_yamux_last_error(y), 0); /* still usable */
  assert_int_equal(lp2p_yamux_stream_status(y, 6), LP2P_ERR_NOT_FOUND);
  lp2p_yamux_free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_codec),
      cmocka_unit_test(test_config_invalid),
      cmocka_unit_test(test_golden_trace),
      cmocka_unit_test(test_bad_data_past_window),
      cmocka_unit_test(test_bad_version),
      cmocka_unit_test(test_bad_type),
      cmocka_unit_test(test_bad_frame_too_big),
      cmocka_unit_test(test_bad_duplicate_syn),
      cmocka_unit_test(test_bad_parity),
      cmocka_unit_test(test_bad_stream_zero),
      cmocka_unit_test(test_bad_window_overflow),
      cmocka_unit_test(test_bad_data_after_fin),
      cmocka_unit_test(test_goaway_error_received),
      cmocka_unit_test(test_syn_flood_backlog),
      cmocka_unit_test(test_rst_after_fin_unread),
      cmocka_unit_test(test_syn_flood_streams_max),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
