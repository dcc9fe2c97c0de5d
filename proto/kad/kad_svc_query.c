/* Queries of the DHT service: each runs one pure query engine
 * (kad_query.c) and turns its requests into streams, one per request
 * (go and js open one per request too), dialling peers that are not
 * connected (their addresses come from the answers that named them,
 * kept in the peerstore for peer_addr_ttl_ns). Liveness checks of the
 * routing table are requests without a query (a PING, as the spec's
 * table maintenance suggests).
 *
 * Re-entrancy: feeding an engine never sends from inside the feed; the
 * pump polls requests afterwards, and a request that fails at once is
 * fed back without pumping again (no recursion). */
#include <string.h>

#include "proto/kad/kad_svc.h"

kad_query_slot *kad_query_find(const kad_svc *v, uint64_t id) {
  for (size_t i = 0; i < v->cfg.queries_max; i++)
    if (v->queries[i] && v->queries[i]->id == id)
      return v->queries[i];
  return NULL;
}

static void push_ev(lp2p_host *h, lp2p_host_event_kind kind,
                    const kad_query_slot *kq) {
  hevent *e = host_ev_push(h, kind);
  e->err = kind == LP2P_HOST_EV_KAD_QUERY_DONE ? kq->err : 0;
  e->u.kad.query = kq->id;
  e->u.kad.type = kq->type;
}

void kad_table_report(lp2p_host *h, kad_svc *v) {
  size_t n = lp2p_kad_table_size(v->table);
  if (n == v->table_reported)
    return;
  v->table_reported = n;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_KAD_TABLE);
  e->u.kad.peers = n;
}

/* ---- requests ----------------------------------------------------------- */

static kad_req *req_alloc(kad_svc *v) {
  for (size_t i = 0; i < v->cfg.requests_max; i++)
    if (!v->reqs[i].used) {
      if (i + 1 > v->reqs_hi)
        v->reqs_hi = i + 1;
      return &v->reqs[i];
    }
  return NULL;
}

/* Forget r; its stream (if any) is reset, or left to end by itself
 * (`keep_stream`: an ADD_PROVIDER whose bytes are still going out). */
static void req_free(lp2p_host *h, kad_req *r, int keep_stream,
                     lp2p_tstamp now) {
  kad_stream *ks = r->ks;
  if (ks) {
    ks->req = NULL;
    if (!keep_stream) {
      host_svc_reset(h, ks->stream, now);
      kad_stream_free(h, ks);
    }
  }
  memset(r, 0, sizeof *r);
}

/* Addresses of the peers an answer names go to the peerstore (with a
 * short TTL, go's TempAddrTTL), so the next request can dial them; only
 * those the address filter keeps (go's maybeAddAddrs + AddressFilter). */
static void learn_addrs(lp2p_host *h, kad_svc *v, const lp2p_kad_peer *ps,
                        size_t n, lp2p_tstamp now) {
  for (size_t i = 0; i < n; i++) {
    lp2p_peerid id;
    if (!ps[i].addrs_n ||
        lp2p_peerid_from_bytes(&id, ps[i].id.p, ps[i].id.n) != 0 ||
        lp2p_peerid_equal(&id, &h->self))
      continue;
    int err = 0;
    hpeer *p = host_peer_get(h, &id, &err);
    if (!p)
      continue;
    for (size_t j = 0; j < ps[i].addrs_n && j < v->cfg.addrs_per_peer_max;
         j++) {
      lp2p_maddr ma;
      if (lp2p_maddr_from_bytes(&ma, ps[i].addrs[j].p, ps[i].addrs[j].n) ||
          !lp2p_kad_addr_allowed(&v->cfg, &ma))
        continue;
      host_peer_add_addr_bytes(h, p, ma.bytes, ma.len,
                               host_add_ns(now, v->cfg.peer_addr_ttl_ns));
    }
  }
}

/* The request's outcome (resp NULL with ok: sent, no answer expected).
 * `pump` 0 defers the query's next requests to the service timer: a
 * stream that ends may end inside lp2p_host_free, where opening streams
 * or dialling would touch connections being freed. */
