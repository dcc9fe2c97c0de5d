/* SSDP: the M-SEARCH bytes, and replies as real gateways send them.
 *
 * Sources of the replies (each rewritten here by hand, addresses and ids
 * changed):
 *  - miniupnpd 2.x: the reply format of miniupnpd/minissdp.c
 *    SendSSDPResponse (UDA 1.1 headers OPT, 01-NLS, BOOTID.UPNP.ORG,
 *    CONFIGID.UPNP.ORG), github.com/miniupnp/miniupnp;
 *  - an Orange LiveBox (Intel SDK for UPnP devices 1.2) and a Linksys
 *    802.11b router ("Location:http://..." without blanks), both quoted in
 *    a comment of the same minissdp.c;
 *  - a FRITZ!Box: LOCATION on port 49000 /igddesc.xml and the AVM SERVER
 *    string as the BoxMatrix wiki (boxmatrix.info, Property:SSDP)
 *    documents FRITZ!OS root devices;
 *  - a NOTIFY ssdp:alive / ssdp:byebye pair in the UDA 1.1 1.2.2 layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/upnp.h"

#define S(x) (const uint8_t *)(x), (sizeof(x) - 1)

static int view_is(const char *p, size_t n, const char *want) {
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_msearch(void **s) {
  (void)s;
  char b[256];
  size_t n;
  assert_int_equal(lp2p_ssdp_msearch_build(LP2P_UPNP_ST_IGD2, 2, b, sizeof b, &n), 0);
  const char want[] = "M-SEARCH * HTTP/1.1\r\n"
                      "HOST: 239.255.255.250:1900\r\n"
                      "MAN: \"ssdp:discover\"\r\n"
                      "MX: 2\r\n"
                      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n"
                      "\r\n";
  assert_int_equal(n, sizeof want - 1);
  assert_memory_equal(b, want, n);
  /* MX is clamped to 1..5 (UDA 1.1 1.3.2) */
  assert_int_equal(lp2p_ssdp_msearch_build(LP2P_UPNP_ST_WANIP1, 0, b, sizeof b, &n), 0);
  assert_non_null(strstr(b, "MX: 1\r\n"));
  assert_int_equal(lp2p_ssdp_msearch_build(LP2P_UPNP_ST_IGD1, 120, b, sizeof b, &n), 0);
  assert_non_null(strstr(b, "MX: 5\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"));
  assert_int_equal(lp2p_ssdp_msearch_build("a\r\nX: y", 2, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ssdp_msearch_build("", 2, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_ssdp_msearch_build(LP2P_UPNP_ST_IGD1, 2, b, 40, &n), LP2P_ERR_NOSPACE);
}

static const char miniupnpd_reply[] =
    "HTTP/1.1 200 OK\r\n"
    "CACHE-CONTROL: max-age=120\r\n"
    "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
    "USN: uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
    "EXT:\r\n"
    "SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
    "LOCATION: http://10.0.1.1:40411/rootDesc.xml\r\n"
    "OPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n"
    "01-NLS: 1733000000\r\n"
    "BOOTID.UPNP.ORG: 1733000000\r\n"
    "CONFIGID.UPNP.ORG: 1337\r\n"
    "\r\n";

static void test_miniupnpd(void **s) {
  (void)s;
  lp2p_ssdp_reply r;
  assert_int_equal(lp2p_ssdp_reply_parse(S(miniupnpd_reply), &r), 0);
  assert_int_equal(r.notify, 0);
  assert_true(view_is(r.location, r.location_len, "http://10.0.1.1:40411/rootDesc.xml"));
  assert_true(view_is(r.st, r.st_len, LP2P_UPNP_ST_IGD1));
  assert_true(view_is(r.usn, r.usn_len,
                      "uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b::" LP2P_UPNP_ST_IGD1));
  assert_int_equal(r.max_age, 120);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 1);
}

