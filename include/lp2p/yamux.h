/** yamux (`/yamux/1.0.0`) stream multiplexer as a sans-IO engine.
 *
 * Spec: libp2p specs yamux/README.md (a copy of the hashicorp yamux spec).
 * One engine runs one session over one reliable byte pipe (usually a Noise
 * channel). Frames are a 12-byte header (version 0, type, flags, stream id,
 * length) plus, for Data frames, `length` payload bytes. The client opens
 * odd stream ids, the server even ones; id 0 is the session.
 *
 * Flow control: every stream starts with the spec's 256 KiB window each
 * way. The receiver grants more window only when the application consumes
 * data (lp2p_yamux_stream_read_consume), so a slow reader pushes back on the
 * sender. Window auto-tuning follows go-yamux: when a window update is due
 * less than 2 x RTT after the previous one (RTT from our pings; one ping is
 * sent when the session starts), the stream's window doubles, up to
 * `window_bytes_max` and as long as the sum of all windows stays within
 * `session_buffered_bytes_max`.
 *
 * Inbound streams: a SYN produces STREAM_OPENED. The stream is ACKed by
 * lp2p_yamux_stream_accept(), or implicitly by the first write, close or
 * read_consume on it. Streams not yet ACKed form the accept backlog; a SYN
 * beyond `accept_backlog_max` or `streams_max` is answered with RST and
 * counted (lp2p_yamux_stats.streams_refused). Our own outbound streams
 * accept the peer's ACK on either a Data or a Window Update frame.
 *
 * Memory: the session allocates lazily. Receive data lives in per-stream
 * chunk lists that are freed as soon as they are read; the output buffer is
 * dropped when drained (a small one is kept); streams are found through an
 * open-addressing hash table. An idle session is under 8 KiB, an idle
 * stream under 512 bytes.
 *
 * Peer misbehaviour never fails an API call: it closes the session with a
 * sticky last_error (LP2P_ERR_PROTO, LP2P_ERR_LIMIT), a GoAway queued (code
 * 1 for protocol violations, 2 when a local limit was crossed) and a CLOSED
 * event. After the session is closed, drain the remaining output (the
 * GoAway) and free it.
 *
 * Drain order after every mutating call (DESIGN.md section 2): output until
 * empty, then lp2p_yamux_poll_event() until 0, then lp2p_yamux_next_timeout.
 */
#ifndef LP2P_YAMUX_H
#define LP2P_YAMUX_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The multistream-select protocol id. */
#define LP2P_YAMUX_PROTOCOL_ID "/yamux/1.0.0"

/* ---- header codec (pure, allocates nothing) --------------------------- */

#define LP2P_YAMUX_HEADER_BYTES 12u
#define LP2P_YAMUX_VERSION 0u
/** The window both sides assume for every new stream (spec "Flow
 * Control"). */
#define LP2P_YAMUX_WINDOW_SPEC_BYTES (256u * 1024u)

/** Frame types. */
#define LP2P_YAMUX_TYPE_DATA 0u
#define LP2P_YAMUX_TYPE_WINDOW_UPDATE 1u
#define LP2P_YAMUX_TYPE_PING 2u
#define LP2P_YAMUX_TYPE_GO_AWAY 3u

/** Frame flags. */
#define LP2P_YAMUX_FLAG_SYN 0x1u
#define LP2P_YAMUX_FLAG_ACK 0x2u
#define LP2P_YAMUX_FLAG_FIN 0x4u
#define LP2P_YAMUX_FLAG_RST 0x8u

/** GoAway codes (spec "Session termination"). */
#define LP2P_YAMUX_GOAWAY_NORMAL 0u
#define LP2P_YAMUX_GOAWAY_PROTOCOL_ERROR 1u
#define LP2P_YAMUX_GOAWAY_INTERNAL_ERROR 2u

/** One decoded frame header. */
typedef struct lp2p_yamux_header {
  uint8_t version;
  uint8_t type;
  uint16_t flags;
  uint32_t stream_id;
  uint32_t length; /**< payload bytes, window delta, ping id or code */
} lp2p_yamux_header;

/** Encode `h` into 12 big-endian bytes at `out`. */
LP2P_API void lp2p_yamux_header_encode(uint8_t out[LP2P_YAMUX_HEADER_BYTES],
                                       const lp2p_yamux_header *h);

