/* The NAT box alone (drivers/sim/nat.c): mapping, filtering, allocation,
 * timeouts, unsolicited SYN handling, RST deletion, conntrack sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/sim/sim_internal.h"

#define EXT LP2P_SIM_IP4(20, 0, 0, 1)
#define IN1 LP2P_SIM_IP4(10, 0, 0, 2)
#define IN2 LP2P_SIM_IP4(10, 0, 0, 3)
#define R1 LP2P_SIM_IP4(30, 0, 0, 1)
#define R2 LP2P_SIM_IP4(30, 0, 0, 2)

typedef struct fx {
  sim_nat nat;
  lp2p_rng_chacha st;
  lp2p_rng rng;
} fx;

static void nat_new(fx *f, lp2p_sim_nat_mapping m, lp2p_sim_nat_filtering fl,
                    lp2p_sim_nat_alloc a) {
  lp2p_sim_nat_config c;
  lp2p_sim_nat_config_default(&c);
  c.mapping = m;
  c.filtering = fl;
  c.alloc = a;
  lp2p_rng_chacha_init(&f->st, 1, 2, &f->rng);
  assert_int_equal(sim_nat_init(&f->nat, &c, EXT, &f->rng), 0);
}

static void mk(sim_pkt *p, uint8_t proto, uint8_t flags, uint32_t sip,
               uint16_t sport, uint32_t dip, uint16_t dport) {
  memset(p, 0, sizeof *p);
  p->proto = proto;
  p->flags = flags;
  p->src_ip = sip;
  p->src_port = sport;
  p->dst_ip = dip;
  p->dst_port = dport;
  p->ttl = 64;
}

/* Send out; returns the external port (0 = dropped). */
static uint16_t out(fx *f, uint8_t proto, uint8_t flags, uint32_t sip,
                    uint16_t sport, uint32_t dip, uint16_t dport,
                    lp2p_tstamp now) {
  sim_pkt p;
  mk(&p, proto, flags, sip, sport, dip, dport);
  if (sim_nat_outbound(&f->nat, &p, now) != SIM_NAT_FORWARD)
    return 0;
  assert_true(p.src_ip == EXT);
  assert_true(p.dst_ip == dip && p.dst_port == dport);
  return p.src_port;
}

/* Inbound from (rip, rport) to EXT:port; returns the verdict and the
 * internal destination. */
static int in(fx *f, uint8_t proto, uint8_t flags, uint32_t rip, uint16_t rport,
              uint16_t port, lp2p_tstamp now, uint32_t *to_ip,
              uint16_t *to_port) {
  sim_pkt p;
  mk(&p, proto, flags, rip, rport, EXT, port);
  int v = sim_nat_inbound(&f->nat, &p, now);
  if (to_ip)
    *to_ip = p.dst_ip;
  if (to_port)
    *to_port = p.dst_port;
  return v;
}

static void test_mapping_behaviour(void **state) {
  (void)state;
  fx f;
  /* endpoint-independent: one port for every destination */
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_RANDOM);
  uint16_t a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_true(a != 0);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 5000, R1, 81, 0), a);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 5000, R2, 80, 0), a);
  assert_int_not_equal(out(&f, SIM_UDP, 0, IN1, 5001, R1, 80, 0), a);
  assert_int_not_equal(out(&f, SIM_UDP, 0, IN2, 5000, R1, 80, 0), a);
  sim_nat_free(&f.nat);
  /* address-dependent: a new port per remote IP, same for its ports */
  nat_new(&f, LP2P_SIM_MAP_AD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_RANDOM);
  a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 5000, R1, 81, 0), a);
  assert_int_not_equal(out(&f, SIM_UDP, 0, IN1, 5000, R2, 80, 0), a);
  sim_nat_free(&f.nat);
  /* address-and-port-dependent: a new port per remote endpoint */
  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_RANDOM);
  a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0), a);
  assert_int_not_equal(out(&f, SIM_UDP, 0, IN1, 5000, R1, 81, 0), a);
  assert_int_not_equal(out(&f, SIM_UDP, 0, IN1, 5000, R2, 80, 0), a);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 0), 3);
  sim_nat_free(&f.nat);
}

