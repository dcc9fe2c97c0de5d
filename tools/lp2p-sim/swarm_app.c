/* The swarm's application: dials, self-checking streams, pings, closes and
 * resets, the liveness phase and the final checks.
 *
 * Stream format (sender -> receiver, one direction): a 16-byte header
 * 'S' 'W' sender-index(2) sequence(4) total-length(4) check(4), then bytes
 * of a pseudo-random sequence keyed by (sender, sequence). The receiver
 * checks every byte it is given, so anything but a prefix of what was sent
 * (a lost, duplicated, reordered or corrupted byte) fails the run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/natclass.h"
#include "tools/lp2p-sim/swarm.h"

#define CHUNK 16384
#define STREAM_MAX_BYTES (192u * 1024u)
#define STREAMS_PER_NODE_MAX 64

static uint64_t mix(uint64_t x) {
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* Byte i of the stream (header included). */
static uint8_t stream_byte(uint64_t key, uint32_t total, uint32_t i) {
  if (i < SWARM_HDR) {
    uint8_t h[SWARM_HDR];
    uint32_t check = (uint32_t)mix(key ^ total);
    h[0] = 'S';
    h[1] = 'W';
    h[2] = (uint8_t)(key >> 40);
    h[3] = (uint8_t)(key >> 32);
    for (int k = 0; k < 4; k++) {
      h[4 + k] = (uint8_t)(key >> (24 - 8 * k));
      h[8 + k] = (uint8_t)(total >> (24 - 8 * k));
      h[12 + k] = (uint8_t)(check >> (24 - 8 * k));
    }
    return h[i];
  }
  return (uint8_t)(mix(key * 31 + i / 8) >> (8 * (i % 8)));
}

static uint64_t rnd(swarm *w, uint64_t bound) {
  return lp2p_rng_below(&w->rng, bound);
}

/* LP2P_LOG: each host's lines start with its node index ("n7 ..."). */
static void node_log(void *ud, int level, const char *msg) {
  char line[1024];
  snprintf(line, sizeof line, "n%u %s", (unsigned)(uintptr_t)ud, msg);
  shost_log->write(shost_log->ud, level, line);
}
static lp2p_log node_logs[64];

void swarm_tweak(lp2p_host_config *cfg, void *ud) {
  swarm *w = ud;
  if (shost_log && w->cur < 64) {
    node_logs[w->cur].write = node_log;
    node_logs[w->cur].ud = (void *)(uintptr_t)w->cur;
    cfg->log = &node_logs[w->cur];
  }
  cfg->security = LP2P_HOST_SECURITY_NOISE; /* corruption must be caught */
  cfg->dcutr.enabled = 1;
  cfg->relay.hop = w->cur == 0; /* node 0 is public: the swarm's relay */
  /* up to 50 hosts, many behind one NAT's IP: the per-IP bounds (8
   * connections, 8 relay reservations) are for the internet, not for a
   * swarm where every host meets every other one behind a few NATs */
  cfg->conns_per_ip_max = 64;
  cfg->relay.reservations_per_ip_max = 64;
}

static snode *peer_of(swarm *w, const lp2p_peerid *id) {
  if (!id->len)
    return NULL;
  for (uint32_t i = 0; i < w->n; i++)
    if (lp2p_peerid_equal(&w->nodes[i].h.id, id))
      return &w->nodes[i];
  return NULL;
}

static lp2p_host *host(swarm *w, snode *x) {
  return lp2p_sim_host(w->s, x->h.node);
}

static lp2p_tstamp now_of(swarm *w, snode *x) { return shost_now(w->s, &x->h); }

/* ---- stream table
 * ------------------------------------------------------------ */

static sstream *st_find(snode *x, uint64_t id) {
  for (size_t i = 0; i < x->nst; i++)
    if (x->st[i].id == id)
      return &x->st[i];
  return NULL;
}

static sstream *st_add(snode *x, uint64_t id) {
  if (x->nst == x->cap) {
    size_t nc = x->cap ? x->cap * 2 : 8;
    sstream *n = realloc(x->st, nc * sizeof(*n));
    if (!n)
      return NULL;
    x->st = n;
    x->cap = nc;
  }
  sstream *t = &x->st[x->nst++];
  memset(t, 0, sizeof(*t));
  t->id = id;
  return t;
}

