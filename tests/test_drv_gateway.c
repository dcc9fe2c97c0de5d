/* The default-gateway reader of the drivers (drivers/gateway.c): the
 * /proc/net/route text of a Linux host, as the kernel prints it (the
 * in_addr bytes as one native-endian hex word; this fixture is a
 * little-endian machine's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "drivers/gateway.h"

static const char table[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
    "\tWindow\tIRTT\n"
    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";

static void default_route(void **state) {
  (void)state;
  uint8_t ip[4];
  assert_int_equal(drv_gateway_parse(table, strlen(table), ip), 0);
  const uint8_t want[4] = {192, 168, 1, 1};
  assert_memory_equal(ip, want, 4);
}

static void no_default_route(void **state) {
  (void)state;
  const char *t = "Iface\tDestination\tGateway \tFlags\n"
                  "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
                  /* a default route that is down */
                  "eth1\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\n";
  uint8_t ip[4];
  assert_int_equal(drv_gateway_parse(t, strlen(t), ip), -1);
  assert_int_equal(drv_gateway_parse("", 0, ip), -1);
  assert_int_equal(drv_gateway_parse("garbage\n\n\t\n", 12, ip), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(default_route),
      cmocka_unit_test(no_default_route),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
