/** The host's counters (lp2p_host_stats). Part of lp2p/host.h. */
#ifndef LP2P_HOST_STATS_H
#define LP2P_HOST_STATS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- counters --------------------------------------------------------- */

/** Counters (monotonic unless noted). */
typedef struct lp2p_host_stats {
  uint32_t conns;            /**< current, all states */
  uint32_t conns_pending;    /**< current, dialing + upgrading */
  uint32_t conns_open;       /**< current */
  uint32_t streams;          /**< current */
  uint32_t peers;            /**< current peerstore entries */
  uint64_t inbound_refused;  /**< accepts refused by limits, all reasons
                                  (inbound_refused_* split them) */
  uint64_t conns_trimmed;    /**< closed by the connection manager (water
                                  marks, displacement, idle timeout) */
  uint64_t handshake_timeouts;
  uint64_t conns_failed;     /**< closed because of peer input / errors */
  uint64_t events_lost;
  uint64_t streams_refused;  /**< inbound streams reset by limits */

  /* pending connections and trimming (issue 9) */
  uint32_t conns_pending_inbound;  /**< current, upgrading inbound */
  uint32_t conns_pending_outbound; /**< current, our dials in flight */
  uint64_t inbound_refused_pending;  /**< inbound pending table full and
                                          every entry had sent bytes */
  uint64_t inbound_refused_ip;       /**< conns_pending_per_ip_max */
  uint64_t inbound_refused_ip_conns; /**< conns_per_ip_max (at accept or
                                          when the upgrade ends) */
  uint64_t inbound_refused_conns;    /**< conns_max, nothing to displace */
  uint64_t inbound_evicted_stale;    /**< pending inbound connections that
                                          had sent nothing, closed to make
                                          room for a newcomer */
  uint64_t inbound_progress_timeouts; /**< inbound connections that sent
                                           nothing within
                                           progress_timeout_ns */
  uint64_t conns_displaced;          /**< established connections closed at
                                          conns_max for a newcomer (also in
                                          conns_trimmed) */

  /* streams (issue 9); each refusal is in streams_refused too */
  uint64_t streams_refused_host;     /**< stream table or host-wide inbound
                                          budget full */
  uint64_t streams_refused_peer;     /**< the peer's cap, or its share of a
                                          crowded host-wide budget */
  uint64_t streams_refused_protocol; /**< a protocol's cap (host-wide or
                                          per peer) or its share of it */
  uint64_t streams_idle_closed;      /**< reset by the idle timeout */
  uint64_t streams_refused_outbound; /**< our opens refused by
                                          streams_outbound_per_peer_max
                                          (not in streams_refused) */
  /* resource manager (issue 9) */
  uint64_t memory_used;          /**< bytes granted to connections now */
  /* the system scope now (README "Limits") */
  uint32_t conns_inbound, conns_outbound; /**< established */
  uint32_t streams_inbound, streams_outbound;
  uint32_t fds;                  /**< socket connections, pending included */
  uint64_t conns_refused_memory; /**< no base grant left: refused */
  uint64_t memory_grow_refused;  /**< a grant could not grow */
  uint64_t conns_gated;          /**< refused by the connection gater (an
                                      address rule at accept, also in
                                      inbound_refused; a peer rule after
                                      the handshake) */
} lp2p_host_stats;
LP2P_API void lp2p_host_stats_get(const lp2p_host *h, lp2p_host_stats *out);

#ifdef __cplusplus
}
#endif
#endif
