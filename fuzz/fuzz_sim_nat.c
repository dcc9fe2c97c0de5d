/* Fuzz the simulator's NAT box (drivers/sim/nat.c) with random packets and
 * time steps over a small address universe (so flows collide), under a
 * random configuration. Invariants checked after every step:
 * - a translated outbound packet leaves from the external IP and a port in
 *   the configured range;
 * - a reply from exactly the endpoint a flow just sent to is admitted and
 *   reaches the internal endpoint that sent (every filtering type admits
 *   it: RFC 4787 section 5);
 * - under endpoint-independent mapping, an internal endpoint uses one
 *   external port for every destination at a given moment;
 * - inbound packets never reach an address outside the LAN;
 * - the tables stay within mappings_max / sessions_max. */
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"
#include "fuzz/lib/fdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXT LP2P_SIM_IP4(20, 0, 0, 1)

static uint32_t int_ip(unsigned i) {
  return LP2P_SIM_IP4(10, 0, 0, 2 + (i & 1));
}
static uint32_t rem_ip(unsigned i) { return LP2P_SIM_IP4(30, 0, 0, 1 + i % 3); }
static uint16_t small_port(unsigned i) { return (uint16_t)(1000 + i % 4); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_sim_nat_config cfg;
  lp2p_sim_nat_config_default(&cfg);
  cfg.mapping = (lp2p_sim_nat_mapping)fdp_range(&f, 0, 2);
  cfg.filtering = (lp2p_sim_nat_filtering)fdp_range(&f, 0, 2);
  cfg.alloc = (lp2p_sim_nat_alloc)fdp_range(&f, 0, 2);
  uint8_t bits = fdp_u8(&f);
  cfg.syn_rst = bits & 1;
  cfg.rst_deletes = (bits >> 1) & 1;
  cfg.hairpin = (bits >> 2) & 1;
  if (bits & 8) { /* a tiny port range: exhaustion */
    cfg.port_min = 1000;
    cfg.port_max = (uint16_t)(1000 + fdp_range(&f, 0, 5));
  }
  cfg.mappings_max = (uint32_t)fdp_range(&f, 1, 64);
  cfg.sessions_max = (uint32_t)fdp_range(&f, 1, 128);
  cfg.udp_timeout_ns = fdp_range(&f, 1, 100) * LP2P_NS_PER_S;
  cfg.tcp_transitory_ns = fdp_range(&f, 1, 100) * LP2P_NS_PER_S;
  cfg.tcp_established_ns = fdp_range(&f, 1, 1000) * LP2P_NS_PER_S;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, fdp_u64(&f), 1, &rng);
  sim_nat nat;
  if (sim_nat_init(&nat, &cfg, EXT, &rng) != 0)
    return 0;
  lp2p_tstamp now = 0;
  for (int step = 0; step < 400 && fdp_left(&f); step++) {
    uint8_t op = fdp_u8(&f);
    uint8_t a = fdp_u8(&f), b = fdp_u8(&f);
    sim_pkt p;
    memset(&p, 0, sizeof p);
    p.proto = (op & 1) ? SIM_TCP : SIM_UDP;
    p.flags = (uint8_t)(b & 0x1f);
    p.ttl = 64;
    switch ((op >> 1) % 4) {
    case 0: { /* outbound, then the reply from where it went */
      p.src_ip = int_ip(a);
      p.src_port = small_port(a >> 1);
      p.dst_ip = rem_ip(a >> 3);
      p.dst_port = small_port(a >> 5);
      uint32_t sip = p.src_ip, dip = p.dst_ip;
      uint16_t sport = p.src_port, dport = p.dst_port;
      if (sim_nat_outbound(&nat, &p, now) != SIM_NAT_FORWARD)
        break;
      if (p.src_ip != EXT || p.src_port < nat.cfg.port_min ||
          p.src_port > nat.cfg.port_max || p.dst_ip != dip ||
          p.dst_port != dport)
        abort();
      uint16_t ext = p.src_port;
      sim_pkt r;
      memset(&r, 0, sizeof r);
      r.proto = p.proto;
      r.flags = SIM_F_ACK;
      r.src_ip = dip;
      r.src_port = dport;
      r.dst_ip = EXT;
      r.dst_port = ext;
      if (sim_nat_inbound(&nat, &r, now) != SIM_NAT_FORWARD)
        abort(); /* the flow's own reply must get in (unless tables are
                    full: a session of this flow exists, none is needed) */
      if (r.dst_ip != sip || r.dst_port != sport)
        abort();
      if (cfg.mapping == LP2P_SIM_MAP_EI) {
        sim_pkt q;
        memset(&q, 0, sizeof q);
        q.proto = p.proto;
        q.flags = SIM_F_ACK;
        q.src_ip = sip;
        q.src_port = sport;
        q.dst_ip = rem_ip(b);
        q.dst_port = small_port(b >> 2);
        if (sim_nat_outbound(&nat, &q, now) == SIM_NAT_FORWARD &&
            q.src_port != ext)
          abort();
      }
      break;
    }
    case 1: /* inbound from anywhere */
      p.src_ip = rem_ip(a);
      p.src_port = small_port(a >> 2);
      p.dst_ip = (a & 0x80) ? EXT : rem_ip(b);
      p.dst_port =
          (a & 0x40) ? small_port(b) : (uint16_t)(nat.cfg.port_min + (b % 8));
      if (sim_nat_inbound(&nat, &p, now) == SIM_NAT_FORWARD &&
          (p.dst_ip >> 24) != 10)
        abort();
      break;
    case 2: /* time passes */
      now += (uint64_t)a * (uint64_t)(b + 1) * LP2P_NS_PER_S / 16;
      break;
    default: /* a burst of outbound traffic from one endpoint */
      for (int i = 0; i < (b & 7); i++) {
        memset(&p, 0, sizeof p);
        p.proto = (op & 1) ? SIM_TCP : SIM_UDP;
        p.flags = SIM_F_SYN;
        p.src_ip = int_ip(a);
        p.src_port = small_port(a >> 1);
        p.dst_ip = rem_ip((unsigned)i);
        p.dst_port = small_port((unsigned)i + b);
        sim_nat_outbound(&nat, &p, now);
      }
      break;
    }
    if (nat.nmaps > nat.cfg.mappings_max || nat.nsess > nat.cfg.sessions_max)
      abort();
  }
  sim_nat_free(&nat);
  return 0;
}
