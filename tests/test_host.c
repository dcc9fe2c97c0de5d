/* Host pair tests over memnet: connect + identify both ways, ping, perf,
 * concurrent echo streams, half-close, reset, graceful close. */
#include "tests/test_host_util.h"

static void test_connect_identify(void **state) {
  (void)state;
  th_net *t = th_new(1);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_listen(t, 1);
  th_connect(t, 1, 0);
  /* identify runs automatically both ways */
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 1, LP2P_NS_PER_S));
  const th_ev *e0 = th_find(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 0);
  const th_ev *e1 = th_find(t, 1, LP2P_HOST_EV_IDENTIFY_DONE, 0);
  assert_int_equal(e0->err, 0);
  assert_int_equal(e1->err, 0);
  assert_true(lp2p_peerid_equal(&e0->peer, &t->id[1]));
  assert_true(lp2p_peerid_equal(&e1->peer, &t->id[0]));
  /* protocols and agent */
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], "/ipfs/ping/1.0.0"));
  assert_true(lp2p_host_peer_supports(t->h[1], &t->id[0], "/ipfs/id/1.0.0"));
  assert_true(lp2p_host_peer_supports(t->h[0], &t->id[1], "/echo/1.0.0"));
  assert_false(lp2p_host_peer_supports(t->h[0], &t->id[1], "/nope/1.0.0"));
  const char *agent = lp2p_host_peer_agent(t->h[1], &t->id[0]);
  assert_non_null(agent);
  assert_int_equal(strncmp(agent, "lp2p/", 5), 0);
  assert_string_equal(lp2p_host_peer_protocol_version(t->h[0], &t->id[1]),
                      "ipfs/0.1.0");
  /* listen addrs: host 1 learnt host 0's listen address */
  lp2p_maddr addrs[8];
  size_t n = 0;
  assert_int_equal(lp2p_host_peer_addrs(t->h[1], th_now(t), &t->id[0], addrs,
                                        8, &n),
                   0);
  lp2p_maddr want = t->listen[0];
  lp2p_maddr_strip_peer_id(&want);
  int found = 0;
  for (size_t i = 0; i < n && i < 8; i++)
    found |= lp2p_maddr_equal(&addrs[i], &want);
  assert_true(found);
  /* observed addr: what host 0 saw as host 1's address = the dialing
   * connection's local address on host 1 */
  lp2p_host_conn_info ci;
  assert_int_equal(lp2p_host_conn_info_get(t->h[1], e1->conn, &ci), 0);
  lp2p_maddr local;
  assert_int_equal(lp2p_sockaddr_to_maddr(&local, &ci.local), 0);
  assert_true(lp2p_maddr_equal(&e1->addr, &local));
  lp2p_maddr obs;
  assert_int_equal(lp2p_host_peer_observed_addr(t->h[1], &t->id[0], &obs), 0);
  assert_true(lp2p_maddr_equal(&obs, &local));
  /* the observed address is collected, not advertised */
  size_t nobs = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(t->h[1]); i++) {
    lp2p_host_addr_info ai;
    assert_int_equal(lp2p_host_addr_get(t->h[1], i, &ai), 0);
    if (ai.kind == LP2P_ADDR_OBSERVED) {
      nobs++;
      assert_int_equal(ai.status, LP2P_ADDR_UNCONFIRMED);
    }
  }
  assert_int_equal(nobs, 1);
  size_t nadv = 0;
  lp2p_host_addrs(t->h[1], addrs, 8, &nadv);
  for (size_t i = 0; i < nadv; i++)
    assert_false(lp2p_maddr_equal(&addrs[i], &local));
  /* public key from the handshake */
  lp2p_pubkey pk;
  assert_int_equal(lp2p_host_peer_pubkey(t->h[0], &t->id[1], &pk), 0);
  assert_true(lp2p_pubkey_equal(&pk, &t->key[1].pub));
  th_free(t);
}

