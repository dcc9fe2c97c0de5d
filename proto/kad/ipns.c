/* IPNS records (ipns-record.md): the IpnsEntry protobuf
 *   value 1, signatureV1 2, validityType 3, validity 4, sequence 5, ttl 6,
 *   pubKey 7, signatureV2 8, data 9
 * with `data` the DAG-CBOR map {TTL, Value, Sequence, Validity,
 * ValidityType} (canonical key order: shorter first, then bytewise).
 * Validation follows "Record Verification" step by step; signatureV1 is
 * never trusted, only checked for consistency when present. */
#include <string.h>

#include "lp2p/cbor.h"
#include "lp2p/ipns.h"
#include "lp2p/protobuf.h"

static const char sig_prefix[] = "ipns-signature:";
#define SIG_PREFIX_LEN (sizeof sig_prefix - 1)

typedef struct v1_fields {
  lp2p_kad_bytes value, validity, sig;
  uint64_t validity_type, sequence, ttl;
} v1_fields;

static int key_is(const lp2p_cbor_item *k, const char *s) {
  return k->n == strlen(s) && memcmp(k->p, s, k->n) == 0;
}

static int parse_data(lp2p_ipns_record *r) {
  lp2p_cbor_map m;
  lp2p_cbor_item k, v;
  unsigned seen = 0;
  if (lp2p_cbor_map_open(&m, r->data, r->data_len) != 0)
    return LP2P_ERR_PARSE;
  while (lp2p_cbor_map_next(&m, &k, &v) == 1) {
    int want_bytes = key_is(&k, "Value") || key_is(&k, "Validity");
    int want_uint = key_is(&k, "ValidityType") || key_is(&k, "Sequence") ||
                    key_is(&k, "TTL");
    if (!want_bytes && !want_uint)
      continue; /* extensible data: ignored (spec "Extensible Data") */
    if ((want_bytes && v.major != LP2P_CBOR_BYTES) ||
        (want_uint && v.major != LP2P_CBOR_UINT))
      return LP2P_ERR_PARSE;
    if (key_is(&k, "Value")) {
      r->value = v.p;
      r->value_len = v.n;
      seen |= 1;
    } else if (key_is(&k, "Validity")) {
      r->validity = v.p;
      r->validity_len = v.n;
      seen |= 2;
    } else if (key_is(&k, "ValidityType")) {
      r->validity_type = v.u;
      seen |= 4;
    } else if (key_is(&k, "Sequence")) {
      r->sequence = v.u;
      seen |= 8;
    } else {
      r->ttl_ns = v.u;
      seen |= 16;
    }
  }
  return seen == 31 ? 0 : LP2P_ERR_PARSE;
}

static int bytes_eq(lp2p_kad_bytes a, const uint8_t *p, size_t n) {
  return a.n == n && (n == 0 || memcmp(a.p, p, n) == 0);
}

int lp2p_ipns_parse(lp2p_ipns_record *r, const uint8_t *p, size_t n) {
  if (!r || (!p && n))
    return LP2P_ERR_INVAL;
  if (n > LP2P_IPNS_RECORD_MAX)
    return LP2P_ERR_LIMIT;
  memset(r, 0, sizeof *r);
  v1_fields v1;
  memset(&v1, 0, sizeof v1);
  int has_value = 0;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  int rc;
  lp2p_pb_reader_init(&rd, p, n);
  while ((rc = lp2p_pb_next(&rd, &f)) == 1) {
    int is_len = f.num == 1 || f.num == 2 || f.num == 4 || f.num == 7 ||
                 f.num == 8 || f.num == 9;
    int is_var = f.num == 3 || f.num == 5 || f.num == 6;
    if ((is_len && f.wire != LP2P_PB_LEN) || (is_var && f.wire != LP2P_PB_VARINT))
      return LP2P_ERR_PARSE;
    lp2p_kad_bytes b = {f.bytes, f.len};
    switch (f.num) {
    case 1: v1.value = b; has_value = 1; break;
    case 2: v1.sig = b; break;
    case 3: v1.validity_type = f.u64; break;
    case 4: v1.validity = b; break;
    case 5: v1.sequence = f.u64; break;
    case 6: v1.ttl = f.u64; break;
    case 7: r->pubkey = f.bytes; r->pubkey_len = f.len; break;
    case 8: r->sig_v2 = f.bytes; r->sig_v2_len = f.len; break;
    case 9: r->data = f.bytes; r->data_len = f.len; break;
    default: break;
    }
  }
  if (rc < 0 || !r->sig_v2_len || !r->data_len)
    return LP2P_ERR_PARSE;
  if (parse_data(r) != 0)
    return LP2P_ERR_PARSE;
  if (r->validity_type != 0)
    return LP2P_ERR_UNSUPPORTED;
  if (lp2p_rfc3339_parse((const char *)r->validity, r->validity_len,
                         &r->eol_unix_ns) != 0)
    return LP2P_ERR_PARSE;
  /* Step 7: legacy copies must say what the signed data says. */
  r->has_v1 = has_value || v1.sig.n;
  if (r->has_v1 &&
      (!bytes_eq(v1.value, r->value, r->value_len) ||
       !bytes_eq(v1.validity, r->validity, r->validity_len) ||
       v1.validity_type != r->validity_type || v1.sequence != r->sequence ||
       v1.ttl != r->ttl_ns))
    return LP2P_ERR_PARSE;
  if (r->pubkey && !r->pubkey_len)
    r->pubkey = NULL;
  return 0;
}

