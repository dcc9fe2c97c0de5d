/* lp2p listen --portmap: ask the home router to forward our listen ports
 * (the host's portmap service: UPnP IGD, PCP, NAT-PMP) and say what it
 * got. The gateway comes from the driver (/proc/net/route). */
#include <stdio.h>

#include "tools/lp2p/listen_portmap.h"

int listen_portmap_opt(cli_ctx *ctx, const char *value, cli_connmgr *cm) {
  lp2p_portmap_method m = LP2P_PORTMAP_OFF;
  if (value && lp2p_portmap_method_parse(value, &m) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--portmap takes auto, upnp, pcp, natpmp or off");
  cm->portmap_method = (int)m;
  return 0;
}

int listen_portmap_event(const lp2p_host_event *ev, int events) {
  const uint8_t *ip = ev->u.portmap.external_ip;
  switch (ev->kind) {
  case LP2P_HOST_EV_PORT_MAPPED:
    printf("mapped /ip4/%u.%u.%u.%u/tcp/%u via %s\n", ip[0], ip[1], ip[2],
           ip[3], (unsigned)ev->u.portmap.external_port,
           lp2p_portmap_method_name(
               (lp2p_portmap_method)ev->u.portmap.method));
    break;
  case LP2P_HOST_EV_PORT_MAPPING_FAILED:
    if (events)
      printf("portmap-failed %s\n",
             lp2p_portmap_reason_name(
                 (lp2p_portmap_reason)ev->u.portmap.reason));
    break;
  case LP2P_HOST_EV_PORT_MAPPING_LOST:
    if (events)
      printf("portmap-lost %s\n",
             lp2p_portmap_reason_name(
                 (lp2p_portmap_reason)ev->u.portmap.reason));
    break;
  default:
    return 0;
  }
  fflush(stdout);
  return 1;
}
