/** The connection upgrader: raw byte pipe -> secure, multiplexed libp2p
 * connection, as one sans-IO engine (libp2p connections spec, "Upgrading
 * Connections").
 *
 * Pipeline: multistream-select proposes the security protocol (`/noise`,
 * `/plaintext/2.0.0`, or both in the configured preference) -> the security
 * handshake -> multistream-select for `/yamux/1.0.0` over the secure
 * channel, SKIPPED when the muxer was agreed inside the Noise handshake
 * (connections/inlined-muxer-negotiation.md: the NoiseExtensions
 * stream_muxers list) -> yamux. Every component is the library's own
 * engine (lp2p_ms, lp2p_noise, lp2p_plaintext, lp2p_yamux); the upgrader
 * only moves bytes between them and sequences them.
 *
 * Raw side: the usual engine contract (feed / feed_eof / recv_room /
 * out_peek / out_consume / next_timeout / handle_timeout / poll_event /
 * state / last_error). Bytes of one layer never leak into the next: each
 * multistream engine stops consuming right after its last message, and
 * what follows goes to the next layer in the same call.
 *
 * Events: PEER_IDENTIFIED (security done: remote peer id and public key),
 * READY (yamux up: streams may be opened), then yamux events passed through
 * unchanged (LP2P_UPGRADER_EV_YAMUX). CLOSED is always the last event.
 *
 * Streams: after READY, use the yamux session (lp2p_upgrader_yamux()) for
 * stream calls and then lp2p_upgrader_flush() to move the resulting bytes
 * through the security layer. Per-stream protocol negotiation is the
 * application's: run an lp2p_ms engine over the stream's bytes, as the
 * host does (proto/host).
 *
 * Drain order after every mutating call (DESIGN.md section 2): out_peek /
 * out_consume until empty, then poll_event until 0, then next_timeout.
 * Events are queued eagerly (bounded by events_max; beyond it yamux keeps
 * them until the queue has room). Peer misbehaviour never makes a call
 * fail: it ends the connection with a sticky last_error and CLOSED.
 */
#ifndef LP2P_UPGRADER_H
#define LP2P_UPGRADER_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/ms.h"
#include "lp2p/noise.h"
#include "lp2p/peerid.h"
#include "lp2p/plaintext.h"
#include "lp2p/yamux.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp2p_upgrader lp2p_upgrader;

/** Which secure channel(s) to offer (dialer) or accept (listener), in
 * preference order. Same values as lp2p_host_security. */
typedef enum lp2p_upgrader_security {
  LP2P_UPGRADER_SECURITY_NOISE = 0,          /**< /noise only */
  LP2P_UPGRADER_SECURITY_PLAINTEXT = 1,      /**< /plaintext/2.0.0 only */
  LP2P_UPGRADER_SECURITY_NOISE_PLAINTEXT = 2 /**< both, Noise preferred */
} lp2p_upgrader_security;

/** Upgrader configuration. Get one from lp2p_upgrader_config_default(),
 * set `identity`, adjust. lp2p_upgrader_new() copies everything except
 * `identity`, which is borrowed (the host's key lives as long as the host)
 * and must outlive the upgrader. */
