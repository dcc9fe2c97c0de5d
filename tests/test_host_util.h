/* Shared helpers for the host tests: deterministic keys, host creation,
 * an event log per host fed by memnet, and waiting helpers. Header-only
 * (static functions) so every test_host*.c stays one translation unit. */
#ifndef LP2P_TEST_HOST_UTIL_H
#define LP2P_TEST_HOST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/host.h"
#include "tests/lib/memnet.h"

#define TH_MAX 24
#define TH_EVENTS_MAX 8192

typedef struct th_ev {
  lp2p_host_event_kind kind;
  int err;
  int dir;
  uint64_t conn, stream, dial, listener;
  lp2p_peerid peer;
  char protocol[64];
  uint64_t rtt_ns, up, down, time_ns;
  lp2p_maddr addr;
} th_ev;

typedef struct th_net {
  memnet *net;
  lp2p_host *h[TH_MAX];
  lp2p_rng_chacha rs[TH_MAX];
  lp2p_rng rng[TH_MAX];
  lp2p_privkey key[TH_MAX];
  lp2p_peerid id[TH_MAX];
  lp2p_maddr listen[TH_MAX]; /* LISTENING address with /p2p */
  int n;
  th_ev *ev[TH_MAX];
  int nev[TH_MAX];
  /* optional per-event hook (e.g. a test application) */
  void (*hook)(struct th_net *t, int host, const lp2p_host_event *ev);
  void *ud;
} th_net;

