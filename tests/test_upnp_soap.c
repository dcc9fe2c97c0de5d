/* SOAP: request bytes for every action, responses and UPnPError faults.
 *
 * Response and fault layouts follow UDA 1.1 3.2.2 / 3.2.4 and what
 * miniupnpd's upnpsoap.c sends (u: prefix, s:Envelope, fault with
 * faultcode s:Client, faultstring UPnPError, detail/UPnPError in the
 * control-1-0 namespace); the FRITZ!Box-style variant uses the SOAP-ENV:
 * and m: prefixes some IGD stacks (Intel libupnp) pick. Error codes and
 * names are from the WANIPConnection:2 service spec, 2.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/upnp.h"

#define ENV_OPEN                                                              \
  "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" " \
  "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>\r\n"

static lp2p_upnp_url url(void) {
  lp2p_upnp_url u;
  assert_int_equal(lp2p_upnp_url_parse("http://10.0.1.1:40411/ctl/IPConn", 32, &u), 0);
  return u;
}

static void test_envelope(void **s) {
  (void)s;
  uint8_t b[2048];
  size_t n, m;
  const lp2p_upnp_arg a[] = {{"NewRemoteHost", ""}, {"NewPortMappingDescription", "a<b>&\"c'"}};
  assert_int_equal(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "X", a, 2, b, sizeof b, &n), 0);
  const char want[] = ENV_OPEN "<u:X xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
                               "<NewRemoteHost></NewRemoteHost>"
                               "<NewPortMappingDescription>a&lt;b&gt;&amp;&quot;c&apos;</NewPortMappingDescription>"
                               "</u:X>" ENV_CLOSE;
  assert_int_equal(n, sizeof want - 1);
  assert_memory_equal(b, want, n);
  /* counting mode gives the same length */
  assert_int_equal(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "X", a, 2, NULL, 0, &m), 0);
  assert_int_equal(m, n);
  assert_int_equal(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "X", a, 2, b, n - 1, &m), LP2P_ERR_NOSPACE);
  const lp2p_upnp_arg bad[] = {{"New Arg", "1"}};
  assert_int_equal(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "X", bad, 1, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_upnp_soap_envelope(LP2P_UPNP_ST_WANIP1, "<X>", NULL, 0, b, sizeof b, &n), LP2P_ERR_INVAL);
}

