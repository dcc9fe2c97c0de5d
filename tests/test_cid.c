/* CID: the peer-id spec example (the same sha256 peer id as CIDv0 text,
 * bare multihash and CIDv1 libp2p-key base32), encode/decode, text rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/cid.h"
#include "lp2p/multibase.h"
#include "lp2p/multihash.h"

static const char *V1 =
    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
static const char *V0 = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

static void test_spec_example(void **state) {
  (void)state;
  uint8_t mh[64], cid[LP2P_CID_MAX], cid2[LP2P_CID_MAX];
  size_t mhl, cl, cl2;
  char txt[128];
  size_t tl;
  assert_int_equal(lp2p_base58_decode(V0, strlen(V0), mh, sizeof mh, &mhl), 0);
  assert_int_equal(
      lp2p_cid_encode(LP2P_CID_LIBP2P_KEY, mh, mhl, cid, sizeof cid, &cl), 0);
  assert_int_equal(cl, 2 + mhl);
  assert_memory_equal(cid, "\x01\x72\x12\x20", 4);
  assert_int_equal(lp2p_cid_to_text('b', cid, cl, txt, sizeof txt, &tl), 0);
  assert_int_equal(tl, strlen(V1));
  assert_memory_equal(txt, V1, tl);
  /* and back */
  assert_int_equal(lp2p_cid_from_text(V1, strlen(V1), cid2, sizeof cid2, &cl2),
                   0);
  assert_int_equal(cl2, cl);
  assert_memory_equal(cid2, cid, cl);
  lp2p_cid c;
  assert_int_equal(lp2p_cid_decode(cid2, cl2, &c), 0);
  assert_int_equal(c.version, 1);
  assert_int_equal(c.codec, LP2P_CID_LIBP2P_KEY);
  assert_int_equal(c.mh_len, mhl);
  assert_memory_equal(c.mh, mh, mhl);
  assert_ptr_equal(c.mh, cid2 + 2);
}

static void test_v0(void **state) {
  (void)state;
  uint8_t cid[LP2P_CID_MAX];
  size_t cl, tl;
  char txt[64];
  lp2p_cid c;
  assert_int_equal(lp2p_cid_from_text(V0, strlen(V0), cid, sizeof cid, &cl), 0);
  assert_int_equal(cl, 34);
  assert_int_equal(lp2p_cid_decode(cid, cl, &c), 0);
  assert_int_equal(c.version, 0);
  assert_int_equal(c.codec, LP2P_CID_DAG_PB);
  assert_int_equal(c.mh_len, 34);
  /* v0 always prints as bare base58, whatever base is asked. */
  assert_int_equal(lp2p_cid_to_text('b', cid, cl, txt, sizeof txt, &tl), 0);
  assert_int_equal(tl, 46);
  assert_memory_equal(txt, V0, 46);
  /* A v0 CID may not be multibase-encoded (CID spec, decoding). */
  char mb[64];
  size_t ml;
  assert_int_equal(lp2p_multibase_encode('b', cid, cl, mb, sizeof mb, &ml), 0);
  assert_int_equal(lp2p_cid_from_text(mb, ml, cid, sizeof cid, &cl),
                   LP2P_ERR_PARSE);
}

static void test_other_bases(void **state) {
  (void)state;
  uint8_t cid[LP2P_CID_MAX], back[LP2P_CID_MAX];
  size_t cl, bl, tl;
  char txt[128];
  assert_int_equal(lp2p_cid_from_text(V1, strlen(V1), cid, sizeof cid, &cl), 0);
  const char bases[] = "zkBmuf";
  for (size_t i = 0; bases[i]; i++) {
    assert_int_equal(lp2p_cid_to_text(bases[i], cid, cl, txt, sizeof txt, &tl),
                     0);
    assert_int_equal(txt[0], bases[i]);
    assert_int_equal(lp2p_cid_from_text(txt, tl, back, sizeof back, &bl), 0);
    assert_int_equal(bl, cl);
    assert_memory_equal(back, cid, cl);
  }
  assert_int_equal(lp2p_cid_to_text('?', cid, cl, txt, sizeof txt, &tl),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_cid_to_text('b', cid, cl, txt, 10, &tl),
                   LP2P_ERR_NOSPACE);
}

static void test_invalid(void **state) {
  (void)state;
  uint8_t out[LP2P_CID_MAX];
  size_t len;
  lp2p_cid c;
  /* version 2, version 0 in varint form, bad multihash, trailing byte */
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x02\x72\x00\x00", 4, &c),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x00\x72\x00\x00", 4, &c),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x01\x72\x12\x01"
                                                    "a",
                                   5, &c),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x01\x72\x00\x01"
                                                    "ab",
                                   6, &c),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x01\xf2\x00\x00", 4, &c),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_decode(NULL, 0, &c), LP2P_ERR_PARSE);
  /* identity multihash CID: valid */
  assert_int_equal(lp2p_cid_decode((const uint8_t *)"\x01\x55\x00\x01"
                                                    "a",
                                   5, &c),
                   0);
  assert_int_equal(c.codec, LP2P_CID_RAW);
  /* encode rejects a non-multihash and full buffers */
  assert_int_equal(lp2p_cid_encode(0x72,
                                   (const uint8_t *)"\x00\x05"
                                                    "a",
                                   3, out, sizeof out, &len),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_encode(0x72,
                                   (const uint8_t *)"\x00\x01"
                                                    "a",
                                   3, out, 4, &len),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_cid_encode(0x72,
                                   (const uint8_t *)"\x00\x01"
                                                    "a",
                                   3, out, 5, &len),
                   0);
  assert_int_equal(lp2p_cid_encode(UINT64_MAX,
                                   (const uint8_t *)"\x00\x01"
                                                    "a",
                                   3, out, 50, &len),
                   LP2P_ERR_INVAL);
  /* text: unknown prefix, bad chars, wrong-length Qm */
  assert_int_equal(lp2p_cid_from_text("xabc", 4, out, sizeof out, &len),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_cid_from_text("b!!", 3, out, sizeof out, &len),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_from_text("", 0, out, sizeof out, &len),
                   LP2P_ERR_PARSE);
  assert_int_equal(lp2p_cid_from_text(V0, 45, out, sizeof out, &len),
                   LP2P_ERR_UNSUPPORTED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_example),
      cmocka_unit_test(test_v0),
      cmocka_unit_test(test_other_bases),
      cmocka_unit_test(test_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
