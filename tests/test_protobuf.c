/* Protobuf wire format: known encodings (protobuf.dev encoding guide
 * examples), every wire type, malformed input and the sticky writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/protobuf.h"

/* Encoding guide: message Test1 { int32 a = 1; } with a = 150. */
static void test_guide_examples(void **state) {
  (void)state;
  uint8_t buf[32];
  lp2p_pb_writer w;
  size_t len;
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_varint(&w, 1, 150);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), 0);
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "\x08\x96\x01", 3);

  /* Test2 { string b = 2; } b = "testing". */
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_string(&w, 2, "testing");
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), 0);
  assert_int_equal(len, 9);
  assert_memory_equal(buf, "\x12\x07testing", 9);

  /* Test3 { Test1 c = 3; } with c.a = 150: submessage via tag_len + raw. */
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_tag_len(&w, 3, lp2p_pb_size_varint(1, 150));
  lp2p_pb_put_varint(&w, 1, 150);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "\x1a\x03\x08\x96\x01", 5);
}

static void test_read_all_types(void **state) {
  (void)state;
  uint8_t buf[128];
  lp2p_pb_writer w;
  size_t len;
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_varint(&w, 1, UINT64_MAX); /* 10-byte varint */
  lp2p_pb_put_fixed64(&w, 2, UINT64_C(0x0102030405060708));
  lp2p_pb_put_fixed32(&w, 3, 0xdeadbeef);
  lp2p_pb_put_bytes(&w, 4, (const uint8_t *)"abc", 3);
  lp2p_pb_put_bytes(&w, 5, NULL, 0);
  lp2p_pb_put_varint(&w, LP2P_PB_FIELD_MAX, 0);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), 0);
  /* fixed64 is little-endian on the wire. */
  assert_memory_equal(buf + 11, "\x11\x08\x07\x06\x05\x04\x03\x02\x01", 9);

  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, buf, len);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 1);
  assert_int_equal(f.wire, LP2P_PB_VARINT);
  assert_true(f.u64 == UINT64_MAX);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 2);
  assert_int_equal(f.wire, LP2P_PB_FIXED64);
  assert_true(f.u64 == UINT64_C(0x0102030405060708));
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.wire, LP2P_PB_FIXED32);
  assert_true(f.u64 == 0xdeadbeef);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.wire, LP2P_PB_LEN);
  assert_int_equal(f.len, 3);
  assert_memory_equal(f.bytes, "abc", 3);
  assert_ptr_equal(f.bytes, buf + 27);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 5);
  assert_int_equal(f.len, 0);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, LP2P_PB_FIELD_MAX);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
}

static int first_result(const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, p, n);
  return lp2p_pb_next(&r, &f);
}

static void test_malformed(void **state) {
  (void)state;
  /* field number 0 */
  assert_int_equal(first_result((const uint8_t *)"\x00\x01", 2),
                   LP2P_ERR_PARSE);
  /* groups (wire 3 start, 4 end) and undefined 6, 7 */
  assert_int_equal(first_result((const uint8_t *)"\x0b", 1), LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x0c", 1), LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x0e\x00", 2),
                   LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x0f\x00", 2),
                   LP2P_ERR_PARSE);
  /* truncated tag, varint, fixed64, fixed32 */
  assert_int_equal(first_result((const uint8_t *)"\x88", 1), LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x08", 1), LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x08\x96", 2),
                   LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x09\1\2\3\4\5\6\7", 8),
                   LP2P_ERR_PARSE);
  assert_int_equal(first_result((const uint8_t *)"\x0d\1\2\3", 4),
                   LP2P_ERR_PARSE);
  /* length past the end, and a huge length that must not wrap */
  assert_int_equal(first_result((const uint8_t *)"\x0a\x04"
                                                 "abc",
                                5),
                   LP2P_ERR_PARSE);
  const uint8_t huge[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0x01, 'a'};
  assert_int_equal(first_result(huge, sizeof huge), LP2P_ERR_PARSE);
  /* varint overflowing 64 bits (10th byte > 1) and 11-byte varint */
  const uint8_t ovf[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0x02};
  assert_int_equal(first_result(ovf, sizeof ovf), LP2P_ERR_PARSE);
  const uint8_t eleven[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
                            0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_int_equal(first_result(eleven, sizeof eleven), LP2P_ERR_PARSE);
  /* field number above 2^29-1: tag (2^29) << 3 */
  const uint8_t bignum[] = {0x80, 0x80, 0x80, 0x80, 0x20, 0x00};
  assert_int_equal(first_result(bignum, sizeof bignum), LP2P_ERR_PARSE);
  /* Errors are sticky at the failing field; earlier fields still read. */
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, (const uint8_t *)"\x08\x01\x0b", 3);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(lp2p_pb_next(&r, &f), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_pb_next(&r, &f), LP2P_ERR_PARSE);
  /* empty input is a clean end; NULL buffer too */
  assert_int_equal(first_result(NULL, 0), 0);
  assert_int_equal(first_result(NULL, 5), 0);
}

static void test_nonminimal_accepted(void **state) {
  (void)state;
  /* Protobuf parsers accept padded varints; we do too when reading. */
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, (const uint8_t *)"\x88\x00\x81\x00", 4);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.num, 1);
  assert_int_equal(f.u64, 1);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
}