static void test_filtering_behaviour(void **state) {
  (void)state;
  fx f;
  uint32_t ip;
  uint16_t port;
  /* endpoint-independent: anyone reaches a live mapping */
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_PRESERVE);
  uint16_t a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_int_equal(in(&f, SIM_UDP, 0, R2, 999, a, 1, &ip, &port),
                   SIM_NAT_FORWARD);
  assert_true(ip == IN1 && port == 5000);
  assert_int_equal(
      in(&f, SIM_UDP, 0, R2, 999, (uint16_t)(a + 1), 1, NULL, NULL),
      SIM_NAT_DROP); /* no mapping there */
  sim_nat_free(&f.nat);
  /* address-dependent: the remote IP must have been sent to */
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_AD, LP2P_SIM_PORT_PRESERVE);
  a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 12345, a, 1, NULL, NULL),
                   SIM_NAT_FORWARD);
  assert_int_equal(in(&f, SIM_UDP, 0, R2, 80, a, 1, NULL, NULL), SIM_NAT_DROP);
  sim_nat_free(&f.nat);
  /* address-and-port-dependent: only the exact remote endpoint */
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE);
  a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 80, a, 1, &ip, &port),
                   SIM_NAT_FORWARD);
  assert_true(ip == IN1 && port == 5000);
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 81, a, 1, NULL, NULL), SIM_NAT_DROP);
  assert_int_equal(in(&f, SIM_UDP, 0, R2, 80, a, 1, NULL, NULL), SIM_NAT_DROP);
  /* the TCP table is separate from UDP */
  assert_int_equal(in(&f, SIM_TCP, SIM_F_ACK, R1, 80, a, 1, NULL, NULL),
                   SIM_NAT_DROP);
  sim_nat_free(&f.nat);
}

static void test_allocation(void **state) {
  (void)state;
  fx f;
  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE);
  assert_int_equal(out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0), 4001);
  /* the port is taken: another internal host (or mapping) gets another */
  uint16_t b = out(&f, SIM_TCP, SIM_F_SYN, IN2, 4001, R1, 80, 0);
  assert_true(b != 0 && b != 4001);
  uint16_t c = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R2, 80, 0);
  assert_true(c != 0 && c != 4001 && c != b);
  sim_nat_free(&f.nat);

  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_SEQUENTIAL);
  uint16_t p0 = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  for (uint16_t i = 1; i < 20; i++) {
    uint16_t p =
        out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, (uint16_t)(80 + i), 0);
    uint16_t want =
        (uint16_t)(p0 + i > 65535 ? 1024 + (p0 + i - 65536) : p0 + i);
    assert_int_equal(p, want);
  }
  sim_nat_free(&f.nat);

  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_RANDOM);
  uint16_t seen[64];
  int ascending = 1;
  for (int i = 0; i < 64; i++) {
    seen[i] = out(&f, SIM_UDP, 0, IN1, 4001, R1, (uint16_t)(80 + i), 0);
    assert_true(seen[i] >= 1024);
    for (int j = 0; j < i; j++)
      assert_int_not_equal(seen[i], seen[j]);
    if (i && seen[i] != seen[i - 1] + 1)
      ascending = 0;
  }
  assert_false(ascending);
  sim_nat_free(&f.nat);
}

