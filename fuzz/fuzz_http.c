/* Fuzzes the incremental HTTP response parser: the input chooses the body
 * cap and how the rest is cut into reads, then may close the connection.
 * Checks: reads never report more than given, the body stays within its
 * cap, errors are sticky, a done response takes no more bytes, and the
 * result does not depend on how the bytes were cut (a second run feeds
 * them all at once). The request builder gets a fuzzed URL. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/upnp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static uint8_t body_a[4096], body_b[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  size_t cap = fdp_range(&f, 0, sizeof body_a);
  int close = fdp_bool(&f);
  uint8_t cuts[16];
  for (int i = 0; i < 16; i++)
    cuts[i] = fdp_u8(&f);
  const uint8_t *msg;
  size_t n = fdp_rest(&f, &msg);

  lp2p_http_resp a;
  lp2p_http_resp_init(&a, body_a, cap);
  size_t off = 0, used_a = 0;
  int err_a = 0;
  for (int i = 0; off < n; i = (i + 1) % 16) {
    size_t k = (size_t)cuts[i] + 1;
    if (k > n - off)
      k = n - off;
    lp2p_ssize r = lp2p_http_resp_feed(&a, msg + off, k);
    if (r < 0) {
      err_a = (int)r;
      CHECK(lp2p_http_resp_feed(&a, msg, n) == r); /* sticky */
      break;
    }
    CHECK((size_t)r <= k);
    used_a += (size_t)r;
    if ((size_t)r < k) {
      CHECK(lp2p_http_resp_done(&a));
      break;
    }
    off += k;
  }
  CHECK(a.body_len <= cap);
  if (lp2p_http_resp_done(&a))
    CHECK(lp2p_http_resp_feed(&a, msg, n) == 0);
  int end_a = err_a ? err_a : close ? lp2p_http_resp_eof(&a) : 0;

  lp2p_http_resp b;
  lp2p_http_resp_init(&b, body_b, cap);
  lp2p_ssize rb = lp2p_http_resp_feed(&b, msg, n);
  int end_b = rb < 0 ? (int)rb : close ? lp2p_http_resp_eof(&b) : 0;
  CHECK(end_a == end_b);
  if (!end_a) {
    CHECK((size_t)rb == used_a);
    CHECK(lp2p_http_resp_done(&a) == lp2p_http_resp_done(&b));
    CHECK(a.status == b.status && a.body_len == b.body_len);
    CHECK(memcmp(body_a, body_b, a.body_len) == 0);
  }

  /* the message as a URL, then a request to it */
  lp2p_upnp_url u;
  size_t ul = n < 600 ? n : 600;
  if (lp2p_upnp_url_parse((const char *)msg, ul, &u) == 0) {
    uint8_t req[1400];
    size_t len;
    if (lp2p_http_request_build(&u, cap & 1 ? "urn:x#Y" : NULL, msg, ul, req, sizeof req, &len) == 0)
      CHECK(len <= sizeof req);
  }
  return 0;
}
