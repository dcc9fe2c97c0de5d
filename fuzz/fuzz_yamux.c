/* Fuzz the yamux engine: the input chooses a config and a fail-at
 * allocation index, then a sequence of operations (raw bytes or built
 * frames fed in chunks, time steps with handle_timeout, partial
 * out_consume, stream open/write/read/close/reset/accept, ping, GoAway,
 * EOF). Checks: only allowed errors, bounded queues and buffers, no events
 * after CLOSED, and no leak after _free (also after allocation failure). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef YAMUX_FUZZ_TRACE /* -DYAMUX_FUZZ_TRACE: print ops and events */
#include <stdio.h>
#define TRACE(...) fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

#include "fuzz/lib/fdp.h"
#include "lp2p/yamux.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define NIDS 16

typedef struct fz {
  lp2p_yamux *y;
  lp2p_yamux_config cfg;
  lp2p_tstamp now;
  uint32_t ids[NIDS];
  unsigned nids;
  int dead;          /* NOMEM seen: only _free from here */
  int closed_polled; /* CLOSED event delivered */
} fz;

static void remember(fz *z, uint32_t id) {
  z->ids[z->nids % NIDS] = id;
  z->nids++;
}

static uint32_t pick_id(fz *z, fdp *f) {
  uint8_t b = fdp_u8(f);
  if (b < 200 && z->nids)
    return z->ids[b % (z->nids < NIDS ? z->nids : NIDS)];
  if (b < 240)
    return b % 16u;
  return fdp_u32(f);
}

/* An API result: >= 0, an allowed non-fatal error, or NOMEM (dead). */
static void result(fz *z, lp2p_ssize r) {
  if (r == LP2P_ERR_NOMEM) {
    z->dead = 1;
    return;
  }
  CHECK(r >= 0 || r == LP2P_ERR_NOT_FOUND || r == LP2P_ERR_CLOSED ||
        r == LP2P_ERR_RESET || r == LP2P_ERR_STATE || r == LP2P_ERR_AGAIN ||
        r == LP2P_ERR_LIMIT || r == LP2P_ERR_INVAL);
}

static void feed(fz *z, fdp *f, const uint8_t *p, size_t n) {
  while (n && !z->dead) {
    size_t k = fdp_range(f, 1, n);
    lp2p_ssize r = lp2p_yamux_feed(z->y, z->now, p, k);
    if (r == LP2P_ERR_NOMEM) {
      z->dead = 1;
      return;
    }
    CHECK(r >= 0 && (size_t)r <= k);
    if (r == 0) {
      CHECK(lp2p_yamux_recv_room(z->y) == 0 || k < n);
      return; /* back-pressure: the driver would wait */
    }
    p += r;
    n -= (size_t)r;
  }
}

static void events(fz *z) {
  lp2p_yamux_event ev;
  while (lp2p_yamux_poll_event(z->y, &ev)) {
    TRACE("  event %d id %u err %d code %u\n", (int)ev.type, ev.stream_id,
          ev.error, ev.code);
    CHECK(!z->closed_polled);
    if (ev.type == LP2P_YAMUX_EV_CLOSED)
      z->closed_polled = 1;
    else if (ev.type == LP2P_YAMUX_EV_STREAM_OPENED)
      remember(z, ev.stream_id);
    else if (ev.type <= LP2P_YAMUX_EV_STREAM_CLOSED)
      CHECK(ev.stream_id != 0);
  }
  CHECK(!z->closed_polled || !lp2p_yamux_poll_event(z->y, &ev));
}

