/* punch: verbs, --help and the validation of every argument and
 * environment variable before anything happens (issue 14 "CLI"): a bad
 * spec, an unknown verb, a malformed key or an invalid PUNCH_* value is
 * one line on stderr and exit 2, and nothing was created. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/autonat.h"
#include "lp2p/peerid.h"
#include "tools/punch/punch.h"

static const char *const HELP_MAIN =
    "usage: punch <verb> ...\n"
    "  punch out <port>[/tcp|/udp]...            expose local ports\n"
    "  punch in <pubkey> <local>:<port>[/proto]... reach a peer's ports\n"
    "  punch relay [options]                     run a relay + AutoNAT + "
    "DHT server\n"
    "Each verb takes --help. Configuration is by environment only:\n"
    "  PUNCH_SECRET_KEY  key file (default ~/.local/share/punch/secret.key)\n"
    "  PUNCH_RELAY_MODE  default | disabled | <relay multiaddr>/p2p/<id>\n"
    "  PUNCH_ALLOW       comma-separated public keys allowed to connect\n"
    "  PUNCH_BOOTSTRAP   comma-separated DHT bootstrap multiaddrs\n"
    "  PUNCH_LOG         error | warn | info (default) | debug\n"
    "  LP2P_PUBLIC_CIDRS extra address ranges treated as public\n"
    "Exit codes: 0 done, 1 runtime failure, 2 bad command line or "
    "environment.\n";

static const char *const HELP_OUT =
    "usage: punch out <port-spec>...\n"
    "Expose local ports to peers: each accepted stream is proxied to\n"
    "127.0.0.1:<port>. A port spec is <port> or <port>/<proto>, proto tcp\n"
    "(default) or udp. Prints our public key on stderr, then status lines.\n"
    "Only the listed ports are reachable; PUNCH_ALLOW limits who connects.\n"
    "Runs until SIGINT/SIGTERM; SIGUSR1 prints the per-port counters.\n";

static const char *const HELP_IN =
    "usage: punch in <pubkey> <mapping>...\n"
    "Connect to the peer with that public key. A mapping is\n"
    "<local>:<remote-port>[/<proto>]: a listener on 127.0.0.1:<local>\n"
    "whose TCP connections (or UDP packets) go to the peer's <remote-port>.\n"
    "<local> '-' bridges stdin/stdout to one TCP connection (at most one\n"
    "stdio mapping; exit 0 on the remote's EOF, 1 on a reset).\n"
    "All mappings share one connection. SIGUSR1 prints the counters.\n";

static const char *const HELP_RELAY =
    "usage: punch relay [--listen MULTIADDR]... [--limit-duration SECONDS]\n"
    "                   [--limit-data BYTES]\n"
    "Run a circuit relay v2 server, an AutoNAT v2 server and a DHT server.\n"
    "Prints its multiaddrs on stdout, one per line, each ending in\n"
    "/p2p/<id>. --listen defaults to /ip4/0.0.0.0/tcp/0. Circuit limits\n"
    "default to none (0): a relay for your own punch peers.\n";

static int usage(const char *fmt, const char *arg) {
  fprintf(stderr, "punch: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  return PUNCH_EXIT_USAGE;
}

static int is_help(const char *a) {
  return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static int strict_u64(const char *s, uint64_t *v) {
  if (!*s)
    return -1;
  uint64_t x = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
      return -1;
    x = x * 10 + (uint64_t)(*s - '0');
  }
  *v = x;
  return 0;
}

/* A public key: an Ed25519 PeerId (issue 14: "the public key is the
 * peer's Ed25519 PeerId"). */
static int parse_key(const char *s, lp2p_peerid *id) {
  lp2p_pubkey pk;
  if (lp2p_peerid_parse(id, s, strlen(s)) != 0 ||
      lp2p_peerid_pubkey(id, &pk) != 0 || pk.type != LP2P_KEY_ED25519)
    return -1;
  return 0;
}

/* Comma-separated list: calls fn on each element (NUL-terminated copy). */
static int each_item(const char *list, const char *what,
                     int (*fn)(pconfig *, const char *), pconfig *c) {
  char buf[8192];
  if (strlen(list) >= sizeof buf)
    return usage("%s is too long", what);
  strcpy(buf, list);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ')
      t++;
    int rc = fn(c, t);
    if (rc)
      return rc;
  }
  return 0;
}

static int add_allow(pconfig *c, const char *t) {
  if (c->nallow == PUNCH_ALLOW_MAX)
    return usage("PUNCH_ALLOW: more than %s keys", "256");
  if (parse_key(t, &c->allow[c->nallow]))
    return usage("PUNCH_ALLOW: malformed public key '%s'", t);
  c->nallow++;
  return 0;
}

