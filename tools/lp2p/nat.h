/* lp2p nat, lp2p stun-server and listen's --stun / nat-type line (nat.c,
 * stun_server.c). */
#ifndef LP2P_TOOLS_NAT_H
#define LP2P_TOOLS_NAT_H

#include "tools/lp2p/node.h"

/* Most --stun options. */
#define CLI_NAT_STUN_MAX LP2P_HOST_NAT_STUN_MAX

/* "IP:PORT", "[IPv6]:PORT" or "NAME:PORT" (resolved now). `what` names the
 * option in the error. Returns 0 or CLI_EXIT_USAGE after one line. */
int cli_hostport(cli_ctx *ctx, const char *what, const char *text,
                 lp2p_sockaddr *out);
/* The --stun values into a NAT config (the rest defaults). Returns 0 or
 * CLI_EXIT_USAGE. */
int cli_nat_stun_opts(cli_ctx *ctx, const char **txt, int n,
                      lp2p_host_nat_config *cfg);
/* Print `nat-type MAPPING FILTERING preserves-port true|false|unknown`
 * for a NAT_TYPE event when `events`. Returns 1 when it was one. */
int cli_nat_event(const lp2p_host_event *ev, int events);

#endif
