/* Inbound stream limits at the host level (issue 9): the idle-stream
 * attack of several identities at a reduced scale (an honest peer still
 * connects, pings, runs perf and opens echo, with bounded listener
 * memory), the idle timeout, per-protocol and per-peer caps with their
 * counters, and echo / ping against a peer that never reads its answers. */
#include "tests/test_host_util.h"

#define ECHO "/echo/1.0.0"
#define SINK "/sink/1.0.0"

static void ping_ok(th_net *t, int from, int to) {
  int before = th_count(t, from, LP2P_HOST_EV_PING_RESULT);
  assert_int_equal(lp2p_host_ping(t->h[from], th_now(t), &t->id[to]), 0);
  assert_true(th_wait_for(t, from, LP2P_HOST_EV_PING_RESULT, before + 1,
                          2 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, from, LP2P_HOST_EV_PING_RESULT, before)->err, 0);
}

/* Open one stream; returns its id (0 when the open call failed). */
static uint64_t open_on(th_net *t, int from, uint64_t conn, const char *p) {
  uint64_t id = 0;
  if (lp2p_host_open_stream_on(t->h[from], th_now(t), conn, p, &id) != 0)
    return 0;
  return id;
}

/* Events of `kind` on host `host` for protocol `proto`. */
static int count_proto(const th_net *t, int host, lp2p_host_event_kind kind,
                       const char *proto) {
  int n = 0;
  for (int i = 0; i < t->nev[host]; i++)
    n += t->ev[host][i].kind == kind && !strcmp(t->ev[host][i].protocol, proto);
  return n;
}

/* The stream's last event of `kind`, or NULL. */
static const th_ev *stream_ev(const th_net *t, int host, uint64_t stream,
                              lp2p_host_event_kind kind) {
  for (int i = t->nev[host]; i-- > 0;)
    if (t->ev[host][i].stream == stream && t->ev[host][i].kind == kind)
      return &t->ev[host][i];
  return NULL;
}

/* The connections host `from` holds to `to` (from its PEER_CONNECTED
 * events). */
static int conns_to(const th_net *t, int from, int to, uint64_t *out,
                    int max) {
  int n = 0;
  for (int i = 0; i < t->nev[from] && n < max; i++) {
    const th_ev *e = &t->ev[from][i];
    if (e->kind == LP2P_HOST_EV_PEER_CONNECTED &&
        lp2p_peerid_equal(&e->peer, &t->id[to]))
      out[n++] = e->conn;
  }
  return n;
}

/* ---- defect 4 at a reduced scale ----------------------------------------- */

#define ATTACKERS 5
#define CONNS_PER_ATTACKER 2
#define TRIES_PER_CONN 60

/* Listener 0 with a small stream table (the 65,536 of the defect scaled
 * down to 256) and scaled-down caps; honest peer 1; attackers 2.. with two
 * connections each open many idle echo and sink streams. Without the caps
 * the attackers fill the table and every honest inbound stream is reset. */
