/* lp2p tool: `sign` and `verify` with libp2p keys (peer-ids spec: each key
 * type signs as the spec prescribes; see lp2p_key_sign). */
#include <stdlib.h>

#include "tools/lp2p/cli.h"

int cli_cmd_sign(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 1, &npos, 1, 1);
  if (rc)
    return rc;
  if (!opts[0].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing --key");
  uint8_t *data = NULL;
  size_t data_len = 0;
  rc = cli_hex_arg(ctx, "DATA_HEX", argv[0], &data, &data_len);
  if (rc)
    return rc;
  lp2p_privkey *key = malloc(sizeof *key);
  if (!key) {
    free(data);
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  }
  rc = cli_load_key(ctx, opts[0].value, key);
  if (rc == 0) {
    uint8_t sig[LP2P_SIG_MAX];
    size_t sig_len = sizeof sig;
    int err = lp2p_key_sign(key, data, data_len, sig, &sig_len);
    if (err)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "signing failed: %s",
                    lp2p_strerror(err));
    else
      cli_print_hex(ctx, sig, sig_len);
  }
  lp2p_memzero(key, sizeof *key);
  free(key);
  free(data);
  return rc;
}

int cli_cmd_verify(cli_ctx *ctx, int argc, char **argv) {
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, NULL, 0, &npos, 3, 3);
  if (rc)
    return rc;
  uint8_t *pb = NULL, *data = NULL, *sig = NULL;
  size_t pb_len = 0, data_len = 0, sig_len = 0;
  lp2p_pubkey pub;
  if ((rc = cli_hex_arg(ctx, "PUBKEY_PROTOBUF_HEX", argv[0], &pb, &pb_len)) ||
      (rc = cli_hex_arg(ctx, "DATA_HEX", argv[1], &data, &data_len)) ||
      (rc = cli_hex_arg(ctx, "SIG_HEX", argv[2], &sig, &sig_len)))
    goto out;
  int err = lp2p_pubkey_unmarshal(&pub, pb, pb_len);
  if (err) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "invalid public key: %s",
                  lp2p_strerror(err));
    goto out;
  }
  if (lp2p_key_verify(&pub, data, data_len, sig, sig_len) != 0)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "invalid signature");
out:
  free(pb);
  free(data);
  free(sig);
  return rc;
}
