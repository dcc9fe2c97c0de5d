/* memnet: a tiny in-memory network that drives lp2p_hosts for tests.
 *
 * Each host gets an IPv4 address. memnet plays the driver: it takes the
 * hosts' I/O requests (LISTEN binds a virtual port, DIAL connects two
 * hosts directly through their listeners, CLOSE / RESET end a pipe), moves
 * output bytes from the dirty queue into one-way pipes (re-chunked at
 * random boundaries, partial consumes, a fixed latency per hop) and feeds
 * them to the other side in random chunks, honouring recv_room. Time is
 * virtual: when nothing moves, the clock jumps to the next deadline or
 * delivery. Everything random comes from one seed.
 *
 * Raw endpoints let a test act as a misbehaving TCP client (send bytes of
 * its choice, never answer, close, reset). */
#ifndef LP2P_TESTS_MEMNET_H
#define LP2P_TESTS_MEMNET_H

#include "lp2p/host.h"

typedef struct memnet memnet;

/* Called for every host event, in order. */
typedef void (*memnet_event_fn)(void *ud, int host, const lp2p_host_event *ev);

memnet *memnet_new(uint64_t seed);
void memnet_free(memnet *n);
/* Add a host (not owned) with address 10.0.0.<index + 1>. Returns its
 * index. */
int memnet_add(memnet *n, lp2p_host *h);
lp2p_host *memnet_host(memnet *n, int i);
void memnet_on_event(memnet *n, memnet_event_fn fn, void *ud);
/* Stop (hold = 1) or resume polling host i's events: an application that
 * falls behind. */
void memnet_hold_events(memnet *n, int host, int hold);
/* One-way latency per hop in ns (default 1 ms). */
void memnet_set_latency(memnet *n, uint64_t ns);
/* Largest chunk a step moves per connection (default 64 KiB). */
void memnet_set_chunk_max(memnet *n, size_t max);
lp2p_tstamp memnet_now(const memnet *n);
/* The address of host i with `port`. */
void memnet_addr(const memnet *n, int i, uint16_t port, lp2p_sockaddr *out);

/* Run until stop(ud) returns nonzero (then 1), or nothing can happen any
 * more or `max_ns` of virtual time passed (then 0). stop may be NULL. */
int memnet_run(memnet *n, int (*stop)(void *ud), void *ud, uint64_t max_ns);
/* Run for `ns` of virtual time. */
void memnet_run_for(memnet *n, uint64_t ns);

/* ---- raw endpoints (a test acting as a TCP peer) ------------------------- */

/* Connect a raw client to host i's listener on `port`. Returns an endpoint
 * handle >= 0, or -1 if nothing listens there or the host refused. */
int memnet_raw_connect(memnet *n, int host, uint16_t port);
/* Same from source address `src` (any IP; the port is memnet's): one
 * attacker posing as many machines. The default source is 10.0.0.100. */
int memnet_raw_connect_from(memnet *n, int host, uint16_t port,
                            const lp2p_sockaddr *src);
/* Queue bytes from the raw client to the host. */
void memnet_raw_send(memnet *n, int ep, const void *p, size_t len);
/* Bytes the host sent to the raw client so far (owned by memnet). */
const uint8_t *memnet_raw_received(memnet *n, int ep, size_t *len);
/* 1 when the host closed (CLOSE io) or reset (RESET io) that connection. */
int memnet_raw_closed(memnet *n, int ep);
int memnet_raw_was_reset(memnet *n, int ep);
/* Close (EOF) or reset the raw client's side. */
void memnet_raw_close(memnet *n, int ep);
void memnet_raw_reset(memnet *n, int ep);

/* ---- servers outside the hosts (a home router for the port mapper) ------
 * Hosts' UDP sockets work: datagrams between hosts are delivered (after
 * the latency); those sent to any other address (a gateway at
 * 10.0.0.254, SSDP's 239.255.255.250) wait for the test in one outbox.
 * Raw TCP dials to an address the test serves become raw endpoints (the
 * memnet_raw_* calls above) the test accepts. */
typedef struct memnet_dgram {
  int host;            /* the sender */
  lp2p_sockaddr from;  /* its socket */
  lp2p_sockaddr to;
  size_t len;
  uint8_t data[2048];
} memnet_dgram;
/* The oldest datagram for the test: 1 (filled) or 0. */
int memnet_udp_take(memnet *n, memnet_dgram *out);
/* Send a datagram from `from` to `to` (a host's socket; dropped when no
 * socket is bound there). */
void memnet_udp_send(memnet *n, const lp2p_sockaddr *from,
                     const lp2p_sockaddr *to, const void *p, size_t len);
/* Accept raw TCP connections to `addr` from now on (up to 8 addresses). */
void memnet_tcp_serve(memnet *n, const lp2p_sockaddr *addr);
/* The oldest connection to a served address not accepted yet: a raw
 * endpoint, or -1. */
int memnet_tcp_accept(memnet *n);

/* Counters. */
size_t memnet_pipes_open(const memnet *n);
uint64_t memnet_bytes_moved(const memnet *n);

#endif
