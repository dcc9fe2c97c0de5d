/* Resource manager, memory scopes (issue 9; after go-libp2p's resource
 * manager, whose system / peer / connection scopes and "reserve before you
 * commit" rule this follows). What a peer can make us hold is what yamux
 * buffers for it: received-but-unread stream data (bounded by the windows
 * we grant) and queued output it does not read. So every OPEN connection
 * runs under a grant from three scopes, and its yamux session's bounds
 * (lp2p_yamux_set_budget) are that grant:
 *   system : memory_max for all connections together;
 *   peer   : memory_per_peer_max for the growth of all connections of
 *            one peer (how many it holds is the connection manager's cap;
 *            identities are free, so its per-IP caps matter as much);
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
 * Differences from go-libp2p: one memory kind (go also scopes streams,
 * fds, protocols and services), grants move in powers of two, and the
 * reserve for new connections is explicit. */
#include "proto/host/host_internal.h"

/* The grant split: a quarter for queued output (64 KiB..1 MiB), the rest
 * for received data. */
static void apply(hconn *c) {
  lp2p_yamux *y = host_conn_yamux(c);
  if (!y)
    return;
  uint64_t g = c->mem_grant;
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
  return h->rm_used < pool ? pool - h->rm_used : 0;
}

static void take(lp2p_host *h, hconn *c, uint64_t n) {
  h->rm_used += n;
  if (c->peer)
    c->peer->mem_used += n;
  c->mem_grant += n;
}

static void give_back(lp2p_host *h, hconn *c, uint64_t n) {
  if (n > c->mem_grant)
    n = c->mem_grant;
  h->rm_used -= n;
  if (c->peer)
    c->peer->mem_used -= n;
  c->mem_grant -= n;
}

/* The base is checked against the system only: how many connections a
 * peer may hold is the connection manager's cap; the peer scope bounds
 * what its connections grow to. */
int host_rm_conn_open(lp2p_host *h, hconn *c) {
  uint64_t base = h->cfg.memory_per_conn_base;
  if (h->rm_used + base > h->cfg.memory_max) {
    h->stats.conns_refused_memory++;
    return LP2P_ERR_LIMIT;
  }
  take(h, c, base);
  apply(c);
  return 0;
}

void host_rm_conn_close(lp2p_host *h, hconn *c) {
  give_back(h, c, c->mem_grant);
}

void host_rm_conn_adjust(lp2p_host *h, hconn *c) {
  lp2p_yamux *y = host_conn_yamux(c);
  if (!y || !c->mem_grant)
    return;
  uint64_t base = h->cfg.memory_per_conn_base;
  if (c->nstreams == 0) {
    if (c->mem_grant > base) {
      give_back(h, c, c->mem_grant - base);
      apply(c);
    }
    return;
  }
  lp2p_yamux_stats st;
  lp2p_yamux_get_stats(y, &st);
  uint64_t g = c->mem_grant;
  uint64_t use = st.session_buffered_bytes + st.out_queued_bytes;
  if (st.recv_window_total_bytes > use)
    use = st.recv_window_total_bytes; /* what the peer may send us */
  if (use * 2 < g || g >= h->cfg.memory_per_conn_max)
    return;
  uint64_t want = g * 2 > h->cfg.memory_per_conn_max
                      ? h->cfg.memory_per_conn_max - g
                      : g;
  uint64_t room = growth_room(h);
  uint64_t peer_room = c->peer && c->peer->mem_used < h->cfg.memory_per_peer_max
                           ? h->cfg.memory_per_peer_max - c->peer->mem_used
                           : 0;
  if (want > room || want > peer_room) {
    h->stats.memory_grow_refused++;
    return;
  }
  take(h, c, want);
  apply(c);
}
