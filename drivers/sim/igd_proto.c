/* The IGD's request handling (igd.h): pure functions from one request and
 * the time to one answer, over the mapping table and the box's forwards.
 *
 * SSDP (UPnP Device Architecture 1.1, 1.3.2/1.3.3): an M-SEARCH with MAN
 * "ssdp:discover" and an ST we serve gets one unicast 200 OK with
 * CACHE-CONTROL, EXT, LOCATION, SERVER, ST and USN.
 *
 * HTTP/1.1 + SOAP (UDA 1.1 2 and 3; WANIPConnection:2 2.5): GET of the
 * description, POST of an action to the control URL with SOAPAction
 * "<service type>#<action>". Faults are HTTP 500 with a UPnPError
 * (errorCode / errorDescription):
 *   401 Invalid Action, 402 Invalid Args, 606 Action not authorized
 *   (NewInternalClient is not the asker, as miniupnpd's secure mode has
 *   it), 714 NoSuchEntryInArray, 716 WildCardNotPermittedInExtPort, 718
 *   ConflictInMappingEntry (the port is another's), 725
 *   OnlyPermanentLeasesSupported, 728 NoPortMapsAvailable (table full). IGD:2
 * treats lease 0 as 604800 s (WANIPConnection:2 2.3.16); leases are cut to
 * lease_max_s. */
#include <stdio.h>
#include <string.h>

#include "drivers/sim/igd.h"
#include "lp2p/multiaddr.h"
#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"

/* ---- text helpers -------------------------------------------------------- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int prefix_ci(const char *s, size_t n, const char *pre) {
  size_t k = strlen(pre);
  if (n < k)
    return 0;
  for (size_t i = 0; i < k; i++)
    if (lower((unsigned char)s[i]) != lower((unsigned char)pre[i]))
      return 0;
  return 1;
}

static const char *find(const char *s, size_t n, const char *what) {
  size_t k = strlen(what);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(s + i, what, k) == 0)
      return s + i;
  return NULL;
}

/* The value of header `name` in head[0..n) (lines end with CRLF; leading
 * and trailing blanks dropped). Returns its length, or -1 when absent. */
static long header(const char *head, size_t n, const char *name,
                   const char **val) {
  size_t k = strlen(name);
  const char *p = head, *end = head + n;
  while (p < end) {
    const char *eol = find(p, (size_t)(end - p), "\r\n");
    if (!eol)
      eol = end;
    if ((size_t)(eol - p) > k && prefix_ci(p, (size_t)(eol - p), name) &&
        p[k] == ':') {
      const char *v = p + k + 1;
      while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
      const char *w = eol;
      while (w > v && (w[-1] == ' ' || w[-1] == '\t'))
        w--;
      *val = v;
      return (long)(w - v);
    }
    p = eol + 2;
  }
  return -1;
}

/* A decimal number of at most 10 digits, <= max. */
static int number(const char *s, size_t n, uint32_t max, uint32_t *out) {
  if (n == 0 || n > 10)
    return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > max)
    return -1;
  *out = (uint32_t)v;
  return 0;
}

/* ---- SSDP ---------------------------------------------------------------- */

