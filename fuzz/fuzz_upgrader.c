/* Fuzz the connection upgrader.
 *
 * Header: mode, role, security choice, early-muxer/lazy flags, the
 * allocation to fail. Two modes:
 * - raw: one upgrader whose peer is the input itself (feed chunks, partial
 *   output consumes, clock jumps, EOF, stream commands). Keys and RNG are
 *   fixed, so a recorded peer transcript in the corpus replays through
 *   multistream, the handshake and yamux (fuzz builds use a null AEAD).
 * - pair: two real upgraders; the input picks chunk sizes, partial
 *   consumes, byte flips on the wire, clock jumps and stream commands.
 * Stream commands are yamux calls on lp2p_upgrader_yamux() followed by
 * lp2p_upgrader_flush(), as the host makes them; per-stream protocol
 * negotiation is fuzzed where it lives (fuzz_multistream, fuzz_host).
 * Checks: fed counts in range, output/state agreement, no event after
 * CLOSED, and nothing leaks after free. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/upgrader.h"

static void check(int ok) {
  if (!ok)
    abort();
}

static const lp2p_privkey *fixed_key(int i) {
  static lp2p_privkey k[2];
  static int ready[2];
  if (!ready[i]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x66757a7au, (uint64_t)i, &r);
    check(lp2p_key_generate(&k[i], LP2P_KEY_ED25519, 0, &r) == 0);
    ready[i] = 1;
  }
  return &k[i];
}

typedef struct side {
  lp2p_upgrader *u;
  int closed, dead;
  uint32_t streams[4];
  size_t nstreams;
  uint8_t wire[1 << 16]; /* bytes written, not yet delivered (pair mode) */
  size_t wire_len;
} side;

/* After a yamux call: move its bytes through the upgrader. NOMEM from
 * either ends the side. Returns the call's result. */
static int after(side *s, lp2p_tstamp now, int r) {
  int f = lp2p_upgrader_flush(s->u, now);
  if (r == LP2P_ERR_NOMEM || f == LP2P_ERR_NOMEM)
    s->dead = 1;
  return r;
}

static void events(side *s, lp2p_tstamp now) {
  lp2p_upgrader_event ev;
  while (lp2p_upgrader_poll_event(s->u, &ev)) {
    check(!s->closed);
    if (ev.type == LP2P_UPGRADER_EV_CLOSED) {
      s->closed = 1;
      check(ev.err == lp2p_upgrader_last_error(s->u));
    } else if (ev.type == LP2P_UPGRADER_EV_PEER_IDENTIFIED) {
      check(ev.peer && ev.key && lp2p_peerid_matches_pubkey(ev.peer, ev.key));
    } else if (ev.type == LP2P_UPGRADER_EV_YAMUX &&
               ev.yamux.type == LP2P_YAMUX_EV_STREAM_OPENED) {
      int r = after(s, now,
                    lp2p_yamux_stream_accept(lp2p_upgrader_yamux(s->u), now,
                                             ev.yamux.stream_id));
      if (r == 0 && s->nstreams < 4)
        s->streams[s->nstreams++] = ev.yamux.stream_id;
    }
  }
}

/* Commands shared by both modes. */
static void command(side *s, fdp *f, lp2p_tstamp *now, uint8_t op) {
  int r = 0;
  switch (op) {
  case 0: { /* time */
    *now += (lp2p_tstamp)fdp_range(f, 0, 20000) * LP2P_NS_PER_MS;
    if (lp2p_upgrader_next_timeout(s->u) <= *now)
      r = lp2p_upgrader_handle_timeout(s->u, *now);
    break;
  }
  case 1: { /* open */
    uint32_t id;
    lp2p_yamux *y = lp2p_upgrader_yamux(s->u);
    if (y && after(s, *now, lp2p_yamux_stream_open(y, *now, &id)) == 0 &&
        s->nstreams < 4)
      s->streams[s->nstreams++] = id;
    break;
  }
  case 2: { /* write */
    lp2p_yamux *y = lp2p_upgrader_yamux(s->u);
    if (!s->nstreams || !y)
      break;
    uint32_t id = s->streams[fdp_range(f, 0, s->nstreams - 1)];
    static const uint8_t data[4096];
    lp2p_ssize w = lp2p_yamux_stream_write(y, *now, id, data,
                                           fdp_range(f, 0, sizeof data));
    after(s, *now, w < 0 ? (int)w : 0);
    break;
  }
  case 3: { /* read */
    lp2p_yamux *y = lp2p_upgrader_yamux(s->u);
    for (size_t i = 0; y && i < s->nstreams; i++) {
      size_t len;
      while (lp2p_yamux_stream_read_peek(y, s->streams[i], &len)) {
        if (after(s, *now, lp2p_yamux_stream_read_consume(y, *now,
                                                          s->streams[i],
                                                          len)))
          break;
      }
    }
    break;
  }
  case 4: { /* close / reset a stream */
    lp2p_yamux *y = lp2p_upgrader_yamux(s->u);
    if (!s->nstreams || !y)
      break;
    uint32_t id = s->streams[fdp_range(f, 0, s->nstreams - 1)];
    after(s, *now, fdp_bool(f) ? lp2p_yamux_stream_close(y, *now, id)
                               : lp2p_yamux_stream_reset(y, *now, id));
    break;
  }
  case 5:
    r = lp2p_upgrader_close(s->u, *now);
    break;
  default:
    break;
  }
  if (r == LP2P_ERR_NOMEM)
    s->dead = 1;
  events(s, *now);
}

