/** What every lp2p/host*.h piece names: the host handle, plain-data
 * socket addresses and the two directions. Part of lp2p/host.h, the one
 * header applications include. */
#ifndef LP2P_HOST_BASE_H
#define LP2P_HOST_BASE_H

#include "lp2p/common.h"
#include "lp2p/multiaddr.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- socket addresses as multiaddrs (lp2p_sockaddr: lp2p/sockaddr.h) --- */

/** Convert an /ip4/../tcp/.. or /ip6/../tcp/.. multiaddr (a trailing /p2p/..
 * is ignored) into `*out`. Returns 0 or LP2P_ERR_UNSUPPORTED (another
 * transport, e.g. /dns4 or /udp) or LP2P_ERR_INVAL. */
LP2P_API int lp2p_sockaddr_from_maddr(lp2p_sockaddr *out,
                                      const lp2p_maddr *ma);
/** Build /ip4/../tcp/<port> or /ip6/../tcp/<port> from `sa`. Returns 0 or
 * LP2P_ERR_INVAL (family not 4 or 6). */
LP2P_API int lp2p_sockaddr_to_maddr(lp2p_maddr *out, const lp2p_sockaddr *sa);

/* ---- the object handle ---------------------------------------------- */

typedef struct lp2p_host lp2p_host;

/** Direction of a connection or stream. */
#define LP2P_DIR_INBOUND 0
#define LP2P_DIR_OUTBOUND 1

#ifdef __cplusplus
}
#endif
#endif
