/* The portmap service's configuration defaults, names, and which external
 * addresses count as private (lp2p/portmap.h). */
#include <string.h>

#include "lp2p/portmap.h"

void lp2p_portmap_config_default(lp2p_portmap_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->method = LP2P_PORTMAP_OFF;
  cfg->lease_s = 3600;
  cfg->conflict_tries_max = 4;
  cfg->mappings_max = 8;
  cfg->ssdp_wait_ns = 2 * LP2P_NS_PER_S;
  cfg->http_timeout_ns = 5 * LP2P_NS_PER_S;
  cfg->retry_ns = 600 * LP2P_NS_PER_S;
}

static const char *const method_names[] = {"off", "auto", "upnp", "pcp",
                                           "natpmp"};

const char *lp2p_portmap_method_name(lp2p_portmap_method m) {
  if ((unsigned)m < sizeof method_names / sizeof method_names[0])
    return method_names[m];
  return "unknown";
}

int lp2p_portmap_method_parse(const char *s, lp2p_portmap_method *out) {
  if (!s || !out)
    return LP2P_ERR_INVAL;
  for (unsigned i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
    if (strcmp(s, method_names[i]) == 0) {
      *out = (lp2p_portmap_method)i;
      return 0;
    }
  return LP2P_ERR_INVAL;
}

const char *lp2p_portmap_reason_name(lp2p_portmap_reason r) {
  switch (r) {
  case LP2P_PORTMAP_R_NONE: return "none";
  case LP2P_PORTMAP_R_NO_GATEWAY: return "no-gateway";
  case LP2P_PORTMAP_R_TIMEOUT: return "timeout";
  case LP2P_PORTMAP_R_REFUSED: return "refused";
  case LP2P_PORTMAP_R_UNSUPPORTED: return "unsupported";
  case LP2P_PORTMAP_R_DOUBLE_NAT: return "double-nat";
  case LP2P_PORTMAP_R_CONFLICT: return "conflict";
  case LP2P_PORTMAP_R_NO_LOCAL: return "no-local-address";
  case LP2P_PORTMAP_R_EPOCH: return "epoch";
  case LP2P_PORTMAP_R_RENEWAL: return "renewal";
  }
  return "unknown";
}

int lp2p_portmap_ip4_is_private(const uint8_t ip[4]) {
  return ip[0] == 0 || ip[0] == 10 || ip[0] == 127 ||
         (ip[0] == 100 && (ip[1] & 0xc0) == 64) || /* RFC 6598 CGNAT */
         (ip[0] == 169 && ip[1] == 254) ||
         (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
         (ip[0] == 192 && ip[1] == 168);
}
