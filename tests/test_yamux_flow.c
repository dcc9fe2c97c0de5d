/* yamux between two engines, one behaviour at a time: ping RTT,
 * keepalive and its timeout, half-close both ways, resets and refusals,
 * back-pressure (slow reader, session buffer, output queue), ACK styles,
 * frame coalescing, GoAway and EOF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/yamux/internal.h" /* out_b: did the output queue wrap */
#include "tests/test_yamux_util.h"

#define HB LP2P_YAMUX_HEADER_BYTES
#define KIB 1024u

/* ---- two engines -----------------------------------------------------------
 */

typedef struct duo {
  lp2p_yamux *a, *b; /* a: client, b: server */
  yt_pipe ab, ba;
  lp2p_tstamp now;
} duo;

static void duo_new(duo *d, const lp2p_yamux_config *ca,
                    const lp2p_yamux_config *cb) {
  memset(d, 0, sizeof(*d));
  lp2p_yamux_config q = yt_quiet_config();
  assert_int_equal(lp2p_yamux_new(&d->a, 1, ca ? ca : &q, NULL, 0), 0);
  assert_int_equal(lp2p_yamux_new(&d->b, 0, cb ? cb : &q, NULL, 0), 0);
}

/* Move everything both ways until quiet. */
static void duo_run(duo *d) {
  for (int i = 0; i < 1000; i++) {
    size_t m = yt_drain(d->a, &d->ab, NULL) + yt_drain(d->b, &d->ba, NULL);
    assert_true(yt_feed(d->b, d->now, &d->ab, NULL) >= 0);
    assert_true(yt_feed(d->a, d->now, &d->ba, NULL) >= 0);
    if (!m)
      return;
  }
  fail_msg("duo_run did not settle");
}

static void duo_free(duo *d) {
  lp2p_yamux_free(d->a);
  lp2p_yamux_free(d->b);
  yt_pipe_free(&d->ab);
  yt_pipe_free(&d->ba);
}

static void test_ping_rtt(void **state) {
  (void)state;
  duo d;
  duo_new(&d, NULL, NULL);
  d.now = 1000;
  assert_int_equal(lp2p_yamux_ping(d.a, d.now), 0);
  assert_int_equal(lp2p_yamux_ping(d.a, d.now), LP2P_ERR_AGAIN);
  yt_drain(d.a, &d.ab, NULL);
  d.now += 7 * LP2P_NS_PER_MS; /* one way */
  assert_true(yt_feed(d.b, d.now, &d.ab, NULL) == HB);
  size_t len;
  const uint8_t *o = lp2p_yamux_out_peek(d.b, &len);
  assert_int_equal(len, HB);
  assert_int_equal(o[1], LP2P_YAMUX_TYPE_PING);
  assert_int_equal(o[3], LP2P_YAMUX_FLAG_ACK);
  yt_drain(d.b, &d.ba, NULL);
  d.now += 7 * LP2P_NS_PER_MS;
  assert_true(yt_feed(d.a, d.now, &d.ba, NULL) == HB);
  char log[128] = "";
  yt_log_events(d.a, log, sizeof log);
  assert_string_equal(log, "PING_RTT 14000000;");
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(d.a, &st);
  assert_int_equal(st.rtt_ns, 14 * LP2P_NS_PER_MS);
  /* a stale or unsolicited pong changes nothing */
  uint8_t in[HB];
  yt_frame(in, 2, LP2P_YAMUX_FLAG_ACK, 0, 999);
  assert_int_equal(lp2p_yamux_feed(d.a, d.now, in, HB), HB);
  assert_int_equal(lp2p_yamux_poll_event(d.a, &(lp2p_yamux_event){0}), 0);
  duo_free(&d);
}

