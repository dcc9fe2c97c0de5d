/* Host benchmarks (issue 4): lp2p_host nodes on loopback TCP, each behind
 * its own driver (include/lp2p/driver.h).
 *
 *  1. Sequential new connection + one ping, both hosts in one thread
 *     (so both sides share one core, like the crypto bound they are
 *     compared with): dial (TCP, multistream, Noise
 *     XX, yamux), wait for DIAL_DONE, ping once, wait for PING_RESULT,
 *     close gracefully and wait for PEER_DISCONNECTED; repeat. Reports
 *     connections per second (whole iterations) next to the handshake
 *     crypto bound of bench_util.h measured in the same run (target ratio
 *     >= 0.6), and the median dial -> ping-result latency (target <= 1 ms).
 *     The js-libp2p comparison of the same loop is in bench/perf.sh.
 *  2. Heap per idle connection at 10,000 concurrent connections on the
 *     epoll driver and 1,000 on poll: listener and dialer hosts in two
 *     processes, each allocating through its own lp2p_mem_counting; after
 *     every connection is up, identified both ways and quiet, live bytes /
 *     connections on each side (target <= 8 KiB). RLIMIT_NOFILE is
 *     raised for this.
 *
 * Modes (the default runs 1 and 2 and prints the table):
 *   bench_host --connect N   print one line
 *                            `connect n=N per_s=X median_ms=Y mean_ms=Z`
 *   bench_host --bounds      print one line `bounds aead_mib_s=X hs_per_s=Y`
 *                            (the AEAD and handshake crypto bounds of
 *                            bench_util.h) for bench/perf.sh
 * Environment: LP2P_BENCH_CONNECT (iterations, default 300),
 * LP2P_BENCH_EPOLL_CONNS (10000), LP2P_BENCH_POLL_CONNS (1000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "lp2p/driver.h"
#include "lp2p/host.h"

static lp2p_rng g_rng;

typedef struct node {
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_mem_counting mc;
  lp2p_privkey key;
  lp2p_maddr addr; /* listener: bound address with /p2p/<id> */
} node;

/* ---- setup --------------------------------------------------------------- */

static void node_init(node *n, const lp2p_backend *be, uint32_t conns) {
  memset(n, 0, sizeof *n);
  lp2p_mem_counting_init(&n->mc, NULL);
  bench_check(lp2p_key_generate(&n->key, LP2P_KEY_ED25519, 0, &g_rng),
              "lp2p_key_generate");
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &n->key;
  if (conns + 16 > cfg.conns_max)
    cfg.conns_max = conns + 16;
  /* every connection goes to the same peer here */
  if (conns + 16 > cfg.conns_per_peer_max)
    cfg.conns_per_peer_max = conns + 16;
  /* and room for all their base memory grants */
  uint64_t grants = (uint64_t)(conns + 16) * cfg.memory_per_conn_base * 2;
  if (grants > cfg.memory_max)
    cfg.memory_max = cfg.memory_per_peer_max = grants;
  /* idle connections are what we measure: no trimming */
  cfg.conns_high_water = cfg.conns_low_water = 0;
  bench_check(lp2p_host_new(&n->h, &cfg, &n->mc.mem, &g_rng, lp2p_clock_now()),
              "lp2p_host_new");
  bench_check(lp2p_driver_new(&n->d, n->h, be), "lp2p_driver_new");
}

static void node_free(node *n) {
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
  n->d = NULL;
  n->h = NULL;
}

/* Step both drivers without blocking and hand every event to `fn` (events
 * nobody waits for are dropped). */
typedef void (*event_fn)(void *ctx, node *who, const lp2p_host_event *ev);

static void step_both(node *a, node *b, event_fn fn, void *ctx) {
  node *ns[2] = {a, b};
  /* Two local nodes: never block (the other one may have work). One: wait
   * for readiness, at most 1 ms (the driver returns as soon as a socket is
   * ready). */
  int wait_ms = (a && b) ? 0 : 1;
  for (int i = 0; i < 2; i++) {
    if (!ns[i])
      continue;
    bench_check(lp2p_driver_step(ns[i]->d, wait_ms), "lp2p_driver_step");
    lp2p_host_event ev;
    while (lp2p_host_poll_event(ns[i]->h, &ev))
      if (fn)
        fn(ctx, ns[i], &ev);
  }
}

typedef struct listen_wait {
  int done;
  lp2p_maddr addr;
} listen_wait;

