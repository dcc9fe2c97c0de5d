/* kad-dht wire codec: golden bytes, round trips, the caps on peers and
 * addresses (a 10,000-peer answer is cut, not stored), bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/kad.h"

static const uint8_t pid3[] = {0x00, 0x01, 0x02};
static const uint8_t addr_tcp[] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};

/* FIND_NODE response naming one CONNECTED peer with one address. */
static const uint8_t golden_find_resp[] = {
    0x15, 0x08, 0x04, 0x42, 0x11, 0x0a, 0x03, 0x00, 0x01, 0x02, 0x12, 0x08,
    0x04, 0x7f, 0x00, 0x00, 0x01, 0x06, 0x0f, 0xa1, 0x18, 0x01};
/* PUT_VALUE of key "k", value "v", timeReceived "t". */
static const uint8_t golden_put[] = {0x10, 0x08, 0x00, 0x12, 0x01, 'k',
                                     0x1a, 0x09, 0x0a, 0x01, 'k',  0x12,
                                     0x01, 'v',  0x2a, 0x01, 't'};

static void test_golden(void **s) {
  (void)s;
  uint8_t buf[256];
  size_t n;
  lp2p_kad_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_KAD_FIND_NODE;
  m.key.p = (const uint8_t *)"abc";
  m.key.n = 3;
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, sizeof buf, &n), 0);
  const uint8_t req[] = {0x07, 0x08, 0x04, 0x12, 0x03, 'a', 'b', 'c'};
  assert_int_equal(n, sizeof req);
  assert_memory_equal(buf, req, n);

  lp2p_kad_bytes a = {addr_tcp, sizeof addr_tcp};
  lp2p_kad_peer p = {{pid3, sizeof pid3}, &a, 1, LP2P_KAD_CONNECTED};
  memset(&m, 0, sizeof m);
  m.type = LP2P_KAD_FIND_NODE;
  m.closer = &p;
  m.closer_n = 1;
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, sizeof buf, &n), 0);
  assert_int_equal(n, sizeof golden_find_resp);
  assert_memory_equal(buf, golden_find_resp, n);

  memset(&m, 0, sizeof m);
  m.type = LP2P_KAD_PUT_VALUE;
  m.key.p = (const uint8_t *)"k";
  m.key.n = 1;
  m.has_record = 1;
  m.rec_key = m.key;
  m.rec_value.p = (const uint8_t *)"v";
  m.rec_value.n = 1;
  m.rec_time.p = (const uint8_t *)"t";
  m.rec_time.n = 1;
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, sizeof buf, &n), 0);
  assert_int_equal(n, sizeof golden_put);
  assert_memory_equal(buf, golden_put, n);
  /* measuring, and too small a buffer */
  assert_int_equal(lp2p_kad_msg_encode(&m, NULL, 0, &n), LP2P_ERR_NOSPACE);
  assert_int_equal(n, sizeof golden_put);
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, 5, &n), LP2P_ERR_NOSPACE);
  m.type = 6;
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, sizeof buf, &n), LP2P_ERR_INVAL);
}

static void test_decode_golden(void **s) {
  (void)s;
  size_t off, len;
  assert_int_equal(lp2p_kad_frame(golden_find_resp, sizeof golden_find_resp,
                                  LP2P_KAD_MSG_MAX, &off, &len), 0);
  assert_int_equal(off, 1);
  assert_int_equal(len, sizeof golden_find_resp - 1);
  lp2p_kad_peer closer[4], prov[4];
  lp2p_kad_bytes addrs[8];
  lp2p_kad_msg_space sp = {closer, 4, prov, 4, addrs, 8, 4, 0, 0};
  lp2p_kad_msg m;
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, golden_find_resp + off, len), 0);
  assert_int_equal(m.type, LP2P_KAD_FIND_NODE);
  assert_int_equal(m.key.n, 0);
  assert_int_equal(m.has_record, 0);
  assert_int_equal(m.closer_n, 1);
  assert_int_equal(m.providers_n, 0);
  assert_int_equal(m.closer[0].id.n, 3);
  assert_memory_equal(m.closer[0].id.p, pid3, 3);
  assert_int_equal(m.closer[0].addrs_n, 1);
  assert_memory_equal(m.closer[0].addrs[0].p, addr_tcp, sizeof addr_tcp);
  assert_int_equal(m.closer[0].connection, LP2P_KAD_CONNECTED);

  assert_int_equal(lp2p_kad_frame(golden_put, sizeof golden_put,
                                  LP2P_KAD_MSG_MAX, &off, &len), 0);
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, golden_put + off, len), 0);
  assert_int_equal(m.type, LP2P_KAD_PUT_VALUE);
  assert_int_equal(m.has_record, 1);
  assert_memory_equal(m.rec_value.p, "v", 1);
  assert_memory_equal(m.rec_time.p, "t", 1);

  /* frames: truncated prefix, truncated body, over the cap */
  assert_int_equal(lp2p_kad_frame(golden_put, 0, 100, &off, &len), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_kad_frame(golden_put, 5, 100, &off, &len), LP2P_ERR_TRUNCATED);
  assert_int_equal(lp2p_kad_frame(golden_put, sizeof golden_put, 15, &off, &len), LP2P_ERR_LIMIT);
  const uint8_t huge[] = {0x81, 0x80, 0x80, 0x02}; /* 4 MiB + 1 */
  assert_int_equal(lp2p_kad_frame(huge, sizeof huge, LP2P_KAD_MSG_MAX, &off, &len), LP2P_ERR_LIMIT);
  const uint8_t nonmin[] = {0x80, 0x00};
  assert_int_equal(lp2p_kad_frame(nonmin, 2, 100, &off, &len), LP2P_ERR_PARSE);
}

