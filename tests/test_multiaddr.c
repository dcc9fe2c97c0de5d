/* Multiaddr: the go-multiaddr / js-multiaddr valid and invalid lists
 * (restricted to the protocols lp2p supports), binary known answers,
 * RFC 5952 printing, and the value-type operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/multiaddr.h"
#include "lp2p/multibase.h"

#define QM "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"
#define QB "QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP"
#define ED "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"

static int parse(lp2p_maddr *m, const char *s) {
  return lp2p_maddr_parse(m, s, strlen(s));
}

static void to_str(const lp2p_maddr *m, char *out, size_t cap) {
  size_t len;
  assert_int_equal(lp2p_maddr_to_string(m, out, cap, &len), 0);
  assert_int_equal(strlen(out), len);
}

static void check_roundtrip(const char *s) {
  lp2p_maddr a, b, c;
  char t[2048];
  int rc = parse(&a, s);
  if (rc)
    fprintf(stderr, "parse failed (%d): %s\n", rc, s);
  assert_int_equal(rc, 0);
  to_str(&a, t, sizeof t);
  rc = parse(&b, t);
  if (rc)
    fprintf(stderr, "reparse failed (%d): %s -> %s\n", rc, s, t);
  assert_int_equal(rc, 0);
  assert_true(lp2p_maddr_equal(&a, &b));
  assert_int_equal(lp2p_maddr_from_bytes(&c, a.bytes, a.len), 0);
  assert_true(lp2p_maddr_equal(&a, &c));
}

static const char *const VALID[] = {
    "/ip4/1.2.3.4",
    "/ip4/0.0.0.0",
    "/ip4/255.255.255.255",
    "/ip6/::1",
    "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21",
    "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic",
    "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
    "/ip6zone/x/ip6/fe80::1",
    "/ip6zone/x%y/ip6/fe80::1",
    "/ip6zone/x%y/ip6/::",
    "/ip6zone/x/ip6/fe80::1/udp/1234/quic-v1",
    "/udp/0",
    "/tcp/0",
    "/udp/1234",
    "/tcp/1234",
    "/udp/65535",
    "/tcp/65535",
    "/ipfs/" QM,
    "/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
    "/p2p/" QM,
    "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
    "/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
    "/p2p/" ED,
    "/p2p/k51qzi5uqu5dhb6l8spkdx7yxafegfkee5by8h7lmjh2ehc2sgg34z7c15vzqs",
    "/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
    "/tcp/1234/tls",
    "/ipfs/" QM "/tcp/1234",
    "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234",
    "/ip4/127.0.0.1/udp/1234",
    "/ip4/127.0.0.1/udp/0",
    "/ip4/127.0.0.1/tcp/1234",
    "/ip4/127.0.0.1/tcp/1234/",
    "/ip4/127.0.0.1/udp/1234/quic",
    "/ip4/127.0.0.1/udp/1234/quic-v1",
    "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport",
    "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/"
    "b2uaraocy6yrdblb4sfptaddgimjmmpy",
    "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/"
    "b2uaraocy6yrdblb4sfptaddgimjmmpy/"
    "certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
    "/ip4/127.0.0.1/ipfs/" QM,
    "/ip4/127.0.0.1/p2p/" QM "/tcp/1234",
    "/unix/a/b/c/d/e",
    "/unix/stdio",
    "/ip4/1.2.3.4/tcp/80/unix/a/b/c/d/e/f",
    "/ip4/127.0.0.1/p2p/" QM "/tcp/1234/unix/stdio",
    "/ip4/127.0.0.1/tcp/127/ws",
    "/ip4/127.0.0.1/tcp/127/tls",
    "/ip4/127.0.0.1/tcp/127/tls/ws",
    "/ip4/127.0.0.1/tcp/127/noise",
    "/ip4/127.0.0.1/tcp/127/wss",
    "/ip4/127.0.0.1/tcp/127/webrtc-direct",
    "/ip4/127.0.0.1/tcp/127/webrtc",
    "/ip4/127.0.0.1/tcp/9090/http",
    "/ip4/127.0.0.1/tcp/443/https",
    "/ip4/127.0.0.1/tcp/443/tls/sni/example.com/http",
    "/dns/example.com",
    "/dns4/example.com/tcp/443/wss",
    "/dns6/example.com/udp/4001/quic-v1",
    "/dnsaddr/bootstrap.libp2p.io",
    "/ip4/1.2.3.4/tcp/4001/p2p/" QM "/p2p-circuit/p2p/" ED,
    "/ip4/1.2.3.4/tcp/4001/p2p-circuit",
    "/ip6/::ffff:127.0.0.1/tcp/111",
};

static void test_valid_list(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++)
    check_roundtrip(VALID[i]);
}

/* Text that must print back exactly as written (canonical forms). */
static const char *const CANON[] = {
    "/unix/a/b/c/d",
    "/ip6/::ffff:127.0.0.1/tcp/111",
    "/ip4/127.0.0.1/tcp/123",
    "/ip4/127.0.0.1/tcp/123/tls",
    "/ip4/127.0.0.1/udp/123",
    "/ip4/127.0.0.1/udp/123/ip6/::",
    "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/"
    "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
    "/p2p/" QB,
    "/p2p/" QB "/unix/a/b/c",
    "/p2p/" ED,
    "/ip4/1.2.3.4/tcp/4001/p2p/" QM "/p2p-circuit/p2p/" ED,
    "/ip6zone/eth0/ip6/fe80::1/tcp/4001",
    "/dns4/example.com/tcp/443/tls/sni/example.com/ws",
};

