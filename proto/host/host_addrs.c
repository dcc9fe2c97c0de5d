/* Address manager: listen addresses (with their bind status), configured
 * announce / no-announce addresses, interface addresses from the driver
 * and addresses peers observed for us through identify (collected, and
 * advertised only when confirmed by enough distinct peers and
 * advertise_observed is set). lp2p_host_addrs() derives what we advertise. */
#include "proto/common/keyed_hash.h"
#include "proto/host/host_internal.h"

#define OBS_SEEN_MAX 8u

static hhaddr *find(lp2p_host *h, const lp2p_maddr *ma, uint8_t kind) {
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (h->addrs[i].kind == kind && lp2p_maddr_equal(&h->addrs[i].addr, ma))
      return &h->addrs[i];
  return NULL;
}

static void remove_at(lp2p_host *h, uint32_t i) {
  h->addrs[i] = h->addrs[--h->naddrs];
}

static hhaddr *add_entry_ex(lp2p_host *h, const lp2p_maddr *ma, uint8_t kind,
                            uint8_t status, int listen_port, int *err) {
  *err = 0;
  if (h->naddrs == h->cfg.host_addrs_max) {
    /* Make room by dropping the least-seen observed address (for a new
     * observation: one of another port than a listen port, and only for
     * a listen-port observation). */
    uint32_t victim = UINT32_MAX;
    for (uint32_t i = 0; i < h->naddrs; i++)
      if (h->addrs[i].kind == LP2P_ADDR_OBSERVED &&
          (kind != LP2P_ADDR_OBSERVED ||
           (listen_port && !h->addrs[i].on_listen_port)) &&
          (victim == UINT32_MAX ||
           h->addrs[i].observers < h->addrs[victim].observers))
        victim = i;
    if (victim == UINT32_MAX ||
        (kind == LP2P_ADDR_OBSERVED && !listen_port)) {
      *err = LP2P_ERR_LIMIT;
      return NULL;
    }
    remove_at(h, victim);
  }
  if (h->naddrs == h->addrs_cap) {
    uint32_t ncap = h->addrs_cap ? h->addrs_cap * 2 : 4;
    if (ncap > h->cfg.host_addrs_max)
      ncap = h->cfg.host_addrs_max;
    hhaddr *n = lp2p_mem_realloc(h->mem, h->addrs,
                                 h->addrs_cap * sizeof *n, ncap * sizeof *n);
    if (!n) {
      *err = LP2P_ERR_NOMEM;
      return NULL;
    }
    h->addrs = n;
    h->addrs_cap = ncap;
  }
  hhaddr *a = &h->addrs[h->naddrs++];
  memset(a, 0, sizeof *a);
  a->addr = *ma;
  a->kind = kind;
  a->status = status;
  a->reach_at = LP2P_TSTAMP_NONE;
  return a;
}

static hhaddr *add_entry(lp2p_host *h, const lp2p_maddr *ma, uint8_t kind,
                         uint8_t status, int *err) {
  return add_entry_ex(h, ma, kind, status, 0, err);
}

void host_addrs_free(lp2p_host *h) {
  lp2p_mem_free(h->mem, h->addrs);
  h->addrs = NULL;
  h->naddrs = h->addrs_cap = 0;
}

/* A fingerprint of the advertised set, to tell whether it changed. */
static uint64_t advertised_hash(const lp2p_host *h) {
  lp2p_maddr list[16];
  size_t n = 0;
  lp2p_host_addrs(h, list, 16, &n);
  uint64_t x = 1469598103934665603u ^ n;
  for (size_t i = 0; i < n && i < 16; i++)
    for (size_t j = 0; j < list[i].len; j++) {
      x ^= list[i].bytes[j];
      x *= 1099511628211u;
    }
  return x;
}

void host_addrs_changed(lp2p_host *h, lp2p_tstamp now) {
  uint64_t v = advertised_hash(h);
  if (v == h->addrs_version)
    return;
  h->addrs_version = v;
  host_ev_push(h, LP2P_HOST_EV_ADDRESS_CHANGED);
  host_svc_local_changed(h, HSVC_LOCAL_ADDRS, now);
}

