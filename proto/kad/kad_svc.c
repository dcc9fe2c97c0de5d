/* The Kademlia DHT service (kad-dht spec; /ipfs/kad/1.0.0, the prefix
 * configurable): registration, hooks and timers. Server mode serves and
 * advertises the protocol; client mode only runs queries; off does
 * nothing. Peers enter the routing table when identify says they serve
 * the protocol (spec "Client and server mode"); a full bucket checks its
 * stalest peer with a PING before replacing it. A first self-lookup runs
 * bootstrap_delay_ns after the first peer enters (js: 1 s after start)
 * and is followed by a random-target lookup for every bucket up to the
 * deepest non-empty one; then every refresh interval a self-lookup and
 * lookups for the buckets due (go's RtRefreshManager, spec "Bootstrap
 * process"). Without the first full refresh a table holds little more
 * than its own neighbourhood: in the 1,000-host simulation (lp2p-sim kad)
 * tables stayed at ~35 peers and 2 lookups in 1,000 ended short of their
 * target; with it ~130 and none. */
#include <string.h>

#include "proto/kad/kad_svc.h"

void lp2p_kad_config_default(lp2p_kad_config *c) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
  c->mode = LP2P_KAD_MODE_OFF;
  memcpy(c->prefix, "/ipfs", 6);
  c->queries_max = 32;
  c->requests_max = 256;
  c->request_bytes_max = 160 * 1024;
  c->response_bytes_max = LP2P_KAD_MSG_MAX;
  c->closer_max = LP2P_KAD_K;
  c->addrs_per_peer_max = 8;
  c->peer_addr_ttl_ns = 120 * LP2P_NS_PER_S;
  c->stream_timeout_ns = 60 * LP2P_NS_PER_S;
  c->refresh = 1;
  c->bootstrap_delay_ns = LP2P_NS_PER_S;
  c->dial_on_start = 1;
  c->low_peers = 10;
  c->low_check_ns = 120 * LP2P_NS_PER_S;
  c->protect_bootstrap = 1;
  c->addr_filter = LP2P_KAD_ADDRS_PUBLIC;
  lp2p_kad_table_config_default(&c->table);
  lp2p_kad_query_config_default(&c->query);
  lp2p_kad_records_config_default(&c->records);
  lp2p_kad_providers_config_default(&c->providers);
}

static int k_init(lp2p_host *h, uint32_t svc, void **state) {
  kad_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  v->cfg = h->cfg.kad;
  v->bootstrap_at = v->refresh_at = v->pump_at = LP2P_TSTAMP_NONE;
  v->boot_at = LP2P_TSTAMP_NONE;
  if (v->cfg.mode == LP2P_KAD_MODE_OFF)
    return 0;
  if (!v->cfg.queries_max || !v->cfg.requests_max ||
      v->cfg.request_bytes_max < 64 || !v->cfg.closer_max)
    return LP2P_ERR_INVAL;
  size_t pl = strnlen(v->cfg.prefix, LP2P_KAD_PREFIX_MAX);
  if (pl == LP2P_KAD_PREFIX_MAX)
    return LP2P_ERR_INVAL;
  memcpy(v->proto_name, v->cfg.prefix, pl);
  memcpy(v->proto_name + pl, "/kad/1.0.0", 11);
  lp2p_kad_validators_default(&v->vs);
  v->queries = lp2p_mem_calloc(h->mem, v->cfg.queries_max,
                               sizeof *v->queries);
  v->reqs = lp2p_mem_calloc(h->mem, v->cfg.requests_max, sizeof *v->reqs);
  if (!v->queries || !v->reqs)
    return LP2P_ERR_NOMEM;
  lp2p_tstamp now = h->now;
  int rc = lp2p_kad_table_new(&v->table, &h->self, &v->cfg.table, h->mem,
                              now);
  if (!rc)
    rc = lp2p_kad_records_new(&v->records, &v->cfg.records, h->mem, &h->rng,
                              now);
  if (!rc)
    rc = lp2p_kad_providers_new(&v->providers, &v->cfg.providers, h->mem,
                                &h->rng, now);
  if (!rc)
    rc = kad_boot_init(h, v);
  if (rc)
    return rc;
  int server = v->cfg.mode == LP2P_KAD_MODE_SERVER;
  v->proto = host_svc_add_protocol(
      h, svc, v->proto_name, server ? HSVC_P_INBOUND | HSVC_P_ADVERTISE : 0,
      &rc);
  return rc;
}

