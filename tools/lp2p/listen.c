/* lp2p tool: `listen` serves identify, ping, perf and echo until SIGINT or
 * SIGTERM. Each listen address is printed (with /p2p/<id>) and flushed as
 * soon as it is bound, so scripts can read the real port.
 *
 * With --events it also prints one line per event, the line protocol the
 * interop suite shares with its js peer (tests/interop/run.sh):
 *   peer-connected <id> <raddr> <security> <muxer> inbound|outbound
 *   identify <json>            what identify told us of the remote
 *   echo-done <n> / echo-reset <n> <why>   per echo stream served
 *   perf-done <up> <down>      per perf stream served
 *   peer-disconnected <id> <raddr> <reason> goaway=<code|none>
 *   reachability public|private|unknown   the host's AutoNAT verdict
 *   dht-peers <n>              the DHT routing table's size changed (--dht)
 * and serves /echo/1.0.0 itself (instead of the host's built-in echo) so
 * it can count each stream's bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/lp2p/dht_args.h"
#include "tools/lp2p/listen_portmap.h"
#include "tools/lp2p/nat.h"
#include "tools/lp2p/listen_relay.h"
#include "tools/lp2p/node.h"

#define ECHO_PROTO "/echo/1.0.0"
#define ECHO_STREAMS_MAX 4096

typedef struct echo_srv {
  uint64_t id;
  uint64_t bytes;
  int closed;
} echo_srv;

/* The remote address of each connection we reported as connected: the
 * host forgets a connection before its PEER_DISCONNECTED reaches us, so
 * peer-disconnected prints the address remembered here. */
typedef struct conn_addr {
  uint64_t conn;
  char text[256];
} conn_addr;

typedef struct listen_st {
  cli_node *n;
  const char *security;
  echo_srv *echo;
  size_t necho;
  conn_addr *addrs;
  size_t naddrs, addrs_cap;
} listen_st;

static void addr_remember(listen_st *ls, uint64_t conn, const char *text) {
  if (ls->naddrs == ls->addrs_cap) {
    size_t ncap = ls->addrs_cap ? 2 * ls->addrs_cap : 16;
    conn_addr *na = realloc(ls->addrs, ncap * sizeof *na);
    if (!na)
      return; /* printed as "-" later, nothing else is lost */
    ls->addrs = na;
    ls->addrs_cap = ncap;
  }
  conn_addr *a = &ls->addrs[ls->naddrs++];
  a->conn = conn;
  snprintf(a->text, sizeof a->text, "%s", text);
}

/* Copies the remembered address of `conn` into buf and forgets it. */
static void addr_take(listen_st *ls, uint64_t conn, char *buf, size_t cap) {
  for (size_t i = 0; i < ls->naddrs; i++)
    if (ls->addrs[i].conn == conn) {
      snprintf(buf, cap, "%s", ls->addrs[i].text);
      ls->addrs[i] = ls->addrs[--ls->naddrs];
      return;
    }
}

static echo_srv *echo_find(listen_st *ls, uint64_t id) {
  for (size_t i = 0; i < ls->necho; i++)
    if (ls->echo[i].id == id)
      return &ls->echo[i];
  return NULL;
}

static void echo_forget(listen_st *ls, echo_srv *e) {
  *e = ls->echo[--ls->necho];
}

/* Echo what is readable as far as the send window allows; half-close
 * after the client's EOF once everything went back. */
static void echo_pump(listen_st *ls, echo_srv *e) {
  lp2p_host *h = ls->n->h;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = lp2p_host_stream_read_peek(h, e->id, &len);
    if (!len)
      break;
    lp2p_ssize w = lp2p_host_stream_write(h, lp2p_clock_now(), e->id, p, len);
    if (w <= 0)
      break;
    e->bytes += (uint64_t)w;
    lp2p_host_stream_read_consume(h, lp2p_clock_now(), e->id, (size_t)w);
  }
  if (!e->closed && lp2p_host_stream_at_eof(h, e->id)) {
    lp2p_host_stream_close(h, lp2p_clock_now(), e->id);
    e->closed = 1;
    printf("echo-done %llu\n", (unsigned long long)e->bytes);
  }
}

