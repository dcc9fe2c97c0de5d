/* The simulator's IGD request handling alone (drivers/sim/igd_proto.c)
 * over a NAT box's table: SSDP answers per search target; the
 * description; UPnP AddPortMapping (renewal, 718 for another client's
 * port, 606 for another client, 716, 725, IGD:2 lease 0), AddAnyPortMapping,
 * GetSpecificPortMappingEntry (lease left), DeletePortMapping (714); the
 * HTTP framing (incomplete, 413, 411); NAT-PMP (address, map, renewal,
 * another port when taken, delete all, unsupported version / opcode);
 * PCP (map, nonce checks, ADDRESS_MISMATCH, options, delete, ANNOUNCE);
 * the epoch after a reboot; and the forward itself: admitted under
 * port-restricted filtering while the lease runs, gone after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/sim/igd.h"
#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"

#define S LP2P_NS_PER_S
#define LAN LP2P_SIM_IP4(10, 0, 0, 1)
#define EXT LP2P_SIM_IP4(20, 0, 0, 1)
#define C1 LP2P_SIM_IP4(10, 0, 0, 2)
#define C2 LP2P_SIM_IP4(10, 0, 0, 3)
#define R1 LP2P_SIM_IP4(30, 0, 0, 1)

typedef struct fx {
  sim_nat nat;
  lp2p_rng_chacha st;
  lp2p_rng rng;
  sim_igd g;
  lp2p_tstamp now;
  char out[IGD_OUT_MAX];
  size_t len;
  uint8_t dg[LP2P_PCP_MSG_MAX];
} fx;

static fx *start(int version, int permanent_only) {
  fx *f = calloc(1, sizeof *f);
  lp2p_sim_nat_config c;
  lp2p_sim_nat_config_default(&c);
  c.mapping = LP2P_SIM_MAP_EI;
  c.filtering = LP2P_SIM_FILT_APD;
  lp2p_rng_chacha_init(&f->st, 1, 2, &f->rng);
  assert_int_equal(sim_nat_init(&f->nat, &c, EXT, &f->rng), 0);
  lp2p_sim_igd_config ic;
  lp2p_sim_igd_config_default(&ic);
  ic.upnp_version = version;
  ic.permanent_only = permanent_only;
  f->now = 100 * S;
  igd_init(&f->g, &ic, &f->nat, LAN, EXT, f->now);
  return f;
}

static void finish(fx *f) {
  sim_nat_free(&f->nat);
  free(f);
}

/* ---- UPnP ----------------------------------------------------------------- */

static int ssdp(fx *f, const char *st) {
  char m[512];
  snprintf(m, sizeof m,
           "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
           "MAN: \"ssdp:discover\"\r\nMX: 2\r\nST: %s\r\n\r\n",
           st);
  return igd_ssdp(&f->g, (const uint8_t *)m, strlen(m), f->out,
                  sizeof f->out, &f->len);
}

static void test_ssdp(void **state) {
  (void)state;
  fx *f = start(1, 0);
  assert_int_equal(
      ssdp(f, "urn:schemas-upnp-org:device:InternetGatewayDevice:1"), 1);
  f->out[f->len] = 0;
  assert_non_null(strstr(
      f->out, "\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1"));
  assert_non_null(
      strstr(f->out, "\r\nLOCATION: http://10.0.0.1:5000/rootDesc.xml\r\n"));
  /* an IGD:1 box does not answer a search for :2 */
  assert_int_equal(
      ssdp(f, "urn:schemas-upnp-org:device:InternetGatewayDevice:2"), 0);
  assert_int_equal(ssdp(f, "ssdp:all"), 1);
  assert_int_equal(ssdp(f, "urn:schemas-upnp-org:service:WANIPConnection:1"),
                   1);
  assert_int_equal(ssdp(f, "urn:dial-multiscreen-org:service:dial:1"), 0);
  /* not a search */
  const char *n = "NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n";
  assert_int_equal(igd_ssdp(&f->g, (const uint8_t *)n, strlen(n), f->out,
                            sizeof f->out, &f->len),
                   0);
  finish(f);
  f = start(2, 0);
  /* IGD:2 answers :1 searches with :1 (UDA 1.1 1.3.3) */
  assert_int_equal(
      ssdp(f, "urn:schemas-upnp-org:device:InternetGatewayDevice:1"), 1);
  assert_int_equal(
      ssdp(f, "urn:schemas-upnp-org:device:InternetGatewayDevice:2"), 1);
  assert_int_equal(f->g.st.ssdp_searches, 2);
  finish(f);
}

