/* punch: reaching the peer and keeping the best path (issue 14 "How
 * `punch in` finds the peer", "Path upkeep").
 *
 * Relay multiaddr mode: `out` keeps a reservation on the relay and `in`
 * dials <relay>/p2p-circuit/p2p/<key>. Default and disabled modes: both
 * join the DHT through the bootstrap peers; `out` publishes provider
 * records under a key derived from its PeerId (below), refreshed every
 * 10 minutes and soon after its addresses change; the records carry what
 * it advertises: relayed (AutoRelay, default mode only) and mapped or
 * public addresses. `in` looks the key up, stores the provider's
 * addresses and dials the peer.
 *
 * The one connection: the host opens new streams on the best connection
 * (an unlimited one, else the most recent), so once DCUtR gives a direct
 * connection new forwarded connections use it. When the last connection
 * to the peer ends, `in` dials again at once (the relay, within a
 * second) and DCUtR punches again on the new relayed connection. Each
 * transition and each failed attempt is one status line with its reason;
 * a failed punch leaves traffic relayed and nothing flaps. */
#include <stdio.h>
#include <string.h>

#include "lp2p/crypto.h"
#include "lp2p/natclass.h"
#include "tools/punch/punch.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define PROVIDE_REFRESH_NS (600 * LP2P_NS_PER_S)
#define STDIO_CONNECT_NS (60 * LP2P_NS_PER_S)

/* The provider key of a punch peer: the sha2-256 multihash of
 * "/punch/1/" followed by the PeerId's bytes. A key of our own (not the
 * PeerId itself) so punch records never mix with other uses of the
 * peer's id on the DHT. */
static void find_key(const lp2p_peerid *id, uint8_t out[34]) {
  static const char prefix[] = "/punch/1/";
  lp2p_sha256_ctx c;
  lp2p_sha256_init(&c);
  lp2p_sha256_update(&c, (const uint8_t *)prefix, sizeof prefix - 1);
  lp2p_sha256_update(&c, id->bytes, id->len);
  out[0] = 0x12; /* sha2-256 */
  out[1] = 32;
  lp2p_sha256_final(&c, out + 2);
}

static uint64_t next_backoff(uint64_t *b) {
  uint64_t now = *b ? *b : BACKOFF_MIN_MS;
  *b = now * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : now * 2;
  return now;
}

static void peer_text(const lp2p_peerid *id, char *t, size_t cap) {
  punch_peer_text(id, t, cap);
}

/* "relayed via <relay conn addr>" or "direct <addr>" for a connection. */
static void conn_text(punch *p, uint64_t conn, char *t, size_t cap,
                      int *carried) {
  lp2p_host_conn_info ci;
  char a[512] = "?";
  *carried = 0;
  if (lp2p_host_conn_info_get(p->h, conn, &ci) == 0) {
    punch_maddr_text(&ci.remote_addr, a, sizeof a);
    *carried = ci.carried;
    char lim[160] = "";
    if (ci.limited) {
      /* issue 14 "Status": the relay's limits when it is a limited one */
      char secs[48] = "no time limit", bytes[64] = "no data limit";
      lp2p_tstamp now = lp2p_clock_now();
      if (ci.limit_deadline != LP2P_TSTAMP_NONE)
        snprintf(secs, sizeof secs, "%llu s left",
                 (unsigned long long)(ci.limit_deadline > now
                                          ? (ci.limit_deadline - now) /
                                                LP2P_NS_PER_S
                                          : 0));
      if (ci.limit_bytes_left != UINT64_MAX)
        snprintf(bytes, sizeof bytes, "%llu bytes left",
                 (unsigned long long)ci.limit_bytes_left);
      snprintf(lim, sizeof lim, " (limited relay: %s, %s; then it ends)",
               secs, bytes);
    }
    snprintf(t, cap, "%s %s%s", ci.carried ? "relayed" : "direct", a, lim);
    return;
  }
  snprintf(t, cap, "?");
}

