/* The one generic driver loop (DESIGN.md section 4): sockets, the clock and
 * readiness on one side, an lp2p_host on the other, through the driver
 * core (drivers/core.h) whose socket verbs are loop_sock.c. It holds no
 * protocol logic. Per iteration the clock is read once; waits last until
 * the host's next deadline rounded UP to the next millisecond (never a
 * busy spin); readiness interest comes from the host (the core's want)
 * and recv_room; output goes out zero-copy from lp2p_host_out_peek.
 * What is here: the descriptor table (readiness tags and interest given to
 * the backend), readiness dispatch, watched application descriptors and
 * the public API. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/dns_files.h"
#include "drivers/gateway.h"
#include "drivers/loop_internal.h"
#include "lp2p/host.h"

/* ---- descriptor table ------------------------------------------------------ */

/* A readiness tag: the slot's generation, so readiness reported for a
 * descriptor closed (and maybe reused) earlier in the same round drops. */
static uint64_t tag_of(const fdslot *s, int fd) {
  return (uint64_t)s->gen << 32 | (uint64_t)(unsigned)fd;
}

fdslot *loop_slot(lp2p_driver *d, int fd) {
  if (fd < 0 || (size_t)fd >= d->nfds || d->fds[fd].kind == F_FREE)
    return NULL;
  return &d->fds[fd];
}

fdslot *loop_slot_new(lp2p_driver *d, int fd, uint8_t kind, drv_ref ref) {
  if ((size_t)fd >= d->nfds) {
    size_t n = d->nfds ? d->nfds : 64;
    while (n <= (size_t)fd)
      n *= 2;
    fdslot *nf = realloc(d->fds, n * sizeof(*nf));
    if (!nf)
      return NULL;
    memset(nf + d->nfds, 0, (n - d->nfds) * sizeof(*nf));
    d->fds = nf;
    d->nfds = n;
  }
  fdslot *s = &d->fds[fd];
  uint32_t gen = s->gen + 1;
  memset(s, 0, sizeof(*s));
  s->gen = gen;
  s->kind = kind;
  s->ref = ref;
  return s;
}

void loop_set_interest(lp2p_driver *d, int fd, unsigned want) {
  fdslot *s = loop_slot(d, fd);
  if (!s || want == s->registered)
    return;
  if (!s->registered && want)
    d->b->add(d->bs, fd, want, tag_of(s, fd));
  else if (!want)
    d->b->del(d->bs, fd);
  else
    d->b->mod(d->bs, fd, want, tag_of(s, fd));
  s->registered = want;
}

/* `rst`: abortive close. A descriptor without a slot (an accepted socket
 * the host refused) is just closed. */
void loop_slot_close(lp2p_driver *d, int fd, int rst) {
  fdslot *s = loop_slot(d, fd);
  if (s) {
    if (s->registered)
      d->b->del(d->bs, fd);
    if (s->kind == F_LINGER)
      d->nlinger--;
    if (s->paused_until) { /* a listener closed during its backoff */
      s->paused_until = 0;
      d->npaused--;
    }
    if (s->kind == F_WATCH) {
      d->nwatch--;
      s->kind = F_FREE;
      return; /* the application owns watched descriptors */
    }
    s->kind = F_FREE;
  }
  if (rst) {
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(fd);
}

static void drain(lp2p_driver *d) { drv_core_drain(&d->core); }

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
  drv_core_init(&d->core, h, &loop_backend, d);
  d->now = lp2p_clock_now();
  loop_fds_init(d); /* the spare descriptor for accept at EMFILE */
  lp2p_host_set_unix_time(h, lp2p_clock_unix_ns());
  drv_dns_configure(h); /* /etc/hosts + resolv.conf, once */
  drv_gateway_configure(h); /* the default route, for port mapping */
  *out = d;
  drain(d);
  return 0;
}

void lp2p_driver_free(lp2p_driver *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->nfds; i++)
    if (d->fds[i].kind != F_FREE)
      loop_slot_close(d, (int)i, 0);
  d->b->destroy(d->bs);
  loop_fds_fini(d);
  drv_core_fini(&d->core);
  free(d->fds);
  free(d->wq);
  free(d);
}

/* ---- watched application descriptors ------------------------------------- */

/* Readiness of a watched descriptor is queued once per slot until the
 * application polls it, so the queue is bounded by the watch count. */
static void watch_ready(lp2p_driver *d, int fd, fdslot *s, unsigned events) {
  if (!s->wev)
    d->wq[d->nwq++] = fd;
  s->wev |= events ? events : LP2P_POLL_READ;
}

