/* Resource scopes (host_rm_scope.h): reserve all or nothing along a
 * scope's flat list of scopes it is charged to. */
#include "proto/host/host_rm_scope.h"

#include <string.h>

#include "lp2p/common.h"

void rm_scope_init(rm_scope *s) {
  memset(s, 0, sizeof *s);
  for (int k = 0; k < RM_KINDS; k++)
    s->limit[k] = RM_UNLIMITED;
}

static int fits(const rm_scope *s, int kind, uint64_t n) {
  return s->used[kind] <= s->limit[kind] &&
         n <= s->limit[kind] - s->used[kind];
}

int rm_reserve(rm_scope *s, int kind, uint64_t n, const rm_scope **refused) {
  if (!s || kind < 0 || kind >= RM_KINDS)
    return LP2P_ERR_INVAL;
  if (refused)
    *refused = NULL;
  if (!fits(s, kind, n)) {
    if (refused)
      *refused = s;
    return LP2P_ERR_LIMIT;
  }
  for (int i = 0; i < s->nup; i++) {
    if (!fits(s->up[i], kind, n)) {
      if (refused)
        *refused = s->up[i];
      return LP2P_ERR_LIMIT;
    }
  }
  s->own[kind] += n;
  s->used[kind] += n;
  for (int i = 0; i < s->nup; i++)
    s->up[i]->used[kind] += n;
  return 0;
}

int rm_release(rm_scope *s, int kind, uint64_t n) {
  if (!s || kind < 0 || kind >= RM_KINDS || n > s->own[kind])
    return LP2P_ERR_INVAL;
  s->own[kind] -= n;
  s->used[kind] -= n;
  for (int i = 0; i < s->nup; i++)
    s->up[i]->used[kind] -= n;
  return 0;
}

int rm_scope_attach(rm_scope *s, rm_scope *up) {
  if (!s || !up || s == up || s->nup == RM_UP_MAX)
    return LP2P_ERR_INVAL;
  for (int i = 0; i < s->nup; i++)
    if (s->up[i] == up)
      return LP2P_ERR_INVAL;
  for (int k = 0; k < RM_KINDS; k++)
    if (!fits(up, k, s->own[k]))
      return LP2P_ERR_LIMIT;
  for (int k = 0; k < RM_KINDS; k++)
    up->used[k] += s->own[k];
  s->up[s->nup++] = up;
  return 0;
}

void rm_scope_detach(rm_scope *s, rm_scope *up) {
  for (int i = 0; i < s->nup; i++) {
    if (s->up[i] != up)
      continue;
    for (int k = 0; k < RM_KINDS; k++)
      up->used[k] -= s->own[k];
    s->up[i] = s->up[--s->nup];
    s->up[s->nup] = NULL;
    return;
  }
}

void rm_scope_close(rm_scope *s) {
  while (s->nup)
    rm_scope_detach(s, s->up[0]);
  for (int k = 0; k < RM_KINDS; k++) {
    s->used[k] -= s->own[k];
    s->own[k] = 0;
  }
}
