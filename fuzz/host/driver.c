/* fuzz_host's in-target driver: it answers the hosts' io requests, pairs
 * B's dials with accepts on A, moves bytes between paired connections and
 * polls events, checking what the hosts report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/host/world.h"

void fh_check_at(int ok, const char *file, int line) {
  if (!ok) {
    fprintf(stderr, "fuzz_host: check failed at %s:%d\n", file, line);
    abort();
  }
}

void fh_sa_of(int host, uint16_t port, lp2p_sockaddr *sa) {
  memset(sa, 0, sizeof *sa);
  sa->family = 4;
  sa->ip[0] = 10;
  sa->ip[3] = (uint8_t)(host + 1);
  sa->port = port;
}

void fh_mark_dead(world *w, int host, uint64_t conn) {
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
void fh_drain(world *w) {
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
          fh_sa_of(hi, 4001, &b);
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
          fh_sa_of(hi, (uint16_t)(50000 + slot), &local);
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
          fh_mark_dead(w, hi, io.conn);
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
void fh_shuttle(world *w, fconn *c, int from, size_t n, int flip,
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

lp2p_maddr fh_a_addr(world *w, int with_id) {
  lp2p_sockaddr sa;
  fh_sa_of(0, w->port, &sa);
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
