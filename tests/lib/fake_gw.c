/* The fake home router of fake_gw.h. Test-only code. */
#include "tests/lib/fake_gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_PORT 5000

static const char desc_xml[] =
    "<?xml version=\"1.0\"?>\r\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
    "<specVersion><major>1</major><minor>0</minor></specVersion>"
    "<device><deviceType>urn:schemas-upnp-org:device:"
    "InternetGatewayDevice:1</deviceType><friendlyName>fake</friendlyName>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:"
    "WANDevice:1</deviceType><deviceList><device><deviceType>"
    "urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
    "<serviceList><service><serviceType>urn:schemas-upnp-org:service:"
    "WANIPConnection:1</serviceType><serviceId>urn:upnp-org:serviceId:"
    "WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>"
    "<eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL>"
    "</service></serviceList></device></deviceList></device></deviceList>"
    "</device></root>";

#define ENV_OPEN                                                              \
  "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas."         \
  "xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap."   \
  "org/soap/encoding/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"
#define SVC "urn:schemas-upnp-org:service:WANIPConnection:1"

void fake_gw_init(fake_gw *g, memnet *n) {
  memset(g, 0, sizeof *g);
  g->net = n;
  memnet_addr(n, 253, 0, &g->addr); /* 10.0.0.254 */
  g->ext_ip[0] = 203;
  g->ext_ip[2] = 113;
  g->ext_ip[3] = 7;
  g->boot = memnet_now(n);
  lp2p_sockaddr http = g->addr;
  http.port = HTTP_PORT;
  memnet_tcp_serve(n, &http);
}

static uint32_t epoch(const fake_gw *g) {
  return (uint32_t)((memnet_now(g->net) - g->boot) / LP2P_NS_PER_S);
}

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return get16(p) << 16 | get16(p + 2); }

static void reply(fake_gw *g, const memnet_dgram *q, uint16_t from_port,
                  const void *p, size_t n) {
  lp2p_sockaddr from = g->addr;
  from.port = from_port;
  memnet_udp_send(g->net, &from, &q->from, p, n);
}

static void ssdp(fake_gw *g, const memnet_dgram *q) {
  if (!g->upnp || q->len < 8 || memcmp(q->data, "M-SEARCH", 8) != 0)
    return;
  g->searches++;
  char r[512];
  int n = snprintf(r, sizeof r,
                   "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
                   "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1"
                   "\r\nUSN: uuid:fake-gw::urn:schemas-upnp-org:device:"
                   "InternetGatewayDevice:1\r\nEXT:\r\n"
                   "SERVER: Linux/5 UPnP/1.1 fakegw/1\r\n"
                   "LOCATION: http://10.0.0.254:%d/rootDesc.xml\r\n\r\n",
                   HTTP_PORT);
  reply(g, q, 1900, r, (size_t)n);
}

/* RFC 6886 3.2 / 3.3 */
static void natpmp(fake_gw *g, const memnet_dgram *q) {
  uint8_t r[16];
  memset(r, 0, sizeof r);
  r[0] = 0;
  r[1] = (uint8_t)(128 + q->data[1]);
  put32(r + 4, epoch(g));
  if (q->data[1] == 0 && q->len >= 2) {
    g->pmp_addrs++;
    memcpy(r + 8, g->ext_ip, 4);
    reply(g, q, 5351, r, 12);
    return;
  }
  if ((q->data[1] != 1 && q->data[1] != 2) || q->len < 12)
    return;
  uint32_t internal = get16(q->data + 4), want = get16(q->data + 6);
  uint32_t life = get32(q->data + 8);
  g->last_ext_port = (uint16_t)want;
  g->last_lease = life;
  if (life == 0)
    g->pmp_deletes++;
  else
    g->pmp_maps++;
  put16(r + 8, internal);
  put16(r + 10, life ? internal + g->pmp_port_offset : 0);
  put32(r + 12, life);
  reply(g, q, 5351, r, 16);
}

/* RFC 6887 7.1, 11.1 (request) and 7.2, 11.1 (response) */
static void pcp(fake_gw *g, const memnet_dgram *q) {
  if (!g->pcp) {
    if (g->natpmp) { /* RFC 6887 9: a NAT-PMP server's answer */
      uint8_t r[8] = {0, (uint8_t)(128 + q->data[1]), 0, 1};
      put32(r + 4, epoch(g));
      reply(g, q, 5351, r, 8);
    }
    return;
  }
  if (q->len < 60 || q->data[1] != 1)
    return;
  uint8_t r[60];
  memset(r, 0, sizeof r);
  uint32_t life = get32(q->data + 4);
  memcpy(g->last_pcp_client, q->data + 8, 16);
  memcpy(g->last_pcp_nonce, q->data + 24, 12);
  uint32_t internal = get16(q->data + 40);
  g->last_ext_port = (uint16_t)get16(q->data + 42);
  g->last_lease = life;
  if (life == 0)
    g->pcp_deletes++;
  else
    g->pcp_maps++;
  r[0] = 2;
  r[1] = 0x81;
  r[3] = 0;
  put32(r + 4, life);
  put32(r + 8, epoch(g));
  memcpy(r + 24, q->data + 24, 12); /* nonce */
  r[36] = q->data[36];
  put16(r + 40, internal);
  put16(r + 42, internal + g->pmp_port_offset);
  r[54] = r[55] = 0xff;
  memcpy(r + 56, g->ext_ip, 4);
  reply(g, q, 5351, r, 60);
}

static const char *find_ci(const char *s, size_t n, const char *what) {
  size_t k = strlen(what);
  for (size_t i = 0; i + k <= n; i++)
    if (strncasecmp(s + i, what, k) == 0)
      return s + i;
  return NULL;
}

