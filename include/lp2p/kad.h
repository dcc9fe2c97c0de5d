/** Kademlia DHT engines (libp2p kad-dht spec, /ipfs/kad/1.0.0): the wire
 * codec, the routing table, the iterative query engine, the record and
 * provider stores, and pluggable record validators (/pk and /ipns built
 * in, see ipns.h). Each is pure: no host, no socket, no clock, no hidden
 * entropy; time and randomness come in as arguments. The DHT service glues
 * them to streams. */
#ifndef LP2P_KAD_H
#define LP2P_KAD_H

#include "lp2p/common.h"
#include "lp2p/multiaddr.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- defaults (why: see proto/kad/ file heads) ------------------------ */

/** Replication parameter k (spec "Replication parameter", go and js: 20). */
#define LP2P_KAD_K 20
/** Largest message, length prefix excluded (go: msgio 4 MiB, js: 4 MB). */
#define LP2P_KAD_MSG_MAX (4u << 20)
/** Provider records live 48 h (spec; go amino.DefaultProvideValidity). */
#define LP2P_KAD_PROVIDE_TTL_NS (48 * 3600 * LP2P_NS_PER_S)
/** Providers republish every 22 h (spec; go DefaultReprovideInterval). */
#define LP2P_KAD_REPROVIDE_INTERVAL_NS (22 * 3600 * LP2P_NS_PER_S)
/** Provider addresses are served for 24 h (go DefaultProviderAddrTTL). */
#define LP2P_KAD_PROVIDER_ADDR_TTL_NS (24 * 3600 * LP2P_NS_PER_S)
/** Stored values are dropped 48 h after they arrive (go
 * amino.DefaultMaxRecordAge; js kad-dht's MAX_RECORD_AGE, and go's before
 * amino, is 36 h: a record republished within 36 h is never missing from
 * either). */
#define LP2P_KAD_RECORD_MAX_AGE_NS (48 * 3600 * LP2P_NS_PER_S)
/** Routing table refresh period (spec "Bootstrap process": 10 min; go
 * RoutingTable.RefreshInterval). */
#define LP2P_KAD_REFRESH_INTERVAL_NS (600 * LP2P_NS_PER_S)

/* ---- keys and distance ------------------------------------------------ */

/** The Kademlia key of any byte string: SHA-256 of it (spec "Distance"). */
LP2P_API void lp2p_kad_key_hash(const uint8_t *key, size_t n, uint8_t out[32]);
/** Common prefix length of two hashed keys, 0..256. */
LP2P_API unsigned lp2p_kad_cpl(const uint8_t a[32], const uint8_t b[32]);
/** Compares XOR distances to `target`: <0 if a is closer, 0 same, >0. */
LP2P_API int lp2p_kad_dist_cmp(const uint8_t target[32], const uint8_t a[32],
                               const uint8_t b[32]);

/* ---- codec (proto/kad/kad_msg.c) --------------------------------------- */

enum {
  LP2P_KAD_PUT_VALUE = 0,
  LP2P_KAD_GET_VALUE = 1,
  LP2P_KAD_ADD_PROVIDER = 2,
  LP2P_KAD_GET_PROVIDERS = 3,
  LP2P_KAD_FIND_NODE = 4,
  LP2P_KAD_PING = 5
};
/** Peer.connection (spec ConnectionType). */
enum {
  LP2P_KAD_NOT_CONNECTED = 0,
  LP2P_KAD_CONNECTED = 1,
  LP2P_KAD_CAN_CONNECT = 2,
  LP2P_KAD_CANNOT_CONNECT = 3
};

/** A byte string; points into a buffer someone else owns. */
typedef struct lp2p_kad_bytes {
  const uint8_t *p;
  size_t n;
} lp2p_kad_bytes;

/** Message.Peer: `id` is the binary peer id (not checked by the codec),
 * `addrs` binary multiaddrs (not checked either). */
typedef struct lp2p_kad_peer {
  lp2p_kad_bytes id;
  const lp2p_kad_bytes *addrs;
  size_t addrs_n;
  uint8_t connection;
} lp2p_kad_peer;

/** Message. Every pointer refers into the decoded buffer (decode) or the
 * caller's data (encode). */
