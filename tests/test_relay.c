/* Circuit relay v2 at the host level over memnet: A reserves on relay R,
 * B dials A's /p2p-circuit address (not connected to R before), and the
 * relayed connection is a real, limited lp2p connection (Noise + yamux
 * inside) that carries ping. Then the relay's refusals (no reservation,
 * no hop service), both circuit limits (data: the circuit is reset, the
 * reservation survives; duration), and a reservation lost when its relay
 * goes. */
#include "tests/test_host_util.h"

#define R 0 /* the relay */
#define A 1 /* reserves, is dialled */
#define B 2 /* dials A through R */

static lp2p_host_config relay_cfg(uint64_t data, uint64_t duration_ns) {
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.relay.hop = 1;
  c.relay.limit_data_bytes = data;
  c.relay.limit_duration_ns = duration_ns;
  return c;
}

static th_net *three(uint64_t seed, const lp2p_host_config *rc) {
  th_net *t = th_new(seed);
  assert_non_null(th_add(t, rc, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, R);
  return t;
}

/* A connects to R and reserves; returns A's circuit address. */
static lp2p_maddr reserve(th_net *t) {
  th_connect(t, A, R);
  assert_int_equal(lp2p_host_relay_reserve(t->h[A], th_now(t), &t->id[R]), 0);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_RESERVED, 1,
                          5 * LP2P_NS_PER_S));
  const th_ev *e = th_find(t, A, LP2P_HOST_EV_RELAY_RESERVED, 0);
  assert_true(lp2p_peerid_equal(&e->peer, &t->id[R]));
  lp2p_maddr addrs[4];
  size_t n = 0;
  assert_int_equal(lp2p_host_relay_addrs(t->h[A], addrs, 4, &n), 0);
  assert_int_equal(n, 1);
  /* <R's listen address>/p2p/R/p2p-circuit/p2p/A */
  char txt[512];
  size_t len = 0;
  assert_int_equal(lp2p_maddr_to_string(&addrs[0], txt, sizeof txt, &len), 0);
  char want[512];
  size_t wl = 0;
  assert_int_equal(
      lp2p_maddr_to_string(&t->listen[R], want, sizeof want, &wl), 0);
  assert_memory_equal(txt, want, wl);
  assert_non_null(strstr(txt, "/p2p-circuit/p2p/"));
  return addrs[0];
}

/* B dials the circuit address; returns the relayed connection (B side). */
/* The DIAL_DONE / DIAL_FAILED of dial `id` on host `host`, or NULL. */
static const th_ev *dial_ev(th_net *t, int host, uint64_t id) {
  for (int i = 0; i < t->nev[host]; i++) {
    const th_ev *e = &t->ev[host][i];
    if ((e->kind == LP2P_HOST_EV_DIAL_DONE ||
         e->kind == LP2P_HOST_EV_DIAL_FAILED) &&
        e->dial == id)
      return e;
  }
  return NULL;
}

static const th_ev *wait_dial(th_net *t, int host, uint64_t id) {
  for (int i = 0; i < 200 && !dial_ev(t, host, id); i++)
    memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
  const th_ev *e = dial_ev(t, host, id);
  assert_non_null(e);
  return e;
}

static uint64_t dial_circuit(th_net *t, const lp2p_maddr *ma) {
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), ma, 0, &dial), 0);
  /* B dials R first (one DIAL_DONE), then the circuit's */
  const th_ev *d = wait_dial(t, B, dial);
  assert_int_equal(d->kind, LP2P_HOST_EV_DIAL_DONE);
  assert_true(lp2p_peerid_equal(&d->peer, &t->id[A]));
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_CIRCUIT, 1,
                          5 * LP2P_NS_PER_S));
  assert_true(lp2p_peerid_equal(&th_find(t, A, LP2P_HOST_EV_RELAY_CIRCUIT,
                                         0)->peer,
                                &t->id[B]));
  return d->conn;
}

