/* lp2p_sockaddr <-> multiaddr for the TCP transport. */
#include "proto/host/host_internal.h"

int lp2p_sockaddr_from_maddr(lp2p_sockaddr *out, const lp2p_maddr *ma) {
  if (!out || !ma)
    return LP2P_ERR_INVAL;
  int family = 0, udp = 0;
  uint8_t ip[16];
  uint16_t port = 0;
  int rc = lp2p_maddr_to_ip_port(ma, &family, ip, &port, &udp);
  if (rc)
    return rc == LP2P_ERR_INVAL ? rc : LP2P_ERR_UNSUPPORTED;
  if (udp)
    return LP2P_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  out->family = (uint8_t)family;
  memcpy(out->ip, ip, family == 4 ? 4 : 16);
  out->port = port;
  return 0;
}

int lp2p_sockaddr_to_maddr(lp2p_maddr *out, const lp2p_sockaddr *sa) {
  if (!out || !sa || (sa->family != 4 && sa->family != 6))
    return LP2P_ERR_INVAL;
  return lp2p_maddr_from_ip_port(out, sa->family, sa->ip, sa->port, 0);
}

int host_sockaddr_unspecified(const lp2p_sockaddr *sa) {
  size_t n = sa->family == 4 ? 4 : 16;
  for (size_t i = 0; i < n; i++)
    if (sa->ip[i])
      return 0;
  return 1;
}