static void req_outcome(lp2p_host *h, kad_svc *v, kad_req *r,
                        const lp2p_kad_msg *resp, int ok, int keep_stream,
                        int pump, lp2p_tstamp now) {
  kad_query_slot *kq = r->q;
  lp2p_peerid peer = r->peer;
  req_free(h, r, keep_stream, now);
  if (!kq) { /* a liveness check */
    lp2p_kad_table_ping_result(v->table, &peer, ok, now);
    kad_table_report(h, v);
    return;
  }
  if (kq->done)
    return;
  if (ok)
    lp2p_kad_query_on_response(kq->q, &peer, resp, now);
  else
    lp2p_kad_query_on_failure(kq->q, &peer, now);
  if (ok && !kq->internal)
    push_ev(h, LP2P_HOST_EV_KAD_QUERY_PROGRESS, kq);
  if (pump)
    kad_query_pump(h, v, kq, now);
  else
    v->pump_at = now;
}

static void req_result(lp2p_host *h, kad_svc *v, kad_req *r,
                       const lp2p_kad_msg *resp, int ok, int keep_stream,
                       lp2p_tstamp now) {
  req_outcome(h, v, r, resp, ok, keep_stream, 1, now);
}

/* The request message for r. `self_peer` and `addrs` are storage. */
static void build_request(lp2p_host *h, const kad_svc *v, const kad_req *r,
                          lp2p_kad_msg *m,
                          lp2p_kad_peer *self_peer, lp2p_kad_bytes *ab,
                          lp2p_maddr *ma, size_t ma_cap) {
  memset(m, 0, sizeof *m);
  m->type = r->type;
  if (!r->q)
    return; /* PING */
  const kad_query_slot *kq = r->q;
  m->key.p = kq->key;
  m->key.n = kq->key_len;
  if (r->type == LP2P_KAD_PUT_VALUE) {
    m->has_record = 1;
    m->rec_key = m->key;
    m->rec_value.p = kq->val;
    m->rec_value.n = kq->val_len;
    if (kq->type == LP2P_KAD_GET_VALUE) /* an entry correction */
      m->rec_value.p = lp2p_kad_query_value(kq->q, &m->rec_value.n);
  } else if (r->type == LP2P_KAD_ADD_PROVIDER) {
    size_t n = 0;
    lp2p_host_addrs(h, ma, ma_cap, &n);
    if (n > ma_cap)
      n = ma_cap;
    size_t k = 0; /* what we announce passes our own filter too */
    for (size_t i = 0; i < n; i++)
      if (lp2p_kad_addr_allowed(&v->cfg, &ma[i])) {
        ab[k].p = ma[i].bytes;
        ab[k].n = ma[i].len;
        k++;
      }
    n = k;
    memset(self_peer, 0, sizeof *self_peer);
    self_peer->id.p = h->self.bytes;
    self_peer->id.n = h->self.len;
    self_peer->addrs = ab;
    self_peer->addrs_n = n;
    self_peer->connection = LP2P_KAD_CONNECTED;
    m->providers = self_peer;
    m->providers_n = 1;
  }
}

/* Open r's stream on conn and send the request. Returns 0 or an error
 * (r untouched: the caller fails it). */
static int req_send(lp2p_host *h, kad_svc *v, kad_req *r, uint64_t conn,
                    lp2p_tstamp now) {
  kad_stream *ks = kad_stream_new(h, 0, conn, 0);
  if (!ks)
    return LP2P_ERR_NOMEM;
  uint64_t sid = 0;
  int rc = host_svc_open(h, v->svc, conn, v->proto, ks, now, &sid);
  if (rc) {
    kad_stream_free(h, ks);
    return rc;
  }
  ks->stream = sid;
  lp2p_kad_msg m;
  lp2p_kad_peer selfp;
  lp2p_kad_bytes ab[8];
  lp2p_maddr *ma = lp2p_mem_malloc(h->mem, 8 * sizeof *ma);
  if (!ma) {
    host_svc_reset(h, sid, now);
    kad_stream_free(h, ks);
    return LP2P_ERR_NOMEM;
  }
  build_request(h, v, r, &m, &selfp, ab, ma, 8);
  rc = kad_write_msg(h, sid, &m, now);
  lp2p_mem_free(h->mem, ma);
  if (rc) {
    host_svc_reset(h, sid, now);
    kad_stream_free(h, ks);
    return rc;
  }
  /* One request per stream. Our side stays open until the answer (as
   * go's message sender; a js server that sees our FIN before it answers
   * may end the stream without one); ADD_PROVIDER has none: close. */
  if (r->type == LP2P_KAD_ADD_PROVIDER)
    host_svc_close(h, sid, now);
  host_svc_stream_deadline(h, sid, r->deadline);
  ks->req = r;
  r->ks = ks;
  return 0;
}

