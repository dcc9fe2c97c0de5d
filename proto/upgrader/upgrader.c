/* The connection upgrader (libp2p connections spec, "Upgrading
 * Connections"): multistream-select for the security protocol on the raw
 * pipe, the security handshake, multistream-select for the muxer inside
 * the secure channel unless Noise already agreed it
 * (inlined-muxer-negotiation.md), then yamux.
 *
 * Byte routing. Raw input goes to the security multistream engine while it
 * negotiates, then to the security engine; what one layer does not consume
 * in a feed goes to the next in the same call. Decrypted input goes to the
 * muxer multistream engine while it negotiates, then to yamux, straight
 * from the security engine's buffer (read_peek / read_consume, no copy).
 * Raw output is the security multistream engine's bytes first, then the
 * security engine's; the muxer multistream engine's bytes are written into
 * the secure channel before any yamux bytes. */
#include <string.h>

#include "proto/upgrader/upgrader_internal.h"

void lp2p_upgrader_config_default(lp2p_upgrader_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->security = LP2P_UPGRADER_SECURITY_NOISE;
  cfg->early_muxer = 1;
  cfg->upgrade_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->events_max = 1024;
  lp2p_ms_config_default(&cfg->ms);
  lp2p_noise_config_default(&cfg->noise);
  lp2p_plaintext_config_default(&cfg->plaintext);
  lp2p_yamux_config_default(&cfg->yamux);
}

void upg_fail(lp2p_upgrader *u, int err) {
  if (u->phase == PH_CLOSED)
    return;
  u->phase = PH_CLOSED;
  u->err = err;
  u->closed_ev = 1;
}

static int push_simple(lp2p_upgrader *u, int type, int early) {
  uevent e;
  memset(&e, 0, sizeof e);
  e.type = (uint8_t)type;
  e.early = early;
  int r = upg_push(u, &e);
  if (r)
    upg_fail(u, r);
  return r;
}

/* Security protocol ids in preference order. */
static size_t sec_list(const lp2p_upgrader *u, const char *list[2]) {
  switch (u->security) {
  case LP2P_UPGRADER_SECURITY_PLAINTEXT:
    list[0] = UPG_PLAINTEXT_ID;
    return 1;
  case LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT:
    list[0] = LP2P_NOISE_PROTOCOL_ID;
    list[1] = UPG_PLAINTEXT_ID;
    return 2;
  default:
    list[0] = LP2P_NOISE_PROTOCOL_ID;
    return 1;
  }
}

static int ms_create(lp2p_upgrader *u, lp2p_ms **out, const char *const *list,
                     size_t n) {
  lp2p_ms_config mc = u->hs->ms_cfg;
  mc.timeout_ns = 0; /* the upgrade deadline covers it */
  mc.protocols = u->dialer ? NULL : list;
  mc.protocols_len = u->dialer ? 0 : n;
  int r = lp2p_ms_new(out, u->dialer, &mc, u->mem, u->now);
  if (r == 0 && u->dialer) {
    int lazy = u->lazy && n == 1;
    r = lp2p_ms_propose(*out, list, n, lazy);
    if (r) {
      lp2p_ms_free(*out);
      *out = NULL;
    }
  }
  return r;
}

static int ms_negotiating(const lp2p_ms *ms) {
  return ms && (lp2p_ms_state(ms) & LP2P_STATE_WANT_READ);
}

static void start_yamux(lp2p_upgrader *u, int early) {
  int r = lp2p_yamux_new(&u->yamux, u->dialer, &u->hs->yamux_cfg, u->mem, u->now);
  if (r) {
    upg_fail(u, r);
    return;
  }
  u->phase = PH_READY;
  push_simple(u, LP2P_UPGRADER_EV_READY, early);
}

static void start_sec(lp2p_upgrader *u, const char *proto) {
  int r = sec_start(u, proto);
  if (r)
    upg_fail(u, r);
}

