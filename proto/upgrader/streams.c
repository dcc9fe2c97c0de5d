/* Streams over the upgraded connection: thin wrappers over the yamux
 * stream API that move the resulting bytes through the security layer, and
 * per-stream multistream-select (connections spec, "Opening New Streams
 * Over a Connection"). A negotiating stream's engine reads the stream's
 * data straight from yamux (read_peek / read_consume) and takes only its
 * own messages, so bytes that follow the negotiation (a lazy dialer's
 * first request) stay in the stream for the application. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

ustream *st_find(const lp2p_upgrader *u, uint32_t id) {
  for (size_t i = 0; i < u->st_len; i++)
    if (u->st[i].id == id)
      return &u->st[i];
  return NULL;
}

static void st_remove(lp2p_upgrader *u, ustream *s) {
  lp2p_ms_free(s->ms);
  size_t i = (size_t)(s - u->st);
  u->st[i] = u->st[--u->st_len];
  if (u->st_len == 0) { /* idle connections keep no table */
    lp2p_mem_free(u->mem, u->st);
    u->st = NULL;
    u->st_cap = 0;
  }
}

void st_free_all(lp2p_upgrader *u) {
  for (size_t i = 0; i < u->st_len; i++)
    lp2p_ms_free(u->st[i].ms);
  lp2p_mem_free(u->mem, u->st);
  u->st = NULL;
  u->st_len = u->st_cap = 0;
}

static int push_stream_ev(lp2p_upgrader *u, int type, uint32_t id, int err,
                          size_t index, const char *name) {
  uevent e;
  memset(&e, 0, sizeof e);
  e.type = (uint8_t)type;
  e.stream_id = id;
  e.err = err;
  e.index = index;
  if (name) {
    size_t l = strlen(name) + 1;
    e.name = lp2p_mem_malloc(u->mem, l);
    if (!e.name) {
      upg_fail(u, LP2P_ERR_NOMEM);
      return LP2P_ERR_NOMEM;
    }
    memcpy(e.name, name, l);
  }
  int r = upg_push(u, &e, 0);
  if (r) {
    lp2p_mem_free(u->mem, e.name);
    upg_fail(u, r);
  }
  return r;
}

/* Move the engine's output into the stream. Returns 1 if anything moved. */
static int st_flush(lp2p_upgrader *u, ustream *s) {
  int moved = 0;
  size_t len;
  const uint8_t *o;
  while ((o = lp2p_ms_out_peek(s->ms, &len)) != NULL) {
    lp2p_ssize w = lp2p_yamux_stream_write(u->yamux, u->now, s->id, o, len);
    if (w == LP2P_ERR_NOMEM)
      upg_fail(u, LP2P_ERR_NOMEM);
    if (w <= 0)
      break; /* blocked (WRITABLE follows) or stream gone */
    lp2p_ms_out_consume(s->ms, (size_t)w);
    moved = 1;
  }
  return moved;
}

/* Report the engine's outcome; drop the entry once nothing is left.
 * Returns 1 if the entry was removed. */
static int st_settle(lp2p_upgrader *u, ustream *s) {
  lp2p_ms_event ev;
  while (lp2p_ms_poll_event(s->ms, &ev)) {
    if (ev.type == LP2P_MS_EV_NEGOTIATED) {
      s->done = 1;
      if (push_stream_ev(u, LP2P_UPGRADER_EV_STREAM_NEGOTIATED, s->id, 0,
                         ev.index, ev.protocol))
        return 0;
      /* Bytes that followed the negotiation are the application's now;
       * their READABLE was taken by the engine, so announce them. */
      if (lp2p_yamux_stream_readable(u->yamux, s->id) > 0) {
        uevent e;
        memset(&e, 0, sizeof e);
        e.type = LP2P_UPGRADER_EV_YAMUX;
        e.stream_id = s->id;
        e.y.type = LP2P_YAMUX_EV_STREAM_READABLE;
        e.y.stream_id = s->id;
        e.y.user = lp2p_yamux_stream_get_user(u->yamux, s->id);
        int r = upg_push(u, &e, 0);
        if (r) {
          upg_fail(u, r);
          return 0;
        }
      }
    } else if (ev.type == LP2P_MS_EV_FAILED) {
      uint32_t id = s->id;
      st_remove(u, s);
      if (lp2p_yamux_stream_reset(u->yamux, u->now, id) == LP2P_ERR_NOMEM)
        upg_fail(u, LP2P_ERR_NOMEM);
      push_stream_ev(u, LP2P_UPGRADER_EV_STREAM_NEGOTIATION_FAILED, id,
                     ev.err, 0, NULL);
      return 1;
    }
  }
  if (s->done && !lp2p_ms_out_peek(s->ms, NULL)) {
    st_remove(u, s);
    return 1;
  }
  return 0;
}

