/* Intrusive doubly linked lists, one definition for every list in the
 * host (connections of a peer, streams of a connection, the io and dirty
 * FIFOs, the peerstore LRU, raw sockets). Nodes carry their own link
 * fields, named by the caller, so a node can sit in several lists at once
 * and linking never allocates or fails. Two shapes:
 *   ILIST_*: head only (push at the front, remove anywhere);
 *   IFIFO_*: head and tail (push at the back, remove anywhere).
 * The caller tracks membership (a flag) where it needs to know it. */
#ifndef LP2P_PROTO_COMMON_ILIST_H
#define LP2P_PROTO_COMMON_ILIST_H

#include <stddef.h>

#define ILIST_PUSH_FRONT(head, n, NEXT, PREV)                                  \
  do {                                                                         \
    (n)->PREV = NULL;                                                          \
    (n)->NEXT = (head);                                                        \
    if (head)                                                                  \
      (head)->PREV = (n);                                                      \
    (head) = (n);                                                              \
  } while (0)

#define ILIST_REMOVE(head, n, NEXT, PREV)                                      \
  do {                                                                         \
    if ((n)->PREV)                                                             \
      (n)->PREV->NEXT = (n)->NEXT;                                             \
    else                                                                       \
      (head) = (n)->NEXT;                                                      \
    if ((n)->NEXT)                                                             \
      (n)->NEXT->PREV = (n)->PREV;                                             \
    (n)->NEXT = (n)->PREV = NULL;                                              \
  } while (0)

#define IFIFO_PUSH_BACK(head, tail, n, NEXT, PREV)                             \
  do {                                                                         \
    (n)->NEXT = NULL;                                                          \
    (n)->PREV = (tail);                                                        \
    if (tail)                                                                  \
      (tail)->NEXT = (n);                                                      \
    else                                                                       \
      (head) = (n);                                                            \
    (tail) = (n);                                                              \
  } while (0)

#define IFIFO_REMOVE(head, tail, n, NEXT, PREV)                                \
  do {                                                                         \
    if ((n)->PREV)                                                             \
      (n)->PREV->NEXT = (n)->NEXT;                                             \
    else                                                                       \
      (head) = (n)->NEXT;                                                      \
    if ((n)->NEXT)                                                             \
      (n)->NEXT->PREV = (n)->PREV;                                             \
    else                                                                       \
      (tail) = (n)->PREV;                                                      \
    (n)->NEXT = (n)->PREV = NULL;                                              \
  } while (0)

#endif
