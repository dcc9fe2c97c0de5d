/* DCUtR end to end in the simulator: a public relay R, B behind a NAT
 * reserves on it, A behind another NAT dials B by its /p2p-circuit
 * address. B starts DCUtR over the relayed connection, both punch from
 * their listen ports, and a direct connection replaces the relayed one:
 * HOLEPUNCH_RESULT ok on both, ping over a connection that is not
 * limited, and the relayed connection closes once idle. Two NATs that
 * map per destination cannot be punched: the result names why, traffic
 * stays relayed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/crypto.h"
#include "lp2p/peerid.h"
#include "lp2p/sim.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

enum { R = 0, A = 1, B = 2 };

typedef struct dw {
  lp2p_sim *s;
  uint32_t node[3], nat[3];
  lp2p_peerid id[3];
  lp2p_maddr listen[3];
  int reserved, punch_done[3], punch_ok[3], punch_reason[3];
  lp2p_tstamp punch_at[3]; /* the last HOLEPUNCH_RESULT */
  uint64_t direct[3], circ_dial, circ_conn;
  int circ_done, pings, ping_err;
  uint64_t relay_dial;
  int foreign_dials[3]; /* DIAL_* for dials the application never made */
  uint32_t attempts[3];
  void (*trace)(void *ud, const char *line); /* set before world() */
  lp2p_tstamp b_syn_at_a, a_syn_at_b_nat;
} dw;

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  dw *w = ud;
  int i = hid == w->node[A] ? A : hid == w->node[B] ? B : R;
  switch (ev->kind) {
  case LP2P_HOST_EV_RELAY_RESERVED:
    w->reserved++;
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    w->punch_done[i]++;
    w->punch_at[i] = lp2p_sim_now(s);
    w->punch_ok[i] = ev->u.holepunch.ok;
    w->punch_reason[i] = ev->u.holepunch.reason;
    w->direct[i] = ev->conn;
    w->attempts[i] = ev->u.holepunch.attempts;
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (!(i == A && ev->u.dial.id == w->circ_dial) &&
        !(i == B && ev->u.dial.id == w->relay_dial))
      w->foreign_dials[i]++;
    break;
  case LP2P_HOST_EV_DIAL_DONE:
    if (!(i == A && ev->u.dial.id == w->circ_dial) &&
        !(i == B && ev->u.dial.id == w->relay_dial))
      w->foreign_dials[i]++;
    if (i == A && ev->u.dial.id == w->circ_dial) {
      w->circ_done = 1;
      w->circ_conn = ev->conn;
    }
    break;
  case LP2P_HOST_EV_PING_RESULT:
    w->pings++;
    w->ping_err = ev->err;
    break;
  default:
    break;
  }
}

static uint64_t retry_min_ns; /* dcutr.retry_min_ns of the next world */
/* the next world's NATs for A and B (NULL: world()'s), and the classes
 * its hosts know of their own NATs (NULL: what they learn) */
static const lp2p_sim_nat_config *nat_of[3];
static const lp2p_nat_class *class_of[3];

