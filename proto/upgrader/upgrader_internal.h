/* Upgrader internals shared by its files (not public). */
#ifndef LP2P_UPGRADER_INTERNAL_H
#define LP2P_UPGRADER_INTERNAL_H

#include "lp2p/upgrader.h"
#include "proto/upgrader/sec_ops.h"

enum { PH_UPGRADING = 0, PH_READY = 1, PH_CLOSED = 2 };

#define UPG_PLAINTEXT_ID LP2P_PLAINTEXT_PROTOCOL_ID

/* Normalised security-layer event. */
enum { SEC_EV_DONE = 1, SEC_EV_EOF = 2, SEC_EV_CLOSED = 3 };
typedef struct sec_event {
  int type;
  int err;
  lp2p_peerid peer;
  lp2p_pubkey key;
  const char *muxer; /* engine-owned, NULL when none agreed */
} sec_event;

/* A queued event. */
typedef struct uevent {
  uint8_t type;
  int early;
  uint32_t stream_id;
  lp2p_yamux_event y;
} uevent;

/* What only the upgrade needs: a connection keeps its upgrader for life,
 * so this part is a separate allocation, freed once READY has been polled
 * (it holds the remote key, 616 bytes, and the layers' configs: about
 * 1 KiB of an idle connection's 2 KiB budget, issue 9). */
typedef struct upg_hs {
  lp2p_peerid expected;
  lp2p_pubkey key;
  lp2p_ms_config ms_cfg;
  lp2p_noise_config noise_cfg;
  lp2p_plaintext_config plaintext_cfg;
  lp2p_yamux_config yamux_cfg;
} upg_hs;

struct lp2p_upgrader {
  const lp2p_mem *mem;
  const lp2p_rng *rng;
  const lp2p_privkey *identity;
  upg_hs *hs; /* NULL once READY was polled */
  lp2p_tstamp now, deadline;
  int err;
  uint8_t dialer, phase, security, lazy, early_muxer, has_expected;
  uint8_t sec_done, sec_eof_passed, closing, sec_closing, closed_ev;
  size_t events_max;
  lp2p_ms *ms_sec; /* raw: security negotiation */
  lp2p_ms *ms_mux; /* secure channel: muxer negotiation */
  void *sec;       /* lp2p_noise or lp2p_plaintext */
  const sec_ops *sec_ops; /* chosen with the protocol; NULL before */
  const char *sec_name;
  lp2p_yamux *yamux;
  lp2p_peerid peer;
  /* event ring */
  uevent *evq;
  size_t ev_head, ev_len, ev_cap;
};

/* upgrader.c */
/* Free the handshake-only part (READY was polled, or the end). */
void upg_hs_free(lp2p_upgrader *u);
void upg_fail(lp2p_upgrader *u, int err);
int upg_pump(lp2p_upgrader *u);

/* events.c: the queue grows on demand; callers keep pass-through yamux
 * events within events_max (yamux holds the rest). Returns 0 or
 * LP2P_ERR_NOMEM. */
int upg_push(lp2p_upgrader *u, const uevent *e);
void upg_events_free(lp2p_upgrader *u);

/* sec.c: one interface over the security engines (sec_ops.h). */
int sec_start(lp2p_upgrader *u, const char *proto);
void sec_free(lp2p_upgrader *u);
lp2p_ssize sec_feed(lp2p_upgrader *u, const uint8_t *p, size_t n);
int sec_feed_eof(lp2p_upgrader *u);
size_t sec_recv_room(const lp2p_upgrader *u);
const uint8_t *sec_out_peek(const lp2p_upgrader *u, size_t *len);
void sec_out_consume(lp2p_upgrader *u, size_t n);
lp2p_tstamp sec_next_timeout(const lp2p_upgrader *u);
void sec_handle_timeout(lp2p_upgrader *u);
int sec_poll(lp2p_upgrader *u, sec_event *ev);
lp2p_ssize sec_write(lp2p_upgrader *u, const uint8_t *p, size_t n);
const uint8_t *sec_read_peek(const lp2p_upgrader *u, size_t *len);
void sec_read_consume(lp2p_upgrader *u, size_t n);
int sec_read_eof(const lp2p_upgrader *u);
int sec_close(lp2p_upgrader *u);
int sec_supported(const char *proto);

#endif
