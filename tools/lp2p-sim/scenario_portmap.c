/* portmap: port mapping (issue 13) through the NAT boxes' IGDs.
 *
 * Cases: four NAT types (full cone EIM-EIF, address-restricted cone
 * EIM-ADF, port-restricted cone EIM-APDF, symmetric APDM-APDF; a forward
 * the IGD installs works whatever the filtering) times five ways to map:
 *   upnp      UPnP IGD (IGD:1 on half the boxes, IGD:2 on the others)
 *   pcp       PCP
 *   natpmp    NAT-PMP, on a box without PCP
 *   auto      the ladder, on a box without UPnP: SSDP stays silent, PCP
 *   upnp-718  UPnP where another LAN device holds the port: 718
 *             ConflictInMappingEntry, then another external port
 * One public AutoNAT v2 server, one public outside host. For every case:
 *   1. the host behind the NAT (listening on 4001, lease 600 s) maps its
 *      port: PORT_MAPPED with the method, the box's external IP;
 *   2. the mapped address stays unadvertised until AutoNAT confirms it:
 *      the host dials the server, which dials back through the mapping;
 *      then it is REACHABLE, CONFIRMED and advertised;
 *   3. the outside host dials the mapped address and pings;
 *   4. the lease is renewed at half (twice in 700 s), nothing is lost;
 *   5. the box reboots (mappings and conntrack gone, epoch 0): PCP and
 *      NAT-PMP see the epoch fall at the next renewal (PORT_MAPPING_LOST,
 *      reason epoch) and map again; UPnP's renewal re-adds the entry;
 *      AutoNAT confirms the address again, the outside host dials in again
 *      and pings;
 *   6. the host crashes (no delete sent): its mapping expires with the
 *      lease on the box's clock.
 * One line per case, deterministic per seed. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

#define MIB (1024u * 1024u)
#define S LP2P_NS_PER_S
#define NTYPES 4
#define NPROTO 5
#define NCASE (NTYPES * NPROTO)
#define PORT 4001
#define LEASE_S 600

enum { P_UPNP, P_PCP, P_NATPMP, P_AUTO, P_UPNP718 };
static const char *const proto_name[NPROTO] = {"upnp", "pcp", "natpmp",
                                               "auto", "upnp-718"};
static const struct {
  lp2p_sim_nat_mapping m;
  lp2p_sim_nat_filtering f;
  lp2p_sim_nat_alloc a;
} types[NTYPES] = {
    {LP2P_SIM_MAP_EI, LP2P_SIM_FILT_EI, LP2P_SIM_PORT_PRESERVE},
    {LP2P_SIM_MAP_EI, LP2P_SIM_FILT_AD, LP2P_SIM_PORT_SEQUENTIAL},
    {LP2P_SIM_MAP_EI, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_PRESERVE},
    {LP2P_SIM_MAP_APD, LP2P_SIM_FILT_APD, LP2P_SIM_PORT_RANDOM},
};

typedef struct pm_case {
  int type, proto;
  uint32_t nat;
  shost h;
  /* what the host said */
  int mapped, lost, lost_epoch, failed;
  int method;
  uint8_t ext_ip[4];
  uint16_t ext_port, first_port;
  /* the outside host's dials to it */
  int pinged, ping_failed, dial_failed;
  /* per phase */
  int confirmed1, confirmed2;
  uint64_t renewed_before_reboot;
  size_t live_before_reboot;
  int expired;
} pm_case;

typedef struct pm_world {
  scen_ctx *c;
  lp2p_sim *s;
  shost srv, out;
  pm_case k[NCASE];
  int want_pings; /* phase 3 / 5 target */
} pm_world;

static pm_case *case_of_node(pm_world *w, uint32_t node) {
  for (int i = 0; i < NCASE; i++)
    if (w->k[i].h.node == node)
      return &w->k[i];
  return NULL;
}

