/* The one generic driver loop (DESIGN.md section 4): sockets, the clock and
 * readiness on one side, an lp2p_host on the other. It holds no protocol
 * logic. Per iteration the clock is read once; waits last until the host's
 * next deadline rounded UP to the next millisecond (never a busy spin);
 * readiness interest comes from the host (lp2p_host_conn_interest) and
 * recv_room; output goes out zero-copy from lp2p_host_out_peek. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h> /* SIOCOUTQ */
#endif

#include "drivers/dns_files.h"
#include "drivers/host_ops.h"
#include "drivers/sockaddr.h"
#include "lp2p/driver.h"
#include "lp2p/host.h"

#define READ_BUF_BYTES 65536
#define READS_PER_READY 8    /* fairness: bounded work per ready socket */
#define ACCEPTS_PER_READY 64 /* accept bursts are bounded */

/* K_LINGER: a gracefully closed connection. Its last bytes (a yamux
 * GoAway) are out; the FIN follows after the peer's EOF, or once the peer
 * has acknowledged all our bytes and GRACE_MIN_NS passed, at the latest
 * after GRACE_NS. That keeps "last frame" and "EOF" apart for a peer that
 * handles both in one read racily (js-libp2p may see the EOF first and
 * report no GoAway), without holding the socket longer: a peer that waits
 * for our FIN (lp2p itself) and peers that count sockets per peer see it
 * close within a few ms. Then input is read and discarded until the peer's
 * EOF (or LINGER_NS): closing a socket with unread input sends RST, which
 * would turn a graceful close into an abort for the peer. */
enum { K_FREE = 0, K_LISTEN, K_CONN, K_UDP, K_LINGER,
       K_RAW,        /* raw TCP connection (host raw id) */
       K_RAW_LISTEN, /* raw TCP listener */
       K_WATCH };    /* an application descriptor (lp2p_driver_watch) */
#define GRACE_MIN_NS (5 * LP2P_NS_PER_MS)
#define GRACE_NS (50 * LP2P_NS_PER_MS)
#define GRACE_POLL_NS (1 * LP2P_NS_PER_MS)
#define LINGER_NS (2 * LP2P_NS_PER_S)

typedef struct slot {
  int fd;
  uint8_t kind;
  uint8_t connecting; /* non-blocking connect in progress */
  uint8_t eof;        /* read side finished */
  unsigned registered; /* interest given to the backend */
  uint32_t gen;
  uint64_t id;        /* host conn or listener id */
  lp2p_tstamp linger_until; /* K_LINGER: next step (FIN, then close) */
  lp2p_tstamp grace_end;     /* K_LINGER: FIN at the latest */
  uint8_t fin_sent;          /* K_LINGER: shutdown(SHUT_WR) done */
  uint8_t *pend;      /* bytes read but not yet taken by the host */
  size_t pend_len;
  const drv_sock_ops *ops; /* K_CONN / K_RAW: which host calls answer */
  unsigned wev;       /* K_WATCH: readiness not yet polled (queued) */
  uint64_t wtag;      /* K_WATCH: the application's tag */
} slot;

/* Open-addressing map: key (host id << 1 | is_listener) -> slot index. */
typedef struct idmap {
  uint64_t *keys; /* 0 = empty */
  uint32_t *vals;
  size_t cap, n;
} idmap;

struct lp2p_driver {
  lp2p_host *h;
  const lp2p_backend *b;
  void *bs;
  slot *slots;
  size_t nslots, cap;
  uint32_t *free_list;
  size_t nfree;
  idmap map;
  lp2p_tstamp now;
  size_t nlinger;     /* K_LINGER slots */
  uint32_t *wq;       /* K_WATCH slots with readiness to report */
  size_t nwq, nwatch;
  uint8_t rbuf[READ_BUF_BYTES];
};

/* ---- id map ------------------------------------------------------------ */

static size_t hash64(uint64_t k, size_t cap) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

static int map_put(idmap *m, uint64_t key, uint32_t val);

static int map_grow(idmap *m) {
  idmap n = {0};
  n.cap = m->cap ? m->cap * 2 : 64;
  n.keys = calloc(n.cap, sizeof(*n.keys));
  n.vals = calloc(n.cap, sizeof(*n.vals));
  if (!n.keys || !n.vals) {
    free(n.keys);
    free(n.vals);
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i])
      map_put(&n, m->keys[i], m->vals[i]);
  free(m->keys);
  free(m->vals);
  *m = n;
  return 0;
}

