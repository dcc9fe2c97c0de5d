/* Fuzzes the noise-libp2p engine. Under LP2P_FUZZING the AEAD is a null
 * cipher (copy + zero tag), so forged transport frames can pass; identity
 * signatures stay real, so the remote side of the handshake is played by a
 * real peer engine and the input decides what happens on the wire.
 *
 * Input: [mode u8] then
 *  - mode even ("scripted"): role, key types, fail-at allocation index,
 *    then a list of ops: pump both ways, move a piece either way (optionally
 *    flipping one byte or injecting raw bytes towards the target), app
 *    writes and partial reads on either side, zero-copy receive, time
 *    jumps and timeouts, EOF, close, event polling; either side may use a
 *    static key made once (lp2p_noise_static).
 *  - mode odd ("raw"): one engine fed the rest of the input as wire bytes,
 *    in pieces chosen by the input.
 * Invariants (abort on violation): no crash, feed/write never take more
 * than offered, nothing after CLOSED, a CLOSED state is announced by a
 * CLOSED event, received plaintext is always a prefix of what the peer
 * wrote unless the target's input was tampered with, and every byte is
 * freed (counting allocator back to zero). */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/noise.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

static lp2p_privkey keys[3][2];
/* static keys made once per identity (lp2p_noise_static), as a host does */
static lp2p_noise_static statics[3][2];
static int keys_ready;
static const lp2p_key_type types[3] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1,
                                       LP2P_KEY_ECDSA};

static void init_keys(void) {
  if (keys_ready) return;
  for (int t = 0; t < 3; t++) {
    for (int w = 0; w < 2; w++) {
      lp2p_rng_chacha st;
      lp2p_rng r;
      lp2p_rng_chacha_init(&st, 77, (uint64_t)(t * 2 + w), &r);
      CHECK(lp2p_key_generate(&keys[t][w], types[t], 0, &r) == 0);
      CHECK(lp2p_noise_static_make(&statics[t][w], &keys[t][w], &r) == 0);
    }
  }
  keys_ready = 1;
}

/* Deterministic stream contents: byte i of each direction. */
static uint8_t pattern(uint64_t i, int dir) {
  return (uint8_t)(i * 131u + 7u + (unsigned)dir * 61u);
}

typedef struct end {
  lp2p_noise *n;
  uint64_t sent, recvd;
  int closed_ev, done_ev, tampered;
} end;

typedef struct wire {
  uint8_t buf[1 << 17];
  size_t len;
} wire;

static wire w_to[2]; /* w_to[i]: bytes travelling to end i */

static void poll_all(end *e) {
  lp2p_noise_event ev;
  while (lp2p_noise_poll_event(e->n, &ev)) {
    CHECK(!e->closed_ev);
    if (ev.type == LP2P_NOISE_EV_CLOSED) e->closed_ev = 1;
    if (ev.type == LP2P_NOISE_EV_HANDSHAKE_DONE) {
      CHECK(!e->done_ev);
      e->done_ev = 1;
    }
  }
  if (lp2p_noise_state(e->n) & LP2P_STATE_CLOSED) CHECK(e->closed_ev);
}

/* Take up to `max` output bytes of e into the wire towards the other end. */
static void take_out(end *e, wire *w, size_t max) {
  size_t len;
  const uint8_t *o = lp2p_noise_out_peek(e->n, &len);
  if (!o) return;
  size_t k = len < max ? len : max;
  if (k > sizeof w->buf - w->len) k = sizeof w->buf - w->len;
  memcpy(w->buf + w->len, o, k);
  w->len += k;
  lp2p_noise_out_consume(e->n, k);
}

static void feed_in(end *e, wire *w, size_t max, lp2p_tstamp now) {
  size_t k = w->len < max ? w->len : max;
  lp2p_ssize r = lp2p_noise_feed(e->n, now, w->buf, k);
  if (r < 0) return;
  CHECK((size_t)r <= k);
  memmove(w->buf, w->buf + r, w->len - (size_t)r);
  w->len -= (size_t)r;
}

