/* The DCUtR engine (relay/DCUtR.md, "The Protocol"): one per relayed
 * connection, both roles. Every attempt is one /libp2p/dcutr stream:
 *   B (initiator)                          A (responder)
 *   OPEN_STREAM; CONNECT(B's addrs) ---->  (stream_opened)
 *   rtt timer starts                       checks addrs
 *                              <---- CONNECT(A's addrs)
 *   rtt = now - start; SYNC -------------> DIAL now, as security client
 *   DIAL at now + rtt/2, as server
 * then both report the dial's outcome with lp2p_dcutr_direct_result.
 * B retries on a new stream until attempts_max attempts (the spec: "retry
 * twice (thus a total of 3 attempts)"); A follows, and gives up when B
 * opens more streams than that or stops retrying.
 *
 * When both NAT classes are known (ours from the NAT service, the peer's
 * from CONNECT field 1000), B's SYN goes out before SYNC instead of RTT/2
 * after it, where that cannot hurt (plan_for below): the direct
 * connection is then up one RTT after A has SYNC, whichever side's SYN
 * is the one that connects. Unknown classes keep the spec's timing. */
#include <string.h>

#include "lp2p/dcutr.h"
#include "lp2p/varint.h"

enum st {
  ST_IDLE,         /* initiator before start; responder before a stream */
  ST_WAIT_STREAM,  /* initiator: OPEN_STREAM emitted */
  ST_WAIT_CONNECT, /* CONNECT expected */
  ST_WAIT_SYNC,    /* responder: SYNC expected */
  ST_WAIT_HALF_RTT,/* initiator: SYNC sent, dial at RTT/2 */
  ST_DIALING,      /* DIAL emitted, result expected */
  ST_WAIT_RETRY,   /* between attempts */
  ST_DONE,
};

/* When B's SYN leaves (plan_for). */
enum plan {
  PLAN_SPEC,       /* the spec: B dials RTT/2 after SYNC */
  PLAN_B_LOW_FIRST,/* B's first SYN at low TTL, before SYNC */
  PLAN_B_FIRST,    /* B's SYN at normal TTL, before SYNC; A probes */
};

#define EVQ 8
#define OUT_CAP (LP2P_DCUTR_MSG_MAX + 2 * LP2P_VARINT_MAX_LEN + 8)
#define IN_CAP (LP2P_DCUTR_MSG_MAX + LP2P_VARINT_MAX_LEN)

struct lp2p_dcutr {
  const lp2p_mem *mem;
  lp2p_dcutr_config cfg;
  lp2p_dcutr_role role;
  enum st st;
  lp2p_tstamp timer;
  uint32_t attempt;
  lp2p_punch_reason last_reason;
  int dial_none; /* this attempt: the peer offered nothing we may dial */
  enum plan plan; /* this attempt's, from both classes */
  int sync_due;   /* B: DIAL went out first, SYNC on the next tick */
  lp2p_tstamp connect_sent;
  uint64_t rtt_ns;
  int done;
  int theirs_given; /* cfg.theirs came from the caller: CONNECT's is ignored */
  /* our CONNECT addresses */
  size_t nlocal;
  lp2p_maddr local[LP2P_DCUTR_ADDRS_MAX];
  /* the peer's own IPs (0: unrestricted) */
  size_t npeer_ips;
  int peer_family[LP2P_DCUTR_ADDRS_MAX];
  uint8_t peer_ip[LP2P_DCUTR_ADDRS_MAX][16];
  /* what this attempt dials */
  size_t ndial;
  lp2p_maddr dial[LP2P_DCUTR_ADDRS_MAX];
  /* stream bytes */
  size_t in_len;
  uint8_t in[IN_CAP];
  size_t out_off, out_len;
  uint8_t out[OUT_CAP];
  /* events */
  size_t ev_head, ev_n;
  lp2p_dcutr_event ev[EVQ];
};

void lp2p_dcutr_config_default(lp2p_dcutr_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->attempts_max = 3;
  cfg->exchange_timeout_ns = 15 * LP2P_NS_PER_S;
  cfg->dial_timeout_ns = 5 * LP2P_NS_PER_S;
  cfg->retry_delay_ns = 0;
  cfg->dial_addrs_max = 8;
  cfg->dial_ips_max = 2;
  cfg->first_syn_ttl = 2;
  cfg->first_syn_ttl_from_attempt = 2;
  lp2p_nat_class_unknown(&cfg->ours);
  lp2p_nat_class_unknown(&cfg->theirs);
}