typedef struct lp2p_upgrader_config {
  /** Our identity key (required; borrowed). */
  const lp2p_privkey *identity;
  /** Dialer only, optional: the peer we mean to reach (copied). Another
   * identity ends the upgrade with LP2P_ERR_PEER_ID_MISMATCH. */
  const lp2p_peerid *expected_peer;
  lp2p_upgrader_security security;
  /** Offer `/yamux/1.0.0` inside the Noise handshake (default 1). When
   * the peer does not, the muxer is negotiated with multistream-select. */
  int early_muxer;
  /** Dialer: optimistic multistream-select (send the next layer's first
   * bytes without waiting for the echo) whenever one protocol is proposed
   * (default 0: wait, as go-libp2p and js-libp2p do for upgrades). A
   * lazy dialer reports READY before the listener confirmed the muxer; a
   * refusal then ends the connection with LP2P_ERR_UNSUPPORTED. The
   * upgrade deadline runs until the confirmation. */
  int lazy;
  /** Raw connection -> READY deadline from lp2p_upgrader_new(); 0 = none
   * (default 10 s). Expiry: LP2P_ERR_TIMEOUT. */
  uint64_t upgrade_timeout_ns;
  /** Queued events (default 1024). */
  size_t events_max;
  /** Limits of the security and muxer multistream engines (timeout and
   * protocols fields are ignored: the upgrader sets them). */
  lp2p_ms_config ms;
  /** Noise limits (identity, expected_peer, muxers and the handshake
   * timeout are ignored: the upgrader sets them). `static_key`, when set,
   * is borrowed like `identity` and must stay valid as long as the
   * upgrader. */
  lp2p_noise_config noise;
  /** Plaintext limits (identity, expected_peer and the timeout are
   * ignored). */
  lp2p_plaintext_config plaintext;
  /** yamux session limits and timers (copied). */
  lp2p_yamux_config yamux;
} lp2p_upgrader_config;

typedef enum lp2p_upgrader_event_type {
  LP2P_UPGRADER_EV_NONE = 0,
  /** The security handshake is done: `peer`, `key` and `protocol` (the
   * security protocol id) are set. */
  LP2P_UPGRADER_EV_PEER_IDENTIFIED = 1,
  /** yamux is up (`protocol` = muxer id, `early_muxer` = 1 when agreed
   * inside the Noise handshake): streams may be opened now. */
  LP2P_UPGRADER_EV_READY = 2,
  /** The connection is over: `err` 0 after lp2p_upgrader_close() finished
   * cleanly, else the reason (LP2P_ERR_UNSUPPORTED, _PROTO, _LIMIT,
   * _TIMEOUT, _PEER_ID_MISMATCH, _CRYPTO, _SIGNATURE, _EOF, _TRUNCATED,
   * _GOAWAY, _CLOSED, _NOMEM ...). Always the last event. */
  LP2P_UPGRADER_EV_CLOSED = 3,
  /* 4 and 5 were per-stream negotiation events (removed). */
  /** A yamux event, unchanged, in `yamux`. */
  LP2P_UPGRADER_EV_YAMUX = 6
} lp2p_upgrader_event_type;

typedef struct lp2p_upgrader_event {
  lp2p_upgrader_event_type type;
  int err;
  /** PEER_IDENTIFIED: engine-owned; `peer` is valid until
   * lp2p_upgrader_free(), `key` until READY is polled (the upgrader then
   * frees what only the upgrade needed: copy the key if you keep it). */
  const lp2p_peerid *peer;
  const lp2p_pubkey *key;
  /** PEER_IDENTIFIED, READY: NUL-terminated. */
  const char *protocol;
  size_t protocol_len;
  int early_muxer;
  uint32_t stream_id;
  lp2p_yamux_event yamux;
} lp2p_upgrader_event;

/** Fill `cfg` with the defaults (no identity). */
LP2P_API void lp2p_upgrader_config_default(lp2p_upgrader_config *cfg);

/** Create an upgrader. `is_dialer` nonzero for the side that opened the
 * connection (multistream dialer, Noise initiator, yamux client). `mem`
 * (NULL = libc) and `rng` (required) must outlive it. The dialer's first
 * bytes are queued at once. Returns 0 or one of: LP2P_ERR_INVAL (NULL
 * out/rng/identity, bad security value, bad sub-config),
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_upgrader_new(lp2p_upgrader **out, int is_dialer,
                               const lp2p_upgrader_config *cfg,
                               const lp2p_mem *mem, const lp2p_rng *rng,
                               lp2p_tstamp now);
/** Free everything (engines, queued events). NULL-safe. */
LP2P_API void lp2p_upgrader_free(lp2p_upgrader *u);

