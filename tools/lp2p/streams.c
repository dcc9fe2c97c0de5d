/* lp2p tool: stream diagnostics against one remote peer, the C side of the
 * interop cases (tests/interop): `echo` (K concurrent /echo/1.0.0 streams,
 * byte-exact), `halfclose` (read after closing our write side), `reset` (a
 * reset stream must not take its connection down), `close` (graceful
 * hang-up) and `connect` (N sequential fresh connections). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/lp2p/node.h"

#define ECHO_PROTO "/echo/1.0.0"
#define STEP_MS 50
#define IDLE_FAIL_MS 30000
/* above the driver's own bound on a graceful close (FIN grace + 2 s) */
#define CLOSE_WAIT_MS 3000

typedef struct echo_st {
  uint64_t id;
  uint8_t *data;
  size_t len, sent, got;
  int closed, done;
} echo_st;

/* Write, half-close and read every unfinished stream as far as it goes.
 * Returns 1 once all are done, -1 on a mismatch (after one error line). */
static int echo_pump(cli_ctx *ctx, cli_node *n, echo_st *s, size_t k) {
  int all = 1;
  for (size_t i = 0; i < k; i++) {
    echo_st *e = &s[i];
    if (e->done)
      continue;
    all = 0;
    lp2p_tstamp now = lp2p_clock_now();
    if (e->sent < e->len) {
      lp2p_ssize w = lp2p_host_stream_write(n->h, now, e->id, e->data + e->sent,
                                            e->len - e->sent);
      if (w > 0)
        e->sent += (size_t)w;
    }
    if (e->sent == e->len && !e->closed) {
      lp2p_host_stream_close(n->h, now, e->id);
      e->closed = 1;
    }
    size_t len;
    const uint8_t *p;
    while ((p = lp2p_host_stream_read_peek(n->h, e->id, &len)) && len) {
      if (e->got + len > e->len || memcmp(p, e->data + e->got, len) != 0) {
        cli_fail(ctx, CLI_EXIT_DATA, "echo returned different bytes");
        return -1;
      }
      e->got += len;
      lp2p_host_stream_read_consume(n->h, now, e->id, len);
    }
    if (e->got == e->len && lp2p_host_stream_at_eof(n->h, e->id))
      e->done = 1;
  }
  lp2p_driver_flush(n->d);
  return all;
}

/* Runs k echo streams of `bytes` each on the connection to `peer`. */
static int echo_run(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
                    size_t k, size_t bytes) {
  echo_st *s = calloc(k ? k : 1, sizeof *s);
  if (!s)
    return cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < k && !rc; i++) {
    s[i].len = bytes;
    s[i].data = malloc(bytes ? bytes : 1);
    if (!s[i].data) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
      break;
    }
    n->rng.fill(n->rng.ctx, s[i].data, bytes);
    int e = lp2p_host_open_stream(n->h, lp2p_clock_now(), peer, ECHO_PROTO,
                                  &s[i].id);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot open an echo stream: %s",
                    lp2p_strerror(e));
  }
  lp2p_tstamp idle_since = lp2p_clock_now();
  while (!rc) {
    int r = echo_pump(ctx, n, s, k);
    if (r < 0) {
      rc = CLI_EXIT_DATA;
      break;
    }
    if (r == 1)
      break;
    lp2p_host_event ev;
    int got = cli_node_event(n, &ev, STEP_MS);
    if (got < 0) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "interrupted");
      break;
    }
    if (got == 0) {
      if (lp2p_clock_now() - idle_since > IDLE_FAIL_MS * LP2P_NS_PER_MS)
        rc = cli_fail(ctx, CLI_EXIT_DATA, "echo stalled");
      continue;
    }
    idle_since = lp2p_clock_now();
    if (ev.kind == LP2P_HOST_EV_STREAM_RESET ||
        ev.kind == LP2P_HOST_EV_STREAM_OPEN_FAILED) {
      for (size_t i = 0; i < k; i++)
        if (s[i].id == ev.stream && !s[i].done)
          rc = cli_fail(ctx, CLI_EXIT_DATA, "echo stream %s: %s",
                        ev.kind == LP2P_HOST_EV_STREAM_RESET ? "reset"
                                                             : "refused",
                        lp2p_strerror(ev.err));
    } else if (ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED) {
      rc = cli_fail(ctx, CLI_EXIT_DATA, "connection lost: %s",
                    lp2p_strerror(ev.err ? ev.err : LP2P_ERR_CLOSED));
    }
  }
  for (size_t i = 0; i < k; i++)
    free(s[i].data);
  free(s);
  return rc;
}