static int dial_relay(punch *p, lp2p_tstamp now) {
  /* From our listen port (REUSEPORT), as go does: the relay then observes
   * the NAT mapping a hole punch from that port will use (DESIGN 5b) */
  int rc = lp2p_host_dial(p->h, now, &p->cfg->relay_addr,
                          p->listening ? LP2P_DIAL_REUSEPORT : 0,
                          &p->relay_dial);
  if (rc) {
    pstatus(p, PL_WARN, "cannot dial the relay: %s", lp2p_strerror(rc));
    p->relay_dial = 0;
    p->next_relay = now + next_backoff(&p->relay_backoff_ms) * LP2P_NS_PER_MS;
  }
  return 0;
}

static void join_dht(punch *p, lp2p_tstamp now) {
  int started = 0;
  for (int i = 0; i < p->cfg->nboot; i++)
    if (lp2p_host_dial(p->h, now, &p->cfg->boot[i], 0, NULL) == 0)
      started++;
  pstatus(p, PL_INFO, "joining the DHT through %d bootstrap peer%s",
          started, started == 1 ? "" : "s");
}

int path_start(punch *p) {
  lp2p_tstamp now = lp2p_clock_now();
  if (p->cfg->role == ROLE_IN)
    p->stdio_deadline = now + STDIO_CONNECT_NS;
  if (p->cfg->relay_mode == RELAY_ADDR) {
    /* out dials the relay once its listener is bound (path_tick) */
    if (p->cfg->role == ROLE_IN)
      p->next_dial = now;
    return 0;
  }
  join_dht(p, now);
  return 0;
}

static void in_connect(punch *p, lp2p_tstamp now) {
  char id[LP2P_PEERID_TEXT_MAX];
  peer_text(&p->cfg->target, id, sizeof id);
  if (p->cfg->relay_mode == RELAY_ADDR) {
    char rt[1024], full[1200];
    punch_maddr_text(&p->cfg->relay_addr, rt, sizeof rt);
    snprintf(full, sizeof full, "%s/p2p-circuit/p2p/%s", rt, id);
    lp2p_maddr m;
    int rc = lp2p_maddr_parse(&m, full, strlen(full));
    if (!rc)
      rc = lp2p_host_dial(p->h, now, &m, 0, &p->dial);
    if (rc) {
      pstatus(p, PL_WARN, "cannot dial %s: %s", full, lp2p_strerror(rc));
      p->dial = 0;
      p->next_dial =
          now + next_backoff(&p->dial_backoff_ms) * LP2P_NS_PER_MS;
      fwd_unreachable(p, rc);
    }
    return;
  }
  if (!p->joined || p->kad_query)
    return;
  /* a fresh lookup each time: the peer's addresses change */
  uint8_t key[34];
  find_key(&p->cfg->target, key);
  int rc = lp2p_host_kad_providers(p->h, now, key, sizeof key, &p->kad_query);
  if (rc) {
    p->kad_query = 0;
    pstatus(p, PL_WARN, "cannot look up %s on the DHT: %s", id,
            lp2p_strerror(rc));
    p->next_dial = now + next_backoff(&p->dial_backoff_ms) * LP2P_NS_PER_MS;
    return;
  }
  pstatus(p, PL_DEBUG, "looking up %s on the DHT", id);
}

int path_ready(punch *p) {
  if (lp2p_host_peer_conn_count(p->h, &p->cfg->target) > 0)
    return 1;
  if (!p->dial && !p->kad_query && p->next_dial > lp2p_clock_now())
    p->next_dial = lp2p_clock_now(); /* a new forwarded connection: now */
  return 0;
}

/* in: dial the next address found on the DHT. Returns 1 if a dial
 * started. */
