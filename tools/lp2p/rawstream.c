/* lp2p tool: `stream` sends chosen bytes on streams of any protocol, one
 * after another on ONE connection, and reports how each ended: the
 * client side of protocol tests that need a peer which misbehaves on
 * purpose (tests/punch: a punch header for a port that is not exposed,
 * garbage frames). Per PROTOCOL HEX pair: open a stream, write the bytes,
 * half-close, read until EOF or reset; one JSON line
 *   {"protocol":"<p>","result":"eof"|"reset"|"refused","data":"<hex>"}
 * ("refused": the open failed otherwise than by a reset).
 * Exit 1 when the connection is lost or replaced meanwhile (a stream's
 * misbehaviour must cost that stream only). */
#include <stdlib.h>
#include <string.h>

#include "tools/lp2p/node.h"

#define STREAM_WAIT_MS 20000
#define DATA_MAX (1u << 20)

/* Run one stream; *result gets "eof", "reset" or "refused". Returns 0 or
 * CLI_EXIT_DATA after one line. */
static int one(cli_ctx *ctx, cli_node *n, const lp2p_peerid *peer,
               const char *proto, const uint8_t *b, size_t len,
               uint64_t *conn, const char **result, uint8_t *got,
               size_t *ngot) {
  uint64_t s = 0;
  lp2p_tstamp now = lp2p_clock_now();
  int e = lp2p_host_open_stream(n->h, now, peer, proto, &s);
  if (e)
    return cli_fail(ctx, CLI_EXIT_DATA, "cannot open a %s stream: %s", proto,
                    lp2p_strerror(e));
  lp2p_host_stream_info si;
  if (lp2p_host_stream_info_get(n->h, s, &si) == 0) {
    if (*conn && si.conn != *conn)
      return cli_fail(ctx, CLI_EXIT_DATA, "the connection was replaced");
    *conn = si.conn;
  }
  size_t sent = 0;
  int closed = 0;
  *ngot = 0;
  lp2p_host_event ev;
  for (;;) {
    now = lp2p_clock_now();
    while (sent < len) {
      lp2p_ssize w = lp2p_host_stream_write(n->h, now, s, b + sent, len - sent);
      if (w <= 0)
        break;
      sent += (size_t)w;
    }
    if (sent == len && !closed) {
      lp2p_host_stream_close(n->h, now, s);
      closed = 1;
    }
    size_t k = 0;
    const uint8_t *d = lp2p_host_stream_read_peek(n->h, s, &k);
    if (k) {
      size_t take = k > DATA_MAX - *ngot ? DATA_MAX - *ngot : k;
      memcpy(got + *ngot, d, take);
      *ngot += take;
      lp2p_host_stream_read_consume(n->h, now, s, k);
      continue;
    }
    if (lp2p_host_stream_at_eof(n->h, s)) {
      *result = "eof";
      return 0;
    }
    int r = cli_node_event(n, &ev, STREAM_WAIT_MS);
    if (r != 1)
      return cli_fail(ctx, CLI_EXIT_DATA, "%s stream: no end within %d ms",
                      proto, STREAM_WAIT_MS);
    if (ev.kind == LP2P_HOST_EV_PEER_DISCONNECTED &&
        lp2p_peerid_equal(&ev.peer, peer) && ev.conn == *conn)
      return cli_fail(ctx, CLI_EXIT_DATA, "the connection was lost");
    if (ev.stream != s)
      continue;
    if (ev.kind == LP2P_HOST_EV_STREAM_RESET) {
      *result = "reset";
      return 0;
    }
    if (ev.kind == LP2P_HOST_EV_STREAM_OPEN_FAILED) {
      /* a reset that overtook the protocol's confirmation (lazy
       * negotiation) is the peer resetting the stream all the same */
      *result = ev.err == LP2P_ERR_RESET ? "reset" : "refused";
      return 0;
    }
    if (ev.kind == LP2P_HOST_EV_STREAM_CLOSED) {
      *result = "eof";
      return 0;
    }
  }
}

int cli_cmd_stream(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"plaintext", 0, NULL, 0}, {"key", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 2, &npos, 3, -1);
  if (rc)
    return rc;
  if ((npos - 1) % 2)
    return cli_fail(ctx, CLI_EXIT_USAGE, "PROTOCOL HEX come in pairs");
  cli_node n;
  lp2p_peerid peer;
  rc = cli_node_start(ctx, &n, opts[1].value, opts[0].seen, NULL);
  if (!rc)
    rc = cli_node_connect(ctx, &n, argv[0], &peer);
  uint8_t *got = malloc(DATA_MAX);
  if (!rc && !got)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "out of memory");
  uint64_t conn = 0;
  for (int i = 1; !rc && i + 1 < npos; i += 2) {
    uint8_t *b = NULL;
    size_t len = 0, ngot = 0;
    const char *result = "?";
    if ((rc = cli_hex_arg(ctx, "HEX", argv[i + 1], &b, &len)) != 0)
      break;
    rc = one(ctx, &n, &peer, argv[i], b, len, &conn, &result, got, &ngot);
    free(b);
    if (rc)
      break;
    cli_printf(ctx, "{\"protocol\":\"%s\",\"result\":\"%s\",\"data\":\"",
               argv[i], result);
    for (size_t k = 0; k < ngot; k++)
      cli_printf(ctx, "%02x", got[k]);
    cli_printf(ctx, "\"}\n");
  }
  if (!rc && lp2p_host_peer_conn_count(n.h, &peer) != 1)
    rc = cli_fail(ctx, CLI_EXIT_DATA, "the connection did not survive");
  free(got);
  cli_node_stop(&n);
  return rc;
}
