/* Resource manager, memory scopes (proto/host/host_rm.c; issue 9 defect
 * 3: "each yamux session may buffer 64 MiB with no host-wide cap; the echo
 * and ping servers keep unread input buffered when the peer never reads its
 * answers"). An attacker opens connections full of echo streams, writes as
 * fast as the windows allow and never reads a byte of the answers. The
 * listener's accounted memory (its whole heap, counted) stays within its
 * configured budget plus the fixed per-connection structures, while an
 * honest peer connects, pings and moves 10 MiB with perf. */
#include "proto/host/host_internal.h"
#include "tests/test_host_util.h"

#define A 0 /* the listener under attack */
#define B 1 /* the attacker */
#define C 2 /* an honest peer */

#define ATTACK_CONNS 4
#define ATTACK_STREAMS 32
#define BUDGET (UINT64_C(8) << 20)

#define PER_STREAM (UINT64_C(256) << 10)

typedef struct attack {
  uint64_t ids[ATTACK_CONNS * ATTACK_STREAMS];
  uint64_t sent[ATTACK_CONNS * ATTACK_STREAMS];
  int n;
  uint64_t written;
} attack;

static attack *g_at;
static uint8_t g_junk[16384];

/* The attacker writes whenever there is room (up to PER_STREAM a stream,
 * 32 MiB in all: memnet has no bandwidth limit) and reads nothing. */
static void push(th_net *t, uint64_t id) {
  int i = 0;
  while (i < g_at->n && g_at->ids[i] != id)
    i++;
  if (i == g_at->n)
    return;
  while (g_at->sent[i] < PER_STREAM) {
    lp2p_ssize w = lp2p_host_stream_write(t->h[B], th_now(t), id, g_junk,
                                          sizeof g_junk);
    if (w <= 0)
      return;
    g_at->sent[i] += (uint64_t)w;
    g_at->written += (uint64_t)w;
  }
}

static void hook(th_net *t, int host, const lp2p_host_event *ev) {
  if (host == B && (ev->kind == LP2P_HOST_EV_STREAM_WRITABLE ||
                    ev->kind == LP2P_HOST_EV_STREAM_OPENED))
    push(t, ev->stream);
}

/* The flood on `proto`, `streams` per connection; `slow`: the listener's
 * application registered `proto` and never reads (the yamux windows are
 * the spec's, so only the memory grants bound what it holds). */