static void on_listen(void *ctx, node *who, const lp2p_host_event *ev) {
  listen_wait *w = ctx;
  (void)who;
  if (ev->kind == LP2P_HOST_EV_LISTENING) {
    lp2p_host_listener_addr(who->h, ev->u.listen.listener, &w->addr);
    w->done = 1;
  } else if (ev->kind == LP2P_HOST_EV_LISTEN_FAILED) {
    bench_die("listen failed: %s", lp2p_strerror(ev->err));
  }
}

/* Listen on 127.0.0.1, port chosen by the kernel; n->addr gets the
 * dialable address with /p2p/<id>. */
static void node_listen(node *n) {
  lp2p_maddr ma;
  const char *text = "/ip4/127.0.0.1/tcp/0";
  bench_check(lp2p_maddr_parse(&ma, text, strlen(text)), "lp2p_maddr_parse");
  bench_check(lp2p_host_listen(n->h, &ma, NULL), "lp2p_host_listen");
  lp2p_driver_flush(n->d);
  listen_wait w = {0};
  uint64_t t0 = bench_now_ns();
  while (!w.done) {
    step_both(n, NULL, on_listen, &w);
    if (bench_now_ns() - t0 > 5 * LP2P_NS_PER_S)
      bench_die("no LISTENING event");
  }
  char buf[512], id[LP2P_PEERID_TEXT_MAX + 1];
  size_t len, idlen;
  bench_check(lp2p_maddr_to_string(&w.addr, buf, sizeof buf - 80, &len),
              "lp2p_maddr_to_string");
  bench_check(lp2p_peerid_to_base58(lp2p_host_peer_id(n->h), id, sizeof id,
                                    &idlen),
              "lp2p_peerid_to_base58");
  snprintf(buf + len, sizeof buf - len, "/p2p/%s", id);
  bench_check(lp2p_maddr_parse(&n->addr, buf, strlen(buf)),
              "lp2p_maddr_parse (listen address)");
}

/* ---- 1. sequential connect + ping --------------------------------------- */

typedef struct cp_wait {
  uint64_t dial, conn;
  int dial_done, ping_done, closed;
  lp2p_peerid peer;
} cp_wait;

static void on_connect_ping(void *ctx, node *who, const lp2p_host_event *ev) {
  cp_wait *w = ctx;
  (void)who;
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_DONE:
    if (ev->u.dial.id == w->dial) {
      w->dial_done = 1;
      w->conn = ev->conn;
      w->peer = ev->peer;
    }
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (ev->u.dial.id == w->dial)
      bench_die("dial failed: %s", lp2p_strerror(ev->err));
    break;
  case LP2P_HOST_EV_PING_RESULT:
    if (w->dial_done && ev->conn == w->conn) {
      if (ev->err)
        bench_die("ping failed: %s", lp2p_strerror(ev->err));
      w->ping_done = 1;
    }
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (w->dial_done && ev->conn == w->conn)
      w->closed = 1;
    break;
  default:
    break;
  }
}

/* Wait (stepping both nodes) until *flag is set; die after 10 s. */
static void wait_flag(node *a, node *b, cp_wait *w, const int *flag,
                      const char *what) {
  uint64_t t0 = bench_now_ns();
  while (!*flag) {
    step_both(a, b, on_connect_ping, w);
    if (bench_now_ns() - t0 > 10 * LP2P_NS_PER_S)
      bench_die("timed out waiting for %s", what);
  }
}

typedef struct connect_result {
  double per_s, median_ms, mean_ms;
  bench_costs iter; /* whole iteration, us */
} connect_result;

/* `n` sequential iterations from b (dialer) to `to`, a listener that is
 * node a in this thread, or (a NULL) in another process. */
