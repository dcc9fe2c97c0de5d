/* Raw sockets over real loopback sockets, on the epoll and the poll
 * backend: a 1 MiB echo through a raw listener and a raw connect with
 * half-close on both sides, reset, the send/receive bounds against a peer
 * that never reads and an application that never consumes, UDP with a
 * per-datagram TTL checked at the receiver (IP_RECVTTL), multicast join,
 * lp2p_driver_watch on a pipe, and raw sockets owned by a service (the
 * placeholder hook of proto/host/host_raw_svc_hook.c), and the zero-copy
 * receive calls (lp2p_host_raw_recv_buf / _recv_commit) by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "proto/host/host_raw.h"

#define ECHO_BYTES (1u << 20)
#define BUF_MAX (64u * 1024)

typedef struct rnode {
  lp2p_privkey key;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_mem_counting mem;
  lp2p_host *h;
  lp2p_driver *d;
} rnode;

static void start(rnode *n, const lp2p_backend *b) {
  lp2p_rng_chacha_init(&n->st, 7, 0, &n->rng);
  assert_int_equal(lp2p_key_generate(&n->key, LP2P_KEY_ED25519, 0, &n->rng), 0);
  lp2p_mem_counting_init(&n->mem, NULL);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n->key;
  cfg.raw_send_bytes_max = BUF_MAX;
  cfg.raw_recv_bytes_max = BUF_MAX;
  assert_int_equal(
      lp2p_host_new(&n->h, &cfg, &n->mem.mem, &n->rng, lp2p_clock_now()), 0);
  assert_int_equal(lp2p_driver_new(&n->d, n->h, b), 0);
}

static void stop(rnode *n) {
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
  assert_int_equal(n->mem.live_bytes, 0);
}

static lp2p_sockaddr loop4(uint16_t port) {
  lp2p_sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.family = 4;
  sa.ip[0] = 127;
  sa.ip[3] = 1;
  sa.port = port;
  return sa;
}

/* Step until an event of `kind` for `raw` (0 = any raw) comes; the events
 * seen on the way go to `on_ev` (may be NULL). Fails after 10 s. */
typedef void (*ev_fn)(rnode *n, const lp2p_host_event *ev, void *ud);
static lp2p_host_event wait_for(rnode *n, lp2p_host_event_kind kind,
                                uint64_t raw, ev_fn on_ev, void *ud) {
  lp2p_tstamp end = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  while (lp2p_clock_now() < end) {
    lp2p_driver_step(n->d, 5);
    while (lp2p_host_poll_event(n->h, &ev)) {
      if (on_ev)
        on_ev(n, &ev, ud);
      if (ev.kind == kind && (!raw || ev.u.raw.id == raw))
        return ev;
    }
  }
  fail_msg("timed out waiting for %s", lp2p_host_event_name(kind));
  return ev;
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131 + (i >> 9)); }

/* ---- 1 MiB echo with half-close ------------------------------------------- */

typedef struct echo {
  uint64_t srv, cli;
  size_t sent, got;
  int srv_eof, cli_closed_ev, srv_closed_ev, bad;
} echo;