/* Waits for one event of `kind` (others are dropped). 1, or 0 after one
 * error line (timeout, interrupt, disconnect when not waited for). */
static int wait_kind(cli_ctx *ctx, cli_node *n, lp2p_host_event_kind kind,
                     lp2p_host_event *ev) {
  int got;
  while ((got = cli_node_event(n, ev, IDLE_FAIL_MS)) == 1) {
    if (ev->kind == kind)
      return 1;
    if (ev->kind == LP2P_HOST_EV_PEER_DISCONNECTED) {
      cli_fail(ctx, CLI_EXIT_DATA, "connection lost: %s",
               lp2p_strerror(ev->err ? ev->err : LP2P_ERR_CLOSED));
      return 0;
    }
  }
  cli_fail(ctx, CLI_EXIT_DATA, "no %s within %d ms", lp2p_host_event_name(kind),
           IDLE_FAIL_MS);
  return 0;
}

/* Graceful hang-up of every connection to `peer`; 0 once it is gone
 * without error, else a CLI exit code after one error line. */
static int hang_up(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer) {
  lp2p_host_close_peer(n->h, lp2p_clock_now(), peer);
  lp2p_host_event ev;
  int got;
  while ((got = cli_node_event(n, &ev, IDLE_FAIL_MS)) == 1 &&
         ev.kind != LP2P_HOST_EV_PEER_DISCONNECTED)
    ;
  if (got != 1)
    return cli_fail(ctx, CLI_EXIT_DATA, "the connection did not close");
  if (ev.err)
    return cli_fail(ctx, CLI_EXIT_DATA, "close was not graceful: %s",
                    lp2p_strerror(ev.err));
  if (lp2p_host_peer_conn_count(n->h, peer) != 0)
    return cli_fail(ctx, CLI_EXIT_DATA, "connection still listed after close");
  return 0;
}

/* Options shared by the stream verbs: --plaintext, --key. */
static int start_and_connect(cli_ctx *ctx, cli_node *n, const cli_opt *opts,
                             const char *addr, lp2p_peerid *peer) {
  int rc = cli_node_start(ctx, n, opts[1].value, opts[0].seen, NULL);
  if (!rc)
    rc = cli_node_connect(ctx, n, addr, peer);
  return rc;
}

