/* The DCUtR service's punch dials: the engine's DIAL (one dial per
 * address from our listen port, REUSEPORT, the first SYN's TTL and the
 * security role the engine decided; a low-TTL attempt's late dials) and
 * PROBE, never two dials on one 4-tuple, and the end of each dial. */
#include <string.h>

#include "proto/dcutr/dcutr_svc.h"

static int dial_alive(const lp2p_host *h, uint64_t id) {
  for (const hdial *x = h->dials; x; x = x->next)
    if (x->id == id)
      return 1;
  return 0;
}

/* 1 when a dial of this session to `to` is still in flight, or any
 * socket dial to it still connects: a punch from an earlier session (a
 * new relayed connection to the same peer starts one) holds the same
 * 4-tuple, which cannot be connected twice (EADDRINUSE); if it connects,
 * it is this session's result (d_connected). */
static int in_flight(const lp2p_host *h, const dsess *d,
                     const lp2p_sockaddr *to) {
  for (uint32_t i = 0; i < d->ndials && i < PUNCH_DIALS_MAX; i++)
    if (d->dials[i].to.family == to->family &&
        d->dials[i].to.port == to->port &&
        !memcmp(d->dials[i].to.ip, to->ip, to->family == 4 ? 4 : 16) &&
        dial_alive(h, d->dials[i].dial))
      return 1;
  for (const hdial *x = h->dials; x; x = x->next) {
    const hconn *c = x->conn;
    if (c && !host_conn_relayed(c) && c->state == HC_DIALING &&
        c->remote.family == to->family && c->remote.port == to->port &&
        !memcmp(c->remote.ip, to->ip, to->family == 4 ? 4 : 16))
      return 1;
  }
  return 0;
}

/* One punch dial to `to`, from our listen port; the dial is the
 * service's (host_svc dial_result), so a refusal is seen at once. */
void dsvc_punch_dial(lp2p_host *h, dcutr_svc *v, dsess *d,
                     const lp2p_sockaddr *to, unsigned flags, uint8_t ttl,
                     lp2p_tstamp now) {
  char t[LP2P_PEERID_TEXT_MAX + 8];
  size_t tl = 0;
  lp2p_maddr m, p2p;
  memcpy(t, "/p2p/", 5);
  if (lp2p_peerid_to_base58(&d->peer, t + 5, sizeof t - 5, &tl) != 0 ||
      lp2p_maddr_parse(&p2p, t, 5 + tl) != 0 ||
      lp2p_sockaddr_to_maddr(&m, to) != 0 || lp2p_maddr_encapsulate(&m, &p2p))
    return;
  uint64_t id = 0;
  if (lp2p_host_dial_punch(h, now, &m, flags, ttl, &id) != 0)
    return;
  /* ours, not the application's: no DIAL_DONE / DIAL_FAILED for it (the
   * outcome is the engine's; the connection itself is seen), and its end
   * comes to dsvc_dial_result */
  host_svc_dial_adopt(h, v->svc, id);
  uint32_t k = d->ndials++ % PUNCH_DIALS_MAX;
  d->dials[k].to = *to;
  d->dials[k].dial = id;
  d->dials[k].gen = d->gen;
  d->pend++;
}

