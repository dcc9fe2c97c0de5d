/* lp2p_host core: configuration, creation and teardown, the deadline heap
 * (one entry per connection, so next_timeout is O(1) and timers cost
 * O(log n) for 10,000 connections), timeouts, stats and the graceful
 * close of the whole host. */
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"
#include "proto/identify/identify_msg.h"
#include "proto/perf/perf_wire.h"
#include "proto/ping/ping_wire.h"

#define ECHO_PROTOCOL "/echo/1.0.0"

void lp2p_host_config_default(lp2p_host_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->security = LP2P_HOST_SECURITY_NOISE;
  cfg->services = LP2P_HOST_SVC_ALL;
  cfg->conns_max = 1024;
  cfg->conns_pending_max = 128;
  cfg->conns_per_peer_max = 8;
  cfg->dials_max = 128;
  lp2p_yamux_config_default(&cfg->yamux);
  cfg->streams_max = 65536;
  cfg->ping_streams_per_peer_max = 2;
  cfg->protocols_max = 64;
  cfg->event_queue_max = 4096;
  cfg->peers_max = 4096;
  cfg->addrs_per_peer_max = 16;
  cfg->protocols_per_peer_max = 128;
  cfg->host_addrs_max = 64;
  cfg->identify_msg_bytes_max = 8192;
  cfg->observed_confirm_min = 4;
  cfg->peer_addr_ttl_ns = 3600 * LP2P_NS_PER_S;
  cfg->handshake_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->dial_timeout_ns = 15 * LP2P_NS_PER_S;
  cfg->stream_negotiate_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->identify_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->ping_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->close_timeout_ns = 5 * LP2P_NS_PER_S;
  cfg->raws_max = 256;
  cfg->raw_send_bytes_max = 256 * 1024;
  cfg->raw_recv_bytes_max = 256 * 1024;
  cfg->udp_queue_max = 64;
  cfg->udp_datagram_bytes_max = 2048;
  cfg->udp_send_queue_max = 256;
}

void host_log(lp2p_host *h, int level, const char *msg) {
  if (h->cfg.log && h->cfg.log->write)
    h->cfg.log->write(h->cfg.log->ud, level, msg);
}

static char *dup_str(const lp2p_mem *mem, const char *s) {
  size_t n = strlen(s);
  char *d = lp2p_mem_malloc(mem, n + 1);
  if (d)
    memcpy(d, s, n + 1);
  return d;
}

static int config_ok(const lp2p_host_config *c) {
  return c->identity && c->conns_max && c->conns_pending_max &&
         c->conns_per_peer_max && c->dials_max && c->streams_max &&
         c->protocols_max && c->protocols_max <= 1024 &&
         c->event_queue_max >= 16 && c->peers_max && c->addrs_per_peer_max &&
         c->addrs_per_peer_max <= 1024 && c->protocols_per_peer_max &&
         c->protocols_per_peer_max <= 4096 && c->host_addrs_max &&
         c->identify_msg_bytes_max >= 64 &&
         c->identify_msg_bytes_max <= (1u << 20) &&
         c->security <= LP2P_HOST_SECURITY_NOISE_PLAINTEXT && c->raws_max &&
         c->raws_max <= (1u << 20) && c->raw_send_bytes_max &&
         c->raw_send_bytes_max <= (1u << 30) && c->raw_recv_bytes_max &&
         c->raw_recv_bytes_max <= (1u << 30) && c->udp_queue_max &&
         c->udp_datagram_bytes_max && c->udp_datagram_bytes_max <= 65535 &&
         c->udp_send_queue_max;
}

static int add_service(lp2p_host *h, const char *name, uint8_t svc,
                       unsigned bit, uint16_t *idx) {
  int err = 0;
  *idx = host_proto_find(h, name, strlen(name), 1, svc, &err);
  if (*idx == UINT16_MAX)
    return err;
  if (h->cfg.services & bit)
    h->protos[*idx].flags |= HPROTO_INBOUND | HPROTO_ADVERTISE;
  return 0;
}

