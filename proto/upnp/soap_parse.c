/* SOAP responses of the IGD actions (UDA 1.1 sections 3.2.2 and 3.2.4):
 *
 *   Envelope > Body > <action>Response > out arguments
 *   Envelope > Body > Fault > detail > UPnPError > errorCode,
 *                                                  errorDescription
 *
 * Prefixes are dropped (upnp_xml.c). Only the first element in Body
 * counts. Text of elements nested inside an argument is ignored. */
#include "lp2p/upnp.h"
#include "proto/upnp/upnp_text.h"
#include "proto/upnp/upnp_xml.h"

enum { CAP_NONE, CAP_ARG, CAP_CODE, CAP_DESC };

typedef struct soap_st {
  lp2p_upnp_soap_resp *out;
  const char *action;
  int envelope, body;       /* seen at depth 1 / 2 */
  int in_body;              /* Body is open */
  int kind;                 /* 0 none yet, 1 response, 2 fault, 3 ignored */
  int cap;
  unsigned cap_depth;
  size_t text_len;
  char text[LP2P_UPNP_ARG_VALUE_MAX];
} soap_st;

static int s_start(void *ud, const char *name, unsigned depth) {
  soap_st *s = ud;
  s->cap = CAP_NONE;
  if (depth == 1)
    return strcmp(name, "Envelope") == 0 ? (s->envelope = 1, 0)
                                         : LP2P_ERR_PARSE;
  if (depth == 2) {
    s->in_body = strcmp(name, "Body") == 0;
    s->body |= s->in_body;
    return 0;
  }
  if (!s->in_body)
    return 0;
  if (depth == 3) {
    if (s->kind != 0) {
      s->kind = 3; /* a second element in Body: ignore it */
      return 0;
    }
    if (strcmp(name, "Fault") == 0) {
      s->kind = 2;
      s->out->fault = 1;
      return 0;
    }
    size_t n = strlen(name);
    if (n < 8 || strcmp(name + n - 8, "Response") != 0)
      return LP2P_ERR_PARSE;
    if (s->action && (n - 8 != strlen(s->action) ||
                      memcmp(name, s->action, n - 8) != 0))
      return LP2P_ERR_PARSE;
    s->kind = 1;
    return 0;
  }
  if (s->kind == 1 && depth == 4) {
    size_t n = strlen(name);
    if (s->out->nargs >= LP2P_UPNP_ARGS_MAX || n >= LP2P_UPNP_ARG_NAME_MAX)
      return 0; /* dropped (the header says so) */
    memcpy(s->out->args[s->out->nargs].name, name, n + 1);
    s->cap = CAP_ARG;
  } else if (s->kind == 2 && strcmp(name, "errorCode") == 0) {
    s->cap = CAP_CODE;
  } else if (s->kind == 2 && strcmp(name, "errorDescription") == 0) {
    s->cap = CAP_DESC;
  }
  if (s->cap != CAP_NONE) {
    s->cap_depth = depth;
    s->text_len = 0;
  }
  return 0;
}

static int s_text(void *ud, const char *t, size_t n) {
  soap_st *s = ud;
  if (s->cap == CAP_NONE)
    return 0;
  if (n >= sizeof s->text - s->text_len)
    return LP2P_ERR_LIMIT;
  memcpy(s->text + s->text_len, t, n);
  s->text_len += n;
  return 0;
}

static int s_end(void *ud, const char *name, unsigned depth) {
  (void)name;
  soap_st *s = ud;
  if (depth == 2)
    s->in_body = 0;
  if (s->cap == CAP_NONE || depth != s->cap_depth)
    return 0;
  const char *t = s->text;
  size_t n = s->text_len;
  upnp_trim(&t, &n);
  lp2p_upnp_soap_resp *o = s->out;
  if (s->cap == CAP_ARG) {
    memcpy(o->args[o->nargs].value, t, n);
    o->args[o->nargs].value[n] = 0;
    o->nargs++;
  } else if (s->cap == CAP_CODE) {
    uint64_t v;
    if (upnp_parse_u64(t, n, 9999, &v) == 0)
      o->upnp_error = (int)v;
  } else {
    memcpy(o->error_desc, t, n);
    o->error_desc[n] = 0;
  }
  s->cap = CAP_NONE;
  return 0;
}

int lp2p_upnp_soap_parse(const lp2p_mem *mem, const uint8_t *xml, size_t len,
                         const char *action, lp2p_upnp_soap_resp *out) {
  memset(out, 0, sizeof *out);
  soap_st s;
  memset(&s, 0, sizeof s);
  s.out = out;
  s.action = action;
  static const upnp_xml_cb cb = {s_start, s_text, s_end};
  int rc = upnp_xml_parse(mem, xml, len, &cb, &s);
  if (rc == 0 && (!s.envelope || !s.body || s.kind == 0))
    rc = LP2P_ERR_PARSE;
  if (rc != 0) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  return 0;
}

const char *lp2p_upnp_soap_arg(const lp2p_upnp_soap_resp *r,
                               const char *name) {
  for (size_t i = 0; i < r->nargs; i++)
    if (strcmp(r->args[i].name, name) == 0)
      return r->args[i].value;
  return NULL;
}

int lp2p_upnp_soap_arg_u32(const lp2p_upnp_soap_resp *r, const char *name,
                           uint32_t max, uint32_t *v) {
  const char *s = lp2p_upnp_soap_arg(r, name);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  uint64_t x;
  if (upnp_parse_u64(s, strlen(s), max, &x) != 0)
    return LP2P_ERR_PARSE;
  *v = (uint32_t)x;
  return 0;
}

int lp2p_upnp_soap_arg_ipv4(const lp2p_upnp_soap_resp *r, const char *name,
                            uint8_t ip[4]) {
  const char *s = lp2p_upnp_soap_arg(r, name);
  if (!s)
    return LP2P_ERR_NOT_FOUND;
  uint8_t t[4];
  for (int i = 0; i < 4; i++) {
    size_t k = 0;
    while (s[k] >= '0' && s[k] <= '9')
      k++;
    uint64_t v;
    /* 1 to 3 digits, no leading zero (an octal reading is a known trap) */
    if (k == 0 || k > 3 || (k > 1 && s[0] == '0') ||
        upnp_parse_u64(s, k, 255, &v) != 0)
      return LP2P_ERR_PARSE;
    t[i] = (uint8_t)v;
    s += k;
    if (i < 3 && *s++ != '.')
      return LP2P_ERR_PARSE;
  }
  if (*s)
    return LP2P_ERR_PARSE;
  memcpy(ip, t, 4);
  return 0;
}
