/* plaintext/2.0.0 engine (libp2p plaintext spec, "Protocol"): send our
 * Exchange at once, read and check the peer's, then pass bytes through.
 * Buffers grow on demand within their bounds and are released whenever
 * they empty. */
#include <string.h>

#include "proto/plaintext/plaintext_int.h"

enum { PHASE_EXCHANGE = 0, PHASE_DATA = 1, PHASE_CLOSED = 2 };

#define BUF_MIN 256u

struct lp2p_plaintext {
  const lp2p_mem *mem;
  lp2p_pubkey *rkey; /* the peer's key until HANDSHAKE_DONE is polled */
  lp2p_peerid remote, expected;
  lp2p_tstamp deadline;
  size_t ex_max, rb_max, tb_max;
  uint8_t *rb; /* [head, end) received, unread */
  size_t rb_cap, rb_head, rb_end;
  uint8_t *tb; /* [off, len) queued for sending */
  size_t tb_cap, tb_off, tb_len;
  int err;
  uint8_t initiator, phase, wr_closed, rx_eof, hs_done, has_expected;
  uint8_t ev[3], ev_n;
};

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

void lp2p_plaintext_config_default(lp2p_plaintext_config *cfg) {
  if (!cfg) return;
  memset(cfg, 0, sizeof *cfg);
  cfg->handshake_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->exchange_bytes_max = 4096;
  cfg->recv_buffer_bytes_max = 65536;
  cfg->out_buffer_bytes_max = 65536;
}

static void release_rb(lp2p_plaintext *t) {
  lp2p_mem_free(t->mem, t->rb);
  t->rb = NULL;
  t->rb_cap = t->rb_head = t->rb_end = 0;
}

static void release_tb(lp2p_plaintext *t) {
  lp2p_mem_free(t->mem, t->tb);
  t->tb = NULL;
  t->tb_cap = t->tb_off = t->tb_len = 0;
}

static void push_event(lp2p_plaintext *t, uint8_t type) {
  if (t->ev_n < sizeof t->ev) t->ev[t->ev_n++] = type;
}

static void fail(lp2p_plaintext *t, int err) {
  if (t->phase == PHASE_CLOSED) return;
  t->err = err;
  t->phase = PHASE_CLOSED;
  release_rb(t);
  release_tb(t);
  push_event(t, LP2P_PLAINTEXT_EV_CLOSED);
}

static void maybe_finish(lp2p_plaintext *t) {
  if (t->phase == PHASE_DATA && t->wr_closed && t->rx_eof &&
      t->tb_len == t->tb_off && t->rb_end == t->rb_head)
    fail(t, 0);
}

/* Make room for `need` more bytes at the end of a [off, len) buffer of
 * capacity *cap, moving pending bytes to the front first. */
static int reserve(const lp2p_mem *mem, uint8_t **buf, size_t *cap,
                   size_t *off, size_t *len, size_t need, size_t max) {
  if (*len + need <= *cap) return 0;
  if (*off > 0) {
    memmove(*buf, *buf + *off, *len - *off);
    *len -= *off;
    *off = 0;
    if (*len + need <= *cap) return 0;
  }
  size_t nc = *len + need;
  if (nc < *cap * 2) nc = *cap * 2;
  if (nc < BUF_MIN) nc = BUF_MIN;
  nc = min_sz(nc, max);
  if (nc < *len + need) nc = *len + need;
  uint8_t *nb = lp2p_mem_realloc(mem, *buf, *cap, nc);
  if (!nb) return LP2P_ERR_NOMEM;
  *buf = nb;
  *cap = nc;
  return 0;
}

int lp2p_plaintext_new(lp2p_plaintext **out, int initiator,
                       const lp2p_plaintext_config *cfg, const lp2p_mem *mem,
                       const lp2p_rng *rng, lp2p_tstamp now) {
  (void)rng;
  if (!out) return LP2P_ERR_INVAL;
  *out = NULL;
  if (!cfg || !cfg->identity || cfg->exchange_bytes_max < 64 ||
      cfg->recv_buffer_bytes_max < cfg->exchange_bytes_max + PT_VARINT_MAX ||
      cfg->out_buffer_bytes_max < 1024)
    return LP2P_ERR_INVAL;
  lp2p_plaintext *t = lp2p_mem_calloc(mem, 1, sizeof *t);
  if (!t) return LP2P_ERR_NOMEM;
  t->mem = mem;
  t->initiator = initiator ? 1 : 0;
  t->ex_max = cfg->exchange_bytes_max;
  t->rb_max = cfg->recv_buffer_bytes_max;
  t->tb_max = cfg->out_buffer_bytes_max;
  t->deadline = LP2P_TSTAMP_NONE;
  if (cfg->handshake_timeout_ns)
    t->deadline = cfg->handshake_timeout_ns > LP2P_TSTAMP_NONE - 1 - now
                      ? LP2P_TSTAMP_NONE - 1
                      : now + cfg->handshake_timeout_ns;
  if (cfg->expected_peer) {
    t->expected = *cfg->expected_peer;
    t->has_expected = 1;
  }
  /* "both peers immediately send an Exchange message" (spec, "Exchange") */
  size_t need = PT_VARINT_MAX + LP2P_PUBKEY_PB_MAX + LP2P_PEERID_MAX + 8;
  size_t len = 0;
  int rc = reserve(mem, &t->tb, &t->tb_cap, &t->tb_off, &t->tb_len, need,
                   need);
  if (rc == 0)
    rc = pt_exchange_encode(&cfg->identity->pub, t->tb, t->tb_cap, &len);
  if (rc) {
    lp2p_plaintext_free(t);
    return rc == LP2P_ERR_NOMEM ? rc : LP2P_ERR_INVAL;
  }
  t->tb_len = len;
  *out = t;
  return 0;
}

