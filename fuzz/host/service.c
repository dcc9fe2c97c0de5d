/* fuzz_host's fuzz service, registered on both hosts: every hook, its own
 * timer, stream I/O from inside hooks, per-stream state from the host's
 * allocator, connections carried in its streams, UDP sockets it owns; and
 * the op that drives it. */
#include <string.h>

#include "fuzz/host/world.h"
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

#define FSVC_STREAMS 8

typedef struct fsvc {
  uint32_t svc;
  uint16_t p_svc, p_car;
  lp2p_tstamp deadline;
  int limited;          /* carriers get a budget */
  uint64_t bytes_max, dur_ns;
  uint64_t streams[FSVC_STREAMS];
  uint64_t udp;
  unsigned hooks;
} fsvc;

typedef struct fsud {
  uint64_t conn;
  uint32_t got;
} fsud;

static void fs_track(fsvc *v, uint64_t id) {
  v->streams[id % FSVC_STREAMS] = id;
}

static void fs_untrack(fsvc *v, uint64_t id) {
  if (v->streams[id % FSVC_STREAMS] == id)
    v->streams[id % FSVC_STREAMS] = 0;
}

/* Echo what arrives, close after the remote did. */
static void fs_activity(lp2p_host *h, void *state, uint64_t s, void *ud,
                        lp2p_tstamp now) {
  fsvc *v = state;
  fsud *u = ud;
  v->hooks++;
  check(u != NULL);
  size_t len = 0;
  const uint8_t *p;
  while ((p = host_svc_peek(h, s, &len)) && len) {
    lp2p_ssize w = host_svc_write(h, s, now, p, len);
    if (w < 0)
      w = (lp2p_ssize)len; /* our side is closed: drop */
    if (w == 0)
      break;
    u->got += (uint32_t)w;
    host_svc_consume(h, s, now, (size_t)w);
  }
  if (host_svc_at_eof(h, s))
    host_svc_close(h, s, now);
}

static void fs_start(lp2p_host *h, void *state, uint64_t s, uint64_t conn,
                     uint16_t proto, lp2p_tstamp now) {
  fsvc *v = state;
  v->hooks++;
  if (proto == v->p_car) {
    hsvc_carrier_limits lim = {v->bytes_max, v->dur_ns};
    uint64_t c;
    int rc = host_svc_carrier_attach(h, s, LP2P_DIR_INBOUND, NULL, NULL,
                                     v->limited ? &lim : NULL, now, &c);
    check(rc <= 0);
    if (rc)
      host_svc_reset(h, s, now);
    return;
  }
  fsud *u = lp2p_mem_calloc(h->mem, 1, sizeof *u);
  if (!u) {
    host_svc_reset(h, s, now);
    return;
  }
  u->conn = conn;
  host_svc_stream_set_ud(h, s, u);
  fs_track(v, s);
  fs_activity(h, state, s, u, now);
}

static void fs_end(lp2p_host *h, void *state, uint64_t s, void *ud, int err,
                   lp2p_tstamp now) {
  fsvc *v = state;
  (void)now;
  v->hooks++;
  check(err <= 0);
  /* the id is dead already */
  check(host_svc_write(h, s, now, (const uint8_t *)"x", 1) ==
        LP2P_ERR_NOT_FOUND);
  fs_untrack(v, s);
  lp2p_mem_free(h->mem, ud);
}

static void fs_timeout(lp2p_host *h, void *state, uint64_t s, void *ud,
                       lp2p_tstamp now) {
  fsvc *v = state;
  fs_untrack(v, s);
  host_svc_reset(h, s, now);
  lp2p_mem_free(h->mem, ud);
}

/* Open a service stream on conn and write a little (from anywhere,
 * including hooks). */
