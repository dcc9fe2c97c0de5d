/* Multiaddr resolution through a fake DNS server on loopback (a forked
 * child answering with the codec under test's counterpart): /dns4, /dns6,
 * /dns, /dnsaddr with peer-id filtering and nesting, the recursion bound,
 * NXDOMAIN, timeouts, /etc/hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lp2p/dns.h"
#include "lp2p/driver.h"
#include "lp2p/multiaddr.h"

#define ID1 "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"
#define ID2 "QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa"

static pid_t child;
static char conf[64];

static size_t add_rr(uint8_t *m, size_t o, uint16_t type, const void *data,
                     size_t len) {
  uint8_t h[12] = {0xc0, 12, (uint8_t)(type >> 8), (uint8_t)type, 0, 1, 0, 0, 0, 60,
                   (uint8_t)(len >> 8), (uint8_t)len};
  memcpy(m + o, h, 12);
  memcpy(m + o + 12, data, len);
  return o + 12 + len;
}

static size_t add_txt(uint8_t *m, size_t o, const char *s) {
  uint8_t b[300];
  size_t l = strlen(s);
  b[0] = (uint8_t)l;
  memcpy(b + 1, s, l);
  return add_rr(m, o, 16, b, l + 1);
}

static void serve(int fd) {
  for (;;) {
    uint8_t q[512], m[1232];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (r < 17)
      continue;
    char name[256];
    size_t nl;
    if (lp2p_dns_name_decode(q, (size_t)r, 12, name, sizeof name - 1, &nl) != 0)
      continue;
    name[nl] = 0;
    uint16_t qt = (uint16_t)(q[r - 4] << 8 | q[r - 3]);
    if (strcmp(name, "silent.test") == 0)
      continue; /* never answers: the client must time out */
    memcpy(m, q, (size_t)r);
    m[2] = 0x81;
    m[3] = 0x80;
    size_t o = (size_t)r;
    uint16_t an = 0;
    if (strcmp(name, "a.test") == 0 && qt == 1) {
      const uint8_t ip[4] = {10, 1, 2, 3};
      o = add_rr(m, o, 1, ip, 4), an++;
    } else if (strcmp(name, "a.test") == 0 && qt == 28) {
      uint8_t ip[16] = {0};
      ip[15] = 1;
      o = add_rr(m, o, 28, ip, 16), an++;
    } else if (strcmp(name, "_dnsaddr.boot.test") == 0) {
      o = add_txt(m, o, "dnsaddr=/dnsaddr/inner.test/p2p/" ID1), an++;
      o = add_txt(m, o, "dnsaddr=/ip4/1.2.3.4/tcp/4001/p2p/" ID2), an++;
      o = add_txt(m, o, "not-a-dnsaddr"), an++;
    } else if (strcmp(name, "_dnsaddr.inner.test") == 0) {
      o = add_txt(m, o, "dnsaddr=/dns4/a.test/tcp/4001/p2p/" ID1), an++;
    } else if (strcmp(name, "_dnsaddr.loop.test") == 0) {
      o = add_txt(m, o, "dnsaddr=/dnsaddr/loop.test"), an++;
    } else {
      m[3] = 0x83; /* NXDOMAIN */
    }
    m[6] = (uint8_t)(an >> 8);
    m[7] = (uint8_t)an;
    sendto(fd, m, o, 0, (struct sockaddr *)&from, fl);
  }
}

static int setup(void **s) {
  (void)s;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  child = fork();
  if (child == 0) {
    serve(fd);
    _exit(0);
  }
  close(fd);
  snprintf(conf, sizeof conf, "/tmp/lp2p-resolv-%d", (int)getpid());
  FILE *f = fopen(conf, "w");
  fprintf(f, "# test resolver\nnameserver 127.0.0.1 %u\n", ntohs(a.sin_port));
  fclose(f);
  setenv("LP2P_RESOLV_CONF", conf, 1);
  return 0;
}

static int teardown(void **s) {
  (void)s;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  unlink(conf);
  return 0;
}

static int resolve(const char *text, char out[][256], size_t *n) {
  lp2p_maddr in, res[8];
  assert_int_equal(lp2p_maddr_parse(&in, text, strlen(text)), 0);
  int rc = lp2p_resolve_maddr(&in, res, 8, n, 500);
  for (size_t i = 0; rc == 0 && i < *n; i++) {
    size_t l;
    assert_int_equal(lp2p_maddr_to_string(&res[i], out[i], 256, &l), 0);
  }
  return rc;
}

static void test_dns4_dns6_dns(void **s) {
  (void)s;
  char o[8][256];
  size_t n;
  assert_int_equal(resolve("/dns4/a.test/tcp/80", o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/80");
  assert_int_equal(resolve("/dns6/a.test/tcp/80/p2p/" ID1, o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip6/::1/tcp/80/p2p/" ID1);
  assert_int_equal(resolve("/dns/a.test/udp/9", o, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(o[0], "/ip4/10.1.2.3/udp/9");
  assert_string_equal(o[1], "/ip6/::1/udp/9");
  /* non-DNS addresses pass through */
  assert_int_equal(resolve("/ip4/1.1.1.1/tcp/1", o, &n), 0);
  assert_string_equal(o[0], "/ip4/1.1.1.1/tcp/1");
}

static void test_dnsaddr(void **s) {
  (void)s;
  char o[8][256];
  size_t n;
  assert_int_equal(resolve("/dnsaddr/boot.test", o, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(o[0], "/ip4/10.1.2.3/tcp/4001/p2p/" ID1);
  assert_string_equal(o[1], "/ip4/1.2.3.4/tcp/4001/p2p/" ID2);
  /* a trailing /p2p filters the records */
  assert_int_equal(resolve("/dnsaddr/boot.test/p2p/" ID2, o, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(o[0], "/ip4/1.2.3.4/tcp/4001/p2p/" ID2);
}

static void test_failures(void **s) {
  (void)s;
  char o[8][256];
  size_t n;
  assert_int_equal(resolve("/dnsaddr/loop.test", o, &n), LP2P_ERR_LIMIT);
  assert_int_equal(resolve("/dns4/nx.test/tcp/1", o, &n), LP2P_ERR_NOT_FOUND);
  assert_int_equal(resolve("/dns4/silent.test/tcp/1", o, &n), LP2P_ERR_TIMEOUT);
}

static void test_hosts_file(void **s) {
  (void)s;
  char o[8][256];
  size_t n;
  /* localhost comes from /etc/hosts without asking the server */
  assert_int_equal(resolve("/dns4/localhost/tcp/5", o, &n), 0);
  assert_string_equal(o[0], "/ip4/127.0.0.1/tcp/5");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns4_dns6_dns),
      cmocka_unit_test(test_dnsaddr),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_hosts_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