static void test_livebox_linksys(void **s) {
  (void)s;
  const char livebox[] =
      "HTTP/1.1 200 OK\r\n"
      "CACHE-CONTROL: max-age=1800\r\n"
      "DATE: Thu, 01 Jan 1970 04:03:23 GMT\r\n"
      "EXT:\r\n"
      "LOCATION: http://192.168.1.1:49152/gatedesc.xml\r\n"
      "SERVER: Linux/2.4.17, UPnP/1.0, Intel SDK for UPnP devices /1.2\r\n"
      "ST: urn:schemas-upnp-org:service:WANPPPConnection:1\r\n"
      "USN: uuid:75802409-bccb-40e7-8e6c-fa095ecce13e::urn:schemas-upnp-org:service:WANPPPConnection:1\r\n"
      "\r\n";
  lp2p_ssdp_reply r;
  assert_int_equal(lp2p_ssdp_reply_parse(S(livebox), &r), 0);
  assert_true(view_is(r.location, r.location_len, "http://192.168.1.1:49152/gatedesc.xml"));
  assert_int_equal(r.max_age, 1800);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 1);
  /* no blank after the colons, mixed case names */
  const char linksys[] =
      "HTTP/1.1 200 OK\r\n"
      "Cache-Control:max-age=120\r\n"
      "Location:http://192.168.5.1:5678/rootDesc.xml\r\n"
      "Server:NT/5.0 UPnP/1.0\r\n"
      "ST:urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
      "USN:uuid:upnp-InternetGatewayDevice-1_0-0090a2777777::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
      "EXT:\r\n"
      "\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(linksys), &r), 0);
  assert_true(view_is(r.location, r.location_len, "http://192.168.5.1:5678/rootDesc.xml"));
  assert_true(view_is(r.usn, r.usn_len,
                      "uuid:upnp-InternetGatewayDevice-1_0-0090a2777777::" LP2P_UPNP_ST_IGD1));
  assert_int_equal(r.max_age, 120);
  /* upnp:rootdevice is a reply, but not a gateway's search target */
  const char rootdev[] = "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n"
                         "LOCATION: http://192.168.5.1:5678/rootDesc.xml\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(rootdev), &r), 0);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 0);
}

static void test_fritzbox_sloppy(void **s) {
  (void)s;
  /* bare LF line ends, blanks before the colon and around the value,
   * lower-case names, HTTP/1.0, no final empty line */
  const char fritz[] =
      "HTTP/1.0 200 OK\n"
      "location : http://192.168.178.1:49000/igd2desc.xml  \n"
      "server: FRITZ!Box 7590 UPnP/1.0 AVM FRITZ!Box 7590 154.07.57\n"
      "cache-control:  max-age = 1800 , no-cache=\"Ext\"\n"
      "ext:\n"
      "st:\turn:schemas-upnp-org:device:InternetGatewayDevice:2\n"
      "usn: uuid:75802409-bccb-40e7-8e6c-3810d5a1b2c3::urn:schemas-upnp-org:device:InternetGatewayDevice:2\n"
      "a line without any colon is skipped\n";
  lp2p_ssdp_reply r;
  assert_int_equal(lp2p_ssdp_reply_parse(S(fritz), &r), 0);
  assert_true(view_is(r.location, r.location_len, "http://192.168.178.1:49000/igd2desc.xml"));
  assert_true(view_is(r.st, r.st_len, LP2P_UPNP_ST_IGD2));
  assert_int_equal(r.max_age, 1800);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 2);
  /* the ST in other case still names the gateway (URN NIDs ignore case) */
  const char odd[] = "HTTP/1.1 200 OK\r\nST: URN:Schemas-UPnP-org:Service:WANIPConnection:2\r\n"
                     "LOCATION: http://h/d.xml\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(odd), &r), 0);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 2);
}

static void test_notify(void **s) {
  (void)s;
  const char alive[] =
      "NOTIFY * HTTP/1.1\r\n"
      "HOST: 239.255.255.250:1900\r\n"
      "CACHE-CONTROL: max-age=1800\r\n"
      "LOCATION: http://10.0.1.1:40411/rootDesc.xml\r\n"
      "NT: urn:schemas-upnp-org:service:WANIPConnection:1\r\n"
      "NTS: ssdp:alive\r\n"
      "USN: uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b::urn:schemas-upnp-org:service:WANIPConnection:1\r\n"
      "\r\n";
  lp2p_ssdp_reply r;
  assert_int_equal(lp2p_ssdp_reply_parse(S(alive), &r), 0);
  assert_int_equal(r.notify, 1);
  assert_int_equal(r.byebye, 0);
  assert_true(view_is(r.st, r.st_len, LP2P_UPNP_ST_WANIP1));
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 1);
  /* byebye needs no LOCATION and never counts as a gateway */
  const char bye[] = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                     "NT: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                     "NTS: ssdp:byebye\r\nUSN: uuid:x::y\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(bye), &r), 0);
  assert_int_equal(r.byebye, 1);
  assert_int_equal(lp2p_ssdp_reply_igd_version(&r), 0);
}

