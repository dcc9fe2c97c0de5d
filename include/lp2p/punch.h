/** punch: the wire format and the command-line specs of the `punch` port
 * forwarder (issue 14; README "punch"). Pure codecs: no allocation, no
 * I/O, caller buffers.
 *
 * ## Forwarding protocol
 * One libp2p stream per forwarded TCP connection (/punch/tcp/1.0.0) and
 * one per UDP flow (/punch/udp/1.0.0), all on the one connection between
 * the two peers (yamux multiplexes them; each has its own flow control,
 * so a slow TCP connection never stalls the others). The opener writes a
 * 3-byte header first: version (1) and the remote port, big-endian:
 *
 *     header = 0x01 | port_hi | port_lo          (port 1..65535)
 *
 * TCP: the header is followed by the connection's bytes, both ways; a
 * stream half-close is the TCP FIN of that direction, a stream reset an
 * aborted connection. UDP: the header is followed by datagrams, each
 * framed as a 2-byte big-endian length and the payload (0..
 * LP2P_PUNCH_DATAGRAM_MAX bytes), both ways. A header with another
 * version, port 0, or a frame longer than LP2P_PUNCH_DATAGRAM_MAX is
 * garbage: the receiver resets that stream only. */
#ifndef LP2P_PUNCH_H
#define LP2P_PUNCH_H

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP2P_PUNCH_TCP_PROTOCOL "/punch/tcp/1.0.0"
#define LP2P_PUNCH_UDP_PROTOCOL "/punch/udp/1.0.0"
#define LP2P_PUNCH_VERSION 1
#define LP2P_PUNCH_HEADER_LEN 3
#define LP2P_PUNCH_FRAME_HEADER_LEN 2
/** The largest UDP payload over IPv4 (65535 - 20 - 8). */
#define LP2P_PUNCH_DATAGRAM_MAX 65507

#define LP2P_PUNCH_TCP 1
#define LP2P_PUNCH_UDP 2

/** Write the stream header for `port` (1..65535) into out[0..3). Returns
 * 0 or LP2P_ERR_INVAL (port 0). */
LP2P_API int lp2p_punch_header_encode(uint8_t out[LP2P_PUNCH_HEADER_LEN],
                                      uint16_t port);
/** Read a stream header from p[0..n). Returns LP2P_PUNCH_HEADER_LEN with
 * *port set, 0 when more bytes are needed, or LP2P_ERR_PARSE (another
 * version, port 0). */
LP2P_API lp2p_ssize lp2p_punch_header_decode(const uint8_t *p, size_t n,
                                             uint16_t *port);
/** Write the 2-byte frame length of a datagram of `len` bytes. Returns 0
 * or LP2P_ERR_LIMIT (len > LP2P_PUNCH_DATAGRAM_MAX). */
LP2P_API int lp2p_punch_frame_encode(uint8_t out[LP2P_PUNCH_FRAME_HEADER_LEN],
                                     size_t len);
/** Read one framed datagram from p[0..n): returns the bytes it takes
 * (header + payload) with *payload / *len pointing into p, 0 when the
 * frame is not complete yet, or LP2P_ERR_PARSE (length over
 * LP2P_PUNCH_DATAGRAM_MAX). */
LP2P_API lp2p_ssize lp2p_punch_frame_decode(const uint8_t *p, size_t n,
                                            const uint8_t **payload,
                                            size_t *len);

/* ---- command-line specs ------------------------------------------------- */

/** `punch out` port spec: <port> or <port>/<proto>, proto tcp (default)
 * or udp. */
typedef struct lp2p_punch_port {
  uint16_t port;
  uint8_t proto; /**< LP2P_PUNCH_TCP / _UDP */
} lp2p_punch_port;

/** `punch in` mapping: <local>:<remote-port>[/<proto>], local a port or
 * `-` (stdio). */
typedef struct lp2p_punch_mapping {
  uint16_t local;  /**< 0 when stdio */
  uint8_t stdio;   /**< 1: local is `-` */
  uint16_t remote;
  uint8_t proto;   /**< LP2P_PUNCH_TCP / _UDP */
} lp2p_punch_mapping;

/** Parse a port spec (NUL-terminated). Returns 0, or LP2P_ERR_PARSE with
 * *why (static text, may be NULL) saying what is wrong. */
LP2P_API int lp2p_punch_port_parse(const char *s, lp2p_punch_port *out,
                                   const char **why);
/** Parse a mapping (NUL-terminated). Stdio with udp is refused here.
 * Returns 0 or LP2P_ERR_PARSE with *why. */
LP2P_API int lp2p_punch_mapping_parse(const char *s, lp2p_punch_mapping *out,
                                      const char **why);
/** Name of an LP2P_PUNCH_* protocol ("tcp", "udp"). */
LP2P_API const char *lp2p_punch_proto_name(int proto);

#ifdef __cplusplus
}
#endif
#endif