static void echo_ev(rnode *n, const lp2p_host_event *ev, void *ud) {
  echo *e = ud;
  lp2p_tstamp now = lp2p_clock_now();
  if (ev->kind == LP2P_HOST_EV_RAW_ACCEPTED)
    e->srv = ev->u.raw.id;
  if (ev->kind == LP2P_HOST_EV_RAW_CLOSED) {
    if (ev->err)
      e->bad = 1;
    if (ev->u.raw.id == e->cli)
      e->cli_closed_ev = 1;
    if (ev->u.raw.id == e->srv)
      e->srv_closed_ev = 1;
  }
  if (ev->kind == LP2P_HOST_EV_RAW_REMOTE_CLOSED && ev->u.raw.id == e->srv)
    e->srv_eof = 1;
  /* server: echo what it can, consume only what was written back */
  size_t len;
  const uint8_t *p;
  if (e->srv && (p = lp2p_host_raw_read_peek(n->h, e->srv, &len)) && len) {
    lp2p_ssize w = lp2p_host_raw_write(n->h, now, e->srv, p, len);
    if (w > 0)
      lp2p_host_raw_read_consume(n->h, now, e->srv, (size_t)w);
  }
  if (e->srv_eof && lp2p_host_raw_at_eof(n->h, e->srv))
    lp2p_host_raw_close(n->h, now, e->srv);
  /* client: check the echo, keep writing the pattern, FIN at the end */
  while ((p = lp2p_host_raw_read_peek(n->h, e->cli, &len)) && len) {
    for (size_t i = 0; i < len; i++)
      if (p[i] != pattern(e->got + i))
        e->bad = 1;
    e->got += len;
    lp2p_host_raw_read_consume(n->h, now, e->cli, len);
  }
  uint8_t buf[8192];
  while (e->sent < ECHO_BYTES) {
    size_t k = ECHO_BYTES - e->sent < sizeof buf ? ECHO_BYTES - e->sent
                                                 : sizeof buf;
    for (size_t i = 0; i < k; i++)
      buf[i] = pattern(e->sent + i);
    lp2p_ssize w = lp2p_host_raw_write(n->h, now, e->cli, buf, k);
    if (w <= 0)
      break;
    e->sent += (size_t)w;
    if (e->sent == ECHO_BYTES)
      lp2p_host_raw_close(n->h, now, e->cli);
  }
}

static void run_echo(const lp2p_backend *b) {
  rnode n;
  start(&n, b);
  lp2p_sockaddr bind = loop4(0);
  uint64_t l;
  assert_int_equal(lp2p_host_raw_listen(n.h, &bind, 0, &l), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_LISTENING, l, NULL, NULL);
  lp2p_host_raw_info li;
  assert_int_equal(lp2p_host_raw_info_get(n.h, l, &li), 0);
  assert_int_equal(li.kind, LP2P_RAW_LISTENER);
  assert_int_not_equal(li.local.port, 0);
  echo e;
  memset(&e, 0, sizeof e);
  lp2p_sockaddr to = loop4(li.local.port);
  assert_int_equal(lp2p_host_raw_connect(n.h, lp2p_clock_now(), &to, NULL, 0,
                                         0, &e.cli),
                   0);
  lp2p_driver_flush(n.d);
  wait_for(&n, LP2P_HOST_EV_RAW_CONNECTED, e.cli, echo_ev, &e);
  lp2p_tstamp end = lp2p_clock_now() + 20 * LP2P_NS_PER_S;
  while (!(e.cli_closed_ev && e.srv_closed_ev) && lp2p_clock_now() < end) {
    lp2p_driver_step(n.d, 5);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(n.h, &ev))
      echo_ev(&n, &ev, &e);
    echo_ev(&n, &(lp2p_host_event){.kind = LP2P_HOST_EV_EVENTS_LOST}, &e);
  }
  assert_false(e.bad);
  assert_int_equal(e.sent, ECHO_BYTES);
  assert_int_equal(e.got, ECHO_BYTES);
  assert_true(e.cli_closed_ev);
  assert_true(e.srv_closed_ev);
  /* both ids are dead after RAW_CLOSED */
  assert_int_equal(lp2p_host_raw_close(n.h, 0, e.cli), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_host_raw_close(n.h, 0, l), 0);
  lp2p_driver_flush(n.d);
  stop(&n);
}

static void test_echo_epoll(void **st) {
  (void)st;
  run_echo(lp2p_backend_epoll());
}
static void test_echo_poll(void **st) {
  (void)st;
  run_echo(lp2p_backend_poll());
}

/* ---- reset --------------------------------------------------------------- */

static void capture_accept(rnode *n, const lp2p_host_event *ev, void *ud) {
  (void)n;
  if (ev->kind == LP2P_HOST_EV_RAW_ACCEPTED)
    *(uint64_t *)ud = ev->u.raw.id;
}

