/* lp2p tool: running a host on the real driver for the network verbs. The
 * verbs stay small: start, connect, wait for the event they care about. */
#include "tools/lp2p/node.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/peerid.h"
#include "lp2p/multibase.h"

#define CONNECT_TIMEOUT_MS 20000
#define CLOSE_WAIT_MS 2000

volatile int cli_node_stop_flag;
const lp2p_log *cli_log;
const cli_connmgr *cli_node_connmgr;
int cli_node_kad_mode;
const cli_kad *cli_node_kad;
const cli_autonat *cli_node_autonat;
const lp2p_host_nat_config *cli_node_nat;

/* LP2P_PUBLIC_CIDRS: comma-separated CIDRs AutoNAT, DCUtR and the DHT count as
 * public (a lab's 198.18.0.0/15, say), on top of the library's own rule. */
static lp2p_autonat_cidrs public_cidrs;

static int public_cidrs_load(cli_ctx *ctx, lp2p_host_config *cfg) {
  const char *env = getenv("LP2P_PUBLIC_CIDRS");
  if (!env || !*env)
    return 0;
  if (lp2p_autonat_cidrs_parse(&public_cidrs, env) != 0)
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "LP2P_PUBLIC_CIDRS: bad CIDR list '%s'", env);
  cfg->autonat.is_public = lp2p_autonat_cidrs_public;
  cfg->autonat.is_public_ud = &public_cidrs;
  cfg->autonat.s.is_public = lp2p_autonat_cidrs_public;
  cfg->autonat.s.is_public_ud = &public_cidrs;
  /* and for hole punching: what CONNECT sends and what we punch to */
  cfg->dcutr.engine.is_public = lp2p_autonat_cidrs_public;
  cfg->dcutr.engine.is_public_ud = &public_cidrs;
  /* and for the DHT's `public` address filter (issue 10) */
  cfg->kad.is_public = lp2p_autonat_cidrs_public;
  cfg->kad.is_public_ud = &public_cidrs;
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  cli_node_stop_flag = 1;
}

void cli_peerid_text(const lp2p_peerid *id, char *buf, size_t cap) {
  size_t len = 0;
  if (lp2p_peerid_to_base58(id, buf, cap, &len) != 0 || len >= cap)
    len = 0;
  buf[len] = 0;
}

void cli_maddr_text(const lp2p_maddr *m, char *buf, size_t cap) {
  size_t len = 0;
  if (lp2p_maddr_to_string(m, buf, cap, &len) != 0 || len >= cap)
    len = 0;
  buf[len] = 0;
}

int cli_node_start(cli_ctx *ctx, cli_node *n, const char *keyfile,
                   int plaintext, const char *driver) {
  return cli_node_start_svc(ctx, n, keyfile, plaintext, driver, 1);
}

