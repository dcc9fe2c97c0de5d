/* Fuzzes the SOAP response / fault parser, and the envelope builder in a
 * round trip: a printable fuzzed value written into a response envelope
 * must parse back to itself (trimmed) through the escaping. Checks: no
 * leak, bounded strings, argument count within its cap. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/upnp.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static lp2p_upnp_soap_resp r;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  const char *action = size && (data[0] & 1) ? "AddPortMapping" : NULL;
  int rc = lp2p_upnp_soap_parse(&mem.mem, data, size, action, &r);
  CHECK(mem.live_bytes == 0);
  if (rc == 0) {
    CHECK(r.nargs <= LP2P_UPNP_ARGS_MAX);
    CHECK(strlen(r.error_desc) < LP2P_UPNP_ARG_VALUE_MAX);
    for (size_t i = 0; i < r.nargs; i++) {
      CHECK(strlen(r.args[i].name) < LP2P_UPNP_ARG_NAME_MAX);
      CHECK(strlen(r.args[i].value) < LP2P_UPNP_ARG_VALUE_MAX);
      CHECK(lp2p_upnp_soap_arg(&r, r.args[i].name) != NULL);
    }
    uint32_t v;
    uint8_t ip[4];
    (void)lp2p_upnp_soap_arg_u32(&r, "NewReservedPort", 65535, &v);
    (void)lp2p_upnp_soap_arg_ipv4(&r, "NewExternalIPAddress", ip);
  } else {
    CHECK(r.nargs == 0 && r.fault == 0);
  }

  /* round trip of a printable value through the escaping */
  char val[200];
  size_t k = 0;
  for (size_t i = 0; i < size && k < sizeof val - 1; i++)
    if (data[i] >= 0x20 && data[i] < 0x7f)
      val[k++] = (char)data[i];
  val[k] = 0;
  const lp2p_upnp_arg a[] = {{"NewPortMappingDescription", val}};
  uint8_t env[2048];
  size_t n;
  CHECK(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "XResponse", a, 1, env,
                                sizeof env, &n) == 0);
  CHECK(lp2p_upnp_soap_parse(&mem.mem, env, n, "X", &r) == 0);
  CHECK(mem.live_bytes == 0);
  const char *got = lp2p_upnp_soap_arg(&r, "NewPortMappingDescription");
  CHECK(got);
  const char *t = val;
  size_t tl = k;
  while (tl && (*t == ' '))
    t++, tl--;
  while (tl && t[tl - 1] == ' ')
    tl--;
  CHECK(strlen(got) == tl && memcmp(got, t, tl) == 0);
  return 0;
}
