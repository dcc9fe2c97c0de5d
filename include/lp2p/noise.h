/** noise-libp2p (`/noise`): the Noise_XX_25519_ChaChaPoly_SHA256 secure
 * channel as a sans-IO engine (libp2p noise spec, r5).
 *
 * Wire format: every message is a 2-byte big-endian length and that many
 * bytes (at most 65535). Handshake (XX): `-> e`, `<- e, ee, s, es`,
 * `-> s, se`, empty prologue. Messages 2 and 3 carry a
 * NoiseHandshakePayload {identity_key 1, identity_sig 2, extensions 4
 * {webtransport_certhashes 1, stream_muxers 2}}; the signature covers
 * "noise-libp2p-static-key:" || the sender's static X25519 public key and is
 * checked with the sender's identity key (any of the four key types). The
 * static and ephemeral X25519 keys are fresh per session, drawn from the
 * injected RNG.
 *
 * Early muxer negotiation (connections/inlined-muxer-negotiation.md): both
 * sides send their `muxers` list; the agreed muxer is the first entry of the
 * initiator's list that the responder also lists. When either list is
 * empty or they share nothing the event reports no muxer (NULL) and the
 * caller falls back to multistream-select, as go-libp2p does, instead of
 * failing the handshake.
 *
 * Transport: lp2p_noise_write() encrypts application bytes into frames of at
 * most 65519 plaintext bytes, straight into the output buffer (one pass, no
 * extra copy); received frames are decrypted in place in the receive buffer
 * and handed out with lp2p_noise_read_peek()/lp2p_noise_read_consume(), one
 * frame's plaintext at a time. There is no rekey; a CipherState reaching
 * nonce 2^64-1 ends the session with LP2P_ERR_LIMIT.
 *
 * Memory: the engine is a few hundred bytes when idle. Handshake state is a
 * separate allocation freed once the HANDSHAKE_DONE event is polled (or on
 * failure); the receive and send buffers grow on demand up to their limits
 * and are released when they become empty (small ones at once, large ones
 * after buffer_idle_ns, through next_timeout/handle_timeout).
 *
 * Errors from the peer never make a call fail: they end the session with a
 * sticky lp2p_noise_last_error() and a CLOSED event. Reasons:
 * LP2P_ERR_PROTO (malformed message or payload, frame too short),
 * LP2P_ERR_CRYPTO (bad DH or authentication failure), LP2P_ERR_SIGNATURE
 * (identity signature invalid), LP2P_ERR_PEER_ID_MISMATCH,
 * LP2P_ERR_TIMEOUT (handshake deadline), LP2P_ERR_LIMIT (nonce exhausted),
 * LP2P_ERR_EOF (peer closed during the handshake), LP2P_ERR_TRUNCATED (peer
 * closed inside a frame), LP2P_ERR_NOMEM. */
#ifndef LP2P_NOISE_H
#define LP2P_NOISE_H

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/peerid.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The protocol id negotiated with multistream-select. */
#define LP2P_NOISE_PROTOCOL_ID "/noise"
/** Largest Noise message (the 2-byte length prefix not included). */
#define LP2P_NOISE_MSG_BYTES_MAX 65535u
/** Largest plaintext in one transport frame (65535 - 16-byte tag). */
#define LP2P_NOISE_PLAINTEXT_BYTES_MAX 65519u
/** Bytes a transport frame adds to its plaintext (length + tag). */
#define LP2P_NOISE_FRAME_OVERHEAD 18u

typedef struct lp2p_noise lp2p_noise;

/** A Noise static key made once and shared by many sessions: the X25519
 * key pair and the identity's signature over "noise-libp2p-static-key:" ||
 * public key. The libp2p noise spec ("Static Key Authentication") lets a
 * peer keep one static key for all its sessions (rust-libp2p does; go
 * makes one per session): forward secrecy comes from the ephemeral keys
 * either way, and a session then skips one key generation and one
 * signature. Treat it as secret (it holds the private key). */
typedef struct lp2p_noise_static {
  uint8_t priv[32];
  uint8_t pub[32];
  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len;
} lp2p_noise_static;

/** Make a static key for `identity` with key bytes from `rng`. Returns 0
 * or LP2P_ERR_INVAL (NULL argument), LP2P_ERR_CRYPTO (signing failed). */
LP2P_API int lp2p_noise_static_make(lp2p_noise_static *out,
                                    const lp2p_privkey *identity,
                                    const lp2p_rng *rng);

/** Engine configuration. Get one from lp2p_noise_config_default() and set
 * `identity`. lp2p_noise_new() copies what it needs (it signs the static
 * key and encodes the payload at once): nothing the config points to has to
 * outlive that call. */
