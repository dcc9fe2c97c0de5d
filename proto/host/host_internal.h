/* lp2p_host internals shared by proto/host/ files (and, for the peerstore
 * and events, by services; their stream I/O goes through
 * host_service.h). Not public.
 *
 * Layout of the object (all reachable from lp2p_host):
 *   idtab conns / streams / dials : id -> object, O(1), ids never reused
 *   hconn  : one TCP connection and its upgraded stack (small; the engines
 *            own the buffers), linked into: its peer's conn list, the io
 *            FIFO, the dirty FIFO and the deadline heap
 *   hstream: one yamux stream with its per-stream multistream engine and
 *            its owner (application or a service, with the service's
 *            opaque pointer), linked into its conn's stream list
 *   htimer : one entry of the host's deadline heap (connections, dials and
 *            services), so next_timeout is O(1)
 *   hpeer  : peerstore entry (hash table by peer id, LRU of unconnected)
 *   event ring, listener array, address manager array, protocol table. */
#ifndef LP2P_PROTO_HOST_INTERNAL_H
#define LP2P_PROTO_HOST_INTERNAL_H

#include <string.h>

#include "lp2p/host.h"
#include "lp2p/ms.h"
#include "lp2p/yamux.h"
#include "proto/common/ilist.h"
#include "proto/host/host_service.h"
#include "proto/host/host_rm_scope.h"
#include "proto/host/host_stack.h"

/* ---- id tables ---------------------------------------------------------- */

/* id = (serial << 24) | (slot + 1): O(1) lookup, never reused while the
 * 40-bit serial does not wrap. */
#define HID_SLOT_BITS 24
#define HID_SLOT_MASK ((UINT64_C(1) << HID_SLOT_BITS) - 1)

typedef struct hid_slot {
  void *obj;
  uint64_t id;      /* id of obj, or next free slot index when free */
} hid_slot;

typedef struct hidtab {
  hid_slot *slots;
  uint32_t cap;
  uint32_t used;    /* live objects */
  uint32_t free_head; /* UINT32_MAX = none */
  uint32_t max;     /* hard bound on cap */
  uint64_t serial;
} hidtab;

void hid_init(hidtab *t, uint32_t max);
void hid_free(hidtab *t, const lp2p_mem *mem);
/* Allocate an id for obj. Returns 0 or LP2P_ERR_LIMIT / LP2P_ERR_NOMEM. */
int hid_add(hidtab *t, const lp2p_mem *mem, void *obj, uint64_t *id);
void *hid_get(const hidtab *t, uint64_t id);
void hid_del(hidtab *t, uint64_t id);
/* Iterate live objects: *pos starts at 0; NULL at the end. */
void *hid_next(const hidtab *t, uint32_t *pos);

/* ---- timers --------------------------------------------------------------- */

enum htimer_kind { HT_CONN = 1, HT_SVC, HT_DIAL, HT_TRIM };

typedef struct htimer {
  lp2p_tstamp deadline;   /* LP2P_TSTAMP_NONE = not in the heap */
  uint32_t heap_idx;      /* UINT32_MAX = not in the heap */
  uint8_t kind;           /* enum htimer_kind: which struct embeds it */
} htimer;

/* An entry of the host's deadline heap: the timer and its deadline. */
typedef struct hheap_ent {
  lp2p_tstamp d;
  htimer *t;
} hheap_ent;

/* ---- services ------------------------------------------------------------- */

typedef struct hsvc {
  const hsvc_ops *ops;
  void *state;
  htimer tm;
} hsvc;

/* ---- protocols ---------------------------------------------------------- */

#define HPROTO_INBOUND HSVC_P_INBOUND     /* we accept inbound streams */
#define HPROTO_ADVERTISE HSVC_P_ADVERTISE /* listed in identify */
#define HPROTO_LIMITED HSVC_P_LIMITED     /* allowed on limited conns */

/* Owner of a protocol or stream: 0 = the application, else service + 1;
 * a stream that carries another connection belongs to the host itself. */
#define HOWNER_APP 0
#define HOWNER_CARRIER 255

typedef struct hproto {
  char *name;
  uint16_t len;
  uint8_t owner;          /* HOWNER_APP or service index + 1 */
  uint8_t flags;
  /* streams (issue 9) */
  uint32_t streams_in;    /* inbound streams negotiated for it, live */
  uint32_t in_max;        /* caps (lp2p_host_protocol_limits); 0 = the */
  uint32_t in_peer_max;   /* config's per-protocol defaults */
} hproto;

/* ---- streams ------------------------------------------------------------ */

#define HS_NEGOTIATING 0x0001u  /* ms engine running */
#define HS_VISIBLE 0x0002u      /* the application knows the stream */
#define HS_LOCAL_CLOSED 0x0004u /* we half-closed */
#define HS_REMOTE_CLOSED 0x0008u
#define HS_WANT_WRITABLE 0x0010u /* a write was short: tell WRITABLE */
#define HS_READABLE_EV 0x0020u   /* READABLE queued, not yet polled */
#define HS_CLOSE_PENDING 0x0040u /* close once the ms output is flushed */
#define HS_SVC_DEADLINE 0x0080u  /* the service set the deadline */
#define HS_FRESH 0x0100u         /* inbound: our ms echo may be unsent */
#define HS_CLOSE_DEFERRED 0x0200u /* FIN waits for the output to drain */
#define HS_EOF_UNSURE 0x0400u /* peer's FIN seen, yamux stream gone: its
                                 CLOSED (clean) or RESET event decides */
