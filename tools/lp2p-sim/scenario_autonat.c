/* autonat: AutoNAT v2 (issue 11) on the simulator. Three public AutoNAT
 * servers; a public host and a host behind a NAT of each of the 27 types
 * connect to all three and let their automatic clients ask.
 *   - the public host is confirmed reachable (REACHABILITY public, its
 *     listen address reachable in the address manager);
 *   - every NATed host ends REACHABILITY private: the addresses the servers
 *     observed (the NAT's external ip:port) are refuted by three servers;
 *   - the amplification guard holds: a peer asking a server to dial
 *     another IP (the public host) is asked for dial data first; refusing
 *     to pay (budget 0), it gets no dial: the victim sees no connection;
 *   - the rate limit holds: 20 requests from one peer in a row, 12
 *     answered and 8 rejected within the minute, then answered again. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/natworld.h"
#include "tools/lp2p-sim/scenario.h"

#define MIB (1024u * 1024u)
#define NSRV 3
#define S LP2P_NS_PER_S

typedef struct an_world {
  scen_ctx *c;
  lp2p_sim *s;
  shost srv[NSRV], pub, att;
  shost h[NW_TYPES];
  uint32_t nat[NW_TYPES];
  lp2p_sim_nat_config ncfg[NW_TYPES];
  int nat_reach[NW_TYPES], pub_reach;
  int nat_private;
  /* the asker's results */
  int results;
  lp2p_host_event last;
  int pub_in_from[NSRV]; /* inbound connections of the public host from
                            each server (their dial-backs) */
} an_world;

static int nat_index(const an_world *w, uint32_t node) {
  for (int t = 0; t < NW_TYPES; t++)
    if (w->h[t].node == node)
      return t;
  return -1;
}

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  an_world *w = ud;
  (void)s;
  if (ev->kind == LP2P_HOST_EV_REACHABILITY) {
    int t = nat_index(w, hid);
    if (t >= 0) {
      if (ev->u.reachability.value == LP2P_REACHABILITY_PRIVATE &&
          w->nat_reach[t] != LP2P_REACHABILITY_PRIVATE)
        w->nat_private++;
      else if (ev->u.reachability.value != LP2P_REACHABILITY_PRIVATE &&
               w->nat_reach[t] == LP2P_REACHABILITY_PRIVATE)
        w->nat_private--;
      w->nat_reach[t] = ev->u.reachability.value;
    } else if (hid == w->pub.node) {
      w->pub_reach = ev->u.reachability.value;
    }
  } else if (ev->kind == LP2P_HOST_EV_AUTONAT_RESULT && hid == w->att.node) {
    w->results++;
    w->last = *ev;
  } else if (ev->kind == LP2P_HOST_EV_PEER_CONNECTED && hid == w->pub.node &&
             ev->u.connected.direction == LP2P_DIR_INBOUND) {
    for (int i = 0; i < NSRV; i++)
      if (lp2p_peerid_equal(&ev->peer, &w->srv[i].id))
        w->pub_in_from[i]++;
  }
}

static void tweak_server(lp2p_host_config *cfg, void *ud) {
  (void)ud;
  cfg->autonat.server = 1;
  cfg->autonat.client = 0;
}

static void tweak_asker(lp2p_host_config *cfg, void *ud) {
  cfg->autonat.client = 0;
  cfg->autonat.c.data_budget = *(const uint64_t *)ud;
}

