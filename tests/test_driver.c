/* Both drivers pass the same cases over real loopback TCP: two hosts in one
 * process, each on its own driver (epoll/epoll, poll/poll, epoll/poll):
 * listen on port 0, dial with /p2p, ping, an echo stream byte-exact, perf,
 * a wrong /p2p id, a refused port, graceful close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"

typedef struct node {
  lp2p_privkey key;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_host *h;
  lp2p_driver *d;
} node;

static void node_start_n(node *n, const lp2p_backend *b, uint64_t seed,
                         uint32_t per_peer) {
  lp2p_rng_chacha_init(&n->st, seed, 0, &n->rng);
  assert_int_equal(lp2p_key_generate(&n->key, LP2P_KEY_ED25519, 0, &n->rng), 0);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n->key;
  if (per_peer)
    cfg.conns_per_peer_max = per_peer;
  assert_int_equal(lp2p_host_new(&n->h, &cfg, NULL, &n->rng, lp2p_clock_now()), 0);
  assert_int_equal(lp2p_driver_new(&n->d, n->h, b), 0);
}

static void node_start(node *n, const lp2p_backend *b, uint64_t seed) {
  node_start_n(n, b, seed, 0);
}

static void node_stop(node *n) {
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
}

/* Step both drivers until `want` shows up on `on` (other events are kept
 * in a small log for the caller to check). Fails the test after 10 s. */
static lp2p_host_event wait_ev(node *a, node *b, node *on,
                               lp2p_host_event_kind want) {
  lp2p_tstamp end = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  while (lp2p_clock_now() < end) {
    node *ns[2] = {a, b};
    for (int i = 0; i < 2; i++) {
      lp2p_driver_step(ns[i]->d, 1);
      while (lp2p_host_poll_event(ns[i]->h, &ev)) {
        if (ns[i] == on && ev.kind == want)
          return ev;
        if (ev.kind == LP2P_HOST_EV_STREAM_INBOUND) /* echo is built in */
          continue;
      }
    }
  }
  fail_msg("timed out waiting for %s", lp2p_host_event_name(want));
  return ev;
}

static lp2p_maddr listen_on(node *a, node *b) {
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, "/ip4/127.0.0.1/tcp/0", 20), 0);
  assert_int_equal(lp2p_host_listen(a->h, &ma, NULL), 0);
  lp2p_host_event ev = wait_ev(a, b, a, LP2P_HOST_EV_LISTENING);
  uint16_t port = 0;
  int fam = 0, udp = 0;
  uint8_t ip[16];
  lp2p_maddr bound;
  assert_int_equal(lp2p_host_listener_addr(a->h, ev.u.listen.listener, &bound),
                   0);
  assert_int_equal(lp2p_maddr_to_ip_port(&bound, &fam, ip, &port, &udp), 0);
  assert_true(port != 0);
  return bound;
}

static void with_peer_id(lp2p_maddr *ma, const lp2p_peerid *id) {
  char text[600], idt[LP2P_PEERID_TEXT_MAX];
  size_t l, il;
  assert_int_equal(lp2p_maddr_to_string(ma, text, sizeof text, &l), 0);
  assert_int_equal(lp2p_peerid_to_base58(id, idt, sizeof idt, &il), 0);
  snprintf(text + l, sizeof text - l, "/p2p/%.*s", (int)il, idt);
  assert_int_equal(lp2p_maddr_parse(ma, text, strlen(text)), 0);
}