/* Feed the stream's buffered data to its engine. */
static void st_drive(lp2p_upgrader *u, ustream *s) {
  size_t len;
  const uint8_t *p;
  while (!s->done && (p = lp2p_yamux_stream_read_peek(u->yamux, s->id,
                                                      &len)) != NULL) {
    lp2p_ssize r = lp2p_ms_feed(s->ms, u->now, p, len);
    if (r < 0) {
      upg_fail(u, (int)r);
      return;
    }
    if (r > 0 &&
        lp2p_yamux_stream_read_consume(u->yamux, u->now, s->id, (size_t)r) ==
            LP2P_ERR_NOMEM) {
      upg_fail(u, LP2P_ERR_NOMEM);
      return;
    }
    if ((size_t)r < len || !(lp2p_ms_state(s->ms) & LP2P_STATE_WANT_READ))
      break;
  }
  st_flush(u, s);
  st_settle(u, s);
}

int st_on_yamux_event(lp2p_upgrader *u, const lp2p_yamux_event *ev) {
  ustream *s = st_find(u, ev->stream_id);
  if (!s || ev->stream_id == 0)
    return 0;
  switch (ev->type) {
  case LP2P_YAMUX_EV_STREAM_READABLE:
    if (s->done)
      return 0;
    st_drive(u, s);
    return 1;
  case LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED:
    if (!s->done) {
      st_drive(u, s);
      s = st_find(u, ev->stream_id);
      if (s && !s->done) {
        (void)lp2p_ms_feed_eof(s->ms, u->now);
        st_settle(u, s);
      }
    }
    return 0;
  case LP2P_YAMUX_EV_STREAM_RESET:
  case LP2P_YAMUX_EV_STREAM_CLOSED:
    if (!s->done) {
      uint32_t id = s->id;
      st_remove(u, s);
      push_stream_ev(u, LP2P_UPGRADER_EV_STREAM_NEGOTIATION_FAILED, id,
                     LP2P_ERR_RESET, 0, NULL);
    } else {
      st_remove(u, s); /* the echo can no longer go out anyway */
    }
    return 0;
  default:
    return 0;
  }
}

int st_flush_all(lp2p_upgrader *u) {
  int moved = 0;
  for (size_t i = u->st_len; i-- > 0 && u->phase != PH_CLOSED;) {
    if (i >= u->st_len)
      continue;
    moved |= st_flush(u, &u->st[i]);
    if (i < u->st_len && u->st[i].done)
      moved |= st_settle(u, &u->st[i]);
  }
  return moved;
}

lp2p_tstamp st_next_timeout(const lp2p_upgrader *u) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (size_t i = 0; i < u->st_len; i++) {
    lp2p_tstamp d = lp2p_ms_next_timeout(u->st[i].ms);
    if (d < t)
      t = d;
  }
  return t;
}

void st_handle_timeout(lp2p_upgrader *u) {
  for (size_t i = u->st_len; i-- > 0 && u->phase != PH_CLOSED;) {
    if (i >= u->st_len)
      continue;
    (void)lp2p_ms_handle_timeout(u->st[i].ms, u->now);
    st_settle(u, &u->st[i]);
  }
}

/* ---- public stream API ----------------------------------------------- */

static int ready(const lp2p_upgrader *u) {
  return u && u->yamux && u->phase != PH_CLOSED;
}

static int attach(lp2p_upgrader *u, lp2p_tstamp now, uint32_t id,
                  const char *const *protocols, size_t n, int dialer,
                  int lazy) {
  if (!u || !protocols || n == 0)
    return LP2P_ERR_INVAL;
  if (!ready(u) || st_find(u, id))
    return LP2P_ERR_STATE;
  u->now = now;
  if (lp2p_yamux_stream_status(u->yamux, id) < 0)
    return LP2P_ERR_NOT_FOUND;
  if (u->st_len >= u->streams_max)
    return LP2P_ERR_LIMIT;
  lp2p_ms_config mc = u->ms_cfg;
  mc.timeout_ns = u->stream_timeout_ns;
  mc.protocols = dialer ? NULL : protocols;
  mc.protocols_len = dialer ? 0 : n;
  if (!dialer && n > mc.protocols_max)
    return LP2P_ERR_LIMIT;
  if (u->st_len == u->st_cap) {
    size_t cap = u->st_cap ? u->st_cap * 2 : 4;
    ustream *t = lp2p_mem_realloc(u->mem, u->st, u->st_cap * sizeof *t,
                                  cap * sizeof *t);
    if (!t)
      return LP2P_ERR_NOMEM;
    u->st = t;
    u->st_cap = cap;
  }
  lp2p_ms *ms = NULL;
  int r = lp2p_ms_new(&ms, dialer, &mc, u->mem, now);
  if (r == 0 && dialer)
    r = lp2p_ms_propose(ms, protocols, n, lazy);
  if (r) {
    lp2p_ms_free(ms);
    return r;
  }
  ustream *s = &u->st[u->st_len++];
  memset(s, 0, sizeof *s);
  s->id = id;
  s->ms = ms;
  s->dialer = dialer ? 1 : 0;
  s->lazy = lazy ? 1 : 0;
  /* The proposal (or our header) goes out now; a listener also takes what
   * the dialer already sent with its SYN. */
  st_drive(u, s);
  return upg_pump(u);
}