int cli_node_start_svc(cli_ctx *ctx, cli_node *n, const char *keyfile,
                       int plaintext, const char *driver, int serve_echo) {
  memset(n, 0, sizeof(*n));
  const lp2p_backend *b = lp2p_backend_by_name(driver);
  if (!b)
    return cli_fail(ctx, CLI_EXIT_USAGE, "unknown driver '%s' (epoll|poll)",
                    driver);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  lp2p_rng_system(&n->rng);
  n->key = malloc(sizeof *n->key);
  if (!n->key)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  int rc;
  if (keyfile) {
    if ((rc = cli_load_key(ctx, keyfile, n->key)) != 0)
      return rc;
  } else if ((rc = lp2p_key_generate(n->key, LP2P_KEY_ED25519, 0, &n->rng))) {
    return cli_fail(ctx, CLI_EXIT_DATA, "key generation: %s",
                    lp2p_strerror(rc));
  }
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = n->key;
  cfg.echo.serve = serve_echo;
  cfg.log = cli_log;
  cfg.kad.mode = cli_node_kad_mode;
  if (cli_node_kad) {
    cfg.kad.bootstrap = cli_node_kad->boot;
    cfg.kad.bootstrap_n = cli_node_kad->nboot;
    cfg.kad.dial_on_start = cli_node_kad->dial_on_start;
    cfg.kad.addr_filter = cli_node_kad->addr_filter;
  }
  if (cli_node_connmgr) {
    cfg.conns_low_water = cli_node_connmgr->low_water;
    cfg.conns_high_water = cli_node_connmgr->high_water;
    cfg.conns_grace_ns = cli_node_connmgr->grace_ns;
    cfg.memory_max = cli_node_connmgr->memory_max;
    cfg.memory_per_peer_max = cli_node_connmgr->memory_per_peer_max;
    cfg.relay.hop = cli_node_connmgr->relay_hop ? 1 : 0;
    cfg.relay.limit_duration_ns = cli_node_connmgr->relay_limit_duration_ns;
    cfg.relay.limit_data_bytes = cli_node_connmgr->relay_limit_data;
    if (cli_node_connmgr->autorelay)
      cfg.relay.autorelay = LP2P_AUTORELAY_ON;
    cfg.dcutr.enabled = cli_node_connmgr->dcutr ? 1 : 0;
    cfg.portmap.method = (lp2p_portmap_method)cli_node_connmgr->portmap_method;
  }
  /* Only `listen` checks its addresses (the dialing verbs have none to
   * offer); `autonat` asks explicitly. */
  cfg.autonat.client = 0;
  if (cli_node_nat)
    cfg.nat = *cli_node_nat;
  if (cli_node_autonat) {
    cfg.autonat.server = cli_node_autonat->server;
    cfg.autonat.s.allow_private = cli_node_autonat->allow_private;
    cfg.autonat.client = cli_node_autonat->client;
  }
  if ((rc = public_cidrs_load(ctx, &cfg)) != 0)
    return rc;
  cfg.security =
      plaintext ? LP2P_HOST_SECURITY_PLAINTEXT : LP2P_HOST_SECURITY_NOISE;
  /* The soft fd limit (often 1024) is the default conns_max: raise it to
   * the hard limit and fit the limits under it, so the host refuses by
   * its limits before accept() fails with EMFILE (README "Limits"). The
   * result is logged at info (LP2P_LOG=info). */
  lp2p_driver_fit_limits(&cfg, NULL);
  rc = lp2p_host_new(&n->h, &cfg, NULL, &n->rng, lp2p_clock_now());
  if (rc == 0)
    rc = lp2p_driver_new(&n->d, n->h, b);
  if (rc == 0)
    lp2p_driver_set_log(n->d, cli_log);
  /* A diagnostic tool: its echo and perf run on limited (relayed)
   * connections too, so a relay's limits can be seen cutting them
   * (libraries keep them off by default, as go and js do). */
  if (rc == 0)
    rc = lp2p_host_allow_limited(n->h, "/echo/1.0.0", 1);
  if (rc == 0)
    rc = lp2p_host_allow_limited(n->h, "/perf/1.0.0", 1);
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot start the node: %s",
                    lp2p_strerror(rc));
  return 0;
}

/* Before hanging up, let the remote finish what it started on our last
 * connection (its identify of us, typically): wait until the connection
 * has no open streams, at least LINGER_MIN_MS, at most LINGER_MAX_MS. */
#define LINGER_MIN_MS 20
#define LINGER_MAX_MS 1000
static void linger(cli_node *n) {
  lp2p_host_conn_info ci;
  lp2p_tstamp t0 = lp2p_clock_now();
  lp2p_host_event ev;
  while (!cli_node_stop_flag &&
         lp2p_host_conn_info_get(n->h, n->last_conn, &ci) == 0 &&
         ci.state == LP2P_CONN_OPEN) {
    lp2p_tstamp el = lp2p_clock_now() - t0;
    if (el >= LINGER_MAX_MS * LP2P_NS_PER_MS ||
        (ci.streams == 0 && el >= LINGER_MIN_MS * LP2P_NS_PER_MS))
      break;
    lp2p_driver_step(n->d, 5);
    while (lp2p_host_poll_event(n->h, &ev))
      ;
  }
}

void cli_node_wait_closes(cli_node *n, int max_ms) {
  lp2p_tstamp end = lp2p_clock_now() + (lp2p_tstamp)max_ms * LP2P_NS_PER_MS;
  /* events stay queued for the verb */
  while (lp2p_driver_closing(n->d) && lp2p_clock_now() < end)
    lp2p_driver_step(n->d, 50);
}