int host_addr_set_listen(lp2p_host *h, uint64_t listener,
                         const lp2p_maddr *ma, uint8_t status) {
  for (uint32_t i = 0; i < h->naddrs; i++) {
    hhaddr *a = &h->addrs[i];
    if (a->kind == LP2P_ADDR_LISTEN && a->listener == listener) {
      if (!ma) {
        remove_at(h, i);
        return 0;
      }
      a->addr = *ma;
      a->status = status;
      return 0;
    }
  }
  if (!ma)
    return 0;
  int err;
  hhaddr *a = add_entry(h, ma, LP2P_ADDR_LISTEN, status, &err);
  if (!a)
    return err;
  a->listener = listener;
  return 0;
}

/* Keyed, so a peer cannot pick an id whose fingerprint equals another
 * observer's and have that observer's report dropped. 0 is never used. */
static uint32_t peer_fp(const lp2p_host *h, const lp2p_peerid *id) {
  uint32_t x = (uint32_t)lp2p_keyed_hash(h->hash_key, id->bytes, id->len);
  return x ? x : 1;
}

void host_addr_observed(lp2p_host *h, const lp2p_peerid *from,
                        const lp2p_maddr *ma, int on_listen_port,
                        lp2p_tstamp now) {
  int err;
  hhaddr *a = find(h, ma, LP2P_ADDR_OBSERVED);
  if (!a) {
    a = add_entry_ex(h, ma, LP2P_ADDR_OBSERVED, LP2P_ADDR_UNCONFIRMED,
                     on_listen_port, &err);
    if (!a)
      return; /* table full of better-confirmed addresses: ignore */
  }
  if (on_listen_port)
    a->on_listen_port = 1;
  uint32_t fp = peer_fp(h, from);
  uint32_t k = a->observers < OBS_SEEN_MAX ? a->observers : OBS_SEEN_MAX;
  for (uint32_t i = 0; i < k; i++)
    if (a->seen[i] == fp)
      return; /* this peer already counted */
  if (a->observers < OBS_SEEN_MAX)
    a->seen[a->observers] = fp;
  a->observers++;
  if (a->status == LP2P_ADDR_UNCONFIRMED &&
      a->observers >= h->cfg.observed_confirm_min) {
    a->status = LP2P_ADDR_CONFIRMED;
    host_addrs_changed(h, now);
  }
}

int lp2p_host_addr_add(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                       lp2p_addr_kind kind) {
  if (!h || !ma || ma->len == 0)
    return LP2P_ERR_INVAL;
  if (kind != LP2P_ADDR_ANNOUNCE && kind != LP2P_ADDR_NO_ANNOUNCE &&
      kind != LP2P_ADDR_INTERFACE)
    return LP2P_ERR_INVAL;
  lp2p_maddr m = *ma;
  lp2p_maddr_strip_peer_id(&m);
  if (m.len == 0)
    return LP2P_ERR_INVAL;
  if (find(h, &m, (uint8_t)kind))
    return 0;
  int err;
  if (!add_entry(h, &m, (uint8_t)kind, LP2P_ADDR_ACTIVE, &err))
    return err;
  host_addrs_changed(h, now);
  return 0;
}

int lp2p_host_addr_remove(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                          lp2p_addr_kind kind) {
  if (!h || !ma)
    return LP2P_ERR_INVAL;
  lp2p_maddr m = *ma;
  lp2p_maddr_strip_peer_id(&m);
  hhaddr *a = find(h, &m, (uint8_t)kind);
  if (!a || (kind != LP2P_ADDR_ANNOUNCE && kind != LP2P_ADDR_NO_ANNOUNCE &&
             kind != LP2P_ADDR_INTERFACE))
    return LP2P_ERR_NOT_FOUND;
  remove_at(h, (uint32_t)(a - h->addrs));
  host_addrs_changed(h, now);
  return 0;
}

size_t lp2p_host_addr_count(const lp2p_host *h) { return h ? h->naddrs : 0; }