static void run_connect(node *a, node *b, const lp2p_maddr *to, int n,
                        connect_result *out) {
  bench_samples lat = {0};
  memset(out, 0, sizeof *out);
  uint64_t start = bench_now_ns();
  for (int i = 0; i < n; i++) {
    cp_wait w;
    memset(&w, 0, sizeof w);
    bench_stamp t0 = bench_stamp_now();
    bench_check(lp2p_host_dial(b->h, t0.wall_ns, to, LP2P_DIAL_FORCE, &w.dial),
                "lp2p_host_dial");
    lp2p_driver_flush(b->d);
    wait_flag(a, b, &w, &w.dial_done, "DIAL_DONE");
    bench_check(lp2p_host_ping(b->h, bench_now_ns(), &w.peer),
                "lp2p_host_ping");
    lp2p_driver_flush(b->d);
    wait_flag(a, b, &w, &w.ping_done, "PING_RESULT");
    uint64_t t_ping = bench_now_ns();
    bench_samples_add(&lat, (double)(t_ping - t0.wall_ns) / 1e6);
    bench_check(lp2p_host_conn_close(b->h, t_ping, w.conn),
                "lp2p_host_conn_close");
    lp2p_driver_flush(b->d);
    wait_flag(a, b, &w, &w.closed, "PEER_DISCONNECTED");
    bench_costs_add(&out->iter, 1, t0, bench_stamp_now());
  }
  uint64_t end = bench_now_ns();
  out->per_s = n / ((double)(end - start) / 1e9);
  out->mean_ms = (double)(end - start) / 1e6 / n;
  out->median_ms = bench_samples_median(&lat);
  bench_samples_free(&lat);
  /* let the listener finish its side of the last close */
  for (int i = 0; i < 100; i++)
    step_both(a, b, NULL, NULL);
}

/* ---- a listener in another process ----------------------------------------
 * Used where one process is not enough or not honest: 10,000 connections
 * need a descriptor each on both ends (the hard RLIMIT_NOFILE may not allow
 * both in one process), and latency is measured with each side on its own
 * core. Forked before the parent creates any host, so the two share
 * nothing. Pipe protocol, one line each: child -> parent "addr <maddr>";
 * parent -> child "measure"; child -> parent "mem <open> <identified>
 * <heap bytes per open connection>"; the parent closing its pipe ends the
 * child. */

typedef struct mem_wait {
  int done, failed, ident;
  int strict; /* a disconnect is an error */
} mem_wait;

static void on_mem(void *ctx, node *who, const lp2p_host_event *ev) {
  mem_wait *w = ctx;
  (void)who;
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_DONE:
    w->done++;
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (w->failed++ < 3) /* the first few reasons; the count follows */
      fprintf(stderr, "bench_host: dial failed: %s\n", lp2p_strerror(ev->err));
    break;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    w->ident++;
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (w->strict)
      bench_die("connection lost while idle after %d up, %d identified: %s",
                w->done, w->ident, lp2p_strerror(ev->err));
    break;
  default:
    break;
  }
}

/* Step one node (blocking up to 1 ms) and handle its events. */
static void step_one(node *n, mem_wait *w) {
  bench_check(lp2p_driver_step(n->d, 1), "lp2p_driver_step");
  lp2p_host_event ev;
  while (lp2p_host_poll_event(n->h, &ev))
    on_mem(w, n, &ev);
}

/* Nonblocking read of one line from `fd` into buf; 1 = got a line,
 * 0 = not yet, -1 = EOF or error. */
static int read_line(int fd, char *buf, size_t cap, size_t *len) {
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r == 0)
      return -1;
    if (r < 0)
      return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    if (c == '\n') {
      buf[*len] = 0;
      *len = 0;
      return 1;
    }
    if (*len + 1 < cap)
      buf[(*len)++] = c;
  }
}

static void write_all(int fd, const char *s) {
  size_t n = strlen(s);
  if (write(fd, s, n) != (ssize_t)n)
    bench_die("pipe write failed: %s", strerror(errno));
}

static void listener_child(const lp2p_backend *be, uint32_t conns, int rfd,
                           int wfd) {
  node a;
  node_init(&a, be, conns);
  node_listen(&a);
  size_t base = a.mc.live_bytes;
  char line[700];
  size_t len;
  int k = snprintf(line, sizeof line, "addr ");
  bench_check(lp2p_maddr_to_string(&a.addr, line + k,
                                   sizeof line - (size_t)k - 2, &len),
              "lp2p_maddr_to_string");
  line[(size_t)k + len] = '\n';
  line[(size_t)k + len + 1] = 0;
  write_all(wfd, line);
  mem_wait w = {0, 0, 0, 0};
  len = 0;
  for (;;) {
    step_one(&a, &w);
    int r = read_line(rfd, line, sizeof line, &len);
    if (r < 0)
      break;
    if (r > 0 && strcmp(line, "measure") == 0) {
      lp2p_host_stats st;
      lp2p_host_stats_get(a.h, &st);
      snprintf(line, sizeof line, "mem %u %d %.1f\n", st.conns_open, w.ident,
               (double)(a.mc.live_bytes - base) /
                   (st.conns_open ? st.conns_open : 1));
      write_all(wfd, line);
    }
  }
  node_free(&a);
}

typedef struct child {
  pid_t pid;
  int rfd, wfd; /* parent's ends */
  char buf[700];
  size_t len;
  lp2p_maddr addr;
} child;