static pm_case *case_of_peer(pm_world *w, const lp2p_peerid *id) {
  for (int i = 0; i < NCASE; i++)
    if (lp2p_peerid_equal(&w->k[i].h.id, id))
      return &w->k[i];
  return NULL;
}

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  pm_world *w = ud;
  if (hid == w->out.node) {
    lp2p_host *o = lp2p_sim_host(s, w->out.node);
    pm_case *k = case_of_peer(w, &ev->peer);
    if (!k)
      return;
    if (ev->kind == LP2P_HOST_EV_PEER_CONNECTED) {
      if (lp2p_host_ping(o, shost_now(s, &w->out), &k->h.id) != 0)
        k->ping_failed++;
    } else if (ev->kind == LP2P_HOST_EV_PING_RESULT) {
      if (ev->err)
        k->ping_failed++;
      else
        k->pinged++;
      lp2p_host_close_peer(o, shost_now(s, &w->out), &k->h.id);
    } else if (ev->kind == LP2P_HOST_EV_DIAL_FAILED) {
      k->dial_failed++;
    }
    return;
  }
  pm_case *k = case_of_node(w, hid);
  if (!k)
    return;
  switch (ev->kind) {
  case LP2P_HOST_EV_PORT_MAPPED:
    k->mapped++;
    k->method = ev->u.portmap.method;
    memcpy(k->ext_ip, ev->u.portmap.external_ip, 4);
    k->ext_port = ev->u.portmap.external_port;
    if (k->mapped == 1)
      k->first_port = k->ext_port;
    break;
  case LP2P_HOST_EV_PORT_MAPPING_LOST:
    k->lost++;
    k->lost_epoch += ev->u.portmap.reason == LP2P_PORTMAP_R_EPOCH;
    break;
  case LP2P_HOST_EV_PORT_MAPPING_FAILED:
    k->failed++;
    break;
  default:
    break;
  }
}

static void tweak_server(lp2p_host_config *cfg, void *ud) {
  (void)ud;
  cfg->autonat.server = 1;
  cfg->autonat.client = 0;
  /* twenty clients ask at once: room for all of them */
  cfg->autonat.s.requests_per_min = 600;
}

static void tweak_out(lp2p_host_config *cfg, void *ud) {
  (void)ud;
  cfg->autonat.client = 0;
}

static void tweak_case(lp2p_host_config *cfg, void *ud) {
  const pm_case *k = ud;
  static const lp2p_portmap_method m[NPROTO] = {
      LP2P_PORTMAP_UPNP, LP2P_PORTMAP_PCP, LP2P_PORTMAP_NATPMP,
      LP2P_PORTMAP_AUTO, LP2P_PORTMAP_UPNP};
  cfg->portmap.method = m[k->proto];
  cfg->portmap.lease_s = LEASE_S;
}

static int expected_method(int proto) {
  return proto == P_PCP || proto == P_AUTO ? LP2P_PORTMAP_PCP
         : proto == P_NATPMP               ? LP2P_PORTMAP_NATPMP
                                           : LP2P_PORTMAP_UPNP;
}

static int build(pm_world *w, scen_ctx *c) {
  memset(w, 0, sizeof *w);
  w->c = c;
  w->s = scen_world(c, NULL);
  if (!w->s)
    return LP2P_ERR_NOMEM;
  lp2p_sim *s = w->s;
  lp2p_sim_on_host_event(s, on_event, w);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 12 * LP2P_NS_PER_MS;
  wan.jitter_ns = 2 * LP2P_NS_PER_MS;
  wan.loss_ppm = 1000;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  uint32_t n;
  int rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &n);
  if (!rc)
    rc = shost_add(s, n, 64 * MIB, tweak_server, NULL, &w->srv);
  if (!rc)
    rc = shost_listen(s, &w->srv, PORT);
  if (!rc)
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &n);
  if (!rc)
    rc = shost_add(s, n, 64 * MIB, tweak_out, NULL, &w->out);
  if (!rc)
    rc = shost_listen(s, &w->out, PORT);
  for (int i = 0; i < NCASE && !rc; i++) {
    pm_case *k = &w->k[i];
    k->type = i / NPROTO;
    k->proto = i % NPROTO;
    lp2p_sim_nat_config nc;
    lp2p_sim_nat_config_default(&nc);
    nc.mapping = types[k->type].m;
    nc.filtering = types[k->type].f;
    nc.alloc = types[k->type].a;
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, &nc, &wan, &wan, &k->nat);
    lp2p_sim_igd_config ic;
    lp2p_sim_igd_config_default(&ic);
    ic.upnp_version = k->type % 2 ? 2 : 1;
    ic.pcp = k->proto != P_NATPMP;  /* an older box: NAT-PMP only */
    ic.upnp = k->proto != P_AUTO;   /* the ladder falls through to PCP */
    if (!rc)
      rc = lp2p_sim_igd_add(s, k->nat, &ic, NULL);
    if (!rc && k->proto == P_UPNP718) /* another device holds our port */
      rc = lp2p_sim_igd_forward(
          s, k->nat, 1, PORT,
          LP2P_SIM_IP4(10, k->nat >> 8 & 255, k->nat & 255, 200), PORT, 0);
    if (!rc)
      rc = lp2p_sim_ep_add(s, k->nat, 0, NULL, &lan, &lan, &n);
    if (!rc)
      rc = shost_add(s, n, 32 * MIB, tweak_case, k, &k->h);
    if (!rc)
      rc = shost_listen(s, &k->h, PORT);
  }
  if (rc)
    scen_fail(c, "setup: %s", lp2p_errname(rc));
  return rc;
}

