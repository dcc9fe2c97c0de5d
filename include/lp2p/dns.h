/** Sans-IO DNS (RFC 1035): a message codec (build A/AAAA/TXT queries,
 * parse responses, allocation-free, bounded name decompression) and a
 * resolver engine over it for /dns, /dns4, /dns6 and /dnsaddr multiaddrs.
 * Whoever runs the engine (the host's DNS service) moves the UDP
 * datagrams. */
#ifndef LP2P_DNS_H
#define LP2P_DNS_H

#include "lp2p/common.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_DNS_TYPE_A 1
#define LP2P_DNS_TYPE_AAAA 28
#define LP2P_DNS_TYPE_TXT 16
#define LP2P_DNS_TYPE_CNAME 5
#define LP2P_DNS_NAME_MAX 255   /**< RFC 1035 2.3.4, text form */
#define LP2P_DNS_MSG_MAX 1232   /**< what we accept over UDP (EDNS-safe) */
#define LP2P_DNS_TXT_MAX 1024   /**< joined character-strings of one TXT */

/** Writes a recursive query for `name` (dotted text, trailing dot
 * optional) and `qtype`. Returns 0 or one of: LP2P_ERR_INVAL (bad name:
 * empty label, label > 63, name > 255), LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_dns_query_encode(uint16_t id, const char *name, size_t name_len,
                                   uint16_t qtype, uint8_t *out, size_t cap,
                                   size_t *len);

/** One answer record; `data` points into the message (A: 4 bytes, AAAA:
 * 16, TXT: raw RDATA of length-prefixed strings, CNAME: compressed name). */
typedef struct lp2p_dns_rr {
  uint16_t type;
  uint16_t rclass;
  uint32_t ttl;
  const uint8_t *data;
  size_t len;
} lp2p_dns_rr;

/** A parsed response header plus a cursor over the answer section. */
typedef struct lp2p_dns_resp {
  uint16_t id;
  uint16_t flags;
  uint8_t rcode;   /**< 0 = no error, 3 = NXDOMAIN */
  uint16_t qdcount, ancount;
  const uint8_t *msg;
  size_t msg_len;
  size_t pos;      /**< cursor at the next answer */
  uint16_t left;   /**< answers not yet read */
} lp2p_dns_resp;

/** Parses the header and skips the question section. Checks the QR bit,
 * that the one question matches `name`/`qtype` when name != NULL.
 * Returns 0 or one of: LP2P_ERR_PARSE, LP2P_ERR_TRUNCATED (TC bit set),
 * LP2P_ERR_LIMIT (message longer than LP2P_DNS_MSG_MAX). */
LP2P_API int lp2p_dns_resp_parse(lp2p_dns_resp *r, const uint8_t *msg, size_t n,
                                 const char *name, size_t name_len,
                                 uint16_t qtype);
/** Next answer: 1 (rr filled), 0 (no more), or LP2P_ERR_PARSE. */
LP2P_API int lp2p_dns_resp_next(lp2p_dns_resp *r, lp2p_dns_rr *rr);
/** Decodes a (possibly compressed) name at `off` into dotted text.
 * Pointer chains are bounded (no loops). Returns 0 or LP2P_ERR_PARSE /
 * LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_dns_name_decode(const uint8_t *msg, size_t n, size_t off,
                                  char *out, size_t cap, size_t *len);
/** Joins a TXT record's character-strings. Returns 0 or LP2P_ERR_PARSE /
 * LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_dns_txt_join(const lp2p_dns_rr *rr, char *out, size_t cap,
                               size_t *len);

/* ---- the resolver engine (proto/dns/dns_resolver.c) ---------------------
 * Sans-IO multiaddr resolution: /dns (A and AAAA), /dns4 (A), /dns6
 * (AAAA) and /dnsaddr (TXT "dnsaddr=<multiaddr>" records at
 * _dnsaddr.<name>, multiaddr spec "dnsaddr"). A hosts table (the text of
 * an /etc/hosts file) is consulted first; then UDP queries to configured
 * servers: per-query timeout, retries (to the next server), random query
 * ids from the injected rng, answers accepted only from a server that was
 * asked, with the query's id and question (RFC 5452 section 9.1), CNAME
 * chains followed (bounded), every table bounded. The caller moves the
 * datagrams (lp2p_dns_res_out_peek / _feed) and takes finished lookups
 * (lp2p_dns_res_poll_done). The host runs one as its DNS service. */

struct lp2p_maddr;

#define LP2P_DNSADDR_DEPTH_MAX 4 /**< /dnsaddr recursion bound (levels) */
#define LP2P_DNS_CNAME_MAX 8     /**< CNAME hops followed per name */
#define LP2P_DNS_SERVERS_MAX 4   /**< servers kept by configure */

/** Resolver limits (lp2p_host_config.dns). Times in ns. */
typedef struct lp2p_dns_config {
  uint64_t timeout_ns;      /**< one query attempt (2 s) */
  uint32_t retries;         /**< attempts after the first (1) */
  uint32_t answers_max;     /**< addresses one lookup returns (16) */
  uint32_t queries_max;     /**< queries one lookup may send, CNAME and
                                 /dnsaddr follow-ups included (16) */
  uint32_t lookups_max;     /**< lookups at once (32) */
  uint32_t hosts_bytes_max; /**< hosts text kept (64 KiB; longer text is cut
                                 at a line end) */
} lp2p_dns_config;

