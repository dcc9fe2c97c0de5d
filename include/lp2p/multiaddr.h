/** Multiaddr (multiformats/multiaddr): self-describing network addresses,
 * binary and text.
 *
 * Pure codec: no allocation. An lp2p_maddr is a plain value that always
 * holds a valid binary multiaddr (every function that fills one validates
 * it) or is empty (len 0, e.g. after decapsulating everything).
 *
 * Supported protocols (code, value): ip4 4 (4 bytes), tcp 6 (port),
 * udp 273 (port), ip6 41 (16 bytes), ip6zone 42, dns 53, dns4 54, dns6 55,
 * dnsaddr 56, sni 449 (non-empty strings without '/'), p2p 421 (a peer id
 * multihash, identity or sha2-256; text: base58btc, or a CIDv1 with codec
 * libp2p-key in any multibase; "ipfs" is accepted as an alias; printed as
 * base58btc), p2p-circuit 290, ws 477, wss 478, tls 448, noise 454,
 * quic 460, quic-v1 461, webtransport 465, webrtc-direct 280, webrtc 281,
 * http 480, https 443 (no value), certhash 466 (a multihash; text: any
 * multibase; printed as base64url 'u'), unix 400 (a path: the rest of the
 * text; binary value "/" + rest; must be the last component).
 *
 * Text rules: starts with '/'; one trailing '/' is accepted and never
 * printed; empty components ("//") are errors. ip4 is dotted decimal
 * without leading zeros; ip6 is RFC 4291 text (printed RFC 5952
 * canonical, IPv4-mapped as ::ffff:a.b.c.d); ports are 1 to 5 decimal
 * digits, at most 65535. Text and binary round-trip exactly.
 *
 * Errors: LP2P_ERR_PARSE (malformed text or bytes, missing or bad value),
 * LP2P_ERR_UNSUPPORTED (unknown protocol name or code), LP2P_ERR_LIMIT
 * (more than LP2P_MADDR_MAX bytes), LP2P_ERR_NOSPACE (output buffer),
 * LP2P_ERR_INVAL (NULL or bad argument). */
#ifndef LP2P_MULTIADDR_H
#define LP2P_MULTIADDR_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_MADDR_MAX 512

#define LP2P_MA_IP4 4
#define LP2P_MA_TCP 6
#define LP2P_MA_IP6 41
#define LP2P_MA_IP6ZONE 42
#define LP2P_MA_DNS 53
#define LP2P_MA_DNS4 54
#define LP2P_MA_DNS6 55
#define LP2P_MA_DNSADDR 56
#define LP2P_MA_UDP 273
#define LP2P_MA_WEBRTC_DIRECT 280
#define LP2P_MA_WEBRTC 281
#define LP2P_MA_P2P_CIRCUIT 290
#define LP2P_MA_UNIX 400
#define LP2P_MA_P2P 421
#define LP2P_MA_HTTPS 443
#define LP2P_MA_TLS 448
#define LP2P_MA_SNI 449
#define LP2P_MA_NOISE 454
#define LP2P_MA_QUIC 460
#define LP2P_MA_QUIC_V1 461
#define LP2P_MA_WEBTRANSPORT 465
#define LP2P_MA_CERTHASH 466
#define LP2P_MA_WS 477
#define LP2P_MA_WSS 478
#define LP2P_MA_HTTP 480

/** A binary multiaddr held by value. */
typedef struct lp2p_maddr {
  size_t len;
  uint8_t bytes[LP2P_MADDR_MAX];
} lp2p_maddr;

/** Parse text[0..n) into `*m`. On error `*m` is left empty (len 0).
 * Returns 0 or LP2P_ERR_PARSE / _UNSUPPORTED / _LIMIT / _INVAL. */
LP2P_API int lp2p_maddr_parse(lp2p_maddr *m, const char *text, size_t n);

/** Validate and copy binary p[0..n) into `*m` (empty input is an error).
 * On error `*m` is left empty. Returns 0 or LP2P_ERR_PARSE /
 * _UNSUPPORTED / _LIMIT / _INVAL. */
LP2P_API int lp2p_maddr_from_bytes(lp2p_maddr *m, const uint8_t *p, size_t n);

/** Text form into out[0..cap); `*len` gets the characters (a NUL follows
 * them when cap > *len). An empty maddr prints as "". Returns 0 or
 * LP2P_ERR_NOSPACE, LP2P_ERR_PARSE (m does not hold a valid multiaddr). */
