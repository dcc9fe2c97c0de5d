/* fuzz_host's application op: a command on either host (dial, ping,
 * identify, perf, streams, protocols, relay, AutoNAT, close). */
#include <string.h>

#include "fuzz/host/world.h"

void fh_app_op(world *w, fdp *f) {
  int hi = fdp_u8(f) & 1;
  lp2p_host *h = w->h[hi];
  const lp2p_peerid *other = &w->id[1 - hi];
  static const char *const protos[] = {"/echo/1.0.0", "/ipfs/ping/1.0.0",
                                       "/fuzz/app/1.0.0", "/ipfs/id/1.0.0",
                                       "/perf/1.0.0", LP2P_RELAY_HOP_ID,
                                       LP2P_RELAY_STOP_ID,
                                       LP2P_DCUTR_PROTOCOL,
                                       LP2P_AUTONAT_DIAL_REQUEST_PROTOCOL,
                                       LP2P_AUTONAT_DIAL_BACK_PROTOCOL,
                                       "/ipfs/kad/1.0.0"};
  uint64_t *slot = &w->streams[hi][fdp_u8(f) % STREAMS_MAX];
  uint8_t data[64];
  memset(data, 0x5a, sizeof data);
  int rc;
  switch (fdp_u8(f) % 15) {
  case 13: { /* bytes from the input on one of our streams (hop/stop
              * messages for the relay, anything for the others) */
    const uint8_t *p;
    size_t n = fdp_bytes(f, &p, 256);
    lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, p, n);
    check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
          k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
    break;
  }
  case 14: /* the relay: reserve on the other host, or dial through it;
            * or ask host 0 (an AutoNAT server) to dial an address back */
    if (fdp_u8(f) % 4 == 3) {
      lp2p_maddr m = fh_a_addr(w, fdp_bool(f));
      lp2p_maddr_strip_peer_id(&m);
      uint64_t id;
      rc = lp2p_host_autonat_ask(w->h[1], w->now, &w->id[0], &m, 1, &id);
      check(rc <= 0);
      break;
    }
    if (fdp_bool(f)) {
      rc = lp2p_host_relay_reserve(h, w->now, other);
    } else {
      lp2p_maddr m = fh_a_addr(w, 1);
      lp2p_maddr tail;
      char t[160];
      size_t tl = 0;
      memcpy(t, "/p2p-circuit/p2p/", 17);
      if (lp2p_peerid_to_base58(&w->id[hi], t + 17, sizeof t - 17, &tl) == 0 &&
          lp2p_maddr_parse(&tail, t, 17 + tl) == 0 &&
          lp2p_maddr_encapsulate(&m, &tail) == 0)
        rc = lp2p_host_dial(w->h[1], w->now, &m, 0, NULL);
      else
        rc = 0;
    }
    check(rc <= 0);
    break;
  case 0: {
    lp2p_maddr m = fh_a_addr(w, fdp_bool(f));
    uint64_t d;
    rc = lp2p_host_dial(w->h[1], w->now, &m, fdp_bool(f) ? LP2P_DIAL_FORCE : 0,
                        &d);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  }
  case 1:
    rc = lp2p_host_ping(h, w->now, other);
    check(rc == 0 || rc == LP2P_ERR_NOT_FOUND || rc == LP2P_ERR_LIMIT ||
          rc == LP2P_ERR_NOMEM || rc == LP2P_ERR_STATE);
    break;
  case 2:
    rc = lp2p_host_identify(h, w->now, other);
    check(rc <= 0);
    break;
  case 3:
    rc = lp2p_host_perf(h, w->now, other, fdp_u16(f), fdp_u16(f));
    check(rc <= 0);
    break;
  case 4:
    rc = lp2p_host_open_stream(h, w->now, other, protos[fdp_u8(f) % 11], slot);
    check(rc <= 0);
    break;
  case 5: {
    lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, data,
                                          fdp_range(f, 0, sizeof data));
    check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
          k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
    break;
  }
  case 6: {
    size_t len = 0;
    lp2p_host_stream_read_peek(h, *slot, &len);
    if (len)
      check(lp2p_host_stream_read_consume(h, w->now, *slot,
                                          fdp_range(f, 0, len)) == 0);
    break;
  }
  case 7:
    lp2p_host_stream_close(h, w->now, *slot);
    break;
  case 8:
    lp2p_host_stream_reset(h, w->now, *slot);
    break;
  case 9:
    rc = lp2p_host_register_protocol(h, protos[fdp_u8(f) % 11]);
    check(rc == 0 || rc == LP2P_ERR_LIMIT || rc == LP2P_ERR_NOMEM ||
          rc == LP2P_ERR_STATE);
    break;
  case 10:
    lp2p_host_close_peer(h, w->now, other);
    break;
  case 11: { /* resource pressure: write as much as the stream takes and
              * never read the answers (echo, or an app that does not read) */
    static uint8_t big[4096];
    int rounds = 1 + fdp_u8(f) % 32;
    for (int i = 0; i < rounds; i++) {
      lp2p_ssize k = lp2p_host_stream_write(h, w->now, *slot, big, sizeof big);
      check(k >= 0 || k == LP2P_ERR_NOT_FOUND || k == LP2P_ERR_CLOSED ||
            k == LP2P_ERR_RESET || k == LP2P_ERR_NOMEM);
      if (k <= 0)
        break;
    }
    break;
  }
  default:
    if (fdp_u8(f) == 0x77)
      lp2p_host_close(h, w->now);
    break;
  }
}