int lp2p_ipns_verify(const lp2p_peerid *name, const uint8_t *p, size_t n,
                     uint64_t unix_ns, lp2p_ipns_record *out) {
  lp2p_ipns_record r;
  lp2p_pubkey pk;
  if (!name)
    return LP2P_ERR_INVAL;
  int rc = lp2p_ipns_parse(&r, p, n);
  if (rc != 0)
    return rc;
  if (r.pubkey) {
    if (lp2p_pubkey_unmarshal(&pk, r.pubkey, r.pubkey_len) != 0)
      return LP2P_ERR_PARSE;
    if (!lp2p_peerid_matches_pubkey(name, &pk))
      return LP2P_ERR_PEER_ID_MISMATCH;
  } else {
    rc = lp2p_peerid_pubkey(name, &pk);
    if (rc == LP2P_ERR_NOT_FOUND)
      return LP2P_ERR_NOT_FOUND;
    if (rc != 0)
      return LP2P_ERR_PARSE;
  }
  uint8_t msg[SIG_PREFIX_LEN + LP2P_IPNS_RECORD_MAX];
  memcpy(msg, sig_prefix, SIG_PREFIX_LEN);
  memcpy(msg + SIG_PREFIX_LEN, r.data, r.data_len);
  if (lp2p_key_verify(&pk, msg, SIG_PREFIX_LEN + r.data_len, r.sig_v2,
                      r.sig_v2_len) != 0)
    return LP2P_ERR_SIGNATURE;
  if (r.eol_unix_ns <= unix_ns)
    return LP2P_ERR_TIMEOUT;
  if (out)
    *out = r;
  return 0;
}

int lp2p_ipns_validate(const uint8_t *key, size_t key_len, const uint8_t *val,
                       size_t val_len, uint64_t unix_ns,
                       lp2p_ipns_record *out) {
  lp2p_peerid name;
  if (!key || key_len < 6 || memcmp(key, "/ipns/", 6) != 0 ||
      lp2p_peerid_from_bytes(&name, key + 6, key_len - 6) != 0)
    return LP2P_ERR_INVAL;
  return lp2p_ipns_verify(&name, val, val_len, unix_ns, out);
}

int lp2p_ipns_select(const lp2p_kad_bytes *vals, size_t n, size_t *best) {
  if (!vals || !n || !best)
    return LP2P_ERR_INVAL;
  int have = 0;
  lp2p_ipns_record b, r;
  *best = 0;
  for (size_t i = 0; i < n; i++) {
    if (lp2p_ipns_parse(&r, vals[i].p, vals[i].n) != 0)
      continue;
    if (!have || r.sequence > b.sequence ||
        (r.sequence == b.sequence && r.eol_unix_ns > b.eol_unix_ns)) {
      b = r;
      *best = i;
      have = 1;
    }
  }
  return 0;
}