static int relay_maddr(const char *t, lp2p_maddr *m, lp2p_peerid *id) {
  const uint8_t *b;
  size_t n;
  if (lp2p_maddr_parse(m, t, strlen(t)) != 0 ||
      lp2p_maddr_get_peer_id(m, &b, &n) != 0 ||
      lp2p_peerid_from_bytes(id, b, n) != 0 ||
      lp2p_maddr_find(m, LP2P_MA_P2P_CIRCUIT, &b, &n) == 0)
    return -1;
  return 0;
}

static int add_boot(pconfig *c, const char *t) {
  lp2p_peerid id;
  if (c->nboot == PUNCH_BOOT_MAX)
    return usage("PUNCH_BOOTSTRAP: more than %s addresses", "16");
  if (relay_maddr(t, &c->boot[c->nboot], &id))
    return usage("PUNCH_BOOTSTRAP: '%s' is not a multiaddr ending in "
                 "/p2p/<id>",
                 t);
  c->nboot++;
  return 0;
}

/* The public IPFS bootstrap peers (the list go-libp2p and kubo ship). */
static const char *const PUBLIC_BOOTSTRAP[] = {
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/ip4/104.131.131.82/tcp/4001/p2p/"
    "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
};

static int env_config(pconfig *c) {
  const char *v = getenv("PUNCH_LOG");
  c->log_level = PL_INFO;
  if (v) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    c->log_level = -1;
    for (int i = 0; i < 4; i++)
      if (!strcmp(v, names[i]))
        c->log_level = i;
    if (c->log_level < 0)
      return usage("PUNCH_LOG must be error, warn, info or debug, not '%s'",
                   v);
  }
  v = getenv("PUNCH_RELAY_MODE");
  if (!v || !strcmp(v, "default")) {
    c->relay_mode = RELAY_DEFAULT;
  } else if (!strcmp(v, "disabled")) {
    c->relay_mode = RELAY_DISABLED;
  } else if (v[0] == '/') {
    if (relay_maddr(v, &c->relay_addr, &c->relay_id))
      return usage("PUNCH_RELAY_MODE: '%s' is not a relay multiaddr "
                   "(…/p2p/<relay id>)",
                   v);
    c->relay_mode = RELAY_ADDR;
  } else {
    return usage("PUNCH_RELAY_MODE must be default, disabled or a relay "
                 "multiaddr, not '%s'",
                 v);
  }
  v = getenv("PUNCH_ALLOW");
  if (v) {
    c->allow_set = 1;
    int rc = each_item(v, "PUNCH_ALLOW", add_allow, c);
    if (rc)
      return rc;
  }
  v = getenv("PUNCH_BOOTSTRAP");
  if (v) {
    c->private_dht = 1;
    int rc = each_item(v, "PUNCH_BOOTSTRAP", add_boot, c);
    if (rc)
      return rc;
  } else {
    for (size_t i = 0; i < sizeof PUBLIC_BOOTSTRAP / sizeof *PUBLIC_BOOTSTRAP;
         i++)
      if (add_boot(c, PUBLIC_BOOTSTRAP[i]))
        return PUNCH_EXIT_USAGE;
  }
  v = getenv("LP2P_PUBLIC_CIDRS");
  if (v && *v) {
    lp2p_autonat_cidrs cidrs;
    if (lp2p_autonat_cidrs_parse(&cidrs, v) != 0)
      return usage("LP2P_PUBLIC_CIDRS: bad CIDR list '%s'", v);
    c->public_cidrs = v;
  }
  v = getenv("PUNCH_SECRET_KEY");
  if (v) {
    if (!*v)
      return usage("PUNCH_SECRET_KEY is empty%s", "");
    c->key_path = v;
  } else {
    static char path[4096];
    const char *home = getenv("HOME");
    if (!home || !*home)
      return usage("HOME is not set; set PUNCH_SECRET_KEY%s", "");
    snprintf(path, sizeof path, "%s/.local/share/punch/secret.key", home);
    c->key_path = path;
  }
  return 0;
}

static int parse_out(pconfig *c, int argc, char **argv) {
  if (argc < 1)
    return usage("out needs at least one port spec (punch out --help)%s",
                 "");
  for (int i = 0; i < argc; i++) {
    lp2p_punch_port pp;
    const char *why = NULL;
    if (argv[i][0] == '-' && argv[i][1] == '-')
      return usage("out: unknown option '%s'", argv[i]);
    if (lp2p_punch_port_parse(argv[i], &pp, &why) != 0) {
      fprintf(stderr, "punch: bad port spec '%s': %s\n", argv[i], why);
      return PUNCH_EXIT_USAGE;
    }
    for (int j = 0; j < c->nmaps; j++)
      if (c->maps[j].m.remote == pp.port && c->maps[j].m.proto == pp.proto)
        return usage("duplicate port spec '%s'", argv[i]);
    if (c->nmaps == PUNCH_MAPS_MAX)
      return usage("at most %s port specs", "64");
    pmap *m = &c->maps[c->nmaps++];
    m->m.remote = pp.port;
    m->m.proto = pp.proto;
    snprintf(m->spec, sizeof m->spec, "%u/%s", pp.port,
             lp2p_punch_proto_name(pp.proto));
  }
  return 0;
}

