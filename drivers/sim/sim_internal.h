/* Private structures of the simulator (drivers/sim). Tests include this
 * header to reach the event queue, the NAT box and the TCP model directly. */
#ifndef LP2P_SIM_INTERNAL_H
#define LP2P_SIM_INTERNAL_H

#include "lp2p/sim.h"

struct sim_igd; /* igd.h */

/* ---- event queue (evq.c): binary min-heap on (time, seq) ---------------- */

typedef void (*sim_ev_fn)(lp2p_sim *s, void *ud, uint64_t arg);

typedef struct sim_ev {
  lp2p_tstamp t;
  uint64_t seq;
  sim_ev_fn fn;
  void *ud;
  uint64_t arg;
} sim_ev;

typedef struct sim_evq {
  sim_ev *h;
  size_t n, cap;
  uint64_t next_seq;
} sim_evq;

void sim_evq_init(sim_evq *q);
void sim_evq_free(sim_evq *q);
/* Returns 0 or LP2P_ERR_NOMEM. The sequence number orders equal times by
 * insertion. */
int sim_evq_push(sim_evq *q, lp2p_tstamp t, sim_ev_fn fn, void *ud,
                 uint64_t arg);
/* Removes the earliest event into *out. Returns 1 or 0 (empty). */
int sim_evq_pop(sim_evq *q, sim_ev *out);
/* Earliest time, or LP2P_TSTAMP_NONE. */
lp2p_tstamp sim_evq_peek(const sim_evq *q);

/* ---- small deterministic hash map (map.c): (k1, k2) -> u64 ------------- */

typedef struct sim_map {
  uint64_t *k1, *k2, *v;
  uint8_t *used;
  size_t cap, n;
} sim_map;

void sim_map_free(sim_map *m);
int sim_map_put(sim_map *m, uint64_t k1, uint64_t k2, uint64_t v);
int sim_map_get(const sim_map *m, uint64_t k1, uint64_t k2, uint64_t *v);
void sim_map_del(sim_map *m, uint64_t k1, uint64_t k2);

/* ---- packets --------------------------------------------------------------
 */

#define SIM_TCP 6
#define SIM_UDP 17

#define SIM_F_SYN 0x01u
#define SIM_F_ACK 0x02u
#define SIM_F_FIN 0x04u
#define SIM_F_RST 0x08u
#define SIM_F_PROBE 0x10u /* window probe: answer with an ACK */

#define SIM_TTL_DEFAULT 64

typedef struct sim_pkt {
  uint8_t proto;
  uint8_t flags;
  uint8_t ttl;
  uint8_t origin_group; /* the sender's group when sent (federated worlds:
                           the origin node lives in another world) */
  uint32_t src_ip, dst_ip;
  uint16_t src_port, dst_port;
  uint64_t seq;     /* TCP: first data byte (FIN: data length) */
  uint64_t ack;     /* TCP: next byte expected (FIN counts one) */
  uint32_t isn;     /* TCP SYN: sender's connection nonce */
  uint32_t isn_ack; /* TCP SYN-ACK: the nonce it answers */
  uint32_t wnd;     /* TCP: receive window */
  uint32_t origin;  /* sending endpoint node (pair partitions) */
  uint32_t len;
  uint8_t data[];
} sim_pkt;

sim_pkt *sim_pkt_new(size_t len);
sim_pkt *sim_pkt_clone(const sim_pkt *p);
void sim_pkt_free(sim_pkt *p);

/* ---- NAT box (nat.c): pure translation state machine ----------------------
 */

typedef struct sim_nat_session {
  uint32_t mapping; /* index into maps */
  uint32_t remote_ip;
  uint16_t remote_port;
  uint8_t live;
  uint8_t out_syn, in_syn, closing; /* TCP state for timeouts */
  uint8_t seen_out, seen_in;
  lp2p_tstamp expiry;
} sim_nat_session;

typedef struct sim_nat_mapping {
  uint8_t live;
  uint8_t proto;
  uint32_t int_ip;
  uint16_t int_port;
  uint16_t ext_port;
  uint32_t key_ip; /* AD/APD mapping: the destination it was made for */
  uint16_t key_port;
  uint32_t sessions;  /* live sessions */
  lp2p_tstamp expiry; /* max of its sessions' expiries (and the lease) */
  uint8_t fwd;        /* a port forward the IGD installed: admits any
                         remote while its lease runs */
  lp2p_tstamp lease_until; /* fwd: end of the lease (NONE: permanent) */
} sim_nat_mapping;

