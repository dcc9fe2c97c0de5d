/* Multiaddr text form: /name/value/name/... (rules in
 * include/lp2p/multiaddr.h). The parser encodes each value, then runs the
 * same binary validator as lp2p_maddr_from_bytes over the result, so text
 * -> bytes -> text -> bytes is the identity on bytes. Printing uses one
 * canonical form per value (RFC 5952 ip6, base58btc peer ids, base64url
 * certhashes). */
#include <string.h>

#include "lp2p/cid.h"
#include "lp2p/multibase.h"
#include "lp2p/varint.h"
#include "multiaddr_internal.h"

typedef struct wbuf {
  uint8_t *p;
  size_t len;
  int err;
} wbuf;

static void wput(wbuf *w, const uint8_t *s, size_t n) {
  if (w->err)
    return;
  if (n > LP2P_MADDR_MAX - w->len) {
    w->err = LP2P_ERR_LIMIT;
    return;
  }
  memcpy(w->p + w->len, s, n);
  w->len += n;
}

static void wvarint(wbuf *w, uint64_t v) {
  uint8_t b[LP2P_VARINT_MAX_LEN];
  size_t k = 0;
  (void)lp2p_varint_encode(v, b, sizeof b, &k);
  wput(w, b, k);
}

static int parse_port(const char *s, size_t n, uint8_t out[2]) {
  if (n == 0 || n > 5)
    return LP2P_ERR_PARSE;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return LP2P_ERR_PARSE;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535)
    return LP2P_ERR_PARSE;
  out[0] = (uint8_t)(v >> 8);
  out[1] = (uint8_t)v;
  return 0;
}

/* peer-ids spec, "Decoding": "1..." or "Qm..." is a base58btc multihash,
 * anything else a multibase CIDv1 whose codec must be libp2p-key. */
static int parse_peer_id(const char *s, size_t n, uint8_t *out, size_t cap,
                         size_t *len) {
  int rc;
  if (n >= 1 && (s[0] == '1' || (n >= 2 && s[0] == 'Q' && s[1] == 'm'))) {
    rc = lp2p_base58_decode(s, n, out, cap, len);
    if (rc)
      return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_LIMIT : rc;
    return maddr_valid_peer_mh(out, *len) ? 0 : LP2P_ERR_PARSE;
  }
  uint8_t cid[LP2P_CID_MAX];
  size_t cl;
  rc = lp2p_cid_from_text(s, n, cid, sizeof cid, &cl);
  if (rc)
    return rc == LP2P_ERR_NOSPACE ? LP2P_ERR_LIMIT : rc;
  lp2p_cid c;
  if (lp2p_cid_decode(cid, cl, &c) != 0 || c.version != 1 ||
      c.codec != LP2P_CID_LIBP2P_KEY || c.mh_len > cap ||
      !maddr_valid_peer_mh(c.mh, c.mh_len))
    return LP2P_ERR_PARSE;
  memcpy(out, c.mh, c.mh_len);
  *len = c.mh_len;
  return 0;
}

/* Encode one text value for `pr` and append it (with its length prefix). */
static int put_value(wbuf *w, const proto *pr, const char *v, size_t n) {
  uint8_t tmp[LP2P_MADDR_MAX];
  size_t tl = 0;
  int rc = 0;
  switch (pr->kind) {
  case K_IP4:
    rc = lp2p_ip4_from_text(v, n, tmp);
    tl = 4;
    break;
  case K_IP6:
    rc = lp2p_ip6_from_text(v, n, tmp);
    tl = 16;
    break;
  case K_PORT:
    rc = parse_port(v, n, tmp);
    tl = 2;
    break;
  case K_STR:
    if (n > sizeof tmp)
      return LP2P_ERR_LIMIT;
    memcpy(tmp, v, n);
    tl = n;
    break;
  case K_UNIX:
    if (n >= sizeof tmp)
      return LP2P_ERR_LIMIT;
    tmp[0] = '/';
    memcpy(tmp + 1, v, n);
    tl = n + 1;
    break;
  case K_P2P:
    rc = parse_peer_id(v, n, tmp, sizeof tmp, &tl);
    break;
  case K_CERTHASH:
    rc = lp2p_multibase_decode(v, n, tmp, sizeof tmp, &tl);
    if (rc == LP2P_ERR_NOSPACE)
      rc = LP2P_ERR_LIMIT;
    break;
  default:
    return LP2P_ERR_INTERNAL;
  }
  /* An unknown multibase prefix inside a value is a bad value, not an
   * unknown protocol. */
  if (rc == LP2P_ERR_UNSUPPORTED)
    rc = LP2P_ERR_PARSE;
  if (rc)
    return rc;
  if (!maddr_valid_value(pr->kind, tmp, tl))
    return LP2P_ERR_PARSE;
  if (maddr_has_len_prefix(pr->kind))
    wvarint(w, tl);
  wput(w, tmp, tl);
  return w->err;
}

