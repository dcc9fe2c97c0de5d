/* epoll(7) readiness backend: level-triggered, one event per fd, the
 * caller's 64-bit tag carried in epoll_data. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lp2p/driver.h"

static uint32_t to_epoll(unsigned interest) {
  uint32_t ev = 0;
  if (interest & LP2P_POLL_READ)
    ev |= EPOLLIN | EPOLLRDHUP;
  if (interest & LP2P_POLL_WRITE)
    ev |= EPOLLOUT;
  return ev;
}

static int ep_init(void **state) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0)
    return LP2P_ERR_IO;
  int *p = malloc(sizeof(int));
  if (!p) {
    close(fd);
    return LP2P_ERR_NOMEM;
  }
  *p = fd;
  *state = p;
  return 0;
}

static int ep_ctl(void *state, int op, int fd, unsigned interest, uint64_t tag) {
  struct epoll_event ev = {0};
  ev.events = to_epoll(interest);
  ev.data.u64 = tag;
  return epoll_ctl(*(int *)state, op, fd, &ev) == 0 ? 0 : LP2P_ERR_IO;
}

static int ep_add(void *state, int fd, unsigned interest, uint64_t tag) {
  return ep_ctl(state, EPOLL_CTL_ADD, fd, interest, tag);
}

static int ep_mod(void *state, int fd, unsigned interest, uint64_t tag) {
  return ep_ctl(state, EPOLL_CTL_MOD, fd, interest, tag);
}

static int ep_del(void *state, int fd) {
  struct epoll_event ev = {0};
  return epoll_ctl(*(int *)state, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0
                                                                : LP2P_ERR_IO;
}

static int ep_wait(void *state, int timeout_ms, lp2p_poll_ready *out,
                   int max) {
  struct epoll_event evs[256];
  if (max > 256)
    max = 256;
  int n = epoll_wait(*(int *)state, evs, max, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : LP2P_ERR_IO;
  for (int i = 0; i < n; i++) {
    unsigned e = 0;
    if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
      e |= LP2P_POLL_READ;
    if (evs[i].events & EPOLLOUT)
      e |= LP2P_POLL_WRITE;
    if (evs[i].events & (EPOLLERR | EPOLLHUP))
      e |= LP2P_POLL_ERROR | LP2P_POLL_READ;
    out[i].tag = evs[i].data.u64;
    out[i].events = e;
  }
  return n;
}

static void ep_destroy(void *state) {
  if (!state)
    return;
  close(*(int *)state);
  free(state);
}

static const lp2p_backend epoll_backend = {"epoll", ep_init,   ep_add,
                                           ep_mod,  ep_del,    ep_wait,
                                           ep_destroy};

const lp2p_backend *lp2p_backend_epoll(void) { return &epoll_backend; }