static int dial_found(punch *p, lp2p_tstamp now) {
  while (p->next_found < p->nfound) {
    const lp2p_maddr *a = &p->found[p->next_found++];
    char t[1024];
    punch_maddr_text(a, t, sizeof t);
    int rc = lp2p_host_dial(p->h, now, a, 0, &p->dial);
    if (rc == 0) {
      pstatus(p, PL_DEBUG, "dialling %s", t);
      return 1;
    }
    p->dial = 0;
    pstatus(p, PL_DEBUG, "cannot dial %s: %s", t, lp2p_strerror(rc));
  }
  return 0;
}

static void lookup_done(punch *p, const lp2p_host_event *ev,
                        lp2p_tstamp now) {
  uint64_t q = p->kad_query;
  p->kad_query = 0;
  char id[LP2P_PEERID_TEXT_MAX];
  peer_text(&p->cfg->target, id, sizeof id);
  lp2p_maddr tail;
  char tt[LP2P_PEERID_TEXT_MAX + 8];
  snprintf(tt, sizeof tt, "/p2p/%s", id);
  lp2p_maddr_parse(&tail, tt, strlen(tt));
  lp2p_maddr circ[16];
  int ncirc = 0;
  p->nfound = p->next_found = 0;
  lp2p_peerid prov;
  size_t na = 0;
  for (size_t i = 0; lp2p_host_kad_query_provider(p->h, q, i, &prov, &na);
       i++) {
    if (!lp2p_peerid_equal(&prov, &p->cfg->target))
      continue; /* only the peer itself may say where it is */
    for (size_t j = 0; j < na; j++) {
      lp2p_maddr a;
      const uint8_t *v;
      size_t vl;
      if (lp2p_host_kad_query_provider_addr(p->h, q, i, j, &a) != 0)
        continue;
      lp2p_maddr_strip_peer_id(&a);
      if (lp2p_maddr_encapsulate(&a, &tail) != 0)
        continue;
      int relayed = lp2p_maddr_find(&a, LP2P_MA_P2P_CIRCUIT, &v, &vl) == 0;
      /* disabled: direct only, never through a relay it advertises */
      if (relayed && p->cfg->relay_mode == RELAY_DISABLED)
        continue;
      if (relayed && ncirc < 16)
        circ[ncirc++] = a;
      else if (!relayed && p->nfound < 16)
        p->found[p->nfound++] = a;
    }
  }
  /* direct addresses first (a public or mapped one needs no relay), then
   * the relayed ones */
  for (int k = 0; k < ncirc && p->nfound < 16; k++)
    p->found[p->nfound++] = circ[k];
  lp2p_host_kad_query_free(p->h, q);
  if (!p->nfound) {
    uint64_t ms = next_backoff(&p->dial_backoff_ms);
    pstatus(p, PL_WARN,
            "%s not found on the DHT (%s); trying again in %llu s", id,
            ev->err ? lp2p_strerror(ev->err) : "no provider record",
            (unsigned long long)(ms / 1000));
    p->next_dial = now + ms * LP2P_NS_PER_MS;
    fwd_unreachable(p, LP2P_ERR_NOT_FOUND);
    return;
  }
  pstatus(p, PL_INFO, "found %s on the DHT (%d address%s)", id, p->nfound,
          p->nfound == 1 ? "" : "es");
  if (!dial_found(p, now)) {
    pstatus(p, PL_WARN, "cannot dial any address of %s", id);
    p->next_dial = now + next_backoff(&p->dial_backoff_ms) * LP2P_NS_PER_MS;
    fwd_unreachable(p, LP2P_ERR_UNREACHABLE);
  }
}

static void provide(punch *p, lp2p_tstamp now) {
  if (p->kad_query)
    return;
  uint8_t key[34];
  find_key(&p->self, key);
  int rc = lp2p_host_kad_provide(p->h, now, key, sizeof key, &p->kad_query);
  if (rc) {
    p->kad_query = 0;
    pstatus(p, PL_WARN, "cannot publish on the DHT: %s", lp2p_strerror(rc));
    p->next_provide = now + 30 * LP2P_NS_PER_S;
    return;
  }
  p->next_provide = now + PROVIDE_REFRESH_NS;
}