#define HS_EOF_EV 0x0800u /* REMOTE_CLOSED queued, not yet polled */
#define HS_IN_COUNTED 0x1000u /* charged to its conn's count scope (rmc):
                                 RM_STREAMS_IN or RM_STREAMS_OUT by dir */
#define HS_PROTO_COUNTED 0x2000u /* inbound: in its protocol's streams_in */
#define HS_NO_IDLE 0x4000u /* no idle timeout (a relay's circuit legs) */

typedef struct hconn hconn;
typedef struct hpeer hpeer;

typedef struct hstream {
  uint64_t id;
  hconn *conn;
  struct hstream *next, *prev; /* conn's list */
  lp2p_ms *ms;                 /* per-stream multistream, while negotiating */
  void *ud;                    /* the owning service's pointer */
  lp2p_tstamp deadline;        /* negotiation / service timeout */
  lp2p_tstamp opened;
  uint32_t ys;                 /* yamux stream id */
  uint16_t proto;              /* index in h->protos; UINT16_MAX = none */
  uint16_t flags;              /* HS_* */
  uint8_t owner;               /* HOWNER_APP or service index + 1 */
  uint8_t dir;                 /* LP2P_DIR_* */
  lp2p_tstamp idle_deadline;   /* no bytes either way until then: reset
                                  (NONE = no idle timeout) */
} hstream;

/* ---- connections -------------------------------------------------------- */

/* A connection carried inside a stream of another connection (a relayed
 * circuit, host_carrier.c). Socket connections have none. */
typedef struct hcarrier {
  uint64_t stream;          /* the carrier stream; 0 once it is gone */
  lp2p_peerid expect;       /* outbound: the peer we must reach */
  lp2p_maddr remote;        /* the endpoint, e.g. /p2p/R/p2p-circuit */
  uint64_t bytes_left;      /* data budget both ways, UINT64_MAX = none */
  lp2p_tstamp deadline;     /* time budget, LP2P_TSTAMP_NONE = none */
  uint8_t spent;            /* the data budget ran out: close with LIMIT */
} hcarrier;

enum hconn_state {
  HC_DIALING = LP2P_CONN_DIALING,     /* DIAL io queued or connecting */
  HC_UPGRADING = LP2P_CONN_UPGRADING, /* security / muxer negotiation */
  HC_OPEN = LP2P_CONN_OPEN,
  HC_CLOSING = LP2P_CONN_CLOSING,     /* GoAway sent, streams finishing */
  HC_DRAINING,  /* logically gone (events emitted): flushing last bytes */
  HC_ZOMBIE     /* engines freed; waiting for its CLOSE/RESET io */
};

#define HC_F_EOF 0x01u          /* driver said EOF */
#define HC_F_CONNECTED_EV 0x02u /* PEER_CONNECTED was emitted */
#define HC_F_IO_TAKEN 0x04u     /* the driver took the DIAL io */
#define HC_F_MUX_DONE 0x08u     /* yamux reported CLOSED */
#define HC_F_IN_DIRTY 0x10u
#define HC_F_IN_IO 0x20u
#define HC_F_LINKED 0x40u       /* counted in peer->nconns */
#define HC_F_REUSEPORT 0x80u    /* DIAL from the listen port */
#define HC_F_STALLED 0x100u     /* stopped taking engine events: queue full */
#define HC_F_CLOSE_NOW 0x200u   /* our graceful close: GoAway, drain, CLOSE */
#define HC_F_TOUCHED 0x400u     /* in the touched list: pump when unwound */
#define HC_F_PROGRESS 0x800u    /* the remote sent at least one byte */
#define HC_F_PROTECTED 0x1000u  /* never trimmed nor displaced (hook for
                                   services, e.g. a relay reservation) */
#define HC_F_MEM_CAPPED 0x2000u /* a grant could not grow (logged once) */
#define HC_F_AS_RESPONDER 0x4000u /* dialled, upgrades as the responder
                                     (LP2P_DIAL_AS_RESPONDER) */
#define HC_F_AS_INITIATOR 0x8000u /* accepted, upgrades as the initiator
                                     (a punch expected it: host_punch.c) */

