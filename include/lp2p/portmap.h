/** Port mapping on the home router (the host's portmap service): each
 * private, non-loopback TCP listen address is mapped on the gateway with
 * UPnP IGD (SSDP, the device description, SOAP AddPortMapping), PCP (RFC
 * 6887 MAP) or NAT-PMP (RFC 6886), and the external address is added to
 * the address manager (LP2P_ADDR_MAPPED). Events PORT_MAPPED,
 * PORT_MAPPING_FAILED and PORT_MAPPING_LOST tell the application. Off by
 * default (method LP2P_PORTMAP_OFF). The engines are upnp.h, natpmp.h and
 * pcp.h; this header holds the service's configuration. */
#ifndef LP2P_PORTMAP_H
#define LP2P_PORTMAP_H

#include "lp2p/common.h"
#include "lp2p/sockaddr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which protocol the service speaks to the gateway. */
typedef enum lp2p_portmap_method {
  LP2P_PORTMAP_OFF = 0,  /**< no port mapping (the default) */
  LP2P_PORTMAP_AUTO,     /**< UPnP, then PCP, then NAT-PMP */
  LP2P_PORTMAP_UPNP,
  LP2P_PORTMAP_PCP,
  LP2P_PORTMAP_NATPMP
} lp2p_portmap_method;

/** Why a mapping failed (PORT_MAPPING_FAILED u.portmap.reason) or was
 * lost (PORT_MAPPING_LOST). */
typedef enum lp2p_portmap_reason {
  LP2P_PORTMAP_R_NONE = 0,
  LP2P_PORTMAP_R_NO_GATEWAY,  /**< no UPnP answer and no gateway address
                                   for PCP / NAT-PMP */
  LP2P_PORTMAP_R_TIMEOUT,     /**< the gateway did not answer */
  LP2P_PORTMAP_R_REFUSED,     /**< the gateway said no (an error code) */
  LP2P_PORTMAP_R_UNSUPPORTED, /**< no usable service on the gateway */
  LP2P_PORTMAP_R_DOUBLE_NAT,  /**< the external address is itself private
                                   or CGNAT (100.64/10): a mapping on this
                                   router would not reach the Internet */
  LP2P_PORTMAP_R_CONFLICT,    /**< UPnP 718 on every port tried */
  LP2P_PORTMAP_R_NO_LOCAL,    /**< our own LAN address is unknown */
  LP2P_PORTMAP_R_EPOCH,       /**< LOST: the gateway restarted (epoch) */
  LP2P_PORTMAP_R_RENEWAL      /**< LOST: a renewal failed */
} lp2p_portmap_reason;

/** The service's configuration (lp2p_host_config.portmap). */
typedef struct lp2p_portmap_config {
  lp2p_portmap_method method;  /**< LP2P_PORTMAP_OFF (default) */
  lp2p_sockaddr gateway;       /**< the default gateway (IPv4; family 0 =
                                    unknown: the driver may set it with
                                    lp2p_host_portmap_set_gateway) */
  lp2p_sockaddr local;         /**< our address on the gateway's link
                                    (family 0: the listen address, an
                                    INTERFACE address, or the local end
                                    of the UPnP connection) */
  uint32_t lease_s;            /**< requested lifetime (3600); renewed at
                                    half */
  uint32_t conflict_tries_max; /**< UPnP ports tried on 718 (4) */
  uint32_t mappings_max;       /**< listen ports mapped (8) */
  uint64_t ssdp_wait_ns;       /**< wait for SSDP answers (2 s) */
  uint64_t http_timeout_ns;    /**< one HTTP exchange (5 s) */
  uint64_t retry_ns;           /**< after a failure, try again (10 min;
                                    0 = never) */
} lp2p_portmap_config;

/** Fill `cfg` with the defaults above. */
LP2P_API void lp2p_portmap_config_default(lp2p_portmap_config *cfg);

/** "upnp", "pcp", "natpmp", "auto", "off". */
LP2P_API const char *lp2p_portmap_method_name(lp2p_portmap_method m);
/** Parse one of those names. Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_portmap_method_parse(const char *s,
                                       lp2p_portmap_method *out);
/** "no-gateway", "timeout", "refused", "unsupported", "double-nat",
 * "conflict", "no-local-address", "epoch", "renewal", "none". */
LP2P_API const char *lp2p_portmap_reason_name(lp2p_portmap_reason r);

/** 1 when `ip` (IPv4) is not reachable from the Internet as a mapped
 * address: RFC 1918, CGNAT 100.64/10 (RFC 6598), loopback, link-local,
 * 0/8. */
LP2P_API int lp2p_portmap_ip4_is_private(const uint8_t ip[4]);

#ifdef __cplusplus
}
#endif
#endif
