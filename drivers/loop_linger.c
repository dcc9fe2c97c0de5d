/* Graceful close of a libp2p connection on a real socket (io CLOSE).
 *
 * Its last bytes (a yamux GoAway) are out; the FIN follows after the
 * peer's EOF, or once the peer has acknowledged all our bytes and
 * GRACE_MIN_NS passed, at the latest after GRACE_NS. That keeps "last
 * frame" and "EOF" apart for a peer that handles both in one read racily
 * (js-libp2p may see the EOF first and report no GoAway), without holding
 * the socket longer: a peer that waits for our FIN (lp2p itself) and peers
 * that count sockets per peer see it close within a few ms. Then input is
 * read and discarded until the peer's EOF (or LINGER_NS): closing a socket
 * with unread input sends RST, which would turn a graceful close into an
 * abort for the peer. The host and the core have forgotten the connection
 * by then; only the descriptor table knows the socket. */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h> /* SIOCOUTQ */
#endif

#include "drivers/loop_internal.h"

#define GRACE_MIN_NS (5 * LP2P_NS_PER_MS)
#define GRACE_NS (50 * LP2P_NS_PER_MS)
#define GRACE_POLL_NS (1 * LP2P_NS_PER_MS)
#define LINGER_NS (2 * LP2P_NS_PER_S)

void loop_linger_start(lp2p_driver *d, int fd) {
  fdslot *s = loop_slot(d, fd);
  if (!s)
    return;
  s->kind = F_LINGER;
  s->ref = 0;
  s->fin_sent = 0;
  s->linger_until = d->now + GRACE_MIN_NS;
  s->grace_end = d->now + GRACE_NS;
  d->nlinger++;
  loop_set_interest(d, fd, LP2P_POLL_READ);
}

/* 1 when the peer has acknowledged every byte we sent (Linux SIOCOUTQ:
 * unsent + unacknowledged bytes); without that query, after the grace. */
static int output_acked(int fd) {
#ifdef SIOCOUTQ
  int q = 0;
  return ioctl(fd, SIOCOUTQ, &q) == 0 && q == 0;
#else
  (void)fd;
  return 0;
#endif
}

static void linger_fin(lp2p_driver *d, int fd, fdslot *s) {
  s->fin_sent = 1;
  s->linger_until = d->now + LINGER_NS;
  if (shutdown(fd, SHUT_WR) != 0)
    loop_slot_close(d, fd, 0);
}

void loop_linger_read(lp2p_driver *d, int fd) {
  fdslot *s = loop_slot(d, fd);
  for (int i = 0; s && i < READS_PER_READY; i++) {
    ssize_t r = recv(fd, d->core.rbuf, sizeof d->core.rbuf, MSG_DONTWAIT);
    if (r > 0)
      continue;
    if (r < 0 && (errno == EINTR))
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r == 0 && !s->fin_sent)
      shutdown(fd, SHUT_WR); /* the peer closed first: answer, done */
    loop_slot_close(d, fd, 0); /* EOF or error: done */
    return;
  }
}

/* Closes lingering sockets whose time is up; returns the next deadline. */
lp2p_tstamp loop_linger_expire(lp2p_driver *d) {
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  if (!d->nlinger)
    return next;
  for (size_t i = 0; i < d->nfds; i++) {
    fdslot *s = &d->fds[i];
    const int fd = (int)i;
    if (s->kind != F_LINGER)
      continue;
    if (s->linger_until <= d->now) {
      if (s->fin_sent)
        loop_slot_close(d, fd, 0);
      else if (output_acked(fd) || s->grace_end <= d->now)
        linger_fin(d, fd, s);
      else /* our last bytes are still on their way: look again soon */
        s->linger_until = d->now + GRACE_POLL_NS < s->grace_end
                              ? d->now + GRACE_POLL_NS
                              : s->grace_end;
    }
    if (s->kind == F_LINGER && s->linger_until < next)
      next = s->linger_until;
  }
  return next;
}