/* ---- checks on a host's address manager ----------------------------------- */

static lp2p_maddr mapped_maddr(const pm_case *k) {
  lp2p_maddr m;
  uint32_t ip = (uint32_t)k->ext_ip[0] << 24 | (uint32_t)k->ext_ip[1] << 16 |
                (uint32_t)k->ext_ip[2] << 8 | k->ext_ip[3];
  shost_maddr(&m, ip, k->ext_port, NULL);
  return m;
}

/* 1: the MAPPED entry is REACHABLE, CONFIRMED and advertised; 0: it is
 * there, unverified and unadvertised; -1 otherwise. */
static int mapped_state(pm_world *w, const pm_case *k) {
  lp2p_host *h = lp2p_sim_host(w->s, k->h.node);
  lp2p_maddr m = mapped_maddr(k), adv[32];
  size_t n = 0;
  lp2p_host_addrs(h, adv, 32, &n);
  int advertised = 0;
  for (size_t i = 0; i < n && i < 32; i++)
    advertised |= lp2p_maddr_equal(&adv[i], &m);
  for (size_t i = 0; i < lp2p_host_addr_count(h); i++) {
    lp2p_host_addr_info a;
    if (lp2p_host_addr_get(h, i, &a) != 0 || a.kind != LP2P_ADDR_MAPPED ||
        !lp2p_maddr_equal(&a.addr, &m))
      continue;
    if (a.reachability == LP2P_AUTONAT_REACHABLE &&
        a.status == LP2P_ADDR_CONFIRMED && advertised)
      return 1;
    if (a.reachability != LP2P_AUTONAT_REACHABLE &&
        a.status == LP2P_ADDR_UNCONFIRMED && !advertised)
      return 0;
  }
  return -1;
}

/* ---- phases ------------------------------------------------------------------ */

static int all_mapped(void *ud) {
  pm_world *w = ud;
  for (int i = 0; i < NCASE; i++)
    if (!w->k[i].mapped)
      return 0;
  return 1;
}

static int all_remapped(void *ud) {
  pm_world *w = ud;
  for (int i = 0; i < NCASE; i++) {
    const pm_case *k = &w->k[i];
    int pmp = expected_method(k->proto) != LP2P_PORTMAP_UPNP;
    size_t want = 1;
    if (pmp ? k->mapped < 2
            : lp2p_sim_igd_mappings(w->s, k->nat) < want)
      return 0;
  }
  return 1;
}

static int all_confirmed(void *ud) {
  pm_world *w = ud;
  for (int i = 0; i < NCASE; i++)
    if (mapped_state(w, &w->k[i]) != 1)
      return 0;
  return 1;
}

static int all_pinged(void *ud) {
  pm_world *w = ud;
  for (int i = 0; i < NCASE; i++)
    if (w->k[i].pinged < w->want_pings)
      return 0;
  return 1;
}

