/** Sans-IO UPnP IGD client codecs: SSDP discovery (M-SEARCH out, replies
 * in), an HTTP/1.1 client codec (requests out, an incremental response
 * parser), the device description (which WAN connection service, which
 * control URL) and the WANIPConnection / WANPPPConnection SOAP actions
 * (envelopes out, responses and UPnPError faults in). XML goes through
 * expat with the caller's allocator; nothing here owns a socket or a
 * clock. Whoever drives discovery and the TCP connections (the port
 * mapping service) moves the bytes.
 *
 * Specs: UPnP Device Architecture 1.1 (SSDP 1.3, description 2, control
 * 3), IGD:1 / IGD:2 WANIPConnection:1/:2, WANPPPConnection:1, RFC 9112
 * (HTTP/1.1 message syntax, chunked coding). */
#ifndef LP2P_UPNP_H
#define LP2P_UPNP_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- SSDP (UDA 1.1 section 1.3) --------------------------------------- */

#define LP2P_SSDP_ADDR4 "239.255.255.250"
#define LP2P_SSDP_PORT 1900
#define LP2P_UPNP_ST_IGD1 "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
#define LP2P_UPNP_ST_IGD2 "urn:schemas-upnp-org:device:InternetGatewayDevice:2"
#define LP2P_UPNP_ST_WANIP1 "urn:schemas-upnp-org:service:WANIPConnection:1"
#define LP2P_UPNP_ST_WANIP2 "urn:schemas-upnp-org:service:WANIPConnection:2"
#define LP2P_UPNP_ST_WANPPP1 "urn:schemas-upnp-org:service:WANPPPConnection:1"

#define LP2P_SSDP_MSG_MAX 4096    /**< a reply datagram we look at */
#define LP2P_SSDP_LINE_MAX 1024   /**< one header line */
#define LP2P_SSDP_HEADERS_MAX 40  /**< header lines per reply */

/** Writes an M-SEARCH request for search target `st` (one of the
 * LP2P_UPNP_ST_* or any URN) with MX `mx` seconds (clamped to 1..5, UDA
 * 1.1 1.3.2). Send it to 239.255.255.250:1900. Returns 0 or
 * LP2P_ERR_INVAL (st empty or holds CR/LF), LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_ssdp_msearch_build(const char *st, unsigned mx, char *out,
                                     size_t cap, size_t *len);

/** A parsed SSDP reply (or NOTIFY): views into the datagram, trimmed, not
 * NUL-terminated. */
typedef struct lp2p_ssdp_reply {
  int notify;               /**< 1: a NOTIFY (then `st` is its NT) */
  int byebye;               /**< 1: NOTIFY with NTS ssdp:byebye */
  const char *location;
  size_t location_len;
  const char *st;
  size_t st_len;
  const char *usn;
  size_t usn_len;
  uint32_t max_age;         /**< CACHE-CONTROL max-age, 0 when absent */
} lp2p_ssdp_reply;

/** Parses a search reply ("HTTP/1.x 200") or a NOTIFY. Header names are
 * case-insensitive, bare LF line ends and blanks around names and values
 * are accepted, unknown headers and lines without a colon are skipped.
 * ST (or NT) is required; LOCATION too unless it is a byebye. Returns 0
 * or LP2P_ERR_PARSE (not a 200 reply or NOTIFY, a required header missing),
 * LP2P_ERR_LIMIT (over LP2P_SSDP_MSG_MAX / _LINE_MAX / _HEADERS_MAX). */
LP2P_API int lp2p_ssdp_reply_parse(const uint8_t *p, size_t n,
                                   lp2p_ssdp_reply *out);

/** Which gateway a reply announces from its ST/NT: 1 or 2 (the IGD
 * version: IGD:1, IGD:2, or WANIPConnection:2 for 2; WANIPConnection:1 and
 * WANPPPConnection:1 count as 1), 0 when it is not a gateway. */
LP2P_API int lp2p_ssdp_reply_igd_version(const lp2p_ssdp_reply *r);

/* ---- URLs ------------------------------------------------------------- */

#define LP2P_UPNP_URL_MAX 512   /**< any URL we keep */
#define LP2P_UPNP_HOST_MAX 256  /**< host part, [v6] brackets included */