static void test_canonical_text(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof CANON / sizeof CANON[0]; i++) {
    lp2p_maddr m;
    char t[1024];
    assert_int_equal(parse(&m, CANON[i]), 0);
    to_str(&m, t, sizeof t);
    assert_string_equal(t, CANON[i]);
  }
}

static void test_normalised_text(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"/ipfs/" QB, "/p2p/" QB},
      {"/ip4/127.0.0.1/tcp/1234/", "/ip4/127.0.0.1/tcp/1234"},
      {"/ip6/2001:DB8:0:0:0:0:0:1", "/ip6/2001:db8::1"},
      {"/ip6/0:0:0:0:0:0:0:0", "/ip6/::"},
      {"/tcp/00080", "/tcp/80"},
      {"/unix/a/b/", "/unix/a/b"},
      /* CIDv1 forms of a peer id print as base58 */
      {"/p2p/bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
       "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"},
      /* certhash prints as base64url */
      {"/certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
       "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lp2p_maddr m;
    char t[1024];
    assert_int_equal(parse(&m, cases[i].in), 0);
    to_str(&m, t, sizeof t);
    assert_string_equal(t, cases[i].out);
  }
}

typedef struct bad {
  const char *s;
  int err;
} bad;

static const bad INVALID[] = {
    {"", LP2P_ERR_PARSE},
    {"/", LP2P_ERR_PARSE},
    {"//", LP2P_ERR_PARSE},
    {"ip4/1.2.3.4", LP2P_ERR_PARSE},
    {"/ip4", LP2P_ERR_PARSE},
    {"/ip4/", LP2P_ERR_PARSE},
    {"/ip4/::1", LP2P_ERR_PARSE},
    {"/ip4/fdpsofodsajfdoisa", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.256", LP2P_ERR_PARSE},
    {"/ip4/1.2.3", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.4.5", LP2P_ERR_PARSE},
    {"/ip4/01.2.3.4", LP2P_ERR_PARSE},
    {"/ip4/1..2.3", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.4 ", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.-4", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.1000", LP2P_ERR_PARSE},
    {"/ip6", LP2P_ERR_PARSE},
    {"/ip6/1.2.3.4", LP2P_ERR_PARSE},
    {"/ip6/1:2:3:4:5:6:7:8:9", LP2P_ERR_PARSE},
    {"/ip6/1:2:3:4:5:6:7", LP2P_ERR_PARSE},
    {"/ip6/1::2::3", LP2P_ERR_PARSE},
    {"/ip6/:1", LP2P_ERR_PARSE},
    {"/ip6/1:", LP2P_ERR_PARSE},
    {"/ip6/:::", LP2P_ERR_PARSE},
    {"/ip6/12345::", LP2P_ERR_PARSE},
    {"/ip6/g::", LP2P_ERR_PARSE},
    {"/ip6/::1.2.3", LP2P_ERR_PARSE},
    {"/ip6/1:2:3:4:5:6:7:1.2.3.4", LP2P_ERR_PARSE},
    {"/ip6/1:2:3:4:5:6:7::8", LP2P_ERR_PARSE},
    {"/ip6/fe80::1%eth0", LP2P_ERR_PARSE},
    {"/ip6zone", LP2P_ERR_PARSE},
    {"/ip6zone/", LP2P_ERR_PARSE},
    {"/ip6zone//ip6/fe80::1", LP2P_ERR_PARSE},
    {"/udp", LP2P_ERR_PARSE},
    {"/tcp", LP2P_ERR_PARSE},
    {"/udp/65536", LP2P_ERR_PARSE},
    {"/tcp/65536", LP2P_ERR_PARSE},
    {"/tcp/99999", LP2P_ERR_PARSE},
    {"/tcp/000080", LP2P_ERR_PARSE},
    {"/tcp/+80", LP2P_ERR_PARSE},
    {"/tcp/0x50", LP2P_ERR_PARSE},
    {"/quic/65536", LP2P_ERR_UNSUPPORTED},
    {"/quic-v1/65536", LP2P_ERR_UNSUPPORTED},
    {"/ip4/127.0.0.1/udp/jfodsajfidosajfoidsa", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/udp", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/tcp/jfodsajfidosajfoidsa", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/tcp", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/quic/1234", LP2P_ERR_UNSUPPORTED},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/"
     "b2uaraocy6yrdblb4sfptaddgimjmmp",
     LP2P_ERR_PARSE},
    {"/certhash/x123", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/ipfs", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/ipfs/tcp", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/p2p", LP2P_ERR_PARSE},
    {"/ip4/127.0.0.1/p2p/tcp", LP2P_ERR_PARSE},
    {"/unix", LP2P_ERR_PARSE},
    {"/unix/", LP2P_ERR_PARSE},
    {"/unix//", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.4/tcp/80/unix", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.4/tcp/-1", LP2P_ERR_PARSE},
    {"/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY", LP2P_ERR_PARSE},
    {"/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl-",
     LP2P_ERR_PARSE},
    {"/p2p/?unknownmultibase", LP2P_ERR_PARSE},
    {"/p2p/k2jmtxwoe2phm1hbqp0e7nufqf6umvuu2e9qd7ana7h411a0haqj6i2z",
     LP2P_ERR_PARSE},
    {"/p2p/Qm", LP2P_ERR_PARSE},
    {"/p2p/1", LP2P_ERR_PARSE},
    {"/foo", LP2P_ERR_UNSUPPORTED},
    {"/ip4/1.2.3.4/foo/1", LP2P_ERR_UNSUPPORTED},
    {"/sctp/1234", LP2P_ERR_UNSUPPORTED},
    {"/ip4/1.2.3.4//tcp/1", LP2P_ERR_PARSE},
    {"/ip4/1.2.3.4/tcp/1//", LP2P_ERR_PARSE},
    {"/ws//", LP2P_ERR_PARSE},
    {"//ip4/1.2.3.4", LP2P_ERR_PARSE},
    {"/dns", LP2P_ERR_PARSE},
    {"/dns4/", LP2P_ERR_PARSE},
    {"/sni", LP2P_ERR_PARSE},
};

static void test_invalid_list(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
    lp2p_maddr m;
    m.len = 7;
    int rc = parse(&m, INVALID[i].s);
    if (rc != INVALID[i].err)
      fprintf(stderr, "%s: got %d want %d\n", INVALID[i].s, rc, INVALID[i].err);
    assert_int_equal(rc, INVALID[i].err);
    assert_int_equal(m.len, 0);
  }
}

static void test_binary_kat(void **state) {
  (void)state;
  static const struct {
    const char *text, *hex;
  } kat[] = {
      {"/ip4/127.0.0.1/udp/1234", "047f000001910204d2"},
      {"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"},
      {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321",
       "047f000001910204d2047f0000010610e1"},
      {"/ip6zone/eth0/ip6/::1",
       "2a04657468302900000000000000000000000000000001"},
      {"/dns4/a.io/tcp/443/wss", "3604612e696f0601bbde03"},
      {"/ip4/1.2.3.4/tcp/1/p2p-circuit", "0401020304060001a202"},
      {"/unix/a/b", "900304"
                    "2f612f62"},
      {"/p2p/" QB,
       "a503221220"
       "c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6"},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    lp2p_maddr m, b;
    uint8_t want[256];
    size_t wl;
    char t[512];
    assert_int_equal(
        lp2p_hex_decode(kat[i].hex, strlen(kat[i].hex), want, sizeof want, &wl),
        0);
    assert_int_equal(parse(&m, kat[i].text), 0);
    assert_int_equal(m.len, wl);
    assert_memory_equal(m.bytes, want, wl);
    assert_int_equal(lp2p_maddr_from_bytes(&b, want, wl), 0);
    to_str(&b, t, sizeof t);
    assert_string_equal(t, kat[i].text);
  }
}

static void test_invalid_bytes(void **state) {
  (void)state;
  lp2p_maddr m;
  uint8_t b[64] = {0};
  size_t n;
#define FB(hex, e)                                                             \
  do {                                                                         \
    assert_int_equal(lp2p_hex_decode(hex, strlen(hex), b, sizeof b, &n), 0);   \
    assert_int_equal(lp2p_maddr_from_bytes(&m, b, n), e);                      \
    assert_int_equal(m.len, (e) ? 0 : n);                                      \
  } while (0)
  assert_int_equal(lp2p_maddr_from_bytes(&m, b, 0), LP2P_ERR_PARSE);
  FB("047f0000", LP2P_ERR_PARSE);     /* truncated ip4 */
  FB("0610", LP2P_ERR_PARSE);         /* truncated port */
  FB("8400", LP2P_ERR_PARSE);         /* non-minimal code varint */
  FB("ff", LP2P_ERR_PARSE);           /* truncated code varint */
  FB("05", LP2P_ERR_UNSUPPORTED);     /* unknown code */
  FB("3600", LP2P_ERR_PARSE);         /* empty dns4 */
  FB("36022f61", LP2P_ERR_PARSE);     /* '/' inside dns4 */
  FB("3605612e696f", LP2P_ERR_PARSE); /* length past end */
  FB("900302612f", LP2P_ERR_PARSE);   /* unix not starting with '/' */
  FB("9003022f61"
     "0610e1",
     LP2P_ERR_PARSE);                   /* unix not last */
  FB("9003032f612f", LP2P_ERR_PARSE);   /* unix trailing '/' */
  FB("a503021b00", LP2P_ERR_PARSE);     /* p2p: not identity/sha256 */
  FB("a50303000161", 0);                /* p2p identity, 1 byte */
  FB("a5030312021234", LP2P_ERR_PARSE); /* sha256 with 2-byte digest */
  FB("d20303000161", 0);                /* certhash any multihash */
  FB("d203021b03", LP2P_ERR_PARSE);     /* certhash bad multihash */
  /* go-multiaddr TestInvalidP2PAddrBytes */
  FB("a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad"
     "6",
     LP2P_ERR_PARSE);
#undef FB
  static uint8_t big[LP2P_MADDR_MAX + 1];
  assert_int_equal(lp2p_maddr_from_bytes(&m, big, sizeof big), LP2P_ERR_LIMIT);
}

static void test_too_long_text(void **state) {
  (void)state;
  /* 100 x "/ip4/1.2.3.4" is 500 bytes binary: fits; 103 x does not. */
  char s[2048];
  size_t n = 0;
  for (int i = 0; i < 103; i++)
    n += (size_t)snprintf(s + n, sizeof s - n, "/ip4/1.2.3.4");
  lp2p_maddr m;
  assert_int_equal(lp2p_maddr_parse(&m, s, 12 * 100), 0);
  assert_int_equal(m.len, 500);
  assert_int_equal(lp2p_maddr_parse(&m, s, n), LP2P_ERR_LIMIT);
  /* A long dns name. */
  memcpy(s, "/dns/", 5);
  memset(s + 5, 'a', 600);
  assert_int_equal(lp2p_maddr_parse(&m, s, 605), LP2P_ERR_LIMIT);
}

static void test_ip6_print(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"2001:DB8::1", "2001:db8::1"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"2001:0db8:aaaa:bbbb:cccc:dddd:eeee:0001",
       "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"},
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
      {"::ffff:0102:0304", "::ffff:1.2.3.4"},
      {"::1.2.3.4", "::102:304"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
      {"0:1:0:1:0:1:0:1", "0:1:0:1:0:1:0:1"},
      {"1:2:3:4:5:6::", "1:2:3:4:5:6::"},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"fe80::", "fe80::"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t ip[16], ip2[16];
    char t[LP2P_IP_TEXT_MAX];
    size_t len;
    assert_int_equal(lp2p_ip6_from_text(cases[i].in, strlen(cases[i].in), ip),
                     0);
    assert_int_equal(lp2p_ip_to_text(6, ip, t, sizeof t, &len), 0);
    assert_string_equal(t, cases[i].out);
    assert_int_equal(lp2p_ip6_from_text(t, len, ip2), 0);
    assert_memory_equal(ip, ip2, 16);
  }
  /* Longest form fits LP2P_IP_TEXT_MAX exactly with its NUL. */
  uint8_t ip[16];
  char t[LP2P_IP_TEXT_MAX];
  size_t len;
  memset(ip, 0xff, 16);
  assert_int_equal(lp2p_ip_to_text(6, ip, t, 39, &len), 0);
  assert_int_equal(lp2p_ip_to_text(6, ip, t, 38, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_ip_to_text(5, ip, t, sizeof t, &len), LP2P_ERR_INVAL);
  const char *mx = "::ffff:255.255.255.255";
  assert_int_equal(lp2p_ip6_from_text(mx, strlen(mx), ip), 0);
  assert_int_equal(lp2p_ip_to_text(6, ip, t, sizeof t, &len), 0);
  assert_int_equal(len, 22);
}

static void test_to_string_nospace(void **state) {
  (void)state;
  const char *s = "/ip4/1.2.3.4/tcp/4001/p2p/" QM "/p2p-circuit/p2p/" ED;
  size_t need = strlen(s);
  lp2p_maddr m;
  char t[256];
  size_t len = 0;
  assert_int_equal(parse(&m, s), 0);
  for (size_t cap = 0; cap < need; cap++) {
    memset(t, 'x', sizeof t);
    assert_int_equal(lp2p_maddr_to_string(&m, cap ? t : NULL, cap, &len),
                     LP2P_ERR_NOSPACE);
    assert_int_equal(t[cap], 'x');
  }
  memset(t, 'x', sizeof t);
  assert_int_equal(lp2p_maddr_to_string(&m, t, need, &len), 0);
  assert_int_equal(len, need);
  assert_memory_equal(t, s, need);
  assert_int_equal(t[need], 'x');
  lp2p_maddr e = {0};
  assert_int_equal(lp2p_maddr_to_string(&e, t, 4, &len), 0);
  assert_int_equal(len, 0);
  assert_string_equal(t, "");
}

static void test_iterate(void **state) {
  (void)state;
  lp2p_maddr m;
  assert_int_equal(parse(&m, "/ip4/1.2.3.4/tcp/80/ws/p2p/" QM), 0);
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  uint32_t codes[8];
  size_t nc = 0, total = 0;
  lp2p_maddr_iter_init(&it, &m);
  while (lp2p_maddr_next(&it, &c) == 1) {
    assert_int_equal(c.offset, total);
    total += c.size;
    codes[nc++] = c.code;
  }
  assert_int_equal(total, m.len);
  assert_int_equal(nc, 4);
  assert_int_equal(codes[0], LP2P_MA_IP4);
  assert_int_equal(codes[1], LP2P_MA_TCP);
  assert_int_equal(codes[2], LP2P_MA_WS);
  assert_int_equal(codes[3], LP2P_MA_P2P);
  assert_string_equal(lp2p_maddr_proto_name(LP2P_MA_QUIC_V1), "quic-v1");
  assert_null(lp2p_maddr_proto_name(5));
  /* Corrupted bytes stop the iterator with an error, never a crash. */
  m.bytes[0] = 0x05;
  lp2p_maddr_iter_init(&it, &m);
  assert_int_equal(lp2p_maddr_next(&it, &c), LP2P_ERR_UNSUPPORTED);
  m.len = LP2P_MADDR_MAX + 100;
  lp2p_maddr_iter_init(&it, &m);
  assert_int_equal(lp2p_maddr_next(&it, &c), 0);
}

static void expect_str(const lp2p_maddr *m, const char *s) {
  char t[512];
  to_str(m, t, sizeof t);
  assert_string_equal(t, s);
}

static void test_encap_decap(void **state) {
  (void)state;
  lp2p_maddr a, b;
  assert_int_equal(parse(&a, "/ip4/127.0.0.1/udp/1234"), 0);
  assert_int_equal(parse(&b, "/udp/5678"), 0);
  assert_int_equal(lp2p_maddr_encapsulate(&a, &b), 0);
  expect_str(&a, "/ip4/127.0.0.1/udp/1234/udp/5678");
  /* decapsulate drops from the LAST occurrence */
  assert_int_equal(lp2p_maddr_decapsulate(&a, LP2P_MA_UDP), 0);
  expect_str(&a, "/ip4/127.0.0.1/udp/1234");
  assert_int_equal(lp2p_maddr_decapsulate(&a, LP2P_MA_TCP), LP2P_ERR_NOT_FOUND);
  expect_str(&a, "/ip4/127.0.0.1/udp/1234");
  assert_int_equal(lp2p_maddr_decapsulate(&a, LP2P_MA_IP4), 0);
  assert_int_equal(a.len, 0);
  assert_int_equal(parse(&a, "/dnsaddr/wss.com/tcp/4001/wss"), 0);
  assert_int_equal(lp2p_maddr_decapsulate(&a, LP2P_MA_WS), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_maddr_decapsulate(&a, LP2P_MA_WSS), 0);
  expect_str(&a, "/dnsaddr/wss.com/tcp/4001");
  /* encapsulating onto empty gives b */
  a.len = 0;
  assert_int_equal(lp2p_maddr_encapsulate(&a, &b), 0);
  assert_true(lp2p_maddr_equal(&a, &b));
  /* unix must stay last */
  assert_int_equal(parse(&a, "/unix/tmp/sock"), 0);
  assert_int_equal(lp2p_maddr_encapsulate(&a, &b), LP2P_ERR_INVAL);
  /* length limit */
  assert_int_equal(parse(&a, "/ip4/1.2.3.4"), 0);
  for (int i = 0; i < 102; i++) { /* 5 bytes each: 102 fit in 512 */
    assert_int_equal(parse(&b, "/ip4/1.2.3.4"), 0);
    assert_int_equal(lp2p_maddr_encapsulate(&a, &b),
                     i < 101 ? 0 : LP2P_ERR_LIMIT);
  }
  assert_int_equal(a.len, 510);
  /* equal */
  lp2p_maddr x, y;
  assert_int_equal(parse(&x, "/ip4/127.0.0.1/tcp/1234"), 0);
  assert_int_equal(parse(&y, "/ip4/127.0.0.1/tcp/1234/"), 0);
  assert_true(lp2p_maddr_equal(&x, &y));
  assert_int_equal(parse(&y, "/ip4/127.0.0.1/udp/1234"), 0);
  assert_false(lp2p_maddr_equal(&x, &y));
}

static void test_peer_id(void **state) {
  (void)state;
  lp2p_maddr m, p;
  const uint8_t *id, *v;
  size_t n, vl;
  assert_int_equal(
      parse(&m, "/ip4/1.2.3.4/tcp/1/p2p/" QM "/p2p-circuit/p2p/" ED), 0);
  assert_int_equal(lp2p_maddr_get_peer_id(&m, &id, &n), 0);
  assert_int_equal(parse(&p, "/p2p/" ED), 0);
  assert_int_equal(lp2p_maddr_find(&p, LP2P_MA_P2P, &v, &vl), 0);
  assert_int_equal(n, vl);
  assert_memory_equal(id, v, n);
  assert_int_equal(id[0], 0x00); /* identity multihash */
  /* find returns the FIRST p2p (the relay) */
  assert_int_equal(lp2p_maddr_find(&m, LP2P_MA_P2P, &v, &vl), 0);
  assert_int_equal(vl, 34);
  assert_int_equal(v[0], 0x12);
  assert_int_equal(lp2p_maddr_find(&m, LP2P_MA_UDP, &v, &vl),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_maddr_strip_peer_id(&m), 1);
  expect_str(&m, "/ip4/1.2.3.4/tcp/1/p2p/" QM "/p2p-circuit");
  assert_int_equal(lp2p_maddr_get_peer_id(&m, &id, &n), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_maddr_strip_peer_id(&m), 0);
  expect_str(&m, "/ip4/1.2.3.4/tcp/1/p2p/" QM "/p2p-circuit");
  m.len = 0;
  assert_int_equal(lp2p_maddr_get_peer_id(&m, &id, &n), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_maddr_strip_peer_id(&m), 0);
}

static void test_ip_port(void **state) {
  (void)state;
  lp2p_maddr m;
  uint8_t ip[16] = {10, 0, 0, 1}, got[16];
  int fam, udp;
  uint16_t port;
  assert_int_equal(lp2p_maddr_from_ip_port(&m, 4, ip, 4001, 0), 0);
  expect_str(&m, "/ip4/10.0.0.1/tcp/4001");
  assert_int_equal(lp2p_maddr_to_ip_port(&m, &fam, got, &port, &udp), 0);
  assert_int_equal(fam, 4);
  assert_int_equal(port, 4001);
  assert_int_equal(udp, 0);
  assert_memory_equal(got, ip, 16);
  uint8_t ip6[16] = {0xfe, 0x80, [15] = 1};
  assert_int_equal(lp2p_maddr_from_ip_port(&m, 6, ip6, 65535, 1), 0);
  expect_str(&m, "/ip6/fe80::1/udp/65535");
  assert_int_equal(lp2p_maddr_to_ip_port(&m, &fam, got, &port, &udp), 0);
  assert_int_equal(fam, 6);
  assert_int_equal(udp, 1);
  assert_int_equal(port, 65535);
  assert_memory_equal(got, ip6, 16);
  assert_int_equal(lp2p_maddr_from_ip_port(&m, 5, ip, 1, 0), LP2P_ERR_INVAL);
  /* a trailing /p2p is fine; anything else is not plain ip+port */
  assert_int_equal(parse(&m, "/ip4/1.2.3.4/tcp/5/p2p/" QM), 0);
  assert_int_equal(lp2p_maddr_to_ip_port(&m, &fam, got, &port, &udp), 0);
  assert_int_equal(port, 5);
  static const char *const unsup[] = {
      "/ip4/1.2.3.4/tcp/5/ws",
      "/dns4/a.io/tcp/5",
      "/ip4/1.2.3.4",
      "/ip4/1.2.3.4/tcp/5/p2p/" QM "/p2p-circuit",
      "/tcp/5/ip4/1.2.3.4",
      "/ip6zone/x/ip6/fe80::1/tcp/5",
      "/ip4/1.2.3.4/udp/5/quic-v1",
  };
  for (size_t i = 0; i < sizeof unsup / sizeof unsup[0]; i++) {
    assert_int_equal(parse(&m, unsup[i]), 0);
    assert_int_equal(lp2p_maddr_to_ip_port(&m, &fam, got, &port, &udp),
                     LP2P_ERR_UNSUPPORTED);
  }
}

static void test_ip4_text(void **state) {
  (void)state;
  uint8_t ip[4];
  char t[16];
  size_t len;
  assert_int_equal(lp2p_ip4_from_text("192.168.0.255", 13, ip), 0);
  assert_memory_equal(ip, "\xc0\xa8\x00\xff", 4);
  assert_int_equal(lp2p_ip_to_text(4, ip, t, sizeof t, &len), 0);
  assert_string_equal(t, "192.168.0.255");
  assert_int_equal(lp2p_ip_to_text(4, ip, t, 13, &len),
                   0); /* no NUL room: fine */
  assert_int_equal(lp2p_ip_to_text(4, ip, t, 12, &len), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_ip4_from_text("1.2.3.4", 6, ip),
                   LP2P_ERR_PARSE); /* "1.2.3." */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_list),
      cmocka_unit_test(test_canonical_text),
      cmocka_unit_test(test_normalised_text),
      cmocka_unit_test(test_invalid_list),
      cmocka_unit_test(test_binary_kat),
      cmocka_unit_test(test_invalid_bytes),
      cmocka_unit_test(test_too_long_text),
      cmocka_unit_test(test_ip6_print),
      cmocka_unit_test(test_to_string_nospace),
      cmocka_unit_test(test_iterate),
      cmocka_unit_test(test_encap_decap),
      cmocka_unit_test(test_peer_id),
      cmocka_unit_test(test_ip_port),
      cmocka_unit_test(test_ip4_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
