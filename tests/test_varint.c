/* Unsigned varint: known answers from the multiformats unsigned-varint
 * README, minimality and the 9-byte limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/varint.h"

typedef struct kat {
  uint64_t v;
  size_t n;
  uint8_t b[10];
} kat;

static const kat kats[] = {
    {1, 1, {0x01}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x01}},
    {255, 2, {0xff, 0x01}},
    {300, 2, {0xac, 0x02}},
    {16384, 3, {0x80, 0x80, 0x01}},
    {0, 1, {0x00}},
    {0x72, 1, {0x72}},
    {421, 2, {0xa5, 0x03}},
    {(UINT64_C(1) << 63) - 1,
     9,
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
};

static void test_encode_kat(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
    uint8_t out[10];
    size_t len = 0;
    assert_int_equal(lp2p_varint_len(kats[i].v), kats[i].n);
    assert_int_equal(lp2p_varint_encode(kats[i].v, out, sizeof out, &len), 0);
    assert_int_equal(len, kats[i].n);
    assert_memory_equal(out, kats[i].b, len);
  }
}

static void test_decode_kat(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
    uint64_t v = 12345;
    lp2p_ssize r = lp2p_varint_decode(kats[i].b, kats[i].n, &v);
    assert_int_equal(r, (lp2p_ssize)kats[i].n);
    assert_true(v == kats[i].v);
    /* Trailing bytes are not consumed. */
    uint8_t buf[12];
    memcpy(buf, kats[i].b, kats[i].n);
    buf[kats[i].n] = 0xff;
    assert_int_equal(lp2p_varint_decode(buf, kats[i].n + 1, &v),
                     (lp2p_ssize)kats[i].n);
  }
}

static void test_encode_nospace(void **state) {
  (void)state;
  uint8_t out[10];
  memset(out, 0xee, sizeof out);
  size_t len = 99;
  assert_int_equal(lp2p_varint_encode(300, out, 1, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(out[0], 0xee);
  assert_int_equal(len, 99);
  assert_int_equal(lp2p_varint_encode(0, out, 0, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_varint_encode(300, out, 2, NULL), 0);
  assert_int_equal(lp2p_varint_len(UINT64_MAX), 10);
  assert_int_equal(lp2p_varint_encode(UINT64_MAX, out, 10, &len), 0);
  assert_int_equal(len, 10);
  assert_int_equal(out[9], 0x01);
}

static void test_truncated(void **state) {
  (void)state;
  uint64_t v = 7;
  const uint8_t a[] = {0x80, 0x80};
  assert_int_equal(lp2p_varint_decode(a, 0, &v), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_varint_decode(a, 1, &v), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_varint_decode(a, 2, &v), LP2P_ERR_TRUNCATED);
  assert_int_equal(v, 7);
}

static void test_nonminimal(void **state) {
  (void)state;
  uint64_t v = 7;
  const uint8_t a[] = {0x80, 0x00};
  const uint8_t b[] = {0x81, 0x80, 0x00};
  const uint8_t c[] = {0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(lp2p_varint_decode(a, 2, &v), LP2P_ERR_NONMINIMAL);
  assert_int_equal(lp2p_varint_decode(b, 3, &v), LP2P_ERR_NONMINIMAL);
  assert_int_equal(lp2p_varint_decode(c, 9, &v), LP2P_ERR_NONMINIMAL);
  assert_int_equal(v, 7);
}

static void test_overflow(void **state) {
  (void)state;
  uint64_t v = 7;
  uint8_t a[10];
  memset(a, 0xff, 9);
  a[9] = 0x01; /* 2^64-1: valid protobuf, too long for multiformats */
  assert_int_equal(lp2p_varint_decode(a, 10, &v), LP2P_ERR_OVERFLOW);
  assert_int_equal(lp2p_varint_decode(a, 9, &v), LP2P_ERR_OVERFLOW);
  /* 2^63 needs 10 bytes. */
  uint8_t b[10];
  size_t len;
  assert_int_equal(lp2p_varint_encode(UINT64_C(1) << 63, b, 10, &len), 0);
  assert_int_equal(len, 10);
  assert_int_equal(lp2p_varint_decode(b, len, &v), LP2P_ERR_OVERFLOW);
  assert_int_equal(v, 7);
}

static void test_roundtrip_sweep(void **state) {
  (void)state;
  /* Every bit length and its neighbours. */
  for (unsigned bits = 0; bits < 63; bits++) {
    uint64_t base = UINT64_C(1) << bits;
    uint64_t vals[3] = {base - 1, base, base + 1};
    for (int j = 0; j < 3; j++) {
      uint8_t out[10];
      size_t len;
      uint64_t got;
      if (vals[j] >= UINT64_C(1) << 63)
        continue;
      assert_int_equal(lp2p_varint_encode(vals[j], out, sizeof out, &len), 0);
      assert_true(len <= LP2P_VARINT_MF_MAX_LEN);
      assert_int_equal(lp2p_varint_decode(out, len, &got), (lp2p_ssize)len);
      assert_true(got == vals[j]);
      if (len > 1)
        assert_int_equal(lp2p_varint_decode(out, len - 1, &got),
                         LP2P_ERR_TRUNCATED);
    }
  }
}

static void test_inval(void **state) {
  (void)state;
  uint8_t b[1] = {1};
  uint64_t v;
  assert_int_equal(lp2p_varint_decode(b, 1, NULL), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_varint_decode(NULL, 1, &v), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_varint_encode(1, NULL, 4, NULL), LP2P_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_kat),      cmocka_unit_test(test_decode_kat),
      cmocka_unit_test(test_encode_nospace),  cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_nonminimal),      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_roundtrip_sweep), cmocka_unit_test(test_inval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
