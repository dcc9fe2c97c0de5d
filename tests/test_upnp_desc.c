/* Device descriptions: which WAN connection service, which control URL.
 *
 * The documents are written here by hand after these public sources (UDNs,
 * serials and addresses changed, unrelated elements shortened):
 *  - miniupnpd: the rootDesc.xml layout of miniupnpd/upnpdescgen.c and the
 *    paths of miniupnpd/miniupnpdpath.h (/ctl/IPConn, /ctl/L3F, ...),
 *    IGD:1 and IGD:2 builds (github.com/miniupnp/miniupnp);
 *  - FRITZ!Box: igd2desc.xml as the BoxMatrix wiki (boxmatrix.info,
 *    Property:SSDP) lists it: InternetGatewayDevice:2 > WANDevice:2 >
 *    WANConnectionDevice:2 with WANDSLLinkConfig:1, WANIPConnection:2 and
 *    WANIPv6FirewallControl:1, served on port 49000;
 *  - D-Link (linux-igd / Intel libupnp, as on TP-Link and Netgear boxes of
 *    the same era): the InternetGatewayDevice.php template of the D-Link
 *    WBR-1310 GPL tree (github.com/jcomeauictx/wbr1310), with URLBase and
 *    two WANIPConnection services when two PPP sessions run;
 *  - Edimax BR-6104K (Broadcom UPnP): LOCATION
 *    http://192.168.1.1:5431/dyndev/uuid:0014-bf09 and controlURL /ipc, as
 *    its user manual shows;
 *  - Linksys WAG200G: a WANPPPConnection:1 at /upnp/control/WANPPPConn1
 *    (the service values miniupnpc's testdesc/ records for it);
 *  - Orange LiveBox (Sagemcom): a WANPPPConnection:2 (a version no spec
 *    has) whose controlURL is /87895a19/upnp/control/WANIPConn1 (same
 *    source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/upnp.h"

static const char miniupnpd_igd1[] =
    "<?xml version=\"1.0\"?>\r\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1337\">"
    "<specVersion><major>1</major><minor>1</minor></specVersion>"
    "<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
    "<friendlyName>Debian router</friendlyName><manufacturer>Debian</manufacturer>"
    "<manufacturerURL>https://www.debian.org/</manufacturerURL>"
    "<modelDescription>Debian router</modelDescription><modelName>Debian router</modelName>"
    "<modelNumber>2.3.1</modelNumber><modelURL>https://www.debian.org/</modelURL>"
    "<serialNumber>00000000</serialNumber><UDN>uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b</UDN>"
    "<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:L3Forwarding1</serviceId><SCPDURL>/L3F.xml</SCPDURL>"
    "<controlURL>/ctl/L3F</controlURL><eventSubURL>/evt/L3F</eventSubURL></service></serviceList>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
    "<friendlyName>WANDevice</friendlyName><UDN>uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07c</UDN>"
    "<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId><SCPDURL>/WANCfg.xml</SCPDURL>"
    "<controlURL>/ctl/CmnIfCfg</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL></service></serviceList>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
    "<friendlyName>WANConnectionDevice</friendlyName><UDN>uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07d</UDN>"
    "<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><SCPDURL>/WANIPCn.xml</SCPDURL>"
    "<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL></service></serviceList>"
    "</device></deviceList></device></deviceList>"
    "<presentationURL>http://10.0.1.1/</presentationURL></device></root>";

static const char miniupnpd_igd2[] =
    "<?xml version=\"1.0\"?>\r\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1337\">"
    "<specVersion><major>1</major><minor>1</minor></specVersion>"
    "<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>"
    "<friendlyName>OpenWrt router</friendlyName><UDN>uuid:aaaa0000-0000-0000-0000-000000000001</UDN>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>"
    "<serviceList>"
    "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><SCPDURL>/WANIPCn.xml</SCPDURL>"
    "<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL></service>"
    "<service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId><SCPDURL>/WANIP6FC.xml</SCPDURL>"
    "<controlURL>/ctl/IP6FCtl</controlURL><eventSubURL>/evt/IP6FCtl</eventSubURL></service>"
    "</serviceList></device></deviceList></device></deviceList></device></root>";

/* FRITZ!OS: pretty-printed, with the value split over lines */
static const char fritzbox_igd2[] =
    "<?xml version=\"1.0\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    " <specVersion>\n  <major>1</major>\n  <minor>0</minor>\n </specVersion>\n"
    " <device>\n"
    "  <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>\n"
    "  <friendlyName>FRITZ!Box 7590</friendlyName>\n"
    "  <manufacturer>AVM Berlin</manufacturer>\n"
    "  <manufacturerURL>http://www.avm.de</manufacturerURL>\n"
    "  <modelName>FRITZ!Box 7590</modelName>\n"
    "  <UDN>uuid:75802409-bccb-40e7-8e6c-3810d5a1b2c3</UDN>\n"
    "  <serviceList>\n"
    "   <service>\n"
    "    <serviceType>urn:schemas-any-com:service:Any:1</serviceType>\n"
    "    <serviceId>urn:any-com:serviceId:any1</serviceId>\n"
    "    <controlURL>/igd2upnp/control/any</controlURL>\n"
    "    <eventSubURL>/igd2upnp/control/any</eventSubURL>\n"
    "    <SCPDURL>/any.xml</SCPDURL>\n"
    "   </service>\n"
    "  </serviceList>\n"
    "  <deviceList>\n"
    "   <device>\n"
    "    <deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>\n"
    "    <serviceList><service>\n"
    "     <serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>\n"
    "     <controlURL>/igd2upnp/control/WANCommonIFC1</controlURL>\n"
    "    </service></serviceList>\n"
    "    <deviceList>\n"
    "     <device>\n"
    "      <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>\n"
    "      <serviceList>\n"
    "       <service>\n"
    "        <serviceType>urn:schemas-upnp-org:service:WANDSLLinkConfig:1</serviceType>\n"
    "        <controlURL>/igd2upnp/control/WANDSLLinkC1</controlURL>\n"
    "       </service>\n"
    "       <service>\n"
    "        <serviceType>\n          urn:schemas-upnp-org:service:WANIPConnection:2\n        </serviceType>\n"
    "        <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>\n"
    "        <controlURL>\n          /igd2upnp/control/WANIPConn1\n        </controlURL>\n"
    "        <eventSubURL>/igd2upnp/control/WANIPConn1</eventSubURL>\n"
    "        <SCPDURL>/igd2connSCPD.xml</SCPDURL>\n"
    "       </service>\n"
    "       <service>\n"
    "        <serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType>\n"
    "        <controlURL>/igd2upnp/control/WANIPv6Firewall1</controlURL>\n"
    "       </service>\n"
    "      </serviceList>\n"
    "     </device>\n"
    "    </deviceList>\n"
    "   </device>\n"
    "  </deviceList>\n"
    "  <presentationURL>http://fritz.box</presentationURL>\n"
    " </device>\n"
    "</root>\n";