static void test_round_trip(void **s) {
  (void)s;
  uint8_t ids[3][34], ab[5][20];
  for (int i = 0; i < 3; i++) {
    ids[i][0] = 0x12;
    ids[i][1] = 0x20;
    memset(ids[i] + 2, 0x30 + i, 32);
  }
  lp2p_kad_bytes addrs[5];
  for (int i = 0; i < 5; i++) {
    memset(ab[i], i, sizeof ab[i]);
    addrs[i].p = ab[i];
    addrs[i].n = (size_t)(5 + i);
  }
  lp2p_kad_peer closer[2] = {{{ids[0], 34}, addrs, 3, 2},
                             {{ids[1], 34}, NULL, 0, 0}};
  lp2p_kad_peer provs[1] = {{{ids[2], 34}, addrs + 3, 2, 3}};
  lp2p_kad_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_KAD_GET_PROVIDERS;
  m.key.p = ids[2];
  m.key.n = 34;
  m.closer = closer;
  m.closer_n = 2;
  m.providers = provs;
  m.providers_n = 1;
  uint8_t buf[1024];
  size_t n, off, len;
  assert_int_equal(lp2p_kad_msg_encode(&m, buf, sizeof buf, &n), 0);
  assert_int_equal(lp2p_kad_frame(buf, n, LP2P_KAD_MSG_MAX, &off, &len), 0);
  assert_int_equal(off + len, n);
  lp2p_kad_peer dc[4], dp[4];
  lp2p_kad_bytes da[16];
  lp2p_kad_msg_space sp = {dc, 4, dp, 4, da, 16, 8, 0, 0};
  lp2p_kad_msg d;
  assert_int_equal(lp2p_kad_msg_decode(&d, &sp, buf + off, len), 0);
  assert_int_equal(d.type, LP2P_KAD_GET_PROVIDERS);
  assert_int_equal(d.key.n, 34);
  assert_int_equal(d.closer_n, 2);
  assert_int_equal(d.providers_n, 1);
  assert_int_equal(d.closer[0].addrs_n, 3);
  assert_int_equal(d.closer[0].connection, 2);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(d.closer[0].addrs[i].n, addrs[i].n);
    assert_memory_equal(d.closer[0].addrs[i].p, addrs[i].p, addrs[i].n);
  }
  assert_int_equal(d.closer[1].addrs_n, 0);
  assert_int_equal(d.providers[0].addrs_n, 2);
  assert_int_equal(d.providers[0].connection, 3);
  assert_memory_equal(d.providers[0].id.p, ids[2], 34);
  /* re-encoding the decoded message gives the same bytes */
  uint8_t buf2[1024];
  size_t n2;
  assert_int_equal(lp2p_kad_msg_encode(&d, buf2, sizeof buf2, &n2), 0);
  assert_int_equal(n2, n);
  assert_memory_equal(buf2, buf, n);
  /* addresses past addrs_per_peer_max and the pool are counted */
  sp.addrs_per_peer_max = 2;
  assert_int_equal(lp2p_kad_msg_decode(&d, &sp, buf + off, len), 0);
  assert_int_equal(d.closer[0].addrs_n, 2);
  assert_int_equal(sp.addrs_dropped, 1);
  sp.addrs_per_peer_max = 8;
  sp.addrs_cap = 1;
  assert_int_equal(lp2p_kad_msg_decode(&d, &sp, buf + off, len), 0);
  assert_int_equal(d.closer[0].addrs_n, 1);
  assert_int_equal(d.providers[0].addrs_n, 0);
  assert_int_equal(sp.addrs_dropped, 4);
}

