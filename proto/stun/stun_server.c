/* The server side of one RFC 5780 Binding request: which of the server's
 * four sockets answers and what it says. Used by the `lp2p stun-server`
 * verb (a test server for `lp2p nat` and the NAT lab) and by the
 * simulator's STUN server, so both answer alike.
 *
 * RFC 5780 section 6: a server with two IPs (A1, A2) and two ports (P1,
 * P2) answers a Binding with XOR-MAPPED-ADDRESS, OTHER-ADDRESS (A2:P2)
 * and RESPONSE-ORIGIN, and honours CHANGE-REQUEST by sending from the
 * other IP and/or port than the one the request reached. */
#include <string.h>

#include "lp2p/stun.h"

int lp2p_stun_server_answer(const uint8_t *p, size_t n,
                            const lp2p_sockaddr *from,
                            const lp2p_sockaddr *addrs, size_t naddrs,
                            unsigned at, uint8_t *out, size_t cap, size_t *len,
                            unsigned *send_from) {
  if (!from || !addrs || (naddrs != 1 && naddrs != 4) || at >= naddrs ||
      !out || !len || !send_from)
    return LP2P_ERR_INVAL;
  *len = 0;
  lp2p_stun_msg m;
  if (lp2p_stun_decode(&m, p, n) != 0 || m.type != LP2P_STUN_BINDING_REQUEST ||
      m.unknown_required)
    return 0; /* not a request we answer: silence (section 7.3) */
  unsigned idx = at;
  if (m.has_change && m.change) {
    /* an RFC 5389-only server (one socket) answers CHANGE-REQUEST with
     * 420; clients learn filtering only from servers with OTHER-ADDRESS,
     * so ours stays silent instead */
    if (naddrs == 1)
      return 0;
    if (m.change & LP2P_STUN_CHANGE_PORT)
      idx ^= 1u;
    if (m.change & LP2P_STUN_CHANGE_IP)
      idx ^= 2u;
  }
  const lp2p_sockaddr *other = naddrs == 4 ? &addrs[3] : NULL;
  int rc = lp2p_stun_binding_response(m.txid, from, other,
                                      naddrs == 4 ? &addrs[idx] : NULL, out,
                                      cap, len);
  if (rc)
    return rc;
  *send_from = idx;
  return 1;
}