static void st_del(snode *x, sstream *t) { *t = x->st[--x->nst]; }

/* ---- sending
 * ------------------------------------------------------------------ */

static void pump(swarm *w, snode *x, sstream *t) {
  uint8_t buf[CHUNK];
  lp2p_host *h = host(w, x);
  while (t->pos < t->total) {
    uint32_t n = t->total - t->pos < CHUNK ? t->total - t->pos : CHUNK;
    for (uint32_t i = 0; i < n; i++)
      buf[i] = stream_byte(t->key, t->total, t->pos + i);
    lp2p_ssize k = lp2p_host_stream_write(h, now_of(w, x), t->id, buf, n);
    if (k <= 0)
      return; /* full (WRITABLE follows) or dead (RESET follows) */
    t->pos += (uint32_t)k;
    if ((uint32_t)k < n)
      return;
  }
  if (!t->fin) {
    t->fin = 1;
    lp2p_host_stream_close(h, now_of(w, x), t->id);
  }
}

void swarm_stream_open(swarm *w, snode *x, snode *y) {
  if (x == y || !x->conns[y->idx] || x->nst >= STREAMS_PER_NODE_MAX)
    return;
  uint64_t id;
  lp2p_host *h = host(w, x);
  if (lp2p_host_open_stream(h, now_of(w, x), &y->h.id, SWARM_PROTO, &id) != 0)
    return;
  sstream *t = st_add(x, id);
  if (!t) {
    lp2p_host_stream_reset(h, now_of(w, x), id);
    return;
  }
  w->streams_opened++;
  t->out = 1;
  t->key = (uint64_t)x->idx << 32 | x->seq++;
  t->total = SWARM_HDR + (uint32_t)rnd(w, STREAM_MAX_BYTES);
  pump(w, x, t); /* lazy proposal: writes go out with it */
  lp2p_sim_host_kick(w->s, x->h.node);
}

void swarm_stream_reset_one(swarm *w, snode *x) {
  if (!x->nst)
    return;
  sstream *t = &x->st[rnd(w, x->nst)];
  lp2p_host_stream_reset(host(w, x), now_of(w, x), t->id);
  st_del(x, t); /* no further events for a reset stream */
  lp2p_sim_host_kick(w->s, x->h.node);
}

/* ---- receiving
 * ---------------------------------------------------------------- */

static void take(swarm *w, snode *x, sstream *t, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++, t->pos++) {
    uint8_t b = p[i];
    if (t->pos < SWARM_HDR) {
      t->hdr[t->pos] = b;
      if (t->pos + 1 == SWARM_HDR) {
        uint64_t key = (uint64_t)(t->hdr[2] << 8 | t->hdr[3]) << 32;
        uint32_t total = 0;
        for (int k = 0; k < 4; k++) {
          key |= (uint64_t)t->hdr[4 + k] << (24 - 8 * k);
          total |= (uint32_t)t->hdr[8 + k] << (24 - 8 * k);
        }
        for (uint32_t k = 0; k < SWARM_HDR; k++) {
          if (stream_byte(key, total, k) != t->hdr[k]) {
            scen_fail(w->c, "node %u stream %llu: bad header (seed %llu)",
                      x->idx, (unsigned long long)t->id,
                      (unsigned long long)w->c->seed);
            return;
          }
        }
        t->key = key;
        t->total = total;
      }
      continue;
    }
    if (t->pos >= t->total || stream_byte(t->key, t->total, t->pos) != b) {
      scen_fail(w->c,
                "node %u stream %llu: byte %u is not what was sent (seed %llu)",
                x->idx, (unsigned long long)t->id, t->pos,
                (unsigned long long)w->c->seed);
      return;
    }
    w->bytes_checked++;
  }
}

static void drain_stream(swarm *w, snode *x, uint64_t id) {
  lp2p_host *h = host(w, x);
  sstream *t = st_find(x, id);
  for (;;) {
    size_t len = 0;
    const uint8_t *p = lp2p_host_stream_read_peek(h, id, &len);
    if (!p || !len)
      return;
    if (t && !t->out)
      take(w, x, t, p, len);
    lp2p_host_stream_read_consume(h, now_of(w, x), id, len);
  }
}

