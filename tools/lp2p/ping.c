/* lp2p tool: `ping`, `identify` and `perf` against one remote peer. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p/node.h"

#define IDENTIFY_TIMEOUT_MS 15000

int cli_cmd_ping(cli_ctx *ctx, int argc, char **argv) {
  cli_map_short_n(argc, argv);
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"n", 1, NULL, 0},
                    {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 1, 1);
  if (rc)
    return rc;
  uint64_t count = 1;
  if (opts[1].seen && (cli_parse_u64(opts[1].value, &count) || count == 0 ||
                       count > 1000000))
    return cli_fail(ctx, CLI_EXIT_USAGE, "-n needs a count in 1..1000000");
  cli_node n;
  lp2p_peerid peer;
  rc = cli_node_start(ctx, &n, opts[2].value, opts[0].seen, NULL);
  if (!rc)
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
  for (uint64_t i = 0; !rc && i < count; i++) {
    uint64_t rtt = 0;
    rc = cli_node_ping(ctx, &n, &peer, &rtt);
    if (!rc) {
      printf("rtt_ms %.3f\n", (double)rtt / 1e6);
      fflush(stdout);
    }
  }
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_identify(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 1, 1);
  if (rc)
    return rc;
  cli_node n;
  lp2p_peerid peer;
  rc = cli_node_start(ctx, &n, opts[1].value, opts[0].seen, NULL);
  if (!rc)
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
  lp2p_host_event ev;
  int got = 0;
  if (!rc) {
    /* identify runs on every new connection; ask again in case it already
     * finished before we looked */
    lp2p_host_identify(n.h, lp2p_clock_now(), &peer);
    while ((got = cli_node_event(&n, &ev, IDENTIFY_TIMEOUT_MS)) == 1 &&
           !(ev.kind == LP2P_HOST_EV_IDENTIFY_DONE &&
             lp2p_peerid_equal(&ev.peer, &peer)))
      ;
    if (got != 1)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "no identify answer");
    else if (ev.err)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "identify failed: %s",
                    lp2p_strerror(ev.err));
  }
  if (!rc)
    cli_identify_json(ctx, &n, &peer, 0,
                      opts[0].seen ? "/plaintext/2.0.0" : "/noise");
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_perf(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0},
                    {"upload", 1, NULL, 0},
                    {"download", 1, NULL, 0},
                    {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 4, &npos, 1, 1);
  if (rc)
    return rc;
  uint64_t up = 0, down = 0;
  if (!opts[1].seen || !opts[2].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "--upload and --download are required");
  if (cli_parse_u64(opts[1].value, &up) || cli_parse_u64(opts[2].value, &down))
    return cli_fail(ctx, CLI_EXIT_USAGE, "byte counts must be decimal numbers");
  cli_node n;
  lp2p_peerid peer;
  rc = cli_node_start(ctx, &n, opts[3].value, opts[0].seen, NULL);
  if (!rc)
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
  if (!rc) {
    int e = lp2p_host_perf(n.h, lp2p_clock_now(), &peer, up, down);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "perf: %s", lp2p_strerror(e));
  }
  lp2p_host_event ev;
  int got;
  while (!rc && (got = cli_node_event(&n, &ev, -1)) == 1) {
    if (ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "perf: connection lost: %s",
                    lp2p_strerror(ev.err ? ev.err : LP2P_ERR_CLOSED));
    if (ev.kind != LP2P_HOST_EV_PERF_RESULT)
      continue;
    if (ev.err)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "perf failed: %s",
                    lp2p_strerror(ev.err));
    else
      cli_printf(ctx,
                 "{\"type\":\"final\",\"timeSeconds\":%.6f,\"uploadBytes\":%"
                 "llu,\"downloadBytes\":%llu}\n",
                 (double)ev.u.perf.time_ns / 1e9,
                 (unsigned long long)ev.u.perf.upload_bytes,
                 (unsigned long long)ev.u.perf.download_bytes);
    break;
  }
  if (!rc && got != 1)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
  cli_node_stop(&n);
  return rc;
}