static void test_idle_stream_attack(void **state) {
  (void)state;
  th_net *t = th_new(91);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.streams_max = 256;
  c.streams_inbound_max = 160;
  c.streams_inbound_per_peer_max = 48;
  c.streams_inbound_per_protocol_max = 96;
  c.streams_inbound_per_protocol_peer_max = 32;
  c.streams_inbound_reserve_peer_max = 8;
  assert_non_null(th_add(t, &c, &mc.mem));
  for (int i = 1; i < 2 + ATTACKERS; i++)
    assert_non_null(th_add(t, NULL, NULL));
  /* the listener's application serves /sink and never reads it */
  assert_int_equal(lp2p_host_register_protocol(t->h[0], SINK), 0);
  th_listen(t, 0);
  for (int a = 2; a < 2 + ATTACKERS; a++) {
    th_connect(t, a, 0);
    for (int k = 1; k < CONNS_PER_ATTACKER; k++) {
      uint64_t d;
      assert_int_equal(lp2p_host_dial(t->h[a], th_now(t), &t->listen[0],
                                      LP2P_DIAL_FORCE, &d),
                       0);
      assert_true(th_wait_for(t, a, LP2P_HOST_EV_PEER_CONNECTED, k + 1,
                              5 * LP2P_NS_PER_S));
    }
  }
  memnet_run_for(t->net, 200 * LP2P_NS_PER_MS);
  size_t base = mc.live_bytes;

  /* the attack: idle echo streams first, then idle sink streams, on every
   * connection of every identity */
  const char *protos[2] = {ECHO, SINK};
  for (int p = 0; p < 2; p++)
    for (int a = 2; a < 2 + ATTACKERS; a++) {
      uint64_t cs[CONNS_PER_ATTACKER];
      assert_int_equal(conns_to(t, a, 0, cs, CONNS_PER_ATTACKER),
                       CONNS_PER_ATTACKER);
      for (int k = 0; k < CONNS_PER_ATTACKER; k++)
        for (int i = 0; i < TRIES_PER_CONN; i++)
          open_on(t, a, cs[k], protos[p]);
      memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
    }
  memnet_run_for(t->net, 500 * LP2P_NS_PER_MS);

  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  int held_echo = 0, held = 0;
  for (int a = 2; a < 2 + ATTACKERS; a++) {
    int e = count_proto(t, a, LP2P_HOST_EV_STREAM_OPENED, ECHO);
    int s = count_proto(t, a, LP2P_HOST_EV_STREAM_OPENED, SINK);
    assert_true(e <= 32 && s <= 32); /* protocol per peer */
    assert_true(e + s <= 48);        /* peer, over both connections */
    held_echo += e;
    held += e + s;
  }
  assert_true(held_echo <= 96); /* protocol, host-wide */
  assert_true(held <= 160);     /* host-wide inbound budget */
  assert_true(held_echo >= 64 && held >= 96); /* the attack did hold */
  assert_true(st.streams_refused_peer > 0);
  assert_true(st.streams_refused_protocol > 0);
  assert_int_equal(st.streams_refused,
                   st.streams_refused_host + st.streams_refused_peer +
                       st.streams_refused_protocol);
  size_t attack_bytes = mc.live_bytes - base;
  /* an idle stream is small: the whole attack costs little memory */
  assert_true(attack_bytes < (size_t)held * 2048);

  /* the honest peer, while the attack holds its streams */
  th_listen(t, 1);
  th_connect(t, 1, 0);
  th_honest(t, 1, 0, "idle stream flood (defect 4)");
  uint64_t es = 0;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], ECHO,
                                         &es),
                   0);
  uint8_t msg[5] = {'h', 'e', 'l', 'l', 'o'};
  assert_int_equal(lp2p_host_stream_write(t->h[1], th_now(t), es, msg, 5), 5);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_STREAM_READABLE, 1,
                          2 * LP2P_NS_PER_S));
  size_t got = 0;
  const uint8_t *in = lp2p_host_stream_read_peek(t->h[1], es, &got);
  assert_int_equal(got, 5);
  assert_memory_equal(in, msg, 5);
  assert_null(stream_ev(t, 1, es, LP2P_HOST_EV_STREAM_RESET));

  /* the attackers still hold their streams, and the listener's memory
   * after the honest peer's work (once its buffers went idle) is still
   * about what the attack cost */
  memnet_run_for(t->net, 3 * LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_idle_closed, 0);
  for (int a = 2; a < 2 + ATTACKERS; a++)
    assert_int_equal(th_count(t, a, LP2P_HOST_EV_STREAM_RESET), 0);
  assert_true(mc.live_bytes < base + attack_bytes + 1024 * 1024);
  th_free(t);
  assert_int_equal(mc.live_bytes, 0);
}

/* ---- idle timeout -------------------------------------------------------- */

static void test_idle_timeout(void **state) {
  (void)state;
  th_net *t = th_new(92);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.stream_idle_timeout_ns = 5 * LP2P_NS_PER_S;
  c.app_stream_idle_timeout_ns = 5 * LP2P_NS_PER_S;
  th_add(t, &c, NULL);
  th_add(t, NULL, NULL);
  assert_int_equal(lp2p_host_register_protocol(t->h[0], SINK), 0);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  uint64_t conn = 0;
  assert_int_equal(conns_to(t, 1, 0, &conn, 1), 1);
  /* idle and busy echo streams (a service's), idle and busy sink streams
   * (the application's) */
  uint64_t echo_idle = open_on(t, 1, conn, ECHO);
  uint64_t echo_busy = open_on(t, 1, conn, ECHO);
  uint64_t sink_idle = open_on(t, 1, conn, SINK);
  uint64_t sink_busy = open_on(t, 1, conn, SINK);
  assert_true(echo_idle && echo_busy && sink_idle && sink_busy);
  uint8_t b = 1;
  for (int i = 0; i < 8; i++) {
    assert_int_equal(
        lp2p_host_stream_write(t->h[1], th_now(t), echo_busy, &b, 1), 1);
    assert_int_equal(
        lp2p_host_stream_write(t->h[1], th_now(t), sink_busy, &b, 1), 1);
    memnet_run_for(t->net, LP2P_NS_PER_S);
    size_t n = 0;
    lp2p_host_stream_read_peek(t->h[1], echo_busy, &n);
    assert_int_equal(n, 1); /* the echo came back */
    lp2p_host_stream_read_consume(t->h[1], th_now(t), echo_busy, n);
  }
  /* the idle ones were reset by the listener after 5 s */
  const th_ev *e = stream_ev(t, 1, echo_idle, LP2P_HOST_EV_STREAM_RESET);
  assert_non_null(e);
  assert_non_null(stream_ev(t, 1, sink_idle, LP2P_HOST_EV_STREAM_RESET));
  /* the listener's application heard of its idle stream: TIMEOUT */
  int app_timeouts = 0, inbound = 0;
  for (int i = 0; i < t->nev[0]; i++) {
    const th_ev *x = &t->ev[0][i];
    inbound += x->kind == LP2P_HOST_EV_STREAM_INBOUND;
    app_timeouts += x->kind == LP2P_HOST_EV_STREAM_RESET &&
                    x->err == LP2P_ERR_TIMEOUT;
  }
  assert_int_equal(inbound, 2);
  assert_int_equal(app_timeouts, 1);
  /* the busy ones live on */
  assert_null(stream_ev(t, 1, echo_busy, LP2P_HOST_EV_STREAM_RESET));
  assert_null(stream_ev(t, 1, sink_busy, LP2P_HOST_EV_STREAM_RESET));
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_idle_closed, 2);
  /* a busy stream that falls silent is closed too */
  memnet_run_for(t->net, 6 * LP2P_NS_PER_S);
  assert_non_null(stream_ev(t, 1, echo_busy, LP2P_HOST_EV_STREAM_RESET));
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_idle_closed, 4);
  /* the client's own application streams (default 300 s) were not closed
   * by the client */
  lp2p_host_stats_get(t->h[1], &st);
  assert_int_equal(st.streams_idle_closed, 0);
  th_free(t);
}