static void test_hostile(void **s) {
  (void)s;
  lp2p_ssdp_reply r;
  /* another client's M-SEARCH on the group, an error status, no ST, no
   * LOCATION, empty input */
  const char ms[] = "M-SEARCH * HTTP/1.1\r\nST: " LP2P_UPNP_ST_IGD1 "\r\nLOCATION: http://a/\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(ms), &r), LP2P_ERR_PARSE);
  const char e404[] = "HTTP/1.1 404 Not Found\r\nST: x\r\nLOCATION: http://a/\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(e404), &r), LP2P_ERR_PARSE);
  const char e2000[] = "HTTP/1.1 2000 OK\r\nST: x\r\nLOCATION: http://a/\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(e2000), &r), LP2P_ERR_PARSE);
  const char nost[] = "HTTP/1.1 200 OK\r\nLOCATION: http://a/\r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(nost), &r), LP2P_ERR_PARSE);
  const char noloc[] = "HTTP/1.1 200 OK\r\nST: x\r\nLOCATION:   \r\n\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(noloc), &r), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_ssdp_reply_parse((const uint8_t *)"", 0, &r), LP2P_ERR_PARSE);
  /* headers after the empty line are a body SSDP does not have */
  const char late[] = "HTTP/1.1 200 OK\r\nST: x\r\n\r\nLOCATION: http://a/\r\n";
  assert_int_equal(lp2p_ssdp_reply_parse(S(late), &r), LP2P_ERR_PARSE);
  /* bounds: a long line, many headers, a big datagram */
  static char big[LP2P_SSDP_MSG_MAX + 64];
  int k = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nST: x\r\nLOCATION: http://a/\r\nX: ");
  memset(big + k, 'a', LP2P_SSDP_LINE_MAX);
  memcpy(big + k + LP2P_SSDP_LINE_MAX, "\r\n\r\n", 4);
  assert_int_equal(lp2p_ssdp_reply_parse((const uint8_t *)big, (size_t)k + LP2P_SSDP_LINE_MAX + 4, &r),
                   LP2P_ERR_LIMIT);
  k = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < LP2P_SSDP_HEADERS_MAX; i++)
    k += snprintf(big + k, sizeof big - (size_t)k, "X%d: y\r\n", i);
  k += snprintf(big + k, sizeof big - (size_t)k, "ST: x\r\nLOCATION: http://a/\r\n\r\n");
  assert_int_equal(lp2p_ssdp_reply_parse((const uint8_t *)big, (size_t)k, &r), LP2P_ERR_LIMIT);
  memset(big, ' ', sizeof big);
  assert_int_equal(lp2p_ssdp_reply_parse((const uint8_t *)big, LP2P_SSDP_MSG_MAX + 1, &r), LP2P_ERR_LIMIT);
  /* every prefix of a good reply parses or fails cleanly, and the views
   * stay inside the input */
  for (size_t i = 0; i < sizeof miniupnpd_reply - 1; i++) {
    int rc = lp2p_ssdp_reply_parse((const uint8_t *)miniupnpd_reply, i, &r);
    if (rc == 0) {
      assert_true(r.location >= miniupnpd_reply &&
                  r.location + r.location_len <= miniupnpd_reply + i);
      assert_true(r.st + r.st_len <= miniupnpd_reply + i);
    } else {
      assert_int_equal(rc, LP2P_ERR_PARSE);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_msearch),
      cmocka_unit_test(test_miniupnpd),
      cmocka_unit_test(test_livebox_linksys),
      cmocka_unit_test(test_fritzbox_sloppy),
      cmocka_unit_test(test_notify),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
