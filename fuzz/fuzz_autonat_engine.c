/* Fuzz the AutoNAT v2 engines. The input picks configs (dial-data range,
 * budget, allow_private, observed IP), then runs a client request and a
 * server request against each other and against fuzzed bytes: chunks fed
 * at fuzzed boundaries to either side, partial consumes of either side's
 * output, EOFs, dial results, limiter admissions over fuzzed time, and
 * verdict-book operations (adds, picks, results, sweeps). Checks: the
 * client never sends more dial data than its budget, the server never
 * asks for dial data outside its range nor dials before it got it, an
 * OK answer names an address the client sent, the limiter never exceeds its
 * caps, book verdicts follow the rule, and nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/autonat.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static const char *const addr_text[] = {
    "/ip4/1.2.3.4/tcp/4001",
    "/ip4/10.0.0.1/tcp/1",
    "/ip4/127.0.0.1/tcp/5",
    "/ip6/2001:4860::1/tcp/7",
    "/ip4/5.6.7.8/udp/9",
    "/ip4/8.8.8.8/tcp/53/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dns4/a.test/tcp/1",
};
#define NADDR (sizeof addr_text / sizeof addr_text[0])

static lp2p_autonat_creq C;
static lp2p_autonat_sreq SRV;

static void run_pair(fdp *f, lp2p_autonat_limiter *lim,
                     const lp2p_autonat_server_config *scfg) {
  lp2p_maddr addrs[4];
  size_t n = fdp_range(f, 1, 4);
  for (size_t i = 0; i < n; i++) {
    const char *t = addr_text[fdp_range(f, 0, NADDR - 1)];
    CHECK(lp2p_maddr_parse(&addrs[i], t, strlen(t)) == 0);
  }
  uint64_t budget = fdp_range(f, 0, 200000);
  CHECK(lp2p_autonat_creq_init(&C, addrs, n, fdp_u64(f), budget) == 0);
  uint8_t oip[16] = {0};
  int ofam = fdp_bool(f) ? 4 : 6;
  if (fdp_bool(f))
    oip[0] = 1, oip[1] = 2, oip[2] = 3, oip[3] = 4;
  else
    oip[0] = fdp_u8(f);
  lp2p_autonat_sreq_init(&SRV, scfg, lim, ofam, oip, fdp_bool(f) && fdp_bool(f),
                         fdp_u64(f));
  CHECK(SRV.data_need >= scfg->dial_data_min &&
        (scfg->dial_data_max < scfg->dial_data_min ||
         SRV.data_need <= scfg->dial_data_max));
  uint64_t sent_data_frames_bytes = 0;
  int steps = (int)fdp_range(f, 1, 400);
  for (int i = 0; i < steps && fdp_left(f); i++) {
    size_t len;
    const uint8_t *p;
    switch (fdp_range(f, 0, 7)) {
    case 0: /* client -> server, a fuzzed portion */
    case 1:
      p = lp2p_autonat_creq_out_peek(&C, &len);
      if (p && len) {
        size_t k = fdp_range(f, 1, len);
        uint64_t before = SRV.data_got;
        lp2p_autonat_sreq_feed(&SRV, 0, p, k);
        lp2p_autonat_creq_out_consume(&C, k);
        sent_data_frames_bytes += k;
        CHECK(SRV.data_got >= before);
      }
      break;
    case 2: /* server -> client */
      p = lp2p_autonat_sreq_out_peek(&SRV, &len);
      if (p && len) {
        size_t k = fdp_range(f, 1, len);
        lp2p_autonat_creq_feed(&C, p, k);
        lp2p_autonat_sreq_out_consume(&SRV, k);
      }
      break;
    case 3: { /* garbage to the server */
      const uint8_t *g;
      size_t gl = fdp_bytes(f, &g, 64);
      lp2p_autonat_sreq_feed(&SRV, 0, g, gl);
      break;
    }
    case 4: { /* garbage to the client */
      const uint8_t *g;
      size_t gl = fdp_bytes(f, &g, 64);
      lp2p_autonat_creq_feed(&C, g, gl);
      break;
    }
    case 5: /* the dial-back outcome */
      if (SRV.state == LP2P_AUTONAT_SREQ_DIAL) {
        static const uint32_t st[] = {LP2P_AUTONAT_DIAL_OK,
                                      LP2P_AUTONAT_DIAL_ERROR,
                                      LP2P_AUTONAT_DIAL_BACK_ERROR};
        lp2p_autonat_sreq_dial_result(&SRV, st[fdp_range(f, 0, 2)]);
      }
      break;
    case 6:
      if (fdp_bool(f))
        lp2p_autonat_sreq_feed_eof(&SRV);
      else
        lp2p_autonat_creq_feed_eof(&C);
      break;
    default: /* a clean exchange to the end */
      for (int r = 0; r < 100000; r++) {
        size_t a = 0, b = 0;
        p = lp2p_autonat_creq_out_peek(&C, &a);
        if (p && a) {
          lp2p_autonat_sreq_feed(&SRV, 0, p, a);
          lp2p_autonat_creq_out_consume(&C, a);
          sent_data_frames_bytes += a;
        }
        p = lp2p_autonat_sreq_out_peek(&SRV, &b);
        if (p && b) {
          lp2p_autonat_creq_feed(&C, p, b);
          lp2p_autonat_sreq_out_consume(&SRV, b);
        }
        if (!a && !b)
          break;
      }
      break;
    }
    /* the client's dial data never exceeds its budget (plus framing) */
    CHECK(sent_data_frames_bytes <=
          budget + sizeof C.req + (budget / 4096 + 2) * 16);
    if (SRV.state == LP2P_AUTONAT_SREQ_DIAL && SRV.data_got)
      CHECK(SRV.data_got >= SRV.data_need);
    if (C.state == LP2P_AUTONAT_CREQ_DONE && C.status == LP2P_AUTONAT_RESP_OK)
      CHECK(C.addr_idx < C.naddrs);
  }
}

