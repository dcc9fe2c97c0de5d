/** Sans-IO DNS message codec (RFC 1035): build A/AAAA/TXT queries and parse
 * responses, allocation-free, with bounded name decompression. Used to
 * resolve /dns, /dns4, /dns6 and /dnsaddr multiaddrs; the driver only sends
 * and receives the UDP datagrams. */
#ifndef LP2P_DNS_H
#define LP2P_DNS_H

#include "lp2p/common.h"

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

#ifdef __cplusplus
}
#endif
#endif
