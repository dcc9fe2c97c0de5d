/** What the host's NAT service knows of our NAT. Part of lp2p/host.h. */
#ifndef LP2P_HOST_NAT_H
#define LP2P_HOST_NAT_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/natclass.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- NAT classification (proto/natclass) --------------------------------- */

/** What the NAT service knows: the class (observations for mapping,
 * port preservation and sequential allocation; STUN for filtering, and
 * for mapping while observations cannot tell), the external addresses
 * (the TCP one observers agree on when the mapping is endpoint-
 * independent, the STUN mapped UDP one), and where it came from. */
typedef struct lp2p_host_nat_info {
  lp2p_nat_class cls;
  lp2p_nat_behaviour obs_mapping;  /**< the evidence: observations' word */
  lp2p_nat_behaviour stun_mapping; /**< and STUN's (UDP) */
  size_t observations;       /**< observations kept */
  int stun_status;           /**< 1: STUN still running, 0 done, else the
                                  LP2P_ERR_* of the last server (or
                                  LP2P_ERR_NOT_FOUND: no STUN configured) */
  lp2p_maddr external[2];
  size_t nexternal;
} lp2p_host_nat_info;

/** Returns 0 or INVAL, UNSUPPORTED (no NAT service). */
LP2P_API int lp2p_host_nat_info_get(const lp2p_host *h,
                                    lp2p_host_nat_info *out);

#ifdef __cplusplus
}
#endif
#endif