int cli_cmd_echo(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0},
                    {"key", 1, NULL, 0},
                    {"streams", 1, NULL, 0},
                    {"bytes", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 4, &npos, 1, 1);
  if (rc)
    return rc;
  uint64_t k = 1, bytes = 1024;
  if ((opts[2].seen && (cli_parse_u64(opts[2].value, &k) || !k || k > 4096)) ||
      (opts[3].seen && (cli_parse_u64(opts[3].value, &bytes) || bytes > (1u << 30))))
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--streams needs 1..4096, --bytes 0..1073741824");
  cli_node n;
  lp2p_peerid peer;
  rc = start_and_connect(ctx, &n, opts, argv[0], &peer);
  if (!rc)
    rc = echo_run(ctx, &n, &peer, (size_t)k, (size_t)bytes);
  if (!rc && lp2p_host_peer_conn_count(n.h, &peer) != 1)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "echo used more than one connection");
  if (!rc)
    cli_printf(ctx, "echo ok %llu\n", (unsigned long long)k);
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_halfclose(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 1, 1);
  if (rc)
    return rc;
  cli_node n;
  lp2p_peerid peer;
  rc = start_and_connect(ctx, &n, opts, argv[0], &peer);
  /* perf: the server answers only after our EOF, so every downloaded byte
   * arrives after we half-closed (perf spec); then an echo on the same
   * connection. */
  lp2p_host_event ev;
  if (!rc) {
    int e = lp2p_host_perf(n.h, lp2p_clock_now(), &peer, 1000, 1u << 20);
    if (e)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "perf: %s", lp2p_strerror(e));
    else if (!wait_kind(ctx, &n, LP2P_HOST_EV_PERF_RESULT, &ev))
      rc = CLI_EXIT_DATA;
    else if (ev.err || ev.u.perf.download_bytes != (1u << 20))
      rc = cli_fail(ctx, CLI_EXIT_DATA, "perf after half-close: %s, %llu bytes",
                    lp2p_strerror(ev.err),
                    (unsigned long long)ev.u.perf.download_bytes);
  }
  if (!rc)
    rc = echo_run(ctx, &n, &peer, 1, 200000);
  if (!rc)
    cli_printf(ctx, "halfclose ok\n");
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_reset(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 1, 1);
  if (rc)
    return rc;
  cli_node n;
  lp2p_peerid peer;
  rc = start_and_connect(ctx, &n, opts, argv[0], &peer);
  uint64_t s = 0;
  if (!rc) {
    uint8_t data[1000];
    n.rng.fill(n.rng.ctx, data, sizeof data);
    int e = lp2p_host_open_stream(n.h, lp2p_clock_now(), &peer, ECHO_PROTO, &s);
    if (e || lp2p_host_stream_write(n.h, lp2p_clock_now(), s, data,
                                    sizeof data) <= 0)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "cannot open an echo stream");
  }
  /* wait for the first echoed bytes, then reset the stream */
  lp2p_host_event ev;
  while (!rc) {
    size_t len = 0;
    lp2p_host_stream_read_peek(n.h, s, &len);
    if (len)
      break;
    if (cli_node_event(&n, &ev, IDLE_FAIL_MS) != 1)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "no echo before the reset");
    else if (ev.stream == s && (ev.kind == LP2P_HOST_EV_STREAM_RESET ||
                                ev.kind == LP2P_HOST_EV_STREAM_CLOSED))
      rc = cli_fail(ctx, CLI_EXIT_DATA, "echo stream ended before the reset");
  }
  lp2p_host_conn_info after;
  if (!rc) {
    lp2p_host_stream_info si;
    lp2p_host_stream_info_get(n.h, s, &si);
    lp2p_host_stream_reset(n.h, lp2p_clock_now(), s);
    /* let the reset travel, then the connection must still be usable */
    lp2p_tstamp end = lp2p_clock_now() + 100 * LP2P_NS_PER_MS;
    int got;
    while (lp2p_clock_now() < end && (got = cli_node_event(&n, &ev, 20)) >= 0)
      if (got == 1 && ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED)
        rc = cli_fail(ctx, CLI_EXIT_DATA, "connection closed by a stream reset");
    if (!rc && lp2p_host_peer_conn_count(n.h, &peer) != 1)
      rc = cli_fail(ctx, CLI_EXIT_DATA, "connection gone after the reset");
    if (!rc)
      rc = lp2p_host_conn_info_get(n.h, si.conn, &after) == 0
               ? 0
               : cli_fail(ctx, CLI_EXIT_DATA, "connection replaced after the reset");
  }
  if (!rc)
    rc = cli_node_ping(ctx, &n, &peer, NULL);
  if (!rc)
    rc = echo_run(ctx, &n, &peer, 1, 10000);
  if (!rc && lp2p_host_peer_conn_count(n.h, &peer) != 1)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "connection replaced after the reset");
  if (!rc)
    cli_printf(ctx, "reset ok\n");
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_close(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 1, 1);
  if (rc)
    return rc;
  cli_node n;
  lp2p_peerid peer;
  rc = start_and_connect(ctx, &n, opts, argv[0], &peer);
  if (!rc)
    rc = cli_node_ping(ctx, &n, &peer, NULL);
  if (!rc)
    rc = hang_up(ctx, &n, &peer);
  if (!rc)
    cli_printf(ctx, "close ok\n");
  cli_node_stop(&n);
  return rc;
}

int cli_cmd_connect(cli_ctx *ctx, int argc, char **argv) {
  cli_map_short_n(argc, argv);
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0},
                    {"n", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 3, &npos, 1, 1);
  if (rc)
    return rc;
  uint64_t count = 1;
  if (opts[2].seen && (cli_parse_u64(opts[2].value, &count) || !count ||
                       count > 1000000))
    return cli_fail(ctx, CLI_EXIT_USAGE, "-n needs a count in 1..1000000");
  cli_node n;
  rc = cli_node_start(ctx, &n, opts[1].value, opts[0].seen, NULL);
  lp2p_tstamp t0 = lp2p_clock_now();
  for (uint64_t i = 0; !rc && i < count; i++) {
    lp2p_peerid peer;
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
    if (!rc)
      rc = cli_node_ping(ctx, &n, &peer, NULL);
    if (!rc)
      rc = hang_up(ctx, &n, &peer);
    /* Sequential means sequential: the next dial starts only once this
     * socket is closed, so a peer that limits connections per peer (or
     * counts sockets) never sees two of ours at once. */
    if (!rc)
      cli_node_wait_closes(&n, CLOSE_WAIT_MS);
  }
  if (!rc) {
    double t = (double)(lp2p_clock_now() - t0) / 1e9;
    cli_printf(ctx,
               "{\"type\":\"connect\",\"connections\":%llu,\"timeSeconds\":%.6f,"
               "\"perSecond\":%.3f}\nconnect ok %llu\n",
               (unsigned long long)count, t, (double)count / t,
               (unsigned long long)count);
  }
  cli_node_stop(&n);
  return rc;
}
