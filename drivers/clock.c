/* The real clock: the only place time enters a driven host. */
#include <string.h>
#include <time.h>

#include "lp2p/driver.h"

lp2p_tstamp lp2p_clock_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (lp2p_tstamp)ts.tv_sec * LP2P_NS_PER_S + (lp2p_tstamp)ts.tv_nsec;
}

uint64_t lp2p_clock_unix_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * LP2P_NS_PER_S + (uint64_t)ts.tv_nsec;
}

const lp2p_backend *lp2p_backend_by_name(const char *name) {
  if (!name || strcmp(name, "epoll") == 0)
    return lp2p_backend_epoll();
  if (strcmp(name, "poll") == 0)
    return lp2p_backend_poll();
  return NULL;
}