/* ADD_PROVIDER has no answer (spec): it counts once written, as go's
 * sendMessage does; the stream is left to drain and end by itself. */
static void req_sent(lp2p_host *h, kad_svc *v, kad_req *r, lp2p_tstamp now) {
  if (r->type == LP2P_KAD_ADD_PROVIDER)
    req_result(h, v, r, NULL, 1, 1, now);
}

static int dispatch(lp2p_host *h, kad_svc *v, kad_req *r, lp2p_tstamp now) {
  uint64_t conn = host_svc_peer_conn(h, &r->peer);
  if (conn)
    return req_send(h, v, r, conn, now);
  return lp2p_host_dial_peer(h, now, &r->peer, 0, NULL);
}

void kad_ping_peer(lp2p_host *h, kad_svc *v, const lp2p_peerid *peer,
                   lp2p_tstamp now) {
  kad_req *r = req_alloc(v);
  if (!r) {
    lp2p_kad_table_ping_result(v->table, peer, 0, now);
    return;
  }
  r->used = 1;
  r->type = LP2P_KAD_PING;
  r->peer = *peer;
  r->deadline = host_add_ns(now, v->cfg.table.ping_timeout_ns);
  if (dispatch(h, v, r, now)) {
    memset(r, 0, sizeof *r);
    lp2p_kad_table_ping_result(v->table, peer, 0, now);
  }
}

/* ---- queries ----------------------------------------------------------------- */

/* Entry correction (spec "Entry correction"; go's GetValue runs
 * updatePeerValues after its quorum): every peer among the k closest that
 * answered with a worse value or none gets a PUT_VALUE of the best one.
 * The requests belong to the finished query, so its value stays alive
 * while they run; their answers only count (corr_done). */
static void correct_entries(lp2p_host *h, kad_svc *v, kad_query_slot *kq,
                            lp2p_tstamp now) {
  size_t n = 0;
  if (!lp2p_kad_query_value(kq->q, &n) || !n)
    return;
  lp2p_peerid p;
  for (size_t i = 0; lp2p_kad_query_outdated(kq->q, i, &p); i++) {
    kad_req *r = req_alloc(v);
    if (!r)
      break; /* best effort, as go's */
    r->used = 1;
    r->type = LP2P_KAD_PUT_VALUE;
    r->peer = p;
    r->q = kq;
    r->deadline = host_add_ns(now, v->cfg.query.request_timeout_ns);
    if (dispatch(h, v, r, now)) {
      memset(r, 0, sizeof *r);
      continue;
    }
    kq->corr_sent++;
    host_logf(h, LP2P_LOG_DEBUG, "kad: query=%U correcting %P's entry",
              kq->id, &p);
  }
}

