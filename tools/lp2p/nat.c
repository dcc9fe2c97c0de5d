/* lp2p tool: `nat` says what kind of NAT we are behind (README "Hole
 * punching"), in one JSON line:
 *   {"mapping":"...","filtering":"...","preserves_port":true|false,
 *    "external":["<maddr>",...]}
 * From STUN servers (--stun HOST:PORT, repeatable: RFC 5780 behaviour
 * discovery against the first that answers), and/or from peers (--peer
 * MULTIADDR, repeatable: dialled from our listen port, their identify
 * observations of that one port classify the TCP mapping; filtering stays
 * "unknown", only STUN can tell it). Without either it is a usage error:
 * nothing else can see our NAT from outside.
 *
 * Words: mapping and filtering are "endpoint-independent",
 * "address-dependent", "address-and-port-dependent" (RFC 4787), or
 * "unknown" when the sources could not tell (one peer, a server without
 * RFC 5780). No NAT at all behaves endpoint-independently and is printed
 * so. preserves_port is false when unknown. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "tools/lp2p/dht_args.h"
#include "tools/lp2p/nat.h"

#define PEERS_MAX 8

int cli_hostport(cli_ctx *ctx, const char *what, const char *text,
                 lp2p_sockaddr *out) {
  memset(out, 0, sizeof *out);
  const char *colon = strrchr(text, ':');
  uint64_t port;
  if (!colon || cli_parse_u64(colon + 1, &port) || port == 0 || port > 65535)
    return cli_fail(ctx, CLI_EXIT_USAGE, "%s needs HOST:PORT, not '%s'", what,
                    text);
  const char *host = text;
  size_t hl = (size_t)(colon - text);
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    host++;
    hl -= 2;
  }
  out->port = (uint16_t)port;
  if (lp2p_ip4_from_text(host, hl, out->ip) == 0) {
    out->family = 4;
    return 0;
  }
  if (lp2p_ip6_from_text(host, hl, out->ip) == 0) {
    out->family = 6;
    return 0;
  }
  char name[256];
  if (hl == 0 || hl >= sizeof name)
    return cli_fail(ctx, CLI_EXIT_USAGE, "%s: bad host in '%s'", what, text);
  memcpy(name, host, hl);
  name[hl] = 0;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
    return cli_fail(ctx, CLI_EXIT_USAGE, "%s: cannot resolve '%s'", what,
                    name);
  if (res->ai_family == AF_INET) {
    out->family = 4;
    memcpy(out->ip, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
  } else {
    out->family = 6;
    memcpy(out->ip, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
  }
  freeaddrinfo(res);
  return 0;
}

int cli_nat_stun_opts(cli_ctx *ctx, const char **txt, int n,
                      lp2p_host_nat_config *cfg) {
  lp2p_host_config d;
  lp2p_host_config_default(&d);
  *cfg = d.nat;
  for (int i = 0; i < n; i++) {
    int rc = cli_hostport(ctx, "--stun", txt[i], &cfg->stun[i]);
    if (rc)
      return rc;
  }
  cfg->nstun = (uint32_t)n;
  /* LP2P_STUN_RTO_MS: the STUN client's first retransmission timeout
   * (RFC 5389 section 7.2.1: 500 ms unless the network is known to be
   * faster, as a lab is). A silent filtering test waits 23 RTOs (stun.h),
   * 11.5 s by default: too long for a lab that starts fresh peers for
   * every run. */
  const char *rto = getenv("LP2P_STUN_RTO_MS");
  if (rto && *rto) {
    uint64_t ms;
    if (cli_parse_u64(rto, &ms) || ms == 0 || ms > 60000)
      return cli_fail(ctx, CLI_EXIT_USAGE,
                      "LP2P_STUN_RTO_MS needs milliseconds (1..60000)");
    cfg->stun_cfg.rto_ns = ms * LP2P_NS_PER_MS;
  }
  return 0;
}

/* The CLI's words: no NAT maps and filters like the most open NAT. */
static const char *word(lp2p_nat_behaviour b) {
  return lp2p_nat_behaviour_name(b == LP2P_NAT_NONE
                                     ? LP2P_NAT_ENDPOINT_INDEPENDENT
                                     : b);
}

int cli_nat_event(const lp2p_host_event *ev, int events) {
  if (ev->kind != LP2P_HOST_EV_NAT_TYPE)
    return 0;
  if (events) {
    printf("nat-type %s %s preserves-port %s\n",
           word((lp2p_nat_behaviour)ev->u.nat.mapping),
           word((lp2p_nat_behaviour)ev->u.nat.filtering),
           ev->u.nat.preserves_port > 0    ? "true"
           : ev->u.nat.preserves_port == 0 ? "false"
                                           : "unknown");
    fflush(stdout);
  }
  return 1;
}

