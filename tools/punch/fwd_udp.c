/* punch: forwarded UDP flows (issue 14 "Forwarding behaviour", UDP).
 *
 * A flow is one local sender (address and port) on one mapping: `in`
 * opens one /punch/udp/1.0.0 stream per flow, writes the header naming
 * the remote port, then each datagram as a length-prefixed frame
 * (include/lp2p/punch.h). `out` keeps one UDP socket per flow, bound to
 * 127.0.0.1:0, so the local service's replies (from 127.0.0.1:<port>)
 * come back on that socket and go back on that flow's stream to the
 * sender that started it. UDP semantics are kept: a datagram that cannot
 * be queued at once is dropped and counted (at most the rest of one
 * frame that the stream took partly is held, never more), a port that is
 * not exposed gets the stream reset (the sender's packets vanish, as
 * UDP's would), flows idle for 5 minutes are evicted on both sides, and
 * a frame longer than the largest UDP payload is garbage: that stream
 * alone is reset. A peek shows one chunk of the muxer's buffer, so a
 * header or frame that spans chunks (any datagram larger than what one
 * yamux frame or relay hop carries) is gathered into a buffer of the
 * flow's own, at most one frame, freed once the frame went out. */
#include <stdlib.h>
#include <string.h>

#include "tools/punch/punch.h"

#define FLOW_IDLE_NS (300 * LP2P_NS_PER_S)

typedef struct pflow {
  uint8_t kind; /* OBJ_FLOW */
  uint8_t server, hdr_done, ready;
  uint8_t remote_fin; /* the stream's REMOTE_CLOSED came */
  uint64_t sock;   /* server: the flow's own socket; in: the mapping's */
  uint64_t stream;
  pmap *map;
  lp2p_sockaddr addr; /* in: the local sender; out: 127.0.0.1:<port> */
  uint64_t key;       /* in: the flow table key */
  uint8_t *rem;       /* the unsent rest of one partly taken frame */
  size_t rem_len, rem_off;
  uint8_t hb[LP2P_PUNCH_HEADER_LEN]; /* a header split over chunks */
  size_t hb_len;
  uint8_t *fb;   /* a frame split over chunks (NULL when none) */
  size_t fb_len;
  lp2p_tstamp last;
  struct pflow *next, *prev;
} pflow;

static pflow *all;
static pidmap by_sender; /* in: (mapping, sender) -> flow */

static uint64_t sender_key(const pmap *m, const pmap *base,
                           const lp2p_sockaddr *a) {
  /* exact for IPv4 senders (we listen on 127.0.0.1): mapping index,
   * address, port; never 0 */
  uint64_t k = (uint64_t)(m - base + 1) << 48;
  k |= (uint64_t)a->ip[0] << 40 | (uint64_t)a->ip[1] << 32 |
       (uint64_t)a->ip[2] << 24 | (uint64_t)a->ip[3] << 16 | a->port;
  return k;
}

static pflow *flow_new(pmap *m) {
  pflow *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->kind = OBJ_FLOW;
  f->map = m;
  f->last = lp2p_clock_now();
  f->next = all;
  if (all)
    all->prev = f;
  all = f;
  return f;
}

static void flow_free(punch *p, pflow *f) {
  if (f->stream)
    pidmap_del(&p->streams, f->stream);
  if (f->server && f->sock) {
    pidmap_del(&p->raws, f->sock);
    lp2p_host_udp_close(p->h, f->sock);
  }
  if (f->key)
    pidmap_del(&by_sender, f->key);
  if (f->prev)
    f->prev->next = f->next;
  else
    all = f->next;
  if (f->next)
    f->next->prev = f->prev;
  free(f->rem);
  free(f->fb);
  free(f);
}

static void flow_reset(punch *p, pflow *f) {
  if (f->stream)
    lp2p_host_stream_reset(p->h, lp2p_clock_now(), f->stream);
  flow_free(p, f);
}

/* Flush the held rest of a frame. Returns 1 when nothing is held. */
static int flush_rem(punch *p, pflow *f) {
  while (f->rem_off < f->rem_len) {
    lp2p_ssize w = lp2p_host_stream_write(p->h, lp2p_clock_now(), f->stream,
                                          f->rem + f->rem_off,
                                          f->rem_len - f->rem_off);
    if (w <= 0)
      return 0;
    f->rem_off += (size_t)w;
  }
  free(f->rem);
  f->rem = NULL;
  f->rem_len = f->rem_off = 0;
  return 1;
}

