/* Fuzz the whole host: the input plays the driver and the applications.
 *
 * Host A listens; host B is a real peer. A tiny in-target driver keeps a
 * table of connections (B<->A pairs and raw connections whose other end is
 * the input). Each op byte picks: accept a raw connection on A, feed input
 * bytes to a raw connection, shuttle bytes between paired connections
 * (chunk size, partial consume and a byte flip chosen by the input), EOF or
 * reset either end, advance the clock, or an application command on either
 * host (dial, ping, identify, perf, open/write/close/reset streams,
 * register a protocol, close a peer, close the host), or raw-socket work
 * on A: raw listen / connect / UDP open and close, random driver answers
 * to their io (bound, failed, established, accepted, joined), input bytes
 * and datagrams fed, EOF and aborts, partial output consumes, writes,
 * reads and sends by the application, stale ids; or service work: a
 * fuzz service registered on both hosts (every hook, its own timer,
 * stream I/O from inside hooks, per-stream state allocated from the host's
 * allocator so the leak check proves it comes back once) opens nested
 * connections carried inside its streams (with or without a data/time
 * budget), echoes on them, resets and closes them, opens application
 * streams on limited connections, and owns UDP sockets; host 0 serves
 * circuit relay and AutoNAT, host 1 asks it (and fuzzed bytes reach both
 * AutoNAT protocols); A's port mapper (UPnP, PCP, NAT-PMP) gets its
 * sockets answered and fed the same way. The header may
 * choose an allocation to fail. Fuzz builds use a null AEAD, so a fuzzer
 * that flips bytes of B's traffic reaches yamux and the services.
 * Checks: API calls never fail for reasons other than their documented
 * ones, events stay sane, and nothing leaks after _free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/host.h"
#include "lp2p/relay.h"
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

/* Names the failed check's line, since inlining blurs abort()'s. */
static void check_at(int ok, int line) {
  if (!ok) {
    fprintf(stderr, "fuzz_host: check failed at line %d\n", line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

static const lp2p_privkey *fixed_key(int i) {
  static lp2p_privkey k[2];
  static int ready[2];
  if (!ready[i]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x686f7374u, (uint64_t)i, &r);
    check(lp2p_key_generate(&k[i], LP2P_KEY_ED25519, 0, &r) == 0);
    ready[i] = 1;
  }
  return &k[i];
}

#define CONNS_MAX 8
#define STREAMS_MAX 8
#define RAWS_MAX 8
#define RAW_BUF_MAX 4096 /* raw_*_bytes_max of A: small, so bounds hit */

typedef struct fconn {
  int used;
  int raw;          /* other end is the input (host A side only) */
  uint64_t a, b;    /* conn ids on A and on B (b = 0 for raw) */
  int a_dead, b_dead;
} fconn;

typedef struct world {
  lp2p_host *h[2];
  lp2p_tstamp now;
  uint64_t listener;
  uint16_t port;
  fconn c[CONNS_MAX];
  uint64_t streams[2][STREAMS_MAX];
  lp2p_peerid id[2];
  uint64_t raw[RAWS_MAX];      /* raw ids of A (may be dead: stale ids) */
  uint64_t raw_pend[RAWS_MAX]; /* raw io awaiting a driver answer */
  uint8_t raw_pend_kind[RAWS_MAX];
} world;

static void sa_of(int host, uint16_t port, lp2p_sockaddr *sa) {
  memset(sa, 0, sizeof *sa);
  sa->family = 4;
  sa->ip[0] = 10;
  sa->ip[3] = (uint8_t)(host + 1);
  sa->port = port;
}

static void mark_dead(world *w, int host, uint64_t conn) {
  for (int i = 0; i < CONNS_MAX; i++) {
    if (!w->c[i].used)
      continue;
    if (host == 0 && w->c[i].a == conn)
      w->c[i].a_dead = 1;
    if (host == 1 && w->c[i].b == conn)
      w->c[i].b_dead = 1;
  }
}

/* Driver duties: drain dirty lists (bytes stay with the host until the
 * input shuttles them), take io requests, poll events. */
static void drain(world *w) {
  for (int round = 0; round < 4; round++) {
    for (int hi = 0; hi < 2; hi++) {
      lp2p_host *h = w->h[hi];
      uint64_t conn;
      while (lp2p_host_poll_dirty(h, &conn))
        (void)lp2p_host_conn_interest(h, conn);
      lp2p_io io;
      while (lp2p_host_poll_io(h, &io)) {
        switch (io.kind) {
        case LP2P_IO_LISTEN: {
          lp2p_sockaddr b;
          sa_of(hi, 4001, &b);
          check(lp2p_host_listen_done(h, io.listener, 0, &b) == 0);
          if (hi == 0) {
            w->listener = io.listener;
            w->port = 4001;
          }
          break;
        }
        case LP2P_IO_DIAL: {
          /* Only B dials A; pair it up. */
          int slot = -1;
          for (int i = 0; i < CONNS_MAX && slot < 0; i++)
            if (!w->c[i].used)
              slot = i;
          lp2p_sockaddr local;
          sa_of(hi, (uint16_t)(50000 + slot), &local);
          uint64_t a = 0;
          if (hi != 1 || slot < 0 || io.addr.port != w->port || !w->listener ||
              lp2p_host_conn_accepted(w->h[0], w->listener, &local, &io.addr,
                                      w->now, &a) != 0) {
            check(lp2p_host_conn_failed(h, io.conn, LP2P_ERR_REFUSED,
                                        w->now) == 0);
            break;
          }
          check(lp2p_host_conn_established(h, io.conn, &local, w->now) == 0);
          w->c[slot] = (fconn){1, 0, a, io.conn, 0, 0};
          break;
        }
        case LP2P_IO_CLOSE:
        case LP2P_IO_RESET:
          mark_dead(w, hi, io.conn);
          break;
        case LP2P_IO_RAW_LISTEN:
        case LP2P_IO_RAW_DIAL:
        case LP2P_IO_UDP_OPEN:
        case LP2P_IO_UDP_JOIN: /* answered later, by the input */
          check(io.raw != 0);
          w->raw_pend[io.raw % RAWS_MAX] = io.raw;
          w->raw_pend_kind[io.raw % RAWS_MAX] = (uint8_t)io.kind;
          break;
        case LP2P_IO_SEND_DATAGRAM:
          check(io.data != NULL && io.len <= 2048);
          break;
        default:
          break;
        }
      }
      lp2p_host_event ev;
      while (lp2p_host_poll_event(h, &ev)) {
        check(ev.kind >= LP2P_HOST_EV_LISTENING &&
              ev.kind <= LP2P_HOST_EV_NAT_TYPE);
        if (ev.kind >= LP2P_HOST_EV_RAW_LISTENING &&
            ev.kind <= LP2P_HOST_EV_UDP_JOINED)
          check(ev.u.raw.id != 0);
        check(ev.err <= 0);
        if (ev.kind == LP2P_HOST_EV_STREAM_INBOUND ||
            ev.kind == LP2P_HOST_EV_STREAM_OPENED)
          check(ev.u.stream.protocol != NULL);
        if (ev.kind == LP2P_HOST_EV_STREAM_INBOUND)
          w->streams[hi][ev.stream % STREAMS_MAX] = ev.stream;
      }
    }
  }
}

/* Move up to n bytes of `from`'s output into the other side. */
static void shuttle(world *w, fconn *c, int from, size_t n, int flip,
                    uint8_t mask) {
  uint64_t src = from == 0 ? c->a : c->b, dst = from == 0 ? c->b : c->a;
  if (c->raw || (from == 0 ? c->a_dead : c->b_dead))
    return;
  lp2p_host *hs = w->h[from], *hd = w->h[1 - from];
  size_t len = 0;
  const uint8_t *p = lp2p_host_out_peek(hs, src, &len);
  if (!len)
    return;
  if (n > len)
    n = len;
  uint8_t buf[4096];
  if (n > sizeof buf)
    n = sizeof buf;
  memcpy(buf, p, n);
  if (flip && n)
    buf[(size_t)flip % n] ^= mask ? mask : 1;
  check(lp2p_host_conn_out_consume(hs, src, n) == 0);
  if (from == 0 ? c->b_dead : c->a_dead)
    return;
  size_t off = 0;
  while (off < n) {
    lp2p_ssize k = lp2p_host_conn_feed(hd, dst, w->now, buf + off, n - off);
    if (k <= 0)
      break; /* receiver full or gone: the rest is lost, like a reset */
    off += (size_t)k;
  }
}

static lp2p_maddr a_addr(world *w, int with_id) {
  lp2p_sockaddr sa;
  sa_of(0, w->port, &sa);
  lp2p_maddr m;
  check(lp2p_sockaddr_to_maddr(&m, &sa) == 0);
  if (with_id) {
    lp2p_maddr p2p;
    /* /p2p/<id> binary: code 421 (0xa5 0x03), varint length, bytes */
    uint8_t b[80];
    size_t k = 0;
    b[k++] = 0xa5;
    b[k++] = 0x03;
    b[k++] = (uint8_t)w->id[0].len;
    memcpy(b + k, w->id[0].bytes, w->id[0].len);
    k += w->id[0].len;
    if (lp2p_maddr_from_bytes(&p2p, b, k) == 0)
      lp2p_maddr_encapsulate(&m, &p2p);
  }
  return m;
}

/* A raw-socket step on host A: the input plays the application and the
 * driver at once, with ids that may be stale. */
static void raw_op(world *w, fdp *f) {
  lp2p_host *h = w->h[0];
  uint64_t *r = &w->raw[fdp_u8(f) % RAWS_MAX];
  lp2p_sockaddr a;
  sa_of(fdp_u8(f) & 3, fdp_u16(f), &a);
  const uint8_t *p;
  size_t n, len;
  lp2p_ssize k;
  int rc;
  switch (fdp_u8(f) % 16) {
  case 0:
    rc = lp2p_host_raw_listen(h, &a, fdp_u8(f), r);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  case 1:
    rc = lp2p_host_raw_connect(h, w->now, &a, fdp_bool(f) ? &a : NULL,
                               fdp_u8(f) & 1, fdp_u8(f), r);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_INVAL || rc == LP2P_ERR_STATE);
    break;
  case 2:
    rc = lp2p_host_udp_open(h, &a, fdp_u8(f), r);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  case 3: { /* the driver answers a pending raw io */
    int i = fdp_u8(f) % RAWS_MAX;
    uint64_t id = w->raw_pend[i];
    int err = fdp_bool(f) ? 0 : LP2P_ERR_REFUSED;
    switch (w->raw_pend_kind[i]) {
    case LP2P_IO_RAW_DIAL:
      err ? lp2p_host_raw_failed(h, id, err, w->now)
          : lp2p_host_raw_established(h, id, &a, w->now);
      break;
    case LP2P_IO_UDP_JOIN:
      lp2p_host_udp_joined(h, id, err, w->now);
      break;
    default:
      lp2p_host_raw_bound(h, id, err, &a, w->now);
      break;
    }
    /* The socket (a service's too, e.g. the port mapper's) takes input
     * from now on. */
    if (!err && id)
      w->raw[fdp_u8(f) % RAWS_MAX] = id;
    w->raw_pend[i] = 0;
    break;
  }
  case 4: { /* a raw listener accepts */
    uint64_t id = 0;
    rc = lp2p_host_raw_accepted(h, *r, &a, &a, w->now, &id);
    check(rc == 0 || rc == LP2P_ERR_NOT_FOUND || rc == LP2P_ERR_LIMIT ||
          rc == LP2P_ERR_NOMEM);
    if (rc == 0)
      w->raw[fdp_u8(f) % RAWS_MAX] = id;
    break;
  }
  case 5:
    n = fdp_bytes(f, &p, 1024);
    if (fdp_bool(f)) { /* the zero-copy form: region, write, commit */
      size_t cap = n;
      uint8_t *dst = lp2p_host_raw_recv_buf(h, *r, &cap);
      check(cap <= n && (cap == 0) == (dst == NULL));
      if (cap)
        memcpy(dst, p, cap);
      size_t m = fdp_range(f, 0, cap + 1); /* cap + 1: refused */
      k = lp2p_host_raw_recv_commit(h, *r, w->now, m);
      check(k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_INVAL ||
            (k >= 0 && (size_t)k == m && m <= cap));
    } else {
      k = lp2p_host_raw_feed(h, *r, w->now, p, n);
      check(k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_STATE ||
            (k >= 0 && (size_t)k <= n));
    }
    break;
  case 6:
    fdp_bool(f) ? lp2p_host_raw_eof(h, *r, w->now)
                : lp2p_host_raw_aborted(h, *r, LP2P_ERR_RESET, w->now);
    break;
  case 7: /* the driver writes part of the output */
    lp2p_host_raw_out_peek(h, *r, &len);
    check(len <= RAW_BUF_MAX);
    rc = lp2p_host_raw_out_consume(h, *r, fdp_range(f, 0, len));
    check(rc == 0 || rc == LP2P_ERR_NOT_FOUND);
    break;
  case 8:
    n = fdp_bytes(f, &p, 2048);
    k = lp2p_host_raw_write(h, w->now, *r, p, n);
    check(k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_INVAL ||
          k == LP2P_ERR_CLOSED || (k >= 0 && (size_t)k <= n));
    break;
  case 9:
    lp2p_host_raw_read_peek(h, *r, &len);
    check(len <= RAW_BUF_MAX);
    rc = lp2p_host_raw_read_consume(h, w->now, *r, fdp_range(f, 0, len));
    check(rc == 0 || rc == LP2P_ERR_NOT_FOUND || rc == LP2P_ERR_INVAL);
    break;
  case 10:
    fdp_bool(f) ? lp2p_host_raw_close(h, w->now, *r)
                : lp2p_host_raw_reset(h, w->now, *r);
    break;
  case 11:
    n = fdp_bytes(f, &p, 3000);
    rc = lp2p_host_udp_send(h, *r, &a, fdp_u8(f), p, n);
    check(rc <= 0);
    break;
  case 12:
    n = fdp_bytes(f, &p, 3000);
    check(lp2p_host_datagram_feed(h, *r, &a, w->now, p, n) <= 0);
    break;
  case 13: {
    lp2p_sockaddr from;
    lp2p_host_udp_recv_peek(h, *r, &from, &len);
    check(len <= 2048);
    lp2p_host_udp_recv_consume(h, *r);
    break;
  }
  case 14:
    a.ip[0] = (uint8_t)(0xe0 | (a.ip[0] & 0x1f));
    check(lp2p_host_udp_join(h, *r, &a) <= 0);
    break;
  default: { /* the driver's view stays within the bounds */
    uint64_t id;
    while (lp2p_host_raw_poll_dirty(h, &id)) {
      (void)lp2p_host_raw_interest(h, id);
      check(lp2p_host_raw_recv_room(h, id) <= RAW_BUF_MAX);
    }
    lp2p_host_raw_info info;
    if (lp2p_host_raw_info_get(h, *r, &info) == 0)
      check(info.recv_buffered <= RAW_BUF_MAX &&
            info.send_buffered <= RAW_BUF_MAX);
    break;
  }
  }
}

/* ---- the fuzz service -------------------------------------------------- */

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

static const hsvc_ops fsvc_ops;

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

static const hsvc_ops fsvc_ops = {
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

static void svc_op(world *w, fdp *f) {
  int hi = fdp_u8(f) & 1;
  lp2p_host *h = w->h[hi];
  fsvc *v = host_svc_state(h, &fsvc_ops, NULL);
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
    sa_of(hi, fdp_u16(f), &b);
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

static int all_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  (void)family;
  (void)ip;
  return 1;
}

static void app(world *w, fdp *f) {
  int hi = fdp_u8(f) & 1;
  lp2p_host *h = w->h[hi];
  const lp2p_peerid *other = &w->id[1 - hi];
  static const char *const protos[] = {"/echo/1.0.0", "/ipfs/ping/1.0.0",
                                       "/fuzz/app/1.0.0", "/ipfs/id/1.0.0",
                                       "/perf/1.0.0", LP2P_RELAY_HOP_ID,
                                       LP2P_RELAY_STOP_ID,
                                       LP2P_DCUTR_PROTOCOL,
                                       LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL,
                                       LP2P_AUTONAT_DIAL_BACK_PROTOCOL,
                                       "/ipfs/kad/1.0.0"};
  uint64_t *slot = &w->streams[hi][fdp_u8(f) % STREAMS_MAX];
  uint8_t data[64];
  memset(data, 0x5a, sizeof data);
  int rc;
  switch (fdp_u8(f) % 15) {
  case 13: { /* bytes from the input on one of our streams (hop/stop
              * messages for the relay, anything for the others) */
    const uint8_t *p;
    size_t n = fdp_bytes(f, &p, 256);
    lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, p, n);
    check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
          k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
    break;
  }
  case 14: /* the relay: reserve on the other host, or dial through it;
            * or ask host 0 (an AutoNAT server) to dial an address back */
    if (fdp_u8(f) % 4 == 3) {
      lp2p_maddr m = a_addr(w, fdp_bool(f));
      lp2p_maddr_strip_peer_id(&m);
      uint64_t id;
      rc = lp2p_host_autonat_ask(w->h[1], w->now, &w->id[0], &m, 1, &id);
      check(rc <= 0);
      break;
    }
    if (fdp_bool(f)) {
      rc = lp2p_host_relay_reserve(h, w->now, other);
    } else {
      lp2p_maddr m = a_addr(w, 1);
      lp2p_maddr tail;
      char t[160];
      size_t tl = 0;
      memcpy(t, "/p2p-circuit/p2p/", 17);
      if (lp2p_peerid_to_base58(&w->id[hi], t + 17, sizeof t - 17, &tl) == 0 &&
          lp2p_maddr_parse(&tail, t, 17 + tl) == 0 &&
          lp2p_maddr_encapsulate(&m, &tail) == 0)
        rc = lp2p_host_dial(w->h[1], w->now, &m, 0, NULL);
      else
        rc = 0;
    }
    check(rc <= 0);
    break;
  case 0: {
    lp2p_maddr m = a_addr(w, fdp_bool(f));
    uint64_t d;
    rc = lp2p_host_dial(w->h[1], w->now, &m, fdp_bool(f) ? LP2P_DIAL_FORCE : 0,
                        &d);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  }
  case 1:
    rc = lp2p_host_ping(h, w->now, other);
    check(rc == 0 || rc == LP2P_ERR_NOT_FOUND || rc == LP2P_ERR_LIMIT ||
          rc == LP2P_ERR_NOMEM || rc == LP2P_ERR_STATE);
    break;
  case 2:
    rc = lp2p_host_identify(h, w->now, other);
    check(rc <= 0);
    break;
  case 3:
    rc = lp2p_host_perf(h, w->now, other, fdp_u16(f), fdp_u16(f));
    check(rc <= 0);
    break;
  case 4:
    rc = lp2p_host_open_stream(h, w->now, other, protos[fdp_u8(f) % 11], slot);
    check(rc <= 0);
    break;
  case 5: {
    lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, data,
                                          fdp_range(f, 0, sizeof data));
    check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
          k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
    break;
  }
  case 6: {
    size_t len = 0;
    lp2p_host_stream_read_peek(h, *slot, &len);
    if (len)
      check(lp2p_host_stream_read_consume(h, w->now, *slot,
                                          fdp_range(f, 0, len)) == 0);
    break;
  }
  case 7:
    lp2p_host_stream_close(h, w->now, *slot);
    break;
  case 8:
    lp2p_host_stream_reset(h, w->now, *slot);
    break;
  case 9:
    rc = lp2p_host_register_protocol(h, protos[fdp_u8(f) % 11]);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  case 10:
    lp2p_host_close_peer(h, w->now, other);
    break;
  case 11: { /* resource pressure: write as much as the stream takes and
              * never read the answers (echo, or an app that does not read) */
    static uint8_t big[4096];
    int rounds = 1 + fdp_u8(f) % 32;
    for (int i = 0; i < rounds; i++) {
      lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, big, sizeof big);
      check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
            k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
      if (k <= 0)
        break;
    }
    break;
  }
  default:
    if (fdp_u8(f) == 0x77)
      lp2p_host_close(h, w->now);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  world w;
  memset(&w, 0, sizeof w);
  w.now = LP2P_NS_PER_S;
  lp2p_rng_chacha rs[2];
  lp2p_rng rng[2];
  uint16_t fail = fdp_u16(&f);
  uint64_t budget[2];
  for (int i = 0; i < 2; i++) {
    lp2p_host_config c;
    lp2p_host_config_default(&c);
    c.identity = fixed_key(i);
    c.conns_max = 4;
    c.conns_pending_max = 3;
    c.event_queue_max = 64;
    c.yamux.streams_max = 8;
    c.yamux.accept_backlog_max = 4;
    c.handshake_timeout_ns = 2 * LP2P_NS_PER_S;
    c.raws_max = 6;
    c.raw_send_bytes_max = RAW_BUF_MAX;
    c.raw_recv_bytes_max = RAW_BUF_MAX;
    c.udp_queue_max = 4;
    c.udp_send_queue_max = 4;
    c.relay.hop = i == 0; /* host 0 relays, with small limits */
    c.relay.reservations_max = 2;
    c.relay.circuits_max = 2;
    c.relay.limit_data_bytes = 4096;
    c.dcutr.enabled = 1; /* dcutr streams (on relayed connections) */
    /* host 0 serves AutoNAT (dialing back private addresses); host 1's
     * automatic client counts every address as public, so it asks */
    c.autonat.server = i == 0;
    c.autonat.s.allow_private = 1;
    c.autonat.is_public = all_public;
    /* the DHT: host 0 serves it (fuzzed bytes on kad streams), host 1 is
     * a client whose table fills when host 0 is identified */
    c.kad.mode = i == 0 ? LP2P_KAD_MODE_SERVER : LP2P_KAD_MODE_CLIENT;
    /* the server filters what it serves (public: its 10.x peers go out
     * without addresses); the client keeps every address it is told,
     * so fuzzed answers still reach its peerstore and dials */
    c.kad.addr_filter = i == 0 ? LP2P_KAD_ADDRS_PUBLIC : LP2P_KAD_ADDRS_ALL;
    c.kad.queries_max = 2;
    c.kad.requests_max = 4;
    /* host 0 maps its port: SSDP, PCP and NAT-PMP datagrams and the UPnP
     * HTTP bytes are the input's (its gateway is "host" 2, port 5351) */
    if (i == 0) {
      c.portmap.method = LP2P_PORTMAP_AUTO;
      sa_of(2, 5351, &c.portmap.gateway);
    }
    if (fdp_bool(&f))
      c.security = LP2P_HOST_SECURITY_PLAINTEXT;
    /* resource pressure: small memory grants and stream caps */
    uint8_t pr = fdp_u8(&f);
    if (pr & 0x80) {
      uint64_t base = c.memory_per_conn_base;
      c.memory_max = base * (uint64_t)(2 + (pr & 7));
      c.memory_per_peer_max = base * (uint64_t)(1 + ((pr >> 3) & 3));
      c.memory_per_conn_max = base << ((pr >> 5) & 3);
      c.streams_inbound_per_peer_max = 1u + (pr & 3u);
      c.streams_inbound_per_protocol_peer_max = 1u + ((pr >> 2) & 3u);
      c.streams_inbound_reserve_peer_max = 1;
    }
    budget[i] = c.memory_max;
    lp2p_rng_chacha_init(&rs[i], 7, (uint64_t)i, &rng[i]);
    check(lp2p_host_new(&w.h[i], &c, &mc.mem, &rng[i], w.now) == 0);
    check(host_svc_register(w.h[i], &fsvc_ops, NULL) == 0);
    check(lp2p_peerid_from_pubkey(&w.id[i], &fixed_key(i)->pub) == 0);
  }
  lp2p_maddr any;
  lp2p_sockaddr sa;
  sa_of(0, 0, &sa);
  check(lp2p_sockaddr_to_maddr(&any, &sa) == 0);
  check(lp2p_host_listen(w.h[0], &any, NULL) == 0);
  drain(&w);
  /* Fail one allocation from here on (0 = none). */
  if (fail & 1)
    mc.fail_at = mc.total_allocs + (fail >> 1);
  for (int steps = 0; steps < 4000 && fdp_left(&f); steps++) {
    int ci = fdp_u8(&f) % CONNS_MAX;
    fconn *c = &w.c[ci];
    switch (fdp_u8(&f) % 16) {
    case 0: { /* a raw inbound connection */
      if (c->used)
        break;
      lp2p_sockaddr remote;
      sa_of(9, (uint16_t)(60000 + ci), &remote);
      uint64_t id = 0;
      if (w.listener &&
          lp2p_host_conn_accepted(w.h[0], w.listener, &remote, &remote, w.now,
                                  &id) == 0)
        *c = (fconn){1, 1, id, 0, 0, 0};
      break;
    }
    case 1: { /* input bytes into a raw connection */
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 512);
      if (c->used && c->raw && !c->a_dead) {
        lp2p_ssize k = lp2p_host_conn_feed(w.h[0], c->a, w.now, p, n);
        check(k == LP2P_ERR_NOT_FOUND || (k >= 0 && (size_t)k <= n));
        size_t len = 0;
        lp2p_host_out_peek(w.h[0], c->a, &len);
        if (len)
          check(lp2p_host_conn_out_consume(w.h[0], c->a, fdp_range(&f, 0, len)) ==
                0);
      }
      break;
    }
    case 2:
    case 3:
    case 4: /* shuttle real traffic, maybe with a flipped byte */
      if (c->used) {
        int from = fdp_bool(&f);
        size_t n = fdp_range(&f, 1, 4096);
        int flip = fdp_u8(&f) == 0xf1 ? (int)fdp_u16(&f) + 1 : 0;
        shuttle(&w, c, from, n, flip, fdp_u8(&f));
      }
      break;
    case 5: /* EOF */
      if (c->used) {
        if (fdp_bool(&f) || c->raw) {
          if (!c->a_dead)
            lp2p_host_conn_eof(w.h[0], c->a, w.now);
        } else if (!c->b_dead) {
          lp2p_host_conn_eof(w.h[1], c->b, w.now);
        }
      }
      break;
    case 6: /* reset both ends */
      if (c->used) {
        if (!c->a_dead)
          lp2p_host_conn_reset(w.h[0], c->a, LP2P_ERR_RESET, w.now);
        if (!c->raw && !c->b_dead)
          lp2p_host_conn_reset(w.h[1], c->b, LP2P_ERR_RESET, w.now);
        memset(c, 0, sizeof *c);
      }
      break;
    case 7: /* time */
      w.now += (uint64_t)fdp_u16(&f) * LP2P_NS_PER_MS;
      for (int i = 0; i < 2; i++) {
        lp2p_tstamp t = lp2p_host_next_timeout(w.h[i]);
        if (t <= w.now)
          check(lp2p_host_handle_timeout(w.h[i], w.now) == 0);
      }
      break;
    case 8: /* let all real traffic settle (fast path to deep states) */
      for (int round = 0; round < 64; round++) {
        for (int i = 0; i < CONNS_MAX; i++)
          if (w.c[i].used && !w.c[i].raw) {
            shuttle(&w, &w.c[i], 0, 4096, 0, 0);
            shuttle(&w, &w.c[i], 1, 4096, 0, 0);
          }
        drain(&w);
      }
      break;
    case 12:
    case 13:
      raw_op(&w, &f);
      break;
    case 14:
    case 15:
      svc_op(&w, &f);
      break;
    default:
      app(&w, &f);
      break;
    }
    drain(&w);
    /* the resource manager never grants past the budget */
    for (int i = 0; i < 2; i++) {
      lp2p_host_stats hs;
      lp2p_host_stats_get(w.h[i], &hs);
      check(hs.memory_used <= budget[i]);
    }
  }
  lp2p_host_stats st;
  lp2p_host_stats_get(w.h[0], &st);
  check(st.conns <= 4 + 3 + 64);
  lp2p_host_free(w.h[0]);
  lp2p_host_free(w.h[1]);
  check(mc.live_bytes == 0);
  return 0;
}
