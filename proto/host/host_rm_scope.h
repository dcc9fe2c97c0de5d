/* Resource scopes: the accounting primitive of the resource manager
 * (issue 9), after go-libp2p's resource manager (p2p/host/resource-manager:
 * a scope holds usage and limits, and every reservation is checked against
 * the scope and each scope it is charged to, all or nothing). Pure: no
 * allocation, no host inside, so it is fuzzed alone (fuzz/fuzz_rm.c).
 *
 * A scope lists every scope it is charged to ("up": a connection's are its
 * peer and the system), flat like go's edges rather than a tree walk, so a
 * reservation touches each scope exactly once and nothing is counted
 * twice. */
#ifndef LP2P_HOST_RM_SCOPE_H
#define LP2P_HOST_RM_SCOPE_H

#include <stdint.h>

enum {
  RM_MEMORY = 0,  /* bytes */
  RM_STREAMS_IN,  /* streams the peer opened */
  RM_STREAMS_OUT, /* streams we opened */
  RM_CONNS_IN,
  RM_CONNS_OUT,
  RM_FDS,
  RM_KINDS
};

#define RM_UP_MAX 4
#define RM_UNLIMITED UINT64_MAX

typedef struct rm_scope {
  uint64_t limit[RM_KINDS]; /* RM_UNLIMITED: no limit of that kind */
  uint64_t used[RM_KINDS];  /* own reservations plus those of every scope
                               charged to this one */
  uint64_t own[RM_KINDS];   /* reserved through this scope itself */
  struct rm_scope *up[RM_UP_MAX];
  uint8_t nup;
} rm_scope;

/* Empty scope with every limit RM_UNLIMITED. */
void rm_scope_init(rm_scope *s);

/* Reserve n of `kind` in s and every scope it is charged to; nothing
 * changes unless all of them have room. Returns 0 or LP2P_ERR_LIMIT (then
 * *refused, if given, is the first scope without room) or LP2P_ERR_INVAL. */
int rm_reserve(rm_scope *s, int kind, uint64_t n, const rm_scope **refused);

/* Give back n of `kind` reserved through s. Returns 0, or LP2P_ERR_INVAL
 * and changes nothing when s itself reserved less than n (a release that
 * does not match a reservation is a bug the caller must see). */
int rm_release(rm_scope *s, int kind, uint64_t n);

/* Charge s to `up` as well, with what s itself reserved so far (a
 * connection that learns its peer). Only `up` is charged, not what `up`
 * is charged to: list those on s directly. All or nothing: LP2P_ERR_LIMIT
 * when `up` has no room, LP2P_ERR_INVAL when s already lists RM_UP_MAX
 * scopes, `up` already, or is `up`. */
int rm_scope_attach(rm_scope *s, rm_scope *up);

/* Stop charging s to `up`: what s itself reserved is given back there. */
void rm_scope_detach(rm_scope *s, rm_scope *up);

/* Give back everything s itself reserved, in s and in the scopes it is
 * charged to; s is charged to nothing afterwards (the object ends: close
 * the scopes charged to s first). */
void rm_scope_close(rm_scope *s);

#endif