int lp2p_upgrader_stream_select(lp2p_upgrader *u, lp2p_tstamp now,
                                uint32_t id, const char *const *protocols,
                                size_t n, int lazy) {
  return attach(u, now, id, protocols, n, 1, lazy);
}

int lp2p_upgrader_stream_handle(lp2p_upgrader *u, lp2p_tstamp now,
                                uint32_t id, const char *const *protocols,
                                size_t n) {
  return attach(u, now, id, protocols, n, 0, 0);
}

int lp2p_upgrader_stream_negotiating(const lp2p_upgrader *u, uint32_t id) {
  const ustream *s = u ? st_find(u, id) : NULL;
  return s && !s->done;
}

int lp2p_upgrader_stream_open(lp2p_upgrader *u, lp2p_tstamp now,
                              uint32_t *id) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  u->now = now;
  int r = lp2p_yamux_stream_open(u->yamux, now, id);
  int p = upg_pump(u);
  return r ? r : p;
}

lp2p_ssize lp2p_upgrader_stream_write(lp2p_upgrader *u, lp2p_tstamp now,
                                      uint32_t id, const uint8_t *p,
                                      size_t n) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  u->now = now;
  ustream *s = st_find(u, id);
  if (s) {
    if (!s->done && !s->lazy)
      return LP2P_ERR_AGAIN;
    if (lp2p_ms_out_peek(s->ms, NULL))
      return 0; /* the negotiation's own bytes go first */
  }
  lp2p_ssize r = lp2p_yamux_stream_write(u->yamux, now, id, p, n);
  int q = upg_pump(u);
  return q ? q : r;
}

const uint8_t *lp2p_upgrader_stream_read_peek(const lp2p_upgrader *u,
                                              uint32_t id, size_t *len) {
  if (len)
    *len = 0;
  if (!u || !u->yamux || lp2p_upgrader_stream_negotiating(u, id))
    return NULL;
  return lp2p_yamux_stream_read_peek(u->yamux, id, len);
}

int lp2p_upgrader_stream_read_consume(lp2p_upgrader *u, lp2p_tstamp now,
                                      uint32_t id, size_t n) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  if (lp2p_upgrader_stream_negotiating(u, id))
    return LP2P_ERR_STATE;
  u->now = now;
  int r = lp2p_yamux_stream_read_consume(u->yamux, now, id, n);
  int q = upg_pump(u);
  return r ? r : q;
}

int lp2p_upgrader_stream_accept(lp2p_upgrader *u, lp2p_tstamp now,
                                uint32_t id) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  u->now = now;
  int r = lp2p_yamux_stream_accept(u->yamux, now, id);
  int q = upg_pump(u);
  return r ? r : q;
}

int lp2p_upgrader_stream_close(lp2p_upgrader *u, lp2p_tstamp now,
                               uint32_t id) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  u->now = now;
  ustream *s = st_find(u, id);
  /* A FIN must not overtake the negotiation's own bytes, and only a lazy
   * dialer may finish writing before the answer. */
  if (s && ((!s->done && !s->lazy) || lp2p_ms_out_peek(s->ms, NULL)))
    return LP2P_ERR_AGAIN;
  int r = lp2p_yamux_stream_close(u->yamux, now, id);
  int q = upg_pump(u);
  return r ? r : q;
}

int lp2p_upgrader_stream_reset(lp2p_upgrader *u, lp2p_tstamp now,
                               uint32_t id) {
  if (!ready(u))
    return u ? LP2P_ERR_STATE : LP2P_ERR_INVAL;
  u->now = now;
  ustream *s = st_find(u, id);
  if (s)
    st_remove(u, s);
  int r = lp2p_yamux_stream_reset(u->yamux, now, id);
  int q = upg_pump(u);
  return r ? r : q;
}
