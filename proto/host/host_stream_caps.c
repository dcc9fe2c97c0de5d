/* Caps on inbound streams (the resource manager's stream scopes, README
 * "Resource manager"): host-wide and per-peer when a peer opens a stream,
 * per protocol once multistream-select named it (host_stream.c calls
 * both). */
#include "proto/host/host_internal.h"

/* A shared budget is crowded in its last quarter: from there on only
 * peers that hold few streams in it (streams_inbound_reserve_peer_max) get
 * more, so peers that filled their caps cannot take the room honest peers
 * need for their first streams. */
static int crowded(uint32_t used, uint32_t max) {
  return used >= max - max / 4;
}

/* Inbound streams of c's peer over all its connections: its scope. */
static uint32_t peer_streams_in(const hconn *c) {
  return host_rm_peer_streams_in(c);
}

static uint32_t conn_proto_in(const hconn *c, uint16_t proto) {
  uint32_t n = 0;
  for (const hstream *s = c->streams; s; s = s->next)
    n += (s->flags & HS_PROTO_COUNTED) && s->proto == proto;
  return n;
}

/* Inbound streams of protocol `proto` from c's peer: a walk over the
 * peer's streams, which the per-peer cap bounds. */
static uint32_t peer_proto_in(const hconn *c, uint16_t proto) {
  if (!c->peer || !(c->flags & HC_F_LINKED))
    return conn_proto_in(c, proto);
  uint32_t n = 0;
  for (const hconn *k = c->peer->conns; k; k = k->peer_next)
    n += conn_proto_in(k, proto);
  return n;
}

/* Count a refusal (in the total and by reason) and log it with the peer. */
static void refused(lp2p_host *h, hconn *c, uint64_t *counter, const char *what,
                    const char *proto, uint32_t held, uint32_t cap) {
  h->stats.streams_refused++;
  (*counter)++;
  host_logf(h, LP2P_LOG_INFO,
            "host conn=%U peer=%P inbound stream refused: %s (protocol %s, "
            "peer holds %u, cap %u)",
            c->id, c->peer ? &c->peer->id : NULL, what, proto, held, cap);
}

/* Host-wide and per-peer caps, when the peer opens a stream. Returns 1 to
 * accept. */
int host_stream_admit_open(lp2p_host *h, hconn *c) {
  const lp2p_host_config *g = &h->cfg;
  uint32_t peer = peer_streams_in(c);
  if (h->streams.used >= g->streams_max) {
    refused(h, c, &h->stats.streams_refused_host, "stream table full", NULL,
            peer, g->streams_max);
    return 0;
  }
  const uint32_t host_in = (uint32_t)h->rm_sys.used[RM_STREAMS_IN];
  if (host_in >= g->streams_inbound_max) {
    refused(h, c, &h->stats.streams_refused_host, "inbound budget full", NULL,
            peer, g->streams_inbound_max);
    return 0;
  }
  if (peer >= g->streams_inbound_per_peer_max) {
    refused(h, c, &h->stats.streams_refused_peer, "peer cap", NULL, peer,
            g->streams_inbound_per_peer_max);
    return 0;
  }
  if (crowded(host_in, g->streams_inbound_max) &&
      peer >= g->streams_inbound_reserve_peer_max) {
    refused(h, c, &h->stats.streams_refused_peer,
            "peer share of the crowded inbound budget", NULL, peer,
            g->streams_inbound_reserve_peer_max);
    return 0;
  }
  return 1;
}

/* Per-protocol caps, once the protocol is known. Returns 1 to accept. */
int host_stream_admit_protocol(lp2p_host *h, hconn *c, uint16_t idx) {
  hproto *p = &h->protos[idx];
  uint32_t max =
      p->in_max ? p->in_max : h->cfg.streams_inbound_per_protocol_max;
  uint32_t peer_max = p->in_peer_max
                          ? p->in_peer_max
                          : h->cfg.streams_inbound_per_protocol_peer_max;
  uint32_t held = peer_proto_in(c, idx);
  uint64_t *ctr = &h->stats.streams_refused_protocol;
  if (p->streams_in >= max) {
    refused(h, c, ctr, "protocol cap", p->name, held, max);
    return 0;
  }
  if (held >= peer_max) {
    refused(h, c, ctr, "protocol cap per peer", p->name, held, peer_max);
    return 0;
  }
  if (crowded(p->streams_in, max) &&
      held >= h->cfg.streams_inbound_reserve_peer_max) {
    refused(h, c, ctr, "peer share of the crowded protocol", p->name, held,
            h->cfg.streams_inbound_reserve_peer_max);
    return 0;
  }
  return 1;
}
