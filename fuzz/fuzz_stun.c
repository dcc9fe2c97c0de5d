/* Fuzzes the STUN codec and the discovery engine. First a raw message for
 * the decoder; then the engine runs on operations: send what is queued,
 * let time pass, feed raw datagrams from anywhere, or feed a crafted
 * answer (success with fuzzed addresses, or an error) to the request last
 * sent, from a fuzzed source. Checks: decoded messages re-check as STUN,
 * requests we send decode as Binding requests, a transaction is sent at
 * most Rc times, exactly one DONE, the timeout never goes back in time,
 * nothing leaks (allocation failure included). */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/stun.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static void fill(void *ctx, uint8_t *o, size_t n) {
  fdp *f = ctx;
  for (size_t i = 0; i < n; i++)
    o[i] = fdp_u8(f);
}

static lp2p_sockaddr addr(fdp *f) {
  lp2p_sockaddr a;
  memset(&a, 0, sizeof a);
  a.family = fdp_bool(f) ? 6 : 4;
  /* a few distinct IPs and ports so answers can match the servers */
  a.ip[0] = 203;
  a.ip[3] = (uint8_t)fdp_range(f, 1, 3);
  a.port = (uint16_t)(3478 + fdp_range(f, 0, 2));
  if (fdp_bool(f))
    a.family = 4;
  return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  const uint8_t *raw;
  size_t rl = fdp_bytes(&f, &raw, 200);
  lp2p_stun_msg m;
  if (lp2p_stun_decode(&m, raw, rl) == 0)
    CHECK(lp2p_stun_is_stun(raw, rl));
  /* the test server's side of the same bytes: an answer goes out from one
   * of its sockets and decodes as a Binding success for that request */
  {
    const lp2p_sockaddr srv[4] = {{4, {203, 0, 0, 1}, 3478},
                                  {4, {203, 0, 0, 1}, 3479},
                                  {4, {203, 0, 0, 2}, 3478},
                                  {4, {203, 0, 0, 2}, 3479}};
    const lp2p_sockaddr who = {4, {198, 51, 100, 7}, 40000};
    size_t nsrv = fdp_bool(&f) ? 4 : 1;
    unsigned at = (unsigned)fdp_range(&f, 0, nsrv - 1), via = 99;
    uint8_t ans[256];
    size_t al = 0;
    int ar = lp2p_stun_server_answer(raw, rl, &who, srv, nsrv, at, ans,
                                     sizeof ans, &al, &via);
    CHECK(ar == 0 || ar == 1);
    if (ar == 1) {
      lp2p_stun_msg rm;
      CHECK(via < nsrv);
      CHECK(lp2p_stun_decode(&rm, ans, al) == 0);
      CHECK(rm.type == LP2P_STUN_BINDING_SUCCESS && rm.has_xor_mapped);
      CHECK(!memcmp(rm.txid, raw + 8, 12));
      CHECK(rm.xor_mapped.port == who.port);
    }
  }

  lp2p_stun_config cfg;
  lp2p_stun_config_default(&cfg);
  cfg.discover = fdp_u8(&f) % 4 != 0;
  cfg.rc = (uint32_t)fdp_range(&f, 1, 7);
  cfg.rc_tests = (uint32_t)fdp_range(&f, 1, 4);
  cfg.rm = (uint32_t)fdp_range(&f, 1, 16);
  cfg.fingerprint = fdp_bool(&f);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_u8(&f) % 8 == 0 ? 1 : 0;
  lp2p_rng rng = {fill, &f};
  lp2p_sockaddr server = {4, {203, 0, 0, 1}, 3478};
  lp2p_sockaddr local = {4, {10, 0, 0, 2}, 5000};
  lp2p_stun *c;
  if (lp2p_stun_new(&c, &cfg, &mem.mem, &rng, 0, &server,
                    fdp_bool(&f) ? &local : NULL) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  lp2p_tstamp now = 0;
  uint8_t last[64];
  size_t last_n = 0;
  lp2p_sockaddr last_to;
  memset(&last_to, 0, sizeof last_to);
  uint32_t sends = 0;
  int done = 0;
  while (fdp_left(&f)) {
    switch (fdp_u8(&f) % 5) {
    case 0: { /* send */
      size_t len;
      lp2p_sockaddr to;
      const uint8_t *p = lp2p_stun_out_peek(c, &len, &to);
      if (!p)
        break;
      CHECK(len <= sizeof last);
      CHECK(lp2p_stun_decode(&m, p, len) == 0);
      CHECK(m.type == LP2P_STUN_BINDING_REQUEST);
      /* a retransmission: the same bytes to the same place */
      if (last_n == len && memcmp(last, p, len) == 0 &&
          memcmp(&last_to, &to, sizeof to) == 0)
        sends++;
      else
        sends = 1;
      CHECK(sends <= 7);
      memcpy(last, p, len);
      last_n = len;
      last_to = to;
      lp2p_stun_out_consume(c);
      break;
    }
    case 1: { /* time */
      lp2p_tstamp t = lp2p_stun_next_timeout(c);
      now += fdp_range(&f, 0, 40000) * LP2P_NS_PER_MS;
      if (t != LP2P_TSTAMP_NONE && fdp_bool(&f) && t > now)
        now = t;
      lp2p_stun_handle_timeout(c, now);
      t = lp2p_stun_next_timeout(c);
      CHECK(t == LP2P_TSTAMP_NONE || t > now);
      break;
    }
    case 2: { /* raw datagram */
      lp2p_sockaddr from = addr(&f);
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 120);
      CHECK(lp2p_stun_feed(c, now, &from, p, n) == 0);
      break;
    }
    case 3: { /* an answer to the last request */
      if (last_n < 20)
        break;
      lp2p_sockaddr mapped = addr(&f), other = addr(&f), from = addr(&f);
      uint8_t out[128];
      size_t len;
      if (fdp_u8(&f) % 5 == 0) { /* an error response */
        memcpy(out, last, 20);
        out[0] = 0x01;
        out[1] = 0x11;
        out[2] = 0;
        out[3] = 8;
        const uint8_t e[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 4, 20};
        memcpy(out + 20, e, 8);
        len = 28;
      } else {
        CHECK(lp2p_stun_binding_response(last + 8, &mapped,
                                         fdp_bool(&f) ? &other : NULL, &from,
                                         out, sizeof out, &len) == 0);
      }
      CHECK(lp2p_stun_feed(c, now, &from, out, len) == 0);
      break;
    }
    case 4: {
      lp2p_stun_event ev;
      while (lp2p_stun_poll_event(c, &ev)) {
        CHECK(!done);
        done = 1;
        CHECK(ev.type == LP2P_STUN_EV_DONE);
        CHECK(ev.result.status == 0 || ev.result.status == LP2P_ERR_TIMEOUT ||
              ev.result.status == LP2P_ERR_PROTO);
        CHECK(lp2p_stun_result_get(c, NULL));
        CHECK(lp2p_stun_out_peek(c, NULL, NULL) == NULL);
      }
      break;
    }
    }
  }
  lp2p_stun_free(c);
  CHECK(mem.live_bytes == 0);
  return 0;
}
