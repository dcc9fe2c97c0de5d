/* punch: forwarded TCP connections (issue 14 "Forwarding behaviour").
 *
 * One /punch/tcp/1.0.0 stream per TCP connection (include/lp2p/punch.h):
 * `in` accepts on its local listener, opens a stream to the peer and
 * writes the 3-byte header naming the remote port; `out` reads the
 * header, refuses (stream reset) a port it does not expose, or connects
 * to 127.0.0.1:<port> and resets the stream when that fails. Then bytes
 * are copied both ways with backpressure on both sides (a short write
 * leaves the rest in the source until WRITABLE). A FIN in either
 * direction becomes the half-close of the other side's write direction;
 * a reset on either side resets the other. The stdio bridge is the same
 * pair with stdin/stdout in place of the raw socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/punch/punch.h"

#define STDIO_BUF 65536
#define STDIN_TAG 1

typedef struct ptcp {
  uint8_t kind; /* OBJ_TCP: first, the id maps tell kinds apart by it */
  uint8_t server, hdr_done, pending, stdio;
  uint8_t raw_fin, stream_fin;   /* FIN passed on to raw / to the stream */
  uint8_t raw_done, stream_done; /* ids dead */
  uint8_t stdin_eof, stdin_watch;
  uint8_t remote_fin; /* the stream's REMOTE_CLOSED came */
  uint8_t hdr[LP2P_PUNCH_HEADER_LEN], hdr_left; /* ours, not yet taken */
  uint64_t raw, stream;
  pmap *map;
  struct ptcp *next, *prev;
  uint8_t *inbuf;
  size_t in_len, in_off;
} ptcp;

static ptcp *all;

static void stdin_watch_off(punch *p, ptcp *t) {
  if (t->stdin_watch)
    lp2p_driver_unwatch(p->d, 0);
  t->stdin_watch = 0;
}

static ptcp *tcp_new(punch *p, pmap *m) {
  (void)p;
  ptcp *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->kind = OBJ_TCP;
  t->map = m;
  t->next = all;
  if (all)
    all->prev = t;
  all = t;
  return t;
}

static void tcp_free(punch *p, ptcp *t) {
  if (t->raw)
    pidmap_del(&p->raws, t->raw);
  if (t->stream)
    pidmap_del(&p->streams, t->stream);
  if (t->prev)
    t->prev->next = t->next;
  else
    all = t->next;
  if (t->next)
    t->next->prev = t->prev;
  if (p->stdio == t) {
    stdin_watch_off(p, t);
    p->stdio = NULL;
  }
  free(t->inbuf);
  free(t);
}

static void stdio_end(punch *p, int code, const char *why) {
  if (why)
    pstatus(p, code ? PL_ERROR : PL_INFO, "stdio: %s", why);
  p->exit_code = code;
  p->done = 1;
}

/* Reset whichever side is alive and forget the pair. */
static void tcp_abort(punch *p, ptcp *t, const char *why) {
  lp2p_tstamp now = lp2p_clock_now();
  if (t->stream && !t->stream_done)
    lp2p_host_stream_reset(p->h, now, t->stream);
  if (t->raw && !t->raw_done)
    lp2p_host_raw_reset(p->h, now, t->raw);
  if (t->stdio)
    stdio_end(p, PUNCH_EXIT_FAIL, why);
  else if (why)
    pstatus(p, PL_DEBUG, "%s: connection reset: %s", t->map ? t->map->spec : "?",
            why);
  tcp_free(p, t);
}

static void check_done(punch *p, ptcp *t) {
  if (t->stdio) {
    if (t->stream_done)
      tcp_free(p, t);
    return;
  }
  if (t->stream_done && t->raw_done)
    tcp_free(p, t);
}

static void stdin_watch(punch *p, ptcp *t, int on) {
  if (on == t->stdin_watch)
    return;
  if (on)
    lp2p_driver_watch(p->d, 0, LP2P_POLL_READ, STDIN_TAG);
  else
    lp2p_driver_unwatch(p->d, 0);
  t->stdin_watch = (uint8_t)on;
}

