/* Identify: whether a signed peer record adds anything.
 *
 * Identify stores a peer's listenAddrs and then the addresses its signed
 * peer record (RFC 0003) certifies. When the record names only addresses
 * of the same message's listenAddrs (what go, js and lp2p peers send),
 * checking its signature changes nothing: those addresses are stored
 * already and the host keeps no mark of certification. That Ed25519
 * verify was the largest cost of identify (one per connection), so it is
 * skipped then. The record is only decoded to decide: nothing of an
 * unverified record is ever stored, and any address outside listenAddrs
 * sends the record through lp2p_peer_record_open, signature and all. */
#ifndef LP2P_IDENTIFY_RECORD_H
#define LP2P_IDENTIFY_RECORD_H

#include "lp2p/record.h"
#include "proto/identify/identify_msg.h"

/** 1 when `v`'s signed peer record decodes, is for `id`, and every address
 * in it (without /p2p) is one of `v`'s listenAddrs; 0 otherwise (verify
 * it). `scratch` is overwritten. */
int id_record_redundant(const lp2p_id_view *v, const lp2p_peerid *id,
                        lp2p_peer_record *scratch);

#endif
