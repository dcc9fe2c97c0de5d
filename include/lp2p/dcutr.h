/** DCUtR, Direct Connection Upgrade through Relay (libp2p specs,
 * relay/DCUtR.md): the HolePunch codec and a sans-IO engine per relayed
 * connection that decides when to dial which addresses.
 *
 * Roles (spec terms): A dialed B through a relay; B accepted the relayed
 * connection. B is the INITIATOR here: it opens the /libp2p/dcutr stream,
 * sends CONNECT and measures the RTT; A is the RESPONDER. Each attempt
 * runs on a new stream. The spec says retries reuse the first stream, but
 * the deployed stacks do not: go-libp2p (p2p/protocol/holepunch:
 * holepuncher.go opens a stream per attempt, svc.go answers one exchange
 * per stream) and js-libp2p (protocol-dcutr: a newStream inside its retry
 * loop, one exchange per incoming stream) both open one per attempt, so
 * that is what interoperates. Up to attempts_max (3, the spec's "retry
 * twice") attempts.
 *
 * The engine never dials: it emits a DIAL event (addresses, "from the
 * listen port with SO_REUSEADDR|SO_REUSEPORT, keep the listener", an
 * optional low TTL for the first SYN, the security role), and the host
 * reports the outcome with lp2p_dcutr_direct_result(). Whichever arrives
 * first, accepted or dialed, is the direct connection (DESIGN.md 5b).
 * B's DIAL comes RTT/2 after SYNC (the spec), or before SYNC when both
 * NAT classes are known and say B's SYN can safely go first (then SYNC
 * is queued on B's next timer tick, and A may PROBE when it answers
 * CONNECT: proto/dcutr/dcutr.c, plan_for).
 *
 * Drain order after each call: out_peek/out_consume (stream bytes), then
 * poll_event until 0, then next_timeout. */
#ifndef LP2P_DCUTR_H
#define LP2P_DCUTR_H

#include "lp2p/common.h"
#include "lp2p/multiaddr.h"
#include "lp2p/natclass.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_DCUTR_PROTOCOL "/libp2p/dcutr"

/* ---- HolePunch message codec ------------------------------------------
 * message HolePunch { enum Type { CONNECT = 100; SYNC = 300; }
 *   optional Type type = 1; repeated bytes ObsAddrs = 2; }
 * framed with an unsigned varint length prefix. The type is optional in
 * the schema but a message without one means nothing, so decoding
 * refuses it (go and js reject any type but the one they wait for). */

#define LP2P_DCUTR_CONNECT 100
#define LP2P_DCUTR_SYNC 300
/** Largest message body, go-libp2p's maxMsgSize (4 KiB). */
#define LP2P_DCUTR_MSG_MAX 4096
/** Addresses kept from one message; further ones are counted, skipped. */
#define LP2P_DCUTR_ADDRS_MAX 16

/** lp2p's extension field of HolePunch: the sender's NAT class, so that
 * both sides can name a hopeless pair instead of punching it and predict
 * a sequential allocator's ports. go and js skip unknown fields (proto3
 * and protons), so it costs them nothing. Value (varint): mapping in bits
 * 0-3 and filtering in bits 4-7 (lp2p_nat_behaviour), preserves_port + 1
 * in bits 8-9, the sequential port stride in bits 16-31 (0: none). */
#define LP2P_DCUTR_F_NAT 1000

typedef struct lp2p_dcutr_bytes {
  const uint8_t *p;
  size_t len;
} lp2p_dcutr_bytes;

/** A decoded HolePunch. Address bytes point into the decoded buffer. */
typedef struct lp2p_dcutr_msg {
  uint32_t type;
  int has_type;
  size_t naddrs;
  lp2p_dcutr_bytes addrs[LP2P_DCUTR_ADDRS_MAX];
  size_t naddrs_skipped; /**< ObsAddrs beyond LP2P_DCUTR_ADDRS_MAX */
  int has_nat;
  lp2p_nat_class nat;    /**< LP2P_DCUTR_F_NAT, when has_nat */
} lp2p_dcutr_msg;