static void test_keepalive(void **state) {
  (void)state;
  lp2p_yamux_config ca = yt_quiet_config();
  ca.keepalive_ns = LP2P_NS_PER_S;
  ca.ping_timeout_ns = 300 * LP2P_NS_PER_MS;
  duo d;
  duo_new(&d, &ca, NULL);
  /* alive: five keepalive pings, five RTTs, no close */
  for (int i = 1; i <= 5; i++) {
    lp2p_tstamp t = lp2p_yamux_next_timeout(d.a);
    assert_int_equal(t, (lp2p_tstamp)i * LP2P_NS_PER_S);
    assert_int_equal(lp2p_yamux_handle_timeout(d.a, t - 1), 0);
    assert_int_equal(lp2p_yamux_state(d.a) & LP2P_STATE_HAS_OUTPUT, 0);
    d.now = t;
    assert_int_equal(lp2p_yamux_handle_timeout(d.a, t), 0);
    assert_int_equal(lp2p_yamux_handle_timeout(d.a, t), 0); /* idempotent */
    duo_run(&d);
    char log[64] = "";
    yt_log_events(d.a, log, sizeof log);
    assert_string_equal(log, "PING_RTT 0;");
  }
  /* dead peer: the ping is never answered */
  lp2p_tstamp t = lp2p_yamux_next_timeout(d.a);
  assert_int_equal(lp2p_yamux_handle_timeout(d.a, t), 0);
  yt_drain(d.a, &d.ab, NULL);
  assert_int_equal(lp2p_yamux_next_timeout(d.a), t + 300 * LP2P_NS_PER_MS);
  /* any input proves life and moves the deadline */
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.b, t, &id), 0);
  yt_drain(d.b, &d.ba, NULL);
  assert_true(yt_feed(d.a, t + 200 * LP2P_NS_PER_MS, &d.ba, NULL) > 0);
  lp2p_tstamp due = lp2p_yamux_next_timeout(d.a);
  assert_int_equal(due, t + 500 * LP2P_NS_PER_MS);
  assert_int_equal(lp2p_yamux_handle_timeout(d.a, due - 1), 0);
  assert_false(lp2p_yamux_state(d.a) & LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_yamux_handle_timeout(d.a, due), 0);
  assert_true(lp2p_yamux_state(d.a) & LP2P_STATE_CLOSED);
  assert_int_equal(lp2p_yamux_last_error(d.a), LP2P_ERR_TIMEOUT);
  char log[128] = "";
  yt_log_events(d.a, log, sizeof log);
  assert_string_equal(log, "OPENED 2;CLOSED -9;");
  assert_int_equal(lp2p_yamux_next_timeout(d.a), LP2P_TSTAMP_NONE);
  duo_free(&d);
}

static void test_half_close_both_ways(void **state) {
  (void)state;
  duo d;
  duo_new(&d, NULL, NULL);
  uint32_t id;
  char la[256] = "", lb[256] = "";
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  assert_int_equal(
      lp2p_yamux_stream_write(d.a, 0, id, (const uint8_t *)"ping", 4), 4);
  assert_int_equal(lp2p_yamux_stream_close(d.a, 0, id), 0);
  assert_int_equal(lp2p_yamux_stream_close(d.a, 0, id), 0); /* idempotent */
  assert_int_equal(lp2p_yamux_stream_write(d.a, 0, id, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  duo_run(&d);
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "OPENED 1;READABLE 1;REMOTE_CLOSED 1;");
  assert_int_equal(lp2p_yamux_stream_status(d.b, id),
                   LP2P_YAMUX_STREAM_REMOTE_CLOSED);
  /* B still writes after A's FIN, then closes its side */
  assert_int_equal(
      lp2p_yamux_stream_write(d.b, 0, id, (const uint8_t *)"pong!", 5), 5);
  assert_int_equal(lp2p_yamux_stream_close(d.b, 0, id), 0);
  duo_run(&d);
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "READABLE 1;REMOTE_CLOSED 1;");
  assert_int_equal(lp2p_yamux_stream_status(d.a, id),
                   LP2P_YAMUX_STREAM_OUTBOUND | LP2P_YAMUX_STREAM_ACKED |
                       LP2P_YAMUX_STREAM_LOCAL_CLOSED |
                       LP2P_YAMUX_STREAM_REMOTE_CLOSED);
  /* both FINs seen, but not closed until the data is read */
  lb[0] = 0;
  assert_int_equal(yt_log_events(d.b, lb, sizeof lb), 0);
  size_t len;
  const uint8_t *p = lp2p_yamux_stream_read_peek(d.b, id, &len);
  assert_int_equal(len, 4);
  assert_memory_equal(p, "ping", 4);
  assert_int_equal(lp2p_yamux_stream_read_consume(d.b, 0, id, 5),
                   LP2P_ERR_INVAL);
  assert_int_equal(lp2p_yamux_stream_read_consume(d.b, 0, id, 4), 0);
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "STREAM_CLOSED 1;");
  assert_int_equal(lp2p_yamux_stream_status(d.b, id), LP2P_ERR_NOT_FOUND);
  p = lp2p_yamux_stream_read_peek(d.a, id, &len);
  assert_int_equal(len, 5);
  assert_memory_equal(p, "pong!", 5);
  assert_int_equal(lp2p_yamux_stream_read_consume(d.a, 0, id, 5), 0);
  la[0] = 0;
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "STREAM_CLOSED 1;");
  duo_run(&d);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(d.a, &st);
  assert_int_equal(st.streams, 0);
  lp2p_yamux_get_stats(d.b, &st);
  assert_int_equal(st.streams, 0);
  assert_int_equal(lp2p_yamux_last_error(d.a), 0);
  assert_int_equal(lp2p_yamux_last_error(d.b), 0);
  duo_free(&d);
}

