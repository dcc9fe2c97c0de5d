/* lp2p tool: `stun-server` is a small RFC 5780 STUN server for tests and
 * the NAT lab: `lp2p nat --stun` asks it, a lab puts it on the public
 * side. With --alternate it has two IPs and two ports (four UDP sockets:
 * A1:P1, A1:P2, A2:P1, A2:P2), answers with OTHER-ADDRESS and
 * RESPONSE-ORIGIN, and honours CHANGE-REQUEST; without, it is a plain
 * RFC 5389 Binding server on one socket. The answers come from the
 * library (lp2p_stun_server_answer), as in the simulator's server.
 * Prints `stun-server PRIMARY [other ALTERNATE]` once bound, then serves
 * until SIGINT/SIGTERM. On loopback: --primary 127.0.0.1:3478
 * --alternate 127.0.0.2:3479. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lp2p/stun.h"
#include "tools/lp2p/nat.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static socklen_t to_os(const lp2p_sockaddr *a, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof *s4;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(a->port);
  memcpy(&s6->sin6_addr, a->ip, 16);
  return sizeof *s6;
}

static void from_os(const struct sockaddr_storage *ss, lp2p_sockaddr *a) {
  memset(a, 0, sizeof *a);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    a->family = 4;
    a->port = ntohs(s4->sin_port);
    memcpy(a->ip, &s4->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    a->family = 6;
    a->port = ntohs(s6->sin6_port);
    memcpy(a->ip, &s6->sin6_addr, 16);
  }
}

static void addr_text(const lp2p_sockaddr *a, char *out, size_t cap) {
  char ip[LP2P_IP_TEXT_MAX];
  size_t l = 0;
  if (lp2p_ip_to_text(a->family, a->ip, ip, sizeof ip, &l) != 0)
    l = 0;
  ip[l] = 0;
  snprintf(out, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip,
           (unsigned)a->port);
}

int cli_cmd_stun_server(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"primary", 1, NULL, 0}, {"alternate", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 0, 0);
  if (rc)
    return rc;
  if (!opts[0].seen)
    return cli_fail(ctx, CLI_EXIT_USAGE, "needs --primary IP:PORT");
  lp2p_sockaddr a[4];
  size_t na = opts[1].seen ? 4 : 1;
  if ((rc = cli_hostport(ctx, "--primary", opts[0].value, &a[0])) != 0)
    return rc;
  if (na == 4) {
    if ((rc = cli_hostport(ctx, "--alternate", opts[1].value, &a[3])) != 0)
      return rc;
    if (a[3].family != a[0].family || a[3].port == a[0].port ||
        !memcmp(a[3].ip, a[0].ip, 16))
      return cli_fail(ctx, CLI_EXIT_USAGE,
                      "--alternate needs another IP and another port of the "
                      "same family (RFC 5780 section 6)");
    a[1] = a[0];
    a[1].port = a[3].port; /* A1:P2 */
    a[2] = a[3];
    a[2].port = a[0].port; /* A2:P1 */
  }
  int fd[4] = {-1, -1, -1, -1};
  for (size_t i = 0; i < na && !rc; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = to_os(&a[i], &ss);
    fd[i] = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&ss, sl) != 0) {
      char t[64];
      addr_text(&a[i], t, sizeof t);
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot bind %s: %s", t,
                    strerror(errno));
    }
  }
  if (!rc) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char t0[64], t3[64];
    addr_text(&a[0], t0, sizeof t0);
    if (na == 4) {
      addr_text(&a[3], t3, sizeof t3);
      printf("stun-server %s other %s\n", t0, t3);
    } else {
      printf("stun-server %s\n", t0);
    }
    fflush(stdout);
  }
  while (!rc && !stop) {
    struct pollfd p[4];
    for (size_t i = 0; i < na; i++)
      p[i] = (struct pollfd){fd[i], POLLIN, 0};
    if (poll(p, (nfds_t)na, 500) < 0)
      continue; /* EINTR: the signal sets stop */
    for (unsigned i = 0; i < na; i++) {
      if (!(p[i].revents & POLLIN))
        continue;
      uint8_t in[LP2P_STUN_MSG_MAX], out[256];
      struct sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      ssize_t n = recvfrom(fd[i], in, sizeof in, 0, (struct sockaddr *)&ss, &sl);
      if (n <= 0)
        continue;
      lp2p_sockaddr from;
      from_os(&ss, &from);
      size_t len;
      unsigned via;
      if (lp2p_stun_server_answer(in, (size_t)n, &from, a, na, i, out,
                                  sizeof out, &len, &via) != 1)
        continue;
      sl = to_os(&from, &ss);
      sendto(fd[via], out, len, 0, (struct sockaddr *)&ss, sl);
    }
  }
  for (size_t i = 0; i < na; i++)
    if (fd[i] >= 0)
      close(fd[i]);
  return rc;
}
