/* The portmap service's state, shared by its files: portmap_svc.c (the
 * host hooks, which ports to map, the method ladder, events, timers),
 * portmap_upnp.c (SSDP discovery and the HTTP/SOAP exchanges over raw TCP
 * connections) and portmap_pmp.c (the PCP and NAT-PMP engines over the
 * service's UDP socket). Not public. */
#ifndef LP2P_PROTO_PORTMAP_INTERNAL_H
#define LP2P_PROTO_PORTMAP_INTERNAL_H

#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"
#include "proto/host/host_internal.h"
#include "proto/host/host_raw.h"

#define PM_MAPS_MAX 16
#define PM_REQ_MAX 4096 /* one HTTP request (a SOAP POST is < 2 KiB) */
#define PM_BODY_MAX LP2P_UPNP_DESC_MAX
#define PM_TAG_ADDR 0x100u /* NAT-PMP external address request */

/* One listen port to map. */
enum pm_map_state {
  PM_IDLE = 0,   /* wants a mapping: the next request goes out */
  PM_BUSY,       /* a request (map or renewal) is out */
  PM_MAPPED,     /* granted; renewed at renew_at */
  PM_FAILED      /* PORT_MAPPING_FAILED said; retried at retry_at */
};

typedef struct pm_map {
  uint8_t used;
  uint8_t state;       /* enum pm_map_state */
  uint8_t mapped;      /* a mapping exists on the gateway (also while a
                          renewal is BUSY) */
  uint8_t seen;        /* still a listen port (sync sweep) */
  uint8_t tries;       /* UPnP ports tried after 718 */
  uint8_t method;      /* the one that mapped it (lp2p_portmap_method) */
  uint16_t internal_port;
  uint16_t external_port; /* granted */
  uint16_t try_port;      /* UPnP: the external port asked now */
  uint8_t ext_ip[4];
  uint32_t lifetime_s;    /* granted (0: permanent, never renewed) */
  uint32_t lease_ask;     /* UPnP: what we ask (0 after 725) */
  lp2p_tstamp renew_at;
  lp2p_tstamp retry_at;
  uint8_t nonce[LP2P_PCP_NONCE_LEN]; /* PCP: the mapping's nonce */
  uint8_t have_nonce;  /* PCP: nonce is set (kept when the mapping is
                          lost, to map it again) */
} pm_map;

/* The method ladder: which protocol is being tried or used. */
enum pm_phase {
  PH_IDLE = 0,      /* nothing to map, or not started */
  PH_UPNP_SEARCH,   /* M-SEARCH out, waiting for a gateway to answer */
  PH_UPNP,          /* description / SOAP exchanges */
  PH_PCP,
  PH_NATPMP,
  PH_FAILED         /* every method failed; retried at retry_at */
};

/* UPnP HTTP exchanges, one at a time (Connection: close each). */
enum pm_op {
  OP_NONE = 0,
  OP_DESC,    /* GET the device description at LOCATION */
  OP_EXTIP,   /* GetExternalIPAddress */
  OP_ADD,     /* AddPortMapping for map `map` */
  OP_DEL      /* DeletePortMapping for `port` */
};

typedef struct pm_http {
  uint8_t op;          /* enum pm_op */
  uint8_t connected;
  int map;             /* OP_ADD */
  uint16_t port;       /* OP_DEL */
  uint64_t raw;
  lp2p_tstamp deadline;
  size_t req_len, req_off;
  uint8_t req[PM_REQ_MAX];
  uint8_t *body;       /* PM_BODY_MAX, while an exchange runs */
  lp2p_http_resp resp;
} pm_http;