/* ---- other actions
 * ------------------------------------------------------------ */

void swarm_dial(swarm *w, snode *x, snode *y) {
  lp2p_maddr to;
  uint32_t ip = y->ip;
  /* a NATed target is dialled at its NAT's address: expected to fail
   * unless both share the LAN */
  if (y->realm != LP2P_SIM_INTERNET && y->realm != x->realm)
    ip = lp2p_sim_node_ip(w->s, y->realm);
  if (shost_maddr(&to, ip, 4001, &y->h.id) != 0)
    return;
  uint64_t dial;
  if (lp2p_host_dial(host(w, x), now_of(w, x), &to, 0, &dial) == 0)
    w->dials++;
  lp2p_sim_host_kick(w->s, x->h.node);
}

void swarm_ping(swarm *w, snode *x, snode *y) {
  if (x == y || !x->conns[y->idx])
    return;
  lp2p_host_ping(host(w, x), now_of(w, x), &y->h.id);
  lp2p_sim_host_kick(w->s, x->h.node);
}

void swarm_close_peer(swarm *w, snode *x, snode *y) {
  if (x == y || !x->conns[y->idx])
    return;
  lp2p_host_close_peer(host(w, x), now_of(w, x), &y->h.id);
  lp2p_sim_host_kick(w->s, x->h.node);
}

/* ---- liveness
 * ------------------------------------------------------------------ */

/* Index of the NAT whose LAN is `realm`, or -1. */
static int nat_index(const swarm *w, uint32_t realm) {
  for (uint32_t i = 0; i < w->nnats; i++)
    if (w->nats[i] == realm)
      return (int)i;
  return -1;
}

/* Behind exactly one NAT, which sits on the internet. */
static int single_nat(const swarm *w, const snode *x) {
  int k = nat_index(w, x->realm);
  return k >= 0 && w->nat_realm[k] == LP2P_SIM_INTERNET;
}

/* The tcp-punch-matrix oracle (RFC 4787/5382): does NAT X admit the SYN
 * of a peer behind a NAT mapping `ym`? */
static int admits(const lp2p_sim_nat_config *x, int ym) {
  if (x->filtering == LP2P_SIM_FILT_EI)
    return 1;
  if (x->filtering == LP2P_SIM_FILT_AD)
    return x->mapping == LP2P_SIM_MAP_EI;
  return x->mapping == LP2P_SIM_MAP_EI && ym == LP2P_SIM_MAP_EI;
}

/* y is behind a NAT and x elsewhere: reached through the relay (node 0),
 * and DCUtR can go direct. Left out, as the oracle leaves them out:
 * double NATs (it is for one NAT per side) and NATs that answer an
 * unsolicited SYN with RST (tcp-punch-rst's business; over the swarm's
 * lossy, jittery links they do not punch reliably yet). */
static int punch_allowed(const swarm *w, const snode *x, const snode *y) {
  if (y->realm == LP2P_SIM_INTERNET || x->realm == y->realm ||
      x->idx == 0 || y->idx == 0 || !single_nat(w, y))
    return 0;
  const lp2p_sim_nat_config *ny = &w->natcfg[nat_index(w, y->realm)];
  if (ny->syn_rst)
    return 0;
  if (x->realm == LP2P_SIM_INTERNET)
    return 1; /* y's unilateral upgrade dials x */
  if (!single_nat(w, x))
    return 0;
  const lp2p_sim_nat_config *nx = &w->natcfg[nat_index(w, x->realm)];
  if (nx->syn_rst)
    return 0;
  return admits(nx, (int)ny->mapping) || admits(ny, (int)nx->mapping);
}

static int allowed(const swarm *w, const snode *x, const snode *y) {
  /* directly: a public target, or one LAN; else through the relay and a
   * hole punch where the NAT matrix allows one */
  return y->realm == LP2P_SIM_INTERNET || x->realm == y->realm ||
         punch_allowed(w, x, y);
}