static int map_put(idmap *m, uint64_t key, uint32_t val) {
  if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
    return LP2P_ERR_NOMEM;
  size_t i = hash64(key, m->cap);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i])
    m->n++;
  m->keys[i] = key;
  m->vals[i] = val;
  return 0;
}

static int map_get(const idmap *m, uint64_t key, uint32_t *val) {
  if (!m->cap)
    return 0;
  size_t i = hash64(key, m->cap);
  while (m->keys[i]) {
    if (m->keys[i] == key) {
      *val = m->vals[i];
      return 1;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return 0;
}

static void map_del(idmap *m, uint64_t key) {
  if (!m->cap)
    return;
  size_t i = hash64(key, m->cap);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i])
    return;
  m->keys[i] = 0;
  m->n--;
  /* backward-shift deletion keeps probe chains intact without tombstones */
  size_t j = i;
  for (;;) {
    j = (j + 1) & (m->cap - 1);
    if (!m->keys[j])
      break;
    size_t home = hash64(m->keys[j], m->cap);
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      m->keys[i] = m->keys[j];
      m->vals[i] = m->vals[j];
      m->keys[j] = 0;
      i = j;
    }
  }
}

/* Map key: host id plus its namespace (DRV_NS_*): conn, listener and raw
 * ids are unique only within their own table. */
static uint64_t key_of(uint64_t id, unsigned ns) { return id << 2 | ns; }

static unsigned ns_of(uint8_t kind) {
  switch (kind) {
  case K_CONN:
    return DRV_NS_CONN;
  case K_LISTEN:
    return DRV_NS_LISTENER;
  case K_WATCH:
    return DRV_NS_WATCH;
  default:
    return DRV_NS_RAW;
  }
}

/* Byte sockets whose readiness interest follows the host's. */
static int is_stream(uint8_t kind) { return kind == K_CONN || kind == K_RAW; }

/* ---- slots --------------------------------------------------------------- */

static uint64_t tag_of(const lp2p_driver *d, const slot *s) {
  return (uint64_t)s->gen << 32 | (uint64_t)(s - d->slots);
}

static slot *slot_new(lp2p_driver *d, int fd, uint8_t kind, uint64_t id) {
  uint32_t idx;
  if (d->nfree) {
    idx = d->free_list[--d->nfree];
  } else {
    if (d->nslots == d->cap) {
      size_t nc = d->cap ? d->cap * 2 : 64;
      slot *ns = realloc(d->slots, nc * sizeof(*ns));
      if (!ns)
        return NULL;
      d->slots = ns;
      uint32_t *nf = realloc(d->free_list, nc * sizeof(*nf));
      if (!nf)
        return NULL;
      d->free_list = nf;
      d->cap = nc;
    }
    idx = (uint32_t)d->nslots++;
    d->slots[idx].gen = 0;
  }
  slot *s = &d->slots[idx];
  uint32_t gen = s->gen + 1;
  memset(s, 0, sizeof(*s));
  s->gen = gen;
  s->fd = fd;
  s->kind = kind;
  s->id = id;
  s->ops = kind == K_RAW ? &drv_raw_ops : &drv_conn_ops;
  if (map_put(&d->map, key_of(id, ns_of(kind)), idx) != 0) {
    s->kind = K_FREE;
    d->free_list[d->nfree++] = idx;
    return NULL;
  }
  return s;
}

static slot *slot_find(lp2p_driver *d, uint64_t id, unsigned ns) {
  uint32_t idx;
  if (!map_get(&d->map, key_of(id, ns), &idx))
    return NULL;
  return &d->slots[idx];
}