static int is_target(punch *p, const lp2p_peerid *id) {
  return p->cfg->role == ROLE_IN ? lp2p_peerid_equal(id, &p->cfg->target)
                                 : 1;
}

static void on_connected(punch *p, const lp2p_host_event *ev) {
  if (p->cfg->relay_mode == RELAY_ADDR &&
      lp2p_peerid_equal(&ev->peer, &p->cfg->relay_id))
    return;
  if (!is_target(p, &ev->peer))
    return;
  char id[LP2P_PEERID_TEXT_MAX], how[800];
  int carried;
  peer_text(&ev->peer, id, sizeof id);
  conn_text(p, ev->conn, how, sizeof how, &carried);
  /* DHT and bootstrap peers are not worth a line at info */
  int punchy = carried || p->cfg->role == ROLE_IN ||
               lp2p_host_peer_supports(p->h, &ev->peer,
                                       LP2P_PUNCH_TCP_PROTOCOL);
  pstatus(p, punchy ? PL_INFO : PL_DEBUG, "peer %s connected: %s", id, how);
}

static void on_disconnected(punch *p, const lp2p_host_event *ev,
                            lp2p_tstamp now) {
  if (ev->err == LP2P_ERR_DENIED && !ev->peer.len) {
    pstatus(p, PL_INFO,
            "refused an inbound connection: the peer is not in PUNCH_ALLOW");
    return;
  }
  if (!ev->peer.len || !is_target(p, &ev->peer))
    return;
  char id[LP2P_PEERID_TEXT_MAX];
  peer_text(&ev->peer, id, sizeof id);
  size_t left = lp2p_host_peer_conn_count(p->h, &ev->peer);
  if (ev->conn == p->direct_conn && p->direct_conn) {
    p->direct = 0;
    p->direct_conn = 0;
    pstatus(p, PL_INFO,
            "direct path to %s lost (%s); %s", id,
            ev->err ? lp2p_strerror(ev->err) : "closed",
            left ? "new connections use the relay"
                 : "reconnecting through the relay");
  } else if (p->cfg->role == ROLE_IN || ev->err == LP2P_ERR_DENIED) {
    pstatus(p, ev->err == LP2P_ERR_DENIED ? PL_INFO : PL_DEBUG,
            "connection to %s ended (%s)", id,
            ev->err ? lp2p_strerror(ev->err) : "closed");
  }
  if (p->cfg->role == ROLE_IN && !left) {
    p->connected = 0;
    if (!p->dial) {
      p->next_dial = now; /* fall back at once */
      p->dial_backoff_ms = 0;
    }
  }
}

static void on_holepunch(punch *p, const lp2p_host_event *ev,
                         lp2p_tstamp now) {
  char id[LP2P_PEERID_TEXT_MAX];
  peer_text(&ev->peer, id, sizeof id);
  if (ev->u.holepunch.ok) {
    p->direct = 1;
    p->direct_conn = ev->conn;
    p->punch_failed = 0;
    p->punch_backoff_ms = 0;
    /* the RTT of the direct path: one ping (it goes over the best
     * connection, now the direct one); the line follows its answer */
    if (lp2p_host_ping(p->h, now, &ev->peer) == 0) {
      p->ping_direct = 1;
    } else {
      char how[800];
      int carried;
      conn_text(p, ev->conn, how, sizeof how, &carried);
      pstatus(p, PL_INFO, "path to %s: relayed -> %s", id, how);
    }
    return;
  }
  p->punch_failed = 1;
  pstatus(p, PL_INFO,
          "hole punch to %s failed: %s (%u attempt%s); traffic stays relayed",
          id,
          lp2p_punch_reason_name((lp2p_punch_reason)ev->u.holepunch.reason),
          ev->u.holepunch.attempts, ev->u.holepunch.attempts == 1 ? "" : "s");
}