void swarm_reserve(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  snode *r = &w->nodes[0];
  lp2p_maddr ra;
  if (shost_maddr(&ra, r->ip, 4001, NULL) != 0)
    return;
  for (uint32_t i = 1; i < w->n; i++) {
    snode *x = &w->nodes[i];
    if (!single_nat(w, x))
      continue;
    lp2p_host *h = host(w, x);
    /* (a host already connected to node 0 from an ephemeral port gets a
     * second connection from its listen port from the relay client, so
     * that node 0 observes the mapping a punch uses) */
    lp2p_host_peer_addr_add(h, now_of(w, x), &r->h.id, &ra, 0);
    lp2p_host_relay_reserve(h, now_of(w, x), &r->h.id);
    lp2p_sim_host_kick(s, x->h.node);
  }
}

static void live_attempt(lp2p_sim *s, void *ud, uint64_t i) {
  swarm *w = ud;
  slive *l = &w->live[i];
  if (l->pinged || w->closing)
    return;
  snode *x = &w->nodes[l->x], *y = &w->nodes[l->y];
  lp2p_maddr to;
  shost_maddr(&to, y->ip, 4001, &y->h.id);
  if (l->punch && !l->direct) {
    /* /ip4/<relay>/tcp/4001/p2p/<relay>/p2p-circuit/p2p/<y> */
    lp2p_maddr circ, tail;
    char t[2 * LP2P_PEERID_TEXT_MAX + 32];
    size_t n1 = 0;
    memcpy(t, "/p2p-circuit/p2p/", 17);
    if (lp2p_peerid_to_base58(&y->h.id, t + 17, sizeof t - 17, &n1) == 0 &&
        shost_maddr(&circ, w->nodes[0].ip, 4001, &w->nodes[0].h.id) == 0 &&
        lp2p_maddr_parse(&tail, t, 17 + n1) == 0 &&
        lp2p_maddr_encapsulate(&circ, &tail) == 0)
      to = circ;
  }
  l->pinging = 0;
  w->dials++;
  if (lp2p_host_dial(host(w, x), now_of(w, x), &to,
                     l->connected ? LP2P_DIAL_FORCE : 0, &l->dial) != 0)
    lp2p_sim_at(s, lp2p_sim_now(s) + LP2P_NS_PER_S, live_attempt, w, i);
  lp2p_sim_host_kick(s, x->h.node);
}

void swarm_liveness_start(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)arg;
  swarm *w = ud;
  uint32_t cap = 150, k = 0;
  w->live = calloc(cap, sizeof(*w->live));
  if (!w->live)
    return;
  uint64_t pairs = (uint64_t)w->n * w->n;
  uint64_t start = rnd(w, pairs), stride = pairs > cap ? pairs / cap : 1;
  for (uint64_t j = 0; j < pairs && k < cap; j++) {
    uint64_t p = (start + j * stride) % pairs;
    uint32_t xi = (uint32_t)(p / w->n), yi = (uint32_t)(p % w->n);
    if (xi == yi || !allowed(w, &w->nodes[xi], &w->nodes[yi]))
      continue;
    if (punch_allowed(w, &w->nodes[xi], &w->nodes[yi]) &&
        !w->nodes[yi].reserved) {
      w->live_unreserved++; /* the relay refused it a slot */
      continue;
    }
    int dup = 0;
    for (uint32_t q = 0; q < k; q++)
      dup |= w->live[q].x == xi && w->live[q].y == yi;
    if (dup)
      continue;
    w->live[k].x = xi;
    w->live[k].y = yi;
    w->live[k].punch = punch_allowed(w, &w->nodes[xi], &w->nodes[yi]);
    lp2p_sim_at(s, lp2p_sim_now(s) + k * 20 * LP2P_NS_PER_MS, live_attempt, w,
                k);
    k++;
  }
  w->live_pairs = k;
}

