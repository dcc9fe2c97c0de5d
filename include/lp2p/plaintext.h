/** `/plaintext/2.0.0`: the insecure "secure channel" for tests and
 * interop (libp2p plaintext spec, r0) as a sans-IO engine. NOT for
 * production: nothing is encrypted or authenticated.
 *
 * Both sides send at once one Exchange {id 1: peer id multihash, pubkey 2:
 * PublicKey} prefixed with its length as an unsigned varint, and check the
 * peer's: the id must be the peer id of the key, and (initiator, when
 * configured) the expected peer. After that, bytes pass through unchanged:
 * lp2p_plaintext_write() queues them as they are, received bytes come out
 * of lp2p_plaintext_read_peek()/lp2p_plaintext_read_consume(). The API
 * mirrors lp2p_noise_* so the upgrader can treat both alike.
 *
 * Errors from the peer never make a call fail: they end the session with a
 * sticky lp2p_plaintext_last_error() and a CLOSED event. Reasons:
 * LP2P_ERR_PROTO (malformed length or Exchange, bad key),
 * LP2P_ERR_LIMIT (Exchange over exchange_bytes_max),
 * LP2P_ERR_PEER_ID_MISMATCH (id does not match the key, or is not the
 * expected peer), LP2P_ERR_TIMEOUT, LP2P_ERR_EOF (peer closed during the
 * exchange), LP2P_ERR_TRUNCATED (closed inside it), LP2P_ERR_NOMEM. */
#ifndef LP2P_PLAINTEXT_H
#define LP2P_PLAINTEXT_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The protocol id negotiated with multistream-select. */
#define LP2P_PLAINTEXT_PROTOCOL_ID "/plaintext/2.0.0"

typedef struct lp2p_plaintext lp2p_plaintext;

/** Engine configuration. Get one from lp2p_plaintext_config_default() and
 * set `identity`. Nothing it points to has to outlive lp2p_plaintext_new. */
typedef struct lp2p_plaintext_config {
  /** Our identity (required; only its public key is sent). */
  const lp2p_privkey *identity;
  /** Initiator only, optional: the peer we meant to reach. */
  const lp2p_peerid *expected_peer;
  /** Exchange deadline from lp2p_plaintext_new(); 0 = none (default 10 s). */
  uint64_t handshake_timeout_ns;
  /** Largest Exchange message accepted (default 4096). */
  size_t exchange_bytes_max;
  /** Received bytes buffered until read (default 65536; at least
   * exchange_bytes_max + 9). */
  size_t recv_buffer_bytes_max;
  /** Bytes queued for sending (default 65536; at least 1024). */
  size_t out_buffer_bytes_max;
} lp2p_plaintext_config;

typedef enum lp2p_plaintext_event_type {
  LP2P_PLAINTEXT_EV_NONE = 0,
  /** The exchange succeeded: `peer` and `key` are set. */
  LP2P_PLAINTEXT_EV_HANDSHAKE_DONE = 1,
  /** The peer closed its sending side after the exchange. */
  LP2P_PLAINTEXT_EV_EOF = 2,
  /** The session is over: `err` 0 after a clean close, else the reason. */
  LP2P_PLAINTEXT_EV_CLOSED = 3
} lp2p_plaintext_event_type;

typedef struct lp2p_plaintext_event {
  lp2p_plaintext_event_type type;
  int err;
  lp2p_peerid peer;
  lp2p_pubkey key;
} lp2p_plaintext_event;

/** Fill `cfg` with the defaults (no identity). */
LP2P_API void lp2p_plaintext_config_default(lp2p_plaintext_config *cfg);

/** Create an engine (`initiator` nonzero for the dialer) and queue our
 * Exchange. `mem` NULL = libc; `rng` is accepted for the common engine
 * signature and not used (may be NULL). Returns 0 or one of:
 * LP2P_ERR_INVAL (NULL out/cfg, missing identity, bad bounds),
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_plaintext_new(lp2p_plaintext **out, int initiator,
                                const lp2p_plaintext_config *cfg,
                                const lp2p_mem *mem, const lp2p_rng *rng,
                                lp2p_tstamp now);
/** Free the engine and everything it owns. NULL-safe. */
LP2P_API void lp2p_plaintext_free(lp2p_plaintext *t);

