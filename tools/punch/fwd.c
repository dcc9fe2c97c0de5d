/* punch: the forwarders' common part: local listeners of `in`, the
 * protocols of `out`, and dispatching host events to the TCP and UDP
 * forwarders (fwd_tcp.c, fwd_udp.c). */
#include <string.h>

#include "tools/punch/punch.h"

#define SWEEP_NS (10 * LP2P_NS_PER_S)

pmap *fwd_find_exposed(punch *p, uint16_t port, int proto) {
  for (int i = 0; i < p->cfg->nmaps; i++)
    if (p->cfg->maps[i].m.remote == port && p->cfg->maps[i].m.proto == proto)
      return &p->cfg->maps[i];
  return NULL;
}

int fwd_tcp_stdio_start(punch *p, pmap *m);

int fwd_start(punch *p) {
  pconfig *c = p->cfg;
  /* Forwarding runs on relayed connections too (they carry all traffic
   * until a direct one exists), and 1,000 UDP flows are 1,000 streams. */
  const char *protos[] = {LP2P_PUNCH_TCP_PROTOCOL, LP2P_PUNCH_UDP_PROTOCOL};
  for (int i = 0; i < 2; i++) {
    int rc = lp2p_host_allow_limited(p->h, protos[i], 1);
    if (!rc && c->role == ROLE_OUT)
      rc = lp2p_host_register_protocol(p->h, protos[i]);
    if (!rc && c->role == ROLE_OUT)
      rc = lp2p_host_protocol_limits(p->h, protos[i], 8192, 8192);
    if (rc) {
      pstatus(p, PL_ERROR, "cannot register %s: %s", protos[i],
              lp2p_strerror(rc));
      return PUNCH_EXIT_FAIL;
    }
  }
  if (c->role == ROLE_OUT) {
    for (int i = 0; i < c->nmaps; i++)
      pstatus(p, PL_INFO, "exposing 127.0.0.1:%u/%s", c->maps[i].m.remote,
              lp2p_punch_proto_name(c->maps[i].m.proto));
    return 0;
  }
  for (int i = 0; i < c->nmaps; i++) {
    pmap *m = &c->maps[i];
    if (m->m.stdio) {
      int rc = fwd_tcp_stdio_start(p, m);
      if (rc)
        return rc;
      continue;
    }
    lp2p_sockaddr la;
    memset(&la, 0, sizeof la);
    la.family = 4;
    la.ip[0] = 127;
    la.ip[3] = 1;
    la.port = m->m.local;
    int rc = m->m.proto == LP2P_PUNCH_TCP
                 ? lp2p_host_raw_listen(p->h, &la, 0, &m->sock)
                 : lp2p_host_udp_open(p->h, &la, 0, &m->sock);
    if (rc) {
      pstatus(p, PL_ERROR, "cannot listen on 127.0.0.1:%u: %s", m->m.local,
              lp2p_strerror(rc));
      return PUNCH_EXIT_FAIL;
    }
  }
  return 0;
}

static pmap *map_of_sock(punch *p, uint64_t sock) {
  for (int i = 0; i < p->cfg->nmaps; i++)
    if (p->cfg->maps[i].sock == sock && sock)
      return &p->cfg->maps[i];
  return NULL;
}

void fwd_event(punch *p, const lp2p_host_event *ev) {
  switch (ev->kind) {
  case LP2P_HOST_EV_RAW_LISTENING:
  case LP2P_HOST_EV_UDP_READY: {
    pmap *m = map_of_sock(p, ev->u.raw.id);
    if (m) {
      pstatus(p, PL_INFO, "listening on 127.0.0.1:%u/%s for %s", m->m.local,
              lp2p_punch_proto_name(m->m.proto), m->spec);
      return;
    }
    break;
  }
  case LP2P_HOST_EV_RAW_FAILED: {
    pmap *m = map_of_sock(p, ev->u.raw.id);
    if (m) {
      pstatus(p, PL_ERROR, "cannot listen on 127.0.0.1:%u/%s: %s",
              m->m.local, lp2p_punch_proto_name(m->m.proto),
              lp2p_strerror(ev->err));
      p->exit_code = PUNCH_EXIT_FAIL;
      p->done = 1;
      return;
    }
    break;
  }
  default:
    break;
  }
  if (fwd_tcp_event(p, ev))
    return;
  fwd_udp_event(p, ev);
}

void fwd_connected(punch *p) { fwd_tcp_connected(p); }

void fwd_unreachable(punch *p, int err) { fwd_tcp_unreachable(p, err); }

void fwd_tick(punch *p, lp2p_tstamp now) {
  if (now >= p->next_sweep) {
    p->next_sweep = now + SWEEP_NS;
    fwd_udp_sweep(p, now);
  }
}

void fwd_free(punch *p) {
  fwd_tcp_free(p);
  fwd_udp_free(p);
}
