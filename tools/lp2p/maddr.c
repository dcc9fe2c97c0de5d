/* lp2p tool: `maddr encode` (text to binary hex) and `maddr decode`
 * (binary hex to canonical text), both through the library's strict
 * multiaddr codec (include/lp2p/multiaddr.h). */
#include <stdlib.h>
#include <string.h>

#include "lp2p/multiaddr.h"
#include "tools/lp2p/cli.h"

/* The longest text of a LP2P_MADDR_MAX-byte multiaddr: the worst case is
 * a run of value-less two-byte codes ("/webrtc-direct", 7 chars per byte). */
#define MADDR_TEXT_MAX (LP2P_MADDR_MAX * 8 + 1)

int cli_cmd_maddr_encode(cli_ctx *ctx, int argc, char **argv) {
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, NULL, 0, &npos, 1, 1);
  if (rc)
    return rc;
  lp2p_maddr m;
  int err = lp2p_maddr_parse(&m, argv[0], strlen(argv[0]));
  if (err)
    return cli_fail(ctx, CLI_EXIT_DATA, "invalid multiaddr '%s': %s", argv[0],
                    lp2p_strerror(err));
  cli_print_hex(ctx, m.bytes, m.len);
  return 0;
}

int cli_cmd_maddr_decode(cli_ctx *ctx, int argc, char **argv) {
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, NULL, 0, &npos, 1, 1);
  if (rc)
    return rc;
  uint8_t *bin = NULL;
  size_t bin_len = 0;
  if ((rc = cli_hex_arg(ctx, "HEX", argv[0], &bin, &bin_len)))
    return rc;
  lp2p_maddr m;
  int err = lp2p_maddr_from_bytes(&m, bin, bin_len);
  free(bin);
  if (err)
    return cli_fail(ctx, CLI_EXIT_DATA, "invalid binary multiaddr: %s",
                    lp2p_strerror(err));
  char *text = malloc(MADDR_TEXT_MAX);
  size_t text_len = 0;
  if (!text)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  err = lp2p_maddr_to_string(&m, text, MADDR_TEXT_MAX, &text_len);
  if (err)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot print the multiaddr: %s",
                  lp2p_strerror(err));
  else
    cli_printf(ctx, "%.*s\n", (int)text_len, text);
  free(text);
  return rc;
}