typedef struct lp2p_kad_msg {
  uint8_t type;               /**< LP2P_KAD_PUT_VALUE ... _PING */
  lp2p_kad_bytes key;
  int has_record;
  lp2p_kad_bytes rec_key, rec_value;
  lp2p_kad_bytes rec_time;    /**< timeReceived, RFC 3339 text */
  const lp2p_kad_peer *closer;
  size_t closer_n;
  const lp2p_kad_peer *providers;
  size_t providers_n;
} lp2p_kad_msg;

/** Caller storage for one decode: peers and addresses land here, never on
 * a heap. Peers past the capacities are skipped and counted (a peer that
 * answers with 10,000 closer peers is cut at closer_cap); so are addresses
 * past addrs_per_peer_max or the shared addrs pool. */
typedef struct lp2p_kad_msg_space {
  lp2p_kad_peer *closer;
  size_t closer_cap;
  lp2p_kad_peer *providers;
  size_t providers_cap;
  lp2p_kad_bytes *addrs;
  size_t addrs_cap;
  size_t addrs_per_peer_max;
  size_t peers_dropped; /**< out: peers skipped at the caps */
  size_t addrs_dropped; /**< out: addresses skipped at the caps */
} lp2p_kad_msg_space;

/** Decode one Message body (no length prefix) p[0..n) into `m`, using
 * `sp` for the peer lists. Unknown fields are skipped (clusterLevelRaw
 * too). Returns 0 or one of: LP2P_ERR_PARSE (malformed protobuf, a type
 * above PING, a Peer or Record that is not a valid submessage),
 * LP2P_ERR_LIMIT (n > LP2P_KAD_MSG_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_kad_msg_decode(lp2p_kad_msg *m, lp2p_kad_msg_space *sp,
                                 const uint8_t *p, size_t n);

/** Encode `m` with its unsigned-varint length prefix into out[0..cap).
 * `*len` gets the bytes written, or after LP2P_ERR_NOSPACE the bytes
 * needed (cap 0 measures). Returns 0 or one of: LP2P_ERR_NOSPACE,
 * LP2P_ERR_LIMIT (body above LP2P_KAD_MSG_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_kad_msg_encode(const lp2p_kad_msg *m, uint8_t *out,
                                 size_t cap, size_t *len);

/** Find one length-prefixed frame at the front of p[0..n): on success the
 * body is p[*body_off .. *body_off + *body_len) and the frame takes
 * *body_off + *body_len bytes. Returns 0, LP2P_ERR_TRUNCATED (need more
 * bytes), LP2P_ERR_LIMIT (prefix above `max`), or LP2P_ERR_PARSE (bad
 * varint). */
LP2P_API int lp2p_kad_frame(const uint8_t *p, size_t n, size_t max,
                            size_t *body_off, size_t *body_len);

/* ---- routing table (proto/kad/kad_table.c) ----------------------------- */

typedef struct lp2p_kad_table lp2p_kad_table;

typedef struct lp2p_kad_table_config {
  size_t k;                     /**< entries per bucket (20) */
  size_t replacements_max;      /**< replacement cache per bucket (k) */
  lp2p_tstamp ping_min_age_ns;  /**< only check peers silent this long (60 s) */
  lp2p_tstamp ping_timeout_ns;  /**< a check not answered in time fails (10 s) */
  lp2p_tstamp refresh_interval_ns; /**< bucket refresh period (10 min) */
  unsigned refresh_cpl_max;     /**< refresh buckets up to this cpl (15) */
} lp2p_kad_table_config;

LP2P_API void lp2p_kad_table_config_default(lp2p_kad_table_config *cfg);

/** A table around `self`. Buckets are allocated on first use. Returns 0 or
 * LP2P_ERR_NOMEM, LP2P_ERR_INVAL (k or replacements_max 0 or above 255). */
LP2P_API int lp2p_kad_table_new(lp2p_kad_table **out, const lp2p_peerid *self,
                                const lp2p_kad_table_config *cfg,
                                const lp2p_mem *mem, lp2p_tstamp now);
LP2P_API void lp2p_kad_table_free(lp2p_kad_table *t);

/** Results of lp2p_kad_table_add. */
enum {
  LP2P_KAD_TABLE_ADDED = 1,     /**< new entry */
  LP2P_KAD_TABLE_UPDATED = 2,   /**< known: marked seen now */
  LP2P_KAD_TABLE_CACHED = 3,    /**< bucket full: in the replacement cache */
  LP2P_KAD_TABLE_REJECTED = 4   /**< self, or not a kad server (removed) */
};