int lp2p_driver_watch(lp2p_driver *d, int fd, unsigned events, uint64_t tag) {
  if (!d || fd < 0 || !(events & (LP2P_POLL_READ | LP2P_POLL_WRITE)))
    return LP2P_ERR_INVAL;
  if (loop_slot(d, fd))
    return LP2P_ERR_INVAL; /* already watched: unwatch first */
  int *nq = realloc(d->wq, (d->nwatch + 1) * sizeof *nq);
  if (!nq)
    return LP2P_ERR_NOMEM;
  d->wq = nq;
  fdslot *s = loop_slot_new(d, fd, F_WATCH, 0);
  if (!s)
    return LP2P_ERR_NOMEM;
  s->wtag = tag;
  unsigned want = events & (LP2P_POLL_READ | LP2P_POLL_WRITE);
  int rc = d->b->add(d->bs, fd, want, tag_of(s, fd));
  if (rc != 0) {
    s->kind = F_FREE;
    return rc;
  }
  d->nwatch++;
  s->registered = want;
  return 0;
}

int lp2p_driver_unwatch(lp2p_driver *d, int fd) {
  fdslot *s = d ? loop_slot(d, fd) : NULL;
  if (!s || s->kind != F_WATCH)
    return LP2P_ERR_NOT_FOUND;
  for (size_t i = 0; i < d->nwq; i++)
    if (d->wq[i] == fd) {
      memmove(&d->wq[i], &d->wq[i + 1], (d->nwq - i - 1) * sizeof *d->wq);
      d->nwq--;
      break;
    }
  s->wev = 0;
  loop_slot_close(d, fd, 0);
  return 0;
}

int lp2p_driver_poll_watch(lp2p_driver *d, uint64_t *tag, unsigned *events) {
  while (d && d->nwq) {
    int fd = d->wq[0];
    memmove(&d->wq[0], &d->wq[1], (d->nwq - 1) * sizeof *d->wq);
    d->nwq--;
    fdslot *s = loop_slot(d, fd);
    if (!s || s->kind != F_WATCH || !s->wev)
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

/* ---- readiness ------------------------------------------------------------- */

/* A core record's descriptor is ready. */
static void core_ready(lp2p_driver *d, int fd, drv_ref ref, unsigned events) {
  const drv_rec *r = drv_core_get(&d->core, ref);
  if (!r)
    return;
  switch (r->kind) {
  case DRV_K_LISTEN:
  case DRV_K_RAW_LISTEN:
    loop_accept(d, fd, r);
    break;
  case DRV_K_UDP:
    drv_core_udp_read(&d->core, ref, READS_PER_READY);
    break;
  case DRV_K_STREAM:
    if (r->connecting) {
      loop_connect_done(d, fd, ref);
      break;
    }
    if (events & LP2P_POLL_READ)
      drv_core_read(&d->core, ref);
    drv_core_flush(&d->core, ref); /* no-op if the read ended it */
    break;
  }
}

void lp2p_driver_ready(lp2p_driver *d, uint64_t tag, unsigned events) {
  const int fd = (int)(uint32_t)(tag & 0xffffffffu);
  fdslot *s = loop_slot(d, fd);
  if (!s || s->gen != (uint32_t)(tag >> 32))
    return; /* stale readiness for a slot closed earlier this round */
  switch (s->kind) {
  case F_WATCH:
    watch_ready(d, fd, s, events);
    return; /* the host has nothing new to drain */
  case F_LINGER:
    loop_linger_read(d, fd);
    break;
  case F_CORE:
    core_ready(d, fd, s->ref, events);
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
  lp2p_tstamp a = lp2p_host_next_timeout(d->h), b = loop_linger_expire(d);
  lp2p_tstamp c = loop_fds_expire(d); /* paused listeners come back */
  if (c < b)
    b = c;
  return a < b ? a : b;
}

/* Both clocks once per iteration: the monotonic one for deadlines and the
 * wall clock for what the host stamps or expires (peer-record seq, relay
 * reservations), so a wall-clock step is seen within one iteration. */
static void read_clocks(lp2p_driver *d) {
  d->now = lp2p_clock_now();
  lp2p_host_set_unix_time(d->h, lp2p_clock_unix_ns());
}

int lp2p_driver_service(lp2p_driver *d) {
  read_clocks(d);
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
  read_clocks(d); /* once per iteration */
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
