/* lp2p tool: a host on a real driver, for the network verbs (listen,
 * ping, identify, perf). */
#ifndef LP2P_TOOL_NODE_H
#define LP2P_TOOL_NODE_H

#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "tools/lp2p/cli.h"

typedef struct cli_node {
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_rng rng;
  lp2p_privkey *key;
  uint64_t last_conn; /* connection of the last cli_node_connect */
} cli_node;

/** Log sink for every host the tool starts (LP2P_LOG), or NULL. */
extern const lp2p_log *cli_log;

/** Connection-manager and memory settings for the hosts started after it
 * is set (the listen verb's --low-water, --high-water, --grace,
 * --memory-max and --memory-per-peer), or NULL for the library defaults. */
typedef struct cli_connmgr {
  uint32_t low_water, high_water;
  uint64_t grace_ns;
  uint64_t memory_max, memory_per_peer_max; /* bytes */
  /* circuit relay v2 (--relay-server, --relay-limit-*) */
  int relay_hop, autorelay, dcutr;
  uint64_t relay_limit_duration_ns, relay_limit_data;
  int portmap_method; /* --portmap (lp2p_portmap_method) */
} cli_connmgr;
extern const cli_connmgr *cli_node_connmgr;
/** Kademlia mode (LP2P_KAD_MODE_*) of the hosts started after it is set
 * (listen --dht, the dht verb); OFF by default. */
extern int cli_node_kad_mode;
/** The DHT's bootstrap list, dial-on-start and address filter for those
 * hosts (cfg.kad.bootstrap etc.; LP2P_PUBLIC_CIDRS feeds the filter's
 * is-public predicate). NULL list: none. */
typedef struct cli_kad {
  const lp2p_maddr *boot;
  size_t nboot;
  int dial_on_start;
  int addr_filter; /* LP2P_KAD_ADDRS_* */
} cli_kad;
extern const cli_kad *cli_node_kad;

/** AutoNAT settings for the hosts started after it is set (listen
 * --autonat-server [--autonat-allow-private]; the autonat verb turns the
 * automatic client off and asks explicitly), or NULL for the defaults. */
typedef struct cli_autonat {
  int server, allow_private, client;
} cli_autonat;
extern const cli_autonat *cli_node_autonat;

/** NAT classification settings (STUN servers) for the hosts started
 * after it is set (nat --stun, listen --stun), or NULL for the defaults. */
extern const lp2p_host_nat_config *cli_node_nat;

/** Set by SIGINT/SIGTERM once cli_node_start installed the handlers. */
extern volatile int cli_node_stop_flag;

/** Start a host with `keyfile`'s identity (NULL: a fresh ed25519 key) on
 * backend `driver` ("epoll"/"poll", NULL = epoll). Returns 0 or a CLI exit
 * code after one error line. */
int cli_node_start(cli_ctx *ctx, cli_node *n, const char *keyfile,
                   int plaintext, const char *driver);
/** Same, choosing whether the built-in echo service serves /echo/1.0.0
 * (listen --events serves it itself, to report each stream). */
int cli_node_start_svc(cli_ctx *ctx, cli_node *n, const char *keyfile,
                       int plaintext, const char *driver, int serve_echo);
/** Append the identify result for `peer` as one JSON line to ctx->out:
 * peerId, agentVersion, protocolVersion, protocols, listenAddrs,
 * observedAddr (what the peer observed of us), and of the connection
 * `conn` (0 = any): localAddr, remoteAddr, encryption (`security`, may be
 * NULL), publicKey (hex PublicKey protobuf). */
void cli_identify_json(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
                       uint64_t conn, const char *security);
/** Step the driver until every gracefully closed socket is closed (FIN
 * sent, the peer's EOF read), at most max_ms. */
void cli_node_wait_closes(cli_node *n, int max_ms);
/** Close the host gracefully (bounded wait) and free everything. */
void cli_node_stop(cli_node *n);
/** Step the driver until an event arrives (1), the deadline passes (0) or a
 * stop signal arrives (-1). deadline_ms < 0: none. */
int cli_node_event(cli_node *n, lp2p_host_event *ev, int deadline_ms);
/** Parse `text`, dial it (the host resolves /dns* names) and wait for the
 * connection.
 * *peer gets the authenticated peer id. Returns 0 or CLI_EXIT_DATA (bad
 * address, unreachable, peer id mismatch, timeout) after one error line. */
int cli_node_connect(cli_ctx *ctx, cli_node *n, const char *text,
                     lp2p_peerid *peer);
/** One ping round trip to `peer` (the host reuses one ping stream per
 * connection). *rtt_ns gets the RTT (may be NULL). Returns 0 or
 * CLI_EXIT_DATA after one error line (no pong in time, connection lost). */
int cli_node_ping(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
                  uint64_t *rtt_ns);
/** Append the base58 form of `id` to buf (NUL-terminated). */
void cli_peerid_text(const lp2p_peerid *id, char *buf, size_t cap);
/** Multiaddr text (NUL-terminated; "" when invalid). */
void cli_maddr_text(const lp2p_maddr *m, char *buf, size_t cap);

#endif
