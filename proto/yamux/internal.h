/* yamux engine internals shared by the files of proto/yamux. Not public.
 * Cross-file helpers use the ymx_ prefix. */
#ifndef LP2P_PROTO_YAMUX_INTERNAL_H
#define LP2P_PROTO_YAMUX_INTERNAL_H

#include "lp2p/yamux.h"

/* Control frames (window updates, RST, FIN, refusals) may fill the output
 * queue this far beyond out_queue_bytes_max before feed stops reading. */
#define YMX_CTRL_RESERVE (64u * 1024u)
/* A drained output buffer up to this size is freed at once: small heap
 * blocks are cheap to get again, and an idle connection then holds no
 * output buffer at all (issue 9: about 1 KiB of an idle connection). */
#define YMX_OUT_KEEP_BYTES 1024u
/* A drained output buffer larger than YMX_OUT_KEEP_BYTES is kept while the
 * session is busy and freed once no input came for this long: freeing it
 * after every drain cost an mmap/munmap pair per window of a bulk
 * transfer (~25% of the throughput, bench_engines). */
#define YMX_OUT_IDLE_NS 1000000000ull
#define YMX_OUT_MIN_BYTES 256u
/* Receive chunk sizes: small frames share a chunk, big frames get their
 * own of at most this size. */
#define YMX_CHUNK_MIN 2048u
#define YMX_CHUNK_MAX (64u * 1024u)
#define YMX_TAB_MIN 8u

/* Stream flags: the public LP2P_YAMUX_STREAM_* bits plus private ones. */
#define YS_OUTBOUND LP2P_YAMUX_STREAM_OUTBOUND
#define YS_ACKED LP2P_YAMUX_STREAM_ACKED
#define YS_LOCAL_FIN LP2P_YAMUX_STREAM_LOCAL_CLOSED
#define YS_REMOTE_FIN LP2P_YAMUX_STREAM_REMOTE_CLOSED
#define YS_RESET LP2P_YAMUX_STREAM_RESET
#define YS_PUBLIC 0x1fu
#define YS_WANT_WRITE 0x20u /* a write was cut short: WRITABLE owed */
#define YS_DONE 0x40u       /* STREAM_CLOSED queued */
#define YS_FIXED_WINDOW 0x80u /* no auto-tuning (stream_fix_window) */

/* Pending stream event bits, delivered lowest bit first. */
#define YE_OPENED 0x01u
#define YE_READABLE 0x02u
#define YE_WRITABLE 0x04u
#define YE_REMOTE_CLOSED 0x08u
#define YE_RESET 0x10u
#define YE_CLOSED 0x20u

typedef struct ymx_chunk {
  struct ymx_chunk *next;
  uint32_t start, end, cap;
  uint8_t data[];
} ymx_chunk;

typedef struct ymx_stream {
  uint32_t id;
  uint8_t flags;
  uint8_t ev;           /* pending YE_* bits */
  uint8_t queued;       /* on the event queue */
  uint32_t send_window; /* bytes the peer lets us send */
  uint32_t recv_window; /* our window size (auto-tuned) */
  uint32_t recv_credit; /* bytes the peer may still send */
  uint32_t buffered;    /* bytes held in the chunk list */
  ymx_chunk *head, *tail;
  struct ymx_stream *ev_next;
  void *user;
  lp2p_tstamp epoch_start; /* last window update (auto-tuning) */
} ymx_stream;

struct lp2p_yamux {
  lp2p_yamux_config cfg;
  const lp2p_mem *mem;
  uint8_t is_client;
  uint8_t closed;        /* no more input or new frames */
  uint8_t closed_polled; /* CLOSED event delivered */
  uint8_t goaway_sent;
  uint8_t goaway_recv;
  uint8_t out_blocked; /* a write was cut by the output queue */
  uint8_t ping_outstanding;
  uint8_t ev_rtt, ev_goaway; /* pending session events */
  uint8_t hdr_have;
  uint8_t hdr[LP2P_YAMUX_HEADER_BYTES];
  uint16_t rx_flags; /* FIN to apply when the payload ends */
  int last_error;
  int close_err;
  uint32_t goaway_code;
  uint64_t next_id; /* past UINT32_MAX: ids exhausted */
  /* input: payload of the current Data frame */
  uint32_t rx_left;
  uint32_t rx_frame_len;
  ymx_stream *rx_stream; /* NULL: discard the payload */
  /* streams: open addressing, linear probing, power-of-two size */
  ymx_stream **tab;
  uint32_t tab_size, n_streams, n_unacked;
  ymx_stream *evq_head, *evq_tail;
  /* output: a bip buffer. Frames in out[out_head, out_tail) (region A,
   * handed out by out_peek), then, when out_b is set, out[0, out_wrap)
   * (region B, begun at the front once A reached the end; it becomes A
   * when A drains). New frames go at the end of B when B exists. */
  uint8_t *out;
  size_t out_cap, out_head, out_tail, out_wrap;
  size_t last_off; /* header of the last queued frame (the newest bytes) */
  int last_valid;  /* last_off names a frame not yet (partly) consumed */
  uint8_t out_b;   /* region B exists (next to last_valid: no padding) */
  uint64_t session_buffered, recv_window_total;
  uint32_t ping_id_next, ping_id_out;
  lp2p_tstamp ping_sent, last_input, keepalive_at;
  uint64_t rtt_ns, ev_rtt_ns;
  uint64_t streams_refused, pongs_dropped;
};

/* output.c */
size_t ymx_out_queued(const lp2p_yamux *y);
int ymx_out_ctrl(lp2p_yamux *y, uint8_t type, uint16_t flags, uint32_t id,
                 uint32_t len);
int ymx_out_data(lp2p_yamux *y, uint16_t flags, uint32_t id, const uint8_t *p,
                 uint32_t k);

/* table.c */
ymx_stream *ymx_find(const lp2p_yamux *y, uint32_t id);
int ymx_stream_create(lp2p_yamux *y, uint32_t id, int outbound, lp2p_tstamp now,
                      ymx_stream **out);
void ymx_stream_destroy(lp2p_yamux *y, ymx_stream *s);
void ymx_free_all(lp2p_yamux *y);
void ymx_ev(lp2p_yamux *y, ymx_stream *s, uint8_t bits);
void ymx_wake_writers(lp2p_yamux *y);

/* window.c */
int ymx_rbuf_append(lp2p_yamux *y, ymx_stream *s, const uint8_t *p, uint32_t k,
                    uint32_t frame_left);
void ymx_rbuf_drop(lp2p_yamux *y, ymx_stream *s, uint32_t n);
uint16_t ymx_take_ack(lp2p_yamux *y, ymx_stream *s);
int ymx_window_update(lp2p_yamux *y, ymx_stream *s, lp2p_tstamp now,
                      uint16_t flags);
void ymx_check_done(lp2p_yamux *y, ymx_stream *s);

/* session.c */
void ymx_fail(lp2p_yamux *y, int err, int goaway_code);
void ymx_check_drained(lp2p_yamux *y);
int ymx_send_ping(lp2p_yamux *y, lp2p_tstamp now);
int ymx_input_blocked(const lp2p_yamux *y);

#endif
