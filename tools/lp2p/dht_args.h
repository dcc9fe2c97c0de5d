/* lp2p tool: what `listen --dht` and `dht` share (dht_args.c): the
 * repeatable --bootstrap option, the DHT key syntax, and dialling the
 * bootstrap peers. */
#ifndef LP2P_TOOLS_DHT_ARGS_H
#define LP2P_TOOLS_DHT_ARGS_H

#include "tools/lp2p/node.h"

#define DHT_BOOTSTRAP_MAX LP2P_KAD_BOOTSTRAP_MAX

/** Take every `--name VALUE` / `--name=VALUE` out of argv (before "--"),
 * keeping the rest in order; values in vals[0..*n). Returns 0 or
 * CLI_EXIT_USAGE (a value missing, more than max). */
int dht_take_repeated(cli_ctx *ctx, int *argc, char **argv, const char *name,
                      const char **vals, int max, int *n);
/** Parse the bootstrap addresses (each must end in /p2p/<id>). */
int dht_parse_bootstrap(cli_ctx *ctx, const char **txt, int n,
                        lp2p_maddr *out);
/** KEY as the CLI says: /pk/<peer-id> and /ipns/<peer-id> become
 * the namespace followed by the peer id's multihash bytes; a bare peer id
 * its multihash bytes (`peer_ok`); anything else its UTF-8 bytes. Returns
 * 0 or CLI_EXIT_USAGE (too long). */
int dht_key(cli_ctx *ctx, const char *text, int peer_ok, uint8_t *out,
            size_t cap, size_t *len);
/** 1 if the address starts with a loopback IP (127/8, ::1). */
int dht_is_loopback(const lp2p_maddr *m);
/** The bootstrap list and filter for `listen --dht` / `dht` (issue 10):
 * the --bootstrap addresses, or the default public list when there are
 * none and the node is not a loopback one (`loopback`: every listen
 * address is loopback); filter `all` when every bootstrap address is
 * loopback (or a loopback node has none), else `public`. `boot` has room
 * for DHT_BOOTSTRAP_MAX. Returns 0 or CLI_EXIT_USAGE. */
int dht_bootstrap_setup(cli_ctx *ctx, const char **txt, int n, int loopback,
                        lp2p_maddr *boot, cli_kad *out);

#endif
