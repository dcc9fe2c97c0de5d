/* The server side of the DHT service: answers the six requests of the
 * kad-dht spec on inbound streams, one frame at a time, on a receive
 * window that does not grow (we read only when we can answer).
 *
 * Where the spec is silent we follow go-libp2p-kad-dht's handlers.go:
 * closer peers exclude the requester; FIND_NODE for ourselves answers
 * ourselves, and a connected target is added; GET_VALUE for /pk/<id> is
 * answered from the peerstore (js does the same); PUT_VALUE refuses a
 * record worse than the one stored (the stream is reset, no echo);
 * ADD_PROVIDER keeps only the sender's own record, and only with
 * addresses, and has no reply. Stored records carry timeReceived, which
 * js clients require. */
#include <string.h>

#include "lp2p/cid.h"
#include "lp2p/ipns.h"
#include "lp2p/multihash.h"
#include "proto/kad/kad_svc.h"

/* The addresses we serve for a peer (ourselves included): those the
 * address filter keeps (js serves through its peerInfoMapper, which drops
 * private addresses by default). */
/* The addresses we serve for a peer: ours for self, else its peer-store
 * entry's (hp, NULL when unknown), through the address filter. */
static int peer_addrs(lp2p_host *h, const kad_svc *v, int self,
                      const hpeer *hp, lp2p_maddr *out, size_t cap,
                      lp2p_tstamp now) {
  size_t n = 0;
  if (self)
    lp2p_host_addrs(h, out, cap, &n);
  else if (hp)
    n = host_peer_addrs_of(hp, now, out, cap);
  n = n < cap ? n : cap;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (lp2p_kad_addr_allowed(&v->cfg, &out[i])) {
      if (k != i)
        out[k] = out[i];
      k++;
    }
  return (int)k;
}

static void add_peer(lp2p_host *h, const kad_svc *v, kad_peers_out *o,
                     const lp2p_peerid *id, lp2p_tstamp now) {
  /* the callers never add a peer twice (closer_peers skips the target it
   * put first): no search of the list here */
  if (o->n >= LP2P_KAD_K + 1)
    return;
  size_t apm = v->cfg.addrs_per_peer_max < 8 ? v->cfg.addrs_per_peer_max : 8;
  size_t i = o->n++;
  o->ids[i] = *id;
  lp2p_kad_peer *p = &o->peers[i];
  memset(p, 0, sizeof *p);
  p->id.p = o->ids[i].bytes;
  p->id.n = o->ids[i].len;
  lp2p_maddr *ma = &o->maddrs[i * 8];
  lp2p_kad_bytes *ab = &o->addrs[i * 8];
  /* one peer-store lookup for the addresses and the connection state */
  int self = lp2p_peerid_equal(id, &h->self);
  const hpeer *hp = self ? NULL : host_peer_find(h, id);
  int na = peer_addrs(h, v, self, hp, ma, apm, now);
  for (int k = 0; k < na; k++) {
    ab[k].p = ma[k].bytes;
    ab[k].n = ma[k].len;
  }
  p->addrs = ab;
  p->addrs_n = (size_t)na;
  p->connection = (self || host_peer_connected(hp)) ? LP2P_KAD_CONNECTED
                                                    : LP2P_KAD_NOT_CONNECTED;
}

/* Closer peers for key (spec: the k closest we know), go's rules above. */
static void closer_peers(lp2p_host *h, const kad_svc *v, const uint8_t *key,
                         size_t key_len, const lp2p_peerid *requester,
                         kad_peers_out *o, lp2p_tstamp now) {
  o->n = 0;
  lp2p_peerid target;
  int is_peer = lp2p_peerid_from_bytes(&target, key, key_len) == 0;
  if (is_peer && lp2p_peerid_equal(&target, &h->self)) {
    add_peer(h, v, o, &h->self, now);
    return;
  }
  uint8_t hk[32];
  lp2p_kad_key_hash(key, key_len, hk);
  lp2p_peerid ids[LP2P_KAD_K + 1];
  size_t k = v->cfg.table.k < LP2P_KAD_K ? v->cfg.table.k : LP2P_KAD_K;
  /* k, and one more only when the requester is among them (it is left
   * out): the table stops scanning sooner for k than for k + 1 */
  size_t n = lp2p_kad_table_closest(v->table, hk, ids, k);
  for (size_t i = 0; requester && i < n; i++)
    if (lp2p_peerid_equal(&ids[i], requester)) {
      n = lp2p_kad_table_closest(v->table, hk, ids, k + 1);
      break;
    }
  int first = is_peer && host_svc_peer_conn(h, &target);
  if (first)
    add_peer(h, v, o, &target, now);
  for (size_t i = 0; i < n && o->n < k; i++)
    if ((!requester || !lp2p_peerid_equal(&ids[i], requester)) &&
        (!first || !lp2p_peerid_equal(&ids[i], &target)))
      add_peer(h, v, o, &ids[i], now);
}