/** Feed wire bytes; takes up to recv_room(). Returns bytes taken or one
 * of: LP2P_ERR_INVAL, LP2P_ERR_STATE (after feed_eof), LP2P_ERR_NOMEM, or
 * the sticky error once closed. */
LP2P_API lp2p_ssize lp2p_plaintext_feed(lp2p_plaintext *t, lp2p_tstamp now,
                                        const uint8_t *p, size_t len);
/** The peer closed its sending side. Returns 0, or the sticky error once
 * closed. */
LP2P_API int lp2p_plaintext_feed_eof(lp2p_plaintext *t, lp2p_tstamp now);
/** How many bytes feed takes now (0 = read plaintext first). */
LP2P_API size_t lp2p_plaintext_recv_room(const lp2p_plaintext *t);

/** Zero-copy view of pending output; NULL/0 when empty. Valid until the
 * next mutating call. */
LP2P_API const uint8_t *lp2p_plaintext_out_peek(const lp2p_plaintext *t,
                                                size_t *len);
/** Mark `len` output bytes sent (partial is fine; clamped). */
LP2P_API void lp2p_plaintext_out_consume(lp2p_plaintext *t, size_t len);

/** The exchange deadline, or LP2P_TSTAMP_NONE. Pure. */
LP2P_API lp2p_tstamp lp2p_plaintext_next_timeout(const lp2p_plaintext *t);
/** Fail with LP2P_ERR_TIMEOUT at or past the deadline while exchanging.
 * Idempotent. Returns 0. */
LP2P_API int lp2p_plaintext_handle_timeout(lp2p_plaintext *t, lp2p_tstamp now);

/** Pop the next event. Returns 1, or 0 if none. */
LP2P_API int lp2p_plaintext_poll_event(lp2p_plaintext *t,
                                       lp2p_plaintext_event *ev);
/** LP2P_STATE_* flags, as lp2p_noise_state(). */
LP2P_API unsigned lp2p_plaintext_state(const lp2p_plaintext *t);
/** Sticky error: 0 while fine (and after a clean close), else the reason. */
LP2P_API int lp2p_plaintext_last_error(const lp2p_plaintext *t);
/** 1 once the exchange has completed. */
LP2P_API int lp2p_plaintext_handshake_done(const lp2p_plaintext *t);
/** The remote peer id after the exchange, else NULL. Engine-owned. */
LP2P_API const lp2p_peerid *lp2p_plaintext_remote_peer(
    const lp2p_plaintext *t);

/** Queue application bytes (after the exchange). Returns bytes accepted
 * (bounded by out_buffer_bytes_max; 0 when full), or one of:
 * LP2P_ERR_INVAL, LP2P_ERR_STATE (exchange not finished), LP2P_ERR_CLOSED
 * (after close), LP2P_ERR_NOMEM, or the sticky error once closed. */
LP2P_API lp2p_ssize lp2p_plaintext_write(lp2p_plaintext *t, lp2p_tstamp now,
                                         const uint8_t *p, size_t len);
/** Bytes lp2p_plaintext_write() would accept now. */
LP2P_API size_t lp2p_plaintext_write_room(const lp2p_plaintext *t);
/** Zero-copy view of received application bytes; NULL/0 when none. */
LP2P_API const uint8_t *lp2p_plaintext_read_peek(const lp2p_plaintext *t,
                                                 size_t *len);
/** Mark `len` received bytes as read (clamped). */
LP2P_API void lp2p_plaintext_read_consume(lp2p_plaintext *t, size_t len);
/** 1 when the peer sent EOF and every received byte has been read. */
LP2P_API int lp2p_plaintext_read_eof(const lp2p_plaintext *t);
/** Close our sending side; as lp2p_noise_close(). Returns 0, or the
 * sticky error once closed. */
LP2P_API int lp2p_plaintext_close(lp2p_plaintext *t, lp2p_tstamp now);

#ifdef __cplusplus
}
#endif
#endif
