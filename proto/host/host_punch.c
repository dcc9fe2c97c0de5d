/* Hole punching's part in the host (issue 12; DCUtR spec: "the roles of
 * the security handshake come from DCUtR, not from TCP"). A punch dials
 * from our listen port while the listener stays (accept-or-connect): the
 * peer's SYN may reach our dialing socket (a simultaneous open: one
 * connection, lp2p_host_dial_punch sets its role) or our listener (an
 * accepted connection, which must take the role the punch decided, not
 * the listener's). This table remembers, for a short while, which role
 * connections from a punched peer's IP take. */
#include "proto/host/host_internal.h"

static int same(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

int host_svc_punch_expect(lp2p_host *h, const lp2p_sockaddr *remote,
                          int initiator, lp2p_tstamp until) {
  struct hpunch *slot = NULL;
  for (size_t i = 0; i < sizeof h->punch / sizeof h->punch[0]; i++) {
    struct hpunch *p = &h->punch[i];
    if (p->until > h->now && same(&p->remote, remote)) {
      slot = p; /* a new attempt to the same address */
      break;
    }
    if (!slot && p->until <= h->now)
      slot = p;
  }
  if (!slot)
    return LP2P_ERR_LIMIT;
  slot->remote = *remote;
  slot->until = until;
  slot->initiator = initiator ? 1 : 0;
  return 0;
}

static int same_ip(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

/* By IP only: a NAT that maps per destination sends the peer's SYN from
 * another port than the one we dial (RFC 4787 address-dependent mapping),
 * and that SYN is the one that reaches our listener. */
void host_punch_accepted(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  for (size_t i = 0; i < sizeof h->punch / sizeof h->punch[0]; i++) {
    const struct hpunch *p = &h->punch[i];
    if (p->until > now && same_ip(&p->remote, &c->remote)) {
      if (p->initiator)
        c->flags |= HC_F_AS_INITIATOR;
      host_logf(h, LP2P_LOG_DEBUG,
                "host conn=%U ip=%A: a punch's connection (%s)", c->id,
                &c->remote, p->initiator ? "initiator" : "responder");
      return;
    }
  }
}
