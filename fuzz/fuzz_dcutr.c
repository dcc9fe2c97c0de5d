/* Fuzzes the DCUtR engine in either role with operations: start, stream
 * opened or closed, raw bytes, a crafted CONNECT with fuzzed addresses
 * (hostile lists included) or a SYNC, a direct result, time passing with
 * timeouts, new local addresses or peer IPs, partial output drains.
 * Checks: at most one RESULT and nothing after it but nothing; a DIAL
 * never names more than dial_addrs_max addresses, and each is dialable
 * and on the peer's IPs when those are set (no amplification); attempts
 * stay bounded; the timeout never goes back in time; output is well-framed
 * HolePunch; nothing leaks, allocation failure included. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/dcutr.h"
#include "lp2p/varint.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static lp2p_maddr fuzz_addr(fdp *f) {
  lp2p_maddr m;
  uint8_t ip[16] = {0};
  int fam = fdp_u8(f) % 5 == 0 ? 6 : 4;
  /* mostly the lab's "public" range, sometimes private or anything */
  switch (fdp_u8(f) % 4) {
  case 0: ip[0] = 10; break;
  case 1: ip[0] = 198; ip[1] = 18; break;
  case 2: ip[0] = 198; ip[1] = 18; break;
  default: ip[0] = fdp_u8(f); ip[1] = fdp_u8(f); break;
  }
  if (fam == 6) {
    ip[0] = fdp_bool(f) ? 0x20 : 0xfd;
    ip[1] = 0x01;
  }
  ip[3] = (uint8_t)fdp_range(f, 1, 4);
  lp2p_maddr_from_ip_port(&m, fam, ip, fdp_u16(f), fdp_u8(f) % 4 == 0);
  if (fdp_u8(f) % 6 == 0) { /* a relayed address */
    lp2p_maddr c;
    const char *t = "/p2p-circuit";
    if (lp2p_maddr_parse(&c, t, strlen(t)) == 0)
      lp2p_maddr_encapsulate(&m, &c);
  }
  return m;
}

