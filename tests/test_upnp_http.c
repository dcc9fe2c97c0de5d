/* HTTP/1.1 client codec: request bytes, and responses framed every way IGD
 * web servers frame them (Content-Length, chunked, close-delimited
 * HTTP/1.0, interim 100), fed whole, split at every byte, and hostile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lp2p/upnp.h"

#define S(x) (const uint8_t *)(x), (sizeof(x) - 1)

static void test_request(void **s) {
  (void)s;
  lp2p_upnp_url u;
  const char loc[] = "http://10.0.1.1:40411/rootDesc.xml";
  assert_int_equal(lp2p_upnp_url_parse(loc, sizeof loc - 1, &u), 0);
  uint8_t b[512];
  size_t n;
  assert_int_equal(lp2p_http_request_build(&u, NULL, NULL, 0, b, sizeof b, &n), 0);
  const char get[] = "GET /rootDesc.xml HTTP/1.1\r\n"
                     "Host: 10.0.1.1:40411\r\n"
                     "User-Agent: lp2p UPnP/1.1\r\n"
                     "Connection: close\r\n"
                     "\r\n";
  assert_int_equal(n, sizeof get - 1);
  assert_memory_equal(b, get, n);
  /* default port: no ":80" in Host */
  assert_int_equal(lp2p_upnp_url_parse("http://gw/ctl", 13, &u), 0);
  assert_int_equal(lp2p_http_request_build(&u, "urn:x#A", (const uint8_t *)"<a/>", 4, b, sizeof b, &n), 0);
  const char post[] = "POST /ctl HTTP/1.1\r\n"
                      "Host: gw\r\n"
                      "User-Agent: lp2p UPnP/1.1\r\n"
                      "Connection: close\r\n"
                      "Content-Type: text/xml; charset=\"utf-8\"\r\n"
                      "SOAPAction: \"urn:x#A\"\r\n"
                      "Content-Length: 4\r\n"
                      "\r\n"
                      "<a/>";
  assert_int_equal(n, sizeof post - 1);
  assert_memory_equal(b, post, n);
  assert_int_equal(lp2p_http_request_build(&u, "a\r\nb", NULL, 0, b, sizeof b, &n), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_http_request_build(&u, NULL, NULL, 0, b, 20, &n), LP2P_ERR_NOSPACE);
}

static void test_urls(void **s) {
  (void)s;
  lp2p_upnp_url u;
  assert_int_equal(lp2p_upnp_url_parse("HTTP://[fe80::1]:5000?x", 23, &u), 0);
  assert_string_equal(u.host, "[fe80::1]");
  assert_int_equal(u.port, 5000);
  assert_string_equal(u.path, "/?x");
  assert_int_equal(lp2p_upnp_url_parse("http://h:/p#frag", 16, &u), 0);
  assert_int_equal(u.port, 80);
  assert_string_equal(u.path, "/p");
  assert_int_equal(lp2p_upnp_url_parse("https://h/", 10, &u), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_upnp_url_parse("http://u@h/", 11, &u), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_url_parse("http://h:99999/", 15, &u), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_url_parse("http://h:0/", 11, &u), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_url_parse("http:///p", 9, &u), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_url_parse("http://h/a b", 12, &u), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_upnp_url_parse("/ctl", 4, &u), LP2P_ERR_PARSE);
  struct { const char *base, *ref, *want; } cases[] = {
      {"http://10.0.1.1:40411/rootDesc.xml", "/ctl/IPConn", "http://10.0.1.1:40411/ctl/IPConn"},
      {"http://192.168.1.1:5431/dyndev/uuid:0014-bf09", "ipc", "http://192.168.1.1:5431/dyndev/ipc"},
      {"http://192.168.1.1:1900", "upnp/control/WANIPConn1", "http://192.168.1.1:1900/upnp/control/WANIPConn1"},
      {"http://h/a/b?q=1", "c", "http://h/a/c"},
      {"http://h/a/b?q=1", "?z", "http://h/a/b?z"},
      {"http://h/a/b", "", "http://h/a/b"},
      {"http://h/a/b", "//other:81/x", "http://other:81/x"},
      {"http://h/a/b", "HTTP://third/y", "HTTP://third/y"},
  };
  char out[LP2P_UPNP_URL_MAX];
  size_t n;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(lp2p_upnp_url_resolve(cases[i].base, strlen(cases[i].base), cases[i].ref,
                                           strlen(cases[i].ref), out, sizeof out, &n), 0);
    assert_string_equal(out, cases[i].want);
    assert_int_equal(n, strlen(cases[i].want));
  }
  assert_int_equal(lp2p_upnp_url_resolve("http://h/", 9, "https://x/", 10, out, sizeof out, &n),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_upnp_url_resolve("ftp://h/", 8, "/x", 2, out, sizeof out, &n),
                   LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_upnp_url_resolve("http://h/", 9, "/x", 2, out, 10, &n), LP2P_ERR_NOSPACE);
  assert_int_equal(lp2p_upnp_url_resolve("http://h/", 9, "/a\nb", 4, out, sizeof out, &n), LP2P_ERR_PARSE);
}

