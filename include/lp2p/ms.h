/** multistream-select 1.0 (`/multistream/1.0.0`) as a sans-IO engine.
 *
 * One engine negotiates one protocol on one byte pipe (a raw connection or a
 * muxed stream). Wire format (libp2p connections spec, "multistream-select";
 * multiformats/multistream-select): every message is an unsigned varint
 * length, then that many bytes of UTF-8 text ending in '\n' (the length
 * counts the newline). Both sides open with `/multistream/1.0.0\n`; the
 * dialer proposes a protocol id, the listener echoes it to accept or answers
 * `na\n`; `ls\n` asks the listener for its protocol list.
 *
 * Roles:
 * - Listener: supports the protocol list given in the config (copied by
 *   lp2p_ms_new). It queues its header at once, answers proposals and `ls`,
 *   and refuses more than `proposals_max` requests with LP2P_ERR_LIMIT.
 * - Dialer: sends nothing until lp2p_ms_propose() or lp2p_ms_ls(); the
 *   first request goes out together with the header (one write). The
 *   proposals are tried in order; when all are refused the engine fails
 *   with LP2P_ERR_UNSUPPORTED. In lazy (optimistic) mode, with exactly one
 *   proposal, the caller may send application bytes right after draining
 *   the engine's output, without waiting for the echo.
 *
 * Layering: lp2p_ms_feed() consumes only multistream bytes and stops right
 * after the message that ends the negotiation, so whatever follows in the
 * caller's buffer (the listener's first application bytes after a lazy
 * proposal, or Noise/yamux bytes) stays with the caller, zero-copy: feed
 * returns how many bytes it took, the rest belongs to the next layer.
 *
 * After the negotiation (NEGOTIATED or FAILED event) the engine is done:
 * drain its remaining output (the listener's echo) before any bytes of the
 * next protocol, then free it. Idle state is under 256 bytes.
 */
#ifndef LP2P_MS_H
#define LP2P_MS_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The multistream-select protocol id (without the newline). */
#define LP2P_MS_PROTOCOL_ID "/multistream/1.0.0"

typedef struct lp2p_ms lp2p_ms;

/** Limits and the listener's protocol list. Get one from
 * lp2p_ms_config_default() and adjust. */
typedef struct lp2p_ms_config {
  /** Longest message sent or accepted, newline included (default 1024, as
   * go-multistream and js-libp2p). At least 20 (the header). */
  size_t message_bytes_max;
  /** Longest `ls` response a dialer accepts (default 16384). */
  size_t ls_bytes_max;
  /** Listener: requests (refused proposals and `ls`) tolerated before
   * failing with LP2P_ERR_LIMIT. Dialer: longest proposal list
   * (default 16). */
  size_t proposals_max;
  /** Listener: longest protocol list. Dialer: most `ls` entries accepted
   * (default 64). */
  size_t protocols_max;
  /** Negotiation deadline, counted from lp2p_ms_new(); 0 = none
   * (default 10 s). Expiry fails the engine with LP2P_ERR_TIMEOUT. */
  uint64_t timeout_ns;
  /** Listener only: the supported protocol ids (NUL-terminated, non-empty,
   * no '\n'). Copied by lp2p_ms_new(); the caller's array may go away. */
  const char *const *protocols;
  size_t protocols_len;
} lp2p_ms_config;

typedef enum lp2p_ms_event_type {
  LP2P_MS_EV_NONE = 0,
  /** A protocol was agreed: `index` (into the dialer's proposal list or the
   * listener's protocol list) and `protocol` are set. */
  LP2P_MS_EV_NEGOTIATED = 1,
  /** Negotiation failed: `err` is LP2P_ERR_UNSUPPORTED (every proposal was
   * refused), LP2P_ERR_PROTO, LP2P_ERR_LIMIT, LP2P_ERR_TIMEOUT,
   * LP2P_ERR_EOF, LP2P_ERR_TRUNCATED or LP2P_ERR_NOMEM. */
  LP2P_MS_EV_FAILED = 2,
  /** Dialer: an `ls` answer arrived with `ls_count` entries; read them with
   * lp2p_ms_ls_entry(). */
  LP2P_MS_EV_LS_RESULT = 3
} lp2p_ms_event_type;

typedef struct lp2p_ms_event {
  lp2p_ms_event_type type;
  int err;
  size_t index;
  /** NUL-terminated, owned by the engine, valid until lp2p_ms_free(). */
  const char *protocol;
  size_t protocol_len;
  size_t ls_count;
} lp2p_ms_event;

/** Fill `cfg` with the defaults (no listener protocols). */
LP2P_API void lp2p_ms_config_default(lp2p_ms_config *cfg);

/** Create an engine. `cfg` NULL = defaults; `mem` NULL = libc. A listener
 * copies cfg->protocols and queues its header. The config struct itself is
 * not kept. Returns 0 or one of: LP2P_ERR_INVAL (bad config or protocol
 * id), LP2P_ERR_LIMIT (more than protocols_max protocols), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_ms_new(lp2p_ms **out, int is_dialer,
                         const lp2p_ms_config *cfg, const lp2p_mem *mem,
                         lp2p_tstamp now);
/** Free the engine and everything it owns. NULL-safe. */
LP2P_API void lp2p_ms_free(lp2p_ms *ms);

