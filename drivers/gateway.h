/* The default gateway for the host's port-mapping service, read by
 * drivers (proto/ opens no file). */
#ifndef LP2P_DRIVERS_GATEWAY_H
#define LP2P_DRIVERS_GATEWAY_H

#include "lp2p/host.h"

/* Find the IPv4 default route in /proc/net/route (env LP2P_PROC_NET_ROUTE
 * names another file, for tests) and our address towards it (a connected
 * UDP socket's name: no packet is sent) and hand both to the host
 * (lp2p_host_portmap_set_gateway). A gateway set in the host's config
 * wins; nothing happens without a default route. */
void drv_gateway_configure(lp2p_host *h);

/* Parse /proc/net/route text: the gateway of the first default route
 * (destination 0, flags RTF_UP|RTF_GATEWAY). Returns 0 or -1. */
int drv_gateway_parse(const char *text, size_t len, uint8_t ip[4]);

#endif