struct hconn {
  htimer tm;                  /* first: the heap entry (min of all timers) */
  uint64_t id;
  hstack *st;                 /* NULL while dialing and when zombie */
  hpeer *peer;                /* set when the remote is authenticated */
  hconn *peer_next, *peer_prev;
  hconn *io_next, *io_prev;
  hconn *dirty_next, *dirty_prev;
  hconn *touched_next;        /* h->touched list (HC_F_TOUCHED) */
  hstream *streams;
  struct hdial *dial;         /* dial this connection serves */
  hcarrier *car;              /* NULL: a driver socket carries it */
  uint8_t first_ttl;          /* DIAL io: the first SYN's TTL (0: default) */
  rm_scope rm;                /* resource manager: its memory grant
                                 (OPEN; charged to the system) */
  rm_scope rmc;               /* resource manager: its streams and itself
                                 (charged to its peer and the system) */
  lp2p_tstamp opened;
  lp2p_tstamp upgrade_deadline; /* dial or handshake deadline */
  lp2p_tstamp idle_since;     /* NONE while streams are open */
  lp2p_tstamp close_deadline; /* CLOSING / DRAINING: RESET after this */
  int32_t reason;             /* why it is closing (0 = normal) */
  int32_t goaway;             /* code of the peer's yamux GoAway, -1 none */
  uint16_t nstreams;
  uint16_t flags;             /* HC_F_* */
  uint8_t state;              /* enum hconn_state */
  uint8_t dir;
  uint8_t io_kind;            /* pending io (LP2P_IO_*), 0 = none */
  uint8_t last_interest;
  uint16_t deferred_closes;   /* streams with HS_CLOSE_DEFERRED */
  uint8_t src_counted;        /* in its source's count (host_admit.c):
                                 0 no, HC_SRC_PENDING, HC_SRC_OPEN */
  lp2p_sockaddr remote;
  lp2p_sockaddr local;
};

/* ---- dials ---------------------------------------------------------------- */

typedef struct hdial {
  uint64_t id;
  struct hdial *next;          /* h->dials list */
  hconn *conn;                 /* current attempt, NULL between attempts */
  lp2p_peerid peer;            /* expected (len 0 = unknown) */
  uint8_t *addrs;              /* remaining candidates: packed sockaddrs */
  uint16_t naddrs, cur;
  uint8_t flags;
  uint8_t first_ttl;           /* lp2p_host_dial_punch: first SYN's TTL */
  uint8_t resolving;           /* waiting for host_dial_resolved */
  uint8_t resolver;            /* the service asked (index) */
  int32_t last_err;
  uint8_t owner;               /* 0: the application; else the service
                                  (index + 1) that gets its dial_result */
} hdial;

/* ---- peerstore -------------------------------------------------------------- */

typedef struct haddr {
  lp2p_tstamp expires;         /* LP2P_TSTAMP_NONE = permanent */
  uint16_t len;
  uint8_t bytes[];
} haddr;

struct hpeer {
  /* a lookup and what the hot paths read next (kad answers: addresses,
   * connections) stay within the id's cache line and the one after */
  lp2p_peerid id;
  hpeer *hnext;                /* hash chain */
  hconn *conns;
  haddr **addrs;               /* addrs_inl, or the heap past it */
  uint16_t naddrs;
  uint16_t addrs_cap;
  uint16_t nconns;             /* OPEN / CLOSING connections */
  uint16_t nopen;              /* OPEN ones only (on_ready, GoAway, detach) */
  haddr *addrs_inl[2];         /* most peers have one or two addresses */
  hpeer *lru_next, *lru_prev;  /* unconnected peers, oldest first */
  uint8_t *pubkey;             /* PublicKey protobuf */
  char *agent;
  char *proto_version;
  char *protocols;             /* NUL-separated */
  uint8_t *observed;           /* what the peer observed for us */
  uint32_t protocols_bytes;
  uint16_t nprotocols;
  uint16_t pubkey_len;
  uint16_t observed_len;
  rm_scope rm;                 /* resource manager: its connections' grants */
  uint8_t in_lru;
  uint8_t identified;          /* identify data arrived at least once */
  uint8_t protect;             /* LP2P_PEER_TAG_* bits: never evicted, its
                                  connections never trimmed */
};

/* ---- listeners and the address manager ------------------------------------ */

typedef struct hlistener {
  uint64_t id;
  lp2p_sockaddr want;
  lp2p_sockaddr bound;
  uint8_t status;   /* LP2P_ADDR_* status */
  uint8_t io;       /* pending io kind (LISTEN / UNLISTEN), 0 = none */
  uint8_t live;
} hlistener;

typedef struct hhaddr {
  lp2p_maddr addr;
  uint8_t kind;
  uint8_t status;
  uint32_t observers;
  uint64_t listener;
  uint32_t seen[8];   /* hashes of the first peers that reported it */
  uint8_t reach;      /* AutoNAT verdict (LP2P_AUTONAT_*), 0 unknown */
  uint8_t on_listen_port; /* OBSERVED: seen on a connection of our listen
                             port (what a peer can dial back; a hole
                             punch's address) */
  lp2p_tstamp reach_at; /* when (LP2P_TSTAMP_NONE: never) */
} hhaddr;

/* ---- events ---------------------------------------------------------------- */

/* Queued events are the public struct, filled when pushed (DESIGN §3a
 * "Events"): polling copies it out and clears per-stream flags. */
typedef lp2p_host_event hevent;

/* ---- the host ---------------------------------------------------------------- */