void path_event(punch *p, const lp2p_host_event *ev) {
  lp2p_tstamp now = lp2p_clock_now();
  char id[LP2P_PEERID_TEXT_MAX];
  switch (ev->kind) {
  case LP2P_HOST_EV_LISTENING:
    p->listening = 1;
    break;
  case LP2P_HOST_EV_DIAL_DONE:
  case LP2P_HOST_EV_DIAL_FAILED:
    if (p->relay_dial && ev->u.dial.id == p->relay_dial) {
      p->relay_dial = 0;
      int rc = ev->kind == LP2P_HOST_EV_DIAL_DONE
                   ? lp2p_host_relay_reserve(p->h, now, &p->cfg->relay_id)
                   : ev->err;
      if (rc) {
        uint64_t ms = next_backoff(&p->relay_backoff_ms);
        pstatus(p, PL_WARN, "relay unreachable: %s; trying again in %llu s",
                lp2p_strerror(rc), (unsigned long long)(ms / 1000));
        p->next_relay = now + ms * LP2P_NS_PER_MS;
      }
    } else if (p->dial && ev->u.dial.id == p->dial) {
      p->dial = 0;
      peer_text(&p->cfg->target, id, sizeof id);
      if (ev->kind == LP2P_HOST_EV_DIAL_DONE) {
        p->connected = 1;
        p->dial_backoff_ms = 0;
        fwd_connected(p);
      } else if (p->next_found < p->nfound && dial_found(p, now)) {
        /* the next address the DHT gave */
      } else {
        uint64_t ms = next_backoff(&p->dial_backoff_ms);
        p->nfound = p->next_found = 0;
        pstatus(p, PL_WARN, "cannot reach %s: %s; trying again in %llu s",
                id, lp2p_strerror(ev->err), (unsigned long long)(ms / 1000));
        p->next_dial = now + ms * LP2P_NS_PER_MS;
        fwd_unreachable(p, ev->err);
      }
    }
    break;
  case LP2P_HOST_EV_PEER_CONNECTED:
    on_connected(p, ev);
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (p->cfg->relay_mode == RELAY_ADDR && p->cfg->role == ROLE_OUT &&
        lp2p_peerid_equal(&ev->peer, &p->cfg->relay_id) &&
        !lp2p_host_peer_conn_count(p->h, &ev->peer)) {
      p->reserved = 0;
      pstatus(p, PL_WARN, "relay connection lost (%s)",
              ev->err ? lp2p_strerror(ev->err) : "closed");
      if (!p->relay_dial)
        p->next_relay = now + next_backoff(&p->relay_backoff_ms) *
                                  LP2P_NS_PER_MS;
      break;
    }
    on_disconnected(p, ev, now);
    break;
  case LP2P_HOST_EV_RELAY_RESERVED: {
    peer_text(&ev->peer, id, sizeof id);
    if (!p->reserved) {
      lp2p_maddr a[16];
      size_t n = 0;
      lp2p_host_relay_addrs(p->h, a, 16, &n);
      char t[1024] = "";
      if (n)
        punch_maddr_text(&a[0], t, sizeof t);
      pstatus(p, PL_INFO, "relay reservation on %s: reachable at %s", id, t);
    }
    p->reserved = 1;
    p->relay_backoff_ms = 0;
    break;
  }
  case LP2P_HOST_EV_RELAY_RESERVATION_LOST:
    peer_text(&ev->peer, id, sizeof id);
    p->reserved = 0;
    if (ev->u.relay.status)
      pstatus(p, PL_WARN, "relay %s refused the reservation (status %u)", id,
              (unsigned)ev->u.relay.status);
    else
      pstatus(p, PL_WARN, "relay reservation on %s lost: %s", id,
              lp2p_strerror(ev->err));
    if (p->cfg->relay_mode == RELAY_ADDR && !p->relay_dial)
      p->next_relay =
          now + next_backoff(&p->relay_backoff_ms) * LP2P_NS_PER_MS;
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    if (is_target(p, &ev->peer))
      on_holepunch(p, ev, now);
    break;
  case LP2P_HOST_EV_PING_RESULT:
    if (p->ping_direct && is_target(p, &ev->peer)) {
      p->ping_direct = 0;
      char how[800];
      int carried;
      peer_text(&ev->peer, id, sizeof id);
      conn_text(p, p->direct_conn, how, sizeof how, &carried);
      if (ev->err)
        pstatus(p, PL_INFO, "path to %s: relayed -> %s (rtt unknown: %s)",
                id, how, lp2p_strerror(ev->err));
      else
        pstatus(p, PL_INFO, "path to %s: relayed -> %s, rtt %.3f ms", id,
                how, (double)ev->u.ping.rtt_ns / 1e6);
    }
    break;
  case LP2P_HOST_EV_ADDRESS_CHANGED:
    /* publish the new addresses soon (several changes come together) */
    if (p->cfg->role == ROLE_OUT && p->joined &&
        p->next_provide > now + 2 * LP2P_NS_PER_S)
      p->next_provide = now + 2 * LP2P_NS_PER_S;
    break;
  case LP2P_HOST_EV_KAD_QUERY_DONE:
    if (ev->u.kad.query != p->kad_query || !p->kad_query)
      break;
    if (p->cfg->role == ROLE_IN) {
      lookup_done(p, ev, now);
    } else {
      lp2p_kad_query_info qi;
      memset(&qi, 0, sizeof qi);
      lp2p_host_kad_query_info(p->h, p->kad_query, &qi);
      lp2p_host_kad_query_free(p->h, p->kad_query);
      p->kad_query = 0;
      if (qi.stored)
        pstatus(p, PL_INFO, "published on the DHT (%zu peer%s)", qi.stored,
                qi.stored == 1 ? "" : "s");
      else {
        pstatus(p, PL_WARN, "DHT publication stored nowhere; again in 30 s");
        p->next_provide = now + 30 * LP2P_NS_PER_S;
      }
    }
    break;
  default:
    break;
  }
}

