/* Resource manager, memory scopes (issue 9; after go-libp2p's resource
 * manager, whose system / peer / connection scopes and "reserve before you
 * commit" rule this follows). What a peer can make us hold is what yamux
 * buffers for it: received-but-unread stream data (bounded by the windows
 * we grant) and queued output it does not read. So every OPEN connection
 * runs under a grant from three scopes, and its yamux session's bounds
 * (lp2p_yamux_set_budget) are that grant:
 *   system : memory_max for all connections together;
 *   peer   : memory_per_peer_max for the growth of all connections of
 *            one peer beyond their bases (how many it holds is the
 *            connection manager's cap; identities are free, so its per-IP
 *            caps matter as much);
 *   conn   : memory_per_conn_base at open, grown by doubling up to
 *            memory_per_conn_max while the connection uses, or has granted
 *            in stream windows, more than half of it; back to the base
 *            when it has no stream left.
 * The base is reserved when the connection opens (no base: the connection
 * is refused with LIMIT, counted); growth is granted only from three
 * quarters of the system budget, so busy or hostile connections can never
 * take the room new peers' bases need. The yamux
 * receive window grows only inside the grant (the session budget caps
 * auto-tuning), so nothing is committed before it is reserved.
 * The accounting is rm_scope (host_rm_scope.c): the system scope in the
 * host, one per peer, one per open connection charged to both.
 * Differences from go-libp2p: go reserves memory per stream and per
 * service as well; here a connection's grant covers its streams (yamux
 * windows are per session budget), and services bound what they buffer
 * themselves (echo and ping answer within a fixed window). Counts of
 * connections and streams are enforced where they are admitted
 * (host_admit.c, host_stream.c), with the per-scope limits the README's
 * Limits section lists. Grants move in powers of two, and the reserve for
 * new connections is explicit. */
#include "proto/host/host_internal.h"

static uint64_t grant(const hconn *c) { return c->rm.own[RM_MEMORY]; }

/* The grant split: a quarter for queued output (64 KiB..1 MiB), the rest
 * for received data. */
static void apply(hconn *c) {
  lp2p_yamux *y = host_conn_yamux(c);
  if (!y)
    return;
  uint64_t g = grant(c);
  uint64_t outq = g / 4;
  if (outq < 65536)
    outq = 65536;
  if (outq > (1u << 20))
    outq = 1u << 20;
  uint64_t in = g > outq + 65536 ? g - outq : 65536;
  lp2p_yamux_set_budget(y, in, (size_t)outq);
}

/* Room left for growth: a quarter of the system budget stays for the
 * bases of connections still to come. */
static uint64_t growth_room(const lp2p_host *h) {
  uint64_t pool = h->cfg.memory_max - h->cfg.memory_max / 4;
  uint64_t used = h->rm_sys.used[RM_MEMORY];
  return used < pool ? pool - used : 0;
}

/* The system's and a peer's limits: memory, and the stream and
 * connection counts the admission code enforces (host_stream.c,
 * host_admit.c) read from the same scopes. */
void host_rm_init(lp2p_host *h) {
  const lp2p_host_config *g = &h->cfg;
  rm_scope_init(&h->rm_sys);
  h->rm_sys.limit[RM_MEMORY] = g->memory_max;
  h->rm_sys.limit[RM_STREAMS_IN] = g->streams_inbound_max;
  h->rm_sys.limit[RM_STREAMS_OUT] = g->streams_max;
  /* connections are counted here and admitted by host_admit.c, whose
   * conns_max has displacement and per-IP caps a plain limit lacks */
  /* one descriptor per socket connection, pending ones included: the
   * drivers fit conns_max and raws_max under RLIMIT_NOFILE and keep a
   * reserve (lp2p_driver_fit_limits); the scope counts what is used */
  h->rm_sys.limit[RM_FDS] = (uint64_t)g->conns_max +
                            g->conns_outbound_pending_max + g->raws_max;
}

void host_rm_peer_init(lp2p_host *h, hpeer *p) {
  const lp2p_host_config *g = &h->cfg;
  rm_scope_init(&p->rm);
  p->rm.limit[RM_MEMORY] = g->memory_per_peer_max;
  p->rm.limit[RM_STREAMS_IN] = g->streams_inbound_per_peer_max;
  p->rm.limit[RM_STREAMS_OUT] = g->streams_outbound_per_peer_max;
}

void host_rm_conn_new(lp2p_host *h, hconn *c, int socket) {
  rm_scope_init(&c->rmc);
  rm_scope_attach(&c->rmc, &h->rm_sys); /* an empty scope always fits */
  if (socket) /* (within the pending and connection caps, which bind first) */
    rm_reserve(&c->rmc, RM_FDS, 1, NULL);
}