void lp2p_plaintext_free(lp2p_plaintext *t) {
  if (!t) return;
  release_rb(t);
  release_tb(t);
  lp2p_mem_free(t->mem, t->rkey);
  lp2p_mem_free(t->mem, t);
}

/* The Exchange, once complete at the head of the receive buffer. */
static void process(lp2p_plaintext *t) {
  if (t->phase != PHASE_EXCHANGE) return;
  size_t hdr = 0, body = 0;
  int rc = pt_exchange_frame(t->rb + t->rb_head, t->rb_end - t->rb_head,
                             t->ex_max, &hdr, &body);
  if (rc == 0) return;
  if (rc < 0) {
    fail(t, rc);
    return;
  }
  lp2p_pubkey key;
  rc = pt_exchange_verify(t->rb + t->rb_head + hdr, body, &key, &t->remote);
  /* The dialer also checks it reached the peer it dialled. */
  if (rc == 0 && t->has_expected && !lp2p_peerid_equal(&t->expected, &t->remote))
    rc = LP2P_ERR_PEER_ID_MISMATCH;
  if (rc == 0 && !(t->rkey = lp2p_mem_malloc(t->mem, sizeof key)))
    rc = LP2P_ERR_NOMEM;
  if (rc) {
    fail(t, rc);
    return;
  }
  *t->rkey = key;
  t->rb_head += hdr + body;
  if (t->rb_head == t->rb_end) release_rb(t);
  t->phase = PHASE_DATA;
  t->hs_done = 1;
  t->deadline = LP2P_TSTAMP_NONE;
  push_event(t, LP2P_PLAINTEXT_EV_HANDSHAKE_DONE);
}

size_t lp2p_plaintext_recv_room(const lp2p_plaintext *t) {
  if (!t || t->phase == PHASE_CLOSED || t->rx_eof) return 0;
  return t->rb_max - (t->rb_end - t->rb_head);
}

lp2p_ssize lp2p_plaintext_feed(lp2p_plaintext *t, lp2p_tstamp now,
                               const uint8_t *p, size_t len) {
  (void)now;
  if (!t || (!p && len)) return LP2P_ERR_INVAL;
  if (t->phase == PHASE_CLOSED) return t->err ? t->err : LP2P_ERR_CLOSED;
  if (t->rx_eof) return LP2P_ERR_STATE;
  size_t taken = 0;
  /* Loop: completing the Exchange frees room for the bytes behind it. */
  while (taken < len && t->phase != PHASE_CLOSED) {
    size_t k = min_sz(len - taken, lp2p_plaintext_recv_room(t));
    if (k == 0) break;
    if (reserve(t->mem, &t->rb, &t->rb_cap, &t->rb_head, &t->rb_end, k,
                t->rb_max) != 0) {
      fail(t, LP2P_ERR_NOMEM);
      return LP2P_ERR_NOMEM;
    }
    memcpy(t->rb + t->rb_end, p + taken, k);
    t->rb_end += k;
    taken += k;
    process(t);
    if (t->phase == PHASE_CLOSED && t->err == LP2P_ERR_NOMEM)
      return LP2P_ERR_NOMEM;
  }
  return (lp2p_ssize)taken;
}

int lp2p_plaintext_feed_eof(lp2p_plaintext *t, lp2p_tstamp now) {
  (void)now;
  if (!t) return LP2P_ERR_INVAL;
  if (t->phase == PHASE_CLOSED) return t->err;
  if (t->rx_eof) return 0;
  if (t->phase == PHASE_EXCHANGE) {
    fail(t, t->rb_end > t->rb_head ? LP2P_ERR_TRUNCATED : LP2P_ERR_EOF);
    return 0;
  }
  t->rx_eof = 1;
  push_event(t, LP2P_PLAINTEXT_EV_EOF);
  maybe_finish(t);
  return 0;
}

const uint8_t *lp2p_plaintext_out_peek(const lp2p_plaintext *t, size_t *len) {
  size_t l = t && t->tb ? t->tb_len - t->tb_off : 0;
  if (len) *len = l;
  return l ? t->tb + t->tb_off : NULL;
}

