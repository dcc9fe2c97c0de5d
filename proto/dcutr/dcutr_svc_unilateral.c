/* The DCUtR service's unilateral upgrade (relay/DCUtR.md: "the inbound
 * peer ... may attempt a direct connection to A"): before punching, B
 * dials up to UNILATERAL_MAX of A's public addresses directly; a
 * connection is the result (attempts 0), and the punch starts only once
 * every such dial failed. */
#include <string.h>

#include "proto/dcutr/dcutr_svc.h"

/* The unilateral upgrade reached the peer: the result without a punch
 * (attempts 0). */
void dsvc_unilateral_ok(lp2p_host *h, dcutr_svc *v, dsess *d,
                        lp2p_tstamp now) {
  lp2p_dcutr_event e;
  memset(&e, 0, sizeof e);
  e.type = LP2P_DCUTR_EV_RESULT;
  e.ok = 1;
  e.reason = LP2P_PUNCH_OK;
  d->unilateral = 0;
  host_logf(h, LP2P_LOG_INFO, "dcutr peer=%P: unilateral upgrade", &d->peer);
  dsvc_result(h, v, d, &e, now);
}

/* B, before punching: when the peer (A, who dialled us through the
 * relay) lists public addresses in identify, dial them directly (spec,
 * "the inbound peer ... may attempt a direct connection to A": a
 * unilateral upgrade). Returns 1 when dials went out. */
int dsvc_unilateral_start(lp2p_host *h, dcutr_svc *v, dsess *d,
                          lp2p_tstamp now) {
  lp2p_maddr a[LP2P_DCUTR_ADDRS_MAX];
  size_t n = 0, idx[UNILATERAL_MAX];
  if (lp2p_host_peer_addrs(h, now, &d->peer, a, LP2P_DCUTR_ADDRS_MAX, &n))
    return 0;
  if (n > LP2P_DCUTR_ADDRS_MAX)
    n = LP2P_DCUTR_ADDRS_MAX;
  size_t k = lp2p_dcutr_unilateral_candidates(
      a, n, v->cfg.engine.is_public, v->cfg.engine.is_public_ud, idx,
      UNILATERAL_MAX);
  char t[LP2P_PEERID_TEXT_MAX + 8];
  size_t tl = 0;
  lp2p_maddr p2p;
  memcpy(t, "/p2p/", 5);
  if (!k || lp2p_peerid_to_base58(&d->peer, t + 5, sizeof t - 5, &tl) != 0 ||
      lp2p_maddr_parse(&p2p, t, 5 + tl) != 0)
    return 0;
  for (size_t i = 0; i < k; i++) {
    lp2p_maddr m = a[idx[i]];
    lp2p_maddr_strip_peer_id(&m);
    uint64_t id = 0;
    if (lp2p_maddr_encapsulate(&m, &p2p) != 0 ||
        lp2p_host_dial(h, now, &m, LP2P_DIAL_FORCE, &id) != 0)
      continue;
    host_svc_dial_adopt(h, v->svc, id);
    d->uni_dials[d->unilateral++] = id;
  }
  return d->unilateral > 0;
}

/* One of the unilateral dials ended: a connection is the result (it may
 * be reported here before peer_connected runs); when all failed, the
 * punch starts. 1 when `dial` was one of them. */
int dsvc_uni_dial_result(lp2p_host *h, dcutr_svc *v, uint64_t dial,
                         uint64_t conn, int err, lp2p_tstamp now) {
  for (int i = 0; i < v->nsess; i++) {
    dsess *d = &v->s[i];
    if (!d->used || !d->unilateral)
      continue;
    for (uint8_t k = 0; k < d->unilateral; k++) {
      if (d->uni_dials[k] != dial)
        continue;
      if (err == 0 && conn && !d->done) {
        if (!d->direct)
          d->direct = conn;
        dsvc_unilateral_ok(h, v, d, now);
        return 1;
      }
      d->uni_dials[k] = d->uni_dials[--d->unilateral];
      if (d->unilateral == 0 && !d->done) {
        host_logf(h, LP2P_LOG_DEBUG,
                  "dcutr peer=%P: unilateral upgrade failed (%s), punching",
                  &d->peer, lp2p_strerror(err));
        lp2p_dcutr_start(d->eng, now);
        dsvc_run(h, v, d, now);
      }
      return 1;
    }
  }
  return 0;
}