/** Decode a body p[0..n) (no length prefix). A missing type or a type
 * other than CONNECT/SYNC is LP2P_ERR_PARSE; unknown fields are skipped.
 * Returns 0 or LP2P_ERR_PARSE, LP2P_ERR_LIMIT (n > LP2P_DCUTR_MSG_MAX),
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_dcutr_msg_decode(lp2p_dcutr_msg *m, const uint8_t *p,
                                   size_t n);

/** Encode m with its varint length prefix into out[0..cap); *len gets the
 * size (also on NOSPACE, so cap 0 measures). Returns 0 or LP2P_ERR_NOSPACE,
 * LP2P_ERR_LIMIT (body over LP2P_DCUTR_MSG_MAX), LP2P_ERR_INVAL. */
LP2P_API int lp2p_dcutr_msg_encode(const lp2p_dcutr_msg *m, uint8_t *out,
                                   size_t cap, size_t *len);

/* ---- address policy ---------------------------------------------------- */

/** Is-public predicate over an IP (family 4: ip[0..4), 6: ip[0..16)).
 * Returns nonzero for addresses a peer elsewhere on the internet could
 * reach. Injectable because a lab's "WAN" (198.18.0.0/15) is reserved. */
typedef int (*lp2p_dcutr_is_public_fn)(void *ud, int family,
                                       const uint8_t *ip);

/** The default predicate: not in any RFC 6890 special-purpose block
 * (private, loopback, link-local, shared CGN 100.64/10, documentation,
 * benchmarking 198.18/15, multicast, reserved, ULA fc00::/7, ...). */
LP2P_API int lp2p_dcutr_ip_is_public(void *ud, int family, const uint8_t *ip);

/** Whether binary multiaddr p[0..n) is worth dialing for a punch:
 * /ip4|ip6/<ip>/tcp|udp/<port>[/quic-v1][/p2p/<id>], a public IP by
 * `is_public` (NULL: the default), no /p2p-circuit, port not 0.
 * On 1, family/ip/port/udp (each may be NULL) describe it. */
LP2P_API int lp2p_dcutr_addr_dialable(const uint8_t *p, size_t n,
                                      lp2p_dcutr_is_public_fn is_public,
                                      void *ud, int *family, uint8_t ip[16],
                                      uint16_t *port, int *udp);

/** The spec's first step: B tries a direct dial to A before punching
 * when A claims a public address. Given A's addresses (its identify
 * listen addresses; pass only confirmed ones if the caller wants "confirmed
 * public"), writes the indexes of at most `max` dialable ones to idx and
 * returns how many (0: go straight to the punch). */
LP2P_API size_t lp2p_dcutr_unilateral_candidates(
    const lp2p_maddr *addrs, size_t n, lp2p_dcutr_is_public_fn is_public,
    void *ud, size_t *idx, size_t max);

/* ---- engine ------------------------------------------------------------- */

typedef enum lp2p_dcutr_role {
  LP2P_DCUTR_INITIATOR = 0, /**< B: accepted the relayed connection */
  LP2P_DCUTR_RESPONDER = 1, /**< A: dialed through the relay */
} lp2p_dcutr_role;

typedef struct lp2p_dcutr_config {
  uint32_t attempts_max;        /**< 3: the spec's "retry twice" */
  uint64_t exchange_timeout_ns; /**< stream open, CONNECT or SYNC: 15 s */
  uint64_t dial_timeout_ns;     /**< DIAL to direct result: 5 s (go) */
  uint64_t retry_delay_ns;      /**< pause between attempts: 0 (go) */
  size_t dial_addrs_max;        /**< peer addresses per attempt: 8 */
  /** Distinct IPs per attempt: 2 (an IPv4 and an IPv6 address). Without
   * it a peer that claims no IP in identify (a NATed peer often claims
   * none) could aim our dials at 8 third parties per attempt. */
  size_t dial_ips_max;
  /** TTL of the first SYN (0: never). Used from attempt
   * first_syn_ttl_from_attempt on (1-based), and on any attempt after one
   * that failed with REFUSED (an RST NAT, DESIGN 5b). From the second
   * attempt by default: a first attempt lost to an RST NAT is often seen
   * as REFUSED by one side only (the other gave up first), and both must
   * open their own NAT before the other's SYN arrives. */
  uint8_t first_syn_ttl;             /**< 2: leaves our NAT, not theirs */
  uint32_t first_syn_ttl_from_attempt; /**< 2 (0: only after REFUSED) */
  lp2p_dcutr_is_public_fn is_public; /**< NULL: lp2p_dcutr_ip_is_public */
  void *is_public_ud;
  lp2p_nat_class ours;   /**< our NAT behaviour (unknown by default) */
  lp2p_nat_class theirs; /**< the peer's, when known */
} lp2p_dcutr_config;

