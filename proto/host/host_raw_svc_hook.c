/* Placeholder for the service layer's raw-socket hook (host_raw.h). The
 * service layer replaces this file: it routes `what` on `raw` to the
 * service in slot owner - 1 through the service vtable's raw-activity
 * entry (DESIGN.md 3a "activity on raw sockets it owns"). Until then no
 * service owns raw sockets; tests create them with an owner directly and
 * only count the calls. */
#include "proto/host/host_raw.h"

void host_svc_raw_activity(lp2p_host *h, uint32_t owner, uint64_t raw,
                           unsigned what, lp2p_tstamp now) {
  (void)now;
  hraw_state *st = h->rawst;
  st->svc_calls++;
  st->svc_last_owner = owner;
  st->svc_last_raw = raw;
  st->svc_last_what = what;
}