/** Feed raw bytes from the connection. Returns the bytes taken (fewer than
 * `n` when a layer's buffer is full: keep the rest, feed it again when
 * recv_room() > 0), or one of: LP2P_ERR_INVAL, LP2P_ERR_NOMEM (fatal).
 * After CLOSED all input is swallowed. */
LP2P_API lp2p_ssize lp2p_upgrader_feed(lp2p_upgrader *u, lp2p_tstamp now,
                                       const uint8_t *p, size_t n);
/** The connection's read side ended. Before READY this fails the upgrade
 * (LP2P_ERR_EOF or LP2P_ERR_TRUNCATED); after it yamux learns the EOF.
 * Returns 0 or LP2P_ERR_INVAL. */
LP2P_API int lp2p_upgrader_feed_eof(lp2p_upgrader *u, lp2p_tstamp now);
/** Bytes feed would take now (0 = stop reading). */
LP2P_API size_t lp2p_upgrader_recv_room(const lp2p_upgrader *u);

/** Raw bytes to send, zero-copy; NULL and *len 0 when none. Valid until
 * the next mutating call. */
LP2P_API const uint8_t *lp2p_upgrader_out_peek(const lp2p_upgrader *u,
                                               size_t *len);
/** Mark `n` raw bytes as sent (partial is fine; clamped). The freed room
 * is refilled from the layers above at once, using the time of the last
 * call that carried one. */
LP2P_API void lp2p_upgrader_out_consume(lp2p_upgrader *u, size_t n);

/** Earliest deadline of the upgrade and the engines, or
 * LP2P_TSTAMP_NONE. Pure. */
LP2P_API lp2p_tstamp lp2p_upgrader_next_timeout(const lp2p_upgrader *u);
/** Run what is due. Idempotent. Returns 0 or LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_upgrader_handle_timeout(lp2p_upgrader *u,
                                          lp2p_tstamp now);

/** Pop the next event. Returns 1, or 0 when none. */
LP2P_API int lp2p_upgrader_poll_event(lp2p_upgrader *u,
                                      lp2p_upgrader_event *ev);

/** LP2P_STATE_* flags: WANT_READ (recv_room > 0), HAS_OUTPUT, CLOSING
 * (the session ended in order and the secure channel is closing, or the
 * connection failed with output left: drain it, then shut down the write
 * side), CLOSED (over and drained: close the socket). */
LP2P_API unsigned lp2p_upgrader_state(const lp2p_upgrader *u);
/** Sticky error: 0 while fine or after a clean close. */
LP2P_API int lp2p_upgrader_last_error(const lp2p_upgrader *u);

/** 1 once READY was reached. */
LP2P_API int lp2p_upgrader_ready(const lp2p_upgrader *u);
/** The remote peer after PEER_IDENTIFIED, else NULL. Engine-owned. */
LP2P_API const lp2p_peerid *lp2p_upgrader_remote_peer(
    const lp2p_upgrader *u);
/** The remote public key from PEER_IDENTIFIED until READY is polled, else
 * NULL. Engine-owned. */
LP2P_API const lp2p_pubkey *lp2p_upgrader_remote_key(const lp2p_upgrader *u);
/** The yamux session after READY, else NULL: open, accept, write, read,
 * close and reset streams on it (and query stats, windows, user pointers).
 * After calling anything that changes it, call lp2p_upgrader_flush(). */
LP2P_API lp2p_yamux *lp2p_upgrader_yamux(lp2p_upgrader *u);
/** Move pending bytes and events between the layers (done by every
 * upgrader call already). Returns 0 or LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_upgrader_flush(lp2p_upgrader *u, lp2p_tstamp now);

/** Graceful close: yamux GoAway(normal), then, once every stream is done,
 * the security layer's close; CLOSED (err 0) when both sides are done.
 * Before READY it abandons the upgrade (CLOSED, LP2P_ERR_CLOSED). Returns 0
 * or LP2P_ERR_NOMEM (fatal). */
LP2P_API int lp2p_upgrader_close(lp2p_upgrader *u, lp2p_tstamp now);

#ifdef __cplusplus
}
#endif
#endif
