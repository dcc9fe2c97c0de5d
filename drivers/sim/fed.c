/* Federated worlds (lp2p/sim_fed.h): conservative parallel simulation in
 * windows of virtual time.
 *
 * A window starts at the earliest pending event t0 of any world (or any
 * packet handed over) and ends at t0 + L, L being the smallest up-link
 * latency of an internet node: a packet sent inside the window reaches
 * another world's router at or after its end. Each world runs the window
 * alone; what it hands to world d goes into box [parity][sender][d]. The
 * next window, world d first takes its boxes, senders in index order,
 * then runs. Boxes alternate between two parities so that the window that
 * fills one never meets the window that empties the other.
 *
 * Federation events (lp2p_sim_fed_at) run between windows, on the calling
 * thread, with every world's clock at their time. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"
#include "lp2p/sim_fed.h"

#define FED_WORLDS_MAX 64
/* Spins before a thread sleeps on the condition variable: a window is often
 * a few microseconds of work, a sleep and wake-up costs tens. The spin
 * yields now and then, for a machine with fewer free cores than threads. */
#define FED_SPIN 20000
#define FED_SPIN_YIELD 256

typedef struct fed_msg {
  lp2p_tstamp t;
  uint64_t where;
  sim_pkt *p;
} fed_msg;

typedef struct fed_box {
  fed_msg *m;
  size_t n, cap;
  lp2p_tstamp min;
} fed_box;

typedef struct fed_call {
  lp2p_sim_fed *f;
  lp2p_sim_fed_fn fn;
  void *ud;
  uint64_t arg;
} fed_call;

struct lp2p_sim_fed {
  lp2p_sim **w;
  size_t n;
  sim_map ips;   /* (0, internet address) -> world */
  fed_box *box;  /* [2][n][n] */
  unsigned wpar; /* the parity worlds write during the running window */
  sim_evq calls; /* federation events (ud: a fed_call) */
  lp2p_tstamp now;
  uint64_t windows;
  int parallel; /* a window is running */
  lp2p_tstamp win_end;
  /* threads: nth workers besides the caller */
  unsigned threads, nth;
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t cv_start, cv_done;
  atomic_uint_fast64_t gen; /* windows started (workers wait for a change) */
  atomic_uint busy;         /* workers still in the window */
  atomic_size_t next;       /* next world to take */
  atomic_int quit;
};

static fed_box *box_at(const lp2p_sim_fed *f, unsigned par, size_t src,
                       size_t dst) {
  return &f->box[(par * f->n + src) * f->n + dst];
}

/* ---- what the worlds call (sim_internal.h) ------------------------------ */

/* One lookup: the federation's map holds every world's internet
 * addresses, this world's too (sim_fed_note_ip). */
int sim_fed_route(const lp2p_sim *s, uint32_t ip) {
  uint64_t v;
  if (!sim_map_get(&s->fed->ips, LP2P_SIM_INTERNET, ip, &v) ||
      v == s->fed_index)
    return -1;
  return (int)v;
}

void sim_fed_post(lp2p_sim *s, int dst, lp2p_tstamp at, sim_pkt *p,
                  uint64_t where) {
  lp2p_sim_fed *f = s->fed;
  /* outside a window (a federation event sent it) it goes with what the
   * last window handed over: the next window takes both */
  unsigned par = f->parallel ? f->wpar : f->wpar ^ 1u;
  fed_box *b = box_at(f, par, s->fed_index, (size_t)dst);
  if (b->n == b->cap) {
    size_t nc = b->cap ? 2 * b->cap : 64;
    fed_msg *nm = realloc(b->m, nc * sizeof *nm);
    if (!nm) {
      sim_pkt_free(p); /* as a full queue would: the link dropped it */
      return;
    }
    b->m = nm;
    b->cap = nc;
  }
  b->m[b->n++] = (fed_msg){at, where, p};
  if (at < b->min)
    b->min = at;
}

int sim_fed_ip_taken(const lp2p_sim *s, uint32_t ip) {
  uint64_t v;
  return s->fed && sim_map_get(&s->fed->ips, LP2P_SIM_INTERNET, ip, &v) &&
         v != s->fed_index;
}

