/* Test DNS server (dns_server.h). */
#include "tests/lib/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lp2p/multiaddr.h"

static void put16(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* Uncompressed name (RFC 1035 3.1). Returns the new offset or 0. */
static size_t put_name(uint8_t *m, size_t o, size_t cap, const char *name) {
  size_t l = strlen(name);
  if (o + l + 2 > cap)
    return 0;
  const char *s = name;
  while (*s) {
    const char *dot = strchr(s, '.');
    size_t k = dot ? (size_t)(dot - s) : strlen(s);
    m[o++] = (uint8_t)k;
    memcpy(m + o, s, k);
    o += k;
    s += k + (dot ? 1 : 0);
  }
  m[o++] = 0;
  return o;
}

static size_t put_rr(uint8_t *m, size_t o, size_t cap, const char *owner,
                     uint16_t type, const uint8_t *rd, size_t rl) {
  o = put_name(m, o, cap, owner);
  if (!o || o + 10 + rl > cap)
    return 0;
  put16(m + o, type);
  put16(m + o + 2, 1);
  memset(m + o + 4, 0, 4);
  m[o + 7] = 60; /* TTL */
  put16(m + o + 8, rl);
  memcpy(m + o + 10, rd, rl);
  return o + 10 + rl;
}

/* RDATA of a record from its text form. */
static size_t rdata(const dns_rec *r, uint8_t *rd, size_t cap) {
  switch (r->type) {
  case LP2P_DNS_TYPE_A:
    return lp2p_ip4_from_text(r->data, strlen(r->data), rd) == 0 ? 4 : 0;
  case LP2P_DNS_TYPE_AAAA:
    return lp2p_ip6_from_text(r->data, strlen(r->data), rd) == 0 ? 16 : 0;
  case LP2P_DNS_TYPE_CNAME:
    return put_name(rd, 0, cap, r->data);
  case LP2P_DNS_TYPE_TXT: { /* one <character-string> per 255 bytes */
    size_t l = strlen(r->data), o = 0;
    for (size_t i = 0; i < l && o + 256 <= cap; i += 255) {
      size_t k = l - i < 255 ? l - i : 255;
      rd[o++] = (uint8_t)k;
      memcpy(rd + o, r->data + i, k);
      o += k;
    }
    return o;
  }
  default:
    return 0;
  }
}

size_t dns_server_reply(dns_server *s, const uint8_t *q, size_t n,
                        dns_reply out[3]) {
  s->queries++;
  if (s->drop_first) {
    s->drop_first--;
    return 0;
  }
  char name[256];
  size_t nl;
  if (n < 17 || lp2p_dns_name_decode(q, n, 12, name, sizeof name - 1, &nl))
    return 0;
  name[nl] = 0;
  size_t qend = n; /* the query is header + one question */
  uint16_t qtype = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
  dns_reply *a = &out[0];
  size_t k = 0;
  if (s->garbage) {
    memset(out[k].buf, 0xa5, 40);
    out[k].len = 40;
    out[k++].other_port = 0;
  }
  size_t ai = k;
  a = &out[ai];
  memcpy(a->buf, q, qend);
  a->buf[2] = 0x81; /* QR, RD */
  a->buf[3] = 0x80; /* RA, NOERROR */
  size_t o = qend;
  unsigned an = 0, exists = 0;
  char cur[256];
  strcpy(cur, name);
  for (int hop = 0; hop < 10; hop++) {
    int moved = 0;
    for (size_t i = 0; i < s->nrecs; i++) {
      const dns_rec *r = &s->recs[i];
      if (strcasecmp(r->name, cur) != 0)
        continue;
      exists = 1;
      if (r->type != qtype && r->type != LP2P_DNS_TYPE_CNAME)
        continue;
      uint8_t rd[1024];
      size_t rl = rdata(r, rd, sizeof rd);
      size_t no = put_rr(a->buf, o, sizeof a->buf, cur, r->type, rd, rl);
      if (!no)
        break;
      o = no;
      an++;
      if (r->type == LP2P_DNS_TYPE_CNAME && qtype != LP2P_DNS_TYPE_CNAME) {
        strcpy(cur, r->data);
        moved = 1;
        break;
      }
    }
    if (!moved)
      break;
  }
  if (qtype == LP2P_DNS_TYPE_A)
    for (unsigned i = 0; i < s->flood; i++) {
      uint8_t ip[4] = {10, 9, (uint8_t)(i >> 8), (uint8_t)i};
      size_t no = put_rr(a->buf, o, sizeof a->buf, cur, qtype, ip, 4);
      if (!no)
        break;
      o = no;
      an++;
    }
  if (!exists && !s->flood)
    a->buf[3] = 0x83; /* NXDOMAIN */
  put16(a->buf + 6, an);
  a->len = o;
  a->other_port = s->wrong_port;
  k++;
  if (s->wrong_id) { /* the spoof goes first, the real answer after it */
    out[k] = *a;
    out[ai].buf[0] ^= 0x5a;
    out[ai].other_port = 0;
    out[k].other_port = s->wrong_port;
    k++;
  }
  s->answered++;
  return k;
}

/* ---- loopback ---------------------------------------------------------- */

static int bound_socket(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  *port = ntohs(a.sin_port);
  return fd;
}

int dns_udp_open(dns_udp *u, dns_server *srv) {
  memset(u, 0, sizeof *u);
  u->srv = srv;
  uint16_t p, p2;
  u->fd = bound_socket(&p);
  u->fd2 = bound_socket(&p2);
  if (u->fd < 0 || u->fd2 < 0)
    return -1;
  u->addr.family = 4;
  u->addr.ip[0] = 127;
  u->addr.ip[3] = 1;
  u->addr.port = p;
  return 0;
}

void dns_udp_service(dns_udp *u) {
  for (;;) {
    uint8_t q[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(u->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (r < 0)
      return;
    dns_reply out[3];
    size_t k = dns_server_reply(u->srv, q, (size_t)r, out);
    for (size_t i = 0; i < k; i++)
      sendto(out[i].other_port ? u->fd2 : u->fd, out[i].buf, out[i].len, 0,
             (struct sockaddr *)&from, fl);
  }
}

void dns_udp_close(dns_udp *u) {
  if (u->fd >= 0)
    close(u->fd);
  if (u->fd2 >= 0)
    close(u->fd2);
}

/* ---- simulator --------------------------------------------------------- */

static void sim_sock(void *ud, lp2p_sim *s, uint64_t sock, uint64_t tag,
                     unsigned what) {
  dns_sim *d = ud;
  (void)tag;
  if (sock != d->sock || !(what & LP2P_SIM_SOCK_READABLE))
    return;
  uint8_t q[512];
  lp2p_sockaddr from;
  lp2p_ssize r;
  while ((r = lp2p_sim_udp_recv(s, sock, &from, q, sizeof q)) >= 0) {
    dns_reply out[3];
    size_t k = dns_server_reply(d->srv, q, (size_t)r, out);
    for (size_t i = 0; i < k; i++)
      lp2p_sim_udp_send(s, out[i].other_port ? d->sock2 : d->sock, &from,
                        out[i].buf, out[i].len, 0);
  }
}

int dns_sim_open(dns_sim *d, lp2p_sim *s, uint32_t node, uint16_t port,
                 dns_server *srv) {
  memset(d, 0, sizeof *d);
  d->srv = srv;
  int rc = lp2p_sim_udp_open(s, node, port, &d->sock, &d->addr);
  if (!rc)
    rc = lp2p_sim_udp_open(s, node, (uint16_t)(port + 1), &d->sock2, NULL);
  if (!rc)
    rc = lp2p_sim_ep_on_sock(s, node, sim_sock, d);
  if (!rc && d->addr.ip[0] == 0) { /* bound to any: use the node's IP */
    uint32_t ip = lp2p_sim_node_ip(s, node);
    d->addr.family = 4;
    d->addr.ip[0] = (uint8_t)(ip >> 24);
    d->addr.ip[1] = (uint8_t)(ip >> 16);
    d->addr.ip[2] = (uint8_t)(ip >> 8);
    d->addr.ip[3] = (uint8_t)ip;
  }
  return rc;
}