static void print_conn(listen_st *ls, const char *what,
                       const lp2p_host_event *ev) {
  char id[LP2P_PEERID_TEXT_MAX], ra[256] = "-";
  cli_peerid_text(&ev->peer, id, sizeof id);
  lp2p_host_conn_info ci;
  if (lp2p_host_conn_info_get(ls->n->h, ev->conn, &ci) == 0) {
    lp2p_maddr m;
    if (lp2p_sockaddr_to_maddr(&m, &ci.remote) == 0)
      cli_maddr_text(&m, ra, sizeof ra);
  }
  if (ev->kind == LP2P_HOST_EV_PEER_CONNECTED)
    addr_remember(ls, ev->conn, ra);
  else
    addr_take(ls, ev->conn, ra, sizeof ra);
  if (ev->kind == LP2P_HOST_EV_PEER_CONNECTED) {
    printf("%s %s %s %s /yamux/1.0.0 %s\n", what, id[0] ? id : "-", ra,
           ls->security,
           ev->u.connected.direction == LP2P_DIR_INBOUND ? "inbound"
                                                         : "outbound");
  } else {
    printf("%s %s %s %s goaway=", what, id[0] ? id : "-", ra,
           ev->err ? lp2p_errname(ev->err) : "closed");
    if (ev->u.disconnected.goaway < 0)
      printf("none\n");
    else
      printf("%lld\n", (long long)ev->u.disconnected.goaway);
  }
}

static void on_event(listen_st *ls, const lp2p_host_event *ev) {
  lp2p_host *h = ls->n->h;
  echo_srv *e;
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    print_conn(ls, "peer-connected", ev);
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    print_conn(ls, "peer-disconnected", ev);
    break;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    if (!ev->err) {
      cli_ctx c = {.verb = "listen", .usage = "", .out = {0}};
      cli_identify_json(&c, ls->n, &ev->peer, ev->conn, ls->security);
      printf("identify %.*s", (int)c.out.len, c.out.buf ? c.out.buf : "");
      cli_out_free(&c.out);
    }
    break;
  case LP2P_HOST_EV_PERF_RESULT:
    if (ev->u.perf.direction == LP2P_DIR_INBOUND && !ev->err)
      printf("perf-done %llu %llu\n",
             (unsigned long long)ev->u.perf.upload_bytes,
             (unsigned long long)ev->u.perf.download_bytes);
    break;
  case LP2P_HOST_EV_STREAM_INBOUND:
    if (ls->necho == ECHO_STREAMS_MAX) {
      lp2p_host_stream_reset(h, lp2p_clock_now(), ev->stream);
      break;
    }
    ls->echo[ls->necho++] = (echo_srv){ev->stream, 0, 0};
    echo_pump(ls, &ls->echo[ls->necho - 1]);
    break;
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_WRITABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
    if ((e = echo_find(ls, ev->stream)))
      echo_pump(ls, e);
    break;
  case LP2P_HOST_EV_STREAM_CLOSED:
    if ((e = echo_find(ls, ev->stream)))
      echo_forget(ls, e);
    break;
  case LP2P_HOST_EV_STREAM_RESET:
    if ((e = echo_find(ls, ev->stream))) {
      printf("echo-reset %llu %s\n", (unsigned long long)e->bytes,
             lp2p_errname(ev->err));
      echo_forget(ls, e);
    }
    break;
  case LP2P_HOST_EV_REACHABILITY:
    printf("reachability %s\n",
           ev->u.reachability.value == LP2P_REACHABILITY_PUBLIC ? "public"
           : ev->u.reachability.value == LP2P_REACHABILITY_PRIVATE
               ? "private"
               : "unknown");
    break;
  default:
    break;
  }
  fflush(stdout);
}

/* --low-water N --high-water N --grace SECONDS over the library defaults
 * (go-libp2p's 160 / 192 / 60 s); --high-water 0 turns trimming off. */
static int connmgr_opts(cli_ctx *ctx, const cli_opt *lo, const cli_opt *hi,
                        const cli_opt *grace, cli_connmgr *cm) {
  lp2p_host_config d;
  lp2p_host_config_default(&d);
  uint64_t low = d.conns_low_water, high = d.conns_high_water;
  uint64_t g = d.conns_grace_ns / LP2P_NS_PER_S;
  if (lo->seen && (cli_parse_u64(lo->value, &low) || low > UINT32_MAX))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--low-water needs a count");
  if (hi->seen && (cli_parse_u64(hi->value, &high) || high > UINT32_MAX))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--high-water needs a count");
  if (grace->seen && (cli_parse_u64(grace->value, &g) || g > 86400 * 365))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--grace needs seconds");
  if (high == 0 && !lo->seen)
    low = 0; /* trimming off */
  if (low > high)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--low-water must not exceed --high-water (%llu > %llu)",
                    (unsigned long long)low, (unsigned long long)high);
  cm->low_water = (uint32_t)low;
  cm->high_water = (uint32_t)high;
  cm->grace_ns = g * LP2P_NS_PER_S;
  return 0;
}