static void run_reset(const lp2p_backend *b) {
  rnode n;
  start(&n, b);
  lp2p_sockaddr bind = loop4(0);
  uint64_t l, cli, srv = 0;
  assert_int_equal(lp2p_host_raw_listen(n.h, &bind, LP2P_RAW_REUSEPORT, &l), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_LISTENING, l, NULL, NULL);
  lp2p_host_raw_info li;
  lp2p_host_raw_info_get(n.h, l, &li);
  lp2p_sockaddr to = loop4(li.local.port);
  assert_int_equal(
      lp2p_host_raw_connect(n.h, lp2p_clock_now(), &to, NULL, 0, 0, &cli), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_CONNECTED, cli, capture_accept, &srv);
  while (!srv)
    wait_for(&n, LP2P_HOST_EV_RAW_ACCEPTED, 0, capture_accept, &srv);
  assert_int_equal(lp2p_host_raw_write(n.h, 0, cli, (const uint8_t *)"x", 1), 1);
  assert_int_equal(lp2p_host_raw_reset(n.h, lp2p_clock_now(), cli), 0);
  assert_int_equal(lp2p_host_raw_write(n.h, 0, cli, (const uint8_t *)"x", 1),
                   LP2P_ERR_NOT_FOUND);
  lp2p_driver_flush(n.d);
  lp2p_host_event ev = wait_for(&n, LP2P_HOST_EV_RAW_CLOSED, srv, NULL, NULL);
  assert_int_not_equal(ev.err, 0); /* an abort, not a clean close */
  assert_int_equal(lp2p_host_raw_info_get(n.h, srv, &li), LP2P_ERR_NOT_FOUND);
  stop(&n);
}

/* ---- lp2p_host_close ends raw sockets too ----------------------------------- */

typedef struct closing {
  uint64_t srv;
  uint64_t closed[8];
  int nclosed, host_closed;
} closing;

static void closing_ev(rnode *n, const lp2p_host_event *ev, void *ud) {
  (void)n;
  closing *c = ud;
  if (ev->kind == LP2P_HOST_EV_RAW_ACCEPTED)
    c->srv = ev->u.raw.id;
  if (ev->kind == LP2P_HOST_EV_RAW_CLOSED && c->nclosed < 8) {
    assert_int_equal(ev->err, LP2P_ERR_CLOSED);
    c->closed[c->nclosed++] = ev->u.raw.id;
  }
  if (ev->kind == LP2P_HOST_EV_CLOSED)
    c->host_closed = 1;
}

static int closed_has(const closing *c, uint64_t id) {
  for (int i = 0; i < c->nclosed; i++)
    if (c->closed[i] == id)
      return 1;
  return 0;
}

static void test_host_close_ends_raw(void **st) {
  (void)st;
  rnode n;
  start(&n, lp2p_backend_epoll());
  lp2p_sockaddr bind = loop4(0);
  uint64_t l, cli, udp;
  closing c;
  memset(&c, 0, sizeof c);
  assert_int_equal(lp2p_host_raw_listen(n.h, &bind, 0, &l), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_LISTENING, l, NULL, NULL);
  assert_int_equal(lp2p_host_udp_open(n.h, &bind, 0, &udp), 0);
  wait_for(&n, LP2P_HOST_EV_UDP_READY, udp, NULL, NULL);
  lp2p_host_raw_info li;
  lp2p_host_raw_info_get(n.h, l, &li);
  lp2p_sockaddr to = loop4(li.local.port);
  assert_int_equal(
      lp2p_host_raw_connect(n.h, lp2p_clock_now(), &to, NULL, 0, 0, &cli), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_CONNECTED, cli, closing_ev, &c);
  while (!c.srv)
    wait_for(&n, LP2P_HOST_EV_RAW_ACCEPTED, 0, closing_ev, &c);
  assert_int_equal(lp2p_host_close(n.h, lp2p_clock_now()), 0);
  wait_for(&n, LP2P_HOST_EV_CLOSED, 0, closing_ev, &c);
  /* every raw socket was ended and told, before the host reported CLOSED */
  assert_true(closed_has(&c, l) && closed_has(&c, udp) &&
              closed_has(&c, cli) && closed_has(&c, c.srv));
  assert_int_equal(lp2p_host_raw_info_get(n.h, cli, &li), LP2P_ERR_NOT_FOUND);
  stop(&n);
}

static void test_reset_epoll(void **st) {
  (void)st;
  run_reset(lp2p_backend_epoll());
}
static void test_reset_poll(void **st) {
  (void)st;
  run_reset(lp2p_backend_poll());
}

/* ---- bounds: a peer that never reads, an owner that never consumes ------- */

static int os_listener(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  *port = ntohs(a.sin_port);
  return fd;
}