int lp2p_upgrader_new(lp2p_upgrader **out, int is_dialer,
                      const lp2p_upgrader_config *cfg, const lp2p_mem *mem,
                      const lp2p_rng *rng, lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  *out = NULL;
  if (!cfg || !rng || !cfg->identity ||
      cfg->security > LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT ||
      cfg->events_max == 0)
    return LP2P_ERR_INVAL;
  if (cfg->security != LP2P_UPGRADER_SECURITY_NOISE &&
      !sec_supported(UPG_PLAINTEXT_ID))
    return LP2P_ERR_UNSUPPORTED;
  lp2p_upgrader *u = lp2p_mem_calloc(mem, 1, sizeof *u);
  if (!u)
    return LP2P_ERR_NOMEM;
  u->hs = lp2p_mem_calloc(mem, 1, sizeof *u->hs);
  if (!u->hs) {
    lp2p_mem_free(mem, u);
    return LP2P_ERR_NOMEM;
  }
  u->mem = mem;
  u->rng = rng;
  u->identity = cfg->identity;
  u->now = now;
  u->dialer = is_dialer ? 1 : 0;
  u->security = (uint8_t)cfg->security;
  u->lazy = cfg->lazy ? 1 : 0;
  u->early_muxer = cfg->early_muxer ? 1 : 0;
  if (cfg->expected_peer && is_dialer) {
    u->hs->expected = *cfg->expected_peer;
    u->has_expected = 1;
  }
  u->deadline = LP2P_TSTAMP_NONE;
  if (cfg->upgrade_timeout_ns)
    u->deadline = now > LP2P_TSTAMP_NONE - cfg->upgrade_timeout_ns
                      ? LP2P_TSTAMP_NONE - 1
                      : now + cfg->upgrade_timeout_ns;
  u->events_max = cfg->events_max;
  u->hs->ms_cfg = cfg->ms;
  u->hs->noise_cfg = cfg->noise;
  u->hs->plaintext_cfg = cfg->plaintext;
  u->hs->yamux_cfg = cfg->yamux;
  const char *list[2];
  size_t n = sec_list(u, list);
  int r = ms_create(u, &u->ms_sec, list, n);
  /* Lazy with one choice: the handshake's first message rides right
   * behind the proposal. */
  if (r == 0 && u->dialer && u->lazy && n == 1)
    r = sec_start(u, list[0]);
  if (r) {
    lp2p_upgrader_free(u);
    return r;
  }
  *out = u;
  return 0;
}

void upg_hs_free(lp2p_upgrader *u) {
  if (!u->hs)
    return;
  lp2p_memzero(u->hs, sizeof *u->hs);
  lp2p_mem_free(u->mem, u->hs);
  u->hs = NULL;
}

void lp2p_upgrader_free(lp2p_upgrader *u) {
  if (!u)
    return;
  lp2p_ms_free(u->ms_sec);
  lp2p_ms_free(u->ms_mux);
  sec_free(u);
  lp2p_yamux_free(u->yamux);
  upg_events_free(u);
  upg_hs_free(u);
  lp2p_mem_free(u->mem, u);
}

/* ---- sequencing ----------------------------------------------------- */

static int ms_sec_events(lp2p_upgrader *u) {
  lp2p_ms_event ev;
  int moved = 0;
  while (u->ms_sec && lp2p_ms_poll_event(u->ms_sec, &ev)) {
    moved = 1;
    if (ev.type == LP2P_MS_EV_NEGOTIATED) {
      if (!u->sec)
        start_sec(u, ev.protocol);
    } else if (ev.type == LP2P_MS_EV_FAILED) {
      upg_fail(u, ev.err);
    }
  }
  /* Done and drained: the engine has nothing left to do. */
  if (u->ms_sec && !ms_negotiating(u->ms_sec) &&
      !(lp2p_ms_state(u->ms_sec) & LP2P_STATE_HAS_OUTPUT) &&
      lp2p_ms_last_error(u->ms_sec) == 0) {
    lp2p_ms_free(u->ms_sec);
    u->ms_sec = NULL;
  }
  return moved;
}

static void on_secured(lp2p_upgrader *u, const sec_event *ev) {
  u->sec_done = 1;
  u->peer = ev->peer;
  u->hs->key = ev->key;
  /* Noise checks the expected id itself; this also covers plaintext. */
  if (u->has_expected && !lp2p_peerid_equal(&u->hs->expected, &u->peer)) {
    upg_fail(u, LP2P_ERR_PEER_ID_MISMATCH);
    return;
  }
  if (push_simple(u, LP2P_UPGRADER_EV_PEER_IDENTIFIED, 0))
    return;
  if (ev->muxer && strcmp(ev->muxer, LP2P_YAMUX_PROTOCOL_ID) == 0) {
    start_yamux(u, 1);
    return;
  }
  static const char *const mux[] = {LP2P_YAMUX_PROTOCOL_ID};
  int r = ms_create(u, &u->ms_mux, mux, 1);
  if (r) {
    upg_fail(u, r);
    return;
  }
  if (u->dialer && u->lazy)
    start_yamux(u, 0);
}

