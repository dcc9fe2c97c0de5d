/* The UPnP IGD rung of the portmap service. Discovery: M-SEARCH for
 * InternetGatewayDevice:1 and :2 to 239.255.255.250:1900 from the
 * service's UDP socket (UPnP Device Architecture 1.1, 1.3.2); the first
 * gateway answer names the description (LOCATION). Then one HTTP/1.1
 * exchange at a time, each on its own raw TCP connection (Connection:
 * close): GET the description (UDA 1.1 2.3: the WANIPConnection or
 * WANPPPConnection control URL), SOAP GetExternalIPAddress, then
 * AddPortMapping per listen port (WANIPConnection:2 2.5.16; IGD:1 devices
 * take the same request). Errors 718 ConflictInMappingEntry (another
 * external port, cfg.conflict_tries_max in all) and 725
 * OnlyPermanentLeasesSupported (ask again with lease 0) are handled. */
#include "lp2p/multiaddr.h"
#include "proto/portmap/portmap_internal.h"

static const char *const search_targets[] = {LP2P_UPNP_ST_IGD1,
                                             LP2P_UPNP_ST_IGD2};

static void search(lp2p_host *h, pm_svc *st) {
  if (st->search_sent || !pm_udp(h, st))
    return;
  lp2p_sockaddr to;
  memset(&to, 0, sizeof to);
  to.family = 4;
  lp2p_ip4_from_text(LP2P_SSDP_ADDR4, sizeof LP2P_SSDP_ADDR4 - 1, to.ip);
  to.port = LP2P_SSDP_PORT;
  for (size_t i = 0; i < sizeof search_targets / sizeof *search_targets;
       i++) {
    char msg[512];
    size_t len;
    if (lp2p_ssdp_msearch_build(search_targets[i], 2, msg, sizeof msg,
                                &len) == 0)
      pm_send(h, st, &to, (const uint8_t *)msg, len);
  }
  st->search_sent = 1;
}

void pm_upnp_start(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  st->have_desc = 0;
  st->search_sent = 0;
  st->location[0] = 0;
  st->deadline = host_add_ns(now, st->cfg.ssdp_wait_ns);
  search(h, st);
}

void pm_upnp_stop_op(lp2p_host *h, pm_svc *st) {
  pm_http *x = &st->http;
  if (x->raw)
    lp2p_host_raw_reset(h, h->now, x->raw);
  x->raw = 0;
  x->op = OP_NONE;
  lp2p_mem_free(h->mem, x->body);
  x->body = NULL;
}

void pm_upnp_stop(lp2p_host *h, pm_svc *st) {
  pm_upnp_stop_op(h, st);
  st->have_desc = 0;
  st->search_sent = 0;
}

/* Our address as the gateway sees it, for NewInternalClient. */
static void client_addr(lp2p_host *h, pm_svc *st, char *out, size_t cap) {
  lp2p_sockaddr a = st->local;
  if (a.family != 4)
    a = st->conn_local;
  if (a.family != 4)
    pm_local_addr(h, st, &a);
  size_t len;
  out[0] = 0;
  if (a.family != 4 || lp2p_ip_to_text(4, a.ip, out, cap, &len) != 0)
    out[0] = 0;
}

/* Start exchange `op` against `url` with the request in x->req. */
static int op_start(lp2p_host *h, pm_svc *st, uint8_t op,
                    const lp2p_upnp_url *url, lp2p_tstamp now) {
  pm_http *x = &st->http;
  lp2p_sockaddr to;
  memset(&to, 0, sizeof to);
  to.family = 4;
  to.port = url->port;
  /* Gateways name themselves by address in LOCATION; a name would need
   * DNS on the LAN, which no IGD relies on. */
  if (lp2p_ip4_from_text(url->host, strlen(url->host), to.ip) != 0)
    return LP2P_ERR_UNSUPPORTED;
  x->body = lp2p_mem_malloc(h->mem, PM_BODY_MAX);
  if (!x->body)
    return LP2P_ERR_NOMEM;
  lp2p_http_resp_init(&x->resp, x->body, PM_BODY_MAX);
  int rc = host_raw_connect(h, st->svc + 1, now, &to, NULL, 0, 0, &x->raw);
  if (rc) {
    lp2p_mem_free(h->mem, x->body);
    x->body = NULL;
    x->raw = 0;
    return rc;
  }
  x->op = op;
  x->connected = 0;
  x->req_off = 0;
  x->deadline = host_add_ns(now, st->cfg.http_timeout_ns);
  return 0;
}

