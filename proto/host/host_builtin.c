/* The one list of compiled-in services, in registration order (identify
 * first: it answers before anything else asks). A new protocol is one
 * folder in proto/ plus one line here; the host core does not change. */
#include "proto/host/host_internal.h"

extern const hsvc_ops host_svc_identify_ops;
extern const hsvc_ops host_svc_ping_ops;
extern const hsvc_ops host_svc_perf_ops;
extern const hsvc_ops host_svc_echo_ops;

const hsvc_ops *const host_builtin_svcs[] = {
    &host_svc_identify_ops,
    &host_svc_ping_ops,
    &host_svc_perf_ops,
    &host_svc_echo_ops,
};

const uint32_t host_builtin_nsvcs =
    (uint32_t)(sizeof host_builtin_svcs / sizeof host_builtin_svcs[0]);
