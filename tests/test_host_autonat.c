/* The AutoNAT v2 service on memnet hosts (10.0.0.x, so servers run with
 * allow_private and clients with an is-public predicate that accepts
 * everything): an explicit ask confirms our listen address through a
 * dial-back on a separate connection; another peer's address is
 * unreachable (the dial-back carries our id); a private address is
 * refused; the per-peer rate limit rejects; a server that answers OK
 * without our nonce, or dials back with a wrong nonce, is discarded; the
 * automatic client confirms a listen address (REACHABILITY public, the
 * verdict in the address manager with a time) and, with three servers,
 * refutes an unreachable announced one (REACHABILITY private), which
 * turns on AutoRelay in its PRIVATE mode (a reservation follows); a port
 * mapping is advertised only once AutoNAT confirmed it, stays back when
 * unreachable or unverified, is withdrawn when lost, and is advertised on
 * the gateway's word when the AutoNAT client is off. */
#include "proto/host/host_internal.h"
#include "tests/test_host_util.h"

#define S LP2P_NS_PER_S

typedef struct an_log {
  int results;
  lp2p_host_event last[TH_MAX];
  int reach[TH_MAX]; /* last REACHABILITY value per host, -1 none */
  int nreach[TH_MAX];
  int resv_at_private[TH_MAX]; /* RELAY_RESERVED events before PRIVATE */
} an_log;

static an_log LOG;

static void hook(th_net *t, int host, const lp2p_host_event *ev) {
  if (ev->kind == LP2P_HOST_EV_AUTONAT_RESULT) {
    LOG.results++;
    LOG.last[host] = *ev;
  } else if (ev->kind == LP2P_HOST_EV_REACHABILITY) {
    if (ev->u.reachability.value == LP2P_REACHABILITY_PRIVATE)
      LOG.resv_at_private[host] =
          th_count(t, host, LP2P_HOST_EV_RELAY_RESERVED);
    LOG.reach[host] = ev->u.reachability.value;
    LOG.nreach[host]++;
  }
}

static int everything_public(void *ud, int family, const uint8_t *ip) {
  (void)ud;
  (void)family;
  (void)ip;
  return 1;
}

static th_net *net(void) {
  memset(&LOG, 0, sizeof LOG);
  for (int i = 0; i < TH_MAX; i++)
    LOG.reach[i] = -1;
  th_net *t = th_new(0xa070a7);
  t->hook = hook;
  return t;
}

static lp2p_host *add_server(th_net *t, int allow_private) {
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.server = 1;
  c.autonat.client = 0;
  c.autonat.s.allow_private = allow_private;
  return th_add(t, &c, NULL);
}

static lp2p_host *add_client(th_net *t, int automatic) {
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.client = automatic;
  c.autonat.is_public = everything_public;
  return th_add(t, &c, NULL);
}

/* The listen address of host i without /p2p. */
static lp2p_maddr bare(th_net *t, int i) {
  lp2p_maddr m = t->listen[i];
  lp2p_maddr_strip_peer_id(&m);
  return m;
}

static const lp2p_host_event *ask(th_net *t, int from, int server,
                                  const lp2p_maddr *a) {
  uint64_t id = 0;
  int before = th_count(t, from, LP2P_HOST_EV_AUTONAT_RESULT);
  assert_int_equal(
      lp2p_host_autonat_ask(t->h[from], th_now(t), &t->id[server], a, 1, &id),
      0);
  assert_true(id != 0);
  assert_true(
      th_wait_for(t, from, LP2P_HOST_EV_AUTONAT_RESULT, before + 1, 40 * S));
  assert_true(LOG.last[from].u.autonat.id == id);
  return &LOG.last[from];
}