static int write_all(int fd, const uint8_t *b, size_t n) {
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Our stream header goes first; the muxer may take it in parts when its
 * output queue is full. Returns 1 once it is all out. */
static int flush_hdr(punch *p, ptcp *t) {
  while (t->hdr_left) {
    lp2p_ssize w = lp2p_host_stream_write(
        p->h, lp2p_clock_now(), t->stream,
        t->hdr + sizeof t->hdr - t->hdr_left, t->hdr_left);
    if (w <= 0)
      return 0;
    t->hdr_left = (uint8_t)(t->hdr_left - w);
  }
  return 1;
}

/* The stdio bridge: stdin -> stream, stream -> stdout (blocking writes:
 * stdout is ours alone, and only stream bytes go there). */
static void pump_stdio(punch *p, ptcp *t) {
  lp2p_tstamp now = lp2p_clock_now();
  if (t->stream && !t->stream_done && !t->pending && flush_hdr(p, t)) {
    while (t->in_off < t->in_len) {
      lp2p_ssize w = lp2p_host_stream_write(p->h, now, t->stream,
                                            t->inbuf + t->in_off,
                                            t->in_len - t->in_off);
      if (w <= 0)
        break;
      t->in_off += (size_t)w;
      t->map->bytes_out += (uint64_t)w;
    }
    if (t->in_off == t->in_len)
      t->in_off = t->in_len = 0;
    if (t->stdin_eof && !t->in_len && !t->stream_fin) {
      t->stream_fin = 1;
      lp2p_host_stream_close(p->h, now, t->stream);
    }
  }
  stdin_watch(p, t, !t->stdin_eof && !t->in_len);
  if (!t->stream || t->stream_done || t->pending)
    return;
  uint64_t sid = t->stream;
  for (;;) {
    size_t n = 0;
    const uint8_t *d = lp2p_host_stream_read_peek(p->h, sid, &n);
    if (!n)
      break;
    if (write_all(1, d, n)) {
      tcp_abort(p, t, "stdout closed");
      return;
    }
    t->map->bytes_in += n;
    lp2p_host_stream_read_consume(p->h, now, sid, n);
  }
  if (lp2p_host_stream_at_eof(p->h, sid))
    stdio_end(p, PUNCH_EXIT_OK, "the remote closed the connection");
}

void fwd_stdio_ready(punch *p, unsigned events) {
  ptcp *t = p->stdio;
  (void)events;
  if (!t || t->stdin_eof || t->in_len)
    return;
  ssize_t n = read(0, t->inbuf, STDIO_BUF);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    t->stdin_eof = 1;
  } else {
    t->in_len = (size_t)n;
    t->in_off = 0;
  }
  pump_stdio(p, t);
}

int fwd_tcp_stdio_start(punch *p, pmap *m) {
  ptcp *t = tcp_new(p, m);
  if (!t || !(t->inbuf = malloc(STDIO_BUF))) {
    pstatus(p, PL_ERROR, "out of memory");
    return PUNCH_EXIT_FAIL;
  }
  t->stdio = 1;
  t->pending = 1;
  p->stdio = t;
  m->conns++;
  stdin_watch(p, t, 1);
  return 0;
}

/* Server side: the header, then connect to the exposed port. */
static void read_header(punch *p, ptcp *t) {
  size_t n = 0;
  const uint8_t *d = lp2p_host_stream_read_peek(p->h, t->stream, &n);
  uint16_t port = 0;
  lp2p_ssize r = lp2p_punch_header_decode(d, n, &port);
  if (r < 0) {
    pstatus(p, PL_INFO, "reset a TCP stream with a malformed header");
    tcp_abort(p, t, NULL);
    return;
  }
  if (r == 0) {
    if (t->remote_fin) { /* EOF inside the header: garbage */
      pstatus(p, PL_INFO, "reset a TCP stream whose header was cut short");
      tcp_abort(p, t, NULL);
    }
    return;
  }
  lp2p_tstamp now = lp2p_clock_now();
  lp2p_host_stream_read_consume(p->h, now, t->stream, (size_t)r);
  pmap *m = fwd_find_exposed(p, port, LP2P_PUNCH_TCP);
  if (!m) {
    pstatus(p, PL_INFO, "refused a connection to %u/tcp: not exposed", port);
    tcp_abort(p, t, NULL);
    return;
  }
  t->map = m;
  t->hdr_done = 1;
  m->conns++;
  lp2p_sockaddr to;
  memset(&to, 0, sizeof to);
  to.family = 4;
  to.ip[0] = 127;
  to.ip[3] = 1;
  to.port = port;
  int rc = lp2p_host_raw_connect(p->h, now, &to, NULL, 0, 0, &t->raw);
  if (rc || pidmap_put(&p->raws, t->raw, t)) {
    pstatus(p, PL_WARN, "cannot connect to 127.0.0.1:%u: %s", port,
            lp2p_strerror(rc ? rc : LP2P_ERR_NOMEM));
    if (!rc)
      lp2p_host_raw_reset(p->h, now, t->raw);
    t->raw = 0;
    tcp_abort(p, t, NULL);
  }
}

