/* noise-libp2p engine: the sans-IO contract (DESIGN.md section 2), the
 * 2-byte length framing (libp2p noise spec, "Wire Format") and the
 * transport phase ("Encryption and I/O"). Received frames are decrypted in
 * place in the receive buffer; written plaintext is encrypted straight
 * into its frame in the send buffer. Both buffers are released whenever
 * they empty, so an idle session holds only this struct. */
#include <string.h>

#include "proto/noise/noise_int.h"

#define BUF_MIN 512u
#define BUF_DEFAULT_MAX (4u * NOISE_FRAME_MAX)
/* Empty buffers up to this size are freed at once (cheap to get back);
 * larger ones are kept for buf_idle_ns so a busy stream does not pay an
 * allocation (and, with glibc, mmap/munmap or heap trimming) per burst. */
#define BUF_KEEP_MAX 8192u

static size_t be16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

void lp2p_noise_config_default(lp2p_noise_config *cfg) {
  if (!cfg) return;
  memset(cfg, 0, sizeof *cfg);
  cfg->handshake_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->recv_buffer_bytes_max = BUF_DEFAULT_MAX;
  cfg->out_buffer_bytes_max = BUF_DEFAULT_MAX;
  cfg->buffer_idle_ns = LP2P_NS_PER_S;
}

static void release_rb(lp2p_noise *n) {
  lp2p_mem_free(n->mem, n->rb);
  n->rb = NULL;
  n->rb_cap = n->rb_head = n->rb_dec = n->rb_end = n->rb_rd = 0;
  n->rb_idle_at = LP2P_TSTAMP_NONE;
}

static void release_tb(lp2p_noise *n) {
  lp2p_mem_free(n->mem, n->tb);
  n->tb = NULL;
  n->tb_cap = n->tb_off = n->tb_len = 0;
  n->tb_idle_at = LP2P_TSTAMP_NONE;
}

/* The receive buffer just became empty: free it, or keep a large one
 * until it has stayed empty for buf_idle_ns (see handle_timeout). */
static void rb_emptied(lp2p_noise *n) {
  if (n->rb_cap <= BUF_KEEP_MAX || n->buf_idle_ns == 0) {
    release_rb(n);
    return;
  }
  n->rb_head = n->rb_dec = n->rb_end = n->rb_rd = 0;
  if (n->rb_idle_at == LP2P_TSTAMP_NONE) n->rb_idle_at = n->now_last;
}

static void tb_emptied(lp2p_noise *n) {
  if (n->tb_cap <= BUF_KEEP_MAX || n->buf_idle_ns == 0) {
    release_tb(n);
    return;
  }
  n->tb_off = n->tb_len = 0;
  if (n->tb_idle_at == LP2P_TSTAMP_NONE) n->tb_idle_at = n->now_last;
}

static lp2p_tstamp add_sat(lp2p_tstamp t, uint64_t d) {
  return d > LP2P_TSTAMP_NONE - 1 - t ? LP2P_TSTAMP_NONE - 1 : t + d;
}

static void release_hsx(lp2p_noise *n) {
  if (!n->hsx) return;
  lp2p_memzero(n->hsx, sizeof *n->hsx + n->hsx->payload_len);
  lp2p_mem_free(n->mem, n->hsx);
  n->hsx = NULL;
}

void noise_push_event(lp2p_noise *n, uint8_t type) {
  if (n->ev_n < sizeof n->ev) n->ev[n->ev_n++] = type;
}

static int event_pending(const lp2p_noise *n, uint8_t type) {
  for (uint8_t i = 0; i < n->ev_n; i++)
    if (n->ev[i] == type) return 1;
  return 0;
}

/* End the session: sticky error, buffers and handshake secrets dropped,
 * CLOSED queued. The handshake context survives only while its
 * HANDSHAKE_DONE event (which reads the remote key) is still queued. */
void noise_fail(lp2p_noise *n, int err) {
  if (n->phase == PHASE_CLOSED) return;
  n->err = err;
  n->phase = PHASE_CLOSED;
  lp2p_memzero(&n->tx, sizeof n->tx);
  lp2p_memzero(&n->rx, sizeof n->rx);
  if (!event_pending(n, LP2P_NOISE_EV_HANDSHAKE_DONE)) release_hsx(n);
  release_rb(n);
  release_tb(n);
  noise_push_event(n, LP2P_NOISE_EV_CLOSED);
}

/* Clean end: both directions closed and every byte moved. */
static void maybe_finish(lp2p_noise *n) {
  if (n->phase != PHASE_TRANSPORT || !n->wr_closed || !n->rx_eof) return;
  if (n->tb_len != n->tb_off || n->rb_end != 0) return;
  noise_fail(n, 0);
}

