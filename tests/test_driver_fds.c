/* Accept at the descriptor limit (issue 9), on the epoll and the poll
 * backend. A forked child lowers RLIMIT_NOFILE and runs a listener host;
 * the parent opens more connections than the child has descriptors. The
 * child must not spin (its loop iterations over a fixed interval, idle and
 * under the attack, stay far below what a loop woken at once by a ready
 * listener does: tens of thousands), a new connection at the limit must be
 * refused (EOF or RST) instead of hanging in the backlog, the refusals are
 * counted and logged, and once the attackers go an honest peer's connect +
 * ping works. Also lp2p_driver_fit_limits: conns_max fits under the limit.
 *
 * The child is driven over a pipe it watches in its own loop
 * (lp2p_driver_watch): 'c' zeroes its iteration count, 'r' asks for a
 * report, 'q' ends it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"

#define CHILD_FDS 48      /* the child's RLIMIT_NOFILE */
#define ATTACKERS 120     /* well above it */
#define WINDOW_MS 500     /* iterations are counted over this */
#define ITER_BOUND 100    /* idle: ~5 (100 ms waits); spinning: >10,000 */
#define STEP_WAIT_MS 100

typedef struct report {
  uint64_t steps;
  uint64_t refused;     /* lp2p_driver_stats.accepts_refused_fds */
  uint64_t pauses;
  uint64_t log_lines;   /* info lines with reason=fd-limit */
  uint32_t conns;
} report;

/* ---- the child: a listener at a low fd limit ----------------------------- */

static uint64_t fd_log_lines;

static void count_log(void *ud, int level, const char *msg) {
  (void)ud;
  if (level == LP2P_LOG_INFO && strstr(msg, "reason=fd-limit"))
    fd_log_lines++;
}

/* Opens /dev/null until EMFILE; returns how many (kept in fill[]). */
static int fill_fds(int *fill, int max) {
  int n = 0;
  while (n < max && (fill[n] = open("/dev/null", O_RDONLY)) >= 0)
    n++;
  return n;
}

/* `nospare`: start the driver with no descriptor left, so it has no spare
 * and must fall back to pausing the listener (then free a few for the
 * listener and two accepts). */
static int child_run(const lp2p_backend *be, int nospare, int cmd, int rep) {
  struct rlimit rl = {CHILD_FDS, CHILD_FDS};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 10;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_privkey key;
  lp2p_rng_chacha_init(&st, 901, 0, &rng);
  if (lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &rng) != 0)
    return 11;
  lp2p_log log = {count_log, NULL};
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.log = &log;
  /* attackers that never handshake stay for the whole test: the limit
   * that is hit is the kernel's, not the host's handshake timeout */
  cfg.handshake_timeout_ns = 120 * LP2P_NS_PER_S;
  lp2p_host *h;
  lp2p_driver *d;
  if (lp2p_host_new(&h, &cfg, NULL, &rng, lp2p_clock_now()) != 0)
    return 12;
  int fill[CHILD_FDS], nfill = 0;
  if (nospare) {
    nfill = fill_fds(fill, CHILD_FDS);
    if (nfill < 4)
      return 19;
    if (be == lp2p_backend_epoll())
      close(fill[--nfill]); /* for the epoll descriptor only */
  }
  if (lp2p_driver_new(&d, h, be) != 0)
    return 13;
  for (int i = 0; nospare && i < 3; i++)
    close(fill[--nfill]); /* the listener and two accepts */
  lp2p_driver_set_log(d, &log);
  lp2p_maddr ma;
  const char *text = "/ip4/127.0.0.1/tcp/0";
  if (lp2p_maddr_parse(&ma, text, strlen(text)) != 0 ||
      lp2p_host_listen(h, &ma, NULL) != 0)
    return 14;
  if (lp2p_driver_watch(d, cmd, LP2P_POLL_READ, 7) != 0)
    return 15;
  uint64_t steps = 0;
  int rc = -1;
  while (rc < 0) {
    if (lp2p_driver_step(d, STEP_WAIT_MS) != 0) {
      rc = 16;
      break;
    }
    steps++;
    lp2p_host_event ev;
    while (lp2p_host_poll_event(h, &ev)) {
      if (ev.kind != LP2P_HOST_EV_LISTENING)
        continue;
      lp2p_maddr bound;
      lp2p_sockaddr sa;
      if (lp2p_host_listener_addr(h, ev.u.listen.listener, &bound) != 0 ||
          lp2p_sockaddr_from_maddr(&sa, &bound) != 0 ||
          write(rep, &sa.port, sizeof sa.port) != sizeof sa.port)
        rc = 17;
    }
    uint64_t tag;
    unsigned events;
    while (rc < 0 && lp2p_driver_poll_watch(d, &tag, &events)) {
      char c;
      if (read(cmd, &c, 1) != 1 || c == 'q') {
        rc = 0;
      } else if (c == 'c') {
        steps = 0;
      } else if (c == 'r') {
        lp2p_driver_stats ds;
        lp2p_host_stats hs;
        lp2p_driver_stats_get(d, &ds);
        lp2p_host_stats_get(h, &hs);
        report r = {steps, ds.accepts_refused_fds, ds.accept_pauses,
                    fd_log_lines, hs.conns};
        if (write(rep, &r, sizeof r) != sizeof r)
          rc = 18;
      }
    }
  }
  lp2p_driver_unwatch(d, cmd);
  lp2p_driver_free(d);
  lp2p_host_free(h);
  while (nfill > 0)
    close(fill[--nfill]);
  return rc;
}

