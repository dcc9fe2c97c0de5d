/* punch: the host on the real driver, the one loop, and the status lines
 * (issue 14 "Status"): every line goes to stderr as "punch: <text>", so
 * in stdio mode stdout carries only the stream's bytes. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/autonat.h"
#include "tools/punch/punch.h"

static volatile int usr1_flag;
static void on_usr1(int sig) {
  (void)sig;
  usr1_flag = 1;
}

void pstatus(const punch *p, int lvl, const char *fmt, ...) {
  if (lvl > p->cfg->log_level)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *c = line; *c; c++) /* one line, whatever the input held */
    if ((unsigned char)*c < 0x20)
      *c = ' ';
  fprintf(stderr, "punch: %s\n", line);
}

void punch_peer_text(const lp2p_peerid *id, char *buf, size_t cap) {
  size_t n = 0;
  if (lp2p_peerid_to_base58(id, buf, cap, &n) != 0 || n >= cap)
    n = 0;
  buf[n] = 0;
}

void punch_maddr_text(const lp2p_maddr *m, char *buf, size_t cap) {
  size_t n = 0;
  if (lp2p_maddr_to_string(m, buf, cap, &n) != 0 || n >= cap)
    n = 0;
  buf[n] = 0;
}

void punch_print_counters(const punch *p) {
  const pconfig *c = p->cfg;
  for (int i = 0; i < c->nmaps; i++) {
    const pmap *m = &c->maps[i];
    if (m->m.proto == LP2P_PUNCH_UDP)
      pstatus(p, PL_ERROR,
              "counters %s: flows %llu, bytes in %llu, bytes out %llu, "
              "drops %llu",
              m->spec, (unsigned long long)m->flows,
              (unsigned long long)m->bytes_in,
              (unsigned long long)m->bytes_out,
              (unsigned long long)m->drops);
    else
      pstatus(p, PL_ERROR,
              "counters %s: connections %llu, bytes in %llu, bytes out %llu",
              m->spec, (unsigned long long)m->conns,
              (unsigned long long)m->bytes_in,
              (unsigned long long)m->bytes_out);
  }
}

/* Library log lines at PUNCH_LOG=debug. */
static void log_write(void *ud, int level, const char *msg) {
  (void)ud;
  (void)level;
  fprintf(stderr, "punch: debug: %s\n", msg);
}
static lp2p_log debug_log = {log_write, NULL};
static lp2p_autonat_cidrs public_cidrs;

