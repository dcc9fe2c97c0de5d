/* Accepting at the descriptor limit (issue 9).
 *
 * accept() fails with EMFILE (the process's limit) or ENFILE (the
 * system's) while the connection stays in the backlog, so a
 * level-triggered listener is ready again at once: returning and retrying
 * on the next readiness spins the loop at full CPU, and the peer hangs in
 * the backlog until its own timeout. Two remedies, combined:
 *
 *  (b) a spare descriptor. The driver opens /dev/null at start and keeps
 *      it. At EMFILE it closes the spare, accepts the waiting connection
 *      into the freed slot, closes that at once with an RST and reopens
 *      the spare. The peer learns at once that it was refused, the backlog
 *      drains, and the listener stops being ready: no spin. For ENFILE the
 *      spare frees a system-wide slot too, so the same works unless
 *      another process takes it first.
 *  (a) a backoff. When (b) cannot work (the spare could not be reopened
 *      because someone else took the slot; ENOBUFS / ENOMEM, where no
 *      descriptor helps), the listener is unwatched for 50 ms, doubling up
 *      to 1 s while it keeps failing, then watched again.
 *
 * (b) comes first because it answers peers at once: with (a) alone the
 * loop sleeps, but honest peers wait in a backlog that fills with the
 * attacker's connections. The host never sees a refused connection (it
 * had no descriptor to give it), so the driver counts them
 * (lp2p_driver_stats) and logs them at info, at most a line a second. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/loop_internal.h"

#define BACKOFF_MIN_NS (50 * LP2P_NS_PER_MS)
#define BACKOFF_MAX_NS (1 * LP2P_NS_PER_S)
#define LOG_EVERY_NS (1 * LP2P_NS_PER_S)

static void spare_open(lp2p_driver *d) {
  if (d->spare_fd < 0)
    d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void spare_close(lp2p_driver *d) {
  if (d->spare_fd >= 0)
    close(d->spare_fd);
  d->spare_fd = -1;
}

void loop_fds_init(lp2p_driver *d) {
  d->spare_fd = -1;
  d->backoff_ns = BACKOFF_MIN_NS;
  spare_open(d);
}

void loop_fds_fini(lp2p_driver *d) { spare_close(d); }

void loop_fds_accepted(lp2p_driver *d) { d->backoff_ns = BACKOFF_MIN_NS; }

static void log_refusals(lp2p_driver *d) {
  if (!d->log_refused)
    return;
  if (d->log_at && d->now < d->log_at + LOG_EVERY_NS)
    return; /* folded into the next line (loop_fds_expire flushes it) */
  d->log_at = d->now ? d->now : 1;
  if (d->log && d->log->write) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "driver refused=%llu total=%llu reason=fd-limit out of file "
             "descriptors: connections refused at accept",
             (unsigned long long)d->log_refused,
             (unsigned long long)d->stats.accepts_refused_fds);
    d->log->write(d->log->ud, LP2P_LOG_INFO, msg);
  }
  d->log_refused = 0;
}

static void pause_listener(lp2p_driver *d, int lfd) {
  fdslot *s = loop_slot(d, lfd);
  if (!s || s->paused_until)
    return;
  loop_set_interest(d, lfd, 0);
  s->paused_until = d->now + d->backoff_ns;
  d->npaused++;
  d->stats.accept_pauses++;
  d->backoff_ns = d->backoff_ns * 2 < BACKOFF_MAX_NS ? d->backoff_ns * 2
                                                     : BACKOFF_MAX_NS;
}

int loop_fds_exhausted(lp2p_driver *d, int lfd, int err) {
  if (err == EMFILE || err == ENFILE) {
    spare_open(d); /* lost earlier? descriptors may have been freed since */
    if (d->spare_fd >= 0) {
      spare_close(d);
      int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      int e = errno;
      if (fd >= 0) {
        /* RST rather than FIN: the peer's first bytes may be queued
         * already (a close with unread input resets anyway), and a reset
         * tells every dialer "refused" at once with nothing left to
         * drain on our side. */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        d->stats.accepts_refused_fds++;
        d->log_refused++;
      }
      spare_open(d);
      if (fd >= 0) {
        log_refusals(d);
        return 1;
      }
      if (e == EAGAIN || e == EWOULDBLOCK)
        return 0; /* the backlog is empty */
      if (e == EINTR || e == ECONNABORTED)
        return 1;
    }
  }
  pause_listener(d, lfd);
  return 0;
}

lp2p_tstamp loop_fds_expire(lp2p_driver *d) {
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  if (d->log_refused) {
    log_refusals(d);
    if (d->log_refused)
      next = d->log_at + LOG_EVERY_NS;
  }
  if (!d->npaused)
    return next;
  for (size_t i = 0; i < d->nfds; i++) {
    fdslot *s = &d->fds[i];
    if (s->kind != F_CORE || !s->paused_until)
      continue;
    if (s->paused_until <= d->now) {
      s->paused_until = 0;
      d->npaused--;
      loop_set_interest(d, (int)i, LP2P_POLL_READ);
    } else if (s->paused_until < next) {
      next = s->paused_until;
    }
  }
  return next;
}

void lp2p_driver_stats_get(const lp2p_driver *d, lp2p_driver_stats *out) {
  memset(out, 0, sizeof *out);
  if (d)
    *out = d->stats;
}

void lp2p_driver_set_log(lp2p_driver *d, const lp2p_log *log) {
  if (d)
    d->log = log;
}