int host_rm_conn_established(hconn *c) {
  return rm_reserve(&c->rmc, c->dir == LP2P_DIR_INBOUND ? RM_CONNS_IN
                                                        : RM_CONNS_OUT,
                    1, NULL);
}

void host_rm_conn_free(hconn *c) { rm_scope_close(&c->rmc); }

int host_rm_stream_add(lp2p_host *h, hconn *c, uint8_t dir,
                       const char **which) {
  (void)h;
  const rm_scope *refused = NULL;
  int kind = dir == LP2P_DIR_INBOUND ? RM_STREAMS_IN : RM_STREAMS_OUT;
  int rc = rm_reserve(&c->rmc, kind, 1, &refused);
  if (rc && which)
    *which = refused == &h->rm_sys ? "host" : "peer";
  return rc;
}

void host_rm_stream_del(hconn *c, uint8_t dir) {
  rm_release(&c->rmc, dir == LP2P_DIR_INBOUND ? RM_STREAMS_IN : RM_STREAMS_OUT,
             1);
}

uint32_t host_rm_peer_streams_in(const hconn *c) {
  const rm_scope *s = c->peer ? &c->peer->rm : &c->rmc;
  return (uint32_t)s->used[RM_STREAMS_IN];
}

/* The base is reserved in the connection's scope, charged to the system
 * only: how many connections a peer may hold is the connection manager's
 * cap (conns_per_peer_max), and the peer scope bounds what they grow to
 * together beyond their bases (a peer's growth is reserved in its scope
 * alongside the connection's). So a busy connection of a peer never
 * keeps the same peer's next connection from opening. */
int host_rm_conn_open(lp2p_host *h, hconn *c) {
  rm_scope_init(&c->rm);
  c->rm.limit[RM_MEMORY] = h->cfg.memory_per_conn_max;
  if (rm_scope_attach(&c->rm, &h->rm_sys) ||
      rm_reserve(&c->rm, RM_MEMORY, h->cfg.memory_per_conn_base, NULL)) {
    rm_scope_close(&c->rm);
    h->stats.conns_refused_memory++;
    return LP2P_ERR_LIMIT;
  }
  apply(c);
  return 0;
}

/* Give back `n` of c's growth (above its base) to the connection, the
 * system and its peer. */
static void shrink(hconn *c, uint64_t n) {
  rm_release(&c->rm, RM_MEMORY, n);
  if (c->peer)
    rm_release(&c->peer->rm, RM_MEMORY, n);
}

void host_rm_conn_close(lp2p_host *h, hconn *c) {
  uint64_t g = grant(c), base = h->cfg.memory_per_conn_base;
  if (g > base)
    shrink(c, g - base);
  rm_scope_close(&c->rm);
}

void host_rm_conn_adjust(lp2p_host *h, hconn *c) {
  lp2p_yamux *y = host_conn_yamux(c);
  if (!y || !grant(c))
    return;
  uint64_t base = h->cfg.memory_per_conn_base;
  if (c->nstreams == 0) {
    if (grant(c) > base) {
      shrink(c, grant(c) - base);
      apply(c);
    }
    return;
  }
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  uint64_t g = grant(c);
  uint64_t use = st.session_buffered_bytes + st.out_queued_bytes;
  if (st.recv_window_total_bytes > use)
    use = st.recv_window_total_bytes; /* what the peer may send us */
  if (use * 2 < g || g >= h->cfg.memory_per_conn_max)
    return;
  uint64_t want = g * 2 > h->cfg.memory_per_conn_max
                      ? h->cfg.memory_per_conn_max - g
                      : g;
  int peer_ok = !c->peer ||
                rm_reserve(&c->peer->rm, RM_MEMORY, want, NULL) == 0;
  if (peer_ok && (want > growth_room(h) ||
                  rm_reserve(&c->rm, RM_MEMORY, want, NULL) != 0)) {
    if (c->peer)
      rm_release(&c->peer->rm, RM_MEMORY, want);
    peer_ok = 0;
  }
  if (!peer_ok) {
    h->stats.memory_grow_refused++;
    if (!(c->flags & HC_F_MEM_CAPPED)) { /* once per connection: no spam */
      c->flags |= HC_F_MEM_CAPPED;
      host_logf(h, LP2P_LOG_INFO,
                "host conn=%U peer=%P ip=%A memory grant capped at %U bytes",
                c->id, c->peer ? &c->peer->id : NULL, &c->remote, g);
    }
    return;
  }
  apply(c);
}