/* Forget a slot and close its socket (`rst`: abortive close). */
static void slot_close(lp2p_driver *d, slot *s, int rst) {
  if (s->kind == K_FREE)
    return;
  if (s->kind == K_LINGER) {
    d->nlinger--;
    if (s->registered)
      d->b->del(d->bs, s->fd);
    close(s->fd);
    s->kind = K_FREE;
    d->free_list[d->nfree++] = (uint32_t)(s - d->slots);
    return;
  }
  if (s->registered || !is_stream(s->kind))
    d->b->del(d->bs, s->fd);
  if (rst) {
    struct linger lg = {1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (s->kind != K_WATCH) /* the application owns watched descriptors */
    close(s->fd);
  else
    d->nwatch--;
  map_del(&d->map, key_of(s->id, ns_of(s->kind)));
  free(s->pend);
  s->pend = NULL;
  s->kind = K_FREE;
  d->free_list[d->nfree++] = (uint32_t)(s - d->slots);
}

static void set_interest(lp2p_driver *d, slot *s, unsigned want) {
  if (want == s->registered)
    return;
  if (!s->registered && want)
    d->b->add(d->bs, s->fd, want, tag_of(d, s));
  else if (!want)
    d->b->del(d->bs, s->fd);
  else
    d->b->mod(d->bs, s->fd, want, tag_of(d, s));
  s->registered = want;
}

static void tune_tcp(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- connections ----------------------------------------------------------- */

static void conn_dead(lp2p_driver *d, slot *s, int err) {
  uint64_t id = s->id;
  const drv_sock_ops *ops = s->ops;
  slot_close(d, s, 0);
  ops->broken(d->h, id, err, d->now);
}

/* Writes what the host has for this connection, then sets interest. */
static int feed_pending(lp2p_driver *d, slot *s);

static void conn_flush(lp2p_driver *d, slot *s) {
  if (s->connecting) {
    set_interest(d, s, LP2P_POLL_WRITE);
    return;
  }
  /* bytes read earlier but refused for lack of room: offer them again as
   * soon as the host has room (it marks the conn dirty when room opens) */
  const drv_sock_ops *ops = s->ops;
  if (s->pend_len && ops->recv_room(d->h, s->id) > 0)
    feed_pending(d, s);
  if (s->kind == K_FREE)
    return;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = ops->out_peek(d->h, s->id, &len);
    if (!len)
      break;
    ssize_t w = send(s->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      conn_dead(d, s, drv_errno_to_err(errno));
      return;
    }
    ops->out_consume(d->h, s->id, (size_t)w);
    if ((size_t)w < len)
      break;
  }
  unsigned hi = ops->interest(d->h, s->id);
  unsigned want = 0;
  if ((hi & LP2P_INTEREST_READ) && !s->eof && ops->recv_room(d->h, s->id) > 0)
    want |= LP2P_POLL_READ;
  size_t left = 0;
  ops->out_peek(d->h, s->id, &left);
  if ((hi & LP2P_INTEREST_WRITE) || left)
    want |= LP2P_POLL_WRITE;
  set_interest(d, s, want);
}

/* Offers pending bytes to the host; returns 1 if all were taken. */
static int feed_pending(lp2p_driver *d, slot *s) {
  while (s->pend_len) {
    lp2p_ssize k = s->ops->feed(d->h, s->id, d->now, s->pend, s->pend_len);
    if (k <= 0)
      return 0;
    memmove(s->pend, s->pend + k, s->pend_len - (size_t)k);
    s->pend_len -= (size_t)k;
  }
  free(s->pend);
  s->pend = NULL;
  return 1;
}

static void conn_read(lp2p_driver *d, slot *s) {
  uint64_t id = s->id;
  for (int i = 0; i < READS_PER_READY && !s->eof; i++) {
    if (s->pend_len && !feed_pending(d, s))
      return;
    size_t room = s->ops->recv_room(d->h, id);
    if (!room)
      return;
    if (room > sizeof d->rbuf)
      room = sizeof d->rbuf;
    ssize_t r = recv(s->fd, d->rbuf, room, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        conn_dead(d, s, drv_errno_to_err(errno));
      return;
    }
    if (r == 0) {
      s->eof = 1;
      s->ops->eof(d->h, id, d->now);
      return;
    }
    lp2p_ssize k = s->ops->feed(d->h, id, d->now, d->rbuf, (size_t)r);
    if (k < 0) /* the host forgot the conn: it will send CLOSE/RESET */
      return;
    if ((size_t)k < (size_t)r) {
      s->pend = malloc((size_t)r - (size_t)k);
      if (!s->pend) {
        conn_dead(d, s, LP2P_ERR_NOMEM);
        return;
      }
      s->pend_len = (size_t)r - (size_t)k;
      memcpy(s->pend, d->rbuf + k, s->pend_len);
      return;
    }
    if ((size_t)r < room)
      return; /* drained the socket */
  }
}

static void conn_connected(lp2p_driver *d, slot *s) {
  int err = 0;
  socklen_t l = sizeof err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
    err = errno;
  if (err == EINPROGRESS)
    return;
  uint64_t id = s->id;
  const drv_sock_ops *ops = s->ops;
  if (err) {
    slot_close(d, s, 0);
    ops->failed(d->h, id, drv_errno_to_err(err), d->now);
    return;
  }
  s->connecting = 0;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  lp2p_sockaddr local;
  memset(&local, 0, sizeof local);
  if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) == 0)
    drv_from_os(&local, &ss);
  ops->established(d->h, id, local.family ? &local : NULL, d->now);
}

