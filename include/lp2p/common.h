/** lp2p engine contract: time, memory, randomness, errors, state flags.
 *
 * Every engine in lp2p is a sans-IO state machine that takes bytes, time and
 * randomness in and gives bytes and events out. This header defines the
 * types that every engine shares (see DESIGN.md section 2). */
#ifndef LP2P_COMMON_H
#define LP2P_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LP2P_API __attribute__((visibility("default")))
#else
#define LP2P_API
#endif

/** Monotonic time in nanoseconds, arbitrary origin. */
typedef uint64_t lp2p_tstamp;
#define LP2P_TSTAMP_NONE UINT64_MAX
#define LP2P_NS_PER_MS UINT64_C(1000000)
#define LP2P_NS_PER_S UINT64_C(1000000000)

/** Signed size: a byte count, or a negative LP2P_ERR_* code. */
typedef int64_t lp2p_ssize;

/** Injected allocator. A NULL `const lp2p_mem *` anywhere means libc.
 * `ud` is passed back to every function. `calloc` and `realloc` may be NULL,
 * in which case they are emulated with malloc/free (realloc then needs the
 * old size, so engines only call lp2p_mem_realloc with it). */
typedef struct lp2p_mem {
  void *ud;
  void *(*malloc)(size_t n, void *ud);
  void (*free)(void *p, void *ud);
  void *(*calloc)(size_t count, size_t n, void *ud);
  void *(*realloc)(void *p, size_t n, void *ud);
} lp2p_mem;

/** Injected randomness: fill `out` with `n` random bytes. Never fails. */
typedef struct lp2p_rng {
  void (*fill)(void *ctx, uint8_t *out, size_t n);
  void *ctx;
} lp2p_rng;

/** Log levels, most severe first; a sink drops levels above its own. */
#define LP2P_LOG_ERROR 0
#define LP2P_LOG_WARN 1
#define LP2P_LOG_INFO 2
#define LP2P_LOG_DEBUG 3
#define LP2P_LOG_TRACE 4

/** Optional injected log sink: `level` is an LP2P_LOG_*, `msg` one line
 * without newline, "<module> [<id>=<value> ...] <text>", valid only during
 * the call. */
typedef struct lp2p_log {
  void (*write)(void *ud, int level, const char *msg);
  void *ud;
} lp2p_log;

/* ---- errors ------------------------------------------------------------
 * X(name, value, fatal, text). A fatal error leaves an engine dead: after it
 * only _free is allowed. Non-fatal errors are ordinary results (a codec
 * rejecting input, a full buffer, a stream reset, a call refused by a
 * configured limit, a timed-out operation).
 *
 * LIMIT and TIMEOUT are non-fatal: an API call refused by a limit (too many
 * streams, dials, proposals) or a timed-out request leaves the engine
 * usable. Fatality describes the code, not who caused it: when a PEER
 * crosses a limit or lets a deadline pass, the engine itself ends (sticky
 * last_error = LIMIT or TIMEOUT, its goodbye, a CLOSED event), so check
 * lp2p_X_state() / last_error, never lp2p_err_is_fatal(), to learn whether
 * an engine is still alive. */
#define LP2P_ERRORS(X)                                                         \
  X(OK, 0, 0, "ok")                                                            \
  X(INVAL, -1, 0, "invalid argument")                                          \
  X(NOMEM, -2, 1, "out of memory")                                             \
  X(LIMIT, -3, 0, "configured limit exceeded")                                 \
  X(PROTO, -4, 1, "protocol violation")                                        \
  X(CRYPTO, -5, 1, "cryptographic failure")                                    \
  X(AGAIN, -6, 0, "try again later")                                           \
  X(CLOSED, -7, 0, "closed")                                                   \
  X(STATE, -8, 0, "operation not allowed in this state")                       \
  X(TIMEOUT, -9, 0, "timed out")                                               \
  X(UNSUPPORTED, -10, 0, "protocol not supported")                             \
  X(PEER_ID_MISMATCH, -11, 1, "peer id mismatch")                              \
  X(TRUNCATED, -12, 0, "input truncated")                                      \
  X(OVERFLOW, -13, 0, "value overflows")                                       \
  X(NONMINIMAL, -14, 0, "non-minimal encoding")                                \
  X(NOSPACE, -15, 0, "output buffer too small")                                \
  X(PARSE, -16, 0, "malformed input")                                          \
  X(RESET, -17, 0, "stream reset")                                             \
  X(EOF, -18, 0, "end of stream")                                              \
  X(NOT_FOUND, -19, 0, "not found")                                            \
  X(IO, -20, 1, "i/o error")                                                   \
  X(UNREACHABLE, -21, 0, "peer unreachable")                                   \
  X(REFUSED, -22, 0, "connection refused")                                     \
  X(SIGNATURE, -23, 1, "invalid signature")                                    \
  X(KEY_TYPE, -24, 0, "unsupported key type")                                  \
  X(GOAWAY, -25, 1, "session closed by peer (go away)")                        \
  X(INTERNAL, -26, 1, "internal error")                                        \
  X(CARRIER_CLOSED, -27, 0, "carrier stream closed")                           \
  X(LIMITED, -28, 0, "not allowed on a limited connection")                   \
  X(NO_RESOLVER, -29, 0, "no DNS server configured")                          \
  X(DENIED, -30, 0, "denied by the connection gater")

