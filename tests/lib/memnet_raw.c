/* memnet's raw endpoints: the test as a TCP client of a host (bytes of
 * its choice, close, reset), and as a TCP server at addresses it serves,
 * which hosts' raw dials reach. */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/memnet_internal.h"

int mn_served(const memnet *n, const lp2p_sockaddr *a) {
  for (int i = 0; i < n->nserved; i++)
    if (n->served[i].family == a->family && n->served[i].port == a->port &&
        memcmp(n->served[i].ip, a->ip, 4) == 0)
      return 1;
  return 0;
}

/* A raw dial to an address the test serves: a pair of endpoints, the
 * far one a raw test endpoint waiting in the accept queue. */
int mn_raw_dial_served(mhost *mh, drv_ref ref, drv_handle *h,
                       lp2p_sockaddr *local) {
  memnet *n = mh->n;
  int a = mn_ep_new(n);
  n->eps[a].host = mh->idx;
  n->eps[a].ref = ref;
  n->eps[a].raw_out = 1;
  int b = mn_ep_new(n);
  n->eps[b].host = -1;
  n->eps[a].peer = b;
  n->eps[b].peer = a;
  if (n->naccq == n->caccq) {
    n->caccq = n->caccq ? n->caccq * 2 : 8;
    n->accq = realloc(n->accq, (size_t)n->caccq * sizeof *n->accq);
  }
  n->accq[n->naccq++] = b;
  memnet_addr(n, mh->idx, (uint16_t)(50000 + (a % 10000)), local);
  *h = (drv_handle)a;
  n->progress = 1;
  return 1;
}

void memnet_tcp_serve(memnet *n, const lp2p_sockaddr *addr) {
  if (n->nserved < SERVED_MAX)
    n->served[n->nserved++] = *addr;
}

int memnet_tcp_accept(memnet *n) {
  if (!n->naccq)
    return -1;
  int e = n->accq[0];
  memmove(n->accq, n->accq + 1, (size_t)(--n->naccq) * sizeof *n->accq);
  return e;
}

/* ---- raw endpoints ------------------------------------------------------------ */

int memnet_raw_connect(memnet *n, int host, uint16_t port) {
  return memnet_raw_connect_from(n, host, port, NULL);
}

int memnet_raw_connect_from(memnet *n, int host, uint16_t port,
                            const lp2p_sockaddr *src) {
  int a = mn_ep_new(n);
  n->eps[a].host = -1;
  if (src)
    n->eps[a].src = *src;
  lp2p_sockaddr dst, local;
  memnet_addr(n, host, port, &dst);
  int b = mn_connect_to(n, a, &dst, &local);
  if (b < 0) {
    n->eps[a].used = 0;
    return -1;
  }
  return a;
}

void memnet_raw_send(memnet *n, int e, const void *p, size_t len) {
  mn_push(n, &n->eps[e], p, len);
}

const uint8_t *memnet_raw_received(memnet *n, int e, size_t *len) {
  *len = n->eps[e].raw_len;
  return n->eps[e].raw_in;
}

int memnet_raw_closed(memnet *n, int e) { return n->eps[e].closed; }
int memnet_raw_was_reset(memnet *n, int e) { return n->eps[e].reset; }

void memnet_raw_close(memnet *n, int e) { n->eps[e].fin_sent = 1; }

void memnet_raw_reset(memnet *n, int e) {
  n->eps[e].fin_sent = 1;
  n->eps[e].reset = 1;
  mn_ep_clear(&n->eps[e]);
}
