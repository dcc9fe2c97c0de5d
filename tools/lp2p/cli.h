/* The lp2p command-line tool: shared declarations.
 *
 * Contract of every verb (see the verb table in main.c):
 *  - output goes into ctx->out, never straight to stdout; main writes it in
 *    one piece only when the verb returns CLI_EXIT_OK, so a failing verb
 *    never leaves partial output behind;
 *  - a failure is reported with exactly one cli_fail() line on stderr
 *    ("lp2p: <verb>: <reason>") and its exit code is returned:
 *    CLI_EXIT_USAGE (2) for a bad command line, CLI_EXIT_DATA (1) for bad
 *    data (hex, multiaddr, key file, signature) or a failed operation. */
#ifndef LP2P_TOOL_CLI_H
#define LP2P_TOOL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "lp2p/crypto.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_DATA 1
#define CLI_EXIT_USAGE 2

/** Largest file the tool reads (key files are < 2.5 KiB). */
#define CLI_FILE_MAX 65536

/** Growable output buffer; `oom` is sticky. */
typedef struct cli_out {
  char *buf;
  size_t len;
  size_t cap;
  int oom;
} cli_out;

typedef struct cli_ctx {
  const char *verb;  /* "keygen", "maddr encode": prefix of error lines */
  const char *usage; /* arguments of the verb, for usage errors */
  cli_out out;
} cli_ctx;

/** A verb: argv[0] is the first argument after the verb's words. */
typedef int (*cli_verb_fn)(cli_ctx *ctx, int argc, char **argv);

/* ---- errors and output (util.c) --------------------------------------- */

/** Print "lp2p: <verb>: <message>" as one line on stderr (control
 * characters from user input are replaced, so it stays one line). Usage
 * errors append "; usage: lp2p <verb> <usage>". Returns `code`. */