static void op_write(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  pm_http *x = &st->http;
  while (x->raw && x->req_off < x->req_len) {
    lp2p_ssize w = lp2p_host_raw_write(h, now, x->raw, x->req + x->req_off,
                                       x->req_len - x->req_off);
    if (w <= 0)
      return; /* full: RAW_WRITABLE brings us back */
    x->req_off += (size_t)w;
  }
}

static int control_url(const pm_svc *st, lp2p_upnp_url *url) {
  return lp2p_upnp_url_parse(st->upsvc.control_url,
                             strlen(st->upsvc.control_url), url);
}

static int start_desc(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  lp2p_upnp_url url;
  if (lp2p_upnp_url_parse(st->location, strlen(st->location), &url) ||
      lp2p_http_request_build(&url, NULL, NULL, 0, st->http.req,
                              sizeof st->http.req, &st->http.req_len))
    return LP2P_ERR_PARSE;
  return op_start(h, st, OP_DESC, &url, now);
}

static int start_extip(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  lp2p_upnp_url url;
  if (control_url(st, &url) ||
      lp2p_upnp_req_get_external_ip(&url, st->upsvc.service_type,
                                    st->http.req, sizeof st->http.req,
                                    &st->http.req_len))
    return LP2P_ERR_PARSE;
  return op_start(h, st, OP_EXTIP, &url, now);
}

static int start_add(lp2p_host *h, pm_svc *st, int i, lp2p_tstamp now) {
  pm_map *m = &st->maps[i];
  char client[16];
  client_addr(h, st, client, sizeof client);
  if (!client[0])
    return LP2P_ERR_STATE;
  lp2p_upnp_mapping mp;
  memset(&mp, 0, sizeof mp);
  mp.external_port = m->try_port;
  mp.internal_port = m->internal_port;
  mp.internal_client = client;
  mp.description = "lp2p";
  mp.lease_s = m->lease_ask;
  lp2p_upnp_url url;
  if (control_url(st, &url) ||
      lp2p_upnp_req_add_port_mapping(&url, st->upsvc.service_type, &mp,
                                     st->http.req, sizeof st->http.req,
                                     &st->http.req_len))
    return LP2P_ERR_PARSE;
  st->http.map = i;
  return op_start(h, st, OP_ADD, &url, now);
}

void pm_upnp_close_next(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->http.op != OP_NONE || !st->have_desc)
    return;
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used || !m->mapped || m->method != LP2P_PORTMAP_UPNP)
      continue;
    m->mapped = 0; /* asked once, whatever the answer */
    lp2p_upnp_url url;
    if (control_url(st, &url) ||
        lp2p_upnp_req_delete_port_mapping(&url, st->upsvc.service_type,
                                          m->external_port, 0, st->http.req,
                                          sizeof st->http.req,
                                          &st->http.req_len) ||
        op_start(h, st, OP_DEL, &url, now) != 0)
      continue;
    op_write(h, st, now);
    return;
  }
}

void pm_upnp_step(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->phase == PH_UPNP_SEARCH) {
    search(h, st);
    return;
  }
  if (st->phase != PH_UPNP || st->http.op != OP_NONE)
    return;
  int rc;
  if (!st->have_desc) {
    if ((rc = start_desc(h, st, now)) != 0)
      pm_rung_failed(h, st, LP2P_PORTMAP_R_UNSUPPORTED, now);
    else
      op_write(h, st, now);
    return;
  }
  if (!st->have_ext) {
    if ((rc = start_extip(h, st, now)) != 0)
      pm_rung_failed(h, st, LP2P_PORTMAP_R_UNSUPPORTED, now);
    else
      op_write(h, st, now);
    return;
  }
  for (int i = 0; i < PM_MAPS_MAX; i++) {
    pm_map *m = &st->maps[i];
    if (!m->used || m->state != PM_IDLE)
      continue;
    if (m->mapped)
      m->try_port = m->external_port; /* renewal: the same entry again */
    else if (!m->try_port)
      m->try_port = m->internal_port;
    m->state = PM_BUSY;
    rc = start_add(h, st, i, now);
    if (rc) {
      pm_request_failed(h, st, m,
                        rc == LP2P_ERR_STATE ? (uint8_t)LP2P_PORTMAP_R_NO_LOCAL
                                             : (uint8_t)LP2P_PORTMAP_R_REFUSED,
                        now);
      return;
    }
    op_write(h, st, now);
    return;
  }
}

