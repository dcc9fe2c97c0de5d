/* The NAT box's IGD (lp2p_sim_igd_*): its state, shared by igd.c (the
 * endpoint at the box's LAN address, its sockets, the public calls) and
 * igd_proto.c (the pure request handling: SSDP, HTTP + SOAP, NAT-PMP and
 * PCP, each a function from one request and the time to one answer).
 * fuzz/fuzz_sim_igd.c drives the pure part. Not public. */
#ifndef LP2P_SIM_IGD_H
#define LP2P_SIM_IGD_H

#include "drivers/sim/sim_internal.h"

#define IGD_HTTP_MAX 8192  /* one request, head and body */
#define IGD_OUT_MAX 4096   /* one answer */
#define IGD_CONNS_MAX 16   /* HTTP connections at a time */
#define IGD_ENTRIES_MAX 64 /* mappings at a time */
#define IGD_DESC_MAX 64    /* UPnP NewPortMappingDescription kept */

enum { IGD_BY_UPNP = 1, IGD_BY_NATPMP, IGD_BY_PCP, IGD_BY_STATIC };

/* One mapping. The box's translation table holds the forward itself
 * (sim_nat_fwd_add); this is what the protocols need to answer. */
typedef struct igd_entry {
  uint8_t used;
  uint8_t proto; /* SIM_TCP / SIM_UDP */
  uint8_t by;    /* IGD_BY_* */
  uint16_t ext_port, int_port;
  uint32_t int_ip;
  lp2p_tstamp until; /* LP2P_TSTAMP_NONE: permanent */
  uint8_t nonce[12]; /* PCP */
  char desc[IGD_DESC_MAX];
} igd_entry;

typedef struct igd_conn {
  uint64_t sock;
  size_t in_len;
  size_t out_len, out_off;
  uint8_t answered; /* the answer is queued; close once it is out */
  uint8_t in[IGD_HTTP_MAX];
  uint8_t out[IGD_OUT_MAX];
} igd_conn;

typedef struct sim_igd {
  lp2p_sim_igd_config cfg;
  sim_nat *nat;
  uint32_t lan_ip, ext_ip; /* host order */
  lp2p_tstamp boot;        /* epoch 0 */
  lp2p_sim_igd_stats st;
  igd_entry e[IGD_ENTRIES_MAX];
  uint16_t next_port; /* where a search for a free port starts */
  /* igd.c */
  lp2p_sim *s;
  uint32_t node, nat_node;
  uint64_t ssdp_sock, pmp_sock, http_sock;
  igd_conn *conns[IGD_CONNS_MAX];
} sim_igd;

/* Set up the pure part (no sockets): the box's table, its addresses. */
void igd_init(sim_igd *g, const lp2p_sim_igd_config *cfg, sim_nat *nat,
              uint32_t lan_ip, uint32_t ext_ip, lp2p_tstamp now);
/* Forget every mapping, epoch 0 from now. */
void igd_reset(sim_igd *g, lp2p_tstamp now);
/* Live mappings now. */
size_t igd_live(const sim_igd *g, lp2p_tstamp now);
/* Add (or renew) a mapping. Returns 0, LP2P_ERR_INVAL (the port is
 * another's), LP2P_ERR_LIMIT (table full). */
int igd_map(sim_igd *g, uint8_t by, uint8_t proto, uint16_t ext_port,
            uint32_t int_ip, uint16_t int_port, uint32_t lease_s,
            lp2p_tstamp now, igd_entry **out);

/* An SSDP datagram: 1 with the unicast answer in out, 0 to ignore it. */
int igd_ssdp(sim_igd *g, const uint8_t *p, size_t n, char *out, size_t cap,
             size_t *len);
/* A datagram to port 5351 (NAT-PMP version 0, PCP version 2) from
 * from_ip: 1 with the answer in out (cap >= LP2P_PCP_MSG_MAX), 0 to drop
 * it. */
int igd_pmp(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
            lp2p_tstamp now, uint8_t *out, size_t cap, size_t *len);
/* The bytes of one HTTP connection so far: 0 while the request is not
 * complete, 1 with the whole answer in out (the connection closes after
 * it; a request over IGD_HTTP_MAX gets 413). */
int igd_http(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
             lp2p_tstamp now, char *out, size_t cap, size_t *len);

/* ---- shared by the request handlers (igd_table.c) ---- */
#define IGD_WEEK_S 604800u
int igd_entry_live(const igd_entry *e, lp2p_tstamp now);
uint32_t igd_epoch(const sim_igd *g, lp2p_tstamp now);
igd_entry *igd_by_port(sim_igd *g, uint8_t proto, uint16_t ext_port,
                       lp2p_tstamp now);
igd_entry *igd_by_internal(sim_igd *g, uint8_t proto, uint32_t ip,
                           uint16_t port, lp2p_tstamp now);
void igd_drop_entry(sim_igd *g, igd_entry *e, lp2p_tstamp now);
uint16_t igd_free_port(sim_igd *g, uint8_t proto, uint16_t want,
                       lp2p_tstamp now);
uint32_t igd_cap_lease(const sim_igd *g, uint32_t lease_s);

static inline void igd_put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void igd_put32(uint8_t *p, uint32_t v) {
  igd_put16(p, v >> 16);
  igd_put16(p + 2, v);
}
static inline uint16_t igd_get16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t igd_get32(const uint8_t *p) {
  return (uint32_t)igd_get16(p) << 16 | igd_get16(p + 2);
}

#endif
