/* The smallest program that embeds lp2p: a node on the loopback interface.
 *
 *   ping_node              listen, print our address, serve until SIGINT
 *                          or SIGTERM (the default services answer
 *                          identify and ping)
 *   ping_node MULTIADDR    listen too, dial MULTIADDR (ending in /p2p/<id>),
 *                          ping it once, print "rtt_ms <x>", exit 0
 *
 * Only the public API: lp2p_host (the sans-IO node) driven by lp2p_driver
 * (real sockets and clock). Build against an installed tree with
 *   cc ping_node.c $(pkg-config --cflags --libs lp2p)
 */
/* sigaction under -std=c11 (the library itself needs no feature macro). */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/driver.h"
#include "lp2p/host.h"

#define DEADLINE_S 10 /* whole dial + ping budget */

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

/* Report a failure on stderr; returns -1 for run(). */
static int fail(const char *what, int err) {
  fprintf(stderr, "ping_node: %s: %s\n", what, lp2p_strerror(err));
  return -1;
}

/* addr + "/p2p/<our id>", the form other nodes dial. */
static void print_addr(const lp2p_maddr *addr, const lp2p_peerid *self) {
  char id[LP2P_PEERID_TEXT_MAX], text[512];
  size_t n = 0;
  if (lp2p_peerid_to_base58(self, id, sizeof id - 1, &n) != 0)
    return;
  id[n] = 0;
  if (lp2p_maddr_to_string(addr, text, sizeof text - 1, &n) != 0)
    return;
  text[n] = 0;
  printf("%s/p2p/%s\n", text, id);
  fflush(stdout); /* a parent process waits for this line */
}

/* Step the driver and handle events until done (1 = success, -1 =
 * failure) or a signal. With a target: dial it, then ping the peer. */
static int run(lp2p_host *h, lp2p_driver *d, const lp2p_maddr *target) {
  lp2p_tstamp end = lp2p_clock_now() + (lp2p_tstamp)DEADLINE_S * LP2P_NS_PER_S;
  int rc;
  while (!stop) {
    if (target && lp2p_clock_now() >= end) {
      fprintf(stderr, "ping_node: no answer within %d s\n", DEADLINE_S);
      return -1;
    }
    if ((rc = lp2p_driver_step(d, 100)) != 0)
      return fail("driver", rc);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(h, &ev)) {
      switch (ev.kind) {
      case LP2P_HOST_EV_LISTENING: {
        lp2p_maddr bound;
        if (target) {
          if ((rc = lp2p_host_dial(h, lp2p_clock_now(), target, 0, NULL)))
            return fail("dial", rc);
        } else if (lp2p_host_listener_addr(h, ev.u.listen.listener,
                                           &bound) == 0) {
          print_addr(&bound, lp2p_host_peer_id(h));
        }
        break;
      }
      case LP2P_HOST_EV_LISTEN_FAILED:
        return fail("listen", ev.err);
      case LP2P_HOST_EV_DIAL_FAILED:
        return fail("dial", ev.err);
      case LP2P_HOST_EV_DIAL_DONE:
        if ((rc = lp2p_host_ping(h, lp2p_clock_now(), &ev.peer)))
          return fail("ping", rc);
        break;
      case LP2P_HOST_EV_PING_RESULT:
        if (ev.err)
          return fail("ping", ev.err);
        printf("rtt_ms %.3f\n", (double)ev.u.ping.rtt_ns / 1e6);
        return 1;
      default:
        break;
      }
    }
    lp2p_driver_flush(d); /* commands issued above go out now */
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: ping_node [MULTIADDR]\n");
    return 2;
  }
  lp2p_maddr target, listen;
  const char *here = "/ip4/127.0.0.1/tcp/0";
  if (argc == 2 && lp2p_maddr_parse(&target, argv[1], strlen(argv[1])) != 0) {
    fprintf(stderr, "ping_node: not a multiaddr: %s\n", argv[1]);
    return 2;
  }
  if (lp2p_maddr_parse(&listen, here, strlen(here)) != 0)
    return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  /* Production wiring: OS entropy, a fresh Ed25519 identity, libc memory
   * (mem NULL), the default services and the epoll driver. */
  lp2p_rng rng;
  lp2p_rng_system(&rng);
  lp2p_privkey key;
  int rc = lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &rng);
  if (rc)
    return -fail("key", rc);
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  lp2p_host *h = NULL;
  lp2p_driver *d = NULL;
  if ((rc = lp2p_host_new(&h, &cfg, NULL, &rng, lp2p_clock_now())) != 0)
    return -fail("host", rc);
  if ((rc = lp2p_driver_new(&d, h, lp2p_backend_epoll())) != 0 ||
      (rc = lp2p_host_listen(h, &listen, NULL)) != 0) {
    lp2p_host_free(h);
    return -fail("start", rc);
  }
  int result = run(h, d, argc == 2 ? &target : NULL);

  /* Close in order (at most 2 s) so the peer sees a clean goodbye. */
  lp2p_host_close(h, lp2p_clock_now());
  lp2p_tstamp end = lp2p_clock_now() + 2 * LP2P_NS_PER_S;
  int closed = 0;
  while ((!closed || lp2p_driver_closing(d)) && lp2p_clock_now() < end) {
    lp2p_driver_flush(d);
    lp2p_host_event ev;
    while (lp2p_host_poll_event(h, &ev))
      closed |= ev.kind == LP2P_HOST_EV_CLOSED;
    if (!closed || lp2p_driver_closing(d))
      lp2p_driver_step(d, 50);
  }
  lp2p_driver_free(d);
  lp2p_host_free(h);
  return result < 0 ? 1 : 0;
}
