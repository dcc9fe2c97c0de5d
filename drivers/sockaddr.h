/* Internal to drivers/: OS socket address conversions. */
#ifndef LP2P_DRIVERS_SOCKADDR_H
#define LP2P_DRIVERS_SOCKADDR_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lp2p/host.h"

socklen_t drv_to_os(const lp2p_sockaddr *a, struct sockaddr_storage *ss);
void drv_from_os(lp2p_sockaddr *a, const struct sockaddr_storage *ss);
int drv_errno_to_err(int e);
#endif