static void run_bounds(const lp2p_backend *b) {
  rnode n;
  start(&n, b);
  uint16_t port;
  int lfd = os_listener(&port);
  int small = 4096;
  setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  lp2p_sockaddr to = loop4(port);
  uint64_t r;
  assert_int_equal(
      lp2p_host_raw_connect(n.h, lp2p_clock_now(), &to, NULL, 0, 0, &r), 0);
  wait_for(&n, LP2P_HOST_EV_RAW_CONNECTED, r, NULL, NULL);
  int pfd = accept(lfd, NULL, NULL);
  assert_true(pfd >= 0);
  fcntl(pfd, F_SETFL, O_NONBLOCK);
  /* Write 64 MiB worth of attempts at a peer that never reads. */
  static uint8_t chunk[65536];
  size_t accepted = 0;
  int shorts = 0;
  for (int i = 0; i < 1024; i++) {
    lp2p_ssize w =
        lp2p_host_raw_write(n.h, lp2p_clock_now(), r, chunk, sizeof chunk);
    assert_true(w >= 0);
    accepted += (size_t)w;
    if ((size_t)w < sizeof chunk)
      shorts++;
    lp2p_driver_step(n.d, 0);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(n.h, &ev))
      ;
  }
  lp2p_host_raw_info info;
  assert_int_equal(lp2p_host_raw_info_get(n.h, r, &info), 0);
  assert_true(info.send_buffered <= BUF_MAX);
  assert_true(shorts > 0);                 /* writes were refused ... */
  assert_true(accepted < 64u * 1024 * 1024); /* ... so the rest stayed out */
  /* The other way: the peer floods, the owner never consumes. */
  size_t flood = 0;
  for (int i = 0; i < 2000; i++) {
    ssize_t w = send(pfd, chunk, sizeof chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0)
      flood += (size_t)w;
    lp2p_driver_step(n.d, 0);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(n.h, &ev))
      ;
  }
  assert_int_equal(lp2p_host_raw_info_get(n.h, r, &info), 0);
  assert_int_equal(info.recv_buffered, BUF_MAX); /* full, and no further */
  assert_true(flood < 64u * 1024 * 1024);      /* the kernel pushed back */
  assert_int_equal(lp2p_host_raw_recv_room(n.h, r), 0);
  /* host memory: both buffers at their bound plus small change */
  fprintf(stderr, "peak %zu\n", (size_t)n.mem.peak_bytes);
  assert_true(n.mem.peak_bytes < 2 * BUF_MAX + 256 * 1024);
  size_t len;
  assert_non_null(lp2p_host_raw_read_peek(n.h, r, &len));
  assert_int_equal(len, BUF_MAX);
  close(pfd);
  close(lfd);
  stop(&n);
}

static void test_bounds_epoll(void **st) {
  (void)st;
  run_bounds(lp2p_backend_epoll());
}
static void test_bounds_poll(void **st) {
  (void)st;
  run_bounds(lp2p_backend_poll());
}

/* ---- UDP ------------------------------------------------------------------- */

/* A plain socket that reports each datagram's received IP TTL. */
static int ttl_socket(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  int one = 1;
  assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one), 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Returns the datagram length and its TTL in *ttl, -1 when none came. */
static ssize_t recv_ttl(rnode *n, int fd, uint8_t *buf, size_t cap, int *ttl) {
  for (int i = 0; i < 200; i++) {
    lp2p_driver_step(n->d, 5);
    struct iovec iov = {buf, cap};
    union {
      char b[CMSG_SPACE(sizeof(int))];
      struct cmsghdr a;
    } cm;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof cm.b;
    ssize_t r = recvmsg(fd, &mh, 0);
    if (r < 0)
      continue;
    *ttl = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
        memcpy(ttl, CMSG_DATA(c), sizeof *ttl);
    return r;
  }
  return -1;
}