void pm_upnp_datagram(lp2p_host *h, pm_svc *st, const lp2p_sockaddr *from,
                      const uint8_t *p, size_t n, lp2p_tstamp now) {
  (void)from;
  lp2p_ssdp_reply r;
  if (st->phase != PH_UPNP_SEARCH || lp2p_ssdp_reply_parse(p, n, &r) != 0 ||
      r.byebye || !r.location || lp2p_ssdp_reply_igd_version(&r) == 0 ||
      r.location_len >= sizeof st->location)
    return; /* not a gateway's answer: keep listening */
  memcpy(st->location, r.location, r.location_len);
  st->location[r.location_len] = 0;
  st->phase = PH_UPNP;
  st->deadline = LP2P_TSTAMP_NONE;
  pm_upnp_step(h, st, now);
}

/* A random external port for the next try after 718: above the
 * well-known range. */
static uint16_t other_port(lp2p_host *h) {
  uint8_t b[2];
  h->rng.fill(h->rng.ctx, b, 2);
  return (uint16_t)(1024 + ((b[0] << 8 | b[1]) % (65536 - 1024)));
}

static void add_done(lp2p_host *h, pm_svc *st, int ok,
                     const lp2p_upnp_soap_resp *r, lp2p_tstamp now) {
  pm_map *m = &st->maps[st->http.map];
  if (!m->used || m->state != PM_BUSY)
    return;
  if (ok) {
    memcpy(m->ext_ip, st->ext_ip, 4);
    m->external_port = m->try_port;
    m->lifetime_s = m->lease_ask;
    pm_granted(h, st, m, now);
    return;
  }
  int code = r ? r->upnp_error : 0;
  if (code == LP2P_UPNP_ERR_CONFLICT && !m->mapped) {
    if (++m->tries >= st->cfg.conflict_tries_max) {
      pm_request_failed(h, st, m, LP2P_PORTMAP_R_CONFLICT, now);
      return;
    }
    m->try_port = other_port(h);
    m->state = PM_IDLE;
    return;
  }
  if (code == LP2P_UPNP_ERR_ONLY_PERMANENT && m->lease_ask != 0) {
    m->lease_ask = 0; /* a permanent entry; deleted on close */
    m->state = PM_IDLE;
    return;
  }
  pm_request_failed(h, st, m,
                    r ? (uint8_t)LP2P_PORTMAP_R_REFUSED
                      : (uint8_t)LP2P_PORTMAP_R_TIMEOUT,
                    now);
}

/* The exchange ended: ok 1 with a complete response, else failed. */
static void op_done(lp2p_host *h, pm_svc *st, int ok, lp2p_tstamp now) {
  pm_http *x = &st->http;
  uint8_t op = x->op;
  lp2p_upnp_soap_resp *r = NULL;
  int status = ok ? x->resp.status : 0;
  int parsed = 0;
  if (ok && op != OP_DESC) {
    r = lp2p_mem_malloc(h->mem, sizeof *r);
    const char *action = op == OP_EXTIP ? "GetExternalIPAddress"
                         : op == OP_ADD ? "AddPortMapping"
                                        : "DeletePortMapping";
    parsed = r && (status == 200 || status == 500) &&
             lp2p_upnp_soap_parse(h->mem, x->body, x->resp.body_len, action,
                                  r) == 0;
  }
  if (op == OP_DESC && ok && status == 200) {
    size_t n = 0;
    lp2p_upnp_service svcs[LP2P_UPNP_SERVICES_MAX];
    if (lp2p_upnp_desc_parse(h->mem, st->location, strlen(st->location),
                             x->body, x->resp.body_len, svcs,
                             LP2P_UPNP_SERVICES_MAX, &n) == 0 &&
        n > 0) {
      st->upsvc = svcs[0];
      st->have_desc = 1;
    }
  }
  x->op = OP_NONE;
  lp2p_mem_free(h->mem, x->body);
  x->body = NULL;
  if (x->raw) {
    lp2p_host_raw_close(h, now, x->raw);
    x->raw = 0;
  }
  if (st->closing) { /* only deletes now; no events, no ladder */
    lp2p_mem_free(h->mem, r);
    pm_upnp_close_next(h, st, now);
    return;
  }
  switch (op) {
  case OP_DESC:
    if (!st->have_desc)
      pm_rung_failed(h, st,
                     ok ? (uint8_t)LP2P_PORTMAP_R_UNSUPPORTED
                        : (uint8_t)LP2P_PORTMAP_R_TIMEOUT,
                     now);
    break;
  case OP_EXTIP: {
    uint8_t ip[4];
    if (parsed && !r->fault &&
        lp2p_upnp_soap_arg_ipv4(r, "NewExternalIPAddress", ip) == 0)
      pm_external_ip(h, st, ip, now);
    else
      pm_rung_failed(h, st,
                     parsed ? (uint8_t)LP2P_PORTMAP_R_REFUSED
                            : (uint8_t)LP2P_PORTMAP_R_TIMEOUT,
                     now);
    break;
  }
  case OP_ADD:
    /* A 200 is a grant even when its body is not the envelope the spec
     * wants (some devices answer 200 with an empty body). */
    add_done(h, st, status == 200 && !(parsed && r->fault),
             parsed ? r : NULL, now);
    break;
  default:
    break;
  }
  lp2p_mem_free(h->mem, r);
}

