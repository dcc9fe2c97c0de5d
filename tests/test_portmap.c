/* The portmap service over memnet against a fake home router
 * (tests/lib/fake_gw.c): NAT-PMP map, renewal and a router reboot (LOST,
 * then mapped again); PCP map; UPnP discovery, description, external
 * address and AddPortMapping; 718 conflicts resolved on another port and
 * given up after conflict_tries_max; 725 answered with a permanent lease;
 * a private or CGNAT external address refused as a double NAT; the
 * ladder falling through to NAT-PMP; no gateway at all; mappings deleted
 * when the host closes. */
#include "tests/lib/fake_gw.h"
#include "tests/test_host_util.h"

#define S LP2P_NS_PER_S

typedef struct pm_ev {
  lp2p_host_event_kind kind;
  int method, reason;
  uint8_t ip[4];
  uint16_t internal_port, external_port;
  uint32_t lifetime_s;
} pm_ev;

typedef struct world {
  th_net *t;
  fake_gw gw;
  pm_ev ev[64];
  int nev;
  /* wait condition */
  lp2p_host_event_kind want;
  int count;
} world;

static world *W;

static void hook(th_net *t, int host, const lp2p_host_event *ev) {
  (void)t;
  if (host != 0 || ev->kind < LP2P_HOST_EV_PORT_MAPPED || W->nev >= 64)
    return;
  pm_ev *e = &W->ev[W->nev++];
  e->kind = ev->kind;
  e->method = ev->u.portmap.method;
  e->reason = ev->u.portmap.reason;
  memcpy(e->ip, ev->u.portmap.external_ip, 4);
  e->internal_port = ev->u.portmap.internal_port;
  e->external_port = ev->u.portmap.external_port;
  e->lifetime_s = ev->u.portmap.lifetime_s;
}

static int count(const world *w, lp2p_host_event_kind k) {
  int c = 0;
  for (int i = 0; i < w->nev; i++)
    c += w->ev[i].kind == k;
  return c;
}

static const pm_ev *nth(const world *w, lp2p_host_event_kind k, int n) {
  for (int i = 0; i < w->nev; i++)
    if (w->ev[i].kind == k && n-- == 0)
      return &w->ev[i];
  return NULL;
}

/* memnet's stop hook: the router answers, then the condition. */
static int stop(void *ud) {
  world *w = ud;
  fake_gw_service(&w->gw);
  return w->want && count(w, w->want) >= w->count;
}

static int wait_for(world *w, lp2p_host_event_kind k, int n, uint64_t max) {
  w->want = k;
  w->count = n;
  int ok = memnet_run(w->t->net, stop, w, max);
  w->want = 0;
  return ok;
}

static void run_for(world *w, uint64_t ns) {
  w->want = 0;
  memnet_run(w->t->net, stop, w, ns);
}

/* Host 0 with the method, the gateway known or not; a router with the
 * given protocols; host 0 listening on 10.0.0.1. */
static world *start(lp2p_portmap_method method, int gw_known, int upnp,
                    int pcp, int natpmp) {
  world *w = calloc(1, sizeof *w);
  W = w;
  w->t = th_new(13);
  w->t->hook = hook;
  fake_gw_init(&w->gw, w->t->net);
  w->gw.upnp = upnp;
  w->gw.pcp = pcp;
  w->gw.natpmp = natpmp;
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.portmap.method = method;
  if (gw_known)
    cfg.portmap.gateway = w->gw.addr;
  assert_non_null(th_add(w->t, &cfg, NULL));
  th_listen(w->t, 0);
  return w;
}

static void finish(world *w) {
  th_free(w->t);
  free(w);
}

static uint16_t listen_port(world *w) {
  lp2p_sockaddr sa;
  lp2p_maddr m = w->t->listen[0];
  lp2p_maddr_strip_peer_id(&m);
  assert_int_equal(lp2p_sockaddr_from_maddr(&sa, &m), 0);
  return sa.port;
}

/* /ip4/IP/tcp/PORT */
static lp2p_maddr ext_maddr(const uint8_t ip[4], uint16_t port) {
  lp2p_sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.family = 4;
  memcpy(sa.ip, ip, 4);
  sa.port = port;
  lp2p_maddr m;
  assert_int_equal(lp2p_sockaddr_to_maddr(&m, &sa), 0);
  return m;
}

/* Is /ip4/IP/tcp/PORT in the address manager as MAPPED? (Advertised only
 * once AutoNAT confirms it: tests/test_host_autonat.c.) */
