/* Reads /etc/hosts and /etc/resolv.conf for the host's in-loop resolver.
 * The files are read once, when a driver is created, and bounded: the
 * resolver keeps at most dns.hosts_bytes_max of the hosts text anyway,
 * and a resolv.conf has a handful of lines. */
#include <stdio.h>
#include <stdlib.h>

#include "drivers/dns_files.h"

#define HOSTS_READ_MAX (1u << 20)
#define RESOLV_READ_MAX (64u * 1024u)

static char *slurp(const char *path, size_t max, size_t *len) {
  *len = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  char *buf = malloc(max);
  if (buf)
    *len = fread(buf, 1, max, f);
  fclose(f);
  return buf;
}

void drv_dns_configure(lp2p_host *h) {
  const char *hp = getenv("LP2P_HOSTS"), *rp = getenv("LP2P_RESOLV_CONF");
  size_t hl, rl, n = 0;
  char *hosts = slurp(hp ? hp : "/etc/hosts", HOSTS_READ_MAX, &hl);
  char *conf = slurp(rp ? rp : "/etc/resolv.conf", RESOLV_READ_MAX, &rl);
  lp2p_sockaddr servers[LP2P_DNS_SERVERS_MAX];
  if (conf)
    lp2p_dns_resolv_conf_parse(conf, rl, servers, LP2P_DNS_SERVERS_MAX, &n);
  lp2p_host_dns_configure(h, hosts, hosts ? hl : 0, servers, n);
  free(hosts);
  free(conf);
}