struct lp2p_host {
  const lp2p_mem *mem;
  lp2p_rng rng;
  uint8_t hash_key[16];        /* keys peer-chosen tables; from rng */
  lp2p_host_config cfg;        /* pointers in it are cleared */
  lp2p_privkey *key;
  lp2p_peerid self;
  uint8_t *self_pubkey;        /* PublicKey protobuf */
  size_t self_pubkey_len;
  char *agent;
  char *proto_version;
  lp2p_upgrader_config upcfg; /* base config of every connection stack */
  /* One Noise static key for every session (lp2p_noise_static); NULL
   * when the host offers no Noise. */
  lp2p_noise_static *noise_static;
  lp2p_tstamp now;
  uint64_t unix_ns;
  uint64_t serial;             /* dial ids, misc */

  hidtab conns, streams;
  uint64_t done_ids[64];       /* app streams that ended cleanly, recent */
  uint32_t done_pos;
  hdial *dials;
  uint32_t ndials;
  uint32_t nconns_pending;     /* DIALING + UPGRADING */
  uint32_t nconns_open;        /* OPEN + CLOSING */
  uint32_t nconns_dead;        /* DRAINING + ZOMBIE */
  uint32_t npending_in;        /* inbound part of nconns_pending */
  htimer trim_tm;              /* next trim: a grace period ends, or the
                                  silence after the last one */
  lp2p_tstamp last_trim;       /* the last trim's scan (NONE: none yet) */
  uint64_t open_gen;           /* bumped when the OPEN set changes */
  uint64_t displace_gen;       /* open_gen when displace_max was taken */
  uint32_t displace_max;       /* then: most established inbound
                                  connections any one source held among
                                  the displaceable ones */
  /* inbound socket connections per source (host_admit.c), kept as they
   * change state so admission does not scan every connection */
  struct hsrc *srcs;           /* open addressing, srcs_cap a power of 2 */
  uint32_t nsrcs, srcs_cap;
  rm_scope rm_sys;             /* resource manager: the system scope */

  /* io FIFO and dirty FIFO (intrusive, doubly linked) */
  hconn *io_head, *io_tail;
  hconn *dirty_head, *dirty_tail;

  /* connections touched by services inside hooks, pumped when the
   * outermost host call unwinds (host_svc_touch) */
  hconn *touched;
  hconn *pumping;              /* the connection host_conn_pump is in */
  uint32_t depth;              /* nesting of pumps / hooks */

  /* deadline heap (min by htimer.deadline, copied into the entry) */
  hheap_ent *heap;
  uint32_t heap_len, heap_cap;

  /* services, in registration order */
  hsvc *svcs;
  uint32_t nsvcs;

  /* events */
  hevent *ev;
  uint32_t ev_cap, ev_head, ev_len;
  uint64_t ev_lost;
  hevent ev_sink;              /* target of dropped events */
  int ev_paused;               /* reading paused by event backpressure */

  /* protocols */
  hproto *protos;
  uint16_t nprotos;
  uint16_t protos_cap;
  uint16_t nprotos_svc;        /* registered by services: not in
                                  protocols_max (that bounds the app) */

  /* peerstore */
  hpeer **buckets;
  uint32_t nbuckets;
  uint32_t npeers;
  hpeer *lru_head, *lru_tail;

  /* listeners and addresses */
  hlistener *listeners;
  uint32_t nlisteners, listeners_cap;
  hhaddr *addrs;
  uint32_t naddrs, addrs_cap;
  uint64_t addrs_version;      /* fingerprint of the advertised set */

  /* lifecycle */
  int closing;
  int closed_ev;
  lp2p_tstamp close_deadline;

  lp2p_host_stats stats;

  struct hraw_state *rawst;    /* raw sockets (host_raw.h), lazily */

  /* hole punching (host_punch.c): inbound connections from these remote
   * addresses take the upgrade role a punch decided */
  struct hpunch {
    lp2p_sockaddr remote;
    lp2p_tstamp until;
    uint8_t initiator;
  } punch[8];

  /* connection gater (host_gate.c) */
  struct hgate *gates;
  uint32_t ngates, gates_cap;
  uint8_t gate_mode;           /* LP2P_GATE_* */
};

/* ---- host_gate.c ------------------------------------------------------------- */
/* One gater rule: a peer id (allow or deny) or a denied address prefix. */
typedef struct hgate {
  uint8_t is_peer, allow, bits;
  lp2p_peerid peer;
  lp2p_sockaddr net;
} hgate;
/* Before the upgrade of an inbound socket: 0 or LP2P_ERR_DENIED (counted
 * and logged). */
int host_gate_addr(lp2p_host *h, const lp2p_sockaddr *remote);
/* After the handshake authenticated `peer` on a connection of direction
 * `dir`: 0 or LP2P_ERR_DENIED (counted). */
int host_gate_peer(lp2p_host *h, const lp2p_peerid *peer, int dir);
void host_gate_free(lp2p_host *h);

/* ---- host_core.c ------------------------------------------------------------- */
void host_log(lp2p_host *h, int level, const char *msg);
/* host_log with a tiny bounded format (no stdio in proto/): %s string
 * (NULL = "-"), %d int, %u unsigned, %U uint64_t, %E an LP2P_ERR_* as its
 * lp2p_strerror text, %P const lp2p_peerid * as base58 ("-" when empty),
 * %A const lp2p_sockaddr * as its IP ("-" when none), %% a percent sign.
 * Longer messages are cut. */
