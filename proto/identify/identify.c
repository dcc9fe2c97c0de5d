/* Identify service (identify spec): /ipfs/id/1.0.0 and /ipfs/id/push/1.0.0.
 *
 * Roles per stream:
 *   REQ      outbound /ipfs/id: half-close at once, read until EOF, merge
 *   RESP     inbound  /ipfs/id: write our Identify message, close
 *   PUSH_OUT outbound /ipfs/id/push: write our message, close
 *   PUSH_IN  inbound  /ipfs/id/push: read until EOF, apply present fields
 * Reads accumulate the message bodies (several length-prefixed messages
 * merge, see identify_msg.h) in a buffer that grows with the data, up to
 * 4 x identify_msg_bytes_max; writes go out as the window allows. */
#include "lp2p/record.h"
#include "lp2p/varint.h"
#include "proto/host/host_internal.h"
#include "proto/identify/identify_msg.h"

enum { ID_REQ = 1, ID_RESP, ID_PUSH_OUT, ID_PUSH_IN };

typedef struct id_state {
  uint8_t role;
  uint8_t done;
  uint8_t *buf;        /* outgoing message, or accumulated bodies */
  size_t alloc;        /* bytes allocated at buf */
  size_t len, off;     /* writer: message length, bytes written */
  lp2p_id_reader rd;   /* reader roles */
} id_state;

#define ADDRS_SENT_MAX 32

static id_state *state_new(lp2p_host *h, hstream *s, uint8_t role,
                           lp2p_tstamp now) {
  id_state *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return NULL;
  st->role = role;
  s->svc = st;
  s->deadline = host_add_ns(now, h->cfg.identify_timeout_ns);
  if (role == ID_REQ || role == ID_PUSH_IN)
    lp2p_id_reader_init(&st->rd, NULL, 4 * (size_t)h->cfg.identify_msg_bytes_max,
                        h->cfg.identify_msg_bytes_max);
  return st;
}

static void st_free(lp2p_host *h, hstream *s) {
  id_state *st = s->svc;
  if (!st)
    return;
  lp2p_mem_free(h->mem, st->buf);
  st->buf = NULL;
  st->alloc = 0;
}

void id_svc_release(lp2p_host *h, hstream *s) { st_free(h, s); }

/* ---- building our message --------------------------------------------- */

/* Our signed peer record (RFC 0003) for the advertised addresses, sealed
 * again only when they change. The seq is the wall-clock time in ns when
 * the driver gave it (go-libp2p does the same), always increasing. */
static void seal_record(lp2p_host *h, const lp2p_maddr *addrs, size_t n) {
  if (h->spr && h->spr_version == h->addrs_version)
    return;
  if (n > LP2P_PEER_RECORD_ADDRS_MAX)
    n = LP2P_PEER_RECORD_ADDRS_MAX;
  uint64_t seq = h->unix_ns > h->spr_seq ? h->unix_ns : h->spr_seq + 1;
  size_t need = 0;
  lp2p_peer_record_seal(h->key, seq, addrs, n, NULL, 0, &need);
  uint8_t *buf = need ? lp2p_mem_malloc(h->mem, need) : NULL;
  if (!buf || lp2p_peer_record_seal(h->key, seq, addrs, n, buf, need,
                                    &need) != 0) {
    lp2p_mem_free(h->mem, buf);
    return; /* sent without a record; tried again next time */
  }
  lp2p_mem_free(h->mem, h->spr);
  h->spr = buf;
  h->spr_len = need;
  h->spr_seq = seq;
  h->spr_version = h->addrs_version;
}