static int mapped(world *w, const uint8_t ip[4], uint16_t port) {
  lp2p_maddr want = ext_maddr(ip, port);
  lp2p_host_addr_info info;
  for (size_t i = 0; i < lp2p_host_addr_count(w->t->h[0]); i++)
    if (lp2p_host_addr_get(w->t->h[0], i, &info) == 0 &&
        info.kind == LP2P_ADDR_MAPPED && lp2p_maddr_equal(&info.addr, &want))
      return 1;
  return 0;
}

/* Is /ip4/IP/tcp/PORT among what the host advertises? */
static int advertised(world *w, const uint8_t ip[4], uint16_t port) {
  lp2p_sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.family = 4;
  memcpy(sa.ip, ip, 4);
  sa.port = port;
  lp2p_maddr want, out[16];
  assert_int_equal(lp2p_sockaddr_to_maddr(&want, &sa), 0);
  size_t n = 0;
  lp2p_host_addrs(w->t->h[0], out, 16, &n);
  for (size_t i = 0; i < n && i < 16; i++)
    if (lp2p_maddr_equal(&out[i], &want))
      return 1;
  return 0;
}

static void close_host(world *w) {
  assert_int_equal(lp2p_host_close(w->t->h[0], th_now(w->t)), 0);
  assert_true(th_wait_for(w->t, 0, LP2P_HOST_EV_CLOSED, 1, 10 * S));
  run_for(w, S); /* the router reads what was sent */
}

static void natpmp_map_renew_reboot(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_NATPMP, 1, 0, 0, 1);
  w->gw.pmp_port_offset = 7;
  uint16_t port = listen_port(w);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 30 * S));
  const pm_ev *e = nth(w, LP2P_HOST_EV_PORT_MAPPED, 0);
  assert_int_equal(e->method, LP2P_PORTMAP_NATPMP);
  assert_int_equal(e->internal_port, port);
  assert_int_equal(e->external_port, port + 7);
  assert_memory_equal(e->ip, w->gw.ext_ip, 4);
  assert_int_equal(e->lifetime_s, 3600);
  assert_int_equal(w->gw.pmp_addrs, 1);
  assert_true(mapped(w, w->gw.ext_ip, (uint16_t)(port + 7)));
  lp2p_host_addr_info info;
  int nmapped = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(w->t->h[0]); i++)
    if (lp2p_host_addr_get(w->t->h[0], i, &info) == 0 &&
        info.kind == LP2P_ADDR_MAPPED) {
      assert_int_equal(info.status, LP2P_ADDR_UNCONFIRMED);
      nmapped++;
    }
  assert_int_equal(nmapped, 1);
  /* unverified: AutoNAT (on by default) has not confirmed it */
  assert_false(advertised(w, w->gw.ext_ip, (uint16_t)(port + 7)));

  /* renewed at half the lease, asking for the port it holds; no event */
  run_for(w, 1810 * S);
  assert_int_equal(w->gw.pmp_maps, 2);
  assert_int_equal(w->gw.last_ext_port, port + 7);
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPED), 1);
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPING_LOST), 0);

  /* the router reboots: its epoch starts again; the next renewal sees it */
  w->gw.boot = th_now(w->t);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_LOST, 1, 1900 * S));
  e = nth(w, LP2P_HOST_EV_PORT_MAPPING_LOST, 0);
  assert_int_equal(e->reason, LP2P_PORTMAP_R_EPOCH);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 2, 30 * S));
  assert_true(mapped(w, w->gw.ext_ip, (uint16_t)(port + 7)));

  close_host(w);
  assert_int_equal(w->gw.pmp_deletes, 1);
  finish(w);
}

static void pcp_map_and_delete_on_close(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_PCP, 1, 0, 1, 0);
  uint16_t port = listen_port(w);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 30 * S));
  const pm_ev *e = nth(w, LP2P_HOST_EV_PORT_MAPPED, 0);
  assert_int_equal(e->method, LP2P_PORTMAP_PCP);
  assert_int_equal(e->external_port, port);
  assert_memory_equal(e->ip, w->gw.ext_ip, 4);
  /* our address went into the request, IPv4-mapped (RFC 6887 5) */
  const uint8_t client[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                              10, 0, 0, 1};
  assert_memory_equal(w->gw.last_pcp_client, client, 16);
  assert_true(mapped(w, w->gw.ext_ip, port));
  close_host(w);
  assert_int_equal(w->gw.pcp_maps, 1);
  assert_int_equal(w->gw.pcp_deletes, 1);
  finish(w);
}

/* A router reboot seen through the PCP epoch: LOST, then mapped again
 * with the mapping's nonce (RFC 6887 11.2: one nonce for the mapping's
 * life; a rebooted server that took the renewal already refuses another
 * nonce with NOT_AUTHORIZED, 11.3). */