static void dial_server(pm_world *w, unsigned flags) {
  lp2p_sim *s = w->s;
  lp2p_maddr to;
  shost_maddr(&to, lp2p_sim_node_ip(s, w->srv.node), PORT, &w->srv.id);
  for (int i = 0; i < NCASE; i++) {
    shost *h = &w->k[i].h;
    lp2p_host_dial(lp2p_sim_host(s, h->node), shost_now(s, h), &to, flags,
                   NULL);
    lp2p_sim_host_kick(s, h->node);
  }
}

static void dial_in(pm_world *w) {
  lp2p_sim *s = w->s;
  lp2p_host *o = lp2p_sim_host(s, w->out.node);
  for (int i = 0; i < NCASE; i++) {
    pm_case *k = &w->k[i];
    lp2p_maddr to = mapped_maddr(k);
    uint32_t ip = (uint32_t)k->ext_ip[0] << 24 | (uint32_t)k->ext_ip[1] << 16 |
                  (uint32_t)k->ext_ip[2] << 8 | k->ext_ip[3];
    shost_maddr(&to, ip, k->ext_port, &k->h.id);
    if (lp2p_host_dial(o, shost_now(s, &w->out), &to, LP2P_DIAL_FORCE, NULL))
      k->dial_failed++;
  }
  lp2p_sim_host_kick(s, w->out.node);
}

static const char *type_name(int t) {
  return lp2p_sim_nat_type_name(types[t].m, types[t].f, types[t].a);
}

