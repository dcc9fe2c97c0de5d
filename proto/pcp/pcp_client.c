/* The PCP client engine (include/lp2p/pcp.h), MAP requests only.
 *
 * Slots as in natpmp_client.c: a request holds its slot until its one
 * result event is polled, so events need no queue and stay bounded.
 *
 * Retransmission (RFC 6887 8.1.1): the first wait RT = (1 + RAND) * IRT,
 * each next RT = (1 + RAND) * MIN(2 * RTprev, MRT), RAND uniform in
 * [-0.1, +0.1] from the injected rng; MRC sends at most, MRD after the
 * first send at most (0: no limit, as the RFC has it).
 *
 * Epoch (RFC 6887 8.5): with the previous answer's server and client times
 * kept, a new answer means lost state when its epoch is more than 1 s
 * below the previous one, or when the two clocks disagree by more than
 * 2 s plus 1/16 of the elapsed time in either direction.
 *
 * Matching (RFC 6887 11.3): a MAP answer belongs to the active request
 * with its nonce, protocol and internal port; nothing else is accepted. */
#include <string.h>

#include "lp2p/pcp.h"

enum { SLOT_FREE, SLOT_ACTIVE, SLOT_DONE };

typedef struct pcp_req {
  uint8_t state;
  uint8_t want_send;
  uint64_t tag;
  lp2p_pcp_map_req req;
  uint32_t sends;
  uint64_t rt;              /* the current wait */
  lp2p_tstamp first, deadline;
  uint64_t seq;
  lp2p_pcp_event ev;
} pcp_req;

struct lp2p_pcp {
  const lp2p_mem *mem;
  lp2p_rng rng;
  lp2p_pcp_config cfg;
  lp2p_sockaddr server;
  uint8_t client_ip[16];
  pcp_req *reqs;
  int natpmp_only, unsupported;
  int have_epoch;
  uint32_t prev_server;
  lp2p_tstamp prev_client;
  int lost_pending;
  uint64_t lost_seq;
  uint32_t lost_epoch;
  uint64_t seq;
  pcp_req *peeked;
  lp2p_pcp_stats stats;
  uint8_t out[LP2P_PCP_MAP_LEN];
};

void lp2p_pcp_config_default(lp2p_pcp_config *cfg) {
  cfg->irt_ns = 3 * LP2P_NS_PER_S;
  cfg->mrt_ns = 1024 * LP2P_NS_PER_S;
  cfg->mrc = 0;
  cfg->mrd_ns = 0;
  cfg->requests_max = 8;
}

/* IPv4 as ::ffff:a.b.c.d (RFC 6887 5), IPv6 as it is */
static void to16(const lp2p_sockaddr *a, uint8_t out[16]) {
  if (a->family == 6) {
    memcpy(out, a->ip, 16);
    return;
  }
  memset(out, 0, 10);
  out[10] = out[11] = 0xff;
  memcpy(out + 12, a->ip, 4);
}

int lp2p_pcp_new(lp2p_pcp **out, const lp2p_pcp_config *cfg,
                 const lp2p_mem *mem, const lp2p_rng *rng,
                 const lp2p_sockaddr *server, const lp2p_sockaddr *client) {
  *out = NULL;
  lp2p_pcp_config d;
  lp2p_pcp_config_default(&d);
  if (!cfg)
    cfg = &d;
  if (!rng || !rng->fill || !server || !client ||
      (server->family != 4 && server->family != 6) ||
      (client->family != 4 && client->family != 6) || cfg->irt_ns == 0 ||
      cfg->mrt_ns < cfg->irt_ns || cfg->mrt_ns > UINT64_MAX / 4 ||
      cfg->requests_max == 0 || cfg->requests_max > 1024)
    return LP2P_ERR_INVAL;
  lp2p_pcp *c = lp2p_mem_calloc(mem, 1, sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  c->reqs = lp2p_mem_calloc(mem, cfg->requests_max, sizeof *c->reqs);
  if (!c->reqs) {
    lp2p_mem_free(mem, c);
    return LP2P_ERR_NOMEM;
  }
  c->mem = mem;
  c->rng = *rng;
  c->cfg = *cfg;
  c->server = *server;
  c->server.port = LP2P_PCP_PORT;
  to16(client, c->client_ip);
  *out = c;
  return 0;
}

void lp2p_pcp_free(lp2p_pcp *c) {
  if (!c)
    return;
  lp2p_mem_free(c->mem, c->reqs);
  lp2p_mem_free(c->mem, c);
}

/* (1 + RAND) * t with RAND uniform in [-0.1, +0.1], in 1/10000 steps */
static uint64_t jitter(lp2p_pcp *c, uint64_t t) {
  uint64_t r = lp2p_rng_below(&c->rng, 2001); /* 0..2000 -> -0.1..+0.1 */
  return t / 10000 * (9000 + r) + (t % 10000) * (9000 + r) / 10000;
}

static pcp_req *find_tag(lp2p_pcp *c, uint64_t tag) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++)
    if (c->reqs[i].state != SLOT_FREE && c->reqs[i].tag == tag)
      return &c->reqs[i];
  return NULL;
}

