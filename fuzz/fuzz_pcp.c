/* Fuzzes the PCP response parser and the client engine, as fuzz_natpmp.c
 * does for NAT-PMP: requests with fresh or given nonces, cancels, time,
 * sends, raw datagrams, answers shaped after the last request (its nonce,
 * protocol and port, fuzzed result, lifetime, epoch, options), NAT-PMP and
 * other-version answers. Checks: one end per request unless cancelled,
 * timeouts move forward, sends are 60-byte MAP requests, no leak. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/pcp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define TAGS 8

static void fill(void *ctx, uint8_t *out, size_t n) {
  fdp *f = ctx;
  for (size_t i = 0; i < n; i++)
    out[i] = fdp_u8(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_pcp_resp pr;
  const uint8_t *raw;
  size_t rl = fdp_bytes(&f, &raw, 128);
  (void)lp2p_pcp_resp_parse(raw, rl, &pr);

  lp2p_pcp_config cfg;
  lp2p_pcp_config_default(&cfg);
  cfg.requests_max = (uint32_t)fdp_range(&f, 1, 4);
  cfg.mrc = (uint32_t)fdp_range(&f, 0, 5);
  cfg.mrd_ns = fdp_range(&f, 0, 100) * LP2P_NS_PER_S;
  cfg.irt_ns = fdp_range(&f, 1, 3000) * LP2P_NS_PER_MS;
  cfg.mrt_ns = cfg.irt_ns * fdp_range(&f, 1, 400);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 3) : 0;
  fdp rf;
  const uint8_t *rb;
  size_t rbl = fdp_bytes(&f, &rb, 64);
  fdp_init(&rf, rb, rbl);
  lp2p_rng rng = {fill, &rf};
  const lp2p_sockaddr srv = {4, {10, 0, 1, 1}, 5351};
  const lp2p_sockaddr cli = {4, {10, 0, 1, 2}, 0};
  lp2p_pcp *c;
  if (lp2p_pcp_new(&c, &cfg, &mem.mem, &rng, &srv, &cli) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  int state[TAGS] = {0};
  uint8_t last[60];
  int have_last = 0;
  lp2p_tstamp now = 0;
  while (fdp_left(&f)) {
    uint64_t tag = fdp_range(&f, 0, TAGS - 1);
    switch (fdp_u8(&f) % 6) {
    case 0: {
      uint8_t proto = fdp_bool(&f) ? 6 : 17;
      uint16_t in = (uint16_t)fdp_range(&f, 0, 3);
      lp2p_sockaddr sug = {(uint8_t)(fdp_bool(&f) ? 4 : 0), {1, 2, 3, 4}, fdp_u16(&f)};
      uint8_t nonce[12];
      int given = fdp_bool(&f);
      for (int i = 0; i < 12; i++)
        nonce[i] = fdp_u8(&f);
      if (lp2p_pcp_request_map(c, now, tag, proto, in, &sug, fdp_u32(&f), given ? nonce : NULL) == 0) {
        CHECK(state[tag] != 1);
        state[tag] = 1;
      }
      break;
    }
    case 1:
      if (lp2p_pcp_cancel(c, tag) == 0)
        state[tag] = 2;
      break;
    case 2: {
      lp2p_tstamp t = lp2p_pcp_next_timeout(c);
      now += fdp_range(&f, 0, 2000000) * LP2P_NS_PER_MS;
      if (t != LP2P_TSTAMP_NONE && fdp_bool(&f) && t > now)
        now = t;
      lp2p_pcp_handle_timeout(c, now);
      t = lp2p_pcp_next_timeout(c);
      CHECK(t == LP2P_TSTAMP_NONE || t > now);
      break;
    }
    case 3: {
      lp2p_sockaddr to;
      size_t n;
      const uint8_t *p = lp2p_pcp_out_peek(c, &to, &n);
      if (p) {
        CHECK(n == 60 && p[0] == 2 && p[1] == 1 && to.port == 5351);
        memcpy(last, p, 60);
        have_last = 1;
        if (fdp_bool(&f))
          lp2p_pcp_out_consume(c);
      }
      break;
    }
    case 4: {
      const uint8_t *d;
      size_t n = fdp_bytes(&f, &d, 128);
      lp2p_sockaddr from = srv;
      if (fdp_bool(&f))
        from.ip[3] = 9;
      lp2p_pcp_feed(c, now, &from, d, n);
      break;
    }
    case 5: { /* an answer shaped after the last request */
      if (!have_last)
        break;
      uint8_t a[96] = {0};
      memcpy(a, last, 60);
      a[0] = (uint8_t)(fdp_range(&f, 0, 3) == 0 ? 0 : 2);
      a[1] = a[0] ? 0x81 : 129;
      a[2] = 0;
      a[3] = (uint8_t)fdp_range(&f, 0, 14);
      uint32_t e = fdp_u32(&f);
      a[8] = (uint8_t)(e >> 24), a[9] = (uint8_t)(e >> 16), a[10] = (uint8_t)(e >> 8), a[11] = (uint8_t)e;
      a[42] = fdp_u8(&f), a[43] = fdp_u8(&f);
      size_t n = 60;
      if (fdp_bool(&f)) { /* an option */
        a[60] = fdp_u8(&f);
        a[63] = (uint8_t)fdp_range(&f, 0, 40);
        n = 60 + 4 + (size_t)fdp_range(&f, 0, 32);
      }
      lp2p_pcp_feed(c, now, &srv, a, fdp_bool(&f) ? n : fdp_range(&f, 0, n));
      break;
    }
    }
    lp2p_pcp_event ev;
    while (lp2p_pcp_poll_event(c, &ev)) {
      if (ev.type == LP2P_PCP_EV_LOST)
        continue;
      CHECK(ev.tag < TAGS && state[ev.tag] == 1);
      CHECK(ev.type != LP2P_PCP_EV_FAILED || ev.err != 0);
      state[ev.tag] = 0;
    }
  }
  lp2p_pcp_free(c);
  CHECK(mem.live_bytes == 0);
  return 0;
}