static void test_reset(void **state) {
  (void)state;
  duo d;
  duo_new(&d, NULL, NULL);
  uint32_t s1, s2;
  int tag = 0;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &s1), 0);
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &s2), 0);
  assert_int_equal(lp2p_yamux_stream_set_user(d.a, s1, &tag), 0);
  assert_ptr_equal(lp2p_yamux_stream_get_user(d.a, s1), &tag);
  assert_int_equal(
      lp2p_yamux_stream_write(d.a, 0, s1, (const uint8_t *)"abc", 3), 3);
  assert_int_equal(
      lp2p_yamux_stream_write(d.a, 0, s2, (const uint8_t *)"def", 3), 3);
  duo_run(&d);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(d.b, &st);
  assert_int_equal(st.session_buffered_bytes, 6);
  /* B resets s1 (remote reset for A) */
  assert_int_equal(lp2p_yamux_stream_reset(d.b, 0, s1), 0);
  assert_int_equal(lp2p_yamux_stream_reset(d.b, 0, s1), 0);
  lp2p_yamux_get_stats(d.b, &st);
  assert_int_equal(st.session_buffered_bytes, 3); /* s1's bytes dropped */
  duo_run(&d);
  char la[256] = "", lb[256] = "";
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "OPENED 1;STREAM_CLOSED 1;OPENED 3;READABLE 3;");
  assert_int_equal(lp2p_yamux_stream_write(d.a, 0, s1, (const uint8_t *)"x", 1),
                   LP2P_ERR_RESET);
  assert_int_equal(lp2p_yamux_stream_close(d.a, 0, s1), LP2P_ERR_RESET);
  lp2p_yamux_event ev;
  assert_int_equal(lp2p_yamux_poll_event(d.a, &ev), 1);
  assert_int_equal(ev.type, LP2P_YAMUX_EV_STREAM_RESET);
  assert_ptr_equal(ev.user, &tag);
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "STREAM_CLOSED 1;");
  assert_int_equal(lp2p_yamux_stream_write(d.a, 0, s1, (const uint8_t *)"x", 1),
                   LP2P_ERR_NOT_FOUND);
  /* A resets s2 locally: B sees RESET, its buffered data is dropped */
  assert_int_equal(lp2p_yamux_stream_reset(d.a, 0, s2), 0);
  duo_run(&d);
  lb[0] = 0;
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "RESET 3;STREAM_CLOSED 3;");
  lp2p_yamux_get_stats(d.b, &st);
  assert_int_equal(st.session_buffered_bytes, 0);
  assert_int_equal(st.streams, 0);
  la[0] = 0;
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "STREAM_CLOSED 3;");
  duo_free(&d);
}

