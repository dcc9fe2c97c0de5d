/** A small bounded DAG-CBOR reader and writer (RFC 8949 over the IPLD
 * DAG-CBOR rules), enough for IPNS record data: maps with text keys, byte
 * and text strings, unsigned integers; every other item is skipped
 * whole. Pure codec: no allocation; read items point into the input.
 *
 * Strict where DAG-CBOR is: definite lengths only, minimal heads, map
 * keys text and in canonical order (shorter first, then bytewise), hence
 * no duplicate keys (two parsers can never read different values from one
 * record). Nesting is bounded by LP2P_CBOR_DEPTH_MAX. */
#ifndef LP2P_CBOR_H
#define LP2P_CBOR_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_CBOR_UINT 0
#define LP2P_CBOR_NEGINT 1
#define LP2P_CBOR_BYTES 2
#define LP2P_CBOR_TEXT 3
#define LP2P_CBOR_ARRAY 4
#define LP2P_CBOR_MAP 5
#define LP2P_CBOR_TAG 6
#define LP2P_CBOR_SIMPLE 7
/** Deepest nesting of arrays, maps and tags the reader walks. */
#define LP2P_CBOR_DEPTH_MAX 16

/** One item: `major` and `u` (the head's argument: the value of an
 * integer, the length of a string, the count of an array or map, the tag
 * number). For strings `p`/`n` are the payload; for arrays, maps and tags
 * `p`/`n` span the whole encoded item. */
typedef struct lp2p_cbor_item {
  uint8_t major;
  uint64_t u;
  const uint8_t *p;
  size_t n;
} lp2p_cbor_item;

/** Read one whole item at p[*pos..n) and advance *pos past it (nested
 * content is checked and skipped). Returns 0 or LP2P_ERR_PARSE
 * (truncated, indefinite length, non-minimal head, reserved value, a map
 * key out of order or not text, too deep). */
LP2P_API int lp2p_cbor_read(const uint8_t *p, size_t n, size_t *pos,
                            lp2p_cbor_item *it);

/** Iterator over a map. */
typedef struct lp2p_cbor_map {
  const uint8_t *p;
  size_t n;
  size_t pos;
  uint64_t left;
} lp2p_cbor_map;

/** Open p[0..n) as exactly one map (no trailing bytes), fully checked.
 * Returns 0 or LP2P_ERR_PARSE. */
LP2P_API int lp2p_cbor_map_open(lp2p_cbor_map *m, const uint8_t *p, size_t n);
/** Next entry: 1 with its text key and value, or 0 at the end. */
LP2P_API int lp2p_cbor_map_next(lp2p_cbor_map *m, lp2p_cbor_item *key,
                                lp2p_cbor_item *val);

/** Writer into p[0..cap); `err` is sticky (LP2P_ERR_NOSPACE), `len`
 * counts what the whole output needs. */
typedef struct lp2p_cbor_writer {
  uint8_t *p;
  size_t cap;
  size_t len;
  int err;
} lp2p_cbor_writer;

LP2P_API void lp2p_cbor_writer_init(lp2p_cbor_writer *w, uint8_t *p,
                                    size_t cap);
/** A minimal head: major type and argument. */
LP2P_API void lp2p_cbor_put_head(lp2p_cbor_writer *w, uint8_t major,
                                 uint64_t u);
LP2P_API void lp2p_cbor_put_uint(lp2p_cbor_writer *w, uint64_t u);
LP2P_API void lp2p_cbor_put_bytes(lp2p_cbor_writer *w, const uint8_t *p,
                                  size_t n);
LP2P_API void lp2p_cbor_put_text(lp2p_cbor_writer *w, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