static void drain(side *s, fdp *f, int all) {
  size_t len;
  const uint8_t *o;
  while ((o = lp2p_upgrader_out_peek(s->u, &len)) != NULL) {
    check(len && (lp2p_upgrader_state(s->u) & LP2P_STATE_HAS_OUTPUT));
    size_t k = all ? len : fdp_range(f, 0, len);
    if (k > sizeof s->wire - s->wire_len)
      k = sizeof s->wire - s->wire_len;
    memcpy(s->wire + s->wire_len, o, k);
    s->wire_len += k;
    lp2p_upgrader_out_consume(s->u, k);
    if (!k || !all)
      break;
  }
}

static void feed(side *s, const uint8_t *p, size_t n, lp2p_tstamp now,
                 size_t *took) {
  lp2p_ssize r = lp2p_upgrader_feed(s->u, now, p, n);
  check(r == LP2P_ERR_NOMEM || (r >= 0 && (size_t)r <= n));
  if (r == LP2P_ERR_NOMEM)
    s->dead = 1;
  *took = r > 0 ? (size_t)r : 0;
  events(s, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  uint8_t flags = fdp_u8(&f);
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  c.fail_at = fdp_u16(&f);
  int pair = flags & 1, role = (flags >> 1) & 1;
  lp2p_upgrader_config cfg[2];
  lp2p_rng_chacha rs[2];
  lp2p_rng rng[2];
  for (int i = 0; i < 2; i++) {
    lp2p_upgrader_config_default(&cfg[i]);
    cfg[i].identity = fixed_key(i);
    cfg[i].security = (lp2p_upgrader_security)(((flags >> 2) & 3) % 3);
    cfg[i].early_muxer = (flags >> (4 + i)) & 1;
    cfg[i].lazy = (flags >> 6) & 1;
    cfg[i].ms.message_bytes_max = 64;
    cfg[i].ms.proposals_max = 3;
    cfg[i].yamux.streams_max = 8;
    cfg[i].yamux.accept_backlog_max = 4;
    cfg[i].events_max = 16;
    lp2p_rng_chacha_init(&rs[i], 7, (uint64_t)i, &rng[i]);
  }
  lp2p_tstamp now = 1;
  side *s = calloc(2, sizeof *s);
  check(s != NULL);
  int n_sides = pair ? 2 : 1;
  for (int i = 0; i < n_sides; i++) {
    /* raw: side 0 plays `role`; pair: side 0 dials */
    int dialer = pair ? i == 0 : role;
    int r = lp2p_upgrader_new(&s[i].u, dialer, &cfg[dialer ? 0 : 1], &c.mem,
                              &rng[dialer ? 0 : 1], now);
    if (r) {
      check(r == LP2P_ERR_NOMEM && !s[i].u);
      n_sides = i;
      break;
    }
  }
  if (n_sides == (pair ? 2 : 1)) {
    while (fdp_left(&f)) {
      uint8_t op = fdp_u8(&f);
      int i = pair ? (op >> 7) : 0;
      side *me = &s[i];
      if (me->dead)
        break;
      switch (op & 7) {
      case 0: { /* raw: input bytes; pair: deliver the peer's bytes */
        size_t took;
        if (!pair) {
          const uint8_t *p;
          size_t n = fdp_bytes(&f, &p, 2048);
          feed(me, p, n, now, &took);
        } else {
          side *o = &s[1 - i];
          size_t n = fdp_u16(&f); /* clamped: large values mean "all" */
          if (n > o->wire_len)
            n = o->wire_len;
          feed(me, o->wire, n, now, &took);
          memmove(o->wire, o->wire + took, o->wire_len - took);
          o->wire_len -= took;
        }
        break;
      }
      case 1:
        drain(me, &f, fdp_bool(&f));
        if (!pair)
          me->wire_len = 0;
        break;
      case 2: /* flip a byte in flight (pair) */
        if (pair && me->wire_len)
          me->wire[fdp_range(&f, 0, me->wire_len - 1)] ^= (uint8_t)(1u
                                                             << fdp_range(
                                                                 &f, 0, 7));
        break;
      case 3:
        (void)lp2p_upgrader_feed_eof(me->u, now);
        events(me, now);
        break;
      default:
        command(me, &f, &now, (uint8_t)(fdp_u8(&f) % 6));
        break;
      }
      check(!!(lp2p_upgrader_state(me->u) & LP2P_STATE_HAS_OUTPUT) ==
            (lp2p_upgrader_out_peek(me->u, NULL) != NULL));
    }
  }
  for (int i = 0; i < 2; i++)
    lp2p_upgrader_free(s[i].u);
  free(s);
  check(c.live_bytes == 0 && c.live_allocs == 0);
  return 0;
}
