/* A log sink for programs: one line per log event on stderr,
 * "<seconds since start> <level> <msg>". Lives with the drivers because it
 * owns a file descriptor and reads the clock; proto/ only formats. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/driver.h"

static const char *const names[] = {"error", "warn", "info", "debug",
                                    "trace"};
#define NLEVELS (int)(sizeof names / sizeof names[0])

static lp2p_tstamp t0;

int lp2p_log_level_parse(const char *name) {
  for (int i = 0; name && i < NLEVELS; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

static void stderr_write(void *ud, int level, const char *msg) {
  if (level > (int)(intptr_t)ud)
    return;
  lp2p_tstamp dt = lp2p_clock_now() - t0;
  /* one fprintf per line: stderr is unbuffered, so lines from several
   * threads or processes stay whole */
  fprintf(stderr, "%llu.%06llu %s %s\n",
          (unsigned long long)(dt / LP2P_NS_PER_S),
          (unsigned long long)(dt % LP2P_NS_PER_S / 1000),
          level >= 0 && level < NLEVELS ? names[level] : "?", msg);
}

void lp2p_log_stderr(lp2p_log *log, int max_level) {
  t0 = lp2p_clock_now();
  log->write = stderr_write;
  log->ud = (void *)(intptr_t)max_level;
}
