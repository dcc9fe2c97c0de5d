/** The host's connection gater: allow and deny rules by peer id and by
 * address prefix. Part of lp2p/host.h. */
#ifndef LP2P_HOST_GATER_H
#define LP2P_HOST_GATER_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- connection gater (DESIGN.md 3a "Gating") ----------------------------
 * Rules are plain data (no callbacks). By address, before the handshake:
 * an inbound socket from a denied IP prefix is refused at
 * lp2p_host_conn_accepted (LP2P_ERR_DENIED; the driver closes it at once).
 * By peer id, right after the secure handshake and before the muxer is
 * up (so a refused peer never gets a stream): a peer with a deny rule is
 * refused in both directions; in LP2P_GATE_ALLOW_LISTED mode an inbound
 * connection from a peer without an allow rule is refused too (our own
 * dials are not gated by the mode). The connection ends with
 * PEER_DISCONNECTED (inbound, peer empty) or DIAL_FAILED, err
 * LP2P_ERR_DENIED, and counts in stats.conns_gated. Rules apply to
 * connections that finish their handshake after the call. */
#define LP2P_GATE_ALLOW_ALL 0    /**< any peer without a deny rule (default) */
#define LP2P_GATE_ALLOW_LISTED 1 /**< inbound: only peers with an allow rule */
/** Set the peer mode. Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_gate_mode(lp2p_host *h, int mode);
/** Add or replace the rule for `peer`: allow (1) or deny (0). Returns 0
 * or LP2P_ERR_INVAL, LP2P_ERR_LIMIT (gate_rules_max), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_gate_peer(lp2p_host *h, const lp2p_peerid *peer,
                                 int allow);
/** Remove the rule for `peer`. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_gate_peer_clear(lp2p_host *h,
                                       const lp2p_peerid *peer);
/** Deny inbound sockets from net/prefix_bits (family 4: 0..32, 6:
 * 0..128; the bits past the prefix are ignored). Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_LIMIT, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_gate_addr_deny(lp2p_host *h, const lp2p_sockaddr *net,
                                      unsigned prefix_bits);

#ifdef __cplusplus
}
#endif
#endif
