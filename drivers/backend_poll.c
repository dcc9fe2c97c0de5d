/* poll(2) readiness backend: a dense pollfd array plus a fd -> slot index
 * (grown on demand), so add/mod/del are O(1) and wait is one poll call. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/driver.h"

typedef struct pstate {
  struct pollfd *fds;
  uint64_t *tags;
  size_t n, cap;
  int *slot; /* fd -> index + 1, 0 = absent */
  size_t slot_cap;
  size_t next; /* round-robin start so one busy fd cannot starve others */
} pstate;

static int pl_init(void **state) {
  pstate *s = calloc(1, sizeof(*s));
  if (!s)
    return LP2P_ERR_NOMEM;
  *state = s;
  return 0;
}

static short to_poll(unsigned interest) {
  short ev = 0;
  if (interest & LP2P_POLL_READ)
    ev |= POLLIN;
  if (interest & LP2P_POLL_WRITE)
    ev |= POLLOUT;
  return ev;
}

static int pl_add(void *state, int fd, unsigned interest, uint64_t tag) {
  pstate *s = state;
  if (fd < 0)
    return LP2P_ERR_INVAL;
  if ((size_t)fd >= s->slot_cap) {
    size_t nc = s->slot_cap ? s->slot_cap : 64;
    while (nc <= (size_t)fd)
      nc *= 2;
    int *ns = realloc(s->slot, nc * sizeof(int));
    if (!ns)
      return LP2P_ERR_NOMEM;
    memset(ns + s->slot_cap, 0, (nc - s->slot_cap) * sizeof(int));
    s->slot = ns;
    s->slot_cap = nc;
  }
  if (s->slot[fd])
    return LP2P_ERR_STATE;
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    struct pollfd *nf = realloc(s->fds, nc * sizeof(*nf));
    if (!nf)
      return LP2P_ERR_NOMEM;
    s->fds = nf;
    uint64_t *nt = realloc(s->tags, nc * sizeof(*nt));
    if (!nt)
      return LP2P_ERR_NOMEM;
    s->tags = nt;
    s->cap = nc;
  }
  s->fds[s->n].fd = fd;
  s->fds[s->n].events = to_poll(interest);
  s->fds[s->n].revents = 0;
  s->tags[s->n] = tag;
  s->slot[fd] = (int)(++s->n);
  return 0;
}

static int pl_mod(void *state, int fd, unsigned interest, uint64_t tag) {
  pstate *s = state;
  if (fd < 0 || (size_t)fd >= s->slot_cap || !s->slot[fd])
    return LP2P_ERR_NOT_FOUND;
  size_t i = (size_t)s->slot[fd] - 1;
  s->fds[i].events = to_poll(interest);
  s->tags[i] = tag;
  return 0;
}

static int pl_del(void *state, int fd) {
  pstate *s = state;
  if (fd < 0 || (size_t)fd >= s->slot_cap || !s->slot[fd])
    return LP2P_ERR_NOT_FOUND;
  size_t i = (size_t)s->slot[fd] - 1;
  size_t last = s->n - 1;
  if (i != last) { /* move the last entry into the hole */
    s->fds[i] = s->fds[last];
    s->tags[i] = s->tags[last];
    s->slot[s->fds[i].fd] = (int)(i + 1);
  }
  s->slot[fd] = 0;
  s->n--;
  return 0;
}

static int pl_wait(void *state, int timeout_ms, lp2p_poll_ready *out,
                   int max) {
  pstate *s = state;
  int r = poll(s->fds, (nfds_t)s->n, timeout_ms);
  if (r < 0)
    return errno == EINTR ? 0 : LP2P_ERR_IO;
  int k = 0;
  size_t n = s->n;
  for (size_t j = 0; j < n && k < max; j++) {
    size_t i = (s->next + j) % n;
    short re = s->fds[i].revents;
    if (!re)
      continue;
    unsigned e = 0;
    if (re & POLLIN)
      e |= LP2P_POLL_READ;
    if (re & POLLOUT)
      e |= LP2P_POLL_WRITE;
    if (re & (POLLERR | POLLHUP | POLLNVAL))
      e |= LP2P_POLL_ERROR | LP2P_POLL_READ;
    out[k].tag = s->tags[i];
    out[k].events = e;
    k++;
  }
  if (n)
    s->next = (s->next + 1) % n;
  return k;
}

static void pl_destroy(void *state) {
  pstate *s = state;
  if (!s)
    return;
  free(s->fds);
  free(s->tags);
  free(s->slot);
  free(s);
}

static const lp2p_backend poll_backend = {"poll", pl_init, pl_add,    pl_mod,
                                          pl_del, pl_wait, pl_destroy};

const lp2p_backend *lp2p_backend_poll(void) { return &poll_backend; }