/* linux-igd with URLBase, tabs, two PPP sessions */
static const char dlink_linux_igd[] =
    "<?xml version=\"1.0\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "\t<specVersion>\n\t\t<major>1</major>\n\t\t<minor>0</minor>\n\t</specVersion>\n"
    "\t<URLBase>http://192.168.0.1:52869</URLBase>\n"
    "\t<device>\n"
    "\t\t<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>\n"
    "\t\t<friendlyName>WBR-1310</friendlyName>\n"
    "\t\t<manufacturer>D-Link</manufacturer>\n"
    "\t\t<iconList><icon><mimetype>image/gif</mimetype><width>118</width><height>119</height>"
    "<depth>8</depth><url>/ligd.gif</url></icon></iconList>\n"
    "\t\t<serviceList>\n"
    "\t\t\t<service>\n"
    "\t\t\t\t<serviceType>urn:schemas-microsoft-com:service:OSInfo:1</serviceType>\n"
    "\t\t\t\t<controlURL>/OSInfo1</controlURL>\n"
    "\t\t\t</service>\n"
    "\t\t\t<service>\n"
    "\t\t\t\t<serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>\n"
    "\t\t\t\t<controlURL>/L3Forwarding1</controlURL>\n"
    "\t\t\t</service>\n"
    "\t\t</serviceList>\n"
    "\t\t<deviceList>\n"
    "\t\t\t<device>\n"
    "\t\t\t\t<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>\n"
    "\t\t\t\t<deviceList>\n"
    "\t\t\t\t\t<device>\n"
    "\t\t\t\t\t\t<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>\n"
    "\t\t\t\t\t\t<serviceList>\n"
    "\t\t\t\t\t\t\t<service>\n"
    "\t\t\t\t\t\t\t\t<serviceType>urn:schemas-upnp-org:service:WANEthernetLinkConfig:1</serviceType>\n"
    "\t\t\t\t\t\t\t\t<controlURL>/WANEthLinkC1</controlURL>\n"
    "\t\t\t\t\t\t\t</service>\n"
    "\t\t\t\t\t\t\t<service>\n"
    "\t\t\t\t\t\t\t\t<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\n"
    "\t\t\t\t\t\t\t\t<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>\n"
    "\t\t\t\t\t\t\t\t<controlURL>/WANIPConn1</controlURL>\n"
    "\t\t\t\t\t\t\t\t<SCPDURL>/WANIPConnection.xml</SCPDURL>\n"
    "\t\t\t\t\t\t\t</service>\n"
    "\t\t\t\t\t\t\t<service>\n"
    "\t\t\t\t\t\t\t\t<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\n"
    "\t\t\t\t\t\t\t\t<serviceId>urn:upnp-org:serviceId:WANIPConn2</serviceId>\n"
    "\t\t\t\t\t\t\t\t<controlURL>/WANIPConn2</controlURL>\n"
    "\t\t\t\t\t\t\t</service>\n"
    "\t\t\t\t\t\t</serviceList>\n"
    "\t\t\t\t\t</device>\n"
    "\t\t\t\t</deviceList>\n"
    "\t\t\t</device>\n"
    "\t\t</deviceList>\n"
    "\t\t<presentationURL>http://192.168.0.1/</presentationURL>\n"
    "\t</device>\n"
    "</root>\n";