int lp2p_dcutr_new(lp2p_dcutr **out, lp2p_dcutr_role role,
                   const lp2p_dcutr_config *cfg, const lp2p_mem *mem,
                   lp2p_tstamp now) {
  (void)now;
  if (!out || (role != LP2P_DCUTR_INITIATOR && role != LP2P_DCUTR_RESPONDER))
    return LP2P_ERR_INVAL;
  *out = NULL;
  lp2p_dcutr_config c;
  if (cfg)
    c = *cfg;
  else
    lp2p_dcutr_config_default(&c);
  if (c.attempts_max == 0 || c.dial_addrs_max == 0 ||
      c.dial_addrs_max > LP2P_DCUTR_ADDRS_MAX || c.dial_ips_max == 0)
    return LP2P_ERR_INVAL;
  lp2p_dcutr *d = lp2p_mem_calloc(mem, 1, sizeof *d);
  if (!d)
    return LP2P_ERR_NOMEM;
  d->mem = mem;
  d->cfg = c;
  d->role = role;
  d->theirs_given = c.theirs.mapping != LP2P_NAT_UNKNOWN ||
                    c.theirs.filtering != LP2P_NAT_UNKNOWN;
  d->st = ST_IDLE;
  d->timer = LP2P_TSTAMP_NONE;
  *out = d;
  return 0;
}

void lp2p_dcutr_free(lp2p_dcutr *d) {
  if (d)
    lp2p_mem_free(d->mem, d);
}

int lp2p_dcutr_set_local_addrs(lp2p_dcutr *d, const lp2p_maddr *a, size_t n) {
  if (!d || (!a && n))
    return LP2P_ERR_INVAL;
  d->nlocal = 0;
  for (size_t i = 0; i < n && d->nlocal < LP2P_DCUTR_ADDRS_MAX; i++) {
    if (!lp2p_dcutr_addr_dialable(a[i].bytes, a[i].len, d->cfg.is_public,
                                  d->cfg.is_public_ud, NULL, NULL, NULL, NULL))
      continue;
    int dup = 0;
    for (size_t j = 0; j < d->nlocal && !dup; j++)
      dup = lp2p_maddr_equal(&d->local[j], &a[i]);
    if (!dup)
      d->local[d->nlocal++] = a[i];
  }
  return (int)d->nlocal;
}

int lp2p_dcutr_set_peer_ips(lp2p_dcutr *d, const int *family,
                            const uint8_t (*ips)[16], size_t n) {
  if (!d || ((!family || !ips) && n))
    return LP2P_ERR_INVAL;
  d->npeer_ips = 0;
  for (size_t i = 0; i < n && d->npeer_ips < LP2P_DCUTR_ADDRS_MAX; i++) {
    if (family[i] != 4 && family[i] != 6)
      return LP2P_ERR_INVAL;
    d->peer_family[d->npeer_ips] = family[i];
    memcpy(d->peer_ip[d->npeer_ips], ips[i], 16);
    d->npeer_ips++;
  }
  return 0;
}

/* ---- events and output ------------------------------------------------ */

static lp2p_dcutr_event *push_ev(lp2p_dcutr *d, lp2p_dcutr_event_type t) {
  /* The queue holds more than one step can emit (at most three: CANCEL,
   * CLOSE and RESULT or OPEN); a full queue means a host that does not
   * poll, and then the oldest event goes so that the RESULT never does. */
  if (d->ev_n == EVQ) {
    d->ev_head = (d->ev_head + 1) % EVQ;
    d->ev_n--;
  }
  lp2p_dcutr_event *e = &d->ev[(d->ev_head + d->ev_n++) % EVQ];
  memset(e, 0, sizeof *e);
  e->type = t;
  e->attempt = d->attempt;
  return e;
}

/* Bytes still queued belong to the stream they were queued for: a reset
 * discards them, and a new stream must never start with a dead one's
 * leftovers (the fuzzer found a CONNECT from a closed stream replayed on
 * the next). */
static void out_clear(lp2p_dcutr *d) { d->out_off = d->out_len = 0; }