int sim_fed_note_ip(lp2p_sim *s, uint32_t ip) {
  lp2p_sim_fed *f = s->fed;
  if (!f)
    return 0;
  if (f->parallel) /* the other worlds read the address map meanwhile */
    return LP2P_ERR_STATE;
  if (sim_fed_ip_taken(s, ip))
    return LP2P_ERR_INVAL;
  return sim_map_put(&f->ips, LP2P_SIM_INTERNET, ip, s->fed_index) == 0
             ? 0
             : LP2P_ERR_NOMEM;
}

/* ---- one window --------------------------------------------------------- */

static void run_world(lp2p_sim_fed *f, size_t d) {
  lp2p_sim *s = f->w[d];
  for (size_t src = 0; src < f->n; src++) {
    fed_box *b = box_at(f, f->wpar ^ 1u, src, d);
    for (size_t i = 0; i < b->n; i++)
      sim_net_inject(s, b->m[i].t, b->m[i].p, b->m[i].where);
    b->n = 0;
    b->min = LP2P_TSTAMP_NONE;
  }
  if (!s->fail_reason)
    lp2p_sim_run_until(s, f->win_end - 1);
}

static void take_worlds(lp2p_sim_fed *f) {
  size_t d;
  while ((d = atomic_fetch_add(&f->next, 1)) < f->n)
    run_world(f, d);
}

static void *worker(void *arg) {
  lp2p_sim_fed *f = arg;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = atomic_load(&f->gen);
    for (int i = 1; i < FED_SPIN && g == seen && !atomic_load(&f->quit); i++) {
      if (i % FED_SPIN_YIELD == 0)
        sched_yield();
      g = atomic_load(&f->gen);
    }
    if (g == seen && !atomic_load(&f->quit)) {
      pthread_mutex_lock(&f->mu);
      while ((g = atomic_load(&f->gen)) == seen && !atomic_load(&f->quit))
        pthread_cond_wait(&f->cv_start, &f->mu);
      pthread_mutex_unlock(&f->mu);
    }
    if (atomic_load(&f->quit))
      return NULL;
    seen = g;
    take_worlds(f);
    if (atomic_fetch_sub(&f->busy, 1) == 1) {
      pthread_mutex_lock(&f->mu);
      pthread_cond_signal(&f->cv_done);
      pthread_mutex_unlock(&f->mu);
    }
  }
}

static void stop_threads(lp2p_sim_fed *f) {
  if (!f->nth)
    return;
  pthread_mutex_lock(&f->mu);
  atomic_store(&f->quit, 1);
  pthread_cond_broadcast(&f->cv_start);
  pthread_mutex_unlock(&f->mu);
  for (unsigned i = 0; i < f->nth; i++)
    pthread_join(f->th[i], NULL);
  free(f->th);
  f->th = NULL;
  f->nth = 0;
  atomic_store(&f->quit, 0);
}

/* Workers are started at the first window (a thread that fails to start
 * only means fewer). */
static void start_threads(lp2p_sim_fed *f) {
  unsigned want = f->threads > 1 ? f->threads - 1 : 0;
  if (want > f->n - 1)
    want = (unsigned)f->n - 1;
  if (f->nth == want)
    return;
  stop_threads(f);
  if (!want || !(f->th = calloc(want, sizeof *f->th)))
    return;
  while (f->nth < want &&
         pthread_create(&f->th[f->nth], NULL, worker, f) == 0)
    f->nth++;
}

/* Worlds with something to do before `end`: an event, or packets handed
 * over to them. */
static size_t busy_worlds(const lp2p_sim_fed *f, lp2p_tstamp end) {
  size_t busy = 0;
  for (size_t d = 0; d < f->n; d++) {
    int b = sim_evq_peek(&f->w[d]->q) < end;
    for (size_t src = 0; !b && src < f->n; src++)
      b = box_at(f, f->wpar ^ 1u, src, d)->n != 0;
    busy += (size_t)b;
  }
  return busy;
}

