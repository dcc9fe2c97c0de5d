/* DHT bootstrap and the address filter (issue 10 "Bootstrap").
 *
 * The default list is the public (Amino) DHT's, as kubo ships it
 * (config/bootstrap_peers.go, DefaultBootstrapAddresses; go-libp2p-kad-dht's
 * DefaultBootstrapPeers is the same set without va1): four
 * /dnsaddr/bootstrap.libp2p.io names, the js bootstrapper's
 * /dnsaddr/va1.bootstrap.libp2p.io, and mars.i.ipfs.io's IP literal. Its
 * /udp/4001/quic-v1 form is left out: lp2p dials TCP only.
 *
 * A /dnsaddr entry is dialled like any address: the host's DNS service
 * resolves it (multiaddr spec "dnsaddr": TXT records at _dnsaddr.<name>,
 * followed at most LP2P_DNSADDR_DEPTH_MAX levels, at most answers_max
 * addresses and queries_max queries per lookup, and only the records whose
 * /p2p suffix is the entry's peer kept), so one name that lists several
 * bootstrap peers gives each entry its own peer's addresses.
 *
 * Bootstrap peers are tagged LP2P_PEER_TAG_KAD_BOOTSTRAP (never evicted
 * from the peerstore, connections never trimmed: a long-running node keeps
 * its way back into the DHT) and dialled when the host starts
 * (dial_on_start) and again whenever a low-peers check finds the routing
 * table empty (kad_fix_low_peers, go's fixLowPeers: every 2 minutes).
 * Identify then puts the ones that serve the protocol in the table, and
 * the first self-lookup follows (kad_svc.c).
 *
 * The address filter decides which peer addresses the service keeps from
 * answers (go: AddressFilter, applied in maybeAddAddrs) and which it
 * serves (js: peerInfoMapper, which by default drops private addresses).
 * The is-public predicate is injectable (a lab's 198.18.0.0/15). */
#include <string.h>

#include "lp2p/autonat.h"
#include "proto/kad/kad_svc.h"

static const char *const default_list[] = {
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/dnsaddr/va1.bootstrap.libp2p.io/p2p/"
    "12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
    "/ip4/104.131.131.82/tcp/4001/p2p/"
    "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
};

#define DEFAULT_N (sizeof default_list / sizeof default_list[0])

size_t lp2p_kad_default_bootstrap(const char *const **list) {
  if (list)
    *list = default_list;
  return DEFAULT_N;
}

int lp2p_kad_default_bootstrap_parse(lp2p_maddr *out, size_t cap) {
  if (!out || cap < DEFAULT_N)
    return LP2P_ERR_NOSPACE;
  for (size_t i = 0; i < DEFAULT_N; i++)
    if (lp2p_maddr_parse(&out[i], default_list[i], strlen(default_list[i])))
      return LP2P_ERR_PARSE;
  return (int)DEFAULT_N;
}

int lp2p_kad_addr_filter_parse(const char *name) {
  static const char *const names[] = {"public", "private", "all", "custom"};
  for (int i = 0; name && i < 4; i++)
    if (!strcmp(name, names[i]))
      return i;
  return LP2P_ERR_INVAL;
}

int lp2p_kad_addr_allowed(const lp2p_kad_config *cfg, const lp2p_maddr *ma) {
  if (!cfg || !ma)
    return 0;
  switch (cfg->addr_filter) {
  case LP2P_KAD_ADDRS_ALL:
    return 1;
  case LP2P_KAD_ADDRS_CUSTOM:
    return cfg->addr_filter_fn ? cfg->addr_filter_fn(cfg->addr_filter_ud, ma)
                               : 0;
  case LP2P_KAD_ADDRS_PUBLIC:
  case LP2P_KAD_ADDRS_PRIVATE: {
    int fam = 0;
    uint8_t ip[16];
    if (lp2p_autonat_maddr_ip(ma, &fam, ip) != 0)
      return 1; /* a name or a relayed address: no IP to judge */
    int pub = cfg->is_public ? cfg->is_public(cfg->is_public_ud, fam, ip)
                             : lp2p_autonat_ip_is_public(NULL, fam, ip);
    return cfg->addr_filter == LP2P_KAD_ADDRS_PUBLIC ? pub != 0 : pub == 0;
  }
  default:
    return 0;
  }
}

