/* STUN: the RFC 5769 sample messages, our Binding requests byte for byte,
 * the RFC 5389 section 7.2.1 retransmission schedule on a fake clock, and
 * RFC 5780 behaviour discovery against a fake two-address server behind a
 * fake NAT of every mapping and filtering kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lp2p/stun.h"

#define MS LP2P_NS_PER_MS

/* RFC 5769 section 2.1: sample request (software "STUN test client",
 * username "evtj:h6vY", MESSAGE-INTEGRITY and FINGERPRINT) */
static const uint8_t rfc_req[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

/* RFC 5769 section 2.2: sample IPv4 response, 192.0.2.1 port 32853 */
static const uint8_t rfc_resp4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

/* RFC 5769 section 2.3: sample IPv6 response,
 * 2001:db8:1234:5678:11:2233:4455:6677 port 32853 */
static const uint8_t rfc_resp6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

static int same(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, 4) == 0;
}

static void test_rfc5769(void **s) {
  (void)s;
  lp2p_stun_msg m;
  assert_true(lp2p_stun_is_stun(rfc_req, sizeof rfc_req));
  assert_int_equal(lp2p_stun_decode(&m, rfc_req, sizeof rfc_req), 0);
  assert_int_equal(m.type, LP2P_STUN_BINDING_REQUEST);
  assert_true(m.has_fingerprint);
  assert_true(m.has_integrity);
  /* PRIORITY (0x0024) and USERNAME (0x0006) are comprehension-required
   * attributes a Binding client does not know */
  assert_int_equal(m.unknown_required, 2);

  assert_int_equal(lp2p_stun_decode(&m, rfc_resp4, sizeof rfc_resp4), 0);
  assert_int_equal(m.type, LP2P_STUN_BINDING_SUCCESS);
  assert_true(m.has_xor_mapped);
  assert_true(m.has_fingerprint);
  assert_int_equal(m.xor_mapped.family, 4);
  assert_int_equal(m.xor_mapped.port, 32853);
  const uint8_t ip4[4] = {192, 0, 2, 1};
  assert_memory_equal(m.xor_mapped.ip, ip4, 4);
  const uint8_t txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
  assert_memory_equal(m.txid, txid, 12);

  assert_int_equal(lp2p_stun_decode(&m, rfc_resp6, sizeof rfc_resp6), 0);
  assert_int_equal(m.xor_mapped.family, 6);
  assert_int_equal(m.xor_mapped.port, 32853);
  const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                           0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  assert_memory_equal(m.xor_mapped.ip, ip6, 16);

  /* one flipped bit anywhere before FINGERPRINT is caught */
  uint8_t bad[sizeof rfc_resp4];
  memcpy(bad, rfc_resp4, sizeof bad);
  bad[45] ^= 1; /* inside XOR-MAPPED-ADDRESS */
  assert_int_equal(lp2p_stun_decode(&m, bad, sizeof bad), LP2P_ERR_PARSE);
  memcpy(bad, rfc_resp4, sizeof bad);
  bad[sizeof bad - 1] ^= 1;
  assert_int_equal(lp2p_stun_decode(&m, bad, sizeof bad), LP2P_ERR_PARSE);
  /* framing: wrong cookie, length not matching, top bits set */
  memcpy(bad, rfc_resp4, sizeof bad);
  bad[4] = 0;
  assert_false(lp2p_stun_is_stun(bad, sizeof bad));
  assert_false(lp2p_stun_is_stun(rfc_resp4, sizeof rfc_resp4 - 4));
  memcpy(bad, rfc_resp4, sizeof bad);
  bad[0] |= 0x80;
  assert_int_equal(lp2p_stun_decode(&m, bad, sizeof bad), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_stun_decode(NULL, bad, 1), LP2P_ERR_INVAL);
}