/* POST action with body args from client `from`; returns the status. */
static int soap(fx *f, uint32_t from, const char *action, const char *args) {
  char body[1024], req[2048];
  int v = f->g.cfg.upnp_version;
  snprintf(body, sizeof body,
           "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas."
           "xmlsoap.org/soap/envelope/\"><s:Body><u:%s xmlns:u=\"urn:"
           "schemas-upnp-org:service:WANIPConnection:%d\">%s</u:%s>"
           "</s:Body></s:Envelope>",
           action, v, args, action);
  snprintf(req, sizeof req,
           "POST /ctl/IPConn HTTP/1.1\r\nHost: 10.0.0.1:5000\r\n"
           "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:%d#%s"
           "\"\r\nContent-Length: %zu\r\n\r\n%s",
           v, action, strlen(body), body);
  assert_int_equal(igd_http(&f->g, from, (const uint8_t *)req, strlen(req),
                            f->now, f->out, sizeof f->out - 1, &f->len),
                   1);
  f->out[f->len] = 0;
  return atoi(f->out + 9);
}

static int has(const fx *f, const char *s) { return strstr(f->out, s) != NULL; }

static const char *add_args(char *b, size_t cap, const char *client,
                            unsigned ext, unsigned lease) {
  snprintf(b, cap,
           "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u"
           "</NewExternalPort><NewProtocol>TCP</NewProtocol>"
           "<NewInternalPort>4001</NewInternalPort><NewInternalClient>%s"
           "</NewInternalClient><NewEnabled>1</NewEnabled>"
           "<NewPortMappingDescription>lp2p</NewPortMappingDescription>"
           "<NewLeaseDuration>%u</NewLeaseDuration>",
           ext, client, lease);
  return b;
}

static const char *entry_args(unsigned ext) {
  static char b[256];
  snprintf(b, sizeof b,
           "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u"
           "</NewExternalPort><NewProtocol>TCP</NewProtocol>",
           ext);
  return b;
}

static void test_upnp_actions(void **state) {
  (void)state;
  fx *f = start(2, 0);
  char a[512];
  /* the description names the control URL */
  const char *get = "GET /rootDesc.xml HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(igd_http(&f->g, C1, (const uint8_t *)get, strlen(get),
                            f->now, f->out, sizeof f->out - 1, &f->len),
                   1);
  f->out[f->len] = 0;
  assert_true(has(f, "<controlURL>/ctl/IPConn</controlURL>"));
  assert_true(has(f, "WANIPConnection:2</serviceType>"));
  assert_int_equal(soap(f, C1, "GetExternalIPAddress", ""), 200);
  assert_true(has(f, "<NewExternalIPAddress>20.0.0.1<"));
  /* map, then the same again: a renewal */
  assert_int_equal(
      soap(f, C1, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4001,
                                             3600)),
      200);
  assert_int_equal(
      soap(f, C1, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4001,
                                             3600)),
      200);
  assert_int_equal(f->g.st.mapped, 1);
  assert_int_equal(f->g.st.renewed, 1);
  assert_false(sim_nat_port_free(&f->nat, SIM_TCP, 4001, f->now));
  /* another client wants that port: 718; for someone else: 606 */
  assert_int_equal(
      soap(f, C2, "AddPortMapping", add_args(a, sizeof a, "10.0.0.3", 4001,
                                             3600)),
      500);
  assert_true(has(f, "<errorCode>718</errorCode>"));
  assert_int_equal(
      soap(f, C2, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4002,
                                             3600)),
      500);
  assert_true(has(f, "<errorCode>606</errorCode>"));
  /* wildcard external port: 716; AddAny picks a free one instead */
  assert_int_equal(soap(f, C2, "AddPortMapping",
                        add_args(a, sizeof a, "10.0.0.3", 0, 3600)),
                   500);
  assert_true(has(f, "<errorCode>716</errorCode>"));
  assert_int_equal(soap(f, C2, "AddAnyPortMapping",
                        add_args(a, sizeof a, "10.0.0.3", 4001, 3600)),
                   200);
  assert_true(has(f, "<NewReservedPort>"));
  assert_false(has(f, "<NewReservedPort>4001<"));
  /* the entry, with the lease left */
  f->now += 600 * S;
  assert_int_equal(soap(f, C1, "GetSpecificPortMappingEntry",
                        entry_args(4001)),
                   200);
  assert_true(has(f, "<NewInternalClient>10.0.0.2<"));
  assert_true(has(f, "<NewLeaseDuration>3000<"));
  /* only its owner deletes it; then it is gone (714) */
  assert_int_equal(soap(f, C2, "DeletePortMapping", entry_args(4001)), 500);
  assert_true(has(f, "<errorCode>606</errorCode>"));
  assert_int_equal(soap(f, C1, "DeletePortMapping", entry_args(4001)), 200);
  assert_int_equal(soap(f, C1, "DeletePortMapping", entry_args(4001)), 500);
  assert_true(has(f, "<errorCode>714</errorCode>"));
  assert_true(sim_nat_port_free(&f->nat, SIM_TCP, 4001, f->now));
  /* IGD:2: lease 0 is a week (WANIPConnection:2 2.3.16), cut to the cap */
  assert_int_equal(
      soap(f, C1, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4001,
                                             0)),
      200);
  assert_int_equal(soap(f, C1, "GetSpecificPortMappingEntry",
                        entry_args(4001)),
                   200);
  assert_true(has(f, "<NewLeaseDuration>86400<"));
  /* bad arguments and unknown actions */
  assert_int_equal(soap(f, C1, "AddPortMapping", "<NewExternalPort>x<"), 500);
  assert_true(has(f, "<errorCode>402</errorCode>"));
  assert_int_equal(soap(f, C1, "ForceTermination", ""), 500);
  assert_true(has(f, "<errorCode>401</errorCode>"));
  finish(f);
}

