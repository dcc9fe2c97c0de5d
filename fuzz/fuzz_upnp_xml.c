/* Fuzzes the device description parser (expat under the injected
 * allocator) and URL resolution. The first byte picks the LOCATION (and
 * whether allocations start failing); the rest is the document. Checks:
 * no leak through the counting allocator, live bytes bounded, results in
 * rank order with resolvable absolute control URLs, and a failure reports
 * no services. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/upnp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static const char *const locs[] = {
    "http://10.0.1.1:40411/rootDesc.xml",
    "http://192.168.178.1:49000/igd2desc.xml",
    "http://192.168.1.1:5431/dyndev/uuid:0014-bf09",
    "http://[fe80::1]:5000",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t sel = data[0];
  data++;
  size--;
  const char *loc = locs[sel & 3];
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  if (sel & 0x80)
    mem.fail_at = (sel >> 2) & 0x1f;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n = 99;
  int rc = lp2p_upnp_desc_parse(&mem.mem, loc, strlen(loc), data, size, sv,
                                LP2P_UPNP_SERVICES_MAX, &n);
  CHECK(mem.live_bytes == 0 && mem.live_allocs == 0);
  CHECK(mem.peak_bytes < (8u << 20));
  if (rc != 0) {
    CHECK(n == 0);
  } else {
    CHECK(n >= 1 && n <= LP2P_UPNP_SERVICES_MAX);
    for (size_t i = 0; i < n; i++) {
      CHECK(sv[i].kind >= LP2P_UPNP_SVC_WANPPP && sv[i].kind <= LP2P_UPNP_SVC_WANIP2);
      CHECK(i == 0 || sv[i - 1].kind >= sv[i].kind);
      size_t cl = strlen(sv[i].control_url);
      CHECK(cl < LP2P_UPNP_URL_MAX);
      lp2p_upnp_url u;
      CHECK(lp2p_upnp_url_parse(sv[i].control_url, cl, &u) == 0);
      CHECK(strlen(sv[i].service_type) < LP2P_UPNP_TYPE_MAX);
    }
  }
  /* the document split in two as a base and a reference */
  size_t half = size / 2;
  char out[LP2P_UPNP_URL_MAX];
  size_t ol;
  if (lp2p_upnp_url_resolve((const char *)data, half, (const char *)data + half,
                            size - half, out, sizeof out, &ol) == 0) {
    CHECK(ol < sizeof out && out[ol] == 0 && strlen(out) == ol);
    lp2p_upnp_url u;
    CHECK(lp2p_upnp_url_parse(out, ol, &u) == 0);
  }
  return 0;
}