/* --memory-max MIB --memory-per-peer MIB over the library defaults (128
 * and 32 MiB): what all connections, and one peer's, may make us buffer
 * (README "Limits"). A peer's share cannot exceed the whole. */
static int memory_opts(cli_ctx *ctx, const cli_opt *all, const cli_opt *peer,
                       cli_connmgr *cm) {
  lp2p_host_config d;
  lp2p_host_config_default(&d);
  uint64_t m = d.memory_max >> 20, p = d.memory_per_peer_max >> 20;
  if (all->seen && (cli_parse_u64(all->value, &m) || m < 1 || m > (1u << 20)))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--memory-max needs MiB (1..1048576)");
  if (peer->seen &&
      (cli_parse_u64(peer->value, &p) || p < 1 || p > (1u << 20)))
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--memory-per-peer needs MiB (1..1048576)");
  if (!peer->seen && p > m)
    p = m;
  if (p > m)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--memory-per-peer must not exceed --memory-max "
                    "(%llu > %llu MiB)",
                    (unsigned long long)p, (unsigned long long)m);
  cm->memory_max = m << 20;
  cm->memory_per_peer_max = p << 20;
  return 0;
}

int cli_cmd_listen(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"key", 1, NULL, 0},        {"plaintext", 0, NULL, 0},
                    {"driver", 1, NULL, 0},     {"events", 0, NULL, 0},
                    {"low-water", 1, NULL, 0},  {"high-water", 1, NULL, 0},
                    {"grace", 1, NULL, 0},      {"memory-max", 1, NULL, 0},
                    {"memory-per-peer", 1, NULL, 0},
                    {"relay-server", 0, NULL, 0},
                    {"relay-limit-duration", 1, NULL, 0},
                    {"relay-limit-data", 1, NULL, 0},
                    {"relay", 1, NULL, 0},
                    {"autorelay", 0, NULL, 0},
                    {"holepunch", 0, NULL, 0},
                    {"autonat-server", 0, NULL, 0},
                    {"autonat-allow-private", 0, NULL, 0},
                    {"dht", 1, NULL, 0},
                    {"portmap", 1, NULL, 0}};
  /* --dht server|client [--bootstrap MULTIADDR]... (issue 10) */
  const char *boot_txt[DHT_BOOTSTRAP_MAX];
  lp2p_maddr boot[DHT_BOOTSTRAP_MAX];
  int nboot = 0;
  int rc = dht_take_repeated(ctx, &argc, argv, "bootstrap", boot_txt,
                             DHT_BOOTSTRAP_MAX, &nboot);
  /* --stun HOST:PORT... : NAT classification by STUN (nat-type lines) */
  const char *stun_txt[CLI_NAT_STUN_MAX];
  int nstun = 0;
  static lp2p_host_nat_config nc;
  if (!rc)
    rc = dht_take_repeated(ctx, &argc, argv, "stun", stun_txt,
                           CLI_NAT_STUN_MAX, &nstun);
  if (!rc)
    rc = cli_nat_stun_opts(ctx, stun_txt, nstun, &nc);
  if (!rc)
    cli_node_nat = &nc;
  int npos = 0;
  if (!rc)
    rc = cli_parse(ctx, argc, argv, opts, 19, &npos, 1, -1);
  if (rc)
    return rc;
  /* --autonat-server: serve AutoNAT v2 dial requests; private addresses
   * (loopback, a lab's) only with --autonat-allow-private. */
  if (opts[16].seen && !opts[15].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--autonat-allow-private needs --autonat-server");
  static cli_autonat an = {0, 0, 1};
  an.server = opts[15].seen;
  an.allow_private = opts[16].seen;
  cli_node_autonat = &an;
  if (opts[17].seen && strcmp(opts[17].value, "server") &&
      strcmp(opts[17].value, "client"))
    return cli_fail(ctx, CLI_EXIT_USAGE, "--dht needs server or client");
  if (nboot && !opts[17].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "--bootstrap needs --dht");
  cli_node_kad_mode = !opts[17].seen ? LP2P_KAD_MODE_OFF
                      : !strcmp(opts[17].value, "server")
                          ? LP2P_KAD_MODE_SERVER
                          : LP2P_KAD_MODE_CLIENT;
  static cli_connmgr cm;
  if ((rc = connmgr_opts(ctx, &opts[4], &opts[5], &opts[6], &cm)) != 0 ||
      (rc = memory_opts(ctx, &opts[7], &opts[8], &cm)) != 0 ||
      (rc = listen_relay_opts(ctx, &opts[9], &opts[10], &opts[11], &opts[13],
                              &cm)) != 0 ||
      (rc = listen_portmap_opt(ctx, opts[18].value, &cm)) != 0)
    return rc;
  listen_relay lr;
  if ((rc = listen_relay_parse(ctx, &lr, opts[12].value)) != 0)
    return rc;
  lr.autorelay = opts[13].seen;
  cm.dcutr = opts[14].seen;
  cli_node_connmgr = &cm;
  lp2p_maddr ma[16];
  if (npos > 16)
    return cli_fail(ctx, CLI_EXIT_USAGE, "at most 16 listen addresses");
  for (int i = 0; i < npos; i++) {
    int e = lp2p_maddr_parse(&ma[i], argv[i], strlen(argv[i]));
    if (e)
      return cli_fail(ctx, CLI_EXIT_DATA, "bad multiaddr '%s': %s", argv[i],
                      lp2p_strerror(e));
  }
  /* the DHT's bootstrap list (the library dials it on start, tags it,
   * and dials again when the table empties) and its address filter */
  static cli_kad kad;
  if (cli_node_kad_mode != LP2P_KAD_MODE_OFF) {
    int loopback = 1;
    for (int i = 0; i < npos; i++)
      loopback &= dht_is_loopback(&ma[i]);
    if ((rc = dht_bootstrap_setup(ctx, boot_txt, nboot, loopback, boot,
                                  &kad)) != 0)
      return rc;
    cli_node_kad = &kad;
  }
  int events = opts[3].seen;
  cli_node n;
  rc = cli_node_start_svc(ctx, &n, opts[0].value, opts[1].seen, opts[2].value,
                          !events);
  listen_st ls = {&n, opts[1].seen ? "/plaintext/2.0.0" : "/noise", NULL, 0,
                  NULL, 0, 0};
  if (!rc && events) {
    ls.echo = calloc(ECHO_STREAMS_MAX, sizeof *ls.echo);
    int e = ls.echo ? lp2p_host_register_protocol(n.h, ECHO_PROTO)
                    : LP2P_ERR_NOMEM;
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot serve echo: %s",
                    lp2p_strerror(e));
  }
  for (int i = 0; i < npos && !rc; i++) {
    int e = lp2p_host_listen(n.h, &ma[i], NULL);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen on '%s': %s", argv[i],
                    lp2p_strerror(e));
  }
  char id[LP2P_PEERID_TEXT_MAX];
  if (!rc)
    cli_peerid_text(lp2p_host_peer_id(n.h), id, sizeof id);
  int pending = npos;
  lp2p_host_event ev;
  while (!rc && cli_node_event(&n, &ev, -1) == 1) {
    if ((rc = listen_relay_event(ctx, &lr, n.h, &ev, events)) != 0)
      break;
    if (listen_portmap_event(&ev, events) || cli_nat_event(&ev, events))
      continue;
    if (ev.kind == LP2P_HOST_EV_LISTENING) {
      char a[1024];
      lp2p_maddr bound;
      memset(&bound, 0, sizeof bound);
      lp2p_host_listener_addr(n.h, ev.u.listen.listener, &bound);
      cli_maddr_text(&bound, a, sizeof a);
      printf("%s/p2p/%s\n", a, id);
      fflush(stdout);
      /* once every address is bound: reserve on the relay, if asked */
      if (--pending == 0) {
        rc = listen_relay_start(ctx, &lr, n.h);
      }
    } else if (ev.kind == LP2P_HOST_EV_LISTEN_FAILED && pending > 0) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s",
                    lp2p_strerror(ev.err));
    } else if (ev.kind == LP2P_HOST_EV_KAD_TABLE) {
      if (events) {
        printf("dht-peers %llu\n", (unsigned long long)ev.u.kad.peers);
        fflush(stdout);
      }
    } else if (events) {
      on_event(&ls, &ev);
    }
  }
  cli_node_stop(&n);
  free(ls.echo);
  free(ls.addrs);
  return rc;
}