static void test_ask_reachable_separate_conn(void **state) {
  (void)state;
  th_net *t = net();
  add_client(t, 0); /* 0 */
  add_server(t, 1); /* 1 */
  th_listen(t, 0);
  th_listen(t, 1);
  th_connect(t, 0, 1);
  int inbound_before = th_count(t, 0, LP2P_HOST_EV_PEER_CONNECTED);
  lp2p_maddr a = bare(t, 0);
  const lp2p_host_event *e = ask(t, 0, 1, &a);
  assert_int_equal(e->err, 0);
  assert_int_equal(e->u.autonat.status, LP2P_AUTONAT_RESP_OK);
  assert_int_equal(e->u.autonat.dial_status, LP2P_AUTONAT_DIAL_OK);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_REACHABLE);
  /* the dial-back came on a new, inbound connection from the server */
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_PEER_CONNECTED),
                   inbound_before + 1);
  const th_ev *c = th_find(t, 0, LP2P_HOST_EV_PEER_CONNECTED, inbound_before);
  assert_int_equal(c->dir, LP2P_DIR_INBOUND);
  assert_true(lp2p_peerid_equal(&c->peer, &t->id[1]));
  /* the server got no DIAL_DONE for its own dial (it is the service's) */
  assert_int_equal(th_count(t, 1, LP2P_HOST_EV_DIAL_DONE), 0);
  /* ... and closed the dial-back connection again */
  memnet_run_for(t->net, 2 * S);
  assert_int_equal(lp2p_host_peer_conn_count(t->h[0], &t->id[1]), 1);
  th_free(t);
}

static void test_ask_other_peer_unreachable(void **state) {
  (void)state;
  th_net *t = net();
  add_client(t, 0);
  add_server(t, 1);
  add_client(t, 0); /* 2: another process */
  th_listen(t, 0);
  th_listen(t, 1);
  th_listen(t, 2);
  th_connect(t, 0, 1);
  lp2p_maddr other = bare(t, 2);
  const lp2p_host_event *e = ask(t, 0, 1, &other);
  assert_int_equal(e->u.autonat.status, LP2P_AUTONAT_RESP_OK);
  assert_int_equal(e->u.autonat.dial_status, LP2P_AUTONAT_DIAL_ERROR);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_UNREACHABLE);
  /* a port nobody listens on */
  lp2p_maddr dead;
  lp2p_sockaddr sa;
  memnet_addr(t->net, 0, 9, &sa);
  assert_int_equal(lp2p_sockaddr_to_maddr(&dead, &sa), 0);
  e = ask(t, 0, 1, &dead);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_UNREACHABLE);
  th_free(t);
}

static void test_private_refused_and_rate_limit(void **state) {
  (void)state;
  th_net *t = net();
  add_client(t, 0);
  add_server(t, 0); /* 1: refuses private (10.0.0.x) addresses */
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.server = 1;
  c.autonat.client = 0;
  c.autonat.s.allow_private = 1;
  c.autonat.s.requests_per_peer_per_min = 1;
  th_add(t, &c, NULL); /* 2: one request per peer per minute */
  th_listen(t, 0);
  th_listen(t, 1);
  th_listen(t, 2);
  th_connect(t, 0, 1);
  th_connect(t, 0, 2);
  lp2p_maddr a = bare(t, 0);
  const lp2p_host_event *e = ask(t, 0, 1, &a);
  assert_int_equal(e->u.autonat.status, LP2P_AUTONAT_RESP_DIAL_REFUSED);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_UNKNOWN);
  e = ask(t, 0, 2, &a);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_REACHABLE);
  e = ask(t, 0, 2, &a);
  assert_int_equal(e->u.autonat.status, LP2P_AUTONAT_RESP_REQUEST_REJECTED);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_UNKNOWN);
  /* a minute later the peer may ask again */
  memnet_run_for(t->net, 61 * S);
  e = ask(t, 0, 2, &a);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_REACHABLE);
  th_free(t);
}

/* ---- a misbehaving server: a test service that owns dial-request ----------
 */