static void test_encode(void **s) {
  (void)s;
  const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint8_t b[128];
  size_t len;
  /* a bare Binding request: header only */
  const uint8_t bare[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4,
                          0x42, 1,    2,    3,    4,    5,    6,
                          7,    8,    9,    10,   11,   12};
  assert_int_equal(lp2p_stun_binding_request(txid, 0, 0, b, sizeof b, &len), 0);
  assert_int_equal(len, sizeof bare);
  assert_memory_equal(b, bare, sizeof bare);
  /* CHANGE-REQUEST change-ip + change-port (RFC 5780 section 7.2) */
  assert_int_equal(lp2p_stun_binding_request(
                       txid, LP2P_STUN_CHANGE_IP | LP2P_STUN_CHANGE_PORT, 1, b,
                       sizeof b, &len),
                   0);
  assert_int_equal(len, 36);
  const uint8_t change[] = {0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06};
  assert_int_equal(b[3], 16);
  assert_memory_equal(b + 20, change, 8);
  lp2p_stun_msg m;
  assert_int_equal(lp2p_stun_decode(&m, b, len), 0);
  assert_true(m.has_fingerprint);
  assert_true(m.has_change);
  assert_int_equal(m.change, 6);
  assert_int_equal(lp2p_stun_binding_request(txid, 0, 1, b, 27, &len),
                   LP2P_ERR_NOSPACE);
  assert_int_equal(len, 28);
  /* a response round trip, IPv4 and IPv6 */
  lp2p_sockaddr mapped = {4, {198, 51, 100, 7}, 40000};
  lp2p_sockaddr other = {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 2}, 3479};
  lp2p_sockaddr origin = {4, {203, 0, 113, 1}, 3478};
  assert_int_equal(lp2p_stun_binding_response(txid, &mapped, &other, &origin,
                                              b, sizeof b, &len),
                   0);
  assert_int_equal(lp2p_stun_decode(&m, b, len), 0);
  assert_int_equal(m.type, LP2P_STUN_BINDING_SUCCESS);
  assert_true(same(&m.xor_mapped, &mapped));
  assert_true(m.other.family == 6 && m.other.port == 3479 &&
              memcmp(m.other.ip, other.ip, 16) == 0);
  assert_true(same(&m.origin, &origin));
  /* XOR really applied: the raw port bytes are not 40000 */
  assert_int_not_equal(b[26] << 8 | b[27], 40000);
  /* CRC-32 check value ("123456789" -> cbf43926) */
  assert_int_equal(lp2p_stun_crc32((const uint8_t *)"123456789", 9),
                   0xcbf43926u);
}