static int parse_in(pconfig *c, int argc, char **argv) {
  if (argc < 2)
    return usage("in needs a public key and at least one mapping (punch in "
                 "--help)%s",
                 "");
  if (parse_key(argv[0], &c->target))
    return usage("malformed public key '%s'", argv[0]);
  int stdio = 0;
  for (int i = 1; i < argc; i++) {
    lp2p_punch_mapping mp;
    const char *why = NULL;
    if (argv[i][0] == '-' && argv[i][1] == '-')
      return usage("in: unknown option '%s'", argv[i]);
    if (lp2p_punch_mapping_parse(argv[i], &mp, &why) != 0) {
      fprintf(stderr, "punch: bad mapping '%s': %s\n", argv[i], why);
      return PUNCH_EXIT_USAGE;
    }
    if (mp.stdio && stdio++)
      return usage("at most one stdio mapping ('%s' is the second)", argv[i]);
    for (int j = 0; j < c->nmaps; j++)
      if (!mp.stdio && !c->maps[j].m.stdio &&
          c->maps[j].m.local == mp.local && c->maps[j].m.proto == mp.proto)
        return usage("duplicate local port in '%s'", argv[i]);
    if (c->nmaps == PUNCH_MAPS_MAX)
      return usage("at most %s mappings", "64");
    pmap *m = &c->maps[c->nmaps++];
    m->m = mp;
    snprintf(m->spec, sizeof m->spec, "%s", argv[i]);
  }
  return 0;
}

static int parse_relay(pconfig *c, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--listen") || !strcmp(a, "--limit-duration") ||
        !strcmp(a, "--limit-data")) {
      if (!val)
        return usage("%s needs a value", a);
      i++;
      if (!strcmp(a, "--listen")) {
        lp2p_maddr m;
        lp2p_sockaddr sa;
        if (lp2p_maddr_parse(&m, val, strlen(val)) != 0 ||
            lp2p_sockaddr_from_maddr(&sa, &m) != 0)
          return usage("--listen: '%s' is not an /ip4|/ip6 …/tcp/<port> "
                       "multiaddr",
                       val);
        if (c->nlisten == 8)
          return usage("at most %s --listen", "8");
        c->listen[c->nlisten++] = val;
      } else if (!strcmp(a, "--limit-duration")) {
        if (strict_u64(val, &c->limit_duration_s) ||
            c->limit_duration_s > 86400 * 365)
          return usage("--limit-duration needs seconds, not '%s'", val);
      } else if (strict_u64(val, &c->limit_data)) {
        return usage("--limit-data needs bytes, not '%s'", val);
      }
      continue;
    }
    return usage("relay: unknown argument '%s'", a);
  }
  return 0;
}

static volatile int stop_flag;
static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return fputs(HELP_MAIN, stderr), PUNCH_EXIT_USAGE;
  const char *verb = argv[1];
  if (is_help(verb))
    return fputs(HELP_MAIN, stdout), 0;
  static pconfig c;
  const char *help = !strcmp(verb, "out")     ? HELP_OUT
                     : !strcmp(verb, "in")    ? HELP_IN
                     : !strcmp(verb, "relay") ? HELP_RELAY
                                              : NULL;
  if (!help)
    return usage("unknown verb '%s' (out, in, relay; punch --help)", verb);
  for (int i = 2; i < argc; i++)
    if (is_help(argv[i]))
      return fputs(help, stdout), 0;
  int rc;
  if (!strcmp(verb, "out")) {
    c.role = ROLE_OUT;
    rc = parse_out(&c, argc - 2, argv + 2);
  } else if (!strcmp(verb, "in")) {
    c.role = ROLE_IN;
    rc = parse_in(&c, argc - 2, argv + 2);
  } else {
    c.role = ROLE_RELAY;
    rc = parse_relay(&c, argc - 2, argv + 2);
  }
  if (!rc)
    rc = env_config(&c);
  if (rc)
    return rc;
  /* everything is valid: the key first, then the network */
  static punch p;
  memset(&p, 0, sizeof p);
  p.cfg = &c;
  lp2p_rng_system(&p.rng);
  if ((rc = punch_identity(c.key_path, &p.rng, &p.key)) != 0)
    return rc;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  p.stop = &stop_flag;
  rc = punch_run(&p);
  lp2p_memzero(&p.key, sizeof p.key);
  return rc;
}
