/* The DNS service: the host's resolver for dials to /dns, /dns4, /dns6 and
 * /dnsaddr addresses. Thin glue between the host and the resolver engine
 * (dns_resolver.c): the host's resolve hook starts a lookup tagged with
 * the dial id; the queries leave through a UDP socket the service owns
 * (one per address family, opened on first use, port chosen by the
 * system: RFC 5452 section 10 wants the source port unpredictable too);
 * datagrams come back through raw_activity; finished lookups answer the
 * dial with host_dial_resolved. */
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

typedef struct dns_svc {
  uint32_t svc;
  lp2p_dns_res *res;
  uint64_t udp[2];   /* [0] IPv4, [1] IPv6; 0 = none */
  uint8_t ready[2];  /* UDP_READY seen */
} dns_svc;

static int dns_init(lp2p_host *h, uint32_t svc, void **state) {
  dns_svc *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return LP2P_ERR_NOMEM;
  st->svc = svc;
  int rc = lp2p_dns_res_new(&st->res, &h->cfg.dns, h->mem, &h->rng);
  if (rc) {
    lp2p_mem_free(h->mem, st);
    return rc;
  }
  *state = st;
  return 0;
}

static void dns_fini(lp2p_host *h, void *state) {
  dns_svc *st = state;
  if (!st)
    return;
  lp2p_dns_res_free(st->res);
  lp2p_mem_free(h->mem, st);
}

/* Open the socket of each family that has queries waiting; send what the
 * open sockets can take. */
static void flush(lp2p_host *h, dns_svc *st) {
  unsigned want = lp2p_dns_res_out_families(st->res), fams = 0;
  for (int i = 0; i < 2; i++) {
    unsigned bit = i ? LP2P_DNS_FAM6 : LP2P_DNS_FAM4;
    if (!(want & bit))
      continue;
    if (!st->udp[i]) {
      lp2p_sockaddr any;
      memset(&any, 0, sizeof any);
      any.family = i ? 6 : 4;
      st->ready[i] = 0;
      if (host_udp_open(h, st->svc + 1, &any, 0, &st->udp[i]) != 0)
        st->udp[i] = 0; /* the queries time out and report it */
    }
    if (st->udp[i] && st->ready[i])
      fams |= bit;
  }
  lp2p_sockaddr to;
  size_t len;
  const uint8_t *p;
  while (fams && (p = lp2p_dns_res_out_peek(st->res, fams, &to, &len))) {
    int i = to.family == 6;
    int rc = lp2p_host_udp_send(h, st->udp[i], &to, 0, p, len);
    if (rc == LP2P_ERR_AGAIN)
      break; /* the host's send queue is full: the next call sends */
    lp2p_dns_res_out_consume(st->res); /* sent, or lost like a datagram */
  }
}

/* Deliver finished lookups to their dials, then send. */
static void pump(lp2p_host *h, dns_svc *st, lp2p_tstamp now) {
  uint64_t tag;
  int err;
  const lp2p_maddr *addrs;
  size_t n;
  while (lp2p_dns_res_poll_done(st->res, &tag, &err, &addrs, &n) == 1)
    host_dial_resolved(h, tag, addrs, n, err, now); /* NOT_FOUND: gone */
  flush(h, st);
}

static int dns_resolve(lp2p_host *h, void *state, uint64_t dial,
                       const lp2p_maddr *ma, lp2p_tstamp now) {
  dns_svc *st = state;
  int rc = lp2p_dns_res_resolve(st->res, now, dial, ma);
  if (rc)
    return rc;
  pump(h, st, now);
  return 0;
}

static void dns_resolve_cancel(lp2p_host *h, void *state, uint64_t dial) {
  dns_svc *st = state;
  (void)h;
  lp2p_dns_res_cancel(st->res, dial);
}

static void dns_raw_activity(lp2p_host *h, void *state, uint64_t raw,
                             unsigned what, lp2p_tstamp now) {
  dns_svc *st = state;
  int i = raw == st->udp[1];
  if (raw != st->udp[i])
    return;
  if (what == LP2P_HOST_EV_UDP_READY) {
    st->ready[i] = 1;
  } else if (what == LP2P_HOST_EV_RAW_FAILED ||
             what == LP2P_HOST_EV_RAW_CLOSED) {
    st->udp[i] = 0; /* reopened by the next query */
    st->ready[i] = 0;
  } else if (what == LP2P_HOST_EV_UDP_READABLE) {
    lp2p_sockaddr from;
    size_t len;
    const uint8_t *p;
    while ((p = lp2p_host_udp_recv_peek(h, raw, &from, &len)) != NULL) {
      lp2p_dns_res_feed(st->res, now, &from, p, len);
      lp2p_host_udp_recv_consume(h, raw);
    }
  }
  pump(h, st, now);
}

static lp2p_tstamp dns_next_timeout(const void *state) {
  const dns_svc *st = state;
  return lp2p_dns_res_next_timeout(st->res);
}

static void dns_handle_timeout(lp2p_host *h, void *state, lp2p_tstamp now) {
  dns_svc *st = state;
  lp2p_dns_res_handle_timeout(st->res, now);
  pump(h, st, now);
}

const hsvc_ops host_svc_dns_ops = {
    .name = "dns",
    .init = dns_init,
    .fini = dns_fini,
    .raw_activity = dns_raw_activity,
    .resolve = dns_resolve,
    .resolve_cancel = dns_resolve_cancel,
    .next_timeout = dns_next_timeout,
    .handle_timeout = dns_handle_timeout,
};

int lp2p_host_dns_configure(lp2p_host *h, const char *hosts_text, size_t len,
                            const lp2p_sockaddr *servers, size_t nservers) {
  if (!h)
    return LP2P_ERR_INVAL;
  dns_svc *st = host_svc_state(h, &host_svc_dns_ops, NULL);
  if (!st)
    return LP2P_ERR_UNSUPPORTED;
  return lp2p_dns_res_configure(st->res, hosts_text, len, servers, nservers);
}