static void host_config(punch *p, lp2p_host_config *cfg) {
  const pconfig *c = p->cfg;
  lp2p_host_config_default(cfg);
  cfg->identity = &p->key;
  cfg->log = c->log_level >= PL_DEBUG ? &debug_log : NULL;
  cfg->agent_version = "punch/" LP2P_VERSION_TEXT;
  /* Forwarded connections may idle for hours (a shell): no stream idle
   * timeout; UDP flows have their own 5-minute eviction (fwd_udp.c). */
  cfg->app_stream_idle_timeout_ns = 0;
  /* Many forwarded connections and UDP flows share one connection to the
   * peer: room for 1,000 concurrent flows and more (the acceptance test
   * runs 1,000). Raw sockets are fitted under the fd limit below. */
  cfg->yamux.streams_max = 8192;
  cfg->yamux.accept_backlog_max = 2048;
  cfg->streams_inbound_max = 8192;
  cfg->streams_inbound_per_peer_max = 8192;
  cfg->streams_outbound_per_peer_max = 8192;
  cfg->streams_inbound_per_protocol_max = 8192;
  cfg->streams_inbound_per_protocol_peer_max = 8192;
  cfg->streams_inbound_reserve_peer_max = 8192;
  cfg->raws_max = 4096;
  cfg->udp_datagram_bytes_max = 65535;
  cfg->udp_send_queue_max = 4096;
  cfg->memory_per_conn_max = UINT64_C(256) << 20;
  cfg->memory_per_peer_max = UINT64_C(256) << 20;
  cfg->memory_max = UINT64_C(512) << 20;
  cfg->dcutr.enabled = c->role != ROLE_RELAY;
  /* issue 14 "Path upkeep": while relayed keep trying, 30 s doubling to
   * 10 min, and at once when our addresses change */
  cfg->dcutr.retry_min_ns = 30 * LP2P_NS_PER_S;
  cfg->dcutr.retry_max_ns = 600 * LP2P_NS_PER_S;
  cfg->relay.stop = c->role != ROLE_RELAY;
  if (c->relay_mode == RELAY_DEFAULT && c->role != ROLE_RELAY) {
    /* reserve on relays found among our peers whatever AutoNAT says: a
     * punch peer must be reachable by key, and AutoNAT may have no
     * verdict at all (one AutoNAT server in a private network) */
    cfg->relay.autorelay = LP2P_AUTORELAY_ON;
    cfg->autonat.client = 1;
    cfg->portmap.method = LP2P_PORTMAP_AUTO;
  } else {
    cfg->autonat.client = 0;
  }
  if (c->role == ROLE_RELAY) {
    cfg->relay.hop = 1;
    cfg->relay.limit_duration_ns = c->limit_duration_s * LP2P_NS_PER_S;
    cfg->relay.limit_data_bytes = c->limit_data;
    cfg->autonat.server = 1;
    cfg->kad.mode = LP2P_KAD_MODE_SERVER;
  } else if (c->relay_mode != RELAY_ADDR) {
    cfg->kad.mode = LP2P_KAD_MODE_CLIENT; /* find-by-key (path.c) */
  }
  /* The DHT's address filter (public addresses only by default, as go and
   * js): a private DHT (PUNCH_BOOTSTRAP, or `punch relay`, which serves
   * its own) keeps every address, since its peers are on the same
   * private network. */
  if (c->role == ROLE_RELAY || c->private_dht)
    cfg->kad.addr_filter = LP2P_KAD_ADDRS_ALL;
  if (c->public_cidrs &&
      lp2p_autonat_cidrs_parse(&public_cidrs, c->public_cidrs) == 0) {
    cfg->kad.is_public = lp2p_autonat_cidrs_public;
    cfg->kad.is_public_ud = &public_cidrs;
    cfg->autonat.is_public = lp2p_autonat_cidrs_public;
    cfg->autonat.is_public_ud = &public_cidrs;
    cfg->autonat.s.is_public = lp2p_autonat_cidrs_public;
    cfg->autonat.s.is_public_ud = &public_cidrs;
    cfg->dcutr.engine.is_public = lp2p_autonat_cidrs_public;
    cfg->dcutr.engine.is_public_ud = &public_cidrs;
  }
}

static int listen_on(punch *p, const char *text) {
  lp2p_maddr m;
  int rc = lp2p_maddr_parse(&m, text, strlen(text));
  if (!rc)
    rc = lp2p_host_listen(p->h, &m, NULL);
  if (rc) {
    pstatus(p, PL_ERROR, "cannot listen on %s: %s", text, lp2p_strerror(rc));
    return PUNCH_EXIT_FAIL;
  }
  return 0;
}

/* Our addresses: on stdout for `punch relay` (one per line), else one
 * status line per address not shown before (the set grows as listeners,
 * reservations and observations come). */
static lp2p_maddr shown[32];
static size_t nshown;

