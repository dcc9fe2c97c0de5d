/* Id tables: uint64 ids -> objects in O(1). An id is (serial << 24) |
 * (slot + 1); the serial only grows, so an id is never handed out twice
 * and a stale id never finds a newer object in its old slot. */
#include "proto/host/host_internal.h"

#define NO_SLOT UINT32_MAX

void hid_init(hidtab *t, uint32_t max) {
  memset(t, 0, sizeof *t);
  t->free_head = NO_SLOT;
  if (max > HID_SLOT_MASK - 1)
    max = (uint32_t)(HID_SLOT_MASK - 1);
  t->max = max;
}

void hid_free(hidtab *t, const lp2p_mem *mem) {
  lp2p_mem_free(mem, t->slots);
  t->slots = NULL;
  t->cap = t->used = 0;
  t->free_head = NO_SLOT;
}

static int grow(hidtab *t, const lp2p_mem *mem) {
  if (t->cap >= t->max)
    return LP2P_ERR_LIMIT;
  uint32_t ncap = t->cap ? t->cap * 2 : 16;
  if (ncap > t->max)
    ncap = t->max;
  hid_slot *ns = lp2p_mem_realloc(mem, t->slots, t->cap * sizeof *ns,
                                  (size_t)ncap * sizeof *ns);
  if (!ns)
    return LP2P_ERR_NOMEM;
  /* Thread the new slots onto the free list in index order. */
  for (uint32_t i = ncap; i-- > t->cap;) {
    ns[i].obj = NULL;
    ns[i].id = t->free_head;
    t->free_head = i;
  }
  t->slots = ns;
  t->cap = ncap;
  return 0;
}

int hid_add(hidtab *t, const lp2p_mem *mem, void *obj, uint64_t *id) {
  if (t->free_head == NO_SLOT) {
    int rc = grow(t, mem);
    if (rc)
      return rc;
  }
  uint32_t slot = t->free_head;
  hid_slot *s = &t->slots[slot];
  t->free_head = (uint32_t)s->id;
  t->serial++;
  s->obj = obj;
  s->id = (t->serial << HID_SLOT_BITS) | ((uint64_t)slot + 1);
  t->used++;
  *id = s->id;
  return 0;
}

void *hid_get(const hidtab *t, uint64_t id) {
  uint64_t low = id & HID_SLOT_MASK;
  if (low == 0 || low > t->cap)
    return NULL;
  const hid_slot *s = &t->slots[low - 1];
  return (s->obj && s->id == id) ? s->obj : NULL;
}

void hid_del(hidtab *t, uint64_t id) {
  uint64_t low = id & HID_SLOT_MASK;
  if (low == 0 || low > t->cap)
    return;
  hid_slot *s = &t->slots[low - 1];
  if (!s->obj || s->id != id)
    return;
  s->obj = NULL;
  s->id = t->free_head;
  t->free_head = (uint32_t)(low - 1);
  t->used--;
}

void *hid_next(const hidtab *t, uint32_t *pos) {
  while (*pos < t->cap) {
    const hid_slot *s = &t->slots[(*pos)++];
    if (s->obj)
      return s->obj;
  }
  return NULL;
}