int lp2p_noise_new(lp2p_noise **out, int initiator,
                   const lp2p_noise_config *cfg, const lp2p_mem *mem,
                   const lp2p_rng *rng, lp2p_tstamp now) {
  if (!out) return LP2P_ERR_INVAL;
  *out = NULL;
  if (!cfg || !cfg->identity || !rng || !rng->fill) return LP2P_ERR_INVAL;
  if (cfg->recv_buffer_bytes_max < NOISE_FRAME_MAX ||
      cfg->out_buffer_bytes_max < NOISE_FRAME_MAX)
    return LP2P_ERR_INVAL;
  lp2p_noise *n = lp2p_mem_calloc(mem, 1, sizeof *n);
  if (!n) return LP2P_ERR_NOMEM;
  n->mem = mem;
  n->initiator = initiator ? 1 : 0;
  n->phase = PHASE_HANDSHAKE;
  n->rb_max = cfg->recv_buffer_bytes_max;
  n->tb_max = cfg->out_buffer_bytes_max;
  n->deadline = LP2P_TSTAMP_NONE;
  if (cfg->handshake_timeout_ns)
    n->deadline = add_sat(now, cfg->handshake_timeout_ns);
  n->now_last = now;
  n->buf_idle_ns = cfg->buffer_idle_ns;
  n->rb_idle_at = n->tb_idle_at = LP2P_TSTAMP_NONE;
  int rc = noise_hs_start(n, cfg, rng);
  if (rc) {
    lp2p_noise_free(n);
    return rc;
  }
  *out = n;
  return 0;
}

void lp2p_noise_free(lp2p_noise *n) {
  if (!n) return;
  release_hsx(n);
  if (n->rb) lp2p_memzero(n->rb, n->rb_end);
  release_rb(n);
  release_tb(n);
  lp2p_mem_free(n->mem, n->muxer);
  const lp2p_mem *mem = n->mem;
  lp2p_memzero(n, sizeof *n);
  lp2p_mem_free(mem, n);
}

/* ---- send buffer -------------------------------------------------------- */

uint8_t *noise_tx_reserve(lp2p_noise *n, size_t need, int *err) {
  size_t pending = n->tb_len - n->tb_off;
  n->tb_idle_at = LP2P_TSTAMP_NONE;
  if (need > n->tb_max - pending) {
    *err = LP2P_ERR_LIMIT;
    return NULL;
  }
  if (n->tb_len + need <= n->tb_cap) return n->tb + n->tb_len;
  if (n->tb_off > 0) { /* compact: unsent bytes move to the front */
    memmove(n->tb, n->tb + n->tb_off, pending);
    n->tb_off = 0;
    n->tb_len = pending;
    if (pending + need <= n->tb_cap) return n->tb + n->tb_len;
  }
  size_t cap = pending + need;
  if (cap < n->tb_cap * 2) cap = min_sz(n->tb_cap * 2, n->tb_max);
  if (cap < BUF_MIN) cap = min_sz(BUF_MIN, n->tb_max);
  uint8_t *nb = lp2p_mem_realloc(n->mem, n->tb, n->tb_cap, cap);
  if (!nb) {
    *err = LP2P_ERR_NOMEM;
    return NULL;
  }
  n->tb = nb;
  n->tb_cap = cap;
  return n->tb + n->tb_len;
}

const uint8_t *lp2p_noise_out_peek(const lp2p_noise *n, size_t *len) {
  size_t l = n && n->tb ? n->tb_len - n->tb_off : 0;
  if (len) *len = l;
  return l ? n->tb + n->tb_off : NULL;
}

void lp2p_noise_out_consume(lp2p_noise *n, size_t len) {
  if (!n || !n->tb) return;
  n->tb_off += min_sz(len, n->tb_len - n->tb_off);
  if (n->tb_off == n->tb_len) tb_emptied(n);
  maybe_finish(n);
}

/* Plaintext that fits in `room` bytes of frames. */
static size_t plaintext_fit(size_t room) {
  size_t full = room / NOISE_FRAME_MAX, rem = room % NOISE_FRAME_MAX;
  return full * LP2P_NOISE_PLAINTEXT_BYTES_MAX +
         (rem > LP2P_NOISE_FRAME_OVERHEAD ? rem - LP2P_NOISE_FRAME_OVERHEAD : 0);
}

size_t lp2p_noise_write_room(const lp2p_noise *n) {
  if (!n || n->phase != PHASE_TRANSPORT || n->wr_closed) return 0;
  return plaintext_fit(n->tb_max - (n->tb_len - n->tb_off));
}

