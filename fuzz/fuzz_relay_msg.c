/* Fuzz the circuit relay v2 codec and voucher parser. The first byte picks
 * hop or stop. For an accepted message, encoding what was decoded and
 * decoding that again must give the same message (the codec keeps every
 * field it understood), and vouchers found in it are opened (they must
 * never be accepted unless genuinely signed; here they cannot be). */
#include <stdlib.h>
#include <string.h>

#include "lp2p/relay.h"
#include "lp2p/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const lp2p_relay_msg *a, const lp2p_relay_msg *b) {
  if (a->type != b->type || a->has_peer != b->has_peer ||
      a->has_status != b->has_status || a->status != b->status ||
      a->has_limit != b->has_limit ||
      a->limit_duration != b->limit_duration ||
      a->limit_data != b->limit_data || a->npeer_addrs != b->npeer_addrs)
    return 0;
  if (a->has_peer && !lp2p_peerid_equal(&a->peer, &b->peer))
    return 0;
  for (size_t i = 0; i < a->npeer_addrs; i++)
    if (a->peer_addrs[i].len != b->peer_addrs[i].len ||
        memcmp(a->peer_addrs[i].p, b->peer_addrs[i].p, a->peer_addrs[i].len))
      return 0;
  if (!a->stop) {
    if (a->has_rsvp != b->has_rsvp || a->expire != b->expire ||
        a->nrsvp_addrs != b->nrsvp_addrs || a->voucher.len != b->voucher.len)
      return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int stop = data[0] & 1;
  data++;
  size--;
  lp2p_relay_msg m;
  int rc = lp2p_relay_msg_decode(&m, stop, data, size);
  if (rc == 0) {
    static uint8_t out[LP2P_RELAY_MSG_MAX + 16];
    size_t n = 0;
    int e = lp2p_relay_msg_encode(&m, out, sizeof out, &n);
    /* re-encoding drops unknown fields and extra addresses: never larger
     * than the cap plus what the known fields need */
    if (e == 0) {
      uint64_t body = 0;
      lp2p_ssize k = lp2p_varint_decode(out, n, &body);
      if (k <= 0 || (size_t)k + body != n)
        abort();
      lp2p_relay_msg m2;
      if (lp2p_relay_msg_decode(&m2, stop, out + k, (size_t)body) != 0)
        abort();
      if (!same(&m, &m2))
        abort();
    } else if (e != LP2P_ERR_LIMIT) {
      abort();
    }
    if (m.voucher.len) {
      lp2p_peerid r, p;
      uint64_t exp;
      (void)lp2p_relay_voucher_open(m.voucher.p, m.voucher.len, &r, &p, &exp);
    }
  } else if (rc != LP2P_ERR_PARSE && rc != LP2P_ERR_LIMIT) {
    abort();
  }
  lp2p_peerid r, p;
  uint64_t exp;
  (void)lp2p_relay_voucher_open(data, size, &r, &p, &exp);
  return 0;
}
