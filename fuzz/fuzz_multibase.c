/* Fuzz every multibase decoder: the first byte picks the base, the rest is
 * text. Whatever decodes must re-encode to exactly the input (decoders are
 * canonical); whatever is encoded must decode back. Also CID text. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/cid.h"
#include "lp2p/multibase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char BASES[] = "zbBvkmuf";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t bin[2048];
  static char txt[4096];
  size_t bl, tl;
  if (size < 1 || size > 1200)
    return 0;
  char base = BASES[data[0] % (sizeof BASES - 1)];
  const char *s = (const char *)data + 1;
  size_t n = size - 1;

  /* decode -> encode must give back the same text */
  int rc = lp2p_base_decode(base, s, n, bin, sizeof bin, &bl);
  if (rc == 0) {
    if (lp2p_base_encode(base, bin, bl, txt, sizeof txt, &tl) != 0)
      abort();
    if (tl != n || memcmp(txt, s, n) != 0)
      abort();
  } else if (rc != LP2P_ERR_PARSE && rc != LP2P_ERR_LIMIT) {
    abort();
  }

  /* encode -> decode must give back the same bytes */
  rc = lp2p_base_encode(base, data + 1, n, txt, sizeof txt, &tl);
  if (rc == 0) {
    if (tl > lp2p_base_encoded_max(base, n))
      abort();
    if (lp2p_base_decode(base, txt, tl, bin, sizeof bin, &bl) != 0)
      abort();
    if (bl != n || memcmp(bin, data + 1, n) != 0)
      abort();
  } else if (rc != LP2P_ERR_LIMIT) {
    abort();
  }

  /* hex accepts both cases; its output is always lower case */
  if (lp2p_hex_decode(s, n, bin, sizeof bin, &bl) == 0) {
    if (lp2p_hex_encode(bin, bl, txt, sizeof txt, &tl) != 0 || tl != n)
      abort();
  }

  /* whole input as multibase / CID text */
  (void)lp2p_multibase_decode((const char *)data, size, bin, sizeof bin, &bl);
  if (lp2p_cid_from_text((const char *)data, size, bin, sizeof bin, &bl) == 0) {
    lp2p_cid c;
    if (lp2p_cid_decode(bin, bl, &c) != 0)
      abort();
    /* Canonical re-print in the same base gives the input back. */
    if (lp2p_cid_to_text((char)data[0], bin, bl, txt, sizeof txt, &tl) != 0)
      abort();
    if (tl != size || memcmp(txt, data, size) != 0)
      abort();
  }
  return 0;
}