static void pcp_reboot_keeps_nonce(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_PCP, 1, 0, 1, 0);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 30 * S));
  uint8_t nonce[12];
  memcpy(nonce, w->gw.last_pcp_nonce, 12);
  run_for(w, 1810 * S); /* one renewal: the epoch has grown */
  assert_memory_equal(w->gw.last_pcp_nonce, nonce, 12);
  w->gw.boot = th_now(w->t);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_LOST, 1, 1900 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPING_LOST, 0)->reason,
                   LP2P_PORTMAP_R_EPOCH);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 2, 30 * S));
  assert_true(w->gw.pcp_maps >= 3); /* map, renewal, map again */
  assert_memory_equal(w->gw.last_pcp_nonce, nonce, 12);
  finish(w);
}

static void upnp_map(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0);
  uint16_t port = listen_port(w);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 30 * S));
  const pm_ev *e = nth(w, LP2P_HOST_EV_PORT_MAPPED, 0);
  assert_int_equal(e->method, LP2P_PORTMAP_UPNP);
  assert_int_equal(e->external_port, port);
  assert_int_equal(e->lifetime_s, 3600);
  assert_memory_equal(e->ip, w->gw.ext_ip, 4);
  assert_int_equal(w->gw.descs, 1);
  assert_int_equal(w->gw.extips, 1);
  assert_int_equal(w->gw.adds, 1);
  assert_int_equal(w->gw.last_lease, 3600);
  assert_string_equal(w->gw.last_client, "10.0.0.1");
  assert_true(mapped(w, w->gw.ext_ip, port));
  /* renewal: AddPortMapping again for the same entry */
  run_for(w, 1810 * S);
  assert_int_equal(w->gw.adds, 2);
  assert_int_equal(w->gw.last_ext_port, port);
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPED), 1);
  /* closing deletes it over a last connection the close waits for */
  close_host(w);
  assert_int_equal(w->gw.deletes, 1);
  assert_int_equal(w->gw.last_ext_port, port);
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPING_FAILED) +
                       count(w, LP2P_HOST_EV_PORT_MAPPING_LOST),
                   0);
  finish(w);
}

/* A router that stops answering cannot hold the close longer than one
 * HTTP exchange (http_timeout_ns). */
static void upnp_close_with_silent_router(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 30 * S));
  w->gw.http_silent = 1;
  lp2p_tstamp t0 = th_now(w->t);
  assert_int_equal(lp2p_host_close(w->t->h[0], t0), 0);
  w->want = 0;
  assert_true(th_wait_for(w->t, 0, LP2P_HOST_EV_CLOSED, 1, 30 * S));
  assert_true(th_now(w->t) - t0 >= 5 * S);
  assert_true(th_now(w->t) - t0 < 7 * S);
  finish(w);
}

static void upnp_conflict_resolved(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0);
  uint16_t port = listen_port(w);
  w->gw.conflicts = 2;
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 60 * S));
  const pm_ev *e = nth(w, LP2P_HOST_EV_PORT_MAPPED, 0);
  assert_int_equal(w->gw.adds, 3);
  assert_int_equal(w->gw.add_faults, 2);
  assert_int_not_equal(e->external_port, port);
  assert_true(e->external_port >= 1024);
  assert_int_equal(e->external_port, w->gw.last_ext_port);
  assert_true(mapped(w, w->gw.ext_ip, e->external_port));
  finish(w);
}

static void upnp_conflict_gives_up(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0);
  w->gw.conflict_always = 1;
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 1, 60 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 0)->reason,
                   LP2P_PORTMAP_R_CONFLICT);
  assert_int_equal(w->gw.adds, 4); /* conflict_tries_max */
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPED), 0);
  finish(w);
}

static void upnp_permanent_only(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0);
  w->gw.permanent_only = 1;
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 60 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPED, 0)->lifetime_s, 0);
  assert_int_equal(w->gw.adds, 2);
  assert_int_equal(w->gw.last_lease, 0);
  /* a permanent entry is not renewed */
  run_for(w, 4000 * S);
  assert_int_equal(w->gw.adds, 2);
  finish(w);
}

static void double_nat_refused(void **state) {
  (void)state;
  const uint8_t cgnat[4] = {100, 72, 3, 4}, rfc1918[4] = {192, 168, 1, 1};
  for (int k = 0; k < 3; k++) {
    world *w = k == 0   ? start(LP2P_PORTMAP_UPNP, 0, 1, 0, 0)
               : k == 1 ? start(LP2P_PORTMAP_NATPMP, 1, 0, 0, 1)
                        : start(LP2P_PORTMAP_PCP, 1, 0, 1, 0);
    memcpy(w->gw.ext_ip, k == 1 ? rfc1918 : cgnat, 4);
    assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 1, 60 * S));
    assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 0)->reason,
                     LP2P_PORTMAP_R_DOUBLE_NAT);
    assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPED), 0);
    assert_int_equal(w->gw.adds, 0);     /* UPnP: nothing asked */
    assert_int_equal(w->gw.pmp_maps, 0); /* NAT-PMP: address first */
    /* PCP learns the address from the mapping: it takes it back */
    assert_int_equal(w->gw.pcp_deletes, w->gw.pcp_maps);
    assert_false(mapped(w, w->gw.ext_ip, listen_port(w)));
    finish(w);
  }
}