static void run_pair(const lp2p_backend *ba, const lp2p_backend *bb) {
  node a, b;
  node_start(&a, ba, 1);
  node_start(&b, bb, 2);
  lp2p_maddr addr = listen_on(&a, &b);
  lp2p_maddr good = addr;
  with_peer_id(&good, lp2p_host_peer_id(a.h));

  /* a wrong /p2p id (a third identity's) fails with a named reason */
  uint64_t dial;
  node c;
  node_start(&c, bb, 3);
  lp2p_maddr bad = addr;
  with_peer_id(&bad, lp2p_host_peer_id(c.h));
  node_stop(&c);
  assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &bad, 0, &dial), 0);
  lp2p_host_event ev = wait_ev(&a, &b, &b, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(ev.err, LP2P_ERR_PEER_ID_MISMATCH);

  /* connect, ping */
  assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &good, 0, &dial), 0);
  ev = wait_ev(&a, &b, &b, LP2P_HOST_EV_DIAL_DONE);
  assert_true(lp2p_peerid_equal(&ev.peer, lp2p_host_peer_id(a.h)));
  assert_int_equal(lp2p_host_ping(b.h, lp2p_clock_now(), lp2p_host_peer_id(a.h)), 0);
  ev = wait_ev(&a, &b, &b, LP2P_HOST_EV_PING_RESULT);
  assert_int_equal(ev.err, 0);
  assert_true(ev.u.ping.rtt_ns > 0);

  /* an echo stream carries 1 MiB byte-exact */
  uint64_t s;
  assert_int_equal(lp2p_host_open_stream(b.h, lp2p_clock_now(),
                                         lp2p_host_peer_id(a.h), "/echo/1.0.0", &s), 0);
  size_t total = 1 << 20, sent = 0, got = 0;
  uint8_t *data = malloc(total);
  for (size_t i = 0; i < total; i++)
    data[i] = (uint8_t)(i * 131 + 7);
  lp2p_tstamp end = lp2p_clock_now() + 20 * LP2P_NS_PER_S;
  int closed = 0;
  while (got < total && lp2p_clock_now() < end) {
    if (sent < total) {
      lp2p_ssize w = lp2p_host_stream_write(b.h, lp2p_clock_now(), s, data + sent, total - sent);
      assert_true(w >= 0);
      sent += (size_t)w;
    }
    if (sent == total && !closed) {
      assert_int_equal(lp2p_host_stream_close(b.h, lp2p_clock_now(), s), 0);
      closed = 1;
    }
    lp2p_driver_step(b.d, 1);
    lp2p_driver_step(a.d, 1);
    size_t len;
    const uint8_t *p = lp2p_host_stream_read_peek(b.h, s, &len);
    if (len) {
      assert_true(got + len <= total);
      assert_memory_equal(p, data + got, len);
      got += len;
      lp2p_host_stream_read_consume(b.h, lp2p_clock_now(), s, len);
    }
    while (lp2p_host_poll_event(a.h, &ev))
      ;
    while (lp2p_host_poll_event(b.h, &ev))
      ;
  }
  assert_int_equal(got, total);
  free(data);

  /* perf 8 MiB each way */
  assert_int_equal(lp2p_host_perf(b.h, lp2p_clock_now(), lp2p_host_peer_id(a.h),
                                  8u << 20, 8u << 20), 0);
  ev = wait_ev(&a, &b, &b, LP2P_HOST_EV_PERF_RESULT);
  assert_int_equal(ev.err, 0);
  assert_int_equal(ev.u.perf.upload_bytes, 8u << 20);
  assert_int_equal(ev.u.perf.download_bytes, 8u << 20);

  /* graceful close: both sides see the disconnect */
  assert_int_equal(lp2p_host_close_peer(b.h, lp2p_clock_now(), lp2p_host_peer_id(a.h)), 0);
  ev = wait_ev(&a, &b, &a, LP2P_HOST_EV_PEER_DISCONNECTED);
  /* graceful on the wire too: GoAway(normal) seen, no RST */
  assert_int_equal(ev.err, 0);
  assert_int_equal(ev.u.disconnected.goaway, 0);
  node_stop(&a);

  /* the port is closed now: dialing it is refused */
  assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &addr, LP2P_DIAL_FORCE, &dial), 0);
  lp2p_tstamp e2 = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
  int failed = 0;
  while (!failed && lp2p_clock_now() < e2) {
    lp2p_driver_step(b.d, 5);
    while (lp2p_host_poll_event(b.h, &ev))
      if (ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
        assert_int_equal(ev.err, LP2P_ERR_REFUSED);
        failed = 1;
      }
  }
  assert_true(failed);
  node_stop(&b);
}

