/* lp2p_sim_fed: several simulator worlds as one internet, run on threads.
 *
 * A world (lp2p_sim) is one event loop on one thread. A federation joins
 * worlds so that their internet endpoints reach each other, and runs them
 * side by side in windows of virtual time (conservative parallel discrete
 * event simulation): no packet crosses from one world to another sooner
 * than the smallest up-link latency of an internet node (the lookahead),
 * so within a window every world runs alone, and what it sent to another
 * world is handed over between windows.
 *
 * Determinism: a world's run depends only on its own events and on the
 * packets handed to it, in an order fixed by (sending world, sending
 * order); which thread ran which world never shows. So a federated run is
 * the same for a seed with 1 thread or 8, and `threads` is a speed knob
 * only. It is NOT the same run as one world holding every node: equal-time
 * events of different worlds order differently.
 *
 * Rules: worlds join empty (no node yet) and internet nodes only; NAT
 * realms stay inside their world (a NAT and its LAN in the same world).
 * Nodes are added and scenario state shared between worlds is touched only
 * from federation events (lp2p_sim_fed_at), which run with every world
 * stopped at their time, before the worlds' own events of that time.
 * Per-pair blocks (lp2p_sim_pair_block) are refused in a federated world;
 * group blocks work (set them on every world). */
#ifndef LP2P_SIM_FED_H
#define LP2P_SIM_FED_H

#include "lp2p/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp2p_sim_fed lp2p_sim_fed;

typedef void (*lp2p_sim_fed_fn)(lp2p_sim_fed *f, void *ud, uint64_t arg);

/** Join `n` (1..64) empty worlds. Each keeps its own seed, trace hash and
 * failure; world i numbers its internet addresses from its own block.
 * Returns 0, LP2P_ERR_INVAL (n out of range, a world in another
 * federation), LP2P_ERR_STATE (a world already has nodes) or
 * LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_fed_new(lp2p_sim_fed **out, lp2p_sim *const *worlds,
                              size_t n);
/** Stop the threads and release the federation (packets in flight between
 * worlds included). The worlds stay, detached: free them after. */
LP2P_API void lp2p_sim_fed_free(lp2p_sim_fed *f);
/** Threads to run on (1 = the caller's only; default 1). Any count gives
 * the same run. */
LP2P_API void lp2p_sim_fed_set_threads(lp2p_sim_fed *f, unsigned threads);
LP2P_API size_t lp2p_sim_fed_size(const lp2p_sim_fed *f);
LP2P_API lp2p_sim *lp2p_sim_fed_world(const lp2p_sim_fed *f, size_t i);
/** The federation's virtual time: where every world is between windows. */
LP2P_API lp2p_tstamp lp2p_sim_fed_now(const lp2p_sim_fed *f);
/** Run fn(f, ud, arg) at `at` (not before now) with every world stopped
 * at `at`. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_sim_fed_at(lp2p_sim_fed *f, lp2p_tstamp at,
                             lp2p_sim_fed_fn fn, void *ud, uint64_t arg);
/** Run until nothing is left before the absolute `deadline`, a world
 * fails, or `stop` (checked between windows and after federation events)
 * says so. Returns 1 when stop ended it, else 0; a failure shows in
 * lp2p_sim_failed of the world that failed. */
LP2P_API int lp2p_sim_fed_run(lp2p_sim_fed *f, int (*stop)(void *ud), void *ud,
                              lp2p_tstamp deadline);
/** Run every event up to `t`, then move every world's clock to `t`.
 * Returns 1 if a world failed, else 0. */
LP2P_API int lp2p_sim_fed_run_until(lp2p_sim_fed *f, lp2p_tstamp t);
/** The first failure of any world, or NULL. */
LP2P_API const char *lp2p_sim_fed_failed(const lp2p_sim_fed *f);
/** Windows run so far (how often the worlds met). */
LP2P_API uint64_t lp2p_sim_fed_windows(const lp2p_sim_fed *f);

#ifdef __cplusplus
}
#endif

#endif
