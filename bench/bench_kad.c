/* Kademlia engine costs (issue 10, "Benchmarks"): heap per routing-table
 * entry, per stored provider record and per stored value, measured with
 * lp2p_mem_counting, and FIND_NODE lookups per second of CPU on a
 * synthetic 1,000-node network of routing tables (the engines alone: no
 * host, no wire; the simulator scenario measures the whole stack). There
 * is no reference in this run: the js comparison belongs to the service's
 * loopback benchmark.
 * Output: one line `kad table_entry=B provider_record=B value_record=B
 * lookups_per_s=N median_hops=H` (bytes; lookups per CPU second).
 *
 *   bench_kad --find-peer N BOOT ID...   the loopback half of the lookup
 *       benchmark (bench/kad.sh): a DHT client on the epoll driver
 *       bootstraps from BOOT only (refresh off, so its table stays that one
 *       peer and every lookup goes over the network, as js's findPeer with
 *       useCache false), then runs N find-peer lookups for the IDs in turn
 *       and prints `find-peer n=N median_ms=M mean_ms=A found=F answers=R`
 *       (wall time from the call to KAD_QUERY_DONE; R answered requests in
 *       all, at least N: no lookup ended without the network). */
#include "bench/bench_util.h"
#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "lp2p/kad.h"

static lp2p_rng g_rng;

static void rand_id(lp2p_peerid *id) {
  id->len = 34;
  id->bytes[0] = 0x12;
  id->bytes[1] = 0x20;
  g_rng.fill(g_rng.ctx, id->bytes + 2, 32);
}

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_kad: %s: %s\n", what, lp2p_strerror(rc));
    exit(2);
  }
}

static double table_entry_bytes(void) {
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_peerid self, id;
  rand_id(&self);
  lp2p_kad_table *t;
  check(lp2p_kad_table_new(&t, &self, NULL, &mc.mem, 0), "table_new");
  size_t base = mc.live_bytes;
  for (int i = 0; i < 20000; i++) {
    rand_id(&id);
    check(lp2p_kad_table_add(t, &id, 1, 0), "table_add");
  }
  /* per entry in the table; the replacement caches ride along */
  double per = (double)(mc.live_bytes - base) / (double)lp2p_kad_table_size(t);
  lp2p_kad_table_free(t);
  return per;
}

static double provider_record_bytes(void) {
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_kad_providers *s;
  check(lp2p_kad_providers_new(&s, NULL, &mc.mem, &g_rng, 0), "providers_new");
  size_t base = mc.live_bytes;
  /* 1,000 keys with 10 providers each, each with an /ip4/tcp and an
   * /ip6/tcp address (8 and 20 bytes binary) */
  uint8_t a4[8] = {4, 1, 2, 3, 4, 6, 0x0f, 0xa1}, a6[20] = {41};
  lp2p_kad_bytes addrs[2] = {{a4, sizeof a4}, {a6, sizeof a6}};
  for (int k = 0; k < 1000; k++) {
    lp2p_peerid key, p;
    rand_id(&key);
    for (int j = 0; j < 10; j++) {
      rand_id(&p);
      check(lp2p_kad_providers_add(s, key.bytes, key.len, &p, addrs, 2, 0), "add");
    }
  }
  double per = (double)(mc.live_bytes - base) / 10000.0;
  lp2p_kad_providers_free(s);
  return per;
}

static double value_record_bytes(void) {
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_kad_records *s;
  check(lp2p_kad_records_new(&s, NULL, &mc.mem, &g_rng, 0), "records_new");
  size_t base = mc.live_bytes;
  uint8_t key[40] = "/ipns/", val[300] = {0}; /* a typical Ed25519 IPNS record */
  for (int i = 0; i < 2000; i++) {
    g_rng.fill(g_rng.ctx, key + 6, 34);
    check(lp2p_kad_records_put(s, key, sizeof key, val, sizeof val, 0, 0), "put");
  }
  /* overhead beyond the key and value bytes themselves */
  double per = (double)(mc.live_bytes - base) / 2000.0 - (double)(sizeof key + sizeof val);
  lp2p_kad_records_free(s);
  return per;
}