static void run_limiter(fdp *f, lp2p_autonat_limiter *lim,
                        const lp2p_autonat_server_config *cfg) {
  lp2p_tstamp t = 0;
  uint32_t inflight[4] = {0};
  int steps = (int)fdp_range(f, 0, 200);
  for (int i = 0; i < steps && fdp_left(f); i++) {
    uint64_t peer = fdp_range(f, 0, 3);
    t += fdp_range(f, 0, 30) * LP2P_NS_PER_S / 4;
    switch (fdp_range(f, 0, 2)) {
    case 0:
      if (lp2p_autonat_limiter_accept(lim, peer, t))
        inflight[peer]++;
      CHECK(inflight[peer] <= cfg->concurrent_per_peer_max);
      break;
    case 1:
      if (inflight[peer]) {
        inflight[peer]--;
        lp2p_autonat_limiter_done(lim, peer);
      }
      break;
    default:
      lp2p_autonat_limiter_dial_data(lim, t);
      break;
    }
    CHECK(lp2p_autonat_limiter_in_flight(lim) <= cfg->concurrent_max);
  }
}

static void run_book(fdp *f, const lp2p_mem *mem) {
  lp2p_autonat_client_config cfg;
  lp2p_autonat_client_config_default(&cfg);
  cfg.addrs_max = (uint32_t)fdp_range(f, 1, 4);
  cfg.success_other_min = (uint32_t)fdp_range(f, 1, 4);
  cfg.failure_min = (uint32_t)fdp_range(f, 1, 4);
  cfg.servers_per_addr_max = (uint32_t)fdp_range(f, 0, 20);
  cfg.retry_ns = fdp_range(f, 0, 100);
  cfg.request_timeout_ns = fdp_range(f, 0, 100);
  cfg.recheck_reachable_ns = fdp_range(f, 0, 1000);
  cfg.recheck_unreachable_ns = fdp_bool(f) ? UINT64_MAX - 5 : 50;
  lp2p_autonat_book *b;
  if (lp2p_autonat_book_new(&b, &cfg, mem) != 0)
    return;
  lp2p_tstamp t = 0;
  int steps = (int)fdp_range(f, 0, 300);
  for (int i = 0; i < steps && fdp_left(f); i++) {
    lp2p_maddr a;
    const char *txt = addr_text[fdp_range(f, 0, 3)];
    CHECK(lp2p_maddr_parse(&a, txt, strlen(txt)) == 0);
    t += fdp_range(f, 0, 60);
    switch (fdp_range(f, 0, 4)) {
    case 0:
      lp2p_autonat_book_add(b, &a, fdp_bool(f), t);
      CHECK(lp2p_autonat_book_count(b) <= cfg.addrs_max);
      break;
    case 1: {
      lp2p_maddr got;
      lp2p_autonat_book_pick(b, fdp_range(f, 0, 7), t, &got);
      break;
    }
    case 2: {
      uint32_t su = 0, fa = 0;
      lp2p_autonat_reach o = (lp2p_autonat_reach)fdp_range(f, 0, 2);
      int changed = lp2p_autonat_book_result(b, &a, fdp_range(f, 0, 7), o, t);
      lp2p_autonat_reach v = lp2p_autonat_book_verdict(b, &a, &su, &fa);
      if (changed)
        CHECK(v != LP2P_AUTONAT_UNKNOWN);
      if (changed && v == LP2P_AUTONAT_UNREACHABLE)
        CHECK(fa >= cfg.failure_min && fa > su);
      if (changed && v == LP2P_AUTONAT_REACHABLE)
        CHECK(su > fa && su >= 1);
      break;
    }
    case 3:
      lp2p_autonat_book_mark(b);
      if (fdp_bool(f))
        lp2p_autonat_book_add(b, &a, 0, t);
      lp2p_autonat_book_sweep(b);
      break;
    default: {
      /* a recheck (a port mapping made again) only ever moves an entry
       * between rounds into one, never changes its verdict */
      lp2p_autonat_reach before = lp2p_autonat_book_verdict(b, &a, NULL, NULL);
      (void)lp2p_autonat_book_recheck(b, &a, t);
      CHECK(lp2p_autonat_book_verdict(b, &a, NULL, NULL) == before);
      (void)lp2p_autonat_book_next_due(b);
      (void)lp2p_autonat_book_overall(b);
      break;
    }
    }
  }
  lp2p_autonat_book_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 8) : 0;
  lp2p_autonat_server_config scfg;
  lp2p_autonat_server_config_default(&scfg);
  scfg.dial_data_min = (uint32_t)fdp_range(&f, 0, 40000);
  scfg.dial_data_max = (uint32_t)fdp_range(&f, 0, 120000);
  scfg.allow_private = fdp_bool(&f);
  scfg.requests_per_min = (uint32_t)fdp_range(&f, 0, 70);
  scfg.requests_per_peer_per_min = (uint32_t)fdp_range(&f, 0, 14);
  scfg.dial_data_per_min = (uint32_t)fdp_range(&f, 0, 14);
  scfg.concurrent_per_peer_max = (uint32_t)fdp_range(&f, 0, 3);
  scfg.concurrent_max = (uint32_t)fdp_range(&f, 0, 8);
  scfg.peers_max = (uint32_t)fdp_range(&f, 0, 3);
  lp2p_autonat_limiter *lim = NULL;
  int rc = lp2p_autonat_limiter_new(&lim, &scfg, &mem.mem);
  CHECK(rc == 0 || rc == LP2P_ERR_NOMEM || rc == LP2P_ERR_INVAL);
  switch (fdp_range(&f, 0, 2)) {
  case 0:
    run_pair(&f, lim, &scfg);
    break;
  case 1:
    if (lim)
      run_limiter(&f, lim, &scfg);
    break;
  default:
    run_book(&f, &mem.mem);
    break;
  }
  lp2p_autonat_limiter_free(lim);
  CHECK(mem.live_allocs == 0 && mem.live_bytes == 0);
  return 0;
}