/* A server that takes no streams answers SYN with RST: the opener sees
 * RESET (spec: "Clients should be prepared to handle this"). */
static void test_refused_outbound(void **state) {
  (void)state;
  lp2p_yamux_config cb = yt_quiet_config();
  cb.accept_backlog_max = 0;
  duo d;
  duo_new(&d, NULL, &cb);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  assert_int_equal(
      lp2p_yamux_stream_write(d.a, 0, id, (const uint8_t *)"hi", 2), 2);
  duo_run(&d);
  char la[128] = "", lb[128] = "";
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "RESET 1;STREAM_CLOSED 1;");
  assert_int_equal(yt_log_events(d.b, lb, sizeof lb), 0);
  duo_free(&d);
}

static lp2p_ssize write_all(lp2p_yamux *y, uint32_t id, size_t n) {
  static uint8_t buf[64 * 1024];
  lp2p_ssize total = 0;
  while ((size_t)total < n) {
    size_t k = n - (size_t)total < sizeof buf ? n - (size_t)total : sizeof buf;
    lp2p_ssize r = lp2p_yamux_stream_write(y, 0, id, buf, k);
    if (r <= 0)
      return r < 0 ? r : total;
    total += r;
  }
  return total;
}

/* The sender is held to the window until the reader consumes. */
static void test_backpressure_slow_reader(void **state) {
  (void)state;
  duo d;
  duo_new(&d, NULL, NULL);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  lp2p_ssize w = 0;
  for (int i = 0; i < 4; i++) { /* the queue drains; the window does not */
    w += write_all(d.a, id, 1024 * KIB);
    duo_run(&d);
  }
  assert_int_equal(w, LP2P_YAMUX_WINDOW_SPEC_BYTES);
  /* accepting with a full buffer ACKs without granting window */
  assert_int_equal(lp2p_yamux_stream_accept(d.b, 0, id), 0);
  duo_run(&d);
  assert_int_equal(lp2p_yamux_stream_send_window(d.a, id), 0);
  assert_int_equal(lp2p_yamux_stream_readable(d.b, id),
                   LP2P_YAMUX_WINDOW_SPEC_BYTES);
  char la[128] = "";
  /* reading less than half the window grants nothing yet */
  assert_int_equal(lp2p_yamux_stream_read_consume(d.b, 0, id, 100 * KIB), 0);
  duo_run(&d);
  assert_int_equal(lp2p_yamux_stream_send_window(d.a, id), 0);
  assert_int_equal(write_all(d.a, id, 10), 0);
  /* past half: one window update with everything read so far */
  assert_int_equal(lp2p_yamux_stream_read_consume(d.b, 0, id, 40 * KIB), 0);
  duo_run(&d);
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "WRITABLE 1;");
  assert_int_equal(lp2p_yamux_stream_send_window(d.a, id), 140 * KIB);
  /* no auto-tuning without an RTT */
  assert_int_equal(lp2p_yamux_stream_recv_window(d.b, id),
                   LP2P_YAMUX_WINDOW_SPEC_BYTES);
  duo_free(&d);
}

/* session_buffered_bytes_max: feed takes only what fits and resumes once
 * the application reads. */