static void query_finish(lp2p_host *h, kad_svc *v, kad_query_slot *kq,
                         lp2p_tstamp now) {
  kq->done = 1;
  for (size_t i = 0; i < v->reqs_hi; i++)
    if (v->reqs[i].used && v->reqs[i].q == kq)
      req_free(h, &v->reqs[i], 0, now);
  /* a finished lookup refreshes its bucket (go does the same) */
  uint8_t hk[32], self_key[32];
  lp2p_kad_key_hash(kq->key, kq->key_len, hk);
  lp2p_kad_key_hash(h->self.bytes, h->self.len, self_key);
  unsigned cpl = lp2p_kad_cpl(hk, self_key);
  lp2p_kad_table_refreshed(v->table, cpl > 15 ? 15 : cpl, now);
  lp2p_kad_query_stats st;
  lp2p_kad_query_stats_get(kq->q, &st);
  uint32_t hops = 0;
  switch (kq->type) {
  case LP2P_KAD_FIND_NODE:
    kq->err = kq->find_peer ? (lp2p_kad_query_target(kq->q, &hops)
                                   ? 0
                                   : LP2P_ERR_NOT_FOUND)
              : lp2p_kad_query_result(kq->q, 0, NULL, NULL)
                  ? 0
                  : LP2P_ERR_NOT_FOUND;
    break;
  case LP2P_KAD_GET_VALUE: {
    size_t n = 0;
    kq->err = lp2p_kad_query_value(kq->q, &n) || kq->val ? 0
                                                          : LP2P_ERR_NOT_FOUND;
    break;
  }
  case LP2P_KAD_GET_PROVIDERS:
    kq->err = lp2p_kad_query_provider(kq->q, 0, NULL, NULL)
                  ? 0
                  : LP2P_ERR_NOT_FOUND;
    break;
  default: /* PUT_VALUE, ADD_PROVIDER */
    kq->err = st.stored ? 0 : LP2P_ERR_NOT_FOUND;
    break;
  }
  int refresh_after = kq->refresh_after;
  if (kq->internal) {
    kad_query_slot_free(h, v, kq);
    if (refresh_after)
      kad_refresh_buckets(h, v, refresh_after == KAD_REFRESH_ALL, now);
    return;
  }
  push_ev(h, LP2P_HOST_EV_KAD_QUERY_DONE, kq);
  if (kq->type == LP2P_KAD_GET_VALUE)
    correct_entries(h, v, kq, now);
  if (refresh_after)
    kad_refresh_buckets(h, v, refresh_after == KAD_REFRESH_ALL, now);
}

void kad_query_pump(lp2p_host *h, kad_svc *v, kad_query_slot *kq,
                    lp2p_tstamp now) {
  if (kq->done)
    return;
  kad_req *r;
  while ((r = req_alloc(v)) != NULL) {
    lp2p_kad_request rq;
    if (!lp2p_kad_query_poll_request(kq->q, now, &rq))
      break;
    r->used = 1;
    r->type = rq.type;
    r->peer = rq.peer;
    r->q = kq;
    r->deadline = host_add_ns(now, v->cfg.query.request_timeout_ns);
    if (dispatch(h, v, r, now)) {
      memset(r, 0, sizeof *r);
      lp2p_kad_query_on_failure(kq->q, &rq.peer, now);
    } else if (r->ks) {
      req_sent(h, v, r, now);
      if (kq->done)
        return;
    }
  }
  if (lp2p_kad_query_done(kq->q))
    query_finish(h, v, kq, now);
}

void kad_query_slot_free(lp2p_host *h, kad_svc *v, kad_query_slot *kq) {
  for (size_t i = 0; i < v->cfg.queries_max; i++)
    if (v->queries[i] == kq)
      v->queries[i] = NULL;
  for (size_t i = 0; i < v->reqs_hi; i++)
    if (v->reqs[i].used && v->reqs[i].q == kq)
      req_free(h, &v->reqs[i], 0, h->now);
  lp2p_kad_query_free(kq->q);
  lp2p_mem_free(h->mem, kq->key);
  lp2p_mem_free(h->mem, kq->val);
  lp2p_mem_free(h->mem, kq);
}

/* A free slot, or the oldest finished public query's. */
static kad_query_slot **slot_for_new(lp2p_host *h, kad_svc *v) {
  kad_query_slot **oldest = NULL;
  for (size_t i = 0; i < v->cfg.queries_max; i++) {
    if (!v->queries[i])
      return &v->queries[i];
    if (v->queries[i]->done &&
        (!oldest || v->queries[i]->id < (*oldest)->id))
      oldest = &v->queries[i];
  }
  if (!oldest)
    return NULL;
  kad_query_slot_free(h, v, *oldest);
  return oldest;
}