static void test_epoll(void **s) {
  (void)s;
  run_pair(lp2p_backend_epoll(), lp2p_backend_epoll());
}
static void test_poll(void **s) {
  (void)s;
  run_pair(lp2p_backend_poll(), lp2p_backend_poll());
}
static void test_mixed(void **s) {
  (void)s;
  run_pair(lp2p_backend_epoll(), lp2p_backend_poll());
}

/* Write and half-close at once, while the stream is still negotiating:
 * the FIN must still go out once the protocol is agreed, and the echo
 * must come back complete. */
static void run_short_echo(const lp2p_backend *be) {
  node a, b;
  node_start(&a, be, 21);
  node_start(&b, be, 22);
  lp2p_maddr addr = listen_on(&a, &b);
  with_peer_id(&addr, lp2p_host_peer_id(a.h));
  uint64_t dial, s;
  assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &addr, 0, &dial), 0);
  wait_ev(&a, &b, &b, LP2P_HOST_EV_DIAL_DONE);
  assert_int_equal(lp2p_host_open_stream(b.h, lp2p_clock_now(),
                                         lp2p_host_peer_id(a.h), "/echo/1.0.0", &s), 0);
  uint8_t data[1000];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)i;
  assert_int_equal(lp2p_host_stream_write(b.h, lp2p_clock_now(), s, data, sizeof data),
                   (lp2p_ssize)sizeof data);
  assert_int_equal(lp2p_host_stream_close(b.h, lp2p_clock_now(), s), 0);
  size_t got = 0;
  lp2p_tstamp end = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  while (!(got == sizeof data && lp2p_host_stream_at_eof(b.h, s)) &&
         lp2p_clock_now() < end) {
    lp2p_driver_step(b.d, 1);
    lp2p_driver_step(a.d, 1);
    size_t len;
    const uint8_t *p = lp2p_host_stream_read_peek(b.h, s, &len);
    if (len) {
      assert_true(got + len <= sizeof data);
      assert_memory_equal(p, data + got, len);
      got += len;
      lp2p_host_stream_read_consume(b.h, lp2p_clock_now(), s, len);
    }
    while (lp2p_host_poll_event(a.h, &ev))
      ;
    while (lp2p_host_poll_event(b.h, &ev))
      ;
  }
  assert_int_equal(got, sizeof data);
  assert_true(lp2p_host_stream_at_eof(b.h, s));
  node_stop(&b);
  node_stop(&a);
}

static void test_short_echo_epoll(void **s) {
  (void)s;
  run_short_echo(lp2p_backend_epoll());
}

/* lp2p_driver_run serves until its stop flag is set (a pure server): a
 * forked child queues a listen on a port picked here, then runs; the
 * parent pings it, then SIGTERM sets the flag and the child exits 0. */
static volatile int run_stop;
static void on_term(int sig) {
  (void)sig;
  run_stop = 1;
}

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)&a, sizeof a);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  close(fd);
  return ntohs(a.sin_port);
}