/* One datagram onto the flow's stream, or dropped. */
static void send_frame(punch *p, pflow *f, const uint8_t *d, size_t n) {
  if (n > LP2P_PUNCH_DATAGRAM_MAX || !flush_rem(p, f)) {
    f->map->drops++;
    return;
  }
  uint8_t *b = p->scratch;
  lp2p_punch_frame_encode(b, n);
  memcpy(b + LP2P_PUNCH_FRAME_HEADER_LEN, d, n);
  size_t total = n + LP2P_PUNCH_FRAME_HEADER_LEN;
  lp2p_ssize w =
      lp2p_host_stream_write(p->h, lp2p_clock_now(), f->stream, b, total);
  if (w <= 0) { /* nothing taken: drop it whole */
    f->map->drops++;
    return;
  }
  f->map->bytes_out += n;
  if ((size_t)w < total) { /* taken in part: the rest must follow */
    f->rem = malloc(total - (size_t)w);
    if (!f->rem) {
      flow_reset(p, f);
      return;
    }
    memcpy(f->rem, b + w, total - (size_t)w);
    f->rem_len = total - (size_t)w;
    f->rem_off = 0;
  }
}

/* Move stream bytes into buf (holding *have) until it holds `need`.
 * Returns 1 when it does, 0 when the stream has no more for now. */
static int gather(punch *p, pflow *f, uint8_t *buf, size_t *have,
                  size_t need, lp2p_tstamp now) {
  while (*have < need) {
    size_t n = 0;
    const uint8_t *d = lp2p_host_stream_read_peek(p->h, f->stream, &n);
    if (!n)
      return 0;
    size_t k = n < need - *have ? n : need - *have;
    memcpy(buf + *have, d, k);
    *have += k;
    lp2p_host_stream_read_consume(p->h, now, f->stream, k);
  }
  return 1;
}

/* One datagram from the stream to its UDP destination. */
static void deliver(punch *p, pflow *f, const uint8_t *pl, size_t pn,
                    lp2p_tstamp now) {
  f->last = now;
  if (lp2p_host_udp_send(p->h, f->sock, &f->addr, 0, pl, pn) == 0)
    f->map->bytes_in += pn;
  else
    f->map->drops++;
}

/* Frames from the stream: to the local service (out) or back to the
 * sender (in). */