static const char edimax_broadcom[] =
    "<?xml version=\"1.0\"?>\r\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\r\n"
    "<specVersion>\r\n<major>1</major>\r\n<minor>0</minor>\r\n</specVersion>\r\n"
    "<device>\r\n"
    "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>\r\n"
    "<friendlyName>BR-6104K</friendlyName>\r\n"
    "<manufacturer>EDIMAX</manufacturer>\r\n"
    "<UDN>uuid:0014-bf09</UDN>\r\n"
    "<deviceList>\r\n<device>\r\n"
    "<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>\r\n"
    "<deviceList>\r\n<device>\r\n"
    "<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>\r\n"
    "<serviceList>\r\n<service>\r\n"
    "<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\r\n"
    "<serviceId>urn:upnp-org:serviceId:WANIPConnection</serviceId>\r\n"
    "<controlURL>/ipc</controlURL>\r\n"
    "<eventSubURL>/ipc</eventSubURL>\r\n"
    "<SCPDURL>/ipc.xml</SCPDURL>\r\n"
    "</service>\r\n</serviceList>\r\n"
    "</device>\r\n</deviceList>\r\n"
    "</device>\r\n</deviceList>\r\n"
    "</device>\r\n</root>\r\n";

static const char linksys_wag200g_ppp[] =
    "<?xml version=\"1.0\"?>"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
    "<specVersion><major>1</major><minor>0</minor></specVersion>"
    "<URLBase>http://192.168.1.1:49152</URLBase>"
    "<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
    "<friendlyName>Linksys WAG200G</friendlyName>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
    "<serviceList><service>"
    "<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>"
    "<controlURL>/upnp/control/WANCommonIFC1</controlURL><SCPDURL>/cmnicfg.xml</SCPDURL>"
    "</service></serviceList>"
    "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
    "<serviceList>"
    "<service><serviceType>urn:schemas-upnp-org:service:WANDSLLinkConfig:1</serviceType>"
    "<controlURL>/upnp/control/WANDSLLinkC1</controlURL></service>"
    "<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>"
    "<serviceId>urn:upnp-org:serviceId:WANPPPConn1</serviceId>"
    "<controlURL>/upnp/control/WANPPPConn1</controlURL>"
    "<eventSubURL>/upnp/event/WANPPPConn1</eventSubURL><SCPDURL>/pppcfg.xml</SCPDURL></service>"
    "</serviceList></device></deviceList></device></deviceList></device></root>";

