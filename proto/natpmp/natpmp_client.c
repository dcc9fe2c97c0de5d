/* The NAT-PMP client engine (include/lp2p/natpmp.h).
 *
 * Requests live in a fixed table of requests_max slots. A slot stays taken
 * from the request until its one result event has been polled, so the
 * events need no queue of their own and can never outnumber the table:
 * poll_event hands out finished slots (and the pending LOST notice) in the
 * order they finished.
 *
 * Retransmission (RFC 6886 3.1): the first wait is 250 ms and each next
 * one twice the last; after the ninth send (and its 64 s wait) the gateway
 * is taken not to speak NAT-PMP.
 *
 * Epoch (RFC 6886 3.6): every answer carries the gateway's seconds since
 * its mappings were last reset. Between two answers the epoch must grow at
 * least 7/8 as fast as our own clock (clocks drift); if it is more than
 * 2 s behind that conservative estimate the gateway rebooted or lost its
 * state, and every mapping must be made again. */
#include <string.h>

#include "lp2p/natpmp.h"

enum { SLOT_FREE, SLOT_ACTIVE, SLOT_DONE };

typedef struct np_req {
  uint8_t state;
  uint8_t op;
  uint8_t want_send;
  uint32_t tries;           /* sends so far, the queued one included */
  uint64_t tag;
  uint16_t internal_port, suggested_port;
  uint32_t lifetime_s;
  uint64_t rto;
  lp2p_tstamp deadline;
  uint64_t seq;             /* finishing order, for poll_event */
  lp2p_natpmp_event ev;
} np_req;

struct lp2p_natpmp {
  const lp2p_mem *mem;
  lp2p_natpmp_config cfg;
  lp2p_sockaddr gw;
  np_req *reqs;
  int have_epoch;
  uint32_t last_epoch;
  lp2p_tstamp last_rx;
  int lost_pending;
  uint64_t lost_seq;
  uint32_t lost_epoch;
  uint64_t seq;
  np_req *peeked;
  lp2p_natpmp_stats stats;
  uint8_t out[LP2P_NATPMP_REQ_MAP_LEN];
};

void lp2p_natpmp_config_default(lp2p_natpmp_config *cfg) {
  cfg->first_rto_ns = 250 * LP2P_NS_PER_MS;
  cfg->tries_max = 9;
  cfg->requests_max = 8;
}

int lp2p_natpmp_new(lp2p_natpmp **out, const lp2p_natpmp_config *cfg,
                    const lp2p_mem *mem, const lp2p_sockaddr *gateway) {
  *out = NULL;
  lp2p_natpmp_config d;
  lp2p_natpmp_config_default(&d);
  if (!cfg)
    cfg = &d;
  /* the wait doubles tries_max - 1 times: keep 2^(tries-1) * rto finite */
  if (!gateway || gateway->family != 4 || cfg->first_rto_ns == 0 ||
      cfg->tries_max == 0 || cfg->tries_max > 32 || cfg->requests_max == 0 ||
      cfg->requests_max > 1024 ||
      cfg->first_rto_ns > (UINT64_MAX >> (cfg->tries_max + 1)))
    return LP2P_ERR_INVAL;
  lp2p_natpmp *c = lp2p_mem_calloc(mem, 1, sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  c->reqs = lp2p_mem_calloc(mem, cfg->requests_max, sizeof *c->reqs);
  if (!c->reqs) {
    lp2p_mem_free(mem, c);
    return LP2P_ERR_NOMEM;
  }
  c->mem = mem;
  c->cfg = *cfg;
  c->gw = *gateway;
  c->gw.port = LP2P_NATPMP_PORT;
  *out = c;
  return 0;
}

void lp2p_natpmp_free(lp2p_natpmp *c) {
  if (!c)
    return;
  lp2p_mem_free(c->mem, c->reqs);
  lp2p_mem_free(c->mem, c);
}

static np_req *find_tag(lp2p_natpmp *c, uint64_t tag) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++)
    if (c->reqs[i].state != SLOT_FREE && c->reqs[i].tag == tag)
      return &c->reqs[i];
  return NULL;
}