int kad_query_start(lp2p_host *h, kad_svc *v, uint8_t type,
                    const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len, int internal, int find_peer,
                    lp2p_tstamp now, uint64_t *id) {
  kad_query_slot **slot = slot_for_new(h, v);
  if (!slot)
    return LP2P_ERR_LIMIT;
  kad_query_slot *kq = lp2p_mem_calloc(h->mem, 1, sizeof *kq);
  if (!kq)
    return LP2P_ERR_NOMEM;
  kq->type = type;
  kq->internal = internal ? 1 : 0;
  kq->find_peer = find_peer ? 1 : 0;
  kq->key = lp2p_mem_malloc(h->mem, key_len ? key_len : 1);
  if (kq->key)
    memcpy(kq->key, key, key_len);
  kq->key_len = key_len;
  if (val_len) {
    kq->val = lp2p_mem_malloc(h->mem, val_len);
    if (kq->val)
      memcpy(kq->val, val, val_len);
    kq->val_len = val_len;
  }
  lp2p_kad_query_config qc = v->cfg.query;
  qc.validators = &v->vs;
  qc.unix_ns = h->unix_ns;
  qc.stop_at_target = find_peer ? 1 : 0;
  int rc = (!kq->key || (val_len && !kq->val))
               ? LP2P_ERR_NOMEM
               : lp2p_kad_query_new(&kq->q, type, key, key_len, &h->self,
                                    &qc, h->mem, now);
  if (rc) {
    lp2p_mem_free(h->mem, kq->key);
    lp2p_mem_free(h->mem, kq->val);
    lp2p_mem_free(h->mem, kq);
    return rc;
  }
  kq->id = ++v->next_id;
  *slot = kq;
  uint8_t hk[32];
  lp2p_kad_key_hash(key, key_len, hk);
  lp2p_peerid seeds[LP2P_KAD_K];
  size_t n = lp2p_kad_table_closest(v->table, hk, seeds, LP2P_KAD_K);
  lp2p_kad_query_seed(kq->q, seeds, n, now);
  if (id)
    *id = kq->id;
  kad_query_pump(h, v, kq, now);
  return 0;
}

/* ---- stream hooks for our requests -------------------------------------------- */

void kad_req_connected(lp2p_host *h, kad_svc *v, uint64_t conn,
                       lp2p_tstamp now) {
  const lp2p_peerid *peer = host_svc_conn_peer(h, conn);
  if (!peer)
    return;
  lp2p_peerid p = *peer;
  for (size_t i = 0; i < v->reqs_hi; i++) {
    kad_req *r = &v->reqs[i];
    if (!r->used || r->ks || !lp2p_peerid_equal(&r->peer, &p))
      continue;
    if (req_send(h, v, r, conn, now))
      req_result(h, v, r, NULL, 0, 0, now);
    else
      req_sent(h, v, r, now);
  }
}

