/* lp2p tool: `holepunch` dials a peer through a relay and waits for DCUtR
 * (README "Hole punching"): the peer behind the relay starts it, we punch
 * from our own listen port. One JSON line:
 *   {"peer":"<id>","direct":true,"addr":"<maddr>","attempts":N,"ms":T}  exit 0
 *   {"peer":"<id>","direct":false,"reason":"<reason>","attempts":N}      exit 1
 * ms is the time from the relayed connection to the direct one. */
#include <stdio.h>
#include <string.h>

#include "lp2p/natclass.h"
#include "tools/lp2p/dht_args.h"
#include "tools/lp2p/nat.h"
#include "tools/lp2p/node.h"

int cli_cmd_holepunch(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"timeout", 1, NULL, 0},
                    {"key", 1, NULL, 0},
                    {"listen", 1, NULL, 0}};
  /* --stun HOST:PORT...: our NAT class by STUN before we dial, so that
   * DCUtR knows both classes (a hopeless pair is named, not tried) */
  const char *stun_txt[CLI_NAT_STUN_MAX];
  int nstun = 0;
  static lp2p_host_nat_config nc;
  int rc = dht_take_repeated(ctx, &argc, argv, "stun", stun_txt,
                             CLI_NAT_STUN_MAX, &nstun);
  if (!rc)
    rc = cli_nat_stun_opts(ctx, stun_txt, nstun, &nc);
  if (rc)
    return rc;
  if (nstun) {
    /* as `lp2p nat`: a silent server is given up after 5.5 s (not
     * 39.5 s), so the next --stun gets its turn within the timeout */
    nc.stun_cfg.rc = 4;
    nc.stun_cfg.rm = 4;
    cli_node_nat = &nc;
  }
  int npos = 0;
  rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 1, 1);
  if (rc)
    return rc;
  uint64_t secs = 30;
  if (opts[0].seen &&
      (cli_parse_u64(opts[0].value, &secs) || secs == 0 || secs > 3600))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--timeout needs seconds (1..3600)");
  lp2p_maddr target, la;
  if (lp2p_maddr_parse(&target, argv[0], strlen(argv[0])) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "bad multiaddr '%s'", argv[0]);
  const uint8_t *v;
  size_t vl;
  if (lp2p_maddr_find(&target, LP2P_MA_P2P_CIRCUIT, &v, &vl) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "holepunch needs a /p2p/RELAY/p2p-circuit/p2p/TARGET "
                    "address");
  const char *listen = opts[2].seen ? opts[2].value : "/ip4/0.0.0.0/tcp/0";
  if (lp2p_maddr_parse(&la, listen, strlen(listen)) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "bad --listen multiaddr '%s'",
                    listen);
  static cli_connmgr cm;
  lp2p_host_config d;
  lp2p_host_config_default(&d);
  cm.low_water = d.conns_low_water;
  cm.high_water = d.conns_high_water;
  cm.grace_ns = d.conns_grace_ns;
  cm.memory_max = d.memory_max;
  cm.memory_per_peer_max = d.memory_per_peer_max;
  cm.relay_limit_duration_ns = d.relay.limit_duration_ns;
  cm.relay_limit_data = d.relay.limit_data_bytes;
  cm.dcutr = 1;
  cli_node_connmgr = &cm;
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[1].value, 0, NULL);
  if (!rc && (rc = lp2p_host_listen(n.h, &la, NULL)) != 0)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s", lp2p_strerror(rc));
  lp2p_peerid peer;
  lp2p_host_event ev;
  int got = 0;
  lp2p_tstamp end = lp2p_clock_now() + secs * LP2P_NS_PER_S;
  /* bound first: the relay is dialled from our listen port (REUSEPORT),
   * so it observes the mapping our punch will use */
  while (!rc && (got = cli_node_event(&n, &ev, 200)) >= 0 &&
         !(got == 1 && ev.kind == LP2P_HOST_EV_LISTENING)) {
    if (got == 1 && ev.kind == LP2P_HOST_EV_LISTEN_FAILED)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s",
                    lp2p_strerror(ev.err));
    else if (lp2p_clock_now() >= end)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: not bound in time");
  }
  if (!rc && got < 0)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen");
  /* with --stun: STUN done (or failed: then the class is what the
   * observations say) before the relay is dialled */
  lp2p_host_nat_info ni;
  while (!rc && nstun && lp2p_host_nat_info_get(n.h, &ni) == 0 &&
         ni.stun_status == 1 && lp2p_clock_now() < end &&
         cli_node_event(&n, &ev, 200) >= 0) {
  }
  got = 0;
  if (!rc)
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
  while (!rc && (got = cli_node_event(&n, &ev, 200)) >= 0) {
    if (got == 1 && ev.kind == LP2P_HOST_EV_HOLEPUNCH_RESULT &&
        lp2p_peerid_equal(&ev.peer, &peer))
      break;
    got = 0;
    if (lp2p_clock_now() >= end)
      break;
  }
  char id[LP2P_PEERID_TEXT_MAX];
  size_t il = 0;
  if (!rc)
    lp2p_peerid_to_base58(&peer, id, sizeof id, &il);
  if (!rc && got == 1 && ev.u.holepunch.ok) {
    lp2p_host_conn_info ci;
    char a[512] = "";
    if (lp2p_host_conn_info_get(n.h, ev.conn, &ci) == 0)
      cli_maddr_text(&ci.remote_addr, a, sizeof a);
    printf("{\"peer\":\"%.*s\",\"direct\":true,\"addr\":\"%s\","
           "\"attempts\":%u,\"ms\":%llu}\n",
           (int)il, id, a, ev.u.holepunch.attempts,
           (unsigned long long)(ev.u.holepunch.time_ns / LP2P_NS_PER_MS));
  } else if (!rc) {
    const char *why = got == 1 ? lp2p_punch_reason_name(
                                     (lp2p_punch_reason)ev.u.holepunch.reason)
                               : "timeout";
    printf("{\"peer\":\"%.*s\",\"direct\":false,\"reason\":\"%s\","
           "\"attempts\":%u}\n",
           (int)il, id, why, got == 1 ? ev.u.holepunch.attempts : 0);
    rc = CLI_EXIT_DATA;
  }
  fflush(stdout);
  cli_node_stop(&n);
  return rc;
}