static void test_ping(void **state) {
  (void)state;
  th_net *t = th_new(2);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(lp2p_host_ping(t->h[1], th_now(t), &t->id[0]), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PING_RESULT, 3, LP2P_NS_PER_S));
  for (int i = 0; i < 3; i++) {
    const th_ev *e = th_find(t, 1, LP2P_HOST_EV_PING_RESULT, i);
    assert_int_equal(e->err, 0);
    /* two hops of 1 ms each at least */
    assert_true(e->rtt_ns >= 2 * LP2P_NS_PER_MS);
    assert_true(e->rtt_ns < 100 * LP2P_NS_PER_MS);
    assert_true(lp2p_peerid_equal(&e->peer, &t->id[0]));
  }
  /* ping the other way too */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[1]), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_PING_RESULT, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  /* unknown peer */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[0]),
                   LP2P_ERR_NOT_FOUND);
  th_free(t);
}

/* ---- an application driving many streams -------------------------------- */

#define APP_STREAMS_MAX 64

typedef struct app_stream {
  uint64_t id;
  size_t total, sent, recvd;
  int closed_write, remote_closed, closed, reset, bad;
  uint8_t seed;
} app_stream;

typedef struct app {
  app_stream s[APP_STREAMS_MAX];
  int n;
  int host; /* the client host */
} app;

static uint8_t pat(uint8_t seed, size_t i) {
  return (uint8_t)(seed * 31u + i * 7u + (i >> 9));
}

static app_stream *app_find(app *a, uint64_t id) {
  for (int i = 0; i < a->n; i++)
    if (a->s[i].id == id)
      return &a->s[i];
  return NULL;
}

static void app_pump(th_net *t, app_stream *as) {
  lp2p_host *h = t->h[((app *)t->ud)->host];
  uint8_t buf[4096];
  while (as->sent < as->total) {
    size_t k = as->total - as->sent;
    if (k > sizeof buf)
      k = sizeof buf;
    for (size_t i = 0; i < k; i++)
      buf[i] = pat(as->seed, as->sent + i);
    lp2p_ssize w = lp2p_host_stream_write(h, th_now(t), as->id, buf, k);
    assert_true(w >= 0);
    as->sent += (size_t)w;
    if ((size_t)w < k)
      return; /* WRITABLE follows */
  }
  if (!as->closed_write) {
    as->closed_write = 1;
    assert_int_equal(lp2p_host_stream_close(h, th_now(t), as->id), 0);
  }
}

static void app_read(th_net *t, app_stream *as) {
  lp2p_host *h = t->h[((app *)t->ud)->host];
  for (;;) {
    size_t len = 0;
    const uint8_t *p = lp2p_host_stream_read_peek(h, as->id, &len);
    if (!len)
      break;
    for (size_t i = 0; i < len; i++)
      if (p[i] != pat(as->seed, as->recvd + i))
        as->bad = 1;
    as->recvd += len;
    assert_int_equal(lp2p_host_stream_read_consume(h, th_now(t), as->id, len),
                     0);
  }
}

static void app_hook(th_net *t, int host, const lp2p_host_event *ev) {
  app *a = t->ud;
  if (host != a->host)
    return;
  app_stream *as = app_find(a, ev->stream);
  if (!as)
    return;
  switch (ev->kind) {
  case LP2P_HOST_EV_STREAM_WRITABLE:
    app_pump(t, as);
    break;
  case LP2P_HOST_EV_STREAM_READABLE:
    app_read(t, as);
    break;
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
    app_read(t, as);
    as->remote_closed = 1;
    break;
  case LP2P_HOST_EV_STREAM_CLOSED:
    as->closed = 1;
    break;
  case LP2P_HOST_EV_STREAM_RESET:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
    as->reset = 1;
    break;
  default:
    break;
  }
}

static int app_all_closed(void *ud) {
  app *a = ((th_net *)ud)->ud;
  for (int i = 0; i < a->n; i++)
    if (!a->s[i].closed && !a->s[i].reset)
      return 0;
  return 1;
}