static void child_start(child *c, const lp2p_backend *be, uint32_t conns) {
  int c2p[2], p2c[2];
  if (pipe(c2p) != 0 || pipe(p2c) != 0)
    bench_die("pipe: %s", strerror(errno));
  fflush(stdout);
  c->pid = fork();
  if (c->pid < 0)
    bench_die("fork: %s", strerror(errno));
  if (c->pid == 0) {
    close(c2p[0]);
    close(p2c[1]);
    fcntl(p2c[0], F_SETFL, O_NONBLOCK);
    listener_child(be, conns, p2c[0], c2p[1]);
    _exit(0);
  }
  close(c2p[1]);
  close(p2c[0]);
  c->rfd = c2p[0];
  c->wfd = p2c[1];
  c->len = 0;
  int r; /* blocking: the child prints its address first */
  while ((r = read_line(c->rfd, c->buf, sizeof c->buf, &c->len)) == 0)
    ;
  if (r < 0 || strncmp(c->buf, "addr ", 5) != 0 ||
      lp2p_maddr_parse(&c->addr, c->buf + 5, strlen(c->buf + 5)) != 0)
    bench_die("the listener process gave no address");
  fcntl(c->rfd, F_SETFL, O_NONBLOCK);
}

/* Ask the child for its numbers while stepping `self` (the dialer). */
static void child_measure(child *c, node *self, mem_wait *w, unsigned *open,
                          int *ident, double *bytes) {
  write_all(c->wfd, "measure\n");
  uint64_t t0 = bench_now_ns();
  for (;;) {
    step_one(self, w);
    int r = read_line(c->rfd, c->buf, sizeof c->buf, &c->len);
    if (r < 0)
      bench_die("the listener process died");
    if (r > 0) {
      if (sscanf(c->buf, "mem %u %d %lf", open, ident, bytes) != 3)
        bench_die("bad line from the listener process: %s", c->buf);
      return;
    }
    if (bench_now_ns() - t0 > 10 * LP2P_NS_PER_S)
      bench_die("the listener process does not answer");
  }
}

/* End the child; keep stepping `self` so both sides can close. */
static void child_stop(child *c, node *self, mem_wait *w) {
  close(c->wfd);
  int status = 0;
  uint64_t t0 = bench_now_ns();
  while (waitpid(c->pid, &status, WNOHANG) == 0) {
    if (self)
      step_one(self, w);
    else
      usleep(1000);
    if (bench_now_ns() - t0 > 30 * LP2P_NS_PER_S) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &status, 0);
    }
  }
  close(c->rfd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench_die("the listener process failed (status %d)", status);
}

/* ---- 1b. connect + ping with the listener in another process ------------ */

static void run_connect_2proc(int n, connect_result *out) {
  child c;
  child_start(&c, lp2p_backend_epoll(), 64);
  node b;
  node_init(&b, lp2p_backend_epoll(), 64);
  run_connect(NULL, &b, &c.addr, n / 10 + 1, out); /* warm-up */
  bench_costs_free(&out->iter);
  run_connect(NULL, &b, &c.addr, n, out);
  mem_wait w = {0, 0, 0, 0};
  child_stop(&c, &b, &w);
  node_free(&b);
}

/* ---- 2. memory at many idle connections ----------------------------------
 * The listener runs in a child process (above), the dialer here. The dialer
 * opens `n` connections (at most 64 pending at a time), waits until all are
 * up and identified, lets things settle, measures its heap and asks the
 * listener for its own. */

/* Raise the descriptor limit to at least `want`; returns the limit. */
static rlim_t raise_nofile(rlim_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur >= want)
    return rl.rlim_cur;
  struct rlimit nl = rl;
  nl.rlim_cur = want;
  if (nl.rlim_max < want)
    nl.rlim_max = want; /* needs privilege; fall back below */
  if (setrlimit(RLIMIT_NOFILE, &nl) != 0) {
    nl.rlim_cur = rl.rlim_max;
    nl.rlim_max = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nl) != 0)
      return rl.rlim_cur;
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

typedef struct mem_result {
  int conns;
  double listener_b, dialer_b; /* heap bytes per idle connection */
  double setup_s;
} mem_result;