static np_req *find_active(lp2p_natpmp *c, uint8_t op, int by_port,
                           uint16_t internal_port) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    np_req *r = &c->reqs[i];
    if (r->state == SLOT_ACTIVE && r->op == op &&
        (!by_port || r->internal_port == internal_port))
      return r;
  }
  return NULL;
}

static int start(lp2p_natpmp *c, lp2p_tstamp now, uint64_t tag, uint8_t op,
                 uint16_t internal_port, uint16_t suggested_port,
                 uint32_t lifetime_s) {
  if (find_tag(c, tag) ||
      find_active(c, op, op != LP2P_NATPMP_OP_ADDR, internal_port))
    return LP2P_ERR_INVAL;
  np_req *r = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max && !r; i++)
    if (c->reqs[i].state == SLOT_FREE)
      r = &c->reqs[i];
  if (!r)
    return LP2P_ERR_LIMIT;
  memset(r, 0, sizeof *r);
  r->state = SLOT_ACTIVE;
  r->op = op;
  r->tag = tag;
  r->internal_port = internal_port;
  r->suggested_port = suggested_port;
  r->lifetime_s = lifetime_s;
  r->want_send = 1;
  r->tries = 1;
  r->rto = c->cfg.first_rto_ns;
  r->deadline = now + r->rto;
  return 0;
}

int lp2p_natpmp_request_addr(lp2p_natpmp *c, lp2p_tstamp now, uint64_t tag) {
  return start(c, now, tag, LP2P_NATPMP_OP_ADDR, 0, 0, 0);
}

int lp2p_natpmp_request_map(lp2p_natpmp *c, lp2p_tstamp now, uint64_t tag,
                            int udp, uint16_t internal_port,
                            uint16_t suggested_port, uint32_t lifetime_s) {
  if (internal_port == 0)
    return LP2P_ERR_INVAL;
  return start(c, now, tag,
               udp ? LP2P_NATPMP_OP_MAP_UDP : LP2P_NATPMP_OP_MAP_TCP,
               internal_port, suggested_port, lifetime_s);
}

int lp2p_natpmp_cancel(lp2p_natpmp *c, uint64_t tag) {
  np_req *r = find_tag(c, tag);
  if (!r)
    return LP2P_ERR_NOT_FOUND;
  if (c->peeked == r)
    c->peeked = NULL;
  r->state = SLOT_FREE;
  return 0;
}

const uint8_t *lp2p_natpmp_out_peek(lp2p_natpmp *c, lp2p_sockaddr *to,
                                    size_t *len) {
  c->peeked = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    np_req *r = &c->reqs[i];
    if (r->state != SLOT_ACTIVE || !r->want_send)
      continue;
    *len = r->op == LP2P_NATPMP_OP_ADDR
               ? lp2p_natpmp_addr_req_encode(c->out)
               : lp2p_natpmp_map_req_encode(c->out, r->op, r->internal_port,
                                            r->suggested_port, r->lifetime_s);
    *to = c->gw;
    c->peeked = r;
    return c->out;
  }
  return NULL;
}

void lp2p_natpmp_out_consume(lp2p_natpmp *c) {
  if (!c->peeked)
    return;
  c->peeked->want_send = 0;
  c->peeked = NULL;
  c->stats.sent++;
}

static void finish(lp2p_natpmp *c, np_req *r) {
  if (c->peeked == r)
    c->peeked = NULL;
  r->state = SLOT_DONE;
  r->seq = ++c->seq;
  r->ev.tag = r->tag;
}

/* RFC 6886 3.6, see the top of this file */
static void check_epoch(lp2p_natpmp *c, lp2p_tstamp now, uint32_t epoch) {
  if (c->have_epoch) {
    uint64_t elapsed_s = now > c->last_rx ? (now - c->last_rx) / LP2P_NS_PER_S
                                          : 0;
    uint64_t expect = (uint64_t)c->last_epoch + elapsed_s * 7 / 8;
    if ((uint64_t)epoch + 2 < expect) {
      c->stats.resets++;
      if (!c->lost_pending) { /* one notice covers a burst of answers */
        c->lost_pending = 1;
        c->lost_seq = ++c->seq;
      }
      c->lost_epoch = epoch;
    }
  }
  c->have_epoch = 1;
  c->last_epoch = epoch;
  c->last_rx = now;
}

