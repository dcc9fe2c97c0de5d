/* Fuzzes the kad-dht codec: the input is a length-prefixed Message. The
 * first bytes choose the decode capacities. Checks: counts within the
 * capacities, every view inside the input, and decode -> encode ->
 * decode gives the same message (the encoder writes what the decoder
 * read, minus unknown fields). Every peer address that parses also goes
 * through the DHT's address filter (kad_boot.c): `all` keeps it, and
 * `public` and `private` split IP addresses exactly (names pass both). */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/autonat.h"
#include "lp2p/kad.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static int inside(lp2p_kad_bytes b, const uint8_t *p, size_t n) {
  return b.n == 0 || (b.p >= p && b.p + b.n <= p + n);
}

static void filter_check(const lp2p_kad_bytes *a) {
  lp2p_maddr m;
  if (lp2p_maddr_from_bytes(&m, a->p, a->n) != 0)
    return;
  static lp2p_kad_config c;
  static int init;
  if (!init) {
    lp2p_kad_config_default(&c);
    init = 1;
  }
  c.addr_filter = LP2P_KAD_ADDRS_ALL;
  CHECK(lp2p_kad_addr_allowed(&c, &m) == 1);
  c.addr_filter = LP2P_KAD_ADDRS_PUBLIC;
  int pub = lp2p_kad_addr_allowed(&c, &m);
  c.addr_filter = LP2P_KAD_ADDRS_PRIVATE;
  int priv = lp2p_kad_addr_allowed(&c, &m);
  int fam;
  uint8_t ip[16];
  if (lp2p_autonat_maddr_ip(&m, &fam, ip) == 0)
    CHECK(pub + priv == 1 && pub == (lp2p_autonat_ip_is_public(NULL, fam, ip) != 0));
  else
    CHECK(pub == 1 && priv == 1);
}

static int same_bytes(lp2p_kad_bytes a, lp2p_kad_bytes b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int same_peers(const lp2p_kad_peer *a, const lp2p_kad_peer *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!same_bytes(a[i].id, b[i].id) || a[i].addrs_n != b[i].addrs_n ||
        a[i].connection != b[i].connection)
      return 0;
    for (size_t j = 0; j < a[i].addrs_n; j++)
      if (!same_bytes(a[i].addrs[j], b[i].addrs[j]))
        return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_kad_peer closer[32], provs[32], closer2[32], provs2[32];
  lp2p_kad_bytes addrs[64], addrs2[64];
  lp2p_kad_msg_space sp = {closer, fdp_range(&f, 0, 32), provs,
                           fdp_range(&f, 0, 32), addrs, fdp_range(&f, 0, 64),
                           fdp_range(&f, 0, 8), 0, 0};
  const uint8_t *p;
  size_t n = fdp_rest(&f, &p);
  size_t off, len;
  if (lp2p_kad_frame(p, n, LP2P_KAD_MSG_MAX, &off, &len) != 0)
    return 0;
  const uint8_t *body = p + off;
  lp2p_kad_msg m;
  if (lp2p_kad_msg_decode(&m, &sp, body, len) != 0)
    return 0;
  CHECK(m.type <= LP2P_KAD_PING);
  CHECK(m.closer_n <= sp.closer_cap && m.providers_n <= sp.providers_cap);
  CHECK(inside(m.key, body, len) && inside(m.rec_key, body, len) &&
        inside(m.rec_value, body, len) && inside(m.rec_time, body, len));
  size_t total_addrs = 0;
  for (int l = 0; l < 2; l++) {
    const lp2p_kad_peer *ps = l ? m.providers : m.closer;
    size_t pn = l ? m.providers_n : m.closer_n;
    for (size_t i = 0; i < pn; i++) {
      CHECK(inside(ps[i].id, body, len));
      CHECK(ps[i].addrs_n <= sp.addrs_per_peer_max);
      CHECK(ps[i].connection <= 3);
      total_addrs += ps[i].addrs_n;
      for (size_t j = 0; j < ps[i].addrs_n; j++) {
        CHECK(inside(ps[i].addrs[j], body, len));
        filter_check(&ps[i].addrs[j]);
      }
    }
  }
  CHECK(total_addrs <= sp.addrs_cap);

  size_t need;
  int rc = lp2p_kad_msg_encode(&m, NULL, 0, &need);
  CHECK(rc == LP2P_ERR_NOSPACE || rc == LP2P_ERR_LIMIT);
  if (rc == LP2P_ERR_LIMIT)
    return 0;
  uint8_t *buf = malloc(need);
  CHECK(buf);
  size_t got;
  CHECK(lp2p_kad_msg_encode(&m, buf, need, &got) == 0 && got == need);
  CHECK(lp2p_kad_frame(buf, got, LP2P_KAD_MSG_MAX, &off, &len) == 0);
  CHECK(off + len == got);
  lp2p_kad_msg_space sp2 = {closer2, 32, provs2, 32, addrs2, 64, 8, 0, 0};
  lp2p_kad_msg m2;
  CHECK(lp2p_kad_msg_decode(&m2, &sp2, buf + off, len) == 0);
  CHECK(m2.type == m.type && same_bytes(m2.key, m.key) &&
        m2.has_record == m.has_record && same_bytes(m2.rec_key, m.rec_key) &&
        same_bytes(m2.rec_value, m.rec_value) &&
        same_bytes(m2.rec_time, m.rec_time));
  CHECK(m2.closer_n == m.closer_n && m2.providers_n == m.providers_n);
  CHECK(same_peers(m.closer, m2.closer, m.closer_n));
  CHECK(same_peers(m.providers, m2.providers, m.providers_n));
  free(buf);
  return 0;
}