int lp2p_host_addr_get(const lp2p_host *h, size_t i,
                       lp2p_host_addr_info *out) {
  if (!h || !out || i >= h->naddrs)
    return LP2P_ERR_NOT_FOUND;
  const hhaddr *a = &h->addrs[i];
  out->addr = a->addr;
  out->kind = (lp2p_addr_kind)a->kind;
  out->status = (lp2p_addr_status)a->status;
  out->observers = a->observers;
  out->listener = a->listener;
  out->reachability = a->reach;
  out->reachability_at = a->reach_at;
  return 0;
}

/* AutoNAT's verdict for every entry holding `ma` (a listen address may
 * also be observed). A MAPPED entry's status follows it (CONFIRMED while
 * REACHABLE), and so does whether it is advertised (mapped_advertised):
 * the advertised set may change. Returns how many entries took it. */
size_t host_addr_set_reach(lp2p_host *h, const lp2p_maddr *ma, int reach,
                           lp2p_tstamp now) {
  size_t k = 0;
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (lp2p_maddr_equal(&h->addrs[i].addr, ma)) {
      hhaddr *a = &h->addrs[i];
      a->reach = (uint8_t)reach;
      a->reach_at = now;
      if (a->kind == LP2P_ADDR_MAPPED)
        a->status = reach == LP2P_AUTONAT_REACHABLE ? LP2P_ADDR_CONFIRMED
                                                    : LP2P_ADDR_UNCONFIRMED;
      k++;
    }
  if (k)
    host_addrs_changed(h, now);
  return k;
}

/* Whether a MAPPED address is advertised. The issue: "a mapped address
 * enters the address manager as unverified until AutoNAT confirms it" —
 * with the AutoNAT client on, only a REACHABLE verdict advertises it; an
 * UNREACHABLE one, or none yet (no server met), keeps it back. This is
 * stricter than go-libp2p, whose address manager (p2p/host/basic,
 * addrs_manager.go getDialableAddrs) puts NAT-mapped addresses among the
 * local addresses at once and removes only those autonatv2 found
 * unreachable. Without the AutoNAT client nothing could ever confirm it:
 * then the gateway's word is taken, as go-libp2p does when it runs no
 * reachability tracker. */
static int mapped_advertised(const lp2p_host *h, const hhaddr *a) {
  if (!h->cfg.autonat.client)
    return 1;
  return a->reach == LP2P_AUTONAT_REACHABLE;
}

/* Append `m` to the output unless filtered or already present. */
static void emit(const lp2p_host *h, const lp2p_maddr *m, lp2p_maddr *out,
                 size_t cap, size_t *k) {
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (h->addrs[i].kind == LP2P_ADDR_NO_ANNOUNCE &&
        lp2p_maddr_equal(&h->addrs[i].addr, m))
      return;
  for (size_t i = 0; i < *k && i < cap; i++)
    if (lp2p_maddr_equal(&out[i], m))
      return;
  if (out && *k < cap)
    out[*k] = *m;
  (*k)++;
}

