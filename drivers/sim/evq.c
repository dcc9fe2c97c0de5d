/* The simulator's event queue: a 4-ary min-heap ordered by (virtual time,
 * insertion sequence). The sequence makes equal-time events run in the
 * order they were scheduled, so the run never depends on heap layout or on
 * addresses (DESIGN.md section 5: determinism is the point), nor on the
 * heap's arity. Four children rather than two: half the levels, and a
 * node's children share cache lines; a world of the 10,000-host kad run
 * holds hundreds of thousands of events, where every level below the
 * cached top is a memory access. */
#include <stdlib.h>

#include "drivers/sim/sim_internal.h"

static int ev_less(const sim_ev *a, const sim_ev *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_evq_init(sim_evq *q) {
  q->h = NULL;
  q->n = q->cap = 0;
  q->next_seq = 0;
}

void sim_evq_free(sim_evq *q) {
  free(q->h);
  sim_evq_init(q);
}

int sim_evq_push(sim_evq *q, lp2p_tstamp t, sim_ev_fn fn, void *ud,
                 uint64_t arg) {
  if (q->n == q->cap) {
    size_t nc = q->cap ? q->cap * 2 : 256;
    sim_ev *nh = realloc(q->h, nc * sizeof(*nh));
    if (!nh)
      return LP2P_ERR_NOMEM;
    q->h = nh;
    q->cap = nc;
  }
  sim_ev e = {t, q->next_seq++, fn, ud, arg};
  size_t i = q->n++;
  while (i > 0) { /* sift up */
    size_t p = (i - 1) / 4;
    if (!ev_less(&e, &q->h[p]))
      break;
    q->h[i] = q->h[p];
    i = p;
  }
  q->h[i] = e;
  return 0;
}

int sim_evq_pop(sim_evq *q, sim_ev *out) {
  if (!q->n)
    return 0;
  *out = q->h[0];
  sim_ev last = q->h[--q->n];
  size_t i = 0, n = q->n;
  for (;;) { /* sift down */
    size_t first = 4 * i + 1;
    if (first >= n)
      break;
    size_t c = first, end = first + 4 < n ? first + 4 : n;
    for (size_t j = first + 1; j < end; j++)
      if (ev_less(&q->h[j], &q->h[c]))
        c = j;
    if (!ev_less(&q->h[c], &last))
      break;
    q->h[i] = q->h[c];
    i = c;
  }
  if (n)
    q->h[i] = last;
  return 1;
}

lp2p_tstamp sim_evq_peek(const sim_evq *q) {
  return q->n ? q->h[0].t : LP2P_TSTAMP_NONE;
}