/* Encode our Identify message, varint-prefixed, into a new buffer. */
static int build(lp2p_host *h, hconn *c, id_state *st) {
  lp2p_maddr *addrs = NULL;
  lp2p_id_slice *la = NULL, *pr = NULL;
  size_t naddrs = 0;
  int rc = LP2P_ERR_NOMEM;
  lp2p_host_addrs(h, NULL, 0, &naddrs);
  if (naddrs > ADDRS_SENT_MAX)
    naddrs = ADDRS_SENT_MAX;
  if (naddrs) {
    addrs = lp2p_mem_malloc(h->mem, naddrs * sizeof *addrs);
    la = lp2p_mem_malloc(h->mem, naddrs * sizeof *la);
    if (!addrs || !la)
      goto out;
    size_t total = 0;
    lp2p_host_addrs(h, addrs, naddrs, &total);
    for (size_t i = 0; i < naddrs; i++) {
      la[i].p = addrs[i].bytes;
      la[i].len = addrs[i].len;
    }
  }
  pr = lp2p_mem_malloc(h->mem, (h->nprotos ? h->nprotos : 1) * sizeof *pr);
  if (!pr)
    goto out;
  size_t npr = 0;
  for (uint16_t i = 0; i < h->nprotos; i++)
    if (h->protos[i].flags & HPROTO_ADVERTISE) {
      pr[npr].p = (const uint8_t *)h->protos[i].name;
      pr[npr].len = h->protos[i].len;
      npr++;
    }
  seal_record(h, addrs, naddrs);
  lp2p_maddr obs;
  lp2p_id_fields f;
  memset(&f, 0, sizeof f);
  if (h->spr) {
    f.signed_peer_record.p = h->spr;
    f.signed_peer_record.len = h->spr_len;
  }
  f.protocol_version.p = (const uint8_t *)h->proto_version;
  f.protocol_version.len = strlen(h->proto_version);
  f.agent_version.p = (const uint8_t *)h->agent;
  f.agent_version.len = strlen(h->agent);
  f.public_key.p = h->self_pubkey;
  f.public_key.len = h->self_pubkey_len;
  if (lp2p_sockaddr_to_maddr(&obs, &c->remote) == 0) {
    f.observed_addr.p = obs.bytes;
    f.observed_addr.len = obs.len;
  }
  f.listen_addrs = la;
  f.listen_addrs_len = naddrs;
  f.protocols = pr;
  f.protocols_len = npr;
  size_t body = 0;
  lp2p_id_encode(&f, NULL, 0, &body);
  size_t pre = lp2p_varint_len(body);
  st->buf = lp2p_mem_malloc(h->mem, pre + body);
  if (!st->buf)
    goto out;
  st->alloc = pre + body;
  lp2p_varint_encode(body, st->buf, pre, NULL);
  rc = lp2p_id_encode(&f, st->buf + pre, body, NULL);
  st->len = pre + body;
  st->off = 0;
out:
  lp2p_mem_free(h->mem, addrs);
  lp2p_mem_free(h->mem, la);
  lp2p_mem_free(h->mem, pr);
  return rc;
}

/* ---- applying a received message ---------------------------------------- */

static void done_event(lp2p_host *h, hstream *s, int err) {
  const id_state *st = s->svc;
  if (st && st->role == ID_REQ) /* every end of a request passes here */
    s->conn->id_running = 0;
  hevent *e = host_ev_push(h, LP2P_HOST_EV_IDENTIFY_DONE);
  e->conn = s->conn->id;
  e->err = err;
  e->dir = (int8_t)(s->dir);
  if (s->conn->peer)
    e->peer = s->conn->peer->id;
}