int cli_cmd_nat(cli_ctx *ctx, int argc, char **argv) {
  const char *stun_txt[CLI_NAT_STUN_MAX], *peer_txt[PEERS_MAX];
  int nstun = 0, npeer = 0;
  int rc = dht_take_repeated(ctx, &argc, argv, "stun", stun_txt,
                             CLI_NAT_STUN_MAX, &nstun);
  if (!rc)
    rc = dht_take_repeated(ctx, &argc, argv, "peer", peer_txt, PEERS_MAX,
                           &npeer);
  cli_opt opts[] = {{"timeout", 1, NULL, 0},
                    {"key", 1, NULL, 0},
                    {"listen", 1, NULL, 0}};
  int npos = 0;
  if (!rc)
    rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 0, 0);
  if (rc)
    return rc;
  if (!nstun && !npeer)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "needs --stun HOST:PORT or --peer MULTIADDR (nothing "
                    "else sees our NAT from outside)");
  uint64_t secs = 30;
  if (opts[0].seen &&
      (cli_parse_u64(opts[0].value, &secs) || secs == 0 || secs > 3600))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--timeout needs seconds (1..3600)");
  static lp2p_host_nat_config nc;
  if ((rc = cli_nat_stun_opts(ctx, stun_txt, nstun, &nc)) != 0)
    return rc;
  /* a command waits for an answer: 4 sends and a wait of 4 RTOs give up
   * on a silent server after 5.5 s (RFC 5389's 39.5 s is for services),
   * so the next --stun gets its turn within the timeout */
  nc.stun_cfg.rc = 4;
  nc.stun_cfg.rm = 4;
  lp2p_maddr peers[PEERS_MAX], la;
  for (int i = 0; i < npeer; i++)
    if (lp2p_maddr_parse(&peers[i], peer_txt[i], strlen(peer_txt[i])) != 0)
      return cli_fail(ctx, CLI_EXIT_USAGE, "bad --peer multiaddr '%s'",
                      peer_txt[i]);
  const char *listen = opts[2].seen ? opts[2].value : "/ip4/0.0.0.0/tcp/0";
  if (lp2p_maddr_parse(&la, listen, strlen(listen)) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "bad --listen multiaddr '%s'",
                    listen);
  cli_node_nat = &nc;
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[1].value, 0, NULL);
  if (!rc && npeer && (rc = lp2p_host_listen(n.h, &la, NULL)) != 0)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s", lp2p_strerror(rc));
  /* the peers are dialled once we listen, from the listen port: only one
   * local port's mappings can be compared */
  uint64_t dial[PEERS_MAX];
  int waiting = npeer, identified = 0, listening = !npeer;
  lp2p_tstamp end = lp2p_clock_now() + secs * LP2P_NS_PER_S;
  lp2p_host_event ev;
  lp2p_host_nat_info ni;
  memset(&ni, 0, sizeof ni);
  while (!rc) {
    lp2p_host_nat_info_get(n.h, &ni);
    if (listening && !waiting && ni.stun_status != 1)
      break;
    if (lp2p_clock_now() >= end)
      break;
    int got = cli_node_event(&n, &ev, 200);
    if (got < 0)
      break;
    if (got == 0)
      continue;
    if (ev.kind == LP2P_HOST_EV_LISTENING && !listening) {
      listening = 1;
      for (int i = 0; i < npeer; i++)
        if (lp2p_host_dial(n.h, lp2p_clock_now(), &peers[i],
                           LP2P_DIAL_REUSEPORT, &dial[i]) != 0) {
          dial[i] = 0;
          waiting--;
        }
    } else if (ev.kind == LP2P_HOST_EV_LISTEN_FAILED) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s",
                    lp2p_strerror(ev.err));
    } else if (ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
      for (int i = 0; i < npeer; i++)
        if (dial[i] && dial[i] == ev.u.dial.id) {
          cli_error_line("nat: %s: %s", peer_txt[i], lp2p_strerror(ev.err));
          dial[i] = 0;
          waiting--;
        }
    } else if (ev.kind == LP2P_HOST_EV_IDENTIFY_DONE &&
               ev.u.identify.direction == LP2P_DIR_OUTBOUND && waiting > 0) {
      waiting--;
      identified += ev.err == 0;
    }
  }
  if (!rc) {
    lp2p_host_nat_info_get(n.h, &ni);
    if (ni.stun_status == 1 && !identified)
      rc = cli_fail(ctx, CLI_EXIT_DATA,
                    "no answer from the STUN server%s within %llu s",
                    nstun > 1 ? "s" : "", (unsigned long long)secs);
    else if (ni.stun_status != 0 && !identified)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "%s: %s",
                    nstun ? "STUN failed" : "no peer identified us",
                    nstun ? lp2p_strerror(ni.stun_status) : "dial failed");
  }
  if (!rc) {
    cli_printf(ctx,
               "{\"mapping\":\"%s\",\"filtering\":\"%s\",\"preserves_port\":%s,"
               "\"external\":[",
               word(ni.cls.mapping), word(ni.cls.filtering),
               ni.cls.preserves_port > 0 ? "true" : "false");
    for (size_t i = 0; i < ni.nexternal; i++) {
      char a[512];
      cli_maddr_text(&ni.external[i], a, sizeof a);
      cli_printf(ctx, "%s\"%s\"", i ? "," : "", a);
    }
    cli_printf(ctx, "]}\n");
  }
  cli_node_stop(&n);
  return rc;
}
