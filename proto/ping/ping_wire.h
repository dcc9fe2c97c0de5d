/* /ipfs/ping/1.0.0 wire helpers (ping spec, "Protocol"), pure. The dialer
 * sends 32 random bytes; the listener echoes them; repeat on the same
 * stream. The only state is a 32-byte accumulator. */
#ifndef LP2P_PROTO_PING_WIRE_H
#define LP2P_PROTO_PING_WIRE_H

#include "lp2p/common.h"

#define LP2P_PING_PROTOCOL "/ipfs/ping/1.0.0"
#define LP2P_PING_LEN 32

typedef struct lp2p_ping_acc {
  uint8_t buf[LP2P_PING_LEN];
  uint8_t len;
} lp2p_ping_acc;

/* Take bytes until 32 are collected. Returns bytes consumed; *full is 1
 * when the accumulator holds a whole payload (reset it with len = 0). */
size_t lp2p_ping_acc_feed(lp2p_ping_acc *a, const uint8_t *p, size_t n,
                          int *full);
/* 1 when the echo `got` matches what was `sent` (constant time). */
int lp2p_ping_match(const uint8_t sent[LP2P_PING_LEN],
                    const uint8_t got[LP2P_PING_LEN]);

#endif