void kad_req_stream_activity(lp2p_host *h, kad_svc *v, kad_stream *ks,
                             lp2p_tstamp now) {
  kad_req *r = ks->req;
  if (!r) { /* over (ADD_PROVIDER sent): drop what comes */
    size_t len = 0;
    while (host_svc_peek(h, ks->stream, &len) && len)
      host_svc_consume(h, ks->stream, now, len);
    return;
  }
  int rc = kad_read_frame(h, ks, v->cfg.response_bytes_max, now);
  if (rc == 0)
    return;
  if (rc < 0) {
    host_logf(h, LP2P_LOG_DEBUG, "kad: bad answer from %P: %E", &r->peer, rc);
    req_result(h, v, r, NULL, 0, 0, now);
    return;
  }
  lp2p_kad_peer closer[KAD_PEERS_CAP], provs[KAD_PEERS_CAP];
  lp2p_kad_bytes addrs[KAD_ADDRS_CAP];
  size_t cm = v->cfg.closer_max < KAD_PEERS_CAP ? v->cfg.closer_max
                                                : KAD_PEERS_CAP;
  size_t apm = v->cfg.addrs_per_peer_max < 8 ? v->cfg.addrs_per_peer_max : 8;
  lp2p_kad_msg_space sp = {closer, cm, provs, cm, addrs, KAD_ADDRS_CAP, apm,
                           0, 0};
  lp2p_kad_msg m;
  rc = lp2p_kad_msg_decode(&m, &sp, ks->buf + ks->body_off, ks->body_len);
  if (rc || m.type != r->type) {
    host_logf(h, LP2P_LOG_DEBUG, "kad: bad answer from %P: %E", &r->peer,
              rc ? rc : LP2P_ERR_PARSE);
    req_result(h, v, r, NULL, 0, 0, now);
    return;
  }
  if (sp.peers_dropped)
    host_logf(h, LP2P_LOG_DEBUG, "kad: %P named too many peers (%U cut)",
              &r->peer, (uint64_t)sp.peers_dropped);
  learn_addrs(h, v, m.closer, m.closer_n, now);
  learn_addrs(h, v, m.providers, m.providers_n, now);
  /* m points into ks->buf: feed before the stream goes */
  kad_query_slot *kq = r->q;
  lp2p_peerid peer = r->peer;
  if (!kq) {
    req_result(h, v, r, &m, 1, 0, now);
    return;
  }
  uint8_t rtype = r->type;
  ks->req = NULL;
  r->ks = NULL;
  memset(r, 0, sizeof *r);
  if (!kq->done) {
    lp2p_kad_query_on_response(kq->q, &peer, &m, now);
    if (!kq->internal)
      push_ev(h, LP2P_HOST_EV_KAD_QUERY_PROGRESS, kq);
  } else if (rtype == LP2P_KAD_PUT_VALUE && kq->type == LP2P_KAD_GET_VALUE) {
    kq->corr_done++; /* an entry correction was taken */
  }
  host_svc_reset(h, ks->stream, now);
  kad_stream_free(h, ks);
  kad_query_pump(h, v, kq, now);
}

void kad_req_stream_end(lp2p_host *h, kad_svc *v, kad_stream *ks, int err,
                        lp2p_tstamp now) {
  kad_req *r = ks->req;
  if (r) {
    host_logf(h, LP2P_LOG_DEBUG, "kad: request to %P ended: %E", &r->peer,
              err ? err : LP2P_ERR_EOF);
    r->ks = NULL; /* the host ended it: nothing to reset */
    (void)err;
    req_outcome(h, v, r, NULL, 0, 0, 0, now);
  }
  kad_stream_free(h, ks);
}

lp2p_tstamp kad_req_next(const kad_svc *v) {
  lp2p_tstamp t = v->pump_at;
  for (size_t i = 0; i < v->reqs_hi; i++)
    if (v->reqs[i].used && !v->reqs[i].ks && v->reqs[i].deadline < t)
      t = v->reqs[i].deadline;
  for (size_t i = 0; i < v->cfg.queries_max; i++) {
    const kad_query_slot *kq = v->queries[i];
    if (kq && !kq->done) {
      lp2p_tstamp d = lp2p_kad_query_next_timeout(kq->q);
      if (d < t)
        t = d;
    }
  }
  return t;
}

void kad_req_timers(lp2p_host *h, kad_svc *v, lp2p_tstamp now) {
  if (v->pump_at <= now) { /* requests that ended inside a stream_end */
    v->pump_at = LP2P_TSTAMP_NONE;
    for (size_t i = 0; i < v->cfg.queries_max; i++)
      if (v->queries[i] && !v->queries[i]->done)
        kad_query_pump(h, v, v->queries[i], now);
  }
  while (v->reqs_hi && !v->reqs[v->reqs_hi - 1].used)
    v->reqs_hi--;
  /* dials that never connected */
  for (size_t i = 0; i < v->reqs_hi; i++) {
    kad_req *r = &v->reqs[i];
    if (r->used && !r->ks && r->deadline <= now)
      req_result(h, v, r, NULL, 0, 0, now);
  }
  for (size_t i = 0; i < v->cfg.queries_max; i++) {
    kad_query_slot *kq = v->queries[i];
    if (!kq || kq->done)
      continue;
    if (lp2p_kad_query_next_timeout(kq->q) <= now) {
      lp2p_kad_query_handle_timeout(kq->q, now);
      kad_query_pump(h, v, kq, now);
    }
  }
}
