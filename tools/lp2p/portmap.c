/* lp2p portmap [--protocol upnp|pcp|natpmp] list|add PORT|delete PORT:
 * ask the home router directly, print one JSON object. Without
 * --protocol: UPnP, then PCP, then NAT-PMP (the first that answers).
 * The gateway is the default route (/proc/net/route; env
 * LP2P_PROC_NET_ROUTE names another file). NAT-PMP and PCP cannot list
 * mappings (RFC 6886 and RFC 6887 have no such request): NAT-PMP's list
 * gives the external address with "mappings": null. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/gateway.h"
#include "lp2p/crypto.h"
#include "lp2p/driver.h"
#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"
#include "tools/lp2p/portmap.h"

void pmc_ip_text(const uint8_t ip[4], char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

void pmc_send(int fd, const lp2p_sockaddr *to, const uint8_t *p, size_t n) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(to->port);
  memcpy(&a.sin_addr, to->ip, 4);
  (void)sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof a);
}

long pmc_recv(int fd, uint8_t *buf, size_t cap, lp2p_sockaddr *from, int ms) {
  struct pollfd pf = {fd, POLLIN, 0};
  if (poll(&pf, 1, ms < 0 ? 0 : ms) != 1)
    return -1;
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  ssize_t r = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&a, &l);
  if (r < 0 || a.sin_family != AF_INET)
    return -1;
  memset(from, 0, sizeof *from);
  from->family = 4;
  memcpy(from->ip, &a.sin_addr, 4);
  from->port = ntohs(a.sin_port);
  return (long)r;
}

static int udp_socket(void) { return socket(AF_INET, SOCK_DGRAM, 0); }

/* Milliseconds until `t` (rounded up), at most 1000. */
static int wait_ms(lp2p_tstamp t) {
  lp2p_tstamp now = lp2p_clock_now();
  if (t == LP2P_TSTAMP_NONE)
    return 1000;
  if (t <= now)
    return 0;
  uint64_t ms = (t - now + LP2P_NS_PER_MS - 1) / LP2P_NS_PER_MS;
  return ms > 1000 ? 1000 : (int)ms;
}

/* ---- NAT-PMP (RFC 6886) ----------------------------------------------- */

int pmc_natpmp(pmc *p) {
  if (p->gw.family != 4)
    return -1;
  lp2p_natpmp_config cfg;
  lp2p_natpmp_config_default(&cfg);
  cfg.tries_max = 4; /* 250 ms doubling: ~4 s */
  lp2p_natpmp *c;
  int fd = udp_socket();
  if (fd < 0 || lp2p_natpmp_new(&c, &cfg, NULL, &p->gw) != 0) {
    if (fd >= 0)
      close(fd);
    return cli_fail(p->ctx, CLI_EXIT_DATA, "natpmp: cannot start");
  }
  lp2p_tstamp now = lp2p_clock_now();
  int want = 0;
  if (p->action != PMC_DELETE)
    want += lp2p_natpmp_request_addr(c, now, 1) == 0;
  if (p->action == PMC_ADD)
    want += lp2p_natpmp_request_map(c, now, 2, 0, p->port, p->port, 3600) == 0;
  if (p->action == PMC_DELETE)
    want += lp2p_natpmp_request_map(c, now, 2, 0, p->port, 0, 0) == 0;
  lp2p_natpmp_event ev, got_addr, got_map;
  int have_addr = 0, have_map = 0, err = 0, timeouts = 0;
  memset(&got_addr, 0, sizeof got_addr);
  memset(&got_map, 0, sizeof got_map);
  while (want > 0) {
    lp2p_sockaddr to;
    size_t len;
    const uint8_t *out;
    while ((out = lp2p_natpmp_out_peek(c, &to, &len)) != NULL) {
      pmc_send(fd, &to, out, len);
      lp2p_natpmp_out_consume(c);
    }
    while (lp2p_natpmp_poll_event(c, &ev) == 1) {
      if (ev.type == LP2P_NATPMP_EV_LOST)
        continue;
      want--;
      if (ev.type == LP2P_NATPMP_EV_FAILED) {
        err = ev.err;
        timeouts += ev.err == LP2P_ERR_TIMEOUT;
      } else if (ev.type == LP2P_NATPMP_EV_ADDRESS) {
        got_addr = ev;
        have_addr = 1;
      } else {
        got_map = ev;
        have_map = 1;
      }
    }
    if (want <= 0)
      break;
    uint8_t buf[1100];
    lp2p_sockaddr from;
    long r = pmc_recv(fd, buf, sizeof buf, &from,
                      wait_ms(lp2p_natpmp_next_timeout(c)));
    now = lp2p_clock_now();
    if (r >= 0)
      lp2p_natpmp_feed(c, now, &from, buf, (size_t)r);
    lp2p_natpmp_handle_timeout(c, now);
  }
  lp2p_natpmp_free(c);
  close(fd);
  if (err && !have_addr && !have_map && timeouts)
    return -1;
  if (err)
    return cli_fail(p->ctx, CLI_EXIT_DATA, "natpmp: %s", lp2p_strerror(err));
  char gw[16], ext[16];
  pmc_ip_text(p->gw.ip, gw);
  pmc_ip_text(got_addr.external_ip, ext);
  if (p->action == PMC_LIST)
    cli_printf(p->ctx,
               "{\"protocol\":\"natpmp\",\"gateway\":\"%s\","
               "\"external_ip\":\"%s\",\"mappings\":null}\n",
               gw, ext);
  else if (p->action == PMC_ADD)
    cli_printf(p->ctx,
               "{\"protocol\":\"natpmp\",\"gateway\":\"%s\","
               "\"external_ip\":\"%s\",\"internal_port\":%u,"
               "\"external_port\":%u,\"lifetime_s\":%u}\n",
               gw, ext, (unsigned)got_map.internal_port,
               (unsigned)got_map.external_port, (unsigned)got_map.lifetime_s);
  else
    cli_printf(p->ctx,
               "{\"protocol\":\"natpmp\",\"gateway\":\"%s\","
               "\"deleted\":%u}\n",
               gw, (unsigned)p->port);
  return 0;
}