static void test_upnp_v1_permanent(void **state) {
  (void)state;
  fx *f = start(1, 1);
  char a[512];
  assert_int_equal(
      soap(f, C1, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4001,
                                             3600)),
      500);
  assert_true(has(f, "<errorCode>725</errorCode>"));
  assert_int_equal(
      soap(f, C1, "AddPortMapping", add_args(a, sizeof a, "10.0.0.2", 4001,
                                             0)),
      200);
  /* permanent on IGD:1: still there much later */
  f->now += 1000000 * S;
  assert_int_equal(igd_live(&f->g, f->now), 1);
  /* no AddAnyPortMapping on IGD:1 */
  assert_int_equal(soap(f, C1, "AddAnyPortMapping",
                        add_args(a, sizeof a, "10.0.0.2", 4002, 0)),
                   500);
  assert_true(has(f, "<errorCode>401</errorCode>"));
  finish(f);
}

static int http(fx *f, const char *req) {
  return igd_http(&f->g, C1, (const uint8_t *)req, strlen(req), f->now,
                  f->out, sizeof f->out - 1, &f->len);
}

static void test_http_framing(void **state) {
  (void)state;
  fx *f = start(2, 0);
  assert_int_equal(http(f, "GET /rootDesc.xml HTTP/1.1\r\nHost: x\r\n"), 0);
  assert_int_equal(
      http(f, "POST /ctl/IPConn HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
      0);
  assert_int_equal(http(f, "POST /ctl/IPConn HTTP/1.1\r\n"
                           "Content-Length: 99999\r\n\r\n"),
                   1);
  assert_int_equal(atoi(f->out + 9), 413);
  assert_int_equal(http(f, "POST /ctl/IPConn HTTP/1.1\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"),
                   1);
  assert_int_equal(atoi(f->out + 9), 411);
  assert_int_equal(http(f, "POST /ctl/IPConn HTTP/1.1\r\n"
                           "Content-Length: ten\r\n\r\n"),
                   1);
  assert_int_equal(atoi(f->out + 9), 400);
  assert_int_equal(http(f, "GET /nothing HTTP/1.1\r\n\r\n"), 1);
  assert_int_equal(atoi(f->out + 9), 404);
  assert_int_equal(http(f, "garbage\r\n\r\n"), 1);
  assert_int_equal(atoi(f->out + 9), 400);
  /* a request that fills the buffer without ending its head: 413 */
  static uint8_t big[IGD_HTTP_MAX];
  memset(big, 'a', sizeof big);
  assert_int_equal(igd_http(&f->g, C1, big, sizeof big, f->now, f->out,
                            sizeof f->out, &f->len),
                   1);
  assert_int_equal(atoi(f->out + 9), 413);
  finish(f);
}

/* ---- NAT-PMP and PCP -------------------------------------------------------- */

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static int pmp(fx *f, uint32_t from, const uint8_t *req, size_t n) {
  return igd_pmp(&f->g, from, req, n, f->now, f->dg, sizeof f->dg, &f->len);
}

static void test_natpmp(void **state) {
  (void)state;
  fx *f = start(2, 0);
  const uint8_t addr[2] = {0, 0};
  assert_int_equal(pmp(f, C1, addr, 2), 1);
  assert_int_equal(f->len, 12);
  assert_int_equal(f->dg[1], 128);
  assert_int_equal(get32(f->dg + 8), EXT);
  uint8_t map[12] = {0, 2, 0, 0, 0x0f, 0xa1, 0x0f, 0xa1, 0, 0, 0x0e, 0x10};
  assert_int_equal(pmp(f, C1, map, 12), 1);
  assert_int_equal(f->len, 16);
  assert_int_equal(get16(f->dg + 2), 0);
  assert_int_equal(get16(f->dg + 10), 4001);
  assert_int_equal(get32(f->dg + 12), 3600);
  /* another client asking for 4001 gets another port (RFC 6886 3.3) */
  assert_int_equal(pmp(f, C2, map, 12), 1);
  assert_int_not_equal(get16(f->dg + 10), 4001);
  /* the first client again: its mapping, renewed */
  assert_int_equal(pmp(f, C1, map, 12), 1);
  assert_int_equal(get16(f->dg + 10), 4001);
  assert_int_equal(f->g.st.renewed, 1);
  /* delete all of C1's TCP mappings (internal port 0, lifetime 0) */
  uint8_t del[12] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(pmp(f, C1, del, 12), 1);
  assert_int_equal(igd_live(&f->g, f->now), 1); /* C2's stays */
  /* unsupported opcode and version */
  uint8_t bad[2] = {0, 9};
  assert_int_equal(pmp(f, C1, bad, 2), 1);
  assert_int_equal(get16(f->dg + 2), LP2P_NATPMP_UNSUPP_OPCODE);
  uint8_t v1[4] = {1, 0, 0, 0};
  assert_int_equal(pmp(f, C1, v1, 4), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_UNSUPP_VERSION);
  /* the epoch counts from the boot; a reboot starts it again */
  f->now += 500 * S;
  assert_int_equal(pmp(f, C1, addr, 2), 1);
  assert_int_equal(get32(f->dg + 4), 500);
  igd_reset(&f->g, f->now);
  assert_int_equal(igd_live(&f->g, f->now), 0);
  f->now += 3 * S;
  assert_int_equal(pmp(f, C1, addr, 2), 1);
  assert_int_equal(get32(f->dg + 4), 3);
  finish(f);
}

static size_t pcp_req(uint8_t *r, uint32_t life, char nonce, uint32_t client,
                      uint16_t port) {
  memset(r, 0, 60);
  r[0] = 2;
  r[1] = 1;
  r[4] = (uint8_t)(life >> 24);
  r[5] = (uint8_t)(life >> 16);
  r[6] = (uint8_t)(life >> 8);
  r[7] = (uint8_t)life;
  r[18] = r[19] = 0xff;
  r[20] = (uint8_t)(client >> 24);
  r[21] = (uint8_t)(client >> 16);
  r[22] = (uint8_t)(client >> 8);
  r[23] = (uint8_t)client;
  memset(r + 24, nonce, 12);
  r[36] = 6;
  r[40] = r[42] = (uint8_t)(port >> 8);
  r[41] = r[43] = (uint8_t)port;
  return 60;
}

static void test_pcp(void **state) {
  (void)state;
  fx *f = start(2, 0);
  uint8_t r[80];
  size_t n = pcp_req(r, 3600, 'a', C1, 4001);
  assert_int_equal(pmp(f, C1, r, n), 1);
  assert_int_equal(f->len, 60);
  assert_int_equal(f->dg[1], 0x81);
  assert_int_equal(f->dg[3], LP2P_PCP_SUCCESS);
  assert_int_equal(get32(f->dg + 4), 3600);
  assert_int_equal(get16(f->dg + 42), 4001);
  assert_int_equal(get32(f->dg + 56), EXT);
  assert_memory_equal(f->dg + 24, r + 24, 12); /* nonce echoed */
  /* the same mapping with another nonce: NOT_AUTHORIZED (11.3) */
  n = pcp_req(r, 3600, 'b', C1, 4001);
  assert_int_equal(pmp(f, C1, r, n), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_NOT_AUTHORIZED);
  /* a client address that is not the source: ADDRESS_MISMATCH (8.1) */
  n = pcp_req(r, 3600, 'c', C1, 4002);
  assert_int_equal(pmp(f, C2, r, n), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_ADDRESS_MISMATCH);
  /* a mandatory option we do not know: UNSUPP_OPTION; an optional one is
   * ignored; a truncated one: MALFORMED_OPTION */
  n = pcp_req(r, 3600, 'c', C2, 4002);
  memcpy(r + 60, "\x01\x00\x00\x04zzzz", 8);
  assert_int_equal(pmp(f, C2, r, 68), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_UNSUPP_OPTION);
  memcpy(r + 60, "\x82\x00\x00\x04zzzz", 8);
  assert_int_equal(pmp(f, C2, r, 68), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_SUCCESS);
  memcpy(r + 60, "\x82\x00\x00\x09", 4);
  assert_int_equal(pmp(f, C2, r, 64), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_MALFORMED_OPTION);
  /* delete with the right nonce; the answer carries lifetime 0 */
  n = pcp_req(r, 0, 'a', C1, 4001);
  assert_int_equal(pmp(f, C1, r, n), 1);
  assert_int_equal(f->dg[3], LP2P_PCP_SUCCESS);
  assert_int_equal(get32(f->dg + 4), 0);
  assert_true(sim_nat_port_free(&f->nat, SIM_TCP, 4001, f->now));
  /* ANNOUNCE (14.1): a bare header */
  n = pcp_req(r, 0, 0, C1, 0);
  r[1] = 0;
  assert_int_equal(pmp(f, C1, r, 24), 1);
  assert_int_equal(f->len, 24);
  assert_int_equal(f->dg[1], 0x80);
  /* responses are not requests: dropped */
  r[1] = 0x81;
  assert_int_equal(pmp(f, C1, r, 60), 0);
  finish(f);
}

/* ---- the forward in the box ------------------------------------------------ */

static int inbound_syn(fx *f, uint16_t rport) {
  sim_pkt p;
  memset(&p, 0, sizeof p);
  p.proto = SIM_TCP;
  p.flags = SIM_F_SYN;
  p.src_ip = R1;
  p.src_port = rport;
  p.dst_ip = EXT;
  p.dst_port = 4001;
  int v = sim_nat_inbound(&f->nat, &p, f->now);
  return v == SIM_NAT_FORWARD && p.dst_ip == C1 && p.dst_port == 4001;
}

static void test_forward_lease(void **state) {
  (void)state;
  fx *f = start(2, 0);
  /* port-restricted filtering drops an unsolicited SYN ... */
  assert_false(inbound_syn(f, 5555));
  /* ... unless a forward is there */
  assert_int_equal(igd_map(&f->g, IGD_BY_UPNP, SIM_TCP, 4001, C1, 4001, 600,
                           f->now, NULL),
                   0);
  assert_true(inbound_syn(f, 5555));
  assert_true(inbound_syn(f, 5556)); /* any remote */
  /* the lease ends: new remotes are dropped, the table entry is gone */
  f->now += 601 * S;
  assert_int_equal(igd_live(&f->g, f->now), 0);
  assert_false(inbound_syn(f, 5557));
  finish(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ssdp),           cmocka_unit_test(test_upnp_actions),
      cmocka_unit_test(test_upnp_v1_permanent),
      cmocka_unit_test(test_http_framing),   cmocka_unit_test(test_natpmp),
      cmocka_unit_test(test_pcp),            cmocka_unit_test(test_forward_lease),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