/** An http:// URL split for a request. */
typedef struct lp2p_upnp_url {
  char host[LP2P_UPNP_HOST_MAX]; /**< NUL-terminated; IPv6 keeps brackets */
  uint16_t port;                 /**< 80 when absent */
  char path[LP2P_UPNP_URL_MAX];  /**< starts with '/', query included */
} lp2p_upnp_url;

/** Splits an absolute http:// URL (scheme case-insensitive; userinfo is
 * refused). Returns 0 or LP2P_ERR_PARSE, LP2P_ERR_UNSUPPORTED (another
 * scheme), LP2P_ERR_LIMIT (a part too long). */
LP2P_API int lp2p_upnp_url_parse(const char *url, size_t n,
                                 lp2p_upnp_url *out);

/** Resolves `ref` against the absolute http:// `base` (RFC 3986 section 5,
 * the cases a device description uses: absolute, "//host", "/path",
 * "relative" against base's directory; "." segments are not folded).
 * Writes a NUL-terminated URL. Returns 0 or LP2P_ERR_PARSE,
 * LP2P_ERR_UNSUPPORTED, LP2P_ERR_NOSPACE. */
LP2P_API int lp2p_upnp_url_resolve(const char *base, size_t base_len,
                                   const char *ref, size_t ref_len, char *out,
                                   size_t cap, size_t *len);

/* ---- HTTP/1.1 client codec ------------------------------------------- */

#define LP2P_HTTP_LINE_MAX 1024  /**< status or header line, chunk size */
#define LP2P_HTTP_HEADERS_MAX 64 /**< header lines per response */

/** Writes a request: `GET` (body NULL) or `POST` with a SOAP body when
 * `soap_action` is given (`SOAPAction: "<soap_action>"` and
 * `Content-Type: text/xml; charset="utf-8"`, UDA 1.1 3.2.1). Always
 * `Connection: close`: one request per connection, which every IGD
 * accepts. A POST with body NULL writes the headers only (Content-Length
 * `body_len`): the caller appends the body. Returns 0 or LP2P_ERR_INVAL
 * (CR/LF in a field), NOSPACE. */
LP2P_API int lp2p_http_request_build(const lp2p_upnp_url *url,
                                     const char *soap_action,
                                     const uint8_t *body, size_t body_len,
                                     uint8_t *out, size_t cap, size_t *len);

/** Incremental response parser over a caller-owned body buffer (no
 * allocation). Read `status`, `body` and `body_len` once done; the other
 * fields are its state. */
typedef struct lp2p_http_resp {
  int status;          /**< status code, once the status line is in */
  uint8_t *body;       /**< the caller's buffer */
  size_t body_cap;
  size_t body_len;
  /* state */
  int phase;
  int err;             /**< sticky error, 0 while fine */
  int chunked;
  int has_length;
  int conn_close;
  uint64_t length;     /**< Content-Length */
  uint64_t chunk_left;
  uint32_t nheaders;
  size_t line_len;
  char line[LP2P_HTTP_LINE_MAX];
} lp2p_http_resp;

/** Start a response; the body goes to `body` (at most `body_cap`). */
LP2P_API void lp2p_http_resp_init(lp2p_http_resp *r, uint8_t *body,
                                  size_t body_cap);
/** Feed bytes from the connection. Returns how many were used (fewer than
 * `n` only once the response is complete: the rest is not ours), or a
 * sticky error: LP2P_ERR_PARSE (bad status line, header, chunk size,
 * conflicting lengths), LP2P_ERR_LIMIT (line, header count or body over
 * its bound), LP2P_ERR_OVERFLOW (a length that does not fit). */
LP2P_API lp2p_ssize lp2p_http_resp_feed(lp2p_http_resp *r, const uint8_t *p,
                                        size_t n);
/** The server closed the connection. Returns 0 when that completes the
 * response (a body delimited by the close, or already done) or
 * LP2P_ERR_TRUNCATED / the sticky error. */
LP2P_API int lp2p_http_resp_eof(lp2p_http_resp *r);
/** 1 once the whole response is in. */
LP2P_API int lp2p_http_resp_done(const lp2p_http_resp *r);

/* ---- device description (UDA 1.1 section 2.3) -------------------------- */