/* ---- the parent: attacker and honest peer -------------------------------- */

/* Read exactly n bytes within 10 s (a dead child must not hang the test). */
static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1)
      return -1;
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

static int ask(int cmd, int rep, report *r) {
  return write(cmd, "r", 1) == 1 ? read_full(rep, r, sizeof *r) : -1;
}

/* The child's loop iterations over WINDOW_MS; UINT64_MAX on failure. */
static uint64_t iterations(int cmd, int rep) {
  report r;
  if (write(cmd, "c", 1) != 1)
    return UINT64_MAX;
  usleep(WINDOW_MS * 1000);
  return ask(cmd, rep, &r) == 0 ? r.steps : UINT64_MAX;
}

static int tcp_connect(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    close(s);
    return -1;
  }
  return s;
}

/* 1 if the listener answered a fresh connection with EOF or RST, 0 if
 * it sent the handshake (accepted) or nothing within 10 s (hung in the
 * backlog: the defect). */
static int refused_promptly(uint16_t port) {
  int s = tcp_connect(port);
  if (s < 0)
    return errno == ECONNREFUSED || errno == ECONNRESET;
  struct timeval tv = {10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[64];
  ssize_t r = recv(s, buf, sizeof buf, 0);
  int e = errno;
  close(s);
  return r == 0 || (r < 0 && e == ECONNRESET);
}

/* An honest peer on the epoll driver: dial (retried while the child still
 * frees the attackers' descriptors) and ping. 1 on a pong. */
static int honest_ping(uint16_t port) {
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_privkey key;
  lp2p_rng_chacha_init(&st, 902, 0, &rng);
  assert_int_equal(lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  lp2p_host *h;
  lp2p_driver *d;
  assert_int_equal(lp2p_host_new(&h, &cfg, NULL, &rng, lp2p_clock_now()), 0);
  assert_int_equal(lp2p_driver_new(&d, h, lp2p_backend_epoll()), 0);
  char text[64];
  snprintf(text, sizeof text, "/ip4/127.0.0.1/tcp/%u", port);
  lp2p_maddr ma;
  assert_int_equal(lp2p_maddr_parse(&ma, text, strlen(text)), 0);
  int pinged = 0, up = 0;
  lp2p_peerid peer;
  lp2p_host_event ev;
  lp2p_tstamp end = lp2p_clock_now() + 15 * LP2P_NS_PER_S;
  while (!up && lp2p_clock_now() < end) {
    uint64_t dial;
    if (lp2p_host_dial(h, lp2p_clock_now(), &ma, LP2P_DIAL_FORCE, &dial))
      break;
    int done = 0;
    while (!done && lp2p_clock_now() < end) {
      lp2p_driver_step(d, 10);
      while (lp2p_host_poll_event(h, &ev)) {
        if (ev.kind == LP2P_HOST_EV_DIAL_DONE && ev.u.dial.id == dial) {
          done = up = 1;
          peer = ev.peer;
        }
        if (ev.kind == LP2P_HOST_EV_DIAL_FAILED && ev.u.dial.id == dial)
          done = 1;
      }
    }
    if (!up)
      usleep(100000);
  }
  if (up && lp2p_host_ping(h, lp2p_clock_now(), &peer) == 0) {
    while (!pinged && lp2p_clock_now() < end) {
      lp2p_driver_step(d, 10);
      while (lp2p_host_poll_event(h, &ev))
        if (ev.kind == LP2P_HOST_EV_PING_RESULT)
          pinged = ev.err == 0 ? 1 : -1;
    }
  }
  lp2p_driver_free(d);
  lp2p_host_free(h);
  return pinged == 1;
}

static void run_fds(const lp2p_backend *be) {
  int cmd[2], rep[2];
  assert_int_equal(pipe(cmd), 0);
  assert_int_equal(pipe(rep), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(cmd[1]);
    close(rep[0]);
    _exit(child_run(be, 0, cmd[0], rep[1]));
  }
  close(cmd[0]);
  close(rep[1]);
  uint16_t port = 0;
  int port_ok = read_full(rep[0], &port, sizeof port) == 0 && port;

  uint64_t idle = port_ok ? iterations(cmd[1], rep[0]) : UINT64_MAX;

  /* the attack: more connections than the child has descriptors; the
   * kernel completes them all (backlog 1024), the child accepts until
   * EMFILE and must refuse the rest */
  int att[ATTACKERS];
  int natt = 0;
  for (int i = 0; port_ok && i < ATTACKERS; i++)
    if ((att[natt] = tcp_connect(port)) >= 0)
      natt++;
  report r;
  memset(&r, 0, sizeof r);
  for (int i = 0; port_ok && i < 100; i++) { /* wait for the first refusal */
    if (ask(cmd[1], rep[0], &r) != 0 || r.refused)
      break;
    usleep(50000);
  }
  const uint64_t refused_in_attack = r.refused;
  const uint32_t conns_held = r.conns;
  uint64_t attacked = port_ok ? iterations(cmd[1], rep[0]) : UINT64_MAX;
  int fresh_refused = port_ok && refused_promptly(port);
  report after;
  memset(&after, 0, sizeof after);
  if (port_ok)
    ask(cmd[1], rep[0], &after);

  for (int i = 0; i < natt; i++)
    close(att[i]);
  int pinged = port_ok && honest_ping(port);

  /* end the child before any assertion: never leave it behind */
  if (write(cmd[1], "q", 1) != 1 || !port_ok)
    kill(pid, SIGKILL);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  close(cmd[1]);
  close(rep[0]);
  print_message("%s: idle %llu, attacked %llu iterations / %d ms; %u conns "
                "held, %llu refused, %llu pauses, %llu log lines\n",
                be->name, (unsigned long long)idle,
                (unsigned long long)attacked, WINDOW_MS, conns_held,
                (unsigned long long)after.refused,
                (unsigned long long)after.pauses,
                (unsigned long long)after.log_lines);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_true(port_ok);
  assert_int_equal(natt, ATTACKERS);
  assert_true(idle < ITER_BOUND);
  assert_true(attacked < ITER_BOUND);      /* no spin at EMFILE */
  assert_true(refused_in_attack > 0);      /* EMFILE was reached */
  assert_true(conns_held < CHILD_FDS);     /* ... by the attackers */
  assert_true(fresh_refused);              /* refused, not left hanging */
  assert_true(after.refused > refused_in_attack);
  assert_true(after.log_lines > 0);
  assert_true(pinged);                     /* honest peers get in again */
}

/* Without a spare descriptor (the driver started at the limit) the
 * listener is paused with a backoff instead: still no spin. Peers then
 * wait in the backlog, which is why the spare comes first. */
static void run_nospare(const lp2p_backend *be) {
  int cmd[2], rep[2];
  assert_int_equal(pipe(cmd), 0);
  assert_int_equal(pipe(rep), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(cmd[1]);
    close(rep[0]);
    _exit(child_run(be, 1, cmd[0], rep[1]));
  }
  close(cmd[0]);
  close(rep[1]);
  uint16_t port = 0;
  int port_ok = read_full(rep[0], &port, sizeof port) == 0 && port;
  int att[10], natt = 0;
  for (int i = 0; port_ok && i < 10; i++)
    if ((att[natt] = tcp_connect(port)) >= 0)
      natt++;
  report r;
  memset(&r, 0, sizeof r);
  for (int i = 0; port_ok && i < 100; i++) { /* wait for the first pause */
    if (ask(cmd[1], rep[0], &r) != 0 || r.pauses)
      break;
    usleep(50000);
  }
  uint64_t attacked = port_ok ? iterations(cmd[1], rep[0]) : UINT64_MAX;
  report after;
  memset(&after, 0, sizeof after);
  if (port_ok)
    ask(cmd[1], rep[0], &after);
  for (int i = 0; i < natt; i++)
    close(att[i]);
  if (write(cmd[1], "q", 1) != 1 || !port_ok)
    kill(pid, SIGKILL);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  close(cmd[1]);
  close(rep[0]);
  print_message("%s without a spare: %llu iterations / %d ms, %llu pauses, "
                "%llu refused\n",
                be->name, (unsigned long long)attacked, WINDOW_MS,
                (unsigned long long)after.pauses,
                (unsigned long long)after.refused);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_true(port_ok);
  assert_true(attacked < ITER_BOUND);
  assert_true(r.pauses > 0);
  assert_int_equal(after.refused, 0); /* no spare: nothing to refuse with */
}

static void test_emfile_nospare_epoll(void **s) {
  (void)s;
  run_nospare(lp2p_backend_epoll());
}

static void test_emfile_nospare_poll(void **s) {
  (void)s;
  run_nospare(lp2p_backend_poll());
}

static void test_emfile_epoll(void **s) {
  (void)s;
  run_fds(lp2p_backend_epoll());
}

static void test_emfile_poll(void **s) {
  (void)s;
  run_fds(lp2p_backend_poll());
}

/* lp2p_driver_fit_limits in a child (it changes the process's limit): a
 * soft limit below the hard one is raised; with both at 64 the default
 * conns_max (1024) and raws_max come down under 64 minus what is open
 * minus the reserve, conns_pending_max under conns_max. */
static int child_fit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 20;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max > 100) {
    struct rlimit low = {64, rl.rlim_max};
    lp2p_fd_limits lim;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0 ||
        lp2p_driver_fit_limits(NULL, &lim) != 0)
      return 21;
    if (!lim.raised || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
        rl.rlim_cur != rl.rlim_max || lim.fds_max != rl.rlim_max)
      return 22;
  }
  struct rlimit both = {64, 64};
  if (setrlimit(RLIMIT_NOFILE, &both) != 0)
    return 23;
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  lp2p_fd_limits lim;
  if (lp2p_driver_fit_limits(&cfg, &lim) != 0)
    return 24;
  if (lim.raised || !lim.fitted || lim.fds_max != 64 || !lim.fds_open ||
      lim.reserve < LP2P_FD_RESERVE)
    return 25;
  if (!cfg.conns_max || !cfg.raws_max ||
      cfg.conns_max + cfg.raws_max + lim.reserve + lim.fds_open > 64)
    return 26;
  if (!cfg.conns_pending_max || cfg.conns_pending_max > cfg.conns_max)
    return 27;
  /* limits already small are kept */
  lp2p_host_config small;
  lp2p_host_config_default(&small);
  small.conns_max = 5;
  small.raws_max = 2;
  small.conns_pending_max = 3;
  if (lp2p_driver_fit_limits(&small, &lim) != 0 || lim.fitted ||
      small.conns_max != 5 || small.raws_max != 2 ||
      small.conns_pending_max != 3)
    return 28;
  return 0;
}

static void test_fit_limits(void **s) {
  (void)s;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(child_fit());
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fit_limits),
      cmocka_unit_test(test_emfile_epoll),
      cmocka_unit_test(test_emfile_poll),
      cmocka_unit_test(test_emfile_nospare_epoll),
      cmocka_unit_test(test_emfile_nospare_poll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