typedef struct sim_nat {
  lp2p_sim_nat_config cfg;
  uint32_t ext_ip;
  const lp2p_rng *rng;
  sim_nat_mapping *maps;
  size_t nmaps, maps_cap;
  sim_nat_session *sess;
  size_t nsess, sess_cap;
  uint16_t next_port;
  uint64_t dropped, translated;
} sim_nat;

enum { SIM_NAT_DROP = 0, SIM_NAT_FORWARD, SIM_NAT_RST };

int sim_nat_init(sim_nat *n, const lp2p_sim_nat_config *cfg, uint32_t ext_ip,
                 const lp2p_rng *rng);
void sim_nat_free(sim_nat *n);
/* A packet from the LAN leaving through the NAT: rewrites the source to
 * the external address. Returns SIM_NAT_FORWARD or SIM_NAT_DROP (tables
 * full, no free port). */
int sim_nat_outbound(sim_nat *n, sim_pkt *p, lp2p_tstamp now);
/* A packet arriving at the external address: rewrites the destination to
 * the internal endpoint (FORWARD), or DROP, or RST (unsolicited SYN with
 * syn_rst: the caller answers with a RST from the external address). */
int sim_nat_inbound(sim_nat *n, sim_pkt *p, lp2p_tstamp now);
size_t sim_nat_live_mappings(const sim_nat *n, lp2p_tstamp now);
/* Port forwards (igd.c asks for them): ext_port of `proto` forwards to
 * int_ip:int_port until `until` (LP2P_TSTAMP_NONE: permanent), whatever
 * the filtering. Adding the forward that exists renews it. Returns 0, or
 * LP2P_ERR_INVAL (the port is taken by another forward or a live dynamic
 * mapping), LP2P_ERR_LIMIT (table full). */
int sim_nat_fwd_add(sim_nat *n, uint8_t proto, uint16_t ext_port,
                    uint32_t int_ip, uint16_t int_port, lp2p_tstamp until,
                    lp2p_tstamp now);
/* Remove a forward (its sessions end with it). */
void sim_nat_fwd_del(sim_nat *n, uint8_t proto, uint16_t ext_port,
                     lp2p_tstamp now);
/* Whether ext_port of proto is free for a new forward. */
int sim_nat_port_free(const sim_nat *n, uint8_t proto, uint16_t ext_port,
                      lp2p_tstamp now);
/* A router reboot: every mapping and session is gone. */
void sim_nat_reset(sim_nat *n);

/* ---- links ------------------------------------------------------------- */

typedef struct sim_dir {
  lp2p_sim_link cfg;
  lp2p_tstamp busy_until;       /* serialisation */
  lp2p_tstamp last_tcp_arrival; /* TCP is FIFO per direction */
  lp2p_tstamp clog_until;
  uint8_t blocked;
} sim_dir;

/* ---- sockets ------------------------------------------------------------ */

enum {
  SK_FREE = 0,
  SK_LISTEN,
  SK_SYN_SENT,
  SK_SYN_RCVD,
  SK_ESTABLISHED,
  SK_DEAD, /* reset / failed: kept until the app closes it */
  SK_UDP
};

typedef struct sim_dgram {
  struct sim_dgram *next;
  lp2p_sockaddr from;
  size_t len;
  uint8_t data[];
} sim_dgram;

/* A byte ring that grows up to a maximum. */
typedef struct sim_ring {
  uint8_t *b;
  size_t cap, head, len;
} sim_ring;

typedef struct sim_sock {
  uint32_t gen;
  uint8_t state;
  uint8_t app_closed; /* the app gave the handle up */
  uint8_t shut_wr;    /* app asked for FIN */
  uint8_t fin_sent, fin_acked, fin_rcvd;
  uint8_t want_write; /* a send came back short: notify WRITABLE */
  uint8_t accepted;   /* taken from the listener's queue */
  uint8_t passive;    /* born from a listener */
  uint8_t mcast;
  uint8_t first_ttl;
  uint8_t host_owned; /* the node's host (sim driver) holds it, not the app */
  int err;
  uint32_t node;
  uint16_t lport;
  uint32_t rip;
  uint16_t rport;
  uint64_t tag;
  uint32_t isn, peer_isn;
  uint64_t listener_h; /* child: its listener's handle */
  uint32_t next_q;     /* listener accept queue link (index, 0 = end) */
  uint32_t q_head, q_tail, q_len; /* listener: accept queue */
  /* send side: bytes [snd_una, snd_una + snd.len) are buffered */
  sim_ring snd;
  uint64_t snd_una, snd_nxt;
  uint32_t snd_wnd;
  /* receive side */
  sim_ring rcv;
  uint64_t rcv_nxt;
  uint32_t last_wnd; /* window we last advertised */
  uint32_t segs_out; /* segments sent (tcp.c: was an ACK carried?) */
  /* timers */
  uint64_t timer_gen;
  lp2p_tstamp timer_at; /* deadline (NONE = disarmed) */
  lp2p_tstamp ev_at;    /* earliest queued timer event (NONE = none) */
  uint32_t retries;
  uint64_t rto_ns, srtt_ns, rttvar_ns;
  uint64_t timed_seq; /* RTT sample: byte whose ACK we time (0 = none) */
  lp2p_tstamp timed_at;
  lp2p_tstamp syn_at;
  /* UDP */
  sim_dgram *dq_head, *dq_tail;
  uint32_t dq_len;
  uint64_t bytes_sent, bytes_received;
} sim_sock;

