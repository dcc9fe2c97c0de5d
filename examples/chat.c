/* A terminal chat between two peers by public key, through a relay and
 * then direct (issue 14 "Example"). It embeds the library directly, so it
 * doubles as the embedding example for an application with its own
 * protocol and its own file descriptor (stdin) in the host's loop.
 *
 *   chat RELAY                 wait for a peer: reserve a slot on the
 *                              relay (RELAY = /ip4/../tcp/../p2p/<id>)
 *                              and print our public key
 *   chat RELAY PUBKEY          call that peer through the relay
 *
 * Lines typed on stdin go to the peer; the peer's lines are printed as
 * "peer: <text>". Status lines on stderr say who is connected and whether
 * the path is relayed or direct (DCUtR punches a hole when the NATs
 * allow; LP2P_PUBLIC_CIDRS=127.0.0.0/8 makes loopback count as public
 * for a try on one machine). EOF on stdin ends the chat; so does the
 * peer's. Build against an installed tree with
 *   cc chat.c $(pkg-config --cflags --libs lp2p)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp2p/autonat.h"
#include "lp2p/driver.h"
#include "lp2p/host.h"
#include "lp2p/natclass.h"
#include "lp2p/peerid.h"

#define CHAT_PROTOCOL "/lp2p-example/chat/1.0.0"
#define LINE_MAX_BYTES 4096

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

typedef struct chat {
  lp2p_host *h;
  lp2p_driver *d;
  lp2p_peerid relay, peer;
  int calling;          /* we dial the peer (PUBKEY given) */
  uint64_t stream;      /* the chat stream, 0 until there is one */
  uint64_t dial_relay, dial_peer; /* our dials (hole punching makes
                                     others: not ours to judge) */
  char in[LINE_MAX_BYTES]; /* stdin bytes not yet taken by the stream */
  size_t in_len;
  int stdin_eof, watching, done;
  char line[LINE_MAX_BYTES]; /* the peer's partial line */
  size_t line_len;
} chat;

static void id_text(const lp2p_peerid *id, char *buf, size_t cap) {
  size_t n = 0;
  if (lp2p_peerid_to_base58(id, buf, cap - 1, &n) != 0)
    n = 0;
  buf[n] = 0;
}

static void path_line(chat *c, uint64_t conn, const char *what) {
  lp2p_host_conn_info ci;
  char a[512] = "?", id[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  if (lp2p_host_conn_info_get(c->h, conn, &ci) != 0)
    return;
  if (lp2p_maddr_to_string(&ci.remote_addr, a, sizeof a - 1, &n) == 0)
    a[n] = 0;
  id_text(&ci.peer, id, sizeof id);
  fprintf(stderr, "chat: %s %s (%s: %s)\n", what, id,
          ci.carried ? "relayed" : "direct", a);
}

/* stdin -> stream, as far as the stream takes it now */
static void pump_out(chat *c) {
  if (!c->stream)
    return;
  lp2p_tstamp now = lp2p_clock_now();
  if (c->in_len) {
    lp2p_ssize w = lp2p_host_stream_write(c->h, now, c->stream,
                                          (const uint8_t *)c->in, c->in_len);
    if (w > 0) {
      memmove(c->in, c->in + w, c->in_len - (size_t)w);
      c->in_len -= (size_t)w;
    }
  }
  if (c->stdin_eof && !c->in_len)
    lp2p_host_stream_close(c->h, now, c->stream);
}

/* stream -> stdout, one "peer: " prefix per line */
static void pump_in(chat *c) {
  size_t n = 0;
  const uint8_t *p = lp2p_host_stream_read_peek(c->h, c->stream, &n);
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n' || c->line_len == sizeof c->line - 1) {
      printf("peer: %.*s\n", (int)c->line_len, c->line);
      c->line_len = 0;
      if (p[i] == '\n')
        continue;
    }
    c->line[c->line_len++] = (char)p[i];
  }
  fflush(stdout);
  if (n)
    lp2p_host_stream_read_consume(c->h, lp2p_clock_now(), c->stream, n);
  if (lp2p_host_stream_at_eof(c->h, c->stream)) {
    fprintf(stderr, "chat: the peer left\n");
    c->done = 1;
  }
}

static void read_stdin(chat *c) {
  if (c->stdin_eof || c->in_len == sizeof c->in)
    return;
  ssize_t r = read(0, c->in + c->in_len, sizeof c->in - c->in_len);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (r <= 0)
    c->stdin_eof = 1;
  else
    c->in_len += (size_t)r;
  pump_out(c);
}