typedef struct res {
  int rc;          /* final: 0 or the error */
  int status;
  size_t body_len;
  char body[256];
} res;

/* feeds `msg` in two parts split at `cut` (n: whole), then EOF if asked */
static res run(const char *msg, size_t n, size_t cut, int eof, size_t cap) {
  res r;
  memset(&r, 0, sizeof r);
  uint8_t body[256];
  lp2p_http_resp h;
  lp2p_http_resp_init(&h, body, cap);
  size_t parts[2][2] = {{0, cut}, {cut, n}};
  for (int i = 0; i < 2; i++) {
    size_t off = parts[i][0], len = parts[i][1] - parts[i][0];
    lp2p_ssize k = lp2p_http_resp_feed(&h, (const uint8_t *)msg + off, len);
    if (k < 0) {
      r.rc = (int)k;
      return r;
    }
    assert_true((size_t)k <= len);
    if ((size_t)k < len)
      assert_true(lp2p_http_resp_done(&h));
  }
  if (eof)
    r.rc = lp2p_http_resp_eof(&h);
  else
    r.rc = lp2p_http_resp_done(&h) ? 0 : LP2P_ERR_AGAIN;
  r.status = h.status;
  r.body_len = h.body_len;
  memcpy(r.body, body, h.body_len);
  return r;
}

/* the same result at every split point */
static void check_all_splits(const char *msg, size_t n, int eof, int want_rc, int want_status,
                             const char *want_body) {
  for (size_t cut = 0; cut <= n; cut++) {
    res r = run(msg, n, cut, eof, 256);
    assert_int_equal(r.rc, want_rc);
    if (want_rc)
      continue;
    assert_int_equal(r.status, want_status);
    assert_int_equal(r.body_len, strlen(want_body));
    assert_memory_equal(r.body, want_body, r.body_len);
  }
}

