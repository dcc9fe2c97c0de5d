/* Multiaddr name resolution for drivers and tools: /etc/hosts, then the
 * sans-IO DNS codec (proto/dns) over UDP to the system resolver. /dnsaddr
 * follows the multiaddr spec's TXT convention (_dnsaddr.<name>, records
 * "dnsaddr=<multiaddr>") with a recursion bound. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/sockaddr.h"
#include "lp2p/dns.h"
#include "lp2p/driver.h"
#include "lp2p/multiaddr.h"

typedef struct results {
  lp2p_maddr *out;
  size_t cap, n;
} results;

static int add_result(results *r, const lp2p_maddr *m) {
  for (size_t i = 0; i < r->n; i++)
    if (lp2p_maddr_equal(&r->out[i], m))
      return 0;
  if (r->n == r->cap)
    return 0; /* bounded: extra results are dropped */
  r->out[r->n++] = *m;
  return 0;
}

/* /etc/hosts: "ip name alias..." lines. want 4 or 6. */
static int hosts_lookup(const char *name, int want, uint8_t ips[][16],
                        int *fams, int max) {
  FILE *f = fopen("/etc/hosts", "r");
  if (!f)
    return 0;
  char line[512];
  int k = 0;
  while (k < max && fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    char *save = NULL, *ip = strtok_r(line, " \t\r\n", &save);
    if (!ip)
      continue;
    uint8_t b[16] = {0};
    int fam = 0;
    if (lp2p_ip4_from_text(ip, strlen(ip), b) == 0)
      fam = 4;
    else if (lp2p_ip6_from_text(ip, strlen(ip), b) == 0)
      fam = 6;
    if (!fam || (want && fam != want))
      continue;
    for (char *h; (h = strtok_r(NULL, " \t\r\n", &save));)
      if (strcasecmp(h, name) == 0) {
        memcpy(ips[k], b, 16);
        fams[k++] = fam;
        break;
      }
  }
  fclose(f);
  return k;
}

static int nameserver(lp2p_sockaddr *ns) {
  const char *path = getenv("LP2P_RESOLV_CONF");
  FILE *f = fopen(path ? path : "/etc/resolv.conf", "r");
  if (!f)
    return LP2P_ERR_IO;
  char line[256];
  int rc = LP2P_ERR_NOT_FOUND;
  while (fgets(line, sizeof line, f)) {
    char addr[128];
    unsigned port = 53;
    int got = sscanf(line, "nameserver %127s %u", addr, &port);
    if (got < 1)
      continue;
    memset(ns, 0, sizeof(*ns));
    ns->port = (uint16_t)port; /* a port after the address: tests only */
    if (lp2p_ip4_from_text(addr, strlen(addr), ns->ip) == 0)
      ns->family = 4;
    else if (lp2p_ip6_from_text(addr, strlen(addr), ns->ip) == 0)
      ns->family = 6;
    else
      continue;
    rc = 0;
    break;
  }
  fclose(f);
  return rc;
}

/* One query/response exchange over UDP; the response is parsed in place. */
static int dns_ask(const char *name, uint16_t qtype, uint8_t *resp,
                   size_t *resp_len, int timeout_ms) {
  lp2p_sockaddr ns;
  int rc = nameserver(&ns);
  if (rc != 0)
    return rc;
  uint8_t q[LP2P_DNS_NAME_MAX + 32];
  size_t ql;
  uint16_t id;
  if (getentropy(&id, sizeof id) != 0)
    id = (uint16_t)getpid();
  rc = lp2p_dns_query_encode(id, name, strlen(name), qtype, q, sizeof q, &ql);
  if (rc != 0)
    return rc;
  struct sockaddr_storage ss;
  socklen_t sl = drv_to_os(&ns, &ss);
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return LP2P_ERR_IO;
  rc = LP2P_ERR_TIMEOUT;
  if (connect(fd, (struct sockaddr *)&ss, sl) == 0 && send(fd, q, ql, 0) == (ssize_t)ql) {
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, timeout_ms) > 0) {
      ssize_t r = recv(fd, resp, LP2P_DNS_MSG_MAX, 0);
      if (r < 0) {
        rc = LP2P_ERR_IO;
        break;
      }
      lp2p_dns_resp pr;
      int prc = lp2p_dns_resp_parse(&pr, resp, (size_t)r, name, strlen(name), qtype);
      if (prc == 0 && pr.id == id) { /* ignore stray or spoofed answers */
        *resp_len = (size_t)r;
        rc = pr.rcode == 0 ? 0 : LP2P_ERR_NOT_FOUND;
        break;
      }
    }
  }
  close(fd);
  return rc;
}

/* Replace component [off, off+size) of `in` with /ip{4,6}/<ip>. */
static int splice_ip(const lp2p_maddr *in, size_t off, size_t size, int fam,
                     const uint8_t *ip, lp2p_maddr *out) {
  lp2p_maddr ipm;
  uint8_t b[16] = {0};
  memcpy(b, ip, fam == 4 ? 4 : 16);
  /* from_ip_port builds ip/tcp/port; keep only the ip component */
  int rc = lp2p_maddr_from_ip_port(&ipm, fam, b, 0, 0);
  if (rc != 0)
    return rc;
  lp2p_maddr_decapsulate(&ipm, LP2P_MA_TCP);
  if (in->len - size + ipm.len > LP2P_MADDR_MAX)
    return LP2P_ERR_LIMIT;
  uint8_t tmp[LP2P_MADDR_MAX];
  size_t k = 0;
  memcpy(tmp, in->bytes, off);
  k += off;
  memcpy(tmp + k, ipm.bytes, ipm.len);
  k += ipm.len;
  memcpy(tmp + k, in->bytes + off + size, in->len - off - size);
  k += in->len - off - size;
  return lp2p_maddr_from_bytes(out, tmp, k);
}