static void close_stream(lp2p_dcutr *d, int reset) {
  lp2p_dcutr_event *e = push_ev(d, LP2P_DCUTR_EV_CLOSE_STREAM);
  if (e)
    e->reset = reset;
  if (reset)
    out_clear(d);
}

static void finish(lp2p_dcutr *d, lp2p_punch_reason reason) {
  lp2p_dcutr_event *e = push_ev(d, LP2P_DCUTR_EV_RESULT);
  if (e) {
    e->ok = reason == LP2P_PUNCH_OK;
    e->reason = reason;
    e->rtt_ns = d->rtt_ns;
  }
  d->st = ST_DONE;
  d->done = 1;
  d->timer = LP2P_TSTAMP_NONE;
  d->last_reason = reason;
}

static int queue_msg(lp2p_dcutr *d, uint32_t type, int with_addrs) {
  lp2p_dcutr_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.has_type = 1;
  if (with_addrs) {
    /* our NAT class rides along when we know something of it */
    const lp2p_nat_class *o = &d->cfg.ours;
    if (o->mapping != LP2P_NAT_UNKNOWN || o->filtering != LP2P_NAT_UNKNOWN) {
      m.has_nat = 1;
      m.nat = *o;
    }
    m.naddrs = d->nlocal;
    for (size_t i = 0; i < d->nlocal; i++)
      m.addrs[i] = (lp2p_dcutr_bytes){d->local[i].bytes, d->local[i].len};
  }
  if (d->out_off == d->out_len)
    d->out_off = d->out_len = 0;
  size_t len;
  int rc;
  /* Long multiaddrs can push 16 of them past 4 KiB: drop from the end. */
  while ((rc = lp2p_dcutr_msg_encode(&m, NULL, 0, &len)) == LP2P_ERR_LIMIT &&
         m.naddrs > 1)
    m.naddrs--;
  if (len > OUT_CAP - d->out_len)
    return LP2P_ERR_INTERNAL;
  return lp2p_dcutr_msg_encode(&m, d->out + d->out_len, OUT_CAP - d->out_len,
                               &len) == 0
             ? (d->out_len += len, 0)
             : LP2P_ERR_INTERNAL;
}

const uint8_t *lp2p_dcutr_out_peek(const lp2p_dcutr *d, size_t *len) {
  if (len)
    *len = d ? d->out_len - d->out_off : 0;
  return d && d->out_len > d->out_off ? d->out + d->out_off : NULL;
}

void lp2p_dcutr_out_consume(lp2p_dcutr *d, size_t n) {
  if (!d)
    return;
  size_t have = d->out_len - d->out_off;
  d->out_off += n < have ? n : have;
  if (d->out_off == d->out_len)
    d->out_off = d->out_len = 0;
}

int lp2p_dcutr_poll_event(lp2p_dcutr *d, lp2p_dcutr_event *ev) {
  if (!d || !ev || d->ev_n == 0)
    return 0;
  *ev = d->ev[d->ev_head];
  d->ev_head = (d->ev_head + 1) % EVQ;
  d->ev_n--;
  return 1;
}

lp2p_tstamp lp2p_dcutr_next_timeout(const lp2p_dcutr *d) {
  return d ? d->timer : LP2P_TSTAMP_NONE;
}

int lp2p_dcutr_done(const lp2p_dcutr *d) { return d ? d->done : 0; }
uint32_t lp2p_dcutr_attempts(const lp2p_dcutr *d) { return d ? d->attempt : 0; }

static lp2p_tstamp after(lp2p_tstamp now, uint64_t ns) {
  return ns >= LP2P_TSTAMP_NONE - now ? LP2P_TSTAMP_NONE - 1 : now + ns;
}

/* ---- attempts ----------------------------------------------------------- */

static void begin_attempt(lp2p_dcutr *d, lp2p_tstamp now) {
  d->attempt++;
  d->ndial = 0;
  d->in_len = 0;
  d->sync_due = 0;
  push_ev(d, LP2P_DCUTR_EV_OPEN_STREAM);
  d->st = ST_WAIT_STREAM;
  d->timer = after(now, d->cfg.exchange_timeout_ns);
}