int igd_ssdp(sim_igd *g, const uint8_t *p, size_t n, char *out, size_t cap,
             size_t *len) {
  const char *s = (const char *)p;
  if (!g->cfg.upnp || n > LP2P_SSDP_MSG_MAX ||
      !prefix_ci(s, n, "M-SEARCH * HTTP/1.1\r\n"))
    return 0;
  const char *man, *st;
  long ml = header(s, n, "MAN", &man);
  long sl = header(s, n, "ST", &st);
  if (ml != 15 || memcmp(man, "\"ssdp:discover\"", 15) != 0 || sl <= 0)
    return 0;
  /* The targets we answer to, and the ST of the answer (UDA 1.1 1.3.3:
   * a search for a lower version is answered with that version). */
  int v = g->cfg.upnp_version;
  char dev[64], svc[64];
  snprintf(dev, sizeof dev,
           "urn:schemas-upnp-org:device:InternetGatewayDevice:%d", v);
  snprintf(svc, sizeof svc, "urn:schemas-upnp-org:service:WANIPConnection:%d",
           v);
  char ans[80];
  size_t k = (size_t)sl;
  if (k == 8 && memcmp(st, "ssdp:all", 8) == 0)
    snprintf(ans, sizeof ans, "%s", dev);
  else if (k == 15 && memcmp(st, "upnp:rootdevice", 15) == 0)
    snprintf(ans, sizeof ans, "upnp:rootdevice");
  else if (k == strlen(dev) && memcmp(st, dev, k - 1) == 0 &&
           st[k - 1] >= '1' && st[k - 1] <= '0' + v)
    snprintf(ans, sizeof ans, "%.*s", (int)k, st);
  else if (k == strlen(svc) && memcmp(st, svc, k - 1) == 0 &&
           st[k - 1] >= '1' && st[k - 1] <= '0' + v)
    snprintf(ans, sizeof ans, "%.*s", (int)k, st);
  else
    return 0;
  uint32_t ip = g->lan_ip;
  int w = snprintf(out, cap,
                   "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
                   "EXT:\r\nLOCATION: http://%u.%u.%u.%u:%u/rootDesc.xml\r\n"
                   "SERVER: lp2p-sim/1 UPnP/1.1 igd/1\r\nST: %s\r\n"
                   "USN: uuid:lp2p-sim-igd-%08x::%s\r\n\r\n",
                   ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255,
                   (unsigned)g->cfg.http_port, ans, (unsigned)g->nat_node, ans);
  if (w < 0 || (size_t)w >= cap)
    return 0;
  *len = (size_t)w;
  g->st.ssdp_searches++;
  return 1;
}

/* ---- HTTP + SOAP --------------------------------------------------------- */

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 411:
    return "Length Required";
  case 413:
    return "Payload Too Large";
  default:
    return "Internal Server Error";
  }
}