static const char livebox_ppp2[] =
    "<?xml version=\"1.0\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "  <device>\n"
    "    <pnpx:X_hardwareId xmlns:pnpx=\"http://schemas.microsoft.com/windows/pnpx/2005/11\">"
    "VEN_0129&amp;DEV_0000&amp;SUBSYS_03&amp;REV_250417</pnpx:X_hardwareId>\n"
    "    <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>\n"
    "    <friendlyName>Orange Livebox</friendlyName>\n"
    "    <UPC></UPC>\n"
    "    <deviceList><device>\n"
    "      <deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>\n"
    "      <deviceList><device>\n"
    "        <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>\n"
    "        <serviceList><service>\n"
    "          <serviceType>urn:schemas-upnp-org:service:WANPPPConnection:2</serviceType>\n"
    "          <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>\n"
    "          <controlURL>/87895a19/upnp/control/WANIPConn1</controlURL>\n"
    "          <SCPDURL>/87895a19/gateconnSCPD_PPP.xml</SCPDURL>\n"
    "        </service></serviceList>\n"
    "      </device></deviceList>\n"
    "    </device></deviceList>\n"
    "  </device>\n"
    "</root>\n";

static int parse(const char *loc, const char *xml, lp2p_upnp_service *out, size_t cap,
                 size_t *n) {
  return lp2p_upnp_desc_parse(NULL, loc, strlen(loc), (const uint8_t *)xml, strlen(xml), out,
                              cap, n);
}

static void test_miniupnpd(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  assert_int_equal(parse("http://10.0.1.1:40411/rootDesc.xml", miniupnpd_igd1, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].kind, LP2P_UPNP_SVC_WANIP1);
  assert_string_equal(sv[0].service_type, LP2P_UPNP_ST_WANIP1);
  assert_string_equal(sv[0].control_url, "http://10.0.1.1:40411/ctl/IPConn");
  assert_int_equal(parse("http://10.0.1.1:40411/rootDesc.xml", miniupnpd_igd2, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].kind, LP2P_UPNP_SVC_WANIP2);
  assert_string_equal(sv[0].service_type, LP2P_UPNP_ST_WANIP2);
  assert_string_equal(sv[0].control_url, "http://10.0.1.1:40411/ctl/IPConn");
}

static void test_fritzbox(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  assert_int_equal(parse("http://192.168.178.1:49000/igd2desc.xml", fritzbox_igd2, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].kind, LP2P_UPNP_SVC_WANIP2);
  assert_string_equal(sv[0].service_type, LP2P_UPNP_ST_WANIP2); /* trimmed */
  assert_string_equal(sv[0].control_url, "http://192.168.178.1:49000/igd2upnp/control/WANIPConn1");
}