int cli_fail(cli_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Print "lp2p: <formatted>" as one sanitized line on stderr. */
void cli_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Append formatted text to ctx->out. */
void cli_printf(cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Append lowercase hex of p[0..n) and a newline to ctx->out. */
void cli_print_hex(cli_ctx *ctx, const uint8_t *p, size_t n);
/** Write ctx->out to stdout completely. Returns 0 or -1 (errno set). */
int cli_out_write(cli_out *o, int fd);
void cli_out_free(cli_out *o);

/* ---- argument values (util.c) ----------------------------------------- */

/** Decode the hex argument `hex` (either case, even length) into a fresh
 * malloc'd buffer (*out, *len; *out non-NULL even when empty). `what`
 * names the argument in the error. Returns 0 or CLI_EXIT_DATA. */
int cli_hex_arg(cli_ctx *ctx, const char *what, const char *hex, uint8_t **out,
                size_t *len);
/** Strict unsigned decimal (no sign, no spaces, no overflow). 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *v);

/* ---- files (util.c) ---------------------------------------------------- */

/** Read a whole regular file of at most `max` bytes into a malloc'd
 * buffer. Returns 0 or CLI_EXIT_DATA. */
int cli_read_file(cli_ctx *ctx, const char *path, size_t max, uint8_t **out,
                  size_t *len);
/** Create `path` exclusively (O_EXCL: never overwrites) with `mode`, write
 * p[0..n), fsync and close. On failure the file is removed again. Returns 0
 * or CLI_EXIT_DATA. */
int cli_write_new_file(cli_ctx *ctx, const char *path, const uint8_t *p,
                       size_t n, unsigned mode);

/* ---- options (args.c) --------------------------------------------------- */

/** One `--name VALUE` (or `--name=VALUE`) option, or a `--name` switch when
 * takes_value is 0. After parsing, `value` is the last value (NULL if
 * absent) and `seen` whether it was given. */
typedef struct cli_opt {
  const char *name; /* without the dashes */
  int takes_value;
  const char *value;
  int seen;
} cli_opt;

/** Split argv into options and positionals ("--" ends options). The
 * positionals are moved, in order, to argv[0..*npos). Rejects unknown and
 * repeated options, missing values, and a positional count outside
 * [min_pos, max_pos] (max_pos < 0: unlimited). Returns 0 or CLI_EXIT_USAGE
 * (after cli_fail). */
int cli_parse(cli_ctx *ctx, int argc, char **argv, cli_opt *opts, size_t nopts,
              int *npos, int min_pos, int max_pos);

/** `-n N` (the conventional count flag of ping-like verbs) becomes `--n N`
 * for cli_parse, which knows only long options. */
void cli_map_short_n(int argc, char **argv);

/* ---- keys (keys.c) ----------------------------------------------------- */

/** Load a PrivateKey protobuf file into *k. Returns 0 or CLI_EXIT_DATA. */
int cli_load_key(cli_ctx *ctx, const char *path, lp2p_privkey *k);
/** Append the base58 PeerId of `pub` plus a newline. 0 or CLI_EXIT_DATA. */
int cli_print_peerid(cli_ctx *ctx, const lp2p_pubkey *pub);

/* ---- verbs -------------------------------------------------------------- */

int cli_cmd_keygen(cli_ctx *ctx, int argc, char **argv);   /* keys.c */
int cli_cmd_id(cli_ctx *ctx, int argc, char **argv);       /* keys.c */
int cli_cmd_peerid(cli_ctx *ctx, int argc, char **argv);   /* keys.c */
int cli_cmd_sign(cli_ctx *ctx, int argc, char **argv);     /* sign.c */
int cli_cmd_verify(cli_ctx *ctx, int argc, char **argv);   /* sign.c */
int cli_cmd_maddr_encode(cli_ctx *ctx, int argc, char **argv); /* maddr.c */
int cli_cmd_maddr_decode(cli_ctx *ctx, int argc, char **argv); /* maddr.c */
int cli_cmd_record_seal(cli_ctx *ctx, int argc, char **argv);  /* record.c */
int cli_cmd_record_open(cli_ctx *ctx, int argc, char **argv);  /* record.c */

int cli_cmd_listen(cli_ctx *ctx, int argc, char **argv);   /* listen.c */
int cli_cmd_ping(cli_ctx *ctx, int argc, char **argv);     /* ping.c */
int cli_cmd_autonat(cli_ctx *ctx, int argc, char **argv);  /* autonat.c */
int cli_cmd_identify(cli_ctx *ctx, int argc, char **argv); /* ping.c */
int cli_cmd_perf(cli_ctx *ctx, int argc, char **argv);     /* ping.c */
int cli_cmd_echo(cli_ctx *ctx, int argc, char **argv);      /* streams.c */
int cli_cmd_halfclose(cli_ctx *ctx, int argc, char **argv); /* streams.c */
int cli_cmd_reset(cli_ctx *ctx, int argc, char **argv);     /* streams.c */
int cli_cmd_close(cli_ctx *ctx, int argc, char **argv);     /* streams.c */
int cli_cmd_connect(cli_ctx *ctx, int argc, char **argv);   /* streams.c */
int cli_cmd_stream(cli_ctx *ctx, int argc, char **argv);   /* rawstream.c */
int cli_cmd_holepunch(cli_ctx *ctx, int argc, char **argv); /* holepunch.c */
int cli_cmd_nat(cli_ctx *ctx, int argc, char **argv);       /* nat.c */
int cli_cmd_stun_server(cli_ctx *ctx, int argc, char **argv); /* stun_server.c */
int cli_cmd_dht(cli_ctx *ctx, int argc, char **argv);       /* dht.c */
int cli_cmd_ipns_seal(cli_ctx *ctx, int argc, char **argv); /* ipns.c */
int cli_cmd_ipns_open(cli_ctx *ctx, int argc, char **argv); /* ipns.c */
int cli_cmd_portmap(cli_ctx *ctx, int argc, char **argv);   /* portmap.c */

#endif
