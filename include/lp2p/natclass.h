/** NAT behaviour: the RFC 4787 / RFC 5780 vocabulary, a pure classifier
 * over addresses other peers observed for us, sequential port prediction,
 * and the punch verdict that tells whether a hole punch between two NAT
 * behaviours can work at all.
 *
 * Pure functions, no allocation. The verdict follows RFC 4787/5382 and
 * agrees with measurements through Linux NAT boxes (DESIGN.md section
 * 5b): a side's SYN gets in where the other's filter admits it, given a
 * listener on the punch port. */
#ifndef LP2P_NATCLASS_H
#define LP2P_NATCLASS_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Mapping behaviour (RFC 4787 section 4.1), also used for filtering
 * (section 5): "address" means address-dependent, "address and port"
 * address-and-port-dependent. LP2P_NAT_NONE: no NAT (the observed address
 * is the local one; filtering NONE: nothing filters). */
typedef enum lp2p_nat_behaviour {
  LP2P_NAT_UNKNOWN = 0,
  LP2P_NAT_NONE = 1,
  LP2P_NAT_ENDPOINT_INDEPENDENT = 2,
  LP2P_NAT_ADDRESS_DEPENDENT = 3,
  LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT = 4,
} lp2p_nat_behaviour;

/** "endpoint-independent", "address-dependent",
 * "address-and-port-dependent", "none" or "unknown" (the CLI's words). */
LP2P_API const char *lp2p_nat_behaviour_name(lp2p_nat_behaviour b);

/** What is known about one side's NAT. preserves_port: 1 yes, 0 no,
 * -1 unknown. sequential: 1 when a per-destination mapping was seen to
 * hand out ports in increasing order (port_stride > 0 then). */
typedef struct lp2p_nat_class {
  lp2p_nat_behaviour mapping;
  lp2p_nat_behaviour filtering;
  int preserves_port;
  int sequential;
  uint16_t port_stride;
} lp2p_nat_class;

/** An unknown class (everything UNKNOWN, preserves_port -1). */
LP2P_API void lp2p_nat_class_unknown(lp2p_nat_class *c);

/* ---- classification from observed addresses -------------------------- */

/** One observation: a peer at observer ip:port told us (identify's
 * observedAddr) that our connection from local_port reached it from
 * observed ip:port. family is 4 or 6; ips are 16 bytes, IPv4 in the first
 * four. udp: 0 TCP, 1 UDP (never compared across transports). */
typedef struct lp2p_nat_obs {
  int family;
  int udp;
  uint16_t local_port;
  uint8_t observer_ip[16];
  uint16_t observer_port;
  uint8_t observed_ip[16];
  uint16_t observed_port;
} lp2p_nat_obs;

/** The classifier's answer with its evidence. */
typedef struct lp2p_natclass_result {
  lp2p_nat_class cls;     /**< filtering always UNKNOWN from observations */
  size_t agree;           /**< observer IP pairs that saw the same mapping */
  size_t disagree;        /**< observer IP pairs that saw different ones */
  uint8_t external_ip[16];/**< most reported observed IP (family below) */
  int external_family;    /**< 0 when there was no observation */
  uint16_t external_port; /**< its port when mapping is EIM, else 0 */
} lp2p_natclass_result;

/** Classify obs[0..n) (in the order they were made; the order matters for
 * sequential allocation). For each (transport, local port) the
 * observations from distinct observer IPs are compared pairwise: the same
 * observed ip:port means endpoint-independent, different ones mean a
 * mapping per destination. Two observers on one IP with different ports
 * separate address-dependent (same mapping) from address-and-port-dependent.
 * A majority decides, so one lying peer cannot flip the answer; a tie or
 * fewer than two observer IPs leaves mapping UNKNOWN. preserves_port: every
 * observed port equals its local port (1), none or some do not (0).
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_natclass_classify(const lp2p_nat_obs *obs, size_t n,
                                    lp2p_natclass_result *r);

/** Largest gap between consecutive ports that still counts as sequential
 * allocation (other hosts behind the same NAT take ports in between). */
#define LP2P_NAT_STRIDE_MAX 16

/** Port prediction for NATs that allocate ports sequentially: ports[0..n)
 * are the external ports of successive new mappings, oldest first. When
 * there are at least 3 and every step is in 1..LP2P_NAT_STRIDE_MAX (mod
 * 2^16 wrap is refused), writes the next k candidates
 * last + stride*i (stride: the smallest step seen; i = 1..k, stopping
 * before 65535) to out and returns how many, else 0. *stride (may be NULL)
 * gets the stride. */
LP2P_API size_t lp2p_natclass_predict_ports(const uint16_t *ports, size_t n,
                                            uint16_t *out, size_t k,
                                            uint16_t *stride);

/* ---- punch verdict ---------------------------------------------------- */

/** Why a hole punch is not tried or did not work. */
typedef enum lp2p_punch_reason {
  LP2P_PUNCH_OK = 0,
  LP2P_PUNCH_NO_PUBLIC_ADDR_OURS = 1,   /**< nothing public to send */
  LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS = 2, /**< peer sent nothing dialable */
  LP2P_PUNCH_BOTH_ADDR_DEPENDENT = 3,   /**< both map per destination */
  LP2P_PUNCH_DEPENDENT_VS_PORT_FILTER = 4, /**< one maps per destination,
                                              the other filters by port */
  LP2P_PUNCH_TIMEOUT = 5,
  LP2P_PUNCH_REFUSED = 6,
  LP2P_PUNCH_PROTOCOL = 7,             /**< peer broke the DCUtR protocol */
  LP2P_PUNCH_TOO_MANY_ATTEMPTS = 8,    /**< peer asked for more attempts */
  LP2P_PUNCH_STREAM_CLOSED = 9,        /**< dcutr stream closed or reset */
  LP2P_PUNCH_UNSUPPORTED = 10,         /**< peer does not speak dcutr */
  LP2P_PUNCH_UNREACHABLE = 11,         /**< every dial failed otherwise */
} lp2p_punch_reason;

/** Stable short name ("no-public-address-ours", "both-address-dependent",
 * "timeout", ...), used in events and the CLI's JSON. Never NULL. */
LP2P_API const char *lp2p_punch_reason_name(lp2p_punch_reason r);

/** Whether a punch between `ours` and `theirs` can work, from what is
 * known. It is hopeless when each side's NAT surely drops the other's SYN
 * (aimed at the observed, relay-seen endpoint): an EIF filter admits it;
 * an ADF filter only on an endpoint-independent mapping; an APDF filter
 * only when both sides map endpoint-independently. Unknown behaviours and
 * sequential allocation (predicted ports) never make a punch hopeless.
 * Returns BOTH_ADDR_DEPENDENT when both map per destination,
 * DEPENDENT_VS_PORT_FILTER when one does and the other filters by
 * address and port, else LP2P_PUNCH_OK. With complete classes this is
 * the RFC 4787/5382 oracle of the simulator's tcp-punch-matrix. */
LP2P_API lp2p_punch_reason lp2p_nat_punch_verdict(const lp2p_nat_class *ours,
                                                  const lp2p_nat_class *theirs);

#ifdef __cplusplus
}
#endif
#endif