static void k_fini(lp2p_host *h, void *state) {
  kad_svc *v = state;
  if (v->queries)
    for (size_t i = 0; i < v->cfg.queries_max; i++)
      if (v->queries[i])
        kad_query_slot_free(h, v, v->queries[i]);
  lp2p_mem_free(h->mem, v->queries);
  lp2p_mem_free(h->mem, v->reqs);
  lp2p_kad_table_free(v->table);
  lp2p_kad_records_free(v->records);
  lp2p_kad_providers_free(v->providers);
  kad_boot_fini(h, v);
  lp2p_mem_free(h->mem, v);
}

static int active(const kad_svc *v) {
  return v->cfg.mode != LP2P_KAD_MODE_OFF && v->table;
}

static void k_start(lp2p_host *h, void *state, uint64_t stream, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  kad_svc *v = state;
  kad_stream *ks = (v->cfg.mode == LP2P_KAD_MODE_SERVER && proto == v->proto)
                       ? kad_stream_new(h, stream, conn, 1)
                       : NULL;
  if (!ks) {
    host_svc_reset(h, stream, now);
    return;
  }
  host_svc_stream_set_ud(h, stream, ks);
  host_svc_stream_fix_window(h, stream);
  host_svc_stream_deadline(h, stream,
                           host_add_ns(now, v->cfg.stream_timeout_ns));
  kad_serve_stream(h, v, ks, now);
}

static void k_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                       lp2p_tstamp now) {
  (void)stream;
  kad_stream *ks = ud;
  if (!ks)
    return;
  if (ks->inbound)
    kad_serve_stream(h, state, ks, now);
  else
    kad_req_stream_activity(h, state, ks, now);
}

static void k_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                  int err, lp2p_tstamp now) {
  (void)stream;
  kad_stream *ks = ud;
  if (!ks)
    return;
  if (ks->inbound)
    kad_stream_free(h, ks);
  else
    kad_req_stream_end(h, state, ks, err, now);
}

static void k_timeout(lp2p_host *h, void *state, uint64_t stream, void *ud,
                      lp2p_tstamp now) {
  kad_stream *ks = ud;
  host_svc_reset(h, stream, now); /* no stream_end follows */
  if (ks && !ks->inbound)
    kad_req_stream_end(h, state, ks, LP2P_ERR_TIMEOUT, now); /* fails */
  else
    kad_stream_free(h, ks);
}

/* Liveness checks the table asked for. */
static void poll_pings(lp2p_host *h, kad_svc *v, lp2p_tstamp now) {
  lp2p_peerid p;
  while (lp2p_kad_table_poll_ping(v->table, &p))
    kad_ping_peer(h, v, &p, now);
}

static void k_identified(lp2p_host *h, void *state, uint64_t conn,
                         lp2p_tstamp now) {
  kad_svc *v = state;
  if (!active(v))
    return;
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  if (!peer)
    return;
  int serves = lp2p_host_peer_supports(h, peer, v->proto_name);
  lp2p_kad_table_add(v->table, peer, serves, now);
  if (v->cfg.refresh && v->bootstrap_at == LP2P_TSTAMP_NONE &&
      v->refresh_at == LP2P_TSTAMP_NONE && lp2p_kad_table_size(v->table))
    v->bootstrap_at = host_add_ns(now, v->cfg.bootstrap_delay_ns);
  poll_pings(h, v, now);
  kad_table_report(h, v);
}

static void k_connected(lp2p_host *h, void *state, uint64_t conn,
                        lp2p_tstamp now) {
  kad_svc *v = state;
  if (active(v))
    kad_req_connected(h, v, conn, now);
}