static void invariants(fz *z) {
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(z->y, &st);
  size_t len = 0;
  const uint8_t *o = lp2p_yamux_out_peek(z->y, &len);
  CHECK((o != NULL) == (len > 0));
  /* one contiguous run of the queue (it may wrap), never nothing while
   * bytes are queued */
  CHECK(len <= st.out_queued_bytes && (len > 0) == (st.out_queued_bytes > 0));
  CHECK(!!(lp2p_yamux_state(z->y) & LP2P_STATE_HAS_OUTPUT) == (len > 0));
  CHECK(st.session_buffered_bytes <= z->cfg.session_buffered_bytes_max);
  CHECK(st.streams <= z->cfg.streams_max);
  /* data writes stop at the limit; control frames get a reserve, plus a
   * few per stream and one update per half window read */
  size_t bound = z->cfg.out_queue_bytes_max + 64 * 1024 + 64 +
                 36 * (size_t)z->cfg.streams_max +
                 12 * (size_t)(z->cfg.session_buffered_bytes_max / 131072 + 1);
  CHECK(len <= bound);
  uint32_t id = z->nids ? z->ids[(z->nids - 1) % NIDS] : 1;
  lp2p_ssize sw = lp2p_yamux_stream_send_window(z->y, id);
  lp2p_ssize rw = lp2p_yamux_stream_recv_window(z->y, id);
  int status = lp2p_yamux_stream_status(z->y, id);
  CHECK((sw >= 0) == (status >= 0) && (rw >= 0) == (status >= 0));
  if (status >= 0) {
    CHECK(rw >= (lp2p_ssize)z->cfg.window_bytes_initial &&
          rw <= (lp2p_ssize)z->cfg.window_bytes_max);
    CHECK(lp2p_yamux_stream_readable(z->y, id) <= (size_t)rw);
    CHECK(lp2p_yamux_stream_set_user(z->y, id, z) == 0);
    CHECK(lp2p_yamux_stream_get_user(z->y, id) == z);
  }
}

static void setup(fz *z, fdp *f) {
  lp2p_yamux_config *c = &z->cfg;
  lp2p_yamux_config_default(c);
  uint8_t m = fdp_u8(f);
  if (m & 1) { /* small limits reach the edges */
    c->streams_max = 1 + fdp_u8(f) % 16u;
    c->accept_backlog_max = fdp_u8(f) % 8u;
    c->out_queue_bytes_max = 64 + fdp_u16(f);
    c->session_buffered_bytes_max = 1 + fdp_u32(f) % (1024u * 1024u);
    c->frame_bytes_max = 1 + fdp_u32(f) % (512u * 1024u);
    c->send_frame_bytes_max = 1 + fdp_u16(f);
  }
  if (m & 2) {
    c->window_bytes_initial = LP2P_YAMUX_WINDOW_SPEC_BYTES << (fdp_u8(f) % 3);
    c->window_bytes_max = c->window_bytes_initial << (fdp_u8(f) % 4);
    c->stream_recv_buffer_bytes_max = c->window_bytes_max;
  }
  c->measure_rtt = (m >> 2) & 1;
  c->keepalive_ns = (m & 8) ? (uint64_t)fdp_u8(f) * LP2P_NS_PER_MS : 0;
  c->ping_timeout_ns = (m & 16) ? (uint64_t)fdp_u8(f) * LP2P_NS_PER_MS : 0;
}

static uint8_t scratch[70000];
static uint8_t zeros[LP2P_YAMUX_HEADER_BYTES + 256 * 1024];

