/* The NoiseHandshakePayload protobuf (libp2p noise spec, "The libp2p
 * Handshake Payload"):
 *   message NoiseExtensions { repeated bytes webtransport_certhashes = 1;
 *                             repeated string stream_muxers = 2; }
 *   message NoiseHandshakePayload { optional bytes identity_key = 1;
 *     optional bytes identity_sig = 2; optional NoiseExtensions extensions = 4; }
 * Pure codec on caller buffers. Unknown fields are skipped, as proto2
 * parsers do; for repeated optional fields the last one wins. */
#include <string.h>

#include "lp2p/protobuf.h"
#include "proto/noise/noise_int.h"

/* A muxer id is a multistream protocol id: non-empty, and short enough that
 * our payload stays far below one Noise message. */
#define MUXER_ID_BYTES_MAX 1024

static size_t ext_body_size(const char *const *mux, size_t mux_len) {
  size_t total = 0;
  for (size_t i = 0; i < mux_len; i++) {
    if (!mux[i]) return 0;
    size_t l = strlen(mux[i]);
    if (l == 0 || l > MUXER_ID_BYTES_MAX) return 0;
    total += lp2p_pb_size_bytes(2, l);
  }
  return total;
}

size_t noise_payload_size_max(const lp2p_pubkey *id, const char *const *mux,
                              size_t mux_len) {
  uint8_t key[LP2P_PUBKEY_PB_MAX];
  size_t klen = 0;
  if (mux_len && !mux) return 0;
  if (lp2p_pubkey_marshal(id, key, sizeof key, &klen) != 0) return 0;
  size_t total = lp2p_pb_size_bytes(1, klen) + lp2p_pb_size_bytes(2, LP2P_SIG_MAX);
  if (mux_len) {
    size_t ext = ext_body_size(mux, mux_len);
    if (ext == 0) return 0;
    total += lp2p_pb_size_bytes(4, ext);
  }
  return total;
}

int noise_payload_encode(uint8_t *out, size_t cap, size_t *len,
                         const lp2p_pubkey *id, const uint8_t *sig,
                         size_t sig_len, const char *const *mux,
                         size_t mux_len, size_t *ext_off, size_t *ext_len) {
  uint8_t key[LP2P_PUBKEY_PB_MAX];
  size_t klen = 0;
  int rc = lp2p_pubkey_marshal(id, key, sizeof key, &klen);
  if (rc) return rc;
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, cap);
  lp2p_pb_put_bytes(&w, 1, key, klen);
  lp2p_pb_put_bytes(&w, 2, sig, sig_len);
  *ext_off = *ext_len = 0;
  if (mux_len) {
    size_t ext = ext_body_size(mux, mux_len);
    if (ext == 0) return LP2P_ERR_INVAL;
    lp2p_pb_put_tag_len(&w, 4, ext);
    *ext_off = w.len;
    *ext_len = ext;
    for (size_t i = 0; i < mux_len; i++) lp2p_pb_put_string(&w, 2, mux[i]);
  }
  return lp2p_pb_writer_finish(&w, len);
}

/* Walk a message completely: 0 if every field parses, else PROTO. */
static int check_message(const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
  }
  return rc == 0 ? 0 : LP2P_ERR_PROTO;
}

int noise_payload_decode(noise_payload *out, const uint8_t *p, size_t n) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  int rc;
  memset(out, 0, sizeof *out);
  lp2p_pb_reader_init(&r, p, n);
  while ((rc = lp2p_pb_next(&r, &f)) == 1) {
    if (f.wire != LP2P_PB_LEN) continue;
    if (f.num == 1) {
      out->key = f.bytes;
      out->key_len = f.len;
    } else if (f.num == 2) {
      out->sig = f.bytes;
      out->sig_len = f.len;
    } else if (f.num == 4) {
      out->ext = f.bytes;
      out->ext_len = f.len;
    }
  }
  if (rc != 0) return LP2P_ERR_PROTO;
  if (!out->key || !out->sig) return LP2P_ERR_PROTO;
  if (out->ext && check_message(out->ext, out->ext_len) != 0)
    return LP2P_ERR_PROTO;
  return 0;
}

/* 1 if the NoiseExtensions body `ext` lists the muxer name[0..len). */
static int ext_has_muxer(const uint8_t *ext, size_t ext_len,
                         const uint8_t *name, size_t len) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&r, ext, ext_len);
  while (lp2p_pb_next(&r, &f) == 1) {
    if (f.num == 2 && f.wire == LP2P_PB_LEN && f.len == len &&
        (len == 0 || memcmp(f.bytes, name, len) == 0))
      return 1;
  }
  return 0;
}

int noise_muxer_agree(const uint8_t *init_ext, size_t init_len,
                      const uint8_t *resp_ext, size_t resp_len,
                      const uint8_t **name, size_t *name_len) {
  lp2p_pb_reader r;
  lp2p_pb_field f;
  if (!init_ext || !resp_ext) return 0;
  /* inlined-muxer-negotiation.md: "the first item from the initiator's
   * list that both parties support". Empty names never match. */
  lp2p_pb_reader_init(&r, init_ext, init_len);
  while (lp2p_pb_next(&r, &f) == 1) {
    if (f.num != 2 || f.wire != LP2P_PB_LEN || f.len == 0) continue;
    if (memchr(f.bytes, 0, f.len)) continue; /* could not be a C string */
    if (ext_has_muxer(resp_ext, resp_len, f.bytes, f.len)) {
      *name = f.bytes;
      *name_len = f.len;
      return 1;
    }
  }
  return 0;
}