/* ---- nodes -------------------------------------------------------------- */

enum { NODE_EP = 1, NODE_NAT };

struct sim_hnode; /* net.c: an endpoint at the gateway address .1 of NAT `nat`'s LAN (the
 * box's own LAN side, where its IGD listens). */
int sim_gateway_ep_add(lp2p_sim *s, uint32_t nat, uint32_t *node);
/* igd.c */
void sim_igd_free(struct sim_igd *g);

/* host_driver.c */

typedef struct sim_node {
  uint8_t kind;
  uint32_t id;
  uint32_t realm; /* the realm it is attached to */
  uint32_t ip;
  sim_dir up, down;
  lp2p_rng_chacha link_rng_st;
  lp2p_rng link_rng;
  /* NAT */
  sim_nat *nat;
  struct sim_igd *igd; /* its optional IGD (igd.c), NULL = none */
  uint32_t lan_next; /* next host number to assign on its LAN */
  /* endpoint */
  lp2p_sim_ep_config ep;
  lp2p_rng_chacha ep_rng_st;
  lp2p_rng ep_rng;
  lp2p_rng_chacha app_rng_st; /* the host's / application's stream */
  lp2p_rng app_rng;
  lp2p_sim_sock_fn sock_fn;  /* the application's sockets */
  void *sock_ud;
  lp2p_sim_sock_fn host_sock_fn; /* the host's sockets (host_driver.c) */
  void *host_sock_ud;
  uint16_t next_ephemeral;
  uint8_t group; /* lp2p_sim_node_group (0..15) */
  struct sim_hnode *host;
} sim_node;

typedef struct sim_block {
  uint32_t from, to;
} sim_block;

struct lp2p_sim {
  uint64_t seed;
  lp2p_sim_config cfg;
  lp2p_tstamp now;
  sim_evq q;
  uint64_t trace;
  uint64_t events;
  char *fail_reason;
  void (*trace_fn)(void *ud, const char *line);
  void *trace_ud;
  /* nodes: index 0 unused (realm 0 is the internet) */
  sim_node **nodes;
  size_t nnodes, nodes_cap;
  uint32_t inet_next;
  sim_map ips; /* (realm, ip) -> node */
  /* sockets: index 0 unused */
  sim_sock *socks;
  size_t nsocks, socks_cap;
  uint32_t *sock_free;
  size_t nsock_free;
  sim_map sockmap; /* (proto<<56|node<<16|lport, rip<<16|rport) -> index */
  sim_block *blocks;
  size_t nblocks;
  uint8_t gateway_ok; /* sim_gateway_ep_add is placing a node at .1 */
  /* group partitions: bit `to` of group_block[from] drops packets from
   * endpoints of group `from` to endpoints of group `to` */
  uint16_t group_block[16];
  unsigned group_blocks; /* bits set in group_block */
  lp2p_sim_host_event_fn host_fn;
  void *host_ud;
  /* federation (fed.c): the internet this world shares with others */
  struct lp2p_sim_fed *fed;
  uint32_t fed_index;
  lp2p_tstamp min_up_latency; /* smallest up-link latency of an internet
                                 node: the lookahead other worlds get */
  /* scratch for trace lines */
  char line[256];
};

/* core.c */
void sim_hash(lp2p_sim *s, const void *p, size_t n);
void sim_hash_bulk(lp2p_sim *s, const void *p, size_t n);
void sim_hash_u64(lp2p_sim *s, uint64_t v);
int sim_tracing(const lp2p_sim *s);
void sim_trace_line(lp2p_sim *s, const char *line);
sim_node *sim_node_get(const lp2p_sim *s, uint32_t id);
uint64_t sim_rand_below(const lp2p_rng *r, uint64_t bound);
lp2p_tstamp sim_local_to_virtual(const sim_node *n, lp2p_tstamp local);
lp2p_tstamp sim_virtual_to_local(const sim_node *n, lp2p_tstamp t);