static int respond(char *out, size_t cap, size_t *len, int status,
                   const char *body) {
  size_t bl = strlen(body);
  int w = snprintf(out, cap,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/xml; "
                   "charset=\"utf-8\"\r\nConnection: close\r\nEXT:\r\n"
                   "Server: lp2p-sim/1 UPnP/1.1 igd/1\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   status, reason(status), bl, body);
  if (w < 0 || (size_t)w >= cap)
    return respond(out, cap, len, 500, "");
  *len = (size_t)w;
  return 1;
}

static int description(sim_igd *g, char *out, size_t cap, size_t *len) {
  char b[2048];
  int v = g->cfg.upnp_version;
  snprintf(b, sizeof b,
           "<?xml version=\"1.0\"?>\r\n"
           "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
           "<specVersion><major>1</major><minor>%d</minor></specVersion>"
           "<device><deviceType>urn:schemas-upnp-org:device:"
           "InternetGatewayDevice:%d</deviceType>"
           "<friendlyName>lp2p-sim router</friendlyName>"
           "<manufacturer>lp2p</manufacturer><modelName>sim-igd</modelName>"
           "<UDN>uuid:lp2p-sim-igd-%08x</UDN>"
           "<deviceList><device><deviceType>urn:schemas-upnp-org:device:"
           "WANDevice:%d</deviceType><deviceList><device><deviceType>"
           "urn:schemas-upnp-org:device:WANConnectionDevice:%d</deviceType>"
           "<serviceList><service><serviceType>urn:schemas-upnp-org:"
           "service:WANIPConnection:%d</serviceType><serviceId>"
           "urn:upnp-org:serviceId:WANIPConn1</serviceId>"
           "<controlURL>/ctl/IPConn</controlURL>"
           "<eventSubURL>/evt/IPConn</eventSubURL>"
           "<SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>"
           "</device></deviceList></device></deviceList></device></root>",
           v - 1, v, (unsigned)g->nat_node, v, v, v);
  g->st.descs++;
  return respond(out, cap, len, 200, b);
}

#define ENV_OPEN                                                               \
  "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas."           \
  "xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap."     \
  "org/soap/encoding/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"

static int fault(sim_igd *g, char *out, size_t cap, size_t *len, int code,
                 const char *desc) {
  char b[768];
  snprintf(b, sizeof b,
           ENV_OPEN "<s:Fault><faultcode>s:Client</faultcode><faultstring>"
                    "UPnPError</faultstring><detail><UPnPError xmlns=\"urn:"
                    "schemas-upnp-org:control-1-0\"><errorCode>%d</errorCode>"
                    "<errorDescription>%s</errorDescription></UPnPError>"
                    "</detail></s:Fault>" ENV_CLOSE,
           code, desc);
  g->st.soap_faults++;
  g->st.last_fault = (uint32_t)code;
  return respond(out, cap, len, 500, b);
}

static int answer(sim_igd *g, char *out, size_t cap, size_t *len,
                  const char *action, const char *args) {
  char b[1536];
  snprintf(b, sizeof b,
           ENV_OPEN "<u:%sResponse xmlns:u=\"urn:schemas-upnp-org:service:"
                    "WANIPConnection:%d\">%s</u:%sResponse>" ENV_CLOSE,
           action, g->cfg.upnp_version, args, action);
  return respond(out, cap, len, 200, b);
}

/* The text of argument <name> in a SOAP body (no nested elements; an
 * empty element is ""). Returns its length, or -1 when absent or longer
 * than cap - 1. */
static long soap_arg(const char *b, size_t n, const char *name, char *out,
                     size_t cap) {
  size_t k = strlen(name);
  for (const char *p = b; p && (size_t)(p - b) + k + 2 <= n;) {
    p = memchr(p, '<', n - (size_t)(p - b));
    if (!p || (size_t)(p - b) + k + 2 > n)
      return -1;
    const char *q = p + 1 + k;
    if (memcmp(p + 1, name, k) != 0 || (*q != '>' && *q != '/')) {
      p++;
      continue;
    }
    if (*q == '/') {
      out[0] = 0;
      return 0;
    }
    const char *v = q + 1;
    const char *e = memchr(v, '<', n - (size_t)(v - b));
    if (!e)
      return -1;
    while (v < e && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
      v++;
    const char *w = e;
    while (w > v &&
           (w[-1] == ' ' || w[-1] == '\t' || w[-1] == '\r' || w[-1] == '\n'))
      w--;
    if ((size_t)(w - v) >= cap)
      return -1;
    memcpy(out, v, (size_t)(w - v));
    out[w - v] = 0;
    return (long)(w - v);
  }
  return -1;
}

static int arg_u32(const char *b, size_t n, const char *name, uint32_t max,
                   uint32_t *out) {
  char v[16];
  long l = soap_arg(b, n, name, v, sizeof v);
  return l < 0 ? -1 : number(v, (size_t)l, max, out);
}

static int arg_proto(const char *b, size_t n, uint8_t *proto) {
  char v[8];
  long l = soap_arg(b, n, "NewProtocol", v, sizeof v);
  if (l == 3 && memcmp(v, "TCP", 3) == 0)
    *proto = SIM_TCP;
  else if (l == 3 && memcmp(v, "UDP", 3) == 0)
    *proto = SIM_UDP;
  else
    return -1;
  return 0;
}

static int arg_ip4(const char *b, size_t n, const char *name, uint32_t *ip) {
  char v[20];
  uint8_t a[4];
  long l = soap_arg(b, n, name, v, sizeof v);
  if (l <= 0 || lp2p_ip4_from_text(v, (size_t)l, a) != 0)
    return -1;
  *ip =
      (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
  return 0;
}

/* AddPortMapping and AddAnyPortMapping (WANIPConnection:2 2.5.16/2.5.18) */
static int add_mapping(sim_igd *g, uint32_t from_ip, const char *b, size_t n,
                       int any, lp2p_tstamp now, char *out, size_t cap,
                       size_t *len) {
  uint32_t ext, in, lease, client, enabled;
  uint8_t proto;
  char desc[IGD_DESC_MAX];
  if (arg_u32(b, n, "NewExternalPort", 65535, &ext) != 0 ||
      arg_u32(b, n, "NewInternalPort", 65535, &in) != 0 || in == 0 ||
      arg_proto(b, n, &proto) != 0 ||
      arg_ip4(b, n, "NewInternalClient", &client) != 0 ||
      arg_u32(b, n, "NewEnabled", 1, &enabled) != 0 ||
      arg_u32(b, n, "NewLeaseDuration", UINT32_MAX, &lease) != 0)
    return fault(g, out, cap, len, 402, "Invalid Args");
  if (soap_arg(b, n, "NewPortMappingDescription", desc, sizeof desc) < 0)
    desc[0] = 0;
  if (client != from_ip)
    return fault(g, out, cap, len, 606, "Action not authorized");
  if (ext == 0 && !any)
    return fault(g, out, cap, len, 716, "WildCardNotPermittedInExtPort");
  if (g->cfg.permanent_only && lease != 0)
    return fault(g, out, cap, len, 725, "OnlyPermanentLeasesSupported");
  if (g->cfg.upnp_version >= 2 && lease == 0)
    lease = IGD_WEEK_S; /* 2.3.16: 0 is not "forever" on IGD:2 */
  lease = igd_cap_lease(g, lease);
  uint16_t port = (uint16_t)ext;
  igd_entry *e = NULL;
  int rc = igd_map(g, IGD_BY_UPNP, proto, port, client, (uint16_t)in, lease,
                   now, &e);
  if (rc == LP2P_ERR_INVAL && any) { /* "any": the box picks another */
    port = igd_free_port(g, proto, 0, now);
    rc = port ? igd_map(g, IGD_BY_UPNP, proto, port, client, (uint16_t)in,
                        lease, now, &e)
              : LP2P_ERR_LIMIT;
  }
  if (rc == LP2P_ERR_INVAL)
    return fault(g, out, cap, len, 718, "ConflictInMappingEntry");
  if (rc != 0)
    return fault(g, out, cap, len, 728, "NoPortMapsAvailable");
  memcpy(e->desc, desc, sizeof desc);
  if (!any)
    return answer(g, out, cap, len, "AddPortMapping", "");
  char a[64];
  snprintf(a, sizeof a, "<NewReservedPort>%u</NewReservedPort>",
           (unsigned)port);
  return answer(g, out, cap, len, "AddAnyPortMapping", a);
}

static int soap(sim_igd *g, uint32_t from_ip, const char *action, size_t al,
                const char *b, size_t n, lp2p_tstamp now, char *out, size_t cap,
                size_t *len) {
  g->st.soap_actions++;
#define IS(x) (al == sizeof x - 1 && memcmp(action, x, al) == 0)
  if (IS("GetExternalIPAddress")) {
    char a[96];
    uint32_t ip = g->ext_ip;
    snprintf(a, sizeof a,
             "<NewExternalIPAddress>%u.%u.%u.%u</NewExternalIPAddress>",
             ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return answer(g, out, cap, len, "GetExternalIPAddress", a);
  }
  if (IS("AddPortMapping"))
    return add_mapping(g, from_ip, b, n, 0, now, out, cap, len);
  if (IS("AddAnyPortMapping") && g->cfg.upnp_version >= 2)
    return add_mapping(g, from_ip, b, n, 1, now, out, cap, len);
  if (IS("DeletePortMapping") || IS("GetSpecificPortMappingEntry")) {
    uint32_t ext;
    uint8_t proto;
    if (arg_u32(b, n, "NewExternalPort", 65535, &ext) != 0 ||
        arg_proto(b, n, &proto) != 0)
      return fault(g, out, cap, len, 402, "Invalid Args");
    igd_entry *e = igd_by_port(g, proto, (uint16_t)ext, now);
    if (!e)
      return fault(g, out, cap, len, 714, "NoSuchEntryInArray");
    if (IS("DeletePortMapping")) {
      if (e->int_ip != from_ip)
        return fault(g, out, cap, len, 606, "Action not authorized");
      igd_drop_entry(g, e, now);
      g->st.deleted++;
      return answer(g, out, cap, len, "DeletePortMapping", "");
    }
    char a[512];
    uint32_t left =
        e->until == LP2P_TSTAMP_NONE
            ? 0
            : (uint32_t)((e->until - now + LP2P_NS_PER_S - 1) / LP2P_NS_PER_S);
    uint32_t ip = e->int_ip;
    snprintf(a, sizeof a,
             "<NewInternalPort>%u</NewInternalPort><NewInternalClient>"
             "%u.%u.%u.%u</NewInternalClient><NewEnabled>1</NewEnabled>"
             "<NewPortMappingDescription>%s</NewPortMappingDescription>"
             "<NewLeaseDuration>%u</NewLeaseDuration>",
             (unsigned)e->int_port, ip >> 24, ip >> 16 & 255, ip >> 8 & 255,
             ip & 255, e->desc, left);
    return answer(g, out, cap, len, "GetSpecificPortMappingEntry", a);
  }
#undef IS
  return fault(g, out, cap, len, 401, "Invalid Action");
}

int igd_http(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
             lp2p_tstamp now, char *out, size_t cap, size_t *len) {
  const char *s = (const char *)p;
  const char *eoh = find(s, n, "\r\n\r\n");
  if (!eoh) {
    if (n < IGD_HTTP_MAX)
      return 0;
    g->st.http_requests++;
    return respond(out, cap, len, 413, "");
  }
  size_t head = (size_t)(eoh - s) + 2, body_at = head + 2;
  /* request line: METHOD SP path SP HTTP/1.x */
  const char *eol = find(s, head, "\r\n");
  const char *sp1 = eol ? memchr(s, ' ', (size_t)(eol - s)) : NULL;
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp2 || (size_t)(eol - sp2 - 1) != 8 ||
      memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
    g->st.http_requests++;
    return respond(out, cap, len, 400, "");
  }
  const char *path = sp1 + 1;
  size_t pl = (size_t)(sp2 - path);
  const char *hdrs = eol + 2;
  size_t hl = head - (size_t)(hdrs - s);
  const char *v;
  size_t cl = 0;
  long l = header(hdrs, hl, "Content-Length", &v);
  if (l >= 0) {
    uint32_t c;
    if (number(v, (size_t)l, UINT32_MAX, &c) != 0) { /* not a length */
      g->st.http_requests++;
      return respond(out, cap, len, 400, "");
    }
    if (c > IGD_HTTP_MAX) {
      g->st.http_requests++;
      return respond(out, cap, len, 413, "");
    }
    cl = c;
  } else if (header(hdrs, hl, "Transfer-Encoding", &v) >= 0) {
    g->st.http_requests++;
    return respond(out, cap, len, 411, ""); /* we want a length */
  }
  if (body_at + cl > n) {
    if (body_at + cl <= IGD_HTTP_MAX)
      return 0;
    g->st.http_requests++;
    return respond(out, cap, len, 413, "");
  }
  g->st.http_requests++;
  if (sp1 - s == 3 && memcmp(s, "GET", 3) == 0) {
    if (pl == sizeof "/rootDesc.xml" - 1 &&
        memcmp(path, "/rootDesc.xml", pl) == 0)
      return description(g, out, cap, len);
    return respond(out, cap, len, 404, "");
  }
  if (sp1 - s != 4 || memcmp(s, "POST", 4) != 0)
    return respond(out, cap, len, 405, "");
  if (pl != sizeof "/ctl/IPConn" - 1 || memcmp(path, "/ctl/IPConn", pl) != 0)
    return respond(out, cap, len, 404, "");
  /* SOAPAction: "urn:schemas-upnp-org:service:WANIPConnection:N#Action"
   * (UDA 1.1 3.1.1), N up to our version */
  l = header(hdrs, hl, "SOAPAction", &v);
  static const char svc[] = "urn:schemas-upnp-org:service:WANIPConnection:";
  size_t k = sizeof svc - 1;
  if (l < (long)(k + 4) || v[0] != '"' || v[l - 1] != '"' ||
      memcmp(v + 1, svc, k) != 0 || v[1 + k] < '1' ||
      v[1 + k] > '0' + g->cfg.upnp_version || v[2 + k] != '#')
    return fault(g, out, cap, len, 401, "Invalid Action");
  const char *action = v + 3 + k;
  size_t al = (size_t)(v + l - 1 - action);
  return soap(g, from_ip, action, al, s + body_at, cl, now, out, cap, len);
}