static void test_reserve_dial_ping(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(128 * 1024, 120 * LP2P_NS_PER_S);
  th_net *t = three(501, &rc);
  lp2p_maddr ma = reserve(t);
  uint64_t conn = dial_circuit(t, &ma);
  lp2p_host_conn_info info;
  assert_int_equal(lp2p_host_conn_info_get(t->h[B], conn, &info), 0);
  assert_true(info.limited && info.carried);
  /* the remote address is the circuit address dialled */
  assert_true(lp2p_maddr_equal(&info.remote_addr, &ma));
  /* ping and identify are allowed on limited connections */
  assert_int_equal(lp2p_host_ping(t->h[B], th_now(t), &t->id[A]), 0);
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_PING_RESULT, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, B, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  /* B never connected to A directly: one connection, the relayed one */
  assert_int_equal(lp2p_host_peer_conn_count(t->h[B], &t->id[A]), 1);
  th_free(t);
}

static void test_refusals(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(128 * 1024, 120 * LP2P_NS_PER_S);
  th_net *t = three(502, &rc);
  th_connect(t, A, R);
  /* no reservation: NO_RESERVATION, the dial fails with NOT_FOUND */
  char txt[512];
  size_t len = 0, l2 = 0;
  assert_int_equal(
      lp2p_maddr_to_string(&t->listen[R], txt, sizeof txt, &len), 0);
  char id[LP2P_PEERID_TEXT_MAX];
  assert_int_equal(lp2p_peerid_to_base58(&t->id[A], id, sizeof id, &l2), 0);
  snprintf(txt + len, sizeof txt - len, "/p2p-circuit/p2p/%.*s", (int)l2, id);
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, txt, strlen(txt)), 0);
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, 0, &dial), 0);
  const th_ev *f = wait_dial(t, B, dial);
  assert_int_equal(f->kind, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(f->err, LP2P_ERR_NOT_FOUND);
  /* a relay without the hop service: the reservation is lost at once */
  lp2p_host_config plain;
  lp2p_host_config_default(&plain);
  assert_non_null(th_add(t, &plain, NULL));
  th_listen(t, 3);
  th_connect(t, A, 3);
  assert_int_equal(lp2p_host_relay_reserve(t->h[A], th_now(t), &t->id[3]), 0);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_RESERVATION_LOST, 1,
                          5 * LP2P_NS_PER_S));
  size_t n = 9;
  assert_int_equal(lp2p_host_relay_addrs(t->h[A], NULL, 0, &n), 0);
  assert_int_equal(n, 0);
  /* a malformed address: no relay id before /p2p-circuit */
  const char *bad = "/ip4/10.0.0.1/tcp/4001/p2p-circuit/p2p/"
                    "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  assert_int_equal(lp2p_maddr_parse(&ma, bad, strlen(bad)), 0);
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, 0, &dial),
                   LP2P_ERR_INVAL);
  th_free(t);
}

/* The data limit: a 1 MiB perf through a 64 KiB circuit fails (the relay
 * resets both streams), the reservation survives and a new circuit
 * works. */
static void test_data_limit(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(64 * 1024, 120 * LP2P_NS_PER_S);
  th_net *t = three(503, &rc);
  /* perf is not allowed on limited connections by default: the target
   * allows it, as an application would allow its protocol */
  assert_int_equal(lp2p_host_allow_limited(t->h[A], "/perf/1.0.0", 1), 0);
  assert_int_equal(lp2p_host_allow_limited(t->h[B], "/perf/1.0.0", 1), 0);
  lp2p_maddr ma = reserve(t);
  dial_circuit(t, &ma);
  assert_int_equal(
      lp2p_host_perf(t->h[B], th_now(t), &t->id[A], 1u << 20, 0), 0);
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_PERF_RESULT, 1,
                          20 * LP2P_NS_PER_S));
  assert_int_not_equal(th_find(t, B, LP2P_HOST_EV_PERF_RESULT, 0)->err, 0);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(th_count(t, A, LP2P_HOST_EV_RELAY_RESERVATION_LOST), 0);
  /* the reservation still stands: a fresh circuit pings */
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, LP2P_DIAL_FORCE,
                                  &dial),
                   0);
  assert_int_equal(wait_dial(t, B, dial)->kind, LP2P_HOST_EV_DIAL_DONE);
  int pings = th_count(t, B, LP2P_HOST_EV_PING_RESULT);
  assert_int_equal(lp2p_host_ping(t->h[B], th_now(t), &t->id[A]), 0);
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_PING_RESULT, pings + 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, B, LP2P_HOST_EV_PING_RESULT, pings)->err, 0);
  th_free(t);
}

