/* The Kademlia DHT service's internals (proto/kad/kad_svc*.c): the state
 * the hooks share. The engines (table, query, stores, validators) are the
 * pure ones of lp2p/kad.h; these files only move their messages over
 * streams. */
#ifndef LP2P_PROTO_KAD_SVC_H
#define LP2P_PROTO_KAD_SVC_H

#include "lp2p/kad.h"
#include "proto/host/host_internal.h"

typedef struct kad_svc kad_svc;
typedef struct kad_query_slot kad_query_slot;
typedef struct kad_req kad_req;

/* One stream of ours: an inbound one we serve, or the stream of one
 * outbound request. Frames are read into `buf` (grown up to the limit). */
typedef struct kad_stream {
  uint64_t stream, conn;
  uint8_t inbound;
  uint8_t *buf;
  size_t have, cap;
  size_t body_off, body_len; /* the frame read_frame found */
  kad_req *req;              /* outbound: its request (NULL once over) */
} kad_stream;

/* An outbound request: to a query's peer, or a liveness check (q NULL). */
struct kad_req {
  uint8_t used;
  uint8_t type;              /* LP2P_KAD_* message type */
  lp2p_peerid peer;
  kad_query_slot *q;
  kad_stream *ks;            /* NULL while the peer is being dialled */
  lp2p_tstamp deadline;
};

/* A query the service runs (public or internal: refresh, bootstrap). */
struct kad_query_slot {
  uint64_t id;
  uint8_t type;              /* FIND_NODE, GET_VALUE, PUT_VALUE, ... */
  uint8_t internal;          /* refresh: no events, freed when done */
  uint8_t find_peer;
  uint8_t done;
  uint8_t refresh_after;     /* a self-lookup: refresh buckets when it
                                ends (KAD_REFRESH_DUE / _ALL) */
  int err;
  lp2p_kad_query *q;
  uint8_t *key, *val;        /* val: PUT's value, or GET's local copy */
  size_t key_len, val_len;
  size_t corr_sent, corr_done; /* GET: entry corrections (PUT_VALUE of the
                                  best record) sent and answered */
};

struct kad_svc {
  uint32_t svc;
  lp2p_kad_config cfg;
  uint16_t proto;
  char proto_name[LP2P_KAD_PREFIX_MAX + 16];
  lp2p_kad_table *table;
  lp2p_kad_records *records;
  lp2p_kad_providers *providers;
  lp2p_kad_validators vs;
  kad_query_slot **queries;  /* queries_max slots, NULL = free */
  kad_req *reqs;             /* requests_max slots */
  size_t reqs_hi;            /* slots at and above it are free (slots are
                                taken lowest first: scans stop there) */
  uint64_t next_id;
  lp2p_tstamp bootstrap_at;  /* first self-lookup (NONE: not due) */
  lp2p_tstamp refresh_at;    /* next refresh tick */
  lp2p_tstamp pump_at;       /* queries to pump (a request ended in a
                                stream_end hook), NONE if none */
  size_t table_reported;     /* the size the last KAD_TABLE said */
  struct kad_boot_peer {     /* the bootstrap list (kad_boot.c) */
    lp2p_maddr addr;
    lp2p_peerid peer;
  } *boot;
  size_t nboot;
  lp2p_tstamp boot_at;       /* next low-peers check (NONE: off) */
};

extern const hsvc_ops host_svc_kad_ops;

/* kad_boot.c: the bootstrap list and the address filter */
int kad_boot_init(lp2p_host *h, kad_svc *v);
void kad_boot_fini(lp2p_host *h, kad_svc *v);
/* Tag and dial every bootstrap peer; the first `cap` dial ids go to
 * `dials`, `*n` gets how many dials started. Returns 0, or the first
 * dial error when none started. */
int kad_bootstrap(lp2p_host *h, kad_svc *v, lp2p_tstamp now, uint64_t *dials,
                  size_t cap, size_t *n);

