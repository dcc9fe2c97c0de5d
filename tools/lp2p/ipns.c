/* lp2p tool: `ipns seal` and `ipns open` (IPNS record v2, ipns-record.md).
 * seal writes the V1 fields too (v1_compat), as js ipns 10 does by
 * default, so records this tool seals are byte-compatible with what js
 * creates; the TTL is the spec's suggested 5 minutes. open verifies the
 * signature and expiry and prints `value`, `seq`, `validity`, `ttl_ns`,
 * one per line. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/driver.h"
#include "lp2p/ipns.h"
#include "tools/lp2p/cli.h"

int cli_cmd_ipns_seal(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"key", 1, NULL, 0},
                    {"value", 1, NULL, 0},
                    {"seq", 1, NULL, 0},
                    {"validity", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 4, &npos, 0, 0);
  if (rc)
    return rc;
  for (int i = 0; i < 4; i++)
    if (!opts[i].seen)
      return cli_fail(ctx, CLI_EXIT_USAGE, "--%s is required", opts[i].name);
  uint64_t seq = 0, validity = 0;
  if (cli_parse_u64(opts[2].value, &seq))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--seq needs a number");
  if (cli_parse_u64(opts[3].value, &validity) || !validity ||
      validity > 100ull * 365 * 86400)
    return cli_fail(ctx, CLI_EXIT_USAGE, "--validity needs seconds");
  lp2p_privkey k;
  if ((rc = cli_load_key(ctx, opts[0].value, &k)) != 0)
    return rc;
  uint8_t rec[LP2P_IPNS_RECORD_MAX];
  size_t len = 0;
  uint64_t eol = lp2p_clock_unix_ns() + validity * LP2P_NS_PER_S;
  rc = lp2p_ipns_seal(&k, (const uint8_t *)opts[1].value,
                      strlen(opts[1].value), seq, eol,
                      LP2P_IPNS_TTL_DEFAULT_NS, 1, rec, sizeof rec, &len);
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot seal: %s", lp2p_strerror(rc));
  cli_print_hex(ctx, rec, len);
  return 0;
}

/* A signed text field on one line: control bytes print as '?'. */
static void print_field(cli_ctx *ctx, const char *name, const uint8_t *p,
                        size_t n) {
  cli_printf(ctx, "%s ", name);
  for (size_t i = 0; i < n; i++)
    cli_printf(ctx, "%c", p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i]);
  cli_printf(ctx, "\n");
}

int cli_cmd_ipns_open(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"name", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 1, &npos, 1, 1);
  if (rc)
    return rc;
  uint8_t *p = NULL;
  size_t n = 0;
  if ((rc = cli_hex_arg(ctx, "HEX", argv[0], &p, &n)) != 0)
    return rc;
  lp2p_ipns_record r;
  lp2p_peerid name;
  memset(&name, 0, sizeof name);
  if (opts[0].seen) {
    if (lp2p_peerid_parse(&name, opts[0].value, strlen(opts[0].value))) {
      free(p);
      return cli_fail(ctx, CLI_EXIT_USAGE, "bad --name '%s'", opts[0].value);
    }
  } else { /* the name the embedded key derives */
    lp2p_pubkey pk;
    if (lp2p_ipns_parse(&r, p, n) == 0 && r.pubkey &&
        lp2p_pubkey_unmarshal(&pk, r.pubkey, r.pubkey_len) == 0)
      lp2p_peerid_from_pubkey(&name, &pk);
    if (!name.len) {
      free(p);
      return cli_fail(ctx, CLI_EXIT_DATA,
                      "invalid record: no embedded key (give --name)");
    }
  }
  rc = lp2p_ipns_verify(&name, p, n, lp2p_clock_unix_ns(), &r);
  if (rc) {
    free(p);
    return cli_fail(ctx, CLI_EXIT_DATA, "invalid record: %s",
                    lp2p_strerror(rc));
  }
  print_field(ctx, "value", r.value, r.value_len);
  cli_printf(ctx, "seq %llu\n", (unsigned long long)r.sequence);
  print_field(ctx, "validity", r.validity, r.validity_len);
  cli_printf(ctx, "ttl_ns %llu\n", (unsigned long long)r.ttl_ns);
  free(p);
  return 0;
}