static void test_session_buffer_limit(void **state) {
  (void)state;
  lp2p_yamux_config cb = yt_quiet_config();
  cb.session_buffered_bytes_max = 100000;
  duo d;
  duo_new(&d, NULL, &cb);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  assert_int_equal(write_all(d.a, id, 200000), 200000);
  yt_drain(d.a, &d.ab, NULL);
  size_t total = d.ab.len;
  lp2p_ssize r = yt_feed(d.b, 0, &d.ab, NULL);
  assert_true(r > 0 && (size_t)r < total);
  assert_int_equal(lp2p_yamux_stream_readable(d.b, id), 100000);
  assert_int_equal(lp2p_yamux_recv_room(d.b), 0);
  assert_false(lp2p_yamux_state(d.b) & LP2P_STATE_WANT_READ);
  assert_int_equal(lp2p_yamux_feed(d.b, 0, d.ab.p + d.ab.head, d.ab.len), 0);
  size_t got = 0;
  while (got < 200000) {
    size_t len;
    assert_non_null(lp2p_yamux_stream_read_peek(d.b, id, &len));
    assert_int_equal(lp2p_yamux_stream_read_consume(d.b, 0, id, len), 0);
    got += len;
    assert_true(lp2p_yamux_recv_room(d.b) > 0);
    assert_true(yt_feed(d.b, 0, &d.ab, NULL) >= 0);
    lp2p_yamux_stats st;
    lp2p_yamux_get_stats(d.b, &st);
    assert_true(st.session_buffered_bytes <= 100000);
  }
  assert_int_equal(d.ab.len, 0);
  assert_int_equal(lp2p_yamux_last_error(d.b), 0);
  duo_free(&d);
}

/* out_queue_bytes_max bounds writes; draining brings WRITABLE. */
static void test_out_queue_limit(void **state) {
  (void)state;
  lp2p_yamux_config ca = yt_quiet_config();
  ca.out_queue_bytes_max = 1000;
  duo d;
  duo_new(&d, &ca, NULL);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  lp2p_ssize w = write_all(d.a, id, 5000);
  assert_int_equal(w, 1000 - 2 * HB); /* SYN header + one frame header */
  size_t len;
  lp2p_yamux_out_peek(d.a, &len);
  assert_true(len <= 1000);
  assert_int_equal(lp2p_yamux_poll_event(d.a, &(lp2p_yamux_event){0}), 0);
  lp2p_yamux_out_consume(d.a, 400); /* not yet below half */
  assert_int_equal(lp2p_yamux_poll_event(d.a, &(lp2p_yamux_event){0}), 0);
  lp2p_yamux_out_consume(d.a, 200);
  char la[64] = "";
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "WRITABLE 1;");
  duo_free(&d);
}

/* Ping replies are dropped, not queued without bound, for a peer that
 * does not read. */
static void test_pong_drop(void **state) {
  (void)state;
  lp2p_yamux_config cb = yt_quiet_config();
  cb.out_queue_bytes_max = 64;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 0, &cb, NULL, 0), 0);
  uint8_t in[10 * HB];
  for (uint32_t i = 0; i < 10; i++)
    yt_frame(in + i * HB, 2, LP2P_YAMUX_FLAG_SYN, 0, i);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, sizeof in), (lp2p_ssize)sizeof in);
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  assert_int_equal(st.out_queued_bytes, 6 * HB);
  assert_int_equal(st.pongs_dropped, 4);
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  lp2p_yamux_free(y);
}

/* Our outbound streams accept the ACK on a Window Update (go) or on the
 * first Data frame (js/rust style). */
static void test_ack_either_way(void **state) {
  (void)state;
  lp2p_yamux_config c = yt_quiet_config();
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  uint32_t s1, s3;
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &s1), 0);
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &s3), 0);
  assert_int_equal(lp2p_yamux_stream_status(y, s1), LP2P_YAMUX_STREAM_OUTBOUND);
  uint8_t in[3 * HB];
  size_t n = yt_frame(in, 1, LP2P_YAMUX_FLAG_ACK, s1, 0);
  n += yt_frame(in + n, 0, LP2P_YAMUX_FLAG_ACK, s3, 2);
  memcpy(in + n, "ok", 2);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, n + 2), (lp2p_ssize)n + 2);
  assert_int_equal(lp2p_yamux_stream_status(y, s1),
                   LP2P_YAMUX_STREAM_OUTBOUND | LP2P_YAMUX_STREAM_ACKED);
  assert_int_equal(lp2p_yamux_stream_status(y, s3),
                   LP2P_YAMUX_STREAM_OUTBOUND | LP2P_YAMUX_STREAM_ACKED);
  assert_int_equal(lp2p_yamux_stream_readable(y, s3), 2);
  lp2p_yamux_free(y);
}

/* open + write + close before the output is taken: one frame. A window
 * above 256 KiB rides on the SYN. */
