/* The IGD's NAT-PMP and PCP handling (igd.h), pure like igd_proto.c.
 *
 * NAT-PMP (RFC 6886 3): version 0, opcodes 0 (external address) and 1/2
 * (map UDP/TCP); a request for a mapping the client holds renews it (3.3:
 * the external port may differ from the one suggested); lifetime 0
 * deletes (with internal port 0: all of the client's, 3.4); unknown
 * opcodes get result 5, other versions result 1 (and a PCP-only box
 * answers version 0 so, RFC 6887 9).
 *
 * PCP (RFC 6887): version 2; MAP (11) with the nonce checked on renewal
 * and delete (11.3, 11.5: NOT_AUTHORIZED), the client address checked
 * against the source (8.1: ADDRESS_MISMATCH), a suggested port that is
 * taken replaced by another (11.3), mandatory options we do not know
 * refused (7.3: UNSUPP_OPTION); ANNOUNCE (14.1) answered; other opcodes
 * UNSUPP_OPCODE. Every answer carries the epoch: seconds since the boot
 * (8.5), as NAT-PMP's does (3.6). */
#include <stdio.h>
#include <string.h>

#include "drivers/sim/igd.h"
#include "lp2p/multiaddr.h"
#include "lp2p/natpmp.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"

/* ---- NAT-PMP (RFC 6886) -------------------------------------------------- */

static int natpmp(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
                  lp2p_tstamp now, uint8_t *out, size_t *len) {
  g->st.natpmp_requests++;
  memset(out, 0, LP2P_NATPMP_RESP_MAP_LEN);
  out[1] = (uint8_t)(128 + p[1]);
  igd_put32(out + 4, igd_epoch(g, now));
  *len = LP2P_NATPMP_RESP_ERR_LEN;
  if (!g->cfg.natpmp) { /* RFC 6887 9: a PCP-only box */
    igd_put16(out + 2, LP2P_NATPMP_UNSUPP_VERSION);
    return 1;
  }
  if (p[1] == LP2P_NATPMP_OP_ADDR) {
    igd_put32(out + 8, g->ext_ip);
    *len = LP2P_NATPMP_RESP_ADDR_LEN;
    return 1;
  }
  if (p[1] != LP2P_NATPMP_OP_MAP_UDP && p[1] != LP2P_NATPMP_OP_MAP_TCP) {
    igd_put16(out + 2, LP2P_NATPMP_UNSUPP_OPCODE);
    return 1;
  }
  if (n < LP2P_NATPMP_REQ_MAP_LEN)
    return 0; /* too short to answer about */
  uint8_t proto = p[1] == LP2P_NATPMP_OP_MAP_TCP ? SIM_TCP : SIM_UDP;
  uint16_t in_port = igd_get16(p + 4), want = igd_get16(p + 6);
  uint32_t life = igd_get32(p + 8);
  igd_put16(out + 8, in_port);
  *len = LP2P_NATPMP_RESP_MAP_LEN;
  if (life == 0) { /* 3.4: delete one, or all of the client's */
    for (size_t i = 0; i < IGD_ENTRIES_MAX; i++) {
      igd_entry *e = &g->e[i];
      if (igd_entry_live(e, now) && e->proto == proto && e->int_ip == from_ip &&
          (in_port == 0 || e->int_port == in_port) && e->by != IGD_BY_UPNP) {
        igd_drop_entry(g, e, now);
        g->st.deleted++;
      }
    }
    return 1;
  }
  if (in_port == 0) {
    igd_put16(out + 2, LP2P_NATPMP_NOT_AUTHORIZED);
    return 1;
  }
  life = igd_cap_lease(g, life);
  igd_entry *e = igd_by_internal(g, proto, from_ip, in_port, now);
  uint16_t port = e ? e->ext_port : igd_free_port(g, proto, want, now);
  if (!port || igd_map(g, IGD_BY_NATPMP, proto, port, from_ip, in_port, life,
                       now, NULL) != 0) {
    igd_put16(out + 2, LP2P_NATPMP_NO_RESOURCES);
    return 1;
  }
  igd_put16(out + 10, port);
  igd_put32(out + 12, life);
  return 1;
}

/* ---- PCP (RFC 6887) ------------------------------------------------------ */

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An error answer's lifetime (7.4: how long the error lasts). */
#define PCP_ERR_LIFE_S 30u