enum { NET = 1000, LOOKUPS = 2000 };

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void lookups(double *per_s, uint32_t *median_hops) {
  static lp2p_peerid ids[NET];
  static lp2p_kad_table *t[NET];
  for (int i = 0; i < NET; i++)
    rand_id(&ids[i]);
  for (int i = 0; i < NET; i++) {
    check(lp2p_kad_table_new(&t[i], &ids[i], NULL, NULL, 0), "table_new");
    for (int j = 0; j < NET; j++)
      if (i != j)
        check(lp2p_kad_table_add(t[i], &ids[j], 1, 0), "table_add");
  }
  static uint32_t hops[LOOKUPS];
  bench_stamp t0 = bench_stamp_now();
  for (int l = 0; l < LOOKUPS; l++) {
    int from = (int)lp2p_rng_below(&g_rng, NET);
    const lp2p_peerid *target = &ids[lp2p_rng_below(&g_rng, NET)];
    uint8_t tk[32];
    lp2p_kad_key_hash(target->bytes, target->len, tk);
    lp2p_kad_query_config cfg;
    lp2p_kad_query_config_default(&cfg);
    cfg.stop_at_target = 1;
    lp2p_kad_query *q;
    check(lp2p_kad_query_new(&q, LP2P_KAD_FIND_NODE, target->bytes, target->len,
                             &ids[from], &cfg, NULL, 0), "query_new");
    lp2p_peerid seeds[LP2P_KAD_K], named[LP2P_KAD_K];
    lp2p_kad_peer peers[LP2P_KAD_K];
    size_t ns = lp2p_kad_table_closest(t[from], tk, seeds, LP2P_KAD_K);
    lp2p_kad_query_seed(q, seeds, ns, 0);
    lp2p_kad_request rq;
    while (!lp2p_kad_query_done(q) && lp2p_kad_query_poll_request(q, 0, &rq)) {
      int who = 0;
      while (!lp2p_peerid_equal(&ids[who], &rq.peer))
        who++;
      size_t n = lp2p_kad_table_closest(t[who], tk, named, LP2P_KAD_K);
      lp2p_kad_msg m;
      memset(&m, 0, sizeof m);
      for (size_t i = 0; i < n; i++) {
        memset(&peers[i], 0, sizeof peers[i]);
        peers[i].id.p = named[i].bytes;
        peers[i].id.n = named[i].len;
      }
      m.closer = peers;
      m.closer_n = n;
      check(lp2p_kad_query_on_response(q, &rq.peer, &m, 0), "on_response");
    }
    uint32_t h = 0;
    if (target == &ids[from] || !lp2p_kad_query_target(q, &h))
      h = 0;
    hops[l] = h;
    lp2p_kad_query_free(q);
  }
  bench_stamp t1 = bench_stamp_now();
  qsort(hops, LOOKUPS, sizeof hops[0], cmp_u32);
  *median_hops = hops[LOOKUPS / 2];
  *per_s = LOOKUPS / ((double)(t1.cpu_ns - t0.cpu_ns) / 1e9);
  for (int i = 0; i < NET; i++)
    lp2p_kad_table_free(t[i]);
}

/* ---- find-peer over a real loopback network ------------------------------ */

static int wait_event(lp2p_host *h, lp2p_driver *d, lp2p_host_event *ev,
                      uint64_t until_ns) {
  while (bench_now_ns() < until_ns) {
    if (lp2p_host_poll_event(h, ev))
      return 1;
    bench_check(lp2p_driver_step(d, 1), "lp2p_driver_step");
  }
  return 0;
}

static int find_peer_bench(int argc, char **argv) {
  if (argc < 3)
    bench_die("usage: bench_kad --find-peer N BOOT ID...");
  int n = atoi(argv[0]);
  lp2p_maddr boot;
  if (n < 1 || lp2p_maddr_parse(&boot, argv[1], strlen(argv[1])))
    bench_die("bad N or BOOT");
  int nid = argc - 2;
  lp2p_peerid *ids = calloc((size_t)nid, sizeof *ids);
  for (int i = 0; i < nid; i++)
    if (lp2p_peerid_parse(&ids[i], argv[2 + i], strlen(argv[2 + i])))
      bench_die("bad peer id '%s'", argv[2 + i]);
  lp2p_rng rng;
  lp2p_rng_system(&rng);
  lp2p_privkey key;
  bench_check(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &rng), "keygen");
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.kad.mode = LP2P_KAD_MODE_CLIENT;
  cfg.kad.refresh = 0;
  cfg.kad.addr_filter = LP2P_KAD_ADDRS_ALL; /* loopback */
  cfg.kad.bootstrap = &boot;
  cfg.kad.bootstrap_n = 1;
  lp2p_host *h;
  lp2p_driver *d;
  bench_check(lp2p_host_new(&h, &cfg, NULL, &rng, lp2p_clock_now()),
              "lp2p_host_new");
  bench_check(lp2p_driver_new(&d, h, lp2p_backend_epoll()), "driver_new");
  lp2p_host_event ev;
  uint64_t until = bench_now_ns() + 10 * UINT64_C(1000000000);
  while (!lp2p_host_kad_table_size(h))
    if (!wait_event(h, d, &ev, until))
      bench_die("the bootstrap peer did not join the table");
  double *ms = calloc((size_t)n, sizeof *ms);
  int found = 0;
  size_t requests = 0; /* answered requests: every lookup went out */
  double sum = 0;
  for (int i = 0; i < n; i++) {
    uint64_t q = 0;
    uint64_t t0 = bench_now_ns();
    bench_check(lp2p_host_kad_find_peer(h, lp2p_clock_now(), &ids[i % nid], &q),
                "find_peer");
    lp2p_kad_query_info info;
    until = t0 + 30 * UINT64_C(1000000000);
    for (;;) {
      if (lp2p_host_kad_query_info(h, q, &info) == 0 && info.done)
        break;
      if (!wait_event(h, d, &ev, until))
        bench_die("lookup %d did not end", i);
    }
    ms[i] = (double)(bench_now_ns() - t0) / 1e6;
    sum += ms[i];
    found += info.target_found;
    requests += info.stats.responses;
    lp2p_host_kad_query_free(h, q);
  }
  printf("find-peer n=%d median_ms=%.3f mean_ms=%.3f found=%d answers=%zu\n",
         n, bench_median(ms, n), sum / n, found, requests);
  free(ms);
  free(ids);
  lp2p_driver_free(d);
  lp2p_host_free(h);
  return found == n && requests >= (size_t)n ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--find-peer"))
    return find_peer_bench(argc - 2, argv + 2);
  lp2p_rng_chacha st;
  lp2p_rng_chacha_init(&st, 1, 0, &g_rng);
  double te = table_entry_bytes();
  double pr = provider_record_bytes();
  double vr = value_record_bytes();
  double lps;
  uint32_t mh;
  lookups(&lps, &mh);
  printf("kad table_entry=%.0f provider_record=%.0f value_record=%.0f "
         "lookups_per_s=%.0f median_hops=%u\n", te, pr, vr, lps, mh);
  return 0;
}