/* The text of <name>...</name> in the body, copied into out. */
static int arg(const char *s, size_t n, const char *name, char *out,
               size_t cap) {
  char open[64];
  snprintf(open, sizeof open, "<%s>", name);
  const char *a = find_ci(s, n, open);
  if (!a)
    return 0;
  a += strlen(open);
  const char *b = memchr(a, '<', n - (size_t)(a - s));
  if (!b || (size_t)(b - a) >= cap)
    return 0;
  memcpy(out, a, (size_t)(b - a));
  out[b - a] = 0;
  return 1;
}

static void http_send(fake_gw *g, int ep, int status, const char *body) {
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/xml; "
                   "charset=\"utf-8\"\r\nConnection: close\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   status, status == 200 ? "OK" : "Internal Server Error",
                   strlen(body));
  memnet_raw_send(g->net, ep, hdr, (size_t)n);
  memnet_raw_send(g->net, ep, body, strlen(body));
  memnet_raw_close(g->net, ep);
}

static void fault(fake_gw *g, int ep, int code, const char *desc) {
  char b[1024];
  snprintf(b, sizeof b,
           ENV_OPEN "<s:Fault><faultcode>s:Client</faultcode><faultstring>"
                    "UPnPError</faultstring><detail><UPnPError xmlns=\"urn:"
                    "schemas-upnp-org:control-1-0\"><errorCode>%d</errorCode>"
                    "<errorDescription>%s</errorDescription></UPnPError>"
                    "</detail></s:Fault>" ENV_CLOSE,
           code, desc);
  g->add_faults++;
  http_send(g, ep, 500, b);
}

static void http(fake_gw *g, int i) {
  size_t len;
  const char *p = (const char *)memnet_raw_received(g->net, g->eps[i], &len);
  const char *end = p ? find_ci(p, len, "\r\n\r\n") : NULL;
  if (!end)
    return;
  size_t body_at = (size_t)(end - p) + 4, cl = 0;
  const char *c = find_ci(p, body_at, "content-length:");
  if (c)
    cl = (size_t)strtoul(c + 15, NULL, 10);
  if (len < body_at + cl)
    return;
  g->answered[i] = 1;
  int ep = g->eps[i];
  const char *body = p + body_at;
  char b[1024], v[64];
  if (strncmp(p, "GET /rootDesc.xml ", 18) == 0) {
    g->descs++;
    http_send(g, ep, 200, desc_xml);
  } else if (find_ci(p, body_at, "#GetExternalIPAddress\"")) {
    g->extips++;
    snprintf(b, sizeof b,
             ENV_OPEN "<u:GetExternalIPAddressResponse xmlns:u=\"" SVC "\">"
                      "<NewExternalIPAddress>%u.%u.%u.%u"
                      "</NewExternalIPAddress>"
                      "</u:GetExternalIPAddressResponse>" ENV_CLOSE,
             g->ext_ip[0], g->ext_ip[1], g->ext_ip[2], g->ext_ip[3]);
    http_send(g, ep, 200, b);
  } else if (find_ci(p, body_at, "#AddPortMapping\"")) {
    g->adds++;
    g->last_ext_port = arg(body, cl, "NewExternalPort", v, sizeof v)
                           ? (uint16_t)atoi(v)
                           : 0;
    g->last_lease =
        arg(body, cl, "NewLeaseDuration", v, sizeof v) ? (uint32_t)atoi(v)
                                                       : 99;
    if (!arg(body, cl, "NewInternalClient", g->last_client,
             sizeof g->last_client))
      g->last_client[0] = 0;
    if (g->conflict_always || g->conflicts > 0) {
      g->conflicts--;
      fault(g, ep, 718, "ConflictInMappingEntry");
    } else if (g->permanent_only && g->last_lease != 0) {
      fault(g, ep, 725, "OnlyPermanentLeasesSupported");
    } else {
      http_send(g, ep, 200,
                ENV_OPEN "<u:AddPortMappingResponse xmlns:u=\"" SVC
                         "\"></u:AddPortMappingResponse>" ENV_CLOSE);
    }
  } else if (find_ci(p, body_at, "#DeletePortMapping\"")) {
    g->deletes++;
    http_send(g, ep, 200,
              ENV_OPEN "<u:DeletePortMappingResponse xmlns:u=\"" SVC
                       "\"></u:DeletePortMappingResponse>" ENV_CLOSE);
  } else {
    http_send(g, ep, 404, "");
  }
}

void fake_gw_service(fake_gw *g) {
  memnet_dgram q;
  while (memnet_udp_take(g->net, &q)) {
    int to_gw = memcmp(q.to.ip, g->addr.ip, 4) == 0;
    if (q.to.ip[0] == 239 && q.to.port == 1900)
      ssdp(g, &q);
    else if (to_gw && q.to.port == 5351 && q.len >= 2 && q.data[0] == 0 &&
             g->natpmp)
      natpmp(g, &q);
    else if (to_gw && q.to.port == 5351 && q.len >= 2 && q.data[0] == 2)
      pcp(g, &q);
  }
  int ep;
  while ((ep = memnet_tcp_accept(g->net)) >= 0) {
    if (!g->upnp) {
      memnet_raw_reset(g->net, ep);
      continue;
    }
    if (g->neps < FGW_CONNS_MAX) {
      g->answered[g->neps] = 0;
      g->eps[g->neps++] = ep;
    }
  }
  for (int i = 0; i < g->neps && !g->http_silent; i++)
    if (!g->answered[i])
      http(g, i);
}