/** Fill `cfg` with the defaults above. */
LP2P_API void lp2p_dns_config_default(lp2p_dns_config *cfg);

/** Parse the text of a resolv.conf(5): `nameserver <ip> [<port>]` lines
 * (the port is an lp2p extension for tests; 53 otherwise). At most `cap`
 * servers go to `out`; `*n` gets how many. Other lines are ignored.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_dns_resolv_conf_parse(const char *text, size_t len,
                                        lp2p_sockaddr *out, size_t cap,
                                        size_t *n);

typedef struct lp2p_dns_res lp2p_dns_res;

/** Create a resolver (no hosts text, no server yet). Returns 0 or
 * LP2P_ERR_INVAL (bad config, no rng), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_dns_res_new(lp2p_dns_res **out, const lp2p_dns_config *cfg,
                              const lp2p_mem *mem, const lp2p_rng *rng);
/** Free (NULL-safe); lookups are dropped without results. */
LP2P_API void lp2p_dns_res_free(lp2p_dns_res *r);
/** Replace the hosts text (copied, cut to hosts_bytes_max) and the servers
 * (the first LP2P_DNS_SERVERS_MAX with family 4 or 6 are kept). Queries in
 * flight keep going; answers are checked against the new servers. Returns
 * 0 or LP2P_ERR_INVAL, LP2P_ERR_NOMEM. */
LP2P_API int lp2p_dns_res_configure(lp2p_dns_res *r, const char *hosts,
                                    size_t hosts_len,
                                    const lp2p_sockaddr *servers,
                                    size_t nservers);
/** Start resolving `ma` under the caller's `tag` (unique among running
 * lookups). Addresses without a DNS component resolve to themselves. The
 * lookup may finish inside this call (hosts table). Returns 0 or
 * LP2P_ERR_LIMIT (lookups_max), LP2P_ERR_INVAL (tag in use), NOMEM. */
LP2P_API int lp2p_dns_res_resolve(lp2p_dns_res *r, lp2p_tstamp now,
                                  uint64_t tag, const struct lp2p_maddr *ma);
/** Drop the lookup `tag` (late answers are then ignored). Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_dns_res_cancel(lp2p_dns_res *r, uint64_t tag);

#define LP2P_DNS_FAM4 0x1u /**< out_peek family mask: IPv4 servers */
#define LP2P_DNS_FAM6 0x2u /**< IPv6 servers */
/** Families (LP2P_DNS_FAM*) of queries waiting to be sent. */
LP2P_API unsigned lp2p_dns_res_out_families(const lp2p_dns_res *r);
/** The next query to send to a server of a family in `fams`: its bytes
 * (valid until the next call) and destination. NULL when none. */
LP2P_API const uint8_t *lp2p_dns_res_out_peek(lp2p_dns_res *r, unsigned fams,
                                              lp2p_sockaddr *to, size_t *len);
/** The query last peeked was sent. */
LP2P_API void lp2p_dns_res_out_consume(lp2p_dns_res *r);
/** A datagram from `from`. Anything that is not the answer to a query in
 * flight from the server asked (id, source, question) is ignored and
 * counted. Never fails because of the bytes. */
LP2P_API void lp2p_dns_res_feed(lp2p_dns_res *r, lp2p_tstamp now,
                                const lp2p_sockaddr *from, const uint8_t *p,
                                size_t n);
/** Earliest query deadline, LP2P_TSTAMP_NONE when none. */
LP2P_API lp2p_tstamp lp2p_dns_res_next_timeout(const lp2p_dns_res *r);
/** Retry or fail the queries whose deadline passed. */
LP2P_API void lp2p_dns_res_handle_timeout(lp2p_dns_res *r, lp2p_tstamp now);
/** A finished lookup: its tag, err (0 when at least one address was
 * found, else LP2P_ERR_NOT_FOUND (NXDOMAIN, no usable record),
 * LP2P_ERR_TIMEOUT, LP2P_ERR_NO_RESOLVER (no server and no hosts match),
 * LP2P_ERR_LIMIT (recursion or query bound), LP2P_ERR_TRUNCATED,
 * LP2P_ERR_UNREACHABLE (server failure), LP2P_ERR_PARSE (bad name)) and
 * its addresses (valid until the next call into r). Returns 1 or 0. */
LP2P_API int lp2p_dns_res_poll_done(lp2p_dns_res *r, uint64_t *tag, int *err,
                                    const struct lp2p_maddr **addrs,
                                    size_t *n);

/** Counters. */
typedef struct lp2p_dns_res_stats {
  uint64_t queries_sent;
  uint64_t ignored;          /**< datagrams that answered nothing we asked */
  uint64_t answers_dropped;  /**< addresses over answers_max */
} lp2p_dns_res_stats;
LP2P_API void lp2p_dns_res_stats_get(const lp2p_dns_res *r,
                                     lp2p_dns_res_stats *out);

#ifdef __cplusplus
}
#endif
#endif
