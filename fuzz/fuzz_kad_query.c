/* Fuzzes the query engine: the input picks the query type and limits,
 * seeds from a pool of peer ids, then operations: take requests, answer
 * one in flight (or any peer) with either raw bytes through the codec or
 * a built answer naming pool peers, providers and a record, fail one,
 * time steps and timeouts; a fail-at allocation too. GET_VALUE runs under
 * a test namespace "/t/" whose validator accepts values starting with a
 * nonzero byte and prefers the larger first byte, so selection and entry
 * correction are exercised. Checks: at most alpha lookup requests in
 * flight, at most k fan-out requests, results ordered by distance and at
 * most k, the candidate set within peers_max, providers within
 * providers_max, the query ends once nothing is in flight and nothing can
 * be sent, memory bounded and freed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/kad.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define POOL 40

static int t_validate(void *ud, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len, uint64_t unix_ns) {
  (void)ud;
  (void)key;
  (void)key_len;
  (void)unix_ns;
  return val_len && val[0] ? 0 : LP2P_ERR_PARSE;
}

static int t_select(void *ud, const uint8_t *key, size_t key_len,
                    const lp2p_kad_bytes *vals, size_t n, size_t *best) {
  (void)ud;
  (void)key;
  (void)key_len;
  *best = 0;
  for (size_t i = 1; i < n; i++)
    if (vals[i].n && (!vals[*best].n || vals[i].p[0] > vals[*best].p[0]))
      *best = i;
  return 0;
}

typedef struct out {
  lp2p_peerid peer;
  uint8_t type;
  lp2p_tstamp deadline;
} out;

typedef struct flight {
  out e[64];
  size_t n, lookups;
} flight;

static int is_fan(uint8_t type) {
  return type == LP2P_KAD_PUT_VALUE || type == LP2P_KAD_ADD_PROVIDER;
}

static void fly_drop(flight *fl, size_t i) {
  if (!is_fan(fl->e[i].type))
    fl->lookups--;
  fl->e[i] = fl->e[--fl->n];
}

/* The engine keys requests by peer: an answer or failure settles every
 * request to that peer. */