static void run_memory(const lp2p_backend *be, int n, mem_result *out) {
  rlim_t lim = raise_nofile((rlim_t)n + 256);
  if (lim < (rlim_t)n + 64) {
    int m = lim > 192 ? (int)(lim - 64) : 128;
    fprintf(stderr,
            "bench_host: RLIMIT_NOFILE is %llu: %d connections instead "
            "of %d\n",
            (unsigned long long)lim, m, n);
    n = m;
  }
  child c;
  child_start(&c, be, (uint32_t)n);
  node b;
  node_init(&b, be, (uint32_t)n);
  size_t base = b.mc.live_bytes;
  mem_wait w = {0, 0, 0, 1};
  int issued = 0, last_done = 0;
  uint64_t t0 = bench_now_ns(), last_progress = t0;
  while (w.done + w.failed < n || w.ident < w.done) {
    while (issued < n && issued - (w.done + w.failed) < 64) {
      uint64_t id;
      bench_check(lp2p_host_dial(b.h, bench_now_ns(), &c.addr,
                                 LP2P_DIAL_FORCE, &id),
                  "lp2p_host_dial");
      issued++;
    }
    lp2p_driver_flush(b.d);
    step_one(&b, &w);
    uint64_t now = bench_now_ns();
    if (w.done != last_done) {
      last_done = w.done;
      last_progress = now;
    } else if (now - last_progress > 20 * LP2P_NS_PER_S) {
      bench_die("stuck at %d of %d connections", w.done, n);
    }
  }
  if (w.failed)
    bench_die("%d of %d dials failed", w.failed, n);
  unsigned l_open = 0;
  int l_ident = 0;
  double l_bytes = 0;
  for (;;) { /* until the listener has them all up and identified too */
    for (int i = 0; i < 50; i++)
      step_one(&b, &w);
    child_measure(&c, &b, &w, &l_open, &l_ident, &l_bytes);
    if ((int)l_open >= n && l_ident >= n)
      break;
    if (bench_now_ns() - last_progress > 60 * LP2P_NS_PER_S)
      bench_die("listener has %u of %d connections (%d identified)", l_open,
                n, l_ident);
  }
  out->setup_s = (double)(bench_now_ns() - t0) / 1e9;
  for (int i = 0; i < 100; i++) /* quiet period, then both measure */
    step_one(&b, &w);
  child_measure(&c, &b, &w, &l_open, &l_ident, &l_bytes);
  lp2p_host_stats st;
  lp2p_host_stats_get(b.h, &st);
  if ((int)st.conns_open != n || (int)l_open != n)
    bench_die("open connections: listener %u, dialer %u, expected %d", l_open,
              st.conns_open, n);
  out->conns = n;
  out->dialer_b = (double)(b.mc.live_bytes - base) / n;
  out->listener_b = l_bytes;
  w.strict = 0;
  child_stop(&c, &b, &w);
  node_free(&b);
}

/* ---- main ---------------------------------------------------------------- */

static void print_bounds(void) {
  lp2p_privkey k;
  bench_check(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &g_rng),
              "lp2p_key_generate");
  bench_rates aead = {{0}, {0}};
  bench_prims ps;
  memset(&ps, 0, sizeof ps);
  for (int r = 0; r < 3; r++) {
    bench_aead_run((size_t)128 << 20, &g_rng, &aead);
    bench_hs_bound_run(30, &k, &g_rng, &ps);
  }
  printf("bounds aead_mib_s=%.1f hs_per_s=%.1f\n",
         bench_samples_median(&aead.wall), 1e6 / bench_hs_bound_us(&ps, 0));
  bench_rates_free(&aead);
  bench_prims_free(&ps);
}