/** Offer a peer we heard from. `serves_kad` says whether it announces the
 * kad protocol (identify); only such peers enter (spec "Client and server
 * mode"), and a known peer that stopped announcing it is removed. When the
 * bucket is full the peer goes to the bucket's replacement cache and, if
 * the bucket's least recently seen entry has been silent for
 * ping_min_age_ns, a liveness check of it is queued
 * (lp2p_kad_table_poll_ping). Returns an LP2P_KAD_TABLE_* value or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_kad_table_add(lp2p_kad_table *t, const lp2p_peerid *id,
                                int serves_kad, lp2p_tstamp now);
/** Remove a peer (it failed requests, disconnected for good); a
 * replacement takes its slot. Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_kad_table_remove(lp2p_kad_table *t, const lp2p_peerid *id,
                                   lp2p_tstamp now);
/** Take the next queued liveness check: 1 and `*out` set, or 0. The
 * caller pings the peer and reports with lp2p_kad_table_ping_result. */
LP2P_API int lp2p_kad_table_poll_ping(lp2p_kad_table *t, lp2p_peerid *out);
/** Result of a check: alive keeps the entry (seen now); dead removes it
 * and promotes the newest replacement. Unknown peers are ignored. */
LP2P_API void lp2p_kad_table_ping_result(lp2p_kad_table *t,
                                         const lp2p_peerid *id, int alive,
                                         lp2p_tstamp now);
/** 1 if `id` is in the table (not in a replacement cache). */
LP2P_API int lp2p_kad_table_contains(const lp2p_kad_table *t,
                                     const lp2p_peerid *id);
LP2P_API size_t lp2p_kad_table_size(const lp2p_kad_table *t);
/** Entries in the bucket of common prefix length `cpl` with self. */
LP2P_API size_t lp2p_kad_table_bucket_size(const lp2p_kad_table *t,
                                           unsigned cpl);
/** Up to `n` (at most 4k) entries closest to the hashed key `target`,
 * closest first. Returns the count written. */
LP2P_API size_t lp2p_kad_table_closest(const lp2p_kad_table *t,
                                       const uint8_t target[32],
                                       lp2p_peerid *out, size_t n);
/** Buckets due for a refresh query: writes up to `n` cpls into `out`
 * (those up to min(refresh_cpl_max, highest non-empty cpl) whose last
 * refresh is older than refresh_interval_ns), returns the count. */
LP2P_API size_t lp2p_kad_table_refresh_due(const lp2p_kad_table *t,
                                           lp2p_tstamp now, unsigned *out,
                                           size_t n);
/** A lookup for a key in bucket `cpl` finished: reset its refresh timer.
 * The service calls it for every lookup it completes (as go does). */
LP2P_API void lp2p_kad_table_refreshed(lp2p_kad_table *t, unsigned cpl,
                                       lp2p_tstamp now);
/** A random peer id (sha2-256 multihash of rng bytes) whose key has common
 * prefix length exactly `cpl` (<= 15, as go) with self, to look up for a
 * refresh. Returns 0 or LP2P_ERR_INVAL (cpl too large). */
LP2P_API int lp2p_kad_table_refresh_target(const lp2p_kad_table *t,
                                           unsigned cpl, const lp2p_rng *rng,
                                           lp2p_peerid *out);
/** Earliest liveness check deadline. Refreshes are not timers here: the
 * service asks lp2p_kad_table_refresh_due on its own refresh tick. */
LP2P_API lp2p_tstamp lp2p_kad_table_next_timeout(const lp2p_kad_table *t);
/** Time out liveness checks that passed ping_timeout_ns (as dead). */
LP2P_API void lp2p_kad_table_handle_timeout(lp2p_kad_table *t,
                                            lp2p_tstamp now);

/* ---- validators (proto/kad/kad_validator.c) ---------------------------- */

/** One namespace's record rules (spec "Entry validation"). `validate`
 * returns 0 or a negative LP2P_ERR_*; `unix_ns` is the wall time for
 * expiry. `select` sets *best to the index of the best of n >= 1 values
 * (stable: ties keep the lower index) and returns 0 or an error. */
