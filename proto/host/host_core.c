/* lp2p_host core: configuration, creation and teardown, logging, stats
 * and the graceful close of the whole host. Timers are in host_timer.c,
 * services in host_svc.c, raw sockets in host_raw*.c. */
#include <stdarg.h>

#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

void host_config_default(lp2p_host_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->security = LP2P_HOST_SECURITY_NOISE;
  cfg->conns_max = 1024;
  cfg->conns_pending_max = 128;
  cfg->conns_per_peer_max = 8;
  cfg->dials_max = 128;
  lp2p_yamux_config_default(&cfg->yamux);
  cfg->streams_max = 65536;
  cfg->protocols_max = 64;
  cfg->event_queue_max = 4096;
  cfg->peers_max = 4096;
  cfg->addrs_per_peer_max = 16;
  cfg->protocols_per_peer_max = 128;
  cfg->host_addrs_max = 64;
  cfg->observed_confirm_min = 4;
  cfg->peer_addr_ttl_ns = 3600 * LP2P_NS_PER_S;
  cfg->handshake_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->dial_timeout_ns = 15 * LP2P_NS_PER_S;
  cfg->stream_negotiate_timeout_ns = 10 * LP2P_NS_PER_S;
  cfg->close_timeout_ns = 5 * LP2P_NS_PER_S;
  cfg->memory_max = UINT64_C(128) << 20;
  cfg->memory_per_peer_max = UINT64_C(32) << 20;
  cfg->memory_per_conn_max = UINT64_C(16) << 20;
  cfg->memory_per_conn_base = UINT64_C(128) << 10;
  cfg->raws_max = 256;
  cfg->raw_send_bytes_max = 256 * 1024;
  cfg->raw_recv_bytes_max = 256 * 1024;
  cfg->udp_queue_max = 64;
  cfg->udp_datagram_bytes_max = 2048;
  cfg->udp_send_queue_max = 256;
  /* Trimming is on, with go-libp2p's DefaultConnectionManager values
   * (connmgr.NewConnManager(160, 192), whose grace period defaults to one
   * minute). The per-IP caps follow go-libp2p's resource manager
   * (conn_limiter.go: 8 connections per IPv4 /32, loopback unlimited); we
   * count IPv6 per /64. */
  cfg->conns_low_water = 160;
  cfg->conns_high_water = 192;
  cfg->conns_outbound_pending_max = 128;
  cfg->conns_pending_per_ip_max = 8;
  cfg->conns_per_ip_max = 8;
  cfg->progress_timeout_ns = 3 * LP2P_NS_PER_S;
  cfg->conns_grace_ns = 60 * LP2P_NS_PER_S;
  /* go-libp2p's connmgr: "trims are automatically run on demand, only if
   * the time from the previous trim is higher than 10 seconds"; over the
   * high water mark every new connection asks, and a trim scans them all */
  cfg->conns_trim_silence_ns = 10 * LP2P_NS_PER_S;

  /* streams (issue 9): go-libp2p's resource manager defaults
   * (limit_defaults.go) for peer, protocol and protocol-per-peer inbound
   * streams; its system inbound streams scale 1024 + 1024 per GiB of
   * budget, we take the 1 GiB value (our conns_max, 1024, is far above its
   * base 64 inbound conns). go has no stream idle timeout; 60 s is what
   * go-libp2p-kad-dht gives its idle streams. Application streams get
   * longer: the application holds them for its own reasons. */
  cfg->streams_inbound_max = 2048;
  cfg->streams_inbound_per_peer_max = 256;
  cfg->streams_outbound_per_peer_max = 512;
  cfg->streams_inbound_per_protocol_max = 512;
  cfg->streams_inbound_per_protocol_peer_max = 64;
  cfg->streams_inbound_reserve_peer_max = 16;
  cfg->stream_idle_timeout_ns = 60 * LP2P_NS_PER_S;
  cfg->app_stream_idle_timeout_ns = 300 * LP2P_NS_PER_S;
  cfg->gate_rules_max = 1024;
}

void host_log(lp2p_host *h, int level, const char *msg) {
  if (h->cfg.log && h->cfg.log->write)
    h->cfg.log->write(h->cfg.log->ud, level, msg);
}

#define LOG_LINE_MAX 256

typedef struct logbuf {
  char b[LOG_LINE_MAX];
  size_t n;
} logbuf;

static void lb_puts(logbuf *lb, const char *s) {
  for (; s && *s && lb->n + 1 < sizeof lb->b; s++)
    lb->b[lb->n++] = *s;
}

