/** The host's circuit relay v2 client: reservations and our relayed
 * addresses. Part of lp2p/host.h. */
#ifndef LP2P_HOST_RELAY_H
#define LP2P_HOST_RELAY_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- circuit relay v2 (proto/relay) ------------------------------------- */

/** Reserve a slot on `relay` (connected, or known to the peerstore: it is
 * dialled) and keep it: refreshed before it expires, RELAY_RESERVED each
 * time, RELAY_RESERVATION_LOST when the relay refuses or goes. Returns 0
 * or INVAL, UNSUPPORTED (no relay service), LIMIT (16 relays at most),
 * NOT_FOUND (no connection and no address). */
LP2P_API int lp2p_host_relay_reserve(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *relay);
/** Tell AutoRelay (relay.autorelay = LP2P_AUTORELAY_PRIVATE) whether the
 * host is privately reachable only (AutoNAT's verdict feeds it): private
 * starts reserving, public drops what AutoRelay reserved. Returns 0 or
 * INVAL, UNSUPPORTED. */
LP2P_API int lp2p_host_relay_set_private(lp2p_host *h, lp2p_tstamp now,
                                         int is_private);
/** Our /p2p-circuit addresses from the active reservations
 * (<relay addr>/p2p/<relay>/p2p-circuit/p2p/<us>); `*n` gets the total. */
LP2P_API int lp2p_host_relay_addrs(const lp2p_host *h, lp2p_maddr *out,
                                   size_t cap, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