static void test_hostile_attrs(void **s) {
  (void)s;
  lp2p_stun_msg m;
  uint8_t b[64] = {0x01, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
  /* an attribute whose length runs past the message */
  const uint8_t over[] = {0x00, 0x20, 0x00, 0x40, 0, 1, 0, 0};
  memcpy(b + 20, over, 8);
  assert_int_equal(lp2p_stun_decode(&m, b, 28), LP2P_ERR_PARSE);
  /* an address with an unknown family */
  const uint8_t fam[] = {0x00, 0x01, 0x00, 0x04, 0, 3, 0, 0};
  memcpy(b + 20, fam, 8);
  assert_int_equal(lp2p_stun_decode(&m, b, 28), LP2P_ERR_PARSE);
  /* an IPv4 address one byte short */
  const uint8_t shortv4[] = {0x00, 0x01, 0x00, 0x07, 0, 1, 0, 0};
  memcpy(b + 20, shortv4, 8);
  assert_int_equal(lp2p_stun_decode(&m, b, 28), LP2P_ERR_PARSE);
  /* an unknown optional attribute is skipped, a required one counted */
  const uint8_t opt[] = {0xc0, 0x57, 0x00, 0x01, 7, 0, 0, 0};
  memcpy(b + 20, opt, 8);
  assert_int_equal(lp2p_stun_decode(&m, b, 28), 0);
  assert_int_equal(m.unknown_required, 0);
  b[20] = 0x00;
  assert_int_equal(lp2p_stun_decode(&m, b, 28), 0);
  assert_int_equal(m.unknown_required, 1);
  /* a bad ERROR-CODE class */
  const uint8_t err[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 7, 20};
  memcpy(b + 20, err, 8);
  assert_int_equal(lp2p_stun_decode(&m, b, 28), LP2P_ERR_PARSE);
  b[26] = 4;
  assert_int_equal(lp2p_stun_decode(&m, b, 28), 0);
  assert_int_equal(m.error_code, 420);
}

/* ---- a fake NAT in front of a fake RFC 5780 server --------------------- */

typedef struct fake {
  lp2p_nat_behaviour mapping, filtering;
  int no_other;    /* an RFC 5389-only server */
  int reject_change; /* answers CHANGE-REQUEST with 420 */
  int ignore_change; /* answers CHANGE-REQUEST from the primary address */
  int silent;
  int no_nat;
  int preserve;
  int conntrack; /* an admitted answer leaves a session: later datagrams
                    to its source leave through the mapping it came in on */
  /* NAT state */
  size_t nsess;
  struct {
    lp2p_sockaddr remote;
    uint16_t port;
  } sess[8];
  size_t nmaps;
  struct {
    lp2p_sockaddr dst;
    uint16_t port;
  } maps[8];
  size_t nseen;
  lp2p_sockaddr seen[8];
  uint16_t next_port;
  size_t requests;
} fake;

static const lp2p_sockaddr S1 = {4, {203, 0, 113, 1}, 3478};
static const lp2p_sockaddr A2 = {4, {203, 0, 113, 2}, 3479};
static const lp2p_sockaddr LOCAL = {4, {10, 0, 0, 2}, 5000};
static const uint8_t EXT_IP[4] = {198, 51, 100, 1};

/* The external port the NAT uses for a datagram to dst. */
static uint16_t nat_out(fake *f, const lp2p_sockaddr *dst) {
  int known = 0;
  for (size_t i = 0; i < f->nseen; i++)
    known |= same(&f->seen[i], dst);
  if (!known && f->nseen < 8)
    f->seen[f->nseen++] = *dst;
  if (f->no_nat)
    return LOCAL.port;
  for (size_t i = 0; i < f->nsess; i++)
    if (same(&f->sess[i].remote, dst))
      return f->sess[i].port;
  for (size_t i = 0; i < f->nmaps; i++) {
    const lp2p_sockaddr *d = &f->maps[i].dst;
    int match = f->mapping == LP2P_NAT_ENDPOINT_INDEPENDENT ||
                (f->mapping == LP2P_NAT_ADDRESS_DEPENDENT &&
                 memcmp(d->ip, dst->ip, 4) == 0) ||
                same(d, dst);
    if (match)
      return f->maps[i].port;
  }
  uint16_t port = f->preserve && f->nmaps == 0 ? LOCAL.port : f->next_port++;
  f->maps[f->nmaps].dst = *dst;
  f->maps[f->nmaps++].port = port;
  return port;
}

static int nat_in(const fake *f, const lp2p_sockaddr *src) {
  if (f->no_nat || f->filtering == LP2P_NAT_ENDPOINT_INDEPENDENT)
    return 1;
  for (size_t i = 0; i < f->nseen; i++)
    if (memcmp(f->seen[i].ip, src->ip, 4) == 0 &&
        (f->filtering == LP2P_NAT_ADDRESS_DEPENDENT ||
         f->seen[i].port == src->port))
      return 1;
  return 0;
}

/* Deliver one request; maybe feed back a response. */
static void serve(fake *f, lp2p_stun *c, lp2p_tstamp now, const uint8_t *p,
                  size_t n, const lp2p_sockaddr *to) {
  f->requests++;
  lp2p_sockaddr mapped = {4, {0}, 0};
  memcpy(mapped.ip, f->no_nat ? LOCAL.ip : EXT_IP, 4);
  mapped.port = nat_out(f, to);
  if (f->silent)
    return;
  lp2p_stun_msg m;
  assert_int_equal(lp2p_stun_decode(&m, p, n), 0);
  assert_int_equal(m.type, LP2P_STUN_BINDING_REQUEST);
  uint8_t out[128];
  size_t len;
  lp2p_sockaddr from = *to;
  if (m.has_change && f->reject_change) {
    /* 420 Unknown Attribute */
    memcpy(out, p, 20);
    out[0] = 0x01;
    out[1] = 0x11;
    const uint8_t e[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 4, 20};
    memcpy(out + 20, e, 8);
    out[3] = 8;
    len = 28;
  } else {
    if (m.has_change && !f->ignore_change) {
      if (m.change & LP2P_STUN_CHANGE_IP)
        memcpy(from.ip, memcmp(to->ip, S1.ip, 4) == 0 ? A2.ip : S1.ip, 4);
      if (m.change & LP2P_STUN_CHANGE_PORT)
        from.port = to->port == S1.port ? A2.port : S1.port;
    }
    assert_int_equal(lp2p_stun_binding_response(m.txid, &mapped,
                                                f->no_other ? NULL : &A2,
                                                &from, out, sizeof out, &len),
                     0);
  }
  if (!nat_in(f, &from))
    return;
  if (f->conntrack && f->nsess < 8) {
    f->sess[f->nsess].remote = from;
    f->sess[f->nsess++].port = mapped.port;
  }
  assert_int_equal(lp2p_stun_feed(c, now, &from, out, len), 0);
}

static int addr_same(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static uint8_t rng_state;
static void fill(void *ctx, uint8_t *o, size_t n) {
  (void)ctx;
  for (size_t i = 0; i < n; i++)
    o[i] = ++rng_state;
}
static const lp2p_rng rng = {fill, NULL};

static lp2p_stun_result run(fake *f, const lp2p_stun_config *cfg,
                            lp2p_tstamp *end) {
  f->next_port = 40000;
  lp2p_stun *c;
  assert_int_equal(lp2p_stun_new(&c, cfg, NULL, &rng, 0, &S1, &LOCAL), 0);
  lp2p_tstamp now = 0;
  lp2p_stun_event ev;
  for (int guard = 0; guard < 200; guard++) {
    size_t len;
    lp2p_sockaddr to;
    const uint8_t *p;
    while ((p = lp2p_stun_out_peek(c, &len, &to)) != NULL) {
      uint8_t copy[128];
      memcpy(copy, p, len);
      lp2p_stun_out_consume(c);
      serve(f, c, now + 10 * MS, copy, len, &to);
    }
    if (lp2p_stun_poll_event(c, &ev))
      break;
    now = lp2p_stun_next_timeout(c);
    assert_int_not_equal(now, LP2P_TSTAMP_NONE);
    lp2p_stun_handle_timeout(c, now);
  }
  assert_int_equal(ev.type, LP2P_STUN_EV_DONE);
  lp2p_stun_result r;
  assert_true(lp2p_stun_result_get(c, &r));
  assert_int_equal(r.status, ev.result.status);
  assert_int_equal(r.mapping, ev.result.mapping);
  assert_int_equal(r.filtering, ev.result.filtering);
  assert_true(addr_same(&r.mapped, &ev.result.mapped));
  assert_int_equal(lp2p_stun_poll_event(c, &ev), 0);
  assert_int_equal(lp2p_stun_next_timeout(c), LP2P_TSTAMP_NONE);
  lp2p_stun_free(c);
  if (end)
    *end = now;
  return r;
}

static void test_discovery_matrix(void **s) {
  (void)s;
  const lp2p_nat_behaviour kinds[3] = {LP2P_NAT_ENDPOINT_INDEPENDENT,
                                       LP2P_NAT_ADDRESS_DEPENDENT,
                                       LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT};
  /* conntrack 1: what Linux and the simulator's NAT do (an answer the
   * filter let in leaves a session; address-dependent mapping behind an
   * endpoint-independent filter was taken for APDM before Test III
   * avoided that endpoint) */
  for (int ct = 0; ct < 2; ct++)
  for (int mi = 0; mi < 3; mi++)
    for (int fi = 0; fi < 3; fi++) {
      fake f = {0};
      f.conntrack = ct;
      f.mapping = kinds[mi];
      f.filtering = kinds[fi];
      f.preserve = mi == 0;
      lp2p_stun_result r = run(&f, NULL, NULL);
      assert_int_equal(r.status, 0);
      assert_int_equal(r.mapping, kinds[mi]);
      assert_int_equal(r.filtering, kinds[fi]);
      assert_int_equal(r.preserves_port, mi == 0 ? 1 : 0);
      assert_int_equal(r.mapped.port, mi == 0 ? 5000 : 40000);
      /* the distinct mappings in allocation order (the fake NAT counts
       * up from 40000): sequential-allocation evidence for APDM */
      assert_int_equal(r.nports, mi + 1);
      for (uint8_t k = 1; k < r.nports; k++)
        assert_int_equal(r.ports[k], 40000 + k);
      assert_memory_equal(r.mapped.ip, EXT_IP, 4);
      assert_true(addr_same(&r.other, &A2));
    }
}

static void test_discovery_edges(void **s) {
  (void)s;
  /* no NAT at all */
  fake f = {0};
  f.no_nat = 1;
  lp2p_stun_result r = run(&f, NULL, NULL);
  assert_int_equal(r.mapping, LP2P_NAT_NONE);
  assert_int_equal(r.filtering, LP2P_NAT_NONE);
  assert_int_equal(r.preserves_port, 1);
  assert_string_equal(lp2p_nat_behaviour_name(r.mapping), "none");
  /* an RFC 5389-only server: the mapped address, nothing else */
  memset(&f, 0, sizeof f);
  f.mapping = f.filtering = LP2P_NAT_ENDPOINT_INDEPENDENT;
  f.no_other = 1;
  r = run(&f, NULL, NULL);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.mapping, LP2P_NAT_UNKNOWN);
  assert_int_equal(r.filtering, LP2P_NAT_UNKNOWN);
  assert_int_equal(f.requests, 1);
  /* CHANGE-REQUEST refused with 420: filtering unknown, mapping known */
  memset(&f, 0, sizeof f);
  f.mapping = LP2P_NAT_ADDRESS_DEPENDENT;
  f.filtering = LP2P_NAT_ENDPOINT_INDEPENDENT;
  f.reject_change = 1;
  r = run(&f, NULL, NULL);
  assert_int_equal(r.mapping, LP2P_NAT_ADDRESS_DEPENDENT);
  assert_int_equal(r.filtering, LP2P_NAT_UNKNOWN);
  /* a server that answers CHANGE-REQUEST from its primary address proves
   * nothing about filtering */
  memset(&f, 0, sizeof f);
  f.mapping = f.filtering = LP2P_NAT_ENDPOINT_INDEPENDENT;
  f.ignore_change = 1;
  r = run(&f, NULL, NULL);
  assert_int_equal(r.mapping, LP2P_NAT_ENDPOINT_INDEPENDENT);
  assert_int_equal(r.filtering, LP2P_NAT_UNKNOWN);
  /* binding only */
  lp2p_stun_config c;
  lp2p_stun_config_default(&c);
  c.discover = 0;
  memset(&f, 0, sizeof f);
  f.mapping = f.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  r = run(&f, &c, NULL);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.mapping, LP2P_NAT_UNKNOWN);
  assert_int_equal(r.mapped.port, 40000);
  assert_int_equal(f.requests, 1);
}

