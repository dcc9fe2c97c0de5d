/* fuzz_host's private header: the world the target drives (two hosts,
 * the in-target driver's connection and raw-socket tables) and the op
 * families, one file each in fuzz/host/. The Makefile links every .c file
 * here into fuzz_host only. */
#ifndef LP2P_FUZZ_HOST_WORLD_H
#define LP2P_FUZZ_HOST_WORLD_H

#include "fuzz/lib/fdp.h"
#include "lp2p/host.h"
#include "proto/host/host_service.h"

/* Names the failed check's file and line, since inlining blurs abort()'s. */
void fh_check_at(int ok, const char *file, int line);
#define check(ok) fh_check_at((ok), __FILE__, __LINE__)

#define CONNS_MAX 8
#define STREAMS_MAX 8
#define RAWS_MAX 8
#define RAW_BUF_MAX 4096 /* raw_*_bytes_max of A: small, so bounds hit */

typedef struct fconn {
  int used;
  int raw;          /* other end is the input (host A side only) */
  uint64_t a, b;    /* conn ids on A and on B (b = 0 for raw) */
  int a_dead, b_dead;
} fconn;

typedef struct world {
  lp2p_host *h[2];
  lp2p_tstamp now;
  uint64_t listener;
  uint16_t port;
  fconn c[CONNS_MAX];
  uint64_t streams[2][STREAMS_MAX];
  lp2p_peerid id[2];
  uint64_t raw[RAWS_MAX];      /* raw ids of A (may be dead: stale ids) */
  uint64_t raw_pend[RAWS_MAX]; /* raw io awaiting a driver answer */
  uint8_t raw_pend_kind[RAWS_MAX];
} world;

/* ---- the in-target driver (driver.c) ----------------------------------- */

/* The address of host `host` (10.0.0.host+1) at `port`. */
void fh_sa_of(int host, uint16_t port, lp2p_sockaddr *sa);
/* Mark host's end of every table entry holding `conn` dead. */
void fh_mark_dead(world *w, int host, uint64_t conn);
/* Driver duties: drain dirty lists (bytes stay with the host until the
 * input shuttles them), take io requests, poll events. */
void fh_drain(world *w);
/* Move up to n bytes of `from`'s output into the other side. */
void fh_shuttle(world *w, fconn *c, int from, size_t n, int flip,
                uint8_t mask);
/* A's listen address, with /p2p/<A> when with_id. */
lp2p_maddr fh_a_addr(world *w, int with_id);

/* ---- the op families -------------------------------------------------- */

/* A raw-socket step on host A: the input plays the application and the
 * driver at once, with ids that may be stale. */
void fh_raw_op(world *w, fdp *f);
/* Service work through the fuzz service registered on both hosts
 * (service.c). */
extern const hsvc_ops fh_svc_ops;
void fh_svc_op(world *w, fdp *f);
/* An application command on either host (app_op.c). */
void fh_app_op(world *w, fdp *f);

#endif
