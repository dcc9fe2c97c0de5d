/* ping: two public hosts connect (Noise, yamux), identify each other, ping,
 * and run /perf/1.0.0 with 10 MiB each way, over 20 ms links with jitter,
 * 0.5 % loss and 100 Mbit/s, with drifting clocks. */
#include <string.h>

#include "tools/lp2p-sim/hosts.h"
#include "tools/lp2p-sim/scenario.h"

#define MIB (1024u * 1024u)
#define PERF_BYTES (10u * MIB)

typedef struct ping_world {
  scen_ctx *c;
  shost a, b; /* a dials b */
  int identified_a, identified_b, pinged, perfed;
  uint64_t rtt_ns;
  lp2p_host_event perf;
  int done;
} ping_world;

static void on_event(void *ud, lp2p_sim *s, uint32_t hid,
                     const lp2p_host_event *ev) {
  ping_world *w = ud;
  lp2p_host *ha = lp2p_sim_host(s, w->a.node);
  int is_a = hid == w->a.node;
  switch (ev->kind) {
  case LP2P_HOST_EV_DIAL_FAILED:
    scen_fail(w->c, "dial failed: %s", lp2p_errname(ev->err));
    break;
  case LP2P_HOST_EV_PEER_DISCONNECTED:
    if (!w->done)
      scen_fail(w->c, "disconnected early: %s", lp2p_errname(ev->err));
    break;
  case LP2P_HOST_EV_IDENTIFY_DONE:
    if (ev->err) {
      scen_fail(w->c, "identify failed: %s", lp2p_errname(ev->err));
      break;
    }
    if (is_a) {
      w->identified_a = 1;
      if (lp2p_host_ping(ha, shost_now(s, &w->a), &w->b.id) != 0)
        scen_fail(w->c, "ping refused");
    } else {
      w->identified_b = 1;
    }
    break;
  case LP2P_HOST_EV_PING_RESULT:
    if (!is_a)
      break;
    if (ev->err) {
      scen_fail(w->c, "ping failed: %s", lp2p_errname(ev->err));
      break;
    }
    w->pinged = 1;
    w->rtt_ns = ev->u.ping.rtt_ns;
    if (lp2p_host_perf(ha, shost_now(s, &w->a), &w->b.id, PERF_BYTES,
                       PERF_BYTES) != 0)
      scen_fail(w->c, "perf refused");
    break;
  case LP2P_HOST_EV_PERF_RESULT:
    if (!is_a)
      break;
    w->perf = *ev;
    w->perfed = 1;
    w->done = 1;
    break;
  default:
    break;
  }
}

static int done(void *ud) {
  ping_world *w = ud;
  return w->done || w->c->fail[0];
}

static int run(scen_ctx *c) {
  lp2p_sim *s = scen_world(c, NULL);
  if (!s)
    return 1;
  ping_world w;
  memset(&w, 0, sizeof w);
  w.c = c;
  lp2p_sim_link l;
  lp2p_sim_link_default(&l);
  l.latency_ns = 10 * LP2P_NS_PER_MS;
  l.jitter_ns = 2 * LP2P_NS_PER_MS;
  l.loss_ppm = 5000;
  l.bandwidth_bps = 100000000;
  lp2p_sim_ep_config ec;
  lp2p_sim_ep_config_default(&ec);
  uint32_t na, nb;
  ec.clock_offset_ns = (int64_t)(1000 * LP2P_NS_PER_S);
  ec.clock_drift_ppm = 80;
  int rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, &ec, &l, &l, &na);
  ec.clock_offset_ns = (int64_t)(77 * LP2P_NS_PER_S);
  ec.clock_drift_ppm = -120;
  if (!rc)
    rc = lp2p_sim_ep_add(s, LP2P_SIM_INTERNET, 0, &ec, &l, &l, &nb);
  lp2p_sim_on_host_event(s, on_event, &w);
  if (!rc)
    rc = shost_add(s, na, 32 * MIB, NULL, NULL, &w.a);
  if (!rc)
    rc = shost_add(s, nb, 32 * MIB, NULL, NULL, &w.b);
  if (!rc)
    rc = shost_listen(s, &w.b, 4001);
  lp2p_maddr to;
  if (!rc)
    rc = shost_maddr(&to, lp2p_sim_node_ip(s, nb), 4001, &w.b.id);
  uint64_t dial;
  if (!rc)
    rc =
        lp2p_host_dial(lp2p_sim_host(s, na), shost_now(s, &w.a), &to, 0, &dial);
  if (rc) {
    scen_fail(c, "setup: %s", lp2p_errname(rc));
    scen_world_done(c, s);
    return 1;
  }
  lp2p_sim_host_kick(s, na);
  lp2p_sim_run(s, done, &w, 300 * LP2P_NS_PER_S);
  if (!w.identified_a || !w.identified_b)
    scen_fail(c, "identify did not complete");
  else if (!w.pinged)
    scen_fail(c, "no ping result");
  else if (!w.perfed)
    scen_fail(c, "no perf result");
  scen_line(c, "identify a=%d b=%d", w.identified_a, w.identified_b);
  if (w.pinged) {
    scen_line(c, "ping rtt_us=%llu", (unsigned long long)(w.rtt_ns / 1000));
    if (w.rtt_ns < 40 * LP2P_NS_PER_MS * 9 / 10)
      scen_fail(c, "ping rtt %llu ns is below the link latency",
                (unsigned long long)w.rtt_ns);
  }
  if (w.perfed) {
    scen_line(c, "perf err=%s up=%llu down=%llu time_ms=%llu",
              lp2p_errname(w.perf.err),
              (unsigned long long)w.perf.u.perf.upload_bytes,
              (unsigned long long)w.perf.u.perf.download_bytes,
              (unsigned long long)(w.perf.u.perf.time_ns / LP2P_NS_PER_MS));
    if (w.perf.err || w.perf.u.perf.upload_bytes != PERF_BYTES ||
        w.perf.u.perf.download_bytes != PERF_BYTES)
      scen_fail(c, "perf transferred the wrong amount");
  }
  lp2p_mem_counting *ma = lp2p_sim_host_mem(s, na),
                    *mb = lp2p_sim_host_mem(s, nb);
  scen_line(c, "mem peak_kib a=%zu b=%zu", ma->peak_bytes / 1024,
            mb->peak_bytes / 1024);
  scen_line(c, "virtual_ms %llu events %llu",
            (unsigned long long)(lp2p_sim_now(s) / LP2P_NS_PER_MS),
            (unsigned long long)lp2p_sim_events(s));
  scen_world_done(c, s);
  return c->fail[0] ? 1 : 0;
}

const scenario scenario_ping = {
    "ping", "two public hosts: connect, identify, ping, perf 10 MiB each way",
    run};