void host_logf(lp2p_host *h, int level, const char *fmt, ...);
void host_maybe_finish_close(lp2p_host *h);
static inline void host_now(lp2p_host *h, lp2p_tstamp now) {
  if (now > h->now)
    h->now = now;
}
static inline lp2p_tstamp host_add_ns(lp2p_tstamp now, uint64_t ns) {
  return ns == 0 ? LP2P_TSTAMP_NONE
                 : (now > LP2P_TSTAMP_NONE - 1 - ns ? LP2P_TSTAMP_NONE - 1
                                                   : now + ns);
}

/* ---- host_timer.c ---------------------------------------------------------------- */
/* The one deadline heap. host_timer_set moves t to `deadline` (NONE takes
 * it out); O(log n), a no-op when unchanged. Capacity comes from
 * host_heap_reserve, called when the owner of a timer is created. */
void host_timer_init(htimer *t, uint8_t kind);
void host_timer_set(lp2p_host *h, htimer *t, lp2p_tstamp deadline);
void host_timer_remove(lp2p_host *h, htimer *t);
/* Make room for n timers in the heap. Returns 0 or NOMEM. */
int host_heap_reserve(lp2p_host *h, uint32_t n);
/* Recompute c's deadline (min of its timers) and fix its heap position. */
void host_conn_timer(lp2p_host *h, hconn *c);

/* ---- host_events.c ----------------------------------------------------------- */
/* Queue an event. Over event_queue_max it is dropped and counted
 * (EVENTS_LOST reports the count); the result is never NULL. */
hevent *host_ev_push(lp2p_host *h, lp2p_host_event_kind kind);
void host_ev_free(lp2p_host *h);
/* Take back the queued, not yet polled events of `kind` for `stream`. */
void host_ev_cancel(lp2p_host *h, uint64_t stream, lp2p_host_event_kind kind);
/* Reading is paused while the queue is above 3/4 of its bound. */
int host_ev_backpressure(const lp2p_host *h);
/* No room for a burst of connection events: leave them in the engines. */
int host_ev_full(const lp2p_host *h);

/* ---- host_io.c ------------------------------------------------------------------ */
void host_io_queue(lp2p_host *h, hconn *c, uint8_t kind);
void host_io_unlink(lp2p_host *h, hconn *c);
void host_dirty(lp2p_host *h, hconn *c);
void host_dirty_unlink(lp2p_host *h, hconn *c);
unsigned host_conn_interest_of(const lp2p_host *h, const hconn *c);

/* ---- host_conn.c ------------------------------------------------------------------ */
hconn *host_conn_get(const lp2p_host *h, uint64_t id);
int host_conn_new(lp2p_host *h, int dir, const lp2p_sockaddr *remote,
                  hconn **out);
/* The socket is connected: start the upgrade. */
void host_conn_start(lp2p_host *h, hconn *c, lp2p_tstamp now);
/* Process everything pending on c (engine events, stream events, service
 * work), then refresh its timer and dirty state. Safe on any state. */
void host_conn_pump(lp2p_host *h, hconn *c, lp2p_tstamp now);
/* Graceful close (OPEN: GoAway, drop our streams, drain, CLOSE io;
 * earlier states: abort). */
void host_conn_close(lp2p_host *h, hconn *c, int reason, lp2p_tstamp now);
/* Abort now: events, RESET io (or no io when `silent`: the driver already
 * dropped the socket). With silent the struct is freed: do not touch c. */
void host_conn_abort(lp2p_host *h, hconn *c, int reason, int silent,
                     lp2p_tstamp now);
void host_conn_timeout(lp2p_host *h, hconn *c, lp2p_tstamp now);
lp2p_yamux *host_conn_yamux(const hconn *c);
/* Best OPEN connection to a peer (most recent), or NULL. */
hconn *host_peer_best_conn(const lp2p_host *h, const hpeer *p);
/* 1 when p (NULL: unknown) has an OPEN connection: best_conn != NULL,
 * without visiting the connections. */
int host_peer_connected(const hpeer *p);
void host_conns_free(lp2p_host *h);
/* Forget a zombie (its io was taken) or a connection the driver dropped. */
void host_conn_free(lp2p_host *h, hconn *c);

/* ---- host_connmgr.c ------------------------------------------------------------- */
void host_dial_conn_open(lp2p_host *h, hconn *c, lp2p_tstamp now);
void host_dial_conn_failed(lp2p_host *h, hconn *c, int err, lp2p_tstamp now);
void host_dials_free(lp2p_host *h);
/* ---- host_admit.c: admission, eviction, trimming (README "Limits") ----- */
/* Decide on an accepted socket: per-IP caps, the inbound pending budget
 * (evicting a silent pending connection when full), conns_max. Returns 0
 * (admit) or LP2P_ERR_LIMIT (counted and logged). */
int host_admit_inbound(lp2p_host *h, const lp2p_sockaddr *remote,
                       lp2p_tstamp now);
/* The upgrade of c ended (before it becomes OPEN): per-IP established cap
 * and conns_max (displacing a trimmable connection). Returns 0 or
 * LP2P_ERR_LIMIT. */