static void test_coalescing(void **state) {
  (void)state;
  lp2p_yamux_config c = yt_quiet_config();
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(y, 0, id, (const uint8_t *)"he", 2),
                   2);
  assert_int_equal(lp2p_yamux_stream_write(y, 0, id, (const uint8_t *)"llo", 3),
                   3);
  assert_int_equal(lp2p_yamux_stream_close(y, 0, id), 0);
  size_t len;
  const uint8_t *o = lp2p_yamux_out_peek(y, &len);
  char hex[128];
  yt_hex(o, len, hex);
  assert_string_equal(hex, "00000005000000010000000568656c6c6f");
  /* a partly sent frame is never patched */
  lp2p_yamux_out_consume(y, len);
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &id), 0);
  lp2p_yamux_out_consume(y, 1);
  assert_int_equal(lp2p_yamux_stream_write(y, 0, id, (const uint8_t *)"x", 1),
                   1);
  o = lp2p_yamux_out_peek(y, &len);
  yt_hex(o, len, hex);
  assert_string_equal(hex, "010001000000030000000000000000000000030000000178");
  lp2p_yamux_free(y);

  c.window_bytes_initial = 1024 * KIB;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(y, 0, id, (const uint8_t *)"x", 1),
                   1);
  o = lp2p_yamux_out_peek(y, &len);
  yt_hex(o, len, hex);
  assert_string_equal(hex, "0001000100000001000c0000"
                           "00000000000000010000000178");
  lp2p_yamux_free(y);
}

static void test_goaway_normal(void **state) {
  (void)state;
  duo d;
  duo_new(&d, NULL, NULL);
  uint32_t s1, s2;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &s1), 0);
  duo_run(&d);
  assert_int_equal(lp2p_yamux_go_away(d.a, 0, 7), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_yamux_go_away(d.a, 0, LP2P_YAMUX_GOAWAY_NORMAL), 0);
  assert_int_equal(lp2p_yamux_go_away(d.a, 0, LP2P_YAMUX_GOAWAY_NORMAL), 0);
  assert_true(lp2p_yamux_state(d.a) & LP2P_STATE_CLOSING);
  /* a SYN crossing our GoAway is refused */
  assert_int_equal(lp2p_yamux_stream_open(d.b, 0, &s2), 0);
  duo_run(&d);
  char la[256] = "", lb[256] = "";
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "GOAWAY 0;OPENED 1;RESET 2;STREAM_CLOSED 2;");
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &s2), LP2P_ERR_CLOSED);
  assert_int_equal(lp2p_yamux_stream_open(d.b, 0, &s2), LP2P_ERR_CLOSED);
  /* the existing stream finishes normally */
  assert_int_equal(
      lp2p_yamux_stream_write(d.b, 0, s1, (const uint8_t *)"bye", 3), 3);
  assert_int_equal(lp2p_yamux_stream_close(d.b, 0, s1), 0);
  assert_int_equal(lp2p_yamux_stream_close(d.a, 0, s1), 0);
  duo_run(&d);
  assert_int_equal(lp2p_yamux_stream_read_consume(d.a, 0, s1, 3), 0);
  yt_log_events(d.a, la, sizeof la);
  assert_string_equal(la, "READABLE 1;REMOTE_CLOSED 1;STREAM_CLOSED 1;"
                          "CLOSED 0;");
  lb[0] = 0;
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "REMOTE_CLOSED 1;STREAM_CLOSED 1;CLOSED 0;");
  assert_int_equal(lp2p_yamux_last_error(d.a), 0);
  assert_int_equal(lp2p_yamux_last_error(d.b), 0);
  duo_free(&d);
}

/* Opening is held to the output reserve when nobody drains. */
static void test_open_again_when_queue_full(void **state) {
  (void)state;
  lp2p_yamux_config c = yt_quiet_config();
  c.out_queue_bytes_max = 64;
  c.streams_max = 100000;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  uint32_t id;
  int rc, n = 0;
  while ((rc = lp2p_yamux_stream_open(y, 0, &id)) == 0)
    n++;
  assert_int_equal(rc, LP2P_ERR_AGAIN);
  assert_int_equal(n, (64 + 64 * 1024 + HB - 1) / HB);
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  size_t len;
  lp2p_yamux_out_peek(y, &len);
  lp2p_yamux_out_consume(y, len);
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &id), 0);
  lp2p_yamux_free(y);
}

