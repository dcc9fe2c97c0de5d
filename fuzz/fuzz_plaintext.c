/* Fuzzes the plaintext/2.0.0 engine.
 *
 * Input: [mode u8] then
 *  - mode even ("scripted"): role, key types, fail-at allocation index,
 *    bounds, then ops against a real peer engine: pump, move pieces either
 *    way, flip or inject bytes towards the target, writes, partial reads,
 *    time jumps, EOF, close, event polling.
 *  - mode odd ("raw"): one engine fed the rest as wire bytes in pieces.
 * Invariants (abort on violation): no crash, feed/write take at most what
 * was offered, nothing after CLOSED, CLOSED state comes with a CLOSED
 * event, bytes the peer reads are a prefix of what the target wrote (and
 * back, unless tampered), everything freed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/plaintext.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

static lp2p_privkey keys[2][2];
static int keys_ready;

static void init_keys(void) {
  if (keys_ready) return;
  static const lp2p_key_type types[2] = {LP2P_KEY_ED25519, LP2P_KEY_SECP256K1};
  for (int t = 0; t < 2; t++) {
    for (int w = 0; w < 2; w++) {
      lp2p_rng_chacha st;
      lp2p_rng r;
      lp2p_rng_chacha_init(&st, 78, (uint64_t)(t * 2 + w), &r);
      CHECK(lp2p_key_generate(&keys[t][w], types[t], 0, &r) == 0);
    }
  }
  keys_ready = 1;
}

static uint8_t pattern(uint64_t i, int dir) {
  return (uint8_t)(i * 131u + 7u + (unsigned)dir * 61u);
}

typedef struct end {
  lp2p_plaintext *t;
  uint64_t sent, recvd;
  int closed_ev, tampered;
} end;

typedef struct wire {
  uint8_t buf[1 << 16];
  size_t len;
} wire;

static wire w_to[2];

static void poll_all(end *e) {
  lp2p_plaintext_event ev;
  while (lp2p_plaintext_poll_event(e->t, &ev)) {
    CHECK(!e->closed_ev);
    if (ev.type == LP2P_PLAINTEXT_EV_CLOSED) e->closed_ev = 1;
  }
  if (lp2p_plaintext_state(e->t) & LP2P_STATE_CLOSED) CHECK(e->closed_ev);
}

static void take_out(end *e, wire *w, size_t max) {
  size_t len;
  const uint8_t *o = lp2p_plaintext_out_peek(e->t, &len);
  if (!o) return;
  size_t k = len < max ? len : max;
  if (k > sizeof w->buf - w->len) k = sizeof w->buf - w->len;
  memcpy(w->buf + w->len, o, k);
  w->len += k;
  lp2p_plaintext_out_consume(e->t, k);
}

static void feed_in(end *e, wire *w, size_t max) {
  size_t k = w->len < max ? w->len : max;
  lp2p_ssize r = lp2p_plaintext_feed(e->t, 0, w->buf, k);
  if (r < 0) return;
  CHECK((size_t)r <= k);
  memmove(w->buf, w->buf + r, w->len - (size_t)r);
  w->len -= (size_t)r;
}

static void read_some(end *e, size_t max, int dir) {
  size_t len;
  const uint8_t *d = lp2p_plaintext_read_peek(e->t, &len);
  if (!d) return;
  CHECK(len > 0);
  size_t k = len < max ? len : max;
  if (!e->tampered)
    for (size_t i = 0; i < k; i++) CHECK(d[i] == pattern(e->recvd + i, dir));
  e->recvd += k;
  lp2p_plaintext_read_consume(e->t, k);
}

static void write_some(end *e, size_t k, int dir) {
  static uint8_t buf[70000];
  if (k > sizeof buf) k = sizeof buf;
  for (size_t i = 0; i < k; i++) buf[i] = pattern(e->sent + i, dir);
  lp2p_ssize r = lp2p_plaintext_write(e->t, 0, buf, k);
  if (r > 0) {
    CHECK((size_t)r <= k);
    e->sent += (size_t)r;
  }
}

static void pump(end *e) {
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < 2; i++) {
      take_out(&e[i], &w_to[1 - i], SIZE_MAX);
      feed_in(&e[1 - i], &w_to[1 - i], SIZE_MAX);
      read_some(&e[1 - i], SIZE_MAX, i);
      poll_all(&e[0]);
      poll_all(&e[1]);
    }
  }
}

static void scripted(fdp *f) {
  init_keys();
  int role = fdp_bool(f);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  mc.fail_at = fdp_range(f, 0, 20);
  lp2p_plaintext_config ct, cp;
  lp2p_plaintext_config_default(&ct);
  lp2p_plaintext_config_default(&cp);
  ct.identity = &keys[fdp_range(f, 0, 1)][0];
  cp.identity = &keys[fdp_range(f, 0, 1)][1];
  ct.exchange_bytes_max = fdp_range(f, 64, 300);
  ct.recv_buffer_bytes_max = fdp_range(f, ct.exchange_bytes_max + 9, 70000);
  ct.out_buffer_bytes_max = fdp_range(f, 1024, 70000);
  ct.handshake_timeout_ns = fdp_range(f, 0, 3) * LP2P_NS_PER_S;
  lp2p_peerid want;
  if (role && fdp_bool(f) &&
      lp2p_peerid_from_pubkey(&want, &keys[fdp_range(f, 0, 1)][1].pub) == 0)
    ct.expected_peer = &want;
  end e[2];
  memset(e, 0, sizeof e);
  memset(w_to, 0, sizeof w_to);
  lp2p_tstamp now = 1;
  if (lp2p_plaintext_new(&e[0].t, role, &ct, &mc.mem, NULL, now) != 0)
    goto out;
  if (lp2p_plaintext_new(&e[1].t, !role, &cp, NULL, NULL, now) != 0) goto out;
  for (int ops = 0; ops < 400 && fdp_left(f) > 0; ops++) {
    int op = fdp_u8(f) % 14;
    size_t k = fdp_range(f, 1, 70000);
    switch (op) {
    case 0: pump(e); break;
    case 1: take_out(&e[1], &w_to[0], k); break;
    case 2: take_out(&e[0], &w_to[1], k); break;
    case 3: feed_in(&e[0], &w_to[0], k); break;
    case 4: feed_in(&e[1], &w_to[1], k); break;
    case 5:
      if (w_to[0].len) {
        w_to[0].buf[k % w_to[0].len] ^= (uint8_t)(1 + fdp_u8(f) % 255);
        e[0].tampered = 1;
      }
      break;
    case 6: {
      const uint8_t *p;
      size_t n = fdp_bytes(f, &p, 300);
      if (n && n <= sizeof w_to[0].buf - w_to[0].len) {
        memcpy(w_to[0].buf + w_to[0].len, p, n);
        w_to[0].len += n;
        e[0].tampered = 1;
      }
      break;
    }
    case 7: write_some(&e[0], k, 0); break;
    case 8: write_some(&e[1], k, 1); break;
    case 9: read_some(&e[0], k, 1); break;
    case 10: read_some(&e[1], k, 0); break;
    case 11:
      now += (lp2p_tstamp)fdp_range(f, 0, 4000) * LP2P_NS_PER_MS;
      CHECK(lp2p_plaintext_handle_timeout(e[0].t, now) == 0);
      CHECK(lp2p_plaintext_handle_timeout(e[1].t, now) == 0);
      break;
    case 12:
      if (k & 1) lp2p_plaintext_feed_eof(e[k & 2 ? 1 : 0].t, now);
      else lp2p_plaintext_close(e[k & 2 ? 1 : 0].t, now);
      break;
    default:
      poll_all(&e[0]);
      poll_all(&e[1]);
      break;
    }
  }
  pump(e);
  CHECK(e[1].recvd <= e[0].sent);
out:
  lp2p_plaintext_free(e[0].t);
  lp2p_plaintext_free(e[1].t);
  CHECK(mc.live_bytes == 0 && mc.live_allocs == 0);
}

static void raw(fdp *f) {
  init_keys();
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_plaintext_config c;
  lp2p_plaintext_config_default(&c);
  c.identity = &keys[0][0];
  lp2p_plaintext *t;
  if (lp2p_plaintext_new(&t, fdp_bool(f), &c, &mc.mem, NULL, 0) == 0) {
    end e = {t, 0, 0, 0, 1};
    while (fdp_left(f) > 0) {
      const uint8_t *p;
      size_t got = fdp_bytes(f, &p, fdp_range(f, 1, 4096));
      lp2p_ssize r = lp2p_plaintext_feed(t, 0, p, got);
      CHECK(r < 0 || (size_t)r <= got);
      size_t len;
      while (lp2p_plaintext_out_peek(t, &len)) lp2p_plaintext_out_consume(t, len);
      read_some(&e, SIZE_MAX, 0);
      poll_all(&e);
    }
    lp2p_plaintext_feed_eof(t, 0);
    poll_all(&e);
    lp2p_plaintext_free(t);
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