static void run_udp(const lp2p_backend *b) {
  rnode n;
  start(&n, b);
  lp2p_sockaddr bind = loop4(0);
  uint64_t u;
  assert_int_equal(lp2p_host_udp_open(n.h, &bind, 0, &u), 0);
  lp2p_sockaddr to = loop4(9);
  assert_int_equal(
      lp2p_host_udp_send(n.h, u, &to, 0, (const uint8_t *)"x", 1),
      LP2P_ERR_STATE); /* not bound yet */
  wait_for(&n, LP2P_HOST_EV_UDP_READY, u, NULL, NULL);
  lp2p_host_raw_info info;
  assert_int_equal(lp2p_host_raw_info_get(n.h, u, &info), 0);
  assert_int_equal(info.kind, LP2P_RAW_UDP);
  uint16_t port;
  int fd = ttl_socket(&port);
  to = loop4(port);
  uint8_t buf[64];
  int ttl = 0;
  /* TTL 1 still arrives on loopback, and the receiver sees TTL 1 */
  assert_int_equal(
      lp2p_host_udp_send(n.h, u, &to, 1, (const uint8_t *)"low", 3), 0);
  lp2p_driver_flush(n.d);
  assert_int_equal(recv_ttl(&n, fd, buf, sizeof buf, &ttl), 3);
  assert_memory_equal(buf, "low", 3);
  assert_int_equal(ttl, 1);
  /* TTL 0 = the system default, not 1 and not sticky from before */
  assert_int_equal(
      lp2p_host_udp_send(n.h, u, &to, 0, (const uint8_t *)"dflt", 4), 0);
  lp2p_driver_flush(n.d);
  assert_int_equal(recv_ttl(&n, fd, buf, sizeof buf, &ttl), 4);
  assert_true(ttl > 1);
  /* and back: a datagram to the host's socket, with its sender */
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(info.local.port);
  assert_int_equal(sendto(fd, "pong", 4, 0, (struct sockaddr *)&a, sizeof a), 4);
  wait_for(&n, LP2P_HOST_EV_UDP_READABLE, u, NULL, NULL);
  lp2p_sockaddr from;
  size_t len;
  const uint8_t *p = lp2p_host_udp_recv_peek(n.h, u, &from, &len);
  assert_non_null(p);
  assert_int_equal(len, 4);
  assert_memory_equal(p, "pong", 4);
  assert_int_equal(from.port, port);
  assert_int_equal(lp2p_host_udp_recv_consume(n.h, u), 0);
  assert_int_equal(lp2p_host_udp_recv_consume(n.h, u), LP2P_ERR_AGAIN);
  /* the receive queue is bounded: a burst beyond udp_queue_max drops */
  for (int i = 0; i < 200; i++)
    sendto(fd, "b", 1, 0, (struct sockaddr *)&a, sizeof a);
  for (int i = 0; i < 20; i++)
    lp2p_driver_step(n.d, 2);
  assert_int_equal(lp2p_host_raw_info_get(n.h, u, &info), 0);
  assert_int_equal(info.recv_buffered, 64);
  assert_true(info.dropped > 0);
  assert_int_equal(lp2p_host_udp_close(n.h, u), 0);
  assert_int_equal(lp2p_host_udp_close(n.h, u), LP2P_ERR_NOT_FOUND);
  lp2p_driver_flush(n.d);
  close(fd);
  stop(&n);
}

static void test_udp_epoll(void **st) {
  (void)st;
  run_udp(lp2p_backend_epoll());
}
static void test_udp_poll(void **st) {
  (void)st;
  run_udp(lp2p_backend_poll());
}

/* Multicast through the host: one socket joins 239.255.255.250 (SSDP's
 * group), another sends to it; IP_MULTICAST_LOOP (on by default) brings
 * it back on this machine. */
