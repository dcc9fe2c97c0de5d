/* punch's command-line specs (issue 14 "CLI"): port specs of `punch out`
 * (<port>[/<proto>]) and mappings of `punch in`
 * (<local>:<remote-port>[/<proto>], local a port or `-`). Strict: decimal
 * digits only, no sign, no spaces, 1..65535, proto exactly tcp or udp. */
#include <string.h>

#include "lp2p/punch.h"

const char *lp2p_punch_proto_name(int proto) {
  return proto == LP2P_PUNCH_UDP ? "udp" : "tcp";
}

static int fail(const char **why, const char *text) {
  if (why)
    *why = text;
  return LP2P_ERR_PARSE;
}

/* A port in s[0..n): 0 or a static reason. */
static const char *port_of(const char *s, size_t n, uint16_t *out) {
  if (n == 0)
    return "missing port number";
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return "port is not a decimal number";
    v = v * 10 + (uint32_t)(s[i] - '0');
    if (v > 65535)
      return "port out of range (1..65535)";
  }
  if (v == 0)
    return "port out of range (1..65535)";
  *out = (uint16_t)v;
  return NULL;
}

/* "<port>[/<proto>]" in s[0..n). */
static int port_proto(const char *s, size_t n, uint16_t *port, uint8_t *proto,
                      const char **why) {
  const char *slash = memchr(s, '/', n);
  size_t pn = slash ? (size_t)(slash - s) : n;
  const char *e = port_of(s, pn, port);
  if (e)
    return fail(why, e);
  *proto = LP2P_PUNCH_TCP;
  if (!slash)
    return 0;
  const char *p = slash + 1;
  size_t rest = n - pn - 1;
  if (rest == 3 && !memcmp(p, "tcp", 3))
    return 0;
  if (rest == 3 && !memcmp(p, "udp", 3)) {
    *proto = LP2P_PUNCH_UDP;
    return 0;
  }
  return fail(why, "unknown protocol (tcp or udp)");
}

int lp2p_punch_port_parse(const char *s, lp2p_punch_port *out,
                          const char **why) {
  if (why)
    *why = NULL;
  if (!s || !out)
    return fail(why, "missing spec");
  memset(out, 0, sizeof *out);
  return port_proto(s, strlen(s), &out->port, &out->proto, why);
}

int lp2p_punch_mapping_parse(const char *s, lp2p_punch_mapping *out,
                             const char **why) {
  if (why)
    *why = NULL;
  if (!s || !out)
    return fail(why, "missing mapping");
  memset(out, 0, sizeof *out);
  size_t n = strlen(s);
  const char *colon = memchr(s, ':', n);
  if (!colon)
    return fail(why, "expected <local>:<remote-port>[/<proto>]");
  size_t ln = (size_t)(colon - s);
  if (ln == 1 && s[0] == '-') {
    out->stdio = 1;
  } else {
    const char *e = port_of(s, ln, &out->local);
    if (e)
      return fail(why, e);
  }
  int rc = port_proto(colon + 1, n - ln - 1, &out->remote, &out->proto, why);
  if (rc)
    return rc;
  if (out->stdio && out->proto == LP2P_PUNCH_UDP)
    return fail(why, "a stdio mapping is TCP only");
  return 0;
}