static void print_addrs(punch *p, FILE *to) {
  lp2p_maddr a[32];
  size_t n = 0;
  lp2p_host_addrs(p->h, a, 32, &n);
  char id[LP2P_PEERID_TEXT_MAX], t[1024];
  punch_peer_text(&p->self, id, sizeof id);
  for (size_t i = 0; i < n && i < 32; i++) {
    int seen = 0;
    for (size_t j = 0; j < nshown && !seen; j++)
      seen = lp2p_maddr_equal(&shown[j], &a[i]);
    if (seen)
      continue;
    if (nshown < 32)
      shown[nshown++] = a[i];
    punch_maddr_text(&a[i], t, sizeof t);
    /* a circuit address already ends in /p2p/<us> */
    const char *sfx = strstr(t, "/p2p-circuit/p2p/") ? "" : "/p2p/";
    if (to == stdout)
      printf("%s%s%s\n", t, sfx, *sfx ? id : "");
    else
      pstatus(p, PL_INFO, "address %s%s%s", t, sfx, *sfx ? id : "");
  }
  fflush(to);
}

/* Our interface IPv4 addresses, so the 0.0.0.0 listener is advertised
 * (identify, DHT provider records) as addresses a peer can dial. */
static void add_interfaces(punch *p) {
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) != 0)
    return;
  /* loopback only when it is all we have: peers elsewhere cannot use it,
   * and a relay advertising it would make circuit addresses nobody can
   * dial */
  int other = 0;
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
    other |= i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
             (i->ifa_flags & IFF_UP) && !(i->ifa_flags & IFF_LOOPBACK);
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
        !(i->ifa_flags & IFF_UP) || (other && (i->ifa_flags & IFF_LOOPBACK)))
      continue;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
    char ip[INET_ADDRSTRLEN], t[64];
    if (!inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip))
      continue;
    snprintf(t, sizeof t, "/ip4/%s/tcp/0", ip);
    lp2p_maddr m;
    if (lp2p_maddr_parse(&m, t, strlen(t)) == 0)
      lp2p_host_addr_add(p->h, lp2p_clock_now(), &m, LP2P_ADDR_INTERFACE);
  }
  freeifaddrs(ifs);
}

static int start(punch *p) {
  lp2p_host_config cfg;
  host_config(p, &cfg);
  lp2p_driver_fit_limits(&cfg, NULL);
  int rc = lp2p_host_new(&p->h, &cfg, NULL, &p->rng, lp2p_clock_now());
  /* poll, not epoll, when stdin may be a regular file (stdio mapping):
   * epoll refuses regular files */
  int stdio = 0;
  for (int i = 0; i < p->cfg->nmaps; i++)
    stdio |= p->cfg->maps[i].m.stdio;
  if (!rc)
    rc = lp2p_driver_new(&p->d, p->h,
                         stdio ? lp2p_backend_poll() : lp2p_backend_epoll());
  if (rc) {
    pstatus(p, PL_ERROR, "cannot start the node: %s", lp2p_strerror(rc));
    return PUNCH_EXIT_FAIL;
  }
  lp2p_host_set_unix_time(p->h, lp2p_clock_unix_ns());
  add_interfaces(p);
  lp2p_peerid_from_pubkey(&p->self, &p->key.pub);
  /* access control: the host's connection gater (PUNCH_ALLOW) */
  if (p->cfg->allow_set) {
    lp2p_host_gate_mode(p->h, LP2P_GATE_ALLOW_LISTED);
    for (int i = 0; i < p->cfg->nallow; i++)
      if ((rc = lp2p_host_gate_peer(p->h, &p->cfg->allow[i], 1)) != 0) {
        pstatus(p, PL_ERROR, "PUNCH_ALLOW: %s", lp2p_strerror(rc));
        return PUNCH_EXIT_FAIL;
      }
  }
  char id[LP2P_PEERID_TEXT_MAX];
  punch_peer_text(&p->self, id, sizeof id);
  /* Acceptance criterion 1: the public key on stderr at startup, always
   * (even at PUNCH_LOG=error). */
  pstatus(p, PL_ERROR, "public key %s", id);
  if (p->cfg->role == ROLE_RELAY) {
    if (!p->cfg->nlisten)
      return listen_on(p, "/ip4/0.0.0.0/tcp/0");
    for (int i = 0; i < p->cfg->nlisten; i++)
      if ((rc = listen_on(p, p->cfg->listen[i])) != 0)
        return rc;
    return 0;
  }
  /* An ephemeral port of our own (several punch processes side by side),
   * for direct connections and hole punching. A relay on loopback (a
   * test, a private setup) means loopback is where peers are. */
  return listen_on(p, "/ip4/0.0.0.0/tcp/0");
}