static void read_some(end *e, size_t max, int dir) {
  size_t len;
  const uint8_t *d = lp2p_noise_read_peek(e->n, &len);
  if (!d) return;
  CHECK(len > 0);
  size_t k = len < max ? len : max;
  if (!e->tampered)
    for (size_t i = 0; i < k; i++) CHECK(d[i] == pattern(e->recvd + i, dir));
  e->recvd += k;
  lp2p_noise_read_consume(e->n, k);
}

static void write_some(end *e, size_t k, lp2p_tstamp now, int dir) {
  static uint8_t buf[70000];
  if (k > sizeof buf) k = sizeof buf;
  for (size_t i = 0; i < k; i++) buf[i] = pattern(e->sent + i, dir);
  lp2p_ssize r = lp2p_noise_write(e->n, now, buf, k);
  if (r > 0) {
    CHECK((size_t)r <= k);
    e->sent += (size_t)r;
  }
}

static void pump(end *e, lp2p_tstamp now) {
  for (int round = 0; round < 16; round++) {
    for (int i = 0; i < 2; i++) {
      if (!e[i].n) continue;
      take_out(&e[i], &w_to[1 - i], SIZE_MAX);
      if (e[1 - i].n) feed_in(&e[1 - i], &w_to[1 - i], SIZE_MAX, now);
      read_some(&e[1 - i], SIZE_MAX, i);
      poll_all(&e[i]);
      poll_all(&e[1 - i]);
    }
  }
}

