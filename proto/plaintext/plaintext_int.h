/* Private: the plaintext/2.0.0 Exchange codec shared by the engine and its
 * tests. */
#ifndef LP2P_PLAINTEXT_INT_H
#define LP2P_PLAINTEXT_INT_H

#include "lp2p/plaintext.h"

/* Longest varint prefix of an Exchange (multiformats: 9 bytes). */
#define PT_VARINT_MAX 9

/* Encode our framed Exchange (varint length, then {id, pubkey}) into
 * out[0..cap). Returns 0 or LP2P_ERR_NOSPACE, LP2P_ERR_INVAL. */
int pt_exchange_encode(const lp2p_pubkey *key, uint8_t *out, size_t cap,
                       size_t *len);
/* Find a complete framed message in p[0..n): returns 1 and sets the
 * prefix and body lengths, 0 when more bytes are needed, or
 * LP2P_ERR_PROTO (bad varint) / LP2P_ERR_LIMIT (body over `max`). */
int pt_exchange_frame(const uint8_t *p, size_t n, size_t max, size_t *hdr,
                      size_t *body);
/* Parse an Exchange body and check that its id is the key's peer id.
 * Returns 0 or LP2P_ERR_PROTO, LP2P_ERR_PEER_ID_MISMATCH. */
int pt_exchange_verify(const uint8_t *p, size_t n, lp2p_pubkey *key,
                       lp2p_peerid *id);

#endif
