/* A BearSSL br_prng driven by an injected lp2p_rng, so that key generation
 * (RSA, ECDSA) draws all randomness from the caller and replays exactly
 * under a seeded RNG. Internal to crypto/. */
#ifndef LP2P_CRYPTO_BR_PRNG_H
#define LP2P_CRYPTO_BR_PRNG_H

#include <bearssl.h>

#include "lp2p/common.h"

typedef struct lp2p_br_prng {
  const br_prng_class *vtable; /* must be first: BearSSL passes &vtable */
  const lp2p_rng *rng;
} lp2p_br_prng;

void lp2p_br_prng_init(lp2p_br_prng *p, const lp2p_rng *rng);

#endif
