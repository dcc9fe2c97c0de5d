/* punch: peer-to-peer TCP and UDP port forwarding by public key (issue
 * 14; README "punch"). Shared declarations of the tool's files:
 *   main.c      verbs, --help, argument and environment validation
 *   identity.c  the secret key file (created atomically, never replaced)
 *   node.c      the host on the real driver, the loop, status lines
 *   path.c      reaching the peer: relay, DHT find-by-key, path upkeep
 *   fwd_tcp.c   forwarded TCP connections and the stdio bridge
 *   fwd_udp.c   forwarded UDP flows
 *   idmap.c     id -> object map */
#ifndef PUNCH_TOOL_H
#define PUNCH_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "lp2p/punch.h"

/* Exit codes (README "punch", "Exit codes"). */
#define PUNCH_EXIT_OK 0
#define PUNCH_EXIT_FAIL 1  /* runtime failure: key file, local port, peer
                              unreachable, the stdio stream reset */
#define PUNCH_EXIT_USAGE 2 /* bad command line or environment */

#define PUNCH_MAPS_MAX 64
#define PUNCH_BOOT_MAX 16
#define PUNCH_ALLOW_MAX 256

/* PUNCH_LOG levels */
#define PL_ERROR 0
#define PL_WARN 1
#define PL_INFO 2
#define PL_DEBUG 3

enum { RELAY_DEFAULT = 0, RELAY_DISABLED, RELAY_ADDR };
enum { ROLE_OUT = 1, ROLE_IN, ROLE_RELAY };

/* One exposed port (out) or one mapping (in), with its counters. */
typedef struct pmap {
  lp2p_punch_mapping m; /* out: remote = the exposed port */
  uint64_t sock;        /* in: raw TCP listener or UDP socket */
  char spec[32];
  uint64_t conns, flows, drops, bytes_in, bytes_out;
} pmap;

/* The id map (idmap.c): nonzero 64-bit ids to objects. */
typedef struct pidmap {
  uint64_t *keys;
  void **vals;
  size_t cap, n;
} pidmap;
int pidmap_put(pidmap *m, uint64_t key, void *val);
void *pidmap_get(const pidmap *m, uint64_t key);
void pidmap_del(pidmap *m, uint64_t key);
void pidmap_free(pidmap *m);

/* Validated configuration (main.c), before anything happens. */
typedef struct pconfig {
  int role;
  const char *key_path;
  int relay_mode;
  lp2p_maddr relay_addr; /* RELAY_ADDR: ends in /p2p/<relay> */
  lp2p_peerid relay_id;
  lp2p_maddr boot[PUNCH_BOOT_MAX];
  int nboot;
  int private_dht; /* PUNCH_BOOTSTRAP given: our own DHT, private
                      addresses welcome */
  lp2p_peerid allow[PUNCH_ALLOW_MAX];
  int nallow, allow_set;
  int log_level;
  const char *public_cidrs;
  lp2p_peerid target; /* in */
  pmap maps[PUNCH_MAPS_MAX];
  int nmaps;
  /* relay verb */
  const char *listen[8];
  int nlisten;
  uint64_t limit_duration_s, limit_data; /* 0 = none */
} pconfig;

typedef struct punch {
  pconfig *cfg;
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_rng rng;
  lp2p_privkey key;
  lp2p_peerid self;
  pidmap raws, streams; /* raw id / stream id -> ptcp or pflow */
  volatile int *stop;
  int exit_code;
  int done; /* leave the loop */
  uint8_t scratch[LP2P_PUNCH_FRAME_HEADER_LEN + LP2P_PUNCH_DATAGRAM_MAX];
  /* path state (path.c) */
  int connected;           /* in: an open connection to the target */
  uint64_t dial;           /* in: our dial in flight (0 none) */
  lp2p_tstamp next_dial;   /* in: when to try again */
  uint64_t dial_backoff_ms;
  uint64_t kad_query;      /* the provider lookup or publication */
  lp2p_tstamp next_provide;
  int joined;              /* a bootstrap peer answered */
  uint64_t relay_dial;
  lp2p_tstamp next_relay;  /* out: reserve again at */
  uint64_t relay_backoff_ms;
  int reserved;
  int listening;           /* our listener is bound (LISTENING) */
  lp2p_maddr found[16];    /* in: the peer's addresses from the DHT, each
                              ending in /p2p/<key>, direct ones first */
  int nfound, next_found;
  int direct;              /* a direct connection to the peer is up */
  uint64_t direct_conn;
  int ping_direct;         /* a ping is out to measure the direct RTT */
  int punch_failed;        /* the last punch failed (stay relayed) */
  lp2p_tstamp next_punch;  /* retry the punch at */
  uint64_t punch_backoff_ms;
  lp2p_tstamp next_sweep;  /* UDP idle eviction */
  lp2p_tstamp stdio_deadline; /* in stdio: give up connecting at */
  struct ptcp *stdio;
} punch;

/* ---- status lines (node.c) -------------------------------------------- */
/* One line on stderr, "punch: <text>", at PUNCH_LOG level `lvl` or below. */
void pstatus(const punch *p, int lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void punch_peer_text(const lp2p_peerid *id, char *buf, size_t cap);
void punch_maddr_text(const lp2p_maddr *m, char *buf, size_t cap);
void punch_print_counters(const punch *p);
int punch_run(punch *p);

/* ---- identity.c ----------------------------------------------------------- */
/* Load the key at `path`, or create it (mode 0600, parents made, written
 * to a temporary file and linked into place so no reader sees a partial
 * file and an existing file is never replaced). Returns 0 or
 * PUNCH_EXIT_FAIL after one line. */
int punch_identity(const char *path, lp2p_rng *rng, lp2p_privkey *key);

/* ---- path.c --------------------------------------------------------------- */
int path_start(punch *p);
void path_event(punch *p, const lp2p_host_event *ev);
void path_tick(punch *p, lp2p_tstamp now);
/* in: 1 when streams can be opened to the target now; else starts
 * connecting (if not already) and returns 0. */
int path_ready(punch *p);

/* ---- fwd_tcp.c / fwd_udp.c ------------------------------------------------ */
int fwd_start(punch *p);                 /* listeners, protocols, stdio */
void fwd_event(punch *p, const lp2p_host_event *ev);
void fwd_stdio_ready(punch *p, unsigned events);
void fwd_connected(punch *p);            /* in: the path is up: open
                                            pending streams */
void fwd_unreachable(punch *p, int err); /* in: connecting failed */
void fwd_tick(punch *p, lp2p_tstamp now);
void fwd_free(punch *p);
int fwd_tcp_event(punch *p, const lp2p_host_event *ev);
int fwd_udp_event(punch *p, const lp2p_host_event *ev);
void fwd_udp_sweep(punch *p, lp2p_tstamp now);
void fwd_tcp_connected(punch *p);
void fwd_tcp_unreachable(punch *p, int err);
void fwd_tcp_free(punch *p);
void fwd_udp_free(punch *p);
pmap *fwd_find_exposed(punch *p, uint16_t port, int proto);

/* object kinds in the id maps */
#define OBJ_TCP 1
#define OBJ_FLOW 2

#endif
