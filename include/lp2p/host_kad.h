/** The host's Kademlia DHT: queries, their results, the routing table.
 * Part of lp2p/host.h. */
#ifndef LP2P_HOST_KAD_H
#define LP2P_HOST_KAD_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"
#include "lp2p/kad.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Kademlia DHT (proto/kad, config `kad`) ------------------------------ */

/** Queries (kad-dht spec "Peer routing", "Value storage", "Content
 * provider"). Each returns 0 and a query id, or INVAL, UNSUPPORTED (mode
 * OFF), LIMIT (queries_max unfinished), NOMEM. The query starts from the
 * routing table's closest peers; it runs until KAD_QUERY_DONE, after
 * which its results stay readable until lp2p_host_kad_query_free (or
 * until room is needed for a new query: the oldest finished goes). */
/** Dial every bootstrap peer of the config now (tagging them, see
 * lp2p_kad_config.protect_bootstrap); the first `cap` dial ids go to
 * `dials` (may be NULL), each ends in DIAL_DONE or DIAL_FAILED, and `*n`
 * (may be NULL) gets how many dials started. Returns 0 or
 * LP2P_ERR_UNSUPPORTED (mode OFF), LP2P_ERR_NOT_FOUND (no bootstrap
 * list), or the first dial error when none started. */
LP2P_API int lp2p_host_kad_bootstrap(lp2p_host *h, lp2p_tstamp now,
                                     uint64_t *dials, size_t cap, size_t *n);
/** FIND_NODE for a peer, ending once the peer is seen. */
LP2P_API int lp2p_host_kad_find_peer(lp2p_host *h, lp2p_tstamp now,
                                     const lp2p_peerid *peer, uint64_t *q);
/** The k closest peers to key[0..n) (a full FIND_NODE lookup). */
LP2P_API int lp2p_host_kad_closest(lp2p_host *h, lp2p_tstamp now,
                                   const uint8_t *key, size_t n, uint64_t *q);
/** GET_VALUE: the best valid value (the local store answers too). */
LP2P_API int lp2p_host_kad_get(lp2p_host *h, lp2p_tstamp now,
                               const uint8_t *key, size_t n, uint64_t *q);
/** PUT_VALUE to the k closest (validated first: the validator's error
 * otherwise); stored locally too in server mode. */
LP2P_API int lp2p_host_kad_put(lp2p_host *h, lp2p_tstamp now,
                               const uint8_t *key, size_t n,
                               const uint8_t *val, size_t val_len,
                               uint64_t *q);
/** ADD_PROVIDER (us, with our advertised addresses) to the k closest of
 * the multihash key[0..n). */
LP2P_API int lp2p_host_kad_provide(lp2p_host *h, lp2p_tstamp now,
                                   const uint8_t *key, size_t n, uint64_t *q);
/** GET_PROVIDERS for the multihash key[0..n). */
LP2P_API int lp2p_host_kad_providers(lp2p_host *h, lp2p_tstamp now,
                                     const uint8_t *key, size_t n,
                                     uint64_t *q);

typedef struct lp2p_kad_query_info {
  uint32_t type;       /**< LP2P_KAD_* */
  int done;
  int err;             /**< once done: 0 or NOT_FOUND */
  uint32_t target_hops; /**< find-peer: hops of the chain that found it */
  int target_found;
  size_t stored;       /**< put / provide: peers that accepted */
  lp2p_kad_query_stats stats;
  /* get, once done: entry corrections (spec "Entry correction": a
   * PUT_VALUE of the best record to each of the k closest that answered
   * with an older value or none) */
  size_t corrections;         /**< sent */
  size_t corrections_done;    /**< answered */
  size_t corrections_pending; /**< still running */
} lp2p_kad_query_info;
/** Returns 0 or NOT_FOUND (no such query). */
LP2P_API int lp2p_host_kad_query_info(const lp2p_host *h, uint64_t q,
                                      lp2p_kad_query_info *out);
/** The i-th closest peer that answered, closest first. 1 or 0. */
LP2P_API int lp2p_host_kad_query_peer(const lp2p_host *h, uint64_t q,
                                      size_t i, lp2p_peerid *peer,
                                      uint32_t *hops);
/** get: the value found (valid until the query is freed), or NULL. */
LP2P_API const uint8_t *lp2p_host_kad_query_value(const lp2p_host *h,
                                                  uint64_t q, size_t *len);
/** providers: the i-th provider and its j-th address. */
LP2P_API int lp2p_host_kad_query_provider(const lp2p_host *h, uint64_t q,
                                          size_t i, lp2p_peerid *peer,
                                          size_t *naddrs);
LP2P_API int lp2p_host_kad_query_provider_addr(const lp2p_host *h,
                                               uint64_t q, size_t i,
                                               size_t j, lp2p_maddr *out);
/** Stop (if running) and forget a query. */
LP2P_API void lp2p_host_kad_query_free(lp2p_host *h, uint64_t q);
/** Peers in the routing table (0 when the service is off). */
LP2P_API size_t lp2p_host_kad_table_size(const lp2p_host *h);
/** Up to `cap` routing-table peers closest to key[0..n). */
LP2P_API size_t lp2p_host_kad_table_closest(const lp2p_host *h,
                                            const uint8_t *key, size_t n,
                                            lp2p_peerid *out, size_t cap);
/** Stored values and provider keys (for tests and stats). */
LP2P_API size_t lp2p_host_kad_records_count(const lp2p_host *h);
LP2P_API size_t lp2p_host_kad_provider_keys(const lp2p_host *h);

#ifdef __cplusplus
}
#endif
#endif
