/* A NAT box as a small translation state machine (RFC 4787 for UDP,
 * RFC 5382 for TCP), driven only by packets and time.
 *
 * Model (conntrack-like, as measured on Linux boxes, DESIGN.md 5b):
 * - A mapping binds an internal endpoint to an external port. Its key is
 *   the internal endpoint (endpoint-independent mapping), plus the remote
 *   IP (address-dependent), plus the remote port (address-and-port-
 *   dependent). RFC 4787 section 4.1.
 * - A session is one (mapping, remote endpoint) flow. Outbound packets of
 *   an existing flow keep using its mapping; inbound packets admitted by
 *   filtering create a session on the mapping they hit, so replies leave
 *   through the same external port.
 * - Filtering is decided per mapping from its sessions: endpoint-
 *   independent admits anything that hits a live mapping, address-dependent
 *   needs a session with the sender's IP, address-and-port-dependent needs
 *   the exact session. RFC 4787 section 5.
 * - A mapping lives as long as its last session. Session timeouts: UDP
 *   idle (refreshed both ways, RFC 4787 REQ-6), TCP transitory until SYNs
 *   were seen both ways and again after FIN/RST, established otherwise
 *   (RFC 5382 REQ-5).
 * - Unsolicited inbound SYNs are dropped or answered with RST (syn_rst); an
 *   inbound RST matching a session deletes it (rst_deletes).
 * - When an admitted inbound packet opens a session for a flow that an
 *   earlier outbound packet had bound to another mapping, the flow moves
 *   to the mapping the remote side reached (replies leave through it) if
 *   it was never answered there; an answered flow wins and the packet is
 *   dropped (a conntrack tuple clash).
 * Expired entries are ignored lazily and their slots reused. */
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"

void lp2p_sim_nat_config_default(lp2p_sim_nat_config *c) {
  memset(c, 0, sizeof(*c));
  c->mapping = LP2P_SIM_MAP_EI;
  c->filtering = LP2P_SIM_FILT_APD;
  c->alloc = LP2P_SIM_PORT_PRESERVE;
  c->udp_timeout_ns = 120 * LP2P_NS_PER_S;
  c->tcp_transitory_ns = 240 * LP2P_NS_PER_S;
  c->tcp_established_ns = 7440 * LP2P_NS_PER_S;
  c->hairpin = 1;
  c->syn_rst = 0;
  c->rst_deletes = 1;
  c->port_min = 1024;
  c->port_max = 65535;
  c->mappings_max = 4096;
  c->sessions_max = 16384;
}

#define NAT_NAME(m, f) m "-" f "-preserve", m "-" f "-seq", m "-" f "-random"
#define NAT_ROW(m) NAT_NAME(m, "EIF"), NAT_NAME(m, "ADF"), NAT_NAME(m, "APDF")
static const char *const nat_names[27] = {NAT_ROW("EIM"), NAT_ROW("ADM"),
                                          NAT_ROW("APDM")};

const char *lp2p_sim_nat_type_name(lp2p_sim_nat_mapping m,
                                   lp2p_sim_nat_filtering f,
                                   lp2p_sim_nat_alloc a) {
  unsigned mi = (unsigned)m, fi = (unsigned)f, ai = (unsigned)a;
  if (mi > 2 || fi > 2 || ai > 2)
    return "unknown";
  return nat_names[mi * 9 + fi * 3 + ai];
}

int sim_nat_init(sim_nat *n, const lp2p_sim_nat_config *cfg, uint32_t ext_ip,
                 const lp2p_rng *rng) {
  memset(n, 0, sizeof(*n));
  n->cfg = *cfg;
  if (n->cfg.port_min == 0)
    n->cfg.port_min = 1;
  if (n->cfg.port_max < n->cfg.port_min)
    return LP2P_ERR_INVAL;
  if (!n->cfg.mappings_max)
    n->cfg.mappings_max = 4096;
  if (!n->cfg.sessions_max)
    n->cfg.sessions_max = 16384;
  n->ext_ip = ext_ip;
  n->rng = rng;
  uint32_t range = (uint32_t)n->cfg.port_max - n->cfg.port_min + 1;
  n->next_port = (uint16_t)(n->cfg.port_min + sim_rand_below(rng, range));
  return 0;
}

