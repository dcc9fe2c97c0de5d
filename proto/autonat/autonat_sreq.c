/* One AutoNAT v2 server request (autonat-v2.md, "AutoNAT V2 Protocol" and
 * "Amplification Attack Prevention"): read DialRequest; pick the first
 * address we are willing to dial (TCP over /ip4 or /ip6; public unless
 * allow_private: "The Server SHOULD NOT dial any private address"); when
 * its IP differs from the one we observed the request come from, ask for
 * dial_data_min..dial_data_max bytes first (the spec's 30k-100k) and count
 * only the data fields; then ask the caller to dial back (SREQ_DIAL) and
 * answer DialResponse with the outcome. A rate-limited request is read and
 * answered E_REQUEST_REJECTED; a request with nothing we will dial,
 * E_DIAL_REFUSED. Pure: the dial itself is the caller's. */
#include <string.h>

#include "proto/autonat/autonat_frame.h"

void lp2p_autonat_server_config_default(lp2p_autonat_server_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  /* go-libp2p p2p/protocol/autonatv2 options.go defaults */
  cfg->requests_per_min = 60;
  cfg->requests_per_peer_per_min = 12;
  cfg->dial_data_per_min = 12;
  cfg->concurrent_per_peer_max = 2;
  cfg->concurrent_max = 32;
  cfg->peers_max = 256;
  cfg->dial_data_min = 30000;
  cfg->dial_data_max = 100000;
  cfg->timeout_ns = 15 * LP2P_NS_PER_S; /* go-libp2p's streamTimeout */
  /* A dial-back that does not connect by then (a NAT dropping SYNs) is a
   * dial error, answered before the request itself times out. */
  cfg->dial_timeout_ns = 10 * LP2P_NS_PER_S;
}

void lp2p_autonat_sreq_init(lp2p_autonat_sreq *r,
                            const lp2p_autonat_server_config *cfg,
                            lp2p_autonat_limiter *lim, int observed_family,
                            const uint8_t observed_ip[16], int rejected,
                            uint64_t rnd) {
  memset(r, 0, sizeof *r);
  r->state = LP2P_AUTONAT_SREQ_READ_REQUEST;
  r->cfg = cfg;
  r->lim = lim;
  r->rejected = rejected ? 1 : 0;
  r->observed_family = observed_family;
  if (observed_ip)
    memcpy(r->observed_ip, observed_ip, 16);
  uint32_t lo = cfg->dial_data_min, hi = cfg->dial_data_max;
  if (hi < lo)
    hi = lo;
  r->data_need = lo + (hi > lo ? rnd % ((uint64_t)(hi - lo) + 1) : 0);
}

static void respond(lp2p_autonat_sreq *r, uint32_t status, uint32_t idx,
                    uint32_t dial_status) {
  lp2p_autonat_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_RESPONSE;
  m.status = status;
  m.addr_idx = idx;
  m.dial_status = dial_status;
  size_t n = 0;
  if (lp2p_autonat_msg_encode(&m, r->out + r->out_len,
                              sizeof r->out - r->out_len, &n) == 0)
    r->out_len += n;
  r->state = LP2P_AUTONAT_SREQ_DONE;
}

/* An address we can and may dial: /ip4|/ip6 .. /tcp/port, nothing else
 * (we dial TCP only); public unless allowed. */
static int willing(const lp2p_autonat_sreq *r, const lp2p_maddr *ma) {
  int fam = 0, udp = 0;
  uint8_t ip[16];
  uint16_t port = 0;
  if (lp2p_maddr_to_ip_port(ma, &fam, ip, &port, &udp) != 0 || udp || port == 0)
    return 0;
  if (r->cfg->allow_private)
    return 1;
  lp2p_ip_public_fn pub =
      r->cfg->is_public ? r->cfg->is_public : lp2p_autonat_ip_is_public;
  return pub(r->cfg->is_public_ud, fam, ip);
}