static void test_retransmit(void **s) {
  (void)s;
  /* RFC 5389 section 7.2.1: sends at 0, 500, 1500, 3500, 7500, 15500,
   * 31500 ms, failure at 39500 ms */
  lp2p_stun *c;
  assert_int_equal(lp2p_stun_new(&c, NULL, NULL, &rng, 0, &S1, NULL), 0);
  const uint64_t at[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
  uint8_t first[64];
  size_t first_len;
  memcpy(first, lp2p_stun_out_peek(c, &first_len, NULL), 20);
  for (size_t i = 0; i < 7; i++) {
    size_t len;
    lp2p_sockaddr to;
    const uint8_t *p = lp2p_stun_out_peek(c, &len, &to);
    assert_non_null(p);
    assert_memory_equal(p, first, 20); /* same transaction id each time */
    assert_true(same(&to, &S1));
    lp2p_stun_out_consume(c);
    assert_null(lp2p_stun_out_peek(c, &len, &to));
    lp2p_tstamp next = lp2p_stun_next_timeout(c);
    assert_int_equal(next, i < 6 ? at[i + 1] * MS : 39500 * MS);
    lp2p_stun_handle_timeout(c, next - 1);
    assert_null(lp2p_stun_out_peek(c, &len, &to));
    lp2p_stun_handle_timeout(c, next);
  }
  lp2p_stun_event ev;
  assert_int_equal(lp2p_stun_poll_event(c, &ev), 1);
  assert_int_equal(ev.result.status, LP2P_ERR_TIMEOUT);
  /* stray datagrams afterwards change nothing */
  assert_int_equal(lp2p_stun_feed(c, 0, &S1, rfc_resp4, sizeof rfc_resp4), 0);
  assert_int_equal(lp2p_stun_poll_event(c, &ev), 0);
  lp2p_stun_free(c);
}

static void test_stray(void **s) {
  (void)s;
  lp2p_stun *c;
  assert_int_equal(lp2p_stun_new(&c, NULL, NULL, &rng, 0, &S1, &LOCAL), 0);
  size_t len;
  lp2p_stun_out_peek(c, &len, NULL);
  lp2p_stun_out_consume(c);
  /* a response with another transaction id, garbage, a request */
  assert_int_equal(lp2p_stun_feed(c, 1, &S1, rfc_resp4, sizeof rfc_resp4), 0);
  const uint8_t junk[5] = {1, 2, 3, 4, 5};
  assert_int_equal(lp2p_stun_feed(c, 1, &S1, junk, 5), 0);
  assert_int_equal(lp2p_stun_feed(c, 1, &S1, rfc_req, sizeof rfc_req), 0);
  lp2p_stun_event ev;
  assert_int_equal(lp2p_stun_poll_event(c, &ev), 0);
  assert_int_equal(lp2p_stun_result_get(c, NULL), 0);
  assert_int_equal(lp2p_stun_feed(c, 1, NULL, junk, 5), LP2P_ERR_INVAL);
  lp2p_stun_free(c);
  lp2p_stun_config cfg;
  lp2p_stun_config_default(&cfg);
  cfg.rc = 0;
  assert_int_equal(lp2p_stun_new(&c, &cfg, NULL, &rng, 0, &S1, NULL),
                   LP2P_ERR_INVAL);
  lp2p_sockaddr none = {0};
  assert_int_equal(lp2p_stun_new(&c, NULL, NULL, &rng, 0, &none, NULL),
                   LP2P_ERR_INVAL);
  lp2p_stun_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc5769),        cmocka_unit_test(test_encode),
      cmocka_unit_test(test_hostile_attrs),  cmocka_unit_test(test_discovery_matrix),
      cmocka_unit_test(test_discovery_edges), cmocka_unit_test(test_retransmit),
      cmocka_unit_test(test_stray),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
