/* Why: the large scenarios keep gigabytes of small host allocations
 * (kad-10k: 14 GB) and touch them in no useful order, so nearly every
 * cache miss is also a TLB miss with a page walk of its own; the page
 * tables of 4 KiB pages (28 MB for 14 GB) do not fit the caches either.
 * With 2 MiB pages they do. The kernel here gives huge pages only where
 * a program asks (transparent_hugepage "madvise"), and glibc asks for its
 * malloc arenas only when the glibc.malloc.hugetlb tunable is 1 (glibc
 * 2.35 and later; older ones ignore it). Tunables are read when the
 * process starts, so the only way to set one from inside is to start
 * again. Measured on the 1,000-host kad scenario: 7 % less CPU, the same
 * trace (the heap's layout never reaches a result).
 *
 * A GLIBC_TUNABLES that names the tunable is left alone:
 * glibc.malloc.hugetlb=0 turns this off (bench/ compares both). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/lp2p-sim/hugepages.h"

#define TUNABLE "glibc.malloc.hugetlb"

void sim_hugepages_reexec(char **argv) {
  const char *old = getenv("GLIBC_TUNABLES");
  if (old && strstr(old, TUNABLE))
    return;
  char buf[1024];
  int n = old && *old ? snprintf(buf, sizeof buf, "%s:" TUNABLE "=1", old)
                      : snprintf(buf, sizeof buf, TUNABLE "=1");
  if (n < 0 || (size_t)n >= sizeof buf)
    return;
  if (setenv("GLIBC_TUNABLES", buf, 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  /* not run again (no /proc): carry on with 4 KiB pages; the tunable
   * stays set, so a child would not try again */
}