static void from_stream(punch *p, pflow *f) {
  lp2p_tstamp now = lp2p_clock_now();
  if (f->server && !f->hdr_done) {
    size_t n = 0;
    const uint8_t *d = lp2p_host_stream_read_peek(p->h, f->stream, &n);
    uint16_t port = 0;
    lp2p_ssize r = f->hb_len ? 0 : lp2p_punch_header_decode(d, n, &port);
    if (r > 0) {
      lp2p_host_stream_read_consume(p->h, now, f->stream, (size_t)r);
    } else if (r == 0) { /* split over chunks (or not here yet) */
      gather(p, f, f->hb, &f->hb_len, sizeof f->hb, now);
      r = lp2p_punch_header_decode(f->hb, f->hb_len, &port);
    }
    if (r < 0) {
      pstatus(p, PL_INFO, "reset a UDP stream with a malformed header");
      flow_reset(p, f);
      return;
    }
    if (r == 0) {
      if (f->remote_fin) {
        pstatus(p, PL_INFO, "reset a UDP stream whose header was cut short");
        flow_reset(p, f);
      }
      return;
    }
    pmap *m = fwd_find_exposed(p, port, LP2P_PUNCH_UDP);
    if (!m) { /* silently dropped: the flow's stream goes */
      pstatus(p, PL_DEBUG, "dropped a UDP flow to %u/udp: not exposed", port);
      flow_reset(p, f);
      return;
    }
    f->map = m;
    f->hdr_done = 1;
    m->flows++;
    memset(&f->addr, 0, sizeof f->addr);
    f->addr.family = 4;
    f->addr.ip[0] = 127;
    f->addr.ip[3] = 1;
    f->addr.port = port;
    lp2p_sockaddr any = f->addr;
    any.port = 0;
    int rc = lp2p_host_udp_open(p->h, &any, 0, &f->sock);
    if (rc || pidmap_put(&p->raws, f->sock, f)) {
      pstatus(p, PL_WARN, "cannot open a UDP socket: %s",
              lp2p_strerror(rc ? rc : LP2P_ERR_NOMEM));
      if (!rc)
        lp2p_host_udp_close(p->h, f->sock);
      f->sock = 0;
      flow_reset(p, f);
      return;
    }
  }
  if (f->server && !f->ready)
    return; /* the frames wait in the stream until the socket is bound */
  for (;;) {
    const uint8_t *pl = NULL;
    size_t pn = 0;
    lp2p_ssize r;
    if (!f->fb_len) { /* the common case: a whole frame in one chunk */
      size_t n = 0;
      const uint8_t *d = lp2p_host_stream_read_peek(p->h, f->stream, &n);
      r = lp2p_punch_frame_decode(d, n, &pl, &pn);
      if (r > 0) {
        deliver(p, f, pl, pn, now);
        lp2p_host_stream_read_consume(p->h, now, f->stream, (size_t)r);
        continue;
      }
      if (r == 0 && !n)
        break;
    } else {
      r = lp2p_punch_frame_decode(f->fb, f->fb_len, &pl, &pn);
      if (r > 0) {
        deliver(p, f, pl, pn, now);
        free(f->fb);
        f->fb = NULL;
        f->fb_len = 0;
        continue;
      }
    }
    if (r < 0) {
      pstatus(p, PL_INFO, "reset a UDP stream with a malformed frame");
      flow_reset(p, f);
      return;
    }
    /* the frame spans chunks: gather its length, then the rest of it */
    if (!f->fb &&
        !(f->fb = malloc(LP2P_PUNCH_FRAME_HEADER_LEN +
                         LP2P_PUNCH_DATAGRAM_MAX))) {
      flow_reset(p, f);
      return;
    }
    size_t need = LP2P_PUNCH_FRAME_HEADER_LEN;
    if (f->fb_len >= LP2P_PUNCH_FRAME_HEADER_LEN)
      need += (size_t)f->fb[0] << 8 | f->fb[1]; /* <= the max: decoded */
    if (!gather(p, f, f->fb, &f->fb_len, need, now))
      break;
  }
  if (f->remote_fin && f->fb_len &&
      lp2p_host_stream_at_eof(p->h, f->stream)) { /* EOF inside a frame */
    pstatus(p, PL_INFO, "reset a UDP stream whose frame was cut short");
    flow_reset(p, f);
    return;
  }
  if (lp2p_host_stream_at_eof(p->h, f->stream) && f->stream) {
    lp2p_host_stream_close(p->h, now, f->stream);
  }
}

/* in: datagrams from local senders on a mapping's socket. */
static void from_local(punch *p, pmap *m) {
  lp2p_tstamp now = lp2p_clock_now();
  for (;;) {
    lp2p_sockaddr from;
    size_t n = 0;
    const uint8_t *d = lp2p_host_udp_recv_peek(p->h, m->sock, &from, &n);
    if (!d)
      break;
    uint64_t key = sender_key(m, p->cfg->maps, &from);
    pflow *f = pidmap_get(&by_sender, key);
    if (!f) {
      if (!path_ready(p)) {
        m->drops++; /* no connection yet: UDP may lose it */
        lp2p_host_udp_recv_consume(p->h, m->sock);
        continue;
      }
      uint8_t hdr[LP2P_PUNCH_HEADER_LEN];
      lp2p_punch_header_encode(hdr, m->m.remote);
      f = flow_new(m);
      int rc = f ? lp2p_host_open_stream(p->h, now, &p->cfg->target,
                                         LP2P_PUNCH_UDP_PROTOCOL, &f->stream)
                 : LP2P_ERR_NOMEM;
      if (!rc && (pidmap_put(&p->streams, f->stream, f) ||
                  pidmap_put(&by_sender, key, f)))
        rc = LP2P_ERR_NOMEM;
      if (!rc) {
        f->key = key;
        f->sock = m->sock;
        f->addr = from;
        f->hdr_done = f->ready = 1;
        m->flows++;
        /* the header may be taken in part (a full muxer queue): the
         * rest waits like the rest of a frame */
        lp2p_ssize w =
            lp2p_host_stream_write(p->h, now, f->stream, hdr, sizeof hdr);
        if (w < (lp2p_ssize)sizeof hdr) {
          size_t k = w > 0 ? (size_t)w : 0;
          if (!(f->rem = malloc(sizeof hdr - k)))
            rc = LP2P_ERR_NOMEM;
          else {
            memcpy(f->rem, hdr + k, sizeof hdr - k);
            f->rem_len = sizeof hdr - k;
          }
        }
      }
      if (rc) {
        m->drops++;
        if (f)
          flow_reset(p, f);
        lp2p_host_udp_recv_consume(p->h, m->sock);
        continue;
      }
    }
    f->last = now;
    send_frame(p, f, d, n);
    lp2p_host_udp_recv_consume(p->h, m->sock);
  }
}