static void listener_accept(lp2p_driver *d, slot *ls) {
  /* slot_new may grow (realloc) the slot table: keep no pointer into it */
  const int lfd = ls->fd;
  const uint64_t lid = ls->id;
  const uint8_t kind = ls->kind == K_RAW_LISTEN ? K_RAW : K_CONN;
  const drv_sock_ops *ops = kind == K_RAW ? &drv_raw_ops : &drv_conn_ops;
  for (int i = 0; i < ACCEPTS_PER_READY; i++) {
    struct sockaddr_storage rs, lsa;
    socklen_t rl = sizeof rs, ll = sizeof lsa;
    int fd = accept4(lfd, (struct sockaddr *)&rs, &rl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return; /* EAGAIN, or EMFILE: retry on the next readiness */
    }
    tune_tcp(fd);
    lp2p_sockaddr remote, local;
    drv_from_os(&remote, &rs);
    memset(&local, 0, sizeof local);
    if (getsockname(fd, (struct sockaddr *)&lsa, &ll) == 0)
      drv_from_os(&local, &lsa);
    uint64_t conn = 0;
    if (ops->accepted(d->h, lid, &remote, &local, d->now, &conn) != 0) {
      close(fd); /* refused by limits: the host counted it */
      continue;
    }
    slot *s = slot_new(d, fd, kind, conn);
    if (!s) {
      close(fd);
      ops->broken(d->h, conn, LP2P_ERR_NOMEM, d->now);
      continue;
    }
    conn_flush(d, s);
  }
}

static void udp_read(lp2p_driver *d, slot *s) {
  for (int i = 0; i < READS_PER_READY; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t r = recvfrom(s->fd, d->rbuf, sizeof d->rbuf, MSG_DONTWAIT,
                         (struct sockaddr *)&ss, &sl);
    if (r < 0)
      return;
    lp2p_sockaddr from;
    drv_from_os(&from, &ss);
    lp2p_host_datagram_feed(d->h, s->id, &from, d->now, d->rbuf, (size_t)r);
  }
}

/* ---- I/O requests -------------------------------------------------------- */

static int open_socket(int family, int type) {
  int fd = socket(family == 6 ? AF_INET6 : AF_INET,
                  type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd;
}

static void reuse(int fd) {
  int one = 1;
  /* The listen port is shared with hole-punching dials (DESIGN 5b). */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
}

/* LISTEN (libp2p listener), RAW_LISTEN and UDP_OPEN: bind, listen, then
 * answer listen_done (libp2p) or raw_bound (raw sockets). */
static void io_listen(lp2p_driver *d, const lp2p_io *io, uint8_t kind) {
  const int udp = kind == K_UDP, raw = kind != K_LISTEN;
  const uint64_t id = raw ? io->raw : io->listener;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&io->addr, &ss);
  int fd = open_socket(io->addr.family, udp ? SOCK_DGRAM : SOCK_STREAM);
  int err = 0;
  if (fd < 0) {
    err = drv_errno_to_err(errno);
  } else {
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
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
        (!udp && listen(fd, 1024) != 0))
      err = drv_errno_to_err(errno);
  }
  slot *s = NULL;
  if (!err && !(s = slot_new(d, fd, kind, id)))
    err = LP2P_ERR_NOMEM;
  if (err) {
    if (fd >= 0)
      close(fd);
    if (raw)
      lp2p_host_raw_bound(d->h, id, err, NULL, d->now);
    else
      lp2p_host_listen_done(d->h, id, err, NULL);
    return;
  }
  lp2p_sockaddr bound;
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  drv_from_os(&bound, &ss);
  set_interest(d, s, LP2P_POLL_READ);
  if (raw)
    lp2p_host_raw_bound(d->h, id, 0, &bound, d->now);
  else
    lp2p_host_listen_done(d->h, id, 0, &bound);
}

