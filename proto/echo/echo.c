/* /echo/1.0.0 (test service): write back every byte read, in order, as
 * fast as the stream's send window allows; half-close after the remote
 * half-closed and everything was echoed. Backpressure is natural: bytes
 * are consumed only once they were written back, so a peer that does not
 * read its echo stalls its own sending through the yamux window. */
#include "proto/host/host_internal.h"

int echo_svc_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    lp2p_ssize w = host_stream_write_raw(h, s, now, p, len);
    if (w < 0) {
      host_stream_reset_raw(h, s, now);
      return -1;
    }
    if (w == 0)
      return 0; /* wait for WRITABLE */
    host_stream_consume_raw(h, s, now, (size_t)w);
  }
  if (host_stream_eof_raw(h, s))
    host_stream_close_raw(h, s, now);
  return 0;
}
