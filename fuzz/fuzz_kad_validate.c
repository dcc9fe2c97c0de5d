/* Fuzzes the record validators. The first byte picks the path:
 *   0: an IPNS record under a name: [name length][name][record]
 *   1: a /pk/ value: [key length][peer id][value]
 *   2: a DAG-CBOR map, walked whole
 *   3: RFC 3339 text
 *   4: IPNS selection over values split at fuzzed lengths
 * Checks: a record that validates has its fields inside the input, its
 * EOL after the time given and a Sequence selection agrees with; CBOR
 * items stay inside the input; a parsed time formats back to itself. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/cbor.h"
#include "lp2p/ipns.h"
#include "lp2p/kad.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static int inside(const uint8_t *q, size_t qn, const uint8_t *p, size_t n) {
  return qn == 0 || (q >= p && q + qn <= p + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  uint8_t mode = fdp_u8(&f) % 5;
  const uint8_t *a, *b;
  size_t an, bn;
  uint64_t now = fdp_u64(&f);
  lp2p_kad_validators vs;
  lp2p_kad_validators_default(&vs);
  switch (mode) {
  case 0: {
    an = fdp_bytes(&f, &a, 64);
    bn = fdp_rest(&f, &b);
    uint8_t key[80];
    memcpy(key, "/ipns/", 6);
    memcpy(key + 6, a, an);
    lp2p_ipns_record r;
    int rc = lp2p_ipns_validate(key, 6 + an, b, bn, now, &r);
    CHECK(rc == lp2p_kad_validate(&vs, key, 6 + an, b, bn, now));
    if (rc == 0) {
      CHECK(inside(r.value, r.value_len, b, bn));
      CHECK(inside(r.data, r.data_len, b, bn));
      CHECK(r.eol_unix_ns > now);
      CHECK(r.validity_type == 0);
      lp2p_kad_bytes two[2] = {{b, bn}, {b, bn}};
      size_t best = 9;
      CHECK(lp2p_ipns_select(two, 2, &best) == 0 && best == 0);
    }
    break;
  }
  case 1: {
    an = fdp_bytes(&f, &a, 64);
    bn = fdp_rest(&f, &b);
    uint8_t key[80];
    memcpy(key, "/pk/", 4);
    memcpy(key + 4, a, an);
    int rc = lp2p_kad_validate(&vs, key, 4 + an, b, bn, now);
    if (rc == 0) {
      lp2p_pubkey pk;
      lp2p_peerid id;
      CHECK(lp2p_pubkey_unmarshal(&pk, b, bn) == 0);
      CHECK(lp2p_peerid_from_bytes(&id, a, an) == 0);
      CHECK(lp2p_peerid_matches_pubkey(&id, &pk));
    }
    break;
  }
  case 2: {
    bn = fdp_rest(&f, &b);
    lp2p_cbor_map m;
    if (lp2p_cbor_map_open(&m, b, bn) != 0)
      break;
    lp2p_cbor_item k, v;
    size_t prev_n = 0;
    const uint8_t *prev = NULL;
    while (lp2p_cbor_map_next(&m, &k, &v) == 1) {
      CHECK(k.major == LP2P_CBOR_TEXT && inside(k.p, k.n, b, bn));
      CHECK(v.major > LP2P_CBOR_NEGINT ? inside(v.p, v.n, b, bn) : 1);
      if (prev)
        CHECK(prev_n < k.n || (prev_n == k.n && memcmp(prev, k.p, k.n) < 0));
      prev = k.p;
      prev_n = k.n;
    }
    break;
  }
  case 3: {
    bn = fdp_rest(&f, &b);
    uint64_t t;
    if (lp2p_rfc3339_parse((const char *)b, bn, &t) == 0 && t) {
      char out[32];
      uint64_t t2;
      lp2p_rfc3339_format(t, out);
      CHECK(lp2p_rfc3339_parse(out, LP2P_RFC3339_NANO_LEN, &t2) == 0 && t2 == t);
    }
    break;
  }
  case 4: {
    lp2p_kad_bytes vals[4];
    size_t n = 0;
    while (n < 4 && fdp_left(&f)) {
      vals[n].n = fdp_bytes(&f, &vals[n].p, 400);
      n++;
    }
    size_t best;
    if (n) {
      CHECK(lp2p_ipns_select(vals, n, &best) == 0 && best < n);
      lp2p_ipns_record rb, ri;
      if (lp2p_ipns_parse(&rb, vals[best].p, vals[best].n) == 0)
        for (size_t i = 0; i < n; i++)
          if (lp2p_ipns_parse(&ri, vals[i].p, vals[i].n) == 0)
            CHECK(ri.sequence < rb.sequence ||
                  (ri.sequence == rb.sequence && ri.eol_unix_ns <= rb.eol_unix_ns));
    }
    break;
  }
  }
  return 0;
}