static void add(dw *w, int i, const lp2p_sim_nat_config *nat) {
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 20 * MS;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = MS;
  uint32_t realm = LP2P_SIM_INTERNET;
  if (nat) {
    assert_int_equal(lp2p_sim_nat_add(w->s, LP2P_SIM_INTERNET, 0, nat, &wan,
                                      &wan, &w->nat[i]),
                     0);
    realm = w->nat[i];
  }
  assert_int_equal(lp2p_sim_ep_add(w->s, realm, 0, NULL, nat ? &lan : &wan,
                                   nat ? &lan : &wan, &w->node[i]),
                   0);
  static lp2p_privkey key;
  assert_int_equal(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0,
                                     lp2p_sim_node_rng(w->s, w->node[i])),
                   0);
  lp2p_peerid_from_pubkey(&w->id[i], &key.pub);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.relay.hop = i == R;
  if (retry_min_ns) { /* an unlimited relay: the circuit outlives retries */
    cfg.relay.limit_duration_ns = 0;
    cfg.relay.limit_data_bytes = 0;
  }
  cfg.dcutr.enabled = i != R;
  /* the simulator's internet is 10/8-style private space: count it as
   * public here, as a lab's LP2P_PUBLIC_CIDRS would */
  cfg.dcutr.engine.is_public = NULL;
  cfg.dcutr.retry_min_ns = retry_min_ns;
  if (class_of[i])
    cfg.dcutr.engine.ours = *class_of[i];
  cfg.dcutr.retry_max_ns = 2 * retry_min_ns;
  assert_int_equal(lp2p_sim_host_add(w->s, w->node[i], &cfg, 32u << 20), 0);
  char t[64];
  uint32_t ip = lp2p_sim_node_ip(w->s, w->node[i]);
  snprintf(t, sizeof t, "/ip4/%u.%u.%u.%u/tcp/4001", ip >> 24,
           (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  assert_int_equal(lp2p_maddr_parse(&w->listen[i], t, strlen(t)), 0);
  assert_int_equal(
      lp2p_host_listen(lp2p_sim_host(w->s, w->node[i]), &w->listen[i], NULL),
      0);
  lp2p_sim_host_kick(w->s, w->node[i]);
}

static lp2p_maddr relay_addr(dw *w) {
  lp2p_maddr m = w->listen[R];
  char t[LP2P_PEERID_TEXT_MAX + 8];
  size_t n = 0;
  memcpy(t, "/p2p/", 5);
  lp2p_peerid_to_base58(&w->id[R], t + 5, sizeof t - 5, &n);
  lp2p_maddr p;
  lp2p_maddr_parse(&p, t, 5 + n);
  lp2p_maddr_encapsulate(&m, &p);
  return m;
}

static int reserved(void *ud) { return ((dw *)ud)->reserved > 0; }
static int punched(void *ud) {
  dw *w = ud;
  return w->punch_done[A] && w->punch_done[B];
}

static int a_public; /* A on the internet, not behind a NAT */

static void (*dw_trace)(void *ud, const char *line); /* the next world's */

static void world(dw *w, uint64_t seed, lp2p_sim_nat_mapping map) {
  memset(w, 0, sizeof *w);
  w->trace = dw_trace;
  lp2p_sim_config sc;
  lp2p_sim_config_default(&sc);
  assert_int_equal(lp2p_sim_new(&w->s, seed, &sc), 0);
  lp2p_sim_on_host_event(w->s, on_event, w);
  lp2p_sim_nat_config n;
  lp2p_sim_nat_config_default(&n);
  n.mapping = map;
  n.filtering = LP2P_SIM_FILT_APD;
  n.alloc = LP2P_SIM_PORT_PRESERVE;
  add(w, R, NULL);
  add(w, A, a_public ? NULL : nat_of[A] ? nat_of[A] : &n);
  add(w, B, nat_of[B] ? nat_of[B] : &n);
  if (w->trace)
    lp2p_sim_set_trace_sink(w->s, w->trace, w);
  lp2p_sim_run_until(w->s, SEC);
  /* B reserves on R (dialled from its listen port) */
  lp2p_maddr ra = relay_addr(w);
  lp2p_host *hb = lp2p_sim_host(w->s, w->node[B]);
  assert_int_equal(lp2p_host_dial(hb, lp2p_sim_ep_clock(w->s, w->node[B]), &ra,
                                  LP2P_DIAL_REUSEPORT, &w->relay_dial),
                   0);
  lp2p_sim_host_kick(w->s, w->node[B]);
  lp2p_sim_run_until(w->s, lp2p_sim_now(w->s) + 2 * SEC);
  assert_int_equal(lp2p_host_relay_reserve(
                       hb, lp2p_sim_ep_clock(w->s, w->node[B]), &w->id[R]),
                   0);
  lp2p_sim_host_kick(w->s, w->node[B]);
  lp2p_sim_run(w->s, reserved, w, lp2p_sim_now(w->s) + 10 * SEC);
  assert_int_equal(w->reserved, 1);
  /* A dials B through R */
  lp2p_maddr circ;
  size_t cn = 0;
  lp2p_host_relay_addrs(hb, &circ, 1, &cn);
  assert_int_equal(cn, 1);
  lp2p_host *ha = lp2p_sim_host(w->s, w->node[A]);
  assert_int_equal(lp2p_host_dial(ha, lp2p_sim_ep_clock(w->s, w->node[A]),
                                  &circ, 0, &w->circ_dial),
                   0);
  lp2p_sim_host_kick(w->s, w->node[A]);
  lp2p_sim_run(w->s, punched, w, lp2p_sim_now(w->s) + 60 * SEC);
}

static void test_punch_through_cone_nats(void **state) {
  (void)state;
  dw w;
  world(&w, 21, LP2P_SIM_MAP_EI);
  assert_true(w.circ_done);
  assert_int_equal(w.punch_done[A], 1);
  assert_int_equal(w.punch_done[B], 1);
  if (!(w.punch_ok[A] && w.punch_ok[B]))
    fprintf(stderr, "A ok=%d reason=%d B ok=%d reason=%d\n", w.punch_ok[A],
            w.punch_reason[A], w.punch_ok[B], w.punch_reason[B]);
  assert_true(w.punch_ok[A] && w.punch_ok[B]);
  /* the relay dial under A's circuit dial and both sides' punch dials are
   * the host's own: the applications saw DIAL_* only for their dials */
  assert_int_equal(w.foreign_dials[A], 0);
  assert_int_equal(w.foreign_dials[B], 0);
  /* the direct connection is not limited, and ping takes it */
  lp2p_host *ha = lp2p_sim_host(w.s, w.node[A]);
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(ha, w.direct[A], &ci), 0);
  assert_false(ci.limited);
  assert_false(ci.carried);
  assert_int_equal(lp2p_host_ping(ha, lp2p_sim_ep_clock(w.s, w.node[A]),
                                  &w.id[B]),
                   0);
  lp2p_sim_host_kick(w.s, w.node[A]);
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 2 * SEC);
  assert_int_equal(w.pings, 1);
  assert_int_equal(w.ping_err, 0);
  /* the relayed connection goes once idle */
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 30 * SEC);
  assert_int_equal(lp2p_host_conn_info_get(ha, w.circ_conn, &ci),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_host_peer_conn_count(ha, &w.id[B]), 1);
  lp2p_sim_free(w.s);
}