/* The duration limit ends the circuit; the relay going ends the
 * reservation. */
static void test_duration_and_relay_gone(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(0, 3 * LP2P_NS_PER_S);
  th_net *t = three(504, &rc);
  lp2p_maddr ma = reserve(t);
  uint64_t conn = dial_circuit(t, &ma);
  (void)conn;
  int gone = th_count(t, B, LP2P_HOST_EV_PEER_DISCONNECTED);
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  assert_true(th_count(t, B, LP2P_HOST_EV_PEER_DISCONNECTED) > gone);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[B], &t->id[A]), 0);
  lp2p_host_close_peer(t->h[R], th_now(t), &t->id[A]);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_RESERVATION_LOST, 1,
                          5 * LP2P_NS_PER_S));
  th_free(t);
}

/* A target that does not listen at all: its only address is the relayed
 * one, which it advertises (the address manager, identify), so a peer
 * that learnt it by identify reaches it again with lp2p_host_dial_peer
 * alone. The address goes when the reservation does. */
static void test_advertised_and_dial_peer(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(128 * 1024, 120 * LP2P_NS_PER_S);
  th_net *t = th_new(505);
  assert_non_null(th_add(t, &rc, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, R);
  uint64_t d0 = 0;
  assert_int_equal(lp2p_host_dial(t->h[A], th_now(t), &t->listen[R], 0, &d0),
                   0);
  wait_dial(t, A, d0);
  assert_int_equal(lp2p_host_relay_reserve(t->h[A], th_now(t), &t->id[R]), 0);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_RESERVED, 1,
                          5 * LP2P_NS_PER_S));
  lp2p_maddr mine[8];
  size_t n = 0;
  assert_int_equal(lp2p_host_addrs(t->h[A], mine, 8, &n), 0);
  assert_int_equal(n, 1); /* nothing but the relayed address */
  lp2p_maddr circ[2];
  size_t cn = 0;
  lp2p_host_relay_addrs(t->h[A], circ, 2, &cn);
  assert_int_equal(cn, 1);
  lp2p_maddr strip = circ[0];
  lp2p_maddr_strip_peer_id(&strip);
  assert_true(lp2p_maddr_equal(&mine[0], &strip));
  /* B dials it once, learns it by identify, hangs up, dials the peer */
  dial_circuit(t, &circ[0]);
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_IDENTIFY_DONE, 1,
                          5 * LP2P_NS_PER_S));
  lp2p_host_close_peer(t->h[B], th_now(t), &t->id[A]);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[B], &t->id[A]), 0);
  uint64_t dial = 0;
  assert_int_equal(
      lp2p_host_dial_peer(t->h[B], th_now(t), &t->id[A], 0, &dial), 0);
  assert_int_equal(wait_dial(t, B, dial)->kind, LP2P_HOST_EV_DIAL_DONE);
  /* the relay goes: so does the address */
  lp2p_host_close_peer(t->h[A], th_now(t), &t->id[R]);
  assert_true(th_wait_for(t, A, LP2P_HOST_EV_RELAY_RESERVATION_LOST, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_addrs(t->h[A], mine, 8, &n), 0);
  assert_int_equal(n, 0);
  th_free(t);
}

/* AutoRelay: connected peers whose identify lists hop become relays; two
 * are kept; a third is not asked while two hold. In PRIVATE mode nothing
 * happens until the verdict is private, and turning public drops them. */
