/* Fuzzes the SSDP reply parser (and the URL splitter on its LOCATION):
 * every view must lie inside the datagram, and the M-SEARCH builder with a
 * fuzzed search target must never write past its buffer or emit a raw
 * CR/LF from the target. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/upnp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static void inside(const uint8_t *base, size_t n, const char *p, size_t len) {
  if (!p)
    return;
  CHECK((const uint8_t *)p >= base && (const uint8_t *)p + len <= base + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_ssdp_reply r;
  if (lp2p_ssdp_reply_parse(data, size, &r) == 0) {
    inside(data, size, r.location, r.location_len);
    inside(data, size, r.st, r.st_len);
    inside(data, size, r.usn, r.usn_len);
    CHECK(r.st && r.st_len > 0);
    CHECK(r.byebye || (r.location && r.location_len > 0));
    int v = lp2p_ssdp_reply_igd_version(&r);
    CHECK(v >= 0 && v <= 2);
    if (r.location) {
      lp2p_upnp_url u;
      if (lp2p_upnp_url_parse(r.location, r.location_len, &u) == 0) {
        CHECK(u.path[0] == '/' && u.host[0] && u.port > 0);
        CHECK(strlen(u.path) < sizeof u.path && strlen(u.host) < sizeof u.host);
      }
    }
  }
  /* the input as a search target */
  char st[256], out[512];
  size_t k = size < sizeof st - 1 ? size : sizeof st - 1;
  memcpy(st, data, k);
  st[k] = 0;
  size_t n;
  if (lp2p_ssdp_msearch_build(st, (unsigned)k, out, sizeof out, &n) == 0) {
    CHECK(n <= sizeof out);
    size_t crlf = 0;
    for (size_t i = 0; i + 1 < n; i++)
      crlf += out[i] == '\r' && out[i + 1] == '\n';
    CHECK(crlf == 6); /* 5 header lines and the empty one */
  }
  return 0;
}
