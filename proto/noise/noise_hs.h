/* Private: the Noise Protocol Framework objects for
 * Noise_XX_25519_ChaChaPoly_SHA256 (noise.html sections 5.1 CipherState,
 * 5.2 SymmetricState, 5.3 HandshakeState). Not part of the public API: the
 * libp2p engine (noise.c) drives it, and tests drive it directly with fixed
 * keys, prologue and payloads to check the published test vectors.
 *
 * Messages are processed in place: the caller owns the buffers, nothing is
 * allocated. All keys are raw 32-byte X25519 scalars/points. */
#ifndef LP2P_NOISE_HS_H
#define LP2P_NOISE_HS_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN 32
#define NOISE_HASHLEN 32
#define NOISE_TAGLEN 16
/** Noise's reserved nonce value: a CipherState whose n reaches it is
 * exhausted (noise.html 5.1). */
#define NOISE_NONCE_MAX UINT64_MAX

typedef struct noise_cipher {
  uint8_t k[32];
  uint64_t n;
  uint8_t has_key;
} noise_cipher;

typedef struct noise_sym {
  noise_cipher cs;
  uint8_t ck[NOISE_HASHLEN];
  uint8_t h[NOISE_HASHLEN];
} noise_sym;

typedef struct noise_hs {
  noise_sym ss;
  uint8_t s_priv[NOISE_DHLEN], s_pub[NOISE_DHLEN];
  uint8_t e_priv[NOISE_DHLEN], e_pub[NOISE_DHLEN];
  uint8_t rs[NOISE_DHLEN], re[NOISE_DHLEN];
  uint8_t initiator;
  uint8_t step; /* index of the next XX message, 0..3 (3 = done) */
} noise_hs;

/* ---- CipherState ------------------------------------------------------ */

/** EncryptWithAd: out gets n + 16 bytes (may equal pt). Without a key the
 * plaintext is copied as is. Returns 0 or LP2P_ERR_LIMIT (nonce
 * exhausted; nothing written). */
int noise_cipher_encrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                         const uint8_t *pt, size_t n, uint8_t *out);
/** DecryptWithAd: ct has n bytes (n >= 16 with a key); out gets n - 16
 * (may equal ct). Returns 0 or LP2P_ERR_CRYPTO, LP2P_ERR_LIMIT. */
int noise_cipher_decrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                         const uint8_t *ct, size_t n, uint8_t *out);

/* ---- HandshakeState (XX) ---------------------------------------------- */

/** Initialize(XX, initiator, prologue, s, e): both key pairs are given as
 * private scalars (the engine draws them from its injected RNG). */
void noise_hs_init(noise_hs *hs, int initiator, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t s_priv[NOISE_DHLEN],
                   const uint8_t *s_pub, const uint8_t e_priv[NOISE_DHLEN]);

/** 1 if this side writes the next message, 0 if it reads it. */
int noise_hs_my_turn(const noise_hs *hs);
/** Offset of the payload inside the next message (32, 80 or 48). */
size_t noise_hs_payload_offset(const noise_hs *hs);
/** Bytes the next message adds around a payload (offset + tag if any). */
size_t noise_hs_overhead(const noise_hs *hs);

/** WriteMessage in place: the payload's plaintext is already at
 * msg + noise_hs_payload_offset(); msg has room for payload_len +
 * noise_hs_overhead() bytes. `*msg_len` gets the message length. Returns 0
 * or LP2P_ERR_STATE (not our turn), LP2P_ERR_CRYPTO (bad DH). */
int noise_hs_write(noise_hs *hs, uint8_t *msg, size_t payload_len,
                   size_t *msg_len);
/** ReadMessage in place: decrypts msg[0..len) and sets *payload (pointing
 * into msg) and *payload_len. Returns 0 or LP2P_ERR_STATE, LP2P_ERR_PROTO
 * (too short), LP2P_ERR_CRYPTO (bad DH or authentication failure). */
int noise_hs_read(noise_hs *hs, uint8_t *msg, size_t len, uint8_t **payload,
                  size_t *payload_len);
/** 1 after the third message. */
int noise_hs_done(const noise_hs *hs);
/** Split(): the initiator sends with c1, the responder with c2. `send` and
 * `recv` are assigned for this side. Only valid once done. */
void noise_hs_split(noise_hs *hs, noise_cipher *send, noise_cipher *recv);

#endif