static int resolve_host(const lp2p_maddr *in, const lp2p_maddr_comp *c,
                        results *r, int timeout_ms) {
  char name[LP2P_DNS_NAME_MAX + 1];
  if (c->len > LP2P_DNS_NAME_MAX)
    return LP2P_ERR_PARSE;
  memcpy(name, c->value, c->len);
  name[c->len] = 0;
  int fams[2] = {c->code == LP2P_MA_DNS6 ? 0 : 4, c->code == LP2P_MA_DNS4 ? 0 : 6};
  int found = 0, last = LP2P_ERR_NOT_FOUND;
  for (int f = 0; f < 2; f++) {
    if (!fams[f])
      continue;
    uint8_t ips[8][16];
    int hf[8];
    int k = hosts_lookup(name, fams[f], ips, hf, 8);
    if (k == 0) {
      uint8_t resp[LP2P_DNS_MSG_MAX];
      size_t rl;
      uint16_t qt = fams[f] == 4 ? LP2P_DNS_TYPE_A : LP2P_DNS_TYPE_AAAA;
      int rc = dns_ask(name, qt, resp, &rl, timeout_ms);
      if (rc != 0) {
        last = rc;
        continue;
      }
      lp2p_dns_resp pr;
      lp2p_dns_rr rr;
      lp2p_dns_resp_parse(&pr, resp, rl, NULL, 0, 0);
      while (k < 8 && lp2p_dns_resp_next(&pr, &rr) == 1)
        if (rr.type == qt) {
          memset(ips[k], 0, 16);
          memcpy(ips[k], rr.data, rr.len);
          hf[k++] = fams[f];
        }
    }
    for (int i = 0; i < k; i++) {
      lp2p_maddr m;
      if (splice_ip(in, c->offset, c->size, hf[i], ips[i], &m) == 0) {
        add_result(r, &m);
        found = 1;
      }
    }
  }
  return found ? 0 : last;
}

static int resolve_rec(const lp2p_maddr *in, results *r, int depth,
                       int timeout_ms);

static int resolve_dnsaddr(const lp2p_maddr *in, const lp2p_maddr_comp *c,
                           results *r, int depth, int timeout_ms) {
  if (depth >= LP2P_DNSADDR_DEPTH_MAX)
    return LP2P_ERR_LIMIT;
  char name[LP2P_DNS_NAME_MAX + 1];
  if (c->len + 9 > LP2P_DNS_NAME_MAX)
    return LP2P_ERR_PARSE;
  memcpy(name, "_dnsaddr.", 9);
  memcpy(name + 9, c->value, c->len);
  name[9 + c->len] = 0;
  const uint8_t *want_id = NULL;
  size_t want_len = 0;
  lp2p_maddr_get_peer_id(in, &want_id, &want_len);
  uint8_t resp[LP2P_DNS_MSG_MAX];
  size_t rl;
  int rc = dns_ask(name, LP2P_DNS_TYPE_TXT, resp, &rl, timeout_ms);
  if (rc != 0)
    return rc;
  lp2p_dns_resp pr;
  lp2p_dns_rr rr;
  lp2p_dns_resp_parse(&pr, resp, rl, NULL, 0, 0);
  int last = LP2P_ERR_NOT_FOUND;
  while (lp2p_dns_resp_next(&pr, &rr) == 1) {
    char txt[LP2P_DNS_TXT_MAX];
    size_t tl;
    if (rr.type != LP2P_DNS_TYPE_TXT ||
        lp2p_dns_txt_join(&rr, txt, sizeof txt, &tl) != 0 || tl < 8 ||
        memcmp(txt, "dnsaddr=", 8) != 0)
      continue;
    lp2p_maddr m;
    if (lp2p_maddr_parse(&m, txt + 8, tl - 8) != 0)
      continue;
    if (want_id) {
      const uint8_t *id;
      size_t il;
      if (lp2p_maddr_get_peer_id(&m, &id, &il) != 0 || il != want_len ||
          memcmp(id, want_id, il) != 0)
        continue;
    }
    int rrc = resolve_rec(&m, r, depth + 1, timeout_ms);
    if (rrc != 0)
      last = rrc;
  }
  return r->n ? 0 : last;
}

static int resolve_rec(const lp2p_maddr *in, results *r, int depth,
                       int timeout_ms) {
  lp2p_maddr_iter it;
  lp2p_maddr_comp c;
  lp2p_maddr_iter_init(&it, in);
  while (lp2p_maddr_next(&it, &c) == 1) {
    switch (c.code) {
    case LP2P_MA_DNS:
    case LP2P_MA_DNS4:
    case LP2P_MA_DNS6:
      return resolve_host(in, &c, r, timeout_ms);
    case LP2P_MA_DNSADDR:
      return resolve_dnsaddr(in, &c, r, depth, timeout_ms);
    default:
      break;
    }
  }
  return add_result(r, in);
}

int lp2p_resolve_maddr(const lp2p_maddr *in, lp2p_maddr *out, size_t cap,
                       size_t *n, int timeout_ms) {
  results r = {out, cap, 0};
  int rc = resolve_rec(in, &r, 0, timeout_ms);
  *n = r.n;
  if (r.n)
    return 0;
  return rc ? rc : LP2P_ERR_NOT_FOUND;
}
