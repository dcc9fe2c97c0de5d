/* Ping wire helpers: 32-byte accumulation across chunk boundaries and the
 * echo comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ping/ping_wire.h"

static void test_acc_chunks(void **state) {
  (void)state;
  uint8_t in[40];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t)i;
  lp2p_ping_acc a;
  memset(&a, 0, sizeof a);
  int full = 0;
  assert_int_equal(lp2p_ping_acc_feed(&a, in, 5, &full), 5);
  assert_false(full);
  assert_int_equal(lp2p_ping_acc_feed(&a, in + 5, 0, &full), 0);
  assert_false(full);
  /* Takes only what completes the payload. */
  assert_int_equal(lp2p_ping_acc_feed(&a, in + 5, 35, &full), 27);
  assert_true(full);
  assert_memory_equal(a.buf, in, 32);
  /* Full: takes nothing more until reset. */
  assert_int_equal(lp2p_ping_acc_feed(&a, in, 3, &full), 0);
  a.len = 0;
  assert_int_equal(lp2p_ping_acc_feed(&a, in + 32, 8, &full), 8);
  assert_false(full);
}

static void test_match(void **state) {
  (void)state;
  uint8_t a[32], b[32];
  for (int i = 0; i < 32; i++)
    a[i] = b[i] = (uint8_t)(i * 7);
  assert_true(lp2p_ping_match(a, b));
  for (int i = 0; i < 32; i++) {
    b[i] ^= 0x01;
    assert_false(lp2p_ping_match(a, b));
    b[i] ^= 0x01;
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acc_chunks),
      cmocka_unit_test(test_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