LP2P_API void lp2p_dcutr_config_default(lp2p_dcutr_config *cfg);

typedef enum lp2p_dcutr_event_type {
  /** Initiator: open a /libp2p/dcutr stream on the relayed connection,
   * then call lp2p_dcutr_stream_opened (or _stream_closed on failure). */
  LP2P_DCUTR_EV_OPEN_STREAM = 1,
  /** Close the dcutr stream after the queued bytes (reset: reset it). */
  LP2P_DCUTR_EV_CLOSE_STREAM = 2,
  /** Dial addrs[0..naddrs) now, from the listen port (SO_REUSEADDR +
   * SO_REUSEPORT, the listener stays), with the first SYN at TTL
   * first_syn_ttl (0: normal). Run the security handshake as the client
   * when security_client (A), else as the server (B): the roles come from
   * DCUtR, not from TCP (spec, "TCP Simultaneous Connect"). */
  LP2P_DCUTR_EV_DIAL = 3,
  /** The dial deadline passed: cancel the attempt's outstanding dials. */
  LP2P_DCUTR_EV_CANCEL_DIALS = 4,
  /** Final: ok (reason LP2P_PUNCH_OK) or failed with reason. */
  LP2P_DCUTR_EV_RESULT = 5,
  /** Responder (A), when it answers CONNECT and both NAT classes say the
   * initiator's SYN will come first from a port nobody can know (B maps
   * per destination) and our NAT admits it once it has sent to B's IP (A
   * maps endpoint-independently and filters by address or not at all):
   * send one SYN from the listen port to addrs[0..naddrs) with the first
   * SYN at TTL first_syn_ttl, as for DIAL. It opens our NAT's mapping and
   * address filter toward B without reaching B's NAT. Nothing waits for
   * its outcome; the attempt's DIAL follows on SYNC as usual. */
  LP2P_DCUTR_EV_PROBE = 6,
} lp2p_dcutr_event_type;

typedef struct lp2p_dcutr_event {
  lp2p_dcutr_event_type type;
  uint32_t attempt;       /**< 1-based attempt this event belongs to */
  int reset;              /**< CLOSE_STREAM: reset instead of close */
  /* DIAL */
  const lp2p_maddr *addrs; /**< valid until the next call into the engine */
  size_t naddrs;
  uint8_t first_syn_ttl;
  int security_client;
  /** For UDP (QUIC) addresses B does not dial: it sends UDP packets of
   * random bytes to them from the listen port while A dials (spec, "For a
   * QUIC address"). Set on B's DIAL. */
  int udp_random_packets;
  /* RESULT */
  int ok;
  lp2p_punch_reason reason;
  uint64_t rtt_ns;        /**< last relayed RTT measured (initiator) */
} lp2p_dcutr_event;

typedef struct lp2p_dcutr lp2p_dcutr;

/** New engine for one relayed connection. Returns 0 or LP2P_ERR_NOMEM,
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_dcutr_new(lp2p_dcutr **out, lp2p_dcutr_role role,
                            const lp2p_dcutr_config *cfg, const lp2p_mem *mem,
                            lp2p_tstamp now);
LP2P_API void lp2p_dcutr_free(lp2p_dcutr *d);

/** Our addresses for CONNECT (binary multiaddrs): observed ones from
 * identify, unverified too, and confirmed ones; copied; non-dialable ones
 * (private, circuit) are dropped, at most LP2P_DCUTR_ADDRS_MAX kept.
 * May be called again before each attempt. Returns the number kept, or
 * LP2P_ERR_INVAL. */
LP2P_API int lp2p_dcutr_set_local_addrs(lp2p_dcutr *d, const lp2p_maddr *a,
                                        size_t n);
