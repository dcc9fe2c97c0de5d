/* multistream-select 1.0 engine (libp2p connections spec, section
 * "multistream-select"; multiformats/multistream-select README).
 *
 * Input is parsed message by message: a varint length (kept in a 9-byte
 * scratch array while it is incomplete), then the body. A body that arrives
 * whole in one feed is handled in place; only a body split across feeds is
 * copied into a heap buffer of exactly its length, so the engine never
 * holds bytes past the message it is parsing and the next layer's bytes
 * always stay in the caller's buffer. */
#include <string.h>

#include "lp2p/varint.h"
#include "proto/ms/ms_internal.h"

enum { PH_NEGOTIATING = 0, PH_DONE = 1, PH_FAILED = 2 };
enum { REQ_NONE = 0, REQ_PROPOSAL = 1, REQ_LS = 2 };

#define HDR_TEXT LP2P_MS_PROTOCOL_ID
#define HDR_LEN (sizeof(HDR_TEXT) - 1)

struct lp2p_ms {
  const lp2p_mem *mem;
  size_t msg_max, ls_max, proposals_max, protocols_max;
  lp2p_tstamp deadline;
  int err;
  uint8_t dialer, phase, req, lazy;
  uint8_t hdr_rx, hdr_tx, ev_ls, ev_final;
  uint8_t vbuf[LP2P_VARINT_MF_MAX_LEN];
  uint8_t vlen, in_body;
  /* message body being received */
  uint8_t *body;
  size_t body_len, body_have;
  /* dialer: proposals; listener: supported protocols (NUL-separated) */
  char *names;
  size_t names_bytes, names_count;
  size_t cur;     /* dialer: index of the outstanding proposal */
  size_t refused; /* listener: requests answered without agreement */
  size_t sel;     /* index of the agreed protocol */
  /* output */
  uint8_t *out;
  size_t out_off, out_len, out_cap;
  /* dialer: last ls answer (NUL-separated) */
  char *ls;
  size_t ls_bytes, ls_count;
};

void lp2p_ms_config_default(lp2p_ms_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->message_bytes_max = 1024;
  cfg->ls_bytes_max = 16384;
  cfg->proposals_max = 16;
  cfg->protocols_max = 64;
  cfg->timeout_ns = 10 * LP2P_NS_PER_S;
}

/* ---- output ------------------------------------------------------------ */

static uint8_t *out_reserve(lp2p_ms *ms, size_t extra) {
  if (ms->out_off) { /* compact: keep pending bytes at the front */
    memmove(ms->out, ms->out + ms->out_off, ms->out_len - ms->out_off);
    ms->out_len -= ms->out_off;
    ms->out_off = 0;
  }
  if (ms->out_cap - ms->out_len < extra) {
    size_t cap = ms->out_len + extra;
    if (cap < 64)
      cap = 64;
    uint8_t *n = lp2p_mem_realloc(ms->mem, ms->out, ms->out_cap, cap);
    if (!n)
      return NULL;
    ms->out = n;
    ms->out_cap = cap;
  }
  return ms->out + ms->out_len;
}

static void fail(lp2p_ms *ms, int err);

/* Queue one message; a NOMEM here kills the engine. */
static int queue_msg(lp2p_ms *ms, const void *text, size_t len) {
  uint8_t *w = out_reserve(ms, ms_msg_len(len));
  if (!w) {
    fail(ms, LP2P_ERR_NOMEM);
    return LP2P_ERR_NOMEM;
  }
  ms->out_len += ms_msg_put(w, text, len);
  return 0;
}

/* Dialer requests carry our header in the same write the first time. */
static int queue_request(lp2p_ms *ms, const char *text, size_t len) {
  size_t need = ms_msg_len(len) + (ms->hdr_tx ? 0 : ms_msg_len(HDR_LEN));
  uint8_t *w = out_reserve(ms, need);
  if (!w) {
    fail(ms, LP2P_ERR_NOMEM);
    return LP2P_ERR_NOMEM;
  }
  if (!ms->hdr_tx)
    w += ms_msg_put(w, HDR_TEXT, HDR_LEN);
  ms_msg_put(w, text, len);
  ms->out_len += need;
  ms->hdr_tx = 1;
  return 0;
}