static void fly_settle(flight *fl, const lp2p_peerid *p) {
  for (size_t i = fl->n; i-- > 0;)
    if (lp2p_peerid_equal(&fl->e[i].peer, p))
      fly_drop(fl, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  static const uint8_t types[] = {LP2P_KAD_FIND_NODE, LP2P_KAD_GET_VALUE,
                                  LP2P_KAD_GET_PROVIDERS, LP2P_KAD_PUT_VALUE,
                                  LP2P_KAD_ADD_PROVIDER};
  uint8_t type = types[fdp_range(&f, 0, 4)];
  lp2p_kad_validators vs;
  lp2p_kad_validators_default(&vs);
  lp2p_kad_validator tv = {"t", t_validate, t_select, NULL};
  CHECK(lp2p_kad_validators_add(&vs, &tv) == 0);
  lp2p_kad_query_config cfg;
  lp2p_kad_query_config_default(&cfg);
  cfg.k = fdp_range(&f, 1, 8);
  cfg.alpha = fdp_range(&f, 1, cfg.k);
  cfg.peers_max = fdp_range(&f, 2 * cfg.k, 3 * cfg.k);
  cfg.request_timeout_ns = fdp_range(&f, 1, 50);
  cfg.quorum = fdp_range(&f, 0, 3);
  cfg.providers_max = fdp_range(&f, 0, 4);
  cfg.provider_addrs_max = fdp_range(&f, 0, 3);
  cfg.addr_len_max = fdp_range(&f, 0, 16);
  cfg.value_max = fdp_range(&f, 0, 32);
  cfg.stop_at_target = fdp_bool(&f);
  cfg.validators = &vs;
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 30) : 0;
  mem.limit_bytes = 1u << 20;

  lp2p_peerid pool[POOL];
  for (int i = 0; i < POOL; i++) {
    pool[i].len = 34;
    pool[i].bytes[0] = 0x12;
    pool[i].bytes[1] = 0x20;
    memset(pool[i].bytes + 2, 0, 32);
    pool[i].bytes[2] = (uint8_t)i;
  }
  /* the key: "/t/x" for values, else a pool id (so stop_at_target bites) */
  const uint8_t *key = pool[fdp_range(&f, 0, POOL - 1)].bytes;
  size_t key_len = 34;
  if (type == LP2P_KAD_GET_VALUE) {
    key = (const uint8_t *)"/t/x";
    key_len = 4;
  }
  const lp2p_peerid *self = &pool[0];
  lp2p_kad_query *q;
  if (lp2p_kad_query_new(&q, type, key, key_len, self, &cfg, &mem.mem, 0) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  uint8_t target[32];
  lp2p_kad_key_hash(key, key_len, target);
  size_t nseed = fdp_range(&f, 0, 8);
  for (size_t i = 0; i < nseed; i++)
    lp2p_kad_query_seed(q, &pool[fdp_range(&f, 0, POOL - 1)], 1, 0);

  flight fl = {.n = 0};
  size_t fan_total = 0;
  lp2p_tstamp now = 0;
  for (int op = 0; op < 300 && fdp_left(&f); op++) {
    switch (fdp_range(&f, 0, 5)) {
    case 0: { /* take requests */
      lp2p_kad_request rq;
      while (fl.n < 64 && lp2p_kad_query_poll_request(q, now, &rq)) {
        CHECK(!lp2p_peerid_equal(&rq.peer, self));
        CHECK(rq.hops >= 1);
        if (is_fan(rq.type)) {
          CHECK(++fan_total <= cfg.k);
        } else {
          fl.lookups++;
          CHECK(fl.lookups <= cfg.alpha);
        }
        fl.e[fl.n].peer = rq.peer;
        fl.e[fl.n].type = rq.type;
        fl.e[fl.n].deadline = now + cfg.request_timeout_ns;
        fl.n++;
      }
      break;
    }
    case 1:
    case 2: { /* answer */
      lp2p_peerid from = pool[fdp_range(&f, 0, POOL - 1)];
      if (fl.n && fdp_u8(&f) < 200)
        from = fl.e[fdp_range(&f, 0, fl.n - 1)].peer;
      fly_settle(&fl, &from);
      lp2p_kad_msg m;
      lp2p_kad_peer cl[16], pv[16];
      lp2p_kad_bytes ad[32];
      if (fdp_bool(&f)) {
        lp2p_kad_msg_space sp = {cl, 16, pv, 16, ad, 32, 4, 0, 0};
        const uint8_t *b;
        size_t bn = fdp_bytes(&f, &b, 200);
        if (lp2p_kad_msg_decode(&m, &sp, b, bn) != 0) {
          lp2p_kad_query_on_failure(q, &from, now);
          break;
        }
      } else {
        memset(&m, 0, sizeof m);
        size_t nc = fdp_range(&f, 0, 16), np = fdp_range(&f, 0, 4);
        const uint8_t *ab;
        size_t an = fdp_bytes(&f, &ab, 20);
        ad[0].p = ab;
        ad[0].n = an;
        for (size_t i = 0; i < nc + np; i++) {
          lp2p_kad_peer *pp = i < nc ? &cl[i] : &pv[i - nc];
          const lp2p_peerid *id = &pool[fdp_range(&f, 0, POOL - 1)];
          memset(pp, 0, sizeof *pp);
          pp->id.p = id->bytes;
          pp->id.n = id->len;
          pp->addrs = ad;
          pp->addrs_n = fdp_range(&f, 0, 1);
        }
        m.closer = cl;
        m.closer_n = nc;
        m.providers = pv;
        m.providers_n = np;
        if (fdp_bool(&f)) {
          m.has_record = 1;
          m.rec_key.p = key;
          m.rec_key.n = fdp_bool(&f) ? key_len : 0;
          m.rec_value.n = fdp_bytes(&f, &m.rec_value.p, 8);
        }
      }
      int rc = lp2p_kad_query_on_response(q, &from, fdp_u8(&f) < 20 ? NULL : &m, now);
      CHECK(rc == 0 || rc == LP2P_ERR_NOMEM);
      break;
    }
    case 3: /* fail one */
      if (fl.n) {
        lp2p_peerid p = fl.e[fdp_range(&f, 0, fl.n - 1)].peer;
        fly_settle(&fl, &p);
        lp2p_kad_query_on_failure(q, &p, now);
      }
      break;
    case 4: /* time passes; timeouts fail what is in flight */
      now += fdp_range(&f, 0, 60);
      lp2p_kad_query_handle_timeout(q, now);
      for (size_t i = fl.n; i-- > 0;)
        if (fl.e[i].deadline <= now)
          fly_drop(&fl, i);
      break;
    case 5: { /* seed more mid-way */
      lp2p_kad_query_seed(q, &pool[fdp_range(&f, 0, POOL - 1)], 1, now);
      break;
    }
    }
    lp2p_kad_query_stats st;
    lp2p_kad_query_stats_get(q, &st);
    CHECK(st.peers_seen <= cfg.peers_max);
    CHECK(mem.live_bytes < (1u << 20));
  }
  /* results: at most k, ordered by distance, never ourselves */
  lp2p_peerid r;
  uint8_t prev[32], cur[32];
  size_t i = 0;
  for (; lp2p_kad_query_result(q, i, &r, NULL); i++) {
    CHECK(!lp2p_peerid_equal(&r, self));
    lp2p_kad_key_hash(r.bytes, r.len, cur);
    if (i)
      CHECK(lp2p_kad_dist_cmp(target, prev, cur) < 0);
    memcpy(prev, cur, 32);
  }
  CHECK(i <= cfg.k);
  size_t na;
  for (i = 0; lp2p_kad_query_provider(q, i, &r, &na); i++) {
    CHECK(na <= cfg.provider_addrs_max);
    for (size_t j = 0; j < na; j++) {
      size_t al;
      CHECK(lp2p_kad_query_provider_addr(q, i, j, &al) && al <= cfg.addr_len_max);
    }
  }
  CHECK(i <= cfg.providers_max);
  size_t vl;
  const uint8_t *v = lp2p_kad_query_value(q, &vl);
  CHECK(!v || (vl && v[0] && vl <= cfg.value_max));
  /* drain: failing everything in flight must end the query */
  for (int round = 0; round < 1000 && !lp2p_kad_query_done(q); round++) {
    lp2p_kad_request rq;
    while (lp2p_kad_query_poll_request(q, now, &rq))
      ;
    now += cfg.request_timeout_ns;
    lp2p_kad_query_handle_timeout(q, now);
  }
  CHECK(lp2p_kad_query_done(q));
  lp2p_kad_query_free(q);
  CHECK(mem.live_bytes == 0);
  return 0;
}
