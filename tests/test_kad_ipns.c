/* Validators: the DAG-CBOR reader and writer, RFC 3339 times, the IPNS
 * spec's conformance vectors, records sealed with our own keys (validate,
 * tamper, expire, select), /pk, and the namespace registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "kad_ipns_vectors.h"
#include "lp2p/cbor.h"
#include "lp2p/ipns.h"
#include "lp2p/kad.h"

static lp2p_rng_chacha rng_st;
static lp2p_rng rng;
static const uint64_t NOW = UINT64_C(1700000000) * LP2P_NS_PER_S;
static const uint64_t HOUR = 3600 * LP2P_NS_PER_S;

static void test_cbor(void **s) {
  (void)s;
  uint8_t b[64];
  lp2p_cbor_writer w;
  lp2p_cbor_writer_init(&w, b, sizeof b);
  lp2p_cbor_put_head(&w, LP2P_CBOR_MAP, 2);
  lp2p_cbor_put_text(&w, "a", 1);
  lp2p_cbor_put_uint(&w, 500);
  lp2p_cbor_put_text(&w, "bb", 2);
  lp2p_cbor_put_bytes(&w, (const uint8_t *)"xyz", 3);
  const uint8_t want[] = {0xa2, 0x61, 'a', 0x19, 0x01, 0xf4, 0x62, 'b', 'b',
                          0x43, 'x', 'y', 'z'};
  assert_int_equal(w.err, 0);
  assert_int_equal(w.len, sizeof want);
  assert_memory_equal(b, want, sizeof want);
  lp2p_cbor_map m;
  lp2p_cbor_item k, v;
  assert_int_equal(lp2p_cbor_map_open(&m, b, w.len), 0);
  assert_int_equal(lp2p_cbor_map_next(&m, &k, &v), 1);
  assert_int_equal(k.n, 1);
  assert_int_equal(v.major, LP2P_CBOR_UINT);
  assert_int_equal(v.u, 500);
  assert_int_equal(lp2p_cbor_map_next(&m, &k, &v), 1);
  assert_int_equal(v.major, LP2P_CBOR_BYTES);
  assert_memory_equal(v.p, "xyz", 3);
  assert_int_equal(lp2p_cbor_map_next(&m, &k, &v), 0);
  /* uint widths: each the smallest that fits */
  const uint64_t vals[] = {0, 23, 24, 255, 256, 65535, 65536, 0xffffffffu,
                           UINT64_C(0x100000000), UINT64_MAX};
  const size_t lens[] = {1, 1, 2, 2, 3, 3, 5, 5, 9, 9};
  for (size_t i = 0; i < 10; i++) {
    lp2p_cbor_writer_init(&w, b, sizeof b);
    lp2p_cbor_put_uint(&w, vals[i]);
    assert_int_equal(w.len, lens[i]);
    size_t pos = 0;
    lp2p_cbor_item it;
    assert_int_equal(lp2p_cbor_read(b, w.len, &pos, &it), 0);
    assert_int_equal(it.u, vals[i]);
  }
  /* the writer measures without a buffer */
  lp2p_cbor_writer_init(&w, NULL, 0);
  lp2p_cbor_put_text(&w, "hello", 5);
  assert_int_equal(w.err, LP2P_ERR_NOSPACE);
  assert_int_equal(w.len, 6);
  /* strictness */
  const uint8_t nonmin[] = {0xa1, 0x61, 'a', 0x18, 0x05};    /* 5 in two bytes */
  const uint8_t indef[] = {0xbf, 0x61, 'a', 0x01, 0xff};     /* indefinite map */
  const uint8_t order[] = {0xa2, 0x62, 'b', 'b', 1, 0x61, 'a', 2}; /* longer first */
  const uint8_t dup[] = {0xa2, 0x61, 'a', 1, 0x61, 'a', 2};
  const uint8_t intkey[] = {0xa1, 0x01, 0x02};
  const uint8_t trail[] = {0xa0, 0x00};
  const uint8_t trunc[] = {0xa1, 0x61, 'a', 0x5a, 0xff, 0xff, 0xff, 0xff};
  const uint8_t huge_count[] = {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t *bad[] = {nonmin, indef, order, dup, intkey, trail, trunc, huge_count};
  const size_t badn[] = {sizeof nonmin, sizeof indef, sizeof order, sizeof dup,
                         sizeof intkey, sizeof trail, sizeof trunc, sizeof huge_count};
  for (size_t i = 0; i < 8; i++)
    assert_int_equal(lp2p_cbor_map_open(&m, bad[i], badn[i]), LP2P_ERR_PARSE);
  /* nesting past the bound */
  uint8_t deep[40];
  deep[0] = 0xa1;
  deep[1] = 0x61;
  deep[2] = 'a';
  for (int i = 3; i < 39; i++)
    deep[i] = 0x81; /* [[[[...]]]] */
  deep[39] = 0x00;
  assert_int_equal(lp2p_cbor_map_open(&m, deep, sizeof deep), LP2P_ERR_PARSE);
  /* nested maps, arrays, tags and floats are skipped as whole values */
  const uint8_t nested[] = {0xa3, 0x61, 'a', 0x82, 0xd8, 0x2a, 0x41, 0x00,
                            0xfb, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, 'b', 0xa0,
                            0x61, 'c', 0xf5};
  assert_int_equal(lp2p_cbor_map_open(&m, nested, sizeof nested), 0);
  assert_int_equal(lp2p_cbor_map_next(&m, &k, &v), 1);
  assert_int_equal(v.major, LP2P_CBOR_ARRAY);
  assert_int_equal(v.n, 14);
}

