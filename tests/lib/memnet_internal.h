/* memnet's private header: its tables (endpoints, UDP sockets, hosts)
 * and what its files share: memnet.c (the clock, the pipes and the core's
 * TCP verbs), memnet_udp.c (UDP sockets and datagrams) and memnet_raw.c
 * (raw test endpoints and the addresses a test serves). */
#ifndef LP2P_TESTS_MEMNET_INTERNAL_H
#define LP2P_TESTS_MEMNET_INTERNAL_H

#include "drivers/core.h"
#include "tests/lib/memnet.h"

#define HOSTS_MAX 64
#define LISTENERS_MAX 8

typedef struct seg {
  struct seg *next;
  lp2p_tstamp at;   /* deliverable from this time */
  size_t len, off;
  uint8_t data[];
} seg;

/* One side of a TCP connection; its index is the driver core's handle. */
typedef struct ep {
  int used;
  int host;         /* -1 = raw test client */
  drv_ref ref;      /* the host's core record */
  int peer;         /* other side's endpoint index */
  seg *head, *tail; /* bytes in flight towards the peer */
  int fin_sent;     /* we closed our sending side (after the queue) */
  int fin_delivered;
  int closed;       /* host took CLOSE: socket gone */
  int reset;        /* RESET io or raw reset */
  int gone;         /* host side forgotten (ended, or reset delivered) */
  int refused;      /* dialled a listener that refused: reads reset */
  uint8_t *raw_in;  /* raw client: what it received */
  size_t raw_len, raw_cap;
  lp2p_sockaddr src;
  uint16_t src_port; /* a dial bound to a local port (REUSEPORT) */ /* raw client: its source address (family 0 = default) */
  int raw_out;      /* a host's raw dial to a served address: the host does
                       not re-dirty it after a short send, so each step
                       flushes it (a writable socket) */
} ep;

struct memnet;

/* A datagram in flight or waiting in a queue. */
typedef struct dgram {
  struct dgram *next;
  lp2p_tstamp at;
  memnet_dgram d;
} dgram;

/* A host's UDP socket; its index is the driver core's handle. */
typedef struct usock {
  int used;
  int host;
  drv_ref ref;
  uint16_t port;
  dgram *head, *tail; /* received, deliverable from `at` */
} usock;

#define SERVED_MAX 8

typedef struct mhost {
  struct memnet *n;
  int idx;
  lp2p_host *h;
  drv_core *core; /* the shared driver core; memnet fills in its verbs */
  struct {
    uint64_t id;
    uint16_t port;
  } ls[LISTENERS_MAX];
  int nls;
  uint16_t next_port;
  int hold;
} mhost;

struct memnet {
  mhost hosts[HOSTS_MAX];
  int nhosts;
  ep *eps;
  int neps, caps;
  lp2p_tstamp now;
  uint64_t latency_ns;
  size_t chunk_max;
  uint64_t rng;
  memnet_event_fn on_event;
  void *ud;
  uint64_t moved;
  int progress; /* set by the socket verbs: something moved */
  usock *us;
  int nus, caps_us;
  dgram *out_head, *out_tail; /* datagrams for the test */
  lp2p_sockaddr served[SERVED_MAX];
  int nserved;
  int *accq; /* raw endpoints not accepted yet */
  int naccq, caccq;
};

/* memnet.c: a new endpoint (index), forget an endpoint's queue, queue
 * bytes towards its peer, connect endpoint `a` to a host's listener at
 * `dst` (the far endpoint's index, or -1). */
int mn_ep_new(memnet *n);
void mn_ep_clear(ep *e);
void mn_push(memnet *n, ep *e, const uint8_t *p, size_t len);
int mn_connect_to(memnet *n, int a, const lp2p_sockaddr *dst,
                  lp2p_sockaddr *local);

/* memnet_udp.c: the core's UDP verbs. */
int mn_udp_bind(mhost *mh, drv_ref ref, const lp2p_io *io, drv_handle *h,
                lp2p_sockaddr *bound);
void mn_udp_send(void *b, drv_handle h, const lp2p_io *io);
lp2p_ssize mn_udp_recv(void *b, drv_handle h, lp2p_sockaddr *from,
                       uint8_t *buf, size_t cap);
int mn_udp_join(void *b, drv_handle h, const lp2p_sockaddr *group);

/* memnet_raw.c: is `a` an address the test serves (memnet_tcp_serve),
 * and a host's raw dial to one. */
int mn_served(const memnet *n, const lp2p_sockaddr *a);
int mn_raw_dial_served(mhost *mh, drv_ref ref, drv_handle *h,
                       lp2p_sockaddr *local);

#endif
