/* Identify service (identify spec): /ipfs/id/1.0.0 and /ipfs/id/push/1.0.0.
 *
 * Roles per stream:
 *   REQ      outbound /ipfs/id: half-close at once, read until EOF, merge
 *   RESP     inbound  /ipfs/id: write our Identify message, close
 *   PUSH_OUT outbound /ipfs/id/push: write our message, close
 *   PUSH_IN  inbound  /ipfs/id/push: read until EOF, apply present fields
 * Reads accumulate the message bodies (several length-prefixed messages
 * merge, see identify_msg.h) in a buffer that grows with the data, up to
 * 4 x identify.msg_bytes_max; writes go out as the window allows.
 *
 * As a service: every new connection is identified (peer_connected), our
 * changes are pushed (local_changed), and a completed identify tells the
 * other services (host_svc_notify_identified). One outbound identify per
 * connection: lp2p_host_identify joins one already running (js-libp2p
 * accepts a single inbound identify stream per connection and resets a
 * second one). */
#include "lp2p/record.h"
#include "lp2p/varint.h"
#include "proto/host/host_internal.h"
#include "proto/identify/identify_msg.h"
#include "proto/identify/identify_record.h"

enum { ID_REQ = 1, ID_RESP, ID_PUSH_OUT, ID_PUSH_IN };

typedef struct id_svc {
  uint32_t svc;
  uint16_t proto_id, proto_push;
  uint8_t *spr;          /* our sealed peer record (identify field 8) */
  size_t spr_len;
  uint64_t spr_version;  /* h->addrs_version it was sealed for */
  uint64_t spr_seq;
} id_svc;

typedef struct id_state {
  uint64_t conn;
  uint8_t dir;
  uint8_t role;
  uint8_t done;
  uint8_t *buf;        /* outgoing message, or accumulated bodies */
  size_t alloc;        /* bytes allocated at buf */
  size_t len, off;     /* writer: message length, bytes written */
  lp2p_id_reader rd;   /* reader roles */
} id_state;

#define ADDRS_SENT_MAX 32

static id_state *state_new(lp2p_host *h, uint64_t conn, uint8_t role) {
  id_state *st = lp2p_mem_calloc(h->mem, 1, sizeof *st);
  if (!st)
    return NULL;
  st->conn = conn;
  st->role = role;
  st->dir = role == ID_REQ || role == ID_PUSH_OUT ? LP2P_DIR_OUTBOUND
                                                  : LP2P_DIR_INBOUND;
  if (role == ID_REQ || role == ID_PUSH_IN)
    lp2p_id_reader_init(&st->rd, NULL,
                        4 * (size_t)h->cfg.identify.msg_bytes_max,
                        h->cfg.identify.msg_bytes_max);
  return st;
}

static void st_free(lp2p_host *h, id_state *st) {
  if (!st)
    return;
  lp2p_mem_free(h->mem, st->buf);
  lp2p_mem_free(h->mem, st);
}

/* Reset the stream and forget its state. */
static void st_drop(lp2p_host *h, uint64_t stream, id_state *st,
                    lp2p_tstamp now) {
  host_svc_reset(h, stream, now);
  st_free(h, st);
}

/* ---- building our message --------------------------------------------- */

/* Our signed peer record (RFC 0003) for the advertised addresses, sealed
 * again only when they change. The seq is the wall-clock time in ns when
 * the driver gave it (go-libp2p does the same), always increasing. */
static void seal_record(lp2p_host *h, id_svc *v, const lp2p_maddr *addrs,
                        size_t n) {
  if (v->spr && v->spr_version == h->addrs_version)
    return;
  if (n > LP2P_PEER_RECORD_ADDRS_MAX)
    n = LP2P_PEER_RECORD_ADDRS_MAX;
  uint64_t seq = h->unix_ns > v->spr_seq ? h->unix_ns : v->spr_seq + 1;
  size_t need = 0;
  lp2p_peer_record_seal(h->key, seq, addrs, n, NULL, 0, &need);
  uint8_t *buf = need ? lp2p_mem_malloc(h->mem, need) : NULL;
  if (!buf || lp2p_peer_record_seal(h->key, seq, addrs, n, buf, need,
                                    &need) != 0) {
    lp2p_mem_free(h->mem, buf);
    return; /* sent without a record; tried again next time */
  }
  lp2p_mem_free(h->mem, v->spr);
  v->spr = buf;
  v->spr_len = need;
  v->spr_seq = seq;
  v->spr_version = h->addrs_version;
}