void pm_upnp_raw(lp2p_host *h, pm_svc *st, uint64_t raw, unsigned what,
                 lp2p_tstamp now) {
  pm_http *x = &st->http;
  size_t len;
  const uint8_t *p;
  if (!raw || raw != x->raw) {
    /* An old connection closing: drop what it still sends. */
    if (what == LP2P_HOST_EV_RAW_READABLE)
      while ((p = lp2p_host_raw_read_peek(h, raw, &len)) != NULL && len)
        if (lp2p_host_raw_read_consume(h, now, raw, len) != 0)
          break;
    return;
  }
  switch (what) {
  case LP2P_HOST_EV_RAW_CONNECTED: {
    x->connected = 1;
    lp2p_host_raw_info info;
    if (lp2p_host_raw_info_get(h, raw, &info) == 0 &&
        info.local.family == 4 && !host_sockaddr_unspecified(&info.local))
      st->conn_local = info.local;
    op_write(h, st, now);
    break;
  }
  case LP2P_HOST_EV_RAW_WRITABLE:
    op_write(h, st, now);
    break;
  case LP2P_HOST_EV_RAW_READABLE:
    while (x->raw == raw && (p = lp2p_host_raw_read_peek(h, raw, &len)) &&
           len) {
      lp2p_ssize used = lp2p_http_resp_feed(&x->resp, p, len);
      if (used < 0) {
        op_done(h, st, 0, now);
        return;
      }
      lp2p_host_raw_read_consume(h, now, raw, len); /* the rest: not ours */
      if (lp2p_http_resp_done(&x->resp)) {
        op_done(h, st, 1, now);
        return;
      }
    }
    break;
  case LP2P_HOST_EV_RAW_REMOTE_CLOSED:
    op_done(h, st, lp2p_http_resp_eof(&x->resp) == 0, now);
    break;
  case LP2P_HOST_EV_RAW_CLOSED:
  case LP2P_HOST_EV_RAW_FAILED:
    x->raw = 0; /* the id is dead */
    if (x->op != OP_NONE)
      op_done(h, st, 0, now);
    break;
  default:
    break;
  }
}

lp2p_tstamp pm_upnp_next_timeout(const pm_svc *st) {
  lp2p_tstamp t = st->phase == PH_UPNP_SEARCH ? st->deadline
                                              : LP2P_TSTAMP_NONE;
  if (st->http.op != OP_NONE && st->http.deadline < t)
    t = st->http.deadline;
  return t;
}

void pm_upnp_timeout(lp2p_host *h, pm_svc *st, lp2p_tstamp now) {
  if (st->phase == PH_UPNP_SEARCH && st->deadline <= now && !st->closing) {
    pm_rung_failed(h, st, LP2P_PORTMAP_R_TIMEOUT, now);
    return;
  }
  if (st->http.op != OP_NONE && st->http.deadline <= now) {
    if (st->http.raw)
      lp2p_host_raw_reset(h, now, st->http.raw);
    st->http.raw = 0;
    op_done(h, st, 0, now);
  }
}
