/* Both readiness backends pass the same cases over socketpairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lp2p/driver.h"

static void run_backend(const lp2p_backend *b) {
  void *st = NULL;
  assert_int_equal(b->init(&st), 0);
  int sv[2], sw[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sw), 0);
  lp2p_poll_ready r[8];

  assert_int_equal(b->add(st, sv[0], LP2P_POLL_READ, 11), 0);
  assert_int_equal(b->add(st, sw[0], LP2P_POLL_READ, 22), 0);
  assert_true(b->add(st, sv[0], LP2P_POLL_READ, 11) < 0); /* duplicate */
  /* nothing readable yet: times out */
  assert_int_equal(b->wait(st, 10, r, 8), 0);
  /* readable after a write, with the right tag */
  assert_int_equal(write(sw[1], "x", 1), 1);
  int n = b->wait(st, 1000, r, 8);
  assert_int_equal(n, 1);
  assert_true(r[0].tag == 22);
  assert_true(r[0].events & LP2P_POLL_READ);
  /* write interest: a socket with room is writable at once */
  assert_int_equal(b->mod(st, sv[0], LP2P_POLL_READ | LP2P_POLL_WRITE, 33), 0);
  n = b->wait(st, 1000, r, 8);
  int saw_w = 0;
  for (int i = 0; i < n; i++)
    if (r[i].tag == 33 && (r[i].events & LP2P_POLL_WRITE))
      saw_w = 1;
  assert_true(saw_w);
  /* del removes the fd; the other stays */
  assert_int_equal(b->del(st, sv[0]), 0);
  n = b->wait(st, 10, r, 8);
  for (int i = 0; i < n; i++)
    assert_true(r[i].tag == 22);
  /* hang-up is reported as readable/error */
  close(sw[1]);
  char c;
  assert_int_equal(read(sw[0], &c, 1), 1);
  n = b->wait(st, 1000, r, 8);
  assert_int_equal(n, 1);
  assert_true(r[0].events & LP2P_POLL_READ);
  assert_int_equal(b->del(st, sw[0]), 0);
  b->destroy(st);
  close(sv[0]);
  close(sv[1]);
  close(sw[0]);
}

static void test_epoll(void **s) { (void)s; run_backend(lp2p_backend_epoll()); }
static void test_poll(void **s) { (void)s; run_backend(lp2p_backend_poll()); }

static void test_by_name(void **s) {
  (void)s;
  assert_ptr_equal(lp2p_backend_by_name("epoll"), lp2p_backend_epoll());
  assert_ptr_equal(lp2p_backend_by_name("poll"), lp2p_backend_poll());
  assert_null(lp2p_backend_by_name("kqueue"));
  lp2p_tstamp a = lp2p_clock_now(), b = lp2p_clock_now();
  assert_true(b >= a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_epoll),
      cmocka_unit_test(test_poll),
      cmocka_unit_test(test_by_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