/* The IP TTL (IPv4) or hop limit (IPv6) of later packets; 0 = the
 * system default (-1 asks the kernel for its route default). */
static void set_ttl(int fd, int family, int ttl) {
  if (family == 6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  else
    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
}

/* DIAL and RAW_DIAL: non-blocking connect, optionally from a bound local
 * port (REUSEPORT: beside our listener, DESIGN 5b). */
static void io_dial(lp2p_driver *d, const lp2p_io *io, uint8_t kind) {
  const drv_sock_ops *ops = kind == K_RAW ? &drv_raw_ops : &drv_conn_ops;
  const uint64_t id = kind == K_RAW ? io->raw : io->conn;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&io->addr, &ss);
  int fd = open_socket(io->addr.family, SOCK_STREAM);
  if (fd < 0) {
    ops->failed(d->h, id, drv_errno_to_err(errno), d->now);
    return;
  }
  tune_tcp(fd);
  if (io->flags & (LP2P_IO_REUSEPORT | LP2P_IO_BIND_LOCAL)) {
    struct sockaddr_storage ls;
    socklen_t ll = drv_to_os(&io->local, &ls);
    if (io->flags & LP2P_IO_REUSEPORT)
      reuse(fd);
    if (bind(fd, (struct sockaddr *)&ls, ll) != 0) {
      int e = errno;
      close(fd);
      ops->failed(d->h, id, drv_errno_to_err(e), d->now);
      return;
    }
  }
  /* DESIGN 5b: the first SYN leaves with a low TTL (it opens our NAT's
   * mapping without reaching the far NAT); the kernel retransmits the SYN
   * with the TTL in force then, so the default is restored right after. */
  if (io->ttl)
    set_ttl(fd, io->addr.family, io->ttl);
  int r = connect(fd, (struct sockaddr *)&ss, sl);
  int e = errno;
  if (io->ttl)
    set_ttl(fd, io->addr.family, -1);
  if (r != 0 && e != EINPROGRESS) {
    close(fd);
    ops->failed(d->h, id, drv_errno_to_err(e), d->now);
    return;
  }
  slot *s = slot_new(d, fd, kind, id);
  if (!s) {
    close(fd);
    ops->failed(d->h, id, LP2P_ERR_NOMEM, d->now);
    return;
  }
  s->connecting = 1;
  if (r == 0)
    conn_connected(d, s);
  else
    set_interest(d, s, LP2P_POLL_WRITE);
}

/* One datagram; its TTL rides along as ancillary data (IP_TTL, RFC 3542
 * IPV6_HOPLIMIT) so it applies to this datagram only. */