static void flood(const char *proto, int streams, int slow) {
  th_net *t = th_new(91);
  attack at;
  memset(&at, 0, sizeof at);
  g_at = &at;
  t->hook = hook;
  lp2p_mem_counting mc;
  lp2p_mem_counting_init(&mc, NULL);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.memory_max = BUDGET;
  cfg.memory_per_peer_max = BUDGET / 2;
  cfg.memory_per_conn_max = UINT64_C(2) << 20;
  assert_non_null(th_add(t, &cfg, &mc.mem));
  lp2p_host_config bcfg;
  lp2p_host_config_default(&bcfg);
  bcfg.conns_per_peer_max = ATTACK_CONNS + 1;
  assert_non_null(th_add(t, &bcfg, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  if (slow)
    assert_int_equal(lp2p_host_register_protocol(t->h[A], proto), 0);
  th_listen(t, A);
  for (int i = 0; i < ATTACK_CONNS; i++) {
    uint64_t d;
    assert_int_equal(lp2p_host_dial(t->h[B], th_now(t), &t->listen[A],
                                    LP2P_DIAL_FORCE, &d),
                     0);
  }
  assert_true(th_wait_for(t, B, LP2P_HOST_EV_PEER_CONNECTED, ATTACK_CONNS,
                          10 * LP2P_NS_PER_S));
  /* streams on every connection of the attacker */
  for (int i = 0; i < t->nev[B]; i++) {
    const th_ev *e = &t->ev[B][i];
    if (e->kind != LP2P_HOST_EV_PEER_CONNECTED)
      continue;
    for (int s = 0; s < streams; s++) {
      uint64_t id = 0;
      assert_int_equal(lp2p_host_open_stream_on(t->h[B], th_now(t), e->conn,
                                                proto, &id),
                       0);
      at.ids[at.n++] = id;
      push(t, id);
    }
  }
  memnet_run_for(t->net, 3 * LP2P_NS_PER_S);
  /* the attacker got its data in: the flood is real */
  assert_true(at.written > (UINT64_C(4) << 20));
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[A], &st);
  /* every connection so far is the attacker's: its peer scope caps their
   * growth together, on top of their bases (for the slow application the
   * spec's windows alone would have let it park 16 MiB here) */
  assert_true(st.memory_used <=
              BUDGET / 2 + ATTACK_CONNS * cfg.memory_per_conn_base);

  /* an honest peer is served during the attack */
  th_connect(t, C, A);
  th_honest(t, C, A, slow ? "unread application flood (defect 3)"
                          : "echo flood, answers never read (defect 3)");
  memnet_run_for(t->net, LP2P_NS_PER_S);

  /* Memory stayed within the budget throughout: the whole heap of the
   * listener, peak included, is the granted buffers plus the fixed
   * structures of its connections and streams (a few KiB each) and the
   * Noise frames in flight per connection. */
  uint64_t fixed = (ATTACK_CONNS + 2) * (UINT64_C(160) << 10) +
                   ATTACK_CONNS * ATTACK_STREAMS * UINT64_C(1024);
  assert_true(mc.peak_bytes <= BUDGET + fixed);
  lp2p_host_stats_get(t->h[A], &st);
  assert_true(st.memory_used <= BUDGET);
  th_free(t);
  assert_int_equal(mc.live_bytes, 0);
}

static void test_echo_flood_within_budget(void **state) {
  (void)state;
  flood("/echo/1.0.0", ATTACK_STREAMS, 0);
}

/* 4 connections x 16 streams (the per-protocol-per-peer cap is 64) of an
 * application that does not read: 16 MiB of spec windows, 4 MiB of
 * grants for the peer. */
static void test_slow_app_flood_within_budget(void **state) {
  (void)state;
  flood("/slow/1.0.0", 16, 1);
}

/* Grants follow use: a busy connection grows to its cap, an idle one goes
 * back to the base; no connection is granted more than its cap, no peer
 * more than its own. */
static void test_grants_follow_use(void **state) {
  (void)state;
  th_net *t = th_new(92);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  assert_non_null(th_add(t, &cfg, NULL));
  assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, A);
  th_connect(t, B, A);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[A], &st);
  assert_int_equal(st.memory_used, cfg.memory_per_conn_base);
  /* the system scope counts the connection, its socket and its streams */
  assert_int_equal(st.conns_inbound, 1);
  assert_int_equal(st.conns_outbound, 0);
  assert_int_equal(st.fds, 1);
  assert_int_equal(st.streams_inbound + st.streams_outbound, st.streams);
  assert_int_equal(lp2p_host_perf(t->h[B], th_now(t), &t->id[A], 32u << 20,
                                  0),
                   0);
  uint64_t peak = 0;
  for (int i = 0; i < 200 && th_count(t, B, LP2P_HOST_EV_PERF_RESULT) == 0;
       i++) {
    memnet_run_for(t->net, 10 * LP2P_NS_PER_MS);
    lp2p_host_stats_get(t->h[A], &st);
    if (st.memory_used > peak)
      peak = st.memory_used;
  }
  assert_int_equal(th_find(t, B, LP2P_HOST_EV_PERF_RESULT, 0)->err, 0);
  assert_true(peak > cfg.memory_per_conn_base);
  assert_true(peak <= cfg.memory_per_conn_max);
  memnet_run_for(t->net, LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[A], &st);
  assert_int_equal(st.memory_used, cfg.memory_per_conn_base);
  /* gone: every count back to zero */
  lp2p_host_close_peer(t->h[B], th_now(t), &t->id[A]);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  lp2p_host_stats_get(t->h[A], &st);
  assert_int_equal(st.memory_used, 0);
  assert_int_equal(st.conns_inbound + st.fds + st.streams_inbound +
                       st.streams_outbound,
                   0);
  th_free(t);
}

/* No base grant left: the connection is refused, counted, and the ones
 * already open keep working. */
static void test_refused_without_base(void **state) {
  (void)state;
  th_net *t = th_new(93);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.memory_max = 2 * cfg.memory_per_conn_base;
  cfg.memory_per_peer_max = cfg.memory_max;
  cfg.memory_per_conn_max = cfg.memory_per_conn_base;
  assert_non_null(th_add(t, &cfg, NULL));
  for (int i = 0; i < 3; i++)
    assert_non_null(th_add(t, NULL, NULL));
  th_listen(t, A);
  th_connect(t, 1, A);
  th_connect(t, 2, A);
  uint64_t d;
  assert_int_equal(
      lp2p_host_dial(t->h[3], th_now(t), &t->listen[A], 0, &d), 0);
  memnet_run_for(t->net, 2 * LP2P_NS_PER_S);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[A], &st);
  assert_int_equal(st.conns_refused_memory, 1);
  assert_true(st.memory_used <= cfg.memory_max);
  assert_int_equal(lp2p_host_ping(t->h[1], th_now(t), &t->id[A]), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PING_RESULT, 1,
                          5 * LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_flood_within_budget),
      cmocka_unit_test(test_slow_app_flood_within_budget),
      cmocka_unit_test(test_grants_follow_use),
      cmocka_unit_test(test_refused_without_base),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