static void test_rfc3339(void **s) {
  (void)s;
  uint64_t t;
  assert_int_equal(lp2p_rfc3339_parse("1970-01-01T00:00:00.000000001Z", 30, &t), 0);
  assert_int_equal(t, 1);
  assert_int_equal(lp2p_rfc3339_parse("2023-11-14T22:13:20Z", 20, &t), 0);
  assert_int_equal(t, NOW);
  assert_int_equal(lp2p_rfc3339_parse("2023-11-14T23:13:20.5+01:00", 27, &t), 0);
  assert_int_equal(t, NOW + LP2P_NS_PER_S / 2);
  assert_int_equal(lp2p_rfc3339_parse("2024-02-29T00:00:00.123456789123Z", 33, &t), 0);
  assert_int_equal(t % LP2P_NS_PER_S, 123456789);
  assert_int_equal(lp2p_rfc3339_parse("1969-12-31T23:59:59Z", 20, &t), 0);
  assert_int_equal(t, 0);
  const char *bad[] = {"2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z",
                       "2023-01-01T24:00:00Z", "2023-01-01T00:00:00",
                       "2023-01-01T00:00:00.Z", "2023-01-01 00:00:00Zx",
                       "9999-01-01T00:00:00Z", "2023-1-01T00:00:00Z", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(lp2p_rfc3339_parse(bad[i], strlen(bad[i]), &t), LP2P_ERR_PARSE);
  char out[32];
  lp2p_rfc3339_format(NOW + 42, out);
  assert_string_equal(out, "2023-11-14T22:13:20.000000042Z");
  lp2p_rfc3339_format(0, out);
  assert_string_equal(out, "1970-01-01T00:00:00.000000000Z");
  for (uint64_t x = 0; x < UINT64_C(16000000000) * LP2P_NS_PER_S; x += UINT64_C(123456789012345678)) {
    lp2p_rfc3339_format(x, out);
    assert_int_equal(lp2p_rfc3339_parse(out, 30, &t), 0);
    assert_int_equal(t, x);
  }
}

static void test_spec_vectors(void **s) {
  (void)s;
  const char *values[] = {NULL, "/ipfs/bafkqaddwgevxmmraojswg33smq", NULL, NULL,
                          "/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi",
                          "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"};
  for (size_t i = 0; i < sizeof ipns_vecs / sizeof ipns_vecs[0]; i++) {
    const struct ipns_vec *v = &ipns_vecs[i];
    lp2p_peerid name;
    assert_int_equal(lp2p_peerid_parse(&name, v->name, strlen(v->name)), 0);
    lp2p_ipns_record r;
    int rc = lp2p_ipns_verify(&name, v->rec, v->len, NOW, &r);
    if (v->valid) {
      if (rc != 0)
        fail_msg("%s: %d", v->what, rc);
      assert_int_equal(r.value_len, strlen(values[i]));
      assert_memory_equal(r.value, values[i], r.value_len);
      assert_int_equal(r.validity_type, 0);
      /* our writer produces the very same DAG-CBOR for the same fields */
      uint8_t b[512];
      lp2p_cbor_writer w;
      lp2p_cbor_writer_init(&w, b, sizeof b);
      lp2p_cbor_put_head(&w, LP2P_CBOR_MAP, 5);
      lp2p_cbor_put_text(&w, "TTL", 3);
      lp2p_cbor_put_uint(&w, r.ttl_ns);
      lp2p_cbor_put_text(&w, "Value", 5);
      lp2p_cbor_put_bytes(&w, r.value, r.value_len);
      lp2p_cbor_put_text(&w, "Sequence", 8);
      lp2p_cbor_put_uint(&w, r.sequence);
      lp2p_cbor_put_text(&w, "Validity", 8);
      lp2p_cbor_put_bytes(&w, r.validity, r.validity_len);
      lp2p_cbor_put_text(&w, "ValidityType", 12);
      lp2p_cbor_put_uint(&w, 0);
      assert_int_equal(w.len, r.data_len);
      assert_memory_equal(b, r.data, r.data_len);
      /* and the DHT validator takes it under /ipns/<id> */
      uint8_t key[80];
      memcpy(key, "/ipns/", 6);
      memcpy(key + 6, name.bytes, name.len);
      lp2p_kad_validators vs;
      lp2p_kad_validators_default(&vs);
      assert_int_equal(lp2p_kad_validate(&vs, key, 6 + name.len, v->rec, v->len, NOW), 0);
      /* they are valid for 100 years from 2023, not 200 */
      assert_int_equal(lp2p_ipns_verify(&name, v->rec, v->len,
                                        NOW + UINT64_C(200) * 365 * 24 * HOUR, NULL),
                       LP2P_ERR_TIMEOUT);
    } else {
      if (rc == 0)
        fail_msg("%s validated", v->what);
    }
  }
}

static void make_key(lp2p_kad_bytes *out, uint8_t *buf, const lp2p_peerid *name) {
  memcpy(buf, "/ipns/", 6);
  memcpy(buf + 6, name->bytes, name->len);
  out->p = buf;
  out->n = 6 + name->len;
}

static void test_seal_ed25519(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 7, 0, &rng);
  lp2p_privkey k, other;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  assert_int_equal(lp2p_key_generate(&other, LP2P_KEY_ED25519, 0, &rng), 0);
  lp2p_peerid name, oname;
  lp2p_peerid_from_pubkey(&name, &k.pub);
  lp2p_peerid_from_pubkey(&oname, &other.pub);
  const char *path = "/ipfs/bafkqaaa";
  uint8_t rec[1024], keyb[80];
  size_t n;
  lp2p_kad_bytes key;
  make_key(&key, keyb, &name);
  for (int v1 = 0; v1 <= 1; v1++) {
    assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)path, strlen(path), 5,
                                    NOW + HOUR, LP2P_IPNS_TTL_DEFAULT_NS, v1, rec,
                                    sizeof rec, &n), 0);
    lp2p_ipns_record r;
    assert_int_equal(lp2p_ipns_validate(key.p, key.n, rec, n, NOW, &r), 0);
    assert_int_equal(r.sequence, 5);
    assert_int_equal(r.ttl_ns, LP2P_IPNS_TTL_DEFAULT_NS);
    assert_int_equal(r.eol_unix_ns, NOW + HOUR);
    assert_int_equal(r.has_v1, v1);
    assert_null(r.pubkey); /* ed25519: inlined in the name */
    assert_int_equal(r.value_len, strlen(path));
    /* expired at its EOL */
    assert_int_equal(lp2p_ipns_validate(key.p, key.n, rec, n, NOW + HOUR, NULL), LP2P_ERR_TIMEOUT);
    /* under another name */
    uint8_t ok2[80];
    lp2p_kad_bytes okey;
    make_key(&okey, ok2, &oname);
    assert_int_equal(lp2p_ipns_validate(okey.p, okey.n, rec, n, NOW, NULL), LP2P_ERR_SIGNATURE);
    /* every single-byte change is caught, except inside signatureV1,
     * which is never verified (spec "Record Verification"): with v1 it
     * follows the 16 bytes of field 1 (the 14-byte path), at 18..82 */
    for (size_t i = 0; i < n; i++) {
      if (v1 && i >= 18 && i < 18 + 64)
        continue;
      rec[i] ^= 0x01;
      int rc = lp2p_ipns_validate(key.p, key.n, rec, n, NOW, NULL);
      if (rc == 0)
        fail_msg("byte %zu changed and still valid", i);
      rec[i] ^= 0x01;
    }
  }
  /* the sizing pass and too small a buffer */
  assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)path, strlen(path), 5, NOW, 0,
                                  1, NULL, 0, &n), LP2P_ERR_NOSPACE);
  assert_true(n > 100);
  static uint8_t big[LP2P_IPNS_RECORD_MAX];
  memset(big, 'a', sizeof big);
  assert_int_equal(lp2p_ipns_seal(&k, big, 10200, 1, NOW, 0, 0, rec, sizeof rec, &n), LP2P_ERR_LIMIT);
}

