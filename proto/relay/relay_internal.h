/* The circuit relay v2 service (relay/circuit-v2.md): shared by its files.
 *   relay_svc.c    registration, hooks, timers, public calls
 *   relay_io.c     one length-prefixed message at a time on a stream
 *   relay_hop.c    the hop server: reservations, CONNECT, the splice
 *   relay_client.c reservations we hold, circuit dials, the stop handler
 * Every stream the service owns carries one rleg as its ud. */
#ifndef LP2P_PROTO_RELAY_INTERNAL_H
#define LP2P_PROTO_RELAY_INTERNAL_H

#include "lp2p/relay.h"
#include "proto/host/host_internal.h"

enum {
  RL_HOP_SERVE = 1, /* server: an inbound hop stream, reading its request */
  RL_STOP_OUT,      /* server: our stop stream to the target, awaiting OK */
  RL_LEG,           /* server: one side of a live circuit */
  RL_RESERVE,       /* client: our RESERVE, awaiting STATUS */
  RL_DIAL,          /* client: our CONNECT, awaiting STATUS */
  RL_STOP_IN        /* client: an inbound stop stream, reading CONNECT */
};

typedef struct rcircuit rcircuit;

typedef struct rleg {
  uint8_t role;
  uint8_t dead;      /* the stream is gone (reset or ended) */
  uint8_t done;      /* the exchange is over: input is discarded */
  uint64_t stream, conn;
  /* message being read: the length prefix, then the body */
  uint8_t *buf;      /* LP2P_RELAY_MSG_MAX + 10 while reading, else NULL */
  size_t have, want; /* want 0: still reading the prefix */
  rcircuit *cir;     /* RL_STOP_OUT, RL_LEG */
  uint64_t left;     /* RL_LEG: bytes this side may still send on */
  struct rdial *rd;  /* RL_DIAL */
  struct rresv *resv; /* RL_RESERVE */
} rleg;

/* A circuit on the relay: the initiator's hop stream and the target's
 * stop stream, spliced once the target said OK. */
struct rcircuit {
  rleg hop, stop;
  lp2p_peerid src, dst;
  lp2p_tstamp deadline;   /* duration limit (NONE: none) */
  rcircuit *next;
};

/* A reservation we granted (server). */
typedef struct rslot {
  lp2p_peerid peer;
  uint64_t conn;
  lp2p_sockaddr ip;
  uint64_t expire_unix;
  lp2p_tstamp expires;
} rslot;

/* A reservation we hold (client). */
typedef struct rresv {
  lp2p_peerid relay;
  uint64_t stream;        /* the RESERVE in flight, 0 if none */
  struct rleg *leg;       /* its leg (the stream's ud) */
  uint64_t expire_unix;   /* 0 until granted */
  lp2p_tstamp refresh_at; /* next RESERVE (NONE while one is in flight) */
  lp2p_tstamp waiting;    /* a dial to the relay in flight since (or NONE) */
  size_t naddrs;
  lp2p_maddr addrs[LP2P_RELAY_ADDRS_MAX]; /* the relay's, with /p2p */
  uint8_t used;
} rresv;

#define RELAY_RESV_MAX 16
#define RELAY_REFRESH_MIN_NS (10 * LP2P_NS_PER_S)
#define RELAY_DIALS_MAX 64

/* A circuit dial: waiting for its relay connection, then for the answer
 * to its CONNECT (stream set). */
typedef struct rdial {
  uint64_t dial;          /* the host's dial id (0: free slot) */
  uint64_t stream;        /* our CONNECT in flight (0: none yet) */
  lp2p_peerid relay, target;
  lp2p_maddr remote;      /* the whole /p2p-circuit address */
  lp2p_tstamp deadline;
} rdial;

/* AutoRelay: a relay seen (identify lists hop) and when it may be asked. */
#define RELAY_CANDIDATES_MAX 32
typedef struct rcand {
  lp2p_peerid peer;
  lp2p_tstamp retry_at; /* 0: may be asked now */
  uint8_t used;
} rcand;

