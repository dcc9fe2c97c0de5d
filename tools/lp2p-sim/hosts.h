/* Helpers for scenarios that run real lp2p_hosts on the simulator. */
#ifndef LP2P_SIM_HOSTS_H
#define LP2P_SIM_HOSTS_H

#include "lp2p/sim.h"

typedef struct shost {
  uint32_t node;
  lp2p_peerid id;
  lp2p_maddr listen; /* /ip4/<node ip>/tcp/<port> once listen was asked */
  uint64_t listener;
} shost;

/* Put a host on endpoint `node`: an Ed25519 key from the node's RNG, the
 * default config changed by `tweak` (may be NULL), a memory budget.
 * Returns 0 or an LP2P_ERR_*. */
/** Log sink given to every host shost_add creates (LP2P_LOG), or NULL. */
extern const lp2p_log *shost_log;

int shost_add(lp2p_sim *s, uint32_t node, size_t budget_bytes,
              void (*tweak)(lp2p_host_config *cfg, void *ud), void *ud,
              shost *out);
/* Listen on /ip4/<node ip>/tcp/<port>. */
int shost_listen(lp2p_sim *s, shost *h, uint16_t port);
/* /ip4/<ip>/tcp/<port>/p2p/<id>. */
int shost_maddr(lp2p_maddr *out, uint32_t ip, uint16_t port,
                const lp2p_peerid *id);
/* The host's local clock now. */
lp2p_tstamp shost_now(const lp2p_sim *s, const shost *h);
/* Short printable peer id (last 6 base58 characters). */
const char *shost_short(const lp2p_peerid *id, char buf[16]);

#endif