static void fail(lp2p_ms *ms, int err) {
  if (ms->phase != PH_NEGOTIATING)
    return;
  ms->phase = PH_FAILED;
  ms->err = err;
  ms->ev_final = 1;
  lp2p_mem_free(ms->mem, ms->body);
  ms->body = NULL;
  ms->in_body = 0;
  /* Goodbye (DESIGN.md section 2): a listener that stops tolerating
   * proposals still answers the last one with `na`, so the dialer learns
   * why instead of seeing a bare close. Best effort. */
  if (err == LP2P_ERR_LIMIT && !ms->dialer && ms->hdr_rx) {
    uint8_t *w = out_reserve(ms, ms_msg_len(2));
    if (w)
      ms->out_len += ms_msg_put(w, "na", 2);
  }
}

/* ---- names ------------------------------------------------------------- */

static int name_ok(const char *s, size_t msg_max) {
  if (!s)
    return 0;
  size_t l = strlen(s);
  return l > 0 && l + 1 <= msg_max && !memchr(s, '\n', l);
}

static int copy_names(lp2p_ms *ms, const char *const *list, size_t n) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    if (!name_ok(list[i], ms->msg_max))
      return LP2P_ERR_INVAL;
    bytes += strlen(list[i]) + 1;
  }
  char *blob = NULL;
  if (bytes) {
    blob = lp2p_mem_malloc(ms->mem, bytes);
    if (!blob)
      return LP2P_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(list[i]) + 1;
      memcpy(blob + o, list[i], l);
      o += l;
    }
  }
  lp2p_mem_free(ms->mem, ms->names);
  ms->names = blob;
  ms->names_bytes = bytes;
  ms->names_count = n;
  return 0;
}

static int text_is(const uint8_t *t, size_t n, const char *s, size_t sl) {
  return n == sl && memcmp(t, s, n) == 0;
}

/* ---- lifecycle --------------------------------------------------------- */

int lp2p_ms_new(lp2p_ms **out, int is_dialer, const lp2p_ms_config *cfg,
                const lp2p_mem *mem, lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_ms_config def;
  if (!cfg) {
    lp2p_ms_config_default(&def);
    cfg = &def;
  }
  if (cfg->message_bytes_max < ms_msg_len(HDR_LEN) ||
      cfg->ls_bytes_max < 1 || (cfg->protocols_len && !cfg->protocols))
    return LP2P_ERR_INVAL;
  if (!is_dialer && cfg->protocols_len > cfg->protocols_max)
    return LP2P_ERR_LIMIT;
  lp2p_ms *ms = lp2p_mem_calloc(mem, 1, sizeof *ms);
  if (!ms)
    return LP2P_ERR_NOMEM;
  ms->mem = mem;
  ms->msg_max = cfg->message_bytes_max;
  ms->ls_max = cfg->ls_bytes_max;
  ms->proposals_max = cfg->proposals_max;
  ms->protocols_max = cfg->protocols_max;
  ms->dialer = is_dialer ? 1 : 0;
  ms->deadline = LP2P_TSTAMP_NONE;
  if (cfg->timeout_ns)
    ms->deadline = (now > LP2P_TSTAMP_NONE - cfg->timeout_ns)
                       ? LP2P_TSTAMP_NONE - 1
                       : now + cfg->timeout_ns;
  if (!is_dialer) {
    int r = copy_names(ms, cfg->protocols, cfg->protocols_len);
    if (r == 0)
      r = queue_msg(ms, HDR_TEXT, HDR_LEN);
    if (r) {
      lp2p_ms_free(ms);
      return r;
    }
    ms->hdr_tx = 1;
  }
  *out = ms;
  return 0;
}

void lp2p_ms_free(lp2p_ms *ms) {
  if (!ms)
    return;
  const lp2p_mem *mem = ms->mem;
  lp2p_mem_free(mem, ms->body);
  lp2p_mem_free(mem, ms->names);
  lp2p_mem_free(mem, ms->out);
  lp2p_mem_free(mem, ms->ls);
  lp2p_mem_free(mem, ms);
}

/* ---- dialer commands --------------------------------------------------- */

static const char *reserved[] = {HDR_TEXT, "na", "ls"};

