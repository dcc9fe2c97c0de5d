/* The libc allocator: the one place outside drivers/ and tools/ that calls
 * malloc. Kept out of proto/ so `make check-purity` can prove engines only
 * allocate through the injected lp2p_mem. */
#include <stdlib.h>

#include "lp2p/common.h"

static void *m_malloc(size_t n, void *ud) { (void)ud; return malloc(n); }
static void m_free(void *p, void *ud) { (void)ud; free(p); }
static void *m_calloc(size_t c, size_t n, void *ud) { (void)ud; return calloc(c, n); }
static void *m_realloc(void *p, size_t n, void *ud) { (void)ud; return realloc(p, n); }

static const lp2p_mem libc_mem = {NULL, m_malloc, m_free, m_calloc, m_realloc};

const lp2p_mem *lp2p_mem_libc(void) { return &libc_mem; }