static lp2p_tstamp k_next(const void *state) {
  const kad_svc *v = state;
  if (!active(v))
    return LP2P_TSTAMP_NONE;
  lp2p_tstamp t = kad_req_next(v), d;
  if ((d = lp2p_kad_table_next_timeout(v->table)) < t)
    t = d;
  if ((d = lp2p_kad_records_next_timeout(v->records)) < t)
    t = d;
  if ((d = lp2p_kad_providers_next_timeout(v->providers)) < t)
    t = d;
  if (v->bootstrap_at < t)
    t = v->bootstrap_at;
  if (v->refresh_at < t)
    t = v->refresh_at;
  if (v->boot_at < t)
    t = v->boot_at;
  return t;
}

/* Random-target lookups for buckets, after a self-lookup ended (go's
 * RtRefreshManager: the self-lookup first, so the table knows how deep it
 * goes; then one lookup per bucket). At bootstrap every bucket up to the
 * deepest non-empty one is refreshed, as go does at start (its buckets
 * have never been refreshed); later only the due ones (no lookup landed
 * in them for refresh_interval_ns). Half the query slots stay free for
 * the application. */
void kad_refresh_buckets(lp2p_host *h, kad_svc *v, int all, lp2p_tstamp now) {
  unsigned cpls[16];
  /* every bucket was refreshed at or before now: all of them are "due"
   * one interval later */
  lp2p_tstamp when = all ? host_add_ns(now, v->cfg.table.refresh_interval_ns)
                         : now;
  size_t n = lp2p_kad_table_refresh_due(v->table, when, cpls, 16);
  size_t busy = 0;
  for (size_t i = 0; i < v->cfg.queries_max; i++)
    busy += v->queries[i] && !v->queries[i]->done;
  for (size_t i = 0; i < n && 2 * (busy + 1) <= v->cfg.queries_max; i++) {
    lp2p_peerid target;
    if (lp2p_kad_table_refresh_target(v->table, cpls[i], &h->rng, &target))
      continue;
    if (kad_query_start(h, v, LP2P_KAD_FIND_NODE, target.bytes, target.len,
                        NULL, 0, 1, 0, now, NULL) == 0)
      busy++;
  }
}

/* A self-lookup; the buckets follow when it ends. */
void kad_refresh(lp2p_host *h, kad_svc *v, int all, lp2p_tstamp now) {
  uint64_t id = 0;
  if (kad_query_start(h, v, LP2P_KAD_FIND_NODE, h->self.bytes, h->self.len,
                      NULL, 0, 1, 0, now, &id) != 0)
    return;
  kad_query_slot *kq = kad_query_find(v, id);
  if (kq) /* else it ended at once (nobody to ask): nothing to refresh */
    kq->refresh_after = all ? KAD_REFRESH_ALL : KAD_REFRESH_DUE;
}

static void k_timers(lp2p_host *h, void *state, lp2p_tstamp now) {
  kad_svc *v = state;
  if (!active(v))
    return;
  lp2p_kad_table_handle_timeout(v->table, now);
  lp2p_kad_records_handle_timeout(v->records, now);
  lp2p_kad_providers_handle_timeout(v->providers, now);
  kad_req_timers(h, v, now);
  if (v->boot_at <= now) {
    v->boot_at = v->cfg.low_check_ns ? host_add_ns(now, v->cfg.low_check_ns)
                                     : LP2P_TSTAMP_NONE;
    kad_fix_low_peers(h, v, now);
  }
  if (v->bootstrap_at <= now || v->refresh_at <= now) {
    int first = v->bootstrap_at <= now;
    v->bootstrap_at = LP2P_TSTAMP_NONE;
    v->refresh_at = host_add_ns(now, v->cfg.table.refresh_interval_ns);
    if (lp2p_kad_table_size(v->table))
      kad_refresh(h, v, first, now);
  }
  poll_pings(h, v, now);
  kad_table_report(h, v);
}

const hsvc_ops host_svc_kad_ops = {
    .name = "kad",
    .init = k_init,
    .fini = k_fini,
    .stream_start = k_start,
    .stream_activity = k_activity,
    .stream_end = k_end,
    .stream_timeout = k_timeout,
    .peer_connected = k_connected,
    .peer_identified = k_identified,
    .next_timeout = k_next,
    .handle_timeout = k_timers,
};
