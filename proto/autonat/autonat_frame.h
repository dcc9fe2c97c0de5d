/* Accumulate length-prefixed AutoNAT messages from a byte stream into a
 * fixed buffer and hand each whole body to a callback (internal to
 * proto/autonat). */
#ifndef LP2P_PROTO_AUTONAT_FRAME_H
#define LP2P_PROTO_AUTONAT_FRAME_H

#include "lp2p/autonat.h"

/* Returns 0 to go on, 1 to stop taking input (the exchange ended), or a
 * negative error (the peer misbehaved). */
typedef int (*autonat_frame_fn)(void *ctx, const uint8_t *body, size_t len);

/* Take bytes into buf[0..cap) (cap >= LP2P_AUTONAT_MSG_MAX + 10), calling
 * fn for each whole message. Returns bytes taken; *err gets the first
 * negative result (LP2P_ERR_LIMIT for an oversized length, PARSE for a bad
 * varint, or fn's), *stop is set when fn returned 1. */
size_t autonat_frames_feed(uint8_t *buf, size_t cap, size_t *len,
                           const uint8_t *p, size_t n, autonat_frame_fn fn,
                           void *ctx, int *err, int *stop);

#endif
