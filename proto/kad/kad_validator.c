/* Record validators by namespace (kad-dht spec "Entry validation"; the
 * record key is "/<namespace>/<rest>", as go-libp2p-record's
 * NamespacedValidator splits it) and the built-in /pk/ namespace
 * (go-libp2p-record PublicKeyValidator: the value is a PublicKey protobuf
 * whose peer id is the key's suffix; any valid value is as good as any
 * other, so select keeps the first). */
#include <string.h>

#include "lp2p/ipns.h"
#include "lp2p/kad.h"

/* The namespace of "/ns/rest": ns[0..*len), or NULL. */
static const uint8_t *key_ns(const uint8_t *key, size_t n, size_t *len) {
  if (n < 3 || key[0] != '/')
    return NULL;
  for (size_t i = 1; i < n; i++)
    if (key[i] == '/') {
      if (i == 1)
        return NULL;
      *len = i - 1;
      return key + 1;
    }
  return NULL;
}

static const lp2p_kad_validator *lookup(const lp2p_kad_validators *vs,
                                        const uint8_t *key, size_t n) {
  size_t nl;
  const uint8_t *ns = key_ns(key, n, &nl);
  if (!ns || !vs)
    return NULL;
  for (size_t i = 0; i < vs->n; i++)
    if (strlen(vs->v[i].ns) == nl && memcmp(vs->v[i].ns, ns, nl) == 0)
      return &vs->v[i];
  return NULL;
}

int lp2p_kad_validators_add(lp2p_kad_validators *vs,
                            const lp2p_kad_validator *v) {
  if (!vs || !v || !v->ns || !v->ns[0] || strchr(v->ns, '/') || !v->validate ||
      !v->select)
    return LP2P_ERR_INVAL;
  for (size_t i = 0; i < vs->n; i++)
    if (strcmp(vs->v[i].ns, v->ns) == 0) {
      vs->v[i] = *v;
      return 0;
    }
  if (vs->n == LP2P_KAD_VALIDATORS_MAX)
    return LP2P_ERR_LIMIT;
  vs->v[vs->n++] = *v;
  return 0;
}

int lp2p_kad_validate(const lp2p_kad_validators *vs, const uint8_t *key,
                      size_t key_len, const uint8_t *val, size_t val_len,
                      uint64_t unix_ns) {
  const lp2p_kad_validator *v = lookup(vs, key, key_len);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  return v->validate(v->ud, key, key_len, val, val_len, unix_ns);
}

int lp2p_kad_select(const lp2p_kad_validators *vs, const uint8_t *key,
                    size_t key_len, const lp2p_kad_bytes *vals, size_t n,
                    size_t *best) {
  const lp2p_kad_validator *v = lookup(vs, key, key_len);
  if (!v)
    return LP2P_ERR_UNSUPPORTED;
  if (!n || !vals || !best)
    return LP2P_ERR_INVAL;
  return v->select(v->ud, key, key_len, vals, n, best);
}

int lp2p_kad_pk_validate(void *ud, const uint8_t *key, size_t key_len,
                         const uint8_t *val, size_t val_len, uint64_t unix_ns) {
  (void)ud;
  (void)unix_ns;
  lp2p_peerid id;
  lp2p_pubkey pk;
  if (key_len < 4 || memcmp(key, "/pk/", 4) != 0)
    return LP2P_ERR_INVAL;
  if (lp2p_peerid_from_bytes(&id, key + 4, key_len - 4) != 0)
    return LP2P_ERR_PARSE;
  if (lp2p_pubkey_unmarshal(&pk, val, val_len) != 0)
    return LP2P_ERR_PARSE;
  return lp2p_peerid_matches_pubkey(&id, &pk) ? 0 : LP2P_ERR_PEER_ID_MISMATCH;
}

static int pk_select(void *ud, const uint8_t *key, size_t key_len,
                     const lp2p_kad_bytes *vals, size_t n, size_t *best) {
  (void)ud;
  (void)key;
  (void)key_len;
  (void)vals;
  (void)n;
  *best = 0;
  return 0;
}

static int ipns_validate(void *ud, const uint8_t *key, size_t key_len,
                         const uint8_t *val, size_t val_len, uint64_t unix_ns) {
  (void)ud;
  return lp2p_ipns_validate(key, key_len, val, val_len, unix_ns, NULL);
}

static int ipns_select(void *ud, const uint8_t *key, size_t key_len,
                       const lp2p_kad_bytes *vals, size_t n, size_t *best) {
  (void)ud;
  (void)key;
  (void)key_len;
  return lp2p_ipns_select(vals, n, best);
}

void lp2p_kad_validators_default(lp2p_kad_validators *vs) {
  memset(vs, 0, sizeof *vs);
  const lp2p_kad_validator pk = {"pk", lp2p_kad_pk_validate, pk_select, NULL};
  const lp2p_kad_validator ipns = {"ipns", ipns_validate, ipns_select, NULL};
  vs->v[vs->n++] = pk;
  vs->v[vs->n++] = ipns;
}