int lp2p_pcp_request_map(lp2p_pcp *c, lp2p_tstamp now, uint64_t tag,
                         uint8_t protocol, uint16_t internal_port,
                         const lp2p_sockaddr *suggested, uint32_t lifetime_s,
                         const uint8_t *nonce) {
  if (c->natpmp_only || c->unsupported)
    return LP2P_ERR_UNSUPPORTED;
  if (internal_port == 0 || find_tag(c, tag))
    return LP2P_ERR_INVAL;
  pcp_req *slot = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    pcp_req *r = &c->reqs[i];
    if (r->state == SLOT_ACTIVE && r->req.protocol == protocol &&
        r->req.internal_port == internal_port)
      return LP2P_ERR_INVAL;
    if (r->state == SLOT_FREE && !slot)
      slot = r;
  }
  if (!slot)
    return LP2P_ERR_LIMIT;
  memset(slot, 0, sizeof *slot);
  slot->state = SLOT_ACTIVE;
  slot->tag = tag;
  lp2p_pcp_map_req *q = &slot->req;
  q->lifetime_s = lifetime_s;
  memcpy(q->client_ip, c->client_ip, 16);
  if (nonce)
    memcpy(q->nonce, nonce, LP2P_PCP_NONCE_LEN);
  else
    c->rng.fill(c->rng.ctx, q->nonce, LP2P_PCP_NONCE_LEN);
  q->protocol = protocol;
  q->internal_port = internal_port;
  if (suggested)
    q->suggested_port = suggested->port;
  if (suggested && (suggested->family == 4 || suggested->family == 6)) {
    to16(suggested, q->suggested_ip);
  } else {
    /* no preference: the IPv4 all-zeros address, mapped (RFC 6887 11.1) */
    q->suggested_ip[10] = q->suggested_ip[11] = 0xff;
  }
  slot->want_send = 1;
  slot->sends = 1;
  slot->first = now;
  slot->rt = jitter(c, c->cfg.irt_ns);
  slot->deadline = now + slot->rt;
  return 0;
}

int lp2p_pcp_cancel(lp2p_pcp *c, uint64_t tag) {
  pcp_req *r = find_tag(c, tag);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (c->peeked == r)
    c->peeked = NULL;
  r->state = SLOT_FREE;
  return 0;
}

const uint8_t *lp2p_pcp_out_peek(lp2p_pcp *c, lp2p_sockaddr *to,
                                 size_t *len) {
  c->peeked = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    pcp_req *r = &c->reqs[i];
    if (r->state != SLOT_ACTIVE || !r->want_send)
      continue;
    if (lp2p_pcp_map_encode(&r->req, c->out, sizeof c->out, len) != 0)
      return NULL;
    *to = c->server;
    c->peeked = r;
    return c->out;
  }
  return NULL;
}

void lp2p_pcp_out_consume(lp2p_pcp *c) {
  if (!c->peeked)
    return;
  c->peeked->want_send = 0;
  c->peeked = NULL;
  c->stats.sent++;
}

static void finish(lp2p_pcp *c, pcp_req *r) {
  if (c->peeked == r)
    c->peeked = NULL;
  r->state = SLOT_DONE;
  r->seq = ++c->seq;
  r->ev.tag = r->tag;
  r->ev.protocol = r->req.protocol;
  r->ev.internal_port = r->req.internal_port;
  memcpy(r->ev.nonce, r->req.nonce, LP2P_PCP_NONCE_LEN);
}

static void fail_all(lp2p_pcp *c, int err, int natpmp, uint8_t result) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    pcp_req *r = &c->reqs[i];
    if (r->state != SLOT_ACTIVE)
      continue;
    memset(&r->ev, 0, sizeof r->ev);
    r->ev.type = LP2P_PCP_EV_FAILED;
    r->ev.err = err;
    r->ev.natpmp = natpmp;
    r->ev.result = result;
    finish(c, r);
  }
}

/* RFC 6887 8.5, see the top of this file */
static void check_epoch(lp2p_pcp *c, lp2p_tstamp now, uint32_t epoch) {
  if (c->have_epoch) {
    int lost = (uint64_t)epoch + 1 < c->prev_server;
    if (!lost) {
      uint64_t cd = now > c->prev_client
                        ? (now - c->prev_client) / LP2P_NS_PER_S
                        : 0;
      /* epoch is at least prev_server - 1 here */
      uint64_t sd = epoch >= c->prev_server ? epoch - c->prev_server : 0;
      lost = cd + 2 < sd - sd / 16 || sd + 2 < cd - cd / 16;
    }
    if (lost) {
      c->stats.resets++;
      if (!c->lost_pending) {
        c->lost_pending = 1;
        c->lost_seq = ++c->seq;
      }
      c->lost_epoch = epoch;
    }
  }
  c->have_epoch = 1;
  c->prev_server = epoch;
  c->prev_client = now;
}