static void test_echo_50_streams(void **state) {
  (void)state;
  th_net *t = th_new(3);
  app a;
  memset(&a, 0, sizeof a);
  a.host = 1;
  t->ud = &a;
  t->hook = app_hook;
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  for (int i = 0; i < 50; i++) {
    app_stream *as = &a.s[a.n++];
    as->seed = (uint8_t)i;
    as->total = 1000 + (size_t)i * 7919; /* up to ~390 KB: beyond a window */
    assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                           "/echo/1.0.0", &as->id),
                     0);
    app_pump(t, as); /* lazy negotiation: data goes with the proposal */
  }
  int ok = memnet_run(t->net, app_all_closed, t, 30 * LP2P_NS_PER_S);
  if (!ok)
    for (int i = 0; i < a.n; i++)
      fprintf(stderr, "stream %d: total %zu sent %zu recvd %zu cw %d rc %d c %d r %d\n", i,
              a.s[i].total, a.s[i].sent, a.s[i].recvd, a.s[i].closed_write,
              a.s[i].remote_closed, a.s[i].closed, a.s[i].reset);
  assert_true(ok);
  for (int i = 0; i < a.n; i++) {
    assert_false(a.s[i].reset);
    assert_false(a.s[i].bad);
    assert_true(a.s[i].remote_closed);
    assert_int_equal(a.s[i].recvd, a.s[i].total);
  }
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_STREAM_OPENED), 50);
  /* streams are gone from both hosts */
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.streams, 0);
  lp2p_host_stats_get(t->h[1], &st);
  assert_int_equal(st.streams, 0);
  th_free(t);
}

static void test_perf(void **state) {
  (void)state;
  th_net *t = th_new(4);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  const uint64_t mib10 = 10u << 20;
  /* upload only, download only, both */
  assert_int_equal(lp2p_host_perf(t->h[1], th_now(t), &t->id[0], mib10, 0), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PERF_RESULT, 1,
                          60 * LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_perf(t->h[1], th_now(t), &t->id[0], 0, mib10), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PERF_RESULT, 2,
                          60 * LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_perf(t->h[1], th_now(t), &t->id[0], mib10, mib10),
                   0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PERF_RESULT, 3,
                          60 * LP2P_NS_PER_S));
  const uint64_t want[3][2] = {{mib10, 0}, {0, mib10}, {mib10, mib10}};
  for (int i = 0; i < 3; i++) {
    const th_ev *e = th_find(t, 1, LP2P_HOST_EV_PERF_RESULT, i);
    assert_int_equal(e->err, 0);
    assert_int_equal(e->up, want[i][0]);
    assert_int_equal(e->down, want[i][1]);
    assert_true(e->time_ns > 0);
  }
  th_free(t);
}

/* ---- half-close and reset with an application protocol ------------------- */

typedef struct rpc {
  uint64_t in_stream;       /* host 0's inbound stream */
  char got0[64], got1[64];  /* what host 0 / host 1 read */
  size_t n0, n1;
  int replied;
  int mode;                 /* 0: reply after EOF; 1: reset on INBOUND */
} rpc;

static void rpc_read(th_net *t, int host, uint64_t id, char *dst, size_t *n) {
  for (;;) {
    size_t len = 0;
    const uint8_t *p = lp2p_host_stream_read_peek(t->h[host], id, &len);
    if (!len)
      break;
    assert_true(*n + len < 64);
    memcpy(dst + *n, p, len);
    *n += len;
    assert_int_equal(
        lp2p_host_stream_read_consume(t->h[host], th_now(t), id, len), 0);
  }
}