static void test_port_exhaustion(void **state) {
  (void)state;
  fx f;
  lp2p_sim_nat_config c;
  lp2p_sim_nat_config_default(&c);
  c.mapping = LP2P_SIM_MAP_APD;
  c.alloc = LP2P_SIM_PORT_SEQUENTIAL;
  c.port_min = 2000;
  c.port_max = 2001;
  lp2p_rng_chacha_init(&f.st, 1, 2, &f.rng);
  assert_int_equal(sim_nat_init(&f.nat, &c, EXT, &f.rng), 0);
  uint16_t a = out(&f, SIM_UDP, 0, IN1, 1, R1, 1, 0);
  uint16_t b = out(&f, SIM_UDP, 0, IN1, 1, R1, 2, 0);
  assert_true(a >= 2000 && b >= 2000 && a != b);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 1, R1, 3, 0), 0);
  /* after the UDP timeout the ports come back */
  assert_true(out(&f, SIM_UDP, 0, IN1, 1, R1, 3, c.udp_timeout_ns + 1) != 0);
  sim_nat_free(&f.nat);

  c.port_min = 1024;
  c.port_max = 65535;
  c.mappings_max = 3;
  assert_int_equal(sim_nat_init(&f.nat, &c, EXT, &f.rng), 0);
  for (uint16_t i = 0; i < 3; i++)
    assert_true(out(&f, SIM_UDP, 0, IN1, 1, R1, (uint16_t)(10 + i), 0) != 0);
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 1, R1, 99, 0), 0);
  assert_true(f.nat.dropped >= 1);
  sim_nat_free(&f.nat);
}

static void test_udp_timeout_refresh(void **state) {
  (void)state;
  fx f;
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_PRESERVE);
  uint64_t T = f.nat.cfg.udp_timeout_ns;
  uint16_t a = out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, 0);
  /* outbound refresh keeps it alive past one timeout */
  assert_int_equal(out(&f, SIM_UDP, 0, IN1, 5000, R1, 80, T - 1), a);
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 80, a, 2 * T - 2, NULL, NULL),
                   SIM_NAT_FORWARD);
  /* idle for a full timeout: gone */
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 80, a, 4 * T, NULL, NULL),
                   SIM_NAT_DROP);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 4 * T), 0);
  sim_nat_free(&f.nat);
}

static void test_tcp_timeouts(void **state) {
  (void)state;
  fx f;
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE);
  uint64_t tr = f.nat.cfg.tcp_transitory_ns;
  /* a SYN never answered: transitory */
  uint16_t a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 5000, R1, 80, 0);
  assert_int_equal(sim_nat_live_mappings(&f.nat, tr - 1), 1);
  assert_int_equal(sim_nat_live_mappings(&f.nat, tr + 1), 0);
  /* SYN out + SYN-ACK in: established, outlives the transitory timeout */
  a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 6000, R1, 80, 0);
  assert_int_equal(
      in(&f, SIM_TCP, SIM_F_SYN | SIM_F_ACK, R1, 80, a, 1, NULL, NULL),
      SIM_NAT_FORWARD);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 10 * tr), 1);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_ACK, R1, 80, a, 10 * tr, NULL, NULL),
                   SIM_NAT_FORWARD);
  /* a FIN moves it back to transitory */
  out(&f, SIM_TCP, SIM_F_FIN | SIM_F_ACK, IN1, 6000, R1, 80, 10 * tr);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 11 * tr + 1), 0);
  sim_nat_free(&f.nat);
}

static void test_unsolicited_syn(void **state) {
  (void)state;
  fx f;
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R1, 80, 4001, 0, NULL, NULL),
                   SIM_NAT_DROP);
  f.nat.cfg.syn_rst = 1;
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R1, 80, 4001, 0, NULL, NULL),
                   SIM_NAT_RST);
  /* only a bare SYN is answered; ACKs, RSTs and UDP are dropped */
  assert_int_equal(in(&f, SIM_TCP, SIM_F_ACK, R1, 80, 4001, 0, NULL, NULL),
                   SIM_NAT_DROP);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_RST, R1, 80, 4001, 0, NULL, NULL),
                   SIM_NAT_DROP);
  assert_int_equal(in(&f, SIM_UDP, 0, R1, 80, 4001, 0, NULL, NULL),
                   SIM_NAT_DROP);
  /* a filtered SYN on a live mapping is unsolicited too */
  uint16_t a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R2, 80, a, 1, NULL, NULL),
                   SIM_NAT_RST);
  sim_nat_free(&f.nat);
}