void lp2p_natpmp_feed(lp2p_natpmp *c, lp2p_tstamp now,
                      const lp2p_sockaddr *from, const uint8_t *p, size_t n) {
  lp2p_natpmp_resp m;
  if (!from || from->family != 4 || memcmp(from->ip, c->gw.ip, 4) != 0 ||
      from->port != LP2P_NATPMP_PORT || lp2p_natpmp_resp_parse(p, n, &m) != 0) {
    c->stats.ignored++;
    return;
  }
  /* the epoch counts from every answer, announcements included (3.2.1) */
  check_epoch(c, now, m.epoch);
  int have_port = m.op != LP2P_NATPMP_OP_ADDR &&
                  (m.result == LP2P_NATPMP_OK || m.internal_port != 0);
  np_req *r = find_active(c, m.op, have_port, m.internal_port);
  if (!r) {
    c->stats.ignored++;
    return;
  }
  lp2p_natpmp_event *ev = &r->ev;
  memset(ev, 0, sizeof *ev);
  ev->epoch = m.epoch;
  ev->udp = m.op == LP2P_NATPMP_OP_MAP_UDP;
  ev->internal_port = r->internal_port;
  if (m.result != LP2P_NATPMP_OK) {
    ev->type = LP2P_NATPMP_EV_FAILED;
    ev->result = m.result;
    ev->err = (m.result == LP2P_NATPMP_UNSUPP_VERSION ||
               m.result == LP2P_NATPMP_UNSUPP_OPCODE)
                  ? LP2P_ERR_UNSUPPORTED
                  : LP2P_ERR_REFUSED;
  } else if (m.op == LP2P_NATPMP_OP_ADDR) {
    ev->type = LP2P_NATPMP_EV_ADDRESS;
    memcpy(ev->external_ip, m.external_ip, 4);
  } else {
    ev->type = LP2P_NATPMP_EV_MAPPED;
    ev->external_port = m.external_port;
    ev->lifetime_s = m.lifetime_s;
  }
  finish(c, r);
}

lp2p_tstamp lp2p_natpmp_next_timeout(const lp2p_natpmp *c) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++)
    if (c->reqs[i].state == SLOT_ACTIVE && c->reqs[i].deadline < t)
      t = c->reqs[i].deadline;
  return t;
}

void lp2p_natpmp_handle_timeout(lp2p_natpmp *c, lp2p_tstamp now) {
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    np_req *r = &c->reqs[i];
    if (r->state != SLOT_ACTIVE || r->deadline > now)
      continue;
    if (r->tries >= c->cfg.tries_max) {
      memset(&r->ev, 0, sizeof r->ev);
      r->ev.type = LP2P_NATPMP_EV_FAILED;
      r->ev.err = LP2P_ERR_TIMEOUT;
      r->ev.internal_port = r->internal_port;
      r->ev.udp = r->op == LP2P_NATPMP_OP_MAP_UDP;
      finish(c, r);
      continue;
    }
    r->tries++;
    r->rto *= 2;
    r->deadline = now + r->rto;
    r->want_send = 1;
  }
}

int lp2p_natpmp_poll_event(lp2p_natpmp *c, lp2p_natpmp_event *ev) {
  np_req *best = NULL;
  for (uint32_t i = 0; i < c->cfg.requests_max; i++) {
    np_req *r = &c->reqs[i];
    if (r->state == SLOT_DONE && (!best || r->seq < best->seq))
      best = r;
  }
  if (c->lost_pending && (!best || c->lost_seq < best->seq)) {
    memset(ev, 0, sizeof *ev);
    ev->type = LP2P_NATPMP_EV_LOST;
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

void lp2p_natpmp_stats_get(const lp2p_natpmp *c, lp2p_natpmp_stats *out) {
  *out = c->stats;
}