/* One attempt failed with a reason worth retrying. */
static void fail_attempt(lp2p_dcutr *d, lp2p_tstamp now,
                         lp2p_punch_reason reason) {
  d->last_reason = reason;
  if (d->sync_due) { /* A still waits for SYNC: end its attempt too */
    d->sync_due = 0;
    close_stream(d, 1);
  }
  if (d->attempt >= d->cfg.attempts_max) {
    finish(d, reason);
    return;
  }
  d->st = ST_WAIT_RETRY;
  if (d->role == LP2P_DCUTR_INITIATOR) {
    if (d->cfg.retry_delay_ns == 0)
      begin_attempt(d, now);
    else
      d->timer = after(now, d->cfg.retry_delay_ns);
  } else {
    /* A waits for B's next stream, but not forever */
    d->timer = after(now, d->cfg.exchange_timeout_ns);
  }
}

static lp2p_punch_reason verdict(const lp2p_dcutr *d) {
  return lp2p_nat_punch_verdict(&d->cfg.ours, &d->cfg.theirs);
}

static int eim(const lp2p_nat_class *c) {
  return c->mapping == LP2P_NAT_ENDPOINT_INDEPENDENT ||
         c->mapping == LP2P_NAT_NONE;
}

static int per_destination(const lp2p_nat_class *c) {
  return c->mapping == LP2P_NAT_ADDRESS_DEPENDENT ||
         c->mapping == LP2P_NAT_ADDRESS_AND_PORT_DEPENDENT;
}

/* A filter that admits a SYN from any port of an IP we sent to (ADF, RFC
 * 4787 section 5) or from anywhere (EIF). */
static int lenient(lp2p_nat_behaviour f) {
  return f == LP2P_NAT_ENDPOINT_INDEPENDENT ||
         f == LP2P_NAT_ADDRESS_DEPENDENT || f == LP2P_NAT_NONE;
}

/* When B's SYN leaves, from B's class b and A's class a; both sides
 * compute the same from the two CONNECTs (DESIGN 5b; the lab's measured
 * cells in README "Hole punching").
 *  - The spec's timing (B dials RTT/2 after SYNC, A on SYNC) races the two
 *    SYNs: at a low RTT A's SYN can reach B's NAT before B's own SYN has
 *    opened it (dropped: a 1 s retransmission; RST: a lost attempt).
 *  - B_LOW_FIRST, B maps endpoint-independently and either filters by
 *    address (or not at all) or A maps endpoint-independently too: B's
 *    first SYN leaves before SYNC at low TTL. It opens B's mapping and
 *    filter toward A and dies before A's NAT (no RST there), so A's SYN,
 *    sent on SYNC, finds B open: B's dialing socket answers it (a
 *    simultaneous open, A mapping endpoint-independently) or B's listener
 *    accepts it (A's per-destination port, let in by B's lenient
 *    filter). Up one RTT after SYNC, with no race left.
 *  - B_FIRST, B maps per destination and A maps endpoint-independently
 *    with a lenient filter: only B's SYN can connect (A's is aimed at a
 *    port B's NAT does not use for it), and A's NAT admits it once A has
 *    sent anything to B's IP, which A's PROBE does when it answers
 *    CONNECT. So B's SYN leaves before SYNC at normal TTL and reaches A's
 *    listener when A has SYNC: up one RTT later, not 1.5.
 *  - Port prediction against a port-dependent filter (one side allocates
 *    ports sequentially, the other maps endpoint-independently): the
 *    predicted SYN must meet the other side's own session, so B_LOW_FIRST
 *    too. B's low-TTL SYN opens B's session (to A's predicted ports when
 *    A is the sequential one, from B's next port when B is), and A's SYN,
 *    sent on SYNC, finds it: a simultaneous open where the prediction
 *    was right, and no RST from a SYN that came too early where it was
 *    not.
 * Both need low-TTL SYNs (first_syn_ttl); anything unknown keeps the
 * spec's timing. */
static enum plan plan_for(const lp2p_dcutr_config *cfg,
                          const lp2p_nat_class *b, const lp2p_nat_class *a) {
  if (!cfg->first_syn_ttl || a->mapping == LP2P_NAT_UNKNOWN ||
      b->mapping == LP2P_NAT_UNKNOWN)
    return PLAN_SPEC;
  if (eim(b) && (lenient(b->filtering) || eim(a) || a->sequential))
    return PLAN_B_LOW_FIRST;
  if (per_destination(b) && eim(a) && lenient(a->filtering))
    return PLAN_B_FIRST;
  if (b->sequential && eim(a))
    return PLAN_B_LOW_FIRST;
  return PLAN_SPEC;
}

