/* The driver core's socket verbs on real, non-blocking OS sockets (the
 * backend of drivers/loop.c). Each verb is one socket operation; when to
 * call it, and what to answer the host, is the core's. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "drivers/loop_internal.h"
#include "drivers/sockaddr.h"

static int open_socket(int family, int type) {
  return socket(family == 6 ? AF_INET6 : AF_INET,
                type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void reuse(int fd) {
  int one = 1;
  /* The listen port is shared with hole-punching dials (DESIGN 5b). */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
}

static void tune_tcp(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* LISTEN (libp2p listener), RAW_LISTEN and UDP_OPEN. */
static int os_listen(void *b, drv_ref ref, int kind, const lp2p_io *io,
                     drv_handle *h, lp2p_sockaddr *bound) {
  lp2p_driver *d = b;
  const int udp = kind == DRV_K_UDP, raw = kind != DRV_K_LISTEN;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&io->addr, &ss);
  int fd = open_socket(io->addr.family, udp ? SOCK_DGRAM : SOCK_STREAM);
  if (fd < 0)
    return drv_errno_to_err(errno);
  if (!raw || (io->flags & LP2P_IO_REUSEPORT))
    reuse(fd);
  else if (!udp) { /* a restarted raw server must not wait for TIME_WAIT */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (io->addr.family == 6) {
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  int err = 0;
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
      (!udp && listen(fd, 1024) != 0))
    err = drv_errno_to_err(errno);
  else if (!loop_slot_new(d, fd, F_CORE, ref))
    err = LP2P_ERR_NOMEM;
  if (err) {
    close(fd);
    return err;
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  drv_from_os(bound, &ss);
  loop_set_interest(d, fd, LP2P_POLL_READ);
  *h = (drv_handle)fd;
  return 0;
}

/* The IP TTL (IPv4) or hop limit (IPv6) of later packets; 0 = the
 * system default (-1 asks the kernel for its route default). */
static void set_ttl(int fd, int family, int ttl) {
  if (family == 6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  else
    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
}

/* The low-TTL SYN dies at the router after our NAT, and a router that
 * reports it (ICMP Time Exceeded) would make Linux abort the connecting
 * socket: tcp_v4_err treats the error as fatal in SYN_SENT, and the
 * kernel's retransmission at the normal TTL never happens. IP_MINTTL 2
 * makes tcp_v4_err ignore ICMP errors whose quoted header carries a TTL
 * below 2 (counted as TCPMinTTLDrop), which is exactly the expired probe;
 * errors about the later full-TTL SYN still count. IPv6 needs nothing:
 * there Time Exceeded is a soft error in SYN_SENT. Measured with a
 * three-namespace router (tests/nat/punch.sh, icmp middle hop).
 * Returns 1 when set (it is cleared once connected). */
static int ignore_ttl_expiry(int fd) {
  int v = 2;
  return setsockopt(fd, IPPROTO_IP, IP_MINTTL, &v, sizeof v) == 0;
}

/* Once connected, packets of any TTL count again. */
static void ttl_expiry_done(int fd, fdslot *slot) {
  if (!slot->min_ttl)
    return;
  int v = 0;
  setsockopt(fd, IPPROTO_IP, IP_MINTTL, &v, sizeof v);
  slot->min_ttl = 0;
}

static void local_of(int fd, lp2p_sockaddr *local) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  memset(local, 0, sizeof *local);
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    drv_from_os(local, &ss);
}

/* DIAL and RAW_DIAL: non-blocking connect, optionally from a bound local
 * port (REUSEPORT: beside our listener, DESIGN 5b). */
static int os_connect(void *b, drv_ref ref, const lp2p_io *io, drv_handle *h,
                      lp2p_sockaddr *local) {
  lp2p_driver *d = b;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&io->addr, &ss);
  int fd = open_socket(io->addr.family, SOCK_STREAM);
  if (fd < 0)
    return drv_errno_to_err(errno);
  tune_tcp(fd);
  if (io->flags & (LP2P_IO_REUSEPORT | LP2P_IO_BIND_LOCAL)) {
    struct sockaddr_storage ls;
    socklen_t ll = drv_to_os(&io->local, &ls);
    if (io->flags & LP2P_IO_REUSEPORT)
      reuse(fd);
    if (bind(fd, (struct sockaddr *)&ls, ll) != 0) {
      int e = errno;
      close(fd);
      return drv_errno_to_err(e);
    }
  }
  /* DESIGN 5b: the first SYN leaves with a low TTL (it opens our NAT's
   * mapping without reaching the far NAT); the kernel retransmits the SYN
   * with the TTL in force then, so the default is restored right after. */
  int min_ttl = io->ttl && io->addr.family == 4 && ignore_ttl_expiry(fd);
  if (io->ttl)
    set_ttl(fd, io->addr.family, io->ttl);
  int r = connect(fd, (struct sockaddr *)&ss, sl);
  int e = errno;
  if (io->ttl)
    set_ttl(fd, io->addr.family, -1);
  if (r != 0 && e != EINPROGRESS) {
    close(fd);
    return drv_errno_to_err(e);
  }
  fdslot *slot = loop_slot_new(d, fd, F_CORE, ref);
  if (!slot) {
    close(fd);
    return LP2P_ERR_NOMEM;
  }
  slot->min_ttl = (uint8_t)min_ttl;
  *h = (drv_handle)fd;
  if (r == 0) { /* connected at once (loopback may) */
    ttl_expiry_done(fd, slot);
    local_of(fd, local);
    return 1;
  }
  loop_set_interest(d, fd, LP2P_POLL_WRITE);
  return 0;
}

/* Writability of a connecting socket: its connect finished. */
void loop_connect_done(lp2p_driver *d, int fd, drv_ref ref) {
  int err = 0;
  socklen_t l = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
    err = errno;
  if (err == EINPROGRESS)
    return;
  if (err) {
    drv_core_connected(&d->core, ref, drv_errno_to_err(err), NULL);
    return;
  }
  ttl_expiry_done(fd, &d->fds[fd]);
  lp2p_sockaddr local;
  local_of(fd, &local);
  drv_core_connected(&d->core, ref, 0, local.family ? &local : NULL);
}

void loop_accept(lp2p_driver *d, int lfd, const drv_rec *l) {
  /* accepting grows the core's table: keep no pointer into it */
  const int raw = l->kind == DRV_K_RAW_LISTEN;
  const uint64_t lid = l->id;
  for (int i = 0; i < ACCEPTS_PER_READY; i++) {
    struct sockaddr_storage rs;
    socklen_t rl = sizeof rs;
    int fd = accept4(lfd, (struct sockaddr *)&rs, &rl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EINTR || e == ECONNABORTED)
        continue;
      /* Out of descriptors or buffers: the connection stays queued and
       * the listener ready, so just returning would spin (loop_fds.c). */
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        if (loop_fds_exhausted(d, lfd, e))
          continue;
      }
      return; /* EAGAIN: the backlog is empty */
    }
    loop_fds_accepted(d);
    tune_tcp(fd);
    lp2p_sockaddr remote, local;
    drv_from_os(&remote, &rs);
    local_of(fd, &local);
    drv_ref ref;
    if (drv_core_accept(&d->core, raw, lid, (drv_handle)fd, &remote, &local,
                        &ref) != 0)
      continue; /* refused by limits (the host counted it): closed */
    if (!loop_slot_new(d, fd, F_CORE, ref)) {
      drv_core_dead(&d->core, ref, LP2P_ERR_NOMEM);
      continue;
    }
    drv_core_flush(&d->core, ref);
  }
}

