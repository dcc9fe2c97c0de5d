/** The host's port-mapping service inputs. Part of lp2p/host.h. */
#ifndef LP2P_HOST_PORTMAP_H
#define LP2P_HOST_PORTMAP_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- port mapping (proto/portmap) --------------------------------------- */

/** Tell the portmap service the default gateway (IPv4; lp2p_driver_new
 * reads it from /proc/net/route) and, when known, our address on its link
 * (`local` may be NULL). cfg.portmap.gateway / .local, when set, win over
 * these. A ladder that failed for want of a gateway starts again.
 * Returns 0 or INVAL, UNSUPPORTED (no portmap service). */
LP2P_API int lp2p_host_portmap_set_gateway(lp2p_host *h, lp2p_tstamp now,
                                           const lp2p_sockaddr *gateway,
                                           const lp2p_sockaddr *local);

#ifdef __cplusplus
}
#endif
#endif
