/** lp2p_host_config: every limit, timeout and service setting of a host,
 * and its defaults. Part of lp2p/host.h. */
#ifndef LP2P_HOST_CONFIG_H
#define LP2P_HOST_CONFIG_H

#include "lp2p/autonat.h"
#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/dcutr.h"
#include "lp2p/dns.h"
#include "lp2p/host_base.h"
#include "lp2p/kad.h"
#include "lp2p/portmap.h"
#include "lp2p/relay.h"
#include "lp2p/stun.h"
#include "lp2p/yamux.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---------------------------------------------------- */

/** Which secure channel(s) the host offers and accepts, in preference
 * order. */
typedef enum lp2p_host_security {
  LP2P_HOST_SECURITY_NOISE = 0,           /**< /noise only (default) */
  LP2P_HOST_SECURITY_PLAINTEXT = 1,       /**< /plaintext/2.0.0 only */
  LP2P_HOST_SECURITY_NOISE_PLAINTEXT = 2  /**< both, Noise preferred */
} lp2p_host_security;

/** Identify (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0). Identify is always
 * answered (every libp2p peer runs it). */
typedef struct lp2p_host_identify_config {
  int auto_identify;         /**< identify every new connection and push
                                  our changes (1) */
  uint32_t msg_bytes_max;    /**< one identify message (8192) */
  uint64_t timeout_ns;       /**< one identify exchange (10 s) */
} lp2p_host_identify_config;

/** Ping (/ipfs/ping/1.0.0). The client (lp2p_host_ping) is always on. */
typedef struct lp2p_host_ping_config {
  int serve;                 /**< answer inbound pings (1) */
  uint32_t streams_per_peer_max; /**< inbound ping streams per peer (2) */
  uint64_t timeout_ns;       /**< one round trip (10 s) */
} lp2p_host_ping_config;

/** Perf (/perf/1.0.0). The client (lp2p_host_perf) is always on. */
typedef struct lp2p_host_perf_config {
  int serve;                 /**< serve perf requests (1) */
} lp2p_host_perf_config;

/** Echo (/echo/1.0.0), a test service: every byte read is written back. */
typedef struct lp2p_host_echo_config {
  int serve;                 /**< serve echo streams (1) */
} lp2p_host_echo_config;

/** Most STUN servers the NAT service tries (lp2p_host_nat_config). */
#define LP2P_HOST_NAT_STUN_MAX 4
/** Most observations the NAT service keeps (lp2p_host_nat_config). */
#define LP2P_HOST_NAT_OBS_MAX 32

/** NAT classification (lp2p_host_config.nat; README "Hole punching").
 * The service classifies our NAT's mapping from what identify reports:
 * the observed address of every outbound socket connection, together
 * with the connection's local port and the observer's address (only
 * dials from a shared local port, such as REUSEPORT dials from the
 * listen port, can be compared). With STUN servers it also runs RFC 5389
 * binding and RFC 5780 behaviour discovery over a UDP socket it owns,
 * which adds filtering. Every change is a NAT_TYPE event; the DCUtR
 * service uses the class to skip hopeless punches and to predict ports. */
typedef struct lp2p_host_nat_config {
  uint8_t observe;            /**< classify from identify (1) */
  uint32_t observations_max;  /**< kept, oldest dropped (16, at most
                                   LP2P_HOST_NAT_OBS_MAX) */
  lp2p_sockaddr stun[LP2P_HOST_NAT_STUN_MAX]; /**< servers, in order: the
                                   next is asked when one never answers */
  uint32_t nstun;             /**< 0: no STUN (default) */
  uint16_t stun_local_port;   /**< the UDP socket's port (0: any) */
  lp2p_stun_config stun_cfg;  /**< retransmission, discovery on */
} lp2p_host_nat_config;

/** AutoNAT v2 (/libp2p/autonat/2/dial-request and /dial-back; section
 * "AutoNAT"). The client asks peers whose identify lists dial-request
 * about our public candidate addresses (listen and observed) and records
 * verdicts in the address manager; the server dials back on request. */
typedef struct lp2p_host_autonat_config {
  int client;                      /**< check our addresses (1) */
  int server;                      /**< serve dial requests (0) */
  lp2p_autonat_client_config c;    /**< verdict rule, budget, re-checks */
  lp2p_autonat_server_config s;    /**< rate limits, dial data, private */
  lp2p_ip_public_fn is_public;     /**< which of our addresses to check
                                        (NULL: lp2p_autonat_ip_is_public) */
  void *is_public_ud;
} lp2p_host_autonat_config;