void sim_nat_free(sim_nat *n) {
  free(n->maps);
  free(n->sess);
  n->maps = NULL;
  n->sess = NULL;
}

static int map_alive(const sim_nat_mapping *m, lp2p_tstamp now) {
  return m->live && m->expiry > now;
}

/* A forward admits anyone only while its lease runs (its sessions may
 * outlive it, as conntrack entries outlive a deleted rule). */
static int fwd_open(const sim_nat_mapping *m, lp2p_tstamp now) {
  return m->fwd && m->live && m->lease_until > now;
}

/* A mapping lives as long as its longest-lived session, a forward at
 * least until its lease ends. */
static lp2p_tstamp map_expiry(const sim_nat *n, uint32_t mapping,
                              lp2p_tstamp now) {
  const sim_nat_mapping *m = &n->maps[mapping];
  lp2p_tstamp mx = m->fwd ? m->lease_until : 0;
  for (size_t i = 0; i < n->nsess; i++) {
    const sim_nat_session *o = &n->sess[i];
    if (o->live && o->mapping == mapping && o->expiry > now && o->expiry > mx)
      mx = o->expiry;
  }
  return mx;
}

static int sess_alive(const sim_nat *n, const sim_nat_session *s,
                      lp2p_tstamp now) {
  return s->live && s->expiry > now && map_alive(&n->maps[s->mapping], now);
}

size_t sim_nat_live_mappings(const sim_nat *n, lp2p_tstamp now) {
  size_t k = 0;
  for (size_t i = 0; i < n->nmaps; i++)
    k += map_alive(&n->maps[i], now) ? 1u : 0u;
  return k;
}

static int port_used(const sim_nat *n, uint8_t proto, uint16_t port,
                     lp2p_tstamp now) {
  for (size_t i = 0; i < n->nmaps; i++) {
    const sim_nat_mapping *m = &n->maps[i];
    if (m->ext_port == port && m->proto == proto && map_alive(m, now))
      return 1;
  }
  return 0;
}

static uint16_t next_in_range(const sim_nat *n, uint32_t p) {
  return (uint16_t)(p > n->cfg.port_max ? n->cfg.port_min : p);
}

/* RFC 4787 section 4.2: port assignment. Returns 0 when none is free. */
static uint16_t alloc_port(sim_nat *n, uint8_t proto, uint16_t int_port,
                           lp2p_tstamp now) {
  uint32_t range = (uint32_t)n->cfg.port_max - n->cfg.port_min + 1;
  if (n->cfg.alloc == LP2P_SIM_PORT_PRESERVE && int_port >= n->cfg.port_min &&
      int_port <= n->cfg.port_max && !port_used(n, proto, int_port, now))
    return int_port;
  if (n->cfg.alloc == LP2P_SIM_PORT_RANDOM) {
    for (int i = 0; i < 64; i++) {
      uint16_t p = (uint16_t)(n->cfg.port_min + sim_rand_below(n->rng, range));
      if (!port_used(n, proto, p, now))
        return p;
    }
  }
  /* sequential (and the fallback of the others) */
  uint16_t p = next_in_range(n, n->next_port);
  for (uint32_t i = 0; i < range; i++) {
    if (!port_used(n, proto, p, now)) {
      n->next_port = next_in_range(n, (uint32_t)p + 1);
      return p;
    }
    p = next_in_range(n, (uint32_t)p + 1);
  }
  return 0;
}

/* A free slot (never used, or dead/expired). Returns the index or -1. */
static long slot_mapping(sim_nat *n, lp2p_tstamp now) {
  for (size_t i = 0; i < n->nmaps; i++)
    if (!map_alive(&n->maps[i], now))
      return (long)i;
  if (n->nmaps >= n->cfg.mappings_max)
    return -1;
  if (n->nmaps == n->maps_cap) {
    size_t nc = n->maps_cap ? n->maps_cap * 2 : 16;
    sim_nat_mapping *nm = realloc(n->maps, nc * sizeof(*nm));
    if (!nm)
      return -1;
    n->maps = nm;
    n->maps_cap = nc;
  }
  return (long)n->nmaps++;
}