static int key_is_provider_key(const uint8_t *key, size_t n) {
  lp2p_cid c;
  return lp2p_multihash_parse(key, n, NULL, NULL, NULL) == 0 ||
         lp2p_cid_decode(key, n, &c) == 0;
}

static int bytes_eq(lp2p_kad_bytes a, lp2p_kad_bytes b) {
  return a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0);
}

static int handle_put(lp2p_host *h, kad_svc *v, const lp2p_kad_msg *m,
                      lp2p_tstamp now) {
  if (!m->has_record || !m->key.n || !bytes_eq(m->key, m->rec_key))
    return LP2P_ERR_INVAL;
  int rc = lp2p_kad_validate(&v->vs, m->key.p, m->key.n, m->rec_value.p,
                             m->rec_value.n, h->unix_ns);
  if (rc)
    return rc;
  size_t old_len = 0;
  uint64_t t = 0;
  const uint8_t *old = lp2p_kad_records_get(v->records, m->key.p, m->key.n,
                                            now, &old_len, &t);
  if (old) {
    lp2p_kad_bytes vals[2] = {{m->rec_value.p, m->rec_value.n},
                              {old, old_len}};
    size_t best = 0;
    rc = lp2p_kad_select(&v->vs, m->key.p, m->key.n, vals, 2, &best);
    if (rc)
      return rc;
    if (best != 0) /* go: "old record newer than new record" */
      return LP2P_ERR_STATE;
  }
  return lp2p_kad_records_put(v->records, m->key.p, m->key.n,
                              m->rec_value.p, m->rec_value.n, h->unix_ns,
                              now);
}

static void handle_add_provider(lp2p_host *h, kad_svc *v, kad_stream *ks,
                                const lp2p_kad_msg *m, lp2p_tstamp now) {
  const lp2p_peerid *sender = host_svc_conn_peer(h, ks->conn);
  if (!sender || !key_is_provider_key(m->key.p, m->key.n))
    return;
  for (size_t i = 0; i < m->providers_n; i++) {
    const lp2p_kad_peer *p = &m->providers[i];
    if (p->id.n != sender->len || memcmp(p->id.p, sender->bytes, p->id.n) ||
        !p->addrs_n)
      continue;
    lp2p_kad_providers_add(v->providers, m->key.p, m->key.n, sender,
                           p->addrs, p->addrs_n, now);
    break;
  }
}

/* The providers we store for key, as Message.Peer entries. */
static void stored_providers(lp2p_host *h, kad_svc *v, const uint8_t *key,
                             size_t key_len, kad_peers_out *o,
                             lp2p_tstamp now) {
  (void)h;
  o->n = 0;
  size_t apm = v->cfg.addrs_per_peer_max < 8 ? v->cfg.addrs_per_peer_max : 8;
  size_t n = lp2p_kad_providers_get(v->providers, key, key_len, now, o->ids,
                                    LP2P_KAD_K);
  for (size_t i = 0; i < n; i++) {
    lp2p_kad_peer *p = &o->peers[i];
    memset(p, 0, sizeof *p);
    p->id.p = o->ids[i].bytes;
    p->id.n = o->ids[i].len;
    lp2p_kad_bytes *ab = &o->addrs[i * 8];
    size_t na = 0;
    for (size_t j = 0; j < apm; j++) {
      size_t len = 0;
      const uint8_t *a = lp2p_kad_providers_addr(v->providers, key, key_len,
                                                 &o->ids[i], j, now, &len);
      if (!a)
        break;
      lp2p_maddr m;
      if (lp2p_maddr_from_bytes(&m, a, len) ||
          !lp2p_kad_addr_allowed(&v->cfg, &m))
        continue;
      ab[na].p = a;
      ab[na].n = len;
      na++;
    }
    if (!na) { /* expired addresses: the peerstore may know newer ones */
      lp2p_maddr *ma = &o->maddrs[i * 8];
      int self = lp2p_peerid_equal(&o->ids[i], &h->self);
      int k = peer_addrs(h, v, self,
                         self ? NULL : host_peer_find(h, &o->ids[i]), ma,
                         apm, now);
      for (int j = 0; j < k; j++) {
        ab[j].p = ma[j].bytes;
        ab[j].n = ma[j].len;
      }
      na = (size_t)k;
    }
    p->addrs = ab;
    p->addrs_n = na;
  }
  o->n = n;
}

/* One request: decode, act, answer. Returns 0 or an error (the stream
 * is then reset). */