typedef struct lp2p_kad_validator {
  const char *ns; /**< "pk", "ipns": keys look like "/<ns>/<rest>" */
  int (*validate)(void *ud, const uint8_t *key, size_t key_len,
                  const uint8_t *val, size_t val_len, uint64_t unix_ns);
  int (*select)(void *ud, const uint8_t *key, size_t key_len,
                const lp2p_kad_bytes *vals, size_t n, size_t *best);
  void *ud;
} lp2p_kad_validator;

#define LP2P_KAD_VALIDATORS_MAX 8

typedef struct lp2p_kad_validators {
  lp2p_kad_validator v[LP2P_KAD_VALIDATORS_MAX];
  size_t n;
} lp2p_kad_validators;

/** Fill `vs` with the built-ins: /pk/ and /ipns/. */
LP2P_API void lp2p_kad_validators_default(lp2p_kad_validators *vs);
/** Add or replace a namespace. Returns 0 or LP2P_ERR_LIMIT / _INVAL. */
LP2P_API int lp2p_kad_validators_add(lp2p_kad_validators *vs,
                                     const lp2p_kad_validator *v);
/** Validate a record under its key's namespace. Keys without a registered
 * namespace are refused (go: "invalid record keytype"). Returns 0 or
 * LP2P_ERR_UNSUPPORTED (no validator) or the validator's error. */
LP2P_API int lp2p_kad_validate(const lp2p_kad_validators *vs,
                               const uint8_t *key, size_t key_len,
                               const uint8_t *val, size_t val_len,
                               uint64_t unix_ns);
/** Select the best of `n` values (see lp2p_kad_validator.select). */
LP2P_API int lp2p_kad_select(const lp2p_kad_validators *vs, const uint8_t *key,
                             size_t key_len, const lp2p_kad_bytes *vals,
                             size_t n, size_t *best);
/** The /pk/ rules: the key is "/pk/" + a peer id (multihash), the value a
 * PublicKey protobuf that derives exactly that peer id. Any valid value
 * is as good as another: select takes the first. */
LP2P_API int lp2p_kad_pk_validate(void *ud, const uint8_t *key, size_t key_len,
                                  const uint8_t *val, size_t val_len,
                                  uint64_t unix_ns);

/* ---- query engine (proto/kad/kad_query.c) ------------------------------ */

typedef struct lp2p_kad_query lp2p_kad_query;

typedef struct lp2p_kad_query_config {
  size_t k;                      /**< result size, termination set (20) */
  size_t alpha;                  /**< requests in flight (3) */
  lp2p_tstamp request_timeout_ns; /**< per request (10 s) */
  size_t peers_max;              /**< peers remembered per query (512) */
  size_t quorum;                 /**< GET_VALUE: stop after this many valid values (0 = run the whole lookup) */
  size_t value_max;              /**< GET_VALUE: largest value kept (64 KiB) */
  size_t providers_max;          /**< GET_PROVIDERS: stop at this many (20) */
  size_t provider_addrs_max;     /**< addresses kept per provider (8) */
  size_t addr_len_max;           /**< longest address kept (256 bytes) */
  int stop_at_target;            /**< FIND_NODE: end once the key, a peer id, is seen */
  const lp2p_kad_validators *validators; /**< GET_VALUE (NULL: defaults); must outlive the query */
  uint64_t unix_ns;              /**< wall time for record expiry */
} lp2p_kad_query_config;

LP2P_API void lp2p_kad_query_config_default(lp2p_kad_query_config *cfg);

/** Start a query of `type` (FIND_NODE, GET_VALUE, GET_PROVIDERS, or
 * PUT_VALUE / ADD_PROVIDER: a FIND_NODE lookup, then the request to the k
 * closest that answered) for key[0..key_len) (copied). `self` (may be
 * NULL) is never queried. Returns 0 or LP2P_ERR_NOMEM, LP2P_ERR_INVAL. */
LP2P_API int lp2p_kad_query_new(lp2p_kad_query **out, uint8_t type,
                                const uint8_t *key, size_t key_len,
                                const lp2p_peerid *self,
                                const lp2p_kad_query_config *cfg,
                                const lp2p_mem *mem, lp2p_tstamp now);
LP2P_API void lp2p_kad_query_free(lp2p_kad_query *q);

