/* A small FuzzedDataProvider for C: takes integers and byte runs from the
 * front of the fuzz input, returns zeros once it runs out. */
#ifndef LP2P_FUZZ_FDP_H
#define LP2P_FUZZ_FDP_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fdp {
  const uint8_t *p;
  size_t n;
} fdp;

static inline void fdp_init(fdp *f, const uint8_t *p, size_t n) { f->p = p; f->n = n; }
static inline size_t fdp_left(const fdp *f) { return f->n; }
static inline uint8_t fdp_u8(fdp *f) {
  if (!f->n) return 0;
  f->n--;
  return *f->p++;
}
static inline uint16_t fdp_u16(fdp *f) { return (uint16_t)(fdp_u8(f) | fdp_u8(f) << 8); }
static inline uint32_t fdp_u32(fdp *f) { return (uint32_t)fdp_u16(f) | (uint32_t)fdp_u16(f) << 16; }
static inline uint64_t fdp_u64(fdp *f) { return (uint64_t)fdp_u32(f) | (uint64_t)fdp_u32(f) << 32; }
/* Integer in [lo, hi]. */
static inline size_t fdp_range(fdp *f, size_t lo, size_t hi) {
  if (hi <= lo) return lo;
  return lo + (size_t)(fdp_u32(f) % (uint32_t)(hi - lo + 1));
}
static inline int fdp_bool(fdp *f) { return fdp_u8(f) & 1; }
/* Up to `max` bytes (length chosen by the input); returns the count. */
static inline size_t fdp_bytes(fdp *f, const uint8_t **out, size_t max) {
  size_t k = fdp_range(f, 0, max);
  if (k > f->n) k = f->n;
  *out = f->p;
  f->p += k;
  f->n -= k;
  return k;
}
/* Everything that is left. */
static inline size_t fdp_rest(fdp *f, const uint8_t **out) {
  size_t k = f->n;
  *out = f->p;
  f->p += k;
  f->n = 0;
  return k;
}
#endif