static long slot_session(sim_nat *n, lp2p_tstamp now) {
  for (size_t i = 0; i < n->nsess; i++)
    if (!sess_alive(n, &n->sess[i], now))
      return (long)i;
  if (n->nsess >= n->cfg.sessions_max)
    return -1;
  if (n->nsess == n->sess_cap) {
    size_t nc = n->sess_cap ? n->sess_cap * 2 : 16;
    sim_nat_session *ns = realloc(n->sess, nc * sizeof(*ns));
    if (!ns)
      return -1;
    n->sess = ns;
    n->sess_cap = nc;
  }
  return (long)n->nsess++;
}

static long find_session(const sim_nat *n, uint32_t mapping, uint32_t rip,
                         uint16_t rport, lp2p_tstamp now) {
  for (size_t i = 0; i < n->nsess; i++) {
    const sim_nat_session *s = &n->sess[i];
    if (s->mapping == mapping && s->remote_ip == rip &&
        s->remote_port == rport && sess_alive(n, s, now))
      return (long)i;
  }
  return -1;
}

static long new_session(sim_nat *n, uint32_t mapping, uint32_t rip,
                        uint16_t rport, lp2p_tstamp now) {
  long i = slot_session(n, now);
  if (i < 0)
    return -1;
  sim_nat_session *s = &n->sess[i];
  memset(s, 0, sizeof(*s));
  s->live = 1;
  s->mapping = mapping;
  s->remote_ip = rip;
  s->remote_port = rport;
  s->expiry = now + 1; /* set properly by touch() */
  return i;
}

/* Updates the session's TCP state and refreshes it and its mapping. */
static void touch(sim_nat *n, sim_nat_session *s, const sim_pkt *p, int out,
                  lp2p_tstamp now) {
  uint64_t t;
  if (p->proto == SIM_TCP) {
    if (p->flags & SIM_F_SYN) {
      if (out)
        s->out_syn = 1;
      else
        s->in_syn = 1;
    }
    if (p->flags & (SIM_F_FIN | SIM_F_RST))
      s->closing = 1;
    t = (s->out_syn && s->in_syn && !s->closing) ? n->cfg.tcp_established_ns
                                                 : n->cfg.tcp_transitory_ns;
  } else {
    t = n->cfg.udp_timeout_ns;
  }
  if (out)
    s->seen_out = 1;
  else
    s->seen_in = 1;
  s->expiry = now + t;
  n->maps[s->mapping].expiry = map_expiry(n, s->mapping, now);
}

static void kill_session(sim_nat *n, sim_nat_session *s, lp2p_tstamp now) {
  s->live = 0;
  sim_nat_mapping *m = &n->maps[s->mapping];
  lp2p_tstamp mx = map_expiry(n, s->mapping, now);
  m->expiry = mx;
  if (mx <= now)
    m->live = 0;
}

/* Another mapping's live session of the same flow (internal endpoint of
 * `mapping`, remote): -1 if none, else its index. */
static long same_flow(const sim_nat *n, uint32_t mapping, uint32_t rip,
                      uint16_t rport, lp2p_tstamp now) {
  const sim_nat_mapping *m = &n->maps[mapping];
  for (size_t i = 0; i < n->nsess; i++) {
    const sim_nat_session *o = &n->sess[i];
    if (o->mapping == mapping || o->remote_ip != rip ||
        o->remote_port != rport || !sess_alive(n, o, now))
      continue;
    const sim_nat_mapping *om = &n->maps[o->mapping];
    if (om->proto == m->proto && om->int_ip == m->int_ip &&
        om->int_port == m->int_port)
      return (long)i;
  }
  return -1;
}

