/* The host's one deadline heap (DESIGN §3a "Timers"): a binary min-heap of
 * htimer entries embedded in connections and services, so
 * lp2p_host_next_timeout is O(1) and a timer change costs O(log n) even
 * with 10,000 connections. A connection keeps one entry for the minimum
 * of its own timers (upgrade, idle, close, engine, stream deadlines); a
 * service keeps one for its next_timeout. */
#include <stddef.h>

#include "proto/host/host_internal.h"

void host_timer_init(htimer *t, uint8_t kind) {
  t->deadline = LP2P_TSTAMP_NONE;
  t->heap_idx = UINT32_MAX;
  t->kind = kind;
}

/* Entries carry a copy of their deadline: comparing two of them reads
 * the heap array only, not two connections elsewhere in memory (with a
 * few hundred connections those are cache misses at every level). The
 * comparisons and moves are those of the plain heap, so timers with equal
 * deadlines still fire in the same order. */
static void heap_swap(lp2p_host *h, uint32_t a, uint32_t b) {
  hheap_ent t = h->heap[a];
  h->heap[a] = h->heap[b];
  h->heap[b] = t;
  h->heap[a].t->heap_idx = a;
  h->heap[b].t->heap_idx = b;
}

static void heap_up(lp2p_host *h, uint32_t i) {
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (h->heap[p].d <= h->heap[i].d)
      break;
    heap_swap(h, p, i);
    i = p;
  }
}

static void heap_down(lp2p_host *h, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->heap_len && h->heap[l].d < h->heap[m].d)
      m = l;
    if (r < h->heap_len && h->heap[r].d < h->heap[m].d)
      m = r;
    if (m == i)
      break;
    heap_swap(h, i, m);
    i = m;
  }
}

void host_timer_remove(lp2p_host *h, htimer *t) {
  uint32_t i = t->heap_idx;
  if (i == UINT32_MAX || i >= h->heap_len)
    return;
  t->heap_idx = UINT32_MAX;
  h->heap_len--;
  if (i == h->heap_len)
    return;
  h->heap[i] = h->heap[h->heap_len];
  h->heap[i].t->heap_idx = i;
  heap_up(h, i);
  heap_down(h, h->heap[i].t->heap_idx);
}

void host_timer_set(lp2p_host *h, htimer *t, lp2p_tstamp d) {
  /* lp2p_host_free forgets the heap (heap_len 0) before services see
   * their streams end; a timer they change then must not trust its old
   * slot, which may hold a freed connection's entry. */
  if (t->heap_idx != UINT32_MAX &&
      (t->heap_idx >= h->heap_len || h->heap[t->heap_idx].t != t))
    t->heap_idx = UINT32_MAX;
  if (d == t->deadline && (d == LP2P_TSTAMP_NONE || t->heap_idx != UINT32_MAX))
    return;
  t->deadline = d;
  if (d == LP2P_TSTAMP_NONE) {
    host_timer_remove(h, t);
    return;
  }
  if (t->heap_idx == UINT32_MAX) {
    /* Capacity was reserved when the timer's owner was created. */
    if (h->heap_len == h->heap_cap)
      return;
    t->heap_idx = h->heap_len;
    h->heap[h->heap_len++] = (hheap_ent){d, t};
    heap_up(h, t->heap_idx);
    return;
  }
  h->heap[t->heap_idx].d = d;
  heap_up(h, t->heap_idx);
  heap_down(h, t->heap_idx);
}

int host_heap_reserve(lp2p_host *h, uint32_t n) {
  if (h->heap_cap >= n)
    return 0;
  uint32_t ncap = h->heap_cap ? h->heap_cap : 64;
  while (ncap < n)
    ncap *= 2;
  hheap_ent *a = lp2p_mem_realloc(h->mem, h->heap, h->heap_cap * sizeof *a,
                                ncap * sizeof *a);
  if (!a)
    return LP2P_ERR_NOMEM;
  h->heap = a;
  h->heap_cap = ncap;
  return 0;
}

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) { return a < b ? a : b; }

void host_conn_timer(lp2p_host *h, hconn *c) {
  lp2p_tstamp d = LP2P_TSTAMP_NONE;
  switch (c->state) {
  case HC_DIALING:
  case HC_UPGRADING:
    d = min_ts(c->upgrade_deadline, host_progress_deadline(h, c));
    break;
  case HC_OPEN:
    if (c->idle_since != LP2P_TSTAMP_NONE && h->cfg.idle_timeout_ns)
      d = host_add_ns(c->idle_since, h->cfg.idle_timeout_ns);
    if (c->car)
      d = min_ts(d, c->car->deadline); /* time budget */
    break;
  case HC_CLOSING:
  case HC_DRAINING:
    d = c->close_deadline;
    break;
  default:
    break;
  }
  if (c->st && (c->state == HC_OPEN || c->state == HC_CLOSING)) {
    d = min_ts(d, hstack_next_timeout(c->st));
    d = min_ts(d, host_streams_deadline(c));
  }
  host_timer_set(h, &c->tm, d);
}

lp2p_tstamp lp2p_host_next_timeout(const lp2p_host *h) {
  if (!h || h->heap_len == 0)
    return LP2P_TSTAMP_NONE;
  return h->heap[0].d;
}

static void fire(lp2p_host *h, htimer *t, lp2p_tstamp now) {
  switch (t->kind) {
  case HT_CONN:
    host_conn_timeout(h, (hconn *)(void *)t, now);
    break;
  case HT_TRIM:
    host_timer_remove(h, t);
    host_connmgr_trim(h, now);
    break;
  case HT_SVC:
    host_svc_timeout(h, (hsvc *)(void *)((char *)t - offsetof(hsvc, tm)),
                     now);
    break;
  default:
    host_timer_remove(h, t);
    break;
  }
}

int lp2p_host_handle_timeout(lp2p_host *h, lp2p_tstamp now) {
  if (!h)
    return LP2P_ERR_INVAL;
  host_now(h, now);
  host_enter(h);
  /* Each timer is handled at most twice per call, so an engine that keeps
   * reporting a past deadline cannot spin us. */
  uint32_t budget = 2 * h->heap_len + 8;
  while (h->heap_len && h->heap[0].d <= now && budget--) {
    htimer *t = h->heap[0].t;
    fire(h, t, now);
    if (h->heap_len && h->heap[0].t == t && t->deadline <= now) {
      /* Nothing moved it: take it out until something changes. */
      host_timer_remove(h, t);
    }
  }
  host_leave(h, now);
  return 0;
}
