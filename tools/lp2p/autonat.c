/* lp2p tool: `autonat` asks AutoNAT v2 servers (autonat-v2.md) whether
 * they can dial each given address, and prints one JSON line per address:
 *   {"addr":"<maddr>","reachable":true|false,"servers":N,"error":"..."}
 * servers: how many servers gave a verdict (dialed it, or failed to, or
 * reached the address but not this tool: E_DIAL_BACK_ERROR);
 * reachable: at least one server's dial-back reached this tool with the
 * nonce we sent (the host checks it; an OK without our nonce is
 * discarded); error: why some server gave no verdict ("" when none).
 * --listen ADDR binds ADDR first and asks about the bound address; a bare
 * ADDR is asked about as is (so another process's address is false: the
 * dial-back carries our peer id and nonce, which only we answer). Each
 * server gets one request at a time (servers limit requests per peer).
 * Exit 0 when every address got a verdict from at least one server. */
#include <stdio.h>
#include <string.h>

#include "tools/lp2p/node.h"

#define AN_SERVERS_MAX 16
#define AN_ADDRS_MAX 32
#define AN_TIMEOUT_MS 60000

typedef struct an_addr {
  lp2p_maddr ma;
  int verdicts, reachable;
  char error[96];
} an_addr;

typedef struct an_server {
  const char *text;
  uint64_t dial;
  lp2p_peerid peer;
  int connected, failed;
  size_t next;  /* next address to ask about */
  uint64_t ask; /* request in flight (0 none) */
  size_t asked; /* its address */
} an_server;

/* Take every --server / --listen (repeatable) out of argv; the rest
 * goes to cli_parse. Returns 0 or CLI_EXIT_USAGE. */
static int take_repeated(cli_ctx *ctx, int *argc, char **argv, const char *name,
                         const char **out, size_t max, size_t *n) {
  size_t nl = strlen(name);
  int k = 0;
  for (int i = 0; i < *argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { /* keep the rest as it is */
      while (i < *argc)
        argv[k++] = argv[i++];
      break;
    }
    if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, nl) == 0 &&
        (a[2 + nl] == 0 || a[2 + nl] == '=')) {
      const char *v = a[2 + nl] == '=' ? a + 3 + nl : NULL;
      if (!v) {
        if (i + 1 >= *argc)
          return cli_fail(ctx, CLI_EXIT_USAGE, "--%s needs a value", name);
        v = argv[++i];
      }
      if (*n == max)
        return cli_fail(ctx, CLI_EXIT_USAGE, "at most %zu --%s", max, name);
      out[(*n)++] = v;
      continue;
    }
    argv[k++] = argv[i];
  }
  *argc = k;
  return 0;
}

static void set_error(an_addr *a, const char *why) {
  snprintf(a->error, sizeof a->error, "%s", why);
}

static const char *status_text(uint32_t status) {
  switch (status) {
  case LP2P_AUTONAT_RESP_REQUEST_REJECTED:
    return "request rejected";
  case LP2P_AUTONAT_RESP_DIAL_REFUSED:
    return "dial refused";
  case LP2P_AUTONAT_RESP_INTERNAL_ERROR:
    return "server internal error";
  default:
    return "unknown response status";
  }
}

/* Ask server s about its next address, if any. */
static void ask_next(cli_node *n, an_server *s, an_addr *addrs, size_t naddrs) {
  while (s->connected && !s->ask && s->next < naddrs) {
    size_t i = s->next++;
    uint64_t id = 0;
    int e = lp2p_host_autonat_ask(n->h, lp2p_clock_now(), &s->peer,
                                  &addrs[i].ma, 1, &id);
    if (e) {
      set_error(&addrs[i], lp2p_strerror(e));
      continue;
    }
    s->ask = id;
    s->asked = i;
  }
}