static void live_dial_result(swarm *w, snode *x, uint64_t dial, int ok,
                             uint64_t conn) {
  for (uint32_t i = 0; i < w->live_pairs; i++) {
    slive *l = &w->live[i];
    if (l->dial != dial || l->x != x->idx || l->pinged)
      continue;
    l->dial = 0;
    lp2p_host_conn_info ci;
    if (ok && l->punch && !l->direct &&
        (lp2p_host_conn_info_get(host(w, x), conn, &ci) != 0 || ci.limited)) {
      l->connected = 1; /* relayed: DCUtR's result comes next */
    } else if (ok) {
      /* (a punch pair may already have a direct connection, e.g. one the
       * NATed side dialled: the dial reuses it) */
      l->direct = l->direct || l->punch;
      l->connected = 1;
      l->pinging = 1;
      lp2p_host_ping(host(w, x), now_of(w, x), &w->nodes[l->y].h.id);
    } else {
      lp2p_sim_at(w->s, lp2p_sim_now(w->s) + LP2P_NS_PER_S, live_attempt, w, i);
    }
  }
}

static void live_ping_result(swarm *w, snode *x, snode *y, int ok) {
  for (uint32_t i = 0; i < w->live_pairs; i++) {
    slive *l = &w->live[i];
    if (l->x != x->idx || l->y != y->idx || !l->pinging || l->pinged)
      continue;
    l->pinging = 0;
    if (ok) {
      l->pinged = 1;
    } else { /* a connection stalled by the partition: drop it, try anew */
      l->direct = 0; /* (a punched pair goes through the relay again) */
      lp2p_host_close_peer(host(w, x), now_of(w, x), &y->h.id);
      lp2p_sim_at(w->s, lp2p_sim_now(w->s) + LP2P_NS_PER_S, live_attempt, w, i);
    }
  }
}

/* DCUtR's result at x for y: direct, then ping (it prefers the direct
 * connection); else the relayed connection goes and the pair tries anew
 * (a new relayed connection runs DCUtR again). */
static void live_punch_result(swarm *w, snode *x, snode *y, int ok,
                              int reason) {
  for (uint32_t i = 0; i < w->live_pairs; i++) {
    slive *l = &w->live[i];
    if (l->x != x->idx || l->y != y->idx || !l->punch || l->direct ||
        l->pinged || l->dial)
      continue;
    l->punches++;
    if (ok) {
      l->direct = 1;
      l->pinging = 1;
      lp2p_host_ping(host(w, x), now_of(w, x), &y->h.id);
    } else {
      l->reason = reason;
      lp2p_host_close_peer(host(w, x), now_of(w, x), &y->h.id);
      lp2p_sim_at(w->s, lp2p_sim_now(w->s) + LP2P_NS_PER_S, live_attempt, w, i);
    }
  }
}

/* ---- events
 * ---------------------------------------------------------------------- */

void swarm_on_event(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev) {
  swarm *w = ud;
  uint32_t xi = w->by_node[hid];
  if (!xi)
    return;
  snode *x = &w->nodes[xi - 1];
  snode *y = peer_of(w, &ev->peer);
  sstream *t;
  (void)s;
  switch (ev->kind) {
  case LP2P_HOST_EV_PEER_CONNECTED:
    if (y)
      x->conns[y->idx]++;
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (y && x->conns[y->idx])
      x->conns[y->idx]--;
    break;
  case LP2P_HOST_EV_DIAL_DONE:
    w->dials_ok++;
    live_dial_result(w, x, ev->u.dial.id, 1, ev->conn);
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    live_dial_result(w, x, ev->u.dial.id, 0, 0);
    break;
  case LP2P_HOST_EV_RELAY_RESERVED:
    x->reserved = 1;
    break;
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST:
    x->reserved = 0;
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    if (y)
      live_punch_result(w, x, y, ev->u.holepunch.ok, ev->u.holepunch.reason);
    break;
  case LP2P_HOST_EV_PING_RESULT:
    if (!ev->err)
      w->pings_ok++;
    if (y)
      live_ping_result(w, x, y, ev->err == 0);
    break;
  case LP2P_HOST_EV_STREAM_INBOUND:
    if (x->nst >= STREAMS_PER_NODE_MAX || !st_add(x, ev->stream)) {
      lp2p_host_stream_reset(host(w, x), now_of(w, x), ev->stream);
      break;
    }
    drain_stream(w, x, ev->stream);
    break;
  case LP2P_HOST_EV_STREAM_OPENED:
  case LP2P_HOST_EV_STREAM_WRITABLE:
    if ((t = st_find(x, ev->stream)) && t->out)
      pump(w, x, t);
    break;
  case LP2P_HOST_EV_STREAM_READABLE:
    drain_stream(w, x, ev->stream);
    break;
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
    drain_stream(w, x, ev->stream);
    if ((t = st_find(x, ev->stream)) && !t->out) {
      if (t->pos < SWARM_HDR || t->pos != t->total)
        scen_fail(
            w->c,
            "node %u stream %llu: closed after %u of %u bytes (seed %llu)",
            x->idx, (unsigned long long)t->id, t->pos,
            t->pos < SWARM_HDR ? 0 : t->total, (unsigned long long)w->c->seed);
      lp2p_host_stream_close(host(w, x), now_of(w, x), ev->stream);
    }
    break;
  case LP2P_HOST_EV_STREAM_CLOSED:
    if ((t = st_find(x, ev->stream))) {
      if (t->out && t->fin && t->pos == t->total)
        w->streams_done++;
      st_del(x, t);
    }
    break;
  case LP2P_HOST_EV_STREAM_RESET:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
    if ((t = st_find(x, ev->stream)))
      st_del(x, t);
    break;
  case LP2P_HOST_EV_CLOSED:
    x->closed = 1;
    w->closed++;
    break;
  default:
    break;
  }
}