/* ---- PCP (RFC 6887) -------------------------------------------------- */

/* The tool keeps no state between runs, yet a PCP delete must carry the
 * mapping's nonce (RFC 6887 11.2): derive it from our address and the
 * port, so `delete PORT` names what `add PORT` made. Off-path guessing
 * (what the random nonce defends against, 18.1) is not a concern for a
 * one-shot diagnostic on the LAN. */
static void tool_nonce(const pmc *p, uint8_t out[LP2P_PCP_NONCE_LEN]) {
  uint8_t in[32], h[32];
  size_t n = 0;
  memcpy(in, "lp2p portmap", 12);
  n = 12;
  memcpy(in + n, p->local.ip, 4);
  n += 4;
  in[n++] = (uint8_t)(p->port >> 8);
  in[n++] = (uint8_t)p->port;
  lp2p_sha256(h, in, n);
  memcpy(out, h, LP2P_PCP_NONCE_LEN);
}

int pmc_pcp(pmc *p) {
  if (p->gw.family != 4 || p->local.family != 4)
    return -1;
  if (p->action == PMC_LIST)
    return -1; /* PCP has no request that lists or reads the address */
  lp2p_pcp_config cfg;
  lp2p_pcp_config_default(&cfg);
  cfg.irt_ns = LP2P_NS_PER_S;
  cfg.mrc = 3; /* 1 + 2 + 4 s */
  lp2p_rng rng;
  lp2p_rng_system(&rng);
  lp2p_pcp *c;
  int fd = udp_socket();
  if (fd < 0 || lp2p_pcp_new(&c, &cfg, NULL, &rng, &p->gw, &p->local) != 0) {
    if (fd >= 0)
      close(fd);
    return cli_fail(p->ctx, CLI_EXIT_DATA, "pcp: cannot start");
  }
  uint8_t nonce[LP2P_PCP_NONCE_LEN];
  tool_nonce(p, nonce);
  lp2p_sockaddr sug;
  memset(&sug, 0, sizeof sug);
  sug.port = p->port;
  lp2p_pcp_request_map(c, lp2p_clock_now(), 1, LP2P_PCP_PROTO_TCP, p->port,
                       p->action == PMC_ADD ? &sug : NULL,
                       p->action == PMC_ADD ? 3600 : 0, nonce);
  lp2p_pcp_event ev;
  int done = 0;
  memset(&ev, 0, sizeof ev);
  while (!done) {
    lp2p_sockaddr to;
    size_t len;
    const uint8_t *out;
    while ((out = lp2p_pcp_out_peek(c, &to, &len)) != NULL) {
      pmc_send(fd, &to, out, len);
      lp2p_pcp_out_consume(c);
    }
    while (!done && lp2p_pcp_poll_event(c, &ev) == 1)
      done = ev.type != LP2P_PCP_EV_LOST;
    if (done)
      break;
    uint8_t buf[1100];
    lp2p_sockaddr from;
    long r = pmc_recv(fd, buf, sizeof buf, &from,
                      wait_ms(lp2p_pcp_next_timeout(c)));
    lp2p_tstamp now = lp2p_clock_now();
    if (r >= 0)
      lp2p_pcp_feed(c, now, &from, buf, (size_t)r);
    lp2p_pcp_handle_timeout(c, now);
  }
  lp2p_pcp_free(c);
  close(fd);
  if (ev.type == LP2P_PCP_EV_FAILED) {
    if (ev.err == LP2P_ERR_TIMEOUT || ev.natpmp)
      return -1; /* silent, or a NAT-PMP server: the next protocol */
    return cli_fail(p->ctx, CLI_EXIT_DATA, "pcp: %s (result %u)",
                    lp2p_strerror(ev.err), (unsigned)ev.result);
  }
  char gw[16], ext[16];
  pmc_ip_text(p->gw.ip, gw);
  pmc_ip_text(ev.external_ip + 12, ext);
  if (p->action == PMC_ADD)
    cli_printf(p->ctx,
               "{\"protocol\":\"pcp\",\"gateway\":\"%s\","
               "\"external_ip\":\"%s\",\"internal_port\":%u,"
               "\"external_port\":%u,\"lifetime_s\":%u}\n",
               gw, ext, (unsigned)ev.internal_port,
               (unsigned)ev.external_port, (unsigned)ev.lifetime_s);
  else
    cli_printf(p->ctx, "{\"protocol\":\"pcp\",\"gateway\":\"%s\","
                       "\"deleted\":%u}\n",
               gw, (unsigned)p->port);
  return 0;
}

