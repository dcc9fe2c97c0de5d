/* One AutoNAT v2 client request (autonat-v2.md, "AutoNAT V2 Protocol"):
 * send DialRequest {addrs, nonce}; if the server answers DialDataRequest,
 * send numBytes of data in DialDataResponse messages of at most 4096
 * bytes each ("Amplification Attack Prevention"), or give up when it asks
 * for more than our budget ("If the client rejects the cost, the client
 * resets the stream"); then read the DialResponse. Whether the nonce came
 * back on a dial-back is the caller's to check. Pure. */
#include <string.h>

#include "proto/autonat/autonat_frame.h"

int lp2p_autonat_creq_init(lp2p_autonat_creq *r, const lp2p_maddr *addrs,
                           size_t n, uint64_t nonce, uint64_t data_budget) {
  if (!r || !addrs || n == 0 || n > LP2P_AUTONAT_ADDRS_MAX)
    return LP2P_ERR_INVAL;
  memset(r, 0, sizeof *r);
  lp2p_autonat_msg m;
  memset(&m, 0, sizeof m);
  m.type = LP2P_AUTONAT_MSG_DIAL_REQUEST;
  m.nonce = nonce;
  m.naddrs = n;
  for (size_t i = 0; i < n; i++) {
    m.addrs[i].p = addrs[i].bytes;
    m.addrs[i].len = addrs[i].len;
  }
  int rc = lp2p_autonat_msg_encode(&m, r->req, sizeof r->req, &r->req_len);
  if (rc)
    return LP2P_ERR_INVAL;
  r->state = LP2P_AUTONAT_CREQ_SENDING;
  r->nonce = nonce;
  r->naddrs = n;
  r->data_budget = data_budget;
  return 0;
}

static void fail(lp2p_autonat_creq *r, int err) {
  if (r->state != LP2P_AUTONAT_CREQ_SENDING)
    return;
  r->state = LP2P_AUTONAT_CREQ_FAILED;
  r->err = err;
  r->data_left = 0;
  r->out_len = r->out_off = 0;
}

static int on_msg(void *ctx, const uint8_t *body, size_t len) {
  lp2p_autonat_creq *r = ctx;
  lp2p_autonat_msg m;
  if (lp2p_autonat_msg_parse(&m, body, len) != 0)
    return LP2P_ERR_PROTO;
  switch (m.type) {
  case LP2P_AUTONAT_MSG_DIAL_DATA_REQUEST:
    /* One per request: the server asks before it dials. */
    if (r->data_asked || m.addr_idx >= r->naddrs)
      return LP2P_ERR_PROTO;
    if (m.num_bytes > r->data_budget)
      return LP2P_ERR_LIMIT;
    r->data_left = m.num_bytes;
    r->data_asked = 1;
    return 0;
  case LP2P_AUTONAT_MSG_DIAL_RESPONSE:
    if (m.status == LP2P_AUTONAT_RESP_OK && m.addr_idx >= r->naddrs)
      return LP2P_ERR_PROTO;
    r->status = m.status;
    r->addr_idx = m.addr_idx;
    r->dial_status = m.dial_status;
    r->state = LP2P_AUTONAT_CREQ_DONE;
    r->data_left = 0; /* the server needs no more */
    return 1;
  default:
    return LP2P_ERR_PROTO;
  }
}

size_t lp2p_autonat_creq_feed(lp2p_autonat_creq *r, const uint8_t *p,
                              size_t n) {
  if (!r || !p || r->state != LP2P_AUTONAT_CREQ_SENDING)
    return n; /* after the answer: extra bytes are dropped */
  int err, stop;
  size_t k = autonat_frames_feed(r->in, sizeof r->in, &r->in_len, p, n, on_msg,
                                 r, &err, &stop);
  if (err)
    fail(r, err == LP2P_ERR_LIMIT ? LP2P_ERR_LIMIT : LP2P_ERR_PROTO);
  (void)k;
  return n;
}

void lp2p_autonat_creq_feed_eof(lp2p_autonat_creq *r) {
  if (r)
    fail(r, LP2P_ERR_EOF);
}

const uint8_t *lp2p_autonat_creq_out_peek(lp2p_autonat_creq *r, size_t *len) {
  *len = 0;
  if (!r || r->state == LP2P_AUTONAT_CREQ_FAILED)
    return NULL;
  if (r->req_off < r->req_len) {
    *len = r->req_len - r->req_off;
    return r->req + r->req_off;
  }
  if (r->out_off == r->out_len && r->data_left) {
    /* Next DialDataResponse, built only when the previous one is out. */
    lp2p_autonat_msg m;
    memset(&m, 0, sizeof m);
    m.type = LP2P_AUTONAT_MSG_DIAL_DATA_RESPONSE;
    m.data.len = r->data_left < LP2P_AUTONAT_DATA_CHUNK
                     ? (size_t)r->data_left
                     : LP2P_AUTONAT_DATA_CHUNK;
    if (lp2p_autonat_msg_encode(&m, r->out, sizeof r->out, &r->out_len)) {
      fail(r, LP2P_ERR_INTERNAL);
      return NULL;
    }
    r->out_off = 0;
    r->data_left -= m.data.len;
  }
  if (r->out_off < r->out_len) {
    *len = r->out_len - r->out_off;
    return r->out + r->out_off;
  }
  return NULL;
}

void lp2p_autonat_creq_out_consume(lp2p_autonat_creq *r, size_t n) {
  if (!r)
    return;
  if (r->req_off < r->req_len) {
    size_t k = r->req_len - r->req_off;
    r->req_off += n < k ? n : k;
    return;
  }
  size_t k = r->out_len - r->out_off;
  r->out_off += n < k ? n : k;
}