static void test_multicast(void **st) {
  (void)st;
  rnode n;
  start(&n, lp2p_backend_epoll());
  lp2p_sockaddr any = loop4(0);
  memset(any.ip, 0, sizeof any.ip);
  uint64_t rx, tx;
  assert_int_equal(lp2p_host_udp_open(n.h, &any, 0, &rx), 0);
  wait_for(&n, LP2P_HOST_EV_UDP_READY, rx, NULL, NULL);
  assert_int_equal(lp2p_host_udp_open(n.h, &any, 0, &tx), 0);
  wait_for(&n, LP2P_HOST_EV_UDP_READY, tx, NULL, NULL);
  lp2p_sockaddr group = any;
  group.ip[0] = 239;
  group.ip[1] = 255;
  group.ip[2] = 255;
  group.ip[3] = 250;
  lp2p_sockaddr bad = loop4(0);
  assert_int_equal(lp2p_host_udp_join(n.h, rx, &bad), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_host_udp_join(n.h, rx, &group), 0);
  lp2p_host_event ev = wait_for(&n, LP2P_HOST_EV_UDP_JOINED, rx, NULL, NULL);
  if (ev.err)
    fail_msg("the kernel refused IP_ADD_MEMBERSHIP 239.255.255.250 (%s): "
             "this machine needs a multicast-capable route (a default "
             "route or 224.0.0.0/4) for the multicast test",
             lp2p_strerror(ev.err));
  lp2p_host_raw_info info;
  lp2p_host_raw_info_get(n.h, rx, &info);
  group.port = info.local.port;
  assert_int_equal(
      lp2p_host_udp_send(n.h, tx, &group, 1, (const uint8_t *)"M-SEARCH", 8),
      0);
  lp2p_driver_flush(n.d);
  wait_for(&n, LP2P_HOST_EV_UDP_READABLE, rx, NULL, NULL);
  size_t len;
  const uint8_t *p = lp2p_host_udp_recv_peek(n.h, rx, NULL, &len);
  assert_int_equal(len, 8);
  assert_memory_equal(p, "M-SEARCH", 8);
  stop(&n);
}

/* ---- lp2p_driver_watch on a pipe ------------------------------------------- */

static void run_watch(const lp2p_backend *b) {
  rnode n;
  start(&n, b);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(lp2p_driver_watch(n.d, fds[0], LP2P_POLL_READ, 42), 0);
  assert_int_equal(lp2p_driver_watch(n.d, fds[0], LP2P_POLL_READ, 43),
                   LP2P_ERR_INVAL);
  uint64_t tag;
  unsigned events;
  lp2p_driver_step(n.d, 0);
  assert_int_equal(lp2p_driver_poll_watch(n.d, &tag, &events), 0);
  assert_int_equal(write(fds[1], "k", 1), 1);
  lp2p_tstamp t0 = lp2p_clock_now();
  lp2p_driver_step(n.d, 5000); /* wakes for the pipe, not the cap */
  assert_true(lp2p_clock_now() - t0 < 2 * LP2P_NS_PER_S);
  assert_int_equal(lp2p_driver_poll_watch(n.d, &tag, &events), 1);
  assert_int_equal(tag, 42);
  assert_true(events & LP2P_POLL_READ);
  assert_int_equal(lp2p_driver_poll_watch(n.d, &tag, &events), 0);
  /* level-triggered: still readable, reported again */
  lp2p_driver_step(n.d, 0);
  assert_int_equal(lp2p_driver_poll_watch(n.d, &tag, &events), 1);
  char c;
  assert_int_equal(read(fds[0], &c, 1), 1);
  lp2p_driver_step(n.d, 0);
  assert_int_equal(lp2p_driver_poll_watch(n.d, &tag, &events), 0);
  assert_int_equal(lp2p_driver_unwatch(n.d, fds[0]), 0);
  assert_int_equal(lp2p_driver_unwatch(n.d, fds[0]), LP2P_ERR_NOT_FOUND);
  /* the descriptor is still ours: the driver did not close it */
  assert_int_equal(write(fds[1], "k", 1), 1);
  assert_int_equal(read(fds[0], &c, 1), 1);
  close(fds[0]);
  close(fds[1]);
  stop(&n);
}

static void test_watch_epoll(void **st) {
  (void)st;
  run_watch(lp2p_backend_epoll());
}
static void test_watch_poll(void **st) {
  (void)st;
  run_watch(lp2p_backend_poll());
}

/* ---- sockets owned by a service --------------------------------------------- */

/* A test service that records its raw_activity hook. */
typedef struct rawsvc {
  uint32_t svc;
  uint64_t calls, last_raw;
  unsigned last_what;
} rawsvc;

static int rs_init(lp2p_host *h, uint32_t svc, void **state) {
  (void)h;
  rawsvc *r = calloc(1, sizeof *r);
  r->svc = svc;
  *state = r;
  return 0;
}

static void rs_fini(lp2p_host *h, void *state) {
  (void)h;
  free(state);
}