static void window(lp2p_sim_fed *f, lp2p_tstamp end) {
  start_threads(f);
  f->win_end = end;
  f->parallel = 1;
  atomic_store(&f->next, 0);
  /* a window where one world at most has work runs here: waking threads
   * would cost more than the work (quiet stretches are mostly timers) */
  int wake = f->nth && busy_worlds(f, end) > 1;
  if (wake) {
    atomic_store(&f->busy, f->nth);
    pthread_mutex_lock(&f->mu);
    atomic_fetch_add(&f->gen, 1);
    pthread_cond_broadcast(&f->cv_start);
    pthread_mutex_unlock(&f->mu);
  }
  take_worlds(f);
  if (wake) {
    for (int i = 1; i < FED_SPIN && atomic_load(&f->busy); i++)
      if (i % FED_SPIN_YIELD == 0)
        sched_yield();
    pthread_mutex_lock(&f->mu);
    while (atomic_load(&f->busy))
      pthread_cond_wait(&f->cv_done, &f->mu);
    pthread_mutex_unlock(&f->mu);
  }
  f->parallel = 0;
  f->wpar ^= 1u;
  f->windows++;
}

/* ---- the federation ----------------------------------------------------- */

int lp2p_sim_fed_new(lp2p_sim_fed **out, lp2p_sim *const *worlds, size_t n) {
  *out = NULL;
  if (!worlds || n == 0 || n > FED_WORLDS_MAX)
    return LP2P_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    if (!worlds[i] || worlds[i]->fed)
      return LP2P_ERR_INVAL;
    if (worlds[i]->nnodes > 1)
      return LP2P_ERR_STATE;
  }
  lp2p_sim_fed *f = calloc(1, sizeof *f);
  if (!f)
    return LP2P_ERR_NOMEM;
  f->w = calloc(n, sizeof *f->w);
  f->box = calloc(2 * n * n, sizeof *f->box);
  if (!f->w || !f->box) {
    free(f->w);
    free(f->box);
    free(f);
    return LP2P_ERR_NOMEM;
  }
  f->n = n;
  for (size_t i = 0; i < 2 * n * n; i++)
    f->box[i].min = LP2P_TSTAMP_NONE;
  sim_evq_init(&f->calls);
  f->threads = 1;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv_start, NULL);
  pthread_cond_init(&f->cv_done, NULL);
  for (size_t i = 0; i < n; i++) {
    f->w[i] = worlds[i];
    worlds[i]->fed = f;
    worlds[i]->fed_index = (uint32_t)i;
    /* each world numbers its internet hosts from its own block */
    worlds[i]->inet_next = (uint32_t)(i * (((1u << 24) - 2) / n));
    if (worlds[i]->now > f->now)
      f->now = worlds[i]->now;
  }
  *out = f;
  return 0;
}

void lp2p_sim_fed_free(lp2p_sim_fed *f) {
  if (!f)
    return;
  stop_threads(f);
  for (size_t i = 0; i < 2 * f->n * f->n; i++) {
    for (size_t j = 0; j < f->box[i].n; j++)
      sim_pkt_free(f->box[i].m[j].p);
    free(f->box[i].m);
  }
  sim_ev e;
  while (sim_evq_pop(&f->calls, &e))
    free(e.ud);
  sim_evq_free(&f->calls);
  for (size_t i = 0; i < f->n; i++)
    f->w[i]->fed = NULL;
  sim_map_free(&f->ips);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cv_start);
  pthread_cond_destroy(&f->cv_done);
  free(f->box);
  free(f->w);
  free(f);
}

void lp2p_sim_fed_set_threads(lp2p_sim_fed *f, unsigned threads) {
  f->threads = threads ? threads : 1;
}

size_t lp2p_sim_fed_size(const lp2p_sim_fed *f) { return f->n; }

lp2p_sim *lp2p_sim_fed_world(const lp2p_sim_fed *f, size_t i) {
  return i < f->n ? f->w[i] : NULL;
}

lp2p_tstamp lp2p_sim_fed_now(const lp2p_sim_fed *f) { return f->now; }