static int build(an_world *w, scen_ctx *c, uint64_t budget) {
  memset(w, 0, sizeof *w);
  w->c = c;
  w->s = scen_world(c, NULL);
  if (!w->s)
    return LP2P_ERR_NOMEM;
  lp2p_sim *s = w->s;
  lp2p_sim_on_host_event(s, on_event, w);
  lp2p_sim_link wan, lan;
  lp2p_sim_link_default(&wan);
  wan.latency_ns = 15 * LP2P_NS_PER_MS;
  wan.jitter_ns = 3 * LP2P_NS_PER_MS;
  wan.loss_ppm = 2000;
  wan.bandwidth_bps = 20000000;
  lp2p_sim_link_default(&lan);
  lan.latency_ns = LP2P_NS_PER_MS / 2;
  uint32_t n;
  int rc = 0;
  for (int i = 0; i < NSRV && !rc; i++) {
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &n);
    if (!rc)
      rc = shost_add(s, n, 64 * MIB, tweak_server, NULL, &w->srv[i]);
    if (!rc)
      rc = shost_listen(s, &w->srv[i], 4001);
  }
  if (!rc)
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &n);
  if (!rc)
    rc = shost_add(s, n, 16 * MIB, NULL, NULL, &w->pub);
  if (!rc)
    rc = shost_listen(s, &w->pub, 4001);
  if (!rc)
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, NULL, &wan, &wan, &n);
  if (!rc)
    rc = shost_add(s, n, 16 * MIB, tweak_asker, &budget, &w->att);
  if (!rc)
    rc = shost_listen(s, &w->att, 4001);
  for (int t = 0; t < NW_TYPES && !rc; t++) {
    lp2p_sim_nat_config *nc = &w->ncfg[t];
    lp2p_sim_nat_config_default(nc);
    nc->mapping = (lp2p_sim_nat_mapping)(t / 9);
    nc->filtering = (lp2p_sim_nat_filtering)(t / 3 % 3);
    nc->alloc = (lp2p_sim_nat_alloc)(t % 3);
    nc->syn_rst = t & 1;
    rc = lp2p_sim_nat_add(s, LP2P_SIM_INTERNET, 0, nc, &wan, &wan, &w->nat[t]);
    if (!rc)
      rc = lp2p_sim_ep_add(s, w->nat[t], 0, NULL, &lan, &lan, &n);
    if (!rc)
      rc = shost_add(s, n, 16 * MIB, NULL, NULL, &w->h[t]);
    if (!rc)
      rc = shost_listen(s, &w->h[t], 4001);
  }
  if (rc)
    scen_fail(c, "setup: %s", lp2p_errname(rc));
  return rc;
}

static void dial_servers(lp2p_sim *s, void *ud, uint64_t which) {
  an_world *w = ud;
  shost *h = which == 1000 ? &w->pub : which == 1001 ? &w->att : &w->h[which];
  lp2p_host *hh = lp2p_sim_host(s, h->node);
  for (int i = 0; i < NSRV; i++) {
    lp2p_maddr to;
    shost_maddr(&to, lp2p_sim_node_ip(s, w->srv[i].node), 4001, &w->srv[i].id);
    lp2p_host_dial(hh, shost_now(s, h), &to, 0, NULL);
  }
  lp2p_sim_host_kick(s, h->node);
}

static int settled(void *ud) {
  an_world *w = ud;
  return w->pub_reach == LP2P_REACHABILITY_PUBLIC && w->nat_private == NW_TYPES;
}

typedef struct wait_n {
  an_world *w;
  int n;
} wait_n;

static int results_at_least(void *ud) {
  wait_n *x = ud;
  return x->w->results >= x->n;
}

/* The asker asks server `srv` about `a`; returns the result event. */
static const lp2p_host_event *ask(an_world *w, int srv, const lp2p_maddr *a) {
  lp2p_sim *s = w->s;
  uint64_t id = 0;
  wait_n x = {w, w->results + 1};
  int rc =
      lp2p_host_autonat_ask(lp2p_sim_host(s, w->att.node),
                            shost_now(s, &w->att), &w->srv[srv].id, a, 1, &id);
  if (rc) {
    memset(&w->last, 0, sizeof w->last);
    w->last.err = rc;
    return &w->last;
  }
  lp2p_sim_host_kick(s, w->att.node);
  int ran = lp2p_sim_run(s, results_at_least, &x, lp2p_sim_now(s) + 60 * S);
  if (!ran || w->last.u.autonat.id != id) {
    memset(&w->last, 0, sizeof w->last);
    w->last.err = LP2P_ERR_TIMEOUT;
  }
  return &w->last;
}

static int addr_reach(lp2p_host *h, lp2p_maddr *first_reachable) {
  int any = 0;
  for (size_t i = 0; i < lp2p_host_addr_count(h); i++) {
    lp2p_host_addr_info a;
    if (lp2p_host_addr_get(h, i, &a) == 0 &&
        a.reachability == LP2P_AUTONAT_REACHABLE) {
      if (first_reachable && !any)
        *first_reachable = a.addr;
      any++;
    }
  }
  return any;
}

