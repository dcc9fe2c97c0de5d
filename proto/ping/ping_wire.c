/* /ipfs/ping/1.0.0 wire helpers: see ping_wire.h. */
#include "proto/ping/ping_wire.h"

size_t lp2p_ping_acc_feed(lp2p_ping_acc *a, const uint8_t *p, size_t n,
                          int *full) {
  size_t take = 0;
  while (a->len < LP2P_PING_LEN && take < n)
    a->buf[a->len++] = p[take++];
  *full = a->len == LP2P_PING_LEN;
  return take;
}

int lp2p_ping_match(const uint8_t sent[LP2P_PING_LEN],
                    const uint8_t got[LP2P_PING_LEN]) {
  uint8_t d = 0;
  for (size_t i = 0; i < LP2P_PING_LEN; i++)
    d |= (uint8_t)(sent[i] ^ got[i]);
  return d == 0;
}