#define LP2P_UPNP_DESC_MAX (128u * 1024u) /**< description bytes we parse */
#define LP2P_UPNP_XML_DEPTH_MAX 32        /**< element nesting */
#define LP2P_UPNP_SERVICES_MAX 4          /**< candidates kept */
#define LP2P_UPNP_TYPE_MAX 128            /**< a serviceType */

/** The WAN connection services, by rank (higher is better). WANPPP is
 * WANPPPConnection:1, and any other version of it: an Orange Livebox
 * (Sagemcom) announces a WANPPPConnection:2 that no spec defines. */
#define LP2P_UPNP_SVC_WANPPP 1
#define LP2P_UPNP_SVC_WANIP1 2
#define LP2P_UPNP_SVC_WANIP2 3

/** One WAN connection service found in a description. */
typedef struct lp2p_upnp_service {
  int kind;                             /**< LP2P_UPNP_SVC_* */
  char service_type[LP2P_UPNP_TYPE_MAX];
  char control_url[LP2P_UPNP_URL_MAX];  /**< absolute, resolved */
} lp2p_upnp_service;

/** Parses a root device description fetched from `location` (the SSDP
 * LOCATION) and lists its WANIPConnection:2, WANIPConnection:1 and
 * WANPPPConnection services anywhere in the nested deviceList, best kind
 * first (document order within a kind), at most `cap`; control URLs are
 * resolved against URLBase when present, else `location`. A DOCTYPE is
 * refused (no entity expansion ever). Returns 0 (and *n >= 1) or
 * LP2P_ERR_NOT_FOUND (well-formed, no such service), LP2P_ERR_PARSE (not
 * XML, or a bad URL), LP2P_ERR_LIMIT (over LP2P_UPNP_DESC_MAX or
 * LP2P_UPNP_XML_DEPTH_MAX), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_upnp_desc_parse(const lp2p_mem *mem, const char *location,
                                  size_t location_len, const uint8_t *xml,
                                  size_t len, lp2p_upnp_service *out,
                                  size_t cap, size_t *n);

/* ---- SOAP control (UDA 1.1 section 3.2; WANIPConnection:2 2.4) ------- */

/** UPnPError codes the port-mapping actions return. */
#define LP2P_UPNP_ERR_INVALID_ACTION 401
#define LP2P_UPNP_ERR_INVALID_ARGS 402
#define LP2P_UPNP_ERR_ACTION_FAILED 501
#define LP2P_UPNP_ERR_NOT_AUTHORIZED 606
#define LP2P_UPNP_ERR_NO_SUCH_ENTRY 714          /**< NoSuchEntryInArray */
#define LP2P_UPNP_ERR_WILDCARD_EXT_PORT 716
#define LP2P_UPNP_ERR_CONFLICT 718               /**< ConflictInMappingEntry */
#define LP2P_UPNP_ERR_SAME_PORT_REQUIRED 724
#define LP2P_UPNP_ERR_ONLY_PERMANENT 725         /**< OnlyPermanentLeasesSupported */
#define LP2P_UPNP_ERR_REMOTE_WILDCARD_ONLY 726
#define LP2P_UPNP_ERR_EXT_PORT_WILDCARD_ONLY 727
#define LP2P_UPNP_ERR_NO_PORT_MAPS 728           /**< NoPortMapsAvailable (IGD:2) */
#define LP2P_UPNP_ERR_CONFLICT_OTHER 729         /**< ConflictWithOtherMechanisms */

#define LP2P_UPNP_ARG_NAME_MAX 48
#define LP2P_UPNP_ARG_VALUE_MAX 256
#define LP2P_UPNP_ARGS_MAX 12

/** One in or out argument. */
typedef struct lp2p_upnp_arg {
  const char *name;
  const char *value;    /**< text; escaped on the way out */
} lp2p_upnp_arg;

/** Writes the SOAP envelope for `action` of `service_type` with `args` in
 * order (the order the service description declares: devices reject
 * others). With out == NULL only *len is computed. Returns 0 or
 * LP2P_ERR_INVAL (a name that is not a plain XML name), NOSPACE. */
LP2P_API int lp2p_upnp_soap_envelope(const char *service_type,
                                     const char *action,
                                     const lp2p_upnp_arg *args, size_t nargs,
                                     uint8_t *out, size_t cap, size_t *len);

/** Writes the whole HTTP POST (headers and envelope) for `action` to
 * `url`. Returns as lp2p_upnp_soap_envelope / lp2p_http_request_build. */