static void test_autorelay(void **state) {
  (void)state;
  th_net *t = th_new(506);
  lp2p_host_config rc = relay_cfg(128 * 1024, 120 * LP2P_NS_PER_S);
  lp2p_host_config ac;
  lp2p_host_config_default(&ac);
  ac.relay.autorelay = LP2P_AUTORELAY_ON;
  lp2p_host_config pc = ac;
  pc.relay.autorelay = LP2P_AUTORELAY_PRIVATE;
  assert_non_null(th_add(t, &ac, NULL)); /* 0: autorelay on */
  assert_non_null(th_add(t, &rc, NULL)); /* 1..3: relays */
  assert_non_null(th_add(t, &rc, NULL));
  assert_non_null(th_add(t, &rc, NULL));
  assert_non_null(th_add(t, &pc, NULL)); /* 4: autorelay when private */
  for (int i = 1; i <= 3; i++)
    th_listen(t, i);
  for (int i = 1; i <= 3; i++)
    th_connect(t, 0, i);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_RELAY_RESERVED), 2);
  size_t n = 0;
  lp2p_host_relay_addrs(t->h[0], NULL, 0, &n);
  assert_int_equal(n, 2);
  /* a relay goes: the third one is asked */
  int first = -1;
  for (int i = 1; i <= 3 && first < 0; i++)
    if (lp2p_peerid_equal(&th_find(t, 0, LP2P_HOST_EV_RELAY_RESERVED, 0)->peer,
                          &t->id[i]))
      first = i;
  assert_true(first > 0);
  lp2p_host_close_peer(t->h[first], th_now(t), &t->id[0]);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_RELAY_RESERVATION_LOST), 1);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_RELAY_RESERVED), 3);
  /* PRIVATE: connected to relays, nothing until the verdict is private */
  for (int i = 1; i <= 2; i++)
    th_connect(t, 4, i);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 4, LP2P_HOST_EV_RELAY_RESERVED), 0);
  assert_int_equal(lp2p_host_relay_set_private(t->h[4], th_now(t), 1), 0);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 4, LP2P_HOST_EV_RELAY_RESERVED), 2);
  assert_int_equal(lp2p_host_relay_set_private(t->h[4], th_now(t), 0), 0);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  assert_int_equal(th_count(t, 4, LP2P_HOST_EV_RELAY_RESERVATION_LOST), 2);
  lp2p_host_relay_addrs(t->h[4], NULL, 0, &n);
  assert_int_equal(n, 0);
  th_free(t);
}

/* Misbehaviour on both sides: an expired reservation refuses circuits;
 * the per-peer circuit cap; a target that goes mid-circuit ends the
 * initiator's connection; a "relay" that answers garbage to RESERVE and to
 * CONNECT fails the reservation and the dial, nothing else. */
