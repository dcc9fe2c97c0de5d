/* Allocation dispatch, the arena allocator and the counting allocator.
 * Pure: the libc allocator itself lives in sys/mem_libc.c so that no object
 * under proto/ references malloc (checked by `make check-purity`). */
#include <string.h>

#include "lp2p/common.h"

static const lp2p_mem *pick(const lp2p_mem *m) {
  return m ? m : lp2p_mem_libc();
}

void *lp2p_mem_malloc(const lp2p_mem *m, size_t n) {
  if (n == 0)
    return NULL;
  m = pick(m);
  return m->malloc(n, m->ud);
}

void *lp2p_mem_calloc(const lp2p_mem *m, size_t count, size_t n) {
  if (count == 0 || n == 0 || count > SIZE_MAX / n)
    return NULL;
  m = pick(m);
  if (m->calloc)
    return m->calloc(count, n, m->ud);
  void *p = m->malloc(count * n, m->ud);
  if (p)
    memset(p, 0, count * n);
  return p;
}

void *lp2p_mem_realloc(const lp2p_mem *m, void *p, size_t old_n, size_t n) {
  if (!p)
    return lp2p_mem_malloc(m, n);
  if (n == 0)
    return NULL;
  m = pick(m);
  if (m->realloc)
    return m->realloc(p, n, m->ud);
  void *q = m->malloc(n, m->ud);
  if (!q)
    return NULL;
  memcpy(q, p, old_n < n ? old_n : n);
  m->free(p, m->ud);
  return q;
}

void lp2p_mem_free(const lp2p_mem *m, void *p) {
  if (!p)
    return;
  m = pick(m);
  m->free(p, m->ud);
}

/* ---- arena: first-fit free list, address-ordered, coalescing ---------- */

typedef struct blk {
  size_t size; /* payload bytes (multiple of ALIGN) */
  struct blk *next;
} blk;
#define ALIGN 16u
#define HDR ((sizeof(blk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static size_t round_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static void *arena_malloc(size_t n, void *ud) {
  lp2p_mem_arena *a = ud;
  if (n == 0 || n > a->len)
    return NULL;
  size_t want = round_up(n);
  blk **pp = (blk **)&a->free_list;
  for (blk *b = *pp; b; pp = &b->next, b = b->next) {
    if (b->size < want)
      continue;
    if (b->size >= want + HDR + ALIGN) { /* split */
      blk *rest = (blk *)((uint8_t *)b + HDR + want);
      rest->size = b->size - want - HDR;
      rest->next = b->next;
      *pp = rest;
      b->size = want;
    } else {
      *pp = b->next;
    }
    a->used_bytes += b->size + HDR;
    if (a->used_bytes > a->peak_bytes)
      a->peak_bytes = a->used_bytes;
    return (uint8_t *)b + HDR;
  }
  return NULL;
}

static void arena_free(void *p, void *ud) {
  lp2p_mem_arena *a = ud;
  if (!p)
    return;
  blk *b = (blk *)((uint8_t *)p - HDR);
  a->used_bytes -= b->size + HDR;
  blk **pp = (blk **)&a->free_list;
  blk *prev = NULL;
  while (*pp && *pp < b) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  b->next = *pp;
  *pp = b;
  if (b->next && (uint8_t *)b + HDR + b->size == (uint8_t *)b->next) {
    b->size += HDR + b->next->size;
    b->next = b->next->next;
  }
  if (prev && (uint8_t *)prev + HDR + prev->size == (uint8_t *)b) {
    prev->size += HDR + b->size;
    prev->next = b->next;
  }
}

static void *arena_realloc(void *p, size_t n, void *ud) {
  blk *b = (blk *)((uint8_t *)p - HDR);
  if (round_up(n) <= b->size)
    return p;
  void *q = arena_malloc(n, ud);
  if (!q)
    return NULL;
  memcpy(q, p, b->size);
  arena_free(p, ud);
  return q;
}

int lp2p_mem_arena_init(lp2p_mem_arena *a, void *buf, size_t len) {
  if (!a || !buf)
    return LP2P_ERR_INVAL;
  uintptr_t start = ((uintptr_t)buf + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
  size_t skip = (size_t)(start - (uintptr_t)buf);
  if (len < skip + HDR + ALIGN)
    return LP2P_ERR_INVAL;
  memset(a, 0, sizeof(*a));
  a->base = (uint8_t *)start;
  a->len = (len - skip) & ~(size_t)(ALIGN - 1);
  blk *b = (blk *)a->base;
  b->size = a->len - HDR;
  b->next = NULL;
  a->free_list = b;
  a->mem.ud = a;
  a->mem.malloc = arena_malloc;
  a->mem.free = arena_free;
  a->mem.realloc = arena_realloc;
  a->mem.calloc = NULL;
  return 0;
}

/* ---- counting allocator: a size header in front of every block -------- */

#define CHDR 16u

static void *count_malloc(size_t n, void *ud) {
  lp2p_mem_counting *c = ud;
  c->total_allocs++;
  if ((c->fail_at && c->total_allocs == c->fail_at) ||
      (c->limit_bytes && c->live_bytes + n > c->limit_bytes) ||
      n > SIZE_MAX - CHDR) {
    c->failed_allocs++;
    return NULL;
  }
  uint8_t *p = lp2p_mem_malloc(c->base, n + CHDR);
  if (!p) {
    c->failed_allocs++;
    return NULL;
  }
  memcpy(p, &n, sizeof(n));
  c->live_bytes += n;
  c->live_allocs++;
  if (c->live_bytes > c->peak_bytes)
    c->peak_bytes = c->live_bytes;
  return p + CHDR;
}

static void count_free(void *p, void *ud) {
  lp2p_mem_counting *c = ud;
  if (!p)
    return;
  uint8_t *h = (uint8_t *)p - CHDR;
  size_t n;
  memcpy(&n, h, sizeof(n));
  c->live_bytes -= n;
  c->live_allocs--;
  lp2p_mem_free(c->base, h);
}

static void *count_realloc(void *p, size_t n, void *ud) {
  size_t old;
  memcpy(&old, (uint8_t *)p - CHDR, sizeof(old));
  void *q = count_malloc(n, ud);
  if (!q)
    return NULL;
  memcpy(q, p, old < n ? old : n);
  count_free(p, ud);
  return q;
}

void lp2p_mem_counting_init(lp2p_mem_counting *c, const lp2p_mem *base) {
  memset(c, 0, sizeof(*c));
  c->base = base;
  c->mem.ud = c;
  c->mem.malloc = count_malloc;
  c->mem.free = count_free;
  c->mem.realloc = count_realloc;
}
