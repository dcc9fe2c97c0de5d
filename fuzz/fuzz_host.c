/* Fuzz the whole host: the input plays the driver and the applications.
 *
 * Host A listens; host B is a real peer. A tiny in-target driver keeps a
 * table of connections (B<->A pairs and raw connections whose other end is
 * the input). Each op byte picks: accept a raw connection on A, feed input
 * bytes to a raw connection, shuttle bytes between paired connections
 * (chunk size, partial consume and a byte flip chosen by the input), EOF or
 * reset either end, advance the clock, or an application command on either
 * host (dial, ping, identify, perf, open/write/close/reset streams,
 * register a protocol, close a peer, close the host), or raw-socket work
 * on A: raw listen / connect / UDP open and close, random driver answers
 * to their io (bound, failed, established, accepted, joined), input bytes
 * and datagrams fed, EOF and aborts, partial output consumes, writes,
 * reads and sends by the application, stale ids; or service work: a
 * fuzz service registered on both hosts (every hook, its own timer,
 * stream I/O from inside hooks, per-stream state allocated from the host's
 * allocator so the leak check proves it comes back once) opens nested
 * connections carried inside its streams (with or without a data/time
 * budget), echoes on them, resets and closes them, opens application
 * streams on limited connections, and owns UDP sockets; host 0 serves
 * circuit relay and AutoNAT, host 1 asks it (and fuzzed bytes reach both
 * AutoNAT protocols); A's port mapper (UPnP, PCP, NAT-PMP) gets its
 * sockets answered and fed the same way. The header may
 * choose an allocation to fail. Fuzz builds use a null AEAD, so a fuzzer
 * that flips bytes of B's traffic reaches yamux and the services.
 * Checks: API calls never fail for reasons other than their documented
 * ones, events stay sane, and nothing leaks after _free.
 * The driver and the op families are in fuzz/host/ (world.h). */
#include <string.h>

#include "fuzz/host/world.h"
#include "proto/host/host_internal.h"

static const lp2p_privkey *fixed_key(int i) {
  static lp2p_privkey k[2];
  static int ready[2];
  if (!ready[i]) {
    lp2p_rng_chacha st;
    lp2p_rng r;
    lp2p_rng_chacha_init(&st, 0x686f7374u, (uint64_t)i, &r);
    check(lp2p_key_generate(&k[i], LP2P_KEY_ED25519, 0, &r) == 0);
    ready[i] = 1;
  }
  return &k[i];
}

