/* The DCUtR service's private header (dcutr_svc.c): its sessions, one
 * per relayed connection, and the functions its files share: the session
 * core and hooks (dcutr_svc.c), the punch dials (dcutr_svc_punch.c) and
 * the unilateral upgrade (dcutr_svc_unilateral.c). */
#ifndef LP2P_PROTO_DCUTR_SVC_H
#define LP2P_PROTO_DCUTR_SVC_H

#include "lp2p/dcutr.h"
#include "proto/host/host_internal.h"

#define SESSIONS_MAX 32

#define PUNCH_DIALS_MAX 16

/* At most this many of the peer's public addresses are tried directly
 * (the unilateral upgrade), like a punch attempt's dial_ips_max bound. */
#define UNILATERAL_MAX 4

typedef struct dsess {
  lp2p_dcutr *eng;
  /* our punch dials, by address: an address whose dial is still in
   * flight (its SYN retransmitting) is not dialled again by the next
   * attempt: the same 4-tuple cannot be connected twice */
  struct {
    lp2p_sockaddr to;
    uint64_t dial;
    uint32_t gen;     /* the DIAL event that made it */
  } dials[PUNCH_DIALS_MAX];
  uint32_t ndials;
  uint32_t gen;       /* DIAL events so far */
  uint32_t pend;      /* this attempt's dials that have not ended */
  uint32_t refused;   /* ... and those the peer's side refused (RST) */
  /* A low-TTL attempt (DESIGN 5b, an RST NAT on the way): B's first SYN
   * leaves at low TTL and opens B's NAT without reaching A's; A's dials
   * wait resyn_delay, so A's SYN finds B's mapping open, and B's socket
   * answers it (a simultaneous open) with the sequence number its NAT
   * saw. Both the same would race again; a second socket after a probe
   * has a new ISN that conntrack (outside its window) drops. */
  lp2p_sockaddr later[PUNCH_DIALS_MAX];
  uint32_t nlater;
  unsigned later_flags;
  lp2p_tstamp redial_at;
  uint64_t relayed;   /* the relayed connection */
  uint64_t stream;    /* the current dcutr stream (0: none) */
  uint64_t direct;    /* the direct connection, once up */
  lp2p_peerid peer;
  lp2p_tstamp since;  /* the relayed connection's start */
  lp2p_tstamp idle_close_at; /* after a punch: close the relayed conn */
  lp2p_tstamp retry_at;      /* after a failed punch (retry_min_ns) */
  uint64_t backoff_ns;       /* the next retry's delay */
  uint8_t role;
  uint8_t used, dialing, done, ok;
  /* the unilateral upgrade (spec, first step): our direct dials to the
   * peer's public addresses, before any punch */
  uint8_t unilateral;  /* dials out */
  uint64_t uni_dials[UNILATERAL_MAX];
} dsess;

typedef struct dcutr_svc {
  uint32_t svc;
  uint16_t proto;
  lp2p_dcutr_service_config cfg;
  /* SESSIONS_MAX sessions, allocated only when DCUtR is on (an idle host
   * that never punches keeps no session table) */
  dsess *s;
  int nsess;
} dcutr_svc;

/* dcutr_svc.c: report the attempt's outcome (HOLEPUNCH_RESULT; a retry
 * with backoff after a failure), and drain the engine. */
void dsvc_result(lp2p_host *h, dcutr_svc *v, dsess *d,
                 const lp2p_dcutr_event *e, lp2p_tstamp now);
void dsvc_run(lp2p_host *h, dcutr_svc *v, dsess *d, lp2p_tstamp now);

/* dcutr_svc_punch.c: the engine's DIAL and PROBE, and the end of a dial
 * of ours (the service's dial_result hook). */
void dsvc_punch_dial(lp2p_host *h, dcutr_svc *v, dsess *d,
                     const lp2p_sockaddr *to, unsigned flags, uint8_t ttl,
                     lp2p_tstamp now);
void dsvc_dial(lp2p_host *h, dcutr_svc *v, dsess *d,
               const lp2p_dcutr_event *e, lp2p_tstamp now);
void dsvc_probe(lp2p_host *h, dcutr_svc *v, dsess *d,
                const lp2p_dcutr_event *e, lp2p_tstamp now);
void dsvc_dial_result(lp2p_host *h, void *state, uint64_t dial,
                      uint64_t conn, int err, lp2p_tstamp now);

/* dcutr_svc_unilateral.c: the spec's unilateral upgrade, B's direct dials
 * to A's public addresses before any punch. */
void dsvc_unilateral_ok(lp2p_host *h, dcutr_svc *v, dsess *d,
                        lp2p_tstamp now);
int dsvc_unilateral_start(lp2p_host *h, dcutr_svc *v, dsess *d,
                          lp2p_tstamp now);
int dsvc_uni_dial_result(lp2p_host *h, dcutr_svc *v, uint64_t dial,
                         uint64_t conn, int err, lp2p_tstamp now);

#endif