static void on_result(an_server *s, an_addr *a, const lp2p_host_event *ev) {
  s->ask = 0;
  if (ev->u.autonat.reach == LP2P_AUTONAT_REACHABLE) {
    a->verdicts++;
    a->reachable = 1;
  } else if (ev->u.autonat.reach == LP2P_AUTONAT_UNREACHABLE) {
    a->verdicts++;
  } else if (ev->err) {
    set_error(a, lp2p_strerror(ev->err));
  } else if (ev->u.autonat.status != LP2P_AUTONAT_RESP_OK) {
    set_error(a, status_text(ev->u.autonat.status));
  } else if (ev->u.autonat.dial_status == LP2P_AUTONAT_DIAL_BACK_ERROR) {
    /* The server reached the address but not this tool with our nonce (a
     * server that does not check the peer id, such as js-libp2p, reaches
     * whoever listens there): for "does a dial-back to ADDR reach this
     * tool" that is a no. The host's own verdicts ignore it, as js does. */
    a->verdicts++;
  } else if (ev->u.autonat.dial_status == LP2P_AUTONAT_DIAL_OK) {
    set_error(a, "dial-back without our nonce");
  } else {
    set_error(a, "unknown dial status");
  }
}

static int all_done(const an_server *sv, size_t ns, size_t naddrs) {
  for (size_t i = 0; i < ns; i++) {
    if (sv[i].failed)
      continue;
    if (!sv[i].connected || sv[i].ask || sv[i].next < naddrs)
      return 0;
  }
  return 1;
}

static int parse_addrs(cli_ctx *ctx, const char **text, size_t n,
                       lp2p_maddr *out) {
  for (size_t i = 0; i < n; i++) {
    int e = lp2p_maddr_parse(&out[i], text[i], strlen(text[i]));
    if (e)
      return cli_fail(ctx, CLI_EXIT_USAGE, "bad multiaddr '%s': %s", text[i],
                      lp2p_strerror(e));
  }
  return 0;
}

