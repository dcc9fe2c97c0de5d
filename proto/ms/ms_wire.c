/* multistream-select framing: length-prefixed, newline-terminated messages
 * and the `ls` answer (multiformats/multistream-select "Listing"). */
#include <string.h>

#include "lp2p/varint.h"
#include "proto/ms/ms_internal.h"

size_t ms_msg_len(size_t text_len) {
  return lp2p_varint_len((uint64_t)text_len + 1) + text_len + 1;
}

size_t ms_msg_put(uint8_t *out, const void *text, size_t text_len) {
  size_t k = 0;
  /* Cannot fail: callers size `out` with ms_msg_len. */
  (void)lp2p_varint_encode((uint64_t)text_len + 1, out, LP2P_VARINT_MAX_LEN,
                           &k);
  if (text_len)
    memcpy(out + k, text, text_len);
  out[k + text_len] = '\n';
  return k + text_len + 1;
}

const char *ms_names_at(const char *names, size_t count, size_t i,
                        size_t *len) {
  if (!names || i >= count)
    return NULL;
  const char *s = names;
  for (size_t j = 0; j < i; j++)
    s += strlen(s) + 1;
  if (len)
    *len = strlen(s);
  return s;
}

static size_t ls_inner_len(const char *names, size_t count) {
  size_t inner = 0;
  const char *s = names;
  for (size_t i = 0; i < count; i++) {
    size_t l = strlen(s);
    inner += ms_msg_len(l);
    s += l + 1;
  }
  return inner;
}

size_t ms_ls_len(const char *names, size_t count) {
  return ms_msg_len(ls_inner_len(names, count));
}

size_t ms_ls_put(uint8_t *out, const char *names, size_t count) {
  size_t inner = ls_inner_len(names, count), k = 0;
  (void)lp2p_varint_encode((uint64_t)inner + 1, out, LP2P_VARINT_MAX_LEN, &k);
  const char *s = names;
  for (size_t i = 0; i < count; i++) {
    size_t l = strlen(s);
    k += ms_msg_put(out + k, s, l);
    s += l + 1;
  }
  out[k++] = '\n';
  return k;
}

int ms_ls_parse(const uint8_t *body, size_t n, size_t max_count, char *out,
                size_t *out_bytes, size_t *count) {
  size_t pos = 0, o = 0, c = 0;
  while (pos < n) {
    uint64_t k = 0;
    lp2p_ssize r = lp2p_varint_decode(body + pos, n - pos, &k);
    if (r < 0)
      return LP2P_ERR_PROTO;
    pos += (size_t)r;
    if (k > n - pos)
      return LP2P_ERR_PROTO;
    size_t name_len;
    if (k >= 1 && body[pos + k - 1] == '\n') {
      name_len = (size_t)k - 1; /* varint counts the newline */
    } else if (k < n - pos && body[pos + k] == '\n') {
      name_len = (size_t)k; /* older js-libp2p: varint excludes it */
    } else {
      return LP2P_ERR_PROTO;
    }
    if (memchr(body + pos, '\n', name_len) || memchr(body + pos, 0, name_len))
      return LP2P_ERR_PROTO;
    if (c == max_count)
      return LP2P_ERR_LIMIT;
    memcpy(out + o, body + pos, name_len);
    o += name_len;
    out[o++] = '\0';
    pos += name_len + 1;
    c++;
  }
  *out_bytes = o;
  *count = c;
  return 0;
}
