/* The system's resolver files, read by drivers (proto/ opens no file). */
#ifndef LP2P_DRIVERS_DNS_FILES_H
#define LP2P_DRIVERS_DNS_FILES_H

#include "lp2p/host.h"

/* Read the hosts file and resolv.conf once and hand them to the host's DNS
 * service (lp2p_host_dns_configure). The paths are the system's; the
 * environment variables LP2P_HOSTS and LP2P_RESOLV_CONF name other files
 * (tests). A missing file counts as empty. */
void drv_dns_configure(lp2p_host *h);

#endif