/* Watch stdin only while its bytes can go somewhere (backpressure). */
static void watch_stdin(chat *c) {
  int want = c->stream && !c->stdin_eof && c->in_len < sizeof c->in;
  if (want == c->watching)
    return;
  if (want)
    lp2p_driver_watch(c->d, 0, LP2P_POLL_READ, 1);
  else
    lp2p_driver_unwatch(c->d, 0);
  c->watching = want;
}

static void call(chat *c, const lp2p_maddr *relay_addr) {
  char rt[512], id[LP2P_PEERID_TEXT_MAX], full[700];
  size_t n = 0;
  lp2p_maddr m;
  lp2p_maddr_to_string(relay_addr, rt, sizeof rt - 1, &n);
  rt[n] = 0;
  id_text(&c->peer, id, sizeof id);
  snprintf(full, sizeof full, "%s/p2p-circuit/p2p/%s", rt, id);
  if (lp2p_maddr_parse(&m, full, strlen(full)) != 0 ||
      lp2p_host_dial(c->h, lp2p_clock_now(), &m, 0, &c->dial_peer) != 0) {
    fprintf(stderr, "chat: cannot dial %s\n", full);
    c->done = 1;
  }
}

static void on_event(chat *c, const lp2p_host_event *ev,
                     const lp2p_maddr *relay_addr) {
  lp2p_tstamp now = lp2p_clock_now();
  switch (ev->kind) {
  case LP2P_HOST_EV_LISTENING:
    /* dial the relay from our listen port (hole punching, DESIGN 5b) */
    if (lp2p_host_dial(c->h, now, relay_addr, LP2P_DIAL_REUSEPORT,
                       &c->dial_relay)) {
      fprintf(stderr, "chat: cannot dial the relay\n");
      c->done = 1;
    }
    break;
  case LP2P_HOST_EV_DIAL_DONE:
    if (ev->u.dial.id == c->dial_relay) {
      if (c->calling)
        call(c, relay_addr);
      else
        lp2p_host_relay_reserve(c->h, now, &c->relay);
    } else if (ev->u.dial.id == c->dial_peer && !c->stream) {
      if (lp2p_host_open_stream(c->h, now, &c->peer, CHAT_PROTOCOL,
                                &c->stream) != 0) {
        fprintf(stderr, "chat: cannot open the chat stream\n");
        c->done = 1;
      }
      pump_out(c); /* writes are taken at once (lazy negotiation) */
    }
    break;
  case LP2P_HOST_EV_DIAL_FAILED:
    if (ev->u.dial.id != c->dial_relay && ev->u.dial.id != c->dial_peer)
      break;
    fprintf(stderr, "chat: cannot reach the %s: %s\n",
            ev->u.dial.id == c->dial_relay ? "relay" : "peer",
            lp2p_strerror(ev->err));
    c->done = 1;
    break;
  case LP2P_HOST_EV_RELAY_RESERVED: {
    char id[LP2P_PEERID_TEXT_MAX];
    id_text(lp2p_host_peer_id(c->h), id, sizeof id);
    printf("waiting: chat RELAY %s\n", id);
    fflush(stdout);
    break;
  }
  case LP2P_HOST_EV_PEER_CONNECTED:
    if (!lp2p_peerid_equal(&ev->peer, &c->relay))
      path_line(c, ev->conn, "connected to");
    break;
  case LP2P_HOST_EV_HOLEPUNCH_RESULT:
    if (ev->u.holepunch.ok)
      path_line(c, ev->conn, "now direct with");
    else
      fprintf(stderr, "chat: no direct path (%s); staying relayed\n",
              lp2p_punch_reason_name(
                  (lp2p_punch_reason)ev->u.holepunch.reason));
    break;
  case LP2P_HOST_EV_STREAM_INBOUND:
    if (c->stream) { /* one chat at a time */
      lp2p_host_stream_reset(c->h, now, ev->stream);
      break;
    }
    c->stream = ev->stream;
    c->peer = ev->peer;
    pump_in(c);
    pump_out(c);
    break;
  case LP2P_HOST_EV_STREAM_READABLE:
  case LP2P_HOST_EV_STREAM_REMOTE_CLOSED:
    if (ev->stream == c->stream)
      pump_in(c);
    break;
  case LP2P_HOST_EV_STREAM_WRITABLE:
  case LP2P_HOST_EV_STREAM_OPENED:
    if (ev->stream == c->stream)
      pump_out(c);
    break;
  case LP2P_HOST_EV_STREAM_OPEN_FAILED:
  case LP2P_HOST_EV_STREAM_RESET:
    if (ev->stream == c->stream) {
      fprintf(stderr, "chat: the chat stream ended: %s\n",
              lp2p_strerror(ev->err));
      c->stream = 0;
      c->done = 1;
    }
    break;
  case LP2P_HOST_EV_STREAM_CLOSED:
    if (ev->stream == c->stream) {
      c->stream = 0;
      c->done = 1;
    }
    break;
  default:
    break;
  }
}