static void pump(punch *p, ptcp *t) {
  if (t->stdio) {
    pump_stdio(p, t);
    return;
  }
  if (t->server && !t->hdr_done) {
    read_header(p, t);
    return; /* pumped again once the raw connection exists */
  }
  if (t->pending || !t->raw || !t->stream)
    return;
  lp2p_tstamp now = lp2p_clock_now();
  /* local -> peer */
  if (!t->stream_fin && !t->raw_done && flush_hdr(p, t)) {
    for (;;) {
      size_t n = 0;
      const uint8_t *d = lp2p_host_raw_read_peek(p->h, t->raw, &n);
      if (!n)
        break;
      lp2p_ssize w = lp2p_host_stream_write(p->h, now, t->stream, d, n);
      if (w < 0) {
        tcp_abort(p, t, lp2p_strerror((int)w));
        return;
      }
      if (w == 0)
        break;
      t->map->bytes_out += (uint64_t)w;
      lp2p_host_raw_read_consume(p->h, now, t->raw, (size_t)w);
    }
    if (lp2p_host_raw_at_eof(p->h, t->raw)) {
      t->stream_fin = 1;
      lp2p_host_stream_close(p->h, now, t->stream);
    }
  }
  /* peer -> local */
  if (!t->raw_fin && !t->stream_done) {
    for (;;) {
      size_t n = 0;
      const uint8_t *d = lp2p_host_stream_read_peek(p->h, t->stream, &n);
      if (!n)
        break;
      lp2p_ssize w = lp2p_host_raw_write(p->h, now, t->raw, d, n);
      if (w < 0) {
        tcp_abort(p, t, lp2p_strerror((int)w));
        return;
      }
      if (w == 0)
        break;
      t->map->bytes_in += (uint64_t)w;
      lp2p_host_stream_read_consume(p->h, now, t->stream, (size_t)w);
    }
    if (lp2p_host_stream_at_eof(p->h, t->stream)) {
      t->raw_fin = 1;
      lp2p_host_raw_close(p->h, now, t->raw);
    }
  }
}

static void open_stream(punch *p, ptcp *t) {
  lp2p_tstamp now = lp2p_clock_now();
  lp2p_punch_header_encode(t->hdr, t->map->m.remote);
  t->hdr_left = sizeof t->hdr;
  int rc = lp2p_host_open_stream(p->h, now, &p->cfg->target,
                                 LP2P_PUNCH_TCP_PROTOCOL, &t->stream);
  if (!rc && pidmap_put(&p->streams, t->stream, t))
    rc = LP2P_ERR_NOMEM;
  if (rc) {
    tcp_abort(p, t, lp2p_strerror(rc));
    return;
  }
  t->pending = 0;
  pump(p, t);
}

void fwd_tcp_connected(punch *p) {
  ptcp *t = all;
  while (t) {
    ptcp *next = t->next;
    if (t->pending)
      open_stream(p, t);
    t = next;
  }
}

void fwd_tcp_unreachable(punch *p, int err) {
  ptcp *t = all;
  while (t) {
    ptcp *next = t->next;
    if (t->pending && !t->stdio) /* stdio waits for its own deadline */
      tcp_abort(p, t, lp2p_strerror(err));
    t = next;
  }
}

static pmap *tcp_listener_map(punch *p, uint64_t listener) {
  for (int i = 0; i < p->cfg->nmaps; i++)
    if (p->cfg->maps[i].sock == listener &&
        p->cfg->maps[i].m.proto == LP2P_PUNCH_TCP)
      return &p->cfg->maps[i];
  return NULL;
}

