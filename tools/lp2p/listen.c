/* lp2p tool: `listen` serves identify, ping, perf and echo until SIGINT or
 * SIGTERM. Each listen address is printed (with /p2p/<id>) and flushed as
 * soon as it is bound, so scripts can read the real port. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p/node.h"

int cli_cmd_listen(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"key", 1, NULL, 0},
                    {"plaintext", 0, NULL, 0},
                    {"driver", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 1, -1);
  if (rc)
    return rc;
  lp2p_maddr ma[16];
  if (npos > 16)
    return cli_fail(ctx, CLI_EXIT_USAGE, "at most 16 listen addresses");
  for (int i = 0; i < npos; i++) {
    int e = lp2p_maddr_parse(&ma[i], argv[i], strlen(argv[i]));
    if (e)
      return cli_fail(ctx, CLI_EXIT_DATA, "bad multiaddr '%s': %s", argv[i],
                      lp2p_strerror(e));
  }
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[0].value, opts[1].seen, opts[2].value);
  if (rc) {
    cli_node_stop(&n);
    return rc;
  }
  for (int i = 0; i < npos && !rc; i++) {
    int e = lp2p_host_listen(n.h, &ma[i], NULL);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen on '%s': %s", argv[i],
                    lp2p_strerror(e));
  }
  char id[LP2P_PEERID_TEXT_MAX];
  cli_peerid_text(lp2p_host_peer_id(n.h), id, sizeof id);
  int pending = npos;
  lp2p_host_event ev;
  while (!rc && cli_node_event(&n, &ev, -1) == 1) {
    if (ev.kind == LP2P_HOST_EV_LISTENING) {
      char a[1024];
      cli_maddr_text(&ev.addr, a, sizeof a);
      printf("%s/p2p/%s\n", a, id);
      fflush(stdout);
      pending--;
    } else if (ev.kind == LP2P_HOST_EV_LISTEN_FAILED && pending > 0) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s",
                    lp2p_strerror(ev.err));
    }
  }
  cli_node_stop(&n);
  return rc;
}