int lp2p_host_new(lp2p_host **out, const lp2p_host_config *cfg,
                  const lp2p_mem *mem, const lp2p_rng *rng, lp2p_tstamp now) {
  if (!out)
    return LP2P_ERR_INVAL;
  *out = NULL;
  if (!cfg || !rng || !rng->fill || !config_ok(cfg))
    return LP2P_ERR_INVAL;
  lp2p_host *h = lp2p_mem_calloc(mem, 1, sizeof *h);
  if (!h)
    return LP2P_ERR_NOMEM;
  h->mem = mem;
  h->rng = *rng;
  h->cfg = *cfg;
  h->cfg.identity = NULL;
  h->cfg.agent_version = NULL;
  h->cfg.protocol_version = NULL;
  h->now = now;
  h->addrs_version = 0;
  hid_init(&h->conns, cfg->conns_max + cfg->conns_pending_max + 64);
  hid_init(&h->streams, cfg->streams_max);
  int rc = LP2P_ERR_NOMEM;
  h->key = lp2p_mem_malloc(mem, sizeof *h->key);
  if (!h->key)
    goto fail;
  *h->key = *cfg->identity;
  rc = lp2p_peerid_from_pubkey(&h->self, &h->key->pub);
  if (rc)
    goto fail;
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  size_t pbl = 0;
  rc = lp2p_pubkey_marshal(&h->key->pub, pb, sizeof pb, &pbl);
  if (rc)
    goto fail;
  rc = LP2P_ERR_NOMEM;
  h->self_pubkey = lp2p_mem_malloc(mem, pbl);
  if (!h->self_pubkey)
    goto fail;
  memcpy(h->self_pubkey, pb, pbl);
  h->self_pubkey_len = pbl;
  char agent[64];
  const char *v = lp2p_version();
  size_t vl = strlen(v);
  memcpy(agent, "lp2p/", 5);
  memcpy(agent + 5, v, vl + 1);
  h->agent = dup_str(mem, cfg->agent_version ? cfg->agent_version : agent);
  h->proto_version = dup_str(
      mem, cfg->protocol_version ? cfg->protocol_version : "ipfs/0.1.0");
  if (!h->agent || !h->proto_version)
    goto fail;
  lp2p_upgrader_config_default(&h->upcfg);
  h->upcfg.identity = h->key;
  h->upcfg.security = (lp2p_upgrader_security)cfg->security;
  h->upcfg.early_muxer = 1;
  h->upcfg.upgrade_timeout_ns = 0;          /* handshake_timeout_ns, ours */
  h->upcfg.stream_negotiate_timeout_ns = 0; /* the host negotiates streams */
  h->upcfg.yamux = cfg->yamux;
  /* Built-in protocols, always in the table (clients use them too). */
  if ((rc = add_service(h, LP2P_ID_PROTOCOL, SVC_IDENTIFY, LP2P_HOST_SVC_ALL,
                        &h->proto_identify)) != 0 ||
      (rc = add_service(h, LP2P_ID_PUSH_PROTOCOL, SVC_PUSH,
                        LP2P_HOST_SVC_IDENTIFY, &h->proto_push)) != 0 ||
      (rc = add_service(h, LP2P_PING_PROTOCOL, SVC_PING, LP2P_HOST_SVC_PING,
                        &h->proto_ping)) != 0 ||
      (rc = add_service(h, LP2P_PERF_PROTOCOL, SVC_PERF, LP2P_HOST_SVC_PERF,
                        &h->proto_perf)) != 0 ||
      (rc = add_service(h, ECHO_PROTOCOL, SVC_ECHO, LP2P_HOST_SVC_ECHO,
                        &h->proto_echo)) != 0)
    goto fail;
  /* Identify is always answered (identify spec: every peer runs it). */
  h->protos[h->proto_identify].flags |= HPROTO_INBOUND | HPROTO_ADVERTISE;
  *out = h;
  return 0;
fail:
  lp2p_host_free(h);
  return rc;
}

void lp2p_host_free(lp2p_host *h) {
  if (!h)
    return;
  host_conns_free(h);
  host_dials_free(h);
  host_peers_free(h);
  host_addrs_free(h);
  host_protos_free(h);
  host_ev_free(h);
  host_raw_free(h);
  hid_free(&h->conns, h->mem);
  hid_free(&h->streams, h->mem);
  lp2p_mem_free(h->mem, h->heap);
  lp2p_mem_free(h->mem, h->listeners);
  if (h->key) {
    lp2p_memzero(h->key, sizeof *h->key);
    lp2p_mem_free(h->mem, h->key);
  }
  lp2p_mem_free(h->mem, h->self_pubkey);
  lp2p_mem_free(h->mem, h->spr);
  lp2p_mem_free(h->mem, h->agent);
  lp2p_mem_free(h->mem, h->proto_version);
  lp2p_mem_free(h->mem, h);
}

const lp2p_peerid *lp2p_host_peer_id(const lp2p_host *h) {
  return h ? &h->self : NULL;
}

void lp2p_host_set_unix_time(lp2p_host *h, uint64_t unix_ns) {
  if (h)
    h->unix_ns = unix_ns;
}

/* ---- deadline heap ------------------------------------------------------ */

static void heap_swap(lp2p_host *h, uint32_t a, uint32_t b) {
  hconn *t = h->heap[a];
  h->heap[a] = h->heap[b];
  h->heap[b] = t;
  h->heap[a]->heap_idx = a;
  h->heap[b]->heap_idx = b;
}

static void heap_up(lp2p_host *h, uint32_t i) {
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (h->heap[p]->deadline <= h->heap[i]->deadline)
      break;
    heap_swap(h, p, i);
    i = p;
  }
}

static void heap_down(lp2p_host *h, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->heap_len && h->heap[l]->deadline < h->heap[m]->deadline)
      m = l;
    if (r < h->heap_len && h->heap[r]->deadline < h->heap[m]->deadline)
      m = r;
    if (m == i)
      break;
    heap_swap(h, i, m);
    i = m;
  }
}