static int apply(lp2p_host *h, hstream *s, id_state *st, lp2p_tstamp now) {
  hpeer *p = s->conn->peer;
  if (!p)
    return LP2P_ERR_STATE;
  lp2p_id_limits lim;
  lp2p_id_limits_default(&lim);
  lim.protocols_max = h->cfg.protocols_per_peer_max;
  lim.listen_addrs_max = 4 * (size_t)h->cfg.addrs_per_peer_max;
  lim.addr_bytes_max = LP2P_MADDR_MAX;
  lp2p_id_view v;
  int rc = lp2p_id_parse(&v, st->buf, st->rd.len, &lim);
  if (rc)
    return rc;
  /* The key must be the one the secure channel authenticated. */
  if (v.has & (1u << LP2P_ID_F_PUBLIC_KEY)) {
    lp2p_pubkey k;
    if (lp2p_pubkey_unmarshal(&k, v.public_key.p, v.public_key.len) != 0 ||
        !lp2p_peerid_matches_pubkey(&p->id, &k))
      return LP2P_ERR_PEER_ID_MISMATCH;
    host_peer_set_pubkey(h, p, v.public_key.p, v.public_key.len);
  }
  if (v.has & (1u << LP2P_ID_F_AGENT_VERSION))
    host_peer_set_str(h, &p->agent, v.agent_version.p, v.agent_version.len);
  if (v.has & (1u << LP2P_ID_F_PROTOCOL_VERSION))
    host_peer_set_str(h, &p->proto_version, v.protocol_version.p,
                      v.protocol_version.len);
  /* A full identify replaces the protocol list; a push replaces it only
   * when the field is present (identify spec, "identify/push"). */
  if (st->role == ID_REQ || (v.has & (1u << LP2P_ID_F_PROTOCOLS))) {
    size_t bytes = 0, pos = 0;
    lp2p_id_slice sl;
    while (lp2p_id_next(&v, LP2P_ID_F_PROTOCOLS, &pos, &sl))
      bytes += sl.len + 1;
    char *packed = bytes ? lp2p_mem_malloc(h->mem, bytes) : NULL;
    if (bytes && !packed)
      return LP2P_ERR_NOMEM;
    size_t k = 0;
    pos = 0;
    while (lp2p_id_next(&v, LP2P_ID_F_PROTOCOLS, &pos, &sl)) {
      memcpy(packed + k, sl.p, sl.len);
      k += sl.len;
      packed[k++] = 0;
    }
    rc = host_peer_set_protocols(h, p, packed, bytes, v.protocols_len);
    lp2p_mem_free(h->mem, packed);
    if (rc)
      return rc;
  }
  size_t pos = 0;
  lp2p_id_slice sl;
  lp2p_tstamp exp = host_add_ns(now, h->cfg.peer_addr_ttl_ns);
  size_t stored = 0;
  while (lp2p_id_next(&v, LP2P_ID_F_LISTEN_ADDRS, &pos, &sl) &&
         stored < h->cfg.addrs_per_peer_max) {
    lp2p_maddr m;
    if (lp2p_maddr_from_bytes(&m, sl.p, sl.len) != 0)
      continue; /* unknown transports are fine, just not stored */
    lp2p_maddr_strip_peer_id(&m);
    if (m.len && host_peer_add_addr_bytes(h, p, m.bytes, m.len, exp) == 0)
      stored++;
  }
  /* A signed peer record from the peer itself certifies its addresses. */
  if (v.has & (1u << LP2P_ID_F_SIGNED_PEER_RECORD)) {
    lp2p_peer_record *rec = lp2p_mem_malloc(h->mem, sizeof *rec);
    if (rec) {
      if (lp2p_peer_record_open(v.signed_peer_record.p,
                                v.signed_peer_record.len, rec, NULL) == 0 &&
          lp2p_peerid_equal(&rec->peer_id, &p->id)) {
        for (size_t i = 0; i < rec->addrs_len &&
                           stored < h->cfg.addrs_per_peer_max;
             i++) {
          lp2p_maddr_strip_peer_id(&rec->addrs[i]);
          if (rec->addrs[i].len &&
              host_peer_add_addr_bytes(h, p, rec->addrs[i].bytes,
                                       rec->addrs[i].len, exp) == 0)
            stored++;
        }
      }
      lp2p_mem_free(h->mem, rec);
    }
  }
  if (v.has & (1u << LP2P_ID_F_OBSERVED_ADDR)) {
    lp2p_maddr m;
    if (lp2p_maddr_from_bytes(&m, v.observed_addr.p, v.observed_addr.len) ==
        0) {
      host_peer_set_observed(h, p, m.bytes, m.len);
      host_addr_observed(h, &p->id, &m, now);
    }
  }
  p->identified = 1;
  return 0;
}

/* ---- stream roles ----------------------------------------------------------- */

int id_request(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  /* One outbound identify per connection: a request while one runs joins
   * it (its IDENTIFY_DONE answers both). Peers may accept only one inbound
   * identify stream per connection at a time (js-libp2p resets a second). */
  if (c->id_running)
    return 0;
  hstream *s;
  int rc = host_stream_open(h, c, h->proto_identify, SVC_IDENTIFY, now, &s);
  if (rc)
    return rc;
  if (!state_new(h, s, ID_REQ, now)) {
    host_stream_reset_raw(h, s, now);
    return LP2P_ERR_NOMEM;
  }
  c->id_running = 1;
  /* We send nothing: the FIN follows the (lazy) proposal. */
  host_stream_close_raw(h, s, now);
  return 0;
}

static int push_one(lp2p_host *h, hconn *c, lp2p_tstamp now) {
  hstream *s;
  int rc = host_stream_open(h, c, h->proto_push, SVC_PUSH, now, &s);
  if (rc)
    return rc;
  id_state *st = state_new(h, s, ID_PUSH_OUT, now);
  if (!st || build(h, c, st) != 0) {
    host_stream_reset_raw(h, s, now);
    return LP2P_ERR_NOMEM;
  }
  id_svc_activity(h, s, now);
  return 0;
}