static void test_rst_deletes(void **state) {
  (void)state;
  fx f;
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_PRESERVE);
  uint16_t a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  /* the far side's RST is forwarded, and the flow and mapping are gone */
  assert_int_equal(
      in(&f, SIM_TCP, SIM_F_RST | SIM_F_ACK, R1, 80, a, 1, NULL, NULL),
      SIM_NAT_FORWARD);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 2), 0);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R1, 80, a, 2, NULL, NULL),
                   SIM_NAT_DROP);
  /* with a second flow on the mapping, only the reset flow goes */
  a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 3);
  out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R2, 80, 3);
  in(&f, SIM_TCP, SIM_F_RST | SIM_F_ACK, R1, 80, a, 4, NULL, NULL);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 5), 1);
  sim_nat_free(&f.nat);
  /* configurable: without rst_deletes the mapping survives */
  nat_new(&f, LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE);
  f.nat.cfg.rst_deletes = 0;
  a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  in(&f, SIM_TCP, SIM_F_RST | SIM_F_ACK, R1, 80, a, 1, NULL, NULL);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 2), 1);
  sim_nat_free(&f.nat);
}

static void test_inbound_session_reply_port(void **state) {
  (void)state;
  fx f;
  /* APDM + EIF: R2 reaches the mapping made for R1; the reply to R2 must
   * leave through that same port, not through a fresh mapping */
  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_RANDOM);
  uint16_t a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R2, 7000, a, 1, NULL, NULL),
                   SIM_NAT_FORWARD);
  assert_int_equal(
      out(&f, SIM_TCP, SIM_F_SYN | SIM_F_ACK, IN1, 4001, R2, 7000, 2), a);
  assert_int_equal(sim_nat_live_mappings(&f.nat, 2), 1);
  sim_nat_free(&f.nat);
  /* an earlier outbound flow to R2 on its own mapping moves to the mapping
   * R2 reached (the punch case: the SYN-ACK answers through it) */
  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_RANDOM);
  a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  uint16_t b = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R2, 7000, 0);
  assert_int_not_equal(a, b);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R2, 7000, a, 1, NULL, NULL),
                   SIM_NAT_FORWARD);
  assert_int_equal(
      out(&f, SIM_TCP, SIM_F_SYN | SIM_F_ACK, IN1, 4001, R2, 7000, 2), a);
  sim_nat_free(&f.nat);
  /* ... but a flow already answered through its own mapping stays there:
   * the packet reaching the other mapping clashes and is dropped */
  nat_new(&f, LP2P_SIM_MAP_APD, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_RANDOM);
  a = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R1, 80, 0);
  b = out(&f, SIM_TCP, SIM_F_SYN, IN1, 4001, R2, 7000, 0);
  assert_int_equal(
      in(&f, SIM_TCP, SIM_F_SYN | SIM_F_ACK, R2, 7000, b, 1, NULL, NULL),
      SIM_NAT_FORWARD);
  assert_int_equal(in(&f, SIM_TCP, SIM_F_SYN, R2, 7000, a, 2, NULL, NULL),
                   SIM_NAT_DROP);
  assert_int_equal(out(&f, SIM_TCP, SIM_F_ACK, IN1, 4001, R2, 7000, 3), b);
  sim_nat_free(&f.nat);
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(lp2p_sim_nat_type_name(LP2P_SIM_MAP_EI, LP2P_SIM_FILT_EI,
                                             LP2P_SIM_PORT_PRESERVE),
                      "EIM-EIF-preserve");
  assert_string_equal(lp2p_sim_nat_type_name(LP2P_SIM_MAP_APD, LP2P_SIM_FILT_AD,
                                             LP2P_SIM_PORT_RANDOM),
                      "APDM-ADF-random");
  assert_string_equal(lp2p_sim_nat_type_name((lp2p_sim_nat_mapping)7,
                                             LP2P_SIM_FILT_AD,
                                             LP2P_SIM_PORT_RANDOM),
                      "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mapping_behaviour),
      cmocka_unit_test(test_filtering_behaviour),
      cmocka_unit_test(test_allocation),
      cmocka_unit_test(test_port_exhaustion),
      cmocka_unit_test(test_udp_timeout_refresh),
      cmocka_unit_test(test_tcp_timeouts),
      cmocka_unit_test(test_unsolicited_syn),
      cmocka_unit_test(test_rst_deletes),
      cmocka_unit_test(test_inbound_session_reply_port),
      cmocka_unit_test(test_type_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
