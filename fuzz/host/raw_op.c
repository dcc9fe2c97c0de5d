/* fuzz_host's raw-socket op: raw TCP and UDP sockets on host A, the input
 * playing their application and their driver. */
#include <string.h>

#include "fuzz/host/world.h"
#include "proto/host/host_raw.h"

/* A raw-socket step on host A: the input plays the application and the
 * driver at once, with ids that may be stale. */
void fh_raw_op(world *w, fdp *f) {
  lp2p_host *h = w->h[0];
  uint64_t *r = &w->raw[fdp_u8(f) % RAWS_MAX];
  lp2p_sockaddr a;
  fh_sa_of(fdp_u8(f) & 3, fdp_u16(f), &a);
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