typedef struct relay_svc {
  uint32_t svc;
  uint16_t hop, stop;
  lp2p_relay_config cfg;
  /* server */
  rslot *slots;
  uint32_t nslots;
  rcircuit *circuits;
  uint32_t ncircuits;
  /* client */
  rresv resv[RELAY_RESV_MAX];
  rdial dials[RELAY_DIALS_MAX];
  uint64_t dial_timeout_ns; /* the host's, for the relay leg of a dial */
  /* AutoRelay */
  rcand cands[RELAY_CANDIDATES_MAX];
  uint8_t private_now;      /* AUTORELAY_PRIVATE: the verdict is private */
} relay_svc;

extern const hsvc_ops host_svc_relay_ops;

/* relay_io.c */
rleg *relay_leg_new(lp2p_host *h, uint8_t role, uint64_t stream,
                    uint64_t conn);
void relay_leg_free(lp2p_host *h, rleg *g);
/* 1: a whole message is in g->buf (body at g->buf, g->want bytes); 0:
 * not yet; <0: malformed (too big) or the stream ended first. Consumes
 * exactly the message from the stream, never bytes after it. */
int relay_read_msg(lp2p_host *h, rleg *g, lp2p_tstamp now);
/* Done with the message: ready for the next one, buffer freed. */
void relay_msg_done(lp2p_host *h, rleg *g);
/* Encode and write m whole (a stream opens with a full window, and
 * messages are small). Returns 0 or LIMIT / CLOSED / NOT_FOUND. */
int relay_write_msg(lp2p_host *h, uint64_t stream, const lp2p_relay_msg *m,
                    lp2p_tstamp now);
/* Write a status-only reply (hop or stop). */
int relay_write_status(lp2p_host *h, uint64_t stream, int stop,
                       uint32_t status, lp2p_tstamp now);
uint64_t relay_unix_s(const lp2p_host *h);

/* relay_hop.c */
void relay_hop_request(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now);
void relay_hop_stop_reply(lp2p_host *h, relay_svc *v, rleg *g,
                          lp2p_tstamp now);
void relay_hop_splice(lp2p_host *h, relay_svc *v, rcircuit *c,
                      lp2p_tstamp now);
void relay_hop_leg_end(lp2p_host *h, relay_svc *v, rleg *g, int err,
                       lp2p_tstamp now);
void relay_hop_circuit_kill(lp2p_host *h, relay_svc *v, rcircuit *c,
                            lp2p_tstamp now);
void relay_hop_peer_gone(relay_svc *v, uint64_t conn);
void relay_hop_expire(relay_svc *v, lp2p_tstamp now);
void relay_hop_free(lp2p_host *h, relay_svc *v);

/* relay_client.c */
void relay_client_reply(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now);
void relay_client_stop(lp2p_host *h, relay_svc *v, rleg *g, lp2p_tstamp now);
void relay_client_leg_end(lp2p_host *h, relay_svc *v, rleg *g, int err,
                          lp2p_tstamp now);
void relay_client_connected(lp2p_host *h, relay_svc *v, uint64_t conn,
                            lp2p_tstamp now);
void relay_client_disconnected(lp2p_host *h, relay_svc *v,
                               const lp2p_peerid *peer, lp2p_tstamp now);
void relay_client_timers(lp2p_host *h, relay_svc *v, lp2p_tstamp now);
int relay_client_dial(lp2p_host *h, relay_svc *v, uint64_t dial,
                      const lp2p_maddr *ma, lp2p_tstamp now);
void relay_client_dial_cancel(relay_svc *v, uint64_t dial);
int relay_client_reserve(lp2p_host *h, relay_svc *v, const lp2p_peerid *relay,
                         lp2p_tstamp now);
lp2p_tstamp relay_client_next(const relay_svc *v);
int relay_client_holds(const relay_svc *v);
/* Give up a reservation ourselves (LOST with err 0 follows). */
void relay_client_release(lp2p_host *h, relay_svc *v, rresv *r,
                          lp2p_tstamp now);

/* relay_auto.c */
void relay_auto_identified(lp2p_host *h, relay_svc *v, uint64_t conn,
                           lp2p_tstamp now);
void relay_auto_lost(lp2p_host *h, relay_svc *v, const lp2p_peerid *relay,
                     lp2p_tstamp now);
void relay_auto_timers(lp2p_host *h, relay_svc *v, lp2p_tstamp now);
lp2p_tstamp relay_auto_next(const relay_svc *v);

#endif