/** Decode the 12 bytes at `p` into `h` (filled even on a version/type
 * error). Unknown flag bits are kept and ignored by the session.
 * Returns 0 or one of: LP2P_ERR_INVAL (NULL argument), LP2P_ERR_TRUNCATED
 * (n < 12), LP2P_ERR_UNSUPPORTED (version not 0), LP2P_ERR_PARSE (type
 * above 3). */
LP2P_API int lp2p_yamux_header_decode(lp2p_yamux_header *h, const uint8_t *p,
                                      size_t n);

/* ---- session ---------------------------------------------------------- */

typedef struct lp2p_yamux lp2p_yamux;

/** Limits and timers. Get one from lp2p_yamux_config_default() and adjust.
 * lp2p_yamux_new() copies it. */
typedef struct lp2p_yamux_config {
  /** Live streams, both directions, including closed ones whose
   * STREAM_CLOSED event was not polled yet (default 1024). */
  uint32_t streams_max;
  /** Inbound streams not yet ACKed; a SYN beyond this is reset
   * (default 256, the spec's recommended ACK backlog). 0 refuses every
   * inbound stream. */
  uint32_t accept_backlog_max;
  /** Receive window of a new stream; at least 256 KiB, the peer assumes
   * 256 KiB and learns any extra with our SYN/ACK (default 256 KiB). */
  uint32_t window_bytes_initial;
  /** Auto-tuning ceiling of a stream's receive window (default 16 MiB).
   * Equal to window_bytes_initial turns auto-tuning off. */
  uint32_t window_bytes_max;
  /** Most bytes buffered for one stream; must be >= window_bytes_max
   * (default 16 MiB). A peer can never exceed the window it was granted,
   * so this is a sanity bound checked at lp2p_yamux_new(). */
  uint32_t stream_recv_buffer_bytes_max;
  /** Received-but-unread bytes over all streams. When reached, feed stops
   * taking stream data (recv_room() is 0) until the application reads;
   * window growth also stops once the sum of windows would pass it
   * (default 64 MiB). */
  uint64_t session_buffered_bytes_max;
  /** Largest inbound Data frame payload; a bigger frame closes the session
   * with LP2P_ERR_LIMIT (default 16 MiB). */
  uint32_t frame_bytes_max;
  /** Largest outbound Data frame payload; writes are split (default
   * 64 KiB, as go-yamux and js-libp2p). */
  uint32_t send_frame_bytes_max;
  /** Queued output bytes that stream writes may fill (default 1 MiB).
   * Control frames may go 64 KiB beyond; past that, feed stops reading
   * until the output is drained. Ping replies are dropped (and counted)
   * while the queue is full. At least 64. */
  size_t out_queue_bytes_max;
  /** Keepalive ping interval; 0 = off (default 30 s). */
  uint64_t keepalive_ns;
  /** A ping of ours unanswered for this long, with no input at all in that
   * time, closes the session with LP2P_ERR_TIMEOUT; 0 = never (default
   * 10 s). */
  uint64_t ping_timeout_ns;
  /** Nonzero: send a ping at session start to learn the RTT used by
   * window auto-tuning (default 1). */
  int measure_rtt;
} lp2p_yamux_config;

/** Stream status bits (lp2p_yamux_stream_status). */
#define LP2P_YAMUX_STREAM_OUTBOUND 0x01u      /**< we opened it */
#define LP2P_YAMUX_STREAM_ACKED 0x02u         /**< ACK received / sent */
#define LP2P_YAMUX_STREAM_LOCAL_CLOSED 0x04u  /**< our FIN queued */
#define LP2P_YAMUX_STREAM_REMOTE_CLOSED 0x08u /**< peer's FIN received */
#define LP2P_YAMUX_STREAM_RESET 0x10u         /**< reset by either side */