enum lp2p_err {
#define LP2P_ERR_ENUM_(name, value, fatal, text) LP2P_ERR_##name = (value),
  LP2P_ERRORS(LP2P_ERR_ENUM_)
#undef LP2P_ERR_ENUM_
};

/** A short, static, human-readable description of `err`. Never NULL. */
LP2P_API const char *lp2p_strerror(int err);
/** The symbolic name of `err` ("LP2P_ERR_LIMIT"). Never NULL. */
LP2P_API const char *lp2p_errname(int err);
/** Nonzero if `err` returned from a call always means the engine is dead
 * (only _free allowed after it): NOMEM, PROTO, CRYPTO, IO, GOAWAY ...;
 * unknown codes count as fatal. LIMIT and TIMEOUT are not: see above. */
LP2P_API int lp2p_err_is_fatal(int err);

/* ---- engine state flags (lp2p_X_state) -------------------------------- */
#define LP2P_STATE_WANT_READ 0x1u  /**< engine accepts input now */
#define LP2P_STATE_HAS_OUTPUT 0x2u /**< out_peek would return bytes */
#define LP2P_STATE_CLOSING 0x4u    /**< goodbye queued, draining */
#define LP2P_STATE_CLOSED 0x8u     /**< done; only _free remains */

/* ---- memory ----------------------------------------------------------- */

/** The libc allocator (malloc/free/calloc/realloc). */
LP2P_API const lp2p_mem *lp2p_mem_libc(void);
/** Allocate through `m` (NULL = libc). Returns NULL on failure or n == 0. */
LP2P_API void *lp2p_mem_malloc(const lp2p_mem *m, size_t n);
/** Zeroed allocation with overflow check. */
LP2P_API void *lp2p_mem_calloc(const lp2p_mem *m, size_t count, size_t n);
/** Resize; `old_n` is the current size (needed when m has no realloc).
 * On failure returns NULL and leaves `p` untouched. */
LP2P_API void *lp2p_mem_realloc(const lp2p_mem *m, void *p, size_t old_n,
                                size_t n);
/** Free (NULL-safe). */
LP2P_API void lp2p_mem_free(const lp2p_mem *m, void *p);

/** Arena allocator over a caller buffer: first-fit free list with
 * coalescing. Allocation fails cleanly (NULL) when full; never touches
 * memory outside `buf`. The arena struct must outlive every allocation. */
typedef struct lp2p_mem_arena {
  uint8_t *base;
  size_t len;
  size_t used_bytes;
  size_t peak_bytes;
  void *free_list;
  lp2p_mem mem; /**< pass &arena.mem to engines */
} lp2p_mem_arena;
/** Returns 0 or LP2P_ERR_INVAL (buffer too small or misaligned length). */
LP2P_API int lp2p_mem_arena_init(lp2p_mem_arena *a, void *buf, size_t len);

/** Counting allocator wrapping `base` (NULL = libc): tracks live bytes,
 * peak, allocation count, an optional byte limit, and can fail the Nth
 * allocation (for allocation-failure sweeps). */
typedef struct lp2p_mem_counting {
  const lp2p_mem *base;
  size_t live_bytes;
  size_t peak_bytes;
  size_t live_allocs;
  uint64_t total_allocs;  /**< successful + failed attempts */
  size_t limit_bytes;     /**< 0 = unlimited */
  uint64_t fail_at;       /**< fail the attempt with this 1-based index; 0 = never */
  uint64_t failed_allocs;
  lp2p_mem mem; /**< pass &counting.mem to engines */
} lp2p_mem_counting;
LP2P_API void lp2p_mem_counting_init(lp2p_mem_counting *c,
                                     const lp2p_mem *base);

/* ---- randomness ------------------------------------------------------- */

/** Production RNG (libsodium randombytes_buf). */
LP2P_API void lp2p_rng_system(lp2p_rng *out);

/** Deterministic RNG: ChaCha20 keystream keyed by a 64-bit seed and a
 * 64-bit stream id (so independent streams derive from one seed). */
typedef struct lp2p_rng_chacha {
  uint8_t key[32];
  uint8_t nonce[12];
  uint64_t counter;  /**< 64-byte block counter */
  uint8_t buf[64];
  size_t buf_pos;    /**< 64 = empty */
} lp2p_rng_chacha;
LP2P_API void lp2p_rng_chacha_init(lp2p_rng_chacha *st, uint64_t seed,
                                   uint64_t stream, lp2p_rng *out);

/** Helpers over an lp2p_rng. */
LP2P_API uint64_t lp2p_rng_u64(const lp2p_rng *r);
/** Uniform in [0, bound); bound 0 returns 0. */
LP2P_API uint64_t lp2p_rng_below(const lp2p_rng *r, uint64_t bound);

/** Library version string. */
LP2P_API const char *lp2p_version(void);

#ifdef __cplusplus
}
#endif
#endif