typedef struct rogue {
  uint32_t svc;
  uint16_t p_req, p_back;
  int wrong_nonce; /* dial back with nonce + 1 first */
  uint64_t req_stream, dial, back_stream;
  uint64_t nonce;
  lp2p_maddr addr;
  int back_reset; /* the client reset our wrong-nonce dial-back */
  uint8_t buf[2048];
  size_t len;
} rogue;

static rogue ROGUE;

static void rogue_answer(lp2p_host *h, rogue *r, lp2p_tstamp now) {
  lp2p_autonat_msg m;
  uint8_t out[64];
  size_t n = 0;
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_RESPONSE;
  m.status = LP2P_AUTONAT_RESP_OK;
  m.dial_status = LP2P_AUTONAT_DIAL_OK; /* a lie */
  assert_int_equal(lp2p_autonat_msg_encode(&m, out, sizeof out, &n), 0);
  assert_int_equal(host_svc_write(h, r->req_stream, now, out, n), (long)n);
  host_svc_close(h, r->req_stream, now);
}

static int r_init(lp2p_host *h, uint32_t svc, void **state) {
  rogue *r = &ROGUE;
  int err = 0;
  r->svc = svc;
  r->p_req = host_svc_add_protocol(h, svc, LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL,
                                   HSVC_P_INBOUND | HSVC_P_ADVERTISE, &err);
  r->p_back =
      host_svc_add_protocol(h, svc, LP2P_AUTONAT_DIAL_BACK_PROTOCOL, 0, &err);
  *state = r;
  return err;
}

static void r_start(lp2p_host *h, void *state, uint64_t stream, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  (void)conn;
  (void)now;
  rogue *r = state;
  (void)h;
  assert_int_equal(proto, r->p_req);
  r->req_stream = stream;
  host_svc_stream_set_ud(h, stream, r);
}

static void r_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                       lp2p_tstamp now) {
  rogue *r = state;
  (void)ud;
  if (stream != r->req_stream)
    return; /* the dial-back stream: nothing to read that matters */
  size_t len;
  const uint8_t *p;
  while ((p = host_svc_peek(h, stream, &len)) && len) {
    size_t k = len < sizeof r->buf - r->len ? len : sizeof r->buf - r->len;
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    host_svc_consume(h, stream, now, k);
    const uint8_t *body;
    size_t blen;
    if (lp2p_autonat_frame(r->buf, r->len, 8192, &body, &blen) <= 0)
      continue;
    lp2p_autonat_msg m;
    assert_int_equal(lp2p_autonat_msg_parse(&m, body, blen), 0);
    assert_int_equal(m.type, LP2P_AUTONAT_MSG_DIAL_REQUEST);
    r->nonce = m.nonce;
    assert_int_equal(
        lp2p_maddr_from_bytes(&r->addr, m.addrs[0].p, m.addrs[0].len), 0);
    if (!r->wrong_nonce) {
      rogue_answer(h, r, now);
      return;
    }
    assert_int_equal(host_svc_dial(h, r->svc, &r->addr, 0, now, &r->dial), 0);
    return;
  }
}

static void r_dial_result(lp2p_host *h, void *state, uint64_t dial,
                          uint64_t conn, int err, lp2p_tstamp now) {
  rogue *r = state;
  assert_true(dial == r->dial);
  assert_int_equal(err, 0);
  assert_int_equal(
      host_svc_open(h, r->svc, conn, r->p_back, r, now, &r->back_stream), 0);
  uint8_t out[32];
  size_t n = 0;
  assert_int_equal(
      lp2p_autonat_dialback_encode(r->nonce + 1, out, sizeof out, &n), 0);
  assert_int_equal(host_svc_write(h, r->back_stream, now, out, n), (long)n);
}

static void r_end(lp2p_host *h, void *state, uint64_t stream, void *ud, int err,
                  lp2p_tstamp now) {
  rogue *r = state;
  (void)ud;
  if (stream == r->back_stream) {
    r->back_reset = err != 0;
    rogue_answer(h, r, now); /* then claim success anyway */
  }
}