static void rpc_hook(th_net *t, int host, const lp2p_host_event *ev) {
  rpc *r = t->ud;
  if (host == 0 && ev->kind == LP2P_HOST_EV_STREAM_INBOUND) {
    assert_string_equal(ev->u.stream.protocol, "/test/rpc/1.0.0");
    assert_true(lp2p_peerid_equal(&ev->peer, &t->id[1]));
    r->in_stream = ev->stream;
    if (r->mode == 1)
      assert_int_equal(lp2p_host_stream_reset(t->h[0], th_now(t), ev->stream),
                       0);
  }
  if (host == 0 && ev->stream == r->in_stream &&
      (ev->kind == LP2P_HOST_EV_STREAM_READABLE ||
       ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED)) {
    rpc_read(t, 0, ev->stream, r->got0, &r->n0);
    if (ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED && !r->replied) {
      /* The request side is closed; our side is still open. */
      assert_true(lp2p_host_stream_at_eof(t->h[0], ev->stream));
      r->replied = 1;
      assert_int_equal(lp2p_host_stream_write(t->h[0], th_now(t), ev->stream,
                                              (const uint8_t *)"world", 5),
                       5);
      assert_int_equal(lp2p_host_stream_close(t->h[0], th_now(t), ev->stream),
                       0);
      /* writing after our close is refused (the stream may even be gone:
       * both sides closed and everything was read) */
      lp2p_ssize w = lp2p_host_stream_write(t->h[0], th_now(t), ev->stream,
                                            (const uint8_t *)"x", 1);
      assert_true(w == LP2P_ERR_CLOSED || w == LP2P_ERR_NOT_FOUND);
    }
  }
  if (host == 1 && (ev->kind == LP2P_HOST_EV_STREAM_READABLE ||
                    ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED))
    rpc_read(t, 1, ev->stream, r->got1, &r->n1);
}

static th_net *rpc_setup(rpc *r, uint64_t seed) {
  th_net *t = th_new(seed);
  memset(r, 0, sizeof *r);
  t->ud = r;
  t->hook = rpc_hook;
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  assert_int_equal(lp2p_host_register_protocol(t->h[0], "/test/rpc/1.0.0"), 0);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  return t;
}

static void test_half_close(void **state) {
  (void)state;
  rpc r;
  th_net *t = rpc_setup(&r, 5);
  uint64_t id;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/test/rpc/1.0.0", &id),
                   0);
  assert_int_equal(
      lp2p_host_stream_write(t->h[1], th_now(t), id, (const uint8_t *)"hello", 5),
      5);
  assert_int_equal(lp2p_host_stream_close(t->h[1], th_now(t), id), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_STREAM_CLOSED, 1, LP2P_NS_PER_S));
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_CLOSED, 1, LP2P_NS_PER_S));
  assert_int_equal(r.n0, 5);
  assert_memory_equal(r.got0, "hello", 5);
  assert_int_equal(r.n1, 5);
  assert_memory_equal(r.got1, "world", 5);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_STREAM_OPENED), 1);
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_STREAM_REMOTE_CLOSED), 1);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_REMOTE_CLOSED), 1);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_RESET), 0);
  /* the ids are dead now; the ended stream still reads as at EOF */
  assert_true(lp2p_host_stream_at_eof(t->h[1], id));
  assert_false(lp2p_host_stream_at_eof(t->h[1], id + 1));
  assert_int_equal(lp2p_host_stream_write(t->h[1], th_now(t), id,
                                          (const uint8_t *)"x", 1),
                   LP2P_ERR_NOT_FOUND);
  th_free(t);
}

static void test_reset(void **state) {
  (void)state;
  rpc r;
  th_net *t = rpc_setup(&r, 6);
  /* the opener resets */
  uint64_t id;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/test/rpc/1.0.0", &id),
                   0);
  assert_int_equal(
      lp2p_host_stream_write(t->h[1], th_now(t), id, (const uint8_t *)"abc", 3),
      3);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_INBOUND, 1, LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_stream_reset(t->h[1], th_now(t), id), 0);
  assert_int_equal(lp2p_host_stream_reset(t->h[1], th_now(t), id),
                   LP2P_ERR_NOT_FOUND);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_RESET, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_STREAM_RESET, 0)->err,
                   LP2P_ERR_RESET);
  /* no events for a stream we reset ourselves */
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_STREAM_RESET), 0);
  /* the listener resets */
  r.mode = 1;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/test/rpc/1.0.0", &id),
                   0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_STREAM_RESET, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_STREAM_RESET, 0)->stream, id);
  /* an unsupported protocol fails the open */
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/not/here/1.0.0", &id),
                   0);
  assert_true(
      th_wait_for(t, 1, LP2P_HOST_EV_STREAM_OPEN_FAILED, 1, LP2P_NS_PER_S));
  const th_ev *f = th_find(t, 1, LP2P_HOST_EV_STREAM_OPEN_FAILED, 0);
  assert_int_equal(f->stream, id);
  assert_int_equal(f->err, LP2P_ERR_UNSUPPORTED);
  /* the connection is fine after all that */
  assert_int_equal(lp2p_host_ping(t->h[1], th_now(t), &t->id[0]), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_PING_RESULT, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_PING_RESULT, 0)->err, 0);
  th_free(t);
}

