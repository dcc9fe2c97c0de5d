#include "tests/lib/echo_app.h"

static uint8_t pat(uint8_t seed, size_t i) {
  return (uint8_t)(seed * 31u + i * 7u + (i >> 9));
}

void echo_app_pump(echo_app *a, lp2p_tstamp now) {
  uint8_t buf[4096];
  while (a->sent < a->total) {
    size_t k = a->total - a->sent;
    if (k > sizeof buf)
      k = sizeof buf;
    for (size_t i = 0; i < k; i++)
      buf[i] = pat(a->seed, a->sent + i);
    lp2p_ssize w = lp2p_host_stream_write(a->h, now, a->id, buf, k);
    if (w < 0) {
      a->bad = 1;
      return;
    }
    a->sent += (size_t)w;
    if ((size_t)w < k)
      return; /* WRITABLE follows */
  }
  if (!a->closed_write) {
    a->closed_write = 1;
    if (lp2p_host_stream_close(a->h, now, a->id) != 0)
      a->bad = 1;
  }
}

void echo_app_read(echo_app *a, lp2p_tstamp now) {
  for (;;) {
    size_t len = 0;
    const uint8_t *p = lp2p_host_stream_read_peek(a->h, a->id, &len);
    if (!len)
      break;
    for (size_t i = 0; i < len; i++)
      if (p[i] != pat(a->seed, a->recvd + i))
        a->bad = 1;
    a->recvd += len;
    if (lp2p_host_stream_read_consume(a->h, now, a->id, len) != 0)
      a->bad = 1;
  }
}

void echo_app_event(echo_app *a, const lp2p_host_event *ev,
                    lp2p_tstamp now) {
  if (!a->id || ev->stream != a->id)
    return;
  switch (ev->kind) {
  case LP2P_HOST_EV_STREAM_WRITABLE:
    echo_app_pump(a, now);
    break;
  case LP2P_HOST_EV_STREAM_READABLE:
    echo_app_read(a, now);
    break;
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
    echo_app_read(a, now);
    a->remote_closed = 1;
    break;
  case LP2P_HOST_EV_STREAM_CLOSED:
    a->closed = 1;
    break;
  case LP2P_HOST_EV_STREAM_RESET:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
    a->reset = 1;
    break;
  default:
    break;
  }
}

int echo_app_done(const echo_app *a) { return a->closed || a->reset; }
