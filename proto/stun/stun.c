/* The STUN client engine: one Binding transaction at a time with the
 * RFC 5389 section 7.2.1 retransmission schedule, and the RFC 5780
 * behaviour discovery on top of it:
 *   Test I    Binding to the server             -> X1, OTHER-ADDRESS (A2:P2)
 *   filtering (section 4.4), to the server's primary address:
 *   Test II   CHANGE-REQUEST ip+port: answered (from A2:P2)   -> EIF
 *   Test III  CHANGE-REQUEST port: answered (from S1:P2) -> ADF, silence APDF
 *   mapping (section 4.3), when X1 is not our own address:
 *   Test II   Binding to A2:P1 (other IP)       -> X2; X2 == X1: EIM
 *   Test III  Binding to A2:P2                  -> X3; X3 == X2: ADM, else APDM
 * Filtering runs first: the mapping tests send to A2, and on an
 * endpoint-independent mapping that opens an address-dependent filter to
 * A2, so the change-IP test afterwards would wrongly see EIF (all tests
 * share one socket, hence one mapping).
 * The other way round, an answer the filter let in leaves a session
 * behind (conntrack does; so does the simulator's NAT): a later Binding
 * to the endpoint that answered leaves through the mapping the answer
 * came in on (X1), not a new one. When the change-IP-and-port answer came
 * in from A2:P2, Test III therefore goes to A1:P2 instead and compares
 * with X1 (same IP A1, another port).
 * Silence is an answer only in the filtering tests; a mapping test that
 * times out leaves mapping UNKNOWN. */
#include <string.h>

#include "lp2p/stun.h"

enum step { T1, M2, M3, F2, F3, DONE };

struct lp2p_stun {
  const lp2p_mem *mem;
  lp2p_rng rng;
  lp2p_stun_config cfg;
  lp2p_sockaddr server, local;
  int has_local;
  enum step step;
  /* the current transaction */
  uint8_t txid[12];
  lp2p_sockaddr dst;
  uint8_t req[64];
  size_t req_len;
  int pending; /* req waits for out_peek/consume */
  uint32_t sends, sends_max;
  uint64_t rto;
  lp2p_tstamp timer;
  /* results */
  lp2p_sockaddr x2;  /* what Test III compares with */
  int f2_answered;   /* A2:P2 answered: Test III avoids it */
  lp2p_stun_result res;
  int event_pending;
};

void lp2p_stun_config_default(lp2p_stun_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->discover = 1;
  cfg->rto_ns = 500 * LP2P_NS_PER_MS;
  cfg->rc = 7;
  cfg->rm = 16;
  cfg->rc_tests = 4;
  cfg->fingerprint = 0;
}

static int addr_eq(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}
static int ip_eq(const lp2p_sockaddr *a, const lp2p_sockaddr *b) {
  return a->family == b->family &&
         memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}
static int fam_ok(const lp2p_sockaddr *a) {
  return a && (a->family == 4 || a->family == 6);
}

/* Start a transaction: fresh id (section 6: 96 random bits), first send
 * now, RTO doubling after each send. */
static void begin(lp2p_stun *s, lp2p_tstamp now, enum step step,
                  const lp2p_sockaddr *dst, uint32_t change) {
  s->step = step;
  s->rng.fill(s->rng.ctx, s->txid, sizeof s->txid);
  s->dst = *dst;
  lp2p_stun_binding_request(s->txid, change, s->cfg.fingerprint, s->req,
                            sizeof s->req, &s->req_len);
  s->pending = 1;
  s->sends = 1;
  s->sends_max = step == T1 ? s->cfg.rc : s->cfg.rc_tests;
  s->rto = s->cfg.rto_ns;
  s->timer = now + s->rto;
}

static void finish(lp2p_stun *s, int status) {
  s->res.status = status;
  s->step = DONE;
  s->pending = 0;
  s->timer = LP2P_TSTAMP_NONE;
  s->event_pending = 1;
}