static const hsvc_ops rogue_ops = {
    .name = "rogue-autonat",
    .init = r_init,
    .stream_start = r_start,
    .stream_activity = r_activity,
    .stream_end = r_end,
    .dial_result = r_dial_result,
};

static void rogue_case(int wrong_nonce) {
  th_net *t = net();
  add_client(t, 0);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.client = 0;
  th_add(t, &c, NULL);
  memset(&ROGUE, 0, sizeof ROGUE);
  ROGUE.wrong_nonce = wrong_nonce;
  assert_int_equal(host_svc_register(t->h[1], &rogue_ops, NULL), 0);
  th_listen(t, 0);
  th_listen(t, 1);
  th_connect(t, 0, 1);
  lp2p_maddr a = bare(t, 0);
  const lp2p_host_event *e = ask(t, 0, 1, &a);
  /* the server said OK, but our nonce never came back: discarded */
  assert_int_equal(e->u.autonat.status, LP2P_AUTONAT_RESP_OK);
  assert_int_equal(e->u.autonat.dial_status, LP2P_AUTONAT_DIAL_OK);
  assert_int_equal(e->u.autonat.reach, LP2P_AUTONAT_UNKNOWN);
  if (wrong_nonce)
    assert_true(ROGUE.back_reset); /* "no matching dial": reset */
  th_free(t);
}

static void test_rogue_ok_without_dialback(void **state) {
  (void)state;
  rogue_case(0);
}

static void test_rogue_wrong_nonce(void **state) {
  (void)state;
  rogue_case(1);
}

/* ---- the automatic client
 * ---------------------------------------------------- */

static int reach_of(th_net *t, int host, const lp2p_maddr *a, lp2p_tstamp *at) {
  for (size_t i = 0; i < lp2p_host_addr_count(t->h[host]); i++) {
    lp2p_host_addr_info info;
    assert_int_equal(lp2p_host_addr_get(t->h[host], i, &info), 0);
    if (lp2p_maddr_equal(&info.addr, a)) {
      if (at)
        *at = info.reachability_at;
      return info.reachability;
    }
  }
  return -1;
}

typedef struct reach_wait {
  int host, value;
} reach_wait;

static int reach_stop(void *ud) {
  reach_wait *w = ud;
  return LOG.reach[w->host] == w->value;
}

static void test_auto_public(void **state) {
  (void)state;
  th_net *t = net();
  add_client(t, 1); /* 0: automatic */
  add_server(t, 1);
  th_listen(t, 0);
  th_listen(t, 1);
  lp2p_maddr a = bare(t, 0);
  assert_int_equal(reach_of(t, 0, &a, NULL), LP2P_AUTONAT_UNKNOWN);
  assert_int_equal(lp2p_host_reachability(t->h[0]), LP2P_REACHABILITY_UNKNOWN);
  th_connect(t, 0, 1);
  reach_wait w = {0, LP2P_REACHABILITY_PUBLIC};
  assert_true(memnet_run(t->net, reach_stop, &w, 30 * S));
  assert_int_equal(LOG.nreach[0], 1);
  assert_int_equal(lp2p_host_reachability(t->h[0]), LP2P_REACHABILITY_PUBLIC);
  lp2p_tstamp at = LP2P_TSTAMP_NONE;
  assert_int_equal(reach_of(t, 0, &a, &at), LP2P_AUTONAT_REACHABLE);
  assert_true(at != LP2P_TSTAMP_NONE && at <= th_now(t));
  /* the server is no client: it never asked */
  assert_int_equal(LOG.nreach[1], 0);
  th_free(t);
}