static void fs_open(lp2p_host *h, fsvc *v, uint64_t conn, size_t n,
                    lp2p_tstamp now, lp2p_tstamp deadline) {
  fsud *u = lp2p_mem_calloc(h->mem, 1, sizeof *u);
  if (!u)
    return;
  uint64_t s;
  int rc = host_svc_open(h, v->svc, conn, v->p_svc, u, now, &s);
  check(rc <= 0);
  if (rc) {
    lp2p_mem_free(h->mem, u);
    return;
  }
  u->conn = conn;
  fs_track(v, s);
  static const uint8_t junk[64] = {1, 2, 3};
  lp2p_ssize w = host_svc_write(h, s, now, junk, n < 64 ? n : 64);
  check(w >= 0 || w == LP2P_ERR_NOMEM || w == LP2P_ERR_CLOSED);
  if (deadline != LP2P_TSTAMP_NONE)
    host_svc_stream_deadline(h, s, deadline);
}

static void fs_identified(lp2p_host *h, void *state, uint64_t conn,
                          lp2p_tstamp now) {
  fsvc *v = state;
  v->hooks++;
  check(host_svc_conn_peer(h, conn) != NULL);
  if (v->hooks % 3 == 0)
    fs_open(h, v, conn, 16, now, LP2P_TSTAMP_NONE);
}

static void fs_connected(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  (void)now;
  fsvc *v = state;
  v->hooks++;
  check(host_svc_conn_peer(h, conn) != NULL);
}

static void fs_disconnected(lp2p_host *h, void *state, uint64_t conn,
                            const lp2p_peerid *peer, int err,
                            lp2p_tstamp now) {
  (void)h;
  (void)conn;
  (void)now;
  fsvc *v = state;
  v->hooks++;
  check(peer && peer->len && err <= 0);
}

static void fs_local(lp2p_host *h, void *state, unsigned what,
                     lp2p_tstamp now) {
  (void)h;
  (void)now;
  fsvc *v = state;
  v->hooks++;
  check(what & (HSVC_LOCAL_ADDRS | HSVC_LOCAL_PROTOCOLS));
}

static void fs_raw(lp2p_host *h, void *state, uint64_t raw, unsigned what,
                   lp2p_tstamp now) {
  (void)now;
  fsvc *v = state;
  v->hooks++;
  check(raw != 0);
  if (what == LP2P_HOST_EV_UDP_READABLE) {
    lp2p_sockaddr from;
    size_t len;
    while (lp2p_host_udp_recv_peek(h, raw, &from, &len))
      lp2p_host_udp_recv_consume(h, raw);
  }
}

static lp2p_tstamp fs_next(const void *state) {
  return ((const fsvc *)state)->deadline;
}

static void fs_handle(lp2p_host *h, void *state, lp2p_tstamp now) {
  fsvc *v = state;
  v->hooks++;
  check(now >= v->deadline);
  v->deadline = LP2P_TSTAMP_NONE;
  uint32_t pos = 0;
  uint64_t conn = host_svc_conn_next(h, &pos);
  if (conn)
    fs_open(h, v, conn, 8, now, now + LP2P_NS_PER_S);
}

static int fs_init(lp2p_host *h, uint32_t svc, void **state) {
  fsvc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  v->deadline = LP2P_TSTAMP_NONE;
  int err = 0;
  v->p_svc = host_svc_add_protocol(h, svc, "/fuzz/svc/1.0.0",
                                   HSVC_P_INBOUND | HSVC_P_ADVERTISE |
                                       HSVC_P_LIMITED,
                                   &err);
  if (!err)
    v->p_car = host_svc_add_protocol(h, svc, "/fuzz/carrier/1.0.0",
                                     HSVC_P_INBOUND | HSVC_P_LIMITED, &err);
  return err;
}

static void fs_fini(lp2p_host *h, void *state) {
  lp2p_mem_free(h->mem, state);
}

const hsvc_ops fh_svc_ops = {
    .name = "fuzz",
    .init = fs_init,
    .fini = fs_fini,
    .stream_start = fs_start,
    .stream_activity = fs_activity,
    .stream_end = fs_end,
    .stream_timeout = fs_timeout,
    .peer_connected = fs_connected,
    .peer_identified = fs_identified,
    .peer_disconnected = fs_disconnected,
    .local_changed = fs_local,
    .raw_activity = fs_raw,
    .next_timeout = fs_next,
    .handle_timeout = fs_handle,
};

