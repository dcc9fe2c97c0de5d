/* multistream-select wire helpers shared by the engine files (not public).
 * Pure: caller buffers, no allocation. */
#ifndef LP2P_MS_INTERNAL_H
#define LP2P_MS_INTERNAL_H

#include "lp2p/ms.h"

/* Bytes of one framed message carrying `text_len` bytes of text:
 * varint(text_len + 1) || text || '\n'. */
size_t ms_msg_len(size_t text_len);
/* Write that message into `out` (ms_msg_len bytes); returns the count. */
size_t ms_msg_put(uint8_t *out, const void *text, size_t text_len);

/* The listener's `ls` answer for `count` NUL-separated ids in `names`:
 * one message whose text is the concatenation of one framed message per id
 * (go-multistream and js-libp2p >= 1 agree on this layout). */
size_t ms_ls_len(const char *names, size_t count);
size_t ms_ls_put(uint8_t *out, const char *names, size_t count);

/* Parse the text of an `ls` answer (outer newline already stripped) into
 * NUL-separated ids in `out` (capacity at least n + 1). Accepts entries
 * whose varint counts the newline (spec, go, js >= 1) and entries whose
 * varint does not (older js-libp2p). Returns 0 or LP2P_ERR_PROTO (bad
 * framing), LP2P_ERR_LIMIT (more than max_count entries). */
int ms_ls_parse(const uint8_t *body, size_t n, size_t max_count, char *out,
                size_t *out_bytes, size_t *count);

/* Entry i of a NUL-separated list (no bounds check beyond `count`). */
const char *ms_names_at(const char *names, size_t count, size_t i,
                        size_t *len);

#endif
