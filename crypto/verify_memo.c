/* A memo of signatures that verified, so verifying the same (key,
 * message, signature) again costs a SHA-256 instead of a public-key
 * operation.
 *
 * Why: a host reuses one Noise static key and its signature for every
 * session (lp2p_noise_static), so every handshake with a peer verifies
 * the same triple again: on each reconnect in one process, and, in the
 * simulator, on every one of a host's connections from the other
 * thousand hosts. An Ed25519 verification costs ~37 us, about a fifth of
 * a handshake's CPU (issue 10's 1,000-host run).
 *
 * Sound because verification is a pure function of the triple: only
 * successes are stored, keyed by SHA-256 over the key type and length,
 * the message length, the signature length and the bytes (fixed-width
 * lengths first, so no two triples share an encoding). A hit needs the
 * very same triple, or a SHA-256 collision. Failures are never stored,
 * so a bad signature costs a full verification every time.
 *
 * One table per thread (no locks; a simulator may run hosts on several
 * threads), direct-mapped, 16,384 digests (512 KiB, allocated on the
 * first verification of a thread, freed when the thread exits; the main
 * thread's stays reachable until the process ends, as crypto/dh_aead.c's
 * cipher context). 16,384 because a thread of the 10,000-host simulator
 * meets 10,000 signatures: direct-mapped, that many slots keep about
 * three in four of them (4,096 kept fewer than two in five). Fuzz
 * builds skip it, so a fuzz input's path does not depend on the inputs
 * before it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/verify_memo.h"

static void put_u64(lp2p_sha256_ctx *c, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (56 - 8 * i));
  lp2p_sha256_update(c, b, 8);
}

void lp2p_verify_memo_digest(const lp2p_pubkey *k, const uint8_t *msg,
                             size_t n, const uint8_t *sig, size_t sig_len,
                             uint8_t d[32]) {
  static const char domain[] = "lp2p verified signature";
  lp2p_sha256_ctx c;
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, (const uint8_t *)domain, sizeof domain);
  put_u64(&c, (uint64_t)k->type);
  put_u64(&c, k->len);
  put_u64(&c, n);
  put_u64(&c, sig_len);
  lp2p_sha256_update(&c, k->data, k->len);
  lp2p_sha256_update(&c, msg, n);
  lp2p_sha256_update(&c, sig, sig_len);
  lp2p_sha256_final(&c, d);
}

#ifdef LP2P_FUZZING
int lp2p_verify_memo_seen(const uint8_t d[32]) {
  (void)d;
  return 0;
}

void lp2p_verify_memo_add(const uint8_t d[32]) { (void)d; }
#else
#define MEMO_SLOTS 16384u

static _Thread_local uint8_t (*tls_memo)[32];
static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static int memo_key_ok;

static void memo_free(void *p) { free(p); }

static void memo_key_init(void) {
  memo_key_ok = pthread_key_create(&memo_key, memo_free) == 0;
}

/* The thread's table, NULL when it cannot be had (no memory): then
 * nothing is remembered and every verification runs. */
static uint8_t (*memo(void))[32] {
  if (tls_memo)
    return tls_memo;
  if (pthread_once(&memo_once, memo_key_init) != 0 || !memo_key_ok)
    return NULL;
  uint8_t(*m)[32] = calloc(MEMO_SLOTS, 32);
  if (!m)
    return NULL;
  if (pthread_setspecific(memo_key, m) != 0) {
    free(m);
    return NULL;
  }
  tls_memo = m;
  return m;
}

static uint32_t slot_of(const uint8_t d[32]) {
  return ((uint32_t)d[0] | (uint32_t)d[1] << 8) & (MEMO_SLOTS - 1);
}

static int is_zero(const uint8_t d[32]) {
  uint8_t acc = 0;
  for (int i = 0; i < 32; i++)
    acc |= d[i];
  return acc == 0;
}

int lp2p_verify_memo_seen(const uint8_t d[32]) {
  uint8_t(*m)[32] = memo();
  /* an empty slot is all zeros: a zero digest is never stored */
  return m && !is_zero(d) && memcmp(m[slot_of(d)], d, 32) == 0;
}

void lp2p_verify_memo_add(const uint8_t d[32]) {
  uint8_t(*m)[32] = memo();
  if (m && !is_zero(d))
    memcpy(m[slot_of(d)], d, 32);
}
#endif
