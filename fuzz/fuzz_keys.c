/* Fuzzes key protobuf unmarshalling (public and private, all four types),
 * re-marshalling, signature verification with arbitrary signatures, and
 * sign-then-verify with any private key that parses.
 *
 * Input: [mode u8][sig len u32][sig][msg len u32][msg][key protobuf...] */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/crypto.h"
#include "lp2p/peerid.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

/* Re-marshal must give back the input, except where lp2p normalizes a
 * non-canonical but accepted form (65-byte secp256k1 points, the legacy
 * 96-byte ed25519 private key): then the normalized form must be stable. */
static void check_remarshal(const uint8_t *in, size_t n, const uint8_t *out,
                            size_t on, int normalizes) {
  if (!normalizes) {
    CHECK(on == n && memcmp(in, out, n) == 0);
  }
}

static void fuzz_pub(const uint8_t *key, size_t kn, const uint8_t *msg,
                     size_t mn, const uint8_t *sig, size_t sn) {
  static lp2p_pubkey k, k2;
  static uint8_t out[LP2P_PUBKEY_PB_MAX], out2[LP2P_PUBKEY_PB_MAX];
  size_t on, on2;
  if (lp2p_pubkey_unmarshal(&k, key, kn) != 0)
    return;
  CHECK(lp2p_pubkey_marshal(&k, out, sizeof(out), &on) == 0);
  check_remarshal(key, kn, out, on, k.type == LP2P_KEY_SECP256K1);
  CHECK(lp2p_pubkey_unmarshal(&k2, out, on) == 0);
  CHECK(lp2p_pubkey_equal(&k, &k2));
  CHECK(lp2p_pubkey_marshal(&k2, out2, sizeof(out2), &on2) == 0);
  CHECK(on == on2 && memcmp(out, out2, on) == 0);

  int rc = lp2p_key_verify(&k, msg, mn, sig, sn);
  CHECK(rc == 0 || rc == LP2P_ERR_SIGNATURE);

  lp2p_peerid id;
  CHECK(lp2p_peerid_from_pubkey(&id, &k) == 0);
  CHECK(lp2p_peerid_matches_pubkey(&id, &k));
  lp2p_pubkey back;
  rc = lp2p_peerid_pubkey(&id, &back);
  if (rc == 0)
    CHECK(lp2p_pubkey_equal(&back, &k));
  else
    CHECK(rc == LP2P_ERR_NOT_FOUND);
}

static void fuzz_priv(const uint8_t *key, size_t kn, const uint8_t *msg,
                      size_t mn) {
  static lp2p_privkey k, k2;
  static uint8_t out[LP2P_PRIVKEY_PB_MAX];
  size_t on;
  if (lp2p_privkey_unmarshal(&k, key, kn) != 0)
    return;
  CHECK(k.pub.type == k.type);
  CHECK(lp2p_privkey_marshal(&k, out, sizeof(out), &on) == 0);
  check_remarshal(key, kn, out, on, k.type == LP2P_KEY_ED25519 && kn == 100);
  CHECK(lp2p_privkey_unmarshal(&k2, out, on) == 0);
  CHECK(lp2p_pubkey_equal(&k.pub, &k2.pub));
  CHECK(k.len == k2.len && memcmp(k.data, k2.data, k.len) == 0);

  uint8_t sig[LP2P_SIG_MAX];
  size_t sn = sizeof(sig);
  int rc = lp2p_key_sign(&k, msg, mn, sig, &sn);
  /* RSA keys with inconsistent CRT values parse (n = p*q is checked) but
   * fail the sign-time self check; everything that signs must verify. */
  if (rc == 0)
    CHECK(lp2p_key_verify(&k.pub, msg, mn, sig, sn) == 0);
  else
    CHECK(rc == LP2P_ERR_CRYPTO && k.type == LP2P_KEY_RSA);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  unsigned mode = fdp_u8(&f) & 1;
  const uint8_t *sig, *msg, *key;
  size_t sn = fdp_bytes(&f, &sig, LP2P_SIG_MAX + 8);
  size_t mn = fdp_bytes(&f, &msg, 256);
  size_t kn = fdp_rest(&f, &key);
  if (mode == 0)
    fuzz_pub(key, kn, msg, mn, sig, sn);
  else
    fuzz_priv(key, kn, msg, mn);
  return 0;
}