int sim_nat_outbound(sim_nat *n, sim_pkt *p, lp2p_tstamp now) {
  long mi = -1, si = -1;
  /* an existing flow keeps its mapping (conntrack) */
  for (size_t i = 0; i < n->nsess && si < 0; i++) {
    const sim_nat_session *s = &n->sess[i];
    if (s->remote_ip != p->dst_ip || s->remote_port != p->dst_port ||
        !sess_alive(n, s, now))
      continue;
    const sim_nat_mapping *m = &n->maps[s->mapping];
    if (m->proto == p->proto && m->int_ip == p->src_ip &&
        m->int_port == p->src_port) {
      si = (long)i;
      mi = (long)s->mapping;
    }
  }
  if (mi < 0) {
    uint32_t kip = n->cfg.mapping == LP2P_SIM_MAP_EI ? 0 : p->dst_ip;
    uint16_t kport = n->cfg.mapping == LP2P_SIM_MAP_APD ? p->dst_port : 0;
    for (size_t i = 0; i < n->nmaps; i++) {
      const sim_nat_mapping *m = &n->maps[i];
      if (m->proto == p->proto && m->int_ip == p->src_ip &&
          m->int_port == p->src_port && m->key_ip == kip &&
          m->key_port == kport && map_alive(m, now)) {
        mi = (long)i;
        break;
      }
    }
    if (mi < 0) {
      uint16_t port = alloc_port(n, p->proto, p->src_port, now);
      if (!port)
        goto drop;
      mi = slot_mapping(n, now);
      if (mi < 0)
        goto drop;
      sim_nat_mapping *m = &n->maps[mi];
      memset(m, 0, sizeof(*m));
      m->live = 1;
      m->proto = p->proto;
      m->int_ip = p->src_ip;
      m->int_port = p->src_port;
      m->ext_port = port;
      m->key_ip = kip;
      m->key_port = kport;
      m->expiry = now + 1;
    }
    si = new_session(n, (uint32_t)mi, p->dst_ip, p->dst_port, now);
    if (si < 0) {
      if (n->maps[mi].expiry == now + 1) /* just made: undo */
        n->maps[mi].live = 0;
      goto drop;
    }
  }
  touch(n, &n->sess[si], p, 1, now);
  p->src_ip = n->ext_ip;
  p->src_port = n->maps[mi].ext_port;
  n->translated++;
  return SIM_NAT_FORWARD;
drop:
  n->dropped++;
  return SIM_NAT_DROP;
}

static int unsolicited(sim_nat *n, const sim_pkt *p) {
  n->dropped++;
  if (p->proto == SIM_TCP &&
      (p->flags & (SIM_F_SYN | SIM_F_ACK | SIM_F_RST)) == SIM_F_SYN &&
      n->cfg.syn_rst)
    return SIM_NAT_RST;
  return SIM_NAT_DROP;
}

