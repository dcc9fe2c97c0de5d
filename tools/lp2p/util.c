/* lp2p tool: error lines, the output buffer, hex and number arguments,
 * whole-file reads and exclusive file creation. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp2p/multibase.h"
#include "tools/lp2p/cli.h"

#define CLI_MSG_MAX 1024

static void vline(const char *fmt, va_list ap) {
  char msg[CLI_MSG_MAX];
  if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
    msg[0] = '\0';
  /* The message may quote user input; keep the report on one line. */
  for (char *c = msg; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  fprintf(stderr, "lp2p: %s\n", msg);
}

void cli_error_line(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(fmt, ap);
  va_end(ap);
}

int cli_fail(cli_ctx *ctx, int code, const char *fmt, ...) {
  char msg[CLI_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
    msg[0] = '\0';
  va_end(ap);
  if (code == CLI_EXIT_USAGE && ctx->usage)
    cli_error_line("%s: %s; usage: lp2p %s %s", ctx->verb, msg, ctx->verb,
                   ctx->usage);
  else
    cli_error_line("%s: %s", ctx->verb, msg);
  return code;
}

static int out_reserve(cli_out *o, size_t more) {
  if (o->oom)
    return -1;
  if (more <= o->cap - o->len)
    return 0;
  size_t cap = o->cap ? o->cap : 256;
  while (cap - o->len < more) {
    if (cap > SIZE_MAX / 2) {
      o->oom = 1;
      return -1;
    }
    cap *= 2;
  }
  char *p = realloc(o->buf, cap);
  if (!p) {
    o->oom = 1;
    return -1;
  }
  o->buf = p;
  o->cap = cap;
  return 0;
}

void cli_printf(cli_ctx *ctx, const char *fmt, ...) {
  cli_out *o = &ctx->out;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    o->oom = 1;
    return;
  }
  /* +1 for vsnprintf's terminator, which is not counted in len. */
  if (out_reserve(o, (size_t)n + 1) != 0)
    return;
  va_start(ap, fmt);
  vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  o->len += (size_t)n;
}

void cli_print_hex(cli_ctx *ctx, const uint8_t *p, size_t n) {
  cli_out *o = &ctx->out;
  size_t len = 0;
  if (n > (SIZE_MAX - 2) / 2) {
    o->oom = 1;
    return;
  }
  /* 2n digits, the newline, and room for the encoder's NUL. */
  if (out_reserve(o, 2 * n + 2) != 0)
    return;
  if (lp2p_hex_encode(p, n, o->buf + o->len, 2 * n + 2, &len) != 0) {
    o->oom = 1;
    return;
  }
  o->len += len;
  o->buf[o->len++] = '\n';
}

int cli_out_write(cli_out *o, int fd) {
  size_t off = 0;
  while (off < o->len) {
    ssize_t w = write(fd, o->buf + off, o->len - off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    off += (size_t)w;
  }
  return 0;
}

void cli_out_free(cli_out *o) {
  free(o->buf);
  o->buf = NULL;
  o->len = o->cap = 0;
}

int cli_hex_arg(cli_ctx *ctx, const char *what, const char *hex, uint8_t **out,
                size_t *len) {
  size_t n = strlen(hex);
  if (n % 2)
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: invalid hex (odd length %zu)",
                    what, n);
  uint8_t *buf = malloc(n / 2 + 1);
  if (!buf)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  if (lp2p_hex_decode(hex, n, buf, n / 2 + 1, len) != 0) {
    free(buf);
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: invalid hex (non-hex character)",
                    what);
  }
  *out = buf;
  return 0;
}

int cli_parse_u64(const char *s, uint64_t *v) {
  uint64_t x = 0;
  if (!*s)
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    unsigned d = (unsigned)(*s - '0');
    if (x > (UINT64_MAX - d) / 10)
      return -1;
    x = x * 10 + d;
  }
  *v = x;
  return 0;
}

int cli_read_file(cli_ctx *ctx, const char *path, size_t max, uint8_t **out,
                  size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: not a regular file", path);
  }
  uint8_t *buf = malloc(max + 1);
  if (!buf) {
    close(fd);
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  }
  /* Read one byte beyond the limit to tell "exactly max" from "too big". */
  size_t n = 0;
  while (n < max + 1) {
    ssize_t r = read(fd, buf + n, max + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      free(buf);
      return cli_fail(ctx, CLI_EXIT_DATA, "%s: %s", path, strerror(e));
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if (n > max) {
    free(buf);
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: file too large (limit %zu bytes)",
                    path, max);
  }
  *out = buf;
  *len = n;
  return 0;
}

int cli_write_new_file(cli_ctx *ctx, const char *path, const uint8_t *p,
                       size_t n, unsigned mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return cli_fail(ctx, CLI_EXIT_DATA,
                      "%s: file exists (refusing to overwrite)", path);
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: %s", path, strerror(errno));
  }
  /* The umask may only have removed bits; make the mode exact. */
  int e = 0;
  if (fchmod(fd, (mode_t)mode) != 0)
    e = errno;
  size_t off = 0;
  while (!e && off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      e = errno;
    else
      off += (size_t)w;
  }
  if (!e && fsync(fd) != 0 && errno != EINVAL)
    e = errno;
  if (close(fd) != 0 && !e)
    e = errno;
  if (e) {
    unlink(path);
    return cli_fail(ctx, CLI_EXIT_DATA, "%s: %s", path, strerror(e));
  }
  return 0;
}
