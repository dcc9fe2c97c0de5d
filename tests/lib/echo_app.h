/* A test application that streams `total` patterned bytes into an
 * /echo/1.0.0 stream, half-closes, and checks the echo byte by byte. It
 * only uses the public host API, so it runs on memnet, in the simulator
 * and over real sockets alike. */
#ifndef LP2P_TESTS_ECHO_APP_H
#define LP2P_TESTS_ECHO_APP_H

#include "lp2p/host.h"

typedef struct echo_app {
  lp2p_host *h;
  uint64_t id;
  size_t total, sent, recvd;
  int closed_write, remote_closed, closed, reset, bad;
  uint8_t seed;
} echo_app;

/* Write what the window takes; half-close once everything is written. */
void echo_app_pump(echo_app *a, lp2p_tstamp now);
/* Read and check everything readable. */
void echo_app_read(echo_app *a, lp2p_tstamp now);
/* Feed one host event (ignored unless it names a->id). */
void echo_app_event(echo_app *a, const lp2p_host_event *ev, lp2p_tstamp now);
/* 1 once the stream ended (closed or reset). */
int echo_app_done(const echo_app *a);

#endif