static int run(scen_ctx *c) {
  static pm_world w;
  if (build(&w, c) != 0) {
    scen_world_done(c, w.s);
    return 1;
  }
  lp2p_sim *s = w.s;

  /* 1. map */
  lp2p_sim_run(s, all_mapped, &w, lp2p_sim_now(s) + 120 * S);
  int unverified = 0;
  for (int i = 0; i < NCASE; i++)
    unverified += w.k[i].mapped && mapped_state(&w, &w.k[i]) == 0;

  /* 2. AutoNAT confirms the mapped addresses */
  dial_server(&w, 0);
  lp2p_sim_run(s, all_confirmed, &w, lp2p_sim_now(s) + 120 * S);
  for (int i = 0; i < NCASE; i++)
    w.k[i].confirmed1 = mapped_state(&w, &w.k[i]) == 1;

  /* 3. the outside host dials in through the mapping and pings */
  w.want_pings = 1;
  dial_in(&w);
  lp2p_sim_run(s, all_pinged, &w, lp2p_sim_now(s) + 60 * S);

  /* 4. renewals at half the lease */
  lp2p_sim_igd_stats st0[NCASE], st;
  for (int i = 0; i < NCASE; i++)
    lp2p_sim_igd_stats_get(s, w.k[i].nat, &st0[i]);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + (LEASE_S + 100) * S);
  for (int i = 0; i < NCASE; i++) {
    lp2p_sim_igd_stats_get(s, w.k[i].nat, &st);
    w.k[i].renewed_before_reboot = st.renewed - st0[i].renewed;
    w.k[i].live_before_reboot = lp2p_sim_igd_mappings(s, w.k[i].nat);
  }

  /* 5. the routers reboot */
  int lost_before[NCASE];
  for (int i = 0; i < NCASE; i++) {
    lost_before[i] = w.k[i].lost;
    lp2p_sim_igd_reboot(s, w.k[i].nat);
  }
  lp2p_sim_run(s, all_remapped, &w, lp2p_sim_now(s) + (LEASE_S / 2 + 60) * S);
  /* a fresh connection to the server, in case the old one died with the
   * box's connection tracking (with port-preserving EIM it survives) */
  dial_server(&w, LP2P_DIAL_FORCE);
  lp2p_sim_run(s, all_confirmed, &w, lp2p_sim_now(s) + 120 * S);
  for (int i = 0; i < NCASE; i++)
    w.k[i].confirmed2 = mapped_state(&w, &w.k[i]) == 1;
  w.want_pings = 2;
  dial_in(&w);
  lp2p_sim_run(s, all_pinged, &w, lp2p_sim_now(s) + 60 * S);

  /* 6. crash: the lease runs out on the box */
  for (int i = 0; i < NCASE; i++)
    lp2p_sim_host_remove(s, w.k[i].h.node);
  lp2p_sim_run_until(s, lp2p_sim_now(s) + (LEASE_S + 1) * S);
  for (int i = 0; i < NCASE; i++)
    w.k[i].expired = lp2p_sim_igd_mappings(s, w.k[i].nat) == 0;

  /* the verdict, one line per case */
  int ok_cases = 0;
  for (int i = 0; i < NCASE; i++) {
    pm_case *k = &w.k[i];
    int want = expected_method(k->proto);
    int pmp = want != LP2P_PORTMAP_UPNP;
    uint32_t ext = lp2p_sim_node_ip(s, k->nat);
    uint8_t e4[4] = {(uint8_t)(ext >> 24), (uint8_t)(ext >> 16),
                     (uint8_t)(ext >> 8), (uint8_t)ext};
    lp2p_sim_igd_stats_get(s, k->nat, &st);
    const char *why = NULL;
    if (!k->mapped)
      why = "never mapped";
    else if (k->method != want)
      why = "mapped by another method";
    else if (memcmp(k->ext_ip, e4, 4) != 0)
      why = "external address is not the box's";
    else if (k->proto == P_UPNP718 && (k->first_port == PORT ||
                                       st.last_fault != 718))
      why = "no 718 conflict resolved";
    else if (k->proto != P_UPNP718 && k->first_port != PORT)
      why = "external port not the one asked";
    else if (!k->confirmed1)
      why = "not confirmed by AutoNAT";
    else if (k->pinged < 1)
      why = "no dial-in through the mapping";
    else if (k->renewed_before_reboot < 2 ||
             k->live_before_reboot != 1u + (k->proto == P_UPNP718))
      why = "lease not renewed at half";
    else if (lost_before[i] != 0)
      why = "mapping lost before the reboot";
    else if (pmp && (k->lost_epoch < 1 || k->mapped < 2))
      why = "reboot: epoch change not seen, not mapped again";
    else if (!pmp && k->lost != 0)
      why = "reboot: UPnP mapping reported lost";
    else if (!k->confirmed2)
      why = "not confirmed again after the reboot";
    else if (k->pinged < 2)
      why = "no dial-in after the reboot";
    else if (!k->expired)
      why = "mapping outlived its lease";
    if (why)
      scen_fail(c, "%s %s: %s", type_name(k->type), proto_name[k->proto],
                why);
    else
      ok_cases++;
    scen_line(c,
              "%-18s %-8s mapped %u.%u.%u.%u:%u via %s%s, autonat %s, "
              "dial-in %d/%d, renewed %llu, reboot %s, expired %s: %s",
              type_name(k->type), proto_name[k->proto], k->ext_ip[0],
              k->ext_ip[1], k->ext_ip[2], k->ext_ip[3], k->first_port,
              lp2p_portmap_method_name((lp2p_portmap_method)k->method),
              k->proto == P_UPNP718 && st.last_fault == 718 ? " after 718"
                                                             : "",
              k->confirmed1 && k->confirmed2 ? "confirmed twice"
                                             : "not confirmed",
              k->pinged, k->pinged + k->ping_failed + k->dial_failed,
              (unsigned long long)k->renewed_before_reboot,
              pmp ? (k->lost_epoch ? "epoch seen, re-mapped" : "missed")
                  : (k->lost ? "lost" : "re-added at renewal"),
              k->expired ? "yes" : "no", why ? "FAIL" : "ok");
  }
  scen_line(c, "unverified until confirmed %d of %d; cases ok %d of %d",
            unverified, NCASE, ok_cases, NCASE);
  if (unverified != NCASE)
    scen_fail(c, "a mapped address was advertised before AutoNAT confirmed it");
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_portmap = {
    "portmap",
    "port mapping via the NAT boxes' IGDs (UPnP, PCP, NAT-PMP, auto, 718) "
    "over four NAT types: AutoNAT-confirmed, dialled in, renewed, reboot, "
    "lease expiry",
    run};