/* ---- the verb ---------------------------------------------------------- */

static void find_gateway(pmc *p) {
  const char *path = getenv("LP2P_PROC_NET_ROUTE");
  FILE *f = fopen(path ? path : "/proc/net/route", "r");
  if (!f)
    return;
  char buf[16384];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (drv_gateway_parse(buf, len, p->gw.ip) != 0)
    return;
  p->gw.family = 4;
  p->gw.port = 5351;
  int fd = udp_socket();
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(5351);
  memcpy(&a.sin_addr, p->gw.ip, 4);
  socklen_t l = sizeof a;
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &l) == 0) {
    p->local.family = 4;
    memcpy(p->local.ip, &a.sin_addr, 4);
  }
  if (fd >= 0)
    close(fd);
}

int cli_cmd_portmap(cli_ctx *ctx, int argc, char **argv) {
  cli_opt opts[] = {{"protocol", 1, NULL, 0}};
  int npos = 0;
  int rc = cli_parse(ctx, argc, argv, opts, 1, &npos, 1, 2);
  if (rc)
    return rc;
  pmc p;
  memset(&p, 0, sizeof p);
  p.ctx = ctx;
  lp2p_portmap_method m = LP2P_PORTMAP_AUTO;
  if (opts[0].seen &&
      (lp2p_portmap_method_parse(opts[0].value, &m) != 0 ||
       m == LP2P_PORTMAP_AUTO || m == LP2P_PORTMAP_OFF))
    return cli_fail(ctx, CLI_EXIT_USAGE,
                    "--protocol takes upnp, pcp or natpmp");
  if (strcmp(argv[0], "list") == 0 && npos == 1) {
    p.action = PMC_LIST;
  } else if ((strcmp(argv[0], "add") == 0 ||
              strcmp(argv[0], "delete") == 0) && npos == 2) {
    uint64_t v;
    if (cli_parse_u64(argv[1], &v) || v == 0 || v > 65535)
      return cli_fail(ctx, CLI_EXIT_USAGE, "PORT must be 1..65535");
    p.action = argv[0][0] == 'a' ? PMC_ADD : PMC_DELETE;
    p.port = (uint16_t)v;
  } else {
    return cli_fail(ctx, CLI_EXIT_USAGE, "list, add PORT or delete PORT");
  }
  find_gateway(&p);
  if (m == LP2P_PORTMAP_UPNP || m == LP2P_PORTMAP_AUTO) {
    rc = pmc_upnp(&p);
    if (rc >= 0 || m == LP2P_PORTMAP_UPNP)
      return rc >= 0 ? rc
                     : cli_fail(ctx, CLI_EXIT_DATA, "no UPnP gateway answered");
  }
  if (m == LP2P_PORTMAP_PCP || m == LP2P_PORTMAP_AUTO) {
    rc = pmc_pcp(&p);
    if (rc >= 0)
      return rc;
    if (m == LP2P_PORTMAP_PCP)
      return cli_fail(ctx, CLI_EXIT_DATA,
                      p.action == PMC_LIST
                          ? "PCP cannot list mappings (RFC 6887)"
                      : p.gw.family ? "no PCP server answered"
                                    : "no default gateway");
  }
  rc = pmc_natpmp(&p);
  if (rc >= 0)
    return rc;
  if (!p.gw.family)
    return cli_fail(ctx, CLI_EXIT_DATA, "no default gateway%s",
                    m == LP2P_PORTMAP_AUTO ? " and no UPnP answer" : "");
  return cli_fail(ctx, CLI_EXIT_DATA, "no %s answered",
                  m == LP2P_PORTMAP_AUTO ? "gateway" : "NAT-PMP server");
}
