/* The swarm scenario's state, shared by its world builder
 * (scenario_swarm.c) and its application logic (swarm_app.c). */
#ifndef LP2P_SIM_SWARM_H
#define LP2P_SIM_SWARM_H

#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

#define SWARM_PROTO "/swarm/1.0.0"
#define SWARM_HDR 16

typedef struct sstream {
  uint64_t id;
  uint8_t out;    /* we are the sender */
  uint8_t fin;    /* out: stream_close done */
  uint64_t key;   /* (sender index << 32) | sender sequence */
  uint32_t total; /* bytes including the header */
  uint32_t pos;   /* out: sent; in: received */
  uint8_t hdr[SWARM_HDR];
} sstream;

typedef struct snode {
  uint32_t idx;
  shost h;
  uint32_t realm, ip;
  sstream *st;
  size_t nst, cap;
  uint32_t seq;
  uint16_t *conns; /* open connections per peer index */
  int closed;
  int reserved; /* RELAY_RESERVED from node 0 (a relay may refuse: at most
                   8 reservations per IP, and one NAT's hosts share one) */
} snode;

typedef struct slive {
  uint32_t x, y;
  uint64_t dial;
  int connected, pinged, pinging;
  int punch;  /* y is behind a NAT: reached through the relay, then DCUtR
                 must go direct (the tcp-punch-matrix oracle allows it) */
  int direct; /* HOLEPUNCH_RESULT ok at x for y */
  int reason, punches; /* the last failed result's reason, results seen */
} slive;

typedef struct swarm {
  scen_ctx *c;
  lp2p_sim *s;
  lp2p_rng_chacha rng_st;
  lp2p_rng rng;
  uint32_t n;
  snode *nodes;
  uint32_t *by_node; /* sim node id -> index + 1 */
  uint32_t *nats;
  uint32_t nnats;
  lp2p_sim_nat_config *natcfg; /* per NAT, as configured */
  uint32_t *nat_realm;         /* per NAT: where its outside is */
  uint32_t cur;                /* the node being built (swarm_tweak) */
  size_t budget;
  int fault_profile, healed, closing;
  uint32_t closed;
  uint64_t dials, dials_ok, streams_opened, streams_done, bytes_checked,
      pings_ok;
  slive *live;
  uint32_t live_pairs, live_connected, live_pinged, live_punch,
      live_direct, live_unreserved;
} swarm;

void swarm_tweak(lp2p_host_config *cfg, void *ud);
/* After healing: every host behind one NAT reserves on node 0 (always
 * public, a relay), so that peers elsewhere reach it and DCUtR can run. */
void swarm_reserve(lp2p_sim *s, void *ud, uint64_t arg);
void swarm_on_event(void *ud, lp2p_sim *s, uint32_t hid,
                    const lp2p_host_event *ev);
void swarm_dial(swarm *w, snode *x, snode *y);
void swarm_stream_open(swarm *w, snode *x, snode *y);
void swarm_ping(swarm *w, snode *x, snode *y);
void swarm_close_peer(swarm *w, snode *x, snode *y);
void swarm_stream_reset_one(swarm *w, snode *x);
void swarm_liveness_start(lp2p_sim *s, void *ud, uint64_t arg);
void swarm_final_checks(swarm *w);
void swarm_free(swarm *w);
/* Runs the swarm on the context's seed; `nodes` 0 = the seed picks. */
int swarm_run(scen_ctx *c, uint32_t nodes, uint64_t workload_until);

#endif