static void test_auto_private_three_servers(void **state) {
  (void)state;
  th_net *t = net();
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.is_public = everything_public;
  /* AutoRelay only while private: AutoNAT's verdict switches it on */
  c.relay.autorelay = LP2P_AUTORELAY_PRIVATE;
  th_add(t, &c, NULL); /* 0: automatic client */
  for (int i = 1; i <= 3; i++) {
    lp2p_host_config sc;
    lp2p_host_config_default(&sc);
    sc.autonat.server = 1;
    sc.autonat.client = 0;
    sc.autonat.s.allow_private = 1;
    sc.relay.hop = i == 1; /* server 1 is also a relay */
    th_add(t, &sc, NULL);
  }
  for (int i = 0; i <= 3; i++)
    th_listen(t, i);
  /* we announce only an address nobody listens on */
  lp2p_maddr dead;
  lp2p_sockaddr sa;
  memnet_addr(t->net, 0, 9, &sa);
  assert_int_equal(lp2p_sockaddr_to_maddr(&dead, &sa), 0);
  assert_int_equal(
      lp2p_host_addr_add(t->h[0], th_now(t), &dead, LP2P_ADDR_ANNOUNCE), 0);
  for (int i = 1; i <= 3; i++)
    th_connect(t, 0, i);
  reach_wait w = {0, LP2P_REACHABILITY_PRIVATE};
  assert_true(memnet_run(t->net, reach_stop, &w, 60 * S));
  assert_int_equal(reach_of(t, 0, &dead, NULL), LP2P_AUTONAT_UNREACHABLE);
  assert_int_equal(lp2p_host_reachability(t->h[0]), LP2P_REACHABILITY_PRIVATE);
  /* no reservation before the verdict; one on server 1 after it */
  assert_int_equal(LOG.resv_at_private[0], 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_RELAY_RESERVED, 1, 30 * S));
  assert_true(lp2p_peerid_equal(
      &th_find(t, 0, LP2P_HOST_EV_RELAY_RESERVED, 0)->peer, &t->id[1]));
  th_free(t);
}

/* ---- port mappings: advertised once AutoNAT confirms them ------------------
 *
 * The portmap service enters a mapping with host_addr_mapped; here a
 * "mapping" on a second port host 0 listens on stands in for a router's
 * forward (reachable), one on a port nobody listens on for a router that
 * granted a mapping that does not work (unreachable). Host 0 announces its
 * first listen address, so its second port is advertised only through the
 * mapping. */

static int is_advertised(lp2p_host *h, const lp2p_maddr *a) {
  lp2p_maddr out[16];
  size_t n = 0;
  lp2p_host_addrs(h, out, 16, &n);
  for (size_t i = 0; i < n && i < 16; i++)
    if (lp2p_maddr_equal(&out[i], a))
      return 1;
  return 0;
}

/* The MAPPED entry for a, or 0 when there is none. */
static int mapped_info(lp2p_host *h, const lp2p_maddr *a,
                       lp2p_host_addr_info *out) {
  for (size_t i = 0; i < lp2p_host_addr_count(h); i++)
    if (lp2p_host_addr_get(h, i, out) == 0 && out->kind == LP2P_ADDR_MAPPED &&
        lp2p_maddr_equal(&out->addr, a))
      return 1;
  return 0;
}

static lp2p_maddr addr_of(th_net *t, int host, uint16_t port) {
  lp2p_sockaddr sa;
  lp2p_maddr m;
  memnet_addr(t->net, host, port, &sa);
  assert_int_equal(lp2p_sockaddr_to_maddr(&m, &sa), 0);
  return m;
}

/* Host 0 (client as configured) listening twice (the second port 4444),
 * announcing its first listen address; `servers` AutoNAT servers. */