static int same_server(const lp2p_pcp *c, const lp2p_sockaddr *a) {
  if (!a || a->family != c->server.family || a->port != LP2P_PCP_PORT)
    return 0;
  return memcmp(a->ip, c->server.ip, a->family == 4 ? 4 : 16) == 0;
}

void lp2p_pcp_feed(lp2p_pcp *c, lp2p_tstamp now, const lp2p_sockaddr *from,
                   const uint8_t *p, size_t n) {
  lp2p_pcp_resp m;
  if (!same_server(c, from) || lp2p_pcp_resp_parse(p, n, &m) != 0) {
    c->stats.ignored++;
    return;
  }
  if (m.version == 0) { /* NAT-PMP answered: RFC 6887 9 fallback */
    c->natpmp_only = 1;
    fail_all(c, LP2P_ERR_UNSUPPORTED, 1, m.result);
    return;
  }
  if (m.version != LP2P_PCP_VERSION || m.result == LP2P_PCP_UNSUPP_VERSION) {
    c->unsupported = 1; /* a PCP version we do not speak (1, a draft) */
    fail_all(c, LP2P_ERR_UNSUPPORTED, 0, m.result);
    return;
  }
  check_epoch(c, now, m.epoch);
  if (m.opcode != LP2P_PCP_OP_MAP || !m.has_map) {
    if (m.opcode != LP2P_PCP_OP_ANNOUNCE)
      c->stats.ignored++;
    return;
  }
  pcp_req *r = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max && !r; i++) {
    pcp_req *q = &c->reqs[i];
    if (q->state == SLOT_ACTIVE &&
        memcmp(q->req.nonce, m.nonce, LP2P_PCP_NONCE_LEN) == 0 &&
        q->req.protocol == m.protocol &&
        q->req.internal_port == m.internal_port)
      r = q;
  }
  if (!r) {
    c->stats.ignored++;
    return;
  }
  lp2p_pcp_event *ev = &r->ev;
  memset(ev, 0, sizeof *ev);
  ev->epoch = m.epoch;
  ev->lifetime_s = m.lifetime_s;
  if (m.result == LP2P_PCP_SUCCESS) {
    ev->type = LP2P_PCP_EV_MAPPED;
    ev->external_port = m.external_port;
    memcpy(ev->external_ip, m.external_ip, 16);
  } else {
    ev->type = LP2P_PCP_EV_FAILED;
    ev->result = m.result;
    ev->err = (m.result == LP2P_PCP_UNSUPP_OPCODE ||
               m.result == LP2P_PCP_UNSUPP_PROTOCOL)
                  ? LP2P_ERR_UNSUPPORTED
                  : LP2P_ERR_REFUSED;
  }
  finish(c, r);
}

lp2p_tstamp lp2p_pcp_next_timeout(const lp2p_pcp *c) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++)
    if (c->reqs[i].state == SLOT_ACTIVE && c->reqs[i].deadline < t)
      t = c->reqs[i].deadline;
  return t;
}

void lp2p_pcp_handle_timeout(lp2p_pcp *c, lp2p_tstamp now) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    pcp_req *r = &c->reqs[i];
    if (r->state != SLOT_ACTIVE || r->deadline > now)
      continue;
    if ((c->cfg.mrc && r->sends >= c->cfg.mrc) ||
        (c->cfg.mrd_ns && now - r->first >= c->cfg.mrd_ns)) {
      memset(&r->ev, 0, sizeof r->ev);
      r->ev.type = LP2P_PCP_EV_FAILED;
      r->ev.err = LP2P_ERR_TIMEOUT;
      finish(c, r);
      continue;
    }
    uint64_t base = 2 * r->rt < c->cfg.mrt_ns ? 2 * r->rt : c->cfg.mrt_ns;
    r->rt = jitter(c, base);
    r->sends++;
    r->deadline = now + r->rt;
    if (c->cfg.mrd_ns && r->deadline > r->first + c->cfg.mrd_ns)
      r->deadline = r->first + c->cfg.mrd_ns; /* give up on time */
    r->want_send = 1;
  }
}

int lp2p_pcp_poll_event(lp2p_pcp *c, lp2p_pcp_event *ev) {
  pcp_req *best = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    pcp_req *r = &c->reqs[i];
    if (r->state == SLOT_DONE && (!best || r->seq < best->seq))
      best = r;
  }
  if (c->lost_pending && (!best || c->lost_seq < best->seq)) {
    memset(ev, 0, sizeof *ev);
    ev->type = LP2P_PCP_EV_LOST;
    ev->epoch = c->lost_epoch;
    c->lost_pending = 0;
    return 1;
  }
  if (!best)
    return 0;
  *ev = best->ev;
  best->state = SLOT_FREE;
  return 1;
}

void lp2p_pcp_stats_get(const lp2p_pcp *c, lp2p_pcp_stats *out) {
  *out = c->stats;
}