/* go's fixLowPeers, run at each low-peers check (kad_boot.c) */
void kad_fix_low_peers(lp2p_host *h, kad_svc *v, lp2p_tstamp now);
/* The self-lookup of a refresh; its buckets follow (kad_svc.c; all: every
 * bucket, as at bootstrap, else the due ones) */
void kad_refresh(lp2p_host *h, kad_svc *v, int all, lp2p_tstamp now);

/* kad_svc_io.c: frames on streams */
kad_stream *kad_stream_new(lp2p_host *h, uint64_t stream, uint64_t conn,
                           int inbound);
void kad_stream_free(lp2p_host *h, kad_stream *ks);
/* 1: a frame is at ks->buf + body_off (body_len bytes); 0: need more;
 * <0: error (EOF before a whole frame, LIMIT, PARSE). */
int kad_read_frame(lp2p_host *h, kad_stream *ks, size_t max,
                   lp2p_tstamp now);
/* Drop the frame read_frame returned (keep bytes read after it). */
void kad_frame_done(kad_stream *ks);
/* Encode and write a whole message. Returns 0 or an error (a short write
 * is LP2P_ERR_LIMIT: answers are small against the stream window). */
int kad_write_msg(lp2p_host *h, uint64_t stream, const lp2p_kad_msg *m,
                  lp2p_tstamp now);
/* A decode space sized by the config (the caller's arrays). */
#define KAD_PEERS_CAP (2 * LP2P_KAD_K + 2)
#define KAD_ADDRS_CAP (KAD_PEERS_CAP * 8)

/* kad_svc_serve.c: the server side */
void kad_serve_stream(lp2p_host *h, kad_svc *v, kad_stream *ks,
                      lp2p_tstamp now);
/* Fill `out` with the closer peers for key (table closest, peerstore
 * addresses); `skip` (may be NULL) is left out. Storage is `sc`'s. */
typedef struct kad_peers_out {
  lp2p_kad_peer peers[LP2P_KAD_K + 1];
  lp2p_kad_bytes addrs[(LP2P_KAD_K + 1) * 8];
  lp2p_maddr maddrs[(LP2P_KAD_K + 1) * 8];
  size_t n;
  lp2p_peerid ids[LP2P_KAD_K + 1];
} kad_peers_out;

/* kad_svc_query.c: queries and outbound requests */
void kad_query_pump(lp2p_host *h, kad_svc *v, kad_query_slot *kq,
                    lp2p_tstamp now);
int kad_query_start(lp2p_host *h, kad_svc *v, uint8_t type,
                    const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len, int internal, int find_peer,
                    lp2p_tstamp now, uint64_t *id);
void kad_query_slot_free(lp2p_host *h, kad_svc *v, kad_query_slot *kq);
kad_query_slot *kad_query_find(const kad_svc *v, uint64_t id);
void kad_req_connected(lp2p_host *h, kad_svc *v, uint64_t conn,
                       lp2p_tstamp now);
void kad_req_stream_activity(lp2p_host *h, kad_svc *v, kad_stream *ks,
                             lp2p_tstamp now);
void kad_req_stream_end(lp2p_host *h, kad_svc *v, kad_stream *ks, int err,
                        lp2p_tstamp now);
void kad_req_timers(lp2p_host *h, kad_svc *v, lp2p_tstamp now);
lp2p_tstamp kad_req_next(const kad_svc *v);
/* kad_svc.c: lookups for the buckets to refresh (`all`: every bucket up
 * to the deepest non-empty one, else the due ones), after a self-lookup. */
enum { KAD_REFRESH_DUE = 1, KAD_REFRESH_ALL = 2 };
void kad_refresh_buckets(lp2p_host *h, kad_svc *v, int all, lp2p_tstamp now);
/* Send a liveness check (PING) to a table peer. */
void kad_ping_peer(lp2p_host *h, kad_svc *v, const lp2p_peerid *peer,
                   lp2p_tstamp now);
/* Say the table's size when it changed (KAD_TABLE). */
void kad_table_report(lp2p_host *h, kad_svc *v);

#endif
