/* The built-in services, their config defaults and lp2p_host_new: the one
 * place that knows both the host and its services, one layer above each,
 * so the host core never names a service (arrows point down only:
 * services -> host, this file -> both). A new protocol is one folder in proto/ plus one line here. The
 * order is the registration order (identify first: it answers before
 * anything else asks). */
#include "proto/host/host_internal.h"

extern const hsvc_ops host_svc_identify_ops;
extern const hsvc_ops host_svc_ping_ops;
extern const hsvc_ops host_svc_perf_ops;
extern const hsvc_ops host_svc_echo_ops;
extern const hsvc_ops host_svc_dns_ops;
extern const hsvc_ops host_svc_relay_ops;
extern const hsvc_ops host_svc_dcutr_ops;
extern const hsvc_ops host_svc_autonat_ops;
extern const hsvc_ops host_svc_kad_ops;
extern const hsvc_ops host_svc_portmap_ops;
extern const hsvc_ops host_svc_nat_ops;

static const hsvc_ops *const builtin[] = {
    &host_svc_identify_ops,
    &host_svc_ping_ops,
    &host_svc_perf_ops,
    &host_svc_echo_ops,
    &host_svc_dns_ops, /* resolves dials to /dns* names */
    &host_svc_relay_ops, /* circuit relay v2: dials to /p2p-circuit */
    &host_svc_dcutr_ops, /* hole punching over relayed connections */
    &host_svc_autonat_ops, /* AutoNAT v2 client and server */
    &host_svc_kad_ops, /* Kademlia DHT (mode off unless configured) */
    &host_svc_portmap_ops, /* UPnP IGD / PCP / NAT-PMP port mapping */
    &host_svc_nat_ops, /* NAT classification: observations, STUN */
};

/* The core's defaults, then each service's (their config structs are
 * nested in lp2p_host_config). */
void lp2p_host_config_default(lp2p_host_config *cfg) {
  if (!cfg)
    return;
  host_config_default(cfg);
  cfg->identify.auto_identify = 1;
  cfg->identify.msg_bytes_max = 8192;
  cfg->identify.timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->ping.serve = 1;
  cfg->ping.streams_per_peer_max = 2;
  cfg->ping.timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->perf.serve = 1;
  cfg->echo.serve = 1;
  lp2p_dns_config_default(&cfg->dns);
  /* relay: go-libp2p's resources.go defaults (DefaultResources) */
  cfg->relay.hop = 0;
  cfg->relay.stop = 1;
  cfg->relay.reservation_ttl_ns = 3600 * LP2P_NS_PER_S;
  cfg->relay.reservations_max = 128;
  cfg->relay.reservations_per_ip_max = 8;
  cfg->relay.circuits_max = 1024;
  cfg->relay.circuits_per_peer_max = 16;
  cfg->relay.limit_duration_ns = 120 * LP2P_NS_PER_S;
  cfg->relay.limit_data_bytes = 128 * 1024;
  cfg->relay.refresh_before_ns = 300 * LP2P_NS_PER_S;
  cfg->relay.request_timeout_ns = 30 * LP2P_NS_PER_S;
  cfg->relay.autorelay = LP2P_AUTORELAY_OFF;
  cfg->dcutr.enabled = 0;
  lp2p_dcutr_config_default(&cfg->dcutr.engine);
  cfg->dcutr.relayed_idle_close_ns = 10 * LP2P_NS_PER_S;
  cfg->dcutr.retry_max_ns = 600 * LP2P_NS_PER_S;
  cfg->dcutr.resyn_delay_ns = 20 * LP2P_NS_PER_MS;
  cfg->relay.autorelay_reservations = 2;
  cfg->relay.autorelay_backoff_ns = 60 * LP2P_NS_PER_S;
  cfg->autonat.client = 1;
  cfg->autonat.server = 0;
  lp2p_autonat_client_config_default(&cfg->autonat.c);
  lp2p_autonat_server_config_default(&cfg->autonat.s);
  lp2p_kad_config_default(&cfg->kad);
  lp2p_portmap_config_default(&cfg->portmap);
  cfg->nat.observe = 1;
  cfg->nat.observations_max = 16;
  cfg->nat.nstun = 0;
  lp2p_stun_config_default(&cfg->nat.stun_cfg);
}

int lp2p_host_new(lp2p_host **out, const lp2p_host_config *cfg,
                  const lp2p_mem *mem, const lp2p_rng *rng, lp2p_tstamp now) {
  int rc = host_create(out, cfg, mem, rng, now);
  if (rc)
    return rc;
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
    rc = host_svc_register(*out, builtin[i], NULL);
    if (rc) {
      lp2p_host_free(*out);
      *out = NULL;
      return rc;
    }
  }
  return 0;
}
