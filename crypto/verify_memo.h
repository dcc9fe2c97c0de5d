/* Signatures that verified, remembered per thread (crypto/verify_memo.c).
 * Internal to crypto/. */
#ifndef LP2P_CRYPTO_VERIFY_MEMO_H
#define LP2P_CRYPTO_VERIFY_MEMO_H

#include "lp2p/crypto.h"

/* The digest that names the triple (key, msg[0..n), sig[0..sig_len)). */
void lp2p_verify_memo_digest(const lp2p_pubkey *k, const uint8_t *msg,
                             size_t n, const uint8_t *sig, size_t sig_len,
                             uint8_t d[32]);
/* 1 when the triple named d verified before on this thread. */
int lp2p_verify_memo_seen(const uint8_t d[32]);
/* Remember that the triple named d verified. */
void lp2p_verify_memo_add(const uint8_t d[32]);

#endif