/* ---- end
 * ------------------------------------------------------------------------- */

void swarm_final_checks(swarm *w) {
  lp2p_sim *s = w->s;
  for (uint32_t i = 0; i < w->live_pairs; i++) {
    slive *l = &w->live[i];
    if (l->connected)
      w->live_connected++;
    w->live_punch += l->punch ? 1u : 0u;
    w->live_direct += l->punch && l->direct ? 1u : 0u;
    if (l->pinged)
      w->live_pinged++;
    else
      scen_fail(w->c, "liveness: node %u could not reach node %u after healing",
                l->x, l->y);
    if (l->punch && !l->direct) {
      const snode *x = &w->nodes[l->x], *y = &w->nodes[l->y];
      char sx[16], sy[16];
      int kx = nat_index(w, x->realm), ky = nat_index(w, y->realm);
      const lp2p_sim_nat_config *nx = kx >= 0 ? &w->natcfg[kx] : NULL,
                                *ny = &w->natcfg[ky];
      scen_line(w->c,
                "liveness: node %u (%s%s) never went direct to node %u (%s%s) "
                "though the punch matrix allows it: %d results, last %s, "
                "connected %d pinged %d (%s -> %s)",
                l->x,
                nx ? lp2p_sim_nat_type_name(nx->mapping, nx->filtering,
                                            nx->alloc)
                   : "public",
                nx && nx->syn_rst ? "-rst" : "", l->y,
                lp2p_sim_nat_type_name(ny->mapping, ny->filtering, ny->alloc),
                ny->syn_rst ? "-rst" : "", l->punches,
                lp2p_punch_reason_name((lp2p_punch_reason)l->reason),
                l->connected, l->pinged, shost_short(&x->h.id, sx),
                shost_short(&y->h.id, sy));
      scen_fail(w->c, "liveness: node %u never went direct to node %u", l->x,
                l->y);
    }
  }
  if (w->closed != w->n)
    scen_fail(w->c, "%u of %u hosts finished lp2p_host_close", w->closed, w->n);
  for (uint32_t i = 0; i < w->n; i++) {
    uint32_t node = w->nodes[i].h.node;
    lp2p_mem_counting *m = lp2p_sim_host_mem(s, node);
    if (w->budget && m->peak_bytes > w->budget)
      scen_fail(w->c, "node %u exceeded its memory budget", i);
    lp2p_sim_host_remove(s, node);
    if (m->live_bytes || m->live_allocs)
      scen_fail(w->c, "node %u leaked %zu bytes in %zu allocations", i,
                m->live_bytes, m->live_allocs);
  }
}

void swarm_free(swarm *w) {
  for (uint32_t i = 0; w->nodes && i < w->n; i++) {
    free(w->nodes[i].st);
    free(w->nodes[i].conns);
  }
  free(w->nodes);
  free(w->by_node);
  free(w->nats);
  free(w->natcfg);
  free(w->nat_realm);
  free(w->live);
}
