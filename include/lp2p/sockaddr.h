/** lp2p_sockaddr: an IP socket address as plain data, one definition for
 * every header that names sockets (the host, the drivers, STUN, DNS,
 * NAT-PMP, PCP, port mapping). */
#ifndef LP2P_SOCKADDR_H
#define LP2P_SOCKADDR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An IP socket address as plain data (never an OS struct). `family` is 4
 * or 6 (0 = none); for IPv4 only ip[0..3] is used; `port` is host order. */
typedef struct lp2p_sockaddr {
  uint8_t family;
  uint8_t ip[16];
  uint16_t port;
} lp2p_sockaddr;

#ifdef __cplusplus
}
#endif
#endif