static void lb_putu(logbuf *lb, uint64_t v) {
  char d[24];
  size_t k = sizeof d;
  d[--k] = 0;
  do {
    d[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  lb_puts(lb, d + k);
}

/* Dotted quad, or eight hex groups (uncompressed: short and unambiguous). */
static void lb_putip(logbuf *lb, const lp2p_sockaddr *sa) {
  static const char hex[] = "0123456789abcdef";
  if (!sa || (sa->family != 4 && sa->family != 6)) {
    lb_puts(lb, "-");
    return;
  }
  if (sa->family == 4) {
    for (int i = 0; i < 4; i++) {
      if (i)
        lb_puts(lb, ".");
      lb_putu(lb, sa->ip[i]);
    }
    return;
  }
  for (int i = 0; i < 16; i += 2) {
    unsigned v = (unsigned)sa->ip[i] << 8 | sa->ip[i + 1];
    char g[6];
    size_t k = 0;
    if (i)
      g[k++] = ':';
    int started = 0;
    for (int sh = 12; sh >= 0; sh -= 4) {
      unsigned d = (v >> sh) & 0xfu;
      if (d || started || sh == 0) {
        g[k++] = hex[d];
        started = 1;
      }
    }
    g[k] = 0;
    lb_puts(lb, g);
  }
}

void host_logf(lp2p_host *h, int level, const char *fmt, ...) {
  if (!h->cfg.log || !h->cfg.log->write)
    return; /* nothing formatted when nobody listens */
  logbuf lb;
  lb.n = 0;
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%' || !p[1]) {
      char c[2] = {*p, 0};
      lb_puts(&lb, c);
      continue;
    }
    switch (*++p) {
    case 's': {
      const char *a = va_arg(ap, const char *);
      lb_puts(&lb, a ? a : "-");
      break;
    }
    case 'd': {
      int v = va_arg(ap, int);
      if (v < 0)
        lb_puts(&lb, "-");
      lb_putu(&lb, v < 0 ? (uint64_t)(-(int64_t)v) : (uint64_t)v);
      break;
    }
    case 'u':
      lb_putu(&lb, va_arg(ap, unsigned));
      break;
    case 'U':
      lb_putu(&lb, va_arg(ap, uint64_t));
      break;
    case 'E':
      lb_puts(&lb, lp2p_strerror(va_arg(ap, int)));
      break;
    case 'A':
      lb_putip(&lb, va_arg(ap, const lp2p_sockaddr *));
      break;
    case 'P': {
      const lp2p_peerid *id = va_arg(ap, const lp2p_peerid *);
      char t[LP2P_PEERID_TEXT_MAX];
      size_t len = 0;
      if (!id || !id->len ||
          lp2p_peerid_to_base58(id, t, sizeof t, &len) != 0 || len >= sizeof t)
        len = 0;
      t[len] = 0;
      lb_puts(&lb, len ? t : "-");
      break;
    }
    default: /* %% and unknown verbs print themselves */
      lb_puts(&lb, (char[2]){*p, 0});
      break;
    }
  }
  va_end(ap);
  lb.b[lb.n] = 0;
  h->cfg.log->write(h->cfg.log->ud, level, lb.b);
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
         c->security <= LP2P_HOST_SECURITY_NOISE_PLAINTEXT && c->raws_max &&
         c->raws_max <= (1u << 20) && c->raw_send_bytes_max &&
         c->raw_send_bytes_max <= (1u << 30) && c->raw_recv_bytes_max &&
         c->raw_recv_bytes_max <= (1u << 30) && c->udp_queue_max &&
         c->udp_datagram_bytes_max && c->udp_datagram_bytes_max <= 65535 &&
         c->udp_send_queue_max && c->conns_outbound_pending_max &&
         c->conns_pending_per_ip_max && c->conns_per_ip_max &&
         c->conns_low_water <= c->conns_high_water &&
         c->streams_inbound_max && c->streams_inbound_per_peer_max &&
         c->streams_outbound_per_peer_max &&
         c->streams_inbound_per_protocol_max &&
         c->streams_inbound_per_protocol_peer_max &&
         c->streams_inbound_reserve_peer_max &&
         c->memory_per_conn_base >= (128u << 10) &&
         c->memory_per_conn_max >= c->memory_per_conn_base &&
         c->memory_per_peer_max >= c->memory_per_conn_base &&
         c->memory_max >= c->memory_per_conn_base && c->gate_rules_max &&
         c->gate_rules_max <= (1u << 20);
}

