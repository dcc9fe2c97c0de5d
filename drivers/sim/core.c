/* The simulated world: virtual clock, event loop, seed-derived RNG streams,
 * the trace hash, per-node clocks and the sticky failure (DESIGN.md 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/sim_internal.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

void lp2p_sim_config_default(lp2p_sim_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->tcp_mss_bytes = 1460;
  cfg->tcp_loss_stall_ns = 0;
  cfg->spin_max = 1000;
  cfg->events_max = 0;
}

int lp2p_sim_new(lp2p_sim **out, uint64_t seed, const lp2p_sim_config *cfg) {
  lp2p_sim *s = calloc(1, sizeof(*s));
  if (!s)
    return LP2P_ERR_NOMEM;
  s->seed = seed;
  if (cfg)
    s->cfg = *cfg;
  else
    lp2p_sim_config_default(&s->cfg);
  if (!s->cfg.tcp_mss_bytes)
    s->cfg.tcp_mss_bytes = 1460;
  sim_evq_init(&s->q);
  s->trace = FNV_OFFSET;
  s->min_up_latency = LP2P_TSTAMP_NONE;
  s->nnodes = 1; /* id 0 is the internet realm, never a node */
  s->nsocks = 1; /* socket index 0 means "none" */
  *out = s;
  return 0;
}

void lp2p_sim_free(lp2p_sim *s) {
  if (!s)
    return;
  sim_hosts_free(s);
  sim_sock_free_all(s);
  /* packets still in flight are owned by queued events */
  sim_ev e;
  while (sim_evq_pop(&s->q, &e)) {
    sim_net_free_event(&e);
    sim_host_free_event(&e);
  }
  sim_evq_free(&s->q);
  for (size_t i = 1; i < s->nnodes; i++) {
    sim_igd_free(s->nodes[i]->igd);
    if (s->nodes[i]->nat) {
      sim_nat_free(s->nodes[i]->nat);
      free(s->nodes[i]->nat);
    }
    free(s->nodes[i]);
  }
  free(s->nodes);
  sim_map_free(&s->ips);
  sim_map_free(&s->sockmap);
  free(s->blocks);
  free(s->fail_reason);
  free(s);
}

uint64_t lp2p_sim_seed(const lp2p_sim *s) { return s->seed; }
lp2p_tstamp lp2p_sim_now(const lp2p_sim *s) { return s->now; }
uint64_t lp2p_sim_trace_hash(const lp2p_sim *s) { return s->trace; }
uint64_t lp2p_sim_events(const lp2p_sim *s) { return s->events; }

void lp2p_sim_set_trace_sink(lp2p_sim *s,
                             void (*fn)(void *ud, const char *line), void *ud) {
  s->trace_fn = fn;
  s->trace_ud = ud;
}

void sim_hash(lp2p_sim *s, const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = s->trace;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= FNV_PRIME;
  }
  s->trace = h;
}

/* Payload bytes go in eight at a time (a multiply per word, not per byte:
 * every byte of every simulated packet is hashed). Only determinism
 * matters here: the value is compared between runs, never pinned. */
void sim_hash_bulk(lp2p_sim *s, const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = s->trace;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    h ^= w;
    h *= FNV_PRIME;
    h ^= h >> 29;
  }
  s->trace = h;
  if (i < n)
    sim_hash(s, b + i, n - i);
}

/* One multiply per word, as sim_hash_bulk: every event's time and every
 * packet's header words come through here. */
void sim_hash_u64(lp2p_sim *s, uint64_t v) {
  uint64_t h = (s->trace ^ v) * FNV_PRIME;
  s->trace = h ^ h >> 29;
}

int sim_tracing(const lp2p_sim *s) { return s->trace_fn != NULL; }

void sim_trace_line(lp2p_sim *s, const char *line) {
  if (s->trace_fn)
    s->trace_fn(s->trace_ud, line);
}

void lp2p_sim_trace(lp2p_sim *s, const char *line) {
  sim_hash(s, line, strlen(line));
  if (s->trace_fn) {
    char buf[320];
    snprintf(buf, sizeof buf, "%llu app %s", (unsigned long long)s->now, line);
    s->trace_fn(s->trace_ud, buf);
  }
}