/* RSA names are hashes: the record embeds the key, which must match. */
static void test_seal_rsa(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 8, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_RSA, 2048, &rng), 0);
  lp2p_peerid name;
  lp2p_peerid_from_pubkey(&name, &k.pub);
  assert_int_equal(name.bytes[0], 0x12);
  uint8_t rec[2048], keyb[80];
  size_t n;
  lp2p_kad_bytes key;
  make_key(&key, keyb, &name);
  assert_int_equal(lp2p_ipns_seal(&k, (const uint8_t *)"/ipfs/x", 7, 1, NOW + HOUR,
                                  0, 1, rec, sizeof rec, &n), 0);
  lp2p_ipns_record r;
  assert_int_equal(lp2p_ipns_validate(key.p, key.n, rec, n, NOW, &r), 0);
  assert_non_null(r.pubkey);
  /* another RSA name: the embedded key does not derive it */
  lp2p_peerid other = name;
  other.bytes[5] ^= 1;
  make_key(&key, keyb, &other);
  assert_int_equal(lp2p_ipns_validate(key.p, key.n, rec, n, NOW, NULL), LP2P_ERR_PEER_ID_MISMATCH);
}

static void test_select(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 9, 0, &rng);
  lp2p_privkey k;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_ED25519, 0, &rng), 0);
  uint8_t a[512], b[512], c[512], d[512];
  size_t na, nb, nc, nd;
  lp2p_ipns_seal(&k, (const uint8_t *)"/a", 2, 3, NOW + HOUR, 0, 0, a, sizeof a, &na);
  lp2p_ipns_seal(&k, (const uint8_t *)"/b", 2, 4, NOW + HOUR, 0, 0, b, sizeof b, &nb);
  lp2p_ipns_seal(&k, (const uint8_t *)"/c", 2, 4, NOW + 2 * HOUR, 0, 0, c, sizeof c, &nc);
  lp2p_ipns_seal(&k, (const uint8_t *)"/d", 2, 4, NOW + 2 * HOUR, 0, 0, d, sizeof d, &nd);
  lp2p_kad_bytes vals[5] = {{a, na}, {b, nb}, {(const uint8_t *)"junk", 4}, {c, nc}, {d, nd}};
  size_t best;
  assert_int_equal(lp2p_ipns_select(vals, 5, &best), 0);
  assert_int_equal(best, 3); /* seq 4, later EOL, first of the tie */
  assert_int_equal(lp2p_ipns_select(vals, 2, &best), 0);
  assert_int_equal(best, 1);
  assert_int_equal(lp2p_ipns_select(vals + 2, 1, &best), 0);
  assert_int_equal(best, 0);
  assert_int_equal(lp2p_ipns_select(vals, 0, &best), LP2P_ERR_INVAL);
  /* through the registry under /ipns/ */
  lp2p_kad_validators vs;
  lp2p_kad_validators_default(&vs);
  assert_int_equal(lp2p_kad_select(&vs, (const uint8_t *)"/ipns/x", 7, vals, 5, &best), 0);
  assert_int_equal(best, 3);
}

