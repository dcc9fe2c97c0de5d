/* Fuzz the resource manager's scopes (proto/host/host_rm_scope.c) against
 * an oracle. A fixed world: a system scope, a transient scope, 4 peers,
 * 8 connections and 16 streams, each with limits drawn from the input.
 * The input is a list of operations: reserve, release, attach, detach,
 * close. After every operation:
 *   - no scope is over a limit it had when the reservation was taken
 *     (limits never change after setup, so: never over its limit);
 *   - each scope's `used` equals, per kind, its own reservations plus
 *     those of every scope charged to it (the oracle's recount);
 *   - a reservation is refused exactly when some scope on its path lacks
 *     room, and a release is refused exactly when it exceeds what the
 *     scope itself reserved (every release matches a reservation).
 * At the end every scope is closed and everything is back to zero. */
#include <stdlib.h>
#include <string.h>

#include "lp2p/common.h"
#include "proto/host/host_rm_scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSYS 2  /* system, transient */
#define NPEER 4
#define NCONN 8
#define NSTREAM 16
#define NS (NSYS + NPEER + NCONN + NSTREAM)

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;

static unsigned byte(rd *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static uint64_t amount(rd *r) {
  unsigned b = byte(r);
  /* small amounts mostly, sometimes large ones near the limits */
  return (b & 0x80) ? (uint64_t)(b & 0x7f) << (byte(r) % 40)
                    : (uint64_t)b;
}

static rm_scope g_s[NS];
static uint64_t g_limit[NS][RM_KINDS];

/* The oracle: what scope `i` uses of `kind`, from own reservations. */
static uint64_t recount(int i, int kind) {
  uint64_t u = g_s[i].own[kind];
  for (int j = 0; j < NS; j++)
    for (int k = 0; k < g_s[j].nup; k++)
      if (g_s[j].up[k] == &g_s[i])
        u += g_s[j].own[kind];
  return u;
}

static void check(void) {
  for (int i = 0; i < NS; i++)
    for (int k = 0; k < RM_KINDS; k++) {
      if (g_s[i].used[k] != recount(i, k))
        abort();
      if (g_s[i].limit[k] != g_limit[i][k])
        abort();
      if (g_s[i].used[k] > g_limit[i][k])
        abort();
    }
}

static int room(const rm_scope *s, int kind, uint64_t n) {
  return s->used[kind] <= s->limit[kind] &&
         n <= s->limit[kind] - s->used[kind];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  for (int i = 0; i < NS; i++) {
    rm_scope_init(&g_s[i]);
    for (int k = 0; k < RM_KINDS; k++) {
      unsigned b = byte(&r);
      g_s[i].limit[k] = b == 0xff ? RM_UNLIMITED : (uint64_t)b << (b % 24);
      g_limit[i][k] = g_s[i].limit[k];
    }
  }
  int ops = 0;
  while (r.n && ops++ < 4096) {
    unsigned op = byte(&r) % 6;
    int i = (int)(byte(&r) % NS);
    rm_scope *s = &g_s[i];
    int kind = (int)(byte(&r) % RM_KINDS);
    switch (op) {
    case 0:
    case 1: { /* reserve */
      uint64_t n = amount(&r);
      int expect = room(s, kind, n);
      for (int k = 0; k < s->nup; k++)
        expect = expect && room(s->up[k], kind, n);
      uint64_t before = s->own[kind];
      const rm_scope *refused = NULL;
      int rc = rm_reserve(s, kind, n, &refused);
      if ((rc == 0) != expect)
        abort();
      if (rc == 0 ? s->own[kind] != before + n
                  : (rc != LP2P_ERR_LIMIT || !refused ||
                     s->own[kind] != before))
        abort();
      break;
    }
    case 2: { /* release: sometimes more than was reserved */
      uint64_t n = byte(&r) & 1 ? s->own[kind] : amount(&r);
      int expect = n <= s->own[kind];
      uint64_t before = s->own[kind];
      int rc = rm_release(s, kind, n);
      if ((rc == 0) != expect)
        abort();
      if (s->own[kind] != (rc == 0 ? before - n : before))
        abort();
      break;
    }
    case 3: { /* attach to a scope of a higher level */
      int j = (int)(byte(&r) % NS);
      rm_scope *up = &g_s[j];
      int dup = 0;
      for (int k = 0; k < s->nup; k++)
        dup |= s->up[k] == up;
      /* a scope charged to itself through a cycle would make `used`
       * meaningless; the host only charges downwards-up, so does this */
      if (j >= i)
        break;
      int fit = 1;
      for (int k = 0; k < RM_KINDS; k++)
        fit = fit && room(up, k, s->own[k]);
      int full = s->nup == RM_UP_MAX;
      int rc = rm_scope_attach(s, up);
      if (dup || full) {
        if (rc == 0)
          abort();
      } else if ((rc == 0) != fit) {
        abort();
      }
      break;
    }
    case 4: /* detach */
      if (s->nup)
        rm_scope_detach(s, s->up[byte(&r) % s->nup]);
      break;
    case 5: { /* close, only when nothing is charged to it */
      int busy = 0;
      for (int j = 0; j < NS; j++)
        for (int k = 0; k < g_s[j].nup; k++)
          busy |= g_s[j].up[k] == s;
      if (busy)
        break;
      rm_scope_close(s);
      for (int k = 0; k < RM_KINDS; k++)
        if (s->own[k] || s->used[k])
          abort();
      if (s->nup)
        abort();
      break;
    }
    }
    check();
  }
  /* close leaves first: streams, connections, peers, then the rest */
  for (int i = NS - 1; i >= 0; i--)
    rm_scope_close(&g_s[i]);
  for (int i = 0; i < NS; i++)
    for (int k = 0; k < RM_KINDS; k++)
      if (g_s[i].used[k] || g_s[i].own[k])
        abort();
  return 0;
}