typedef struct pm_svc {
  uint32_t svc;
  lp2p_portmap_config cfg;
  lp2p_sockaddr gateway, local;
  uint8_t phase;       /* enum pm_phase */
  uint8_t method;      /* current rung (lp2p_portmap_method) */
  uint8_t reason;      /* why the last rung failed */
  uint8_t have_ext;
  uint8_t ext_ip[4];
  uint8_t closing;
  lp2p_tstamp deadline;   /* SSDP wait */
  lp2p_tstamp retry_at;   /* PH_FAILED: start again */
  pm_map maps[PM_MAPS_MAX];

  /* the UDP socket (SSDP, PCP and NAT-PMP) */
  uint64_t udp;
  uint8_t udp_ready;
  uint8_t search_sent;

  /* UPnP */
  char location[LP2P_UPNP_URL_MAX];
  lp2p_upnp_service upsvc; /* the WAN connection service chosen */
  uint8_t have_desc;
  lp2p_sockaddr conn_local; /* our end of the last connection to the IGD */
  pm_http http;

  /* PCP and NAT-PMP engines (created when their rung starts) */
  lp2p_pcp *pcp;
  lp2p_natpmp *nat;
  uint8_t addr_asked;      /* NAT-PMP external address request out */
} pm_svc;

/* ---- portmap_svc.c ---------------------------------------------------- */
/* The mapping is granted (ext_ip / external_port / lifetime_s filled):
 * advertise it, PORT_MAPPED on a new mapping, renewal timer. */
void pm_granted(lp2p_host *h, pm_svc *st, pm_map *m, lp2p_tstamp now);
/* The request for m failed: a renewal loses the mapping (LOST, then
 * mapped again), a first request moves the ladder on (or FAILED). */
void pm_request_failed(lp2p_host *h, pm_svc *st, pm_map *m, uint8_t reason,
                       lp2p_tstamp now);
/* Every mapping is gone on the gateway (epoch reset): LOST each, map
 * again. */
void pm_all_lost(lp2p_host *h, pm_svc *st, uint8_t reason, lp2p_tstamp now);
/* The current rung cannot work: the next one, or FAILED for every map. */
void pm_rung_failed(lp2p_host *h, pm_svc *st, uint8_t reason,
                    lp2p_tstamp now);
/* Our LAN address for requests (family 0 when unknown). */
void pm_local_addr(lp2p_host *h, pm_svc *st, lp2p_sockaddr *out);
/* The external address is known: 0, or 1 when it means a double NAT
 * (then the rung failed with DOUBLE_NAT). */
int pm_external_ip(lp2p_host *h, pm_svc *st, const uint8_t ip[4],
                   lp2p_tstamp now);
/* Open the UDP socket when needed; 1 once it is bound. */
int pm_udp(lp2p_host *h, pm_svc *st);
void pm_send(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *to,
             const uint8_t *p, size_t n);

/* ---- portmap_upnp.c --------------------------------------------------- */
void pm_upnp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
/* Next SOAP exchange when none runs. */
void pm_upnp_step(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
void pm_upnp_datagram(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *from,
                      const uint8_t *p, size_t n, lp2p_tstamp now);
void pm_upnp_raw(lp2p_host *h, pm_svc *st, uint64_t raw, unsigned what,
                 lp2p_tstamp now);
lp2p_tstamp pm_upnp_next_timeout(const pm_svc *st);
void pm_upnp_timeout(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
void pm_upnp_stop(lp2p_host *h, pm_svc *st);
/* Drop the running exchange (its connection is reset). */
void pm_upnp_stop_op(lp2p_host *h, pm_svc *st);
/* The host closes: DeletePortMapping for each UPnP mapping, one exchange
 * after the other (the host waits for them); the next one when none
 * runs. */
void pm_upnp_close_next(lp2p_host *h, pm_svc *st, lp2p_tstamp now);

/* ---- portmap_pmp.c ---------------------------------------------------- */
int pm_pcp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
int pm_natpmp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
/* Requests for IDLE maps and due renewals, then send. */
void pm_pmp_step(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
void pm_pmp_datagram(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *from,
                     const uint8_t *p, size_t n, lp2p_tstamp now);
lp2p_tstamp pm_pmp_next_timeout(const pm_svc *st);
void pm_pmp_timeout(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
/* Lifetime-0 requests for every mapping, queued on the UDP socket. */
void pm_pmp_delete_all(lp2p_host *h, pm_svc *st, lp2p_tstamp now);
void pm_pmp_stop(pm_svc *st);

#endif