static void test_pk_and_registry(void **s) {
  (void)s;
  lp2p_rng_chacha_init(&rng_st, 10, 0, &rng);
  lp2p_privkey k, other;
  assert_int_equal(lp2p_key_generate(&k, LP2P_KEY_SECP256K1, 0, &rng), 0);
  assert_int_equal(lp2p_key_generate(&other, LP2P_KEY_SECP256K1, 0, &rng), 0);
  lp2p_peerid id;
  lp2p_peerid_from_pubkey(&id, &k.pub);
  uint8_t key[80], pk[LP2P_PUBKEY_PB_MAX], opk[LP2P_PUBKEY_PB_MAX];
  size_t pkn, opkn;
  memcpy(key, "/pk/", 4);
  memcpy(key + 4, id.bytes, id.len);
  size_t kn = 4 + id.len;
  assert_int_equal(lp2p_pubkey_marshal(&k.pub, pk, sizeof pk, &pkn), 0);
  assert_int_equal(lp2p_pubkey_marshal(&other.pub, opk, sizeof opk, &opkn), 0);
  lp2p_kad_validators vs;
  lp2p_kad_validators_default(&vs);
  assert_int_equal(lp2p_kad_validate(&vs, key, kn, pk, pkn, 0), 0);
  assert_int_equal(lp2p_kad_validate(&vs, key, kn, opk, opkn, 0), LP2P_ERR_PEER_ID_MISMATCH);
  assert_int_equal(lp2p_kad_validate(&vs, key, kn, pk, pkn - 1, 0), LP2P_ERR_PARSE);
  assert_int_equal(lp2p_kad_validate(&vs, key, 6, pk, pkn, 0), LP2P_ERR_PARSE);
  lp2p_kad_bytes two[2] = {{opk, opkn}, {pk, pkn}};
  size_t best = 9;
  assert_int_equal(lp2p_kad_select(&vs, key, kn, two, 2, &best), 0);
  assert_int_equal(best, 0);
  /* unknown namespaces and keys without one */
  assert_int_equal(lp2p_kad_validate(&vs, (const uint8_t *)"/v/x", 4, pk, pkn, 0), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_kad_validate(&vs, (const uint8_t *)"pk/x", 4, pk, pkn, 0), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_kad_validate(&vs, (const uint8_t *)"//x", 3, pk, pkn, 0), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_kad_validate(&vs, (const uint8_t *)"/pk", 3, pk, pkn, 0), LP2P_ERR_UNSUPPORTED);
  /* a custom namespace; replacing one; the table bound */
  lp2p_kad_validator v = vs.v[0];
  v.ns = "v";
  assert_int_equal(lp2p_kad_validators_add(&vs, &v), 0);
  assert_int_equal(lp2p_kad_validate(&vs, (const uint8_t *)"/v/x", 4, pk, pkn, 0), LP2P_ERR_INVAL);
  assert_int_equal(lp2p_kad_validators_add(&vs, &v), 0);
  assert_int_equal(vs.n, 3);
  v.ns = "a/b";
  assert_int_equal(lp2p_kad_validators_add(&vs, &v), LP2P_ERR_INVAL);
  const char *names[] = {"n1", "n2", "n3", "n4", "n5", "n6"};
  for (int i = 0; i < 5; i++) {
    v.ns = names[i];
    assert_int_equal(lp2p_kad_validators_add(&vs, &v), 0);
  }
  v.ns = names[5];
  assert_int_equal(lp2p_kad_validators_add(&vs, &v), LP2P_ERR_LIMIT);
}