static int sec_events(lp2p_upgrader *u) {
  sec_event ev;
  int moved = 0;
  while (u->phase != PH_CLOSED && sec_poll(u, &ev)) {
    moved = 1;
    if (ev.type == SEC_EV_DONE)
      on_secured(u, &ev);
    else if (ev.type == SEC_EV_CLOSED)
      upg_fail(u, ev.err);
    /* SEC_EV_EOF: passed on once the plaintext is drained (below). */
  }
  return moved;
}

static int ms_mux_events(lp2p_upgrader *u) {
  lp2p_ms_event ev;
  int moved = 0;
  while (u->ms_mux && lp2p_ms_poll_event(u->ms_mux, &ev)) {
    moved = 1;
    if (ev.type == LP2P_MS_EV_NEGOTIATED) {
      if (!u->yamux)
        start_yamux(u, 0);
    } else if (ev.type == LP2P_MS_EV_FAILED) {
      upg_fail(u, ev.err);
    }
  }
  if (u->ms_mux && !ms_negotiating(u->ms_mux) &&
      !(lp2p_ms_state(u->ms_mux) & LP2P_STATE_HAS_OUTPUT) &&
      lp2p_ms_last_error(u->ms_mux) == 0) {
    lp2p_ms_free(u->ms_mux);
    u->ms_mux = NULL;
  }
  return moved;
}

/* Write as much of an engine's output into the secure channel as it takes.
 * Returns 1 if anything moved. */
static int to_sec(lp2p_upgrader *u, const uint8_t *o, size_t len,
                  size_t *took) {
  *took = 0;
  if (!len)
    return 0;
  lp2p_ssize w = sec_write(u, o, len);
  if (w == LP2P_ERR_NOMEM)
    upg_fail(u, LP2P_ERR_NOMEM);
  if (w <= 0)
    return 0; /* full, or closed: its CLOSED event tells why */
  *took = (size_t)w;
  return 1;
}

static int secure_side(lp2p_upgrader *u) {
  int moved = 0;
  size_t len, took;
  const uint8_t *o;
  /* output: muxer negotiation first, then yamux */
  if (u->ms_mux && (o = lp2p_ms_out_peek(u->ms_mux, &len)) != NULL) {
    moved |= to_sec(u, o, len, &took);
    lp2p_ms_out_consume(u->ms_mux, took);
  }
  if (u->yamux && !(u->ms_mux && lp2p_ms_out_peek(u->ms_mux, &len))) {
    while (u->phase != PH_CLOSED &&
           (o = lp2p_yamux_out_peek(u->yamux, &len)) != NULL) {
      if (!to_sec(u, o, len, &took))
        break;
      lp2p_yamux_out_consume(u->yamux, took);
      moved = 1;
    }
  }
  if (u->phase == PH_CLOSED)
    return moved;
  /* input: plaintext to the muxer negotiation, then to yamux */
  const uint8_t *p = sec_read_peek(u, &len);
  if (len) {
    lp2p_ssize r = 0;
    if (ms_negotiating(u->ms_mux))
      r = lp2p_ms_feed(u->ms_mux, u->now, p, len);
    else if (u->yamux)
      r = lp2p_yamux_feed(u->yamux, u->now, p, len);
    if (r < 0) {
      upg_fail(u, (int)r);
      return 1;
    }
    if (r > 0) {
      sec_read_consume(u, (size_t)r);
      moved = 1;
    }
  } else if (!u->sec_eof_passed && sec_read_eof(u)) {
    if (ms_negotiating(u->ms_mux)) {
      (void)lp2p_ms_feed_eof(u->ms_mux, u->now);
      u->sec_eof_passed = 1;
    } else if (u->yamux) {
      (void)lp2p_yamux_feed_eof(u->yamux, u->now);
      u->sec_eof_passed = 1;
    }
    moved = 1;
  }
  return moved;
}