LP2P_API int lp2p_maddr_to_string(const lp2p_maddr *m, char *out, size_t cap,
                                  size_t *len);

/** One component: `value` points into the multiaddr's bytes (lives as long
 * as it does); `offset`/`size` locate the whole component in m->bytes. */
typedef struct lp2p_maddr_comp {
  uint32_t code;
  const uint8_t *value;
  size_t len;
  size_t offset;
  size_t size;
} lp2p_maddr_comp;

typedef struct lp2p_maddr_iter {
  const uint8_t *p;
  size_t n;
  size_t pos;
} lp2p_maddr_iter;

/** Iterate m's components in order (m must outlive the iterator). */
LP2P_API void lp2p_maddr_iter_init(lp2p_maddr_iter *it, const lp2p_maddr *m);
/** Returns 1 (component read), 0 (end) or LP2P_ERR_PARSE /
 * LP2P_ERR_UNSUPPORTED (bytes were corrupted after validation). */
LP2P_API int lp2p_maddr_next(lp2p_maddr_iter *it, lp2p_maddr_comp *c);

/** Protocol name for a code ("tcp"), or NULL when unknown. */
LP2P_API const char *lp2p_maddr_proto_name(uint32_t code);

/** Append b's components to a. Returns 0 or LP2P_ERR_LIMIT (too long;
 * a unchanged), LP2P_ERR_INVAL (a ends with /unix, which must be last). */
LP2P_API int lp2p_maddr_encapsulate(lp2p_maddr *a, const lp2p_maddr *b);
/** Drop the last component with `code` and everything after it. Returns 0
 * or LP2P_ERR_NOT_FOUND (a unchanged). */
LP2P_API int lp2p_maddr_decapsulate(lp2p_maddr *a, uint32_t code);
/** 1 when a and b hold the same bytes, else 0. */
LP2P_API int lp2p_maddr_equal(const lp2p_maddr *a, const lp2p_maddr *b);
/** First component with `code`: value pointer and length. Returns 0 or
 * LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_maddr_find(const lp2p_maddr *m, uint32_t code,
                             const uint8_t **value, size_t *len);
/** The peer id multihash of a trailing /p2p component. Returns 0 or
 * LP2P_ERR_NOT_FOUND (last component is not /p2p). */
LP2P_API int lp2p_maddr_get_peer_id(const lp2p_maddr *m, const uint8_t **id,
                                    size_t *len);
/** Remove a trailing /p2p component. Returns 1 if removed, 0 if none. */
LP2P_API int lp2p_maddr_strip_peer_id(lp2p_maddr *m);

/** Build /ip4|ip6/<ip>/tcp|udp/<port>. family is 4 (ip in ip[0..4)) or 6.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_maddr_from_ip_port(lp2p_maddr *m, int family,
                                     const uint8_t ip[16], uint16_t port,
                                     int udp);
/** Read /ip4|ip6/<ip>/tcp|udp/<port>, optionally followed by /p2p/<id> and
 * nothing else. ip gets 4 or 16 bytes (rest zeroed); *udp 0 for tcp, 1 for
 * udp. Returns 0 or LP2P_ERR_UNSUPPORTED (any other form). */
LP2P_API int lp2p_maddr_to_ip_port(const lp2p_maddr *m, int *family,
                                   uint8_t ip[16], uint16_t *port, int *udp);

/* ---- IP text (pure, no libc resolver) -------------------------------- */

/** Longest ip text plus NUL ("ffff:...:255.255.255.255"). */
#define LP2P_IP_TEXT_MAX 46
/** Dotted decimal, exactly four parts, no leading zeros. Returns 0 or
 * LP2P_ERR_PARSE. */
LP2P_API int lp2p_ip4_from_text(const char *s, size_t n, uint8_t out[4]);
/** RFC 4291 section 2.2 text (hex either case, one "::", optional
 * trailing dotted quad; no zone). Returns 0 or LP2P_ERR_PARSE. */
LP2P_API int lp2p_ip6_from_text(const char *s, size_t n, uint8_t out[16]);
/** family 4: dotted decimal; 6: RFC 5952 canonical. A NUL follows when
 * there is room. Returns 0 or LP2P_ERR_NOSPACE / LP2P_ERR_INVAL. */
LP2P_API int lp2p_ip_to_text(int family, const uint8_t *ip, char *out,
                             size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
