/* Scenario helpers: real lp2p_hosts on simulated endpoints. */
#include <stdio.h>
#include <string.h>

#include "lp2p/crypto.h"
#include "lp2p/peerid.h"
#include "tools/lp2p-sim/hosts.h"

int shost_add(lp2p_sim *s, uint32_t node, size_t budget_bytes,
              void (*tweak)(lp2p_host_config *cfg, void *ud), void *ud,
              shost *out) {
  memset(out, 0, sizeof(*out));
  out->node = node;
  const lp2p_rng *rng = lp2p_sim_node_rng(s, node);
  if (!rng)
    return LP2P_ERR_NOT_FOUND;
  static lp2p_privkey key; /* large; only used during lp2p_host_new */
  int rc = lp2p_key_generate(&key, LP2P_KEY_ED25519, 0, rng);
  if (rc != 0)
    return rc;
  if ((rc = lp2p_peerid_from_pubkey(&out->id, &key.pub)) != 0)
    return rc;
  lp2p_host_config cfg;
  lp2p_host_config_default(&cfg);
  cfg.identity = &key;
  cfg.log = shost_log;
  if (tweak)
    tweak(&cfg, ud);
  return lp2p_sim_host_add(s, node, &cfg, budget_bytes);
}

const lp2p_log *shost_log;

int shost_maddr(lp2p_maddr *out, uint32_t ip, uint16_t port,
                const lp2p_peerid *id) {
  char text[256], idtext[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  int k = snprintf(text, sizeof text, "/ip4/%u.%u.%u.%u/tcp/%u", ip >> 24,
                   (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
  if (id) {
    if (lp2p_peerid_to_base58(id, idtext, sizeof idtext, &n) != 0)
      return LP2P_ERR_INVAL;
    snprintf(text + k, sizeof text - (size_t)k, "/p2p/%s", idtext);
  }
  return lp2p_maddr_parse(out, text, strlen(text));
}

int shost_listen(lp2p_sim *s, shost *h, uint16_t port) {
  int rc = shost_maddr(&h->listen, lp2p_sim_node_ip(s, h->node), port, NULL);
  if (rc != 0)
    return rc;
  rc = lp2p_host_listen(lp2p_sim_host(s, h->node), &h->listen, &h->listener);
  lp2p_sim_host_kick(s, h->node);
  return rc;
}

lp2p_tstamp shost_now(const lp2p_sim *s, const shost *h) {
  return lp2p_sim_ep_clock(s, h->node);
}

const char *shost_short(const lp2p_peerid *id, char buf[16]) {
  char t[LP2P_PEERID_TEXT_MAX];
  size_t n = 0;
  if (lp2p_peerid_to_base58(id, t, sizeof t, &n) != 0 || n < 6) {
    snprintf(buf, 16, "?");
    return buf;
  }
  snprintf(buf, 16, "%s", t + n - 6);
  return buf;
}