typedef enum lp2p_yamux_event_type {
  LP2P_YAMUX_EV_NONE = 0,
  /** The peer opened stream `stream_id` (SYN). ACK it with
   * lp2p_yamux_stream_accept() or by writing/reading. */
  LP2P_YAMUX_EV_STREAM_OPENED = 1,
  /** New data arrived since the last READABLE of this stream was polled
   * (edge-triggered): lp2p_yamux_stream_read_peek(). */
  LP2P_YAMUX_EV_STREAM_READABLE = 2,
  /** A write that was cut short can proceed: the send window reopened or
   * the output queue drained. */
  LP2P_YAMUX_EV_STREAM_WRITABLE = 3,
  /** The peer half-closed (FIN): no more data will arrive after what is
   * buffered. */
  LP2P_YAMUX_EV_STREAM_REMOTE_CLOSED = 4,
  /** The peer reset the stream (RST), or refused our SYN. Buffered data
   * is dropped. STREAM_CLOSED follows. */
  LP2P_YAMUX_EV_STREAM_RESET = 5,
  /** Both directions are done (FIN both ways and all data read, or a reset
   * by either side). The engine forgets the stream when this event is
   * polled: `user` is its last user pointer, the id is then unknown. */
  LP2P_YAMUX_EV_STREAM_CLOSED = 6,
  /** A pong for our ping arrived; `rtt_ns` is the round-trip time. */
  LP2P_YAMUX_EV_PING_RTT = 7,
  /** The peer sent GoAway with `code`. With a non-zero code the session
   * also closes (LP2P_ERR_GOAWAY). With code 0 no new streams open either
   * way; existing streams finish. */
  LP2P_YAMUX_EV_GOAWAY_RECEIVED = 8,
  /** The session is over; `error` is 0 for an orderly end (GoAway and all
   * streams done, or EOF after the peer's GoAway) or LP2P_ERR_PROTO,
   * LP2P_ERR_LIMIT, LP2P_ERR_TIMEOUT, LP2P_ERR_GOAWAY, LP2P_ERR_EOF,
   * LP2P_ERR_NOMEM. Always the last event. */
  LP2P_YAMUX_EV_CLOSED = 9,
} lp2p_yamux_event_type;

typedef struct lp2p_yamux_event {
  lp2p_yamux_event_type type;
  uint32_t stream_id; /**< stream events */
  void *user;         /**< stream events: the stream's user pointer */
  int error;          /**< CLOSED */
  uint32_t code;      /**< GOAWAY_RECEIVED */
  uint64_t rtt_ns;    /**< PING_RTT */
} lp2p_yamux_event;

/** Counters and gauges (for tests, benchmarks and the host's metrics). */
typedef struct lp2p_yamux_stats {
  uint32_t streams;                 /**< live stream entries */
  uint32_t inbound_unacked;         /**< accept backlog */
  uint64_t streams_refused;         /**< inbound SYNs answered with RST */
  uint64_t pongs_dropped;           /**< ping replies dropped (queue full) */
  uint64_t rtt_ns;                  /**< last measured RTT, 0 = unknown */
  uint64_t session_buffered_bytes;  /**< received, not yet read */
  uint64_t recv_window_total_bytes; /**< sum of stream receive windows */
  size_t out_queued_bytes;          /**< output not yet consumed */
} lp2p_yamux_stats;

/** Fill `cfg` with the defaults documented in lp2p_yamux_config. */
LP2P_API void lp2p_yamux_config_default(lp2p_yamux_config *cfg);

/** Create a session. `is_client` nonzero: we open odd stream ids (the side
 * that dialed the connection). `cfg` NULL means defaults; it is copied.
 * `mem` (NULL = libc) must outlive the session. With cfg->measure_rtt a
 * ping is queued at once.
 * Returns 0 or one of: LP2P_ERR_INVAL (NULL out or inconsistent config:
 * window_bytes_initial < 256 KiB or > window_bytes_max,
 * stream_recv_buffer_bytes_max < window_bytes_max, a zero bound, or
 * out_queue_bytes_max < 64), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_yamux_new(lp2p_yamux **out, int is_client,
                            const lp2p_yamux_config *cfg, const lp2p_mem *mem,
                            lp2p_tstamp now);

/** Free the session, its streams and buffers. NULL-safe. */
LP2P_API void lp2p_yamux_free(lp2p_yamux *y);

/** Feed bytes received from the transport. Returns how many were taken:
 * less than `n` when stream data would pass session_buffered_bytes_max or
 * the output queue is over its control reserve (keep the rest and feed it
 * again after reading streams / draining output; recv_room() says when).
 * Bad peer input does not fail: the session closes (state, last_error,
 * CLOSED event) and the rest is taken and ignored; input after the close is
 * ignored too. Returns the count or one of: LP2P_ERR_INVAL (NULL with
 * n > 0), LP2P_ERR_NOMEM (fatal). */