static void test_driver_run(void **st) {
  (void)st;
  uint16_t port = free_port();
  char text[64];
  snprintf(text, sizeof text, "/ip4/127.0.0.1/tcp/%u", port);
  lp2p_maddr addr;
  assert_int_equal(lp2p_maddr_parse(&addr, text, strlen(text)), 0);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGTERM, on_term);
    node a;
    lp2p_rng_chacha_init(&a.st, 41, 0, &a.rng);
    lp2p_key_generate(&a.key, LP2P_KEY_ED25519, 0, &a.rng);
    lp2p_host_config cfg;
    lp2p_host_config_default(&cfg);
    cfg.identity = &a.key;
    int rc = lp2p_host_new(&a.h, &cfg, NULL, &a.rng, lp2p_clock_now());
    if (rc == 0)
      rc = lp2p_host_listen(a.h, &addr, NULL);
    if (write(ready[1], "r", 1) != 1)
      rc = -1;
    if (rc == 0)
      rc = lp2p_driver_run(a.h, lp2p_backend_poll(), &run_stop);
    lp2p_host_free(a.h);
    _exit(rc == 0 ? 0 : 1);
  }
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  node b;
  node_start(&b, lp2p_backend_epoll(), 42);
  uint64_t dial;
  lp2p_host_event ev;
  lp2p_peerid peer;
  int up = 0;
  /* the child binds as soon as its loop starts: retry refused dials */
  for (int tries = 0; tries < 50 && !up; tries++) {
    assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &addr, 0, &dial), 0);
    int done = 0;
    while (!done) {
      lp2p_driver_step(b.d, 10);
      while (lp2p_host_poll_event(b.h, &ev)) {
        if (ev.kind == LP2P_HOST_EV_DIAL_DONE) {
          done = up = 1;
          peer = ev.peer;
        }
        if (ev.kind == LP2P_HOST_EV_DIAL_FAILED)
          done = 1;
      }
    }
    if (!up)
      usleep(20000);
  }
  int pinged = 0;
  if (up && lp2p_host_ping(b.h, lp2p_clock_now(), &peer) == 0) {
    lp2p_tstamp end = lp2p_clock_now() + 10 * LP2P_NS_PER_S;
    while (!pinged && lp2p_clock_now() < end) {
      lp2p_driver_step(b.d, 10);
      while (lp2p_host_poll_event(b.h, &ev))
        if (ev.kind == LP2P_HOST_EV_PING_RESULT)
          pinged = ev.err == 0 ? 1 : -1;
    }
  }
  node_stop(&b);
  kill(pid, SIGTERM); /* before any assertion: never leave the child */
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  close(ready[0]);
  close(ready[1]);
  assert_true(up);
  assert_int_equal(pinged, 1);
}

/* 120 connections accepted in bursts: the driver's slot table grows (and
 * moves) while a listener is accepting (a bug found at 4,096 connections
 * by bench_host; ASan catches any stale pointer here). */
static void run_many(const lp2p_backend *be) {
  node a, b;
  node_start_n(&a, be, 11, 200);
  node_start_n(&b, be, 12, 200);
  lp2p_maddr addr = listen_on(&a, &b);
  with_peer_id(&addr, lp2p_host_peer_id(a.h));
  const int want = 120; /* below the default dials_max and pending limits (128) */
  for (int i = 0; i < want; i++) {
    uint64_t dial;
    assert_int_equal(lp2p_host_dial(b.h, lp2p_clock_now(), &addr, LP2P_DIAL_FORCE, &dial), 0);
  }
  int done = 0, in = 0;
  lp2p_tstamp end = lp2p_clock_now() + 30 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  while ((done < want || in < want) && lp2p_clock_now() < end) {
    lp2p_driver_step(b.d, 1);
    lp2p_driver_step(a.d, 1);
    while (lp2p_host_poll_event(b.h, &ev)) {
      assert_int_not_equal(ev.kind, LP2P_HOST_EV_DIAL_FAILED);
      done += ev.kind == LP2P_HOST_EV_DIAL_DONE;
    }
    while (lp2p_host_poll_event(a.h, &ev))
      in += ev.kind == LP2P_HOST_EV_PEER_CONNECTED;
  }
  assert_int_equal(done, want);
  assert_int_equal(in, want);
  lp2p_host_stats st;
  lp2p_host_stats_get(a.h, &st);
  assert_int_equal(st.conns_open, want);
  node_stop(&b);
  node_stop(&a);
}

static void test_many_epoll(void **s) {
  (void)s;
  run_many(lp2p_backend_epoll());
}
static void test_many_poll(void **s) {
  (void)s;
  run_many(lp2p_backend_poll());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_epoll),
      cmocka_unit_test(test_poll),
      cmocka_unit_test(test_mixed),
      cmocka_unit_test(test_short_echo_epoll),
      cmocka_unit_test(test_driver_run),
      cmocka_unit_test(test_many_epoll),
      cmocka_unit_test(test_many_poll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