/* Encode our Identify message, varint-prefixed, into a new buffer. */
static int build(lp2p_host *h, id_svc *v, id_state *st) {
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
  seal_record(h, v, addrs, naddrs);
  lp2p_maddr obs;
  lp2p_id_fields f;
  memset(&f, 0, sizeof f);
  if (v->spr) {
    f.signed_peer_record.p = v->spr;
    f.signed_peer_record.len = v->spr_len;
  }
  f.protocol_version.p = (const uint8_t *)h->proto_version;
  f.protocol_version.len = strlen(h->proto_version);
  f.agent_version.p = (const uint8_t *)h->agent;
  f.agent_version.len = strlen(h->agent);
  f.public_key.p = h->self_pubkey;
  f.public_key.len = h->self_pubkey_len;
  if (host_svc_conn_remote(h, st->conn, &obs) == 0) {
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

static void done_event(lp2p_host *h, id_state *st, int err) {
  hevent *e = host_ev_push(h, LP2P_HOST_EV_IDENTIFY_DONE);
  e->conn = st->conn;
  e->err = err;
  e->u.identify.direction = st->dir;
  const lp2p_peerid *p = host_svc_conn_peer(h, st->conn);
  if (p)
    e->peer = *p;
}

static int apply(lp2p_host *h, id_state *st, lp2p_tstamp now) {
  const lp2p_peerid *pid = host_svc_conn_peer(h, st->conn);
  hpeer *p = pid ? host_peer_find(h, pid) : NULL;
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
      if (!id_record_redundant(&v, &p->id, rec) &&
          lp2p_peer_record_open(v.signed_peer_record.p,
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
      /* on a connection of our listen port (inbound, or dialled from it)
       * the observation is an address peers can reach us at */
      hconn *c = host_conn_get(h, st->conn);
      int lp = 0;
      for (uint32_t i = 0; c && !c->car && i < h->nlisteners && !lp; i++)
        lp = h->listeners[i].live && h->listeners[i].bound.port &&
             h->listeners[i].bound.port == c->local.port;
      host_addr_observed(h, &p->id, &m, lp, now);
    }
  }
  p->identified = 1;
  return 0;
}

/* ---- stream roles ----------------------------------------------------------- */

static void id_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                        lp2p_tstamp now);

/* Open an outbound identify or push stream with its state. */
static int open_role(lp2p_host *h, id_svc *v, uint64_t conn, uint8_t role,
                     lp2p_tstamp now, uint64_t *stream, id_state **out) {
  id_state *st = state_new(h, conn, role);
  if (!st)
    return LP2P_ERR_NOMEM;
  int rc = host_svc_open(h, v->svc, conn,
                         role == ID_REQ ? v->proto_id : v->proto_push, st,
                         now, stream);
  if (rc) {
    st_free(h, st);
    return rc;
  }
  host_svc_stream_deadline(h, *stream,
                           host_add_ns(now, h->cfg.identify.timeout_ns));
  *out = st;
  return 0;
}

/* Identify the peer of conn, or join the identify already running on it. */
static int request(lp2p_host *h, id_svc *v, uint64_t conn, lp2p_tstamp now) {
  uint64_t pos = 0;
  hsvc_stream_info info;
  while (host_svc_stream_next(h, v->svc, conn, &pos, &info)) {
    const id_state *o = info.ud;
    if (o && o->role == ID_REQ && !o->done)
      return 0; /* its IDENTIFY_DONE answers this call too */
  }
  uint64_t stream;
  id_state *st;
  int rc = open_role(h, v, conn, ID_REQ, now, &stream, &st);
  if (rc)
    return rc;
  /* We send nothing: the FIN follows the (lazy) proposal. */
  host_svc_close(h, stream, now);
  return 0;
}

static int push_one(lp2p_host *h, id_svc *v, uint64_t conn,
                    lp2p_tstamp now) {
  uint64_t stream;
  id_state *st;
  int rc = open_role(h, v, conn, ID_PUSH_OUT, now, &stream, &st);
  if (rc)
    return rc;
  if (build(h, v, st) != 0) {
    st_drop(h, stream, st, now);
    return LP2P_ERR_NOMEM;
  }
  id_activity(h, v, stream, st, now);
  return 0;
}

/* identify spec, "identify/push": tell every identified peer that
 * supports push (once per peer, on its best connection). */
static void push_all(lp2p_host *h, id_svc *v, lp2p_tstamp now) {
  uint32_t pos = 0;
  uint64_t conn;
  while ((conn = host_svc_conn_next(h, &pos)) != 0) {
    const lp2p_peerid *pid = host_svc_conn_peer(h, conn);
    hpeer *p = pid ? host_peer_find(h, pid) : NULL;
    if (!p || !p->identified || host_svc_peer_conn(h, pid) != conn)
      continue;
    if (!lp2p_host_peer_supports(h, pid, LP2P_ID_PUSH_PROTOCOL))
      continue;
    push_one(h, v, conn, now);
  }
}

static int write_role(lp2p_host *h, uint64_t s, id_state *st,
                      lp2p_tstamp now) {
  while (st->off < st->len) {
    lp2p_ssize w = host_svc_write(h, s, now, st->buf + st->off,
                                  st->len - st->off);
    if (w < 0) {
      st_drop(h, s, st, now);
      return -1;
    }
    if (w == 0)
      return 0;
    st->off += (size_t)w;
  }
  if (!host_svc_local_closed(h, s)) {
    host_svc_close(h, s, now);
    lp2p_mem_free(h->mem, st->buf);
    st->buf = NULL;
    st->len = st->off = 0;
  }
  /* Whatever the peer sends on this stream is dropped. */
  for (;;) {
    size_t len = 0;
    host_svc_peek(h, s, &len);
    if (!len)
      break;
    host_svc_consume(h, s, now, len);
  }
  return 0;
}

/* Finish a reader role with `err`: the result event once. */
static void read_done(lp2p_host *h, id_state *st, int err) {
  if (st->done)
    return;
  st->done = 1;
  done_event(h, st, err);
}

static int read_role(lp2p_host *h, uint64_t s, id_state *st,
                     lp2p_tstamp now) {
  if (st->done)
    return 0;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, s, &len);
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
        read_done(h, st, LP2P_ERR_NOMEM);
        st_drop(h, s, st, now);
        return -1;
      }
      st->buf = nb;
      st->alloc = ncap;
      st->rd.buf = nb;
    }
    lp2p_ssize k = lp2p_id_reader_feed(&st->rd, p, len);
    if (k < 0) {
      read_done(h, st, (int)k);
      st_drop(h, s, st, now);
      return -1;
    }
    host_svc_consume(h, s, now, (size_t)k);
  }
  if (!host_svc_at_eof(h, s))
    return 0;
  int rc = lp2p_id_reader_finish(&st->rd);
  if (rc == 0)
    rc = apply(h, st, now);
  read_done(h, st, rc);
  lp2p_mem_free(h->mem, st->buf);
  st->buf = NULL;
  st->alloc = 0;
  host_svc_stream_deadline(h, s, LP2P_TSTAMP_NONE);
  if (rc) {
    st_drop(h, s, st, now);
    return -1;
  }
  host_svc_close(h, s, now); /* PUSH_IN: our side too */
  host_svc_notify_identified(h, st->conn, now);
  return 0;
}

