/* Text configuration of the resolver (proto/dns/dns_conf.c): the hosts
 * table, looked up in place in the kept text. Not public. */
#ifndef LP2P_PROTO_DNS_CONF_H
#define LP2P_PROTO_DNS_CONF_H

#include "lp2p/dns.h"

/* Addresses of `name` (trailing dot ignored, case-insensitive) in hosts(5)
 * text, for the families in `fams` (LP2P_DNS_FAM*), in file order: up to
 * `max` go to ips/fam (fam 4 or 6). Returns how many were found. */
size_t dns_hosts_find(const char *text, size_t len, const char *name,
                      size_t name_len, unsigned fams, uint8_t (*ips)[16],
                      uint8_t *fam, size_t max);
/* Case-insensitive comparison of two DNS names (RFC 1035 2.3.3), a
 * trailing dot on either ignored. */
int dns_name_eq(const char *a, size_t al, const char *b, size_t bl);

#endif