typedef struct lp2p_noise_config {
  /** Our libp2p identity key (required). */
  const lp2p_privkey *identity;
  /** Initiator only, optional: the peer we meant to reach. A different
   * remote identity fails the handshake with LP2P_ERR_PEER_ID_MISMATCH. */
  const lp2p_peerid *expected_peer;
  /** Stream muxer protocol ids in preference order (NUL-terminated,
   * non-empty), sent as the stream_muxers extension; NULL/0 = none. */
  const char *const *muxers;
  size_t muxers_len;
  /** Optional, borrowed for the call: a static key made by
   * lp2p_noise_static_make() for this `identity` (another identity's
   * signature would fail the peer's check). NULL = a fresh static key per
   * session. */
  const lp2p_noise_static *static_key;
  /** Handshake deadline counted from lp2p_noise_new(); 0 = none
   * (default 10 s). */
  uint64_t handshake_timeout_ns;
  /** Receive buffer bound: ciphertext not yet consumed as plaintext
   * (default 262148 = 4 frames; at least 65537, one full frame). */
  size_t recv_buffer_bytes_max;
  /** Send buffer bound: framed ciphertext not yet taken with
   * out_consume (default 262148; at least 65537). */
  size_t out_buffer_bytes_max;
  /** How long a large (over 8 KiB) buffer that became empty is kept for
   * reuse before it is freed from lp2p_noise_handle_timeout() (default
   * 1 s; 0 = free at once). Keeps bulk transfers free of allocation
   * churn while idle sessions shrink to the bare struct. */
  uint64_t buffer_idle_ns;
} lp2p_noise_config;

typedef enum lp2p_noise_event_type {
  LP2P_NOISE_EV_NONE = 0,
  /** The handshake succeeded: `peer`, `key` and `muxer` are set. The
   * transport API (write, read_peek) is usable from now on. */
  LP2P_NOISE_EV_HANDSHAKE_DONE = 1,
  /** The peer closed its sending side cleanly (between frames, after the
   * handshake). Plaintext still buffered stays readable. */
  LP2P_NOISE_EV_EOF = 2,
  /** The session is over: `err` is 0 after a clean close (both sides
   * closed, output drained, input consumed) or the failure reason. */
  LP2P_NOISE_EV_CLOSED = 3
} lp2p_noise_event_type;

typedef struct lp2p_noise_event {
  lp2p_noise_event_type type;
  int err;
  /** HANDSHAKE_DONE: the remote identity. */
  lp2p_peerid peer;
  lp2p_pubkey key;
  /** HANDSHAKE_DONE: the agreed stream muxer (NUL-terminated, owned by
   * the engine, valid until lp2p_noise_free), or NULL when none. */
  const char *muxer;
} lp2p_noise_event;

/** Fill `cfg` with the defaults (no identity, no muxers, 10 s timeout). */
LP2P_API void lp2p_noise_config_default(lp2p_noise_config *cfg);

/** Create an engine: `initiator` nonzero for the dialer. Draws the static
 * and ephemeral keys from `rng` (required), signs the static key with
 * cfg->identity, and (initiator) queues the first message at once.
 * `mem` NULL = libc. Returns 0 or one of: LP2P_ERR_INVAL (NULL argument,
 * missing identity, bad muxer id, buffer bound below 65537, payload over
 * one message), LP2P_ERR_CRYPTO (signing failed), LP2P_ERR_NOMEM. */
LP2P_API int lp2p_noise_new(lp2p_noise **out, int initiator,
                            const lp2p_noise_config *cfg, const lp2p_mem *mem,
                            const lp2p_rng *rng, lp2p_tstamp now);
/** Free the engine and all it owns (wiping keys). NULL-safe. */
LP2P_API void lp2p_noise_free(lp2p_noise *n);

/** Feed bytes from the wire. Takes up to lp2p_noise_recv_room() bytes and
 * processes every complete message. Returns the number of bytes taken
 * (possibly fewer than `len`: call again after reading plaintext), or one
 * of: LP2P_ERR_INVAL (NULL pointer), LP2P_ERR_STATE (after feed_eof),
 * LP2P_ERR_NOMEM, or the sticky error once the session is closed. */
LP2P_API lp2p_ssize lp2p_noise_feed(lp2p_noise *n, lp2p_tstamp now,
                                    const uint8_t *p, size_t len);
/** Zero-copy receive: a buffer of `*cap` bytes (at most recv_room: the
 * spare capacity, or the rest of the frame in progress, at least 16 KiB)
 * inside the engine to read wire bytes into directly, then hand them over with
 * lp2p_noise_recv_commit(). Valid until the next call on the engine.
 * Returns NULL with *cap 0 when there is no room, or when the buffer
 * cannot be allocated (the session then fails with LP2P_ERR_NOMEM). */
LP2P_API uint8_t *lp2p_noise_recv_buf(lp2p_noise *n, size_t *cap);
/** Take the first `len` bytes written into the lp2p_noise_recv_buf() area
 * as received (len 0 is fine). Same effect as lp2p_noise_feed() on them.
 * Returns 0 or one of: LP2P_ERR_INVAL (NULL, or len beyond the area),
 * LP2P_ERR_STATE (after feed_eof), LP2P_ERR_NOMEM, or the sticky error
 * once closed. */
