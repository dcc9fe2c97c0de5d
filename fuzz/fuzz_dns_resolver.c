/* Fuzz the resolver engine (lp2p_dns_res_*): the input chooses limits, a
 * fail-at allocation index, hosts and resolv.conf text, then operations:
 * start lookups of names and /dnsaddr chains, feed datagrams (raw bytes,
 * or a crafted answer that reuses the id and question of the query last
 * sent, from the right or a wrong source, with fuzzed records after it),
 * time steps, partial sends, cancels. Checks: results stay within
 * answers_max, every started lookup ends exactly once (or is cancelled),
 * memory stays bounded and nothing leaks after _free. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/lib/fdp.h"
#include "lp2p/dns.h"
#include "lp2p/multiaddr.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

#define TAGS 8

static const char *const addrs[] = {
    "/dns4/a.test/tcp/1",
    "/dns6/a.test/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dns/b.test/udp/2",
    "/dnsaddr/boot.test",
    "/dnsaddr/boot.test/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dns4/localhost/tcp/3",
    "/ip4/1.2.3.4/tcp/4",
};

static void fill(void *ctx, uint8_t *out, size_t n) {
  fdp *f = ctx;
  for (size_t i = 0; i < n; i++)
    out[i] = fdp_u8(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_dns_config cfg;
  lp2p_dns_config_default(&cfg);
  cfg.answers_max = (uint32_t)fdp_range(&f, 1, 8);
  cfg.queries_max = (uint32_t)fdp_range(&f, 1, 12);
  cfg.lookups_max = (uint32_t)fdp_range(&f, 1, TAGS);
  cfg.retries = (uint32_t)fdp_range(&f, 0, 2);
  cfg.timeout_ns = fdp_range(&f, 1, 1000);
  cfg.hosts_bytes_max = (uint32_t)fdp_range(&f, 0, 256);
  lp2p_mem_counting mem;
  lp2p_mem_counting_init(&mem, NULL);
  mem.fail_at = fdp_bool(&f) ? fdp_range(&f, 1, 64) : 0;
  mem.limit_bytes = 1u << 20; /* the bounds keep us far below */
  fdp rf; /* the rng reads its own slice so ids follow the input */
  const uint8_t *rb;
  size_t rl = fdp_bytes(&f, &rb, 32);
  fdp_init(&rf, rb, rl);
  lp2p_rng rng = {fill, &rf};
  lp2p_dns_res *r;
  if (lp2p_dns_res_new(&r, &cfg, &mem.mem, &rng) != 0)
    return 0;
  const uint8_t *hosts, *conf;
  size_t hl = fdp_bytes(&f, &hosts, 300), cl = fdp_bytes(&f, &conf, 200);
  lp2p_sockaddr sv[LP2P_DNS_SERVERS_MAX];
  size_t nsv = 0;
  CHECK(lp2p_dns_resolv_conf_parse((const char *)conf, cl, sv,
                                   LP2P_DNS_SERVERS_MAX, &nsv) == 0);
  CHECK(nsv <= LP2P_DNS_SERVERS_MAX);
  if (!nsv) { /* mostly have one server, so answers can match */
    memset(&sv[0], 0, sizeof sv[0]);
    sv[0].family = 4;
    sv[0].ip[0] = 10;
    sv[0].port = 53;
    nsv = fdp_bool(&f) ? 1 : 0;
  }
  lp2p_dns_res_configure(r, (const char *)hosts, hl, sv, nsv);

  int live[TAGS] = {0};
  lp2p_tstamp now = 1;
  uint8_t last[LP2P_DNS_NAME_MAX + 32];
  size_t last_len = 0;
  lp2p_sockaddr last_to;
  memset(&last_to, 0, sizeof last_to);
  for (int op = 0; op < 64 && fdp_left(&f); op++) {
    switch (fdp_u8(&f) % 7) {
    case 0: { /* resolve */
      unsigned t = fdp_u8(&f) % TAGS;
      const char *a = addrs[fdp_u8(&f) % (sizeof addrs / sizeof addrs[0])];
      lp2p_maddr m;
      CHECK(lp2p_maddr_parse(&m, a, strlen(a)) == 0);
      int rc = lp2p_dns_res_resolve(r, now, t, &m);
      CHECK(rc == 0 || rc == LP2P_ERR_INVAL || rc == LP2P_ERR_LIMIT ||
            rc == LP2P_ERR_NOMEM);
      CHECK(rc != LP2P_ERR_INVAL || live[t]);
      if (rc == 0)
        live[t] = 1;
      break;
    }
    case 1: { /* send (maybe not consumed: a full socket) */
      size_t len;
      const uint8_t *p = lp2p_dns_res_out_peek(r, fdp_u8(&f) & 3, &last_to,
                                               &len);
      if (p) {
        CHECK(len <= sizeof last);
        memcpy(last, p, len);
        last_len = len;
        if (fdp_bool(&f))
          lp2p_dns_res_out_consume(r);
      }
      break;
    }
    case 2: { /* raw datagram */
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, 600);
      lp2p_dns_res_feed(r, now, fdp_bool(&f) ? &last_to : &sv[0], p, n);
      break;
    }
    case 3: { /* an answer to the last query: its header and question, then
                 fuzzed answer records */
      if (!last_len)
        break;
      uint8_t m[LP2P_DNS_MSG_MAX];
      memcpy(m, last, last_len);
      m[2] = (uint8_t)(0x80 | (fdp_u8(&f) & 0x03)); /* QR, maybe TC */
      m[3] = fdp_u8(&f) & 0x8f;                     /* rcode */
      const uint8_t *p;
      size_t n = fdp_bytes(&f, &p, sizeof m - last_len);
      memcpy(m + last_len, p, n);
      m[6] = 0;
      m[7] = fdp_u8(&f);
      lp2p_sockaddr from = last_to;
      if (fdp_u8(&f) == 0)
        from.port++;
      lp2p_dns_res_feed(r, now, &from, m, last_len + n);
      break;
    }
    case 4: { /* time */
      lp2p_tstamp t = lp2p_dns_res_next_timeout(r);
      if (t != LP2P_TSTAMP_NONE && fdp_bool(&f) && t > now)
        now = t;
      else
        now += fdp_range(&f, 0, 600);
      lp2p_dns_res_handle_timeout(r, now);
      break;
    }
    case 5: { /* cancel */
      unsigned t = fdp_u8(&f) % TAGS;
      int rc = lp2p_dns_res_cancel(r, t);
      CHECK(rc == 0 || rc == LP2P_ERR_NOT_FOUND);
      if (rc == 0)
        live[t] = 0;
      break;
    }
    default: { /* reconfigure */
      lp2p_dns_res_configure(r, (const char *)hosts, hl, sv,
                             fdp_range(&f, 0, nsv));
      break;
    }
    }
    uint64_t tag;
    int err;
    const lp2p_maddr *res;
    size_t n;
    while (lp2p_dns_res_poll_done(r, &tag, &err, &res, &n) == 1) {
      CHECK(tag < TAGS && live[tag]);
      live[tag] = 0;
      CHECK(n <= cfg.answers_max);
      CHECK((err == 0) == (n > 0));
      for (size_t i = 0; i < n; i++)
        CHECK(res[i].len > 0 && res[i].len <= LP2P_MADDR_MAX);
    }
  }
  lp2p_dns_res_free(r);
  CHECK(mem.live_bytes == 0);
  return 0;
}