static int run(scen_ctx *c) {
  static an_world w;
  uint64_t no_budget = 0;
  if (build(&w, c, no_budget) != 0) {
    scen_world_done(c, w.s);
    return 1;
  }
  lp2p_sim *s = w.s;
  lp2p_sim_at(s, S, dial_servers, &w, 1000);
  lp2p_sim_at(s, S, dial_servers, &w, 1001);
  for (uint64_t t = 0; t < NW_TYPES; t++) /* staggered starts */
    lp2p_sim_at(s, S + t * 7 * LP2P_NS_PER_MS, dial_servers, &w, t);
  lp2p_sim_run(s, settled, &w, 300 * S);

  /* the public host */
  lp2p_maddr r;
  memset(&r, 0, sizeof r);
  int nr = addr_reach(lp2p_sim_host(s, w.pub.node), &r);
  int listen_ok = lp2p_maddr_equal(&r, &w.pub.listen);
  scen_line(c, "public host reachability %s, reachable addrs %d%s",
            w.pub_reach == LP2P_REACHABILITY_PUBLIC ? "public" : "not public",
            nr, listen_ok ? " (its listen address)" : "");
  if (w.pub_reach != LP2P_REACHABILITY_PUBLIC || !listen_ok)
    scen_fail(c, "public host not confirmed reachable on its listen address");
  /* the NATed hosts */
  unsigned priv = 0;
  for (int t = 0; t < NW_TYPES; t++) {
    int v = w.nat_reach[t];
    int reachable = addr_reach(lp2p_sim_host(s, w.h[t].node), NULL);
    const char *name = lp2p_sim_nat_type_name(
        w.ncfg[t].mapping, w.ncfg[t].filtering, w.ncfg[t].alloc);
    scen_line(c, "nat %s rst=%d reachability %s", name, w.ncfg[t].syn_rst,
              v == LP2P_REACHABILITY_PRIVATE  ? "private"
              : v == LP2P_REACHABILITY_PUBLIC ? "public"
                                              : "unknown");
    if (v != LP2P_REACHABILITY_PRIVATE || reachable)
      scen_fail(c, "nat %s: reachability %d, %d reachable addresses", name, v,
                reachable);
    else
      priv++;
  }
  scen_line(c, "natted hosts private %u of %d", priv, NW_TYPES);

  /* amplification guard: the asker (budget 0) asks a server that did
   * dial the public host back (so we see its dials) to dial it again:
   * another IP than the asker's */
  int v = 0;
  for (int i = 0; i < NSRV; i++)
    if (w.pub_in_from[i] > w.pub_in_from[v])
      v = i;
  int before = w.pub_in_from[v];
  const lp2p_host_event *e = ask(&w, v, &w.pub.listen);
  int refused = e->err == LP2P_ERR_LIMIT;
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 20 * S);
  scen_line(c,
            "amplification: unpaid request %s, victim connections from the "
            "server %d before (its own dial-backs), +%d after",
            refused ? "dropped by the asker (dial data asked)" : "not guarded",
            before, w.pub_in_from[v] - before);
  if (!refused || w.pub_in_from[v] != before || before == 0)
    scen_fail(c, "amplification guard: err %s, victim saw %d connections",
              lp2p_errname(e->err), w.pub_in_from[v] - before);

  /* rate limit: 20 requests in a row to another server (the unpaid one
   * counted at the first) about the asker's own address (same IP: no dial
   * data needed) */
  int rl = (v + 1) % NSRV;
  int answered = 0, rejected = 0, other = 0;
  for (int i = 0; i < 20; i++) {
    e = ask(&w, rl, &w.att.listen);
    if (e->err == 0 && e->u.autonat.status == LP2P_AUTONAT_RESP_OK &&
        e->u.autonat.reach == LP2P_AUTONAT_REACHABLE)
      answered++;
    else if (e->err == 0 &&
             e->u.autonat.status == LP2P_AUTONAT_RESP_REQUEST_REJECTED)
      rejected++;
    else
      other++;
  }
  lp2p_sim_run_until(s, lp2p_sim_now(s) + 61 * S);
  e = ask(&w, rl, &w.att.listen);
  int again = e->err == 0 && e->u.autonat.reach == LP2P_AUTONAT_REACHABLE;
  scen_line(c,
            "rate limit: %d answered, %d rejected, %d other; a minute "
            "later %s",
            answered, rejected, other, again ? "answered" : "not answered");
  if (answered != 12 || rejected != 8 || !again)
    scen_fail(c, "rate limit: %d answered, %d rejected, %d other", answered,
              rejected, other);
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_autonat = {
    "autonat",
    "AutoNAT v2: a public host is reachable, hosts behind the 27 NAT types "
    "private; amplification guard and rate limits",
    run};