void dsvc_dial(lp2p_host *h, dcutr_svc *v, dsess *d,
               const lp2p_dcutr_event *e, lp2p_tstamp now) {
  d->dialing = 1;
  if (d->direct) { /* already there: the peer's punch reached us first */
    d->dialing = 0;
    lp2p_dcutr_direct_result(d->eng, now, 1, 0);
    return;
  }
  /* a low-TTL attempt: B sends the low-TTL SYN, A waits (above) */
  int wait = e->first_syn_ttl && e->security_client;
  host_logf(h, LP2P_LOG_INFO, "dcutr peer=%P attempt %u: punching %u addresses%s",
            &d->peer, lp2p_dcutr_attempts(d->eng), (unsigned)e->naddrs,
            !e->first_syn_ttl ? ""
            : wait            ? " after the peer's low-TTL SYN"
                              : ", first SYN at low TTL");
  unsigned flags = LP2P_DIAL_REUSEPORT |
                   (e->security_client ? 0u : LP2P_DIAL_AS_RESPONDER);
  d->gen++;
  d->pend = d->refused = 0;
  d->nlater = 0;
  for (size_t i = 0; i < e->naddrs; i++) {
    lp2p_sockaddr sa;
    if (lp2p_sockaddr_from_maddr(&sa, &e->addrs[i]) != 0)
      continue; /* (QUIC addresses: not here, TCP only) */
    /* a SYN of theirs that reaches our listener takes the same role */
    host_svc_punch_expect(h, &sa, e->security_client,
                          host_add_ns(now, 30 * LP2P_NS_PER_S));
    if (in_flight(h, d, &sa))
      continue; /* still trying from the last attempt */
    host_logf(h, LP2P_LOG_DEBUG, "dcutr peer=%P attempt %u: punch to %A:%u%s",
              &d->peer, e->attempt, &sa, (unsigned)sa.port,
              e->first_syn_ttl && !wait ? " (low TTL)" : "");
    if (wait && d->nlater < PUNCH_DIALS_MAX)
      d->later[d->nlater++] = sa;
    else
      dsvc_punch_dial(h, v, d, &sa, flags, wait ? 0 : e->first_syn_ttl, now);
  }
  if (d->nlater) {
    d->later_flags = flags;
    d->redial_at = host_add_ns(now, v->cfg.resyn_delay_ns);
  }
}

/* A: open our NAT toward the peer before its SYN comes (the engine's
 * PROBE, DESIGN 5b): a low-TTL SYN from the listen port, which leaves
 * our NAT's mapping and address filter open for the peer's IP and dies
 * before the peer's NAT. A connection the peer's SYN opens at our
 * listener meanwhile takes the role DCUtR gave us. The dial is the
 * session's like a punch dial, of no attempt yet (the attempt's DIAL
 * leaves its 4-tuple alone while it is in flight). */
void dsvc_probe(lp2p_host *h, dcutr_svc *v, dsess *d,
                const lp2p_dcutr_event *e, lp2p_tstamp now) {
  unsigned flags = LP2P_DIAL_REUSEPORT |
                   (e->security_client ? 0u : LP2P_DIAL_AS_RESPONDER);
  for (size_t i = 0; i < e->naddrs; i++) {
    lp2p_sockaddr sa;
    if (lp2p_sockaddr_from_maddr(&sa, &e->addrs[i]) != 0)
      continue;
    host_svc_punch_expect(h, &sa, e->security_client,
                          host_add_ns(now, 30 * LP2P_NS_PER_S));
    if (in_flight(h, d, &sa))
      continue;
    host_logf(h, LP2P_LOG_DEBUG,
              "dcutr peer=%P attempt %u: probe to %A:%u (low TTL)", &d->peer,
              e->attempt, &sa, (unsigned)sa.port);
    dsvc_punch_dial(h, v, d, &sa, flags, e->first_syn_ttl, now);
  }
}

/* A punch dial of ours ended. All of this attempt's refused by an RST
 * (a NAT without our mapping: an RST NAT, or SYNs that crossed too
 * early): the attempt has failed now, not at its deadline, so the next
 * one (low-TTL first SYNs) starts at once. */
void dsvc_dial_result(lp2p_host *h, void *state, uint64_t dial,
                      uint64_t conn, int err, lp2p_tstamp now) {
  dcutr_svc *v = state;
  if (dsvc_uni_dial_result(h, v, dial, conn, err, now))
    return;
  dsess *d = NULL;
  for (int i = 0; i < v->nsess && !d; i++)
    for (uint32_t k = 0; k < PUNCH_DIALS_MAX && !d; k++)
      if (v->s[i].used && k < v->s[i].ndials &&
          v->s[i].dials[k].dial == dial &&
          v->s[i].dials[k].gen == v->s[i].gen) /* not an older attempt's */
        d = &v->s[i];
  if (!d || conn) /* a connection is seen by d_connected */
    return;
  if (d->pend)
    d->pend--;
  if (err == LP2P_ERR_REFUSED)
    d->refused++;
  if (d->pend || d->nlater || !d->dialing || d->direct || d->done ||
      !d->refused)
    return;
  d->dialing = 0;
  lp2p_dcutr_direct_result(d->eng, now, 0, LP2P_ERR_REFUSED);
  dsvc_run(h, v, d, now);
}