static void rs_raw(lp2p_host *h, void *state, uint64_t raw, unsigned what,
                   lp2p_tstamp now) {
  (void)h;
  (void)now;
  rawsvc *r = state;
  r->calls++;
  r->last_raw = raw;
  r->last_what = what;
}

static const hsvc_ops rawsvc_ops = {
    .name = "raw-test", .init = rs_init, .fini = rs_fini,
    .raw_activity = rs_raw};

/* A raw listener a service owns reports to the service's hook, never to
 * the application; connections it accepts inherit the owner. */
static void test_service_owner(void **st) {
  (void)st;
  rnode n;
  start(&n, lp2p_backend_epoll());
  uint32_t svc = 0;
  assert_int_equal(host_svc_register(n.h, &rawsvc_ops, &svc), 0);
  rawsvc *rs = host_svc_state(n.h, &rawsvc_ops, NULL);
  lp2p_sockaddr bind = loop4(0);
  uint64_t l, cli;
  assert_int_equal(host_raw_listen(n.h, svc + 1, &bind, 0, &l), 0);
  for (int i = 0; i < 50 && !rs->calls; i++)
    lp2p_driver_step(n.d, 5);
  assert_int_equal(rs->calls, 1);
  assert_int_equal(rs->last_raw, l);
  assert_int_equal(rs->last_what, LP2P_HOST_EV_RAW_LISTENING);
  lp2p_host_raw_info li;
  lp2p_host_raw_info_get(n.h, l, &li);
  lp2p_sockaddr to = loop4(li.local.port);
  assert_int_equal(
      lp2p_host_raw_connect(n.h, lp2p_clock_now(), &to, NULL, 0, 0, &cli), 0);
  int accepted = 0, app_saw_service = 0;
  for (int i = 0; i < 200 && !accepted; i++) {
    lp2p_driver_step(n.d, 5);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(n.h, &ev))
      if ((ev.kind >= LP2P_HOST_EV_RAW_LISTENING && ev.u.raw.id == l) ||
          ev.kind == LP2P_HOST_EV_RAW_ACCEPTED)
        app_saw_service = 1;
    accepted = rs->last_what == LP2P_HOST_EV_RAW_ACCEPTED;
  }
  assert_true(accepted);
  assert_false(app_saw_service);
  uint64_t srv = rs->last_raw;
  assert_int_not_equal(srv, l);
  /* bytes to the service's connection are reported to the service too */
  assert_int_equal(lp2p_host_raw_write(n.h, 0, cli, (const uint8_t *)"hi", 2),
                   2);
  lp2p_driver_flush(n.d);
  for (int i = 0; i < 200 && rs->last_what != LP2P_HOST_EV_RAW_READABLE; i++)
    lp2p_driver_step(n.d, 5);
  assert_int_equal(rs->last_what, LP2P_HOST_EV_RAW_READABLE);
  assert_int_equal(rs->last_raw, srv);
  size_t len;
  const uint8_t *p = lp2p_host_raw_read_peek(n.h, srv, &len);
  assert_int_equal(len, 2);
  assert_memory_equal(p, "hi", 2);
  stop(&n);
}


/* The zero-copy receive calls, driven by hand (no driver): no region
 * before feed made a buffer (an idle connection allocates nothing); then
 * the region starts small, a full one moves it to 64 KiB and then doubles
 * it, it never passes recv_room, commits larger than the region (or after
 * another call voided it) are refused, bytes written there read back in
 * order, and a full buffer offers no region. */
#define RB_MAX (256u * 1024)
static uint8_t *region(rnode *n, uint64_t r, size_t expect) {
  size_t cap = RB_MAX;
  uint8_t *p = lp2p_host_raw_recv_buf(n->h, r, &cap);
  assert_non_null(p);
  assert_int_equal(cap, expect);
  return p;
}