int kad_boot_init(lp2p_host *h, kad_svc *v) {
  const lp2p_kad_config *c = &v->cfg;
  if (c->addr_filter < LP2P_KAD_ADDRS_PUBLIC ||
      c->addr_filter > LP2P_KAD_ADDRS_CUSTOM ||
      (c->addr_filter == LP2P_KAD_ADDRS_CUSTOM && !c->addr_filter_fn))
    return LP2P_ERR_INVAL;
  const lp2p_maddr *list = c->bootstrap;
  v->cfg.bootstrap = NULL; /* the caller's array need not outlive init */
  /* the first low-peers check: at once when there is a list to dial */
  v->boot_at = c->low_check_ns ? host_add_ns(h->now, c->low_check_ns)
                               : LP2P_TSTAMP_NONE;
  if (!c->bootstrap_n)
    return 0;
  if (!list || c->bootstrap_n > LP2P_KAD_BOOTSTRAP_MAX)
    return LP2P_ERR_INVAL;
  v->boot = lp2p_mem_calloc(h->mem, c->bootstrap_n, sizeof *v->boot);
  if (!v->boot)
    return LP2P_ERR_NOMEM;
  for (size_t i = 0; i < c->bootstrap_n; i++) {
    const uint8_t *id;
    size_t idn;
    /* an entry names its peer: the dial checks it, the tag needs it */
    if (lp2p_maddr_get_peer_id(&list[i], &id, &idn) ||
        lp2p_peerid_from_bytes(&v->boot[i].peer, id, idn))
      return LP2P_ERR_INVAL;
    v->boot[i].addr = list[i];
  }
  v->nboot = c->bootstrap_n;
  if (c->dial_on_start)
    v->boot_at = h->now;
  return 0;
}

/* Offer every connected peer that serves the protocol to the table (go's
 * fixLowPeers calls peerFound for each of host.Network().Peers(): a peer
 * a full bucket turned away, or one that left the table on a failed
 * check and is connected again, gets back in). */
static void offer_connected(lp2p_host *h, kad_svc *v, lp2p_tstamp now) {
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    if (c->state == HC_OPEN && c->peer &&
        lp2p_host_peer_supports(h, &c->peer->id, v->proto_name))
      lp2p_kad_table_add(v->table, &c->peer->id, 1, now);
}

void kad_fix_low_peers(lp2p_host *h, kad_svc *v, lp2p_tstamp now) {
  if (lp2p_kad_table_size(v->table) > v->cfg.low_peers)
    return;
  offer_connected(h, v, now);
  if (!lp2p_kad_table_size(v->table)) {
    /* identify puts the ones that answer in the table; the first
     * self-lookup follows (k_identified) */
    if (v->cfg.dial_on_start && v->nboot)
      kad_bootstrap(h, v, now, NULL, 0, NULL);
    return;
  }
  /* go: RefreshNoWait after fixing; not before the first self-lookup
   * (bootstrap_at still pending, or never set: no peer yet) */
  if (v->cfg.refresh && v->bootstrap_at == LP2P_TSTAMP_NONE &&
      v->refresh_at != LP2P_TSTAMP_NONE)
    kad_refresh(h, v, 0, now);
}

void kad_boot_fini(lp2p_host *h, kad_svc *v) {
  lp2p_mem_free(h->mem, v->boot);
  v->boot = NULL;
  v->nboot = 0;
}

int kad_bootstrap(lp2p_host *h, kad_svc *v, lp2p_tstamp now, uint64_t *dials,
                  size_t cap, size_t *n) {
  size_t k = 0;
  int first_err = 0;
  for (size_t i = 0; i < v->nboot; i++) {
    if (v->cfg.protect_bootstrap)
      lp2p_host_peer_protect(h, &v->boot[i].peer, LP2P_PEER_TAG_KAD_BOOTSTRAP,
                             1);
    if (lp2p_peerid_equal(&v->boot[i].peer, &h->self))
      continue; /* a bootstrap node that has itself in its list */
    uint64_t id = 0;
    int rc = lp2p_host_dial(h, now, &v->boot[i].addr, 0, &id);
    if (rc) {
      host_logf(h, LP2P_LOG_INFO, "kad: bootstrap peer %P: dial: %E",
                &v->boot[i].peer, rc);
      if (!first_err)
        first_err = rc;
      continue;
    }
    if (dials && k < cap)
      dials[k] = id;
    k++;
  }
  if (n)
    *n = k;
  return k || !v->nboot ? 0 : first_err;
}