static inline void th_on_event(void *ud, int host, const lp2p_host_event *ev) {
  th_net *t = ud;
  if (t->nev[host] < TH_EVENTS_MAX) {
    th_ev *e = &t->ev[host][t->nev[host]++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    e->err = ev->err;
    e->dir = lp2p_host_event_direction(ev);
    e->conn = ev->conn;
    e->stream = ev->stream;
    e->peer = ev->peer;
    switch (ev->kind) {
    case LP2P_HOST_EV_DIAL_DONE:
    case LP2P_HOST_EV_DIAL_FAILED:
      e->dial = ev->u.dial.id;
      break;
    case LP2P_HOST_EV_LISTENING:
    case LP2P_HOST_EV_LISTEN_FAILED:
      e->listener = ev->u.listen.listener;
      lp2p_host_listener_addr(t->h[host], e->listener, &e->addr);
      break;
    case LP2P_HOST_EV_IDENTIFY_DONE:
      lp2p_host_peer_observed_addr(t->h[host], &ev->peer, &e->addr);
      break;
    case LP2P_HOST_EV_PING_RESULT:
      e->rtt_ns = ev->u.ping.rtt_ns;
      break;
    case LP2P_HOST_EV_PERF_RESULT:
      e->up = ev->u.perf.upload_bytes;
      e->down = ev->u.perf.download_bytes;
      e->time_ns = ev->u.perf.time_ns;
      break;
    default:
      if (ev->kind >= LP2P_HOST_EV_STREAM_OPENED &&
          ev->kind <= LP2P_HOST_EV_STREAM_RESET && ev->u.stream.protocol)
        snprintf(e->protocol, sizeof e->protocol, "%s",
                 ev->u.stream.protocol);
      break;
    }
  }
  if (ev->kind == LP2P_HOST_EV_LISTENING) {
    lp2p_maddr m, p2p;
    assert_int_equal(
        lp2p_host_listener_addr(t->h[host], ev->u.listen.listener, &m), 0);
    char txt[160];
    char id[LP2P_PEERID_TEXT_MAX];
    size_t n = 0;
    assert_int_equal(lp2p_peerid_to_base58(&t->id[host], id, sizeof id, &n), 0);
    snprintf(txt, sizeof txt, "/p2p/%s", id);
    assert_int_equal(lp2p_maddr_parse(&p2p, txt, strlen(txt)), 0);
    assert_int_equal(lp2p_maddr_encapsulate(&m, &p2p), 0);
    t->listen[host] = m;
  }
  if (t->hook)
    t->hook(t, host, ev);
}

static inline void th_config(lp2p_host_config *c, const lp2p_privkey *k) {
  lp2p_host_config_default(c);
  c->identity = k;
}

/* Create host i with an optional config tweak and allocator. */
static inline lp2p_host *th_add(th_net *t, const lp2p_host_config *cfg_in,
                         const lp2p_mem *mem) {
  int i = t->n++;
  lp2p_rng kr;
  lp2p_rng_chacha ks;
  lp2p_rng_chacha_init(&ks, 0x686f7374u, (uint64_t)i, &kr);
  assert_int_equal(lp2p_key_generate(&t->key[i], LP2P_KEY_ED25519, 0, &kr),
                   0);
  assert_int_equal(lp2p_peerid_from_pubkey(&t->id[i], &t->key[i].pub), 0);
  lp2p_rng_chacha_init(&t->rs[i], 0x72756e00u, (uint64_t)i, &t->rng[i]);
  lp2p_host_config cfg;
  if (cfg_in)
    cfg = *cfg_in;
  else
    lp2p_host_config_default(&cfg);
  cfg.identity = &t->key[i];
  int rc = lp2p_host_new(&t->h[i], &cfg, mem, &t->rng[i],
                         memnet_now(t->net));
  if (rc != 0)
    return NULL;
  int k = memnet_add(t->net, t->h[i]);
  assert_int_equal(k, i);
  t->ev[i] = calloc(TH_EVENTS_MAX, sizeof(th_ev));
  return t->h[i];
}

static inline th_net *th_new(uint64_t seed) {
  th_net *t = calloc(1, sizeof *t);
  t->net = memnet_new(seed);
  memnet_on_event(t->net, th_on_event, t);
  return t;
}

static inline void th_free(th_net *t) {
  for (int i = 0; i < t->n; i++) {
    lp2p_host_free(t->h[i]);
    free(t->ev[i]);
  }
  memnet_free(t->net);
  free(t);
}

static inline int th_count(const th_net *t, int host, lp2p_host_event_kind k) {
  int c = 0;
  for (int i = 0; i < t->nev[host]; i++)
    if (t->ev[host][i].kind == k)
      c++;
  return c;
}

static inline const th_ev *th_find(const th_net *t, int host, lp2p_host_event_kind k,
                            int nth) {
  for (int i = 0; i < t->nev[host]; i++)
    if (t->ev[host][i].kind == k && nth-- == 0)
      return &t->ev[host][i];
  return NULL;
}

/* Wait until host `host` has seen `count` events of kind k. */
typedef struct th_wait {
  th_net *t;
  int host;
  lp2p_host_event_kind k;
  int count;
} th_wait;

static inline int th_wait_stop(void *ud) {
  th_wait *w = ud;
  return th_count(w->t, w->host, w->k) >= w->count;
}

static inline int th_wait_for(th_net *t, int host, lp2p_host_event_kind k, int count,
                       uint64_t max_ns) {
  th_wait w = {t, host, k, count};
  if (th_wait_stop(&w))
    return 1;
  return memnet_run(t->net, th_wait_stop, &w, max_ns);
}

static inline lp2p_tstamp th_now(th_net *t) { return memnet_now(t->net); }

/* Listen on 10.0.0.x port 0 and wait for LISTENING. */
static inline void th_listen(th_net *t, int i) {
  lp2p_maddr m;
  const char *txt = "/ip4/0.0.0.0/tcp/0";
  assert_int_equal(lp2p_maddr_parse(&m, txt, strlen(txt)), 0);
  lp2p_sockaddr sa;
  memnet_addr(t->net, i, 0, &sa);
  assert_int_equal(lp2p_sockaddr_to_maddr(&m, &sa), 0);
  assert_int_equal(lp2p_host_listen(t->h[i], &m, NULL), 0);
  assert_true(th_wait_for(t, i, LP2P_HOST_EV_LISTENING, 1, LP2P_NS_PER_S));
}

/* Dial host `to`'s listen address (with /p2p) from `from`; wait for both
 * PEER_CONNECTED. Returns the dial id. */
static inline uint64_t th_connect(th_net *t, int from, int to) {
  uint64_t dial = 0;
  int before_from = th_count(t, from, LP2P_HOST_EV_PEER_CONNECTED);
  int before_to = th_count(t, to, LP2P_HOST_EV_PEER_CONNECTED);
  assert_int_equal(lp2p_host_dial(t->h[from], th_now(t), &t->listen[to], 0,
                                  &dial),
                   0);
  assert_true(th_wait_for(t, from, LP2P_HOST_EV_PEER_CONNECTED,
                          before_from + 1, 5 * LP2P_NS_PER_S));
  assert_true(th_wait_for(t, to, LP2P_HOST_EV_PEER_CONNECTED, before_to + 1,
                          5 * LP2P_NS_PER_S));
  return dial;
}

/* Issue 9's yardstick: the honest peer `from` (connected to `to`) pings 10
 * times and runs a 10 MiB perf each way while an attack holds; the counts
 * are printed ("honest during WHAT: ...") and must be 10/10 and 1/1.
 * `wait` runs the network until `count` events of kind k arrived on
 * `host` (th_honest: plain; an attack may keep flooding meanwhile). */
typedef int (*th_wait_fn)(void *ud, int host, lp2p_host_event_kind k,
                          int count, uint64_t max_ns);
static inline void th_honest_with(th_net *t, int from, int to,
                                  const char *what, th_wait_fn wait,
                                  void *ud) {
  int pings_ok = 0;
  for (int i = 0; i < 10; i++) {
    int before = th_count(t, from, LP2P_HOST_EV_PING_RESULT);
    if (lp2p_host_ping(t->h[from], th_now(t), &t->id[to]) == 0 &&
        wait(ud, from, LP2P_HOST_EV_PING_RESULT, before + 1,
             2 * LP2P_NS_PER_S) &&
        th_find(t, from, LP2P_HOST_EV_PING_RESULT, before)->err == 0)
      pings_ok++;
  }
  const uint64_t mib10 = 10u << 20;
  int perfs = th_count(t, from, LP2P_HOST_EV_PERF_RESULT);
  int perf_ok = 0;
  if (lp2p_host_perf(t->h[from], th_now(t), &t->id[to], mib10, mib10) == 0 &&
      wait(ud, from, LP2P_HOST_EV_PERF_RESULT, perfs + 1,
           60 * LP2P_NS_PER_S)) {
    const th_ev *e = th_find(t, from, LP2P_HOST_EV_PERF_RESULT, perfs);
    perf_ok = e->err == 0 && e->up == mib10 && e->down == mib10;
  }
  printf("honest during %s: pings %d/10, 10 MiB perf %d/1\n", what, pings_ok,
         perf_ok);
  assert_int_equal(pings_ok, 10);
  assert_true(perf_ok);
}

static inline int th_wait_plain(void *ud, int host, lp2p_host_event_kind k,
                                int count, uint64_t max_ns) {
  return th_wait_for((th_net *)ud, host, k, count, max_ns);
}

static inline void th_honest(th_net *t, int from, int to, const char *what) {
  th_honest_with(t, from, to, what, th_wait_plain, t);
}

#endif