int lp2p_dcutr_start(lp2p_dcutr *d, lp2p_tstamp now) {
  if (!d || d->role != LP2P_DCUTR_INITIATOR || d->st != ST_IDLE || d->done)
    return LP2P_ERR_STATE;
  lp2p_punch_reason r = verdict(d);
  if (r != LP2P_PUNCH_OK) { /* say why instead of trying */
    finish(d, r);
    return 0;
  }
  if (d->nlocal == 0) {
    finish(d, LP2P_PUNCH_NO_PUBLIC_ADDR_OURS);
    return 0;
  }
  begin_attempt(d, now);
  return 0;
}

int lp2p_dcutr_stream_opened(lp2p_dcutr *d, lp2p_tstamp now) {
  if (!d || d->done)
    return LP2P_ERR_STATE;
  if (d->role == LP2P_DCUTR_INITIATOR) {
    if (d->st != ST_WAIT_STREAM)
      return LP2P_ERR_STATE;
    out_clear(d);
    if (queue_msg(d, LP2P_DCUTR_CONNECT, 1) != 0) {
      finish(d, LP2P_PUNCH_PROTOCOL);
      return 0;
    }
    d->connect_sent = now;
    d->st = ST_WAIT_CONNECT;
    d->timer = after(now, d->cfg.exchange_timeout_ns);
    return 0;
  }
  /* Responder: B opened a stream. While a dial is out, B has given up on
   * it early (its deadline is shorter or it saw a failure first). */
  if (d->st == ST_DIALING)
    push_ev(d, LP2P_DCUTR_EV_CANCEL_DIALS);
  else if (d->st != ST_IDLE && d->st != ST_WAIT_RETRY)
    return LP2P_ERR_STATE;
  out_clear(d);
  d->attempt++;
  d->in_len = 0;
  if (d->attempt > d->cfg.attempts_max) {
    close_stream(d, 1);
    finish(d, LP2P_PUNCH_TOO_MANY_ATTEMPTS);
    return 0;
  }
  d->st = ST_WAIT_CONNECT;
  d->timer = after(now, d->cfg.exchange_timeout_ns);
  return 0;
}

int lp2p_dcutr_stream_closed(lp2p_dcutr *d, lp2p_tstamp now, int err) {
  if (!d)
    return 0;
  out_clear(d); /* nowhere to write them now */
  if (d->done)
    return 0;
  if (d->st == ST_WAIT_STREAM && err == LP2P_ERR_UNSUPPORTED) {
    finish(d, LP2P_PUNCH_UNSUPPORTED);
    return 0;
  }
  /* Only a stream closed before the exchange finished fails the attempt;
   * after SYNC the stream has served its purpose. */
  if (d->st == ST_WAIT_STREAM || d->st == ST_WAIT_CONNECT ||
      d->st == ST_WAIT_SYNC) {
    d->in_len = 0;
    fail_attempt(d, now, LP2P_PUNCH_STREAM_CLOSED);
  }
  return 0;
}

static int peer_ip_allowed(const lp2p_dcutr *d, int family,
                           const uint8_t *ip) {
  if (d->npeer_ips == 0)
    return 1;
  for (size_t i = 0; i < d->npeer_ips; i++)
    if (d->peer_family[i] == family &&
        memcmp(d->peer_ip[i], ip, family == 6 ? 16 : 4) == 0)
      return 1;
  return 0;
}

/* 1 when (family, ip) is one of the n IPs already in d->dial. */
static int ip_in_dials(const lp2p_dcutr *d, int family, const uint8_t *ip) {
  for (size_t j = 0; j < d->ndial; j++) {
    int f;
    uint8_t x[16];
    uint16_t port;
    int udp;
    if (lp2p_maddr_to_ip_port(&d->dial[j], &f, x, &port, &udp) == 0 &&
        f == family && !memcmp(x, ip, family == 6 ? 16 : 4))
      return 1;
  }
  return 0;
}

