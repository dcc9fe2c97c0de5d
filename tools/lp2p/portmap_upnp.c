/* lp2p portmap over UPnP IGD: SSDP M-SEARCH (UDA 1.1 1.3.2), the device
 * description (UDA 1.1 2.3), then SOAP (WANIPConnection:2 2.5):
 * GetGenericPortMappingEntry by index for `list` (until the device says
 * 713 SpecifiedArrayIndexInvalid), AddPortMapping for `add` (725: again
 * with lease 0), DeletePortMapping for `delete`. One blocking TCP
 * connection per exchange (Connection: close), 5 s timeouts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lp2p/multiaddr.h"
#include "lp2p/upnp.h"
#include "tools/lp2p/portmap.h"

#define SSDP_WAIT_MS 2000
#define ENTRIES_MAX 256

typedef struct upnp_gw {
  char location[LP2P_UPNP_URL_MAX];
  lp2p_upnp_service svc;
  lp2p_upnp_url ctl;
  uint8_t local[4]; /* our end of the last connection */
  uint8_t *body;
  size_t body_len;
  int status;
} upnp_gw;

static int discover(upnp_gw *g) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return -1;
  lp2p_sockaddr to;
  memset(&to, 0, sizeof to);
  to.family = 4;
  lp2p_ip4_from_text(LP2P_SSDP_ADDR4, strlen(LP2P_SSDP_ADDR4), to.ip);
  to.port = LP2P_SSDP_PORT;
  const char *sts[] = {LP2P_UPNP_ST_IGD1, LP2P_UPNP_ST_IGD2};
  for (int i = 0; i < 2; i++) {
    char msg[512];
    size_t len;
    if (lp2p_ssdp_msearch_build(sts[i], 2, msg, sizeof msg, &len) == 0)
      pmc_send(fd, &to, (const uint8_t *)msg, len);
  }
  struct timeval end, now;
  gettimeofday(&end, NULL);
  end.tv_sec += SSDP_WAIT_MS / 1000;
  int found = -1;
  for (;;) {
    gettimeofday(&now, NULL);
    long left = (end.tv_sec - now.tv_sec) * 1000 +
                (end.tv_usec - now.tv_usec) / 1000;
    if (left <= 0)
      break;
    uint8_t buf[LP2P_SSDP_MSG_MAX];
    lp2p_sockaddr from;
    long r = pmc_recv(fd, buf, sizeof buf, &from, (int)left);
    lp2p_ssdp_reply rep;
    if (r < 0 || lp2p_ssdp_reply_parse(buf, (size_t)r, &rep) != 0 ||
        !rep.location || lp2p_ssdp_reply_igd_version(&rep) == 0 ||
        rep.location_len >= sizeof g->location)
      continue;
    memcpy(g->location, rep.location, rep.location_len);
    g->location[rep.location_len] = 0;
    found = 0;
    break;
  }
  close(fd);
  return found;
}

/* One HTTP exchange: request req to url; the body into g->body. */
static int exchange(upnp_gw *g, const lp2p_upnp_url *url, const uint8_t *req,
                    size_t len) {
  uint8_t ip[4];
  if (lp2p_ip4_from_text(url->host, strlen(url->host), ip) != 0)
    return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(url->port);
  memcpy(&a.sin_addr, ip, 4);
  socklen_t l = sizeof a;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
    close(fd);
    return -1;
  }
  memcpy(g->local, &a.sin_addr, 4);
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, req + off, len - off);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  static lp2p_http_resp resp;
  lp2p_http_resp_init(&resp, g->body, LP2P_UPNP_DESC_MAX);
  int ok = -1;
  for (;;) {
    uint8_t buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0)
      break;
    if (r == 0) {
      ok = lp2p_http_resp_eof(&resp) == 0 ? 0 : -1;
      break;
    }
    if (lp2p_http_resp_feed(&resp, buf, (size_t)r) < 0)
      break;
    if (lp2p_http_resp_done(&resp)) {
      ok = 0;
      break;
    }
  }
  close(fd);
  g->status = resp.status;
  g->body_len = resp.body_len;
  return ok;
}

