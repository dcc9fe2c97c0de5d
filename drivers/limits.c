/* Fitting a host's connection limits under the process's descriptor limit
 * (issue 9). Every connection and raw socket is one descriptor, so a
 * conns_max above RLIMIT_NOFILE is a promise the kernel breaks: accept()
 * fails with EMFILE instead of the host refusing by its limit, and honest
 * peers wait in the backlog. The usual soft limit (1024) equals the
 * default conns_max, so a program raises the soft limit to the hard one
 * first and then fits the limits under what it got, keeping a reserve. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"

/* Descriptors open right now; 0 if unknown (no /proc). Counted so that
 * what the program holds already (inherited descriptors, log files, its
 * own sockets) does not come out of the connections' share. */
static uint64_t fds_open(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return 0;
  uint64_t n = 0;
  const struct dirent *e;
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n ? n - 1 : 0; /* the directory's own descriptor */
}

static uint32_t min_u32(uint32_t a, uint64_t b) {
  return b < a ? (uint32_t)b : a;
}

int lp2p_driver_fit_limits(lp2p_host_config *cfg, lp2p_fd_limits *out) {
  lp2p_fd_limits lim;
  memset(&lim, 0, sizeof lim);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return LP2P_ERR_IO;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    /* Linux refuses more than fs.nr_open even when the hard limit is
     * "unlimited": then keep what we have rather than guess. */
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
      lim.raised = 1;
      rl.rlim_cur = rl.rlim_max;
    }
  }
  const uint64_t cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX
                                                    : (uint64_t)rl.rlim_cur;
  lim.fds_max = cur;
  lim.fds_open = fds_open();
  uint64_t avail = cur > lim.fds_open ? cur - lim.fds_open : 0;
  /* The fixed reserve: the poller, the driver's spare descriptor, the
   * listeners, the DNS and other service UDP sockets, files and pipes the
   * program opens later. A share (1/8) is kept for sockets that outlive
   * their connection: a graceful close lingers up to ~2 s (FIN, then the
   * peer's last bytes), so under churn closed connections still hold
   * descriptors that conns_max no longer counts. */
  uint64_t reserve = LP2P_FD_RESERVE;
  reserve += avail > reserve ? (avail - reserve) / 8 : 0;
  lim.reserve = reserve;
  uint64_t rest = avail > reserve ? avail - reserve : 0;
  if (cfg) {
    /* Raw sockets (punch forwarders, DNS) get at most a quarter of what
     * is left when both do not fit; connections the rest. A *_max of 0
     * is invalid, so each keeps at least one. */
    if ((uint64_t)cfg->conns_max + cfg->raws_max > rest) {
      cfg->raws_max = min_u32(cfg->raws_max, rest / 4 ? rest / 4 : 1);
      uint64_t c = rest > cfg->raws_max ? rest - cfg->raws_max : 1;
      cfg->conns_max = min_u32(cfg->conns_max, c);
      lim.fitted = 1;
    }
    cfg->conns_pending_max = min_u32(cfg->conns_pending_max, cfg->conns_max);
    if (cfg->log && cfg->log->write) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "driver fds=%llu open=%llu reserve=%llu raised=%d "
               "conns_max=%u conns_pending_max=%u raws_max=%u",
               (unsigned long long)lim.fds_max,
               (unsigned long long)lim.fds_open,
               (unsigned long long)lim.reserve, lim.raised, cfg->conns_max,
               cfg->conns_pending_max, cfg->raws_max);
      cfg->log->write(cfg->log->ud, LP2P_LOG_INFO, msg);
    }
  }
  if (out)
    *out = lim;
  return 0;
}