static void test_requests(void **s) {
  (void)s;
  lp2p_upnp_url u = url();
  uint8_t b[2048];
  size_t n;
  lp2p_upnp_mapping m = {.external_port = 4001, .internal_port = 4001, .udp = 0,
                         .internal_client = "10.0.1.2", .description = "lp2p", .lease_s = 3600};
  assert_int_equal(lp2p_upnp_req_add_port_mapping(&u, LP2P_UPNP_ST_WANIP1, &m, b, sizeof b, &n), 0);
  const char body[] =
      ENV_OPEN "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
               "<NewRemoteHost></NewRemoteHost><NewExternalPort>4001</NewExternalPort>"
               "<NewProtocol>TCP</NewProtocol><NewInternalPort>4001</NewInternalPort>"
               "<NewInternalClient>10.0.1.2</NewInternalClient><NewEnabled>1</NewEnabled>"
               "<NewPortMappingDescription>lp2p</NewPortMappingDescription>"
               "<NewLeaseDuration>3600</NewLeaseDuration></u:AddPortMapping>" ENV_CLOSE;
  char head[512];
  int hl = snprintf(head, sizeof head,
                    "POST /ctl/IPConn HTTP/1.1\r\nHost: 10.0.1.1:40411\r\n"
                    "User-Agent: lp2p UPnP/1.1\r\nConnection: close\r\n"
                    "Content-Type: text/xml; charset=\"utf-8\"\r\n"
                    "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\"\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    sizeof body - 1);
  assert_int_equal(n, (size_t)hl + sizeof body - 1);
  assert_memory_equal(b, head, (size_t)hl);
  assert_memory_equal(b + hl, body, sizeof body - 1);
  /* the others: their action, their arguments in spec order */
  m.udp = 1;
  m.external_port = 0;
  assert_int_equal(lp2p_upnp_req_add_port_mapping(&u, LP2P_UPNP_ST_WANIP1, &m, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_upnp_req_add_any_port_mapping(&u, LP2P_UPNP_ST_WANIP2, &m, b, sizeof b, &n), 0);
  b[n] = 0;
  assert_non_null(strstr((char *)b, "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:2#AddAnyPortMapping\"\r\n"));
  assert_non_null(strstr((char *)b, "<NewExternalPort>0</NewExternalPort><NewProtocol>UDP</NewProtocol>"));
  assert_int_equal(lp2p_upnp_req_delete_port_mapping(&u, LP2P_UPNP_ST_WANPPP1, 4001, 0, b, sizeof b, &n), 0);
  b[n] = 0;
  assert_non_null(strstr((char *)b, "<u:DeletePortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANPPPConnection:1\">"
                                    "<NewRemoteHost></NewRemoteHost><NewExternalPort>4001</NewExternalPort>"
                                    "<NewProtocol>TCP</NewProtocol></u:DeletePortMapping>"));
  assert_int_equal(lp2p_upnp_req_get_specific_entry(&u, LP2P_UPNP_ST_WANIP1, 65535, 1, b, sizeof b, &n), 0);
  b[n] = 0;
  assert_non_null(strstr((char *)b, "#GetSpecificPortMappingEntry\"\r\n"));
  assert_non_null(strstr((char *)b, "<NewExternalPort>65535</NewExternalPort><NewProtocol>UDP</NewProtocol>"));
  assert_int_equal(lp2p_upnp_req_get_external_ip(&u, LP2P_UPNP_ST_WANIP1, b, sizeof b, &n), 0);
  b[n] = 0;
  assert_non_null(strstr((char *)b, "<u:GetExternalIPAddress xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"></u:GetExternalIPAddress>"));
  assert_non_null(strstr((char *)b, "Content-Length: "));
  assert_int_equal(lp2p_upnp_req_get_external_ip(&u, LP2P_UPNP_ST_WANIP1, b, 300, &n), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_upnp_req_delete_port_mapping(&u, LP2P_UPNP_ST_WANIP1, 0, 0, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_upnp_req_get_external_ip(&u, "urn:a\"b", b, sizeof b, &n), LP2P_ERR_INVAL);
}

static int parse(const char *xml, const char *action, lp2p_upnp_soap_resp *r) {
  return lp2p_upnp_soap_parse(NULL, (const uint8_t *)xml, strlen(xml), action, r);
}

static void test_responses(void **s) {
  (void)s;
  lp2p_upnp_soap_resp r;
  const char ext[] = ENV_OPEN "<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
                              "<NewExternalIPAddress>198.18.0.11</NewExternalIPAddress>"
                              "</u:GetExternalIPAddressResponse>" ENV_CLOSE;
  assert_int_equal(parse(ext, "GetExternalIPAddress", &r), 0);
  assert_int_equal(r.fault, 0);
  uint8_t ip[4];
  assert_int_equal(lp2p_upnp_soap_arg_ipv4(&r, "NewExternalIPAddress", ip), 0);
  const uint8_t want_ip[] = {198, 18, 0, 11};
  assert_memory_equal(ip, want_ip, 4);
  /* the response of another action is refused */
  assert_int_equal(parse(ext, "AddPortMapping", &r), LP2P_ERR_PARSE);
  /* no action given: any *Response */
  assert_int_equal(parse(ext, NULL, &r), 0);

  /* SOAP-ENV / m: prefixes, blanks and line breaks around values */
  const char entry[] =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\n"
      "<SOAP-ENV:Body>\n"
      "<m:GetSpecificPortMappingEntryResponse xmlns:m=\"urn:schemas-upnp-org:service:WANPPPConnection:1\">\n"
      "<NewInternalPort>4001</NewInternalPort>\n"
      "<NewInternalClient> 192.168.178.20 </NewInternalClient>\n"
      "<NewEnabled>1</NewEnabled>\n"
      "<NewPortMappingDescription>lp2p &amp; friends</NewPortMappingDescription>\n"
      "<NewLeaseDuration>\n  3599\n</NewLeaseDuration>\n"
      "</m:GetSpecificPortMappingEntryResponse>\n"
      "</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n";
  assert_int_equal(parse(entry, "GetSpecificPortMappingEntry", &r), 0);
  assert_int_equal(r.nargs, 5);
  uint32_t v;
  assert_int_equal(lp2p_upnp_soap_arg_u32(&r, "NewInternalPort", 65535, &v), 0);
  assert_int_equal(v, 4001);
  assert_int_equal(lp2p_upnp_soap_arg_u32(&r, "NewLeaseDuration", UINT32_MAX, &v), 0);
  assert_int_equal(v, 3599);
  assert_string_equal(lp2p_upnp_soap_arg(&r, "NewPortMappingDescription"), "lp2p & friends");
  assert_int_equal(lp2p_upnp_soap_arg_ipv4(&r, "NewInternalClient", ip), 0);
  assert_int_equal(lp2p_upnp_soap_arg_u32(&r, "NewRemoteHost", 1, &v), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_upnp_soap_arg_u32(&r, "NewInternalPort", 4000, &v), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_soap_arg_ipv4(&r, "NewEnabled", ip), LP2P_ERR_PARSE);

  /* AddAnyPortMapping (IGD:2): the port the gateway chose */
  const char any[] = ENV_OPEN "<u:AddAnyPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
                              "<NewReservedPort>40123</NewReservedPort></u:AddAnyPortMappingResponse>" ENV_CLOSE;
  assert_int_equal(parse(any, "AddAnyPortMapping", &r), 0);
  assert_int_equal(lp2p_upnp_soap_arg_u32(&r, "NewReservedPort", 65535, &v), 0);
  assert_int_equal(v, 40123);
  /* empty responses of AddPortMapping / DeletePortMapping */
  const char add[] = ENV_OPEN "<u:AddPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"/>" ENV_CLOSE;
  assert_int_equal(parse(add, "AddPortMapping", &r), 0);
  assert_int_equal(r.nargs, 0);
  assert_int_equal(r.fault, 0);
}

static const char *fault(char *buf, size_t cap, int code, const char *desc) {
  snprintf(buf, cap,
           ENV_OPEN "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
                    "<detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
                    "<errorCode>%d</errorCode><errorDescription>%s</errorDescription>"
                    "</UPnPError></detail></s:Fault>" ENV_CLOSE,
           code, desc);
  return buf;
}

static void test_faults(void **s) {
  (void)s;
  lp2p_upnp_soap_resp r;
  char b[1024];
  assert_int_equal(parse(fault(b, sizeof b, 718, "ConflictInMappingEntry"), "AddPortMapping", &r), 0);
  assert_int_equal(r.fault, 1);
  assert_int_equal(r.upnp_error, LP2P_UPNP_ERR_CONFLICT);
  assert_string_equal(r.error_desc, "ConflictInMappingEntry");
  assert_int_equal(parse(fault(b, sizeof b, 725, "OnlyPermanentLeasesSupported"), "AddPortMapping", &r), 0);
  assert_int_equal(r.upnp_error, LP2P_UPNP_ERR_ONLY_PERMANENT);
  assert_int_equal(parse(fault(b, sizeof b, 714, "NoSuchEntryInArray"), "DeletePortMapping", &r), 0);
  assert_int_equal(r.upnp_error, LP2P_UPNP_ERR_NO_SUCH_ENTRY);
  assert_int_equal(parse(fault(b, sizeof b, 728, "NoPortMapsAvailable"), NULL, &r), 0);
  assert_int_equal(r.upnp_error, LP2P_UPNP_ERR_NO_PORT_MAPS);
  /* a fault without a UPnPError, a code that is not a number */
  const char bare[] = ENV_OPEN "<s:Fault><faultcode>s:Server</faultcode><faultstring>oops</faultstring></s:Fault>" ENV_CLOSE;
  assert_int_equal(parse(bare, "AddPortMapping", &r), 0);
  assert_int_equal(r.fault, 1);
  assert_int_equal(r.upnp_error, 0);
  assert_int_equal(parse(fault(b, sizeof b, 0, "x"), NULL, &r), 0);
  assert_int_equal(r.upnp_error, 0);
}

static void test_hostile(void **s) {
  (void)s;
  lp2p_upnp_soap_resp r;
  /* not an Envelope, no Body, an empty Body, a Body element not ending in
   * Response, an HTML error page */
  assert_int_equal(parse("<html><body>500</body></html>", NULL, &r), LP2P_ERR_PARSE);
  assert_int_equal(parse("<s:Envelope xmlns:s=\"x\"></s:Envelope>", NULL, &r), LP2P_ERR_PARSE);
  assert_int_equal(parse("<s:Envelope xmlns:s=\"x\"><s:Body/></s:Envelope>", NULL, &r), LP2P_ERR_PARSE);
  assert_int_equal(parse("<s:Envelope xmlns:s=\"x\"><s:Body><u:Add/></s:Body></s:Envelope>", NULL, &r),
                   LP2P_ERR_PARSE);
  assert_int_equal(parse("<s:Envelope xmlns:s=\"x\"><s:Body><u:Add", NULL, &r), LP2P_ERR_PARSE);
  assert_int_equal(parse("", NULL, &r), LP2P_ERR_PARSE);
  /* a value over LP2P_UPNP_ARG_VALUE_MAX */
  char b[2048];
  int k = snprintf(b, sizeof b, ENV_OPEN "<u:XResponse><NewA>");
  memset(b + k, 'v', LP2P_UPNP_ARG_VALUE_MAX);
  k += LP2P_UPNP_ARG_VALUE_MAX;
  snprintf(b + k, sizeof b - (size_t)k, "</NewA></u:XResponse>" ENV_CLOSE);
  assert_int_equal(parse(b, "X", &r), LP2P_ERR_LIMIT);
  /* more arguments than LP2P_UPNP_ARGS_MAX: the rest are dropped */
  k = snprintf(b, sizeof b, ENV_OPEN "<u:XResponse>");
  for (int i = 0; i < LP2P_UPNP_ARGS_MAX + 3; i++)
    k += snprintf(b + k, sizeof b - (size_t)k, "<A%d>%d</A%d>", i, i, i);
  snprintf(b + k, sizeof b - (size_t)k, "</u:XResponse>" ENV_CLOSE);
  assert_int_equal(parse(b, "X", &r), 0);
  assert_int_equal(r.nargs, LP2P_UPNP_ARGS_MAX);
  assert_null(lp2p_upnp_soap_arg(&r, "A12"));
  /* DOCTYPE refused here too */
  assert_int_equal(parse("<!DOCTYPE s [<!ENTITY a \"b\">]><s:Envelope xmlns:s=\"x\"><s:Body><u:XResponse/></s:Body></s:Envelope>", "X", &r),
                   LP2P_ERR_PARSE);
  /* every byte through the injected allocator, nothing left */
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  const char ext[] = ENV_OPEN "<u:GetExternalIPAddressResponse><NewExternalIPAddress>1.2.3.4</NewExternalIPAddress>"
                              "</u:GetExternalIPAddressResponse>" ENV_CLOSE;
  assert_int_equal(lp2p_upnp_soap_parse(&c.mem, (const uint8_t *)ext, strlen(ext), NULL, &r), 0);
  assert_true(c.total_allocs > 0);
  assert_int_equal(c.live_bytes, 0);
  /* bad dotted quads */
  const char *quads[] = {"1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", " 1.2.3.4x", "a.b.c.d"};
  for (size_t i = 0; i < sizeof quads / sizeof quads[0]; i++) {
    snprintf(b, sizeof b, ENV_OPEN "<u:XResponse><IP>%s</IP></u:XResponse>" ENV_CLOSE, quads[i]);
    assert_int_equal(parse(b, "X", &r), 0);
    uint8_t ip[4];
    assert_int_equal(lp2p_upnp_soap_arg_ipv4(&r, "IP", ip), LP2P_ERR_PARSE);
  }
}

/* the pieces in the order a port-mapping service uses them: SSDP reply ->
 * description GET -> chunked description -> control URL -> AddPortMapping
 * POST -> HTTP 500 carrying fault 718 -> retry on another port -> 200 */
static void test_flow(void **s) {
  (void)s;
  const char reply[] = "HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                       "LOCATION: http://10.0.1.1:40411/rootDesc.xml\r\nUSN: uuid:x::y\r\n\r\n";
  lp2p_ssdp_reply sr;
  assert_int_equal(lp2p_ssdp_reply_parse((const uint8_t *)reply, sizeof reply - 1, &sr), 0);
  lp2p_upnp_url loc;
  assert_int_equal(lp2p_upnp_url_parse(sr.location, sr.location_len, &loc), 0);
  uint8_t req[2048];
  size_t n;
  assert_int_equal(lp2p_http_request_build(&loc, NULL, NULL, 0, req, sizeof req, &n), 0);
  assert_int_equal(memcmp(req, "GET /rootDesc.xml HTTP/1.1\r\nHost: 10.0.1.1:40411\r\n", 50), 0);
  const char desc_http[] =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "40\r\n<root><device><serviceList><service><serviceType>urn:schemas-upn\r\n"
      "5b\r\np-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>\r\n"
      "1e\r\n</serviceList></device></root>\r\n0\r\n\r\n";
  static uint8_t body[LP2P_UPNP_DESC_MAX];
  lp2p_http_resp h;
  lp2p_http_resp_init(&h, body, sizeof body);
  assert_int_equal(lp2p_http_resp_feed(&h, (const uint8_t *)desc_http, sizeof desc_http - 1),
                   (lp2p_ssize)(sizeof desc_http - 1));
  assert_true(lp2p_http_resp_done(&h));
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  assert_int_equal(lp2p_upnp_desc_parse(NULL, sr.location, sr.location_len, h.body, h.body_len, sv,
                                        LP2P_UPNP_SERVICES_MAX, &n), 0);
  lp2p_upnp_url ctl;
  assert_int_equal(lp2p_upnp_url_parse(sv[0].control_url, strlen(sv[0].control_url), &ctl), 0);
  assert_string_equal(ctl.path, "/ctl/IPConn");
  lp2p_upnp_mapping m = {.external_port = 4001, .internal_port = 4001, .internal_client = "10.0.1.2",
                         .description = "lp2p", .lease_s = 3600};
  assert_int_equal(lp2p_upnp_req_add_port_mapping(&ctl, sv[0].service_type, &m, req, sizeof req, &n), 0);
  char fb[1024], resp500[1200];
  fault(fb, sizeof fb, 718, "ConflictInMappingEntry");
  int k = snprintf(resp500, sizeof resp500,
                   "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
                   "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                   strlen(fb), fb);
  lp2p_http_resp_init(&h, body, sizeof body);
  assert_int_equal(lp2p_http_resp_feed(&h, (const uint8_t *)resp500, (size_t)k), k);
  assert_int_equal(h.status, 500);
  lp2p_upnp_soap_resp r;
  assert_int_equal(lp2p_upnp_soap_parse(NULL, h.body, h.body_len, "AddPortMapping", &r), 0);
  assert_int_equal(r.upnp_error, LP2P_UPNP_ERR_CONFLICT);
  m.external_port = 4002;
  assert_int_equal(lp2p_upnp_req_add_port_mapping(&ctl, sv[0].service_type, &m, req, sizeof req, &n), 0);
  req[n] = 0;
  assert_non_null(strstr((char *)req, "<NewExternalPort>4002</NewExternalPort>"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_envelope),
      cmocka_unit_test(test_requests),
      cmocka_unit_test(test_responses),
      cmocka_unit_test(test_faults),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_flow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