static void auto_falls_through_to_natpmp(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_AUTO, 1, 0, 0, 1);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 60 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPED, 0)->method,
                   LP2P_PORTMAP_NATPMP);
  assert_int_equal(count(w, LP2P_HOST_EV_PORT_MAPPING_FAILED), 0);
  finish(w);
}

static void auto_prefers_upnp(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_AUTO, 1, 1, 1, 1);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPED, 1, 60 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPED, 0)->method,
                   LP2P_PORTMAP_UPNP);
  assert_int_equal(w->gw.pcp_maps + w->gw.pmp_maps, 0);
  finish(w);
}

static void no_gateway(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_AUTO, 0, 0, 0, 0);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 1, 60 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 0)->reason,
                   LP2P_PORTMAP_R_NO_GATEWAY);
  finish(w);
}

static void silent_gateway_times_out(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_NATPMP, 1, 0, 0, 0);
  assert_true(wait_for(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 1, 120 * S));
  assert_int_equal(nth(w, LP2P_HOST_EV_PORT_MAPPING_FAILED, 0)->reason,
                   LP2P_PORTMAP_R_TIMEOUT);
  finish(w);
}

static void off_by_default(void **state) {
  (void)state;
  world *w = start(LP2P_PORTMAP_OFF, 1, 1, 1, 1);
  run_for(w, 30 * S);
  assert_int_equal(w->nev, 0);
  assert_int_equal(w->gw.searches + w->gw.pmp_addrs + w->gw.pcp_maps, 0);
  finish(w);
}

/* Which external addresses mean a double NAT: RFC 1918, CGNAT 100.64/10
 * (RFC 6598), loopback, link-local, 0/8; not the benchmarking range a lab
 * router may hold (198.18/15) nor 100.128/9 outside CGNAT. */
static void private_ranges_and_names(void **state) {
  (void)state;
  static const struct {
    uint8_t ip[4];
    int priv;
  } cases[] = {
      {{10, 1, 2, 3}, 1},     {{172, 16, 0, 1}, 1},  {{172, 31, 9, 9}, 1},
      {{172, 32, 0, 1}, 0},   {{192, 168, 1, 1}, 1}, {{100, 64, 0, 1}, 1},
      {{100, 127, 255, 1}, 1}, {{100, 128, 0, 1}, 0}, {{127, 0, 0, 1}, 1},
      {{169, 254, 3, 4}, 1},  {{0, 1, 2, 3}, 1},     {{198, 18, 0, 11}, 0},
      {{203, 0, 113, 7}, 0},  {{8, 8, 8, 8}, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal(lp2p_portmap_ip4_is_private(cases[i].ip), cases[i].priv);
  const char *names[] = {"off", "auto", "upnp", "pcp", "natpmp"};
  for (int i = 0; i < 5; i++) {
    lp2p_portmap_method m;
    assert_int_equal(lp2p_portmap_method_parse(names[i], &m), 0);
    assert_int_equal((int)m, i);
    assert_string_equal(lp2p_portmap_method_name(m), names[i]);
  }
  lp2p_portmap_method m;
  assert_int_equal(lp2p_portmap_method_parse("UPnP", &m), LP2P_ERR_INVAL);
  assert_string_equal(lp2p_portmap_reason_name(LP2P_PORTMAP_R_DOUBLE_NAT),
                      "double-nat");
  assert_string_equal(lp2p_host_event_name(LP2P_HOST_EV_PORT_MAPPING_LOST),
                      "PORT_MAPPING_LOST");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(natpmp_map_renew_reboot),
      cmocka_unit_test(pcp_map_and_delete_on_close),
      cmocka_unit_test(pcp_reboot_keeps_nonce),
      cmocka_unit_test(upnp_map),
      cmocka_unit_test(upnp_close_with_silent_router),
      cmocka_unit_test(upnp_conflict_resolved),
      cmocka_unit_test(upnp_conflict_gives_up),
      cmocka_unit_test(upnp_permanent_only),
      cmocka_unit_test(double_nat_refused),
      cmocka_unit_test(auto_falls_through_to_natpmp),
      cmocka_unit_test(auto_prefers_upnp),
      cmocka_unit_test(no_gateway),
      cmocka_unit_test(silent_gateway_times_out),
      cmocka_unit_test(off_by_default),
      cmocka_unit_test(private_ranges_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
