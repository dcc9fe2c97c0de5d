/* A test protocol that proves connections over any carrier (issue: "host
 * A and host B talk through host C"). It is circuit relay v2 reduced to
 * its data path: the initiator opens a hop stream to the relay and names
 * the target; the relay opens a stop stream to the target, names the
 * initiator and splices the two streams; both ends hand their stream to
 * the host as the carrier of a new connection (host_svc_carrier_attach),
 * which then upgrades with Noise + yamux inside it.
 * Wire: one length byte + the peer id bytes, then the carried bytes. */
#ifndef LP2P_TESTS_CIRCUIT_SVC_H
#define LP2P_TESTS_CIRCUIT_SVC_H

#include "proto/host/host_internal.h"

#define CIRCUIT_HOP "/lp2p-test/circuit/hop/1.0.0"
#define CIRCUIT_STOP "/lp2p-test/circuit/stop/1.0.0"

/* Register the service (all roles) on h, with the budget both ends put on
 * the carried connections (NULL = unlimited). */
int circuit_svc_add(lp2p_host *h, const hsvc_carrier_limits *lim);
/* Initiator: reach `target` through `relay` (connected). Returns 0 and
 * the carried connection's id. */
int circuit_dial(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *relay,
                 const lp2p_peerid *target, uint64_t *conn);
/* Relay: half-close both sides of every splice (the carriers end in
 * order). Returns how many splices there were. */
size_t circuit_close_all(lp2p_host *h, lp2p_tstamp now);
/* Relay: splices alive. */
size_t circuit_splices(lp2p_host *h);

#endif