/** Seed with known peers (the routing table's closest; bootstrap peers).
 * Seeds have hop count 1; ourselves and empty ids are skipped. Returns
 * the number taken. */
LP2P_API size_t lp2p_kad_query_seed(lp2p_kad_query *q, const lp2p_peerid *ids,
                                    size_t n, lp2p_tstamp now);

/** A request to send: message `type` with the query's key to `peer`. */
typedef struct lp2p_kad_request {
  lp2p_peerid peer;
  uint8_t type;
  uint32_t hops; /**< the peer's hop count */
} lp2p_kad_request;

/** Next request to send now: 1 and `*out`, or 0 (nothing to send until a
 * response, failure or timeout). The request is in flight from `now`. */
LP2P_API int lp2p_kad_query_poll_request(lp2p_kad_query *q, lp2p_tstamp now,
                                         lp2p_kad_request *out);
/** Feed the response of `from` (decoded; NULL for a request that has no
 * answer, such as ADD_PROVIDER, once it was sent). Closer peers enter the
 * candidate set with the sender's hop count + 1; for GET_VALUE the record
 * is validated and selected; for GET_PROVIDERS providers are collected.
 * Responses from peers without a request in flight are ignored. Returns 0
 * or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_kad_query_on_response(lp2p_kad_query *q,
                                        const lp2p_peerid *from,
                                        const lp2p_kad_msg *resp,
                                        lp2p_tstamp now);
/** The request to `from` failed (stream error, bad message). */
LP2P_API void lp2p_kad_query_on_failure(lp2p_kad_query *q,
                                        const lp2p_peerid *from,
                                        lp2p_tstamp now);
LP2P_API lp2p_tstamp lp2p_kad_query_next_timeout(const lp2p_kad_query *q);
/** Requests in flight past request_timeout_ns fail. */
LP2P_API void lp2p_kad_query_handle_timeout(lp2p_kad_query *q,
                                            lp2p_tstamp now);
/** 1 when the query has ended (the k closest seen all answered or failed,
 * the quorum or provider count is reached, or the fan-out is over). */
LP2P_API int lp2p_kad_query_done(const lp2p_kad_query *q);

typedef struct lp2p_kad_query_stats {
  size_t peers_seen;     /**< peers in the candidate set now */
  size_t peers_dropped;  /**< not remembered: the set was full */
  size_t requests;       /**< sent so far */
  size_t responses;
  size_t failures;       /**< errors and timeouts */
  size_t values;         /**< valid values received */
  size_t invalid_values;
  size_t stored;         /**< fan-out requests answered */
} lp2p_kad_query_stats;
LP2P_API void lp2p_kad_query_stats_get(const lp2p_kad_query *q,
                                       lp2p_kad_query_stats *st);

/** The i-th closest peer that answered (i < k), with its hop count.
 * Returns 1 or 0 (no such peer). */
LP2P_API int lp2p_kad_query_result(const lp2p_kad_query *q, size_t i,
                                   lp2p_peerid *peer, uint32_t *hops);
/** FIND_NODE for a peer id: 1 if the key was seen as a peer (named by
 * someone or answering itself), with the hop count of the chain that
 * reached it; else 0. */
LP2P_API int lp2p_kad_query_target(const lp2p_kad_query *q, uint32_t *hops);
/** GET_VALUE: the best valid value (points into the query), or NULL. */
LP2P_API const uint8_t *lp2p_kad_query_value(const lp2p_kad_query *q,
                                             size_t *len);
/** GET_VALUE, once done: the i-th peer among the k closest that answered
 * with a worse value or none, which should get the best one (spec "Entry
 * correction"). Returns 1 or 0. */
LP2P_API int lp2p_kad_query_outdated(const lp2p_kad_query *q, size_t i,
                                     lp2p_peerid *peer);
/** GET_PROVIDERS: the i-th provider found, its addresses via
 * lp2p_kad_query_provider_addr. Returns 1 or 0. */
LP2P_API int lp2p_kad_query_provider(const lp2p_kad_query *q, size_t i,
                                     lp2p_peerid *peer, size_t *naddrs);
LP2P_API const uint8_t *lp2p_kad_query_provider_addr(const lp2p_kad_query *q,
                                                     size_t i, size_t j,
                                                     size_t *len);

/* ---- record store (proto/kad/kad_records.c) ---------------------------- */

