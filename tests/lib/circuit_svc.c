#include "tests/lib/circuit_svc.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct splice splice;

/* Per-stream state: a hop or stop header being read, or one leg of a
 * splice. */
typedef struct leg {
  splice *sp;       /* NULL while reading a header */
  uint64_t stream;
  uint64_t conn;
  uint8_t role;     /* HOP_IN, STOP_IN, LEG */
  uint8_t hdr_len;
  uint8_t hdr[64];
  int dead;
} leg;

enum { HOP_IN = 1, STOP_IN, LEG };

struct splice {
  leg l[2];
  splice *next;
};

typedef struct circuit {
  uint32_t svc;
  uint16_t hop, stop;
  hsvc_carrier_limits lim;
  int has_lim;
  splice *splices;
} circuit;

static const hsvc_ops circuit_ops;

static circuit *state_of(lp2p_host *h) {
  return host_svc_state(h, &circuit_ops, NULL);
}

static int c_init(lp2p_host *h, uint32_t svc, void **state) {
  circuit *c = calloc(1, sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  *state = c;
  c->svc = svc;
  int err = 0;
  c->hop = host_svc_add_protocol(h, svc, CIRCUIT_HOP, HSVC_P_INBOUND, &err);
  if (!err)
    c->stop =
        host_svc_add_protocol(h, svc, CIRCUIT_STOP, HSVC_P_INBOUND, &err);
  return err;
}

static void splice_unlink(circuit *c, splice *sp) {
  for (splice **pp = &c->splices; *pp; pp = &(*pp)->next)
    if (*pp == sp) {
      *pp = sp->next;
      return;
    }
}

static void c_fini(lp2p_host *h, void *state) {
  (void)h;
  circuit *c = state;
  while (c->splices) {
    splice *sp = c->splices;
    c->splices = sp->next;
    free(sp);
  }
  free(c);
}

static int write_hdr(lp2p_host *h, uint64_t s, const lp2p_peerid *id,
                     lp2p_tstamp now) {
  uint8_t b[1 + sizeof id->bytes];
  b[0] = (uint8_t)id->len;
  memcpy(b + 1, id->bytes, id->len);
  return host_svc_write(h, s, now, b, 1u + id->len) == (lp2p_ssize)(1 + id->len)
             ? 0
             : LP2P_ERR_LIMIT;
}

/* Read the header; 1 when complete (then hdr holds the peer id). */
static int read_hdr(lp2p_host *h, leg *g, lp2p_tstamp now) {
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, g->stream, &len);
    if (!len)
      return 0;
    size_t want = g->hdr_len == 0 ? 1 : 1u + g->hdr[0] - g->hdr_len;
    if (g->hdr_len && g->hdr_len == 1u + g->hdr[0])
      return 1;
    size_t k = len < want ? len : want;
    if (g->hdr_len + k > sizeof g->hdr)
      return -1;
    memcpy(g->hdr + g->hdr_len, p, k);
    g->hdr_len = (uint8_t)(g->hdr_len + k);
    host_svc_consume(h, g->stream, now, k);
    if (g->hdr_len == 1 && (g->hdr[0] == 0 || g->hdr[0] > 48))
      return -1;
    if (g->hdr_len > 1 && g->hdr_len == 1u + g->hdr[0])
      return 1;
  }
}

/* Move bytes from one leg to the other as the window allows; carry the
 * half-close over. */
static void copy(lp2p_host *h, leg *from, leg *to, lp2p_tstamp now) {
  if (from->dead || to->dead)
    return;
  for (;;) {
    size_t len = 0;
    const uint8_t *p = host_svc_peek(h, from->stream, &len);
    if (!len)
      break;
    lp2p_ssize w = host_svc_write(h, to->stream, now, p, len);
    if (w < 0)
      w = (lp2p_ssize)len; /* the other side is closed: drop what comes */
    if (w == 0)
      break;
    host_svc_consume(h, from->stream, now, (size_t)w);
  }
  if (host_svc_at_eof(h, from->stream) && !host_svc_local_closed(h, to->stream))
    host_svc_close(h, to->stream, now);
}

static void splice_run(lp2p_host *h, splice *sp, lp2p_tstamp now) {
  copy(h, &sp->l[0], &sp->l[1], now);
  copy(h, &sp->l[1], &sp->l[0], now);
}

static void hop_ready(lp2p_host *h, circuit *c, leg *g, lp2p_tstamp now) {
  lp2p_peerid target;
  memset(&target, 0, sizeof target);
  target.len = g->hdr[0];
  memcpy(target.bytes, g->hdr + 1, target.len);
  uint64_t conn = host_svc_peer_conn(h, &target);
  const lp2p_peerid *from = host_svc_conn_peer(h, g->conn);
  splice *sp = calloc(1, sizeof *sp);
  uint64_t out = 0;
  if (!conn || !from || !sp ||
      host_svc_open(h, c->svc, conn, c->stop, &sp->l[1], now, &out) != 0 ||
      write_hdr(h, out, from, now) != 0) {
    if (out)
      host_svc_reset(h, out, now);
    host_svc_reset(h, g->stream, now);
    free(sp);
    free(g);
    return;
  }
  sp->l[0] = *g;
  sp->l[0].sp = sp;
  sp->l[0].role = LEG;
  sp->l[1].sp = sp;
  sp->l[1].role = LEG;
  sp->l[1].stream = out;
  sp->l[1].conn = conn;
  host_svc_stream_set_ud(h, g->stream, &sp->l[0]);
  free(g);
  sp->next = c->splices;
  c->splices = sp;
  splice_run(h, sp, now);
}

