/* SOAP requests for the WANIPConnection / WANPPPConnection actions (UDA
 * 1.1 section 3.2.1; argument lists and their order from the
 * WANIPConnection:1 and :2 service templates, which devices enforce). */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"

/* A plain XML name for elements we write: letters, digits, _ . - */
static int plain_name(const char *s) {
  if (!s || !s[0] || (s[0] >= '0' && s[0] <= '9') || s[0] == '-' ||
      s[0] == '.')
    return 0;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

static void w_escaped(upnp_w *w, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': upnp_w_str(w, "&amp;"); break;
    case '<': upnp_w_str(w, "&lt;"); break;
    case '>': upnp_w_str(w, "&gt;"); break;
    case '"': upnp_w_str(w, "&quot;"); break;
    case '\'': upnp_w_str(w, "&apos;"); break;
    default: upnp_w_bytes(w, s, 1);
    }
  }
}

int lp2p_upnp_soap_envelope(const char *service_type, const char *action,
                            const lp2p_upnp_arg *args, size_t nargs,
                            uint8_t *out, size_t cap, size_t *len) {
  if (!service_type || !service_type[0] || !plain_name(action) || !len ||
      (nargs && !args))
    return LP2P_ERR_INVAL;
  for (size_t i = 0; i < nargs; i++)
    if (!plain_name(args[i].name) || !args[i].value)
      return LP2P_ERR_INVAL;
  upnp_w w = {out, out ? cap : 0, 0, 0};
  upnp_w_str(&w, "<?xml version=\"1.0\"?>\r\n"
                 "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
                 " s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
                 "<s:Body><u:");
  upnp_w_str(&w, action);
  upnp_w_str(&w, " xmlns:u=\"");
  w_escaped(&w, service_type);
  upnp_w_str(&w, "\">");
  for (size_t i = 0; i < nargs; i++) {
    upnp_w_str(&w, "<");
    upnp_w_str(&w, args[i].name);
    upnp_w_str(&w, ">");
    w_escaped(&w, args[i].value);
    upnp_w_str(&w, "</");
    upnp_w_str(&w, args[i].name);
    upnp_w_str(&w, ">");
  }
  upnp_w_str(&w, "</u:");
  upnp_w_str(&w, action);
  upnp_w_str(&w, "></s:Body></s:Envelope>\r\n");
  if (w.over)
    return LP2P_ERR_NOSPACE;
  *len = w.len;
  return 0;
}

int lp2p_upnp_soap_request(const lp2p_upnp_url *url, const char *service_type,
                           const char *action, const lp2p_upnp_arg *args,
                           size_t nargs, uint8_t *out, size_t cap,
                           size_t *len) {
  size_t blen, hlen;
  int rc = lp2p_upnp_soap_envelope(service_type, action, args, nargs, NULL, 0,
                                   &blen);
  if (rc)
    return rc;
  /* SOAPAction: "<serviceType>#<action>" (UDA 1.1 3.2.1) */
  char sa[LP2P_UPNP_TYPE_MAX + LP2P_UPNP_ARG_NAME_MAX + 2];
  size_t tl = strlen(service_type), al = strlen(action);
  if (tl + al + 2 > sizeof sa)
    return LP2P_ERR_INVAL;
  memcpy(sa, service_type, tl);
  sa[tl] = '#';
  memcpy(sa + tl + 1, action, al + 1);
  if (upnp_has_ctl(sa, tl + al + 1) || strchr(sa, '"'))
    return LP2P_ERR_INVAL;
  rc = lp2p_http_request_build(url, sa, NULL, blen, out, cap, &hlen);
  if (rc)
    return rc;
  if (blen > cap - hlen)
    return LP2P_ERR_NOSPACE;
  rc = lp2p_upnp_soap_envelope(service_type, action, args, nargs, out + hlen,
                               cap - hlen, &blen);
  if (rc)
    return rc;
  *len = hlen + blen;
  return 0;
}

int lp2p_upnp_req_get_external_ip(const lp2p_upnp_url *url,
                                  const char *service_type, uint8_t *out,
                                  size_t cap, size_t *len) {
  return lp2p_upnp_soap_request(url, service_type, "GetExternalIPAddress",
                                NULL, 0, out, cap, len);
}

/* decimal text of v in d (room for 11 bytes) */
static const char *dec(char *d, uint32_t v) {
  char t[11];
  size_t n = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    d[i] = t[n - 1 - i];
  d[n] = 0;
  return d;
}

static int add_mapping(const lp2p_upnp_url *url, const char *service_type,
                       const char *action, const lp2p_upnp_mapping *m,
                       uint8_t *out, size_t cap, size_t *len) {
  if (!m || !m->internal_client || !m->internal_port)
    return LP2P_ERR_INVAL;
  char ep[11], ip[11], ls[11];
  /* NewRemoteHost empty: any remote host (a wildcard every IGD accepts) */
  const lp2p_upnp_arg a[] = {
      {"NewRemoteHost", ""},
      {"NewExternalPort", dec(ep, m->external_port)},
      {"NewProtocol", m->udp ? "UDP" : "TCP"},
      {"NewInternalPort", dec(ip, m->internal_port)},
      {"NewInternalClient", m->internal_client},
      {"NewEnabled", "1"},
      {"NewPortMappingDescription", m->description ? m->description : "lp2p"},
      {"NewLeaseDuration", dec(ls, m->lease_s)},
  };
  return lp2p_upnp_soap_request(url, service_type, action, a,
                                sizeof a / sizeof a[0], out, cap, len);
}

int lp2p_upnp_req_add_port_mapping(const lp2p_upnp_url *url,
                                   const char *service_type,
                                   const lp2p_upnp_mapping *m, uint8_t *out,
                                   size_t cap, size_t *len) {
  if (m && !m->external_port)
    return LP2P_ERR_INVAL; /* 0 is a wildcard IGD:2 refuses here (716) */
  return add_mapping(url, service_type, "AddPortMapping", m, out, cap, len);
}

int lp2p_upnp_req_add_any_port_mapping(const lp2p_upnp_url *url,
                                       const char *service_type,
                                       const lp2p_upnp_mapping *m,
                                       uint8_t *out, size_t cap, size_t *len) {
  return add_mapping(url, service_type, "AddAnyPortMapping", m, out, cap, len);
}

static int by_port(const lp2p_upnp_url *url, const char *service_type,
                   const char *action, uint16_t port, int udp, uint8_t *out,
                   size_t cap, size_t *len) {
  if (!port)
    return LP2P_ERR_INVAL;
  char ep[11];
  const lp2p_upnp_arg a[] = {
      {"NewRemoteHost", ""},
      {"NewExternalPort", dec(ep, port)},
      {"NewProtocol", udp ? "UDP" : "TCP"},
  };
  return lp2p_upnp_soap_request(url, service_type, action, a, 3, out, cap,
                                len);
}

int lp2p_upnp_req_delete_port_mapping(const lp2p_upnp_url *url,
                                      const char *service_type,
                                      uint16_t external_port, int udp,
                                      uint8_t *out, size_t cap, size_t *len) {
  return by_port(url, service_type, "DeletePortMapping", external_port, udp,
                 out, cap, len);
}

int lp2p_upnp_req_get_specific_entry(const lp2p_upnp_url *url,
                                     const char *service_type,
                                     uint16_t external_port, int udp,
                                     uint8_t *out, size_t cap, size_t *len) {
  return by_port(url, service_type, "GetSpecificPortMappingEntry",
                 external_port, udp, out, cap, len);
}