/* A random OPEN connection of host h (direct or carried), or 0. */
static uint64_t any_conn(lp2p_host *h, uint8_t pick) {
  uint32_t pos = 0;
  uint64_t c, first = 0;
  int i = 0;
  while ((c = host_svc_conn_next(h, &pos)) != 0) {
    if (!first)
      first = c;
    if (i++ == pick % 8)
      return c;
  }
  return first;
}

void fh_svc_op(world *w, fdp *f) {
  int hi = fdp_u8(f) & 1;
  lp2p_host *h = w->h[hi];
  fsvc *v = host_svc_state(h, &fh_svc_ops, NULL);
  if (!v)
    return;
  uint64_t conn = any_conn(h, fdp_u8(f));
  int rc;
  host_enter(h); /* as a service's public command would */
  switch (fdp_u8(f) % 8) {
  case 0: { /* a carried connection to the other host, inside a stream */
    v->limited = fdp_bool(f);
    v->bytes_max = fdp_u16(f);
    v->dur_ns = (uint64_t)fdp_u8(f) * LP2P_NS_PER_S;
    if (!conn)
      break;
    uint64_t s = 0, c = 0;
    rc = host_svc_open(h, v->svc, conn, v->p_car, NULL, w->now, &s);
    check(rc <= 0);
    if (rc)
      break;
    hsvc_carrier_limits lim = {v->bytes_max, v->dur_ns};
    rc = host_svc_carrier_attach(h, s, LP2P_DIR_OUTBOUND, &w->id[1 - hi],
                                 NULL, v->limited ? &lim : NULL, w->now, &c);
    check(rc <= 0);
    if (rc)
      host_svc_reset(h, s, w->now);
    break;
  }
  case 1: /* a service stream, maybe with a deadline */
    if (conn)
      fs_open(h, v, conn, fdp_range(f, 0, 64), w->now,
              fdp_bool(f) ? w->now + fdp_u16(f) * LP2P_NS_PER_MS
                          : LP2P_TSTAMP_NONE);
    break;
  case 2: { /* reset or close one of our streams */
    uint64_t s = v->streams[fdp_u8(f) % FSVC_STREAMS];
    if (!s)
      break;
    if (fdp_bool(f)) {
      host_svc_close(h, s, w->now);
    } else {
      hstream *hs = host_stream_get(h, s);
      void *ud = hs ? hs->ud : NULL;
      host_svc_reset(h, s, w->now);
      if (hs) {
        fs_untrack(v, s);
        lp2p_mem_free(h->mem, ud);
      }
    }
    break;
  }
  case 3: /* the service timer */
    v->deadline = w->now + fdp_u16(f) * LP2P_NS_PER_MS;
    host_svc_timer_update(h, v->svc);
    break;
  case 4: /* an application echo stream on a (maybe limited) connection */
    if (fdp_bool(f))
      check(lp2p_host_allow_limited(h, "/echo/1.0.0", fdp_bool(f)) <= 0);
    if (conn) {
      uint64_t s;
      rc = lp2p_host_open_stream_on(h, w->now, conn, "/echo/1.0.0", &s);
      check(rc <= 0);
      if (rc == 0)
        w->streams[hi][s % STREAMS_MAX] = s;
    }
    break;
  case 5: /* close a connection, carried or not */
    if (conn)
      check(lp2p_host_conn_close(h, w->now, conn) <= 0);
    break;
  case 6: { /* a UDP socket the service owns */
    if (v->udp) {
      lp2p_host_udp_close(h, v->udp);
      v->udp = 0;
      break;
    }
    lp2p_sockaddr b;
    fh_sa_of(hi, fdp_u16(f), &b);
    rc = host_udp_open(h, v->svc + 1, &b, 0, &v->udp);
    check(rc <= 0);
    if (rc)
      v->udp = 0;
    break;
  }
  default: { /* ping, which may pick a carried connection */
    rc = lp2p_host_ping(h, w->now, &w->id[1 - hi]);
    check(rc <= 0);
    break;
  }
  }
  host_leave(h, w->now);
}