LP2P_API int lp2p_noise_recv_commit(lp2p_noise *n, lp2p_tstamp now,
                                    size_t len);
/** The peer closed its sending side. Inside the handshake this fails the
 * session (LP2P_ERR_EOF; LP2P_ERR_TRUNCATED inside a message); after it an
 * EOF event follows. Returns 0, or the sticky error once closed. */
LP2P_API int lp2p_noise_feed_eof(lp2p_noise *n, lp2p_tstamp now);
/** How many bytes lp2p_noise_feed() takes now (0 = stop reading until the
 * plaintext is consumed). */
LP2P_API size_t lp2p_noise_recv_room(const lp2p_noise *n);

/** Zero-copy view of pending ciphertext to send; NULL and *len 0 when
 * empty. Valid until the next mutating call. */
LP2P_API const uint8_t *lp2p_noise_out_peek(const lp2p_noise *n, size_t *len);
/** Mark `len` bytes of output as sent (partial is fine; clamped). */
LP2P_API void lp2p_noise_out_consume(lp2p_noise *n, size_t len);

/** The earliest of the handshake deadline and the release time of an idle
 * large buffer, or LP2P_TSTAMP_NONE. Pure. */
LP2P_API lp2p_tstamp lp2p_noise_next_timeout(const lp2p_noise *n);
/** Fail with LP2P_ERR_TIMEOUT if the handshake is still running at or past
 * its deadline; free large buffers idle for buffer_idle_ns. Idempotent.
 * Returns 0. */
LP2P_API int lp2p_noise_handle_timeout(lp2p_noise *n, lp2p_tstamp now);

/** Pop the next event (HANDSHAKE_DONE, EOF, CLOSED in that order). Polling
 * HANDSHAKE_DONE releases the handshake state. Returns 1, or 0 if none. */
LP2P_API int lp2p_noise_poll_event(lp2p_noise *n, lp2p_noise_event *ev);

/** LP2P_STATE_* flags: WANT_READ while input is accepted and room is left,
 * HAS_OUTPUT when out_peek has bytes, CLOSING after lp2p_noise_close()
 * while output is left, CLOSED when the session is over. */
LP2P_API unsigned lp2p_noise_state(const lp2p_noise *n);
/** Sticky error: 0 while fine (and after a clean close), else the reason. */
LP2P_API int lp2p_noise_last_error(const lp2p_noise *n);

/** 1 once the handshake has completed (before or after the event). */
LP2P_API int lp2p_noise_handshake_done(const lp2p_noise *n);
/** The remote peer id after the handshake, else NULL. Engine-owned. */
LP2P_API const lp2p_peerid *lp2p_noise_remote_peer(const lp2p_noise *n);

/** Encrypt up to `len` application bytes into the output (split into
 * frames of at most 65519 bytes). Accepts as much as fits in
 * out_buffer_bytes_max. Returns the bytes accepted (0 when the output is
 * full: drain it first), or one of: LP2P_ERR_INVAL (NULL with len > 0),
 * LP2P_ERR_STATE (handshake not finished), LP2P_ERR_CLOSED (after
 * lp2p_noise_close), LP2P_ERR_NOMEM, LP2P_ERR_LIMIT (send nonce exhausted:
 * session closed), or the sticky error once closed. */
LP2P_API lp2p_ssize lp2p_noise_write(lp2p_noise *n, lp2p_tstamp now,
                                     const uint8_t *p, size_t len);
/** Plaintext bytes lp2p_noise_write() would accept now. */
LP2P_API size_t lp2p_noise_write_room(const lp2p_noise *n);

/** Zero-copy view of decrypted plaintext (one frame's remainder); NULL and
 * *len 0 when none. Valid until the next mutating call. */
LP2P_API const uint8_t *lp2p_noise_read_peek(const lp2p_noise *n,
                                             size_t *len);
/** Mark `len` plaintext bytes as read (clamped to what read_peek shows). */
LP2P_API void lp2p_noise_read_consume(lp2p_noise *n, size_t len);
/** 1 when the peer sent EOF and every plaintext byte has been consumed. */
LP2P_API int lp2p_noise_read_eof(const lp2p_noise *n);

/** Close our sending side (Noise has no close message: the caller shuts
 * down the transport's write side once the output is drained). Further
 * writes fail with LP2P_ERR_CLOSED. The session ends (CLOSED, err 0) when
 * the peer's EOF has also arrived and all data has moved. During the
 * handshake it abandons the session (CLOSED, err LP2P_ERR_CLOSED).
 * Returns 0, or the sticky error once closed. */
LP2P_API int lp2p_noise_close(lp2p_noise *n, lp2p_tstamp now);

#ifdef __cplusplus
}
#endif
#endif
