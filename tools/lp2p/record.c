/* lp2p tool: `record seal` and `record open`: signed peer records (RFC 0003)
 * in signed envelopes (RFC 0002), as identify's signedPeerRecord carries
 * them. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/record.h"
#include "tools/lp2p/cli.h"

static int seal(cli_ctx *ctx, const char *key_path, uint64_t seq,
                char **texts, int naddrs) {
  lp2p_privkey *k = malloc(sizeof *k);
  lp2p_maddr *addrs = calloc((size_t)naddrs, sizeof *addrs);
  uint8_t *env = malloc(LP2P_ENVELOPE_MAX);
  size_t env_len = 0;
  int rc = 0, err;
  if (!k || !addrs || !env) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
    goto out;
  }
  for (int i = 0; i < naddrs; i++)
    if ((err = lp2p_maddr_parse(&addrs[i], texts[i], strlen(texts[i])))) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "invalid multiaddr '%s': %s",
                    texts[i], lp2p_strerror(err));
      goto out;
    }
  if ((rc = cli_load_key(ctx, key_path, k)))
    goto out;
  err = lp2p_peer_record_seal(k, seq, addrs, (size_t)naddrs, env,
                              LP2P_ENVELOPE_MAX, &env_len);
  if (err)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot seal the record: %s",
                  lp2p_strerror(err));
  else
    cli_print_hex(ctx, env, env_len);
out:
  if (k)
    lp2p_memzero(k, sizeof *k);
  free(k);
  free(addrs);
  free(env);
  return rc;
}

int cli_cmd_record_seal(cli_ctx *ctx, int argc, char **argv) {
  enum { O_KEY, O_SEQ };
  cli_opt opts[] = {{"key", 1, NULL, 0}, {"seq", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 1, -1);
  if (rc)
    return rc;
  if (!opts[O_KEY].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing --key");
  if (!opts[O_SEQ].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing --seq");
  uint64_t seq = 0;
  if (cli_parse_u64(opts[O_SEQ].value, &seq) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--seq must be a number 0..18446744073709551615, not '%s'",
                    opts[O_SEQ].value);
  if (npos > LP2P_PEER_RECORD_ADDRS_MAX)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "too many addresses (%d; a peer record holds at most %d)",
                    npos, LP2P_PEER_RECORD_ADDRS_MAX);
  return seal(ctx, opts[O_KEY].value, seq, argv, npos);
}

static void print_record(cli_ctx *ctx, const lp2p_peer_record *rec,
                         char *text, size_t cap) {
  size_t len = 0;
  if (lp2p_peerid_to_base58(&rec->peer_id, text, cap, &len) != 0) {
    ctx->out.oom = 1;
    return;
  }
  cli_printf(ctx, "peer %.*s\nseq %llu\n", (int)len, text,
             (unsigned long long)rec->seq);
  for (size_t i = 0; i < rec->addrs_len; i++) {
    if (lp2p_maddr_to_string(&rec->addrs[i], text, cap, &len) != 0) {
      ctx->out.oom = 1;
      return;
    }
    cli_printf(ctx, "addr %.*s\n", (int)len, text);
  }
}

int cli_cmd_record_open(cli_ctx *ctx, int argc, char **argv) {
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, NULL, 0, &npos, 1, 1);
  if (rc)
    return rc;
  uint8_t *env = NULL;
  size_t env_len = 0;
  if ((rc = cli_hex_arg(ctx, "HEX", argv[0], &env, &env_len)))
    return rc;
  /* Text of one maddr: see maddr.c for the bound. */
  size_t text_cap = LP2P_MADDR_MAX * 8 + 1;
  lp2p_peer_record *rec = malloc(sizeof *rec);
  char *text = malloc(text_cap);
  if (!rec || !text) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
    goto out;
  }
  int err = lp2p_peer_record_open(env, env_len, rec, NULL);
  if (err) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "invalid signed peer record: %s",
                  lp2p_strerror(err));
    goto out;
  }
  print_record(ctx, rec, text, text_cap);
  if (rec->addrs_skipped && !ctx->out.oom)
    cli_error_line("%s: warning: %zu address(es) skipped (unknown protocol "
                   "or malformed)",
                   ctx->verb, rec->addrs_skipped);
out:
  free(rec);
  free(text);
  free(env);
  return rc;
}