static void test_symmetric_nats_stay_relayed(void **state) {
  (void)state;
  dw w;
  world(&w, 22, LP2P_SIM_MAP_APD);
  assert_true(w.circ_done);
  assert_int_equal(w.punch_done[B], 1);
  assert_false(w.punch_ok[B]);
  assert_true(w.punch_reason[B] != 0);
  /* still connected through the relay */
  lp2p_host *ha = lp2p_sim_host(w.s, w.node[A]);
  assert_int_equal(lp2p_host_peer_conn_count(ha, &w.id[B]), 1);
  lp2p_sim_free(w.s);
}

/* The spec's first step: A is reachable (a public address in identify),
 * so B dials it directly instead of punching: the result is ok after 0
 * attempts on both sides, and the connection is a plain outbound one
 * from B. */
/* The trace's packet lines: the first SYN from B's NAT that reaches A, and
 * the first SYN that reaches B's NAT from outside and is not let in (A's,
 * aimed at the port B's symmetric NAT used for the relay). */
static void order_sink(void *ud, const char *line) {
  dw *w = ud;
  unsigned long long t;
  char what[32], proto[8], src[16], dst[16], kind;
  unsigned node, sport, dport, flags;
  if (sscanf(line, "%llu %31s %c%u %7s %15[^:]:%u>%15[^:]:%u f%x", &t, what,
             &kind, &node, proto, src, &sport, dst, &dport, &flags) != 10 ||
      strcmp(proto, "tcp") != 0 || flags != 0x1u)
    return;
  char bnat[16];
  uint32_t ip = lp2p_sim_node_ip(w->s, w->nat[B]);
  snprintf(bnat, sizeof bnat, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
           (ip >> 8) & 255, ip & 255);
  if (!strcmp(what, "rx") && kind == 'n' && node == w->node[A] &&
      !strcmp(src, bnat) && !w->b_syn_at_a)
    w->b_syn_at_a = t;
  if ((!strcmp(what, "drop-nat-in") || !strcmp(what, "drop-nat-rst")) &&
      !strcmp(dst, bnat) && !w->a_syn_at_b_nat)
    w->a_syn_at_b_nat = t;
}