void id_push_all(lp2p_host *h, lp2p_tstamp now) {
  if (!(h->cfg.services & LP2P_HOST_SVC_IDENTIFY) || h->closing)
    return;
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL) {
    if (c->state != HC_OPEN || !c->peer || !c->peer->identified)
      continue;
    if (host_peer_best_conn(h, c->peer) != c)
      continue;
    if (!lp2p_host_peer_supports(h, &c->peer->id, LP2P_ID_PUSH_PROTOCOL))
      continue;
    push_one(h, c, now);
    host_conn_pump(h, c, now);
  }
}

int id_svc_start(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  uint8_t role = s->svc_kind == SVC_PUSH ? ID_PUSH_IN : ID_RESP;
  id_state *st = state_new(h, s, role, now);
  if (!st || (role == ID_RESP && build(h, s->conn, st) != 0)) {
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  return id_svc_activity(h, s, now);
}

static int write_role(lp2p_host *h, hstream *s, id_state *st,
                      lp2p_tstamp now) {
  while (st->off < st->len) {
    lp2p_ssize w = host_stream_write_raw(h, s, now, st->buf + st->off,
                                         st->len - st->off);
    if (w < 0) {
      host_stream_reset_raw(h, s, now);
      return -1;
    }
    if (w == 0)
      return 0;
    st->off += (size_t)w;
  }
  if (!(s->flags & HS_LOCAL_CLOSED)) {
    host_stream_close_raw(h, s, now);
    lp2p_mem_free(h->mem, st->buf);
    st->buf = NULL;
    st->len = st->off = 0;
  }
  /* Whatever the peer sends on this stream is dropped. */
  for (;;) {
    size_t len = 0;
    host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    host_stream_consume_raw(h, s, now, len);
  }
  return 0;
}

static int read_role(lp2p_host *h, hstream *s, id_state *st,
                     lp2p_tstamp now) {
  if (st->done)
    return 0;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_stream_peek_raw(h, s, &len);
    if (!len)
      break;
    /* Storage for what this chunk can add, never above the limit. */
    size_t need = st->rd.len + len;
    if (need > st->rd.cap)
      need = st->rd.cap;
    if (need > st->alloc) {
      size_t ncap = st->alloc ? st->alloc * 2 : 1024;
      if (ncap < need)
        ncap = need;
      if (ncap > st->rd.cap)
        ncap = st->rd.cap;
      uint8_t *nb = lp2p_mem_realloc(h->mem, st->buf, st->alloc, ncap);
      if (!nb) {
        if (st->role == ID_REQ)
          done_event(h, s, LP2P_ERR_NOMEM);
        st->done = 1;
        host_stream_reset_raw(h, s, now);
        return -1;
      }
      st->buf = nb;
      st->alloc = ncap;
      st->rd.buf = nb;
    }
    lp2p_ssize k = lp2p_id_reader_feed(&st->rd, p, len);
    if (k < 0) {
      done_event(h, s, (int)k);
      st->done = 1;
      host_stream_reset_raw(h, s, now);
      return -1;
    }
    host_stream_consume_raw(h, s, now, (size_t)k);
  }
  if (!host_stream_eof_raw(h, s) || st->done)
    return 0;
  st->done = 1;
  int rc = lp2p_id_reader_finish(&st->rd);
  if (rc == 0)
    rc = apply(h, s, st, now);
  done_event(h, s, rc);
  lp2p_mem_free(h->mem, st->buf);
  st->buf = NULL;
  st->alloc = 0;
  s->deadline = LP2P_TSTAMP_NONE;
  if (rc) {
    host_stream_reset_raw(h, s, now);
    return -1;
  }
  host_stream_close_raw(h, s, now); /* PUSH_IN: our side too */
  return 0;
}

int id_svc_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  id_state *st = s->svc;
  if (!st)
    return 0;
  if (st->role == ID_RESP || st->role == ID_PUSH_OUT)
    return write_role(h, s, st, now);
  return read_role(h, s, st, now);
}

void id_svc_end(lp2p_host *h, hstream *s, int err, lp2p_tstamp now) {
  (void)now;
  id_state *st = s->svc;
  if (!st)
    return;
  if ((st->role == ID_REQ || st->role == ID_PUSH_IN) && !st->done) {
    st->done = 1;
    done_event(h, s, err ? err : LP2P_ERR_EOF);
  }
  st_free(h, s);
}

int id_svc_timeout(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  id_state *st = s->svc;
  if (st && (st->role == ID_REQ || st->role == ID_PUSH_IN) && !st->done) {
    st->done = 1;
    done_event(h, s, LP2P_ERR_TIMEOUT);
  }
  if (st)
    st_free(h, s);
  host_stream_reset_raw(h, s, now);
  return -1;
}