typedef struct lp2p_kad_records lp2p_kad_records;

typedef struct lp2p_kad_records_config {
  size_t entries_max;            /**< records (4096) */
  size_t bytes_max;              /**< keys + values (16 MiB) */
  size_t key_max;                /**< longest key (512) */
  size_t value_max;              /**< longest value (64 KiB) */
  lp2p_tstamp max_age_ns;        /**< LP2P_KAD_RECORD_MAX_AGE_NS */
  lp2p_tstamp sweep_interval_ns; /**< expiry sweep (1 h, go's cleanup) */
} lp2p_kad_records_config;

LP2P_API void lp2p_kad_records_config_default(lp2p_kad_records_config *cfg);
/** `rng` keys the table's hash (peers choose keys). Returns 0 or
 * LP2P_ERR_NOMEM / _INVAL. */
LP2P_API int lp2p_kad_records_new(lp2p_kad_records **out,
                                  const lp2p_kad_records_config *cfg,
                                  const lp2p_mem *mem, const lp2p_rng *rng,
                                  lp2p_tstamp now);
LP2P_API void lp2p_kad_records_free(lp2p_kad_records *s);
/** Store or replace (the caller validated and selected). `unix_ns` is kept
 * as timeReceived. Returns 0 or LP2P_ERR_LIMIT (too long, store full),
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_kad_records_put(lp2p_kad_records *s, const uint8_t *key,
                                  size_t key_len, const uint8_t *val,
                                  size_t val_len, uint64_t unix_ns,
                                  lp2p_tstamp now);
/** The stored value (valid until the next put/remove/sweep), or NULL if
 * absent or older than max_age_ns. */
LP2P_API const uint8_t *lp2p_kad_records_get(const lp2p_kad_records *s,
                                             const uint8_t *key, size_t key_len,
                                             lp2p_tstamp now, size_t *len,
                                             uint64_t *unix_ns);
LP2P_API int lp2p_kad_records_remove(lp2p_kad_records *s, const uint8_t *key,
                                     size_t key_len);
LP2P_API size_t lp2p_kad_records_count(const lp2p_kad_records *s);
LP2P_API size_t lp2p_kad_records_bytes(const lp2p_kad_records *s);
LP2P_API lp2p_tstamp lp2p_kad_records_next_timeout(const lp2p_kad_records *s);
/** Drop expired records (runs when the sweep is due). */
LP2P_API void lp2p_kad_records_handle_timeout(lp2p_kad_records *s,
                                              lp2p_tstamp now);

/* ---- provider store (proto/kad/kad_providers.c) ------------------------ */

typedef struct lp2p_kad_providers lp2p_kad_providers;

typedef struct lp2p_kad_providers_config {
  size_t keys_max;               /**< distinct keys (8192) */
  size_t per_key_max;            /**< providers per key (20, what we return) */
  size_t bytes_max;              /**< keys + ids + addresses (16 MiB) */
  size_t key_max;                /**< longest key (128: a multihash) */
  size_t addrs_max;              /**< addresses kept per provider (8) */
  size_t addr_len_max;           /**< longest address kept (256) */
  lp2p_tstamp ttl_ns;            /**< LP2P_KAD_PROVIDE_TTL_NS */
  lp2p_tstamp addr_ttl_ns;       /**< LP2P_KAD_PROVIDER_ADDR_TTL_NS */
  lp2p_tstamp sweep_interval_ns; /**< 1 h (go defaultCleanupInterval) */
} lp2p_kad_providers_config;

LP2P_API void lp2p_kad_providers_config_default(lp2p_kad_providers_config *c);
LP2P_API int lp2p_kad_providers_new(lp2p_kad_providers **out,
                                    const lp2p_kad_providers_config *cfg,
                                    const lp2p_mem *mem, const lp2p_rng *rng,
                                    lp2p_tstamp now);
LP2P_API void lp2p_kad_providers_free(lp2p_kad_providers *s);
/** Add or refresh `peer` as a provider of key (addresses copied, those
 * past the caps skipped). A full key replaces its provider that expires
 * first. Returns 0 or LP2P_ERR_LIMIT (key too long, store full),
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_kad_providers_add(lp2p_kad_providers *s, const uint8_t *key,
                                    size_t key_len, const lp2p_peerid *peer,
                                    const lp2p_kad_bytes *addrs, size_t naddrs,
                                    lp2p_tstamp now);
/** Live providers of key, newest first, into out[0..n) (peer ids); their
 * addresses (empty once older than addr_ttl_ns) via
 * lp2p_kad_providers_addr. Returns the count. */