int sim_nat_inbound(sim_nat *n, sim_pkt *p, lp2p_tstamp now) {
  if (p->dst_ip != n->ext_ip)
    return unsolicited(n, p);
  long mi = -1;
  for (size_t i = 0; i < n->nmaps; i++) {
    const sim_nat_mapping *m = &n->maps[i];
    if (m->ext_port == p->dst_port && m->proto == p->proto &&
        map_alive(m, now)) {
      mi = (long)i;
      break;
    }
  }
  if (mi < 0)
    return unsolicited(n, p);
  long si = find_session(n, (uint32_t)mi, p->src_ip, p->src_port, now);
  if (si < 0) {
    int admit = 0;
    if (n->cfg.filtering == LP2P_SIM_FILT_EI || fwd_open(&n->maps[mi], now)) {
      admit = 1;
    } else if (n->cfg.filtering == LP2P_SIM_FILT_AD) {
      for (size_t i = 0; i < n->nsess && !admit; i++) {
        const sim_nat_session *s = &n->sess[i];
        admit = s->mapping == (uint32_t)mi && s->remote_ip == p->src_ip &&
                sess_alive(n, s, now);
      }
    }
    if (!admit || (p->flags & SIM_F_RST))
      return unsolicited(n, p);
    /* The same flow already left through another mapping. If it was
     * answered there, this packet clashes with it (conntrack drops it);
     * if not (an unanswered SYN), the flow moves to the mapping the remote
     * side reached, so the reply leaves through that port. */
    long other;
    while ((other = same_flow(n, (uint32_t)mi, p->src_ip, p->src_port, now)) >=
           0) {
      if (n->sess[other].seen_in) {
        n->dropped++;
        return SIM_NAT_DROP;
      }
      kill_session(n, &n->sess[other], now);
    }
    si = new_session(n, (uint32_t)mi, p->src_ip, p->src_port, now);
    if (si < 0) {
      n->dropped++;
      return SIM_NAT_DROP;
    }
  }
  sim_nat_session *s = &n->sess[si];
  sim_nat_mapping *m = &n->maps[mi];
  p->dst_ip = m->int_ip;
  p->dst_port = m->int_port;
  n->translated++;
  if (p->proto == SIM_TCP && (p->flags & SIM_F_RST) && n->cfg.rst_deletes)
    kill_session(n, s, now); /* conntrack forgets the flow, and forwards */
  else
    touch(n, s, p, 0, now);
  return SIM_NAT_FORWARD;
}

/* ---- port forwards (the IGD's mappings) ----------------------------------- */

static long find_port(const sim_nat *n, uint8_t proto, uint16_t port,
                      lp2p_tstamp now) {
  for (size_t i = 0; i < n->nmaps; i++) {
    const sim_nat_mapping *m = &n->maps[i];
    if (m->ext_port == port && m->proto == proto && map_alive(m, now))
      return (long)i;
  }
  return -1;
}

int sim_nat_port_free(const sim_nat *n, uint8_t proto, uint16_t ext_port,
                      lp2p_tstamp now) {
  return ext_port != 0 && find_port(n, proto, ext_port, now) < 0;
}

int sim_nat_fwd_add(sim_nat *n, uint8_t proto, uint16_t ext_port,
                    uint32_t int_ip, uint16_t int_port, lp2p_tstamp until,
                    lp2p_tstamp now) {
  if (ext_port == 0 || until <= now)
    return LP2P_ERR_INVAL;
  long mi = find_port(n, proto, ext_port, now);
  if (mi >= 0) {
    sim_nat_mapping *m = &n->maps[mi];
    if (!m->fwd || m->int_ip != int_ip || m->int_port != int_port)
      return LP2P_ERR_INVAL;
    m->lease_until = until; /* renewal */
    m->expiry = map_expiry(n, (uint32_t)mi, now);
    return 0;
  }
  mi = slot_mapping(n, now);
  if (mi < 0)
    return LP2P_ERR_LIMIT;
  sim_nat_mapping *m = &n->maps[mi];
  memset(m, 0, sizeof(*m));
  m->live = 1;
  m->fwd = 1;
  m->proto = proto;
  m->int_ip = int_ip;
  m->int_port = int_port;
  m->ext_port = ext_port;
  m->lease_until = until;
  /* Sessions of an earlier mapping in this slot must not count. */
  for (size_t i = 0; i < n->nsess; i++)
    if (n->sess[i].mapping == (uint32_t)mi)
      n->sess[i].live = 0;
  m->expiry = until;
  return 0;
}

void sim_nat_fwd_del(sim_nat *n, uint8_t proto, uint16_t ext_port,
                     lp2p_tstamp now) {
  long mi = find_port(n, proto, ext_port, now);
  if (mi < 0 || !n->maps[mi].fwd)
    return;
  n->maps[mi].live = 0;
  for (size_t i = 0; i < n->nsess; i++)
    if (n->sess[i].mapping == (uint32_t)mi)
      n->sess[i].live = 0;
}

void sim_nat_reset(sim_nat *n) {
  for (size_t i = 0; i < n->nmaps; i++)
    n->maps[i].live = 0;
  for (size_t i = 0; i < n->nsess; i++)
    n->sess[i].live = 0;
}