LP2P_API int lp2p_upnp_soap_request(const lp2p_upnp_url *url,
                                    const char *service_type,
                                    const char *action,
                                    const lp2p_upnp_arg *args, size_t nargs,
                                    uint8_t *out, size_t cap, size_t *len);

/** A port mapping as the actions name it. */
typedef struct lp2p_upnp_mapping {
  uint16_t external_port;      /**< 0 only for AddAnyPortMapping wildcards */
  uint16_t internal_port;
  int udp;                     /**< 0: "TCP", 1: "UDP" */
  const char *internal_client; /**< dotted IPv4 of this host */
  const char *description;
  uint32_t lease_s;            /**< 0 = permanent */
} lp2p_upnp_mapping;

/** The actions, each as a full HTTP POST (see lp2p_upnp_soap_request). */
LP2P_API int lp2p_upnp_req_get_external_ip(const lp2p_upnp_url *url,
                                           const char *service_type,
                                           uint8_t *out, size_t cap,
                                           size_t *len);
LP2P_API int lp2p_upnp_req_add_port_mapping(const lp2p_upnp_url *url,
                                            const char *service_type,
                                            const lp2p_upnp_mapping *m,
                                            uint8_t *out, size_t cap,
                                            size_t *len);
/** IGD:2 only (WANIPConnection:2); the response's NewReservedPort is the
 * port the gateway chose. */
LP2P_API int lp2p_upnp_req_add_any_port_mapping(const lp2p_upnp_url *url,
                                                const char *service_type,
                                                const lp2p_upnp_mapping *m,
                                                uint8_t *out, size_t cap,
                                                size_t *len);
LP2P_API int lp2p_upnp_req_delete_port_mapping(const lp2p_upnp_url *url,
                                               const char *service_type,
                                               uint16_t external_port, int udp,
                                               uint8_t *out, size_t cap,
                                               size_t *len);
LP2P_API int lp2p_upnp_req_get_specific_entry(const lp2p_upnp_url *url,
                                              const char *service_type,
                                              uint16_t external_port, int udp,
                                              uint8_t *out, size_t cap,
                                              size_t *len);

/** A parsed SOAP response: either the action's out arguments or a fault. */
typedef struct lp2p_upnp_soap_resp {
  int fault;                  /**< 1: a SOAP Fault */
  int upnp_error;             /**< UPnPError errorCode, 0 when none */
  char error_desc[LP2P_UPNP_ARG_VALUE_MAX];
  size_t nargs;
  struct {
    char name[LP2P_UPNP_ARG_NAME_MAX];
    char value[LP2P_UPNP_ARG_VALUE_MAX];
  } args[LP2P_UPNP_ARGS_MAX];
} lp2p_upnp_soap_resp;

/** Parses a response body (HTTP 200 or 500). Namespace prefixes are
 * ignored (devices pick their own). When `action` is given the response
 * element must be `<action>Response`. Values are trimmed; arguments past
 * LP2P_UPNP_ARGS_MAX are dropped, values past LP2P_UPNP_ARG_VALUE_MAX make
 * it LP2P_ERR_LIMIT. Returns 0 or LP2P_ERR_PARSE (not an Envelope with a
 * Body holding a response or a Fault, wrong action), LP2P_ERR_LIMIT (over
 * LP2P_UPNP_DESC_MAX, depth, a value), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_upnp_soap_parse(const lp2p_mem *mem, const uint8_t *xml,
                                  size_t len, const char *action,
                                  lp2p_upnp_soap_resp *out);

/** The value of out argument `name`, NULL when absent. */
LP2P_API const char *lp2p_upnp_soap_arg(const lp2p_upnp_soap_resp *r,
                                        const char *name);
/** The out argument `name` as a decimal number <= max. Returns 0 or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_PARSE. */
LP2P_API int lp2p_upnp_soap_arg_u32(const lp2p_upnp_soap_resp *r,
                                    const char *name, uint32_t max,
                                    uint32_t *v);
/** The out argument `name` as a dotted IPv4 address. Returns 0 or
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_PARSE. */
LP2P_API int lp2p_upnp_soap_arg_ipv4(const lp2p_upnp_soap_resp *r,
                                     const char *name, uint8_t ip[4]);

#ifdef __cplusplus
}
#endif
#endif