static void stop_ready(lp2p_host *h, circuit *c, leg *g, lp2p_tstamp now) {
  lp2p_peerid initiator;
  memset(&initiator, 0, sizeof initiator);
  initiator.len = g->hdr[0];
  memcpy(initiator.bytes, g->hdr + 1, initiator.len);
  const lp2p_peerid *relay = host_svc_conn_peer(h, g->conn);
  lp2p_maddr remote;
  char txt[300], a[LP2P_PEERID_TEXT_MAX], b[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  memset(&remote, 0, sizeof remote);
  if (relay && lp2p_peerid_to_base58(relay, a, sizeof a, &n) == 0 &&
      lp2p_peerid_to_base58(&initiator, b, sizeof b, &n) == 0) {
    snprintf(txt, sizeof txt, "/p2p/%s/p2p-circuit/p2p/%s", a, b);
    lp2p_maddr_parse(&remote, txt, strlen(txt));
  }
  uint64_t stream = g->stream, conn;
  free(g);
  if (host_svc_carrier_attach(h, stream, LP2P_DIR_INBOUND, NULL, &remote,
                              c->has_lim ? &c->lim : NULL, now, &conn) != 0)
    host_svc_reset(h, stream, now);
}

static void c_activity(lp2p_host *h, void *state, uint64_t s, void *ud,
                       lp2p_tstamp now) {
  circuit *c = state;
  leg *g = ud;
  if (!g)
    return;
  if (g->role == LEG) {
    splice_run(h, g->sp, now);
    return;
  }
  int r = read_hdr(h, g, now);
  if (r < 0) {
    host_svc_reset(h, s, now);
    free(g);
    return;
  }
  if (r == 0)
    return;
  if (g->role == HOP_IN)
    hop_ready(h, c, g, now);
  else
    stop_ready(h, c, g, now);
}

static void c_start(lp2p_host *h, void *state, uint64_t s, uint64_t conn,
                    uint16_t proto, lp2p_tstamp now) {
  circuit *c = state;
  leg *g = calloc(1, sizeof *g);
  if (!g) {
    host_svc_reset(h, s, now);
    return;
  }
  g->stream = s;
  g->conn = conn;
  g->role = proto == c->hop ? HOP_IN : STOP_IN;
  host_svc_stream_set_ud(h, s, g);
  c_activity(h, state, s, g, now);
}

static void c_end(lp2p_host *h, void *state, uint64_t s, void *ud, int err,
                  lp2p_tstamp now) {
  (void)s;
  circuit *c = state;
  leg *g = ud;
  if (!g)
    return;
  if (g->role != LEG) {
    free(g);
    return;
  }
  splice *sp = g->sp;
  g->dead = 1;
  leg *o = &sp->l[g == &sp->l[0] ? 1 : 0];
  if (!o->dead) {
    if (err)
      host_svc_reset(h, o->stream, now); /* an abrupt end goes through */
    else
      copy(h, o, g, now);
    if (err)
      o->dead = 1;
  }
  if (o->dead) {
    splice_unlink(c, sp);
    free(sp);
  }
}

static const hsvc_ops circuit_ops = {
    .name = "circuit-test",
    .init = c_init,
    .fini = c_fini,
    .stream_start = c_start,
    .stream_activity = c_activity,
    .stream_end = c_end,
};

int circuit_svc_add(lp2p_host *h, const hsvc_carrier_limits *lim) {
  int rc = host_svc_register(h, &circuit_ops, NULL);
  if (rc)
    return rc;
  circuit *c = state_of(h);
  if (lim) {
    c->lim = *lim;
    c->has_lim = 1;
  }
  return 0;
}

int circuit_dial(lp2p_host *h, lp2p_tstamp now, const lp2p_peerid *relay,
                 const lp2p_peerid *target, uint64_t *conn) {
  circuit *c = state_of(h);
  uint64_t rc_conn = host_svc_peer_conn(h, relay);
  if (!c || !rc_conn)
    return LP2P_ERR_NOT_FOUND;
  host_enter(h);
  uint64_t s = 0;
  int rc = host_svc_open(h, c->svc, rc_conn, c->hop, NULL, now, &s);
  if (rc == 0)
    rc = write_hdr(h, s, target, now);
  if (rc == 0) {
    char txt[300], a[LP2P_PEERID_TEXT_MAX], b[LP2P_PEERID_TEXT_MAX];
    size_t n = 0;
    lp2p_maddr remote;
    memset(&remote, 0, sizeof remote);
    if (lp2p_peerid_to_base58(relay, a, sizeof a, &n) == 0 &&
        lp2p_peerid_to_base58(target, b, sizeof b, &n) == 0) {
      snprintf(txt, sizeof txt, "/p2p/%s/p2p-circuit/p2p/%s", a, b);
      lp2p_maddr_parse(&remote, txt, strlen(txt));
    }
    rc = host_svc_carrier_attach(h, s, LP2P_DIR_OUTBOUND, target, &remote,
                                 c->has_lim ? &c->lim : NULL, now, conn);
  }
  if (rc && s)
    host_svc_reset(h, s, now);
  host_leave(h, now);
  return rc;
}

size_t circuit_close_all(lp2p_host *h, lp2p_tstamp now) {
  circuit *c = state_of(h);
  size_t n = 0;
  host_enter(h);
  for (splice *sp = c ? c->splices : NULL; sp; sp = sp->next, n++)
    for (int i = 0; i < 2; i++)
      if (!sp->l[i].dead)
        host_svc_close(h, sp->l[i].stream, now);
  host_leave(h, now);
  return n;
}

size_t circuit_splices(lp2p_host *h) {
  circuit *c = state_of(h);
  size_t n = 0;
  for (splice *sp = c ? c->splices : NULL; sp; sp = sp->next)
    n++;
  return n;
}
