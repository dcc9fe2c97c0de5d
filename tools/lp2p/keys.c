/* lp2p tool: key files and peer ids: `keygen`, `id`, `peerid`.
 *
 * A key file holds the raw PrivateKey protobuf of the peer-ids spec
 * ("Keys"), the same bytes go-libp2p and js-libp2p marshal, so keys move
 * between implementations unchanged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lp2p/peerid.h"
#include "tools/lp2p/cli.h"

int cli_load_key(cli_ctx *ctx, const char *path, lp2p_privkey *k) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = cli_read_file(ctx, path, CLI_FILE_MAX, &buf, &len);
  if (rc)
    return rc;
  int err = lp2p_privkey_unmarshal(k, buf, len);
  lp2p_memzero(buf, len);
  free(buf);
  if (err)
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: not a libp2p private key (%s)",
                    path, lp2p_strerror(err));
  return 0;
}

int cli_print_peerid(cli_ctx *ctx, const lp2p_pubkey *pub) {
  lp2p_peerid id;
  char text[LP2P_PEERID_TEXT_MAX];
  size_t len = 0;
  int err = lp2p_peerid_from_pubkey(&id, pub);
  if (!err)
    err = lp2p_peerid_to_base58(&id, text, sizeof text, &len);
  if (err)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot derive the peer id: %s",
                    lp2p_strerror(err));
  cli_printf(ctx, "%.*s\n", (int)len, text);
  return 0;
}

static int parse_type(const char *s, lp2p_key_type *t) {
  static const struct {
    const char *name;
    lp2p_key_type type;
  } types[] = {{"ed25519", LP2P_KEY_ED25519},
               {"rsa", LP2P_KEY_RSA},
               {"ecdsa", LP2P_KEY_ECDSA},
               {"secp256k1", LP2P_KEY_SECP256K1}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp(s, types[i].name) == 0) {
      *t = types[i].type;
      return 0;
    }
  return -1;
}

/* Generation, marshalling and the file write, with every secret buffer
 * wiped on the way out. */
static int keygen_write(cli_ctx *ctx, const char *path, lp2p_key_type type,
                        unsigned bits) {
  lp2p_rng rng;
  lp2p_rng_system(&rng);
  lp2p_privkey *k = malloc(sizeof *k);
  uint8_t *pb = malloc(LP2P_PRIVKEY_PB_MAX);
  size_t pb_len = 0;
  int rc = 0;
  if (!k || !pb) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
    goto out;
  }
  int err = lp2p_key_generate(k, type, bits, &rng);
  if (!err)
    err = lp2p_privkey_marshal(k, pb, LP2P_PRIVKEY_PB_MAX, &pb_len);
  if (err) {
    rc = cli_fail(ctx, CLI_EXIT_DATA, "key generation failed: %s",
                  lp2p_strerror(err));
    goto out;
  }
  /* Derive the id first: nothing is written unless all of it worked. */
  if ((rc = cli_print_peerid(ctx, &k->pub)) == 0)
    rc = cli_write_new_file(ctx, path, pb, pb_len, 0600);
out:
  if (k)
    lp2p_memzero(k, sizeof *k);
  if (pb)
    lp2p_memzero(pb, LP2P_PRIVKEY_PB_MAX);
  free(k);
  free(pb);
  return rc;
}

int cli_cmd_keygen(cli_ctx *ctx, int argc, char **argv) {
  enum { O_TYPE, O_BITS, O_OUT };
  cli_opt opts[] = {{"type", 1, NULL, 0}, {"bits", 1, NULL, 0},
                    {"out", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 0, 0);
  if (rc)
    return rc;
  if (!opts[O_OUT].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing --out");
  lp2p_key_type type = LP2P_KEY_ED25519;
  if (opts[O_TYPE].seen && parse_type(opts[O_TYPE].value, &type) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "unknown key type '%s'",
                    opts[O_TYPE].value);
  unsigned bits = 0;
  if (opts[O_BITS].seen) {
    uint64_t b = 0;
    if (type != LP2P_KEY_RSA)
      return cli_fail(ctx, CLI_EXIT_USAGE, "--bits is only for --type rsa");
    if (cli_parse_u64(opts[O_BITS].value, &b) != 0 || b < 2048 || b > 4096 ||
        b % 8 != 0)
      return cli_fail(ctx, CLI_EXIT_USAGE,
                      "--bits must be 2048..4096 and a multiple of 8, not "
                      "'%s'",
                      opts[O_BITS].value);
    bits = (unsigned)b;
  } else if (type == LP2P_KEY_RSA) {
    bits = 2048;
  }
  /* Fail early, before a slow RSA generation; the O_EXCL create at the end
   * is what actually guarantees no overwrite. lstat: a dangling symlink
   * counts as existing too. */
  struct stat st;
  const char *path = opts[O_OUT].value;
  if (lstat(path, &st) == 0)
    return cli_fail(ctx, CLI_EXIT_DATA,
                    "%s: file exists (refusing to overwrite)", path);
  return keygen_write(ctx, path, type, bits);
}

int cli_cmd_id(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 1, &npos, 0, 0);
  if (rc)
    return rc;
  if (!opts[0].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing --key");
  lp2p_privkey *k = malloc(sizeof *k);
  if (!k)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  size_t pb_len = 0;
  if ((rc = cli_load_key(ctx, opts[0].value, k)) == 0 &&
      (rc = cli_print_peerid(ctx, &k->pub)) == 0) {
    int err = lp2p_pubkey_marshal(&k->pub, pb, sizeof pb, &pb_len);
    if (err)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot encode the public key: %s",
                    lp2p_strerror(err));
    else
      cli_print_hex(ctx, pb, pb_len);
  }
  lp2p_memzero(k, sizeof *k);
  free(k);
  return rc;
}

int cli_cmd_peerid(cli_ctx *ctx, int argc, char **argv) {
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, NULL, 0, &npos, 1, 1);
  if (rc)
    return rc;
  uint8_t *pb = NULL;
  size_t pb_len = 0;
  if ((rc = cli_hex_arg(ctx, "PUBKEY_PROTOBUF_HEX", argv[0], &pb, &pb_len)))
    return rc;
  lp2p_pubkey pub;
  lp2p_peerid id;
  char b58[LP2P_PEERID_TEXT_MAX], cid[LP2P_PEERID_TEXT_MAX];
  size_t b58_len = 0, cid_len = 0;
  int err = lp2p_pubkey_unmarshal(&pub, pb, pb_len);
  free(pb);
  if (err)
    return cli_fail(ctx, CLI_EXIT_DATA, "invalid public key: %s",
                    lp2p_strerror(err));
  if ((err = lp2p_peerid_from_pubkey(&id, &pub)) ||
      (err = lp2p_peerid_to_base58(&id, b58, sizeof b58, &b58_len)) ||
      (err = lp2p_peerid_to_cid_base32(&id, cid, sizeof cid, &cid_len)))
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot derive the peer id: %s",
                    lp2p_strerror(err));
  cli_printf(ctx, "%.*s\n%.*s\n", (int)b58_len, b58, (int)cid_len, cid);
  return 0;
}