static int yamux_events(lp2p_upgrader *u) {
  int moved = 0;
  lp2p_yamux_event ev;
  while (u->phase != PH_CLOSED && u->ev_len < u->events_max &&
         lp2p_yamux_poll_event(u->yamux, &ev)) {
    moved = 1;
    uevent e;
    memset(&e, 0, sizeof e);
    e.type = LP2P_UPGRADER_EV_YAMUX;
    e.stream_id = ev.stream_id;
    e.y = ev;
    int r = upg_push(u, &e); /* room was checked above */
    if (r) {
      upg_fail(u, r);
      break;
    }
    if (ev.type == LP2P_YAMUX_EV_CLOSED) {
      if (ev.error) {
        /* Best effort: let yamux's GoAway out before giving up. */
        const uint8_t *o;
        size_t len, took;
        while ((o = lp2p_yamux_out_peek(u->yamux, &len)) != NULL &&
               to_sec(u, o, len, &took))
          lp2p_yamux_out_consume(u->yamux, took);
        upg_fail(u, ev.error);
      } else {
        /* orderly end of the session: close the secure channel too */
        u->closing = 1;
        u->sec_closing = 1;
        if (sec_close(u) == LP2P_ERR_NOMEM)
          upg_fail(u, LP2P_ERR_NOMEM);
      }
    }
  }
  return moved;
}

int upg_pump(lp2p_upgrader *u) {
  for (int guard = 0; guard < 100000 && u->phase != PH_CLOSED; guard++) {
    int moved = ms_sec_events(u);
    if (u->sec && u->phase != PH_CLOSED)
      moved |= sec_events(u);
    if (u->sec_done && u->phase != PH_CLOSED) {
      moved |= secure_side(u);
      moved |= ms_mux_events(u);
      if (u->yamux && u->phase != PH_CLOSED) {
        moved |= yamux_events(u);
      }
    }
    if (!moved)
      break;
  }
  return u->phase == PH_CLOSED && u->err == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM
                                                           : 0;
}

/* ---- engine contract ------------------------------------------------ */

lp2p_ssize lp2p_upgrader_feed(lp2p_upgrader *u, lp2p_tstamp now,
                              const uint8_t *p, size_t n) {
  if (!u || (!p && n))
    return LP2P_ERR_INVAL;
  u->now = now;
  size_t off = 0;
  while (off < n && u->phase != PH_CLOSED) {
    lp2p_ssize r;
    if (ms_negotiating(u->ms_sec)) {
      r = lp2p_ms_feed(u->ms_sec, now, p + off, n - off);
      if (r < 0) {
        upg_fail(u, (int)r);
        break;
      }
      off += (size_t)r;
      upg_pump(u);
      if (r == 0)
        break;
      continue;
    }
    if (!u->sec)
      break;
    r = sec_feed(u, p + off, n - off);
    if (r == LP2P_ERR_NOMEM)
      upg_fail(u, LP2P_ERR_NOMEM);
    if (r > 0)
      off += (size_t)r;
    upg_pump(u);
    if (r <= 0)
      break;
  }
  upg_pump(u);
  if (u->phase == PH_CLOSED)
    return u->err == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM : (lp2p_ssize)n;
  return (lp2p_ssize)off;
}

int lp2p_upgrader_feed_eof(lp2p_upgrader *u, lp2p_tstamp now) {
  if (!u)
    return LP2P_ERR_INVAL;
  u->now = now;
  if (u->phase == PH_CLOSED)
    return 0;
  if (ms_negotiating(u->ms_sec))
    (void)lp2p_ms_feed_eof(u->ms_sec, now);
  else if (u->sec)
    (void)sec_feed_eof(u);
  upg_pump(u);
  return 0;
}

size_t lp2p_upgrader_recv_room(const lp2p_upgrader *u) {
  if (!u || u->phase == PH_CLOSED)
    return 0;
  if (ms_negotiating(u->ms_sec))
    return lp2p_ms_recv_room(u->ms_sec);
  return u->sec ? sec_recv_room(u) : 0;
}

const uint8_t *lp2p_upgrader_out_peek(const lp2p_upgrader *u, size_t *len) {
  size_t l = 0;
  const uint8_t *o = NULL;
  if (u) {
    if (u->ms_sec)
      o = lp2p_ms_out_peek(u->ms_sec, &l);
    if (!l && u->sec)
      o = sec_out_peek(u, &l);
  }
  if (len)
    *len = l;
  return l ? o : NULL;
}