/* Both classes known, B symmetric, A a restricted cone (EIM, ADF): only
 * B's SYN can connect (A's goes to a port B's NAT does not use toward A),
 * so B sends it before SYNC, after A's low-TTL probe opened A's filter
 * for B's IP. B's SYN then reaches A before A's own (sent on SYNC) even
 * reaches B's NAT; with the spec's timing (B at RTT/2 after SYNC) it
 * would come half an RTT later. */
static void test_symmetric_b_syn_before_sync(void **state) {
  (void)state;
  lp2p_sim_nat_config na, nb;
  lp2p_sim_nat_config_default(&na);
  na.mapping = LP2P_SIM_MAP_EI;
  na.filtering = LP2P_SIM_FILT_AD;
  na.alloc = LP2P_SIM_PORT_PRESERVE;
  lp2p_sim_nat_config_default(&nb);
  nb.mapping = LP2P_SIM_MAP_APD;
  nb.filtering = LP2P_SIM_FILT_APD;
  nb.alloc = LP2P_SIM_PORT_RANDOM;
  lp2p_nat_class ca, cb;
  lp2p_nat_class_unknown(&ca);
  lp2p_nat_class_unknown(&cb);
  ca.mapping = LP2P_NAT_ENDPOINT_INDEPENDENT;
  ca.filtering = LP2P_NAT_ADDRESS_DEPENDENT;
  cb.mapping = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  cb.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  for (int known = 0; known < 2; known++) {
    dw w;
    memset(&w, 0, sizeof w);
    nat_of[A] = &na;
    nat_of[B] = &nb;
    class_of[A] = known ? &ca : NULL;
    class_of[B] = known ? &cb : NULL;
    dw_trace = order_sink;
    world(&w, 24, LP2P_SIM_MAP_EI);
    dw_trace = NULL;
    nat_of[A] = nat_of[B] = NULL;
    class_of[A] = class_of[B] = NULL;
    assert_true(w.punch_ok[A] && w.punch_ok[B]);
    assert_int_equal(w.attempts[B], 1);
    assert_true(w.b_syn_at_a && w.a_syn_at_b_nat);
    /* unknown classes: the spec's timing, B's SYN after A's */
    if (known)
      assert_true(w.b_syn_at_a < w.a_syn_at_b_nat);
    else
      assert_true(w.b_syn_at_a > w.a_syn_at_b_nat);
    lp2p_sim_free(w.s);
  }
}

static void test_unilateral_upgrade(void **state) {
  (void)state;
  dw w;
  a_public = 1;
  world(&w, 23, LP2P_SIM_MAP_APD); /* B symmetric: a punch could not work */
  a_public = 0;
  lp2p_sim_run_until(w.s, lp2p_sim_now(w.s) + 5 * SEC);
  assert_true(w.circ_done);
  assert_int_equal(w.punch_done[B], 1);
  assert_true(w.punch_ok[B]);
  assert_int_equal(w.attempts[B], 0);
  /* A sees the peer it reaches through the relay connect directly */
  assert_int_equal(w.punch_done[A], 1);
  assert_true(w.punch_ok[A]);
  assert_int_equal(w.attempts[A], 0);
  assert_int_equal(w.foreign_dials[B], 0);
  lp2p_host *hb = lp2p_sim_host(w.s, w.node[B]);
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(hb, w.direct[B], &ci), 0);
  assert_false(ci.limited);
  assert_int_equal(ci.direction, LP2P_DIR_OUTBOUND);
  lp2p_sim_free(w.s);
}

