/* Two DCUtR engines on a fake clock, for the test_dcutr* binaries: make
 * one per role, move bytes between them, expect events, and run one
 * attempt's whole exchange. dp_ = DCUtR pair. Assertions are cmocka's. */
#ifndef LP2P_TESTS_DCUTR_PAIR_H
#define LP2P_TESTS_DCUTR_PAIR_H

#include "lp2p/dcutr.h"

#define MS LP2P_NS_PER_MS
#define SEC LP2P_NS_PER_S

/* Parse a multiaddr that must be valid. */
lp2p_maddr dp_ma(const char *s);
/* An engine (cfg NULL: defaults) whose public test net is 198.18.0.0/15,
 * with `addr` (if any) and a private address as its local addresses. */
lp2p_dcutr *dp_mk(lp2p_dcutr_role role, const lp2p_dcutr_config *cfg,
                  const char *addr);
/* Move everything d has queued into `to` (NULL: drop). */
size_t dp_pipe_to(lp2p_dcutr *d, lp2p_dcutr *to, lp2p_tstamp now);
/* The next event is of type t (in *ev). */
void dp_expect_ev(lp2p_dcutr *d, lp2p_dcutr_event_type t,
                  lp2p_dcutr_event *ev);
/* No event is queued (line: the caller's, for the message). */
void dp_expect_none_at(lp2p_dcutr *d, int line);
#define dp_expect_none(d) dp_expect_none_at(d, __LINE__)
/* Run one attempt's exchange with a one-way relay delay `ow` starting at
 * `t`: B opens the stream at t, A has CONNECT at t+ow, B gets A's CONNECT
 * at t+2ow and sends SYNC, A gets SYNC at t+3ow. Returns B's dial time. */
lp2p_tstamp dp_exchange(lp2p_dcutr *b, lp2p_dcutr *a, lp2p_tstamp t,
                        uint64_t ow, uint32_t attempt);
/* B's CONNECT as A sees it, then A's answer fed to a fresh B. */
void dp_feed_connect(lp2p_dcutr *d, const char **addrs, size_t n);
/* A responder with its stream open, waiting for CONNECT. */
lp2p_dcutr *dp_responder_at_connect(const lp2p_dcutr_config *c);

#endif