static void scripted(fdp *f) {
  init_keys();
  int role = fdp_bool(f);
  int kt = (int)fdp_range(f, 0, 2), kp = (int)fdp_range(f, 0, 2);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  mc.fail_at = fdp_range(f, 0, 40);
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, fdp_u32(f), 1, &rng);
  static const char *const mux_a[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
  static const char *const mux_b[] = {"/mplex/6.7.0"};
  lp2p_noise_config ct, cp;
  lp2p_noise_config_default(&ct);
  lp2p_noise_config_default(&cp);
  ct.identity = &keys[kt][0];
  cp.identity = &keys[kp][1];
  ct.muxers = fdp_bool(f) ? mux_a : mux_b;
  ct.muxers_len = fdp_range(f, 0, ct.muxers == mux_a ? 2 : 1);
  cp.muxers = mux_a;
  cp.muxers_len = fdp_range(f, 0, 2);
  ct.handshake_timeout_ns = fdp_range(f, 0, 3) * LP2P_NS_PER_S;
  if (fdp_bool(f)) ct.recv_buffer_bytes_max = 65537;
  if (fdp_bool(f)) ct.out_buffer_bytes_max = 65537;
  lp2p_peerid want;
  if (role && fdp_bool(f) &&
      lp2p_peerid_from_pubkey(&want, &keys[fdp_range(f, 0, 2)][1].pub) == 0)
    ct.expected_peer = &want;
  if (fdp_bool(f)) ct.static_key = &statics[kt][0];
  if (fdp_bool(f)) cp.static_key = &statics[kp][1];
  end e[2];
  memset(e, 0, sizeof e);
  memset(w_to, 0, sizeof w_to);
  lp2p_tstamp now = 1;
  /* e[0] is the target (with the failing allocator), e[1] the peer. */
  if (lp2p_noise_new(&e[0].n, role, &ct, &mc.mem, &rng, now) != 0) goto out;
  if (lp2p_noise_new(&e[1].n, !role, &cp, NULL, &rng, now) != 0) goto out;
  for (int ops = 0; ops < 400 && fdp_left(f) > 0; ops++) {
    int op = fdp_u8(f) % 15;
    size_t k = fdp_range(f, 1, 70000);
    switch (op) {
    case 0: pump(e, now); break;
    case 1: take_out(&e[1], &w_to[0], k); break;
    case 2: take_out(&e[0], &w_to[1], k); break;
    case 3: feed_in(&e[0], &w_to[0], k, now); break;
    case 4: feed_in(&e[1], &w_to[1], k, now); break;
    case 5: /* flip a byte travelling to the target */
      if (w_to[0].len) {
        w_to[0].buf[k % w_to[0].len] ^= (uint8_t)(1 + fdp_u8(f) % 255);
        e[0].tampered = 1;
      }
      break;
    case 6: { /* inject raw bytes towards the target */
      const uint8_t *p;
      size_t n = fdp_bytes(f, &p, 300);
      if (n && n <= sizeof w_to[0].buf - w_to[0].len) {
        memcpy(w_to[0].buf + w_to[0].len, p, n);
        w_to[0].len += n;
        e[0].tampered = 1;
      }
      break;
    }
    case 7: write_some(&e[0], k, now, 0); break;
    case 8: write_some(&e[1], k, now, 1); break;
    case 9: read_some(&e[0], k, 1); break;
    case 10: read_some(&e[1], k, 0); break;
    case 11:
      now += (lp2p_tstamp)fdp_range(f, 0, 4000) * LP2P_NS_PER_MS;
      CHECK(lp2p_noise_handle_timeout(e[0].n, now) == 0);
      CHECK(lp2p_noise_handle_timeout(e[1].n, now) == 0);
      break;
    case 12:
      if (k & 1) lp2p_noise_feed_eof(e[k & 2 ? 1 : 0].n, now);
      else lp2p_noise_close(e[k & 2 ? 1 : 0].n, now);
      break;
    case 14: { /* zero-copy receive into the target */
      size_t cap = 0;
      uint8_t *dst = lp2p_noise_recv_buf(e[0].n, &cap);
      size_t m = w_to[0].len < k ? w_to[0].len : k;
      if (m > cap) m = cap;
      if (dst && m) memcpy(dst, w_to[0].buf, m);
      if (lp2p_noise_recv_commit(e[0].n, now, m) == 0) {
        memmove(w_to[0].buf, w_to[0].buf + m, w_to[0].len - m);
        w_to[0].len -= m;
      }
      break;
    }
    default:
      poll_all(&e[0]);
      poll_all(&e[1]);
      break;
    }
    /* The peer's plaintext comes only from the target's genuine output. */
    read_some(&e[1], SIZE_MAX, 0);
  }
  pump(e, now);
  if (!e[0].tampered && mc.failed_allocs == 0 && e[0].recvd > 0)
    CHECK(e[0].recvd <= e[1].sent);
  CHECK(e[1].recvd <= e[0].sent);
out:
  lp2p_noise_free(e[0].n);
  lp2p_noise_free(e[1].n);
  CHECK(mc.live_bytes == 0 && mc.live_allocs == 0);
}

static void raw(fdp *f) {
  init_keys();
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 5, 5, &rng);
  lp2p_noise_config c;
  lp2p_noise_config_default(&c);
  c.identity = &keys[0][0];
  lp2p_noise *n;
  if (lp2p_noise_new(&n, fdp_bool(f), &c, &mc.mem, &rng, 0) == 0) {
    end e = {n, 0, 0, 0, 0, 1};
    while (fdp_left(f) > 0) {
      size_t k = fdp_range(f, 1, 4096);
      const uint8_t *p;
      size_t got = fdp_bytes(f, &p, k);
      lp2p_ssize r = lp2p_noise_feed(n, 0, p, got);
      CHECK(r < 0 || (size_t)r <= got);
      size_t len;
      while (lp2p_noise_out_peek(n, &len)) lp2p_noise_out_consume(n, len);
      read_some(&e, SIZE_MAX, 0);
      poll_all(&e);
    }
    lp2p_noise_feed_eof(n, 0);
    poll_all(&e);
    lp2p_noise_free(n);
  }
  CHECK(mc.live_bytes == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  if (fdp_u8(&f) & 1)
    raw(&f);
  else
    scripted(&f);
  return 0;
}
