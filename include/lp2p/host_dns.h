/** Names in the host's dials (/dns, /dns4, /dns6, /dnsaddr) and the
 * resolver's inputs. Part of lp2p/host.h. */
#ifndef LP2P_HOST_DNS_H
#define LP2P_HOST_DNS_H

#include "lp2p/common.h"
#include "lp2p/host_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- names ---------------------------------------------------------------
 * lp2p_host_dial accepts /dns/<name>, /dns4/<name>, /dns6/<name> and
 * /dnsaddr/<name> addresses without blocking: the host's DNS service looks
 * the name up in the hosts text first, then asks the servers over a UDP
 * socket the host owns (so the driver needs nothing special), and the dial
 * goes on with the addresses found, or ends in DIAL_FAILED with the reason:
 * LP2P_ERR_NOT_FOUND (NXDOMAIN, no usable record), LP2P_ERR_TIMEOUT,
 * LP2P_ERR_NO_RESOLVER (no server configured and no hosts entry),
 * LP2P_ERR_LIMIT (the /dnsaddr recursion bound or a query bound),
 * LP2P_ERR_UNSUPPORTED (names found, none dialable over TCP). Limits are
 * in lp2p_host_config.dns. */

/** Give the resolver its inputs: the text of a hosts(5) file (copied; may
 * be NULL/0) and the DNS servers to ask (lp2p_dns_resolv_conf_parse reads
 * them from resolv.conf text). The epoll/poll driver calls this once in
 * lp2p_driver_new with /etc/hosts and /etc/resolv.conf; call it again to
 * replace both. Returns 0 or LP2P_ERR_INVAL, LP2P_ERR_NOMEM,
 * LP2P_ERR_UNSUPPORTED (the host runs no DNS service). */
LP2P_API int lp2p_host_dns_configure(lp2p_host *h, const char *hosts_text,
                                     size_t len,
                                     const lp2p_sockaddr *servers,
                                     size_t nservers);

#ifdef __cplusplus
}
#endif
#endif
