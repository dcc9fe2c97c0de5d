/** The host's address manager: its own addresses, what it advertises,
 * and AutoNAT's word on them. Part of lp2p/host.h. */
#ifndef LP2P_HOST_ADDRS_H
#define LP2P_HOST_ADDRS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- address manager ---------------------------------------------------- */

typedef enum lp2p_addr_kind {
  LP2P_ADDR_LISTEN = 1,   /**< from lp2p_host_listen (bound address) */
  LP2P_ADDR_ANNOUNCE,     /**< configured: when any exist, they replace the
                               listen addrs in what we advertise */
  LP2P_ADDR_NO_ANNOUNCE,  /**< configured: never advertised (filter) */
  LP2P_ADDR_OBSERVED,     /**< reported by peers through identify */
  LP2P_ADDR_INTERFACE,    /**< set by the driver: local interface IPs used to
                               expand unspecified (0.0.0.0, ::) listen addrs */
  LP2P_ADDR_RELAYED,      /**< ours through a relay we hold a reservation
                               on (<relay>/p2p/<R>/p2p-circuit): managed by
                               the relay service, always advertised */
  LP2P_ADDR_MAPPED        /**< a port mapping on our router
                               (/ip4/EXT/tcp/PORT): managed by the portmap
                               service, an AutoNAT candidate; status
                               UNCONFIRMED until AutoNAT finds it
                               reachable (then CONFIRMED, advertised);
                               without the AutoNAT client advertised on
                               the gateway's word */
} lp2p_addr_kind;

typedef enum lp2p_addr_status {
  LP2P_ADDR_PENDING = 1,  /**< listen requested, not bound yet */
  LP2P_ADDR_ACTIVE,       /**< bound / configured */
  LP2P_ADDR_FAILED,       /**< listen failed */
  LP2P_ADDR_UNCONFIRMED,  /**< observed by fewer than observed_confirm_min peers */
  LP2P_ADDR_CONFIRMED     /**< observed by enough distinct peers */
} lp2p_addr_status;

typedef struct lp2p_host_addr_info {
  lp2p_maddr addr;
  lp2p_addr_kind kind;
  lp2p_addr_status status;
  uint32_t observers;     /**< OBSERVED: distinct peers that reported it */
  uint64_t listener;      /**< LISTEN: listener id */
  int reachability;       /**< AutoNAT verdict: LP2P_AUTONAT_UNKNOWN,
                               _REACHABLE, _UNREACHABLE */
  lp2p_tstamp reachability_at; /**< when it was reached (NONE: never) */
} lp2p_host_addr_info;

/** Add an ANNOUNCE, NO_ANNOUNCE or INTERFACE address (other kinds are
 * managed by the host). ADDRESS_CHANGED and an identify push follow when
 * the advertised set changes. Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_LIMIT,
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_host_addr_add(lp2p_host *h, lp2p_tstamp now,
                                const lp2p_maddr *ma, lp2p_addr_kind kind);
/** Remove such an address. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_host_addr_remove(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_maddr *ma, lp2p_addr_kind kind);
/** Number of address manager entries, and the i-th. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API size_t lp2p_host_addr_count(const lp2p_host *h);
LP2P_API int lp2p_host_addr_get(const lp2p_host *h, size_t i,
                                lp2p_host_addr_info *out);
/** Ask the connected peer `peer` (an AutoNAT v2 server) whether it can
 * dial us on addrs[0..n) (priority order, at most LP2P_AUTONAT_ADDRS_MAX):
 * one AUTONAT_RESULT event with *id follows. Works with autonat.client 0
 * too (the dial-back protocol is always served). Returns 0 or
 * LP2P_ERR_INVAL, LP2P_ERR_NOT_FOUND (not connected), LP2P_ERR_NOMEM,
 * LP2P_ERR_LIMIT, LP2P_ERR_UNSUPPORTED. */
LP2P_API int lp2p_host_autonat_ask(lp2p_host *h, lp2p_tstamp now,
                                   const lp2p_peerid *peer,
                                   const lp2p_maddr *addrs, size_t n,
                                   uint64_t *id);
/** The host's overall AutoNAT verdict (LP2P_REACHABILITY_*). */
LP2P_API int lp2p_host_reachability(const lp2p_host *h);

/** What we advertise (identify listenAddrs, peer record): ANNOUNCE addrs if
 * any, else ACTIVE listen addrs (unspecified IPs expanded with INTERFACE
 * addrs, or kept as is when none are known), plus CONFIRMED observed addrs
 * if advertise_observed, plus RELAYED addrs and MAPPED ones AutoNAT
 * confirmed (all MAPPED ones with autonat.client 0); minus NO_ANNOUNCE.
 * Copies up to `cap` into out,
 * `*n` gets the total. Returns 0. */
LP2P_API int lp2p_host_addrs(const lp2p_host *h, lp2p_maddr *out, size_t cap,
                             size_t *n);

#ifdef __cplusplus
}
#endif
#endif