static int pcp(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
               lp2p_tstamp now, uint8_t *out, size_t *len) {
  g->st.pcp_requests++;
  /* 8.3: shorter than 4 octets, or a response: silently dropped */
  if (n < 4 || (p[1] & 0x80))
    return 0;
  memset(out, 0, LP2P_PCP_MAP_LEN);
  out[0] = LP2P_PCP_VERSION;
  out[1] = (uint8_t)(0x80 | (p[1] & 0x7f));
  out[2] = 0;
  igd_put32(out + 4, PCP_ERR_LIFE_S);
  igd_put32(out + 8, igd_epoch(g, now));
  *len = LP2P_PCP_HEADER_LEN;
  uint8_t op = p[1] & 0x7f;
  if (!g->cfg.pcp) {
    if (!g->cfg.natpmp)
      return 0;
    /* RFC 6887 9: a NAT-PMP-only box answers version 2 with NAT-PMP's
     * "unsupported version" */
    memset(out, 0, 8);
    out[1] = (uint8_t)(128 + (p[1] & 0x7f));
    igd_put16(out + 2, LP2P_NATPMP_UNSUPP_VERSION);
    igd_put32(out + 4, igd_epoch(g, now));
    *len = LP2P_NATPMP_RESP_ERR_LEN;
    return 1;
  }
  if (p[0] != LP2P_PCP_VERSION) {
    out[3] = LP2P_PCP_UNSUPP_VERSION;
    return 1;
  }
  if (n < LP2P_PCP_HEADER_LEN || n > LP2P_PCP_MSG_MAX || n % 4) {
    out[3] = LP2P_PCP_MALFORMED_REQUEST;
    return 1;
  }
  /* 8.1: the client address must be where the request came from */
  uint8_t src[16];
  memcpy(src, v4mapped, 12);
  igd_put32(src + 12, from_ip);
  if (memcmp(p + 8, src, 16) != 0) {
    out[3] = LP2P_PCP_ADDRESS_MISMATCH;
    return 1;
  }
  if (op == LP2P_PCP_OP_ANNOUNCE) { /* 14.1 */
    igd_put32(out + 4, 0);
    return 1;
  }
  if (op != LP2P_PCP_OP_MAP) {
    out[3] = LP2P_PCP_UNSUPP_OPCODE;
    return 1;
  }
  if (n < LP2P_PCP_MAP_LEN) {
    out[3] = LP2P_PCP_MALFORMED_REQUEST;
    return 1;
  }
  memcpy(out + 24, p + 24, 36); /* the MAP payload, answered in place */
  *len = LP2P_PCP_MAP_LEN;
  /* options (7.3): a mandatory one (code < 128) we do not know is
   * refused; a malformed list too */
  for (size_t off = LP2P_PCP_MAP_LEN; off < n;) {
    if (n - off < 4) {
      out[3] = LP2P_PCP_MALFORMED_OPTION;
      return 1;
    }
    size_t olen = igd_get16(p + off + 2);
    if (olen > n - off - 4) {
      out[3] = LP2P_PCP_MALFORMED_OPTION;
      return 1;
    }
    if (p[off] < 128) {
      out[3] = LP2P_PCP_UNSUPP_OPTION;
      return 1;
    }
    off += 4 + ((olen + 3) & ~(size_t)3);
  }
  uint32_t life = igd_get32(p + 4);
  const uint8_t *nonce = p + 24;
  uint8_t proto = p[36];
  uint16_t in_port = igd_get16(p + 40), want = igd_get16(p + 42);
  if (proto != SIM_TCP && proto != SIM_UDP) {
    out[3] = LP2P_PCP_UNSUPP_PROTOCOL;
    return 1;
  }
  if (in_port == 0) {
    out[3] = LP2P_PCP_MALFORMED_REQUEST;
    return 1;
  }
  igd_entry *e = igd_by_internal(g, proto, from_ip, in_port, now);
  if (e && (e->by != IGD_BY_PCP || memcmp(e->nonce, nonce, 12) != 0)) {
    out[3] = LP2P_PCP_NOT_AUTHORIZED; /* 11.3 / 11.5: another's mapping */
    return 1;
  }
  if (life == 0) { /* 15: delete; the answer carries lifetime 0 */
    if (e) {
      igd_put16(out + 42, e->ext_port);
      igd_drop_entry(g, e, now);
      g->st.deleted++;
    }
    igd_put32(out + 4, 0);
    memcpy(out + 44, v4mapped, 12);
    igd_put32(out + 56, g->ext_ip);
    return 1;
  }
  life = igd_cap_lease(g, life);
  uint16_t port = e ? e->ext_port : igd_free_port(g, proto, want, now);
  igd_entry *ne = NULL;
  if (!port || igd_map(g, IGD_BY_PCP, proto, port, from_ip, in_port, life, now,
                       &ne) != 0) {
    out[3] = LP2P_PCP_NO_RESOURCES;
    return 1;
  }
  memcpy(ne->nonce, nonce, 12);
  igd_put32(out + 4, life);
  igd_put16(out + 42, port);
  memcpy(out + 44, v4mapped, 12);
  igd_put32(out + 56, g->ext_ip);
  return 1;
}

int igd_pmp(sim_igd *g, uint32_t from_ip, const uint8_t *p, size_t n,
            lp2p_tstamp now, uint8_t *out, size_t cap, size_t *len) {
  if (n < 2 || cap < LP2P_PCP_MSG_MAX || (!g->cfg.natpmp && !g->cfg.pcp))
    return 0;
  if (p[0] == 0) {
    if (p[1] & 0x80)
      return 0; /* a response (or our own announcement): not for us */
    return natpmp(g, from_ip, p, n, now, out, len);
  }
  return pcp(g, from_ip, p, n, now, out, len);
}
