/* See autonat_frame.h. */
#include <string.h>

#include "proto/autonat/autonat_frame.h"

size_t autonat_frames_feed(uint8_t *buf, size_t cap, size_t *len,
                           const uint8_t *p, size_t n, autonat_frame_fn fn,
                           void *ctx, int *err, int *stop) {
  size_t taken = 0;
  *err = 0;
  *stop = 0;
  while (n > 0) {
    size_t k = cap - *len < n ? cap - *len : n;
    memcpy(buf + *len, p, k);
    *len += k;
    p += k;
    n -= k;
    taken += k;
    for (;;) {
      const uint8_t *body;
      size_t blen;
      lp2p_ssize f =
          lp2p_autonat_frame(buf, *len, LP2P_AUTONAT_MSG_MAX, &body, &blen);
      if (f < 0) {
        *err = (int)f;
        return taken;
      }
      if (f == 0)
        break;
      int rc = fn(ctx, body, blen);
      memmove(buf, buf + f, *len - (size_t)f);
      *len -= (size_t)f;
      if (rc < 0) {
        *err = rc;
        return taken;
      }
      if (rc == 1) {
        *stop = 1;
        return taken;
      }
    }
  }
  return taken;
}