int host_admit_ready(lp2p_host *h, hconn *c, lp2p_tstamp now);
/* 1 when a dial may start under conns_max (now or by displacement). */
int host_admit_dial_room(lp2p_host *h, lp2p_tstamp now);
/* Per-source counts of inbound socket connections (what the per-IP caps
 * compare), changed with c's state: host_src_enter when it starts its
 * upgrade (0, or NOMEM: c cannot be counted and must not go on),
 * host_src_open when it becomes OPEN, host_src_leave when it stops being
 * UPGRADING / OPEN / CLOSING. Connections without a source (outbound,
 * carried, loopback) are never counted; each call is a no-op for them. */
enum { HC_SRC_PENDING = 1, HC_SRC_OPEN = 2 };
int host_src_enter(lp2p_host *h, hconn *c);
void host_src_open(lp2p_host *h, hconn *c);
void host_src_leave(lp2p_host *h, hconn *c);
void host_srcs_free(lp2p_host *h);
/* The counts of remote's source (0, 0 for none; tests check them). */
void host_src_counts(const lp2p_host *h, const lp2p_sockaddr *remote,
                     uint32_t *pending, uint32_t *open);
/* The pending counters (nconns_pending, npending_in) for c. */
void host_pending_add(lp2p_host *h, const hconn *c);
void host_pending_del(lp2p_host *h, const hconn *c);
/* The remote sent bytes on c (ends its progress deadline). */
static inline void host_conn_progress(hconn *c) {
  c->flags |= HC_F_PROGRESS;
}
/* Deadline of c's progress budget (NONE when it does not apply). */
lp2p_tstamp host_progress_deadline(const lp2p_host *h, const hconn *c);
/* Close the least useful connections above the high water mark. */
void host_connmgr_trim(lp2p_host *h, lp2p_tstamp now);
/* Protect (on) or unprotect a connection from trimming and displacement
 * (services: e.g. a relay reservation's connection). */
void host_conn_protect(lp2p_host *h, hconn *c, int on);
/* Drop a listener entry (after its UNLISTEN io was taken). */
void host_listener_remove(lp2p_host *h, uint64_t id);

/* ---- host_stream.c ------------------------------------------------------------- */
hstream *host_stream_get(const lp2p_host *h, uint64_t id);
/* Open an outbound stream for protocol index `proto` on c (lazy ms),
 * owned by `owner` (HOWNER_APP or service + 1) with its pointer `ud`. */
/* Inbound stream caps (host_stream_caps.c): when the peer opens a
 * stream, and once its protocol is known. 1 = accept (a refusal is counted
 * and logged). */
int host_stream_admit_open(lp2p_host *h, hconn *c);
int host_stream_admit_protocol(lp2p_host *h, hconn *c, uint16_t idx);
int host_stream_open(lp2p_host *h, hconn *c, uint16_t proto, uint8_t owner,
                     void *ud, lp2p_tstamp now, hstream **out);
/* yamux event dispatch for one conn. */
void host_stream_on_yamux(lp2p_host *h, hconn *c, const lp2p_yamux_event *ev,
                          lp2p_tstamp now);
/* Free every stream of c (conn going away): STREAM_RESET for visible app
 * streams, failure results for services. */
void host_streams_drop(lp2p_host *h, hconn *c, int err, lp2p_tstamp now);
/* Stream I/O (no pumping: callers pump or touch the connection). */
lp2p_ssize host_stream_write_raw(lp2p_host *h, hstream *s, lp2p_tstamp now,
                                 const uint8_t *p, size_t n);
const uint8_t *host_stream_peek_raw(lp2p_host *h, hstream *s, size_t *len);
void host_stream_consume_raw(lp2p_host *h, hstream *s, lp2p_tstamp now,
                             size_t n);
void host_stream_close_raw(lp2p_host *h, hstream *s, lp2p_tstamp now);
/* Reset and forget the stream (no event, no stream_end for its service).
 * Do not touch s afterwards. */
void host_stream_reset_raw(lp2p_host *h, hstream *s, lp2p_tstamp now);
/* 1 when the remote half-closed and every byte was consumed. */
int host_stream_eof_raw(lp2p_host *h, hstream *s);
lp2p_tstamp host_streams_deadline(const hconn *c);
/* Bytes moved on s (read, written, window reopened): push its idle
 * deadline out. */
void host_stream_active(lp2p_host *h, hstream *s, lp2p_tstamp now);
/* The connection's output drained: send the FINs that waited for it. */
void host_streams_drained(lp2p_host *h, hconn *c, lp2p_tstamp now);
void host_streams_timeout(lp2p_host *h, hconn *c, lp2p_tstamp now);
/* Protocol table: index of `name`, adding it when `add`; UINT16_MAX when
 * absent or on failure (*err set). */
uint16_t host_proto_find(lp2p_host *h, const char *name, size_t len, int add,
                         uint8_t owner, int *err);
void host_protos_free(lp2p_host *h);

/* ---- host_peerstore.c ------------------------------------------------------------ */
hpeer *host_peer_find(const lp2p_host *h, const lp2p_peerid *id);
/* Find or create (evicting the oldest unconnected peer if full). */
hpeer *host_peer_get(lp2p_host *h, const lp2p_peerid *id, int *err);
void host_peer_conn_link(lp2p_host *h, hpeer *p, hconn *c);
void host_peer_conn_unlink(lp2p_host *h, hconn *c);
void host_peers_free(lp2p_host *h);
int host_peer_set_pubkey(lp2p_host *h, hpeer *p, const uint8_t *pb,
                         size_t n);