static void stop_host(punch *p) {
  if (!p->h || !p->d)
    return;
  lp2p_host_close(p->h, lp2p_clock_now());
  lp2p_tstamp end = lp2p_clock_now() + 2 * LP2P_NS_PER_S;
  lp2p_host_event ev;
  int closed = 0;
  while (!closed && lp2p_clock_now() < end) {
    lp2p_driver_flush(p->d);
    while (lp2p_host_poll_event(p->h, &ev))
      closed |= ev.kind == LP2P_HOST_EV_CLOSED;
    if (!closed)
      lp2p_driver_step(p->d, 50);
  }
  end = lp2p_clock_now() + 2 * LP2P_NS_PER_S;
  while (lp2p_driver_closing(p->d) && lp2p_clock_now() < end)
    lp2p_driver_step(p->d, 50);
}

int punch_run(punch *p) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  int rc = start(p);
  int relay_printed = 0;
  if (!rc && p->cfg->role != ROLE_RELAY)
    rc = fwd_start(p);
  if (!rc && p->cfg->role != ROLE_RELAY)
    rc = path_start(p);
  while (!rc && !p->done && !*p->stop) {
    lp2p_driver_flush(p->d);
    lp2p_host_event ev;
    while (!p->done && lp2p_host_poll_event(p->h, &ev)) {
      if (ev.kind == LP2P_HOST_EV_LISTEN_FAILED) {
        pstatus(p, PL_ERROR, "cannot listen: %s", lp2p_strerror(ev.err));
        p->exit_code = PUNCH_EXIT_FAIL;
        p->done = 1;
        break;
      }
      if (p->cfg->role == ROLE_RELAY) {
        /* each listener's addresses once bound (print_addrs shows only
         * addresses not shown before) */
        if (ev.kind == LP2P_HOST_EV_LISTENING ||
            (ev.kind == LP2P_HOST_EV_ADDRESS_CHANGED && relay_printed)) {
          relay_printed = 1;
          print_addrs(p, stdout);
        }
        continue;
      }
      if (ev.kind == LP2P_HOST_EV_LISTENING ||
          ev.kind == LP2P_HOST_EV_ADDRESS_CHANGED)
        print_addrs(p, stderr);
      path_event(p, &ev);
      fwd_event(p, &ev);
      lp2p_driver_flush(p->d);
    }
    uint64_t tag;
    unsigned wev;
    while (!p->done && lp2p_driver_poll_watch(p->d, &tag, &wev))
      fwd_stdio_ready(p, wev);
    if (usr1_flag) {
      usr1_flag = 0;
      punch_print_counters(p);
    }
    if (p->done)
      break;
    lp2p_tstamp now = lp2p_clock_now();
    if (p->cfg->role != ROLE_RELAY) {
      path_tick(p, now);
      fwd_tick(p, now);
    }
    lp2p_driver_flush(p->d);
    if (lp2p_driver_step(p->d, 250) != 0) {
      pstatus(p, PL_ERROR, "driver failed");
      p->exit_code = PUNCH_EXIT_FAIL;
      break;
    }
  }
  if (rc)
    p->exit_code = rc;
  if (p->cfg->role != ROLE_RELAY && p->h)
    punch_print_counters(p);
  stop_host(p);
  if (p->cfg->role != ROLE_RELAY)
    fwd_free(p);
  lp2p_driver_free(p->d);
  lp2p_host_free(p->h);
  pidmap_free(&p->raws);
  pidmap_free(&p->streams);
  return p->exit_code;
}