int lp2p_ms_propose(lp2p_ms *ms, const char *const *protocols, size_t n,
                    int lazy) {
  if (!ms || !ms->dialer || !protocols || n == 0 || (lazy && n != 1))
    return LP2P_ERR_INVAL;
  if (ms->phase != PH_NEGOTIATING || ms->req != REQ_NONE || ms->names)
    return LP2P_ERR_STATE;
  if (n > ms->proposals_max)
    return LP2P_ERR_LIMIT;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < sizeof reserved / sizeof reserved[0]; j++)
      if (protocols[i] && strcmp(protocols[i], reserved[j]) == 0)
        return LP2P_ERR_INVAL;
  int r = copy_names(ms, protocols, n);
  if (r) {
    if (r == LP2P_ERR_NOMEM)
      fail(ms, r);
    return r;
  }
  size_t len;
  const char *first = ms_names_at(ms->names, n, 0, &len);
  r = queue_request(ms, first, len);
  if (r)
    return r;
  ms->cur = 0;
  ms->req = REQ_PROPOSAL;
  ms->lazy = lazy ? 1 : 0;
  return 0;
}

int lp2p_ms_ls(lp2p_ms *ms) {
  if (!ms || !ms->dialer)
    return LP2P_ERR_INVAL;
  if (ms->phase != PH_NEGOTIATING || ms->req != REQ_NONE || ms->names)
    return LP2P_ERR_STATE;
  int r = queue_request(ms, "ls", 2);
  if (r)
    return r;
  ms->req = REQ_LS;
  return 0;
}

const char *lp2p_ms_ls_entry(const lp2p_ms *ms, size_t i, size_t *len) {
  if (!ms)
    return NULL;
  return ms_names_at(ms->ls, ms->ls_count, i, len);
}

/* ---- message handling -------------------------------------------------- */

static void on_ls_answer(lp2p_ms *ms, const uint8_t *t, size_t n) {
  char *buf = lp2p_mem_malloc(ms->mem, n + 1);
  if (!buf) {
    fail(ms, LP2P_ERR_NOMEM);
    return;
  }
  size_t bytes = 0, count = 0;
  int r = ms_ls_parse(t, n, ms->protocols_max, buf, &bytes, &count);
  if (r) {
    lp2p_mem_free(ms->mem, buf);
    fail(ms, r);
    return;
  }
  lp2p_mem_free(ms->mem, ms->ls);
  ms->ls = buf;
  ms->ls_bytes = bytes;
  ms->ls_count = count;
  ms->req = REQ_NONE;
  ms->ev_ls = 1;
}

static void dialer_msg(lp2p_ms *ms, const uint8_t *t, size_t n) {
  if (ms->req == REQ_LS) {
    on_ls_answer(ms, t, n);
    return;
  }
  if (ms->req != REQ_PROPOSAL) { /* nothing asked, nothing may arrive */
    fail(ms, LP2P_ERR_PROTO);
    return;
  }
  size_t len;
  const char *want = ms_names_at(ms->names, ms->names_count, ms->cur, &len);
  if (text_is(t, n, want, len)) {
    ms->phase = PH_DONE;
    ms->sel = ms->cur;
    ms->req = REQ_NONE;
    ms->ev_final = 1;
    return;
  }
  if (!text_is(t, n, "na", 2)) {
    fail(ms, LP2P_ERR_PROTO);
    return;
  }
  /* Refused: try the next proposal, unless application data may already
   * be on the wire (lazy) or the list is exhausted. */
  ms->cur++;
  if (ms->lazy || ms->cur >= ms->names_count) {
    fail(ms, LP2P_ERR_UNSUPPORTED);
    return;
  }
  want = ms_names_at(ms->names, ms->names_count, ms->cur, &len);
  (void)queue_request(ms, want, len);
}