int host_peer_add_addr_bytes(lp2p_host *h, hpeer *p, const uint8_t *b,
                             size_t n, lp2p_tstamp expires);
/* p's addresses not expired at now: the first `cap` into out (NULL:
 * count only); returns how many there are. */
size_t host_peer_addrs_of(const hpeer *p, lp2p_tstamp now, lp2p_maddr *out,
                          size_t cap);
int host_peer_set_str(lp2p_host *h, char **dst, const uint8_t *p, size_t n);
int host_peer_set_protocols(lp2p_host *h, hpeer *p, const char *packed,
                            size_t bytes, size_t n);
int host_peer_set_observed(lp2p_host *h, hpeer *p, const uint8_t *b,
                           size_t n);

/* ---- host_addrs.c ---------------------------------------------------------------- */
void host_addrs_free(lp2p_host *h);
/* Set (ma != NULL) or remove (ma NULL) the LISTEN entry of a listener. */
int host_addr_set_listen(lp2p_host *h, uint64_t listener,
                         const lp2p_maddr *ma, uint8_t status);
/* A peer observed us at `ma` on a connection whose local port is one of
 * our listen ports (on_listen_port) or another one. A full table makes
 * room for a listen-port observation by dropping the least-seen
 * observation of another port: ephemeral dials must not crowd out the
 * address a hole punch needs. */
void host_addr_observed(lp2p_host *h, const lp2p_peerid *from,
                        const lp2p_maddr *ma, int on_listen_port,
                        lp2p_tstamp now);
/* AutoNAT's verdict (LP2P_AUTONAT_*) on every entry equal to ma, with its
 * time. Returns how many entries took it. */
size_t host_addr_set_reach(lp2p_host *h, const lp2p_maddr *ma, int reach,
                           lp2p_tstamp now);
/* Re-derive the advertised set; on change: ADDRESS_CHANGED + push. */
void host_addrs_changed(lp2p_host *h, lp2p_tstamp now);
/* Add (add 1) or remove one of our relayed addresses (the relay service);
 * our own trailing /p2p is dropped. Returns 0 or LIMIT, NOMEM. */
int host_addr_relayed(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                      int add);
/* Add (add 1) or remove a port mapping of ours (the portmap service).
 * Returns 0 or LIMIT, NOMEM. */
int host_addr_mapped(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                     int add);
int host_sockaddr_unspecified(const lp2p_sockaddr *sa);

/* ---- host_punch.c ------------------------------------------------------------ */
/* Flag an accepted connection whose remote a punch expected (its role). */
void host_punch_accepted(lp2p_host *h, hconn *c, lp2p_tstamp now);

/* ---- host_rm.c: the resource manager's memory scopes ------------------------ */
void host_rm_init(lp2p_host *h);             /* the system scope */
void host_rm_peer_init(lp2p_host *h, hpeer *p);
/* A connection's count scope: charged to the system at birth, to its peer
 * from host_peer_conn_link to unlink, closed when it is freed. */
void host_rm_conn_new(lp2p_host *h, hconn *c, int socket);
/* c is established (OPEN): one connection in or out for its peer and the
 * system. Returns 0 or LIMIT. */
int host_rm_conn_established(hconn *c);
void host_rm_conn_free(hconn *c);
/* Charge / release one stream of c in direction dir (its conn, its peer,
 * the system). Returns 0 or LIMIT (*which: "peer" or "host"). */
int host_rm_stream_add(lp2p_host *h, hconn *c, uint8_t dir,
                       const char **which);
void host_rm_stream_del(hconn *c, uint8_t dir);
/* Inbound streams of c's peer (all its connections), or of c alone. */
uint32_t host_rm_peer_streams_in(const hconn *c);
/* Reserve a connection's base grant (system, peer) when it opens. Returns
 * 0 or LIMIT (counted). */
int host_rm_conn_open(lp2p_host *h, hconn *c);
/* Give the grant back (the connection is going away). */
void host_rm_conn_close(lp2p_host *h, hconn *c);
/* After a pump: grow a busy connection's grant, shrink an idle one's. */
void host_rm_conn_adjust(lp2p_host *h, hconn *c);

/* ---- host_carrier.c: connections inside streams ------------------------------- */
/* Around the pump of a carried connection: take input from the carrier
 * stream (pull) and move output into it (push). */
void host_carrier_pull(lp2p_host *h, hconn *c, lp2p_tstamp now);
size_t host_carrier_push(lp2p_host *h, hconn *c, lp2p_tstamp now);
/* The connection ends with socket io `io` (CLOSE: FIN the carrier stream
 * and let it drain; RESET or 0: reset it). */
void host_carrier_finish(lp2p_host *h, hconn *c, uint8_t io,
                         lp2p_tstamp now);
