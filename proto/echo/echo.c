/* /echo/1.0.0 (test service): write back every byte read, in order, as
 * fast as the stream's send window allows; half-close after the remote
 * half-closed and everything was echoed. Backpressure is natural: bytes
 * are consumed only once they were written back, so a peer that does not
 * read its echo stalls its own sending through the yamux window (kept at
 * its initial size: no auto-tuning). No per-stream state. */
#include "proto/host/host_internal.h"

#define ECHO_PROTOCOL "/echo/1.0.0"

static int echo_init(lp2p_host *h, uint32_t svc, void **state) {
  *state = NULL;
  if (!h->cfg.echo.serve)
    return 0;
  int err = 0;
  host_svc_add_protocol(h, svc, ECHO_PROTOCOL,
                        HSVC_P_INBOUND | HSVC_P_ADVERTISE, &err);
  return err;
}

static void echo_activity(lp2p_host *h, void *state, uint64_t stream,
                          void *ud, lp2p_tstamp now) {
  (void)state;
  (void)ud;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, stream, &len);
    if (!len)
      break;
    lp2p_ssize w = host_svc_write(h, stream, now, p, len);
    if (w < 0) {
      host_svc_reset(h, stream, now);
      return;
    }
    if (w == 0)
      return; /* wait for WRITABLE */
    host_svc_consume(h, stream, now, (size_t)w);
  }
  if (host_svc_at_eof(h, stream))
    host_svc_close(h, stream, now);
}

static void echo_start(lp2p_host *h, void *state, uint64_t stream,
                       uint64_t conn, uint16_t proto, lp2p_tstamp now) {
  (void)conn;
  (void)proto;
  /* Input is consumed only as fast as it is echoed, so a peer that never
   * reads stalls itself; with a fixed window it can park at most one
   * window (256 KiB) with us. Auto-tuning would double the window when
   * the first half-window was echoed quickly. */
  host_svc_stream_fix_window(h, stream);
  echo_activity(h, state, stream, NULL, now);
}

const hsvc_ops host_svc_echo_ops = {
    .name = "echo",
    .init = echo_init,
    .stream_start = echo_start,
    .stream_activity = echo_activity,
};