/* net.c: send a packet from endpoint `node` (takes ownership). */
void sim_net_send(lp2p_sim *s, sim_node *from, sim_pkt *p);
/* Release what a queued event owns (at lp2p_sim_free). */
void sim_net_free_event(sim_ev *e);

/* tcp.c / udp.c: a packet arrived at endpoint `n` (takes ownership). */
void sim_tcp_input(lp2p_sim *s, sim_node *n, sim_pkt *p);
void sim_udp_input(lp2p_sim *s, sim_node *n, sim_pkt *p);
/* tcp.c internals shared with tcp_api.c */
void sim_tcp_unhash(lp2p_sim *s, uint32_t idx);
uint32_t sim_tcp_rcv_wnd(const lp2p_sim *s, const sim_sock *k);
void sim_tcp_emit(lp2p_sim *s, uint32_t idx, uint8_t flags, uint64_t seq,
                  size_t len, uint8_t ttl);
void sim_tcp_arm(lp2p_sim *s, uint32_t idx, lp2p_tstamp at);
int sim_tcp_maybe_done(lp2p_sim *s, uint32_t idx);
void sim_tcp_output(lp2p_sim *s, uint32_t idx);
lp2p_ssize sim_tcp_peek(lp2p_sim *s, uint64_t sock, uint8_t *out, size_t cap);
void sim_tcp_consume(lp2p_sim *s, uint64_t sock, size_t n);
int sim_udp_joined(const lp2p_sim *s, uint32_t node, uint16_t port);

/* sockets (sock.c) */
sim_sock *sim_sock_alloc(lp2p_sim *s, uint32_t *idx);
void sim_sock_release(lp2p_sim *s, uint32_t idx);
sim_sock *sim_sock_by_handle(const lp2p_sim *s, uint64_t h, uint32_t *idx);
uint64_t sim_sock_handle(const lp2p_sim *s, uint32_t idx);
uint64_t sim_sock_k1(uint8_t proto, uint32_t node, uint16_t lport);
uint64_t sim_sock_k2(uint32_t rip, uint16_t rport);
void sim_sock_notify(lp2p_sim *s, uint32_t idx, unsigned what);
/* Route a socket's notifications to the node's host driver instead of the
 * application callback, so both can own sockets on one node. */
int sim_sock_set_host(lp2p_sim *s, uint64_t sock);
void sim_ring_free(sim_ring *r);
int sim_ring_reserve(sim_ring *r, size_t need, size_t max);
void sim_ring_push(sim_ring *r, const uint8_t *p, size_t n);
void sim_ring_copy(const sim_ring *r, size_t off, uint8_t *out, size_t n);
void sim_ring_drop(sim_ring *r, size_t n);
void sim_sock_free_all(lp2p_sim *s);

/* net.c: an endpoint at the gateway address .1 of NAT `nat`'s LAN (the
 * box's own LAN side, where its IGD listens). */
int sim_gateway_ep_add(lp2p_sim *s, uint32_t nat, uint32_t *node);
/* igd.c */
void sim_igd_free(struct sim_igd *g);

/* net.c: queue a packet's arrival at hop `where` (a packet another world
 * sent, fed.c). */
void sim_net_inject(lp2p_sim *s, lp2p_tstamp at, sim_pkt *p, uint64_t where);

/* fed.c. The world holding internet address `ip`, when it is another
 * world than s's (else -1). */
int sim_fed_route(const lp2p_sim *s, uint32_t ip);
/* Hand a packet to world `dst` for hop `where` at `at` (>= the end of the
 * current window: the lookahead guarantees it). */
void sim_fed_post(lp2p_sim *s, int dst, lp2p_tstamp at, sim_pkt *p,
                  uint64_t where);
/* An internet address is taken in world s: LP2P_ERR_INVAL when another
 * world has it, LP2P_ERR_STATE while the worlds run in parallel. */
int sim_fed_note_ip(lp2p_sim *s, uint32_t ip);
/* Whether `ip` is taken in any other world. */
int sim_fed_ip_taken(const lp2p_sim *s, uint32_t ip);

/* host_driver.c */
void sim_hosts_free(lp2p_sim *s);
void sim_host_free_event(sim_ev *e);

#endif