int lp2p_stun_new(lp2p_stun **out, const lp2p_stun_config *cfg,
                  const lp2p_mem *mem, const lp2p_rng *rng, lp2p_tstamp now,
                  const lp2p_sockaddr *server, const lp2p_sockaddr *local) {
  if (!out || !rng || !rng->fill || !fam_ok(server) ||
      (local && !fam_ok(local)))
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_stun_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_stun_config_default(&c);
  /* bounded so that RTO doubling and Rm * RTO cannot overflow time */
  if (c.rto_ns == 0 || c.rto_ns > 60 * LP2P_NS_PER_S || c.rc == 0 ||
      c.rc > 16 || c.rc_tests == 0 || c.rc_tests > 16 || c.rm == 0 ||
      c.rm > 64)
    return LP2P_ERR_INVAL;
  lp2p_stun *s = lp2p_mem_calloc(mem, 1, sizeof *s);
  if (!s)
    return LP2P_ERR_NOMEM;
  s->mem = mem;
  s->rng = *rng;
  s->cfg = c;
  s->server = *server;
  if (local) {
    s->local = *local;
    s->has_local = 1;
  }
  s->res.preserves_port = -1;
  begin(s, now, T1, server, 0);
  *out = s;
  return 0;
}

void lp2p_stun_free(lp2p_stun *s) {
  if (s)
    lp2p_mem_free(s->mem, s);
}

const uint8_t *lp2p_stun_out_peek(const lp2p_stun *s, size_t *len,
                                  lp2p_sockaddr *to) {
  if (len)
    *len = 0;
  if (!s || !s->pending)
    return NULL;
  if (len)
    *len = s->req_len;
  if (to)
    *to = s->dst;
  return s->req;
}

void lp2p_stun_out_consume(lp2p_stun *s) {
  if (s)
    s->pending = 0;
}

lp2p_tstamp lp2p_stun_next_timeout(const lp2p_stun *s) {
  return s ? s->timer : LP2P_TSTAMP_NONE;
}

/* The filtering tests, to the server's primary address. */
static void start_filtering(lp2p_stun *s, lp2p_tstamp now) {
  begin(s, now, F2, &s->server, LP2P_STUN_CHANGE_IP | LP2P_STUN_CHANGE_PORT);
}

/* Filtering is settled: the mapping tests, unless there is no NAT. */
static void after_filtering(lp2p_stun *s, lp2p_tstamp now) {
  if (s->res.mapping == LP2P_NAT_NONE) {
    finish(s, 0);
    return;
  }
  lp2p_sockaddr dst = s->res.other;
  dst.port = s->server.port; /* A2:P1 */
  begin(s, now, M2, &dst, 0);
}

/* This transaction will never be answered. */
static void silent(lp2p_stun *s, lp2p_tstamp now) {
  switch (s->step) {
  case T1:
    finish(s, LP2P_ERR_TIMEOUT);
    break;
  case M2:
  case M3: /* mapping unknown */
    s->res.mapping = LP2P_NAT_UNKNOWN;
    finish(s, 0);
    break;
  case F2: /* nothing from the other address: try the other port */
    begin(s, now, F3, &s->server, LP2P_STUN_CHANGE_PORT);
    break;
  case F3:
    s->res.filtering = LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
    after_filtering(s, now);
    break;
  case DONE:
    break;
  }
}

int lp2p_stun_handle_timeout(lp2p_stun *s, lp2p_tstamp now) {
  if (!s || s->step == DONE || s->timer == LP2P_TSTAMP_NONE || now < s->timer)
    return 0;
  if (s->sends >= s->sends_max) {
    silent(s, now);
    return 0;
  }
  /* 7.2.1: retransmit, double the RTO; after the last send wait Rm RTOs
   * (counted in the initial RTO) instead of a further doubling */
  s->sends++;
  s->pending = 1;
  if (s->sends == s->sends_max)
    s->timer = now + s->cfg.rm * s->cfg.rto_ns;
  else {
    s->rto *= 2;
    s->timer = now + s->rto;
  }
  return 0;
}

/* A mapping test's answer: a new mapping's port, once. */
static void note_port(lp2p_stun *s, const lp2p_sockaddr *x) {
  for (uint8_t i = 0; i < s->res.nports; i++)
    if (s->res.ports[i] == x->port)
      return;
  if (s->res.nports < 3)
    s->res.ports[s->res.nports++] = x->port;
}

static const lp2p_sockaddr *mapped_of(const lp2p_stun_msg *m) {
  return m->has_xor_mapped ? &m->xor_mapped
         : m->has_mapped   ? &m->mapped
                           : NULL;
}