static int serve_one(lp2p_host *h, kad_svc *v, kad_stream *ks,
                     const uint8_t *body, size_t len, lp2p_tstamp now) {
  lp2p_kad_peer closer[KAD_PEERS_CAP], provs[KAD_PEERS_CAP];
  lp2p_kad_bytes addrs[KAD_ADDRS_CAP];
  lp2p_kad_msg_space sp = {closer, KAD_PEERS_CAP, provs, KAD_PEERS_CAP,
                           addrs, KAD_ADDRS_CAP, 8, 0, 0};
  lp2p_kad_msg m;
  int rc = lp2p_kad_msg_decode(&m, &sp, body, len);
  if (rc)
    return rc;
  const lp2p_peerid *sender = host_svc_conn_peer(h, ks->conn);
  lp2p_kad_msg r;
  memset(&r, 0, sizeof r);
  r.type = m.type;
  r.key = m.key;
  kad_peers_out *o = lp2p_mem_malloc(h->mem, 2 * sizeof *o);
  if (!o)
    return LP2P_ERR_NOMEM;
  kad_peers_out *po = o + 1;
  o->n = po->n = 0;
  char tr[32];
  switch (m.type) {
  case LP2P_KAD_PING:
    break;
  case LP2P_KAD_FIND_NODE:
    closer_peers(h, v, m.key.p, m.key.n, sender, o, now);
    break;
  case LP2P_KAD_GET_VALUE: {
    size_t vl = 0;
    uint64_t t = 0;
    const uint8_t *val = NULL;
    lp2p_peerid id;
    if (m.key.n > 4 && !memcmp(m.key.p, "/pk/", 4) &&
        lp2p_peerid_from_bytes(&id, m.key.p + 4, m.key.n - 4) == 0) {
      t = h->unix_ns;
      if (lp2p_peerid_equal(&id, &h->self)) {
        val = h->self_pubkey;
        vl = h->self_pubkey_len;
      } else {
        const hpeer *p = host_peer_find(h, &id);
        if (p && p->pubkey) {
          val = p->pubkey;
          vl = p->pubkey_len;
        }
      }
    }
    if (!val)
      val = lp2p_kad_records_get(v->records, m.key.p, m.key.n, now, &vl, &t);
    if (val) {
      r.has_record = 1;
      r.rec_key = m.key;
      r.rec_value.p = val;
      r.rec_value.n = vl;
      lp2p_rfc3339_format(t, tr);
      r.rec_time.p = (const uint8_t *)tr;
      r.rec_time.n = strlen(tr);
    }
    closer_peers(h, v, m.key.p, m.key.n, sender, o, now);
    break;
  }
  case LP2P_KAD_PUT_VALUE:
    rc = handle_put(h, v, &m, now);
    if (!rc) { /* echo the request (spec) */
      r = m;
      r.closer_n = r.providers_n = 0;
    }
    break;
  case LP2P_KAD_ADD_PROVIDER:
    handle_add_provider(h, v, ks, &m, now);
    lp2p_mem_free(h->mem, o);
    return 0; /* no reply */
  case LP2P_KAD_GET_PROVIDERS:
    if (!key_is_provider_key(m.key.p, m.key.n)) {
      rc = LP2P_ERR_INVAL;
      break;
    }
    stored_providers(h, v, m.key.p, m.key.n, po, now);
    closer_peers(h, v, m.key.p, m.key.n, sender, o, now);
    break;
  default:
    rc = LP2P_ERR_UNSUPPORTED;
    break;
  }
  if (!rc) {
    if (o->n) {
      r.closer = o->peers;
      r.closer_n = o->n;
    }
    if (po->n) {
      r.providers = po->peers;
      r.providers_n = po->n;
    }
    rc = kad_write_msg(h, ks->stream, &r, now);
  }
  lp2p_mem_free(h->mem, o);
  return rc;
}

void kad_serve_stream(lp2p_host *h, kad_svc *v, kad_stream *ks,
                      lp2p_tstamp now) {
  for (;;) {
    int rc = kad_read_frame(h, ks, v->cfg.request_bytes_max, now);
    if (rc == 0)
      return;
    if (rc < 0) {
      if (rc == LP2P_ERR_EOF && !ks->have) { /* done: close our side */
        if (!host_svc_local_closed(h, ks->stream))
          host_svc_close(h, ks->stream, now);
        return;
      }
      host_svc_reset(h, ks->stream, now);
      kad_stream_free(h, ks);
      return;
    }
    rc = serve_one(h, v, ks, ks->buf + ks->body_off, ks->body_len, now);
    kad_frame_done(ks);
    if (rc) {
      host_logf(h, LP2P_LOG_DEBUG, "kad: request refused: %E", rc);
      host_svc_reset(h, ks->stream, now);
      kad_stream_free(h, ks);
      return;
    }
    host_svc_stream_deadline(h, ks->stream,
                             host_add_ns(now, v->cfg.stream_timeout_ns));
  }
}