/* Write, close, then reset at once: the data, the FIN and the RST reach
 * the listener in one read. The RST drops the unread bytes, so the listener
 * must see the stream reset, never a clean end (REMOTE_CLOSED) after a part
 * of the data (the swarm simulation saw "closed after 131072 of 137256"). */
static void test_reset_after_close(void **state) {
  (void)state;
  rpc r;
  th_net *t = rpc_setup(&r, 8);
  uint64_t id;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/test/rpc/1.0.0", &id),
                   0);
  assert_int_equal(
      lp2p_host_stream_write(t->h[1], th_now(t), id, (const uint8_t *)"ab", 2),
      2);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_INBOUND, 1, LP2P_NS_PER_S));
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  assert_int_equal(r.n0, 2);
  assert_int_equal(lp2p_host_stream_write(t->h[1], th_now(t), id,
                                          (const uint8_t *)"cdefgh", 6),
                   6);
  assert_int_equal(lp2p_host_stream_close(t->h[1], th_now(t), id), 0);
  assert_int_equal(lp2p_host_stream_reset(t->h[1], th_now(t), id), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_RESET, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_STREAM_RESET, 0)->stream,
                   r.in_stream);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_REMOTE_CLOSED), 0);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_CLOSED), 0);
  assert_false(r.replied);
  assert_false(lp2p_host_stream_at_eof(t->h[0], r.in_stream));
  th_free(t);
}

/* The FIN and the RST come in separate reads, while the application has
 * not polled yet: the host queued REMOTE_CLOSED with bytes still unread,
 * then the RST dropped them. The queued clean end must not be delivered
 * (the swarm simulation saw "closed after 163840 of 164353" and then a
 * RESET): the listener sees the stream reset, never REMOTE_CLOSED. */
static void test_reset_after_eof_queued(void **state) {
  (void)state;
  rpc r;
  th_net *t = rpc_setup(&r, 9);
  uint64_t id;
  assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                         "/test/rpc/1.0.0", &id),
                   0);
  assert_int_equal(
      lp2p_host_stream_write(t->h[1], th_now(t), id, (const uint8_t *)"ab", 2),
      2);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_INBOUND, 1, LP2P_NS_PER_S));
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  assert_int_equal(r.n0, 2);
  /* the listener's application stops polling: data and FIN arrive */
  memnet_hold_events(t->net, 0, 1);
  assert_int_equal(lp2p_host_stream_write(t->h[1], th_now(t), id,
                                          (const uint8_t *)"cdefgh", 6),
                   6);
  assert_int_equal(lp2p_host_stream_close(t->h[1], th_now(t), id), 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  assert_false(lp2p_host_stream_at_eof(t->h[0], r.in_stream)); /* unread */
  /* then the RST, in a later read, drops the 6 unread bytes */
  assert_int_equal(lp2p_host_stream_reset(t->h[1], th_now(t), id), 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  memnet_hold_events(t->net, 0, 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_RESET, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 0, LP2P_HOST_EV_STREAM_RESET, 0)->stream,
                   r.in_stream);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_REMOTE_CLOSED), 0);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_STREAM_CLOSED), 0);
  assert_int_equal(r.n0, 2);
  assert_false(r.replied);
  assert_false(lp2p_host_stream_at_eof(t->h[0], r.in_stream));
  th_free(t);
}

