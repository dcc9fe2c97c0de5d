/* lp2p listen: circuit relay v2 options and lines (listen_relay.c). */
#ifndef LP2P_TOOLS_LISTEN_RELAY_H
#define LP2P_TOOLS_LISTEN_RELAY_H

#include "tools/lp2p/node.h"

typedef struct listen_relay {
  int wanted;        /* --relay given */
  int active;        /* and dialled */
  lp2p_maddr addr;
  lp2p_peerid relay;
  uint64_t dial;     /* our dial to it */
  int autorelay;     /* --autorelay: print every relay's addresses */
  lp2p_peerid shown[8]; /* relays whose addresses were printed */
  int nshown;
} listen_relay;

/* --relay-server, --relay-limit-duration, --relay-limit-data into cm. */
int listen_relay_opts(cli_ctx *ctx, const cli_opt *server,
                      const cli_opt *duration, const cli_opt *data,
                      const cli_opt *autorelay, cli_connmgr *cm);
/* --relay MULTIADDR (NULL: none): check it (usage error). */
int listen_relay_parse(cli_ctx *ctx, listen_relay *lr, const char *addr);
/* Dial the relay (once listening); the reservation follows. */
int listen_relay_start(cli_ctx *ctx, listen_relay *lr, lp2p_host *h);
/* Handle a relay event (and our dial to the relay); prints the circuit
 * address once reserved and, with `events`, the event lines. Returns 0
 * or an exit code (the relay cannot be reached or refuses at once). */
int listen_relay_event(cli_ctx *ctx, listen_relay *lr, lp2p_host *h,
                       const lp2p_host_event *ev, int events);

#endif