lp2p_ssize lp2p_noise_write(lp2p_noise *n, lp2p_tstamp now, const uint8_t *p,
                            size_t len) {
  if (!n || (!p && len)) return LP2P_ERR_INVAL;
  n->now_last = now;
  if (n->phase == PHASE_CLOSED) return n->err ? n->err : LP2P_ERR_CLOSED;
  if (n->phase != PHASE_TRANSPORT) return LP2P_ERR_STATE;
  if (n->wr_closed) return LP2P_ERR_CLOSED;
  size_t take = min_sz(len, lp2p_noise_write_room(n));
  if (take == 0) return 0;
  size_t frames = (take + LP2P_NOISE_PLAINTEXT_BYTES_MAX - 1) /
                  LP2P_NOISE_PLAINTEXT_BYTES_MAX;
  int rc = 0;
  uint8_t *f = noise_tx_reserve(n, take + frames * LP2P_NOISE_FRAME_OVERHEAD,
                                &rc);
  if (!f) {
    noise_fail(n, rc);
    return rc;
  }
  for (size_t done = 0; done < take;) {
    size_t chunk = min_sz(take - done, LP2P_NOISE_PLAINTEXT_BYTES_MAX);
    /* One pass: encrypt from the caller's buffer into the frame. */
    if ((rc = noise_cipher_encrypt(&n->tx, NULL, 0, p + done, chunk, f + 2))) {
      noise_fail(n, rc);
      return rc;
    }
    size_t ml = chunk + NOISE_TAGLEN;
    f[0] = (uint8_t)(ml >> 8);
    f[1] = (uint8_t)ml;
    f += 2 + ml;
    n->tb_len += 2 + ml;
    done += chunk;
  }
  return (lp2p_ssize)take;
}

/* ---- receive buffer ----------------------------------------------------- */

size_t lp2p_noise_recv_room(const lp2p_noise *n) {
  if (!n || n->phase == PHASE_CLOSED || n->rx_eof) return 0;
  return n->rb_max - (n->rb_end - n->rb_head);
}

static int rx_reserve(lp2p_noise *n, size_t k) {
  n->rb_idle_at = LP2P_TSTAMP_NONE;
  if (n->rb_end + k <= n->rb_cap) return 0;
  size_t keep = n->rb_end - n->rb_head;
  /* Compact (drop consumed frames) only when it is cheap, or when growing
   * within rb_max cannot make room. Compacting whenever the tail is short
   * moved the frame in progress on nearly every 64 KiB read of a bulk
   * stream (about 0.8 extra copies per received byte); growing to rb_max
   * first makes it one short move per buffer's worth. */
  if (n->rb_head > 0 &&
      (keep <= n->rb_cap / 8 || n->rb_end + k > n->rb_max)) {
    memmove(n->rb, n->rb + n->rb_head, keep);
    n->rb_dec -= n->rb_head;
    n->rb_end = keep;
    n->rb_head = 0;
    if (n->rb_end + k <= n->rb_cap) return 0;
  }
  size_t cap = n->rb_end + k;
  /* Size for the whole frame in progress when its length is known, and
   * grow geometrically, so a frame fed in small pieces reallocates rarely. */
  if (n->rb_end - n->rb_dec >= 2) {
    size_t fe = n->rb_dec + 2 + be16(n->rb + n->rb_dec);
    if (fe > cap) cap = fe;
  }
  if (cap < n->rb_cap * 2) cap = n->rb_cap * 2;
  if (cap < BUF_MIN) cap = BUF_MIN;
  cap = min_sz(cap, n->rb_max);
  if (cap < n->rb_end + k) cap = n->rb_end + k;
  uint8_t *nb = lp2p_mem_realloc(n->mem, n->rb, n->rb_cap, cap);
  if (!nb) return LP2P_ERR_NOMEM;
  n->rb = nb;
  n->rb_cap = cap;
  return 0;
}

/* Drop fully read frames (and empty ones) at the head; free the buffer
 * when nothing is left in it. */
static void rx_settle(lp2p_noise *n) {
  while (n->rb_head < n->rb_dec) {
    size_t pt = be16(n->rb + n->rb_head) - NOISE_TAGLEN;
    if (n->rb_rd < pt) break;
    n->rb_head += 2 + pt + NOISE_TAGLEN;
    n->rb_rd = 0;
  }
  if (n->rb && n->rb_head == n->rb_end) rb_emptied(n);
}