static int all_pipes_closed(void *ud) {
  th_net *t = ud;
  return memnet_pipes_open(t->net) == 0 &&
         th_count(t, 0, LP2P_HOST_EV_CLOSED) == 1;
}

static void test_graceful_close(void **state) {
  (void)state;
  th_net *t = th_new(7);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_add(t, NULL, NULL);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  th_connect(t, 2, 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_IDENTIFY_DONE, 2, LP2P_NS_PER_S));
  assert_int_equal(lp2p_host_close(t->h[0], th_now(t)), 0);
  /* new commands are refused while closing */
  assert_int_equal(lp2p_host_ping(t->h[0], th_now(t), &t->id[1]),
                   LP2P_ERR_STATE);
  assert_true(memnet_run(t->net, all_pipes_closed, t, 10 * LP2P_NS_PER_S));
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED), 2);
  for (int i = 1; i <= 2; i++) {
    assert_int_equal(th_count(t, i, LP2P_HOST_EV_PEER_DISCONNECTED), 1);
    assert_int_equal(th_find(t, i, LP2P_HOST_EV_PEER_DISCONNECTED, 0)->err, 0);
    assert_int_equal(th_find(t, 0, LP2P_HOST_EV_PEER_DISCONNECTED, i - 1)->err,
                     0);
    lp2p_host_stats st;
    lp2p_host_stats_get(t->h[i], &st);
    assert_int_equal(st.conns, 0);
  }
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.conns, 0);
  assert_int_equal(st.streams, 0);
  /* a closed host no longer accepts: dialing it is refused */
  uint64_t d;
  assert_int_equal(lp2p_host_dial(t->h[1], th_now(t), &t->listen[0], 0, &d), 0);
  assert_true(th_wait_for(t, 1, LP2P_HOST_EV_DIAL_FAILED, 1, LP2P_NS_PER_S));
  assert_int_equal(th_find(t, 1, LP2P_HOST_EV_DIAL_FAILED, 0)->err,
                   LP2P_ERR_REFUSED);
  th_free(t);
}

/* An application that stops polling events: the host stops reading its
 * connections instead of growing or dropping its queue; once events are
 * polled again everything flows. */
static void test_event_backpressure(void **state) {
  (void)state;
  th_net *t = th_new(8);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.event_queue_max = 16;
  th_add(t, &c, NULL);
  th_add(t, NULL, NULL);
  assert_int_equal(lp2p_host_register_protocol(t->h[0], "/sink/1.0.0"), 0);
  th_listen(t, 0);
  th_connect(t, 1, 0);
  memnet_run_for(t->net, 100 * LP2P_NS_PER_MS);
  memnet_hold_events(t->net, 0, 1);
  for (int i = 0; i < 40; i++) {
    uint64_t id;
    assert_int_equal(lp2p_host_open_stream(t->h[1], th_now(t), &t->id[0],
                                           "/sink/1.0.0", &id),
                     0);
    assert_int_equal(
        lp2p_host_stream_write(t->h[1], th_now(t), id, (const uint8_t *)"x", 1),
        1);
  }
  memnet_run_for(t->net, LP2P_NS_PER_S);
  /* reading stopped: host 0 holds at most its queue bound */
  lp2p_host_stats st;
  lp2p_host_stats_get(t->h[0], &st);
  assert_true(st.streams < 40);
  assert_int_equal(st.events_lost, 0);
  int before = th_count(t, 0, LP2P_HOST_EV_STREAM_INBOUND);
  memnet_hold_events(t->net, 0, 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_STREAM_INBOUND, before + 40,
                          2 * LP2P_NS_PER_S));
  lp2p_host_stats_get(t->h[0], &st);
  assert_int_equal(st.events_lost, 0);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_EVENTS_LOST), 0);
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_identify),
      cmocka_unit_test(test_ping),
      cmocka_unit_test(test_echo_50_streams),
      cmocka_unit_test(test_perf),
      cmocka_unit_test(test_half_close),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_reset_after_close),
      cmocka_unit_test(test_reset_after_eof_queued),
      cmocka_unit_test(test_graceful_close),
      cmocka_unit_test(test_event_backpressure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
