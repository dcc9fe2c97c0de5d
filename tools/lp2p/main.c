/* lp2p: libp2p diagnostics on the command line.
 *
 * main.c only dispatches: it finds the verb in the table below, runs it
 * with an output buffer, and writes that buffer to stdout only if the verb
 * succeeded. Each verb group lives in its own file (keys.c, sign.c, maddr.c,
 * record.c). To add a verb, write `int cli_cmd_x(cli_ctx *, int, char **)`
 * in its own file, declare it in cli.h and add one row here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/lp2p/node.h"

typedef struct cli_verb {
  const char *group; /* first word */
  const char *sub;   /* second word, or NULL for a one-word verb */
  cli_verb_fn run;
  const char *usage;   /* arguments after the verb words */
  const char *summary; /* one line for `lp2p help` */
} cli_verb;

static const cli_verb verbs[] = {
    /* identity and keys */
    {"keygen", NULL, cli_cmd_keygen,
     "[--type ed25519|rsa|ecdsa|secp256k1] [--bits N] --out FILE",
     "write a new private-key protobuf to FILE (mode 0600, never "
     "overwrites),\n      print its PeerId; --bits (rsa only): 2048..4096"},
    {"id", NULL, cli_cmd_id, "--key FILE",
     "print the PeerId and the public-key protobuf (hex) of a key file"},
    {"peerid", NULL, cli_cmd_peerid, "PUBKEY_PROTOBUF_HEX",
     "print a public key's PeerId (base58) and its CIDv1 form (base32)"},
    {"sign", NULL, cli_cmd_sign, "--key FILE DATA_HEX",
     "print the signature (hex) of DATA with the key in FILE"},
    {"verify", NULL, cli_cmd_verify,
     "PUBKEY_PROTOBUF_HEX DATA_HEX SIG_HEX",
     "exit 0 if SIG is a valid signature of DATA by the key, else 1"},
    /* addressing */
    {"maddr", "encode", cli_cmd_maddr_encode, "MULTIADDR",
     "print the binary form (hex) of a text multiaddr"},
    {"maddr", "decode", cli_cmd_maddr_decode, "HEX",
     "print the canonical text form of a binary multiaddr"},
    /* signed peer records (RFC 0002 envelopes, RFC 0003 records) */
    {"record", "seal", cli_cmd_record_seal, "--key FILE --seq N ADDR...",
     "print a signed peer-record envelope (hex) for the key's peer"},
    {"record", "open", cli_cmd_record_open, "HEX",
     "verify a signed peer-record envelope and print its peer, seq, addrs"},
    /* network verbs: a host on the real driver (node.c). listen and ping
     * stream their lines to stdout as they happen. */
    {"listen", NULL, cli_cmd_listen,
     "[--key FILE] [--plaintext] [--driver epoll|poll] [--events] "
     "[--low-water N] [--high-water N] [--grace SECONDS] "
     "[--memory-max MIB] [--memory-per-peer MIB] [--relay-server "
     "[--relay-limit-duration SECONDS] [--relay-limit-data BYTES]] "
     "[--relay MULTIADDR] [--autorelay] [--holepunch] "
     "[--autonat-server [--autonat-allow-private]] [--dht server|client "
     "[--bootstrap MULTIADDR]...] [--portmap auto|upnp|pcp|natpmp|off] "
     "[--stun HOST:PORT]... MULTIADDR...",
     "serve identify, ping, perf and echo; print each listen address with\n"
     "      /p2p/<id> as soon as bound; run until SIGINT/SIGTERM;\n"
     "      --events: also one line per connection, identify, echo and perf;\n"
     "      trim the least useful connections down to --low-water (160) once\n"
     "      more than --high-water (192; 0 = never) are open, sparing those\n"
     "      younger than --grace (60 s); peers may make it buffer at most\n"
     "      --memory-max MiB in all (128) and --memory-per-peer MiB each (32);\n"
     "      --relay-server: be a circuit relay v2 (circuits limited to 120 s\n"
     "      and 131072 bytes each way; 0 = no limit); --relay: reserve on that\n"
     "      relay and print our /p2p-circuit address once it is active;\n"
     "      --autorelay: the same with relays found among connected peers;\n"
     "      --holepunch: DCUtR on relayed connections (the NATed side);\n"
     "      --autonat-server: serve AutoNAT v2 (private addresses only with\n"
     "      --autonat-allow-private); --events prints `reachability ...`;\n"
     "      --dht: run the Kademlia DHT (server: serve /ipfs/kad/1.0.0),\n"
     "      dialling each --bootstrap (none: the public DHT's default list,\n"
     "      unless every listen address is loopback); public peer addresses\n"
     "      only, all when the bootstrap peers are on loopback (plus the\n"
     "      LP2P_PUBLIC_CIDRS ranges); --events adds `dht-peers N` lines;\n"
     "      --portmap: map private listen ports on the home router (UPnP IGD,\n"
     "      PCP, NAT-PMP; off by default) and print `mapped /ip4/EXT/tcp/PORT\n"
     "      via METHOD`; with --events also `portmap-failed REASON`;\n"
     "      --stun: classify our NAT by STUN too; --events prints `nat-type\n"
     "      MAPPING FILTERING preserves-port true|false|unknown` on changes"},
    {"holepunch", NULL, cli_cmd_holepunch,
     "[--timeout SECONDS] [--key FILE] [--listen MULTIADDR] "
     "[--stun HOST:PORT]... /.../p2p/RELAY/p2p-circuit/p2p/TARGET",
     "dial TARGET through RELAY, wait for DCUtR (the target starts it; we\n"
     "      punch from our listen port, default /ip4/0.0.0.0/tcp/0) and print\n"
     "      {\"peer\",\"direct\":true,\"addr\",\"attempts\",\"ms\"} (exit 0) or\n"
     "      {\"peer\",\"direct\":false,\"reason\",\"attempts\"} (exit 1);\n"
     "      --stun: classify our NAT by STUN first (DCUtR then skips a\n"
     "      hopeless pair with its reason)"},
    {"nat", NULL, cli_cmd_nat,
     "[--stun HOST:PORT]... [--peer MULTIADDR]... [--timeout SECONDS] "
     "[--listen MULTIADDR] [--key FILE]",
     "classify our NAT and print {\"mapping\",\"filtering\",\"preserves_port\",\n"
     "      \"external\"}: --stun runs RFC 5780 behaviour discovery against the\n"
     "      first server that answers; --peer dials peers from our listen port\n"
     "      and compares what their identify observed (mapping only); one of\n"
     "      the two is needed; words: endpoint-independent, address-dependent,\n"
     "      address-and-port-dependent, unknown; default timeout 30 s"},
    {"stun-server", NULL, cli_cmd_stun_server,
     "--primary IP:PORT [--alternate IP:PORT]",
     "serve STUN Binding (RFC 5389); with --alternate (another IP and port)\n"
     "      also RFC 5780 behaviour discovery (OTHER-ADDRESS, CHANGE-REQUEST);\n"
     "      prints `stun-server PRIMARY [other ALTERNATE]`, runs until a signal"},
    {"autonat", NULL, cli_cmd_autonat,
     "--server MULTIADDR [--server MULTIADDR]... [--listen ADDR]... [ADDR...]",
     "ask AutoNAT v2 servers whether they can dial each address: one JSON\n"
     "      line per address {addr, reachable, servers, error}; --listen binds\n"
     "      ADDR (port 0 allowed) and asks about the bound address; exit 0\n"
     "      when every address got a verdict from at least one server, else 1;\n"
     "      --key FILE: our identity (default: a fresh one)"},
    {"ping", NULL, cli_cmd_ping, "[--plaintext] [--key FILE] [-n N] MULTIADDR",
     "connect and ping N times (default 1): one `rtt_ms <float>` line each"},
    {"identify", NULL, cli_cmd_identify, "[--plaintext] [--key FILE] MULTIADDR",
     "print the remote's identify result as one JSON object"},
    {"perf", NULL, cli_cmd_perf,
     "[--plaintext] [--key FILE] --upload BYTES --download BYTES MULTIADDR",
     "run /perf/1.0.0 and print the final JSON result line"},
    /* stream diagnostics (streams.c), the C side of the interop cases */
    {"echo", NULL, cli_cmd_echo,
     "[--plaintext] [--key FILE] [--streams K] [--bytes B] MULTIADDR",
     "K concurrent /echo/1.0.0 streams of B random bytes, checked byte-exact"},
    {"halfclose", NULL, cli_cmd_halfclose, "[--plaintext] [--key FILE] MULTIADDR",
     "read after closing our write side (perf 1000/1 MiB, then an echo)"},
    {"reset", NULL, cli_cmd_reset, "[--plaintext] [--key FILE] MULTIADDR",
     "reset an echo stream; the connection must survive (ping + echo)"},
    {"close", NULL, cli_cmd_close, "[--plaintext] [--key FILE] MULTIADDR",
     "ping, then close the connection gracefully (yamux GoAway)"},
    {"connect", NULL, cli_cmd_connect,
     "[--plaintext] [--key FILE] [-n N] MULTIADDR",
     "N sequential fresh connections (dial, ping, close); prints a JSON rate"},
    {"stream", NULL, cli_cmd_stream,
     "[--plaintext] [--key FILE] MULTIADDR PROTOCOL HEX [PROTOCOL HEX]...",
     "on one connection, per pair: open a PROTOCOL stream, send the bytes,\n"
     "      half-close, read to the end; one JSON line {protocol, result:\n"
     "      eof|reset|refused, data}; exit 1 if the connection is lost"},
    /* the Kademlia DHT (dht.c) and IPNS records (ipns.c) */
    {"dht", NULL, cli_cmd_dht,
     "[--key FILE] [--bootstrap MULTIADDR]... [--timeout SECONDS] "
     "[--listen MULTIADDR] VERB ARGS",
     "one DHT query as a client, one JSON object on stdout; VERB ARGS:\n"
     "      find-peer PEER_ID | closest KEY | put KEY VALUE_HEX | get KEY |\n"
     "      provide CID | providers CID; KEY: /pk/<id>, /ipns/<id>, a peer\n"
     "      id (closest), or text; exit 1: not found, nothing stored or no\n"
     "      reachable bootstrap peer; no --bootstrap: the public DHT's\n"
     "      default list (/dnsaddr/bootstrap.libp2p.io ...)"},
    {"ipns", "seal", cli_cmd_ipns_seal,
     "--key FILE --value PATH --seq N --validity SECONDS",
     "print a signed IPNS record (hex; V1 fields too, as js writes them)"},
    {"ipns", "open", cli_cmd_ipns_open, "[--name PEER_ID] HEX",
     "verify an IPNS record and print value, seq, validity, ttl_ns lines"},
    /* the home router (portmap.c) */
    {"portmap", NULL, cli_cmd_portmap,
     "[--protocol upnp|pcp|natpmp] list|add PORT|delete PORT",
     "ask the home router (UPnP IGD, then PCP, then NAT-PMP, or the one\n"
     "      given) to list its TCP mappings, map PORT to the same external\n"
     "      port for 1 h, or delete it; one JSON object (no protocol but\n"
     "      UPnP lists mappings: NAT-PMP's list is the external address with\n"
     "      \"mappings\": null, PCP's an error)"},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void verb_name(const cli_verb *v, char *buf, size_t cap) {
  if (v->sub)
    snprintf(buf, cap, "%s %s", v->group, v->sub);
  else
    snprintf(buf, cap, "%s", v->group);
}

static void print_verb(FILE *f, const cli_verb *v) {
  char name[64];
  verb_name(v, name, sizeof name);
  fprintf(f, "  lp2p %s %s\n      %s\n", name, v->usage, v->summary);
}

static void print_usage(FILE *f) {
  fprintf(f, "usage: lp2p VERB [ARGS...]   (libp2p diagnostics, lp2p %s)\n\n"
             "verbs:\n",
          lp2p_version());
  for (size_t i = 0; i < NVERBS; i++)
    print_verb(f, &verbs[i]);
  fprintf(f,
          "  lp2p help [VERB]\n      print this text, or one verb's usage\n"
          "\nOptions may also be written --name=VALUE; `--` ends options.\n"
          "Exit status: 0 success, 1 invalid data or failed operation, "
          "2 usage error.\nErrors are one line on stderr: "
          "\"lp2p: VERB: REASON\".\n");
}

static int is_help(const char *a) {
  return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
         strcmp(a, "help") == 0;
}

/* Print the usage of every verb whose words match; 0 if none matched. */
static int print_group_usage(FILE *f, const char *group, const char *sub) {
  int found = 0;
  for (size_t i = 0; i < NVERBS; i++) {
    if (strcmp(verbs[i].group, group) != 0)
      continue;
    if (sub && (!verbs[i].sub || strcmp(verbs[i].sub, sub) != 0))
      continue;
    if (!found)
      fprintf(f, "usage:\n");
    print_verb(f, &verbs[i]);
    found = 1;
  }
  return found;
}

static int group_exists(const char *group) {
  for (size_t i = 0; i < NVERBS; i++)
    if (strcmp(verbs[i].group, group) == 0)
      return 1;
  return 0;
}

static int has_subverbs(const char *group) {
  for (size_t i = 0; i < NVERBS; i++)
    if (strcmp(verbs[i].group, group) == 0 && verbs[i].sub)
      return 1;
  return 0;
}

static int cmd_help(int argc, char **argv) {
  if (argc == 0) {
    print_usage(stdout);
    return CLI_EXIT_OK;
  }
  if (argc <= 2 && print_group_usage(stdout, argv[0], argc == 2 ? argv[1] : NULL))
    return CLI_EXIT_OK;
  cli_error_line("help: unknown verb '%s%s%s' (try 'lp2p help')", argv[0],
                 argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
  return CLI_EXIT_USAGE;
}

/* `--help` / `-h` among a verb's options (before any `--`). */
static int wants_help(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return 0;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
  }
  return 0;
}

static int run_verb(const cli_verb *v, int argc, char **argv) {
  char name[64];
  verb_name(v, name, sizeof name);
  if (wants_help(argc, argv)) {
    print_group_usage(stdout, v->group, v->sub);
    return CLI_EXIT_OK;
  }
  cli_ctx ctx = {.verb = name, .usage = v->usage, .out = {0}};
  int rc = v->run(&ctx, argc, argv);
  if (rc == CLI_EXIT_OK && ctx.out.oom)
    rc = cli_fail(&ctx, CLI_EXIT_DATA, "out of memory");
  if (rc == CLI_EXIT_OK && cli_out_write(&ctx.out, STDOUT_FILENO) != 0)
    rc = cli_fail(&ctx, CLI_EXIT_DATA, "cannot write output");
  cli_out_free(&ctx.out);
  return rc;
}

int main(int argc, char **argv) {
  /* LP2P_LOG=error|warn|info|debug|trace: the host's log on stderr, one
   * line per event; checked first so a typo never goes unnoticed */
  static lp2p_log log;
  const char *lv = getenv("LP2P_LOG");
  if (lv && *lv) {
    int level = lp2p_log_level_parse(lv);
    if (level < 0) {
      cli_error_line("LP2P_LOG: unknown level '%s' (error|warn|info|debug|"
                     "trace)", lv);
      return CLI_EXIT_USAGE;
    }
    lp2p_log_stderr(&log, level);
    cli_log = &log;
  }
  if (argc < 2) {
    print_usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *word = argv[1];
  if (is_help(word))
    return cmd_help(argc - 2, argv + 2);
  if (strcmp(word, "--version") == 0) {
    printf("lp2p %s\n", lp2p_version());
    return CLI_EXIT_OK;
  }
  if (!group_exists(word)) {
    cli_error_line("%s: unknown verb (try 'lp2p help')", word);
    return CLI_EXIT_USAGE;
  }
  if (!has_subverbs(word)) {
    for (size_t i = 0; i < NVERBS; i++)
      if (strcmp(verbs[i].group, word) == 0)
        return run_verb(&verbs[i], argc - 2, argv + 2);
  }
  if (argc < 3) {
    cli_error_line("%s: missing subcommand (try 'lp2p help %s')", word, word);
    return CLI_EXIT_USAGE;
  }
  if (is_help(argv[2])) {
    print_group_usage(stdout, word, NULL);
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < NVERBS; i++)
    if (strcmp(verbs[i].group, word) == 0 && verbs[i].sub &&
        strcmp(verbs[i].sub, argv[2]) == 0)
      return run_verb(&verbs[i], argc - 3, argv + 3);
  cli_error_line("%s: unknown subcommand '%s' (try 'lp2p help %s')", word,
                 argv[2], word);
  return CLI_EXIT_USAGE;
}
