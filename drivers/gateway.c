/* Reads the IPv4 default gateway for the port-mapping service
 * (drivers/gateway.h). /proc/net/route lists one route a line: Iface,
 * Destination, Gateway, Flags, ... with addresses as 8 hex digits in the
 * kernel's (little-endian on x86) byte order of the in_addr. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/gateway.h"
#include "lp2p/driver.h"

#define ROUTE_READ_MAX (64u * 1024u)
#define RTF_UP_ 0x1u
#define RTF_GATEWAY_ 0x2u

int drv_gateway_parse(const char *text, size_t len, uint8_t ip[4]) {
  size_t i = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && text[e] != '\n')
      e++;
    char line[512];
    size_t l = e - i < sizeof line - 1 ? e - i : sizeof line - 1;
    memcpy(line, text + i, l);
    line[l] = 0;
    i = e + 1;
    char ifname[64];
    unsigned dst, gw, flags;
    if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) != 4)
      continue; /* the header line, or junk */
    if (dst != 0 || gw == 0 || (flags & (RTF_UP_ | RTF_GATEWAY_)) !=
                                    (RTF_UP_ | RTF_GATEWAY_))
      continue;
    struct in_addr a;
    a.s_addr = (in_addr_t)gw; /* the in_addr's bytes, as the kernel wrote */
    memcpy(ip, &a.s_addr, 4);
    return 0;
  }
  return -1;
}

/* Our source address towards `gw`: connect a UDP socket (sends nothing). */
static int local_towards(const uint8_t gw[4], uint8_t out[4]) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(5351);
  memcpy(&a.sin_addr, gw, 4);
  socklen_t l = sizeof a;
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                   getsockname(fd, (struct sockaddr *)&a, &l) == 0
               ? 0
               : -1;
  close(fd);
  if (rc == 0)
    memcpy(out, &a.sin_addr, 4);
  return rc;
}

void drv_gateway_configure(lp2p_host *h) {
  const char *p = getenv("LP2P_PROC_NET_ROUTE");
  FILE *f = fopen(p ? p : "/proc/net/route", "r");
  if (!f)
    return;
  char *buf = malloc(ROUTE_READ_MAX);
  size_t len = buf ? fread(buf, 1, ROUTE_READ_MAX, f) : 0;
  fclose(f);
  lp2p_sockaddr gw, local;
  memset(&gw, 0, sizeof gw);
  memset(&local, 0, sizeof local);
  if (buf && drv_gateway_parse(buf, len, gw.ip) == 0) {
    gw.family = 4;
    if (local_towards(gw.ip, local.ip) == 0)
      local.family = 4;
    lp2p_host_portmap_set_gateway(h, lp2p_clock_now(), &gw,
                                  local.family ? &local : NULL);
  }
  free(buf);
}