static void test_parse_rejects(void **s) {
  (void)s;
  lp2p_ipns_record r;
  static uint8_t big[LP2P_IPNS_RECORD_MAX + 1];
  assert_int_equal(lp2p_ipns_parse(&r, big, sizeof big), LP2P_ERR_LIMIT);
  assert_int_equal(lp2p_ipns_parse(&r, NULL, 0), LP2P_ERR_PARSE);
  /* a v2 record whose ValidityType is 1 */
  const struct ipns_vec *v2 = &ipns_vecs[5];
  uint8_t rec[512];
  memcpy(rec, v2->rec, v2->len);
  assert_int_equal(lp2p_ipns_parse(&r, rec, v2->len), 0);
  size_t off = (size_t)(r.data - rec);
  /* ValidityType is the last map entry: its value is the data's last byte */
  assert_int_equal(rec[off + r.data_len - 1], 0x00);
  rec[off + r.data_len - 1] = 0x01;
  assert_int_equal(lp2p_ipns_parse(&r, rec, v2->len), LP2P_ERR_UNSUPPORTED);
  rec[off + r.data_len - 1] = 0x41; /* bytes instead of uint: truncated */
  assert_int_equal(lp2p_ipns_parse(&r, rec, v2->len), LP2P_ERR_PARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cbor),
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_spec_vectors),
      cmocka_unit_test(test_seal_ed25519),
      cmocka_unit_test(test_seal_rsa),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_pk_and_registry),
      cmocka_unit_test(test_parse_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
