/* NAT behaviour from observed addresses, sequential port prediction, and
 * the punch verdict (include/lp2p/natclass.h). Terms follow RFC 4787
 * sections 4.1 (mapping) and 5 (filtering); the verdict rules are the ones
 * measured through Linux NAT boxes in DESIGN.md section 5b. */
#include <string.h>

#include "lp2p/natclass.h"

const char *lp2p_nat_behaviour_name(lp2p_nat_behaviour b) {
  switch (b) {
  case LP2P_NAT_NONE: return "none";
  case LP2P_NAT_ENDPOINT_INDEPENDENT: return "endpoint-independent";
  case LP2P_NAT_ADDRESS_DEPENDENT: return "address-dependent";
  case LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT: return "address-and-port-dependent";
  case LP2P_NAT_UNKNOWN: break;
  }
  return "unknown";
}

void lp2p_nat_class_unknown(lp2p_nat_class *c) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
  c->preserves_port = -1;
}

static size_t ip_len(int family) { return family == 6 ? 16 : 4; }

static int same_ip(int family, const uint8_t *a, const uint8_t *b) {
  return memcmp(a, b, ip_len(family)) == 0;
}

static int same_flow(const lp2p_nat_obs *a, const lp2p_nat_obs *b) {
  return a->family == b->family && a->udp == b->udp &&
         a->local_port == b->local_port;
}

static int same_mapping(const lp2p_nat_obs *a, const lp2p_nat_obs *b) {
  return a->observed_port == b->observed_port &&
         same_ip(a->family, a->observed_ip, b->observed_ip);
}

int lp2p_natclass_classify(const lp2p_nat_obs *obs, size_t n,
                           lp2p_natclass_result *r) {
  if (!r || (!obs && n))
    return LP2P_ERR_INVAL;
  memset(r, 0, sizeof *r);
  lp2p_nat_class_unknown(&r->cls);
  for (size_t i = 0; i < n; i++)
    if (obs[i].family != 4 && obs[i].family != 6)
      return LP2P_ERR_INVAL;
  /* Pairwise over observations of one flow (same transport and local
   * port): pairs from different observer IPs tell EIM from per-destination
   * mapping; pairs from one observer IP with different ports tell ADM from
   * APDM. Quadratic, so callers keep n small (a few dozen peers). */
  size_t ip_agree = 0, ip_disagree = 0, port_agree = 0, port_disagree = 0;
  size_t preserved = 0, not_preserved = 0;
  for (size_t i = 0; i < n; i++) {
    if (obs[i].observed_port == obs[i].local_port)
      preserved++;
    else
      not_preserved++;
    for (size_t j = i + 1; j < n; j++) {
      if (!same_flow(&obs[i], &obs[j]))
        continue;
      int mapped_same = same_mapping(&obs[i], &obs[j]);
      if (!same_ip(obs[i].family, obs[i].observer_ip, obs[j].observer_ip)) {
        if (mapped_same)
          ip_agree++;
        else
          ip_disagree++;
      } else if (obs[i].observer_port != obs[j].observer_port) {
        if (mapped_same)
          port_agree++;
        else
          port_disagree++;
      }
    }
  }
  r->agree = ip_agree;
  r->disagree = ip_disagree;
  if (ip_agree > ip_disagree)
    r->cls.mapping = LP2P_NAT_ENDPOINT_INDEPENDENT;
  else if (ip_disagree > ip_agree)
    r->cls.mapping = port_disagree > port_agree
                         ? LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT
                     : port_agree > port_disagree
                         ? LP2P_NAT_ADDRESS_DEPENDENT
                         /* no same-IP evidence: the weaker claim that
                          * still makes punches against port filters
                          * hopeless; APDM is the common Linux default */
                         : LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
  if (n)
    r->cls.preserves_port = not_preserved == 0 ? 1 : 0;
  /* The external IP most observers report (first one on ties). */
  size_t best = 0, best_votes = 0;
  for (size_t i = 0; i < n; i++) {
    size_t votes = 0;
    for (size_t j = 0; j < n; j++)
      if (obs[j].family == obs[i].family &&
          same_ip(obs[i].family, obs[i].observed_ip, obs[j].observed_ip))
        votes++;
    if (votes > best_votes) {
      best = i;
      best_votes = votes;
    }
  }
  if (n) {
    r->external_family = obs[best].family;
    memcpy(r->external_ip, obs[best].observed_ip, 16);
    if (r->cls.mapping == LP2P_NAT_ENDPOINT_INDEPENDENT)
      r->external_port = obs[best].observed_port;
  }
  /* Sequential allocation: the observed ports of one local port's
   * per-destination mappings, in observation order. Each mapping counts
   * once: an address-dependent mapping is reused for a second port of the
   * same observer. */
  if (r->cls.mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
      r->cls.mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT) {
    uint16_t ports[32];
    size_t np = 0;
    for (size_t i = 0; i < n && np < 32; i++) {
      if (!same_flow(&obs[i], &obs[0]))
        continue;
      int seen = 0;
      for (size_t k = 0; k < np && !seen; k++)
        seen = ports[k] == obs[i].observed_port;
      if (!seen)
        ports[np++] = obs[i].observed_port;
    }
    uint16_t stride = 0, next;
    if (lp2p_natclass_predict_ports(ports, np, &next, 1, &stride) == 1) {
      r->cls.sequential = 1;
      r->cls.port_stride = stride;
    }
  }
  (void)preserved;
  return 0;
}