static void test_writer_nospace_sticky(void **state) {
  (void)state;
  uint8_t buf[4];
  memset(buf, 0xee, sizeof buf);
  lp2p_pb_writer w;
  size_t len;
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_varint(&w, 1, 1);                        /* 2 bytes fit */
  lp2p_pb_put_bytes(&w, 2, (const uint8_t *)"xyz", 3); /* 5: no */
  lp2p_pb_put_varint(&w, 3, 1);                        /* would fit, sticky */
  assert_int_equal(w.err, LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(len, 9);                /* size needed */
  assert_memory_equal(buf, "\x08\x01", 2); /* earlier fields intact */

  /* Measuring pass with no buffer. */
  lp2p_pb_writer_init(&w, NULL, 0);
  lp2p_pb_put_string(&w, 2, "testing");
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(len, lp2p_pb_size_bytes(2, 7));
  assert_int_equal(len, 9);

  /* Exact fit. */
  lp2p_pb_writer_init(&w, buf, 3);
  lp2p_pb_put_varint(&w, 1, 150);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), 0);
  assert_int_equal(len, 3);
}

static void test_writer_inval(void **state) {
  (void)state;
  uint8_t buf[16];
  lp2p_pb_writer w;
  size_t len;
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_varint(&w, 0, 1);
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), LP2P_ERR_INVAL);
  lp2p_pb_put_varint(&w, 1, 1); /* sticky: nothing more written */
  assert_int_equal(lp2p_pb_writer_finish(&w, &len), LP2P_ERR_INVAL);
  assert_int_equal(len, 0);

  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_fixed32(&w, LP2P_PB_FIELD_MAX + 1, 1);
  assert_int_equal(lp2p_pb_writer_finish(&w, NULL), LP2P_ERR_INVAL);
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_bytes(&w, 1, NULL, 3);
  assert_int_equal(lp2p_pb_writer_finish(&w, NULL), LP2P_ERR_INVAL);
  lp2p_pb_writer_init(&w, buf, sizeof buf);
  lp2p_pb_put_string(&w, 1, NULL);
  assert_int_equal(lp2p_pb_writer_finish(&w, NULL), LP2P_ERR_INVAL);
}

static void test_roundtrip_nested(void **state) {
  (void)state;
  /* Outer { 1: Inner { 1: varint 7, 2: "hi" }, 2: fixed32 }. */
  uint8_t inner[16], outer[32];
  lp2p_pb_writer w;
  size_t ilen, olen;
  lp2p_pb_writer_init(&w, inner, sizeof inner);
  lp2p_pb_put_varint(&w, 1, 7);
  lp2p_pb_put_string(&w, 2, "hi");
  assert_int_equal(lp2p_pb_writer_finish(&w, &ilen), 0);
  lp2p_pb_writer_init(&w, outer, sizeof outer);
  lp2p_pb_put_tag_len(&w, 1, ilen);
  lp2p_pb_put_raw(&w, inner, ilen);
  lp2p_pb_put_fixed32(&w, 2, 42);
  assert_int_equal(lp2p_pb_writer_finish(&w, &olen), 0);

  lp2p_pb_reader r, r2;
  lp2p_pb_field f, g;
  lp2p_pb_reader_init(&r, outer, olen);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.wire, LP2P_PB_LEN);
  lp2p_pb_reader_init(&r2, f.bytes, f.len);
  assert_int_equal(lp2p_pb_next(&r2, &g), 1);
  assert_int_equal(g.u64, 7);
  assert_int_equal(lp2p_pb_next(&r2, &g), 1);
  assert_memory_equal(g.bytes, "hi", 2);
  assert_int_equal(lp2p_pb_next(&r2, &g), 0);
  assert_int_equal(lp2p_pb_next(&r, &f), 1);
  assert_int_equal(f.u64, 42);
  assert_int_equal(lp2p_pb_next(&r, &f), 0);
}

static void test_varint_decode_direct(void **state) {
  (void)state;
  uint64_t v = 0;
  const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(lp2p_pb_varint_decode(max, 10, &v), 10);
  assert_true(v == UINT64_MAX);
  assert_int_equal(lp2p_pb_varint_decode(max, 9, &v), LP2P_ERR_TRUNCATED);
  const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0x7f};
  assert_int_equal(lp2p_pb_varint_decode(big, 10, &v), LP2P_ERR_OVERFLOW);
}

/* lp2p_pb_encode_framed: the varint length prefix, then the body; a
 * buffer too small says how much is needed; the body bound is enforced. */
static void put_two(lp2p_pb_writer *w, const void *msg) {
  const char *text = msg;
  lp2p_pb_put_varint(w, 1, 150);
  lp2p_pb_put_string(w, 2, text);
}

static void test_encode_framed(void **state) {
  (void)state;
  uint8_t out[64];
  size_t len = 0;
  /* body: 08 96 01 (field 1, 150), 12 03 'a' 'b' 'c' = 8 bytes */
  assert_int_equal(lp2p_pb_encode_framed(put_two, "abc", 64, NULL, 0, &len),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(len, 9);
  assert_int_equal(lp2p_pb_encode_framed(put_two, "abc", 64, out, 8, &len),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_pb_encode_framed(put_two, "abc", 64, out, sizeof out,
                                         &len),
                   0);
  static const uint8_t want[] = {8, 0x08, 0x96, 0x01, 0x12, 3, 'a', 'b', 'c'};
  assert_int_equal(len, sizeof want);
  assert_memory_equal(out, want, sizeof want);
  assert_int_equal(lp2p_pb_encode_framed(put_two, "abc", 7, out, sizeof out,
                                         &len),
                   LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_pb_encode_framed(NULL, "abc", 64, out, sizeof out,
                                         &len),
                   LP2P_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_guide_examples),
      cmocka_unit_test(test_read_all_types),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_nonminimal_accepted),
      cmocka_unit_test(test_writer_nospace_sticky),
      cmocka_unit_test(test_writer_inval),
      cmocka_unit_test(test_roundtrip_nested),
      cmocka_unit_test(test_varint_decode_direct),
      cmocka_unit_test(test_encode_framed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