void lp2p_plaintext_out_consume(lp2p_plaintext *t, size_t len) {
  if (!t || !t->tb) return;
  t->tb_off += min_sz(len, t->tb_len - t->tb_off);
  if (t->tb_off == t->tb_len) release_tb(t);
  maybe_finish(t);
}

lp2p_tstamp lp2p_plaintext_next_timeout(const lp2p_plaintext *t) {
  return t && t->phase == PHASE_EXCHANGE ? t->deadline : LP2P_TSTAMP_NONE;
}

int lp2p_plaintext_handle_timeout(lp2p_plaintext *t, lp2p_tstamp now) {
  if (t && t->phase == PHASE_EXCHANGE && t->deadline != LP2P_TSTAMP_NONE &&
      now >= t->deadline)
    fail(t, LP2P_ERR_TIMEOUT);
  return 0;
}

int lp2p_plaintext_poll_event(lp2p_plaintext *t, lp2p_plaintext_event *ev) {
  if (!t || !ev || t->ev_n == 0) return 0;
  uint8_t type = t->ev[0];
  memmove(t->ev, t->ev + 1, --t->ev_n);
  memset(ev, 0, sizeof *ev);
  ev->type = (lp2p_plaintext_event_type)type;
  if (type == LP2P_PLAINTEXT_EV_HANDSHAKE_DONE) {
    ev->peer = t->remote;
    if (t->rkey) ev->key = *t->rkey;
    lp2p_mem_free(t->mem, t->rkey);
    t->rkey = NULL;
  } else if (type == LP2P_PLAINTEXT_EV_CLOSED) {
    ev->err = t->err;
  }
  return 1;
}

unsigned lp2p_plaintext_state(const lp2p_plaintext *t) {
  if (!t || t->phase == PHASE_CLOSED) return LP2P_STATE_CLOSED;
  unsigned s = 0;
  if (t->tb_len != t->tb_off) s |= LP2P_STATE_HAS_OUTPUT;
  if (t->wr_closed) s |= LP2P_STATE_CLOSING;
  if (lp2p_plaintext_recv_room(t) > 0) s |= LP2P_STATE_WANT_READ;
  return s;
}

int lp2p_plaintext_last_error(const lp2p_plaintext *t) {
  return t ? t->err : 0;
}

int lp2p_plaintext_handshake_done(const lp2p_plaintext *t) {
  return t && t->hs_done;
}

const lp2p_peerid *lp2p_plaintext_remote_peer(const lp2p_plaintext *t) {
  return t && t->hs_done ? &t->remote : NULL;
}

size_t lp2p_plaintext_write_room(const lp2p_plaintext *t) {
  if (!t || t->phase != PHASE_DATA || t->wr_closed) return 0;
  return t->tb_max - (t->tb_len - t->tb_off);
}

lp2p_ssize lp2p_plaintext_write(lp2p_plaintext *t, lp2p_tstamp now,
                                const uint8_t *p, size_t len) {
  (void)now;
  if (!t || (!p && len)) return LP2P_ERR_INVAL;
  if (t->phase == PHASE_CLOSED) return t->err ? t->err : LP2P_ERR_CLOSED;
  if (t->phase != PHASE_DATA) return LP2P_ERR_STATE;
  if (t->wr_closed) return LP2P_ERR_CLOSED;
  size_t k = min_sz(len, lp2p_plaintext_write_room(t));
  if (k == 0) return 0;
  if (reserve(t->mem, &t->tb, &t->tb_cap, &t->tb_off, &t->tb_len, k,
              t->tb_max) != 0) {
    fail(t, LP2P_ERR_NOMEM);
    return LP2P_ERR_NOMEM;
  }
  memcpy(t->tb + t->tb_len, p, k);
  t->tb_len += k;
  return (lp2p_ssize)k;
}

const uint8_t *lp2p_plaintext_read_peek(const lp2p_plaintext *t,
                                        size_t *len) {
  size_t l = t && t->phase == PHASE_DATA ? t->rb_end - t->rb_head : 0;
  if (len) *len = l;
  return l ? t->rb + t->rb_head : NULL;
}

void lp2p_plaintext_read_consume(lp2p_plaintext *t, size_t len) {
  size_t avail = 0;
  if (!lp2p_plaintext_read_peek(t, &avail)) return;
  t->rb_head += min_sz(len, avail);
  if (t->rb_head == t->rb_end) release_rb(t);
  maybe_finish(t);
}

int lp2p_plaintext_read_eof(const lp2p_plaintext *t) {
  return t && t->rx_eof && t->rb_head == t->rb_end;
}

int lp2p_plaintext_close(lp2p_plaintext *t, lp2p_tstamp now) {
  (void)now;
  if (!t) return LP2P_ERR_INVAL;
  if (t->phase == PHASE_CLOSED) return t->err;
  if (t->phase == PHASE_EXCHANGE) {
    fail(t, LP2P_ERR_CLOSED);
    return 0;
  }
  t->wr_closed = 1;
  maybe_finish(t);
  return 0;
}