static void test_framing(void **s) {
  (void)s;
  /* miniupnpd answers a description GET with Content-Length */
  const char cl[] = "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/xml; charset=\"utf-8\"\r\n"
                    "Connection: close\r\n"
                    "Content-Length: 12\r\n"
                    "Server: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
                    "Ext:\r\n"
                    "\r\n"
                    "<root></root>trailing junk is not ours";
  check_all_splits(cl, sizeof cl - 1, 0, 0, 200, "<root></root");
  /* chunked with an extension and a trailer, lower-case hex, LF only */
  const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n"
                    "Content-Length: 999\r\n\r\n"
                    "5;name=v\r\nhello\r\n"
                    "a\n, chunked!\n"
                    "0\r\nX-Trailer: 1\r\n\r\n";
  check_all_splits(ch, sizeof ch - 1, 0, 0, 200, "hello, chunked!");
  /* HTTP/1.0, no length: the body ends with the connection (old IGDs) */
  const char close10[] = "HTTP/1.0 500 Internal Server Error\r\nCONTENT-TYPE: text/xml\r\n\r\n<fault/>";
  check_all_splits(close10, sizeof close10 - 1, 1, 0, 500, "<fault/>");
  check_all_splits(close10, sizeof close10 - 1, 0, LP2P_ERR_AGAIN, 0, "");
  /* an interim 100 Continue first; stray CRLF before the status line */
  const char cont[] = "\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  check_all_splits(cont, sizeof cont - 1, 0, 0, 200, "ok");
  /* 204: no body even with a length */
  const char nc[] = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
  check_all_splits(nc, sizeof nc - 1, 0, 0, 204, "");
  const char zero[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  check_all_splits(zero, sizeof zero - 1, 0, 0, 200, "");
  /* an unknown coding last: read until close, undecoded */
  const char te[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz";
  check_all_splits(te, sizeof te - 1, 1, 0, 200, "zz");
}

static void test_hostile(void **s) {
  (void)s;
  struct { const char *m; int eof; int rc; } bad[] = {
      {"HTTP/2 200 OK\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 20 OK\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 700 What\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"SIP/2.0 200 OK\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, LP2P_ERR_OVERFLOW},
      {"HTTP/1.1 200 OK\r\nContent-Length: 257\r\n\r\n", 0, LP2P_ERR_LIMIT},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n101\r\n", 0, LP2P_ERR_LIMIT},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 0, LP2P_ERR_OVERFLOW},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", 0, LP2P_ERR_PARSE},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", 1, LP2P_ERR_TRUNCATED},
      {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 1, LP2P_ERR_TRUNCATED},
      {"HTTP/1.1 200 OK\r\n", 1, LP2P_ERR_TRUNCATED},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    res r = run(bad[i].m, strlen(bad[i].m), 0, bad[i].eof, 256);
    if (r.rc != bad[i].rc)
      fail_msg("case %zu: rc %d, want %d", i, r.rc, bad[i].rc);
  }
  /* a close-delimited body over the cap */
  char big[400];
  int k = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n\r\n");
  memset(big + k, 'x', 300);
  assert_int_equal(run(big, (size_t)k + 300, 0, 1, 256).rc, LP2P_ERR_LIMIT);
  /* chunks that add up past the cap */
  k = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n");
  memset(big + k, 'x', 128);
  k += 128;
  k += snprintf(big + k, sizeof big - (size_t)k, "\r\n81\r\n");
  assert_int_equal(run(big, (size_t)k, 0, 0, 256).rc, LP2P_ERR_LIMIT);
  /* a line over LP2P_HTTP_LINE_MAX, too many headers; errors are sticky */
  static char huge[LP2P_HTTP_LINE_MAX * 2];
  memset(huge, 'a', sizeof huge);
  memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
  uint8_t body[16];
  lp2p_http_resp h;
  lp2p_http_resp_init(&h, body, sizeof body);
  assert_int_equal(lp2p_http_resp_feed(&h, (const uint8_t *)huge, sizeof huge), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_http_resp_feed(&h, S("\r\n\r\n")), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_http_resp_eof(&h), LP2P_ERR_LIMIT);
  assert_false(lp2p_http_resp_done(&h));
  lp2p_http_resp_init(&h, body, sizeof body);
  assert_int_equal(lp2p_http_resp_feed(&h, S("HTTP/1.1 200 OK\r\n")), 17);
  lp2p_ssize rc = 0;
  for (int i = 0; i <= LP2P_HTTP_HEADERS_MAX && rc >= 0; i++)
    rc = lp2p_http_resp_feed(&h, S("X-A: b\r\n"));
  assert_int_equal(rc, LP2P_ERR_LIMIT);
  /* no body buffer at all: only empty bodies fit */
  lp2p_http_resp_init(&h, NULL, 100);
  assert_int_equal(lp2p_http_resp_feed(&h, S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n")),
                   LP2P_ERR_LIMIT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request),
      cmocka_unit_test(test_urls),
      cmocka_unit_test(test_framing),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