int host_create(lp2p_host **out, const lp2p_host_config *cfg,
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
  /* Secret per host, so peers cannot aim ids at one hash bucket. */
  h->rng.fill(h->rng.ctx, h->hash_key, sizeof h->hash_key);
  h->cfg = *cfg;
  host_rm_init(h);
  h->cfg.identity = NULL;
  h->cfg.agent_version = NULL;
  h->cfg.protocol_version = NULL;
  h->now = now;
  h->addrs_version = 0;
  /* Room for conns_max established and inbound pending, our dials, and
   * as many closing ones (trimming closes many at once; each leaves once
   * its socket is closed). */
  hid_init(&h->conns, 2 * cfg->conns_max + cfg->conns_pending_max +
                          cfg->conns_outbound_pending_max + 64);
  host_timer_init(&h->trim_tm, HT_TRIM);
  h->last_trim = LP2P_TSTAMP_NONE;
  h->displace_gen = UINT64_MAX; /* no displacement scan yet */
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
  h->upcfg.yamux = cfg->yamux;
  if (cfg->security != LP2P_HOST_SECURITY_PLAINTEXT) {
    /* one static key and its signature for all sessions instead of a key
     * pair and a signature per connection (see lp2p_noise_static) */
    rc = LP2P_ERR_NOMEM;
    h->noise_static = lp2p_mem_malloc(mem, sizeof *h->noise_static);
    if (!h->noise_static)
      goto fail;
    rc = lp2p_noise_static_make(h->noise_static, h->key, &h->rng);
    if (rc)
      goto fail;
    h->upcfg.noise.static_key = h->noise_static;
  }
  *out = h;
  return 0;
fail:
  lp2p_host_free(h);
  return rc;
}

void lp2p_host_free(lp2p_host *h) {
  if (!h)
    return;
  /* Raised for good: service hooks that run while streams are ended never
   * pump (connections are being freed). */
  h->depth += 2;
  /* Connections are freed without leaving the heap: forget it first, and
   * take no timer from here on (a service hook that runs while streams
   * end may move its deadline: with a stale heap index that read freed
   * entries, and an insert could hold a connection about to be freed). */
  for (uint32_t i = 0; i < h->heap_len; i++)
    h->heap[i].t->heap_idx = UINT32_MAX;
  h->heap_len = 0;
  h->heap_cap = 0;
  host_conns_free(h);
  host_srcs_free(h);
  host_svcs_free(h);
  host_dials_free(h);
  host_peers_free(h);
  host_addrs_free(h);
  host_protos_free(h);
  host_ev_free(h);
  host_raw_free(h);
  host_gate_free(h);
  hid_free(&h->conns, h->mem);
  hid_free(&h->streams, h->mem);
  lp2p_mem_free(h->mem, h->heap);
  lp2p_mem_free(h->mem, h->listeners);
  if (h->key) {
    lp2p_memzero(h->key, sizeof *h->key);
    lp2p_mem_free(h->mem, h->key);
  }
  if (h->noise_static) {
    lp2p_memzero(h->noise_static, sizeof *h->noise_static);
    lp2p_mem_free(h->mem, h->noise_static);
  }
  lp2p_mem_free(h->mem, h->self_pubkey);
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

/* ---- stats ------------------------------------------------------------------ */

void lp2p_host_stats_get(const lp2p_host *h, lp2p_host_stats *out) {
  if (!h || !out)
    return;
  *out = h->stats;
  out->conns = h->conns.used;
  out->conns_pending = h->nconns_pending;
  out->conns_open = h->nconns_open;
  out->conns_pending_inbound = h->npending_in;
  out->conns_pending_outbound = h->nconns_pending - h->npending_in;
  out->streams = h->streams.used;
  out->peers = h->npeers;
  out->memory_used = h->rm_sys.used[RM_MEMORY];
  out->conns_inbound = (uint32_t)h->rm_sys.used[RM_CONNS_IN];
  out->conns_outbound = (uint32_t)h->rm_sys.used[RM_CONNS_OUT];
  out->streams_inbound = (uint32_t)h->rm_sys.used[RM_STREAMS_IN];
  out->streams_outbound = (uint32_t)h->rm_sys.used[RM_STREAMS_OUT];
  out->fds = (uint32_t)h->rm_sys.used[RM_FDS];
  out->events_lost = h->stats.events_lost;
}

/* ---- closing the host -------------------------------------------------------- */

void host_maybe_finish_close(lp2p_host *h) {
  if (!h->closing || h->closed_ev)
    return;
  if (h->conns.used || h->dials || host_raw_open_count(h))
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
  host_dials_cancel_resolving(h);
  host_raw_close_all(h, now);
  host_maybe_finish_close(h);
  return 0;
}