void path_tick(punch *p, lp2p_tstamp now) {
  const pconfig *c = p->cfg;
  if (c->relay_mode != RELAY_ADDR && !p->joined &&
      lp2p_host_kad_table_size(p->h) > 0) {
    p->joined = 1;
    pstatus(p, PL_INFO, "joined the DHT");
    if (c->role == ROLE_OUT)
      p->next_provide = now;
    else
      p->next_dial = now;
  }
  if (c->role == ROLE_OUT) {
    if (c->relay_mode == RELAY_ADDR && !p->reserved && !p->relay_dial &&
        now >= p->next_relay && p->listening &&
        !lp2p_host_peer_conn_count(p->h, &c->relay_id))
      dial_relay(p, now);
    else if (c->relay_mode == RELAY_ADDR && !p->reserved && !p->relay_dial &&
             now >= p->next_relay && p->next_relay) {
      /* connected but the reservation went: ask again */
      p->next_relay = 0;
      lp2p_host_relay_reserve(p->h, now, &c->relay_id);
    }
    if (c->relay_mode != RELAY_ADDR && p->joined && now >= p->next_provide)
      provide(p, now);
    return;
  }
  if (!p->connected && !p->dial && now >= p->next_dial &&
      !lp2p_host_peer_conn_count(p->h, &c->target))
    in_connect(p, now);
  else if (!p->connected && lp2p_host_peer_conn_count(p->h, &c->target)) {
    p->connected = 1; /* connected by other means (the peer dialled) */
    fwd_connected(p);
  }
  if (p->stdio && !p->connected && now >= p->stdio_deadline) {
    char id[LP2P_PEERID_TEXT_MAX];
    peer_text(&c->target, id, sizeof id);
    pstatus(p, PL_ERROR, "could not reach %s within %d s", id,
            (int)(STDIO_CONNECT_NS / LP2P_NS_PER_S));
    p->exit_code = PUNCH_EXIT_FAIL;
    p->done = 1;
  }
}