/* ---- per-protocol and per-peer caps --------------------------------------- */

static void test_protocol_and_peer_caps(void **state) {
  (void)state;
  th_net *t = th_new(93);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.streams_inbound_per_peer_max = 12;
  th_add(t, &c, NULL);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  assert_int_equal(lp2p_host_register_protocol(t->h[0], SINK), 0);
  /* echo: 6 from all peers, 4 from one */
  assert_int_equal(lp2p_host_protocol_limits(t->h[0], ECHO, 6, 4), 0);
  assert_int_equal(lp2p_host_protocol_limits(t->h[0], "/nope/1", 6, 4),
                   LP2P_ERR_NOT_FOUND);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  th_connect(t, 2, 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  for (int i = 0; i < 10; i++) {
    uint64_t id;
    assert_int_equal(
        lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], ECHO, &id), 0);
  }
  memnet_run_for(t->net, 200 * LP2P_NS_PER_MS);
  for (int i = 0; i < 10; i++) {
    uint64_t id;
    assert_int_equal(
        lp2p_host_open_stream(t->h[2], th_now(t), &t->id[0], ECHO, &id), 0);
  }
  memnet_run_for(t->net, 200 * LP2P_NS_PER_MS);
  assert_int_equal(count_proto(t, 1, LP2P_HOST_EV_STREAM_OPENED, ECHO), 4);
  assert_int_equal(count_proto(t, 1, LP2P_HOST_EV_STREAM_OPEN_FAILED, ECHO),
                   6);
  assert_int_equal(count_proto(t, 2, LP2P_HOST_EV_STREAM_OPENED, ECHO), 2);
  assert_int_equal(count_proto(t, 2, LP2P_HOST_EV_STREAM_OPEN_FAILED, ECHO),
                   8);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_refused_protocol, 14);
  assert_int_equal(st.streams_refused_peer, 0);
  /* peer 1 holds 4 echo streams: 8 more of anything, then its cap */
  for (int i = 0; i < 20; i++) {
    uint64_t id;
    assert_int_equal(
        lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], SINK, &id), 0);
  }
  memnet_run_for(t->net, 200 * LP2P_NS_PER_MS);
  assert_int_equal(count_proto(t, 1, LP2P_HOST_EV_STREAM_OPENED, SINK), 8);
  assert_int_equal(count_proto(t, 0, LP2P_HOST_EV_STREAM_INBOUND, SINK), 8);
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_refused_peer, 12);
  assert_int_equal(st.streams_refused, 26);
  /* the other peer is not bound by peer 1's cap; ping has room */
  ping_ok(t, 2, 0);
  th_free(t);
}

/* ---- services against a peer that never reads ------------------------------ */

/* Push up to `total` bytes on stream `id` (what the window takes), for
 * `steps` rounds of 100 ms, never reading the answers. */
static size_t push(th_net *t, int from, uint64_t id, const uint8_t *p,
                   size_t n, int steps) {
  size_t sent = 0;
  for (int i = 0; i < steps; i++) {
    for (;;) {
      lp2p_ssize w = lp2p_host_stream_write(t->h[from], th_now(t), id, p, n);
      if (w <= 0)
        break;
      sent += (size_t)w;
    }
    memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  }
  return sent;
}