static int soap(upnp_gw *g, const char *action, const lp2p_upnp_arg *args,
                size_t n, lp2p_upnp_soap_resp *r) {
  uint8_t req[4096];
  size_t len;
  if (lp2p_upnp_soap_request(&g->ctl, g->svc.service_type, action, args, n,
                             req, sizeof req, &len) != 0 ||
      exchange(g, &g->ctl, req, len) != 0 ||
      (g->status != 200 && g->status != 500) ||
      lp2p_upnp_soap_parse(NULL, g->body, g->body_len, action, r) != 0)
    return -1;
  return 0;
}

static void json_str(cli_ctx *ctx, const char *s) {
  cli_printf(ctx, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      cli_printf(ctx, "\\%c", c);
    else if (c < 0x20)
      cli_printf(ctx, "\\u%04x", c);
    else
      cli_printf(ctx, "%c", c);
  }
  cli_printf(ctx, "\"");
}

static int list(pmc *p, upnp_gw *g, const char *ext) {
  static lp2p_upnp_soap_resp r;
  cli_printf(p->ctx, "{\"protocol\":\"upnp\",\"gateway\":\"%s\","
                     "\"external_ip\":\"%s\",\"mappings\":[",
             g->ctl.host, ext);
  for (unsigned i = 0; i < ENTRIES_MAX; i++) {
    char idx[12];
    snprintf(idx, sizeof idx, "%u", i);
    lp2p_upnp_arg a = {"NewPortMappingIndex", idx};
    if (soap(g, "GetGenericPortMappingEntry", &a, 1, &r) != 0 || r.fault)
      break; /* 713 SpecifiedArrayIndexInvalid ends the table */
    uint32_t ext_port = 0, int_port = 0, lease = 0;
    lp2p_upnp_soap_arg_u32(&r, "NewExternalPort", 65535, &ext_port);
    lp2p_upnp_soap_arg_u32(&r, "NewInternalPort", 65535, &int_port);
    lp2p_upnp_soap_arg_u32(&r, "NewLeaseDuration", UINT32_MAX, &lease);
    const char *proto = lp2p_upnp_soap_arg(&r, "NewProtocol");
    const char *client = lp2p_upnp_soap_arg(&r, "NewInternalClient");
    const char *desc = lp2p_upnp_soap_arg(&r, "NewPortMappingDescription");
    cli_printf(p->ctx, "%s{\"external_port\":%u,\"protocol\":", i ? "," : "",
               ext_port);
    json_str(p->ctx, proto ? proto : "");
    cli_printf(p->ctx, ",\"internal_client\":");
    json_str(p->ctx, client ? client : "");
    cli_printf(p->ctx, ",\"internal_port\":%u,\"description\":", int_port);
    json_str(p->ctx, desc ? desc : "");
    cli_printf(p->ctx, ",\"lease_s\":%u}", lease);
  }
  cli_printf(p->ctx, "]}\n");
  return 0;
}