static void listener_msg(lp2p_ms *ms, const uint8_t *t, size_t n) {
  if (text_is(t, n, "ls", 2)) {
    if (++ms->refused > ms->proposals_max) {
      fail(ms, LP2P_ERR_LIMIT);
      return;
    }
    size_t need = ms_ls_len(ms->names, ms->names_count);
    uint8_t *w = out_reserve(ms, need);
    if (!w) {
      fail(ms, LP2P_ERR_NOMEM);
      return;
    }
    ms->out_len += ms_ls_put(w, ms->names, ms->names_count);
    return;
  }
  const char *s = ms->names;
  for (size_t i = 0; i < ms->names_count; i++) {
    size_t l = strlen(s);
    if (text_is(t, n, s, l)) {
      if (queue_msg(ms, s, l))
        return;
      ms->phase = PH_DONE;
      ms->sel = i;
      ms->ev_final = 1;
      return;
    }
    s += l + 1;
  }
  if (++ms->refused > ms->proposals_max) {
    fail(ms, LP2P_ERR_LIMIT);
    return;
  }
  (void)queue_msg(ms, "na", 2);
}

static void on_msg(lp2p_ms *ms, const uint8_t *m, size_t n) {
  /* Every message ends in '\n', counted by its length prefix. */
  if (n == 0 || m[n - 1] != '\n') {
    fail(ms, LP2P_ERR_PROTO);
    return;
  }
  n--;
  if (!ms->hdr_rx) { /* "anything other than the multistream protocol id as
                        the first message" aborts (connections spec) */
    if (!text_is(m, n, HDR_TEXT, HDR_LEN)) {
      fail(ms, LP2P_ERR_PROTO);
      return;
    }
    ms->hdr_rx = 1;
    return;
  }
  if (ms->dialer)
    dialer_msg(ms, m, n);
  else
    listener_msg(ms, m, n);
}

static size_t body_limit(const lp2p_ms *ms) {
  return (ms->dialer && ms->hdr_rx && ms->req == REQ_LS) ? ms->ls_max
                                                          : ms->msg_max;
}

/* Parse the varint length one byte at a time. Returns 1 when complete. */
static int length_byte(lp2p_ms *ms, uint8_t b) {
  ms->vbuf[ms->vlen++] = b;
  uint64_t v = 0;
  lp2p_ssize r = lp2p_varint_decode(ms->vbuf, ms->vlen, &v);
  size_t limit = body_limit(ms);
  if (r == LP2P_ERR_TRUNCATED) {
    /* More bytes than the limit's own encoding can only mean too big (a
     * non-minimal form would need a zero final byte, caught below). */
    if (ms->vlen > lp2p_varint_len(limit))
      fail(ms, LP2P_ERR_LIMIT);
    return 0;
  }
  ms->vlen = 0;
  if (r == LP2P_ERR_NONMINIMAL) {
    fail(ms, LP2P_ERR_PROTO);
    return 0;
  }
  if (r < 0 || v > limit) {
    fail(ms, LP2P_ERR_LIMIT);
    return 0;
  }
  if (v == 0) { /* no room for the mandatory newline */
    fail(ms, LP2P_ERR_PROTO);
    return 0;
  }
  ms->body_len = (size_t)v;
  ms->body_have = 0;
  ms->in_body = 1;
  return 1;
}

lp2p_ssize lp2p_ms_feed(lp2p_ms *ms, lp2p_tstamp now, const uint8_t *p,
                        size_t n) {
  (void)now;
  if (!ms || (!p && n))
    return LP2P_ERR_INVAL;
  if (ms->phase == PH_FAILED)
    return ms->err == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM : (lp2p_ssize)n;
  size_t i = 0;
  while (i < n && ms->phase == PH_NEGOTIATING) {
    if (!ms->in_body) {
      length_byte(ms, p[i++]);
      continue;
    }
    size_t need = ms->body_len - ms->body_have, avail = n - i;
    if (ms->body_have == 0 && avail >= need) { /* whole: in place */
      ms->in_body = 0;
      i += need;
      on_msg(ms, p + i - need, need);
      continue;
    }
    if (!ms->body) {
      ms->body = lp2p_mem_malloc(ms->mem, ms->body_len);
      if (!ms->body) {
        fail(ms, LP2P_ERR_NOMEM);
        break;
      }
    }
    size_t take = need < avail ? need : avail;
    memcpy(ms->body + ms->body_have, p + i, take);
    ms->body_have += take;
    i += take;
    if (ms->body_have == ms->body_len) {
      uint8_t *b = ms->body;
      ms->body = NULL;
      ms->in_body = 0;
      on_msg(ms, b, ms->body_len);
      lp2p_mem_free(ms->mem, b);
    }
  }
  if (ms->phase == PH_FAILED)
    return ms->err == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM : (lp2p_ssize)n;
  return (lp2p_ssize)i;
}

