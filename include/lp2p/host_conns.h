/** Facts about one of the host's connections. Part of lp2p/host.h. */
#ifndef LP2P_HOST_CONNS_H
#define LP2P_HOST_CONNS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- connections -------------------------------------------------------- */

typedef enum lp2p_host_conn_state {
  LP2P_CONN_DIALING = 1,  /**< DIAL io issued */
  LP2P_CONN_UPGRADING,    /**< security / muxer negotiation */
  LP2P_CONN_OPEN,         /**< yamux up, peer known */
  LP2P_CONN_CLOSING       /**< GoAway sent, draining */
} lp2p_host_conn_state;

typedef struct lp2p_host_conn_info {
  lp2p_host_conn_state state;
  int direction;
  lp2p_peerid peer;       /**< empty before the upgrade */
  lp2p_sockaddr remote;   /**< socket connections (family 0 when carried) */
  lp2p_sockaddr local;
  lp2p_maddr remote_addr; /**< the remote endpoint as a multiaddr: the
                               socket address, or for a connection carried
                               in a stream (a relayed circuit) what its
                               carrier named, e.g. /p2p/R/p2p-circuit */
  int carried;            /**< 1: runs inside a stream of another conn */
  int limited;            /**< 1: under a data or time budget (relayed);
                               only protocols allowed on limited
                               connections run on it */
  uint32_t streams;       /**< open streams */
  lp2p_tstamp opened;     /**< when the socket was established/accepted */
  uint64_t limit_bytes_left; /**< limited: data budget left, both ways
                                  together (UINT64_MAX: none) */
  lp2p_tstamp limit_deadline; /**< limited: when the time budget ends
                                  (LP2P_TSTAMP_NONE: none) */
} lp2p_host_conn_info;
/** Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_conn_info_get(const lp2p_host *h, uint64_t conn,
                                     lp2p_host_conn_info *out);
/** Number of established (OPEN) connections to `peer`. */
LP2P_API size_t lp2p_host_peer_conn_count(const lp2p_host *h,
                                          const lp2p_peerid *peer);

#ifdef __cplusplus
}
#endif
#endif
