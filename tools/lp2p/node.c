/* lp2p tool: running a host on the real driver for the network verbs. The
 * verbs stay small: start, connect, wait for the event they care about. */
#include "tools/lp2p/node.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/peerid.h"

#define CONNECT_TIMEOUT_MS 20000
#define CLOSE_WAIT_MS 2000
#define RESOLVE_TIMEOUT_MS 3000

volatile int cli_node_stop_flag;

static void on_signal(int sig) {
  (void)sig;
  cli_node_stop_flag = 1;
}

void cli_peerid_text(const lp2p_peerid *id, char *buf, size_t cap) {
  size_t len = 0;
  if (lp2p_peerid_to_base58(id, buf, cap, &len) != 0 || len >= cap)
    len = 0;
  buf[len] = 0;
}

void cli_maddr_text(const lp2p_maddr *m, char *buf, size_t cap) {
  size_t len = 0;
  if (lp2p_maddr_to_string(m, buf, cap, &len) != 0 || len >= cap)
    len = 0;
  buf[len] = 0;
}

int cli_node_start(cli_ctx *ctx, cli_node *n, const char *keyfile,
                   int plaintext, const char *driver) {
  memset(n, 0, sizeof(*n));
  const lp2p_backend *b = lp2p_backend_by_name(driver);
  if (!b)
    return cli_fail(ctx, CLI_EXIT_USAGE, "unknown driver '%s' (epoll|poll)",
                    driver);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  lp2p_rng_system(&n->rng);
  n->key = malloc(sizeof *n->key);
  if (!n->key)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  int rc;
  if (keyfile) {
    if ((rc = cli_load_key(ctx, keyfile, n->key)) != 0)
      return rc;
  } else if ((rc = lp2p_key_generate(n->key, LP2P_KEY_ED25519, 0, &n->rng))) {
    return cli_fail(ctx, CLI_EXIT_DATA, "key generation: %s",
                    lp2p_strerror(rc));
  }
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = n->key;
  cfg.security =
      plaintext ? LP2P_HOST_SECURITY_PLAINTEXT : LP2P_HOST_SECURITY_NOISE;
  rc = lp2p_host_new(&n->h, &cfg, NULL, &n->rng, lp2p_clock_now());
  if (rc == 0)
    rc = lp2p_driver_new(&n->d, n->h, b);
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot start the node: %s",
                    lp2p_strerror(rc));
  return 0;
}

void cli_node_stop(cli_node *n) {
  if (n->h && n->d) {
    lp2p_host_close(n->h, lp2p_clock_now());
    lp2p_tstamp end = lp2p_clock_now() + CLOSE_WAIT_MS * LP2P_NS_PER_MS;
    lp2p_host_event ev;
    int closed = 0;
    while (!closed && lp2p_clock_now() < end) {
      lp2p_driver_flush(n->d);
      while (lp2p_host_poll_event(n->h, &ev))
        if (ev.kind == LP2P_HOST_EV_CLOSED)
          closed = 1;
      if (!closed)
        lp2p_driver_step(n->d, 50);
    }
  }
  lp2p_driver_free(n->d);
  lp2p_host_free(n->h);
  if (n->key) {
    lp2p_memzero(n->key, sizeof *n->key);
    free(n->key);
  }
  memset(n, 0, sizeof(*n));
}

int cli_node_event(cli_node *n, lp2p_host_event *ev, int deadline_ms) {
  lp2p_tstamp end = deadline_ms < 0
                        ? LP2P_TSTAMP_NONE
                        : lp2p_clock_now() +
                              (lp2p_tstamp)deadline_ms * LP2P_NS_PER_MS;
  for (;;) {
    lp2p_driver_flush(n->d);
    if (lp2p_host_poll_event(n->h, ev))
      return 1;
    if (cli_node_stop_flag)
      return -1;
    lp2p_tstamp now = lp2p_clock_now();
    if (now >= end)
      return 0;
    int wait = 1000;
    if (end != LP2P_TSTAMP_NONE && (end - now) / LP2P_NS_PER_MS + 1 < 1000)
      wait = (int)((end - now) / LP2P_NS_PER_MS + 1);
    if (lp2p_driver_step(n->d, wait) != 0)
      return 0;
  }
}

int cli_node_connect(cli_ctx *ctx, cli_node *n, const char *text,
                     lp2p_peerid *peer) {
  lp2p_maddr ma, addrs[LP2P_RESOLVE_RESULTS_MAX];
  int rc = lp2p_maddr_parse(&ma, text, strlen(text));
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "bad multiaddr '%s': %s", text,
                    lp2p_strerror(rc));
  size_t na = 0;
  rc = lp2p_resolve_maddr(&ma, addrs, LP2P_RESOLVE_RESULTS_MAX, &na,
                          RESOLVE_TIMEOUT_MS);
  if (rc)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot resolve '%s': %s", text,
                    lp2p_strerror(rc));
  int last = LP2P_ERR_UNREACHABLE;
  for (size_t i = 0; i < na; i++) {
    uint64_t dial = 0;
    rc = lp2p_host_dial(n->h, lp2p_clock_now(), &addrs[i], 0, &dial);
    if (rc) {
      last = rc;
      continue;
    }
    lp2p_host_event ev;
    int got;
    while ((got = cli_node_event(n, &ev, CONNECT_TIMEOUT_MS)) == 1) {
      if (ev.dial != dial)
        continue;
      if (ev.kind == LP2P_HOST_EV_DIAL_DONE) {
        *peer = ev.peer;
        return 0;
      }
      if (ev.kind == LP2P_HOST_EV_DIAL_FAILED) {
        last = ev.err;
        break;
      }
    }
    if (got == -1)
      return cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
    if (got == 0)
      last = LP2P_ERR_TIMEOUT;
  }
  if (last == LP2P_ERR_PEER_ID_MISMATCH)
    return cli_fail(ctx, CLI_EXIT_DATA,
                    "%s: the peer's authenticated id differs from /p2p in "
                    "the address",
                    text);
  return cli_fail(ctx, CLI_EXIT_DATA, "cannot connect to %s: %s", text,
                  lp2p_strerror(last));
}