/* out: replies of the local service on a flow's own socket. */
static void from_service(punch *p, pflow *f) {
  for (;;) {
    lp2p_sockaddr from;
    size_t n = 0;
    const uint8_t *d = lp2p_host_udp_recv_peek(p->h, f->sock, &from, &n);
    if (!d)
      break;
    /* only the service itself answers on this flow */
    if (from.port == f->addr.port && from.family == 4 &&
        !memcmp(from.ip, f->addr.ip, 4)) {
      f->last = lp2p_clock_now();
      send_frame(p, f, d, n);
    }
    lp2p_host_udp_recv_consume(p->h, f->sock);
    if (!pidmap_get(&p->raws, f->sock))
      break; /* reset while sending */
  }
}

int fwd_udp_event(punch *p, const lp2p_host_event *ev) {
  lp2p_tstamp now = lp2p_clock_now();
  pflow *f = NULL;
  switch (ev->kind) {
  case LP2P_HOST_EV_STREAM_INBOUND:
    if (!ev->u.stream.protocol ||
        strcmp(ev->u.stream.protocol, LP2P_PUNCH_UDP_PROTOCOL) ||
        p->cfg->role != ROLE_OUT)
      return 0;
    f = flow_new(NULL);
    if (!f || pidmap_put(&p->streams, ev->stream, f)) {
      lp2p_host_stream_reset(p->h, now, ev->stream);
      if (f)
        flow_free(p, f);
      return 1;
    }
    f->stream = ev->stream;
    f->server = 1;
    from_stream(p, f);
    return 1;
  case LP2P_HOST_EV_UDP_READY:
  case LP2P_HOST_EV_UDP_READABLE:
  case LP2P_HOST_EV_RAW_FAILED:
  case LP2P_HOST_EV_RAW_CLOSED: {
    for (int i = 0; i < p->cfg->nmaps; i++) {
      pmap *m = &p->cfg->maps[i];
      if (m->sock == ev->u.raw.id && m->m.proto == LP2P_PUNCH_UDP) {
        if (ev->kind == LP2P_HOST_EV_UDP_READABLE)
          from_local(p, m);
        return 1;
      }
    }
    f = pidmap_get(&p->raws, ev->u.raw.id);
    if (!f || f->kind != OBJ_FLOW)
      return 0;
    if (ev->kind == LP2P_HOST_EV_RAW_FAILED ||
        ev->kind == LP2P_HOST_EV_RAW_CLOSED) {
      pidmap_del(&p->raws, f->sock);
      f->sock = 0;
      flow_reset(p, f);
    } else if (ev->kind == LP2P_HOST_EV_UDP_READY) {
      f->ready = 1;
      from_stream(p, f);
    } else {
      from_service(p, f);
    }
    return 1;
  }
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_WRITABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
  case LP2P_HOST_EV_STREAM_CLOSED:
  case LP2P_HOST_EV_STREAM_RESET:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
  case LP2P_HOST_EV_STREAM_OPENED:
    f = pidmap_get(&p->streams, ev->stream);
    if (!f || f->kind != OBJ_FLOW)
      return 0;
    if (ev->kind == LP2P_HOST_EV_STREAM_CLOSED ||
        ev->kind == LP2P_HOST_EV_STREAM_RESET ||
        ev->kind == LP2P_HOST_EV_STREAM_OPEN_FAILED) {
      pidmap_del(&p->streams, f->stream);
      f->stream = 0;
      flow_free(p, f);
      return 1;
    }
    if (ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED)
      f->remote_fin = 1;
    if (ev->kind == LP2P_HOST_EV_STREAM_WRITABLE)
      flush_rem(p, f);
    from_stream(p, f);
    return 1;
  default:
    return 0;
  }
}

void fwd_udp_sweep(punch *p, lp2p_tstamp now) {
  pflow *f = all;
  while (f) {
    pflow *next = f->next;
    if (now - f->last >= FLOW_IDLE_NS) {
      pstatus(p, PL_DEBUG, "UDP flow of %s idle for 5 min: evicted",
              f->map ? f->map->spec : "?");
      flow_reset(p, f);
    }
    f = next;
  }
}

void fwd_udp_free(punch *p) {
  while (all)
    flow_free(p, all);
  pidmap_free(&by_sender);
}