static void io_send_datagram(lp2p_driver *d, const lp2p_io *io) {
  slot *s = slot_find(d, io->raw, DRV_NS_RAW);
  if (!s || s->kind != K_UDP)
    return;
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
  (void)sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void io_udp_join(lp2p_driver *d, const lp2p_io *io) {
  slot *s = slot_find(d, io->raw, DRV_NS_RAW);
  if (!s || s->kind != K_UDP)
    return;
  struct ip_mreq mr;
  memset(&mr, 0, sizeof mr);
  memcpy(&mr.imr_multiaddr.s_addr, io->addr.ip, 4);
  mr.imr_interface.s_addr = htonl(INADDR_ANY);
  int err = 0;
  if (setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
    err = drv_errno_to_err(errno);
  lp2p_host_udp_joined(d->h, io->raw, err, d->now);
}

/* RAW_SHUTDOWN: the host drained the output; FIN now, keep reading. */
static void io_raw_shutdown(lp2p_driver *d, const lp2p_io *io) {
  slot *s = slot_find(d, io->raw, DRV_NS_RAW);
  if (s && s->kind == K_RAW && shutdown(s->fd, SHUT_WR) != 0)
    conn_dead(d, s, drv_errno_to_err(errno));
}

/* Graceful close: FIN now, then drain the peer's last bytes until its EOF
 * so the kernel never answers them with RST. The slot leaves the id map
 * (the host already forgot the conn). */
static void linger_start(lp2p_driver *d, slot *s) {
  if (s->eof) { /* the peer is gone already: nothing to wait for */
    slot_close(d, s, 0);
    return;
  }
  map_del(&d->map, key_of(s->id, 0));
  free(s->pend);
  s->pend = NULL;
  s->pend_len = 0;
  s->kind = K_LINGER;
  s->fin_sent = 0;
  s->linger_until = d->now + GRACE_MIN_NS;
  s->grace_end = d->now + GRACE_NS;
  d->nlinger++;
  set_interest(d, s, LP2P_POLL_READ);
}

/* 1 when the peer has acknowledged every byte we sent (Linux SIOCOUTQ:
 * unsent + unacknowledged bytes); without that query, after the grace. */
static int output_acked(const slot *s) {
#ifdef SIOCOUTQ
  int q = 0;
  return ioctl(s->fd, SIOCOUTQ, &q) == 0 && q == 0;
#else
  (void)s;
  return 0;
#endif
}

static void linger_fin(lp2p_driver *d, slot *s) {
  s->fin_sent = 1;
  s->linger_until = d->now + LINGER_NS;
  if (shutdown(s->fd, SHUT_WR) != 0)
    slot_close(d, s, 0);
}

static void linger_read(lp2p_driver *d, slot *s) {
  for (int i = 0; i < READS_PER_READY; i++) {
    ssize_t r = recv(s->fd, d->rbuf, sizeof d->rbuf, MSG_DONTWAIT);
    if (r > 0)
      continue;
    if (r < 0 && (errno == EINTR))
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r == 0 && !s->fin_sent)
      shutdown(s->fd, SHUT_WR); /* the peer closed first: answer, done */
    slot_close(d, s, 0); /* EOF or error: done */
    return;
  }
}

/* Closes lingering sockets whose time is up; returns the next deadline. */
static lp2p_tstamp linger_expire(lp2p_driver *d) {
  lp2p_tstamp next = LP2P_TSTAMP_NONE;
  if (!d->nlinger)
    return next;
  for (size_t i = 0; i < d->nslots; i++) {
    slot *s = &d->slots[i];
    if (s->kind != K_LINGER)
      continue;
    if (s->linger_until <= d->now) {
      if (s->fin_sent)
        slot_close(d, s, 0);
      else if (output_acked(s) || s->grace_end <= d->now)
        linger_fin(d, s);
      else /* our last bytes are still on their way: look again soon */
        s->linger_until = d->now + GRACE_POLL_NS < s->grace_end
                              ? d->now + GRACE_POLL_NS
                              : s->grace_end;
    }
    if (s->kind == K_LINGER && s->linger_until < next)
      next = s->linger_until;
  }
  return next;
}

static void handle_io(lp2p_driver *d, const lp2p_io *io) {
  slot *s;
  switch (io->kind) {
  case LP2P_IO_LISTEN:
    io_listen(d, io, K_LISTEN);
    break;
  case LP2P_IO_UDP_OPEN:
    io_listen(d, io, K_UDP);
    break;
  case LP2P_IO_RAW_LISTEN:
    io_listen(d, io, K_RAW_LISTEN);
    break;
  case LP2P_IO_DIAL:
    io_dial(d, io, K_CONN);
    break;
  case LP2P_IO_RAW_DIAL:
    io_dial(d, io, K_RAW);
    break;
  case LP2P_IO_CLOSE:
    if ((s = slot_find(d, io->conn, 0)))
      linger_start(d, s);
    break;
  case LP2P_IO_RESET:
    if ((s = slot_find(d, io->conn, 0)))
      slot_close(d, s, 1);
    break;
  case LP2P_IO_UNLISTEN:
    if ((s = slot_find(d, io->listener, DRV_NS_LISTENER)))
      slot_close(d, s, 0);
    break;
  case LP2P_IO_SEND_DATAGRAM:
    io_send_datagram(d, io);
    break;
  case LP2P_IO_UDP_JOIN:
    io_udp_join(d, io);
    break;
  case LP2P_IO_RAW_SHUTDOWN:
    io_raw_shutdown(d, io);
    break;
  case LP2P_IO_RAW_CLOSE:
  case LP2P_IO_RAW_RESET:
    /* a raw connection closes only after both FINs (host_raw.c), so a
     * plain close() never discards unread input into an RST */
    if ((s = slot_find(d, io->raw, DRV_NS_RAW)))
      slot_close(d, s, io->kind == LP2P_IO_RAW_RESET && s->kind == K_RAW);
    break;
  }
}

/* Drain order (DESIGN.md 2): output until empty, then I/O requests; repeat
 * while either produced work. Events are left for the application. */
static void drain(lp2p_driver *d) {
  for (int progress = 1; progress;) {
    progress = 0;
    uint64_t c;
    while (lp2p_host_poll_dirty(d->h, &c)) {
      slot *s = slot_find(d, c, DRV_NS_CONN);
      if (s)
        conn_flush(d, s);
      progress = 1;
    }
    while (lp2p_host_raw_poll_dirty(d->h, &c)) {
      slot *s = slot_find(d, c, DRV_NS_RAW);
      if (s && s->kind == K_RAW)
        conn_flush(d, s);
      progress = 1;
    }
    lp2p_io io;
    while (lp2p_host_poll_io(d->h, &io)) {
      handle_io(d, &io);
      progress = 1;
    }
  }
}

/* ---- public ---------------------------------------------------------------- */

int lp2p_driver_new(lp2p_driver **out, lp2p_host *h, const lp2p_backend *b) {
  lp2p_driver *d = calloc(1, sizeof(*d));
  if (!d)
    return LP2P_ERR_NOMEM;
  d->h = h;
  d->b = b;
  int rc = b->init(&d->bs);
  if (rc != 0) {
    free(d);
    return rc;
  }
  d->now = lp2p_clock_now();
  lp2p_host_set_unix_time(h, lp2p_clock_unix_ns());
  drv_dns_configure(h); /* /etc/hosts + resolv.conf, once */
  *out = d;
  drain(d);
  return 0;
}

void lp2p_driver_free(lp2p_driver *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->nslots; i++)
    if (d->slots[i].kind != K_FREE)
      slot_close(d, &d->slots[i], 0);
  d->b->destroy(d->bs);
  free(d->slots);
  free(d->free_list);
  free(d->map.keys);
  free(d->map.vals);
  free(d->wq);
  free(d);
}