/* Keep what we may dial from the peer's CONNECT: dialable, on the peer's
 * own IPs, no duplicates, at most dial_addrs_max addresses on at most
 * dial_ips_max IPs (the first ones named), so that no peer can make us
 * an amplifier. Then, when the peer's NAT is known to allocate ports
 * sequentially, predicted ports on the first address's IP fill the
 * remaining slots (the bound still holds). */
static void pick_dial_addrs(lp2p_dcutr *d, const lp2p_dcutr_msg *m) {
  d->ndial = 0;
  size_t nips = 0;
  int first_fam = 0, first_udp = 0;
  uint8_t first_ip[16];
  uint16_t first_port = 0;
  for (size_t i = 0; i < m->naddrs && d->ndial < d->cfg.dial_addrs_max; i++) {
    int fam, udp;
    uint8_t ip[16];
    uint16_t port;
    if (!lp2p_dcutr_addr_dialable(m->addrs[i].p, m->addrs[i].len,
                                  d->cfg.is_public, d->cfg.is_public_ud, &fam,
                                  ip, &port, &udp) ||
        !peer_ip_allowed(d, fam, ip))
      continue;
    if (!ip_in_dials(d, fam, ip)) {
      if (nips == d->cfg.dial_ips_max)
        continue;
      nips++;
    }
    lp2p_maddr a;
    if (lp2p_maddr_from_bytes(&a, m->addrs[i].p, m->addrs[i].len) != 0)
      continue;
    int dup = 0;
    for (size_t j = 0; j < d->ndial && !dup; j++)
      dup = lp2p_maddr_equal(&d->dial[j], &a);
    if (dup)
      continue;
    if (d->ndial == 0) {
      first_fam = fam;
      first_udp = udp;
      first_port = port;
      memcpy(first_ip, ip, 16);
    }
    d->dial[d->ndial++] = a;
  }
  if (d->ndial == 0 || !d->cfg.theirs.sequential ||
      d->cfg.theirs.port_stride == 0 || first_udp)
    return;
  uint32_t p = first_port;
  while (d->ndial < d->cfg.dial_addrs_max) {
    p += d->cfg.theirs.port_stride;
    if (p >= 65535u)
      break;
    lp2p_maddr a;
    if (lp2p_maddr_from_ip_port(&a, first_fam, first_ip, (uint16_t)p, 0) != 0)
      break;
    d->dial[d->ndial++] = a;
  }
}

static void emit_dial(lp2p_dcutr *d, lp2p_tstamp now) {
  lp2p_dcutr_event *e = push_ev(d, LP2P_DCUTR_EV_DIAL);
  if (e) {
    e->addrs = d->dial;
    e->naddrs = d->ndial;
    e->security_client = d->role == LP2P_DCUTR_RESPONDER;
    e->udp_random_packets = d->role == LP2P_DCUTR_INITIATOR;
    int low_ttl = d->last_reason == LP2P_PUNCH_REFUSED ||
                  (d->cfg.first_syn_ttl_from_attempt &&
                   d->attempt >= d->cfg.first_syn_ttl_from_attempt);
    if (d->plan != PLAN_SPEC) /* only B's SYN may be the low one */
      low_ttl = d->plan == PLAN_B_LOW_FIRST && d->role == LP2P_DCUTR_INITIATOR;
    e->first_syn_ttl = low_ttl ? d->cfg.first_syn_ttl : 0;
  }
  d->st = ST_DIALING;
  d->timer = after(now, d->cfg.dial_timeout_ns);
}