static int parse_text(wbuf *w, const char *s, size_t n) {
  if (n == 0 || s[0] != '/')
    return LP2P_ERR_PARSE;
  size_t end = n;
  if (end > 1 && s[end - 1] == '/')
    end--; /* one trailing slash allowed */
  size_t i = 1;
  if (i >= end)
    return LP2P_ERR_PARSE; /* "/" alone */
  while (i < end) {
    size_t j = i;
    while (j < end && s[j] != '/')
      j++;
    if (j == i)
      return LP2P_ERR_PARSE; /* empty protocol name */
    const proto *pr = maddr_by_name(s + i, j - i);
    if (!pr)
      return LP2P_ERR_UNSUPPORTED;
    wvarint(w, pr->code);
    i = j;
    if (pr->kind != K_NONE) {
      if (i >= end)
        return LP2P_ERR_PARSE; /* missing value */
      i++;
      if (pr->kind == K_UNIX) {
        j = end; /* the path is the rest of the string */
      } else {
        j = i;
        while (j < end && s[j] != '/')
          j++;
      }
      if (j == i)
        return LP2P_ERR_PARSE; /* empty value */
      int rc = put_value(w, pr, s + i, j - i);
      if (rc)
        return rc;
      i = j;
    }
    if (w->err)
      return w->err;
    if (i < end) {
      i++; /* the '/' before the next protocol */
      if (i == end)
        return LP2P_ERR_PARSE;
    }
  }
  return maddr_validate(w->p, w->len);
}

int lp2p_maddr_parse(lp2p_maddr *m, const char *text, size_t n) {
  if (!m || (!text && n))
    return LP2P_ERR_INVAL;
  wbuf w = {m->bytes, 0, 0};
  int rc = parse_text(&w, text, n);
  m->len = rc ? 0 : w.len;
  return rc;
}

typedef struct tbuf {
  char *p;
  size_t cap, len;
} tbuf;

static void tput(tbuf *t, const char *s, size_t n) {
  if (n && t->len <= t->cap && n <= t->cap - t->len)
    memcpy(t->p + t->len, s, n);
  t->len += n;
}

/* Encoders that write straight into the output when it fits; otherwise
 * count the size through a scratch buffer so NOSPACE is exact. */
static int
tput_enc(tbuf *t, int (*enc)(const uint8_t *, size_t, char *, size_t, size_t *),
         const uint8_t *v, size_t n) {
  size_t k = 0;
  int fits = t->p && t->len <= t->cap;
  int rc =
      enc(v, n, fits ? t->p + t->len : NULL, fits ? t->cap - t->len : 0, &k);
  if (rc == LP2P_ERR_NOSPACE) {
    char scratch[1024];
    rc = enc(v, n, scratch, sizeof scratch, &k);
  }
  if (rc)
    return rc;
  t->len += k;
  return 0;
}

static int enc_b58(const uint8_t *v, size_t n, char *o, size_t c, size_t *k) {
  return lp2p_base58_encode(v, n, o, c, k);
}

static int enc_b64url(const uint8_t *v, size_t n, char *o, size_t c,
                      size_t *k) {
  return lp2p_multibase_encode(LP2P_BASE64URL, v, n, o, c, k);
}

static int put_text_value(tbuf *t, const proto *pr, const uint8_t *v,
                          size_t n) {
  char ip[LP2P_IP_TEXT_MAX];
  size_t k;
  switch (pr->kind) {
  case K_IP4:
  case K_IP6:
    (void)lp2p_ip_to_text(pr->kind == K_IP4 ? 4 : 6, v, ip, sizeof ip, &k);
    tput(t, "/", 1);
    tput(t, ip, k);
    return 0;
  case K_PORT: {
    unsigned port = (unsigned)v[0] << 8 | v[1];
    char d[5];
    size_t i = sizeof d;
    do {
      d[--i] = (char)('0' + port % 10);
      port /= 10;
    } while (port);
    tput(t, "/", 1);
    tput(t, d + i, sizeof d - i);
    return 0;
  }
  case K_STR:
    tput(t, "/", 1);
    tput(t, (const char *)v, n);
    return 0;
  case K_UNIX:
    tput(t, (const char *)v, n); /* starts with '/' */
    return 0;
  case K_P2P:
    tput(t, "/", 1);
    return tput_enc(t, enc_b58, v, n);
  case K_CERTHASH:
    tput(t, "/", 1);
    return tput_enc(t, enc_b64url, v, n);
  default:
    return 0;
  }
}

int lp2p_maddr_to_string(const lp2p_maddr *m, char *out, size_t cap,
                         size_t *len) {
  if (!m || (!out && cap))
    return LP2P_ERR_INVAL;
  tbuf t = {out, cap, 0};
  lp2p_maddr_iter it;
  lp2p_maddr_comp c = {0, NULL, 0, 0, 0};
  int rc;
  lp2p_maddr_iter_init(&it, m);
  while ((rc = lp2p_maddr_next(&it, &c)) == 1) {
    const proto *pr = maddr_by_code(c.code);
    tput(&t, "/", 1);
    tput(&t, pr->name, strlen(pr->name));
    rc = put_text_value(&t, pr, c.value, c.len);
    if (rc)
      return rc;
  }
  if (rc < 0)
    return rc;
  if (t.len > cap)
    return LP2P_ERR_NOSPACE;
  if (t.len < cap)
    out[t.len] = '\0';
  if (len)
    *len = t.len;
  return 0;
}