static int add(pmc *p, upnp_gw *g, const char *ext) {
  static lp2p_upnp_soap_resp r;
  char client[16];
  pmc_ip_text(g->local, client);
  lp2p_upnp_mapping m;
  memset(&m, 0, sizeof m);
  m.external_port = p->port;
  m.internal_port = p->port;
  m.internal_client = client;
  m.description = "lp2p portmap";
  m.lease_s = 3600;
  for (int round = 0; round < 2; round++) {
    uint8_t req[4096];
    size_t len;
    if (lp2p_upnp_req_add_port_mapping(&g->ctl, g->svc.service_type, &m, req,
                                       sizeof req, &len) != 0 ||
        exchange(g, &g->ctl, req, len) != 0 ||
        lp2p_upnp_soap_parse(NULL, g->body, g->body_len, "AddPortMapping",
                             &r) != 0)
      return cli_fail(p->ctx, CLI_EXIT_DATA, "upnp: AddPortMapping failed");
    if (!r.fault)
      break;
    if (r.upnp_error == LP2P_UPNP_ERR_ONLY_PERMANENT && m.lease_s) {
      m.lease_s = 0;
      continue;
    }
    return cli_fail(p->ctx, CLI_EXIT_DATA, "upnp: error %d %s", r.upnp_error,
                    r.error_desc);
  }
  cli_printf(p->ctx,
             "{\"protocol\":\"upnp\",\"gateway\":\"%s\",\"external_ip\":"
             "\"%s\",\"internal_client\":\"%s\",\"internal_port\":%u,"
             "\"external_port\":%u,\"lifetime_s\":%u}\n",
             g->ctl.host, ext, client, (unsigned)p->port, (unsigned)p->port,
             (unsigned)m.lease_s);
  return 0;
}

static int del(pmc *p, upnp_gw *g) {
  static lp2p_upnp_soap_resp r;
  uint8_t req[4096];
  size_t len;
  if (lp2p_upnp_req_delete_port_mapping(&g->ctl, g->svc.service_type,
                                        p->port, 0, req, sizeof req,
                                        &len) != 0 ||
      exchange(g, &g->ctl, req, len) != 0 ||
      lp2p_upnp_soap_parse(NULL, g->body, g->body_len, "DeletePortMapping",
                           &r) != 0)
    return cli_fail(p->ctx, CLI_EXIT_DATA, "upnp: DeletePortMapping failed");
  if (r.fault)
    return cli_fail(p->ctx, CLI_EXIT_DATA, "upnp: error %d %s", r.upnp_error,
                    r.error_desc);
  cli_printf(p->ctx, "{\"protocol\":\"upnp\",\"gateway\":\"%s\","
                     "\"deleted\":%u}\n",
             g->ctl.host, (unsigned)p->port);
  return 0;
}

int pmc_upnp(pmc *p) {
  static upnp_gw g;
  memset(&g, 0, sizeof g);
  if (discover(&g) != 0)
    return -1;
  g.body = malloc(LP2P_UPNP_DESC_MAX);
  if (!g.body)
    return cli_fail(p->ctx, CLI_EXIT_DATA, "out of memory");
  int rc;
  lp2p_upnp_url url;
  uint8_t req[2048];
  size_t len, n = 0;
  static lp2p_upnp_soap_resp r;
  uint8_t ip[4];
  char ext[16];
  if (lp2p_upnp_url_parse(g.location, strlen(g.location), &url) != 0 ||
      lp2p_http_request_build(&url, NULL, NULL, 0, req, sizeof req, &len) ||
      exchange(&g, &url, req, len) != 0 || g.status != 200 ||
      lp2p_upnp_desc_parse(NULL, g.location, strlen(g.location), g.body,
                           g.body_len, &g.svc, 1, &n) != 0 ||
      lp2p_upnp_url_parse(g.svc.control_url, strlen(g.svc.control_url),
                          &g.ctl) != 0) {
    rc = cli_fail(p->ctx, CLI_EXIT_DATA,
                  "upnp: no usable description at %s", g.location);
  } else if (soap(&g, "GetExternalIPAddress", NULL, 0, &r) != 0 || r.fault ||
             lp2p_upnp_soap_arg_ipv4(&r, "NewExternalIPAddress", ip) != 0) {
    rc = cli_fail(p->ctx, CLI_EXIT_DATA,
                  "upnp: GetExternalIPAddress failed at %s",
                  g.svc.control_url);
  } else {
    pmc_ip_text(ip, ext);
    rc = p->action == PMC_LIST  ? list(p, &g, ext)
         : p->action == PMC_ADD ? add(p, &g, ext)
                                : del(p, &g);
  }
  free(g.body);
  return rc;
}