int cli_cmd_autonat(cli_ctx *ctx, int argc, char **argv) {
  const char *servers[AN_SERVERS_MAX], *listens[AN_ADDRS_MAX];
  size_t ns = 0, nl = 0;
  int rc =
      take_repeated(ctx, &argc, argv, "server", servers, AN_SERVERS_MAX, &ns);
  if (!rc)
    rc = take_repeated(ctx, &argc, argv, "listen", listens, AN_ADDRS_MAX, &nl);
  if (rc)
    return rc;
  cli_opt opts[] = {{"key", 1, NULL, 0}};
  int npos = 0;
  if ((rc = cli_parse(ctx, argc, argv, opts, 1, &npos, 0, -1)) != 0)
    return rc;
  if (ns == 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "at least one --server is needed");
  if (nl + (size_t)npos == 0)
    return cli_fail(ctx, CLI_EXIT_USAGE, "no address to ask about");
  if (nl + (size_t)npos > AN_ADDRS_MAX)
    return cli_fail(ctx, CLI_EXIT_USAGE, "at most %d addresses", AN_ADDRS_MAX);
  static an_addr addrs[AN_ADDRS_MAX];
  an_server sv[AN_SERVERS_MAX];
  lp2p_maddr server_ma[AN_SERVERS_MAX], listen_ma[AN_ADDRS_MAX];
  memset(addrs, 0, sizeof addrs);
  memset(sv, 0, sizeof sv);
  if ((rc = parse_addrs(ctx, servers, ns, server_ma)) != 0 ||
      (rc = parse_addrs(ctx, listens, nl, listen_ma)) != 0 ||
      (rc = parse_addrs(ctx, (const char **)argv, (size_t)npos,
                        listen_ma + nl)) != 0)
    return rc;
  for (size_t i = 0; i < ns; i++)
    if (lp2p_maddr_get_peer_id(&server_ma[i], NULL, NULL) != 0)
      return cli_fail(ctx, CLI_EXIT_USAGE, "--server '%s' needs its /p2p/<id>",
                      servers[i]);
  /* We ask explicitly; the automatic client would compete for the
   * servers' per-peer request budget. */
  static const cli_autonat an = {0, 0, 0};
  cli_node_autonat = &an;
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[0].value, 0, NULL);
  size_t naddrs = nl + (size_t)npos;
  for (size_t i = 0; i < (size_t)npos; i++)
    addrs[nl + i].ma = listen_ma[nl + i];
  /* Bind the --listen addresses and learn their ports. */
  uint64_t listener[AN_ADDRS_MAX];
  size_t bound = 0;
  for (size_t i = 0; !rc && i < nl; i++) {
    int e = lp2p_host_listen(n.h, &listen_ma[i], &listener[i]);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen on '%s': %s", listens[i],
                    lp2p_strerror(e));
  }
  lp2p_host_event ev;
  int got = 1;
  while (!rc && bound < nl &&
         (got = cli_node_event(&n, &ev, AN_TIMEOUT_MS)) == 1) {
    if (ev.kind == LP2P_HOST_EV_LISTEN_FAILED) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot listen: %s",
                    lp2p_strerror(ev.err));
    } else if (ev.kind == LP2P_HOST_EV_LISTENING) {
      for (size_t i = 0; i < nl; i++)
        if (listener[i] == ev.u.listen.listener)
          lp2p_host_listener_addr(n.h, listener[i], &addrs[i].ma);
      bound++;
    }
  }
  if (!rc && got != 1)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "listening did not complete");
  /* Dial every server at once. */
  for (size_t i = 0; !rc && i < ns; i++) {
    sv[i].text = servers[i];
    if (lp2p_host_dial(n.h, lp2p_clock_now(), &server_ma[i], 0, &sv[i].dial) !=
        0) {
      sv[i].failed = 1;
      for (size_t j = 0; j < naddrs; j++)
        set_error(&addrs[j], "server unreachable");
    }
  }
  lp2p_tstamp deadline =
      lp2p_clock_now() + (lp2p_tstamp)AN_TIMEOUT_MS * LP2P_NS_PER_MS;
  while (!rc && !all_done(sv, ns, naddrs)) {
    lp2p_tstamp now = lp2p_clock_now();
    if (now >= deadline) {
      for (size_t j = 0; j < naddrs; j++)
        if (!addrs[j].verdicts && !addrs[j].error[0])
          set_error(&addrs[j], "timed out");
      break;
    }
    got = cli_node_event(&n, &ev, (int)((deadline - now) / LP2P_NS_PER_MS) + 1);
    if (got < 0) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
      break;
    }
    if (got == 0)
      continue;
    for (size_t i = 0; i < ns; i++) {
      an_server *s = &sv[i];
      if (ev.kind == LP2P_HOST_EV_DIAL_DONE && ev.u.dial.id == s->dial &&
          !s->connected) {
        s->connected = 1;
        s->peer = ev.peer;
      } else if (ev.kind == LP2P_HOST_EV_DIAL_FAILED &&
                 ev.u.dial.id == s->dial && !s->connected) {
        s->failed = 1;
        for (size_t j = 0; j < naddrs; j++)
          set_error(&addrs[j], "server unreachable");
      } else if (ev.kind == LP2P_HOST_EV_AUTONAT_RESULT && s->ask &&
                 ev.u.autonat.id == s->ask) {
        on_result(s, &addrs[s->asked], &ev);
      } else if (ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED && s->connected &&
                 lp2p_peerid_equal(&ev.peer, &s->peer) &&
                 lp2p_host_peer_conn_count(n.h, &s->peer) == 0) {
        /* the AUTONAT_RESULT of a request in flight says why */
        if (!s->ask) {
          s->failed = 1;
          for (size_t j = s->next; j < naddrs; j++)
            set_error(&addrs[j], "server disconnected");
        }
      }
      ask_next(&n, s, addrs, naddrs);
    }
  }
  int missing = 0;
  for (size_t i = 0; !rc && i < naddrs; i++) {
    char text[1024];
    cli_maddr_text(&addrs[i].ma, text, sizeof text);
    if (!addrs[i].verdicts)
      missing++;
    printf("{\"addr\":\"%s\",\"reachable\":%s,\"servers\":%d,"
           "\"error\":\"%s\"}\n",
           text, addrs[i].reachable ? "true" : "false", addrs[i].verdicts,
           addrs[i].error);
  }
  fflush(stdout);
  if (!rc && missing)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "no verdict for %d address(es)", missing);
  cli_node_stop(&n);
  return rc;
}