int lp2p_ms_feed_eof(lp2p_ms *ms, lp2p_tstamp now) {
  (void)now;
  if (!ms)
    return LP2P_ERR_INVAL;
  if (ms->phase == PH_DONE)
    return LP2P_ERR_STATE;
  fail(ms, (ms->in_body || ms->vlen) ? LP2P_ERR_TRUNCATED : LP2P_ERR_EOF);
  return 0;
}

size_t lp2p_ms_recv_room(const lp2p_ms *ms) {
  if (!ms || ms->phase != PH_NEGOTIATING)
    return 0;
  if (ms->in_body)
    return ms->body_len - ms->body_have;
  return body_limit(ms) + LP2P_VARINT_MF_MAX_LEN;
}

/* ---- output, time, events ---------------------------------------------- */

const uint8_t *lp2p_ms_out_peek(const lp2p_ms *ms, size_t *len) {
  if (!ms || ms->out_off == ms->out_len) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = ms->out_len - ms->out_off;
  return ms->out + ms->out_off;
}

void lp2p_ms_out_consume(lp2p_ms *ms, size_t n) {
  if (!ms)
    return;
  size_t left = ms->out_len - ms->out_off;
  ms->out_off += n < left ? n : left;
  if (ms->out_off == ms->out_len) { /* drained: give the memory back */
    lp2p_mem_free(ms->mem, ms->out);
    ms->out = NULL;
    ms->out_off = ms->out_len = ms->out_cap = 0;
  }
}

lp2p_tstamp lp2p_ms_next_timeout(const lp2p_ms *ms) {
  if (!ms || ms->phase != PH_NEGOTIATING)
    return LP2P_TSTAMP_NONE;
  return ms->deadline;
}

int lp2p_ms_handle_timeout(lp2p_ms *ms, lp2p_tstamp now) {
  if (ms && ms->phase == PH_NEGOTIATING && ms->deadline != LP2P_TSTAMP_NONE &&
      now >= ms->deadline)
    fail(ms, LP2P_ERR_TIMEOUT);
  return 0;
}

int lp2p_ms_poll_event(lp2p_ms *ms, lp2p_ms_event *ev) {
  if (!ms || !ev)
    return 0;
  memset(ev, 0, sizeof *ev);
  if (ms->ev_ls) {
    ms->ev_ls = 0;
    ev->type = LP2P_MS_EV_LS_RESULT;
    ev->ls_count = ms->ls_count;
    return 1;
  }
  if (ms->ev_final) {
    ms->ev_final = 0;
    if (ms->phase == PH_DONE) {
      ev->type = LP2P_MS_EV_NEGOTIATED;
      ev->index = ms->sel;
      ev->protocol = lp2p_ms_protocol(ms, &ev->protocol_len, NULL);
    } else {
      ev->type = LP2P_MS_EV_FAILED;
      ev->err = ms->err;
    }
    return 1;
  }
  return 0;
}

unsigned lp2p_ms_state(const lp2p_ms *ms) {
  if (!ms)
    return LP2P_STATE_CLOSED;
  unsigned st = 0;
  int out = ms->out_off != ms->out_len;
  if (out)
    st |= LP2P_STATE_HAS_OUTPUT;
  if (ms->phase == PH_NEGOTIATING)
    st |= LP2P_STATE_WANT_READ;
  else
    st |= out ? LP2P_STATE_CLOSING : LP2P_STATE_CLOSED;
  return st;
}

int lp2p_ms_last_error(const lp2p_ms *ms) { return ms ? ms->err : 0; }

int lp2p_ms_can_send(const lp2p_ms *ms) {
  if (!ms)
    return 0;
  if (ms->phase == PH_DONE)
    return 1;
  return ms->phase == PH_NEGOTIATING && ms->lazy && ms->req == REQ_PROPOSAL;
}

const char *lp2p_ms_protocol(const lp2p_ms *ms, size_t *len, size_t *index) {
  if (!ms || ms->phase != PH_DONE)
    return NULL;
  if (index)
    *index = ms->sel;
  return ms_names_at(ms->names, ms->names_count, ms->sel, len);
}
