/* lp2p listen: the circuit relay v2 options (README "Relay").
 *   --relay-server [--relay-limit-duration SECONDS] [--relay-limit-data BYTES]
 *       serve hop (a relay for others), with these circuit limits
 *       (defaults 120 s and 131072 bytes, go-libp2p's; 0 = no limit)
 *   --relay MULTIADDR
 *       reserve on that relay (dialled first) and print our
 *       /p2p-circuit address, ending in /p2p/<own id>, once it is active
 *   --autorelay
 *       reserve on relays found among the peers we connect to (AutoRelay,
 *       always on here) and print each one's addresses as above
 * and the --events lines relay-reserved, relay-lost and circuit. */
#include <stdio.h>
#include <string.h>

#include "lp2p/natclass.h"
#include "tools/lp2p/listen_relay.h"

int listen_relay_opts(cli_ctx *ctx, const cli_opt *server,
                      const cli_opt *duration, const cli_opt *data,
                      const cli_opt *autorelay, cli_connmgr *cm) {
  cm->autorelay = autorelay->seen;
  lp2p_host_config d;
  lp2p_host_config_default(&d);
  uint64_t secs = d.relay.limit_duration_ns / LP2P_NS_PER_S;
  uint64_t bytes = d.relay.limit_data_bytes;
  if ((duration->seen || data->seen) && !server->seen)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--relay-limit-* need --relay-server");
  if (duration->seen &&
      (cli_parse_u64(duration->value, &secs) || secs > 86400 * 365))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--relay-limit-duration needs seconds");
  if (data->seen && cli_parse_u64(data->value, &bytes))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--relay-limit-data needs bytes");
  cm->relay_hop = server->seen;
  cm->relay_limit_duration_ns = secs * LP2P_NS_PER_S;
  cm->relay_limit_data = bytes;
  return 0;
}

int listen_relay_parse(cli_ctx *ctx, listen_relay *lr, const char *addr) {
  memset(lr, 0, sizeof *lr);
  if (!addr)
    return 0;
  const uint8_t *idb;
  size_t idn;
  if (lp2p_maddr_parse(&lr->addr, addr, strlen(addr)) != 0 ||
      lp2p_maddr_get_peer_id(&lr->addr, &idb, &idn) != 0 ||
      lp2p_peerid_from_bytes(&lr->relay, idb, idn) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--relay needs a multiaddr ending in /p2p/<relay id>: '%s'",
                    addr);
  lr->wanted = 1;
  return 0;
}

int listen_relay_start(cli_ctx *ctx, listen_relay *lr, lp2p_host *h) {
  if (!lr->wanted)
    return 0;
  /* from our listen port (we are bound by now): the relay then observes
   * the NAT mapping a hole punch from that port uses, and an EIF NAT
   * admits a peer's SYN to it (README "Hole punching") */
  int rc = lp2p_host_dial(h, lp2p_clock_now(), &lr->addr, LP2P_DIAL_REUSEPORT,
                          &lr->dial);
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot dial the relay: %s",
                    lp2p_strerror(rc));
  lr->active = 1;
  return 0;
}

static void print_id(const lp2p_peerid *id) {
  char t[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  if (lp2p_peerid_to_base58(id, t, sizeof t, &n) == 0)
    fwrite(t, 1, n, stdout);
}

int listen_relay_event(cli_ctx *ctx, listen_relay *lr, lp2p_host *h,
                       const lp2p_host_event *ev, int events) {
  if (lr->active && ev->u.dial.id == lr->dial &&
      (ev->kind == LP2P_HOST_EV_DIAL_DONE ||
       ev->kind == LP2P_HOST_EV_DIAL_FAILED)) {
    if (ev->kind == LP2P_HOST_EV_DIAL_FAILED)
      return cli_fail(ctx, CLI_EXIT_DATA, "cannot reach the relay: %s",
                      lp2p_strerror(ev->err));
    int rc = lp2p_host_relay_reserve(h, lp2p_clock_now(), &lr->relay);
    if (rc)
      return cli_fail(ctx, CLI_EXIT_DATA, "cannot reserve on the relay: %s",
                      lp2p_strerror(rc));
    return 0;
  }
  switch (ev->kind) {
  case LP2P_HOST_EV_RELAY_RESERVED: {
    int shown = 0;
    for (int i = 0; i < lr->nshown && !shown; i++)
      shown = lp2p_peerid_equal(&lr->shown[i], &ev->peer);
    int mine = lr->active && lp2p_peerid_equal(&ev->peer, &lr->relay);
    if (!shown && (mine || lr->autorelay)) {
      /* this relay's circuit addresses: .../p2p/<relay>/p2p-circuit/... */
      char rid[LP2P_PEERID_TEXT_MAX + 24];
      size_t rl = 0;
      memcpy(rid, "/p2p/", 5);
      lp2p_peerid_to_base58(&ev->peer, rid + 5, sizeof rid - 5, &rl);
      memcpy(rid + 5 + rl, "/p2p-circuit/", 14);
      lp2p_maddr a[16];
      size_t n = 0;
      lp2p_host_relay_addrs(h, a, 16, &n);
      for (size_t i = 0; i < n && i < 16; i++) {
        char t[1024];
        size_t len = 0;
        if (lp2p_maddr_to_string(&a[i], t, sizeof t, &len) == 0 &&
            strstr(t, rid))
          printf("%.*s\n", (int)len, t);
      }
      if (lr->nshown < 8)
        lr->shown[lr->nshown++] = ev->peer;
    }
    if (events) {
      printf("relay-reserved ");
      print_id(&ev->peer);
      printf(" %llu\n", (unsigned long long)ev->u.relay.expire_unix);
    }
    break;
  }
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST:
    if (events) {
      printf("relay-lost ");
      print_id(&ev->peer);
      if (ev->u.relay.status) /* the relay's refusal, by its status code */
        printf(" status-%u\n", (unsigned)ev->u.relay.status);
      else
        printf(" %s\n", lp2p_errname(ev->err));
    }
    for (int i = 0; i < lr->nshown; i++) /* printed again once regained */
      if (lp2p_peerid_equal(&lr->shown[i], &ev->peer))
        lr->shown[i] = lr->shown[--lr->nshown];
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    if (events) {
      printf("holepunch %s ", ev->u.holepunch.ok ? "ok" : "fail");
      print_id(&ev->peer);
      if (ev->u.holepunch.ok) {
        lp2p_host_conn_info ci;
        char a[512] = "-";
        if (lp2p_host_conn_info_get(h, ev->conn, &ci) == 0)
          cli_maddr_text(&ci.remote_addr, a, sizeof a);
        printf(" %s attempts %u ms %llu\n", a, ev->u.holepunch.attempts,
               (unsigned long long)(ev->u.holepunch.time_ns /
                                    LP2P_NS_PER_MS));
      } else {
        printf(" %s\n", lp2p_punch_reason_name(
                            (lp2p_punch_reason)ev->u.holepunch.reason));
      }
    }
    break;
  case LP2P_HOST_EV_RELAY_CIRCUIT:
    if (events) {
      printf("circuit %s ",
             ev->u.relay.direction == LP2P_DIR_INBOUND ? "in" : "out");
      print_id(&ev->peer);
      printf("\n");
    }
    break;
  default:
    return 0;
  }
  fflush(stdout);
  return 0;
}