/* Echo and ping hold back their input when their answers cannot go out
 * (the yamux window stalls the sender), so a peer that sends and never
 * reads costs the listener at most about one receive window per stream. */
static void test_unread_answers_bounded(void **state) {
  (void)state;
  th_net *t = th_new(94);
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  th_add(t, NULL, &mc.mem);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, 200 * LP2P_NS_PER_MS);
  size_t base = mc.live_bytes;
  uint64_t echo = 0, ping = 0;
  assert_int_equal(
      lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], ECHO, &echo), 0);
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/ipfs/ping/1.0.0", &ping),
                   0);
  static uint8_t buf[64 * 1024];
  memset(buf, 0x5a, sizeof buf);
  size_t sent_echo = 0, sent_ping = 0;
  size_t peak = 0;
  for (int round = 0; round < 10; round++) {
    sent_echo += push(t, 1, echo, buf, sizeof buf, 1);
    sent_ping += push(t, 1, ping, buf, 32 * 64, 1); /* whole payloads */
    if (mc.live_bytes - base > peak)
      peak = mc.live_bytes - base;
  }
  /* the sender was stalled: no more than our window plus the listener's
   * receive window and the echoed bytes in flight went out */
  assert_true(sent_echo < 2u * 1024 * 1024);
  assert_true(sent_ping < 2u * 1024 * 1024);
  /* what stays is one receive window (256 KiB) per stream, not more: the
   * windows never grew for streams whose answers are stuck */
  size_t held = mc.live_bytes - base;
  assert_true(held < 2u * 256 * 1024 + 64u * 1024);
  /* on the way, the answers sent (one send window each) were queued for
   * output too */
  assert_true(peak < 2u * (2u * 256 * 1024) + 128u * 1024);
  /* both streams are still there (not reset), the peer never read */
  assert_null(stream_ev(t, 1, echo, LP2P_HOST_EV_STREAM_RESET));
  assert_null(stream_ev(t, 1, ping, LP2P_HOST_EV_STREAM_RESET));
  th_free(t);
  assert_int_equal(mc.live_bytes, 0);
}

/* Ping's per-peer bound (ping.streams_per_peer_max, 2) is the host's
 * per-protocol-per-peer cap: a third inbound ping stream from one peer is
 * refused and counted by reason, the first two stay open. */
static void test_ping_streams_per_peer(void **state) {
  (void)state;
  th_net *t = th_new(77);
  assert_non_null(th_add(t, NULL, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  uint64_t id[3];
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                           "/ipfs/ping/1.0.0", &id[i]),
                     0);
    uint8_t b[32] = {(uint8_t)i};
    assert_int_equal(lp2p_host_stream_write(t->h[1], th_now(t), id[i], b,
                                            sizeof b),
                     32);
  }
  memnet_run_for(t->net, LP2P_NS_PER_S);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams_refused_protocol, 1);
  assert_int_equal(st.streams_refused, 1);
  int refused = th_count(t, 1, LP2P_HOST_EV_STREAM_RESET) +
                th_count(t, 1, LP2P_HOST_EV_STREAM_OPEN_FAILED);
  assert_int_equal(refused, 1);
  /* the two admitted streams echoed their payload */
  size_t echoed = 0;
  for (int i = 0; i < 3; i++) {
    size_t len = 0;
    lp2p_host_stream_read_peek(t->h[1], id[i], &len);
    echoed += len == 32;
  }
  assert_int_equal(echoed, 2);
  th_free(t);
}

/* Our own streams to one peer are capped too (go's peer StreamsOutbound):
 * over the cap opening returns LIMIT, counted; a closed stream frees its
 * place. */
static void test_outbound_per_peer_cap(void **state) {
  (void)state;
  th_net *t = th_new(95);
  th_add(t, NULL, NULL);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.streams_outbound_per_peer_max = 3;
  th_add(t, &c, NULL);
  assert_int_equal(lp2p_host_register_protocol(t->h[0], SINK), 0);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  uint64_t ids[3];
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                           SINK, &ids[i]),
                     0);
    memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
  }
  uint64_t more = 0;
  assert_int_equal(
      lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], SINK, &more),
      LP2P_ERR_LIMIT);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[1], &st);
  assert_int_equal(st.streams_refused_outbound, 1);
  lp2p_host_stream_reset(t->h[1], th_now(t), ids[0]);
  memnet_run_for(t->net, 50 * LP2P_NS_PER_MS);
  assert_int_equal(
      lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0], SINK, &more), 0);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_stream_attack),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_protocol_and_peer_caps),
      cmocka_unit_test(test_unread_answers_bounded),
      cmocka_unit_test(test_ping_streams_per_peer),
      cmocka_unit_test(test_outbound_per_peer_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