void cli_node_stop(cli_node *n) {
  if (n->h && n->d && n->last_conn)
    linger(n);
  if (n->h && n->d) {
    lp2p_host_close(n->h, lp2p_clock_now());
    lp2p_tstamp end = lp2p_clock_now() + CLOSE_WAIT_MS * LP2P_NS_PER_MS;
    lp2p_host_event ev;
    int closed = 0;
    while (!closed && lp2p_clock_now() < end) {
      lp2p_driver_flush(n->d);
      while (lp2p_host_poll_event(n->h, &ev))
        if (ev.kind == LP2P_HOST_EV_CLOSED)
          closed = 1;
      if (!closed)
        lp2p_driver_step(n->d, 50);
    }
    /* let graceful closes finish on the wire (bounded by the driver) */
    cli_node_wait_closes(n, 3000);
  }
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
  if (n->key) {
    lp2p_memzero(n->key, sizeof *n->key);
    free(n->key);
  }
  memset(n, 0, sizeof(*n));
}

int cli_node_event(cli_node *n, lp2p_host_event *ev, int deadline_ms) {
  lp2p_tstamp end = deadline_ms < 0
                        ? LP2P_TSTAMP_NONE
                        : lp2p_clock_now() +
                              (lp2p_tstamp)deadline_ms * LP2P_NS_PER_MS;
  for (;;) {
    lp2p_driver_flush(n->d);
    if (lp2p_host_poll_event(n->h, ev))
      return 1;
    if (cli_node_stop_flag)
      return -1;
    lp2p_tstamp now = lp2p_clock_now();
    if (now >= end)
      return 0;
    int wait = 1000;
    if (end != LP2P_TSTAMP_NONE && (end - now) / LP2P_NS_PER_MS + 1 < 1000)
      wait = (int)((end - now) / LP2P_NS_PER_MS + 1);
    if (lp2p_driver_step(n->d, wait) != 0)
      return 0;
  }
}

#define PING_TIMEOUT_MS 15000

int cli_node_ping(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
                  uint64_t *rtt_ns) {
  int e = lp2p_host_ping(n->h, lp2p_clock_now(), peer);
  if (e)
    return cli_fail(ctx, CLI_EXIT_DATA, "ping: %s", lp2p_strerror(e));
  lp2p_host_event ev;
  int got;
  while ((got = cli_node_event(n, &ev, PING_TIMEOUT_MS)) == 1 &&
         ev.kind != LP2P_HOST_EV_PING_RESULT &&
         ev.kind != LP2P_HOST_EV_PEER_DISCONNECTED)
    ;
  if (got != 1)
    return cli_fail(ctx, CLI_EXIT_DATA, "no pong within %d ms",
                    PING_TIMEOUT_MS);
  if (ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED || ev.err)
    return cli_fail(ctx, CLI_EXIT_DATA, "ping failed: %s",
                    lp2p_strerror(ev.err ? ev.err : LP2P_ERR_CLOSED));
  if (rtt_ns)
    *rtt_ns = ev.u.ping.rtt_ns;
  return 0;
}

int cli_node_connect(cli_ctx *ctx, cli_node *n, const char *text,
                     lp2p_peerid *peer) {
  lp2p_maddr ma;
  int rc = lp2p_maddr_parse(&ma, text, strlen(text));
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "bad multiaddr '%s': %s", text,
                    lp2p_strerror(rc));
  /* /dns* names go to the host as they are: its DNS service resolves them
   * inside the loop (hosts file, then the resolv.conf servers). */
  uint64_t dial = 0;
  int last = lp2p_host_dial(n->h, lp2p_clock_now(), &ma, 0, &dial);
  if (!last) {
    lp2p_driver_flush(n->d);
    lp2p_host_event ev;
    int got;
    last = LP2P_ERR_TIMEOUT;
    while ((got = cli_node_event(n, &ev, CONNECT_TIMEOUT_MS)) == 1) {
      if ((ev.kind != LP2P_HOST_EV_DIAL_DONE &&
           ev.kind != LP2P_HOST_EV_DIAL_FAILED) ||
          ev.u.dial.id != dial)
        continue;
      if (ev.kind == LP2P_HOST_EV_DIAL_DONE) {
        *peer = ev.peer;
        n->last_conn = ev.conn;
        return 0;
      }
      if (ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
        last = ev.err;
        break;
      }
    }
    if (got == -1)
      return cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
  }
  if (last == LP2P_ERR_PEER_ID_MISMATCH)
    return cli_fail(ctx, CLI_EXIT_DATA,
                    "%s: the peer's authenticated id differs from /p2p in "
                    "the address",
                    text);
  return cli_fail(ctx, CLI_EXIT_DATA, "cannot connect to %s: %s", text,
                  lp2p_strerror(last));
}

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(cli_ctx *ctx, const char *s) {
  cli_printf(ctx, "\"");
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\')
      cli_printf(ctx, "\\%c", *p);
    else if (*p < 0x20)
      cli_printf(ctx, "\\u%04x", *p);
    else
      cli_printf(ctx, "%c", *p);
  }
  cli_printf(ctx, "\"");
}