/** Restrict what the peer can make us dial to its own IPs (from identify
 * and the connection itself): CONNECT addresses on other IPs are skipped,
 * so a peer cannot aim our dials at a third party. n == 0 lifts it. At
 * most LP2P_DCUTR_ADDRS_MAX kept. Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_dcutr_set_peer_ips(lp2p_dcutr *d, const int *family,
                                     const uint8_t (*ips)[16], size_t n);

/** Initiator: begin (after the unilateral upgrade, if any, failed). A
 * hopeless NAT pair or no public address of ours ends at once with a
 * RESULT. Returns 0 or LP2P_ERR_STATE. */
LP2P_API int lp2p_dcutr_start(lp2p_dcutr *d, lp2p_tstamp now);
/** The dcutr stream is open: the initiator's, after OPEN_STREAM; the
 * responder's, when the peer opened one. Returns 0 or LP2P_ERR_STATE. */
LP2P_API int lp2p_dcutr_stream_opened(lp2p_dcutr *d, lp2p_tstamp now);
/** The stream failed to open, was closed or reset by the peer. `err` is
 * LP2P_ERR_UNSUPPORTED when protocol negotiation failed. Returns 0. */
LP2P_API int lp2p_dcutr_stream_closed(lp2p_dcutr *d, lp2p_tstamp now, int err);
/** Bytes read from the dcutr stream. Returns n (all consumed; excess
 * after the message the engine waits for is a protocol error) or 0 when
 * the engine does not read now. Bad input becomes a RESULT, never an
 * error return. */
LP2P_API lp2p_ssize lp2p_dcutr_feed(lp2p_dcutr *d, lp2p_tstamp now,
                                    const uint8_t *p, size_t n);
/** The outcome of the last DIAL: ok, or the error (LP2P_ERR_REFUSED,
 * _TIMEOUT, _UNREACHABLE, ...). A connection accepted from the peer on
 * the punch port counts as ok. Returns 0 or LP2P_ERR_STATE (no dial
 * outstanding). */
LP2P_API int lp2p_dcutr_direct_result(lp2p_dcutr *d, lp2p_tstamp now, int ok,
                                      int err);

LP2P_API const uint8_t *lp2p_dcutr_out_peek(const lp2p_dcutr *d, size_t *len);
LP2P_API void lp2p_dcutr_out_consume(lp2p_dcutr *d, size_t n);
LP2P_API lp2p_tstamp lp2p_dcutr_next_timeout(const lp2p_dcutr *d);
LP2P_API int lp2p_dcutr_handle_timeout(lp2p_dcutr *d, lp2p_tstamp now);
/** Returns 1 (event written) or 0. */
LP2P_API int lp2p_dcutr_poll_event(lp2p_dcutr *d, lp2p_dcutr_event *ev);
/** 1 once a RESULT was queued. */
LP2P_API int lp2p_dcutr_done(const lp2p_dcutr *d);
/** Attempts started so far. */
LP2P_API uint32_t lp2p_dcutr_attempts(const lp2p_dcutr *d);

/** The DCUtR service's settings (lp2p_host_config.dcutr). */
typedef struct lp2p_dcutr_service_config {
  uint8_t enabled;          /**< run DCUtR on relayed connections (0) */
  lp2p_dcutr_config engine; /**< attempts, timeouts, TTL, is_public */
  uint64_t relayed_idle_close_ns; /**< after a punch, the relayed
                                   connection closes once it has carried no
                                   stream this long (10 s) */
  uint64_t retry_min_ns;    /**< after a failed punch, the side that
                                 starts (B) tries again on the same relayed
                                 connection after this long, doubling up
                                 to retry_max_ns, and at once when our
                                 advertised addresses change (0 = never,
                                 the default: one session per relayed
                                 connection, as go and js) */
  uint64_t retry_max_ns;    /**< the backoff's ceiling (10 min) */
  uint64_t resyn_delay_ns; /**< a low-TTL attempt: A's SYN follows B's
                              low-TTL SYN this much later (20 ms; more
                              than the peers' start skew) */
} lp2p_dcutr_service_config;

#ifdef __cplusplus
}
#endif
#endif
