/* Fuzz the AutoNAT v2 codec: the input is framed and parsed as a Message,
 * a DialBack and a DialBackResponse. Every message that parses is encoded
 * again and must parse to the same fields (round trip); the framing never
 * reads past the input and never accepts a body above the cap. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/autonat.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      abort();                                                                 \
  } while (0)

static void roundtrip(const lp2p_autonat_msg *m) {
  static uint8_t buf[LP2P_AUTONAT_MSG_MAX * 2 + 64];
  size_t n = 0;
  int rc = lp2p_autonat_msg_encode(m, buf, sizeof buf, &n);
  if (rc == LP2P_ERR_NOSPACE)
    return;
  CHECK(rc == 0);
  const uint8_t *body;
  size_t blen;
  lp2p_ssize f = lp2p_autonat_frame(buf, n, sizeof buf, &body, &blen);
  CHECK(f == (lp2p_ssize)n);
  lp2p_autonat_msg d;
  CHECK(lp2p_autonat_msg_parse(&d, body, blen) == 0);
  CHECK(d.type == m->type);
  switch (m->type) {
  case LP2P_AUTONAT_MSG_DIAL_REQUEST:
    CHECK(d.nonce == m->nonce && d.naddrs == m->naddrs);
    for (size_t i = 0; i < d.naddrs; i++)
      CHECK(d.addrs[i].len == m->addrs[i].len &&
            (d.addrs[i].len == 0 ||
             memcmp(d.addrs[i].p, m->addrs[i].p, d.addrs[i].len) == 0));
    break;
  case LP2P_AUTONAT_MSG_DIAL_RESPONSE:
    CHECK(d.status == m->status && d.addr_idx == m->addr_idx &&
          d.dial_status == m->dial_status);
    break;
  case LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST:
    CHECK(d.addr_idx == m->addr_idx && d.num_bytes == m->num_bytes);
    break;
  default:
    CHECK(d.data.len == m->data.len);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_autonat_msg m;
  /* framed, as on the wire */
  const uint8_t *body = NULL;
  size_t blen = 0;
  lp2p_ssize f =
      lp2p_autonat_frame(data, size, LP2P_AUTONAT_MSG_MAX, &body, &blen);
  if (f > 0) {
    CHECK((size_t)f <= size && blen <= LP2P_AUTONAT_MSG_MAX);
    CHECK(body >= data && body + blen == data + f);
    if (lp2p_autonat_msg_parse(&m, body, blen) == 0)
      roundtrip(&m);
  }
  /* the whole input as a body */
  if (lp2p_autonat_msg_parse(&m, data, size) == 0) {
    CHECK(m.naddrs <= LP2P_AUTONAT_ADDRS_MAX && m.naddrs <= m.naddrs_seen);
    roundtrip(&m);
  }
  uint64_t nonce;
  if (lp2p_autonat_dialback_parse(data, size, &nonce) == 0) {
    uint8_t b[32];
    size_t n = 0;
    CHECK(lp2p_autonat_dialback_encode(nonce, b, sizeof b, &n) == 0);
    uint64_t again = ~nonce;
    CHECK(lp2p_autonat_frame(b, n, 64, &body, &blen) == (lp2p_ssize)n);
    CHECK(lp2p_autonat_dialback_parse(body, blen, &again) == 0);
    CHECK(again == nonce);
  }
  uint32_t st;
  if (lp2p_autonat_dialback_resp_parse(data, size, &st) == 0) {
    uint8_t b[32];
    size_t n = 0;
    CHECK(lp2p_autonat_dialback_resp_encode(st, b, sizeof b, &n) == 0);
    uint32_t again = ~st;
    CHECK(lp2p_autonat_frame(b, n, 64, &body, &blen) == (lp2p_ssize)n);
    CHECK(lp2p_autonat_dialback_resp_parse(body, blen, &again) == 0);
    CHECK(again == st);
  }
  return 0;
}
