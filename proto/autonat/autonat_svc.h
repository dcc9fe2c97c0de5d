/* The AutoNAT v2 service's shared state (autonat_svc.c: the hooks and
 * the public entry points; autonat_svc_client.c: our candidates, requests
 * and verdicts; autonat_svc_server.c: requests we serve and their
 * dial-backs). Internal to proto/autonat. */
#ifndef LP2P_AUTONAT_SVC_H
#define LP2P_AUTONAT_SVC_H

#include <string.h>

#include "lp2p/relay.h"
#include "lp2p/varint.h"
#include "proto/common/keyed_hash.h"
#include "proto/host/host_internal.h"

#define AUTO_INFLIGHT_MAX 4u /* automatic requests at a time */
#define ASKS_MAX 64u         /* client requests at a time (all kinds) */
#define BACK_BODY_MAX 64u    /* DialBack / DialBackResponse bodies */
#define BACK_TIMEOUT_NS (10 * LP2P_NS_PER_S)
#define TICK_NS (10 * LP2P_NS_PER_S) /* re-look for due checks */

enum { K_CREQ = 1, K_SREQ, K_BACK_IN, K_BACK_OUT };

typedef struct an_creq {
  uint8_t kind;
  uint8_t got_back; /* our nonce came back on a dial-back */
  uint8_t finished;
  struct an_creq *next;
  uint64_t stream, conn, server;
  uint64_t ask_id; /* 0: automatic (book) */
  lp2p_peerid peer;
  lp2p_maddr addr; /* automatic: the address asked about */
  lp2p_autonat_creq eng;
} an_creq;

struct an_back_out;

typedef struct an_sreq {
  uint8_t kind;
  uint8_t dialing;
  uint8_t answered;
  struct an_sreq *next;
  uint64_t stream, conn, peer_fp;
  uint8_t admitted; /* counted by the limiter */
  lp2p_peerid peer;
  uint64_t dial;
  struct an_back_out *back;
  lp2p_autonat_sreq eng;
} an_sreq;

/* Both ends of a dial-back stream: the client's answer (IN) and the
 * server's nonce (OUT). */
typedef struct an_back_out {
  uint8_t kind;
  uint8_t done;
  an_sreq *req; /* OUT: the request it serves (NULL once gone) */
  uint64_t conn;
  uint8_t in[BACK_BODY_MAX + 10];
  size_t in_len;
  uint8_t out[32];
  size_t out_len, out_off;
} an_back;

typedef struct an_svc {
  uint32_t svc;
  uint16_t p_req, p_back;
  lp2p_host_autonat_config cfg;
  lp2p_autonat_book *book;
  lp2p_autonat_limiter *lim;
  an_creq *creqs;
  an_sreq *sreqs;
  uint32_t ncreqs, nauto;
  uint64_t ask_serial;
  int overall;
  int kick; /* an automatic request ended: others may ask now */
  lp2p_tstamp next;
} an_svc;

extern const hsvc_ops host_svc_autonat_ops;

/* common (autonat_svc.c) */
uint64_t an_peer_fp(const lp2p_host *h, const lp2p_peerid *p);
uint64_t an_rnd64(lp2p_host *h);
int an_ip_public(const an_svc *st, const lp2p_maddr *m);

/* client (autonat_svc_client.c) */
void an_refresh_candidates(lp2p_host *h, an_svc *st, lp2p_tstamp now);
void an_creq_unlink(an_svc *st, an_creq *c);
void an_creq_finish(lp2p_host *h, an_svc *st, an_creq *c, int err,
                    lp2p_tstamp now);
void an_creq_drop(lp2p_host *h, an_svc *st, an_creq *c, int err,
                  lp2p_tstamp now);
void an_creq_pump(lp2p_host *h, an_svc *st, an_creq *c, lp2p_tstamp now);
int an_creq_start(lp2p_host *h, an_svc *st, uint64_t conn,
                  const lp2p_maddr *addrs, size_t n, uint64_t ask_id,
                  lp2p_tstamp now);
void an_auto_ask(lp2p_host *h, an_svc *st, uint64_t conn, lp2p_tstamp now);
void an_auto_ask_all(lp2p_host *h, an_svc *st, lp2p_tstamp now);
void an_rearm(lp2p_host *h, an_svc *st, lp2p_tstamp now);

/* server (autonat_svc_server.c) */
void an_back_flush(lp2p_host *h, uint64_t s, an_back *b, lp2p_tstamp now);
void an_back_in_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
                         lp2p_tstamp now);
void an_back_out_result(lp2p_host *h, an_svc *st, an_back *b,
                        uint32_t dial_status, lp2p_tstamp now);
void an_back_out_activity(lp2p_host *h, an_svc *st, uint64_t s, an_back *b,
                          lp2p_tstamp now);
void an_sreq_unlink(lp2p_host *h, an_svc *st, an_sreq *r);
void an_sreq_drop(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now);
void an_sreq_pump(lp2p_host *h, an_svc *st, an_sreq *r, lp2p_tstamp now);
void an_sreq_start(lp2p_host *h, an_svc *st, uint64_t stream, uint64_t conn,
                   lp2p_tstamp now);

#endif