/* A peer answers with 10,000 closer peers: decoding keeps closer_cap of
 * them, counts the rest, and allocates nothing at all. */
static void test_ten_thousand_peers(void **s) {
  (void)s;
  enum { N = 10000 };
  size_t per = 2 + 36 + 2 + sizeof addr_tcp; /* tag, len, id field, addr field */
  uint8_t *body = malloc(N * per + 16);
  assert_non_null(body);
  size_t o = 0;
  body[o++] = 0x08;
  body[o++] = LP2P_KAD_FIND_NODE;
  for (int i = 0; i < N; i++) {
    body[o++] = 0x42;
    body[o++] = (uint8_t)(per - 2);
    body[o++] = 0x0a;
    body[o++] = 34;
    body[o++] = 0x12;
    body[o++] = 0x20;
    memset(body + o, 0, 32);
    memcpy(body + o, &i, sizeof i);
    o += 32;
    body[o++] = 0x12;
    body[o++] = sizeof addr_tcp;
    memcpy(body + o, addr_tcp, sizeof addr_tcp);
    o += sizeof addr_tcp;
  }
  lp2p_kad_peer closer[LP2P_KAD_K];
  lp2p_kad_bytes addrs[LP2P_KAD_K * 4];
  lp2p_kad_msg_space sp = {closer, LP2P_KAD_K, NULL, 0, addrs,
                           LP2P_KAD_K * 4, 4, 0, 0};
  lp2p_kad_msg m;
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, body, o), 0);
  assert_int_equal(m.closer_n, LP2P_KAD_K);
  assert_int_equal(sp.peers_dropped, N - LP2P_KAD_K);
  int last;
  memcpy(&last, m.closer[LP2P_KAD_K - 1].id.p + 2, sizeof last);
  assert_int_equal(last, LP2P_KAD_K - 1); /* the first ones are kept */
  /* a malformed peer after the cap still fails the whole message */
  body[o - per + 2] = 0x0b; /* id field becomes wire type 3 (a group) */
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, body, o), LP2P_ERR_PARSE);
  free(body);
}

static void test_bad_input(void **s) {
  (void)s;
  lp2p_kad_peer c[2], p[2];
  lp2p_kad_bytes a[4];
  lp2p_kad_msg_space sp = {c, 2, p, 2, a, 4, 2, 0, 0};
  lp2p_kad_msg m;
  const uint8_t bad_type[] = {0x08, 0x06};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, bad_type, 2), LP2P_ERR_PARSE);
  const uint8_t type_as_bytes[] = {0x0a, 0x00};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, type_as_bytes, 2), LP2P_ERR_PARSE);
  const uint8_t key_as_varint[] = {0x10, 0x01};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, key_as_varint, 2), LP2P_ERR_PARSE);
  const uint8_t truncated[] = {0x12, 0x05, 'a'};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, truncated, 3), LP2P_ERR_PARSE);
  const uint8_t bad_record[] = {0x1a, 0x02, 0x08, 0x01}; /* record.key as varint */
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, bad_record, 4), LP2P_ERR_PARSE);
  const uint8_t bad_peer[] = {0x42, 0x02, 0x0a, 0x05};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, bad_peer, 4), LP2P_ERR_PARSE);
  /* unknown fields and clusterLevelRaw are skipped; odd connection values read as 0 */
  const uint8_t extra[] = {0x50, 0x07, 0x08, 0x05, 0xfa, 0x01, 0x01, 'x',
                           0x42, 0x04, 0x0a, 0x00, 0x18, 0x09};
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, extra, sizeof extra), 0);
  assert_int_equal(m.type, LP2P_KAD_PING);
  assert_int_equal(m.closer_n, 1);
  assert_int_equal(m.closer[0].connection, 0);
  /* the empty message is a PUT_VALUE without anything (proto3 defaults) */
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, NULL, 0), 0);
  assert_int_equal(m.type, LP2P_KAD_PUT_VALUE);
  assert_int_equal(lp2p_kad_msg_decode(&m, &sp, extra, LP2P_KAD_MSG_MAX + 1), LP2P_ERR_LIMIT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_decode_golden),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_ten_thousand_peers),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
