/* Dispatch from the stream layer to the built-in services. */
#include "proto/host/host_internal.h"

int svc_start(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  switch (s->svc_kind) {
  case SVC_IDENTIFY:
  case SVC_PUSH:
    return id_svc_start(h, s, now);
  case SVC_PING:
    return ping_svc_start(h, s, now);
  case SVC_PERF:
    return perf_svc_start(h, s, now);
  case SVC_ECHO:
    return echo_svc_activity(h, s, now);
  default:
    return 0;
  }
}

int svc_activity(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  switch (s->svc_kind) {
  case SVC_IDENTIFY:
  case SVC_PUSH:
    return id_svc_activity(h, s, now);
  case SVC_PING:
    return ping_svc_activity(h, s, now);
  case SVC_PERF:
    return perf_svc_activity(h, s, now);
  case SVC_ECHO:
    return echo_svc_activity(h, s, now);
  default:
    return 0;
  }
}

void svc_end(lp2p_host *h, hstream *s, int err, lp2p_tstamp now) {
  switch (s->svc_kind) {
  case SVC_IDENTIFY:
  case SVC_PUSH:
    id_svc_end(h, s, err, now);
    break;
  case SVC_PING:
    ping_svc_end(h, s, err, now);
    break;
  case SVC_PERF:
    perf_svc_end(h, s, err, now);
    break;
  default:
    break;
  }
}

int svc_timeout(lp2p_host *h, hstream *s, lp2p_tstamp now) {
  switch (s->svc_kind) {
  case SVC_IDENTIFY:
  case SVC_PUSH:
    return id_svc_timeout(h, s, now);
  case SVC_PING:
    return ping_svc_timeout(h, s, now);
  default:
    host_stream_reset_raw(h, s, now);
    return -1;
  }
}

void svc_release(lp2p_host *h, hstream *s) {
  if (!s->svc)
    return;
  if (s->svc_kind == SVC_IDENTIFY || s->svc_kind == SVC_PUSH)
    id_svc_release(h, s);
  lp2p_mem_free(h->mem, s->svc);
  s->svc = NULL;
}