static void id_activity(lp2p_host *h, void *state, uint64_t stream, void *ud,
                        lp2p_tstamp now) {
  (void)state;
  id_state *st = ud;
  if (!st)
    return;
  if (st->role == ID_RESP || st->role == ID_PUSH_OUT)
    write_role(h, stream, st, now);
  else
    read_role(h, stream, st, now);
}

static void id_start(lp2p_host *h, void *state, uint64_t stream,
                     uint64_t conn, uint16_t proto, lp2p_tstamp now) {
  id_svc *v = state;
  uint8_t role = proto == v->proto_push ? ID_PUSH_IN : ID_RESP;
  id_state *st = state_new(h, conn, role);
  if (!st) {
    host_svc_reset(h, stream, now);
    return;
  }
  if (role == ID_RESP && build(h, v, st) != 0) {
    st_drop(h, stream, st, now);
    return;
  }
  host_svc_stream_set_ud(h, stream, st);
  host_svc_stream_deadline(h, stream,
                           host_add_ns(now, h->cfg.identify.timeout_ns));
  id_activity(h, state, stream, st, now);
}

static void id_end(lp2p_host *h, void *state, uint64_t stream, void *ud,
                   int err, lp2p_tstamp now) {
  (void)state;
  (void)stream;
  (void)now;
  id_state *st = ud;
  if (!st)
    return;
  if (st->role == ID_REQ || st->role == ID_PUSH_IN)
    read_done(h, st, err ? err : LP2P_ERR_EOF);
  st_free(h, st);
}