/* Free c->car and detach the stream from c. */
void host_carrier_free(lp2p_host *h, hconn *c);
/* Hooks of a carrier stream (owner HOWNER_CARRIER). */
void host_carrier_stream_activity(lp2p_host *h, hstream *s, lp2p_tstamp now);
void host_carrier_stream_end(lp2p_host *h, void *ud, int err,
                             lp2p_tstamp now);
/* 1 when the connection runs inside a circuit (relayed), limited or not. */
static inline int host_conn_relayed(const hconn *c) { return c->car != NULL; }

/* 1 when the connection runs under a data or time budget. */
static inline int host_conn_limited(const hconn *c) {
  return c->car && (c->car->bytes_left != UINT64_MAX ||
                    c->car->deadline != LP2P_TSTAMP_NONE);
}

/* ---- host_connmgr.c: dials ------------------------------------------------- */
hdial *host_dial_new(lp2p_host *h, const lp2p_peerid *peer, unsigned flags,
                     const lp2p_sockaddr *addrs, size_t n);
void host_dial_unlink(lp2p_host *h, hdial *d);
/* DIAL_FAILED with err, and the dial is gone. */
void host_dial_fail(lp2p_host *h, hdial *d, int err);
/* Reuse, coalescing and limits before a new dial: 0 (answered or joined:
 * *dial set), 1 (go on) or an error. */
int host_dial_precheck(lp2p_host *h, const lp2p_peerid *peer,
                       const lp2p_sockaddr *addrs, size_t naddrs,
                       unsigned flags, uint64_t *dial);
/* Attempt d's candidates from d->cur on until one starts. Returns 0 or
 * the last attempt's error. */
int host_dial_start(lp2p_host *h, hdial *d, lp2p_tstamp now);

/* ---- host_resolve.c: dials to /dns* addresses ------------------------------ */
/* 1 when ma starts with /dns, /dns4, /dns6 or /dnsaddr. */
int host_maddr_is_dns(const lp2p_maddr *ma);
/* 1 when ma holds /p2p-circuit (dialled through the relay service). */
int host_maddr_is_circuit(const lp2p_maddr *ma);
/* Start a dial in the RESOLVING state and ask the first service with a
 * resolve hook. Same returns as lp2p_host_dial. */
int host_dial_resolve(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                      const lp2p_peerid *peer, unsigned flags,
                      uint64_t *dial);
/* The host is closing: end the dials still resolving (LP2P_ERR_CLOSED)
 * and tell their resolvers. */
void host_dials_cancel_resolving(lp2p_host *h);

/* ---- host_svc.c: the service registry and hook dispatch ---------------------- */
/* The core's part of lp2p_host_config_default (the services' nested
 * configs are defaulted by proto/services/builtin.c). */
void host_config_default(lp2p_host_config *cfg);
/* The host without any service (lp2p_host_new is this plus the built-in
 * services, proto/services/builtin.c). Same contract as lp2p_host_new. */
int host_create(lp2p_host **out, const lp2p_host_config *cfg,
                const lp2p_mem *mem, const lp2p_rng *rng, lp2p_tstamp now);
/* Register one more service (its init runs now). Used for the built-ins
 * and by tests that bring their own service. Returns 0 or INVAL, LIMIT,
 * NOMEM, or what init returned (the service is then finished at free). */
int host_svc_register(lp2p_host *h, const hsvc_ops *ops, uint32_t *svc);
/* fini hooks (every stream was ended before). */
void host_svcs_free(lp2p_host *h);
/* Hooks run with the depth raised: connections services touch are pumped
 * when the outermost call leaves. */
void host_enter(lp2p_host *h);
void host_leave(lp2p_host *h, lp2p_tstamp now);
/* A service wrote to or opened a stream on c: pump c once the outermost
 * call unwinds (no recursion into the same connection). */
void host_svc_touch(lp2p_host *h, hconn *c);
/* Forget c in the touched list (it is being freed). */
void host_touched_unlink(lp2p_host *h, hconn *c);
/* Stream hooks for streams a service owns (s->owner != HOWNER_APP). Each
 * returns 1 when s is still alive afterwards, 0 when the hook ended it. */
int host_svc_stream_start(lp2p_host *h, hstream *s, lp2p_tstamp now);
int host_svc_stream_activity(lp2p_host *h, hstream *s, lp2p_tstamp now);
int host_svc_stream_timeout(lp2p_host *h, hstream *s, lp2p_tstamp now);
/* s is unlinked (its id is dead): tell its service (stream_end). */
/* A service's dial ended (hdial.owner): its dial_result hook. */
void host_svc_dial_end(lp2p_host *h, uint8_t owner, uint64_t dial,
                       uint64_t conn, int err, lp2p_tstamp now);
void host_svc_stream_end(lp2p_host *h, uint8_t owner, uint64_t id, void *ud,
                         int err, lp2p_tstamp now);
void host_svc_peer_connected(lp2p_host *h, hconn *c, lp2p_tstamp now);
void host_svc_peer_disconnected(lp2p_host *h, hconn *c, int err,
                                lp2p_tstamp now);
void host_svc_local_changed(lp2p_host *h, unsigned what, lp2p_tstamp now);
void host_svc_timeout(lp2p_host *h, hsvc *v, lp2p_tstamp now);

#endif