uint64_t lp2p_sim_fed_windows(const lp2p_sim_fed *f) { return f->windows; }

const char *lp2p_sim_fed_failed(const lp2p_sim_fed *f) {
  for (size_t i = 0; i < f->n; i++)
    if (f->w[i]->fail_reason)
      return f->w[i]->fail_reason;
  return NULL;
}

static void fed_call_run(lp2p_sim *s, void *ud, uint64_t arg) {
  (void)s;
  (void)arg;
  fed_call c = *(fed_call *)ud;
  free(ud);
  c.fn(c.f, c.ud, c.arg);
}

int lp2p_sim_fed_at(lp2p_sim_fed *f, lp2p_tstamp at, lp2p_sim_fed_fn fn,
                    void *ud, uint64_t arg) {
  fed_call *c = malloc(sizeof *c);
  if (!c)
    return LP2P_ERR_NOMEM;
  *c = (fed_call){f, fn, ud, arg};
  if (sim_evq_push(&f->calls, at < f->now ? f->now : at, fed_call_run, c, 0)) {
    free(c);
    return LP2P_ERR_NOMEM;
  }
  return 0;
}

/* Every world's clock to t (nothing of theirs is pending before t). */
static void advance(lp2p_sim_fed *f, lp2p_tstamp t) {
  if (t > f->now)
    f->now = t;
  for (size_t i = 0; i < f->n; i++)
    if (f->w[i]->now < t)
      f->w[i]->now = t;
}

static lp2p_tstamp lookahead(const lp2p_sim_fed *f) {
  lp2p_tstamp l = LP2P_TSTAMP_NONE;
  for (size_t i = 0; i < f->n; i++)
    if (f->w[i]->min_up_latency < l)
      l = f->w[i]->min_up_latency;
  if (l == LP2P_TSTAMP_NONE) /* no internet node: nothing can cross */
    l = LP2P_NS_PER_S;
  return l ? l : 1;
}

/* The earliest of the worlds' events and of the packets handed over. */
static lp2p_tstamp earliest(const lp2p_sim_fed *f) {
  lp2p_tstamp t = LP2P_TSTAMP_NONE;
  for (size_t i = 0; i < f->n; i++) {
    lp2p_tstamp e = sim_evq_peek(&f->w[i]->q);
    if (e < t)
      t = e;
  }
  for (size_t i = 0; i < f->n * f->n; i++) {
    const fed_box *b = &f->box[(f->wpar ^ 1u) * f->n * f->n + i];
    if (b->n && b->min < t)
      t = b->min;
  }
  return t;
}

int lp2p_sim_fed_run(lp2p_sim_fed *f, int (*stop)(void *ud), void *ud,
                     lp2p_tstamp deadline) {
  if (stop && stop(ud))
    return 1;
  while (!lp2p_sim_fed_failed(f)) {
    lp2p_tstamp tw = earliest(f), tg = sim_evq_peek(&f->calls);
    lp2p_tstamp t0 = tw < tg ? tw : tg;
    if (t0 == LP2P_TSTAMP_NONE || t0 > deadline)
      return 0;
    if (tg == t0) { /* federation events of t0, before the worlds' */
      advance(f, tg);
      sim_ev e;
      while (sim_evq_peek(&f->calls) == tg && sim_evq_pop(&f->calls, &e))
        e.fn(NULL, e.ud, e.arg);
    } else {
      lp2p_tstamp l = lookahead(f);
      lp2p_tstamp end = t0 > LP2P_TSTAMP_NONE - l ? LP2P_TSTAMP_NONE : t0 + l;
      if (tg < end)
        end = tg;
      if (deadline < end - 1)
        end = deadline + 1;
      window(f, end);
      if (end - 1 > f->now)
        f->now = end - 1;
    }
    if (stop && stop(ud))
      return 1;
  }
  return 0;
}

int lp2p_sim_fed_run_until(lp2p_sim_fed *f, lp2p_tstamp t) {
  lp2p_sim_fed_run(f, NULL, NULL, t);
  if (lp2p_sim_fed_failed(f))
    return 1;
  advance(f, t);
  return 0;
}
