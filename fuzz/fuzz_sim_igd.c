/* Fuzz the simulator's IGD request handling (drivers/sim/igd_proto.c):
 * SSDP M-SEARCH, NAT-PMP and PCP datagrams, HTTP requests with SOAP
 * bodies (fed whole and in a prefix first, as a connection delivers
 * them), time steps, reboots and other devices' mappings, under a random
 * configuration. Input: a config (u8 switches, u8 entries, u16 lease cap),
 * then ops of one byte each with their arguments (u32 lengths: see
 * fuzz/corpus/sim_igd/). Invariants after every step:
 * - every answer fits its buffer; SSDP and HTTP answers are HTTP/1.1
 *   status lines, NAT-PMP / PCP answers carry the response bit;
 * - the live mappings stay within entries_max, and each one is a forward
 *   in the box's table (its port is not free there). */
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/igd.h"
#include "fuzz/lib/fdp.h"
#include "lp2p/pcp.h"
#include "lp2p/upnp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LAN LP2P_SIM_IP4(10, 0, 0, 1)
#define EXT LP2P_SIM_IP4(20, 0, 0, 1)

static void check(const sim_igd *g, lp2p_tstamp now) {
  size_t live = 0;
  for (size_t i = 0; i < IGD_ENTRIES_MAX; i++) {
    const igd_entry *e = &g->e[i];
    if (!e->used || (e->until != LP2P_TSTAMP_NONE && e->until <= now))
      continue;
    live++;
    if (sim_nat_port_free(g->nat, e->proto, e->ext_port, now))
      abort(); /* a mapping without its forward */
  }
  if (live > g->cfg.entries_max || live != igd_live(g, now))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fdp f;
  fdp_init(&f, data, size);
  lp2p_sim_igd_config cfg;
  lp2p_sim_igd_config_default(&cfg);
  uint8_t bits = fdp_u8(&f);
  cfg.upnp = !(bits & 1);
  cfg.upnp_version = bits & 2 ? 1 : 2;
  cfg.natpmp = !(bits & 4);
  cfg.pcp = !(bits & 8);
  cfg.permanent_only = (bits & 16) != 0;
  cfg.entries_max = (uint32_t)fdp_range(&f, 1, IGD_ENTRIES_MAX);
  cfg.lease_max_s = (uint32_t)fdp_u16(&f) + 1;
  lp2p_sim_nat_config ncfg;
  lp2p_sim_nat_config_default(&ncfg);
  lp2p_rng_chacha st;
  lp2p_rng rng;
  lp2p_rng_chacha_init(&st, 7, 1, &rng);
  sim_nat nat;
  if (sim_nat_init(&nat, &ncfg, EXT, &rng) != 0)
    return 0;
  static sim_igd g;
  lp2p_tstamp now = LP2P_NS_PER_S;
  igd_init(&g, &cfg, &nat, LAN, EXT, now);
  static char out[IGD_OUT_MAX];
  static uint8_t dg[LP2P_PCP_MSG_MAX];
  for (int step = 0; step < 200 && fdp_left(&f); step++) {
    uint8_t op = (uint8_t)(fdp_u8(&f) % 6);
    uint32_t from = LP2P_SIM_IP4(10, 0, 0, 2 + fdp_u8(&f) % 4);
    const uint8_t *p;
    size_t n, len = 0;
    switch (op) {
    case 0: /* SSDP */
      n = fdp_bytes(&f, &p, LP2P_SSDP_MSG_MAX + 16);
      if (igd_ssdp(&g, p, n, out, sizeof out, &len) &&
          (len >= sizeof out || memcmp(out, "HTTP/1.1 200 OK\r\n", 17) != 0))
        abort();
      break;
    case 1: /* NAT-PMP / PCP */
      n = fdp_bytes(&f, &p, LP2P_PCP_MSG_MAX + 16);
      if (igd_pmp(&g, from, p, n, now, dg, sizeof dg, &len) &&
          (len < 8 || len > LP2P_PCP_MAP_LEN || !(dg[1] & 0x80)))
        abort();
      break;
    case 2: { /* HTTP: a prefix first, then the whole request */
      n = fdp_bytes(&f, &p, IGD_HTTP_MAX + 64);
      size_t cut = n ? fdp_range(&f, 0, n) : 0;
      int done = igd_http(&g, from, p, cut, now, out, sizeof out, &len);
      if (!done)
        done = igd_http(&g, from, p, n, now, out, sizeof out, &len);
      if (done && (len >= sizeof out || memcmp(out, "HTTP/1.1 ", 9) != 0))
        abort();
      if (!done && n >= IGD_HTTP_MAX)
        abort(); /* a full buffer is always answered (413) */
      break;
    }
    case 3:
      now += (uint64_t)fdp_u16(&f) * LP2P_NS_PER_S;
      break;
    case 4:
      igd_reset(&g, now);
      break;
    default: {
      uint8_t proto = fdp_bool(&f) ? SIM_TCP : SIM_UDP;
      uint16_t port = fdp_u16(&f);
      uint32_t lease = fdp_u16(&f);
      if (port)
        igd_map(&g, IGD_BY_STATIC, proto, port, from, port, lease, now, NULL);
      break;
    }
    }
    check(&g, now);
  }
  sim_nat_free(&nat);
  return 0;
}