/* One whole message from the stream. */
static void on_msg(lp2p_dcutr *d, lp2p_tstamp now, const lp2p_dcutr_msg *m) {
  if (d->st == ST_WAIT_CONNECT) {
    if (m->type != LP2P_DCUTR_CONNECT) {
      close_stream(d, 1);
      finish(d, LP2P_PUNCH_PROTOCOL);
      return;
    }
    /* what the peer says of its NAT, unless the caller told us already */
    if (m->has_nat && !d->theirs_given)
      d->cfg.theirs = m->nat;
    pick_dial_addrs(d, m);
    lp2p_punch_reason hopeless = verdict(d);
    if (hopeless != LP2P_PUNCH_OK) {
      /* Say why instead of trying. A still answers with its CONNECT, which
       * carries its class, so that B names the same reason. */
      if (d->role == LP2P_DCUTR_RESPONDER)
        queue_msg(d, LP2P_DCUTR_CONNECT, 1);
      close_stream(d, 0);
      finish(d, hopeless);
      return;
    }
    /* Nothing we may dial: with no address of ours either, nothing can
     * come of it. Otherwise the exchange goes on and we wait for the
     * peer's SYN at our listener: a peer that cannot name its public
     * address (js-libp2p drops observed TCP addresses) can still dial
     * ours. Our addresses are no secret from a peer that could claim
     * any public address to get them. */
    d->dial_none = d->ndial == 0;
    if (d->ndial == 0 && d->nlocal == 0) {
      close_stream(d, 1);
      finish(d, LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS);
      return;
    }
    if (d->role == LP2P_DCUTR_INITIATOR) {
      d->rtt_ns = now > d->connect_sent ? now - d->connect_sent : 0;
      d->plan = plan_for(&d->cfg, &d->cfg.ours, &d->cfg.theirs);
      if (d->plan != PLAN_SPEC) {
        /* our SYN first; SYNC on the next tick, so that a driver sends
         * it after the SYN has left (it drains a DIAL with the hook that
         * made it, then runs timers) */
        emit_dial(d, now);
        d->sync_due = 1;
        d->timer = now;
        return;
      }
      if (queue_msg(d, LP2P_DCUTR_SYNC, 0) != 0) {
        finish(d, LP2P_PUNCH_PROTOCOL);
        return;
      }
      close_stream(d, 0);
      /* The spec: B "starts a timer for half the RTT"; A dials on SYNC,
       * which reaches it about RTT/2 after B sent it. */
      d->st = ST_WAIT_HALF_RTT;
      d->timer = after(now, d->rtt_ns / 2);
      if (d->rtt_ns / 2 == 0)
        emit_dial(d, now);
      return;
    }
    lp2p_punch_reason r = verdict(d);
    if (r == LP2P_PUNCH_OK && d->nlocal == 0)
      r = LP2P_PUNCH_NO_PUBLIC_ADDR_OURS;
    if (r != LP2P_PUNCH_OK) {
      close_stream(d, 1);
      finish(d, r);
      return;
    }
    if (queue_msg(d, LP2P_DCUTR_CONNECT, 1) != 0) {
      finish(d, LP2P_PUNCH_PROTOCOL);
      return;
    }
    d->plan = plan_for(&d->cfg, &d->cfg.theirs, &d->cfg.ours);
    if (d->plan == PLAN_B_FIRST && d->ndial) {
      /* B's SYN will reach our NAT about when SYNC reaches us: open our
       * mapping and address filter toward B now (plan_for) */
      lp2p_dcutr_event *e = push_ev(d, LP2P_DCUTR_EV_PROBE);
      if (e) {
        e->addrs = d->dial;
        e->naddrs = 1;
        e->first_syn_ttl = d->cfg.first_syn_ttl;
        e->security_client = 1;
      }
    }
    d->st = ST_WAIT_SYNC;
    d->timer = after(now, d->cfg.exchange_timeout_ns);
    return;
  }
  /* ST_WAIT_SYNC */
  if (m->type != LP2P_DCUTR_SYNC) {
    close_stream(d, 1);
    finish(d, LP2P_PUNCH_PROTOCOL);
    return;
  }
  close_stream(d, 0);
  emit_dial(d, now);
}

