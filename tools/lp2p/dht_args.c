/* lp2p tool: the DHT options and keys shared by `listen --dht` and the
 * `dht` verb. */
#include <string.h>

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

int dht_dial_bootstrap(lp2p_host *h, const lp2p_maddr *addrs, int n) {
  int started = 0;
  for (int i = 0; i < n; i++)
    if (lp2p_host_dial(h, lp2p_clock_now(), &addrs[i], 0, NULL) == 0)
      started++;
  return started;
}
