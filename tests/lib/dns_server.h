/* A small DNS server for tests: answers A, AAAA, TXT and CNAME questions
 * from a table (RFC 1035 messages built by hand, not by the codec under
 * test), and misbehaves on request: drop the first queries, send garbage
 * or an answer with a wrong id first, answer from a wrong port, answer
 * with far too many records. The reply builder is pure; two transports run
 * it: real loopback UDP sockets, and simulator UDP sockets on a sim node. */
#ifndef LP2P_TESTS_DNS_SERVER_H
#define LP2P_TESTS_DNS_SERVER_H

#include "lp2p/dns.h"
#include "lp2p/sim.h"

typedef struct dns_rec {
  const char *name;
  uint16_t type;    /* LP2P_DNS_TYPE_* */
  const char *data; /* A / AAAA: IP text; TXT: the string; CNAME: target */
} dns_rec;

typedef struct dns_server {
  const dns_rec *recs;
  size_t nrecs;
  unsigned drop_first; /* ignore this many queries (counts down) */
  int garbage;         /* send a garbage datagram before each answer */
  int wrong_id;        /* send a copy with another id before each answer */
  int wrong_port;      /* send each answer from the other socket only */
  unsigned flood;      /* A answers: this many extra addresses */
  unsigned queries;    /* queries seen */
  unsigned answered;   /* real answers sent */
} dns_server;

typedef struct dns_reply {
  uint8_t buf[LP2P_DNS_MSG_MAX];
  size_t len;
  int other_port; /* send from the server's second socket */
} dns_reply;

/* The datagrams to send for query q[0..n): 0 to 3 of them into out. */
size_t dns_server_reply(dns_server *s, const uint8_t *q, size_t n,
                        dns_reply out[3]);

/* ---- loopback transport (non-blocking sockets on 127.0.0.1) ---- */
typedef struct dns_udp {
  dns_server *srv;
  int fd, fd2;
  lp2p_sockaddr addr; /* where to send queries */
} dns_udp;
int dns_udp_open(dns_udp *u, dns_server *srv);
/* Answer everything queued on the socket (never blocks). */
void dns_udp_service(dns_udp *u);
void dns_udp_close(dns_udp *u);

/* ---- simulator transport (a sim node's application sockets) ---- */
typedef struct dns_sim {
  dns_server *srv;
  uint64_t sock, sock2;
  lp2p_sockaddr addr;
} dns_sim;
/* Serve on `node` port `port` (the second socket takes port + 1). */
int dns_sim_open(dns_sim *d, lp2p_sim *s, uint32_t node, uint16_t port,
                 dns_server *srv);

#endif
