/* Shared between proto/codec/multiaddr.c (protocol table, binary
 * validation, operations) and proto/codec/multiaddr_text.c (text form). */
#ifndef LP2P_CODEC_MULTIADDR_INTERNAL_H
#define LP2P_CODEC_MULTIADDR_INTERNAL_H

#include "lp2p/multiaddr.h"

enum kind { K_NONE, K_IP4, K_IP6, K_PORT, K_STR, K_P2P, K_CERTHASH, K_UNIX };

typedef struct proto {
  uint32_t code;
  uint8_t kind;
  const char *name;
} proto;

const proto *maddr_by_code(uint64_t code);
/* By text name; "ipfs" is accepted as the old name of p2p. */
const proto *maddr_by_name(const char *s, size_t n);
/* 1 when values of this kind carry a varint length prefix. */
int maddr_has_len_prefix(uint8_t kind);
/* A peer id multihash: identity or sha2-256. */
int maddr_valid_peer_mh(const uint8_t *v, size_t n);
/* Value rules shared by the binary and text paths (see multiaddr.h). */
int maddr_valid_value(uint8_t kind, const uint8_t *v, size_t n);
/* Whole binary multiaddr: 0 or LP2P_ERR_PARSE / _UNSUPPORTED / _LIMIT. */
int maddr_validate(const uint8_t *p, size_t n);

#endif