void lp2p_upgrader_out_consume(lp2p_upgrader *u, size_t n) {
  if (!u)
    return;
  size_t l = 0;
  if (u->ms_sec && lp2p_ms_out_peek(u->ms_sec, &l))
    lp2p_ms_out_consume(u->ms_sec, n);
  else if (u->sec)
    sec_out_consume(u, n);
  upg_pump(u);
}

static lp2p_tstamp tmin(lp2p_tstamp a, lp2p_tstamp b) { return a < b ? a : b; }

/* The upgrade deadline runs until every negotiation is confirmed: a lazy
 * dialer is READY before the listener has agreed to the muxer. */
static int upgrading(const lp2p_upgrader *u) {
  return !u->yamux || ms_negotiating(u->ms_sec) || ms_negotiating(u->ms_mux);
}

lp2p_tstamp lp2p_upgrader_next_timeout(const lp2p_upgrader *u) {
  if (!u || u->phase == PH_CLOSED)
    return LP2P_TSTAMP_NONE;
  lp2p_tstamp t = upgrading(u) ? u->deadline : LP2P_TSTAMP_NONE;
  if (u->sec)
    t = tmin(t, sec_next_timeout(u));
  if (u->yamux)
    t = tmin(t, lp2p_yamux_next_timeout(u->yamux));
  return t;
}

int lp2p_upgrader_handle_timeout(lp2p_upgrader *u, lp2p_tstamp now) {
  if (!u)
    return LP2P_ERR_INVAL;
  u->now = now;
  if (u->phase == PH_CLOSED)
    return 0;
  if (upgrading(u) && u->deadline != LP2P_TSTAMP_NONE &&
      now >= u->deadline) {
    upg_fail(u, LP2P_ERR_TIMEOUT);
    return 0;
  }
  if (u->sec)
    sec_handle_timeout(u);
  if (u->yamux && lp2p_yamux_handle_timeout(u->yamux, now) ==
                      LP2P_ERR_NOMEM)
    upg_fail(u, LP2P_ERR_NOMEM);
  return upg_pump(u);
}

unsigned lp2p_upgrader_state(const lp2p_upgrader *u) {
  if (!u)
    return LP2P_STATE_CLOSED;
  size_t len;
  int out = lp2p_upgrader_out_peek(u, &len) != NULL;
  if (u->phase == PH_CLOSED)
    return out ? (LP2P_STATE_HAS_OUTPUT | LP2P_STATE_CLOSING)
               : LP2P_STATE_CLOSED;
  unsigned st = out ? LP2P_STATE_HAS_OUTPUT : 0;
  if (lp2p_upgrader_recv_room(u))
    st |= LP2P_STATE_WANT_READ;
  if (u->sec_closing) /* drained -> the driver shuts the write side */
    st |= LP2P_STATE_CLOSING;
  return st;
}

int lp2p_upgrader_last_error(const lp2p_upgrader *u) {
  return u ? u->err : 0;
}

int lp2p_upgrader_ready(const lp2p_upgrader *u) {
  return u && u->yamux != NULL;
}

const lp2p_peerid *lp2p_upgrader_remote_peer(const lp2p_upgrader *u) {
  return u && u->sec_done ? &u->peer : NULL;
}

const lp2p_pubkey *lp2p_upgrader_remote_key(const lp2p_upgrader *u) {
  return u && u->sec_done && u->hs ? &u->hs->key : NULL;
}

lp2p_yamux *lp2p_upgrader_yamux(lp2p_upgrader *u) {
  return u ? u->yamux : NULL;
}

int lp2p_upgrader_flush(lp2p_upgrader *u, lp2p_tstamp now) {
  if (!u)
    return LP2P_ERR_INVAL;
  u->now = now;
  return upg_pump(u);
}

int lp2p_upgrader_close(lp2p_upgrader *u, lp2p_tstamp now) {
  if (!u)
    return LP2P_ERR_INVAL;
  u->now = now;
  if (u->phase == PH_CLOSED || u->closing)
    return 0;
  if (!u->yamux) {
    upg_fail(u, LP2P_ERR_CLOSED);
    return 0;
  }
  u->closing = 1;
  int r = lp2p_yamux_go_away(u->yamux, now, LP2P_YAMUX_GOAWAY_NORMAL);
  if (r == LP2P_ERR_NOMEM) {
    upg_fail(u, r);
    return r;
  }
  return upg_pump(u);
}
