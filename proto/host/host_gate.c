/* The connection gater (DESIGN.md 3a "Gating"; issue 14 "Access control").
 *
 * Two checks, both plain data the application sets (no callbacks: the
 * host stays sans-IO and deterministic):
 *  - by address, before the handshake: an inbound socket whose remote IP
 *    falls in a denied prefix is refused at accept (the driver closes it
 *    at once; nothing of the upgrade runs);
 *  - by peer id, right after the secure handshake authenticated the peer
 *    and before the muxer is up, so a denied peer never gets a stream: a
 *    peer with a deny rule is refused in either direction, and in
 *    allowlist mode an INBOUND connection from a peer without an allow
 *    rule is refused (our own dials, e.g. to a relay or DHT peers, are
 *    not: allowlist mode answers "who may connect to us", as punch's
 *    PUNCH_ALLOW asks).
 * A refused connection ends with LP2P_ERR_DENIED in PEER_DISCONNECTED (or
 * DIAL_FAILED) and is counted in stats.conns_gated. Rules live in one
 * table of at most gate_rules_max entries; a lookup is a linear scan,
 * done once per connection. */
#include "proto/host/host_internal.h"

static int prefix_match(const lp2p_sockaddr *net, uint8_t bits,
                        const lp2p_sockaddr *ip) {
  if (net->family != ip->family)
    return 0;
  uint8_t full = bits / 8, rest = bits % 8;
  if (memcmp(net->ip, ip->ip, full) != 0)
    return 0;
  if (!rest)
    return 1;
  uint8_t mask = (uint8_t)(0xffu << (8 - rest));
  return (net->ip[full] & mask) == (ip->ip[full] & mask);
}

static hgate *find_peer(lp2p_host *h, const lp2p_peerid *peer) {
  for (uint32_t i = 0; i < h->ngates; i++)
    if (h->gates[i].is_peer && lp2p_peerid_equal(&h->gates[i].peer, peer))
      return &h->gates[i];
  return NULL;
}

static hgate *gate_slot(lp2p_host *h, int *err) {
  if (h->ngates >= h->cfg.gate_rules_max) {
    *err = LP2P_ERR_LIMIT;
    return NULL;
  }
  if (h->ngates == h->gates_cap) {
    uint32_t cap = h->gates_cap ? 2 * h->gates_cap : 8;
    if (cap > h->cfg.gate_rules_max)
      cap = h->cfg.gate_rules_max;
    hgate *g = lp2p_mem_realloc(h->mem, h->gates, h->gates_cap * sizeof *g,
                                cap * sizeof *g);
    if (!g) {
      *err = LP2P_ERR_NOMEM;
      return NULL;
    }
    h->gates = g;
    h->gates_cap = cap;
  }
  hgate *g = &h->gates[h->ngates++];
  memset(g, 0, sizeof *g);
  return g;
}

int lp2p_host_gate_mode(lp2p_host *h, int mode) {
  if (!h || (mode != LP2P_GATE_ALLOW_ALL && mode != LP2P_GATE_ALLOW_LISTED))
    return LP2P_ERR_INVAL;
  h->gate_mode = (uint8_t)mode;
  return 0;
}

int lp2p_host_gate_peer(lp2p_host *h, const lp2p_peerid *peer, int allow) {
  if (!h || !peer || !peer->len || (allow != 0 && allow != 1))
    return LP2P_ERR_INVAL;
  hgate *g = find_peer(h, peer);
  int err = 0;
  if (!g && !(g = gate_slot(h, &err)))
    return err;
  g->is_peer = 1;
  g->peer = *peer;
  g->allow = (uint8_t)allow;
  return 0;
}

int lp2p_host_gate_peer_clear(lp2p_host *h, const lp2p_peerid *peer) {
  if (!h || !peer)
    return LP2P_ERR_INVAL;
  hgate *g = find_peer(h, peer);
  if (!g)
    return LP2P_ERR_NOT_FOUND;
  *g = h->gates[--h->ngates];
  return 0;
}

int lp2p_host_gate_addr_deny(lp2p_host *h, const lp2p_sockaddr *net,
                             unsigned prefix_bits) {
  if (!h || !net || (net->family != 4 && net->family != 6) ||
      prefix_bits > (net->family == 4 ? 32u : 128u))
    return LP2P_ERR_INVAL;
  for (uint32_t i = 0; i < h->ngates; i++) {
    hgate *g = &h->gates[i];
    if (!g->is_peer && g->bits == prefix_bits &&
        prefix_match(&g->net, (uint8_t)prefix_bits, net))
      return 0; /* already there */
  }
  int err = 0;
  hgate *g = gate_slot(h, &err);
  if (!g)
    return err;
  g->net.family = net->family;
  /* keep only the prefix bits, so equal ranges compare equal */
  uint8_t full = (uint8_t)(prefix_bits / 8), rest = (uint8_t)(prefix_bits % 8);
  memcpy(g->net.ip, net->ip, full);
  if (rest)
    g->net.ip[full] = (uint8_t)(net->ip[full] & (0xffu << (8 - rest)));
  g->bits = (uint8_t)prefix_bits;
  return 0;
}

int host_gate_addr(lp2p_host *h, const lp2p_sockaddr *remote) {
  if (!remote || !remote->family)
    return 0;
  for (uint32_t i = 0; i < h->ngates; i++) {
    const hgate *g = &h->gates[i];
    if (!g->is_peer && prefix_match(&g->net, g->bits, remote)) {
      h->stats.conns_gated++;
      h->stats.inbound_refused++;
      host_logf(h, LP2P_LOG_INFO, "host ip=%A refused: %E", remote,
                LP2P_ERR_DENIED);
      return LP2P_ERR_DENIED;
    }
  }
  return 0;
}

int host_gate_peer(lp2p_host *h, const lp2p_peerid *peer, int dir) {
  const hgate *g = find_peer(h, peer);
  int ok = g ? g->allow
             : (h->gate_mode == LP2P_GATE_ALLOW_ALL ||
                dir == LP2P_DIR_OUTBOUND);
  if (ok)
    return 0;
  h->stats.conns_gated++;
  return LP2P_ERR_DENIED;
}

void host_gate_free(lp2p_host *h) {
  lp2p_mem_free(h->mem, h->gates);
  h->gates = NULL;
  h->ngates = h->gates_cap = 0;
}
