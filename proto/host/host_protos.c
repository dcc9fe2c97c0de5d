/* The protocol table: every protocol id the host knows (services'
 * protocols, registered application protocols, protocols we opened streams
 * for), interned once so events can point at stable names. */
#include "proto/host/host_internal.h"


uint16_t host_proto_find(lp2p_host *h, const char *name, size_t len, int add,
                         uint8_t owner, int *err) {
  *err = 0;
  for (uint16_t i = 0; i < h->nprotos; i++)
    if (h->protos[i].len == len && memcmp(h->protos[i].name, name, len) == 0)
      return i;
  if (!add) {
    *err = LP2P_ERR_NOT_FOUND;
    return UINT16_MAX;
  }
  if (len == 0 || len > 1000 || memchr(name, '\n', len) ||
      memchr(name, 0, len)) {
    *err = LP2P_ERR_INVAL;
    return UINT16_MAX;
  }
  /* Services' protocols do not count against protocols_max (it bounds
   * what the application and remote peers can add). */
  if (h->nprotos >= h->cfg.protocols_max + h->nprotos_svc) {
    *err = LP2P_ERR_LIMIT;
    return UINT16_MAX;
  }
  if (h->nprotos == h->protos_cap) {
    uint16_t ncap = h->protos_cap ? (uint16_t)(h->protos_cap * 2) : 16;
    hproto *n = lp2p_mem_realloc(h->mem, h->protos,
                                 h->protos_cap * sizeof *n, ncap * sizeof *n);
    if (!n) {
      *err = LP2P_ERR_NOMEM;
      return UINT16_MAX;
    }
    h->protos = n;
    h->protos_cap = ncap;
  }
  char *c = lp2p_mem_malloc(h->mem, len + 1);
  if (!c) {
    *err = LP2P_ERR_NOMEM;
    return UINT16_MAX;
  }
  memcpy(c, name, len);
  c[len] = 0;
  hproto *p = &h->protos[h->nprotos];
  p->name = c;
  p->len = (uint16_t)len;
  p->owner = owner;
  p->flags = 0;
  p->streams_in = 0;
  p->in_max = p->in_peer_max = 0;
  return h->nprotos++;
}

void host_protos_free(lp2p_host *h) {
  for (uint16_t i = 0; i < h->nprotos; i++)
    lp2p_mem_free(h->mem, h->protos[i].name);
  lp2p_mem_free(h->mem, h->protos);
  h->protos = NULL;
  h->nprotos = h->protos_cap = 0;
}