/* ---- watched application descriptors ------------------------------------- */

/* Readiness of a watched descriptor is queued once per slot until the
 * application polls it, so the queue is bounded by the watch count. */
static void watch_ready(lp2p_driver *d, slot *s, unsigned events) {
  if (!s->wev)
    d->wq[d->nwq++] = (uint32_t)(s - d->slots);
  s->wev |= events ? events : LP2P_POLL_READ;
}

int lp2p_driver_watch(lp2p_driver *d, int fd, unsigned events, uint64_t tag) {
  if (!d || fd < 0 || !(events & (LP2P_POLL_READ | LP2P_POLL_WRITE)))
    return LP2P_ERR_INVAL;
  if (slot_find(d, (uint64_t)fd, DRV_NS_WATCH))
    return LP2P_ERR_INVAL; /* already watched: unwatch first */
  uint32_t *nq = realloc(d->wq, (d->nwatch + 1) * sizeof *nq);
  if (!nq)
    return LP2P_ERR_NOMEM;
  d->wq = nq;
  slot *s = slot_new(d, fd, K_WATCH, (uint64_t)fd);
  if (!s)
    return LP2P_ERR_NOMEM;
  d->nwatch++;
  s->wtag = tag;
  unsigned want = events & (LP2P_POLL_READ | LP2P_POLL_WRITE);
  int rc = d->b->add(d->bs, fd, want, tag_of(d, s));
  if (rc != 0) {
    s->registered = 0;
    slot_close(d, s, 0);
    return rc;
  }
  s->registered = want;
  return 0;
}

