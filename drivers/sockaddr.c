/* Conversions between the host's plain-data lp2p_sockaddr and OS socket
 * addresses, and errno -> LP2P_ERR_* mapping. Only drivers see OS structs. */
#include "drivers/sockaddr.h"

#include <errno.h>
#include <string.h>

socklen_t drv_to_os(const lp2p_sockaddr *a, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (a->family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a->ip, 16);
    s6->sin6_port = htons(a->port);
    return sizeof(*s6);
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET;
  memcpy(&s4->sin_addr, a->ip, 4);
  s4->sin_port = htons(a->port);
  return sizeof(*s4);
}

void drv_from_os(lp2p_sockaddr *a, const struct sockaddr_storage *ss) {
  memset(a, 0, sizeof(*a));
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    /* v4-mapped v6 addresses are reported as plain v4 */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(&s6->sin6_addr, mapped, 12) == 0) {
      a->family = 4;
      memcpy(a->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
    } else {
      a->family = 6;
      memcpy(a->ip, &s6->sin6_addr, 16);
    }
    a->port = ntohs(s6->sin6_port);
  } else if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    a->family = 4;
    memcpy(a->ip, &s4->sin_addr, 4);
    a->port = ntohs(s4->sin_port);
  }
}

int drv_errno_to_err(int e) {
  switch (e) {
  case ECONNREFUSED:
    return LP2P_ERR_REFUSED;
  case ENETUNREACH:
  case EHOSTUNREACH:
  case EADDRNOTAVAIL:
    return LP2P_ERR_UNREACHABLE;
  case ETIMEDOUT:
    return LP2P_ERR_TIMEOUT;
  case ENOMEM:
  case ENOBUFS:
    return LP2P_ERR_NOMEM;
  case EMFILE:
  case ENFILE:
    return LP2P_ERR_LIMIT;
  default:
    return LP2P_ERR_IO;
  }
}
