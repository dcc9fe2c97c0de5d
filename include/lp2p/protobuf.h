/** Minimal protobuf (proto2/proto3 wire format) reader and writer.
 *
 * Pure codec: no allocation. The reader walks a caller buffer field by
 * field and hands out pointers into it (valid as long as the buffer is).
 * The writer appends into a caller buffer, records the first error in
 * w->err (sticky), and always produces deterministic minimal encodings
 * (tags and lengths as minimal varints, fields in call order). Groups
 * (wire types 3 and 4) are rejected. */
#ifndef LP2P_PROTOBUF_H
#define LP2P_PROTOBUF_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_PB_VARINT 0
#define LP2P_PB_FIXED64 1
#define LP2P_PB_LEN 2
#define LP2P_PB_FIXED32 5
/** Largest field number protobuf allows (2^29 - 1). */
#define LP2P_PB_FIELD_MAX 536870911u

/** One decoded field. For LP2P_PB_VARINT, _FIXED64 and _FIXED32 the value
 * is in `u64` (fixed values little-endian decoded, fixed32 zero-extended)
 * and bytes/len are NULL/0. For LP2P_PB_LEN, `bytes` points into the
 * reader's buffer, `len` is its length and u64 is 0. */
typedef struct lp2p_pb_field {
  uint32_t num;
  uint8_t wire;
  uint64_t u64;
  const uint8_t *bytes;
  size_t len;
} lp2p_pb_field;

/** Reader over p[0..n). Does not own the buffer. */
typedef struct lp2p_pb_reader {
  const uint8_t *p;
  size_t n;
  size_t pos;
} lp2p_pb_reader;

/** Start reading p[0..n) (p may be NULL when n == 0). */
LP2P_API void lp2p_pb_reader_init(lp2p_pb_reader *r, const uint8_t *p,
                                  size_t n);

/** Read the next field into `*f`. Returns 1 (a field was read), 0 (clean end
 * of input) or LP2P_ERR_PARSE (truncated tag or value, varint longer than
 * 10 bytes or above 2^64-1, field number 0 or > 2^29-1, wire type 3, 4, 6
 * or 7, length past the end). After an error the reader stays at the
 * failing field, so calling again returns the same error. */
LP2P_API int lp2p_pb_next(lp2p_pb_reader *r, lp2p_pb_field *f);

/** Decode a protobuf varint (up to 10 bytes, the value must fit in 64
 * bits; non-minimal forms are accepted as protobuf parsers do). Returns
 * bytes consumed (> 0), or LP2P_ERR_TRUNCATED or LP2P_ERR_OVERFLOW. */
LP2P_API lp2p_ssize lp2p_pb_varint_decode(const uint8_t *p, size_t n,
                                          uint64_t *v);

/** Writer into p[0..cap). */
typedef struct lp2p_pb_writer {
  uint8_t *p;
  size_t cap;
  size_t len;
  int err; /**< first error (sticky), 0 if none */
} lp2p_pb_writer;

/** Start writing into p[0..cap) (p may be NULL with cap 0 to measure: the
 * writer then counts `len` while err becomes LP2P_ERR_NOSPACE). */
LP2P_API void lp2p_pb_writer_init(lp2p_pb_writer *w, uint8_t *p, size_t cap);

/** Field with wire type 0 (int32, int64, uint32, uint64, bool, enum; a negative
 * int32 or int64 must be passed sign-extended to 64 bits: 10 bytes). */
LP2P_API void lp2p_pb_put_varint(lp2p_pb_writer *w, uint32_t num, uint64_t v);
/** Length-delimited field with wire type 2 (bytes, submessage). */
LP2P_API void lp2p_pb_put_bytes(lp2p_pb_writer *w, uint32_t num,
                                const uint8_t *p, size_t n);
/** Length-delimited string field (NUL-terminated C string, without NUL). */
LP2P_API void lp2p_pb_put_string(lp2p_pb_writer *w, uint32_t num,
                                 const char *s);
/** Field with wire type 1 (fixed64, sfixed64, double bits). */
LP2P_API void lp2p_pb_put_fixed64(lp2p_pb_writer *w, uint32_t num, uint64_t v);
/** Field with wire type 5 (fixed32, sfixed32, float bits). */
LP2P_API void lp2p_pb_put_fixed32(lp2p_pb_writer *w, uint32_t num, uint32_t v);
/** Tag and length of a length-delimited field whose `len` body bytes the
 * caller then appends (lp2p_pb_put_raw or nested put_* calls). */
LP2P_API void lp2p_pb_put_tag_len(lp2p_pb_writer *w, uint32_t num, size_t len);
/** Append raw bytes (a pre-encoded body). */
LP2P_API void lp2p_pb_put_raw(lp2p_pb_writer *w, const uint8_t *p, size_t n);

/** Bytes a whole field of each kind takes (for sizing submessages before
 * lp2p_pb_put_tag_len). */
LP2P_API size_t lp2p_pb_size_varint(uint32_t num, uint64_t v);
LP2P_API size_t lp2p_pb_size_bytes(uint32_t num, size_t n);

/** Finish: `*len` (may be NULL) gets the bytes written, or after
 * LP2P_ERR_NOSPACE the bytes the whole message needs (so a first pass with
 * cap 0 measures; buffer bytes past the last whole field are unspecified
 * after an error). Returns 0 or the
 * sticky error: LP2P_ERR_NOSPACE (buffer too small), LP2P_ERR_INVAL (field
 * number 0 or above 2^29-1, NULL data with n > 0). */
LP2P_API int lp2p_pb_writer_finish(const lp2p_pb_writer *w, size_t *len);

/** Writes a message's fields (the body of a framed message). */
typedef void (*lp2p_pb_put_fn)(lp2p_pb_writer *w, const void *msg);

/** Encode `msg` as a varint length prefix and its body, the framing of the
 * libp2p protocols that exchange length-prefixed protobufs (DCUtR, circuit
 * relay v2, Kademlia): `put` runs twice, once to measure. `*len` (may be
 * NULL) gets the framed size, also when the buffer is too small. Returns 0,
 * LP2P_ERR_LIMIT (body over `body_max`), LP2P_ERR_NOSPACE or the writer's
 * error. */
LP2P_API int lp2p_pb_encode_framed(lp2p_pb_put_fn put, const void *msg,
                                   size_t body_max, uint8_t *out, size_t cap,
                                   size_t *len);

#ifdef __cplusplus
}
#endif
#endif
