/* A keyed hash for tables whose keys a peer chooses (peer ids, addresses).
 * With a secret key drawn from the injected rng at creation, a peer cannot
 * precompute keys that all land in one bucket (hash flooding). Internal,
 * not part of the public API. */
#ifndef LP2P_PROTO_COMMON_KEYED_HASH_H
#define LP2P_PROTO_COMMON_KEYED_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LP2P_KEYED_HASH_KEY_BYTES 16

/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012) of p[0..n) under `key`. Pure: no allocation, no state. */
uint64_t lp2p_keyed_hash(const uint8_t key[LP2P_KEYED_HASH_KEY_BYTES],
                         const uint8_t *p, size_t n);

#endif