/** Dialer: propose `protocols[0..n)` in preference order (copied). With
 * `lazy` (needs n == 1) the caller may write application data right after
 * draining lp2p_ms_out_peek(), before the listener's echo arrives; a
 * refusal then fails the engine with LP2P_ERR_UNSUPPORTED. Allowed once,
 * when no `ls` is outstanding. Returns 0 or one of: LP2P_ERR_INVAL (bad
 * id, n == 0, lazy with n != 1, listener engine), LP2P_ERR_LIMIT (n above
 * proposals_max; engine unchanged), LP2P_ERR_STATE (already proposed, `ls`
 * outstanding, or negotiation over), LP2P_ERR_NOMEM (engine failed). */
LP2P_API int lp2p_ms_propose(lp2p_ms *ms, const char *const *protocols,
                             size_t n, int lazy);

/** Dialer: ask the listener for its protocol list (`ls`). The answer comes
 * as an LP2P_MS_EV_LS_RESULT event. Allowed before lp2p_ms_propose() and
 * when no other `ls` is outstanding. Returns 0 or one of: LP2P_ERR_INVAL
 * (listener engine), LP2P_ERR_STATE, LP2P_ERR_NOMEM (engine failed). */
LP2P_API int lp2p_ms_ls(lp2p_ms *ms);

/** Dialer: entry `i` of the last `ls` answer, NUL-terminated, owned by the
 * engine (valid until the next `ls` answer or _free). `*len` (may be NULL)
 * gets its length. Returns NULL when i is out of range. */
LP2P_API const char *lp2p_ms_ls_entry(const lp2p_ms *ms, size_t i,
                                      size_t *len);

/** Feed peer bytes. Consumes multistream messages only and stops after the
 * one that completes the negotiation: the unconsumed tail p[ret..n) belongs
 * to the next protocol. After a failure all input is swallowed. Returns the
 * number of bytes consumed, or one of: LP2P_ERR_INVAL (NULL pointers),
 * LP2P_ERR_NOMEM (the engine failed). Peer misbehaviour never makes it
 * fail: it becomes last_error and a FAILED event. */
LP2P_API lp2p_ssize lp2p_ms_feed(lp2p_ms *ms, lp2p_tstamp now,
                                 const uint8_t *p, size_t n);
/** The peer closed its sending side. During negotiation this fails the
 * engine with LP2P_ERR_EOF (or LP2P_ERR_TRUNCATED inside a message).
 * Returns 0 or LP2P_ERR_STATE (negotiation already succeeded: the EOF
 * belongs to the next protocol; nothing changes). */
LP2P_API int lp2p_ms_feed_eof(lp2p_ms *ms, lp2p_tstamp now);
/** How many bytes the engine wants now: 0 once the negotiation is over
 * (the next protocol's bytes must not be fed here). A hint; feed may take
 * less. */
LP2P_API size_t lp2p_ms_recv_room(const lp2p_ms *ms);

/** Zero-copy view of pending output; NULL and *len 0 when empty. Valid
 * until the next mutating call. */
LP2P_API const uint8_t *lp2p_ms_out_peek(const lp2p_ms *ms, size_t *len);
/** Mark `n` bytes of output as sent (partial is fine; clamped). */
LP2P_API void lp2p_ms_out_consume(lp2p_ms *ms, size_t n);

/** The negotiation deadline, or LP2P_TSTAMP_NONE. Pure. */
LP2P_API lp2p_tstamp lp2p_ms_next_timeout(const lp2p_ms *ms);
/** Fail with LP2P_ERR_TIMEOUT if `now` is at or past the deadline while
 * negotiating. Idempotent. Returns 0. */
LP2P_API int lp2p_ms_handle_timeout(lp2p_ms *ms, lp2p_tstamp now);

/** Pop the next event into `ev`. Returns 1, or 0 when none is pending. */
LP2P_API int lp2p_ms_poll_event(lp2p_ms *ms, lp2p_ms_event *ev);

/** LP2P_STATE_* flags: WANT_READ while negotiating, HAS_OUTPUT when
 * out_peek has bytes, CLOSING when the negotiation is over but output is
 * left, CLOSED when it is over and drained (success or failure: see
 * lp2p_ms_last_error). */
LP2P_API unsigned lp2p_ms_state(const lp2p_ms *ms);
/** Sticky error: 0 while fine or after success, else the failure reason. */
LP2P_API int lp2p_ms_last_error(const lp2p_ms *ms);

/** 1 when the caller may send next-protocol bytes once out_peek is empty:
 * after NEGOTIATED, or right after a lazy proposal. */
LP2P_API int lp2p_ms_can_send(const lp2p_ms *ms);
/** The agreed protocol id (NUL-terminated, engine-owned) and its index, or
 * NULL before success. `len` and `index` may be NULL. */
LP2P_API const char *lp2p_ms_protocol(const lp2p_ms *ms, size_t *len,
                                      size_t *index);

#ifdef __cplusplus
}
#endif
#endif