/** Host configuration. Get one from lp2p_host_config_default, then change
 * fields. Every pointer in it except `log` is read during lp2p_host_new
 * only (the host copies what it keeps); `log` must outlive the host. A
 * `*_max` of 0 is invalid, not "unlimited". Times are in nanoseconds; a
 * timeout of 0 disables it. Streams per connection and the accept backlog
 * are yamux.streams_max and yamux.accept_backlog_max. */
typedef struct lp2p_host_config {
  const lp2p_privkey *identity; /**< required: the node's key (copied) */
  lp2p_host_security security;
  const char *agent_version;    /**< identify agentVersion (default "lp2p/<version>") */
  const char *protocol_version; /**< identify protocolVersion (default "ipfs/0.1.0") */

  /* connection manager (README "Limits"; more fields at the end) */
  uint32_t conns_max;           /**< established connections plus inbound
                                     pending ones (1024); at the limit a
                                     newcomer may displace a trimmable
                                     connection (see conns_grace_ns) */
  uint32_t conns_pending_max;   /**< INBOUND connections still upgrading
                                     (128); our dials have their own budget,
                                     conns_outbound_pending_max */
  uint32_t conns_per_peer_max;  /**< established per peer (8) */
  uint32_t conns_low_water;     /**< trimming closes the least useful
                                     connections down to this (160) ... */
  uint32_t conns_high_water;    /**< ... once more than this are open (192;
                                     0 = trimming off) */
  uint32_t dials_max;           /**< outstanding lp2p_host_dial calls (128) */

  /* streams */
  lp2p_yamux_config yamux;      /**< per-connection muxer limits, windows
                                     and keepalive (yamux defaults) */
  uint32_t streams_max;         /**< host-wide stream table (65536) */
  uint32_t protocols_max;       /**< application protocol table entries (64;
                                     services' own protocols are extra) */

  /* queues */
  uint32_t event_queue_max;     /**< application events (4096) */

  /* peerstore / addresses */
  uint32_t peers_max;           /**< peerstore entries (4096) */
  uint32_t addrs_per_peer_max;  /**< stored addrs per peer (16) */
  uint32_t protocols_per_peer_max; /**< stored protocols per peer (128) */
  uint32_t host_addrs_max;      /**< address manager entries (64) */
  uint32_t observed_confirm_min;   /**< distinct peers that must report an
                                        observed addr before it is CONFIRMED (4) */
  int advertise_observed;       /**< advertise CONFIRMED observed addrs (0) */
  uint64_t peer_addr_ttl_ns;    /**< TTL of identify-learnt addrs (1 h) */

  /* timeouts */
  uint64_t handshake_timeout_ns;   /**< raw conn -> upgraded (10 s) */
  uint64_t dial_timeout_ns;        /**< DIAL io -> established (15 s) */
  uint64_t idle_timeout_ns;        /**< no streams for this long: close (0) */
  uint64_t stream_negotiate_timeout_ns; /**< per-stream ms (10 s) */
  uint64_t close_timeout_ns;       /**< graceful close drain, then RESET (5 s) */

  /* raw sockets (section "raw sockets") */
  uint32_t raws_max;               /**< raw listeners + connections + UDP
                                        sockets, all owners (256) */
  uint32_t raw_send_bytes_max;     /**< per raw TCP connection (256 KiB) */
  uint32_t raw_recv_bytes_max;     /**< per raw TCP connection (256 KiB) */
  uint32_t udp_queue_max;          /**< received datagrams per UDP socket (64) */
  uint32_t udp_datagram_bytes_max; /**< largest datagram kept (2048) */
  uint32_t udp_send_queue_max;     /**< datagrams waiting for the driver,
                                        all sockets (256) */

  /* services (each a folder in proto/, registered in proto/services/builtin.c) */
  lp2p_host_identify_config identify;
  lp2p_host_ping_config ping;
  lp2p_host_perf_config perf;
  lp2p_host_echo_config echo;
  lp2p_dcutr_service_config dcutr; /**< hole punching over relayed
                                     connections (lp2p/dcutr.h) */
  lp2p_relay_config relay;      /**< circuit relay v2: hop server, stop
                                     handler, client (lp2p/relay.h) */
  lp2p_dns_config dns;          /**< the resolver behind dials to /dns,
                                     /dns4, /dns6 and /dnsaddr addresses
                                     (lp2p_host_dns_configure) */
  lp2p_host_autonat_config autonat;
  lp2p_portmap_config portmap;  /**< port mapping on the home router
                                     (lp2p/portmap.h; off by default) */
  lp2p_host_nat_config nat;     /**< NAT classification: observed
                                     addresses, optional STUN */

  const lp2p_log *log;             /**< optional */

  /* pending connections and trimming (issue 9) */
  uint32_t conns_outbound_pending_max; /**< our dials still connecting or
                                            upgrading (128), apart from the
                                            inbound budget so an inbound
                                            flood never blocks our dials */
  uint32_t conns_pending_per_ip_max;   /**< inbound upgrading from one
                                            source: an IPv4 /32 or an IPv6
                                            /64 (8; loopback is exempt) */
  uint32_t conns_per_ip_max;           /**< established inbound connections
                                            from one /32 or /64 (8; loopback
                                            exempt): identities are free,
                                            addresses are not */
  uint64_t progress_timeout_ns;        /**< an inbound connection that sent
                                            no byte this long after accept
                                            is dropped (3 s; 0 = off); the
                                            handshake timeout still bounds
                                            the whole upgrade */
  uint64_t conns_grace_ns;             /**< new connections are not trimmed
                                            for this long (60 s) */
  uint64_t conns_trim_silence_ns;      /**< a trim that a new connection
                                            asks for runs at most once in
                                            this long; one asked sooner
                                            runs when it ends (10 s, as
                                            go-libp2p's connmgr; 0 = at
                                            every new connection) */

  /* streams (issue 9) */
  /* Inbound stream caps (section "Limits" of README.md). Defaults follow
   * go-libp2p's resource manager (limit_defaults.go): peer 256, protocol
   * 512, protocol per peer 64; host-wide its system value for a 1 GiB
   * budget. Over a cap the stream is reset and counted in the stats. */
  uint32_t streams_inbound_max;    /**< inbound streams, all peers (2048) */
  uint32_t streams_inbound_per_peer_max; /**< all connections of one
                                        peer together (256) */
  uint32_t streams_outbound_per_peer_max; /**< streams we open to one peer,
                                        all connections (512, go's peer
                                        StreamsOutbound): opening more
                                        returns LP2P_ERR_LIMIT */
  uint32_t streams_inbound_per_protocol_max; /**< one protocol, all peers
                                        (512; per protocol:
                                        lp2p_host_protocol_limits) */
  uint32_t streams_inbound_per_protocol_peer_max; /**< one protocol, one
                                        peer (64) */
  uint32_t streams_inbound_reserve_peer_max; /**< room for honest peers:
                                        once the host-wide budget or a
                                        protocol's is 3/4 full, only peers
                                        holding fewer streams than this in
                                        it get more (16) */
  uint64_t stream_idle_timeout_ns; /**< services' negotiated streams that
                                        carry no byte either way for this
                                        long are reset (60 s; 0 = off) */
  uint64_t app_stream_idle_timeout_ns; /**< the same for application
                                        streams: STREAM_RESET with
                                        LP2P_ERR_TIMEOUT (300 s; 0 = off) */
  /* resource manager (issue 9): memory a connection can make us hold
   * (yamux buffers and queued output) runs under grants */
  uint64_t memory_max;             /**< all connections (128 MiB); growth
                                        uses at most 3/4 of it */
  uint64_t memory_per_peer_max;    /**< all connections of a peer (32 MiB) */
  uint64_t memory_per_conn_max;    /**< one connection (16 MiB) */
  uint64_t memory_per_conn_base;   /**< granted at open (128 KiB, at least
                                        128 KiB) */
  lp2p_kad_config kad;             /**< the Kademlia DHT service (issue 10,
                                        lp2p/kad.h; mode OFF by default) */
  uint32_t gate_rules_max;         /**< connection gater rules, peer ids
                                        and address prefixes (1024) */
} lp2p_host_config;

/** Fill `cfg` with the defaults given in the field docs (identity NULL). */
LP2P_API void lp2p_host_config_default(lp2p_host_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
