/** The host's peerstore: addresses, keys, identify data and protection
 * tags of other peers. Part of lp2p/host.h. */
#ifndef LP2P_HOST_PEERSTORE_H
#define LP2P_HOST_PEERSTORE_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- peerstore ---------------------------------------------------------- */

/** Add a dialable address for `peer` (a trailing /p2p is stripped) with a
 * time to live (0 = permanent). Returns 0 or LP2P_ERR_LIMIT, LP2P_ERR_NOMEM,
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_host_peer_addr_add(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *peer,
                                     const lp2p_maddr *ma, uint64_t ttl_ns);
/** Protection tags (bits; go-libp2p's ConnManager.Protect takes a string
 * tag, this a bit). A peer holding any is never evicted from the
 * peerstore, and its connections are never trimmed nor displaced by the
 * connection manager. */
#define LP2P_PEER_TAG_KAD_BOOTSTRAP 0x01u /**< a DHT bootstrap peer (kad) */
#define LP2P_PEER_TAG_APP 0x80u           /**< free for the application */
/** Set (`on` 1) or clear one protection tag of `peer` (the peer is created
 * in the peerstore when needed). Returns 0 or LP2P_ERR_INVAL (tag 0 or
 * above 0xff), LP2P_ERR_LIMIT (peerstore full of connected or protected
 * peers), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_peer_protect(lp2p_host *h, const lp2p_peerid *peer,
                                    uint32_t tag, int on);
/** The peer's protection tags (0: none, or unknown peer). */
LP2P_API uint32_t lp2p_host_peer_protected(const lp2p_host *h,
                                           const lp2p_peerid *peer);
/** Copy up to `cap` unexpired addresses of `peer` into out; `*n` gets the
 * total number known. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_addrs(const lp2p_host *h, lp2p_tstamp now,
                                  const lp2p_peerid *peer, lp2p_maddr *out,
                                  size_t cap, size_t *n);
/** The peer's public key (from the handshake or identify). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_pubkey(const lp2p_host *h, const lp2p_peerid *peer,
                                   lp2p_pubkey *out);
/** identify agentVersion / protocolVersion (NUL-terminated, valid until the
 * next call into the host), or NULL when unknown. */
LP2P_API const char *lp2p_host_peer_agent(const lp2p_host *h,
                                          const lp2p_peerid *peer);
LP2P_API const char *lp2p_host_peer_protocol_version(const lp2p_host *h,
                                                     const lp2p_peerid *peer);
/** Number of protocols the peer announced, and the i-th (NUL-terminated,
 * valid until the next call into the host; NULL when out of range). */
LP2P_API size_t lp2p_host_peer_protocol_count(const lp2p_host *h,
                                              const lp2p_peerid *peer);
LP2P_API const char *lp2p_host_peer_protocol(const lp2p_host *h,
                                             const lp2p_peerid *peer,
                                             size_t i);
/** 1 if identify said the peer supports `protocol`. */
LP2P_API int lp2p_host_peer_supports(const lp2p_host *h,
                                     const lp2p_peerid *peer,
                                     const char *protocol);
/** The address the peer observed for us in its last identify. Returns 0
 * or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_peer_observed_addr(const lp2p_host *h,
                                          const lp2p_peerid *peer,
                                          lp2p_maddr *out);

#ifdef __cplusplus
}
#endif
#endif
