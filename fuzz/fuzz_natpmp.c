/* Fuzzes the NAT-PMP response parser and the client engine. The input is a
 * list of operations: start address or mapping requests, cancel, let time
 * pass (and handle timeouts), send what is queued, feed raw datagrams from
 * the gateway or elsewhere, or feed a crafted answer to the request last
 * sent with fuzzed result, epoch and fields. Checks: every request ends
 * exactly once unless cancelled, nothing is sent that is not a request,
 * the timeout never goes back in time, nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/natpmp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define TAGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_natpmp_resp pr;
  const uint8_t *raw;
  size_t rl = fdp_bytes(&f, &raw, 20);
  (void)lp2p_natpmp_resp_parse(raw, rl, &pr);

  lp2p_natpmp_config cfg;
  lp2p_natpmp_config_default(&cfg);
  cfg.requests_max = (uint32_t)fdp_range(&f, 1, 4);
  cfg.tries_max = (uint32_t)fdp_range(&f, 1, 9);
  cfg.first_rto_ns = fdp_range(&f, 1, 300) * LP2P_NS_PER_MS;
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 3) : 0;
  const lp2p_sockaddr gw = {4, {10, 0, 1, 1}, 5351};
  lp2p_natpmp *c;
  if (lp2p_natpmp_new(&c, &cfg, &mem.mem, &gw) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  int state[TAGS] = {0}; /* 0 idle, 1 running, 2 cancelled */
  uint8_t last[16];
  size_t last_n = 0;
  lp2p_tstamp now = 0;
  while (fdp_left(&f)) {
    uint64_t tag = fdp_range(&f, 0, TAGS - 1);
    switch (fdp_u8(&f) % 7) {
    case 0:
      if (lp2p_natpmp_request_addr(c, now, tag) == 0) {
        CHECK(state[tag] != 1);
        state[tag] = 1;
      }
      break;
    case 1: {
      int udp = fdp_bool(&f);
      uint16_t in = (uint16_t)fdp_range(&f, 0, 3), sug = fdp_u16(&f);
      uint32_t life = fdp_u32(&f);
      if (lp2p_natpmp_request_map(c, now, tag, udp, in, sug, life) == 0) {
        CHECK(state[tag] != 1);
        state[tag] = 1;
      }
      break;
    }
    case 2:
      if (lp2p_natpmp_cancel(c, tag) == 0)
        state[tag] = 2;
      break;
    case 3: {
      lp2p_tstamp t = lp2p_natpmp_next_timeout(c);
      now += fdp_range(&f, 0, 70000) * LP2P_NS_PER_MS;
      if (t != LP2P_TSTAMP_NONE && fdp_bool(&f) && t > now)
        now = t;
      lp2p_natpmp_handle_timeout(c, now);
      t = lp2p_natpmp_next_timeout(c);
      CHECK(t == LP2P_TSTAMP_NONE || t > now);
      break;
    }
    case 4: {
      lp2p_sockaddr to;
      size_t n;
      const uint8_t *p = lp2p_natpmp_out_peek(c, &to, &n);
      if (p) {
        CHECK(n == 2 || n == 12);
        CHECK(p[0] == 0 && p[1] <= 2 && to.port == 5351);
        memcpy(last, p, n);
        last_n = n;
        if (fdp_bool(&f))
          lp2p_natpmp_out_consume(c);
      }
      break;
    }
    case 5: {
      const uint8_t *d;
      size_t n = fdp_bytes(&f, &d, 20);
      lp2p_sockaddr from = gw;
      if (fdp_bool(&f))
        from.port = 5350;
      lp2p_natpmp_feed(c, now, &from, d, n);
      break;
    }
    case 6: { /* an answer shaped after the last request */
      if (!last_n)
        break;
      uint8_t a[16] = {0};
      a[1] = (uint8_t)(128 + last[1]);
      a[3] = (uint8_t)fdp_range(&f, 0, 5);
      uint32_t e = fdp_u32(&f);
      a[4] = (uint8_t)(e >> 24), a[5] = (uint8_t)(e >> 16), a[6] = (uint8_t)(e >> 8), a[7] = (uint8_t)e;
      if (last_n == 12)
        memcpy(a + 8, last + 4, 2);
      a[10] = fdp_u8(&f), a[11] = fdp_u8(&f), a[15] = fdp_u8(&f);
      lp2p_natpmp_feed(c, now, &gw, a, fdp_range(&f, 8, 16));
      break;
    }
    }
    lp2p_natpmp_event ev;
    while (lp2p_natpmp_poll_event(c, &ev)) {
      if (ev.type == LP2P_NATPMP_EV_LOST)
        continue;
      CHECK(ev.tag < TAGS && state[ev.tag] == 1);
      CHECK(ev.type != LP2P_NATPMP_EV_FAILED || ev.err != 0);
      state[ev.tag] = 0;
    }
  }
  lp2p_natpmp_free(c);
  CHECK(mem.live_bytes == 0);
  return 0;
}