static void test_misbehaviour(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(0, 0);
  rc.relay.reservation_ttl_ns = 5 * LP2P_NS_PER_S;
  rc.relay.circuits_per_peer_max = 1;
  th_net *t = three(507, &rc);
  lp2p_maddr ma = reserve(t);
  dial_circuit(t, &ma);
  /* a second circuit from B to A: over the per-peer cap */
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, LP2P_DIAL_FORCE,
                                  &dial),
                   0);
  const th_ev *f = wait_dial(t, B, dial);
  assert_int_equal(f->kind, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(f->err, LP2P_ERR_REFUSED);
  /* the target goes: B's relayed connection ends (carrier closed) */
  int gone = th_count(t, B, LP2P_HOST_EV_PEER_DISCONNECTED);
  lp2p_host_close_peer(t->h[A], th_now(t), &t->id[R]);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  assert_true(th_count(t, B, LP2P_HOST_EV_PEER_DISCONNECTED) > gone);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[B], &t->id[A]), 0);
  /* A is back on R but does not reserve: no circuit (reservation gone) */
  th_connect(t, A, R);
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, LP2P_DIAL_FORCE,
                                  &dial),
                   0);
  f = wait_dial(t, B, dial);
  assert_int_equal(f->kind, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(f->err, LP2P_ERR_NOT_FOUND);
  th_free(t);

  /* a relay that answers garbage */
  th_net *u = th_new(508);
  lp2p_host_config plain;
  lp2p_host_config_default(&plain);
  assert_non_null(th_add(u, &plain, NULL)); /* 0: fake relay */
  assert_non_null(th_add(u, NULL, NULL));   /* 1: client */
  th_listen(u, 0);
  assert_int_equal(lp2p_host_register_protocol(u->h[0], LP2P_RELAY_HOP_ID), 0);
  th_connect(u, 1, 0);
  assert_int_equal(lp2p_host_relay_reserve(u->h[1], th_now(u), &u->id[0]), 0);
  assert_true(th_wait_for(u, 0, LP2P_HOST_EV_STREAM_INBOUND, 1,
                          5 * LP2P_NS_PER_S));
  uint64_t s0 = th_find(u, 0, LP2P_HOST_EV_STREAM_INBOUND, 0)->stream;
  static const uint8_t junk[] = {0x05, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(lp2p_host_stream_write(u->h[0], th_now(u), s0, junk,
                                          sizeof junk),
                   (lp2p_ssize)sizeof junk);
  assert_true(th_wait_for(u, 1, LP2P_HOST_EV_RELAY_RESERVATION_LOST, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_count(u, 1, LP2P_HOST_EV_RELAY_RESERVED), 0);
  /* CONNECT answered with an oversized length prefix */
  char txt[512];
  size_t len = 0, il = 0;
  assert_int_equal(lp2p_maddr_to_string(&u->listen[0], txt, sizeof txt, &len),
                   0);
  char id[LP2P_PEERID_TEXT_MAX];
  lp2p_peerid other = u->id[0];
  other.bytes[other.len - 1] ^= 1; /* some peer, not the relay */
  assert_int_equal(lp2p_peerid_to_base58(&other, id, sizeof id, &il), 0);
  snprintf(txt + len, sizeof txt - len, "/p2p-circuit/p2p/%.*s", (int)il, id);
  lp2p_maddr cm;
  assert_int_equal(lp2p_maddr_parse(&cm, txt, strlen(txt)), 0);
  assert_int_equal(lp2p_host_dial(u->h[1], th_now(u), &cm, 0, &dial), 0);
  assert_true(th_wait_for(u, 0, LP2P_HOST_EV_STREAM_INBOUND, 2,
                          5 * LP2P_NS_PER_S));
  uint64_t s1 = th_find(u, 0, LP2P_HOST_EV_STREAM_INBOUND, 1)->stream;
  static const uint8_t big[] = {0xff, 0xff, 0x7f};
  lp2p_host_stream_write(u->h[0], th_now(u), s1, big, sizeof big);
  const th_ev *g = wait_dial(u, 1, dial);
  assert_int_equal(g->kind, LP2P_HOST_EV_DIAL_FAILED);
  /* the client's connection to the fake relay is fine */
  assert_int_equal(lp2p_host_ping(u->h[1], th_now(u), &u->id[0]), 0);
  assert_true(th_wait_for(u, 1, LP2P_HOST_EV_PING_RESULT, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_find(u, 1, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  th_free(u);
}

/* The relay forgets a reservation at its TTL. The client here runs a
 * clock a day ahead of the relay's, so the expiry it is given looks past:
 * it refreshes only every 10 s (never in a loop), after the relay's 3 s
 * TTL. In between, circuits to it are refused with NO_RESERVATION; after
 * its refresh they work again. */
static void test_reservation_expires(void **state) {
  (void)state;
  lp2p_host_config rc = relay_cfg(0, 0);
  rc.relay.reservation_ttl_ns = 3 * LP2P_NS_PER_S;
  th_net *t = three(509, &rc);
  lp2p_host_set_unix_time(t->h[A], UINT64_C(86400) * LP2P_NS_PER_S);
  lp2p_maddr ma = reserve(t);
  memnet_run_for(t->net, 5 * LP2P_NS_PER_S);
  assert_int_equal(th_count(t, A, LP2P_HOST_EV_RELAY_RESERVED), 1);
  uint64_t dial = 0;
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, 0, &dial), 0);
  const th_ev *f = wait_dial(t, B, dial);
  assert_int_equal(f->kind, LP2P_HOST_EV_DIAL_FAILED);
  assert_int_equal(f->err, LP2P_ERR_NOT_FOUND);
  memnet_run_for(t->net, 6 * LP2P_NS_PER_S); /* the client's refresh */
  assert_int_equal(th_count(t, A, LP2P_HOST_EV_RELAY_RESERVED), 2);
  assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &ma, LP2P_DIAL_FORCE,
                                  &dial),
                   0);
  assert_int_equal(wait_dial(t, B, dial)->kind, LP2P_HOST_EV_DIAL_DONE);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reserve_dial_ping),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_data_limit),
      cmocka_unit_test(test_duration_and_relay_gone),
      cmocka_unit_test(test_advertised_and_dial_peer),
      cmocka_unit_test(test_autorelay),
      cmocka_unit_test(test_misbehaviour),
      cmocka_unit_test(test_reservation_expires),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