static int lab_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  if (family == 4 && ip[0] == 198 && (ip[1] & 0xfe) == 18)
    return 1;
  return lp2p_dcutr_ip_is_public(NULL, family, ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_dcutr_config cfg;
  lp2p_dcutr_config_default(&cfg);
  cfg.attempts_max = (uint32_t)fdp_range(&f, 1, 4);
  cfg.dial_addrs_max = fdp_range(&f, 1, LP2P_DCUTR_ADDRS_MAX);
  cfg.dial_ips_max = fdp_range(&f, 1, 3);
  cfg.exchange_timeout_ns = fdp_range(&f, 1, 20000) * LP2P_NS_PER_MS;
  cfg.dial_timeout_ns = fdp_range(&f, 1, 8000) * LP2P_NS_PER_MS;
  cfg.retry_delay_ns = fdp_range(&f, 0, 2000) * LP2P_NS_PER_MS;
  cfg.first_syn_ttl_from_attempt = (uint32_t)fdp_range(&f, 0, 3);
  cfg.is_public = lab_public;
  cfg.ours.mapping = (lp2p_nat_behaviour)fdp_range(&f, 0, 4);
  cfg.ours.filtering = (lp2p_nat_behaviour)fdp_range(&f, 0, 4);
  cfg.theirs.mapping = (lp2p_nat_behaviour)fdp_range(&f, 0, 4);
  cfg.theirs.filtering = (lp2p_nat_behaviour)fdp_range(&f, 0, 4);
  cfg.theirs.sequential = fdp_u8(&f) % 4 == 0;
  cfg.theirs.port_stride = (uint16_t)fdp_range(&f, 0, 3);
  lp2p_dcutr_role role = fdp_bool(&f) ? LP2P_DCUTR_RESPONDER
                                      : LP2P_DCUTR_INITIATOR;
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_u8(&f) % 8 == 0 ? 1 : 0;
  lp2p_dcutr *d;
  if (lp2p_dcutr_new(&d, role, &cfg, &mem.mem, 0) != 0) {
    CHECK(mem.live_bytes == 0);
    return 0;
  }
  lp2p_tstamp now = 0;
  int results = 0;
  /* chosen once: a DIAL is checked against the restriction in force when
   * its CONNECT arrived */
  int restricted = fdp_bool(&f);
  int pfam[2] = {4, 4};
  uint8_t pips[2][16] = {{198, 18, 0, 1}, {198, 18, 0, 2}};
  /* output is parsed as a stream of frames */
  static uint8_t outbuf[8192];
  size_t outlen = 0;
  CHECK(lp2p_dcutr_set_peer_ips(d, pfam, (const uint8_t(*)[16])pips,
                                restricted ? 2 : 0) == 0);
  while (fdp_left(&f)) {
    /* nothing queued: a reset may have dropped a partial frame */
    if (!lp2p_dcutr_out_peek(d, NULL))
      outlen = 0;
    switch (fdp_u8(&f) % 11) {
    case 0:
      lp2p_dcutr_start(d, now);
      break;
    case 1:
      if (lp2p_dcutr_stream_opened(d, now) == 0)
        outlen = 0; /* a new stream */
      break;
    case 2:
      lp2p_dcutr_stream_closed(d, now,
                               fdp_bool(&f) ? LP2P_ERR_UNSUPPORTED
                                            : LP2P_ERR_RESET);
      outlen = 0; /* the engine dropped what it had queued */
      break;
    case 3: {
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 64);
      lp2p_ssize r = lp2p_dcutr_feed(d, now, p, n);
      CHECK(r == (lp2p_ssize)n || r == 0);
      break;
    }
    case 4: { /* a crafted message, fed in pieces */
      lp2p_dcutr_msg m;
      memset(&m, 0, sizeof m);
      m.type = fdp_u8(&f) % 3 == 0 ? LP2P_DCUTR_SYNC : LP2P_DCUTR_CONNECT;
      m.has_type = 1;
      static lp2p_maddr addrs[LP2P_DCUTR_ADDRS_MAX];
      size_t n = fdp_range(&f, 0, LP2P_DCUTR_ADDRS_MAX);
      for (size_t i = 0; i < n; i++) {
        addrs[i] = fuzz_addr(&f);
        m.addrs[m.naddrs++] = (lp2p_dcutr_bytes){addrs[i].bytes, addrs[i].len};
      }
      static uint8_t b[LP2P_DCUTR_MSG_MAX + 16];
      size_t len;
      if (lp2p_dcutr_msg_encode(&m, b, sizeof b, &len) != 0)
        break;
      size_t cut = fdp_range(&f, 0, len);
      lp2p_dcutr_feed(d, now, b, cut);
      lp2p_dcutr_feed(d, now, b + cut, len - cut);
      break;
    }
    case 5:
      lp2p_dcutr_direct_result(d, now, fdp_bool(&f),
                               fdp_bool(&f) ? LP2P_ERR_REFUSED
                                            : LP2P_ERR_TIMEOUT);
      break;
    case 6: {
      lp2p_tstamp t = lp2p_dcutr_next_timeout(d);
      now += fdp_range(&f, 0, 20000) * LP2P_NS_PER_MS;
      if (t != LP2P_TSTAMP_NONE && fdp_bool(&f) && t > now)
        now = t;
      lp2p_dcutr_handle_timeout(d, now);
      t = lp2p_dcutr_next_timeout(d);
      CHECK(t == LP2P_TSTAMP_NONE || t > now ||
            /* RTT/2 of a zero RTT fires at once */
            t == now);
      break;
    }
    case 7: {
      lp2p_maddr a[4];
      size_t n = fdp_range(&f, 0, 4);
      for (size_t i = 0; i < n; i++)
        a[i] = fuzz_addr(&f);
      CHECK(lp2p_dcutr_set_local_addrs(d, a, n) >= 0);
      break;
    }
    case 8:
      CHECK(lp2p_dcutr_set_peer_ips(d, pfam, (const uint8_t(*)[16])pips,
                                    restricted ? 2 : 0) == 0);
      break;
    case 9: { /* drain some output and check its framing */
      size_t len;
      const uint8_t *p = lp2p_dcutr_out_peek(d, &len);
      if (!p)
        break;
      size_t k = fdp_range(&f, 1, len);
      if (outlen + k <= sizeof outbuf) {
        memcpy(outbuf + outlen, p, k);
        outlen += k;
      }
      lp2p_dcutr_out_consume(d, k);
      size_t pos = 0;
      while (pos < outlen) {
        uint64_t body;
        lp2p_ssize vl = lp2p_varint_decode(outbuf + pos, outlen - pos, &body);
        if (vl == LP2P_ERR_TRUNCATED)
          break;
        CHECK(vl > 0 && body <= LP2P_DCUTR_MSG_MAX);
        if (outlen - pos - (size_t)vl < body)
          break;
        lp2p_dcutr_msg m;
        CHECK(lp2p_dcutr_msg_decode(&m, outbuf + pos + vl, (size_t)body) == 0);
        pos += (size_t)vl + (size_t)body;
      }
      break;
    }
    case 10: {
      lp2p_dcutr_event ev;
      while (lp2p_dcutr_poll_event(d, &ev)) {
        CHECK(results == 0); /* nothing after the result */
        CHECK(ev.attempt <= cfg.attempts_max + 1);
        if (ev.type == LP2P_DCUTR_EV_RESULT) {
          results++;
          CHECK(ev.ok == (ev.reason == LP2P_PUNCH_OK));
          CHECK(lp2p_dcutr_done(d));
        } else if (ev.type == LP2P_DCUTR_EV_PROBE) {
          /* A's low-TTL SYN toward B: one address B named, in bounds */
          CHECK(role == LP2P_DCUTR_RESPONDER && ev.security_client);
          CHECK(ev.naddrs == 1 && ev.first_syn_ttl == cfg.first_syn_ttl);
          int fam;
          uint8_t ip[16];
          CHECK(lp2p_dcutr_addr_dialable(ev.addrs[0].bytes, ev.addrs[0].len,
                                         lab_public, NULL, &fam, ip, NULL,
                                         NULL));
          if (restricted)
            CHECK(fam == 4 && ip[0] == 198 && ip[1] == 18 && ip[2] == 0 &&
                  (ip[3] == 1 || ip[3] == 2));
        } else if (ev.type == LP2P_DCUTR_EV_DIAL) {
          /* 0: the peer named nothing we may dial; we wait for its SYN */
          CHECK(ev.naddrs <= cfg.dial_addrs_max);
          CHECK(ev.security_client == (role == LP2P_DCUTR_RESPONDER));
          /* never more distinct IPs than dial_ips_max: no amplifier */
          uint8_t seen[LP2P_DCUTR_ADDRS_MAX][17];
          size_t nseen = 0;
          for (size_t i = 0; i < ev.naddrs; i++) {
            int fam;
            uint8_t ip[16];
            CHECK(lp2p_dcutr_addr_dialable(ev.addrs[i].bytes, ev.addrs[i].len,
                                           lab_public, NULL, &fam, ip, NULL,
                                           NULL));
            uint8_t key[17];
            key[0] = (uint8_t)fam;
            memcpy(key + 1, ip, 16);
            size_t k = 0;
            while (k < nseen && memcmp(seen[k], key, 17))
              k++;
            if (k == nseen)
              memcpy(seen[nseen++], key, 17);
            /* (addrs stay valid until the next call: an event polled
             * after a later attempt re-picked them shows a mix) */
            CHECK(nseen <= cfg.dial_ips_max ||
                  ev.attempt != lp2p_dcutr_attempts(d));
            if (restricted)
              CHECK(fam == 4 && ip[0] == 198 && ip[1] == 18 && ip[2] == 0 &&
                    (ip[3] == 1 || ip[3] == 2));
          }
        }
      }
      break;
    }
    }
    CHECK(lp2p_dcutr_attempts(d) <= cfg.attempts_max + 1);
  }
  lp2p_dcutr_free(d);
  CHECK(mem.live_bytes == 0);
  return 0;
}
