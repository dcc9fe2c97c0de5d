/* lp2p portmap: diagnostics against the home router (portmap.c: the verb,
 * NAT-PMP and PCP; portmap_upnp.c: UPnP IGD). Plain blocking sockets with
 * short timeouts around the library's pure engines. */
#ifndef LP2P_TOOLS_PORTMAP_H
#define LP2P_TOOLS_PORTMAP_H

#include "lp2p/host.h"
#include "tools/lp2p/cli.h"

enum { PMC_LIST = 1, PMC_ADD, PMC_DELETE };

typedef struct pmc {
  cli_ctx *ctx;
  int action;          /* PMC_* */
  uint16_t port;       /* add / delete */
  lp2p_sockaddr gw;    /* family 0: no default route */
  lp2p_sockaddr local; /* our address towards it */
} pmc;

/* Each returns 0 (JSON printed), CLI_EXIT_DATA after one error line, or
 * -1 when no such gateway answered at all (the caller may try another
 * protocol; nothing printed). */
int pmc_upnp(pmc *p);
int pmc_pcp(pmc *p);
int pmc_natpmp(pmc *p);

/* Wait up to ms for a datagram on fd. Returns its length or -1. */
long pmc_recv(int fd, uint8_t *buf, size_t cap, lp2p_sockaddr *from, int ms);
/* sendto() an lp2p_sockaddr (IPv4). */
void pmc_send(int fd, const lp2p_sockaddr *to, const uint8_t *p, size_t n);
/* "a.b.c.d" of an IPv4 address. */
void pmc_ip_text(const uint8_t ip[4], char out[16]);

#endif
