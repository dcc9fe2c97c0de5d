/* lp2p tool: option parsing shared by all verbs.
 *
 * Options are GNU style long options, `--name VALUE` or `--name=VALUE`,
 * and may appear anywhere among the positionals; `--` ends them (so a
 * positional may start with a dash). A lone `-` is a positional. */
#include <string.h>

#include "tools/lp2p/cli.h"

static cli_opt *find_opt(cli_opt *opts, size_t nopts, const char *name,
                         size_t name_len) {
  for (size_t i = 0; i < nopts; i++)
    if (strlen(opts[i].name) == name_len &&
        memcmp(opts[i].name, name, name_len) == 0)
      return &opts[i];
  return NULL;
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, cli_opt *opts, size_t nopts,
              int *npos, int min_pos, int max_pos) {
  int n = 0, only_pos = 0;
  for (size_t i = 0; i < nopts; i++) {
    opts[i].value = NULL;
    opts[i].seen = 0;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      argv[n++] = argv[i]; /* n <= i: only already-read slots change */
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (a[1] != '-')
      return cli_fail(ctx, CLI_EXIT_USAGE, "unknown option '%s'", a);
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    cli_opt *o = find_opt(opts, nopts, name, name_len);
    if (!o)
      return cli_fail(ctx, CLI_EXIT_USAGE, "unknown option '--%.*s'",
                      (int)name_len, name);
    if (o->seen)
      return cli_fail(ctx, CLI_EXIT_USAGE, "option '--%s' given twice",
                      o->name);
    o->seen = 1;
    if (!o->takes_value) {
      if (eq)
        return cli_fail(ctx, CLI_EXIT_USAGE, "option '--%s' takes no value",
                        o->name);
      continue;
    }
    if (eq) {
      o->value = eq + 1;
    } else {
      if (i + 1 >= argc)
        return cli_fail(ctx, CLI_EXIT_USAGE, "option '--%s' needs a value",
                        o->name);
      o->value = argv[++i];
    }
    if (o->value[0] == '\0')
      return cli_fail(ctx, CLI_EXIT_USAGE, "option '--%s' needs a value",
                      o->name);
  }
  if (n < min_pos)
    return cli_fail(ctx, CLI_EXIT_USAGE, "missing argument");
  if (max_pos >= 0 && n > max_pos)
    return cli_fail(ctx, CLI_EXIT_USAGE, "unexpected argument '%s'",
                    argv[max_pos]);
  *npos = n;
  return 0;
}

void cli_map_short_n(int argc, char **argv) {
  static char long_n[] = "--n";
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return;
    if (strcmp(argv[i], "-n") == 0)
      argv[i] = long_n;
  }
}