int lp2p_host_addrs(const lp2p_host *h, lp2p_maddr *out, size_t cap,
                    size_t *n) {
  size_t k = 0;
  if (!h) {
    if (n)
      *n = 0;
    return LP2P_ERR_INVAL;
  }
  int announce = 0;
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (h->addrs[i].kind == LP2P_ADDR_ANNOUNCE) {
      announce = 1;
      emit(h, &h->addrs[i].addr, out, cap, &k);
    }
  if (!announce) {
    for (uint32_t i = 0; i < h->naddrs; i++) {
      const hhaddr *a = &h->addrs[i];
      if (a->kind != LP2P_ADDR_LISTEN || a->status != LP2P_ADDR_ACTIVE)
        continue;
      lp2p_sockaddr sa;
      int expanded = 0;
      if (lp2p_sockaddr_from_maddr(&sa, &a->addr) == 0 &&
          host_sockaddr_unspecified(&sa)) {
        for (uint32_t j = 0; j < h->naddrs; j++) {
          lp2p_sockaddr ia;
          if (h->addrs[j].kind != LP2P_ADDR_INTERFACE)
            continue;
          /* Interface entries are /ip4/x or /ip6/x with any port. */
          int fam = 0, udp = 0;
          uint16_t port = 0;
          uint8_t ip[16];
          if (lp2p_maddr_to_ip_port(&h->addrs[j].addr, &fam, ip, &port,
                                    &udp) != 0) {
            const uint8_t *v;
            size_t vl;
            if (lp2p_maddr_find(&h->addrs[j].addr, LP2P_MA_IP4, &v, &vl) ==
                    0 &&
                vl == 4) {
              fam = 4;
              memcpy(ip, v, 4);
            } else if (lp2p_maddr_find(&h->addrs[j].addr, LP2P_MA_IP6, &v,
                                       &vl) == 0 &&
                       vl == 16) {
              fam = 6;
              memcpy(ip, v, 16);
            } else {
              continue;
            }
          }
          if (fam != sa.family)
            continue;
          memset(&ia, 0, sizeof ia);
          ia.family = (uint8_t)fam;
          memcpy(ia.ip, ip, fam == 4 ? 4 : 16);
          ia.port = sa.port;
          lp2p_maddr m;
          if (lp2p_sockaddr_to_maddr(&m, &ia) == 0) {
            emit(h, &m, out, cap, &k);
            expanded = 1;
          }
        }
      }
      if (!expanded)
        emit(h, &a->addr, out, cap, &k);
    }
  }
  if (h->cfg.advertise_observed)
    for (uint32_t i = 0; i < h->naddrs; i++)
      if (h->addrs[i].kind == LP2P_ADDR_OBSERVED &&
          h->addrs[i].status == LP2P_ADDR_CONFIRMED)
        emit(h, &h->addrs[i].addr, out, cap, &k);
  /* Relay addresses, and port mappings on our router once verified
   * (mapped_advertised). */
  for (uint32_t i = 0; i < h->naddrs; i++)
    if (h->addrs[i].kind == LP2P_ADDR_RELAYED ||
        (h->addrs[i].kind == LP2P_ADDR_MAPPED &&
         mapped_advertised(h, &h->addrs[i])))
      emit(h, &h->addrs[i].addr, out, cap, &k);
  if (n)
    *n = k;
  return 0;
}

int host_addr_relayed(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                      int add) {
  lp2p_maddr m = *ma;
  lp2p_maddr_strip_peer_id(&m); /* ours: advertised without it */
  hhaddr *a = find(h, &m, LP2P_ADDR_RELAYED);
  if (add == !!a)
    return 0;
  if (add) {
    int err;
    if (!add_entry(h, &m, LP2P_ADDR_RELAYED, LP2P_ADDR_ACTIVE, &err))
      return err;
  } else {
    remove_at(h, (uint32_t)(a - h->addrs));
  }
  host_addrs_changed(h, now);
  return 0;
}

int host_addr_mapped(lp2p_host *h, lp2p_tstamp now, const lp2p_maddr *ma,
                     int add) {
  hhaddr *a = find(h, ma, LP2P_ADDR_MAPPED);
  if (add == !!a)
    return 0;
  if (add) {
    int err;
    /* UNCONFIRMED: the gateway's word, not yet AutoNAT's. A verdict the
     * same address holds from before (an observed address, a mapping
     * lost and made again after a router reboot) is not one about this
     * mapping: the AutoNAT client checks it anew (autonat_svc.c). */
    if (!add_entry(h, ma, LP2P_ADDR_MAPPED, LP2P_ADDR_UNCONFIRMED, &err))
      return err;
  } else {
    remove_at(h, (uint32_t)(a - h->addrs));
  }
  /* The advertised set changes only once AutoNAT confirmed the address;
   * the AutoNAT client must hear about the new candidate either way. */
  uint64_t v = h->addrs_version;
  host_addrs_changed(h, now);
  if (v == h->addrs_version)
    host_svc_local_changed(h, HSVC_LOCAL_CANDIDATES, now);
  return 0;
}