lp2p_ssize lp2p_dcutr_feed(lp2p_dcutr *d, lp2p_tstamp now, const uint8_t *p,
                           size_t n) {
  if (!d || (!p && n))
    return LP2P_ERR_INVAL;
  if (n == 0)
    return 0;
  if (d->done)
    return (lp2p_ssize)n; /* late bytes after the result are dropped */
  size_t used = 0;
  while (used < n) {
    if (d->st != ST_WAIT_CONNECT && d->st != ST_WAIT_SYNC) {
      /* nothing else may arrive: the peer spoke out of turn */
      close_stream(d, 1);
      finish(d, LP2P_PUNCH_PROTOCOL);
      return (lp2p_ssize)n;
    }
    size_t take = n - used;
    if (take > IN_CAP - d->in_len)
      take = IN_CAP - d->in_len;
    memcpy(d->in + d->in_len, p + used, take);
    d->in_len += take;
    used += take;
    for (;;) {
      if (d->st != ST_WAIT_CONNECT && d->st != ST_WAIT_SYNC)
        break;
      uint64_t body;
      lp2p_ssize k = lp2p_varint_decode(d->in, d->in_len, &body);
      if (k == LP2P_ERR_TRUNCATED)
        break;
      if (k < 0 || body > LP2P_DCUTR_MSG_MAX) {
        close_stream(d, 1);
        finish(d, LP2P_PUNCH_PROTOCOL);
        return (lp2p_ssize)n;
      }
      size_t whole = (size_t)k + (size_t)body;
      if (d->in_len < whole)
        break;
      lp2p_dcutr_msg m;
      if (lp2p_dcutr_msg_decode(&m, d->in + k, (size_t)body) != 0) {
        close_stream(d, 1);
        finish(d, LP2P_PUNCH_PROTOCOL);
        return (lp2p_ssize)n;
      }
      on_msg(d, now, &m); /* m points into d->in: use before shifting */
      if (d->done)
        return (lp2p_ssize)n;
      memmove(d->in, d->in + whole, d->in_len - whole);
      d->in_len -= whole;
      if (d->st != ST_WAIT_CONNECT && d->st != ST_WAIT_SYNC && d->in_len) {
        close_stream(d, 1);
        finish(d, LP2P_PUNCH_PROTOCOL);
        return (lp2p_ssize)n;
      }
    }
  }
  return (lp2p_ssize)n;
}

int lp2p_dcutr_direct_result(lp2p_dcutr *d, lp2p_tstamp now, int ok,
                             int err) {
  if (!d)
    return LP2P_ERR_INVAL;
  /* The accepted side of a punch can win before our own dial starts
   * (A accepts B's SYN while still waiting for SYNC, or B before RTT/2),
   * or after our own dials of that attempt were refused (an EIF NAT lets
   * the peer's SYN reach our listener while theirs refused ours). */
  if (d->done || (d->st != ST_DIALING && !(ok && d->st != ST_IDLE)))
    return LP2P_ERR_STATE;
  if (ok) {
    if (d->st == ST_WAIT_CONNECT || d->st == ST_WAIT_SYNC || d->sync_due)
      close_stream(d, 0); /* the exchange is moot now */
    d->sync_due = 0;
    finish(d, LP2P_PUNCH_OK);
    return 0;
  }
  fail_attempt(d, now,
               err == LP2P_ERR_REFUSED   ? LP2P_PUNCH_REFUSED
               : err == LP2P_ERR_TIMEOUT ? LP2P_PUNCH_TIMEOUT
                                         : LP2P_PUNCH_UNREACHABLE);
  return 0;
}

int lp2p_dcutr_handle_timeout(lp2p_dcutr *d, lp2p_tstamp now) {
  if (!d || d->done || d->timer == LP2P_TSTAMP_NONE || now < d->timer)
    return 0;
  d->timer = LP2P_TSTAMP_NONE;
  switch (d->st) {
  case ST_WAIT_HALF_RTT:
    emit_dial(d, now);
    break;
  case ST_DIALING:
    if (d->sync_due) { /* B's SYN has left: now SYNC (plan_for) */
      d->sync_due = 0;
      if (queue_msg(d, LP2P_DCUTR_SYNC, 0) != 0) {
        finish(d, LP2P_PUNCH_PROTOCOL);
        break;
      }
      close_stream(d, 0);
      d->timer = after(now, d->cfg.dial_timeout_ns);
      break;
    }
    push_ev(d, LP2P_DCUTR_EV_CANCEL_DIALS);
    fail_attempt(d, now, d->dial_none ? LP2P_PUNCH_NO_PUBLIC_ADDR_THEIRS
                                      : LP2P_PUNCH_TIMEOUT);
    break;
  case ST_WAIT_STREAM:
  case ST_WAIT_CONNECT:
  case ST_WAIT_SYNC:
    if (d->st != ST_WAIT_STREAM)
      close_stream(d, 1);
    fail_attempt(d, now, LP2P_PUNCH_TIMEOUT);
    break;
  case ST_WAIT_RETRY:
    if (d->role == LP2P_DCUTR_INITIATOR)
      begin_attempt(d, now);
    else /* B stopped retrying: the last attempt's reason stands */
      finish(d, d->last_reason);
    break;
  case ST_IDLE:
  case ST_DONE:
    break;
  }
  return 0;
}