static int all_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  (void)family;
  (void)ip;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  world w;
  memset(&w, 0, sizeof w);
  w.now = LP2P_NS_PER_S;
  lp2p_rng_chacha rs[2];
  lp2p_rng rng[2];
  uint16_t fail = fdp_u16(&f);
  uint64_t budget[2];
  for (int i = 0; i < 2; i++) {
    lp2p_host_config c;
    lp2p_host_config_default(&c);
    c.identity = fixed_key(i);
    c.conns_max = 4;
    c.conns_pending_max = 3;
    c.event_queue_max = 64;
    c.yamux.streams_max = 8;
    c.yamux.accept_backlog_max = 4;
    c.handshake_timeout_ns = 2 * LP2P_NS_PER_S;
    c.raws_max = 6;
    c.raw_send_bytes_max = RAW_BUF_MAX;
    c.raw_recv_bytes_max = RAW_BUF_MAX;
    c.udp_queue_max = 4;
    c.udp_send_queue_max = 4;
    c.relay.hop = i == 0; /* host 0 relays, with small limits */
    c.relay.reservations_max = 2;
    c.relay.circuits_max = 2;
    c.relay.limit_data_bytes = 4096;
    c.dcutr.enabled = 1; /* dcutr streams (on relayed connections) */
    /* host 0 serves AutoNAT (dialing back private addresses); host 1's
     * automatic client counts every address as public, so it asks */
    c.autonat.server = i == 0;
    c.autonat.s.allow_private = 1;
    c.autonat.is_public = all_public;
    /* the DHT: host 0 serves it (fuzzed bytes on kad streams), host 1 is
     * a client whose table fills when host 0 is identified */
    c.kad.mode = i == 0 ? LP2P_KAD_MODE_SERVER : LP2P_KAD_MODE_CLIENT;
    /* the server filters what it serves (public: its 10.x peers go out
     * without addresses); the client keeps every address it is told,
     * so fuzzed answers still reach its peerstore and dials */
    c.kad.addr_filter = i == 0 ? LP2P_KAD_ADDRS_PUBLIC : LP2P_KAD_ADDRS_ALL;
    c.kad.queries_max = 2;
    c.kad.requests_max = 4;
    /* host 0 maps its port: SSDP, PCP and NAT-PMP datagrams and the UPnP
     * HTTP bytes are the input's (its gateway is "host" 2, port 5351) */
    if (i == 0) {
      c.portmap.method = LP2P_PORTMAP_AUTO;
      fh_sa_of(2, 5351, &c.portmap.gateway);
    }
    if (fdp_bool(&f))
      c.security = LP2P_HOST_SECURITY_PLAINTEXT;
    /* resource pressure: small memory grants and stream caps */
    uint8_t pr = fdp_u8(&f);
    if (pr & 0x80) {
      uint64_t base = c.memory_per_conn_base;
      c.memory_max = base * (uint64_t)(2 + (pr & 7));
      c.memory_per_peer_max = base * (uint64_t)(1 + ((pr >> 3) & 3));
      c.memory_per_conn_max = base << ((pr >> 5) & 3);
      c.streams_inbound_per_peer_max = 1u + (pr & 3u);
      c.streams_inbound_per_protocol_peer_max = 1u + ((pr >> 2) & 3u);
      c.streams_inbound_reserve_peer_max = 1;
    }
    budget[i] = c.memory_max;
    lp2p_rng_chacha_init(&rs[i], 7, (uint64_t)i, &rng[i]);
    check(lp2p_host_new(&w.h[i], &c, &mc.mem, &rng[i], w.now) == 0);
    check(host_svc_register(w.h[i], &fh_svc_ops, NULL) == 0);
    check(lp2p_peerid_from_pubkey(&w.id[i], &fixed_key(i)->pub) == 0);
  }
  lp2p_maddr any;
  lp2p_sockaddr sa;
  fh_sa_of(0, 0, &sa);
  check(lp2p_sockaddr_to_maddr(&any, &sa) == 0);
  check(lp2p_host_listen(w.h[0], &any, NULL) == 0);
  fh_drain(&w);
  /* Fail one allocation from here on (0 = none). */
  if (fail & 1)
    mc.fail_at = mc.total_allocs + (fail >> 1);
  for (int steps = 0; steps < 4000 && fdp_left(&f); steps++) {
    int ci = fdp_u8(&f) % CONNS_MAX;
    fconn *c = &w.c[ci];
    switch (fdp_u8(&f) % 16) {
    case 0: { /* a raw inbound connection */
      if (c->used)
        break;
      lp2p_sockaddr remote;
      fh_sa_of(9, (uint16_t)(60000 + ci), &remote);
      uint64_t id = 0;
      if (w.listener &&
          lp2p_host_conn_accepted(w.h[0], w.listener, &remote, &remote, w.now,
                                  &id) == 0)
        *c = (fconn){1, 1, id, 0, 0, 0};
      break;
    }
    case 1: { /* input bytes into a raw connection */
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 512);
      if (c->used && c->raw && !c->a_dead) {
        lp2p_ssize k = lp2p_host_conn_feed(w.h[0], c->a, w.now, p, n);
        check(k == LP2P_ERR_NOT_FOUND || (k >= 0 && (size_t)k <= n));
        size_t len = 0;
        lp2p_host_out_peek(w.h[0], c->a, &len);
        if (len)
          check(lp2p_host_conn_out_consume(w.h[0], c->a, fdp_range(&f, 0, len)) ==
                0);
      }
      break;
    }
    case 2:
    case 3:
    case 4: /* shuttle real traffic, maybe with a flipped byte */
      if (c->used) {
        int from = fdp_bool(&f);
        size_t n = fdp_range(&f, 1, 4096);
        int flip = fdp_u8(&f) == 0xf1 ? (int)fdp_u16(&f) + 1 : 0;
        fh_shuttle(&w, c, from, n, flip, fdp_u8(&f));
      }
      break;
    case 5: /* EOF */
      if (c->used) {
        if (fdp_bool(&f) || c->raw) {
          if (!c->a_dead)
            lp2p_host_conn_eof(w.h[0], c->a, w.now);
        } else if (!c->b_dead) {
          lp2p_host_conn_eof(w.h[1], c->b, w.now);
        }
      }
      break;
    case 6: /* reset both ends */
      if (c->used) {
        if (!c->a_dead)
          lp2p_host_conn_reset(w.h[0], c->a, LP2P_ERR_RESET, w.now);
        if (!c->raw && !c->b_dead)
          lp2p_host_conn_reset(w.h[1], c->b, LP2P_ERR_RESET, w.now);
        memset(c, 0, sizeof *c);
      }
      break;
    case 7: /* time */
      w.now += (uint64_t)fdp_u16(&f) * LP2P_NS_PER_MS;
      for (int i = 0; i < 2; i++) {
        lp2p_tstamp t = lp2p_host_next_timeout(w.h[i]);
        if (t <= w.now)
          check(lp2p_host_handle_timeout(w.h[i], w.now) == 0);
      }
      break;
    case 8: /* let all real traffic settle (fast path to deep states) */
      for (int round = 0; round < 64; round++) {
        for (int i = 0; i < CONNS_MAX; i++)
          if (w.c[i].used && !w.c[i].raw) {
            fh_shuttle(&w, &w.c[i], 0, 4096, 0, 0);
            fh_shuttle(&w, &w.c[i], 1, 4096, 0, 0);
          }
        fh_drain(&w);
      }
      break;
    case 12:
    case 13:
      fh_raw_op(&w, &f);
      break;
    case 14:
    case 15:
      fh_svc_op(&w, &f);
      break;
    default:
      fh_app_op(&w, &f);
      break;
    }
    fh_drain(&w);
    /* the resource manager never grants past the budget */
    for (int i = 0; i < 2; i++) {
      lp2p_host_stats hs;
      lp2p_host_stats_get(w.h[i], &hs);
      check(hs.memory_used <= budget[i]);
    }
  }
  lp2p_host_stats st;
  lp2p_host_stats_get(w.h[0], &st);
  check(st.conns <= 4 + 3 + 64);
  lp2p_host_free(w.h[0]);
  lp2p_host_free(w.h[1]);
  check(mc.live_bytes == 0);
  return 0;
}