static int parse_peer(const char *addr_or_key, lp2p_maddr *m,
                      lp2p_peerid *id, int is_addr) {
  if (!is_addr)
    return lp2p_peerid_parse(id, addr_or_key, strlen(addr_or_key));
  const uint8_t *b;
  size_t n;
  if (lp2p_maddr_parse(m, addr_or_key, strlen(addr_or_key)) != 0 ||
      lp2p_maddr_get_peer_id(m, &b, &n) != 0)
    return -1;
  return lp2p_peerid_from_bytes(id, b, n);
}

int main(int argc, char **argv) {
  chat c;
  memset(&c, 0, sizeof c);
  lp2p_maddr relay_addr, dummy;
  if (argc < 2 || argc > 3 ||
      parse_peer(argv[1], &relay_addr, &c.relay, 1) != 0 ||
      (argc == 3 && parse_peer(argv[2], &dummy, &c.peer, 0) != 0)) {
    fprintf(stderr, "usage: chat RELAY_MULTIADDR/p2p/<id> [PEER_PUBKEY]\n");
    return 2;
  }
  c.calling = argc == 3;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  lp2p_rng rng;
  lp2p_rng_system(&rng);
  lp2p_privkey key;
  if (lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, &rng) != 0)
    return 1;
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.dcutr.enabled = 1; /* punch a hole over the relayed connection */
  static lp2p_autonat_cidrs cidrs;
  const char *pub = getenv("LP2P_PUBLIC_CIDRS");
  if (pub && lp2p_autonat_cidrs_parse(&cidrs, pub) == 0) {
    cfg.dcutr.engine.is_public = lp2p_autonat_cidrs_public;
    cfg.dcutr.engine.is_public_ud = &cidrs;
  }
  const char *here = "/ip4/0.0.0.0/tcp/0";
  lp2p_maddr listen;
  lp2p_maddr_parse(&listen, here, strlen(here));
  int rc = lp2p_host_new(&c.h, &cfg, NULL, &rng, lp2p_clock_now());
  if (!rc)
    rc = lp2p_driver_new(&c.d, c.h, lp2p_backend_poll());
  if (!rc)
    rc = lp2p_host_register_protocol(c.h, CHAT_PROTOCOL);
  if (!rc) /* the chat runs on the relayed connection too, at first */
    rc = lp2p_host_allow_limited(c.h, CHAT_PROTOCOL, 1);
  if (!rc)
    rc = lp2p_host_listen(c.h, &listen, NULL);
  if (rc) {
    fprintf(stderr, "chat: cannot start: %s\n", lp2p_strerror(rc));
    return 1;
  }
  while (!stop && !c.done) {
    lp2p_driver_step(c.d, 200);
    lp2p_host_event ev;
    while (!c.done && lp2p_host_poll_event(c.h, &ev))
      on_event(&c, &ev, &relay_addr);
    uint64_t tag;
    unsigned events;
    while (lp2p_driver_poll_watch(c.d, &tag, &events))
      read_stdin(&c);
    watch_stdin(&c);
    lp2p_driver_flush(c.d);
  }
  if (c.line_len)
    printf("peer: %.*s\n", (int)c.line_len, c.line);
  fflush(stdout);
  /* a clean goodbye: queued lines out, then the connection closed */
  lp2p_host_close(c.h, lp2p_clock_now());
  lp2p_tstamp end = lp2p_clock_now() + 2 * LP2P_NS_PER_S;
  while (lp2p_clock_now() < end) {
    lp2p_driver_flush(c.d);
    lp2p_host_event ev;
    int closed = 0;
    while (lp2p_host_poll_event(c.h, &ev))
      closed |= ev.kind == LP2P_HOST_EV_CLOSED;
    if (closed && !lp2p_driver_closing(c.d))
      break;
    lp2p_driver_step(c.d, 50);
  }
  lp2p_driver_free(c.d);
  lp2p_host_free(c.h);
  lp2p_memzero(&key, sizeof key);
  return 0;
}