/* The signed CBOR document, keys in DAG-CBOR order. */
static void put_data(lp2p_cbor_writer *w, const uint8_t *value, size_t vlen,
                     const char *validity, uint64_t seq, uint64_t ttl) {
  lp2p_cbor_put_head(w, LP2P_CBOR_MAP, 5);
  lp2p_cbor_put_text(w, "TTL", 3);
  lp2p_cbor_put_uint(w, ttl);
  lp2p_cbor_put_text(w, "Value", 5);
  lp2p_cbor_put_bytes(w, value, vlen);
  lp2p_cbor_put_text(w, "Sequence", 8);
  lp2p_cbor_put_uint(w, seq);
  lp2p_cbor_put_text(w, "Validity", 8);
  lp2p_cbor_put_bytes(w, (const uint8_t *)validity, LP2P_RFC3339_NANO_LEN);
  lp2p_cbor_put_text(w, "ValidityType", 12);
  lp2p_cbor_put_uint(w, 0);
}

int lp2p_ipns_seal(const lp2p_privkey *key, const uint8_t *value,
                   size_t value_len, uint64_t seq, uint64_t eol_unix_ns,
                   uint64_t ttl_ns, int v1_compat, uint8_t *out, size_t cap,
                   size_t *len) {
  if (!key || (!value && value_len) || (!out && cap) ||
      value_len > LP2P_IPNS_RECORD_MAX)
    return LP2P_ERR_INVAL;
  char validity[32];
  lp2p_rfc3339_format(eol_unix_ns, validity);

  uint8_t data[LP2P_IPNS_RECORD_MAX + 128];
  lp2p_cbor_writer cw;
  lp2p_cbor_writer_init(&cw, data, sizeof data);
  put_data(&cw, value, value_len, validity, seq, ttl_ns);
  if (cw.err)
    return LP2P_ERR_LIMIT;
  size_t data_len = cw.len;

  uint8_t msg[SIG_PREFIX_LEN + sizeof data];
  memcpy(msg, sig_prefix, SIG_PREFIX_LEN);
  memcpy(msg + SIG_PREFIX_LEN, data, data_len);
  uint8_t sig2[LP2P_SIG_MAX], sig1[LP2P_SIG_MAX];
  size_t sig2_len = sizeof sig2, sig1_len = 0;
  if (lp2p_key_sign(key, msg, SIG_PREFIX_LEN + data_len, sig2, &sig2_len) != 0)
    return LP2P_ERR_CRYPTO;
  if (v1_compat) {
    /* signatureV1: value + validity + the ValidityType's name "EOL"
     * (ipns-record.md "Record Creation with Legacy SignatureV1"). */
    size_t m1 = 0;
    memcpy(msg, value, value_len);
    m1 += value_len;
    memcpy(msg + m1, validity, LP2P_RFC3339_NANO_LEN);
    m1 += LP2P_RFC3339_NANO_LEN;
    memcpy(msg + m1, "EOL", 3);
    m1 += 3;
    sig1_len = sizeof sig1;
    if (lp2p_key_sign(key, msg, m1, sig1, &sig1_len) != 0)
      return LP2P_ERR_CRYPTO;
  }

  /* Embed the key only when the name does not inline it (step 4). */
  uint8_t pkb[LP2P_PUBKEY_PB_MAX];
  size_t pkb_len = 0;
  lp2p_peerid id;
  if (lp2p_peerid_from_pubkey(&id, &key->pub) != 0)
    return LP2P_ERR_INVAL;
  int embed = id.bytes[0] != 0x00;
  if (embed && lp2p_pubkey_marshal(&key->pub, pkb, sizeof pkb, &pkb_len) != 0)
    return LP2P_ERR_INVAL;

  /* Fields in number order, as js ipns (protons) writes them. */
  lp2p_pb_writer w;
  lp2p_pb_writer_init(&w, out, cap);
  if (v1_compat) {
    lp2p_pb_put_bytes(&w, 1, value, value_len);
    lp2p_pb_put_bytes(&w, 2, sig1, sig1_len);
    lp2p_pb_put_varint(&w, 3, 0);
    lp2p_pb_put_bytes(&w, 4, (const uint8_t *)validity, LP2P_RFC3339_NANO_LEN);
    lp2p_pb_put_varint(&w, 5, seq);
    lp2p_pb_put_varint(&w, 6, ttl_ns);
  }
  if (embed)
    lp2p_pb_put_bytes(&w, 7, pkb, pkb_len);
  lp2p_pb_put_bytes(&w, 8, sig2, sig2_len);
  lp2p_pb_put_bytes(&w, 9, data, data_len);
  size_t total;
  int rc = lp2p_pb_writer_finish(&w, &total);
  if (len)
    *len = total;
  if (total > LP2P_IPNS_RECORD_MAX)
    return LP2P_ERR_LIMIT;
  return rc;
}