/* Path upkeep (issue 14): with retries on, B tries again after 30 s,
 * then 60 s (the ceiling here), each attempt one HOLEPUNCH_RESULT with its
 * reason on both sides, and the path never flaps: one connection, the
 * relayed one, all along. */
static void test_retry_with_backoff(void **state) {
  (void)state;
  dw w;
  retry_min_ns = 30 * SEC;
  world(&w, 23, LP2P_SIM_MAP_APD);
  retry_min_ns = 0;
  assert_int_equal(w.punch_done[B], 1);
  lp2p_tstamp first = w.punch_at[B];
  lp2p_host *ha = lp2p_sim_host(w.s, w.node[A]);
  lp2p_sim_run_until(w.s, first + 25 * SEC);
  assert_int_equal(w.punch_done[B], 1); /* not before the backoff */
  lp2p_sim_run_until(w.s, first + 60 * SEC);
  assert_int_equal(w.punch_done[B], 2); /* 30 s, then the attempts */
  assert_int_equal(w.punch_done[A], 2);
  lp2p_tstamp second = w.punch_at[B];
  lp2p_sim_run_until(w.s, second + 55 * SEC);
  assert_int_equal(w.punch_done[B], 2); /* doubled: 60 s */
  lp2p_sim_run_until(w.s, second + 90 * SEC);
  assert_int_equal(w.punch_done[B], 3);
  assert_false(w.punch_ok[B]);
  assert_true(w.punch_reason[B] != 0);
  assert_int_equal(lp2p_host_peer_conn_count(ha, &w.id[B]), 1);
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(ha, w.circ_conn, &ci), 0);
  assert_true(ci.carried);
  lp2p_sim_free(w.s);
}

/* Path upkeep (issue 14): "and again at once when our addresses change":
 * after B's punch failed, B gains a listen address; B tries again then,
 * long before the 30 s backoff is up (an attempt ends well within 30 s:
 * the attempt after the backoff is done by 60 s in the test above). */
static void test_retry_at_once_when_addresses_change(void **state) {
  (void)state;
  dw w;
  retry_min_ns = 30 * SEC;
  world(&w, 23, LP2P_SIM_MAP_APD);
  retry_min_ns = 0;
  assert_int_equal(w.punch_done[B], 1);
  assert_false(w.punch_ok[B]);
  lp2p_tstamp first = w.punch_at[B];
  lp2p_sim_run_until(w.s, first + 2 * SEC);
  assert_int_equal(w.punch_done[B], 1);
  lp2p_host *hb = lp2p_sim_host(w.s, w.node[B]);
  char t[64];
  uint32_t ip = lp2p_sim_node_ip(w.s, w.node[B]);
  snprintf(t, sizeof t, "/ip4/%u.%u.%u.%u/tcp/4002", ip >> 24,
           (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  lp2p_maddr extra;
  assert_int_equal(lp2p_maddr_parse(&extra, t, strlen(t)), 0);
  assert_int_equal(lp2p_host_listen(hb, &extra, NULL), 0);
  lp2p_sim_host_kick(w.s, w.node[B]);
  lp2p_sim_run_until(w.s, first + 29 * SEC);
  assert_int_equal(w.punch_done[B], 2); /* before the 30 s were up */
  assert_true(w.punch_at[B] < first + 30 * SEC);
  lp2p_sim_free(w.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_punch_through_cone_nats),
      cmocka_unit_test(test_symmetric_nats_stay_relayed),
      cmocka_unit_test(test_symmetric_b_syn_before_sync),
      cmocka_unit_test(test_unilateral_upgrade),
      cmocka_unit_test(test_retry_with_backoff),
      cmocka_unit_test(test_retry_at_once_when_addresses_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