static void rx_process(lp2p_noise *n) {
  while (n->phase != PHASE_CLOSED && n->rb_end - n->rb_dec >= 2) {
    size_t ml = be16(n->rb + n->rb_dec);
    if (n->rb_end - n->rb_dec - 2 < ml) break;
    uint8_t *body = n->rb + n->rb_dec + 2;
    int rc;
    if (n->phase == PHASE_HANDSHAKE) {
      /* Handshake messages are never app data: drop each once handled. */
      rc = noise_hs_on_message(n, body, ml);
      n->rb_dec += 2 + ml;
      n->rb_head = n->rb_dec;
    } else if (ml < NOISE_TAGLEN) {
      rc = LP2P_ERR_PROTO; /* cannot even hold the tag */
    } else {
      rc = noise_cipher_decrypt(&n->rx, NULL, 0, body, ml, body);
      n->rb_dec += 2 + ml;
    }
    if (rc) {
      noise_fail(n, rc);
      return;
    }
  }
  rx_settle(n);
}

lp2p_ssize lp2p_noise_feed(lp2p_noise *n, lp2p_tstamp now, const uint8_t *p,
                           size_t len) {
  if (!n || (!p && len)) return LP2P_ERR_INVAL;
  n->now_last = now;
  if (n->phase == PHASE_CLOSED) return n->err ? n->err : LP2P_ERR_CLOSED;
  if (n->rx_eof) return LP2P_ERR_STATE;
  size_t taken = 0;
  while (taken < len && n->phase != PHASE_CLOSED) {
    size_t k = min_sz(len - taken, lp2p_noise_recv_room(n));
    if (k == 0) break;
    if (rx_reserve(n, k) != 0) {
      noise_fail(n, LP2P_ERR_NOMEM);
      return LP2P_ERR_NOMEM;
    }
    memcpy(n->rb + n->rb_end, p + taken, k);
    n->rb_end += k;
    taken += k;
    rx_process(n);
    if (n->phase == PHASE_CLOSED && n->err == LP2P_ERR_NOMEM)
      return LP2P_ERR_NOMEM;
  }
  return (lp2p_ssize)taken;
}

uint8_t *lp2p_noise_recv_buf(lp2p_noise *n, size_t *cap) {
  size_t room = lp2p_noise_recv_room(n);
  if (cap) *cap = 0;
  if (room == 0) return NULL;
  /* Offer the spare capacity, or room for the frame in progress, but at
   * least 16 KiB: a light session does not grow a full-size buffer, a bulk
   * one grows geometrically (rx_reserve). */
  size_t want = n->rb_cap - n->rb_end;
  if (n->rb_end - n->rb_dec >= 2) {
    size_t fe = n->rb_dec + 2 + be16(n->rb + n->rb_dec);
    if (fe > n->rb_end && fe - n->rb_end > want) want = fe - n->rb_end;
  }
  if (want < 16384) want = 16384;
  room = min_sz(room, want);
  if (rx_reserve(n, room) != 0) {
    noise_fail(n, LP2P_ERR_NOMEM);
    return NULL;
  }
  if (cap) *cap = room;
  return n->rb + n->rb_end;
}

int lp2p_noise_recv_commit(lp2p_noise *n, lp2p_tstamp now, size_t len) {
  if (!n) return LP2P_ERR_INVAL;
  n->now_last = now;
  if (n->phase == PHASE_CLOSED) return n->err ? n->err : LP2P_ERR_CLOSED;
  if (n->rx_eof) return LP2P_ERR_STATE;
  if (len > lp2p_noise_recv_room(n) || n->rb_end + len > n->rb_cap)
    return LP2P_ERR_INVAL;
  n->rb_end += len;
  rx_process(n); /* also releases the buffer if nothing is left in it */
  return n->phase == PHASE_CLOSED && n->err == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM
                                                              : 0;
}

int lp2p_noise_feed_eof(lp2p_noise *n, lp2p_tstamp now) {
  if (!n) return LP2P_ERR_INVAL;
  n->now_last = now;
  if (n->phase == PHASE_CLOSED) return n->err;
  if (n->rx_eof) return 0;
  if (n->rb_end != n->rb_dec) {
    noise_fail(n, LP2P_ERR_TRUNCATED);
  } else if (n->phase == PHASE_HANDSHAKE) {
    noise_fail(n, LP2P_ERR_EOF);
  } else {
    n->rx_eof = 1;
    noise_push_event(n, LP2P_NOISE_EV_EOF);
    maybe_finish(n);
  }
  return 0;
}

const uint8_t *lp2p_noise_read_peek(const lp2p_noise *n, size_t *len) {
  size_t l = 0;
  const uint8_t *p = NULL;
  if (n && n->phase == PHASE_TRANSPORT && n->rb_head < n->rb_dec) {
    l = be16(n->rb + n->rb_head) - NOISE_TAGLEN - n->rb_rd;
    p = n->rb + n->rb_head + 2 + n->rb_rd;
  }
  if (len) *len = l;
  return p;
}