LP2P_API size_t lp2p_kad_providers_get(const lp2p_kad_providers *s,
                                       const uint8_t *key, size_t key_len,
                                       lp2p_tstamp now, lp2p_peerid *out,
                                       size_t n);
/** Address j of the provider `peer` of key, or NULL. */
LP2P_API const uint8_t *lp2p_kad_providers_addr(const lp2p_kad_providers *s,
                                                const uint8_t *key,
                                                size_t key_len,
                                                const lp2p_peerid *peer,
                                                size_t j, lp2p_tstamp now,
                                                size_t *len);
LP2P_API size_t lp2p_kad_providers_keys(const lp2p_kad_providers *s);
LP2P_API size_t lp2p_kad_providers_bytes(const lp2p_kad_providers *s);
LP2P_API lp2p_tstamp lp2p_kad_providers_next_timeout(
    const lp2p_kad_providers *s);
LP2P_API void lp2p_kad_providers_handle_timeout(lp2p_kad_providers *s,
                                                lp2p_tstamp now);

/* ---- the DHT service (proto/kad/kad_svc*.c) ---------------------------- */

/** Service mode (spec "Client and server mode"). OFF: the service does
 * nothing (the default: a host joins a DHT by choice). CLIENT: it runs
 * queries but neither serves nor advertises the protocol, so no peer puts
 * it in a routing table. SERVER: it also answers requests and advertises
 * the protocol through identify. */
enum { LP2P_KAD_MODE_OFF = 0, LP2P_KAD_MODE_CLIENT = 1,
       LP2P_KAD_MODE_SERVER = 2 };

#define LP2P_KAD_PREFIX_MAX 48

/* ---- bootstrap and the address filter (proto/kad/kad_boot.c) ------------ */

/** Bootstrap addresses the service keeps (each ends in /p2p/<id>). */
#define LP2P_KAD_BOOTSTRAP_MAX 32

/** The default public bootstrap list (the Amino DHT's, as kubo ships it):
 * `*list` gets the multiaddr texts, the count is returned. */
LP2P_API size_t lp2p_kad_default_bootstrap(const char *const **list);
/** Parse the default list into out[0..cap) (all of it fits in
 * LP2P_KAD_BOOTSTRAP_MAX). Returns the count or LP2P_ERR_NOSPACE /
 * LP2P_ERR_PARSE (a bad built-in entry: a bug). */
LP2P_API int lp2p_kad_default_bootstrap_parse(lp2p_maddr *out, size_t cap);

/** Which peer addresses the service keeps from answers (go's
 * AddressFilter on maybeAddAddrs) and serves in its own answers (js's
 * peerInfoMapper, removePrivateAddressesMapper by default). */
enum {
  LP2P_KAD_ADDRS_PUBLIC = 0,  /**< only public IPs (is_public) */
  LP2P_KAD_ADDRS_PRIVATE = 1, /**< only non-public IPs (a LAN DHT) */
  LP2P_KAD_ADDRS_ALL = 2,     /**< everything (loopback tests, labs) */
  LP2P_KAD_ADDRS_CUSTOM = 3   /**< the config's addr_filter decides */
};
/** Is this IP public? family 4 or 6, ip 4 or 16 bytes (the same shape as
 * lp2p_ip_public_fn of autonat.h, so lp2p_autonat_cidrs_public fits). */
typedef int (*lp2p_kad_ip_public_fn)(void *ud, int family, const uint8_t *ip);
/** CUSTOM filter: 1 keeps the address. */
typedef int (*lp2p_kad_addr_filter_fn)(void *ud, const lp2p_maddr *ma);
/** Names for LP2P_KAD_ADDRS_*: "public", "private", "all", "custom".
 * Returns the value or LP2P_ERR_INVAL. */
LP2P_API int lp2p_kad_addr_filter_parse(const char *name);

struct lp2p_kad_config;
/** 1 if the filter of `cfg` keeps `ma`. PUBLIC and PRIVATE look at the
 * first /ip4 or /ip6 component; an address without one (a /dns name, a
 * relayed address) counts as public: its target is decided elsewhere. */