static void test_dlink_urlbase(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  /* URLBase (port 52869) wins over LOCATION (port 80) */
  assert_int_equal(parse("http://192.168.0.1/InternetGatewayDevice.xml", dlink_linux_igd, sv, 4, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(sv[0].control_url, "http://192.168.0.1:52869/WANIPConn1");
  assert_string_equal(sv[1].control_url, "http://192.168.0.1:52869/WANIPConn2");
  /* cap 1 keeps the first */
  assert_int_equal(parse("http://192.168.0.1/x", dlink_linux_igd, sv, 1, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(sv[0].control_url, "http://192.168.0.1:52869/WANIPConn1");
}

static void test_edimax(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  assert_int_equal(parse("http://192.168.1.1:5431/dyndev/uuid:0014-bf09", edimax_broadcom, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(sv[0].control_url, "http://192.168.1.1:5431/ipc");
}

static void test_ppp(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  assert_int_equal(parse("http://192.168.1.1:49152/gatedesc.xml", linksys_wag200g_ppp, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].kind, LP2P_UPNP_SVC_WANPPP);
  assert_string_equal(sv[0].service_type, LP2P_UPNP_ST_WANPPP1);
  assert_string_equal(sv[0].control_url, "http://192.168.1.1:49152/upnp/control/WANPPPConn1");
  assert_int_equal(parse("http://192.168.1.1:80/87895a19/gatedesc.xml", livebox_ppp2, sv, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].kind, LP2P_UPNP_SVC_WANPPP);
  assert_string_equal(sv[0].service_type, "urn:schemas-upnp-org:service:WANPPPConnection:2");
  assert_string_equal(sv[0].control_url, "http://192.168.1.1:80/87895a19/upnp/control/WANIPConn1");
}

/* IP before PPP, :2 before :1, document order within a kind; a relative
 * controlURL against a URLBase with a path; a broken URLBase falls back
 * to LOCATION; an unusable controlURL is skipped (synthetic document) */
static void test_ranking(void **s) {
  (void)s;
  const char xml[] =
      "<root><URLBase>http://10.0.0.1:5000/base/</URLBase><device><serviceList>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>ppp</controlURL></service>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>ip1a</controlURL></service>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>https://x/ip2bad</controlURL></service>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>/ip2</controlURL></service>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>ip1b</controlURL></service>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL></controlURL></service>"
      "</serviceList></device></root>";
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  assert_int_equal(parse("http://10.0.0.1/d.xml", xml, sv, 4, &n), 0);
  /* kept: the best 4 (ip2bad, ip2, ip1a, ip1b); ip2bad cannot resolve */
  assert_int_equal(n, 3);
  assert_string_equal(sv[0].control_url, "http://10.0.0.1:5000/ip2");
  assert_string_equal(sv[1].control_url, "http://10.0.0.1:5000/base/ip1a");
  assert_string_equal(sv[2].control_url, "http://10.0.0.1:5000/base/ip1b");
  const char badbase[] =
      "<root><URLBase>not a url</URLBase><device><serviceList>"
      "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>c</controlURL></service>"
      "</serviceList></device></root>";
  assert_int_equal(parse("http://10.0.0.1/dir/d.xml", badbase, sv, 4, &n), 0);
  assert_string_equal(sv[0].control_url, "http://10.0.0.1/dir/c");
  /* a serviceType that is not a child of <service>, and a nested
   * <service> element, do not count */
  const char nested[] =
      "<root><device><serviceList><service><x><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType></x>"
      "<controlURL>/c</controlURL></service></serviceList></device></root>";
  assert_int_equal(parse("http://h/", nested, sv, 4, &n), LP2P_ERR_NOT_FOUND);
}

static void test_hostile(void **s) {
  (void)s;
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  const char *loc = "http://10.0.1.1:40411/rootDesc.xml";
  /* no WAN connection service at all */
  assert_int_equal(parse(loc, "<root><device/></root>", sv, 4, &n), LP2P_ERR_NOT_FOUND);
  assert_int_equal(n, 0);
  /* not XML, unbalanced, empty */
  assert_int_equal(parse(loc, "HTTP/1.1 200 OK", sv, 4, &n), LP2P_ERR_PARSE);
  assert_int_equal(parse(loc, "<root><device></root>", sv, 4, &n), LP2P_ERR_PARSE);
  assert_int_equal(parse(loc, "", sv, 4, &n), LP2P_ERR_PARSE);
  /* the billion laughs never get a chance: no DOCTYPE at all */
  const char laughs[] = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                        "<root>&lol2;</root>";
  assert_int_equal(parse(loc, laughs, sv, 4, &n), LP2P_ERR_PARSE);
  const char xxe[] = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><root>&x;</root>";
  assert_int_equal(parse(loc, xxe, sv, 4, &n), LP2P_ERR_PARSE);
  /* nesting deeper than the cap */
  char deep[LP2P_UPNP_XML_DEPTH_MAX * 8 + 64];
  size_t k = 0;
  for (int i = 0; i <= LP2P_UPNP_XML_DEPTH_MAX; i++)
    k += (size_t)sprintf(deep + k, "<a>");
  deep[k] = 0;
  assert_int_equal(parse(loc, deep, sv, 4, &n), LP2P_ERR_LIMIT);
  /* a document over the size cap */
  size_t big_n = LP2P_UPNP_DESC_MAX + 1;
  char *big = malloc(big_n);
  assert_non_null(big);
  memset(big, ' ', big_n);
  memcpy(big, "<root>", 6);
  assert_int_equal(lp2p_upnp_desc_parse(NULL, loc, strlen(loc), (const uint8_t *)big, big_n, sv, 4, &n),
                   LP2P_ERR_LIMIT);
  free(big);
  /* a controlURL longer than LP2P_UPNP_URL_MAX is unusable, not cut */
  char lng[LP2P_UPNP_URL_MAX * 2 + 256];
  k = (size_t)sprintf(lng, "<root><service><serviceType>%s</serviceType><controlURL>/", LP2P_UPNP_ST_WANIP1);
  memset(lng + k, 'a', LP2P_UPNP_URL_MAX);
  k += LP2P_UPNP_URL_MAX;
  sprintf(lng + k, "</controlURL></service></root>");
  assert_int_equal(parse(loc, lng, sv, 4, &n), LP2P_ERR_NOT_FOUND);
  /* a bad LOCATION when the controlURL is relative */
  assert_int_equal(parse("ftp://h/", miniupnpd_igd1, sv, 4, &n), LP2P_ERR_PARSE);
  assert_int_equal(parse(loc, miniupnpd_igd1, sv, 0, &n), LP2P_ERR_INVAL);
}

/* every byte through the injected allocator, none left behind, and each
 * failing allocation gives NOMEM (or LIMIT) cleanly */
static void test_allocator(void **s) {
  (void)s;
  lp2p_mem_counting c;
  lp2p_mem_counting_init(&c, NULL);
  lp2p_upnp_service sv[LP2P_UPNP_SERVICES_MAX];
  size_t n;
  const char *loc = "http://192.168.178.1:49000/igd2desc.xml";
  assert_int_equal(lp2p_upnp_desc_parse(&c.mem, loc, strlen(loc), (const uint8_t *)fritzbox_igd2,
                                        strlen(fritzbox_igd2), sv, 4, &n), 0);
  assert_true(c.total_allocs > 3);
  assert_int_equal(c.live_bytes, 0);
  assert_int_equal(c.live_allocs, 0);
  uint64_t total = c.total_allocs;
  for (uint64_t f = 1; f <= total; f++) {
    lp2p_mem_counting_init(&c, NULL);
    c.fail_at = f;
    int rc = lp2p_upnp_desc_parse(&c.mem, loc, strlen(loc), (const uint8_t *)fritzbox_igd2,
                                  strlen(fritzbox_igd2), sv, 4, &n);
    assert_true(rc == LP2P_ERR_NOMEM || rc == 0);
    assert_int_equal(c.live_bytes, 0);
  }
  /* an arena of a few KiB is too small for expat: LIMIT-free NOMEM */
  static uint8_t buf[4096] __attribute__((aligned(16)));
  lp2p_mem_arena a;
  assert_int_equal(lp2p_mem_arena_init(&a, buf, sizeof buf), 0);
  assert_int_equal(lp2p_upnp_desc_parse(&a.mem, loc, strlen(loc), (const uint8_t *)fritzbox_igd2,
                                        strlen(fritzbox_igd2), sv, 4, &n), LP2P_ERR_NOMEM);
  assert_int_equal(a.used_bytes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_miniupnpd),
      cmocka_unit_test(test_fritzbox),
      cmocka_unit_test(test_dlink_urlbase),
      cmocka_unit_test(test_edimax),
      cmocka_unit_test(test_ppp),
      cmocka_unit_test(test_ranking),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