int lp2p_stun_feed(lp2p_stun *s, lp2p_tstamp now, const lp2p_sockaddr *from,
                   const uint8_t *p, size_t n) {
  if (!s || !from || (!p && n))
    return LP2P_ERR_INVAL;
  lp2p_stun_msg m;
  if (s->step == DONE || lp2p_stun_decode(&m, p, n) != 0 ||
      memcmp(m.txid, s->txid, 12) != 0 ||
      (m.type != LP2P_STUN_BINDING_SUCCESS && m.type != LP2P_STUN_BINDING_ERROR))
    return 0; /* not ours: stray, late, or spoofed without the id */
  const lp2p_sockaddr *x = mapped_of(&m);
  if (m.type == LP2P_STUN_BINDING_ERROR || !x) {
    /* An error to CHANGE-REQUEST (420 Unknown Attribute from an RFC 5389
     * only server) means filtering cannot be learned here. */
    if (s->step == F2 || s->step == F3) {
      s->res.filtering = LP2P_NAT_UNKNOWN;
      after_filtering(s, now);
    } else if (s->step == T1) {
      finish(s, LP2P_ERR_PROTO);
    } else {
      s->res.mapping = LP2P_NAT_UNKNOWN;
      finish(s, 0);
    }
    return 0;
  }
  switch (s->step) {
  case T1:
    s->res.mapped = *x;
    s->res.ports[0] = x->port;
    s->res.nports = 1;
    if (m.has_other)
      s->res.other = m.other;
    if (s->has_local)
      s->res.preserves_port = x->port == s->local.port;
    if (!s->cfg.discover) {
      finish(s, 0);
      break;
    }
    if (!m.has_other || !fam_ok(&m.other) || ip_eq(&m.other, &s->server) ||
        m.other.port == s->server.port) {
      /* no RFC 5780 support: nothing more to learn (section 4.1) */
      finish(s, 0);
      break;
    }
    if (s->has_local && addr_eq(x, &s->local))
      s->res.mapping = LP2P_NAT_NONE; /* section 4.3: not behind a NAT */
    start_filtering(s, now);
    break;
  case M2:
    note_port(s, x);
    if (addr_eq(x, &s->res.mapped)) {
      s->res.mapping = LP2P_NAT_ENDPOINT_INDEPENDENT;
      finish(s, 0);
    } else if (s->f2_answered) {
      lp2p_sockaddr dst = s->server;
      dst.port = s->res.other.port; /* A1:P2, against X1 at A1:P1 */
      s->x2 = s->res.mapped;
      begin(s, now, M3, &dst, 0);
    } else {
      s->x2 = *x;
      begin(s, now, M3, &s->res.other, 0); /* A2:P2 */
    }
    break;
  case M3:
    note_port(s, x);
    s->res.mapping = addr_eq(x, &s->x2) ? LP2P_NAT_ADDRESS_DEPENDENT
                                        : LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
    finish(s, 0);
    break;
  case F2:
    /* It must come from the other IP and port; from the primary address
     * the server ignored CHANGE-REQUEST and the answer proves nothing. */
    if (ip_eq(from, &s->server) || from->port == s->server.port) {
      s->res.filtering = LP2P_NAT_UNKNOWN;
    } else {
      s->f2_answered = 1;
      s->res.filtering = s->res.mapping == LP2P_NAT_NONE
                             ? LP2P_NAT_NONE
                             : LP2P_NAT_ENDPOINT_INDEPENDENT;
    }
    after_filtering(s, now);
    break;
  case F3:
    s->res.filtering = from->port == s->server.port
                           ? LP2P_NAT_UNKNOWN
                           : LP2P_NAT_ADDRESS_DEPENDENT;
    after_filtering(s, now);
    break;
  case DONE:
    break;
  }
  return 0;
}

int lp2p_stun_poll_event(lp2p_stun *s, lp2p_stun_event *ev) {
  if (!s || !ev || !s->event_pending)
    return 0;
  s->event_pending = 0;
  memset(ev, 0, sizeof *ev);
  ev->type = LP2P_STUN_EV_DONE;
  ev->result = s->res;
  return 1;
}

int lp2p_stun_result_get(const lp2p_stun *s, lp2p_stun_result *r) {
  if (!s || s->step != DONE)
    return 0;
  if (r)
    *r = s->res;
  return 1;
}