size_t lp2p_natclass_predict_ports(const uint16_t *ports, size_t n,
                                   uint16_t *out, size_t k, uint16_t *stride) {
  if (stride)
    *stride = 0;
  /* Two ports make one step, which any random allocator produces now and
   * then; two steps in range is the least evidence we act on. */
  if (!ports || n < 3)
    return 0;
  unsigned smallest = LP2P_NAT_STRIDE_MAX + 1;
  for (size_t i = 1; i < n; i++) {
    if (ports[i] <= ports[i - 1])
      return 0;
    unsigned step = (unsigned)ports[i] - ports[i - 1];
    if (step > LP2P_NAT_STRIDE_MAX)
      return 0;
    if (step < smallest)
      smallest = step;
  }
  if (stride)
    *stride = (uint16_t)smallest;
  size_t m = 0;
  uint32_t p = ports[n - 1];
  for (size_t i = 0; i < k && out; i++) {
    p += smallest;
    if (p >= 65535u)
      break;
    out[m++] = (uint16_t)p;
  }
  return m;
}

const char *lp2p_punch_reason_name(lp2p_punch_reason r) {
  switch (r) {
  case LP2P_PUNCH_OK: return "ok";
  case LP2P_PUNCH_NO_PUBLIC_ADDR_OURS: return "no-public-address-ours";
  case LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS: return "no-public-address-theirs";
  case LP2P_PUNCH_BOTH_ADDR_DEPENDENT: return "both-address-dependent";
  case LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER:
    return "address-dependent-vs-port-filter";
  case LP2P_PUNCH_TIMEOUT: return "timeout";
  case LP2P_PUNCH_REFUSED: return "refused";
  case LP2P_PUNCH_PROTOCOL: return "protocol-error";
  case LP2P_PUNCH_TOO_MANY_ATTEMPTS: return "too-many-attempts";
  case LP2P_PUNCH_STREAM_CLOSED: return "stream-closed";
  case LP2P_PUNCH_UNSUPPORTED: return "dcutr-unsupported";
  case LP2P_PUNCH_UNREACHABLE: return "unreachable";
  }
  return "unknown";
}

static int per_destination(const lp2p_nat_class *c) {
  return c->mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
         c->mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
}

static int dependent(const lp2p_nat_class *c) {
  return (c->mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
          c->mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT) &&
         !c->sequential;
}

/* Whether X's NAT surely drops Y's SYN (RFC 4787 section 5, RFC 5382).
 * Y's SYN is aimed at X's observed endpoint, the mapping X's connection
 * to the relay uses, and comes from Y's new mapping toward X; X's own SYN
 * went to Y's observed endpoint:
 *  - EIF admits it;
 *  - ADF admits it when X maps endpoint-independently (the relay-seen
 *    mapping is the one that sent to Y's IP);
 *  - APDF also needs Y to map endpoint-independently (Y's SYN must come
 *    from the port X sent to).
 * Unknown behaviours, and sequential allocation (its ports are
 * predicted), are never "surely". With complete classes the verdict is
 * exactly the RFC oracle of the simulator's tcp-punch-matrix. */
static int surely_drops(const lp2p_nat_class *x, const lp2p_nat_class *y) {
  if (x->filtering == LP2P_NAT_ADDRESS_DEPENDENT)
    return dependent(x);
  if (x->filtering == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT)
    return dependent(x) || dependent(y);
  return 0;
}

lp2p_punch_reason lp2p_nat_punch_verdict(const lp2p_nat_class *ours,
                                         const lp2p_nat_class *theirs) {
  if (!ours || !theirs)
    return LP2P_PUNCH_OK;
  /* DESIGN 5b / natlab REPORT section 3: symmetric against symmetric
   * never punched, and neither did symmetric against a port-restricted
   * cone, in TCP or UDP, at any latency. */
  if (!surely_drops(ours, theirs) || !surely_drops(theirs, ours))
    return LP2P_PUNCH_OK;
  /* the name says what the NATs are, predictable or not */
  return per_destination(ours) && per_destination(theirs)
             ? LP2P_PUNCH_BOTH_ADDR_DEPENDENT
             : LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER;
}