/* While we refuse input (session buffer full) an unanswered ping is not
 * the peer's fault: no timeout until we read again. */
static void test_no_timeout_while_we_block(void **state) {
  (void)state;
  lp2p_yamux_config cb = yt_quiet_config();
  cb.measure_rtt = 1;
  cb.ping_timeout_ns = LP2P_NS_PER_S;
  cb.session_buffered_bytes_max = 1000;
  duo d;
  duo_new(&d, NULL, &cb);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(d.a, 0, &id), 0);
  assert_int_equal(write_all(d.a, id, 5000), 5000);
  yt_drain(d.b, &d.ba, NULL); /* B's start ping reaches A after the data */
  assert_true(yt_feed(d.a, 0, &d.ba, NULL) == HB);
  yt_drain(d.a, &d.ab, NULL);
  assert_true(yt_feed(d.b, 0, &d.ab, NULL) > 0);
  assert_true(d.ab.len > 0); /* the pong waits behind unread data */
  assert_int_equal(lp2p_yamux_recv_room(d.b), 0);
  assert_int_equal(lp2p_yamux_next_timeout(d.b), LP2P_TSTAMP_NONE);
  assert_int_equal(lp2p_yamux_handle_timeout(d.b, 5 * LP2P_NS_PER_S), 0);
  assert_false(lp2p_yamux_state(d.b) & LP2P_STATE_CLOSED);
  /* reading lets input in again, and the clock restarts from there */
  lp2p_tstamp t = 6 * LP2P_NS_PER_S;
  assert_int_equal(lp2p_yamux_stream_read_consume(d.b, t, id, 1000), 0);
  assert_int_equal(lp2p_yamux_next_timeout(d.b), t + LP2P_NS_PER_S);
  size_t got = 1000;
  while (d.ab.len) {
    assert_true(yt_feed(d.b, t, &d.ab, NULL) >= 0);
    size_t k = lp2p_yamux_stream_readable(d.b, id);
    assert_int_equal(lp2p_yamux_stream_read_consume(d.b, t, id, k), 0);
    got += k;
  }
  assert_int_equal(got, 5000);
  char lb[128] = "";
  yt_log_events(d.b, lb, sizeof lb);
  assert_string_equal(lb, "PING_RTT 6000000000;OPENED 1;READABLE 1;");
  assert_int_equal(lp2p_yamux_last_error(d.b), 0);
  duo_free(&d);
}

static void test_feed_eof(void **state) {
  (void)state;
  lp2p_yamux_config c = yt_quiet_config();
  lp2p_yamux *y;
  /* EOF without GoAway */
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  assert_int_equal(lp2p_yamux_feed_eof(y, 0), 0);
  char log[64] = "";
  yt_log_events(y, log, sizeof log);
  assert_string_equal(log, "CLOSED -18;");
  assert_int_equal(lp2p_yamux_last_error(y), LP2P_ERR_EOF);
  lp2p_yamux_free(y);
  /* EOF after the peer's GoAway, with a stream still open: orderly */
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_stream_open(y, 0, &id), 0);
  uint8_t in[HB];
  yt_frame(in, 3, 0, 0, 0);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, HB), HB);
  assert_int_equal(lp2p_yamux_feed_eof(y, 0), 0);
  log[0] = 0;
  yt_log_events(y, log, sizeof log);
  assert_string_equal(log, "GOAWAY 0;CLOSED 0;");
  assert_int_equal(lp2p_yamux_last_error(y), 0);
  lp2p_yamux_free(y);
  /* EOF in the middle of a frame */
  assert_int_equal(lp2p_yamux_new(&y, 1, &c, NULL, 0), 0);
  assert_int_equal(lp2p_yamux_feed(y, 0, in, 5), 5);
  assert_int_equal(lp2p_yamux_feed_eof(y, 0), 0);
  assert_int_equal(lp2p_yamux_last_error(y), LP2P_ERR_EOF);
  lp2p_yamux_free(y);
}