static int on_request(lp2p_autonat_sreq *r, const lp2p_autonat_msg *m) {
  if (r->rejected) {
    respond(r, LP2P_AUTONAT_RESP_REQUEST_REJECTED, 0, 0);
    return 1;
  }
  if (m->naddrs == 0)
    return LP2P_ERR_PROTO;
  r->nonce = m->nonce;
  for (size_t i = 0; i < m->naddrs; i++) {
    lp2p_maddr ma;
    if (lp2p_maddr_from_bytes(&ma, m->addrs[i].p, m->addrs[i].len) != 0)
      continue;
    lp2p_maddr_strip_peer_id(&ma); /* we dial the asking peer's id */
    if (!willing(r, &ma))
      continue;
    r->addr = ma;
    r->addr_idx = (uint32_t)i;
    int fam;
    uint8_t ip[16];
    lp2p_autonat_maddr_ip(&ma, &fam, ip);
    if (fam == r->observed_family &&
        memcmp(ip, r->observed_ip, fam == 4 ? 4 : 16) == 0) {
      r->state = LP2P_AUTONAT_SREQ_DIAL;
      return 1;
    }
    /* Another IP: make the client pay first (spec "Amplification Attack
     * Prevention"), within the dial-data rate (go-libp2p rejects the
     * request when its dial-data limit is reached). */
    if (r->lim && !lp2p_autonat_limiter_dial_data(r->lim, r->now)) {
      respond(r, LP2P_AUTONAT_RESP_REQUEST_REJECTED, 0, 0);
      return 1;
    }
    lp2p_autonat_msg q;
    memset(&q, 0, sizeof q);
    q.type = LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST;
    q.addr_idx = r->addr_idx;
    q.num_bytes = r->data_need;
    size_t n = 0;
    if (lp2p_autonat_msg_encode(&q, r->out + r->out_len,
                                sizeof r->out - r->out_len, &n) != 0)
      return LP2P_ERR_INTERNAL;
    r->out_len += n;
    r->state = LP2P_AUTONAT_SREQ_READ_DATA;
    return 0;
  }
  respond(r, LP2P_AUTONAT_RESP_DIAL_REFUSED, 0, 0);
  return 1;
}

static int on_msg(void *ctx, const uint8_t *body, size_t len) {
  lp2p_autonat_sreq *r = ctx;
  lp2p_autonat_msg m;
  if (lp2p_autonat_msg_parse(&m, body, len) != 0)
    return LP2P_ERR_PROTO;
  if (r->state == LP2P_AUTONAT_SREQ_READ_REQUEST &&
      m.type == LP2P_AUTONAT_MSG_DIAL_REQUEST)
    return on_request(r, &m);
  if (r->state == LP2P_AUTONAT_SREQ_READ_DATA &&
      m.type == LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE) {
    /* Only the data field counts; the last message may overshoot. */
    r->data_got += m.data.len;
    if (r->data_got >= r->data_need) {
      r->state = LP2P_AUTONAT_SREQ_DIAL;
      return 1;
    }
    return 0;
  }
  return LP2P_ERR_PROTO;
}

size_t lp2p_autonat_sreq_feed(lp2p_autonat_sreq *r, lp2p_tstamp now,
                              const uint8_t *p, size_t n) {
  if (r)
    r->now = now;
  if (!r || !p ||
      (r->state != LP2P_AUTONAT_SREQ_READ_REQUEST &&
       r->state != LP2P_AUTONAT_SREQ_READ_DATA))
    return n; /* nothing more is read: extra bytes are dropped */
  int err, stop;
  autonat_frames_feed(r->in, sizeof r->in, &r->in_len, p, n, on_msg, r, &err,
                      &stop);
  if (err) {
    r->state = LP2P_AUTONAT_SREQ_FAILED;
    r->err = err == LP2P_ERR_LIMIT ? LP2P_ERR_LIMIT : LP2P_ERR_PROTO;
  }
  return n;
}

void lp2p_autonat_sreq_feed_eof(lp2p_autonat_sreq *r) {
  if (r && (r->state == LP2P_AUTONAT_SREQ_READ_REQUEST ||
            r->state == LP2P_AUTONAT_SREQ_READ_DATA)) {
    r->state = LP2P_AUTONAT_SREQ_FAILED;
    r->err = LP2P_ERR_EOF;
  }
}

void lp2p_autonat_sreq_dial_result(lp2p_autonat_sreq *r, uint32_t dial_status) {
  if (r && r->state == LP2P_AUTONAT_SREQ_DIAL)
    respond(r, LP2P_AUTONAT_RESP_OK, r->addr_idx, dial_status);
}

const uint8_t *lp2p_autonat_sreq_out_peek(lp2p_autonat_sreq *r, size_t *len) {
  *len = 0;
  if (!r || r->state == LP2P_AUTONAT_SREQ_FAILED || r->out_off >= r->out_len)
    return NULL;
  *len = r->out_len - r->out_off;
  return r->out + r->out_off;
}

void lp2p_autonat_sreq_out_consume(lp2p_autonat_sreq *r, size_t n) {
  if (!r)
    return;
  size_t k = r->out_len - r->out_off;
  r->out_off += n < k ? n : k;
  if (r->out_off == r->out_len)
    r->out_off = r->out_len = 0;
}