LP2P_API lp2p_ssize lp2p_yamux_feed(lp2p_yamux *y, lp2p_tstamp now,
                                    const uint8_t *p, size_t n);

/** The transport's read side ended. Closes the session: error 0 if the
 * peer had sent GoAway(normal) and no frame was cut, else LP2P_ERR_EOF.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_yamux_feed_eof(lp2p_yamux *y, lp2p_tstamp now);

/** How many bytes the engine would take now (a hint; feed may still take
 * fewer). 0 = do not read now (closed, session buffer full, or output
 * over its reserve). */
LP2P_API size_t lp2p_yamux_recv_room(const lp2p_yamux *y);

/** Bytes to send, zero-copy; valid until the next mutating call: the
 * oldest contiguous run of the queued output (the queue may wrap, so the
 * rest follows once these are consumed: peek again until NULL). Returns
 * NULL with *len 0 when there is nothing. */
LP2P_API const uint8_t *lp2p_yamux_out_peek(const lp2p_yamux *y, size_t *len);

/** Mark `n` bytes of the output as sent (partial is fine; more than queued
 * is clamped). May queue STREAM_WRITABLE events. */
LP2P_API void lp2p_yamux_out_consume(lp2p_yamux *y, size_t n);

/** When lp2p_yamux_handle_timeout() must be called next (keepalive or ping
 * deadline), or LP2P_TSTAMP_NONE. Pure. */
LP2P_API lp2p_tstamp lp2p_yamux_next_timeout(const lp2p_yamux *y);

/** Run due timers: send a keepalive ping, or close the session with
 * LP2P_ERR_TIMEOUT when a ping went unanswered. Idempotent.
 * Returns 0 or LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_handle_timeout(lp2p_yamux *y, lp2p_tstamp now);

/** Take the next event into `ev`. Returns 1, or 0 when there is none.
 * Polling STREAM_CLOSED frees that stream. */
LP2P_API int lp2p_yamux_poll_event(lp2p_yamux *y, lp2p_yamux_event *ev);

/** LP2P_STATE_* flags: WANT_READ (recv_room > 0), HAS_OUTPUT, CLOSING
 * (a GoAway was sent or received, streams are finishing), CLOSED. */
LP2P_API unsigned lp2p_yamux_state(const lp2p_yamux *y);

/** The sticky error that closed the session, or 0. */
LP2P_API int lp2p_yamux_last_error(const lp2p_yamux *y);

/** Counters and gauges into `out`. */
LP2P_API void lp2p_yamux_get_stats(const lp2p_yamux *y, lp2p_yamux_stats *out);

/** Change the session's memory bounds while it runs (a host's resource
 * manager grants them): session_buffered_bytes_max (at least 64 KiB) and
 * out_queue_bytes_max (at least 64). Lowering them never drops data: feed
 * takes no more stream data and writes come back short until the session
 * drained below the new bounds; window growth stops at the new budget.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_yamux_set_budget(lp2p_yamux *y, uint64_t buffered_max,
                                   size_t out_queue_max);

/** Send a ping (opaque id); PING_RTT follows when the pong arrives.
 * Returns 0 or one of: LP2P_ERR_AGAIN (a ping of ours is outstanding),
 * LP2P_ERR_CLOSED, LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_ping(lp2p_yamux *y, lp2p_tstamp now);

/** Send GoAway with `code` (LP2P_YAMUX_GOAWAY_*). Code 0: no new streams
 * either way, existing ones finish, then the session is CLOSED with error
 * 0. Other codes close the session at once (error 0: we chose to). A
 * second call is a no-op.
 * Returns 0 or one of: LP2P_ERR_INVAL (code above 2), LP2P_ERR_CLOSED,
 * LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_go_away(lp2p_yamux *y, lp2p_tstamp now, uint32_t code);

/* ---- streams ---------------------------------------------------------- */

