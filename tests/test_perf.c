/* Perf wire helpers: the 8-byte big-endian download size, read in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/perf/perf_wire.h"

static void test_hdr_encode(void **state) {
  (void)state;
  uint8_t out[8];
  lp2p_perf_hdr_encode(out, UINT64_C(0x0102030405060708));
  const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(out, want, 8);
  lp2p_perf_hdr_encode(out, 0);
  const uint8_t zero[8] = {0};
  assert_memory_equal(out, zero, 8);
  lp2p_perf_hdr_encode(out, UINT64_MAX);
  for (int i = 0; i < 8; i++)
    assert_int_equal(out[i], 0xff);
}

static void test_hdr_feed_pieces(void **state) {
  (void)state;
  const uint64_t vals[] = {0, 1, 10485760, UINT64_C(0xdeadbeefcafebabe),
                           UINT64_MAX};
  for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
    uint8_t wire[12];
    lp2p_perf_hdr_encode(wire, vals[k]);
    memset(wire + 8, 0xaa, 4); /* payload that follows */
    for (size_t step = 1; step <= 12; step++) {
      lp2p_perf_hdr_reader r;
      memset(&r, 0, sizeof r);
      size_t pos = 0;
      int done = 0;
      uint64_t got = 1234;
      while (!done && pos < sizeof wire) {
        size_t n = sizeof wire - pos < step ? sizeof wire - pos : step;
        pos += lp2p_perf_hdr_feed(&r, wire + pos, n, &done, &got);
      }
      assert_true(done);
      assert_int_equal(pos, 8); /* never eats payload */
      assert_true(got == vals[k]);
    }
  }
}

static void test_payload_block(void **state) {
  (void)state;
  size_t len = 0;
  const uint8_t *p = lp2p_perf_payload(&len);
  assert_non_null(p);
  assert_true(len >= 4096);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hdr_encode),
      cmocka_unit_test(test_hdr_feed_pieces),
      cmocka_unit_test(test_payload_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