int main(int argc, char **argv) {
  lp2p_rng_system(&g_rng);
  if (argc == 2 && strcmp(argv[1], "--bounds") == 0) {
    print_bounds();
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--connect") == 0) {
    int n = atoi(argv[2]);
    if (n <= 0)
      bench_die("--connect needs a positive count");
    connect_result cr;
    run_connect_2proc(n, &cr);
    printf("connect n=%d per_s=%.1f median_ms=%.3f mean_ms=%.3f "
           "median_iter_ms=%.3f\n",
           n, cr.per_s, cr.median_ms, cr.mean_ms,
           bench_samples_median(&cr.iter.wall) / 1e3);
    bench_costs_free(&cr.iter);
    return 0;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: bench_host [--connect N | --bounds]\n");
    return 2;
  }

  int nconnect = (int)bench_env_long("LP2P_BENCH_CONNECT", 300);
  int nepoll = (int)bench_env_long("LP2P_BENCH_EPOLL_CONNS", 10000);
  int npoll = (int)bench_env_long("LP2P_BENCH_POLL_CONNS", 1000);
  printf("bench_host: lp2p %s, load average %.2f; loopback TCP; %d "
         "sequential connect+ping+close iterations (one thread, then two "
         "processes); idle heap at %d (epoll) and %d (poll) connections\n",
         lp2p_version(), bench_loadavg(), nconnect, nepoll, npoll);

  /* Rows are printed as soon as they are measured, so a failure later on
   * (exit status 2) keeps what was measured before it. */
  printf("\n");
  bench_table_header();
  fflush(stdout);

  /* 1. connect + ping in one thread, interleaved with the crypto bound */
  node a, b;
  node_init(&a, lp2p_backend_epoll(), 64);
  node_init(&b, lp2p_backend_epoll(), 64);
  node_listen(&a);
  connect_result cr;
  run_connect(&a, &b, &a.addr, nconnect / 10 + 1, &cr); /* warm-up */
  bench_samples_free(&cr.iter.wall);
  bench_samples_free(&cr.iter.cpu);
  bench_prims ps;
  memset(&ps, 0, sizeof ps);
  bench_costs iters = {{0}, {0}};
  bench_samples lat1 = {0};
  double per_s[5];
  for (int r = 0; r < 5; r++) {
    bench_hs_bound_run(20, &a.key, &g_rng, &ps);
    run_connect(&a, &b, &a.addr, nconnect / 5 > 0 ? nconnect / 5 : 1, &cr);
    per_s[r] = cr.per_s;
    bench_samples_add(&lat1, cr.median_ms);
    for (int i = 0; i < cr.iter.wall.n; i++) {
      bench_samples_add(&iters.wall, cr.iter.wall.v[i]);
      bench_samples_add(&iters.cpu, cr.iter.cpu.v[i]);
    }
    bench_samples_free(&cr.iter.wall);
    bench_samples_free(&cr.iter.cpu);
  }
  node_free(&b);
  node_free(&a);
  double bound = 1e6 / bench_hs_bound_us(&ps, 0);
  bench_row_ratio("conn+ping+close/s, 1 thread", bench_median(per_s, 5),
                  "crypto bound", bound, "/s", 0.60);
  bench_row_ratio("  same, median iteration",
                  1e6 / bench_samples_median(&iters.wall), "crypto bound",
                  bound, "/s", 0.60);
  bench_row_ratio("  same, thread CPU time",
                  1e6 / bench_samples_median(&iters.cpu), "crypto bound",
                  1e6 / bench_hs_bound_us(&ps, 1), "/s", 0.60);
  fflush(stdout);

  /* 1b. the same with the listener in its own process */
  connect_result c2;
  run_connect_2proc(nconnect, &c2);
  char ctx[96], ours[32];
  bench_row_ratio("conn+ping+close/s, 2 procs", c2.per_s, "crypto bound",
                  bound, "/s", 0.60);
  snprintf(ours, sizeof ours, "%.3f ms", c2.median_ms);
  snprintf(ctx, sizeof ctx, "1 thread: %.3f ms",
           bench_samples_median(&lat1));
  printf("%-30s %14s  %-30s %7s  %-12s %s\n", "dial->ping result, 2 procs",
         ours, ctx, "-", "<= 1 ms", c2.median_ms <= 1.0 ? "yes" : "NO");
  fflush(stdout);

  /* 2. memory: poll first (smaller), then epoll */
  mem_result m;
  run_memory(lp2p_backend_poll(), npoll, &m);
  snprintf(ctx, sizeof ctx, "%d conns, poll, %.1f s setup", m.conns,
           m.setup_s);
  bench_row_max("idle conn heap, listener", m.listener_b, ctx, "B", 8192);
  bench_row_max("idle conn heap, dialer", m.dialer_b, ctx, "B", 8192);
  fflush(stdout);
  run_memory(lp2p_backend_epoll(), nepoll, &m);
  snprintf(ctx, sizeof ctx, "%d conns, epoll, %.1f s setup", m.conns,
           m.setup_s);
  bench_row_max("idle conn heap, listener", m.listener_b, ctx, "B", 8192);
  bench_row_max("idle conn heap, dialer", m.dialer_b, ctx, "B", 8192);
  printf("(connect: iterations include identify both ways and a graceful "
         "close; the crypto bound counts the Noise XX handshake only. The "
         "js-libp2p comparison is in bench/perf.sh.)\n");
  bench_costs_free(&iters);
  bench_costs_free(&c2.iter);
  bench_samples_free(&lat1);
  bench_prims_free(&ps);
  return 0;
}
