/* Private: the noise-libp2p engine's state, shared by noise.c (buffers,
 * framing, transport phase, contract), noise_handshake.c (the libp2p
 * handshake on top of noise_hs) and noise_payload.c (the
 * NoiseHandshakePayload codec). */
#ifndef LP2P_NOISE_INT_H
#define LP2P_NOISE_INT_H

#include "lp2p/noise.h"
#include "proto/noise/noise_hs.h"

#define NOISE_FRAME_MAX (2u + LP2P_NOISE_MSG_BYTES_MAX)
#define NOISE_SIG_PREFIX "noise-libp2p-static-key:"
#define NOISE_SIG_PREFIX_LEN (sizeof NOISE_SIG_PREFIX - 1)

enum { PHASE_HANDSHAKE = 0, PHASE_TRANSPORT = 1, PHASE_CLOSED = 2 };

/* Everything that only lives during the handshake, in one allocation freed
 * when HANDSHAKE_DONE is polled (secrets are wiped at completion). Our own
 * payload is encoded at creation (so the identity key is not needed later)
 * and sits in the flexible array. */
typedef struct noise_hs_ctx {
  noise_hs hs;
  lp2p_pubkey remote_key;
  lp2p_peerid expected;
  uint8_t has_expected;
  size_t payload_len;
  /* Our stream_muxers extension, as a slice of payload[] (0/0 if none). */
  size_t ext_off, ext_len;
  uint8_t payload[];
} noise_hs_ctx;

struct lp2p_noise {
  const lp2p_mem *mem;
  noise_hs_ctx *hsx;
  noise_cipher tx, rx;
  lp2p_peerid remote;
  char *muxer; /* agreed muxer, NUL-terminated, or NULL */
  lp2p_tstamp deadline;
  lp2p_tstamp now_last; /* latest `now` seen, stamps buffers going idle */
  lp2p_tstamp rb_idle_at, tb_idle_at; /* NONE unless held empty */
  uint64_t buf_idle_ns;
  size_t rb_max, tb_max;
  /* Receive buffer: [head, dec) decrypted frames (header and tag kept in
   * place, rd = read offset in the head frame's plaintext), [dec, end) raw
   * bytes of later frames. */
  uint8_t *rb;
  size_t rb_cap, rb_head, rb_dec, rb_end, rb_rd;
  /* Send buffer: [off, len) framed bytes waiting for out_consume. */
  uint8_t *tb;
  size_t tb_cap, tb_off, tb_len;
  int err;
  uint8_t initiator, phase, wr_closed, rx_eof, hs_done;
  /* Pending events in order; at most one of each kind. */
  uint8_t ev[3];
  uint8_t ev_n;
};

/* noise.c */
void noise_fail(lp2p_noise *n, int err);
void noise_push_event(lp2p_noise *n, uint8_t type);
/* Reserve `need` bytes at the end of the send buffer; returns a pointer
 * to them or NULL (LP2P_ERR_NOMEM or LP2P_ERR_LIMIT in *err). */
uint8_t *noise_tx_reserve(lp2p_noise *n, size_t need, int *err);

/* noise_handshake.c */
int noise_hs_start(lp2p_noise *n, const lp2p_noise_config *cfg,
                   const lp2p_rng *rng);
/* Handle one complete handshake message (in place). Returns 0 or the
 * error that ends the session. */
int noise_hs_on_message(lp2p_noise *n, uint8_t *msg, size_t len);

/* noise_payload.c */
/* Bytes of our payload for this identity public key and muxer list, or 0
 * when a muxer id is invalid. Signature space is reserved at its maximum. */
size_t noise_payload_size_max(const lp2p_pubkey *id, const char *const *mux,
                              size_t mux_len);
/* Encode NoiseHandshakePayload into out[0..cap); returns 0 or an error.
 * `*ext_off`/`*ext_len` locate the NoiseExtensions body inside it. */
int noise_payload_encode(uint8_t *out, size_t cap, size_t *len,
                         const lp2p_pubkey *id, const uint8_t *sig,
                         size_t sig_len, const char *const *mux,
                         size_t mux_len, size_t *ext_off, size_t *ext_len);
typedef struct noise_payload {
  const uint8_t *key;
  size_t key_len;
  const uint8_t *sig;
  size_t sig_len;
  const uint8_t *ext; /* NoiseExtensions body, NULL if absent */
  size_t ext_len;
} noise_payload;
/* Parse a received payload (pointers into p). 0 or LP2P_ERR_PROTO. */
int noise_payload_decode(noise_payload *out, const uint8_t *p, size_t n);
/* The agreed muxer: the first entry of `init_ext`'s stream_muxers that
 * also appears in `resp_ext`'s. Sets *name and *name_len (pointing into
 * init_ext) and returns 1, or returns 0 when there is none. Both
 * arguments are NoiseExtensions bodies (may be NULL/0). */
int noise_muxer_agree(const uint8_t *init_ext, size_t init_len,
                      const uint8_t *resp_ext, size_t resp_len,
                      const uint8_t **name, size_t *name_len);

/* Test hook (not LP2P_API): set the transport nonces. */
void noise_test_set_nonces(lp2p_noise *n, uint64_t tx, uint64_t rx);

#endif