void lp2p_sim_rng(const lp2p_sim *s, uint64_t stream, lp2p_rng_chacha *st,
                  lp2p_rng *out) {
  lp2p_rng_chacha_init(st, s->seed, stream, out);
}

uint64_t sim_rand_below(const lp2p_rng *r, uint64_t bound) {
  return bound ? lp2p_rng_below(r, bound) : 0;
}

int lp2p_sim_at(lp2p_sim *s, lp2p_tstamp at,
                void (*fn)(lp2p_sim *s, void *ud, uint64_t arg), void *ud,
                uint64_t arg) {
  return sim_evq_push(&s->q, at < s->now ? s->now : at, fn, ud, arg);
}

void lp2p_sim_fail(lp2p_sim *s, const char *reason) {
  if (s->fail_reason)
    return;
  size_t n = strlen(reason);
  s->fail_reason = malloc(n + 1);
  if (s->fail_reason)
    memcpy(s->fail_reason, reason, n + 1);
  if (s->trace_fn) {
    char buf[320];
    snprintf(buf, sizeof buf, "%llu FAIL %s", (unsigned long long)s->now,
             reason);
    s->trace_fn(s->trace_ud, buf);
  }
}

const char *lp2p_sim_failed(const lp2p_sim *s) { return s->fail_reason; }

int lp2p_sim_step(lp2p_sim *s) {
  if (s->fail_reason)
    return 0;
  if (s->cfg.events_max && s->events >= s->cfg.events_max) {
    lp2p_sim_fail(s, "events_max reached");
    return 0;
  }
  sim_ev e;
  if (!sim_evq_pop(&s->q, &e))
    return 0;
  s->now = e.t;
  s->events++;
  sim_hash_u64(s, e.t);
  e.fn(s, e.ud, e.arg);
  return 1;
}

int lp2p_sim_run_until(lp2p_sim *s, lp2p_tstamp t) {
  while (!s->fail_reason && sim_evq_peek(&s->q) <= t)
    if (!lp2p_sim_step(s))
      break;
  if (!s->fail_reason && t > s->now)
    s->now = t;
  return s->fail_reason ? 1 : 0;
}

int lp2p_sim_run(lp2p_sim *s, int (*stop)(void *ud), void *ud,
                 lp2p_tstamp deadline) {
  if (stop && stop(ud))
    return 1;
  while (!s->fail_reason && sim_evq_peek(&s->q) <= deadline) {
    if (!lp2p_sim_step(s))
      break;
    if (stop && stop(ud))
      return 1;
  }
  return 0;
}

sim_node *sim_node_get(const lp2p_sim *s, uint32_t id) {
  if (id == 0 || id >= s->nnodes)
    return NULL;
  return s->nodes[id];
}

/* ---- per-node clocks: local = offset + t + t * drift / 1e6 --------------- */

#define PPM UINT64_C(1000000)

lp2p_tstamp sim_virtual_to_local(const sim_node *n, lp2p_tstamp t) {
  int64_t drift = n->ep.clock_drift_ppm;
  uint64_t q = t / PPM, r = t % PPM;
  /* t * drift / 1e6 without overflow: q * drift + r * drift / 1e6 */
  int64_t adj = (int64_t)q * drift + ((int64_t)r * drift) / (int64_t)PPM;
  return (lp2p_tstamp)((int64_t)t + adj + n->ep.clock_offset_ns);
}

/* The earliest virtual time whose local time is >= `local`. */
lp2p_tstamp sim_local_to_virtual(const sim_node *n, lp2p_tstamp local) {
  if (local == LP2P_TSTAMP_NONE)
    return LP2P_TSTAMP_NONE;
  int64_t d = (int64_t)local - n->ep.clock_offset_ns;
  if (d <= 0)
    return 0;
  uint64_t den = (uint64_t)((int64_t)PPM + n->ep.clock_drift_ppm);
  uint64_t ud = (uint64_t)d;
  uint64_t t = (ud / den) * PPM + ((ud % den) * PPM) / den;
  while (t > 0 && sim_virtual_to_local(n, t - 1) >= local)
    t--;
  while (sim_virtual_to_local(n, t) < local)
    t++;
  return t;
}

lp2p_tstamp lp2p_sim_ep_clock(const lp2p_sim *s, uint32_t node) {
  const sim_node *n = sim_node_get(s, node);
  return n ? sim_virtual_to_local(n, s->now) : 0;
}