static th_net *mapped_world(int client, int servers) {
  th_net *t = net();
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.client = client;
  c.autonat.is_public = everything_public;
  th_add(t, &c, NULL);
  for (int i = 1; i <= servers; i++)
    add_server(t, 1);
  for (int i = 0; i <= servers; i++)
    th_listen(t, i);
  lp2p_maddr first = bare(t, 0); /* before LISTENING replaces it */
  lp2p_maddr second = addr_of(t, 0, 4444);
  assert_int_equal(lp2p_host_listen(t->h[0], &second, NULL), 0);
  assert_true(th_wait_for(t, 0, LP2P_HOST_EV_LISTENING, 2, S));
  assert_int_equal(
      lp2p_host_addr_add(t->h[0], th_now(t), &first, LP2P_ADDR_ANNOUNCE), 0);
  memnet_run_for(t->net, S / 10); /* its ADDRESS_CHANGED is counted */
  assert_false(is_advertised(t->h[0], &second));
  return t;
}

typedef struct adv_wait {
  th_net *t;
  lp2p_maddr a;
  int reach; /* wait for this verdict on the MAPPED entry */
} adv_wait;

static int adv_stop(void *ud) {
  adv_wait *w = ud;
  lp2p_host_addr_info info;
  return mapped_info(w->t->h[0], &w->a, &info) &&
         info.reachability == w->reach;
}

/* unverified -> confirmed (advertised, pushed) -> lost (withdrawn) */
static void test_mapped_advertised_after_confirm(void **state) {
  (void)state;
  th_net *t = mapped_world(1, 1);
  lp2p_maddr m = addr_of(t, 0, 4444);
  lp2p_host *h = t->h[0];
  int changed = th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED);
  assert_int_equal(host_addr_mapped(h, th_now(t), &m, 1), 0);
  lp2p_host_addr_info info;
  assert_true(mapped_info(h, &m, &info));
  assert_int_equal(info.status, LP2P_ADDR_UNCONFIRMED);
  assert_int_equal(info.reachability, LP2P_AUTONAT_UNKNOWN);
  /* unverified: not advertised, the advertised set did not change */
  assert_false(is_advertised(h, &m));
  memnet_run_for(t->net, S);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED), changed);
  /* the AutoNAT client asks about it (a MAPPED candidate) and one
   * verified dial-back through it confirms it */
  th_connect(t, 0, 1);
  adv_wait w = {t, m, LP2P_AUTONAT_REACHABLE};
  assert_true(memnet_run(t->net, adv_stop, &w, 60 * S));
  assert_true(mapped_info(h, &m, &info));
  assert_int_equal(info.status, LP2P_ADDR_CONFIRMED);
  assert_true(is_advertised(h, &m));
  /* ADDRESS_CHANGED, and an identify push: the server now lists it among
   * our addresses */
  memnet_run_for(t->net, 2 * S);
  assert_true(th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED) > changed);
  int listed = 0;
  lp2p_maddr pa[16];
  size_t np = 0;
  assert_int_equal(
      lp2p_host_peer_addrs(t->h[1], th_now(t), &t->id[0], pa, 16, &np), 0);
  for (size_t i = 0; i < np && i < 16; i++) {
    lp2p_maddr_strip_peer_id(&pa[i]);
    listed |= lp2p_maddr_equal(&pa[i], &m);
  }
  assert_true(listed);
  /* the mapping is lost: withdrawn */
  changed = th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED);
  assert_int_equal(host_addr_mapped(h, th_now(t), &m, 0), 0);
  assert_false(mapped_info(h, &m, &info));
  assert_false(is_advertised(h, &m));
  memnet_run_for(t->net, S / 10);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED), changed + 1);
  /* mapped again (a router that rebooted): unverified again, although the
   * book still has the old verdict; AutoNAT checks it anew at once */
  assert_int_equal(host_addr_mapped(h, th_now(t), &m, 1), 0);
  assert_true(mapped_info(h, &m, &info));
  assert_int_equal(info.reachability, LP2P_AUTONAT_UNKNOWN);
  assert_false(is_advertised(h, &m));
  assert_true(memnet_run(t->net, adv_stop, &w, 60 * S));
  assert_true(is_advertised(h, &m));
  /* a later recheck that finds a confirmed mapping unreachable withdraws
   * it too */
  host_addr_set_reach(h, &m, LP2P_AUTONAT_UNREACHABLE, th_now(t));
  assert_true(mapped_info(h, &m, &info));
  assert_int_equal(info.status, LP2P_ADDR_UNCONFIRMED);
  assert_false(is_advertised(h, &m));
  th_free(t);
}