void lp2p_noise_read_consume(lp2p_noise *n, size_t len) {
  size_t avail = 0;
  if (!lp2p_noise_read_peek(n, &avail)) return;
  n->rb_rd += min_sz(len, avail);
  rx_settle(n);
  maybe_finish(n);
}

int lp2p_noise_read_eof(const lp2p_noise *n) {
  return n && n->rx_eof && n->rb_head == n->rb_dec;
}

/* ---- time, events, state ------------------------------------------------ */

lp2p_tstamp lp2p_noise_next_timeout(const lp2p_noise *n) {
  if (!n || n->phase == PHASE_CLOSED) return LP2P_TSTAMP_NONE;
  lp2p_tstamp t = n->phase == PHASE_HANDSHAKE ? n->deadline : LP2P_TSTAMP_NONE;
  if (n->rb_idle_at != LP2P_TSTAMP_NONE) {
    lp2p_tstamp r = add_sat(n->rb_idle_at, n->buf_idle_ns);
    if (r < t) t = r;
  }
  if (n->tb_idle_at != LP2P_TSTAMP_NONE) {
    lp2p_tstamp r = add_sat(n->tb_idle_at, n->buf_idle_ns);
    if (r < t) t = r;
  }
  return t;
}

int lp2p_noise_handle_timeout(lp2p_noise *n, lp2p_tstamp now) {
  if (!n || n->phase == PHASE_CLOSED) return 0;
  n->now_last = now;
  if (n->phase == PHASE_HANDSHAKE && n->deadline != LP2P_TSTAMP_NONE &&
      now >= n->deadline) {
    noise_fail(n, LP2P_ERR_TIMEOUT);
    return 0;
  }
  /* Large buffers that stayed empty for buf_idle_ns: give them back. */
  if (n->rb_idle_at != LP2P_TSTAMP_NONE &&
      now >= add_sat(n->rb_idle_at, n->buf_idle_ns))
    release_rb(n);
  if (n->tb_idle_at != LP2P_TSTAMP_NONE &&
      now >= add_sat(n->tb_idle_at, n->buf_idle_ns))
    release_tb(n);
  return 0;
}

int lp2p_noise_poll_event(lp2p_noise *n, lp2p_noise_event *ev) {
  if (!n || !ev || n->ev_n == 0) return 0;
  uint8_t type = n->ev[0];
  memmove(n->ev, n->ev + 1, --n->ev_n);
  memset(ev, 0, sizeof *ev);
  ev->type = (lp2p_noise_event_type)type;
  if (type == LP2P_NOISE_EV_HANDSHAKE_DONE) {
    ev->peer = n->remote;
    if (n->hsx) ev->key = n->hsx->remote_key;
    ev->muxer = n->muxer;
    release_hsx(n); /* the handshake is over: keep nothing of it */
  } else if (type == LP2P_NOISE_EV_CLOSED) {
    ev->err = n->err;
  }
  return 1;
}

unsigned lp2p_noise_state(const lp2p_noise *n) {
  if (!n || n->phase == PHASE_CLOSED) return LP2P_STATE_CLOSED;
  unsigned s = 0;
  if (n->tb_len != n->tb_off) s |= LP2P_STATE_HAS_OUTPUT;
  if (n->wr_closed) s |= LP2P_STATE_CLOSING;
  if (lp2p_noise_recv_room(n) > 0) s |= LP2P_STATE_WANT_READ;
  return s;
}

int lp2p_noise_last_error(const lp2p_noise *n) { return n ? n->err : 0; }

int lp2p_noise_handshake_done(const lp2p_noise *n) {
  return n && n->hs_done;
}

const lp2p_peerid *lp2p_noise_remote_peer(const lp2p_noise *n) {
  return lp2p_noise_handshake_done(n) ? &n->remote : NULL;
}

int lp2p_noise_close(lp2p_noise *n, lp2p_tstamp now) {
  if (!n) return LP2P_ERR_INVAL;
  n->now_last = now;
  if (n->phase == PHASE_CLOSED) return n->err;
  if (n->phase == PHASE_HANDSHAKE) {
    noise_fail(n, LP2P_ERR_CLOSED);
    return 0;
  }
  n->wr_closed = 1;
  maybe_finish(n);
  return 0;
}

void noise_test_set_nonces(lp2p_noise *n, uint64_t tx, uint64_t rx) {
  n->tx.n = tx;
  n->rx.n = rx;
}
