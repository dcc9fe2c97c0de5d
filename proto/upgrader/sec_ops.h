/* One const table of operations per security protocol. The upgrader picks
 * the table once, when multistream-select agreed on a protocol id, and
 * every later call goes through it: adding a secure channel means one new
 * table, not one more branch in every function of sec.c. Internal. */
#ifndef LP2P_UPGRADER_SEC_OPS_H
#define LP2P_UPGRADER_SEC_OPS_H

#include "lp2p/common.h"

struct lp2p_upgrader;
struct sec_event;

typedef struct sec_ops {
  const char *name; /* multistream protocol id */
  /* Create the engine for `u` (its role, identity, expected peer and
   * sub-config). Returns 0 or the engine's lp2p_X_new errors. */
  int (*start)(struct lp2p_upgrader *u, void **out);
  void (*free)(void *s);
  lp2p_ssize (*feed)(void *s, lp2p_tstamp now, const uint8_t *p, size_t n);
  int (*feed_eof)(void *s, lp2p_tstamp now);
  size_t (*recv_room)(const void *s);
  const uint8_t *(*out_peek)(const void *s, size_t *len);
  void (*out_consume)(void *s, size_t n);
  lp2p_tstamp (*next_timeout)(const void *s);
  int (*handle_timeout)(void *s, lp2p_tstamp now);
  /* Pop one engine event, normalised. Returns 1 or 0 when none. */
  int (*poll)(void *s, struct sec_event *ev);
  lp2p_ssize (*write)(void *s, lp2p_tstamp now, const uint8_t *p, size_t n);
  const uint8_t *(*read_peek)(const void *s, size_t *len);
  void (*read_consume)(void *s, size_t n);
  int (*read_eof)(const void *s);
  int (*close)(void *s, lp2p_tstamp now);
} sec_ops;

extern const sec_ops sec_noise_ops;     /* sec_noise.c */
extern const sec_ops sec_plaintext_ops; /* sec_plaintext.c */

#endif
