/* The root device description (UDA 1.1 section 2.3): find the WAN
 * connection services an IGD offers and their control URLs.
 *
 * The services sit in nested deviceLists (InternetGatewayDevice >
 * WANDevice > WANConnectionDevice), but where exactly varies by vendor, so
 * every <service> element anywhere counts; only its serviceType and
 * controlURL children matter. URLBase (UDA 1.0; deprecated in 1.1 but
 * still sent by many routers) is read only as a child of the root. */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"
#include "proto/upnp/upnp_xml.h"

enum { CAP_NONE, CAP_TYPE, CAP_CTRL, CAP_BASE };

typedef struct raw_svc {
  int kind;
  char type[LP2P_UPNP_TYPE_MAX];
  char ctrl[LP2P_UPNP_URL_MAX];
} raw_svc;

typedef struct desc_st {
  unsigned svc_depth;       /* depth of the open <service>, 0: none */
  int cap;                  /* what the text being collected is */
  unsigned cap_depth;
  int cap_over;             /* the text did not fit: the value is unusable */
  size_t text_len;
  char text[LP2P_UPNP_URL_MAX];
  int have_type, have_ctrl;
  raw_svc cur;
  char base[LP2P_UPNP_URL_MAX];
  size_t nsvc;
  raw_svc svc[LP2P_UPNP_SERVICES_MAX];
} desc_st;

static int svc_kind(const char *t, size_t n) {
  static const char ppp[] = "urn:schemas-upnp-org:service:WANPPPConnection:";
  if (upnp_ieq(t, n, LP2P_UPNP_ST_WANIP2))
    return LP2P_UPNP_SVC_WANIP2;
  if (upnp_ieq(t, n, LP2P_UPNP_ST_WANIP1))
    return LP2P_UPNP_SVC_WANIP1;
  /* any version of WANPPPConnection (see LP2P_UPNP_SVC_WANPPP) */
  if (upnp_iprefix(t, n, ppp) && n > sizeof ppp - 1) {
    for (size_t i = sizeof ppp - 1; i < n; i++)
      if (t[i] < '0' || t[i] > '9')
        return 0;
    return LP2P_UPNP_SVC_WANPPP;
  }
  return 0;
}

static int d_start(void *ud, const char *name, unsigned depth) {
  desc_st *d = ud;
  d->cap = CAP_NONE; /* text of a nested element is never a value */
  if (strcmp(name, "service") == 0 && d->svc_depth == 0) {
    d->svc_depth = depth;
    d->have_type = d->have_ctrl = 0;
    memset(&d->cur, 0, sizeof d->cur);
  } else if (d->svc_depth && depth == d->svc_depth + 1 &&
             (strcmp(name, "serviceType") == 0 ||
              strcmp(name, "controlURL") == 0)) {
    d->cap = name[0] == 's' ? CAP_TYPE : CAP_CTRL;
  } else if (depth == 2 && strcmp(name, "URLBase") == 0) {
    d->cap = CAP_BASE;
  }
  if (d->cap != CAP_NONE) {
    d->cap_depth = depth;
    d->text_len = 0;
    d->cap_over = 0;
  }
  return 0;
}

static int d_text(void *ud, const char *s, size_t n) {
  desc_st *d = ud;
  if (d->cap == CAP_NONE)
    return 0;
  if (n >= sizeof d->text - d->text_len) {
    d->cap_over = 1;
    return 0;
  }
  memcpy(d->text + d->text_len, s, n);
  d->text_len += n;
  return 0;
}

/* keep the best LP2P_UPNP_SERVICES_MAX, best kind first, document order
 * within a kind */
static void add_service(desc_st *d) {
  size_t at = d->nsvc;
  while (at > 0 && d->svc[at - 1].kind < d->cur.kind)
    at--;
  if (at >= LP2P_UPNP_SERVICES_MAX)
    return;
  size_t last = d->nsvc < LP2P_UPNP_SERVICES_MAX ? d->nsvc
                                                 : LP2P_UPNP_SERVICES_MAX - 1;
  memmove(&d->svc[at + 1], &d->svc[at], (last - at) * sizeof d->svc[0]);
  d->svc[at] = d->cur;
  if (d->nsvc < LP2P_UPNP_SERVICES_MAX)
    d->nsvc++;
}

static int d_end(void *ud, const char *name, unsigned depth) {
  (void)name;
  desc_st *d = ud;
  if (d->cap != CAP_NONE && depth == d->cap_depth) {
    const char *t = d->text;
    size_t n = d->text_len;
    upnp_trim(&t, &n);
    if (!d->cap_over) {
      if (d->cap == CAP_TYPE && n < sizeof d->cur.type) {
        memcpy(d->cur.type, t, n);
        d->cur.type[n] = 0;
        d->cur.kind = svc_kind(t, n);
        d->have_type = 1;
      } else if (d->cap == CAP_CTRL) {
        memcpy(d->cur.ctrl, t, n);
        d->cur.ctrl[n] = 0;
        d->have_ctrl = n > 0;
      } else if (d->cap == CAP_BASE) {
        memcpy(d->base, t, n);
        d->base[n] = 0;
      }
    }
    d->cap = CAP_NONE;
  }
  if (d->svc_depth == depth) {
    d->svc_depth = 0;
    if (d->have_type && d->have_ctrl && d->cur.kind)
      add_service(d);
  }
  return 0;
}

int lp2p_upnp_desc_parse(const lp2p_mem *mem, const char *location,
                         size_t location_len, const uint8_t *xml, size_t len,
                         lp2p_upnp_service *out, size_t cap, size_t *n) {
  *n = 0;
  if (!out || cap == 0 || !location)
    return LP2P_ERR_INVAL;
  desc_st *d = lp2p_mem_calloc(mem, 1, sizeof *d);
  if (!d)
    return LP2P_ERR_NOMEM;
  static const upnp_xml_cb cb = {d_start, d_text, d_end};
  int rc = upnp_xml_parse(mem, xml, len, &cb, d);
  if (rc == 0 && d->nsvc == 0)
    rc = LP2P_ERR_NOT_FOUND;
  for (size_t i = 0; rc == 0 && i < d->nsvc && *n < cap; i++) {
    const raw_svc *s = &d->svc[i];
    lp2p_upnp_service *o = &out[*n];
    size_t ul;
    int r = LP2P_ERR_PARSE;
    /* URLBase first (UDA 1.0 2.1); a broken one falls back to LOCATION */
    if (d->base[0])
      r = lp2p_upnp_url_resolve(d->base, strlen(d->base), s->ctrl,
                                strlen(s->ctrl), o->control_url,
                                sizeof o->control_url, &ul);
    if (r != 0)
      r = lp2p_upnp_url_resolve(location, location_len, s->ctrl,
                                strlen(s->ctrl), o->control_url,
                                sizeof o->control_url, &ul);
    if (r != 0)
      continue; /* an unusable control URL: try the next service */
    o->kind = s->kind;
    memcpy(o->service_type, s->type, sizeof o->service_type);
    (*n)++;
  }
  if (rc == 0 && *n == 0)
    rc = LP2P_ERR_PARSE;
  lp2p_mem_free(mem, d);
  return rc;
}
