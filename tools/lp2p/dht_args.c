/* lp2p tool: the DHT options and keys shared by `listen --dht` and the
 * `dht` verb. */
#include <string.h>

#include "lp2p/autonat.h"
#include "tools/lp2p/dht_args.h"

int dht_take_repeated(cli_ctx *ctx, int *argc, char **argv, const char *name,
                      const char **vals, int max, int *n) {
  size_t nl = strlen(name);
  int out = 0, i = 0;
  *n = 0;
  while (i < *argc) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      while (i < *argc)
        argv[out++] = argv[i++];
      break;
    }
    if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, nl) &&
        (a[2 + nl] == 0 || a[2 + nl] == '=')) {
      const char *v = a[2 + nl] == '=' ? a + 3 + nl : NULL;
      if (!v) {
        if (i + 1 >= *argc)
          return cli_fail(ctx, CLI_EXIT_USAGE, "--%s needs a value", name);
        v = argv[++i];
      }
      if (*n == max)
        return cli_fail(ctx, CLI_EXIT_USAGE, "at most %d --%s", max, name);
      vals[(*n)++] = v;
      i++;
      continue;
    }
    argv[out++] = argv[i++];
  }
  *argc = out;
  return 0;
}

int dht_parse_bootstrap(cli_ctx *ctx, const char **txt, int n,
                        lp2p_maddr *out) {
  for (int i = 0; i < n; i++) {
    int e = lp2p_maddr_parse(&out[i], txt[i], strlen(txt[i]));
    if (e)
      return cli_fail(ctx, CLI_EXIT_USAGE, "bad --bootstrap '%s': %s", txt[i],
                      lp2p_strerror(e));
    if (!strstr(txt[i], "/p2p/"))
      return cli_fail(ctx, CLI_EXIT_USAGE,
                      "--bootstrap '%s' needs /p2p/<peer-id>", txt[i]);
  }
  return 0;
}

static int put(uint8_t *out, size_t cap, size_t *len, const void *p,
               size_t n) {
  if (*len + n > cap)
    return -1;
  memcpy(out + *len, p, n);
  *len += n;
  return 0;
}

int dht_key(cli_ctx *ctx, const char *text, int peer_ok, uint8_t *out,
            size_t cap, size_t *len) {
  static const char *const ns[] = {"/pk/", "/ipns/"};
  lp2p_peerid id;
  *len = 0;
  for (int i = 0; i < 2; i++) {
    size_t nl = strlen(ns[i]);
    if (!strncmp(text, ns[i], nl) &&
        lp2p_peerid_parse(&id, text + nl, strlen(text + nl)) == 0) {
      if (put(out, cap, len, ns[i], nl) || put(out, cap, len, id.bytes, id.len))
        break;
      return 0;
    }
  }
  *len = 0;
  if (peer_ok && lp2p_peerid_parse(&id, text, strlen(text)) == 0 &&
      !put(out, cap, len, id.bytes, id.len))
    return 0;
  *len = 0;
  if (put(out, cap, len, text, strlen(text)) || !*len)
    return cli_fail(ctx, CLI_EXIT_USAGE, "KEY must be 1..%zu bytes", cap);
  return 0;
}

int dht_is_loopback(const lp2p_maddr *m) {
  int fam = 0;
  uint8_t ip[16];
  if (lp2p_autonat_maddr_ip(m, &fam, ip))
    return 0; /* a name: not known to be loopback */
  static const uint8_t v6[16] = {[15] = 1};
  return fam == 4 ? ip[0] == 127 : !memcmp(ip, v6, 16);
}

int dht_bootstrap_setup(cli_ctx *ctx, const char **txt, int n, int loopback,
                        lp2p_maddr *boot, cli_kad *out) {
  memset(out, 0, sizeof *out);
  out->boot = boot;
  out->dial_on_start = 1;
  out->addr_filter = LP2P_KAD_ADDRS_PUBLIC;
  if (n) {
    int rc = dht_parse_bootstrap(ctx, txt, n, boot);
    if (rc)
      return rc;
    out->nboot = (size_t)n;
    int all = 1;
    for (int i = 0; i < n; i++)
      all &= dht_is_loopback(&boot[i]);
    if (all) /* a loopback network: its peers' addresses are loopback */
      out->addr_filter = LP2P_KAD_ADDRS_ALL;
    return 0;
  }
  if (loopback) { /* the first node of a loopback network */
    out->addr_filter = LP2P_KAD_ADDRS_ALL;
    return 0;
  }
  int k = lp2p_kad_default_bootstrap_parse(boot, DHT_BOOTSTRAP_MAX);
  if (k < 0)
    return cli_fail(ctx, CLI_EXIT_DATA, "default bootstrap list: %s",
                    lp2p_strerror(k));
  out->nboot = (size_t)k;
  return 0;
}