int fwd_tcp_event(punch *p, const lp2p_host_event *ev) {
  lp2p_tstamp now = lp2p_clock_now();
  ptcp *t = NULL;
  switch (ev->kind) {
  case LP2P_HOST_EV_RAW_ACCEPTED: {
    pmap *m = tcp_listener_map(p, ev->u.raw.listener);
    if (!m)
      return 0;
    t = tcp_new(p, m);
    if (!t || pidmap_put(&p->raws, ev->u.raw.id, t)) {
      lp2p_host_raw_reset(p->h, now, ev->u.raw.id);
      if (t)
        tcp_free(p, t);
      return 1;
    }
    t->raw = ev->u.raw.id;
    m->conns++;
    t->pending = 1;
    if (path_ready(p))
      open_stream(p, t);
    return 1;
  }
  case LP2P_HOST_EV_STREAM_INBOUND:
    if (!ev->u.stream.protocol ||
        strcmp(ev->u.stream.protocol, LP2P_PUNCH_TCP_PROTOCOL) ||
        p->cfg->role != ROLE_OUT)
      return 0;
    t = tcp_new(p, NULL);
    if (!t || pidmap_put(&p->streams, ev->stream, t)) {
      lp2p_host_stream_reset(p->h, now, ev->stream);
      if (t)
        tcp_free(p, t);
      return 1;
    }
    t->stream = ev->stream;
    t->server = 1;
    pump(p, t);
    return 1;
  case LP2P_HOST_EV_RAW_CONNECTED:
  case LP2P_HOST_EV_RAW_READABLE:
  case LP2P_HOST_EV_RAW_WRITABLE:
  case LP2P_HOST_EV_RAW_REMOTE_CLOSED:
  case LP2P_HOST_EV_RAW_CLOSED:
  case LP2P_HOST_EV_RAW_FAILED:
    t = pidmap_get(&p->raws, ev->u.raw.id);
    if (!t || t->kind != OBJ_TCP)
      return 0;
    if (ev->kind == LP2P_HOST_EV_RAW_FAILED ||
        (ev->kind == LP2P_HOST_EV_RAW_CLOSED && ev->err)) {
      pidmap_del(&p->raws, t->raw);
      t->raw_done = 1;
      if (ev->kind == LP2P_HOST_EV_RAW_FAILED)
        pstatus(p, PL_WARN, "cannot connect to 127.0.0.1:%u: %s",
                t->map ? t->map->m.remote : 0, lp2p_strerror(ev->err));
      tcp_abort(p, t, lp2p_strerror(ev->err));
      return 1;
    }
    if (ev->kind == LP2P_HOST_EV_RAW_CLOSED) {
      /* both directions ended in order and every byte was read (so the
       * local -> peer direction is complete, and our FIN went out) */
      pidmap_del(&p->raws, t->raw);
      t->raw_done = 1;
      if (!t->stream_fin && t->stream && !t->stream_done) {
        t->stream_fin = 1;
        lp2p_host_stream_close(p->h, now, t->stream);
      }
      check_done(p, t);
      return 1;
    }
    pump(p, t);
    return 1;
  case LP2P_HOST_EV_STREAM_OPENED:
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_WRITABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
  case LP2P_HOST_EV_STREAM_CLOSED:
  case LP2P_HOST_EV_STREAM_RESET:
    t = pidmap_get(&p->streams, ev->stream);
    if (!t || t->kind != OBJ_TCP)
      return 0;
    if (ev->kind == LP2P_HOST_EV_STREAM_OPEN_FAILED ||
        ev->kind == LP2P_HOST_EV_STREAM_RESET) {
      pidmap_del(&p->streams, t->stream);
      t->stream_done = 1;
      tcp_abort(p, t,
                ev->kind == LP2P_HOST_EV_STREAM_RESET
                    ? "the stream was reset"
                    : lp2p_strerror(ev->err ? ev->err : LP2P_ERR_REFUSED));
      return 1;
    }
    if (ev->kind == LP2P_HOST_EV_STREAM_REMOTE_CLOSED)
      t->remote_fin = 1;
    if (ev->kind == LP2P_HOST_EV_STREAM_CLOSED) {
      pidmap_del(&p->streams, t->stream);
      t->stream_done = 1;
      if (t->stdio) {
        if (!p->done)
          stdio_end(p, PUNCH_EXIT_OK, "the remote closed the connection");
      } else if (t->server && !t->hdr_done) {
        t->raw_done = 1; /* never connected */
      } else if (!t->raw_fin && t->raw && !t->raw_done) {
        t->raw_fin = 1;
        lp2p_host_raw_close(p->h, now, t->raw);
      }
      check_done(p, t);
      return 1;
    }
    pump(p, t);
    return 1;
  default:
    return 0;
  }
}

void fwd_tcp_free(punch *p) {
  while (all)
    tcp_free(p, all);
}