LP2P_API int lp2p_kad_addr_allowed(const struct lp2p_kad_config *cfg,
                                   const lp2p_maddr *ma);

/** The service's config, nested in lp2p_host_config as `kad`. */
typedef struct lp2p_kad_config {
  int mode;                      /**< LP2P_KAD_MODE_* (OFF) */
  char prefix[LP2P_KAD_PREFIX_MAX]; /**< protocol prefix ("/ipfs": the
                                     protocol is prefix + "/kad/1.0.0",
                                     go's ProtocolPrefix option) */
  size_t queries_max;            /**< queries at once, finished ones kept
                                      for their results included (32) */
  size_t requests_max;           /**< our outbound requests in flight, all
                                      queries (256) */
  size_t request_bytes_max;      /**< largest request we serve (160 KiB:
                                      a 64 KiB value with its key and
                                      framing fits) */
  size_t response_bytes_max;     /**< largest answer we read
                                      (LP2P_KAD_MSG_MAX) */
  size_t closer_max;             /**< closer / provider peers read from
                                      one answer; the rest are dropped (k) */
  size_t addrs_per_peer_max;     /**< addresses read and served per peer (8) */
  uint64_t peer_addr_ttl_ns;     /**< TTL of addresses learnt from answers
                                      (go's TempAddrTTL: 2 min) */
  uint64_t stream_timeout_ns;    /**< an inbound stream idle this long is
                                      reset (60 s, go's streamIdleTimeout) */
  int refresh;                   /**< periodic refresh / random walk (1) */
  uint64_t bootstrap_delay_ns;   /**< first self-lookup this long after the
                                      first peer enters the table (1 s) */
  /* bootstrap (issue 10 "Bootstrap"; spec "Bootstrap process") */
  const lp2p_maddr *bootstrap;   /**< addresses ending in /p2p/<id> (/ip4,
                                      /ip6, /dns*, /dnsaddr: names resolve
                                      through the host's DNS service, with
                                      its depth and answer bounds); copied
                                      at start, at most
                                      LP2P_KAD_BOOTSTRAP_MAX; NULL: none
                                      (lp2p_kad_default_bootstrap_parse
                                      gives the public list) */
  size_t bootstrap_n;
  int dial_on_start;             /**< dial the bootstrap peers when the
                                      host starts, and again when a
                                      low-peers check finds the table
                                      empty (1) */
  int protect_bootstrap;         /**< tag bootstrap peers
                                      LP2P_PEER_TAG_KAD_BOOTSTRAP in the
                                      peerstore (1) */
  int addr_filter;               /**< LP2P_KAD_ADDRS_* (PUBLIC) */
  lp2p_kad_ip_public_fn is_public; /**< PUBLIC / PRIVATE: NULL is
                                      lp2p_autonat_ip_is_public; the tools
                                      add LP2P_PUBLIC_CIDRS through
                                      lp2p_autonat_cidrs_public */
  void *is_public_ud;
  lp2p_kad_addr_filter_fn addr_filter_fn; /**< CUSTOM (required there) */
  void *addr_filter_ud;
  lp2p_kad_table_config table;
  lp2p_kad_query_config query;   /**< validators and unix_ns are the
                                      service's own */
  lp2p_kad_records_config records;
  lp2p_kad_providers_config providers;
  /* go's fixLowPeers: when a check (every low_check_ns) finds at most
   * low_peers peers in the table, connected peers serving the protocol
   * are offered to it, an empty table dials the bootstrap peers again
   * (dial_on_start), and a non-empty one is refreshed. (go also checks
   * when a peer leaves the table; here a table that small loses peers
   * only to a full bucket's liveness check, which it cannot have, or to
   * a peer that stops serving the protocol: the periodic check covers
   * it.) */
  size_t low_peers;              /**< go's minRTRefreshThreshold (10) */
  uint64_t low_check_ns;         /**< go's periodicBootstrapInterval (2 min;
                                      0: only the dial on start) */
} lp2p_kad_config;

/** Fill `cfg` with the defaults above (mode OFF, prefix "/ipfs", no
 * bootstrap list, filter PUBLIC). */
LP2P_API void lp2p_kad_config_default(lp2p_kad_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
