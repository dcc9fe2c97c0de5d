/* Minimal strict DER (X.690) reader and writer for the key encodings the
 * libp2p peer-ids spec uses: PKIX SubjectPublicKeyInfo, PKCS#1
 * RSAPrivateKey, SEC1 ECPrivateKey and ECDSA-Sig-Value. Internal to crypto/.
 *
 * The reader never reads outside [p, p+n): every length is checked against
 * what remains before it is used. Only single-byte tags, definite minimal
 * lengths (at most 3 length octets) and minimal INTEGERs are accepted, so a
 * successful parse is canonical DER. */
#ifndef LP2P_CRYPTO_DER_H
#define LP2P_CRYPTO_DER_H

#include <stddef.h>
#include <stdint.h>

#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_SEQUENCE 0x30
#define DER_CTX0 0xa0 /* [0] constructed */
#define DER_CTX1 0xa1 /* [1] constructed */

typedef struct der_reader {
  const uint8_t *p;
  size_t n;
  size_t pos;
} der_reader;

void lp2p_der_reader_init(der_reader *r, const uint8_t *p, size_t n);
/* 1 if the reader consumed everything, else 0. */
int lp2p_der_done(const der_reader *r);
/* The next tag, or -1 at the end. */
int lp2p_der_peek_tag(const der_reader *r);
/* Read one element with tag `tag`; its contents are returned as a pointer
 * into the input. Returns 0 or LP2P_ERR_PARSE. */
int lp2p_der_read(der_reader *r, uint8_t tag, const uint8_t **val, size_t *len);
/* Read a non-negative minimal INTEGER and return its magnitude without the
 * sign byte (zero has length 0). Returns 0 or LP2P_ERR_PARSE. */
int lp2p_der_read_uint(der_reader *r, const uint8_t **mag, size_t *len);
/* Read an element and require its contents to equal exp[0..elen). */
int lp2p_der_expect(der_reader *r, uint8_t tag, const uint8_t *exp,
                    size_t elen);

/* Encoded sizes. */
size_t lp2p_der_len_size(size_t len);
size_t lp2p_der_tlv_size(size_t len);
/* Size of the INTEGER encoding a big-endian magnitude (leading zero bytes
 * of `mag` are ignored). */
size_t lp2p_der_uint_size(const uint8_t *mag, size_t n);

typedef struct der_writer {
  uint8_t *p;
  size_t cap;
  size_t len;
  int err; /* sticky LP2P_ERR_NOSPACE */
} der_writer;

void lp2p_der_writer_init(der_writer *w, uint8_t *p, size_t cap);
void lp2p_der_put_hdr(der_writer *w, uint8_t tag, size_t len);
void lp2p_der_put_raw(der_writer *w, const uint8_t *p, size_t n);
void lp2p_der_put_uint(der_writer *w, const uint8_t *mag, size_t n);

#endif
