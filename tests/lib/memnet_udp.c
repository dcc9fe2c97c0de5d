/* memnet's UDP: hosts' UDP sockets, datagrams between them (with the
 * hop latency), and datagrams to addresses no host has, which wait for
 * the test (memnet_udp_take). */
#include <stdlib.h>
#include <string.h>

#include "tests/lib/memnet_internal.h"

int mn_udp_bind(mhost *mh, drv_ref ref, const lp2p_io *io, drv_handle *h,
                lp2p_sockaddr *bound) {
  memnet *n = mh->n;
  if (n->nus == n->caps_us) {
    n->caps_us = n->caps_us ? n->caps_us * 2 : 16;
    n->us = realloc(n->us, (size_t)n->caps_us * sizeof *n->us);
  }
  int i = n->nus++;
  usock *u = &n->us[i];
  memset(u, 0, sizeof *u);
  u->used = 1;
  u->host = mh->idx;
  u->ref = ref;
  u->port = io->addr.port ? io->addr.port : mh->next_port++;
  memnet_addr(n, mh->idx, u->port, bound);
  *h = (drv_handle)i;
  return 0;
}

static void dgram_append(dgram **head, dgram **tail, dgram *g) {
  g->next = NULL;
  if (*tail)
    (*tail)->next = g;
  else
    *head = g;
  *tail = g;
}

void memnet_udp_send(memnet *n, const lp2p_sockaddr *from,
                     const lp2p_sockaddr *to, const void *p, size_t len) {
  dgram *g = calloc(1, sizeof *g);
  g->at = n->now + n->latency_ns;
  g->d.host = -1;
  g->d.from = *from;
  g->d.to = *to;
  g->d.len = len < sizeof g->d.data ? len : sizeof g->d.data;
  memcpy(g->d.data, p, g->d.len);
  n->moved += g->d.len;
  if (to->family == 4 && to->ip[0] == 10 && to->ip[1] == 0 && to->ip[2] == 0)
    for (int i = 0; i < n->nus; i++) {
      usock *u = &n->us[i];
      if (u->used && u->host == to->ip[3] - 1 && u->port == to->port) {
        dgram_append(&u->head, &u->tail, g);
        return;
      }
    }
  if (from->family == 4 && from->ip[0] == 10 && from->ip[3] - 1 < n->nhosts &&
      from->ip[3] - 1 >= 0) {
    g->d.host = from->ip[3] - 1;
    dgram_append(&n->out_head, &n->out_tail, g); /* for the test */
    return;
  }
  free(g); /* nobody there */
}

void mn_udp_send(void *b, drv_handle h, const lp2p_io *io) {
  mhost *mh = b;
  usock *u = &mh->n->us[h];
  lp2p_sockaddr from;
  memnet_addr(mh->n, mh->idx, u->port, &from);
  memnet_udp_send(mh->n, &from, &io->addr, io->data, io->len);
  mh->n->progress = 1;
}

lp2p_ssize mn_udp_recv(void *b, drv_handle h, lp2p_sockaddr *from,
                       uint8_t *buf, size_t cap) {
  memnet *n = ((mhost *)b)->n;
  usock *u = &n->us[h];
  dgram *g = u->head;
  if (!g || g->at > n->now)
    return LP2P_ERR_AGAIN;
  u->head = g->next;
  if (!u->head)
    u->tail = NULL;
  size_t k = g->d.len < cap ? g->d.len : cap;
  memcpy(buf, g->d.data, k);
  *from = g->d.from;
  free(g);
  n->progress = 1;
  return (lp2p_ssize)k;
}

int mn_udp_join(void *b, drv_handle h, const lp2p_sockaddr *group) {
  (void)b;
  (void)h;
  (void)group;
  return 0; /* every datagram reaches the test anyway */
}

int memnet_udp_take(memnet *n, memnet_dgram *out) {
  dgram *g = n->out_head;
  if (!g)
    return 0;
  n->out_head = g->next;
  if (!n->out_head)
    n->out_tail = NULL;
  *out = g->d;
  free(g);
  return 1;
}