/* The output queue is a bip buffer (proto/yamux/output.c): a writer that
 * keeps it full while the transport takes it in pieces makes it wrap to
 * the front. Three streams write random sizes while the output is taken
 * one random piece per round; the peer must get every stream's bytes in
 * order, and the queue must really have wrapped (else this test checks
 * nothing new). */
static void test_output_queue_wraps(void **state) {
  (void)state;
  enum { NS = 3 };
  const size_t total = 3u * 1024u * KIB;
  duo d;
  duo_new(&d, NULL, NULL);
  uint32_t id[NS];
  size_t sent[NS] = {0}, got[NS] = {0};
  for (int i = 0; i < NS; i++)
    assert_int_equal(lp2p_yamux_stream_open(d.a, d.now, &id[i]), 0);
  duo_run(&d);
  for (int i = 0; i < NS; i++) /* the acceptor learns the ids */
    assert_int_equal(lp2p_yamux_stream_accept(d.b, d.now, id[i]), 0);
  duo_run(&d);
  uint64_t rng = yt_seed("output wrap", 7);
  static uint8_t buf[100 * KIB];
  int wraps = 0;
  for (int round = 0; round < 200000; round++) {
    int i = (int)yt_below(&rng, NS);
    if (sent[i] < total) {
      size_t k = 1 + yt_below(&rng, sizeof buf);
      if (k > total - sent[i])
        k = total - sent[i];
      for (size_t j = 0; j < k; j++)
        buf[j] = yt_byte(id[i], sent[i] + j);
      lp2p_ssize w = lp2p_yamux_stream_write(d.a, d.now, id[i], buf, k);
      assert_true(w >= 0);
      sent[i] += (size_t)w;
    }
    wraps += d.a->out_b;
    size_t len;
    const uint8_t *p = lp2p_yamux_out_peek(d.a, &len);
    if (p) { /* one piece only: the queue stays full */
      size_t k = 1 + yt_below(&rng, len);
      yt_pipe_push(&d.ab, p, k);
      lp2p_yamux_out_consume(d.a, k);
    }
    assert_true(yt_feed(d.b, d.now, &d.ab, NULL) >= 0);
    int done = 1;
    for (int s = 0; s < NS; s++) {
      const uint8_t *r;
      while ((r = lp2p_yamux_stream_read_peek(d.b, id[s], &len)) != NULL &&
             len) {
        for (size_t j = 0; j < len; j++)
          if (r[j] != yt_byte(id[s], got[s] + j))
            fail_msg("stream %u: wrong byte at %zu", id[s], got[s] + j);
        got[s] += len;
        assert_int_equal(lp2p_yamux_stream_read_consume(d.b, d.now, id[s], len),
                         0);
      }
      done &= got[s] == total;
    }
    yt_drain(d.b, &d.ba, NULL); /* window updates back */
    assert_true(yt_feed(d.a, d.now, &d.ba, NULL) >= 0);
    if (done)
      break;
  }
  for (int s = 0; s < NS; s++)
    assert_int_equal(got[s], total);
  assert_true(wraps > 0);
  duo_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ping_rtt),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_half_close_both_ways),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_refused_outbound),
      cmocka_unit_test(test_backpressure_slow_reader),
      cmocka_unit_test(test_session_buffer_limit),
      cmocka_unit_test(test_out_queue_limit),
      cmocka_unit_test(test_pong_drop),
      cmocka_unit_test(test_ack_either_way),
      cmocka_unit_test(test_coalescing),
      cmocka_unit_test(test_goaway_normal),
      cmocka_unit_test(test_open_again_when_queue_full),
      cmocka_unit_test(test_no_timeout_while_we_block),
      cmocka_unit_test(test_feed_eof),
      cmocka_unit_test(test_output_queue_wraps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