/** Open an outbound stream: queues a Window Update with SYN (turned into
 * the first Data frame when a write follows before the output is taken).
 * Stores the id in `*id`. Returns 0 or one of: LP2P_ERR_INVAL,
 * LP2P_ERR_LIMIT (streams_max live streams, or ids exhausted; the session
 * stays usable), LP2P_ERR_AGAIN (output queue 64 KiB past
 * out_queue_bytes_max: drain it first), LP2P_ERR_CLOSED (session closed or
 * GoAway sent/received), LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_stream_open(lp2p_yamux *y, lp2p_tstamp now,
                                    uint32_t *id);

/** ACK an inbound stream (a Window Update with ACK, carrying any window
 * beyond 256 KiB). No-op for outbound or already ACKed streams.
 * Returns 0 or one of: LP2P_ERR_NOT_FOUND, LP2P_ERR_RESET,
 * LP2P_ERR_CLOSED, LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_stream_accept(lp2p_yamux *y, lp2p_tstamp now,
                                      uint32_t id);

/** Queue up to `n` bytes of stream data (copied once, into the output
 * buffer). Takes min(n, send window, output queue room); returns fewer
 * than `n` (possibly 0) when blocked, and STREAM_WRITABLE follows when it
 * can proceed. Returns the count or one of: LP2P_ERR_INVAL,
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_STATE (we already closed it),
 * LP2P_ERR_RESET, LP2P_ERR_CLOSED, LP2P_ERR_NOMEM (fatal). */
LP2P_API lp2p_ssize lp2p_yamux_stream_write(lp2p_yamux *y, lp2p_tstamp now,
                                            uint32_t id, const uint8_t *p,
                                            size_t n);

/** Zero-copy view of the next buffered bytes of stream `id` (one chunk;
 * call again after consuming for more). Valid until the next mutating
 * call. NULL with *len 0 when nothing is buffered or the id is unknown. */
LP2P_API const uint8_t *lp2p_yamux_stream_read_peek(const lp2p_yamux *y,
                                                    uint32_t id, size_t *len);

/** Drop `n` read bytes (may span chunks). This is what reopens the
 * peer's send window: a Window Update is queued when half of the window is
 * free (window auto-tuning happens here). Returns 0 or one of:
 * LP2P_ERR_NOT_FOUND, LP2P_ERR_INVAL (n above buffered bytes),
 * LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_stream_read_consume(lp2p_yamux *y, lp2p_tstamp now,
                                            uint32_t id, size_t n);

/** Bytes buffered for reading on stream `id` (0 if unknown). */
LP2P_API size_t lp2p_yamux_stream_readable(const lp2p_yamux *y, uint32_t id);

/** Half-close: queue FIN (merged into the last queued frame of the stream
 * when possible). Reading continues. Idempotent.
 * Returns 0 or one of: LP2P_ERR_NOT_FOUND, LP2P_ERR_RESET,
 * LP2P_ERR_CLOSED, LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_stream_close(lp2p_yamux *y, lp2p_tstamp now,
                                     uint32_t id);

/** Reset: queue RST, drop buffered data; STREAM_CLOSED follows.
 * Idempotent. Returns 0 or one of: LP2P_ERR_NOT_FOUND, LP2P_ERR_CLOSED,
 * LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_yamux_stream_reset(lp2p_yamux *y, lp2p_tstamp now,
                                     uint32_t id);

/** Bytes the peer lets us send now, or LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_yamux_stream_send_window(const lp2p_yamux *y,
                                                  uint32_t id);

/** Our current receive window for stream `id` (grows with auto-tuning),
 * or LP2P_ERR_NOT_FOUND. */
LP2P_API lp2p_ssize lp2p_yamux_stream_recv_window(const lp2p_yamux *y,
                                                  uint32_t id);

/** Turn auto-tuning off for stream `id`: its receive window keeps its
 * current size, so what the peer can make us buffer stays one window.
 * For streams whose reader may stall on purpose (a service that reads
 * only when it can answer). Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_fix_window(lp2p_yamux *y, uint32_t id);

/** LP2P_YAMUX_STREAM_* bits of stream `id`, or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_status(const lp2p_yamux *y, uint32_t id);

/** Attach an opaque pointer to a stream (the engine never touches it).
 * Returns 0 or LP2P_ERR_NOT_FOUND. */
LP2P_API int lp2p_yamux_stream_set_user(lp2p_yamux *y, uint32_t id, void *user);

/** The stream's user pointer, or NULL (also for unknown ids). */
LP2P_API void *lp2p_yamux_stream_get_user(const lp2p_yamux *y, uint32_t id);

#ifdef __cplusplus
}
#endif
#endif