static void json_addr(cli_ctx *ctx, const char *key, const lp2p_maddr *m) {
  char text[1024];
  cli_printf(ctx, ",\"%s\":", key);
  if (m && m->len) {
    cli_maddr_text(m, text, sizeof text);
    json_str(ctx, text);
  } else {
    cli_printf(ctx, "null");
  }
}

void cli_identify_json(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
                       uint64_t conn, const char *security) {
  char text[1024];
  cli_peerid_text(peer, text, sizeof text);
  cli_printf(ctx, "{\"peerId\":");
  json_str(ctx, text);
  cli_printf(ctx, ",\"agentVersion\":");
  json_str(ctx, lp2p_host_peer_agent(n->h, peer));
  cli_printf(ctx, ",\"protocolVersion\":");
  json_str(ctx, lp2p_host_peer_protocol_version(n->h, peer));
  cli_printf(ctx, ",\"protocols\":[");
  size_t np = lp2p_host_peer_protocol_count(n->h, peer);
  for (size_t i = 0; i < np; i++) {
    if (i)
      cli_printf(ctx, ",");
    json_str(ctx, lp2p_host_peer_protocol(n->h, peer, i));
  }
  cli_printf(ctx, "],\"listenAddrs\":[");
  lp2p_maddr addrs[32];
  size_t na = 0;
  lp2p_host_peer_addrs(n->h, lp2p_clock_now(), peer, addrs, 32, &na);
  for (size_t i = 0; i < na && i < 32; i++) {
    cli_maddr_text(&addrs[i], text, sizeof text);
    if (i)
      cli_printf(ctx, ",");
    json_str(ctx, text);
  }
  cli_printf(ctx, "]");
  lp2p_maddr obs = {0};
  lp2p_host_peer_observed_addr(n->h, peer, &obs);
  json_addr(ctx, "observedAddr", &obs);
  lp2p_host_conn_info ci;
  lp2p_maddr local = {0}, remote = {0};
  if (lp2p_host_conn_info_get(n->h, conn ? conn : n->last_conn, &ci) == 0) {
    lp2p_sockaddr_to_maddr(&local, &ci.local);
    lp2p_sockaddr_to_maddr(&remote, &ci.remote);
  }
  json_addr(ctx, "localAddr", &local);
  json_addr(ctx, "remoteAddr", &remote);
  cli_printf(ctx, ",\"encryption\":");
  if (security)
    json_str(ctx, security);
  else
    cli_printf(ctx, "null");
  cli_printf(ctx, ",\"publicKey\":");
  lp2p_pubkey pk;
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  size_t pbl = 0;
  char hex[2 * LP2P_PUBKEY_PB_MAX + 1];
  size_t hl = 0;
  if (lp2p_host_peer_pubkey(n->h, peer, &pk) == 0 &&
      lp2p_pubkey_marshal(&pk, pb, sizeof pb, &pbl) == 0 &&
      lp2p_hex_encode(pb, pbl, hex, sizeof hex, &hl) == 0) {
    hex[hl] = 0;
    json_str(ctx, hex);
  } else {
    cli_printf(ctx, "null");
  }
  cli_printf(ctx, "}\n");
}
