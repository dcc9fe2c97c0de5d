/* lp2p listen: --portmap and its lines (listen_portmap.c). */
#ifndef LP2P_TOOLS_LISTEN_PORTMAP_H
#define LP2P_TOOLS_LISTEN_PORTMAP_H

#include "tools/lp2p/node.h"

/* --portmap auto|upnp|pcp|natpmp|off (NULL: off) into cm. Returns 0 or a
 * usage exit code after one error line. */
int listen_portmap_opt(cli_ctx *ctx, const char *value, cli_connmgr *cm);
/* Print a port-mapping event: `mapped /ip4/EXT/tcp/PORT via METHOD`
 * always; with `events` also `portmap-failed REASON` and
 * `portmap-lost REASON`. Returns 1 when it was one. */
int listen_portmap_event(const lp2p_host_event *ev, int events);

#endif
