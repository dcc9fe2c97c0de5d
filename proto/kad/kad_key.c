/* Kademlia keys and XOR distance (kad-dht spec "Distance": the distance of
 * two keys is XOR(sha256(key1), sha256(key2))). Every engine here works on
 * the 32-byte hashes, never on the raw keys. */
#include "lp2p/crypto.h"
#include "lp2p/kad.h"

void lp2p_kad_key_hash(const uint8_t *key, size_t n, uint8_t out[32]) {
  lp2p_sha256(out, key, n);
}

unsigned lp2p_kad_cpl(const uint8_t a[32], const uint8_t b[32]) {
  for (unsigned i = 0; i < 32; i++) {
    unsigned x = (unsigned)(a[i] ^ b[i]);
    if (x) {
      unsigned c = 0;
      while (!(x & 0x80u)) {
        x <<= 1;
        c++;
      }
      return i * 8 + c;
    }
  }
  return 256;
}

int lp2p_kad_dist_cmp(const uint8_t target[32], const uint8_t a[32],
                      const uint8_t b[32]) {
  for (unsigned i = 0; i < 32; i++) {
    uint8_t da = (uint8_t)(a[i] ^ target[i]), db = (uint8_t)(b[i] ^ target[i]);
    if (da != db)
      return da < db ? -1 : 1;
  }
  return 0;
}