int lp2p_driver_unwatch(lp2p_driver *d, int fd) {
  slot *s = d && fd >= 0 ? slot_find(d, (uint64_t)fd, DRV_NS_WATCH) : NULL;
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  uint32_t idx = (uint32_t)(s - d->slots);
  for (size_t i = 0; i < d->nwq; i++)
    if (d->wq[i] == idx) {
      memmove(&d->wq[i], &d->wq[i + 1], (d->nwq - i - 1) * sizeof *d->wq);
      d->nwq--;
      break;
    }
  s->wev = 0;
  slot_close(d, s, 0);
  return 0;
}

int lp2p_driver_poll_watch(lp2p_driver *d, uint64_t *tag, unsigned *events) {
  while (d && d->nwq) {
    slot *s = &d->slots[d->wq[0]];
    memmove(&d->wq[0], &d->wq[1], (d->nwq - 1) * sizeof *d->wq);
    d->nwq--;
    if (s->kind != K_WATCH || !s->wev)
      continue;
    if (tag)
      *tag = s->wtag;
    if (events)
      *events = s->wev;
    s->wev = 0;
    return 1;
  }
  return 0;
}

void lp2p_driver_ready(lp2p_driver *d, uint64_t tag, unsigned events) {
  size_t idx = (size_t)(tag & 0xffffffffu);
  if (idx >= d->nslots)
    return;
  slot *s = &d->slots[idx];
  if (s->kind == K_FREE || s->gen != (uint32_t)(tag >> 32))
    return; /* stale readiness for a slot closed earlier this round */
  switch (s->kind) {
  case K_LISTEN:
  case K_RAW_LISTEN:
    listener_accept(d, s);
    break;
  case K_WATCH:
    watch_ready(d, s, events);
    return; /* the host has nothing new to drain */
  case K_UDP:
    udp_read(d, s);
    break;
  case K_LINGER:
    linger_read(d, s);
    break;
  case K_CONN:
  case K_RAW:
    if (s->connecting) {
      conn_connected(d, s);
      break;
    }
    if (events & LP2P_POLL_READ)
      conn_read(d, s);
    if (is_stream(s->kind) && s->gen == (uint32_t)(tag >> 32))
      conn_flush(d, s);
    break;
  }
  drain(d);
}

static int ms_until(lp2p_tstamp now, lp2p_tstamp t) {
  if (t == LP2P_TSTAMP_NONE)
    return -1;
  if (t <= now)
    return 0;
  uint64_t ms = (t - now + LP2P_NS_PER_MS - 1) / LP2P_NS_PER_MS; /* round up */
  return ms > 3600000 ? 3600000 : (int)ms;
}

static lp2p_tstamp next_deadline(lp2p_driver *d) {
  lp2p_tstamp a = lp2p_host_next_timeout(d->h), b = linger_expire(d);
  return a < b ? a : b;
}

int lp2p_driver_service(lp2p_driver *d) {
  d->now = lp2p_clock_now();
  if (lp2p_host_next_timeout(d->h) <= d->now)
    lp2p_host_handle_timeout(d->h, d->now);
  drain(d);
  return ms_until(d->now, next_deadline(d));
}

void lp2p_driver_flush(lp2p_driver *d) { drain(d); }

size_t lp2p_driver_closing(const lp2p_driver *d) { return d->nlinger; }

int lp2p_driver_step(lp2p_driver *d, int max_wait_ms) {
  drain(d);
  int wait = ms_until(d->now, next_deadline(d));
  if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
    wait = max_wait_ms;
  lp2p_poll_ready ready[128];
  int n = d->b->wait(d->bs, wait, ready, 128);
  if (n < 0)
    return n;
  d->now = lp2p_clock_now(); /* once per iteration */
  for (int i = 0; i < n; i++)
    lp2p_driver_ready(d, ready[i].tag, ready[i].events);
  if (lp2p_host_next_timeout(d->h) <= d->now)
    lp2p_host_handle_timeout(d->h, d->now);
  drain(d);
  return 0;
}

int lp2p_driver_run(lp2p_host *h, const lp2p_backend *b, volatile int *stop) {
  lp2p_driver *d;
  int rc = lp2p_driver_new(&d, h, b);
  if (rc != 0)
    return rc;
  while (!*stop && rc == 0) {
    rc = lp2p_driver_step(d, 1000);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(h, &ev))
      ;
  }
  lp2p_driver_free(d);
  return rc;
}