static int os_send(void *b, drv_handle h, const uint8_t *p, size_t len,
                   size_t *took) {
  (void)b;
  for (;;) {
    ssize_t w = send((int)h, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
      *took = (size_t)w;
      return (size_t)w < len ? LP2P_ERR_AGAIN : 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return LP2P_ERR_AGAIN;
    return drv_errno_to_err(errno);
  }
}

static lp2p_ssize os_recv(void *b, drv_handle h, uint8_t *buf, size_t cap) {
  (void)b;
  for (;;) {
    ssize_t r = recv((int)h, buf, cap, MSG_DONTWAIT);
    if (r >= 0)
      return (lp2p_ssize)r;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return LP2P_ERR_AGAIN;
    return drv_errno_to_err(errno);
  }
}

/* RAW_SHUTDOWN: the host drained the output; FIN now, keep reading. */
static int os_shutdown(void *b, drv_handle h) {
  (void)b;
  return shutdown((int)h, SHUT_WR) != 0 ? drv_errno_to_err(errno) : 0;
}

static void os_end(void *b, drv_handle h, int kind, int how, int peer_eof) {
  lp2p_driver *d = b;
  (void)kind;
  if (how == DRV_END_GRACEFUL && !peer_eof)
    loop_linger_start(d, (int)h);
  else /* the peer is gone already: nothing to linger for */
    loop_slot_close(d, (int)h, how == DRV_END_ABORT);
}

/* One datagram; its TTL rides along as ancillary data (IP_TTL, RFC 3542
 * IPV6_HOPLIMIT) so it applies to this datagram only. */
static void os_udp_send(void *b, drv_handle h, const lp2p_io *io) {
  (void)b;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&io->addr, &ss);
  struct iovec iov = {(void *)(uintptr_t)io->data, io->len};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &ss;
  mh.msg_namelen = sl;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cm;
  if (io->ttl) {
    int ttl = io->ttl;
    memset(&cm, 0, sizeof cm);
    mh.msg_control = cm.buf;
    mh.msg_controllen = sizeof cm.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = io->addr.family == 6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = io->addr.family == 6 ? IPV6_HOPLIMIT : IP_TTL;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
  }
  /* datagrams are best effort: a full buffer drops, like the network */
  (void)sendmsg((int)h, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static lp2p_ssize os_udp_recv(void *b, drv_handle h, lp2p_sockaddr *from,
                              uint8_t *buf, size_t cap) {
  (void)b;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  ssize_t r = recvfrom((int)h, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&ss,
                       &sl);
  if (r < 0)
    return LP2P_ERR_AGAIN;
  drv_from_os(from, &ss);
  return (lp2p_ssize)r;
}

static int os_udp_join(void *b, drv_handle h, const lp2p_sockaddr *group) {
  (void)b;
  struct ip_mreq mr;
  memset(&mr, 0, sizeof mr);
  memcpy(&mr.imr_multiaddr.s_addr, group->ip, 4);
  mr.imr_interface.s_addr = htonl(INADDR_ANY);
  if (setsockopt((int)h, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
    return drv_errno_to_err(errno);
  return 0;
}

static void os_want(void *b, drv_handle h, unsigned poll_events) {
  loop_set_interest(b, (int)h, poll_events);
}

static lp2p_tstamp os_now(void *b) { return ((lp2p_driver *)b)->now; }

/* Readiness is level-triggered: interest follows the host's (want), and a
 * short read means the kernel buffer is empty. */
const drv_backend loop_backend = {
    .listen = os_listen,
    .connect = os_connect,
    .send = os_send,
    .recv = os_recv,
    .consume = NULL,
    .shutdown = os_shutdown,
    .end = os_end,
    .udp_send = os_udp_send,
    .udp_recv = os_udp_recv,
    .udp_join = os_udp_join,
    .want = os_want,
    .now = os_now,
    .round = NULL,
    .reads_max = READS_PER_READY,
    .short_read_drains = 1,
};
