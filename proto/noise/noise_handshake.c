/* The libp2p side of the Noise handshake (libp2p noise spec, "The Noise
 * Handshake"): XX with an empty prologue, our NoiseHandshakePayload in
 * messages 2 (responder) and 3 (initiator), verification of the peer's
 * identity signature over its static key, the PeerId check and the early
 * muxer agreement. The Noise machinery itself is noise_hs.c. */
#include <string.h>

#include "proto/noise/noise_int.h"

static void put_be16(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* The identity's signature over "noise-libp2p-static-key:" || pub. */
static int static_sign(const lp2p_privkey *id, const uint8_t pub[NOISE_DHLEN],
                       uint8_t *sig, size_t *sig_len) {
  uint8_t msg[NOISE_SIG_PREFIX_LEN + NOISE_DHLEN];
  memcpy(msg, NOISE_SIG_PREFIX, NOISE_SIG_PREFIX_LEN);
  memcpy(msg + NOISE_SIG_PREFIX_LEN, pub, NOISE_DHLEN);
  return lp2p_key_sign(id, msg, sizeof msg, sig, sig_len);
}

int lp2p_noise_static_make(lp2p_noise_static *out, const lp2p_privkey *id,
                           const lp2p_rng *rng) {
  if (!out || !id || !rng || !rng->fill) return LP2P_ERR_INVAL;
  memset(out, 0, sizeof *out);
  rng->fill(rng->ctx, out->priv, sizeof out->priv);
  lp2p_x25519_public(out->pub, out->priv);
  size_t sl = sizeof out->sig;
  if (static_sign(id, out->pub, out->sig, &sl) != 0) {
    lp2p_memzero(out, sizeof *out);
    return LP2P_ERR_CRYPTO;
  }
  out->sig_len = sl;
  return 0;
}

int noise_hs_start(lp2p_noise *n, const lp2p_noise_config *cfg,
                   const lp2p_rng *rng) {
  const lp2p_privkey *id = cfg->identity;
  size_t pmax = noise_payload_size_max(&id->pub, cfg->muxers, cfg->muxers_len);
  if (pmax == 0) return LP2P_ERR_INVAL;
  /* The larger of our two possible messages (the responder's) must fit. */
  if (pmax + 2 * NOISE_DHLEN + 2 * NOISE_TAGLEN > LP2P_NOISE_MSG_BYTES_MAX)
    return LP2P_ERR_INVAL;
  noise_hs_ctx *x = lp2p_mem_malloc(n->mem, sizeof *x + pmax);
  if (!x) return LP2P_ERR_NOMEM;
  memset(x, 0, sizeof *x);
  n->hsx = x;

  /* Spec, "Static Key Authentication": a fresh static key per session, or
   * one made once with its signature (lp2p_noise_static_make); the keys
   * come from the injected RNG only. */
  const lp2p_noise_static *st = cfg->static_key;
  uint8_t s[NOISE_DHLEN], e[NOISE_DHLEN];
  if (!st)
    rng->fill(rng->ctx, s, sizeof s);
  rng->fill(rng->ctx, e, sizeof e);
  noise_hs_init(&x->hs, n->initiator, NULL, 0, st ? st->priv : s,
                st ? st->pub : NULL, e);
  lp2p_memzero(s, sizeof s);
  lp2p_memzero(e, sizeof e);

  /* Sign "noise-libp2p-static-key:" || static public key now, so the
   * identity key is not needed (nor kept) after lp2p_noise_new. */
  uint8_t own[LP2P_SIG_MAX];
  const uint8_t *sig = own;
  size_t sig_len = sizeof own;
  if (st) {
    if (st->sig_len == 0 || st->sig_len > sizeof st->sig) return LP2P_ERR_INVAL;
    sig = st->sig;
    sig_len = st->sig_len;
  } else if (static_sign(id, x->hs.s_pub, own, &sig_len) != 0) {
    return LP2P_ERR_CRYPTO;
  }
  int rc = noise_payload_encode(x->payload, pmax, &x->payload_len, &id->pub,
                                sig, sig_len, cfg->muxers, cfg->muxers_len,
                                &x->ext_off, &x->ext_len);
  if (rc) return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_INTERNAL : rc;

  if (cfg->expected_peer) {
    x->expected = *cfg->expected_peer;
    x->has_expected = 1;
  }
  if (!n->initiator) return 0;
  /* -> e (message 1, empty payload: no extensions before secrecy). */
  uint8_t *f = noise_tx_reserve(n, 2 + noise_hs_overhead(&x->hs), &rc);
  if (!f) return rc;
  size_t ml = 0;
  if ((rc = noise_hs_write(&x->hs, f + 2, 0, &ml)) != 0) return rc;
  put_be16(f, ml);
  n->tb_len += 2 + ml;
  return 0;
}

/* Our message (2 or 3): the stored payload goes in place right where the
 * Noise message puts it, then is encrypted there. */
static int write_own(lp2p_noise *n) {
  noise_hs_ctx *x = n->hsx;
  int rc = 0;
  size_t need = 2 + noise_hs_overhead(&x->hs) + x->payload_len;
  uint8_t *f = noise_tx_reserve(n, need, &rc);
  if (!f) return rc;
  memcpy(f + 2 + noise_hs_payload_offset(&x->hs), x->payload, x->payload_len);
  size_t ml = 0;
  if ((rc = noise_hs_write(&x->hs, f + 2, x->payload_len, &ml)) != 0)
    return rc;
  put_be16(f, ml);
  n->tb_len += 2 + ml;
  return 0;
}

/* Check the peer's payload: identity key, its signature over the peer's
 * static key, the PeerId, then agree on the muxer. */
static int verify_remote(lp2p_noise *n, const uint8_t *p, size_t len) {
  noise_hs_ctx *x = n->hsx;
  noise_payload pl;
  int rc = noise_payload_decode(&pl, p, len);
  if (rc) return rc;
  if (lp2p_pubkey_unmarshal(&x->remote_key, pl.key, pl.key_len) != 0)
    return LP2P_ERR_PROTO;
  uint8_t msg[NOISE_SIG_PREFIX_LEN + NOISE_DHLEN];
  memcpy(msg, NOISE_SIG_PREFIX, NOISE_SIG_PREFIX_LEN);
  memcpy(msg + NOISE_SIG_PREFIX_LEN, x->hs.rs, NOISE_DHLEN);
  if (lp2p_key_verify(&x->remote_key, msg, sizeof msg, pl.sig, pl.sig_len))
    return LP2P_ERR_SIGNATURE;
  if (lp2p_peerid_from_pubkey(&n->remote, &x->remote_key) != 0)
    return LP2P_ERR_PROTO;
  if (x->has_expected && !lp2p_peerid_equal(&x->expected, &n->remote))
    return LP2P_ERR_PEER_ID_MISMATCH;

  const uint8_t *ours = x->ext_len ? x->payload + x->ext_off : NULL;
  const uint8_t *name = NULL;
  size_t name_len = 0;
  int agreed = n->initiator
                   ? noise_muxer_agree(ours, x->ext_len, pl.ext, pl.ext_len,
                                       &name, &name_len)
                   : noise_muxer_agree(pl.ext, pl.ext_len, ours, x->ext_len,
                                       &name, &name_len);
  if (agreed) {
    n->muxer = lp2p_mem_malloc(n->mem, name_len + 1);
    if (!n->muxer) return LP2P_ERR_NOMEM;
    memcpy(n->muxer, name, name_len);
    n->muxer[name_len] = '\0';
  }
  return 0;
}

/* Split into transport keys; wipe the handshake secrets now, though the
 * context (remote key for the event) lives until HANDSHAKE_DONE is polled. */
static void finish(lp2p_noise *n) {
  noise_hs_ctx *x = n->hsx;
  noise_hs_split(&x->hs, &n->tx, &n->rx);
  lp2p_memzero(&x->hs, sizeof x->hs);
  lp2p_memzero(x->payload, x->payload_len);
  n->phase = PHASE_TRANSPORT;
  n->hs_done = 1;
  n->deadline = LP2P_TSTAMP_NONE;
  noise_push_event(n, LP2P_NOISE_EV_HANDSHAKE_DONE);
}

int noise_hs_on_message(lp2p_noise *n, uint8_t *msg, size_t len) {
  noise_hs_ctx *x = n->hsx;
  uint8_t *pl = NULL;
  size_t pl_len = 0;
  if (noise_hs_my_turn(&x->hs)) return LP2P_ERR_PROTO;
  int rc = noise_hs_read(&x->hs, msg, len, &pl, &pl_len);
  if (rc) return rc;
  switch (x->hs.step) {
  case 1: /* responder read `-> e`; its payload carries nothing for us */
    return write_own(n);
  case 2: /* initiator read `<- e, ee, s, es` with the responder's payload */
    if ((rc = verify_remote(n, pl, pl_len)) != 0) return rc;
    if ((rc = write_own(n)) != 0) return rc;
    finish(n);
    return 0;
  default: /* responder read `-> s, se` with the initiator's payload */
    if ((rc = verify_remote(n, pl, pl_len)) != 0) return rc;
    finish(n);
    return 0;
  }
}