void host_heap_remove(lp2p_host *h, hconn *c) {
  uint32_t i = c->heap_idx;
  if (i == UINT32_MAX || i >= h->heap_len)
    return;
  c->heap_idx = UINT32_MAX;
  h->heap_len--;
  if (i == h->heap_len)
    return;
  h->heap[i] = h->heap[h->heap_len];
  h->heap[i]->heap_idx = i;
  heap_up(h, i);
  heap_down(h, h->heap[i]->heap_idx);
}

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) { return a < b ? a : b; }

void host_conn_timer(lp2p_host *h, hconn *c) {
  lp2p_tstamp d = LP2P_TSTAMP_NONE;
  switch (c->state) {
  case HC_DIALING:
  case HC_UPGRADING:
    d = c->upgrade_deadline;
    break;
  case HC_OPEN:
    if (c->idle_since != LP2P_TSTAMP_NONE && h->cfg.idle_timeout_ns)
      d = host_add_ns(c->idle_since, h->cfg.idle_timeout_ns);
    break;
  case HC_CLOSING:
  case HC_DRAINING:
    d = c->close_deadline;
    break;
  default:
    break;
  }
  if (c->st && (c->state == HC_OPEN || c->state == HC_CLOSING)) {
    d = min_ts(d, hstack_next_timeout(c->st));
    d = min_ts(d, host_streams_deadline(c));
  }
  c->deadline = d;
  if (d == LP2P_TSTAMP_NONE) {
    host_heap_remove(h, c);
    return;
  }
  if (c->heap_idx == UINT32_MAX) {
    /* Capacity was reserved when the connection was created. */
    if (h->heap_len == h->heap_cap)
      return;
    c->heap_idx = h->heap_len;
    h->heap[h->heap_len++] = c;
    heap_up(h, c->heap_idx);
    return;
  }
  heap_up(h, c->heap_idx);
  heap_down(h, c->heap_idx);
}

int host_heap_reserve(lp2p_host *h, uint32_t n) {
  if (h->heap_cap >= n)
    return 0;
  uint32_t ncap = h->heap_cap ? h->heap_cap : 64;
  while (ncap < n)
    ncap *= 2;
  hconn **a = lp2p_mem_realloc(h->mem, h->heap, h->heap_cap * sizeof *a,
                               ncap * sizeof *a);
  if (!a)
    return LP2P_ERR_NOMEM;
  h->heap = a;
  h->heap_cap = ncap;
  return 0;
}

lp2p_tstamp lp2p_host_next_timeout(const lp2p_host *h) {
  if (!h || h->heap_len == 0)
    return LP2P_TSTAMP_NONE;
  return h->heap[0]->deadline;
}

int lp2p_host_handle_timeout(lp2p_host *h, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  /* Each connection is handled at most twice per call, so an engine that
   * keeps reporting a past deadline cannot spin us. */
  uint32_t budget = 2 * h->heap_len + 8;
  while (h->heap_len && h->heap[0]->deadline <= now && budget--) {
    hconn *c = h->heap[0];
    host_conn_timeout(h, c, now);
    if (h->heap_len && h->heap[0] == c && c->deadline <= now) {
      /* Nothing moved it: take it out until something changes. */
      host_heap_remove(h, c);
    }
  }
  return 0;
}

/* ---- stats ------------------------------------------------------------------ */

void lp2p_host_stats_get(const lp2p_host *h, lp2p_host_stats *out) {
  if (!h || !out)
    return;
  *out = h->stats;
  out->conns = h->conns.used;
  out->conns_pending = h->nconns_pending;
  out->conns_open = h->nconns_open;
  out->streams = h->streams.used;
  out->peers = h->npeers;
  out->events_lost = h->stats.events_lost;
}

/* ---- closing the host -------------------------------------------------------- */

void host_maybe_finish_close(lp2p_host *h) {
  if (!h->closing || h->closed_ev)
    return;
  if (h->conns.used || h->dials)
    return;
  for (uint32_t i = 0; i < h->nlisteners; i++)
    if (h->listeners[i].io || (h->listeners[i].status == LP2P_ADDR_PENDING))
      return;
  h->closed_ev = 1;
  host_ev_push(h, LP2P_HOST_EV_CLOSED);
}

int lp2p_host_close(lp2p_host *h, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  if (h->closing)
    return 0;
  h->closing = 1;
  for (uint32_t i = 0; i < h->nlisteners; i++) {
    hlistener *l = &h->listeners[i];
    if (l->live) {
      l->io = LP2P_IO_UNLISTEN;
      l->live = 0;
    } else if (l->io == LP2P_IO_LISTEN) {
      /* The driver never saw it: just drop the request. */
      l->io = 0;
      l->status = LP2P_ADDR_FAILED;
    }
    /* A LISTEN taken but not answered yet gets its UNLISTEN in
     * lp2p_host_listen_done. */
  }
  uint32_t pos = 0;
  hconn *c;
  while ((c = hid_next(&h->conns, &pos)) != NULL)
    host_conn_close(h, c, 0, now);
  host_maybe_finish_close(h);
  return 0;
}