static void id_timeout(lp2p_host *h, void *state, uint64_t stream, void *ud,
                       lp2p_tstamp now) {
  (void)state;
  id_state *st = ud;
  if (st && (st->role == ID_REQ || st->role == ID_PUSH_IN))
    read_done(h, st, LP2P_ERR_TIMEOUT);
  st_drop(h, stream, st, now);
}

static void id_peer_connected(lp2p_host *h, void *state, uint64_t conn,
                              lp2p_tstamp now) {
  if (h->cfg.identify.auto_identify)
    request(h, state, conn, now);
}

static void id_local_changed(lp2p_host *h, void *state, unsigned what,
                             lp2p_tstamp now) {
  /* A new AutoNAT candidate alone (HSVC_LOCAL_CANDIDATES) changes
   * nothing we tell peers. */
  if (!(what & (HSVC_LOCAL_ADDRS | HSVC_LOCAL_PROTOCOLS)))
    return;
  if (h->cfg.identify.auto_identify && !h->closing)
    push_all(h, state, now);
}

static int id_init(lp2p_host *h, uint32_t svc, void **state) {
  id_svc *v = lp2p_mem_calloc(h->mem, 1, sizeof *v);
  if (!v)
    return LP2P_ERR_NOMEM;
  *state = v;
  v->svc = svc;
  const lp2p_host_identify_config *c = &h->cfg.identify;
  if (c->msg_bytes_max < 64 || c->msg_bytes_max > (1u << 20))
    return LP2P_ERR_INVAL;
  int err = 0;
  /* Identify is always answered (identify spec: every peer runs it). */
  v->proto_id = host_svc_add_protocol(h, svc, LP2P_ID_PROTOCOL,
                                      HSVC_P_INBOUND | HSVC_P_ADVERTISE |
                                          HSVC_P_LIMITED,
                                      &err);
  if (err)
    return err;
  v->proto_push = host_svc_add_protocol(
      h, svc, LP2P_ID_PUSH_PROTOCOL,
      c->auto_identify ? HSVC_P_INBOUND | HSVC_P_ADVERTISE | HSVC_P_LIMITED
                       : 0,
      &err);
  return err;
}

static void id_fini(lp2p_host *h, void *state) {
  id_svc *v = state;
  if (!v)
    return;
  lp2p_mem_free(h->mem, v->spr);
  lp2p_mem_free(h->mem, v);
}

const hsvc_ops host_svc_identify_ops = {
    .name = "identify",
    .init = id_init,
    .fini = id_fini,
    .stream_start = id_start,
    .stream_activity = id_activity,
    .stream_end = id_end,
    .stream_timeout = id_timeout,
    .peer_connected = id_peer_connected,
    .local_changed = id_local_changed,
};

static int id_cmd(lp2p_host *h, void *state, uint64_t conn, const void *arg,
                  lp2p_tstamp now) {
  (void)arg;
  return request(h, state, conn, now);
}

int lp2p_host_identify(lp2p_host *h, lp2p_tstamp now,
                       const lp2p_peerid *peer) {
  return host_svc_command(h, now, peer, &host_svc_identify_ops, id_cmd,
                          NULL);
}