static void op(fz *z, fdp *f) {
  const uint8_t *p = NULL;
  size_t n;
  uint32_t id;
  int rc;
  uint8_t o = fdp_u8(f);
  TRACE("op %u\n", o % 15u);
  switch (o % 15) {
  case 0: /* raw bytes */
    n = fdp_bytes(f, &p, 4096);
    feed(z, f, p, n);
    break;
  case 1: { /* one built frame, payload from the input */
    uint8_t type = fdp_u8(f) % 5;
    uint16_t flags = fdp_u8(f) & 0xf;
    id = pick_id(z, f);
    uint32_t len = fdp_u8(f) < 200 ? fdp_u16(f) : fdp_u32(f);
    lp2p_yamux_header h = {0, type, flags, id, len};
    lp2p_yamux_header_encode(scratch, &h);
    n = LP2P_YAMUX_HEADER_BYTES;
    if (type == LP2P_YAMUX_TYPE_DATA) {
      size_t k = len < sizeof scratch - n ? len : sizeof scratch - n;
      const uint8_t *q;
      k = fdp_bytes(f, &q, k);
      memcpy(scratch + n, q, k);
      n += k;
    }
    feed(z, f, scratch, n);
    break;
  }
  case 2: /* time passes */
    z->now += (uint64_t)fdp_u16(f) * (fdp_bool(f) ? LP2P_NS_PER_MS : 1000);
    if (fdp_bool(f)) {
      lp2p_tstamp t = lp2p_yamux_next_timeout(z->y);
      if (t != LP2P_TSTAMP_NONE && t > z->now)
        z->now = t;
    }
    result(z, lp2p_yamux_handle_timeout(z->y, z->now));
    break;
  case 3: { /* partial out_consume */
    lp2p_yamux_out_peek(z->y, &n);
    lp2p_yamux_out_consume(z->y, fdp_range(f, 0, n));
    break;
  }
  case 4:
    rc = lp2p_yamux_stream_open(z->y, z->now, &id);
    if (rc == 0)
      remember(z, id);
    result(z, rc);
    break;
  case 5: { /* write */
    id = pick_id(z, f);
    if (fdp_u8(f) < 128) {
      n = fdp_bytes(f, &p, 4096);
    } else { /* big writes without spending input */
      n = fdp_u16(f);
      memset(scratch, 0x5a, n);
      p = scratch;
    }
    lp2p_ssize r = lp2p_yamux_stream_write(z->y, z->now, id, p, n);
    result(z, r);
    CHECK(r < 0 || (size_t)r <= n);
    break;
  }
  case 6: { /* read some */
    id = pick_id(z, f);
    size_t have = lp2p_yamux_stream_readable(z->y, id);
    lp2p_yamux_stream_read_peek(z->y, id, &n);
    CHECK(n <= have);
    result(z, lp2p_yamux_stream_read_consume(z->y, z->now, id,
                                             fdp_range(f, 0, have + 1)));
    break;
  }
  case 7:
    result(z, lp2p_yamux_stream_close(z->y, z->now, pick_id(z, f)));
    break;
  case 8:
    result(z, lp2p_yamux_stream_reset(z->y, z->now, pick_id(z, f)));
    break;
  case 9:
    result(z, lp2p_yamux_stream_accept(z->y, z->now, pick_id(z, f)));
    break;
  case 10:
    result(z, lp2p_yamux_ping(z->y, z->now));
    break;
  case 11:
    result(z, lp2p_yamux_go_away(z->y, z->now, fdp_u8(f) % 4u));
    break;
  case 12:
    result(z, lp2p_yamux_feed_eof(z->y, z->now));
    break;
  case 14: { /* a big Data frame without spending input (windows, tuning) */
    id = pick_id(z, f);
    uint32_t len = (uint32_t)fdp_u16(f) * 4u;
    lp2p_yamux_header h = {0, LP2P_YAMUX_TYPE_DATA, fdp_u8(f) & 0xfu, id, len};
    lp2p_yamux_header_encode(zeros, &h);
    feed(z, f, zeros, LP2P_YAMUX_HEADER_BYTES + len);
    memset(zeros, 0, LP2P_YAMUX_HEADER_BYTES);
    break;
  }
  default: /* drain everything, as a driver would (run after run) */
    while (lp2p_yamux_out_peek(z->y, &n))
      lp2p_yamux_out_consume(z->y, n);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  static fz z;
  memset(&z, 0, sizeof z);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  int is_client = fdp_bool(&f);
  setup(&z, &f);
  uint8_t fa = fdp_u8(&f);
  if (fa >= 192)
    mem.fail_at = 1 + (fa - 192u) * 4u + fdp_u8(&f) % 4u;
  int rc = lp2p_yamux_new(&z.y, is_client, &z.cfg, &mem.mem, 0);
  if (rc) {
    CHECK(rc == LP2P_ERR_NOMEM && mem.live_bytes == 0);
    return 0;
  }
  for (int i = 0; i < 4096 && fdp_left(&f) && !z.dead; i++) {
    op(&z, &f);
    if (z.dead)
      break;
    invariants(&z);
    events(&z);
  }
  lp2p_yamux_free(z.y);
  CHECK(mem.live_bytes == 0 && mem.live_allocs == 0);
  return 0;
}