/* a mapping AutoNAT finds unreachable stays unadvertised */
static void test_mapped_unreachable_stays_back(void **state) {
  (void)state;
  th_net *t = mapped_world(1, 3);
  lp2p_maddr dead = addr_of(t, 0, 9);
  assert_int_equal(host_addr_mapped(t->h[0], th_now(t), &dead, 1), 0);
  for (int i = 1; i <= 3; i++)
    th_connect(t, 0, i);
  adv_wait w = {t, dead, LP2P_AUTONAT_UNREACHABLE};
  assert_true(memnet_run(t->net, adv_stop, &w, 60 * S));
  lp2p_host_addr_info info;
  assert_true(mapped_info(t->h[0], &dead, &info));
  assert_int_equal(info.status, LP2P_ADDR_UNCONFIRMED);
  assert_false(is_advertised(t->h[0], &dead));
  th_free(t);
}

/* no AutoNAT server to ask: the mapping stays unverified and unadvertised
 * (the rule; go-libp2p would advertise it while unknown) */
static void test_mapped_no_server(void **state) {
  (void)state;
  th_net *t = mapped_world(1, 0);
  lp2p_host_config c;
  lp2p_host_config_default(&c);
  c.autonat.client = 0; /* a peer that serves no AutoNAT */
  th_add(t, &c, NULL);
  th_listen(t, 1);
  lp2p_maddr m = addr_of(t, 0, 4444);
  assert_int_equal(host_addr_mapped(t->h[0], th_now(t), &m, 1), 0);
  th_connect(t, 0, 1);
  memnet_run_for(t->net, 600 * S);
  lp2p_host_addr_info info;
  assert_true(mapped_info(t->h[0], &m, &info));
  assert_int_equal(info.status, LP2P_ADDR_UNCONFIRMED);
  assert_int_equal(info.reachability, LP2P_AUTONAT_UNKNOWN);
  assert_false(is_advertised(t->h[0], &m));
  th_free(t);
}

/* without the AutoNAT client nothing could confirm it: the gateway's word
 * is taken (go-libp2p without a reachability tracker does the same) */
static void test_mapped_without_client(void **state) {
  (void)state;
  th_net *t = mapped_world(0, 0);
  lp2p_maddr m = addr_of(t, 0, 4444);
  int changed = th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED);
  assert_int_equal(host_addr_mapped(t->h[0], th_now(t), &m, 1), 0);
  assert_true(is_advertised(t->h[0], &m));
  memnet_run_for(t->net, S);
  assert_int_equal(th_count(t, 0, LP2P_HOST_EV_ADDRESS_CHANGED), changed + 1);
  assert_int_equal(host_addr_mapped(t->h[0], th_now(t), &m, 0), 0);
  assert_false(is_advertised(t->h[0], &m));
  th_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ask_reachable_separate_conn),
      cmocka_unit_test(test_ask_other_peer_unreachable),
      cmocka_unit_test(test_private_refused_and_rate_limit),
      cmocka_unit_test(test_rogue_ok_without_dialback),
      cmocka_unit_test(test_rogue_wrong_nonce),
      cmocka_unit_test(test_auto_public),
      cmocka_unit_test(test_auto_private_three_servers),
      cmocka_unit_test(test_mapped_advertised_after_confirm),
      cmocka_unit_test(test_mapped_unreachable_stays_back),
      cmocka_unit_test(test_mapped_no_server),
      cmocka_unit_test(test_mapped_without_client),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
