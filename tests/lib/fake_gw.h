/* A home router for port-mapping tests on memnet: it answers SSDP
 * M-SEARCH, serves an IGD:1 device description and the WANIPConnection:1
 * SOAP actions over raw TCP, and speaks NAT-PMP (RFC 6886) and PCP (RFC
 * 6887 MAP) on port 5351. Every answer is written by hand here, not with
 * the codecs under test. Switches make it misbehave the ways routers do:
 * 718 conflicts, 725 permanent leases only, a private external address
 * (double NAT), a reboot (epoch back to 0). */
#ifndef LP2P_TESTS_FAKE_GW_H
#define LP2P_TESTS_FAKE_GW_H

#include "tests/lib/memnet.h"

#define FGW_CONNS_MAX 64

typedef struct fake_gw {
  memnet *net;
  lp2p_sockaddr addr;     /* 10.0.0.254 */
  int upnp, pcp, natpmp;  /* which protocols it answers */
  uint8_t ext_ip[4];      /* its WAN address */
  lp2p_tstamp boot;       /* epoch 0 (a reboot sets it to now) */
  int conflicts;          /* answer this many AddPortMapping with 718 */
  int conflict_always;    /* every AddPortMapping gets 718 */
  int permanent_only;     /* 725 to any lease but 0 */
  uint16_t pmp_port_offset; /* NAT-PMP / PCP grant internal + this */
  int http_silent;        /* read HTTP requests, never answer */
  /* what it saw */
  int searches, descs, extips, adds, add_faults, deletes;
  int pmp_maps, pmp_deletes, pmp_addrs;
  int pcp_maps, pcp_deletes;
  uint32_t last_lease;
  uint16_t last_ext_port;   /* asked for in the last request */
  char last_client[32];     /* UPnP NewInternalClient */
  uint8_t last_pcp_client[16];
  uint8_t last_pcp_nonce[12];
  /* HTTP connections */
  int eps[FGW_CONNS_MAX];
  int answered[FGW_CONNS_MAX];
  int neps;
} fake_gw;

void fake_gw_init(fake_gw *g, memnet *n);
/* Answer everything the hosts sent so far (call it while memnet runs). */
void fake_gw_service(fake_gw *g);

#endif