static void test_recv_buf(void **st) {
  (void)st;
  rnode n;
  lp2p_rng_chacha_init(&n.st, 7, 0, &n.rng);
  assert_int_equal(lp2p_key_generate(&n.key, LP2P_KEY_ED25519, 0, &n.rng), 0);
  lp2p_mem_counting_init(&n.mem, NULL);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n.key;
  cfg.raw_recv_bytes_max = RB_MAX;
  lp2p_tstamp now = lp2p_clock_now();
  assert_int_equal(lp2p_host_new(&n.h, &cfg, &n.mem.mem, &n.rng, now), 0);
  lp2p_sockaddr a = loop4(4000);
  uint64_t l = 0, r = 0;
  assert_int_equal(lp2p_host_raw_listen(n.h, &a, 0, &l), 0);
  lp2p_io io;
  while (lp2p_host_poll_io(n.h, &io))
    ;
  assert_int_equal(lp2p_host_raw_bound(n.h, l, 0, &a, now), 0);
  assert_int_equal(lp2p_host_raw_accepted(n.h, l, &a, &a, now, &r), 0);

  /* a fresh connection has no buffer: its first bytes go through feed */
  size_t cap = RB_MAX;
  assert_null(lp2p_host_raw_recv_buf(n.h, r, &cap));
  assert_int_equal(cap, 0);
  uint8_t first[100];
  for (int j = 0; j < 100; j++)
    first[j] = (uint8_t)j;
  assert_int_equal(lp2p_host_raw_feed(n.h, r, now, first, 100), 100);
  /* then regions: 4 KiB (growing the buffer to 8 KiB), after that the
   * free end whole; a full one -> 64 KiB -> doubles */
  const size_t regions[] = {4096, 65536, 131072};
  const size_t fills[] = {8192 - 100, 65536, 1};
  size_t total = 100;
  uint8_t v = 100;
  for (int i = 0; i < 3; i++) {
    uint8_t *p = region(&n, r, regions[i]);
    if (i == 0) {
      assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, 4097),
                       LP2P_ERR_INVAL); /* larger than the region */
      p = region(&n, r, 8192 - 100);
    }
    for (size_t j = 0; j < fills[i]; j++)
      p[j] = v++;
    assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, fills[i]),
                     (lp2p_ssize)fills[i]);
    total += fills[i];
  }
  assert_int_equal(lp2p_host_raw_recv_room(n.h, r), RB_MAX - total);
  /* a second commit without a region takes nothing */
  assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, 1), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, 0), 0);
  /* another call in between voids the region */
  region(&n, r, RB_MAX - total);
  assert_int_equal(lp2p_host_raw_read_consume(n.h, now, r, 0), 0);
  assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, 1), LP2P_ERR_INVAL);
  size_t len = 0;
  const uint8_t *d = lp2p_host_raw_read_peek(n.h, r, &len);
  assert_int_equal(len, total);
  for (size_t j = 0; j < len; j++)
    assert_int_equal(d[j], (uint8_t)j);
  /* the free end is offered whole, up to recv_room; then nothing */
  uint8_t *p = region(&n, r, RB_MAX - total);
  memset(p, 0, RB_MAX - total);
  assert_int_equal(lp2p_host_raw_recv_commit(n.h, r, now, RB_MAX - total),
                   (lp2p_ssize)(RB_MAX - total));
  assert_int_equal(lp2p_host_raw_recv_room(n.h, r), 0);
  cap = RB_MAX;
  assert_null(lp2p_host_raw_recv_buf(n.h, r, &cap));
  assert_int_equal(cap, 0);
  /* after EOF nothing more is taken */
  assert_int_equal(lp2p_host_raw_read_consume(n.h, now, r, 100), 0);
  assert_int_equal(lp2p_host_raw_eof(n.h, r, now), 0);
  cap = RB_MAX;
  assert_null(lp2p_host_raw_recv_buf(n.h, r, &cap));
  lp2p_host_free(n.h);
  assert_int_equal(n.mem.live_bytes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_epoll),    cmocka_unit_test(test_echo_poll),
      cmocka_unit_test(test_reset_epoll),   cmocka_unit_test(test_reset_poll),
      cmocka_unit_test(test_bounds_epoll),  cmocka_unit_test(test_bounds_poll),
      cmocka_unit_test(test_udp_epoll),     cmocka_unit_test(test_udp_poll),
      cmocka_unit_test(test_multicast),     cmocka_unit_test(test_watch_epoll),
      cmocka_unit_test(test_watch_poll),    cmocka_unit_test(test_service_owner),
      cmocka_unit_test(test_host_close_ends_raw),
      cmocka_unit_test(test_recv_buf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
